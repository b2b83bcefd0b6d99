/**
 * The dedup cache in IndexedDB (browsers and Web Workers; xet/dedup-cache.ts explains the cache): the
 * default store of the web platform where `indexedDB` exists, or `indexedDbDedupCache()` anywhere.
 *
 * Database `xet-buckets-dedup-cache` (version 1): store `meta` (key `[space, name]`: size and last use, what
 * eviction reads) and store `data` (key `[space, name]`: the entry's bytes), where `space` is the endpoint's
 * key. An entry is written in one transaction (both records or neither), never rewritten; tabs may share the
 * database: an entry another tab removed reads as a miss.
 */
import { DEFAULT_DEDUP_CACHE_BYTES, endpointKey, type DedupCacheSpace, type DedupCacheStore } from "../dedup-cache-store.js";

export interface IndexedDbDedupCacheOptions {
  /** Database name (default `xet-buckets-dedup-cache`). */
  dbName?: string;
  /** Most bytes for all endpoints (default 256 MiB). */
  maxBytes?: number;
  /** The IndexedDB factory (default `globalThis.indexedDB`). */
  indexedDB?: IDBFactory;
}

function req<T>(r: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error);
  });
}

function done(tx: IDBTransaction): Promise<void> {
  return new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onerror = () => reject(tx.error);
    tx.onabort = () => reject(tx.error ?? new Error("IndexedDB transaction aborted"));
  });
}

function openDb(factory: IDBFactory, name: string): Promise<IDBDatabase> {
  return new Promise((resolve, reject) => {
    const r = factory.open(name, 1);
    r.onupgradeneeded = () => {
      const db = r.result;
      if (!db.objectStoreNames.contains("meta")) db.createObjectStore("meta", { keyPath: ["space", "name"] });
      if (!db.objectStoreNames.contains("data")) db.createObjectStore("data", { keyPath: ["space", "name"] });
    };
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error);
    r.onblocked = () => reject(new Error(`the IndexedDB database ${name} is blocked by another tab with an older version open`));
  });
}

interface Meta {
  space: string;
  name: string;
  size: number;
  lastUsed: number;
}

/** A dedup cache store in IndexedDB. */
export function indexedDbDedupCache(options: IndexedDbDedupCacheOptions = {}): DedupCacheStore {
  const dbName = options.dbName ?? "xet-buckets-dedup-cache";
  return {
    where: `IndexedDB ${dbName}`,
    maxBytes: options.maxBytes ?? DEFAULT_DEDUP_CACHE_BYTES,
    async open(endpoint) {
      return idbSpace(await db(), await endpointKey(endpoint));
    },
    async list() {
      const d = await db();
      try {
        const all = (await req(d.transaction("meta").objectStore("meta").getAll())) as Meta[];
        return all.map((m) => ({ space: m.space, name: m.name, size: m.size, lastUsed: m.lastUsed }));
      } finally {
        d.close();
      }
    },
    async remove(space, name) {
      const d = await db();
      try {
        await removeEntry(d, space, name);
      } finally {
        d.close();
      }
    },
  };
  function db(): Promise<IDBDatabase> {
    const factory = options.indexedDB ?? globalThis.indexedDB;
    if (!factory) return Promise.reject(new Error("IndexedDB is not available here"));
    return openDb(factory, dbName);
  }
}

async function removeEntry(db: IDBDatabase, space: string, name: string): Promise<void> {
  const tx = db.transaction(["meta", "data"], "readwrite");
  tx.objectStore("meta").delete([space, name]);
  tx.objectStore("data").delete([space, name]);
  await done(tx);
}

function idbSpace(db: IDBDatabase, space: string): DedupCacheSpace {
  const range = IDBKeyRange.bound([space, ""], [space, "\uffff"]);
  const data = async (name: string): Promise<Uint8Array | undefined> => {
    const r = (await req(db.transaction("data").objectStore("data").get([space, name]))) as { bytes?: Uint8Array } | undefined;
    return r?.bytes instanceof Uint8Array ? r.bytes : undefined;
  };
  return {
    key: space,
    async list() {
      const all = (await req(db.transaction("meta").objectStore("meta").getAll(range))) as Meta[];
      return all.map((m) => ({ name: m.name, size: m.size, lastUsed: m.lastUsed }));
    },
    async readHead(name, bytes) {
      return (await data(name))?.subarray(0, bytes);
    },
    read: data,
    async write(name, bytes) {
      const tx = db.transaction(["meta", "data"], "readwrite");
      const meta = tx.objectStore("meta");
      const exists = await req(meta.getKey([space, name]));
      if (exists === undefined) {
        meta.put({ space, name, size: bytes.length, lastUsed: Date.now() } satisfies Meta);
        tx.objectStore("data").put({ space, name, bytes });
      }
      await done(tx);
    },
    async touch(name) {
      const tx = db.transaction("meta", "readwrite");
      const store = tx.objectStore("meta");
      const m = (await req(store.get([space, name]))) as Meta | undefined;
      if (m) store.put({ ...m, lastUsed: Date.now() });
      await done(tx);
    },
    remove: (name) => removeEntry(db, space, name),
    async close() {
      db.close();
    },
  };
}
