/**
 * The upload worker: a module Web Worker that runs `uploadFilesWithProgress` (reading, chunking, hashing,
 * dedup and uploads, all in WebAssembly and fetch) off the page's main thread, so the page stays responsive
 * however large the files. Started by `UploadWorker` (index.ts); it speaks the messages of protocol.ts.
 *
 * Request bodies are `Uint8Array`s (never streams: Firefox and Safari cannot send them), and nothing needs
 * `SharedArrayBuffer`, so the page needs no cross-origin isolation headers.
 */
import { uploadFilesWithProgress, type CommitResult } from "../api/upload.js";
import { TransferError } from "../errors.js";
import { indexedDbResumeStore } from "./resume.js";
import { initCore } from "../core/index.js";
import type { FromWorker, ToWorker, UploadRequest, WireError } from "./protocol.js";

interface WorkerScope {
  addEventListener(type: "message", listener: (ev: MessageEvent<ToWorker>) => void): void;
  postMessage(message: FromWorker): void;
}

const scope = globalThis as unknown as WorkerScope;
const jobs = new Map<number, AbortController>();

scope.addEventListener("message", (ev) => {
  const msg = ev.data;
  if (msg.type === "abort") {
    jobs.get(msg.id)?.abort(new DOMException(msg.reason ?? "the upload was aborted", "AbortError"));
  } else if (msg.type === "upload") {
    void run(msg);
  }
});

async function run(req: UploadRequest): Promise<void> {
  const ctl = new AbortController();
  jobs.set(req.id, ctl);
  try {
    await initCore(req.wasm);
    const { resume, ...options } = req.options;
    const resumeStore = resume ? indexedDbResumeStore(typeof resume === "object" ? resume : {}) : undefined;
    const it = uploadFilesWithProgress({ ...options, resumeStore, repo: req.repo, files: req.files, abortSignal: ctl.signal });
    for (;;) {
      const r = await it.next();
      if (r.done) {
        scope.postMessage({ type: "done", id: req.id, result: r.value });
        return;
      }
      scope.postMessage({ type: "progress", id: req.id, event: r.value });
    }
  } catch (err) {
    scope.postMessage({ type: "error", id: req.id, error: toWire(err) });
  } finally {
    jobs.delete(req.id);
  }
}

function toWire(err: unknown): WireError {
  if (!(err instanceof Error)) return { name: "Error", message: String(err) };
  const e = err as Error & Partial<Omit<WireError, "name" | "message">>;
  const out: WireError = { name: e.name, message: e.message };
  for (const k of ["code", "statusCode", "url", "requestId", "serverCode"] as const) {
    if (e[k] !== undefined) (out as unknown as Record<string, unknown>)[k] = e[k];
  }
  // Failures carry their errors (`cause`), which do not cross to the page: the fields that serialize do.
  const flat = (fs: { path: string; error: string; code?: string; localPath?: string }[]) =>
    fs.map(({ path, error, code, localPath }) => ({ path, error, ...(code ? { code } : {}), ...(localPath ? { localPath } : {}) }));
  if (Array.isArray(e.failures)) out.failures = flat(e.failures);
  if (err instanceof TransferError) {
    const result = err.result as CommitResult;
    out.result = { ...result, failed: flat(result.failed) };
  }
  return out;
}
