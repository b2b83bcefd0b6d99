/**
 * The chunking worker as a module Web Worker (browsers, Deno, Bun; started by the platform from the bundle of
 * this file): answers with the worker's global `postMessage`. Tasks carry their bytes.
 */
import type { ToWorker } from "./protocol.js";
import { chunkingWorker } from "./worker.js";

/** The worker global scope, as far as this worker uses it (the DOM library types `self` as a Window). */
const scope = globalThis as unknown as {
  postMessage(msg: unknown, transfer: Transferable[]): void;
  onmessage: ((ev: MessageEvent<ToWorker>) => void) | null;
};

const handle = chunkingWorker({ post: (msg, transfer) => scope.postMessage(msg, transfer ?? []) });
scope.onmessage = (ev) => handle(ev.data);
