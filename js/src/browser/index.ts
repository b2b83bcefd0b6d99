/**
 * `xet-buckets/browser`: uploads from a web page with the work in a module Web Worker.
 *
 * Reading, content-defined chunking, hashing, deduplication and compression run in WebAssembly in the
 * worker (and the chunking workers it starts, which read the Files' ranges themselves); the page only posts
 * the `File`s (structured clone: the bytes are not copied) and receives progress events and the dedup
 * report, so its thread stays free. No `SharedArrayBuffer`, so no cross-origin isolation (COOP/COEP) is
 * needed; request bodies are `Blob`s, which every browser can send.
 *
 * Memory of the tab (the renderer process) while uploading: the upload worker and its core, each chunking
 * worker (its core holds one segment and its result, ≈ 10 MiB, plus its isolate), the segments in flight,
 * and one 4 MiB piece per xorb being assembled: a xorb's bytes are handed to the browser as `Blob` pieces as
 * they are assembled, and the browser keeps a Blob's bytes outside the tab (Chromium: in its browser
 * process, `maxXorbUploads` × 64 MiB at most, paged to disk beyond its memory limit). It does not grow with
 * the files' size: Chromium 156, above the idle page (the workers' start included), ≈ 75–90 MiB for a 48–128
 * MiB File and ≈ 90–125 MiB for 384 MiB–1 GiB (bench/browser.ts and js/test/browser/upload-memory.test.ts,
 * which checks ≤ 256 MiB).
 *
 * ```js
 * import { UploadWorker } from "xet-buckets/browser";
 * const worker = new UploadWorker();
 * const report = await worker.upload({
 *   repo: "buckets/me/photos",
 *   files: [...input.files].map((f) => ({ path: f.webkitRelativePath || f.name, content: f })),
 *   accessToken,
 *   onProgress: (ev) => { if (ev.event === "bytes") render(ev.processed, ev.dedupLocal + ev.dedupGlobal, ev.sent) },
 * });
 * ```
 *
 * This module itself loads no WebAssembly; the worker does, from the `.wasm` file next to the package's
 * modules (bundlers that understand `new URL(..., import.meta.url)` copy it), or from `wasm` when given.
 *
 * @module xet-buckets/browser
 */
import type { CommitResult } from "../api/upload.js";
import type { CoreInput } from "../core/index.js";
import {
  BatchError,
  BucketNotFoundError,
  EntryNotFoundError,
  HubApiError,
  IntegrityError,
  InvalidArgumentError,
  NetworkError,
  ProtocolError,
  TransferError,
  XetBucketsError,
  XetCoreError,
  type ErrorCode,
  type FileFailure,
  type HttpErrorCode,
} from "../errors.js";
import type { UploadProgressEvent } from "../xet/upload.js";
import type { FromWorker, ToWorker, WireError, WorkerFileInput, WorkerUploadOptions } from "./protocol.js";

export type { WorkerFileInput, WorkerUploadOptions } from "./protocol.js";
export type {
  CommitResult,
  DedupReport,
  FileUploadReport,
  UploadProgressEvent,
  BytesEvent,
  FileProgressEvent,
  PhaseEvent,
} from "../api/upload.js";

export interface WorkerUploadParams extends WorkerUploadOptions {
  /** The destination bucket: `buckets/ns/name`, `hf://buckets/ns/name` or `{ type: "bucket", name }`. */
  repo:
    | string
    | {
        /** Always `bucket`. */
        type: string;
        /** `ns/name` */
        name: string;
      };
  /** Files (bucket path = name) or `{ path, content }` with a Blob/File or bytes (bytes are copied). */
  files: WorkerFileInput[];
  /** Called on the page's thread for each progress event (`phase`, `fileProgress`, `bytes`). */
  onProgress?: (event: UploadProgressEvent) => void;
  /** Aborts the upload in the worker (nothing is registered); the promise rejects with the reason. */
  abortSignal?: AbortSignal;
}

/** How an `UploadWorker` starts. */
export interface UploadWorkerOptions {
  /**
   * The worker to use: a `Worker` you created (e.g. from your bundler's worker import of
   * `xet-buckets/browser/upload-worker`), or the URL of the worker script. Default: the package's
   * `upload-worker.js` next to this module, started as a module worker.
   */
  worker?: Worker | URL | string;
  /** Where the worker loads the core from: the `.wasm` URL, its bytes or a compiled module. */
  wasm?: Exclude<CoreInput, Response>;
}

interface Job {
  resolve: (r: CommitResult) => void;
  reject: (e: unknown) => void;
  onProgress?: (event: UploadProgressEvent) => void;
}

/**
 * One module Web Worker that runs uploads. Reuse it for several uploads (the WebAssembly core is compiled
 * once per worker); uploads given at the same time run concurrently in it. `terminate()` when done.
 */
export class UploadWorker {
  /** The Web Worker the uploads run in. */
  readonly worker: Worker;
  readonly #wasm: Exclude<CoreInput, Response> | undefined;
  readonly #jobs = new Map<number, Job>();
  #next = 1;
  #failed: Error | undefined;

  constructor(options: UploadWorkerOptions = {}) {
    const w = options.worker;
    if (typeof Worker === "undefined" && !(w && typeof w === "object" && "postMessage" in w)) {
      throw new XetBucketsError("NO_WORKERS", "UploadWorker needs Web Workers (a browser); elsewhere call uploadFiles() directly");
    }
    try {
      if (w === undefined) this.worker = new Worker(new URL("./upload-worker.js", import.meta.url), { type: "module" });
      else if (typeof w === "string" || w instanceof URL) this.worker = new Worker(w, { type: "module" });
      else this.worker = w;
    } catch (err) {
      // A URL the page may not start a worker from (SecurityError), or a malformed one.
      throw new XetBucketsError("WORKER_FAILED", `the upload worker could not be started: ${(err as Error)?.message ?? err}`, {
        cause: err,
      });
    }
    this.#wasm = options.wasm;
    this.worker.addEventListener("message", (ev: MessageEvent<FromWorker>) => this.#onMessage(ev.data));
    this.worker.addEventListener("error", (ev: ErrorEvent) => {
      // A script that failed to load or threw at the top level: every pending upload fails with it.
      ev.preventDefault?.();
      this.#fail(
        new XetBucketsError(
          "WORKER_FAILED",
          `the upload worker failed: ${ev.message || "its script could not be loaded (check that the package's dist/ files are served)"}`,
        ),
      );
    });
  }

  /** Uploads files to a bucket in the worker; resolves with the dedup report, like `uploadFiles`. */
  upload(params: WorkerUploadParams): Promise<CommitResult> {
    if (this.#failed) return Promise.reject(this.#failed);
    const { onProgress, abortSignal, repo, files, ...options } = params;
    if (abortSignal?.aborted) return Promise.reject(abortSignal.reason);
    const id = this.#next++;
    return new Promise<CommitResult>((resolve, reject) => {
      const onAbort = () => {
        const reason: unknown = abortSignal!.reason;
        this.#post({ type: "abort", id, reason: reason instanceof Error ? reason.message : String(reason ?? "aborted") });
        this.#jobs.delete(id);
        reject(reason);
      };
      abortSignal?.addEventListener("abort", onAbort, { once: true });
      const done = () => abortSignal?.removeEventListener("abort", onAbort);
      this.#jobs.set(id, {
        resolve: (r) => (done(), resolve(r)),
        reject: (e) => (done(), reject(e)),
        onProgress,
      });
      try {
        this.#post({ type: "upload", id, repo, files, options, wasm: this.#wasm });
      } catch (err) {
        // DataCloneError: an option or a file that cannot cross to a worker (a function, a stream...).
        this.#jobs.delete(id);
        done();
        reject(new InvalidArgumentError(`the upload cannot be sent to the worker: ${(err as Error)?.message ?? err}`, { cause: err }));
      }
    });
  }

  /** Stops the worker; pending uploads reject. */
  terminate(): void {
    this.worker.terminate();
    this.#fail(new XetBucketsError("WORKER_TERMINATED", "the upload worker was terminated"));
  }

  #post(msg: ToWorker): void {
    this.worker.postMessage(msg);
  }

  #fail(err: Error): void {
    this.#failed = err;
    for (const job of this.#jobs.values()) job.reject(err);
    this.#jobs.clear();
  }

  #onMessage(msg: FromWorker): void {
    const job = this.#jobs.get(msg.id);
    if (!job) return;
    if (msg.type === "progress") {
      job.onProgress?.(msg.event);
      return;
    }
    this.#jobs.delete(msg.id);
    if (msg.type === "done") job.resolve(msg.result);
    else job.reject(fromWire(msg.error));
  }
}

/** Uploads in a new worker that is terminated afterwards (for one-off uploads; reuse an `UploadWorker` otherwise). */
export async function uploadInWorker(params: WorkerUploadParams & UploadWorkerOptions): Promise<CommitResult> {
  const { worker, wasm, ...rest } = params;
  const w = new UploadWorker({ worker, wasm });
  try {
    return await w.upload(rest);
  } finally {
    w.terminate();
  }
}

/** The error of one failed file, from its code and message. */
function rebuilt(f: { code?: string; error: string }): XetBucketsError {
  return new XetBucketsError((f.code ?? "INTERNAL") as ErrorCode, f.error);
}

/**
 * Rebuilds an error sent by the worker as the package's error class, with its fields. An error without a code
 * (which the worker should never send) becomes WORKER_FAILED, so that nothing untyped reaches the page.
 */
function fromWire(e: WireError): Error {
  if (e.name === "AbortError") return new DOMException(e.message, "AbortError");
  if (e.code === undefined) return new XetBucketsError("WORKER_FAILED", `the upload worker failed: ${e.name}: ${e.message}`);
  const code = e.code as ErrorCode;
  if (e.statusCode !== undefined && e.url !== undefined) {
    const init = { statusCode: e.statusCode, url: e.url, requestId: e.requestId, serverCode: e.serverCode };
    const Class =
      e.name === "BucketNotFoundError" ? BucketNotFoundError : e.name === "EntryNotFoundError" ? EntryNotFoundError : HubApiError;
    return new Class(code as HttpErrorCode, e.message, init);
  }
  if (code === "FILES_FAILED" && e.failures && e.result) {
    // Each failure's error is rebuilt from its code and message (the error objects stay in the worker).
    const failures = e.failures.map((f) => ({ ...f, code: (f.code ?? "ERROR") as FileFailure["code"], cause: rebuilt(f) }));
    return new TransferError(e.message, failures, { ...e.result, failed: failures });
  }
  if (e.failures) return new BatchError(e.message, e.failures);
  if (e.url !== undefined && (code === "NETWORK" || code === "TIMEOUT")) return new NetworkError(code, e.message, e.url);
  switch (e.name) {
    case "InvalidArgumentError":
      return new InvalidArgumentError(e.message);
    case "ProtocolError":
      return new ProtocolError(e.message);
    case "IntegrityError":
      return new IntegrityError(code as IntegrityError["code"], e.message);
    case "XetCoreError":
      return new XetCoreError(code, e.message);
  }
  return new XetBucketsError(code, e.message);
}
