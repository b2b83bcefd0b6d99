/**
 * The platform in Node, Deno and Bun (package.json "imports" `#platform`, conditions node, deno, bun and
 * default): local files through `node:fs` (./node/), the core's `.wasm` read from disk, chunking workers on
 * `worker_threads` in Node (they read local files themselves) and module Web Workers in Deno and Bun, and
 * the dedup cache in a directory under the user's cache directory (./node/dedup-cache.ts).
 *
 * The runtime is detected here, once: Deno and Bun by their globals, Node otherwise.
 */
import { createHash } from "node:crypto";
import { mkdir, readdir, readFile, rm, rmdir, writeFile } from "node:fs/promises";
import { availableParallelism } from "node:os";
import { basename, dirname, join, resolve } from "node:path";
import { Worker as ThreadWorker, type TransferListItem } from "node:worker_threads";
import { WORKER_SOURCE as THREAD_WORKER_SOURCE } from "./generated/worker-node.js";
import { WORKER_SOURCE as MODULE_WORKER_SOURCE } from "./generated/worker-web.js";
import { defaultDedupCache as nodeDefaultDedupCache, directoryDedupCache } from "./node/dedup-cache.js";
import { writeFileAtomic, writeFileAtomicAt } from "./node/download.js";
import { local, openFile, readFileBlocks, statFile, toPath } from "./node/files.js";
import { mustUseFetch, rangeFetch as nodeRangeFetch } from "./node/range-fetch.js";
import { openResumeState } from "./node/resume.js";
import { walkDirectory } from "./node/walk.js";
import type { DedupCacheStore } from "../dedup-cache-store.js";
import { watchDirectory } from "./node/watch.js";
import type { Implements, LocalFiles, Runtime, Sha256, WorkerHost } from "./types.js";
import type * as Self from "./node.js";
import { moduleWorkers } from "./web-workers.js";

const g = globalThis as { Deno?: unknown; Bun?: unknown };

export const runtime: Runtime = g.Deno !== undefined ? "deno" : g.Bun !== undefined ? "bun" : "node";

export const streamingUploads: boolean = true;

export const localFiles: LocalFiles | undefined = {
  toPath,
  resolve,
  join,
  dirname,
  basename,
  stat: statFile,
  list: (dir) => local(dir, readdir(dir)),
  open: openFile,
  readBlocks: readFileBlocks,
  readText: (p) => local(p, readFile(p, "utf8")),
  writeText: (p, text) => local(p, writeFile(p, text)),
  remove: (p) => local(p, rm(p, { force: true })),
  removeDir: (p) => local(p, rmdir(p)),
  makeDir: async (p) => {
    await local(p, mkdir(p, { recursive: true }));
  },
  walk: walkDirectory,
  writeAtomic: writeFileAtomic,
  writeAtomicAt: writeFileAtomicAt,
  watch: watchDirectory,
  dedupCache: directoryDedupCache,
  openResumeState,
};

export function defaultDedupCache(): DedupCacheStore | undefined {
  return nodeDefaultDedupCache();
}

export function nativeSha256(): Sha256 | undefined {
  const h = createHash("sha256");
  return { update: (data) => void h.update(data), digest: () => h.digest("hex") };
}

export function defaultWorkers(): number {
  return runtime === "node" ? Math.max(1, Math.min(4, availableParallelism())) : 0;
}

export async function readCoreWasm(url: URL): Promise<Uint8Array<ArrayBuffer> | undefined> {
  // A fresh buffer of its own (never a shared one).
  return (await readFile(url)) as Uint8Array<ArrayBuffer>;
}

/** Node: `worker_threads` running the worker's code as a script (`eval`); they read local files themselves. */
const threadWorkers: WorkerHost = {
  readsFiles: true,
  readsBlobs: false,
  start(listener) {
    const w = new ThreadWorker(THREAD_WORKER_SOURCE, { eval: true });
    w.on("message", (msg) => listener.message(msg));
    w.on("error", (err) => listener.error(err));
    w.on("exit", (code) => listener.error(new Error(`the chunking worker exited (code ${code})`)));
    // Idle workers do not keep the process alive; the pool refs a worker while it has tasks.
    w.unref();
    return {
      post: (msg, transfer) => w.postMessage(msg, transfer as unknown as TransferListItem[]),
      terminate: () => void w.terminate(),
      ref: () => w.ref(),
      unref: () => w.unref(),
    };
  },
  close() {},
};

export function chunkingWorkers(): WorkerHost | undefined {
  if (runtime === "node") return threadWorkers;
  return typeof globalThis.Worker === "undefined" ? undefined : moduleWorkers(MODULE_WORKER_SOURCE);
}

export function rangeFetch(inPlace = true): typeof fetch | undefined {
  // Deno and Bun have their own fetch, which this does not try to beat.
  return runtime === "node" && !mustUseFetch() ? nodeRangeFetch(inPlace) : undefined;
}

export { inPlaceBody, isRangeFetch } from "./node/range-fetch.js";

/** This module is a `Platform` (checked by TypeScript; nothing at run time). */
export type _Implements = Implements<typeof Self>;
