/**
 * The platform in browsers, Web Workers and edge runtimes (package.json "imports" `#platform`, conditions
 * browser, worker, workerd and edge-light): no local files (content comes as Blobs, bytes or streams), the
 * core's `.wasm` fetched by its glue, and chunking workers as module Web Workers where `Worker` exists.
 * Nothing here reaches a Node module, so browser bundlers and Workers without `nodejs_compat` load it.
 */
import { WORKER_SOURCE } from "./generated/worker-web.js";
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
