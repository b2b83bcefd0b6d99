/**
 * `POST /api/buckets/{ns}/{name}/batch`: register, copy and delete bucket files (NDJSON lines).
 *
 * Order and atomicity: adds go first, then copies, then deletes (so copy + delete is a move), in requests
 * of at most 1000 lines. The Hub applies lines independently: a batch is NOT transactional. Failed paths
 * are collected from every request (200 with `failed[]` for a partial failure, 422 when all failed) and
 * returned; callers decide whether to throw (`BatchError`).
 */
import { BatchError, NetworkError, ProtocolError, XetBucketsError } from "../errors.js";
import type { BucketRef } from "../repo.js";
import { strictText, type HubContext } from "./context.js";

const MAX_BATCH_LINES = 1000;

export interface AddFileOp {
  type: "addFile";
  path: string;
  xetHash: string;
  /** Modification time, ms since the epoch (sent as an integer). */
  mtime?: number;
  contentType?: string;
}
export interface CopyFileOp {
  type: "copyFile";
  path: string;
  xetHash: string;
  mtime?: number;
  sourceRepoType: "bucket" | "model" | "dataset" | "space" | "kernel";
  sourceRepoId: string;
}
export interface DeleteFileOp {
  type: "deleteFile";
  path: string;
}
export type BatchOp = AddFileOp | CopyFileOp | DeleteFileOp;

/** An operation of a bucket batch that the bucket refused. */
export interface BatchFailure {
  /** The path in the bucket. */
  path: string;
  /** The server's reason. */
  error: string;
}
export interface BatchResult {
  processed: number;
  succeeded: number;
  failed: BatchFailure[];
}

/** The error of a batch the bucket applied in part: the first failures in the message, all in `failures`. */
export function batchError(failures: BatchFailure[], total: number): BatchError {
  const shown = failures
    .slice(0, 10)
    .map((f) => `${f.path}: ${f.error}`)
    .join("; ");
  return new BatchError(
    `the bucket refused ${failures.length} of ${total} operation(s) (${shown}${failures.length > 10 ? `; and ${failures.length - 10} more` : ""}). ` +
      "The other operations were applied (a bucket batch is not transactional); fix these paths and run them again (err.failures lists them).",
    failures,
  );
}

function line(op: BatchOp): string {
  const o: Record<string, unknown> = { ...op };
  if (typeof o.mtime === "number") o.mtime = Math.round(o.mtime);
  return JSON.stringify(o);
}

export async function batchBucketOps(
  ctx: HubContext,
  bucket: BucketRef,
  ops: BatchOp[],
  opts: { abortSignal?: AbortSignal; onRequest?: (done: number, total: number) => void } = {},
): Promise<BatchResult> {
  const ordered = [
    ...ops.filter((o) => o.type === "addFile"),
    ...ops.filter((o) => o.type === "copyFile"),
    ...ops.filter((o) => o.type === "deleteFile"),
  ];
  const result: BatchResult = { processed: 0, succeeded: 0, failed: [] };
  for (let i = 0; i < ordered.length; i += MAX_BATCH_LINES) {
    const group = ordered.slice(i, i + MAX_BATCH_LINES);
    const body = group.map(line).join("\n") + "\n";
    const res = await ctx.request(`/api/buckets/${bucket.namespace}/${bucket.name}/batch`, {
      method: "POST",
      headers: { "Content-Type": "application/x-ndjson", Accept: "application/json" },
      body,
      accept: [422],
      signal: opts.abortSignal,
    });
    let json: { processed?: unknown; succeeded?: unknown; failed?: unknown };
    let text: string;
    try {
      text = await strictText(res, `batch answered ${res.status} with a body that`);
    } catch (err) {
      if (err instanceof XetBucketsError || opts.abortSignal?.aborted) throw err;
      // The connection broke while the answer was read: the batch may or may not have been applied.
      throw new NetworkError(
        "NETWORK",
        `batch: the connection broke while its answer was read (${String((err as Error)?.message ?? err)}); the operations may or may not have been applied — run them again`,
        res.url,
        { cause: err },
      );
    }
    try {
      json = JSON.parse(text) as typeof json;
    } catch (err) {
      throw new ProtocolError(`batch answered ${res.status} with a body that is not JSON`, { cause: err });
    }
    const failed = Array.isArray(json.failed) ? json.failed : [];
    for (const f of failed) {
      const path = typeof f?.path === "string" ? f.path : "?";
      const error = typeof f?.error === "string" ? f.error : JSON.stringify(f?.error ?? f);
      result.failed.push({ path, error });
    }
    if (res.status === 422 && failed.length === 0) {
      for (const op of group) result.failed.push({ path: op.path, error: "rejected by the server (422)" });
    }
    result.processed += typeof json.processed === "number" ? json.processed : group.length;
    result.succeeded += typeof json.succeeded === "number" ? json.succeeded : group.length - failed.length;
    opts.onRequest?.(Math.min(i + group.length, ordered.length), ordered.length);
  }
  return result;
}
