/**
 * The platform in browsers, Web Workers and edge runtimes (package.json "imports" `#platform`, conditions
 * browser, worker, workerd and edge-light): no local files (content comes as Blobs, bytes or streams), the
 * core's `.wasm` fetched by its glue, chunking workers as module Web Workers where `Worker` exists, and the
 * dedup cache in IndexedDB where it exists (./idb-dedup-cache.ts). Nothing here reaches a Node module, so
 * browser bundlers and Workers without `nodejs_compat` load it.
 */
import type { DedupCacheStore } from "../dedup-cache-store.js";
import { WORKER_SOURCE } from "./generated/worker-web.js";
import { indexedDbDedupCache } from "./idb-dedup-cache.js";
import type { Implements, InPlaceBody, LocalFiles, Runtime, Sha256, WorkerHost } from "./types.js";
import type * as Self from "./web.js";
import { moduleWorkers } from "./web-workers.js";

export const runtime: Runtime = "web";

export const streamingUploads: boolean = false;

export const localFiles: LocalFiles | undefined = undefined;

export function defaultWorkers(): number {
  return 0;
}

export async function readCoreWasm(_url: URL): Promise<Uint8Array<ArrayBuffer> | undefined> {
  return undefined;
}

export function nativeSha256(): Sha256 | undefined {
  return undefined;
}

export function chunkingWorkers(): WorkerHost | undefined {
  return typeof Worker === "undefined" ? undefined : moduleWorkers(WORKER_SOURCE);
}

/** IndexedDB where the runtime has it (browsers, Web Workers); edge runtimes have none. */
export function defaultDedupCache(): DedupCacheStore | undefined {
  return typeof indexedDB === "undefined" ? undefined : indexedDbDedupCache();
}

export function rangeFetch(_inPlace = true): typeof fetch | undefined {
  return undefined;
}

export function inPlaceBody(_res: Response): InPlaceBody | undefined {
  return undefined;
}

export function isRangeFetch(_f: unknown): boolean {
  return false;
}

/** This module is a `Platform` (checked by TypeScript; nothing at run time). */
export type _Implements = Implements<typeof Self>;
