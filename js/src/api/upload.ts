/**
 * Uploading to a bucket: @huggingface/hub's calls (`uploadFile`, `uploadFiles`, `uploadFilesWithProgress`,
 * `commit`, `commitIter`) in bucket mode, and huggingface_hub's `batchBucketFiles` (add / copy / delete).
 * The same calls with a model, dataset or space repository make one commit to it (api/repo-commit.ts): LFS
 * files through the same deduplicating pipeline, small text files inline.
 *
 * Every call streams each source once through one deduplicating session (local dedup across all files of
 * the call, global dedup against the CAS), uploads new xorbs in parallel (bounded), registers the data
 * with the CAS (shards), and only then registers the paths in the bucket, with `mtime` (ms) and
 * `contentType`, in requests of at most 1000 operations. Every call returns a `DedupReport`.
 *
 * Memory does not depend on file size, except ≈4 MiB of chunk metadata per GiB (see `UploadTuning` and
 * `uploadMemoryBound`):
 *
 *   peak ≈ maxXorbUploads × (what a xorb body holds + 3 MiB) + segment buffers + chunking workers
 *          + maxPendingBytes + chunk metadata + dedup cache index + runtime  (the terms: xet/upload/pipeline.ts)
 *        ≈ 2 × 3 MiB + 20 MiB + 2 × 15 MiB + 16 MiB + 4 MiB per GiB + 12 MiB + ≈105 MiB ≈ 205 MiB for a 4 GiB
 *          local file of incompressible data with the defaults (bodies read raw chunks of local files and
 *          Blobs again when they are sent; measured: 188 MiB), at most ≈ 333 MiB when bodies hold their
 *          64 MiB xorbs (compressible data, streams)
 *
 * Speed: files are chunked, hashed and compressed by chunking workers (`workers`, default: the cores in
 * Node, at most 4), across files and within large files, while xorbs upload; see xet/upload.ts.
 *
 * Abort (`abortSignal`): checked in every stage (reads, dedup queries, xorb and shard uploads, retry
 * waits, the bucket batch); the call rejects with the signal's reason. An aborted call never registers a
 * partial file: paths are registered only after all their data is stored. An abort that arrives while the
 * final batch request is in flight may still let that request complete on the server (no rollback).
 *
 * Failures: retries with backoff and jitter on network errors, 408, 429 (Retry-After), 500, 502, 503,
 * 504 under a total time budget (`retry`); the CAS token is refreshed before expiry and once on 401.
 * Paths the bucket refuses make the call reject with a `BatchError` listing them (after all operations
 * were sent; the batch is not transactional), unless `allowPartial` is set.
 */
import { fileFailure, InvalidArgumentError, LocalFileError, TransferError, transferMessage, type FileFailure } from "../errors.js";
import { isXetHash } from "../hex.js";
import { batchBucketOps, batchError, type BatchFailure, type BatchOp, type CopyFileOp, type DeleteFileOp } from "../hub/batch.js";
import { hubContext } from "../hub/context.js";
import { XetTokenProvider } from "../hub/xet-token.js";
import {
  checkBucketPath,
  isRepoDesignation,
  isValidName,
  joinBucketPath,
  parseBucket,
  parseRepo,
  repoLabel,
  type BucketDesignation,
  type BucketRef,
  type RepoDesignation,
  type RepoRef,
} from "../repo.js";
import { withEvents } from "./events.js";
import { commitToRepo } from "./repo-commit.js";
import { emptyReport, uploadItems, workersFromHubOption } from "./upload-run.js";
import type { CommitInfo } from "../hub/commit.js";
import type { ContentSource } from "../sources.js";
import { newSessionId } from "../xet/cas.js";
import { type DedupReport, type FileProgressEvent, type UploadProgressEvent } from "../xet/upload.js";
import { BEFORE_REGISTER, type BeforeRegister } from "../upload-hooks.js";
import { checkDistinctPaths, resolveUploadItems, type ContentEdit, type UploadFileInput, type UploadItem } from "../xet/upload-sources.js";
import { directoryResumeStore, resumeKey, UploadResume, type ResumeSummary } from "../xet/resume.js";

export {
  UPLOAD_DEFAULTS,
  uploadMemoryBound,
  type BytesEvent,
  type DedupReport,
  type FileProgressEvent,
  type FileUploadReport,
  type PhaseEvent,
  type UploadDataShape,
  type UploadPhase,
  type UploadProgressEvent,
  type UploadTuning,
} from "../xet/upload.js";
export type { ContentEdit, UploadFileInput } from "../xet/upload-sources.js";
export type { BatchFailure } from "../hub/batch.js";
export type { ResumeState, ResumeStore, ResumeSummary } from "../xet/resume.js";
export {
  DEFAULT_DEDUP_CACHE_BYTES,
  directoryDedupCache,
  type DedupCacheEntryInfo,
  type DedupCacheSpace,
  type DedupCacheStore,
  type DedupCacheStoreEntry,
} from "../xet/dedup-cache.js";

// ---------------------------------------------------------------------------------------------
// Types
// ---------------------------------------------------------------------------------------------

export type { CommitInfo } from "../hub/commit.js";

import type { UploadOptions } from "./upload-options.js";

export type { UploadOptions } from "./upload-options.js";

/** What an upload or commit did: the dedup report, plus copies, deletes and refused paths. */
export interface CommitResult extends DedupReport {
  /** Files copied server-side (`copy` operations that succeeded). */
  copied: number;
  /** Files deleted (`delete` operations that succeeded). */
  deleted: number;
  /** Operations the bucket refused (non-empty only with `allowPartial`). */
  failed: BatchFailure[];
  /** What resuming saved, when `resumeDir` or `resumeStore` was given. */
  resumed?: ResumeSummary;
  /**
   * Repositories: the commit made (@huggingface/hub's `CommitOutput.commit`); undefined when nothing changed
   * (every file already held the same content) and no commit was made. Never set for buckets.
   */
  commit?: CommitInfo;
  /** Repositories: paths left out of the commit because they already held the same content. */
  unchanged?: string[];
}

/** A `commit` operation: delete a file (a missing file is not an error). */
export interface CommitDeletedEntry {
  /** The operation's kind. */
  operation: "delete";
  /** The file's path in the bucket or repository. */
  path: string;
}
/** A `commit` operation: add a file, or replace it. */
export interface CommitFile {
  /** The operation's kind. */
  operation: "addOrUpdate";
  /** The file's path in the bucket or repository. */
  path: string;
  /** A Blob, a `file:` or http(s) URL, bytes, a stream, or a local path. */
  content: ContentSource;
}
/**
 * A `commit` operation: upload a file made of `originalContent` with byte ranges replaced (only the changed
 * chunks are sent when the original is already stored).
 */
export interface CommitEditFile {
  /** The operation's kind. */
  operation: "edit";
  /** The file's path in the bucket or repository. */
  path: string;
  /** The content the edits apply to. */
  originalContent: Blob;
  /** Each edit replaces `[start, end)` of the original with `content`. */
  edits: ContentEdit[];
}
/** A `commit` operation: copy a file by its Xet hash, server-side (no data moves). */
export interface CommitCopyFile {
  /** The operation's kind. */
  operation: "copy";
  /** The copy's path in the bucket or repository. */
  path: string;
  /** The Xet hash of the file to copy (64 hex digits). */
  sourceXetHash: string;
  /** The bucket or Xet-backed repository holding the file. */
  sourceRepo: RepoDesignation;
  /** mtime to record (ms); default now. */
  mtime?: number;
}
/** One operation of `commit`. */
export type CommitOperation = CommitDeletedEntry | CommitFile | CommitEditFile | CommitCopyFile;

/** Parameters of `commit` and `commitIter`. */
export interface CommitParams extends UploadOptions {
  /**
   * The destination: a bucket (`buckets/ns/name`, `hf://buckets/ns/name[/folder]` or `{ type: "bucket", name }`) or a
   * model, dataset or space repository (`datasets/ns/name`, `{ type: "model", name }`…).
   */
  repo: RepoDesignation;
  /** What to do, applied as adds and edits, then copies, then deletes. */
  operations: CommitOperation[];
  /** Repositories: the commit's title (else `commitTitle`). Ignored for buckets. */
  title?: string;
  /** Repositories: the commit's description (else `commitDescription`). Ignored for buckets. */
  description?: string;
}

/** Parameters of `uploadFiles` and `uploadFilesWithProgress`. */
export interface UploadFilesParams extends UploadOptions {
  /**
   * The destination: a bucket (`buckets/ns/name`, `hf://buckets/ns/name[/folder]` or `{ type: "bucket", name }`) or a
   * model, dataset or space repository (`datasets/ns/name`, `{ type: "model", name }`…).
   */
  repo: RepoDesignation;
  /** The files: `{ path, content }`, a `File`, or a `file:` / http(s) URL (a `file:` folder adds every file below it). */
  files: UploadFileInput[];
}

/** Parameters of `uploadFile`. */
export interface UploadFileParams extends UploadOptions {
  /**
   * The destination: a bucket (`buckets/ns/name`, `hf://buckets/ns/name[/folder]` or `{ type: "bucket", name }`) or a
   * model, dataset or space repository (`datasets/ns/name`, `{ type: "model", name }`…).
   */
  repo: RepoDesignation;
  /** The file: `{ path, content }`, a `File`, or a `file:` / http(s) URL. */
  file: UploadFileInput;
}

// ---------------------------------------------------------------------------------------------
// Public calls
// ---------------------------------------------------------------------------------------------

/** Uploads one file to a bucket. Destination: a URL's last segment, a File's name, or `path`. */
export function uploadFile(params: UploadFileParams): Promise<CommitResult> {
  const { file, ...rest } = params;
  return uploadFiles({ ...rest, files: [file] });
}

/**
 * Uploads files (and local folders given as `file:` URLs) to a bucket; returns the dedup report. Each source
 * is read once, cut into content-defined chunks and hashed; chunks already sent in this call or already stored
 * on the CAS are not sent again. The files are registered only once all their data is stored.
 *
 * Throws `InvalidArgumentError` (a bad path, option or source), `BucketNotFoundError`, `HubApiError` /
 * `NetworkError` once retries are spent, `BatchError` when the bucket refuses some paths (unless
 * `allowPartial`), and the signal's reason when aborted (then nothing is registered).
 */
export function uploadFiles(params: UploadFilesParams): Promise<CommitResult> {
  const { files, ...rest } = params;
  return commit({ ...rest, operations: filesToOperations(files) });
}

/**
 * `uploadFiles` with progress: yields `phase`, `fileProgress` and `bytes` events and returns the dedup
 * report. Events are coalesced when the consumer is slower than the upload (the latest counters win), so
 * the upload never waits for the consumer. Leaving the loop early aborts the upload (nothing registered).
 */
export function uploadFilesWithProgress(params: UploadFilesParams): AsyncGenerator<UploadProgressEvent, CommitResult> {
  const { files, ...rest } = params;
  return commitIter({ ...rest, operations: filesToOperations(files) });
}

/** Applies add / edit / copy / delete operations to a bucket (adds, then copies, then deletes). */
export async function commit(params: CommitParams): Promise<CommitResult> {
  return runCommit(params, () => undefined);
}

/** `commit` as an async generator of progress events, returning the result. */
export function commitIter(params: CommitParams): AsyncGenerator<UploadProgressEvent, CommitResult> {
  return withEvents(params.abortSignal, (abortSignal, emit) => runCommit({ ...params, abortSignal }, emit));
}

/** One `add` entry of `batchBucketFiles`: `[source, destination]` (Python's tuple) or an object. */
export type BatchAdd =
  | [ContentSource, string]
  | {
      /** The content: bytes, a Blob/File, a stream, a local path or a `file:` URL. */
      source: ContentSource;
      /** The file's path in the bucket or repository. */
      path: string;
      /** Modification time to record, in ms since the epoch (default: the local file's, or a `File`'s `lastModified`, else now). */
      mtime?: number;
      /** MIME type to record (default: guessed from the extension). */
      contentType?: string;
    };

/**
 * One `copy` entry: Python's `[sourceRepoType, sourceRepoId, xetHash, destination]` or an object. The copy
 * is server-side; no data moves.
 */
export type BatchCopy =
  | [CopyFileOp["sourceRepoType"], string, string, string]
  | {
      /** The bucket (or Xet-backed repository) holding the file. */
      sourceRepo: RepoDesignation;
      /** The Xet hash of the file to copy (64 hex digits). */
      xetHash: string;
      /** The copy's path in the bucket or repository. */
      path: string;
      /** Modification time to record, in ms since the epoch (default now). */
      mtime?: number;
    };

/** Parameters of `batchBucketFiles` (huggingface_hub's `batch_bucket_files`). */
export interface BatchBucketFilesParams extends UploadOptions {
  /** Files to upload. */
  add?: BatchAdd[];
  /** Files to copy server-side, by Xet hash. */
  copy?: BatchCopy[];
  /** Paths to delete (a missing path is not an error). */
  delete?: string[];
}

/**
 * huggingface_hub's `batch_bucket_files`: upload `add` sources, copy by Xet hash, delete paths, in one call
 * (adds, then copies, then deletes; requests of ≤ 1000 operations; not transactional). `bucket` may also
 * be a bare `"ns/name"` id.
 */
export async function batchBucketFiles(bucket: BucketDesignation, params: BatchBucketFilesParams = {}): Promise<CommitResult> {
  const { add = [], copy = [], delete: del = [], ...rest } = params;
  for (const [k, v] of Object.entries({ add, copy, delete: del }))
    if (!Array.isArray(v)) throw new InvalidArgumentError(`${k} must be an array`);
  const operations: CommitOperation[] = [];
  for (const a of add) {
    if (Array.isArray(a)) {
      if (a.length !== 2) throw new InvalidArgumentError("each add entry must be [source, destination]");
      operations.push({ operation: "addOrUpdate", path: a[1], content: a[0] });
    } else if (a && typeof a === "object" && "source" in a) {
      operations.push(Object.assign({ operation: "addOrUpdate" as const, path: a.path, content: a.source }, overrides(a)));
    } else {
      throw new InvalidArgumentError("each add entry must be [source, destination] or { source, path }");
    }
  }
  for (const c of copy) {
    if (Array.isArray(c)) {
      if (c.length !== 4) throw new InvalidArgumentError("each copy entry must be [sourceRepoType, sourceRepoId, xetHash, destination]");
      const [type, id, xetHash, path] = c;
      operations.push({ operation: "copy", path, sourceXetHash: xetHash, sourceRepo: { type, name: id } });
    } else {
      operations.push({ operation: "copy", path: c.path, sourceXetHash: c.xetHash, sourceRepo: c.sourceRepo, mtime: c.mtime });
    }
  }
  for (const path of del) operations.push({ operation: "delete", path });
  const repo = parseBucket(bucket, { allowBareId: true });
  return commit({ ...rest, repo: `hf://buckets/${repo.id}${repo.path ? `/${repo.path}` : ""}`, operations });
}

// ---------------------------------------------------------------------------------------------
// Implementation
// ---------------------------------------------------------------------------------------------

const OVERRIDES = Symbol("overrides");
type Overridable = { [OVERRIDES]?: { mtime?: number; contentType?: string } };

function overrides(a: { mtime?: number; contentType?: string }): Overridable {
  if (a.mtime !== undefined && !(Number.isFinite(a.mtime) && a.mtime >= 0))
    throw new InvalidArgumentError(`mtime must be ms since the epoch, got ${a.mtime}`);
  return { [OVERRIDES]: { mtime: a.mtime, contentType: a.contentType } };
}

/** Marks an operation built from a bare URL or File (destination taken from it). */
const WHOLE = Symbol("whole");

function filesToOperations(files: UploadFileInput[]): CommitOperation[] {
  if (!Array.isArray(files)) throw new InvalidArgumentError("files must be an array");
  return files.map((f): CommitOperation => {
    if (f && typeof f === "object" && "edits" in f)
      return { operation: "edit", path: f.path, originalContent: f.originalContent, edits: f.edits };
    if (f instanceof URL || (typeof File !== "undefined" && f instanceof File)) {
      return { operation: "addOrUpdate", path: "", content: f as unknown as ContentSource, [WHOLE]: f } as CommitFile;
    }
    if (f && typeof f === "object" && "path" in f && "content" in f) return { operation: "addOrUpdate", path: f.path, content: f.content };
    throw new InvalidArgumentError(
      `unsupported file ${Object.prototype.toString.call(f)}: pass a URL, a File, { path, content } or { path, originalContent, edits }`,
    );
  });
}

const REPO_PREFIXES: Record<string, CopyFileOp["sourceRepoType"]> = {
  "buckets/": "bucket",
  "datasets/": "dataset",
  "spaces/": "space",
  "models/": "model",
  "kernels/": "kernel",
};

/** The source of a copy: type and "ns/name". */
function parseSourceRepo(repo: RepoDesignation): { type: CopyFileOp["sourceRepoType"]; id: string } {
  if (repo && typeof repo === "object") {
    const type = repo.type as CopyFileOp["sourceRepoType"];
    if (!["bucket", "model", "dataset", "space", "kernel"].includes(type))
      throw new InvalidArgumentError(`unknown source repository type "${repo.type}"`);
    return { type, id: checkRepoId(repo.name) };
  }
  if (typeof repo !== "string") throw new InvalidArgumentError("sourceRepo must be a repository designation");
  if (repo.startsWith("hf://buckets/")) return { type: "bucket", id: parseBucket(repo).id };
  for (const [prefix, type] of Object.entries(REPO_PREFIXES)) {
    if (repo.startsWith(prefix)) return { type, id: checkRepoId(repo.slice(prefix.length)) };
  }
  return { type: "model", id: checkRepoId(repo) };
}

function checkRepoId(id: string): string {
  const parts = id.split("/");
  if (parts.length !== 2 || !isValidName(parts[0]!) || !isValidName(parts[1]!)) {
    throw new InvalidArgumentError(`invalid source repository id "${id}": expected "namespace/name"`);
  }
  return id;
}

function checkXetHash(h: string, path: string): string {
  if (!isXetHash(h)) throw new InvalidArgumentError(`copy to "${path}": sourceXetHash must be 64 hex characters`);
  return h.toLowerCase();
}

type Emit = (ev: UploadProgressEvent) => void;

async function runCommit(params: CommitParams, emit: Emit): Promise<CommitResult> {
  if (isRepoDesignation(params.repo)) return runRepoCommit(parseRepo(params.repo), params, emit);
  const bucket = parseBucket(params.repo);
  if (params.useXet === false) throw new InvalidArgumentError("useXet must be true or undefined for buckets");
  if (!Array.isArray(params.operations)) throw new InvalidArgumentError("operations must be an array");
  const ctx = hubContext(params);
  const signal = params.abortSignal;
  signal?.throwIfAborted();
  emit({ event: "phase", phase: "preuploading" });

  // Resolve every operation first, so a bad path or a missing local file fails before anything is sent.
  const inputs: UploadFileInput[] = [];
  const forced = new Map<number, { mtime?: number; contentType?: string }>();
  const copies: CopyFileOp[] = [];
  const deletes: DeleteFileOp[] = [];
  for (const op of params.operations) {
    switch (op?.operation) {
      case "addOrUpdate": {
        const whole = (op as { [WHOLE]?: URL | File })[WHOLE];
        if (whole) inputs.push(whole);
        else inputs.push({ path: op.path, content: op.content });
        const o = (op as Overridable)[OVERRIDES];
        if (o) forced.set(inputs.length - 1, o);
        break;
      }
      case "edit":
        inputs.push({ path: op.path, originalContent: op.originalContent, edits: op.edits });
        break;
      case "copy": {
        const path = checkBucketPath(joinPrefix(bucket.path, op.path), "copy destination");
        const src = parseSourceRepo(op.sourceRepo);
        copies.push({
          type: "copyFile",
          path,
          xetHash: checkXetHash(op.sourceXetHash, path),
          mtime: op.mtime ?? Date.now(),
          sourceRepoType: src.type,
          sourceRepoId: src.id,
        });
        break;
      }
      case "delete":
        deletes.push({ type: "deleteFile", path: checkBucketPath(joinPrefix(bucket.path, op.path), "path to delete") });
        break;
      default:
        throw new InvalidArgumentError(
          `unknown operation ${JSON.stringify((op as { operation?: unknown })?.operation)}: use addOrUpdate, edit, copy or delete`,
        );
    }
  }
  // One input may expand to many items (a folder); overrides apply to single-file inputs. A local file that is
  // gone or unreadable fails alone when there are others (a file deleted between a sync's scan and its upload).
  const items: UploadItem[] = [];
  const failed: FileFailure[] = [];
  for (let i = 0; i < inputs.length; i++) {
    let resolved: UploadItem[];
    try {
      resolved = await resolveUploadItems([inputs[i]!], {
        prefix: bucket.path,
        maxFolderDepth: params.maxFolderDepth,
        fetch: params.fetch,
      });
    } catch (err) {
      if (inputs.length === 1 || !(err instanceof LocalFileError) || err.code === "NO_SPACE") throw err;
      const input = inputs[i]!;
      const path = "path" in input && typeof input.path === "string" ? joinPrefix(bucket.path, input.path) : err.path;
      failed.push(fileFailure(path, err, err.path));
      emit({ event: "fileProgress", path, progress: 0, state: "error", error: err.message });
      continue;
    }
    const o = forced.get(i);
    if (o && resolved.length === 1) {
      if (o.mtime !== undefined) resolved[0]!.mtime = o.mtime;
      if (o.contentType !== undefined) resolved[0]!.contentType = o.contentType;
    }
    items.push(...resolved);
  }
  checkDistinctPaths(items);

  let report: DedupReport = emptyReport();
  const resume = items.length > 0 ? await openResume(ctx.hubUrl, bucket, items, params) : undefined;
  if (items.length > 0) {
    emit({ event: "phase", phase: "uploadingLargeFiles" });
    const sessionId = newSessionId();
    const tokens = new XetTokenProvider(ctx, bucket, "write", { sessionId });
    const up = await uploadItems({ tokens, http: ctx.http, sessionId }, items, params, emit, resume, { isolate: true }).catch(
      async (err: unknown) => {
        await resume?.close();
        throw err;
      },
    );
    report = up.report;
    failed.push(...up.failed);
  }
  signal?.throwIfAborted();

  const beforeRegister = (params as { [BEFORE_REGISTER]?: BeforeRegister })[BEFORE_REGISTER];
  let registering = report.perFile;
  if (beforeRegister && registering.length > 0) {
    const skip = new Set(await beforeRegister(registering));
    if (skip.size > 0) registering = registering.filter((f) => !skip.has(f.path));
    signal?.throwIfAborted();
  }
  emit({ event: "phase", phase: "committing" });
  const ops: BatchOp[] = registering.map((f) => ({
    type: "addFile" as const,
    path: f.path,
    xetHash: f.xetHash,
    mtime: f.mtime,
    ...(f.contentType ? { contentType: f.contentType } : {}),
  }));
  ops.push(...copies, ...deletes);
  if (ops.length === 0) {
    return filesFailed({ ...report, copied: 0, deleted: 0, failed: [], ...(resume ? { resumed: resume.summary() } : {}) }, failed);
  }
  const result = await batchBucketOps(ctx, bucket, ops, { abortSignal: signal });
  // The files are registered (or refused for good): the resume state has served its purpose.
  await resume?.registered();
  const resumed = resume ? { resumed: resume.summary() } : {};
  const failedPaths = new Set(result.failed.map((f) => f.path));
  const added = new Set(report.perFile.map((f) => f.path));
  for (const f of result.failed) {
    if (added.has(f.path)) {
      const ev: FileProgressEvent = { event: "fileProgress", path: f.path, progress: 0, state: "error", error: f.error };
      emit(ev);
    }
  }
  if (result.failed.length > 0 && !params.allowPartial && failed.length === 0) throw batchError(result.failed, ops.length);
  return filesFailed(
    {
      ...report,
      copied: copies.filter((c) => !failedPaths.has(c.path)).length,
      deleted: deletes.filter((d) => !failedPaths.has(d.path)).length,
      failed: result.failed,
      ...resumed,
    },
    failed,
  );
}

/**
 * The result, or, when some files failed on their own, the `TransferError` that carries it: its `failed` and the
 * error's `failures` list those files, then the paths the bucket refused.
 */
function filesFailed(result: CommitResult, sources: FileFailure[]): CommitResult {
  if (sources.length === 0) return result;
  const refused = result.failed.map((f) => fileFailure(f.path, batchError([f], 1)));
  const failures = [...sources, ...refused];
  throw new TransferError(transferMessage("upload", failures, result.files), failures, { ...result, failed: failures });
}

/** A commit to a model, dataset or space repository: adds (LFS or inline) and deletes, one commit. */
async function runRepoCommit(repo: RepoRef, params: CommitParams, emit: Emit): Promise<CommitResult> {
  if (params.useXet === false) throw new InvalidArgumentError("useXet must be true or undefined: xet-buckets stores LFS files with Xet");
  if (params.isPullRequest) throw new InvalidArgumentError("isPullRequest is not supported by xet-buckets: commit to a branch");
  if (!Array.isArray(params.operations)) throw new InvalidArgumentError("operations must be an array");
  const ctx = hubContext(params);
  params.abortSignal?.throwIfAborted();
  const inputs: UploadFileInput[] = [];
  const deletes: string[] = [];
  for (const op of params.operations) {
    switch (op?.operation) {
      case "addOrUpdate": {
        const whole = (op as { [WHOLE]?: URL | File })[WHOLE];
        inputs.push(whole ?? { path: op.path, content: op.content });
        break;
      }
      case "edit":
        inputs.push({ path: op.path, originalContent: op.originalContent, edits: op.edits });
        break;
      case "delete":
        deletes.push(checkBucketPath(joinPrefix(repo.path, op.path), "path to delete"));
        break;
      case "copy":
        throw new InvalidArgumentError(
          `copy operations by Xet hash go to buckets; to copy files into ${repoLabel(repo)}, use copyFiles() or copyFolder() (they read the sources once and send only what the store lacks)`,
        );
      default:
        throw new InvalidArgumentError(
          `unknown operation ${JSON.stringify((op as { operation?: unknown })?.operation)}: use addOrUpdate, edit or delete`,
        );
    }
  }
  const items = await resolveUploadItems(inputs, { prefix: repo.path, maxFolderDepth: params.maxFolderDepth, fetch: params.fetch });
  const count = items.length + deletes.length;
  const title = params.title ?? params.commitTitle ?? `Upload ${count} file${count === 1 ? "" : "s"} with xet-buckets`;
  const resume = items.length > 0 ? await openResume(ctx.hubUrl, repoLabel(repo), items, params) : undefined;
  const out = await commitToRepo(
    ctx,
    {
      repo,
      branch: params.branch ?? repo.revision,
      title,
      description: params.description ?? params.commitDescription,
      parentCommit: params.parentCommit,
      adds: items,
      deletes,
    },
    { ...params, workers: params.workers ?? workersFromHubOption(params.useWebWorkers), resume },
    emit,
  ).catch(async (err: unknown) => {
    await resume?.close();
    throw err;
  });
  return {
    ...out.report,
    copied: 0,
    deleted: out.deleted,
    failed: [],
    commit: out.commit,
    unchanged: out.unchanged,
    ...(resume ? { resumed: resume.summary() } : {}),
  };
}

/** Opens the resume state of this upload when `resumeStore` or `resumeDir` is given. */
async function openResume(
  endpoint: string,
  target: BucketRef | string,
  items: UploadItem[],
  params: CommitParams,
): Promise<UploadResume | undefined> {
  let store = params.resumeStore;
  if (!store && params.resumeDir !== undefined) {
    if (typeof params.resumeDir !== "string" || params.resumeDir === "")
      throw new InvalidArgumentError("resumeDir must be a directory path");
    store = directoryResumeStore(params.resumeDir);
  }
  if (!store) return undefined;
  const key = await resumeKey({
    endpoint,
    bucket: typeof target === "string" ? target : target.id,
    files: items.map((i) => ({ path: i.path, size: i.size, mtime: i.mtime, kind: i.local ? "local" : "data" })),
  });
  const warn = params.onWarning ?? ((m: string) => console.warn(`xet-buckets: ${m}`));
  return new UploadResume(await store.open(key, warn));
}

function joinPrefix(prefix: string, path: string): string {
  if (typeof path !== "string" || path === "") throw new InvalidArgumentError("each operation needs a non-empty path");
  return prefix ? joinBucketPath(prefix, path) : path;
}
