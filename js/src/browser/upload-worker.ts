/**
 * The upload worker: a module Web Worker that runs `uploadFilesWithProgress` (reading, chunking, hashing,
 * dedup and uploads, all in WebAssembly and fetch) off the page's main thread, so the page stays responsive
 * however large the files. Started by `UploadWorker` (index.ts); it speaks the messages of protocol.ts.
 *
 * Chunking runs on chunking workers started by this worker (`workers`, default: one fewer than the cores, 1 to 4), which
 * read the picked Files' ranges themselves; this worker assembles the xorbs and sends them. Request bodies
 * are `Blob`s of in-memory pieces (never streams: Firefox and Safari cannot send them, nor Chromium over
 * HTTP/1.1; xet/upload/xorb-assembly.ts says why not slices of the File), and nothing needs
 * `SharedArrayBuffer`, so the page needs no cross-origin isolation headers.
 */
import { uploadFilesWithProgress, type CommitResult } from "../api/upload.js";
import { TransferError } from "../errors.js";
import { indexedDbResumeStore } from "./resume.js";
import { initCore } from "../core/index.js";
import type { FromWorker, ToWorker, UploadRequest, WireError } from "./protocol.js";
import type { UploadProgressEvent } from "../xet/upload.js";

interface WorkerScope {
  addEventListener(type: "message", listener: (ev: MessageEvent<ToWorker>) => void): void;
  postMessage(message: FromWorker): void;
}

const scope = globalThis as unknown as WorkerScope;
/** Least time between two `bytes` events posted to the page. */
const PROGRESS_MS = 50;
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
    const it = uploadFilesWithProgress({
      ...options,
      // `useWebWorkers: true | { poolSize }` (@huggingface/hub's) maps onto `workers` as in uploadFiles.
      workers: options.workers ?? (options.useWebWorkers ? undefined : defaultWorkers()),
      resumeStore,
      repo: req.repo,
      files: req.files,
      abortSignal: ctl.signal,
    });
    // `bytes` events (cumulative counters) go to the page at most every 50 ms, the last one always: each
    // message is a task on the page's thread.
    let pending: UploadProgressEvent | undefined;
    let last = 0;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const flush = () => {
      if (timer !== undefined) clearTimeout(timer);
      timer = undefined;
      if (pending) scope.postMessage({ type: "progress", id: req.id, event: pending });
      pending = undefined;
      last = Date.now();
    };
    try {
      for (;;) {
        const r = await it.next();
        if (r.done) {
          flush();
          scope.postMessage({ type: "done", id: req.id, result: r.value });
          return;
        }
        if (r.value.event === "bytes") {
          pending = r.value;
          if (Date.now() - last >= PROGRESS_MS) flush();
          else timer ??= setTimeout(flush, PROGRESS_MS - (Date.now() - last));
          continue;
        }
        flush();
        scope.postMessage({ type: "progress", id: req.id, event: r.value });
      }
    } finally {
      if (timer !== undefined) clearTimeout(timer);
    }
  } catch (err) {
    scope.postMessage({ type: "error", id: req.id, error: toWire(err) });
  } finally {
    jobs.delete(req.id);
  }
}

/**
 * Chunking workers of an upload in this worker: one core fewer than the machine has (at least 1, at most 4),
 * so the page's thread, the browser and the network keep a core. On the calling thread (0) chunking, hashing
 * and reading take turns with sending; Chromium, 2 cores, a 128 MiB File: ≈ 45–75 MiB/s with 2 workers
 * against ≈ 25–55 with none (bench/browser.ts, a loaded machine). With 2 workers on 2 cores the page's thread
 * waited for a CPU now and then (tasks of 70–95 ms in a few runs); with 1, never over 50 ms, for ≈ 10 % less
 * speed.
 */
function defaultWorkers(): number {
  const cores = (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator?.hardwareConcurrency ?? 2;
  return Math.max(1, Math.min(4, cores - 1));
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
