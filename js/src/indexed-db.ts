/**
 * IndexedDB as promises, for the stores this package keeps there (resume states: browser/resume.ts; the dedup
 * cache: platform/idb-dedup-cache.ts): a request's result, a transaction's end, opening a database, and its
 * failures as this package's errors. A leaf module, so that both layers use it.
 */
import { XetBucketsError } from "./errors.js";

/** The result of an IndexedDB request. */
export function idbRequest<T>(r: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error);
  });
}

/** Resolves when the transaction commits; rejects when it fails or aborts. */
export function idbDone(tx: IDBTransaction): Promise<void> {
  return new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onerror = () => reject(tx.error);
    tx.onabort = () => reject(tx.error ?? new XetBucketsError("LOCAL_IO", "IndexedDB transaction aborted"));
  });
}

/**
 * Opens database `name` (version 1), creating the object stores it lacks: `stores` maps each store's name to
 * its key path.
 */
export function openIdb(factory: IDBFactory, name: string, stores: Record<string, string | string[]>): Promise<IDBDatabase> {
  return new Promise((resolve, reject) => {
    const r = factory.open(name, 1);
    r.onupgradeneeded = () => {
      const db = r.result;
      for (const [store, keyPath] of Object.entries(stores)) {
        if (!db.objectStoreNames.contains(store)) db.createObjectStore(store, { keyPath });
      }
    };
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error);
    r.onblocked = () =>
      reject(new XetBucketsError("LOCAL_IO", `the IndexedDB database ${name} is blocked by another tab with an older version open`));
  });
}

/** The keys `[first, …]` of a store whose key path is an array starting with `first`. */
export function idbKeysUnder(first: string): IDBKeyRange {
  return IDBKeyRange.bound([first, ""], [first, "\uffff"]);
}

/** An IndexedDB failure (a DOMException: blocked, quota, aborted transaction) as this package's error (LOCAL_IO). */
export function idbError(what: string, err: unknown): XetBucketsError {
  if (err instanceof XetBucketsError) return err;
  return new XetBucketsError("LOCAL_IO", `${what} failed: ${(err as Error)?.message ?? err}`, { cause: err });
}
