/**
 * Resume states in IndexedDB (browsers and Web Workers): the same `ResumeStore` as the Node state directory
 * (xet/resume.ts, resume-state.ts), so an upload interrupted by a closed tab, a crash or a network failure, started again
 * with the same files, does not send again the xorbs the CAS already stored.
 *
 * ```js
 * import { uploadFiles, indexedDbResumeStore } from "xet-buckets";
 * await uploadFiles({ repo, files, accessToken, resumeStore: indexedDbResumeStore() });
 * // with the upload worker (xet-buckets/browser): worker.upload({ ..., resume: true })
 * ```
 *
 * Database `xet-buckets-resume` (version 1): store `uploads` (one record per upload: its key, stamp and
 * times) and store `xorbs` (one record per xorb mark, key `[upload key, xorb hash]`). A record with another
 * stamp, or a malformed one, makes the upload's state untrusted: it is ignored with a warning and replaced.
 * Marks are written without waiting (a mark lost when the tab closes only costs one xorb sent again); the
 * state is deleted once the files are registered, and states untouched for `maxAgeDays` (default 14) are
 * removed when a store opens one.
 */
import { isXetHash } from "../hex.js";
import { stampMismatch, type ResumeState, type ResumeStore } from "../resume-state.js";
import { InvalidArgumentError, type XetBucketsError } from "../errors.js";
import { idbDone, idbError, idbKeysUnder, idbRequest, openIdb } from "../indexed-db.js";
import { resumeStamp } from "../xet/resume.js";

/** Options of `indexedDbResumeStore`. */
export interface IndexedDbResumeOptions {
  /** Database name (default `xet-buckets-resume`). */
  dbName?: string;
  /** Remove states not written for this many days (default 14). */
  maxAgeDays?: number;
  /** The IndexedDB factory (default `globalThis.indexedDB`). */
  indexedDB?: IDBFactory;
}

const DAY = 24 * 3600 * 1000;

const STORES = { uploads: "key", xorbs: ["key", "hash"] };
const openDb = (factory: IDBFactory, name: string) => openIdb(factory, name, STORES);

/** An IndexedDB failure (a DOMException: blocked, quota, aborted transaction) as this package's error. */
const storageError = (dbName: string, err: unknown): XetBucketsError => idbError(`the resume state in IndexedDB ${dbName}`, err);

/**
 * A `ResumeStore` in IndexedDB. Its failures are XetBucketsErrors: LOCAL_IO for IndexedDB's own, and
 * INVALID_ARGUMENT when the runtime has no IndexedDB.
 */
export function indexedDbResumeStore(options: IndexedDbResumeOptions = {}): ResumeStore {
  const dbName = options.dbName ?? "xet-buckets-resume";
  const maxAge = (options.maxAgeDays ?? 14) * DAY;
  return {
    async open(key, warn) {
      const factory = options.indexedDB ?? (globalThis as { indexedDB?: IDBFactory }).indexedDB;
      if (!factory) {
        throw new InvalidArgumentError("indexedDbResumeStore: IndexedDB is not available in this runtime (pass options.indexedDB)");
      }
      try {
        return await openState(factory, dbName, maxAge, key, warn);
      } catch (err) {
        throw storageError(dbName, err);
      }
    },
  };
}

/** Opens (or starts) the state of upload `key`, pruning abandoned ones (the store's `open`). */
async function openState(
  factory: IDBFactory,
  dbName: string,
  maxAge: number,
  key: string,
  warn: (message: string) => void,
): Promise<ResumeState> {
  const stamp = await resumeStamp();
  const db = await openDb(factory, dbName);
  const known = new Map<string, "p" | "a">();
  try {
    // Prune abandoned states, read this one.
    const tx = db.transaction(["uploads", "xorbs"], "readwrite");
    const uploads = tx.objectStore("uploads");
    const xorbs = tx.objectStore("xorbs");
    const all = (await idbRequest(uploads.getAll())) as Array<{ key?: unknown; updated?: unknown }>;
    const now = Date.now();
    for (const u of all) {
      if (typeof u.key === "string" && u.key !== key && !(typeof u.updated === "number" && now - u.updated <= maxAge)) {
        uploads.delete(u.key);
        xorbs.delete(idbKeysUnder(u.key));
      }
    }
    const header = (await idbRequest(uploads.get(key))) as Record<string, unknown> | undefined;
    let problem: string | undefined;
    if (header) {
      problem = stampMismatch(header, stamp);
      if (!problem) {
        for (const r of (await idbRequest(xorbs.getAll(idbKeysUnder(key)))) as Array<{ hash?: unknown; state?: unknown }>) {
          if (!isXetHash(r.hash) || (r.state !== "p" && r.state !== "a")) {
            problem = "a xorb record is malformed";
            break;
          }
          if (r.state === "a" || !known.has(r.hash)) known.set(r.hash, r.state);
        }
      }
    }
    if (problem) {
      warn(`resume state ${key.slice(0, 12)}… in IndexedDB ${dbName} ignored: ${problem}; the upload starts afresh`);
      known.clear();
      xorbs.delete(idbKeysUnder(key));
    }
    if (!header || problem) uploads.put({ ...stamp, key, created: now, updated: now });
    else uploads.put({ ...header, updated: now });
    await idbDone(tx);
  } catch (err) {
    db.close();
    throw err;
  }
  let failed = false;
  let pending: Promise<void> = Promise.resolve();
  const mark = (hash: string, state: "p" | "a") => {
    if (failed) return;
    try {
      const tx = db.transaction(["uploads", "xorbs"], "readwrite");
      tx.objectStore("xorbs").put({ key, hash, state });
      const p = idbDone(tx).catch((err: unknown) => {
        if (!failed)
          warn(
            `resume state in IndexedDB ${dbName} can no longer be written (${(err as Error)?.message}): this upload will not be resumable`,
          );
        failed = true;
      });
      pending = pending.then(() => p);
    } catch (err) {
      failed = true;
      warn(`resume state in IndexedDB ${dbName} can no longer be written (${(err as Error)?.message}): this upload will not be resumable`);
    }
  };
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    await pending;
    db.close();
  };
  const state: ResumeState = {
    known,
    posting: (h) => mark(h, "p"),
    accepted: (h) => mark(h, "a"),
    registered: () =>
      deleteState().catch((err: unknown) => {
        throw storageError(dbName, err);
      }),
    close,
  };
  async function deleteState(): Promise<void> {
    await pending;
    const deleteIn = async (d: IDBDatabase) => {
      const tx = d.transaction(["uploads", "xorbs"], "readwrite");
      tx.objectStore("uploads").delete(key);
      tx.objectStore("xorbs").delete(idbKeysUnder(key));
      await idbDone(tx).catch((err: unknown) =>
        warn(`resume state in IndexedDB ${dbName} could not be deleted: ${(err as Error)?.message}`),
      );
    };
    if (!closed) {
      await deleteIn(db);
      await close();
      return;
    }
    // Closed already (the pipeline ended before the batch): reopen to delete.
    const again = await openDb(factory, dbName);
    try {
      await deleteIn(again);
    } finally {
      again.close();
    }
  }
  return state;
}
