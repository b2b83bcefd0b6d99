/**
 * Chunking workers as module Web Workers, started from a Blob URL of their bundled code (browsers, Web
 * Workers, Deno, Bun): no file next to the package to locate, so any bundler's output can start them.
 */
import type { WorkerHost } from "./types.js";

export function moduleWorkers(source: string): WorkerHost {
  let url: string | undefined;
  return {
    readsFiles: false,
    readsBlobs: true,
    start(listener) {
      url ??= URL.createObjectURL(new Blob([source], { type: "text/javascript" }));
      const w = new Worker(url, { type: "module", name: "xet-buckets chunking" });
      w.addEventListener("message", (ev: MessageEvent) => listener.message(ev.data));
      w.addEventListener("error", (ev: ErrorEvent) => {
        ev.preventDefault?.();
        listener.error(new Error(ev.message || "the chunking worker failed to start"));
      });
      return {
        post: (msg, transfer) => w.postMessage(msg, transfer),
        terminate: () => w.terminate(),
        ref: () => {},
        unref: () => {},
      };
    },
    close() {
      if (url) URL.revokeObjectURL(url);
      url = undefined;
    },
  };
}
