/**
 * The dedup cache in IndexedDB (browsers and Web Workers; xet/dedup-cache.ts explains the cache): the
 * default store of the web platform where `indexedDB` exists, or `indexedDbDedupCache()` anywhere.
 *
 * Database `xet-buckets-dedup-cache` (version 1): store `meta` (key `[space, name]`: size and last use, what
 * eviction reads) and store `data` (key `[space, name]`: the entry's bytes), where `space` is the endpoint's
 * key. An entry is written in one transaction (both records or neither), never rewritten; tabs may share the
 * database: an entry another tab removed reads as a miss.
 */
import { checkMaxBytes, endpointKey, type DedupCacheSpace, type DedupCacheStore } from "../dedup-cache-store.js";
import { isUint8Array } from "../buffers.js";
import { InvalidArgumentError } from "../errors.js";
import { idbDone, idbError, idbKeysUnder, idbRequest, openIdb } from "../indexed-db.js";

/** Options of `indexedDbDedupCache`. */
export interface IndexedDbDedupCacheOptions {
  /** Database name (default `xet-buckets-dedup-cache`). */
  dbName?: string;
  /** Most bytes for all endpoints (default 256 MiB). */
  maxBytes?: number;
  /** The IndexedDB factory (default `globalThis.indexedDB`). */
  indexedDB?: IDBFactory;
}

const STORES = { meta: ["space", "name"], data: ["space", "name"] };

interface Meta {
  space: string;
  name: string;
  size: number;
  lastUsed: number;
}

/**
 * A dedup cache store in IndexedDB. Its failures are XetBucketsErrors: LOCAL_IO for IndexedDB's own, and
 * INVALID_ARGUMENT when the runtime has no IndexedDB (uploads then go on without the cache, with a warning).
 */
export function indexedDbDedupCache(options: IndexedDbDedupCacheOptions = {}): DedupCacheStore {
  const dbName = options.dbName ?? "xet-buckets-dedup-cache";
  const where = `IndexedDB ${dbName}`;
  /** Runs `fn` on the database, with IndexedDB's failures as this package's errors. */
  const withDb = async <T>(fn: (db: IDBDatabase) => Promise<T>, close: boolean): Promise<T> => {
    const factory = options.indexedDB ?? (globalThis as { indexedDB?: IDBFactory }).indexedDB;
    if (!factory)
      throw new InvalidArgumentError("indexedDbDedupCache: IndexedDB is not available in this runtime (pass options.indexedDB)");
    let db: IDBDatabase | undefined;
    try {
      db = await openIdb(factory, dbName, STORES);
      return await fn(db);
    } catch (err) {
      db?.close();
      throw idbError(`the dedup cache in ${where}`, err);
    } finally {
      if (close) db?.close();
    }
  };
  return {
    where,
    maxBytes: checkMaxBytes("indexedDbDedupCache", options.maxBytes),
    open: (endpoint) => withDb(async (db) => idbSpace(db, await endpointKey(endpoint), where), false),
    list: () =>
      withDb(async (db) => {
        const all = (await idbRequest(db.transaction("meta").objectStore("meta").getAll())) as Meta[];
        return all.map((m) => ({ space: m.space, name: m.name, size: m.size, lastUsed: m.lastUsed }));
      }, true),
    remove: (space, name) => withDb((db) => removeEntry(db, space, name), true),
  };
}

async function removeEntry(db: IDBDatabase, space: string, name: string): Promise<void> {
  const tx = db.transaction(["meta", "data"], "readwrite");
  tx.objectStore("meta").delete([space, name]);
  tx.objectStore("data").delete([space, name]);
  await idbDone(tx);
}

function idbSpace(db: IDBDatabase, space: string, where: string): DedupCacheSpace {
  /** `fn`, with IndexedDB's failures (also those thrown synchronously: a closed database) as this package's errors. */
  const typed =
    <A extends unknown[], T>(fn: (...args: A) => Promise<T>) =>
    async (...args: A): Promise<T> => {
      try {
        return await fn(...args);
      } catch (err) {
        throw idbError(`the dedup cache in ${where}`, err);
      }
    };
  const data = typed(async (name: string): Promise<Uint8Array | undefined> => {
    const r = (await idbRequest(db.transaction("data").objectStore("data").get([space, name]))) as { bytes?: Uint8Array } | undefined;
    return isUint8Array(r?.bytes) ? r.bytes : undefined;
  });
  return {
    key: space,
    list: typed(async () => {
      const all = (await idbRequest(db.transaction("meta").objectStore("meta").getAll(idbKeysUnder(space)))) as Meta[];
      return all.map((m) => ({ name: m.name, size: m.size, lastUsed: m.lastUsed }));
    }),
    readHead: async (name, bytes) => (await data(name))?.subarray(0, bytes),
    read: data,
    write: typed(async (name: string, bytes: Uint8Array) => {
      const tx = db.transaction(["meta", "data"], "readwrite");
      const meta = tx.objectStore("meta");
      const exists = await idbRequest(meta.getKey([space, name]));
      if (exists === undefined) {
        meta.put({ space, name, size: bytes.length, lastUsed: Date.now() } satisfies Meta);
        tx.objectStore("data").put({ space, name, bytes });
      }
      await idbDone(tx);
    }),
    touch: typed(async (name: string) => {
      const tx = db.transaction("meta", "readwrite");
      const store = tx.objectStore("meta");
      const m = (await idbRequest(store.get([space, name]))) as Meta | undefined;
      if (m) store.put({ ...m, lastUsed: Date.now() });
      await idbDone(tx);
    }),
    remove: typed((name: string) => removeEntry(db, space, name)),
    async close() {
      db.close();
    },
  };
}
