/**
 * Messages between the page (`UploadWorker`, in index.ts) and the upload worker (upload-worker.ts). Everything
 * here is structured-cloneable: Files and Blobs travel by reference (no copy of their bytes), progress events
 * and results are plain records, errors are flattened into `WireError`.
 */
import type { CommitResult, UploadOptions } from "../api/upload.js";
import type { UploadProgressEvent } from "../xet/upload.js";
import type { CoreInput } from "../core/index.js";

/** A file for the worker: a `File` (bucket path = its name) or an explicit path with Blob or bytes content. */
export type WorkerFileInput =
  | File
  | {
      /** The file's path in the bucket. */
      path: string;
      /** The content: a Blob/File (passed by reference) or bytes (copied to the worker). */
      content: Blob | Uint8Array | ArrayBuffer;
    };

/** Upload options that can cross to a worker (functions such as `fetch` or `onRetry` cannot). */
export type WorkerUploadOptions = Omit<UploadOptions, "fetch" | "onRetry" | "abortSignal" | "resumeStore" | "resumeDir" | "onWarning"> & {
  /**
   * Keep resume state in IndexedDB (browser/resume.ts): an interrupted upload of the same files, started
   * again, does not send again what the CAS stored. `true`, or the database to use.
   */
  resume?:
    | boolean
    | {
        /** The IndexedDB database (default `xet-buckets-resume`). */
        dbName?: string;
      };
};

export interface UploadRequest {
  type: "upload";
  id: number;
  /** `buckets/ns/name`, `hf://buckets/ns/name` or `{ type: "bucket", name: "ns/name" }`. */
  repo: string | { type: string; name: string };
  files: WorkerFileInput[];
  options: WorkerUploadOptions;
  /** Where the worker loads the core from (default: the `.wasm` file next to the package's modules). */
  wasm?: Exclude<CoreInput, Response>;
}

export interface AbortRequest {
  type: "abort";
  id: number;
  reason?: string;
}

export type ToWorker = UploadRequest | AbortRequest;

/** An error flattened for postMessage: the name, code, message and the fields callers branch on. */
export interface WireError {
  name: string;
  code?: string;
  message: string;
  statusCode?: number;
  url?: string;
  requestId?: string;
  serverCode?: string;
  /** `BatchError` (path, error) and `TransferError` (with the code, and the local path when there is one). */
  failures?: { path: string; error: string; code?: string; localPath?: string }[];
  /** `TransferError`: the upload's result for the files that made it (its failures flattened the same way). */
  result?: CommitResult;
}

export type FromWorker =
  | { type: "progress"; id: number; event: UploadProgressEvent }
  | { type: "done"; id: number; result: CommitResult }
  | { type: "error"; id: number; error: WireError };
