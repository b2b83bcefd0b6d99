/**
 * `POST /api/buckets/{ns}/{name}/batch`: register, copy and delete bucket files (NDJSON lines).
 *
 * Order and atomicity: adds go first, then copies, then deletes (so copy + delete is a move), in requests
 * of at most 1000 lines. The Hub applies lines independently: a batch is NOT transactional. Failed paths
 * are collected from every request (200 with `failed[]` for a partial failure, 422 when all failed) and
 * returned; callers decide whether to throw (`BatchError`).
 *
 * A request whose answer is lost (the connection dropped, cut or stalled before the answer was read) is sent
 * again, like any other: adds and copies applied twice leave the same state. A delete applied by the lost
 * attempt is refused by the next one (the file is gone): a retried request's refused deletes whose paths are
 * gone count as done (paths-info says which).
 */
import { BatchError, ProtocolError } from "../errors.js";
import type { BucketRef } from "../repo.js";
import { strictText, type HubContext } from "./context.js";
import { postPathsInfo } from "./files.js";

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
    // The answer is read inside the retry loop: a connection lost while it is read sends the request again.
    const res = await ctx.requestRead(
      `/api/buckets/${bucket.namespace}/${bucket.name}/batch`,
      {
        method: "POST",
        headers: { "Content-Type": "application/x-ndjson", Accept: "application/json" },
        body,
        accept: [422],
        signal: opts.abortSignal,
      },
      async (res, at) => ({
        status: res.status,
        attempt: at.attempt,
        text: await strictText(res, `batch answered ${res.status} with a body that`),
      }),
    );
    let json: { processed?: unknown; succeeded?: unknown; failed?: unknown };
    try {
      json = JSON.parse(res.text) as typeof json;
    } catch (err) {
      throw new ProtocolError(`batch answered ${res.status} with a body that is not JSON`, { cause: err });
    }
    const failed: BatchFailure[] = (Array.isArray(json.failed) ? json.failed : []).map((f: { path?: unknown; error?: unknown }) => ({
      path: typeof f?.path === "string" ? f.path : "?",
      error: typeof f?.error === "string" ? f.error : JSON.stringify(f?.error ?? f),
    }));
    if (res.status === 422 && failed.length === 0) {
      for (const op of group) failed.push({ path: op.path, error: "rejected by the server (422)" });
    }
    const redone = res.attempt > 1 ? await deletedBefore(ctx, bucket, group, failed, opts.abortSignal) : new Set<string>();
    result.failed.push(...failed.filter((f) => !redone.has(f.path)));
    result.processed += typeof json.processed === "number" ? json.processed : group.length;
    result.succeeded +=
      (typeof json.succeeded === "number" ? json.succeeded : group.length - failed.length) +
      failed.filter((f) => redone.has(f.path)).length;
    opts.onRequest?.(Math.min(i + group.length, ordered.length), ordered.length);
  }
  return result;
}

/**
 * The paths of a retried batch request whose refused deletes were done by an earlier attempt (the answer of which
 * was lost): the path is gone from the bucket.
 */
async function deletedBefore(
  ctx: HubContext,
  bucket: BucketRef,
  group: BatchOp[],
  failed: BatchFailure[],
  signal: AbortSignal | undefined,
): Promise<Set<string>> {
  const deletes = new Set(group.filter((o) => o.type === "deleteFile").map((o) => o.path));
  const refused = failed.filter((f) => deletes.has(f.path)).map((f) => f.path);
  if (refused.length === 0) return new Set();
  const present = new Set((await postPathsInfo(ctx, { ...bucket, path: "" }, refused, { signal })).map((e) => e.path));
  return new Set(refused.filter((p) => !present.has(p)));
}
