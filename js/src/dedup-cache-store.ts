/**
 * The contract between the persistent dedup cache (xet/dedup-cache.ts, which explains what it holds and how
 * uploads use it) and the places it lives: a directory in Node, Deno and Bun (platform/node/dedup-cache.ts),
 * IndexedDB in browsers (platform/idb-dedup-cache.ts), or anything implementing `DedupCacheStore`. A leaf module,
 * so that stores below the upload pipeline (the Node platform's) need nothing above them.
 *
 * A store keeps immutable entries named by the SHA-256 of their bytes, in one space per CAS endpoint. Several
 * processes (or tabs) may use a store at once: an entry is written whole or not at all (a temporary name then
 * a rename, or one transaction), never rewritten, and may be removed by another process at any time, so
 * readers treat a missing entry as a miss. Last use is what eviction goes by.
 */
import { InvalidArgumentError } from "./errors.js";
import { toHex } from "./hex.js";

/** One entry of a space. */
export interface DedupCacheEntryInfo {
  /** The entry's name: the hex SHA-256 of its bytes. */
  name: string;
  /** Its size in bytes. */
  size: number;
  /** When it was written or last used, ms since the epoch. */
  lastUsed: number;
}

/** The entries of one CAS endpoint. */
export interface DedupCacheSpace {
  /** Its key (`endpointKey` of the endpoint). */
  readonly key: string;
  /** Every entry (those another process is writing are not listed until complete). */
  list(): Promise<DedupCacheEntryInfo[]>;
  /** The first `bytes` bytes of an entry (fewer when it is shorter), undefined when it is gone. */
  readHead(name: string, bytes: number): Promise<Uint8Array | undefined>;
  /** An entry's bytes, undefined when it is gone. */
  read(name: string): Promise<Uint8Array | undefined>;
  /** Writes an entry atomically (nothing when it exists already). */
  write(name: string, bytes: Uint8Array): Promise<void>;
  /** Marks an entry used now (eviction removes the least recently used first). */
  touch(name: string): Promise<void>;
  /** Removes an entry; nothing to do when it is gone. */
  remove(name: string): Promise<void>;
  /** Releases what the space holds open (files, database connections). */
  close(): Promise<void>;
}

/** An entry of any space of a store. */
export interface DedupCacheStoreEntry extends DedupCacheEntryInfo {
  /** The space (endpoint key) it belongs to. */
  space: string;
}

/**
 * A place where dedup caches live: one space per CAS endpoint (its URL), bounded together (`maxBytes` for
 * all of them: a local hub on a new port every run is a new endpoint every run).
 */
export interface DedupCacheStore {
  /** A description for messages (a directory, a database name). */
  readonly where: string;
  /** Most bytes the entries of all spaces may take; the least recently used are evicted beyond it. */
  readonly maxBytes: number;
  /** The space of one CAS endpoint (entries of one endpoint are never used for another). */
  open(endpoint: string): Promise<DedupCacheSpace>;
  /** Every entry of every space. */
  list(): Promise<DedupCacheStoreEntry[]>;
  /** Removes an entry of a space (and the space once it is empty, where that means something). */
  remove(space: string, name: string): Promise<void>;
}

/** Default size bound of a dedup cache (all endpoints). */
export const DEFAULT_DEDUP_CACHE_BYTES = 256 * 1024 * 1024;

/** A store's `maxBytes` option (`fn` names the call in the error): the default when undefined, else a positive number. */
export function checkMaxBytes(fn: string, maxBytes: number | undefined): number {
  if (maxBytes === undefined) return DEFAULT_DEDUP_CACHE_BYTES;
  if (typeof maxBytes !== "number" || !(maxBytes > 0))
    throw new InvalidArgumentError(`${fn}: maxBytes must be a positive number, got ${maxBytes}`);
  return maxBytes;
}

/** The space of an endpoint: a stable, file-name-safe key of its URL (hex SHA-256, 32 digits). */
export async function endpointKey(endpoint: string): Promise<string> {
  // Scheme and host are case-insensitive (URL lowercases them); the path is not.
  let url = endpoint;
  try {
    const u = new URL(endpoint);
    url = u.origin + u.pathname;
  } catch {
    // not a URL: the text itself
  }
  url = url.replace(/\/+$/, "");
  const digest = await globalThis.crypto.subtle.digest("SHA-256", new TextEncoder().encode(url));
  return toHex(new Uint8Array(digest), 0, 16);
}

/** Hex SHA-256 of bytes: an entry's name. */
export async function entryName(bytes: Uint8Array): Promise<string> {
  const digest = await globalThis.crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>);
  return toHex(new Uint8Array(digest));
}
