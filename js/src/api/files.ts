/**
 * Files of a bucket: listing, metadata, existence, deletion and server-side copies, with
 * @huggingface/hub's signatures (listFiles, pathsInfo, fileExists, fileDownloadInfo, deleteFile(s),
 * copyFile(s), copyFolder and their …Iter forms) plus huggingface_hub's getBucketFileMetadata.
 *
 * A `repo` given as "hf://buckets/ns/name/dir" makes "dir" the base of every path of the call.
 */
import { BatchError, EntryNotFoundError, InvalidArgumentError } from "../errors.js";
import { batchBucketOps, type BatchFailure, type CopyFileOp } from "../hub/batch.js";
import { entryNotFound, getResolveInfo, headResolve, isUnderPrefix, listTree, postPathsInfo, type BucketTreeEntry } from "../hub/files.js";
import { checkBucketPath, joinBucketPath, type BucketDesignation, type BucketRef } from "../repo.js";
import { contextOf, toBucket, type CommonOptions, type RepoDesignation } from "./buckets.js";

/** An entry of listFiles (@huggingface/hub's `ListFileEntry`, with the bucket fields). */
export interface ListFileEntry {
  /** A file, or a folder (`directory`: listed without `recursive`, for the folders below the listed one). */
  type: "file" | "directory" | "unknown";
  /** Bytes (0 for directories). */
  size: number;
  /** Full path from the bucket root. */
  path: string;
  /** Xet file id; set on every bucket file. */
  xetHash?: string;
  /** Modification time given by the uploader (ISO-8601), when it sent one. */
  mtime?: string;
  /** When the file was registered (ISO-8601). */
  uploadedAt?: string;
  /** The MIME type the uploader gave, or the Hub guessed from the extension. */
  contentType?: string;
  /** Never set for buckets (kept for type compatibility). */
  oid?: string;
  /** Never set for buckets (repositories' LFS pointer; kept for type compatibility). */
  lfs?: {
    /** The LFS object's SHA-256. */
    oid: string;
    /** The LFS object's size in bytes. */
    size: number;
    /** The size of the pointer file in bytes. */
    pointerSize: number;
  };
  /** Never set for buckets (repositories have commits; kept for type compatibility). */
  lastCommit?: {
    /** The commit's date (ISO-8601). */
    date: string;
    /** The commit's id. */
    id: string;
    /** The commit's title. */
    title: string;
  };
  /** Never set for buckets (kept for type compatibility). */
  securityFileStatus?: unknown;
}

/** An entry of pathsInfo (@huggingface/hub's `PathInfo`, keeping `mtime` too). */
export interface PathInfo {
  /** Full path from the bucket root. */
  path: string;
  /** `file` (pathsInfo omits folders). */
  type: string;
  /** Bytes. */
  size: number;
  /** Xet file id; set on every bucket file. */
  xetHash?: string;
  /** Modification time given by the uploader (ISO-8601), when it sent one. */
  mtime?: string;
  /** When the file was registered (ISO-8601). */
  uploadedAt?: string;
  /** The MIME type the uploader gave, or the Hub guessed from the extension. */
  contentType?: string;
  /** Never set for buckets (kept for type compatibility). */
  oid?: string;
  /** Never set for buckets (repositories' LFS pointer; kept for type compatibility). */
  lfs?: {
    /** The LFS object's SHA-256. */
    oid: string;
    /** The LFS object's size in bytes. */
    size: number;
    /** The size of the pointer file in bytes. */
    pointerSize: number;
  };
  /** Never set for buckets (repositories have commits; kept for type compatibility). */
  lastCommit?: {
    /** The commit's id. */
    id: string;
    /** The commit's title. */
    title: string;
    /** The commit's date. */
    date: Date;
  };
  /** Never set for buckets (kept for type compatibility). */
  securityFileStatus?: {
    /** The scan's status. */
    status: string;
  };
}

function withBase(bucket: BucketRef, path: string | undefined): string {
  return joinBucketPath(bucket.path, path ?? "");
}

function toEntry(e: BucketTreeEntry): ListFileEntry {
  const out: ListFileEntry = { type: e.type, size: e.size, path: e.path };
  if (typeof e.xetHash === "string") out.xetHash = e.xetHash;
  if (typeof e.mtime === "string") out.mtime = e.mtime;
  if (typeof e.uploadedAt === "string") out.uploadedAt = e.uploadedAt;
  if (typeof e.contentType === "string") out.contentType = e.contentType;
  return out;
}

/** ISO-8601 → ms since the epoch (undefined when absent or unparseable). @internal */
export function parseTime(iso: unknown): number | undefined {
  if (typeof iso !== "string") return undefined;
  const t = Date.parse(iso);
  return Number.isFinite(t) ? t : undefined;
}

// ---------------------------------------------------------------------------------------------
// Listing and metadata
// ---------------------------------------------------------------------------------------------

/**
 * Lists a folder of the bucket (the root when `path` is empty): its direct children (files and
 * `directory` entries), or with `recursive` every file below it. Follows pagination; entries outside
 * the folder (the Hub matches prefixes lexically) are dropped. `path` may name a file: it is yielded.
 */
export async function* listFiles(
  params: {
    repo: RepoDesignation;
    path?: string;
    recursive?: boolean;
    expand?: boolean;
    /** Unused for buckets. */ revision?: string;
  } & CommonOptions,
): AsyncGenerator<ListFileEntry> {
  const bucket = toBucket(params.repo);
  const ctx = contextOf(params);
  const prefix = withBase(bucket, params.path);
  for await (const e of listTree(ctx, bucket, { prefix, recursive: params.recursive, expand: params.expand, signal: params.abortSignal })) {
    yield toEntry(e);
  }
}

/** Metadata of the given paths (unknown paths and folders are omitted), in requests of ≤ 1000 paths. */
export async function pathsInfo(
  params: { repo: RepoDesignation; paths: string[]; expand?: boolean; /** Unused for buckets. */ revision?: string } & CommonOptions,
): Promise<PathInfo[]> {
  const bucket = toBucket(params.repo);
  if (!Array.isArray(params.paths)) throw new InvalidArgumentError("pathsInfo needs `paths`, an array of paths");
  if (params.paths.length === 0) return [];
  const entries = await postPathsInfo(
    contextOf(params),
    bucket,
    params.paths.map((p) => withBase(bucket, p)),
    { expand: params.expand, signal: params.abortSignal },
  );
  return entries.map((e) => toEntry(e) as PathInfo);
}

/** True when the file exists (`HEAD …/resolve/{path}`; any 404 → false). */
export async function fileExists(
  params: { repo: RepoDesignation; path: string; /** Unused for buckets. */ revision?: string } & CommonOptions,
): Promise<boolean> {
  const bucket = toBucket(params.repo);
  const path = checkBucketPath(withBase(bucket, params.path));
  return (await headResolve(contextOf(params), bucket, path, { signal: params.abortSignal, anyNotFound: true })) !== null;
}

/** How to read a file stored with Xet: its hash and where to get a read token. */
export interface XetFileInfo {
  /** The file's Xet hash (its `xetHash`: 64 hex digits). */
  hash: string;
  /** The read-token URL (`Link rel="xet-auth"`). */
  refreshUrl: URL;
  /** `Link rel="xet-reconstruction-info"`, when the Hub sent it (downloads use the CAS URL of the token). */
  reconstructionUrl?: URL;
}

/** What `fileDownloadInfo` returns (@huggingface/hub's type). */
export interface FileDownloadInfoOutput {
  /** The file's size in bytes. */
  size: number;
  /** The file's ETag (its Xet hash, quoted, for bucket files). */
  etag: string;
  /** Set when the file is stored with Xet (every bucket file). */
  xet?: XetFileInfo;
  /** The resolve URL. */
  url: string;
}

/**
 * Size, ETag and Xet links of a file, as @huggingface/hub's `fileDownloadInfo` reads them
 * (`GET …/resolve/{path}` with `Range: bytes=0-0`). Null when the file does not exist
 * (404 + EntryNotFound); other errors throw.
 */
export async function fileDownloadInfo(
  params: {
    repo: RepoDesignation;
    path: string;
    /** Unused for buckets. */ revision?: string;
    /** Unused for buckets. */ raw?: boolean;
    /** Unused for buckets. */ noContentDisposition?: boolean;
  } & CommonOptions,
): Promise<FileDownloadInfoOutput | null> {
  const bucket = toBucket(params.repo);
  const ctx = contextOf(params);
  const path = checkBucketPath(withBase(bucket, params.path));
  const info = await getResolveInfo(ctx, bucket, path, params.abortSignal);
  if (!info) return null;
  const out: FileDownloadInfoOutput = { size: info.size, etag: info.etag, url: info.url };
  if (info.xetHash) {
    out.xet = {
      hash: info.xetHash,
      refreshUrl: new URL(info.refreshUrl ?? `${ctx.hubUrl}/api/buckets/${bucket.id}/xet-read-token`),
    };
    if (info.reconstructionUrl) out.xet.reconstructionUrl = new URL(info.reconstructionUrl);
  }
  return out;
}

/** huggingface_hub's `BucketFileMetadata`, camelCased, with the other resolve headers. */
export interface BucketFileMetadata {
  /** The file's size in bytes. */
  size: number;
  /** The file's Xet hash (64 hex digits). */
  xetHash: string;
  /** The file's ETag (`X-Linked-Etag` / `ETag`). */
  etag: string;
  /** The file's MIME type, when the Hub sent one. */
  contentType: string | undefined;
  /** The read-token URL. */
  refreshUrl: string;
  /** The reconstruction URL (`Link rel="xet-reconstruction-info"`), when the Hub sent one. */
  reconstructionUrl: string | undefined;
  /** The resolve URL. */
  url: string;
}

/** Metadata of one file from `HEAD …/resolve/{path}`. A missing file → `EntryNotFoundError`. */
export async function getBucketFileMetadata(
  bucket: RepoDesignation,
  path: string,
  options: CommonOptions = {},
): Promise<BucketFileMetadata> {
  const ref = toBucket(bucket, { allowBareId: true });
  const ctx = contextOf(options);
  const full = checkBucketPath(withBase(ref, path));
  const info = await headResolve(ctx, ref, full, { signal: options.abortSignal });
  if (!info) throw entryNotFound(ref, full, ctx.hubUrl);
  if (!info.xetHash) {
    throw new EntryNotFoundError("ENTRY_NOT_FOUND", `"${full}" in bucket ${ref.id} has no X-Xet-Hash: it is not a bucket file`, {
      statusCode: 200,
      url: info.url,
    });
  }
  return {
    size: info.size,
    xetHash: info.xetHash,
    etag: info.etag,
    contentType: info.contentType,
    refreshUrl: info.refreshUrl ?? `${ctx.hubUrl}/api/buckets/${ref.id}/xet-read-token`,
    reconstructionUrl: info.reconstructionUrl,
    url: info.url,
  };
}

// ---------------------------------------------------------------------------------------------
// Deletion
// ---------------------------------------------------------------------------------------------

function batchError(verb: string, failures: BatchFailure[]): BatchError {
  const head = failures
    .slice(0, 10)
    .map((f) => `${f.path} (${f.error})`)
    .join(", ");
  const more = failures.length > 10 ? ` and ${failures.length - 10} more` : "";
  return new BatchError(
    `failed to ${verb} ${failures.length} file(s): ${head}${more}. The other operations were applied (a bucket batch is not transactional); see err.failures.`,
    failures,
  );
}

/** Deletes one file (a `deleteFile` batch line). A failure (e.g. missing file) → `BatchError`. */
export async function deleteFile(
  params: { repo: RepoDesignation; path: string; commitTitle?: string; commitDescription?: string } & CommonOptions,
): Promise<undefined> {
  return deleteFiles({ ...params, paths: [params.path] });
}

/**
 * Deletes files (`deleteFile` batch lines, ≤ 1000 per request). Operations are applied independently:
 * when some fail, the others are done and a `BatchError` lists the failed paths.
 */
export async function deleteFiles(
  params: { repo: RepoDesignation; paths: string[]; commitTitle?: string; commitDescription?: string } & CommonOptions,
): Promise<undefined> {
  const bucket = toBucket(params.repo);
  if (!Array.isArray(params.paths)) throw new InvalidArgumentError("deleteFiles needs `paths`, an array of paths");
  const paths = params.paths.map((p) => checkBucketPath(withBase(bucket, p)));
  if (paths.length === 0) return undefined;
  const result = await batchBucketOps(
    contextOf(params),
    bucket,
    paths.map((path) => ({ type: "deleteFile" as const, path })),
    { abortSignal: params.abortSignal },
  );
  if (result.failed.length) throw batchError("delete", result.failed);
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Server-side copies
// ---------------------------------------------------------------------------------------------

/** The source of a server-side copy: a file (or folder, for copyFolder) of a bucket. */
export interface CopySource {
  /** A bucket. (Repository sources are not supported by this package yet: `InvalidArgumentError`.) */
  repo: RepoDesignation;
  /** The path in the source bucket. */
  path: string;
  /** Ignored for buckets. */
  revision?: string;
}
/** Where a server-side copy goes: a path in a bucket. */
export interface CopyDestination {
  /** The destination bucket. */
  repo: BucketDesignation;
  /** The path in the destination bucket (an existing file there is replaced). */
  path: string;
}
/** One file of `copyFiles`. */
export interface CopyFilesEntry {
  /** The file to copy. */
  source: CopySource;
  /** Its path in the destination bucket. */
  destinationPath: string;
}
/**
 * @huggingface/hub's copy progress event (emitted when a non-Xet repository file is downloaded). Bucket
 * to bucket copies are server-side, so the …Iter functions of this package never yield one today.
 */
export interface CopyProgressEvent {
  /** The event's kind. */
  event: "fileDownloaded";
  /** The file downloaded. */
  path: string;
  /** Files downloaded so far. */
  downloaded: number;
  /** Files to download. */
  total: number;
}

function sourceBucket(repo: RepoDesignation): BucketRef {
  const isBucket =
    (typeof repo === "object" && repo !== null && (repo as { type?: unknown }).type === "bucket") ||
    (typeof repo === "string" && (repo.startsWith("buckets/") || repo.startsWith("hf://buckets/")));
  if (!isBucket) {
    const what = typeof repo === "string" ? `"${repo}"` : `a ${(repo as { type: string }).type} (${(repo as { name: string }).name})`;
    throw new InvalidArgumentError(
      `copy source ${what} is not a bucket: xet-buckets copies between buckets only (server-side, no data transfer); ` +
        "copying from model, dataset or space repositories is not supported yet — use @huggingface/hub's copyFiles for those",
    );
  }
  return toBucket(repo);
}

/** @huggingface/hub's helper: `filePath` relative to `folderPath` (its basename when they are equal). */
export function relativeUnderFolder(filePath: string, folderPath: string): string {
  if (!folderPath) return filePath;
  if (filePath === folderPath) return filePath.split("/").pop() ?? filePath;
  if (filePath.startsWith(folderPath + "/")) return filePath.slice(folderPath.length + 1);
  throw new InvalidArgumentError(`path '${filePath}' is not inside folder '${folderPath}'`);
}

function copyLine(dest: string, src: BucketRef, entry: { xetHash?: string; mtime?: string }): CopyFileOp {
  return {
    type: "copyFile",
    path: dest,
    xetHash: entry.xetHash!,
    // The source's modification time when known (like `cp -p`), so that sync sees the copy as unchanged.
    mtime: parseTime(entry.mtime) ?? Date.now(),
    sourceRepoType: "bucket",
    sourceRepoId: src.id,
  };
}

async function commitCopies(params: CommonOptions, destination: BucketRef, ops: CopyFileOp[]): Promise<void> {
  if (ops.length === 0) return;
  const result = await batchBucketOps(contextOf(params), destination, ops, { abortSignal: params.abortSignal });
  if (result.failed.length) throw batchError("copy", result.failed);
}

/** Copies one file from a bucket to a bucket, server-side (a `copyFile` batch line; no data transfer). */
export function copyFile(params: { source: CopySource; destination: CopyDestination } & CommonOptions): Promise<undefined> {
  return copyFiles({
    ...params,
    destination: params.destination.repo,
    files: [{ source: params.source, destinationPath: params.destination.path }],
  });
}

/** `copyFile` as a generator of progress events (@huggingface/hub's form; bucket copies yield none). */
export function copyFileIter(
  params: { source: CopySource; destination: CopyDestination } & CommonOptions,
): AsyncGenerator<CopyProgressEvent, undefined> {
  return copyFilesIter({
    ...params,
    destination: params.destination.repo,
    files: [{ source: params.source, destinationPath: params.destination.path }],
  });
}

/**
 * Copies files (possibly from several buckets) into the destination bucket, server-side. Sources are
 * resolved with paths-info; a missing source → `EntryNotFoundError`, a folder → `InvalidArgumentError`
 * (use copyFolder). The copies keep the source's mtime. Failures → `BatchError` (others are applied).
 */
export async function copyFiles(params: { destination: BucketDesignation; files: CopyFilesEntry[] } & CommonOptions): Promise<undefined> {
  for await (const _ of copyFilesIter(params)) {
    // no events for bucket sources
  }
  return undefined;
}

/** `copyFiles` as a generator of progress events (@huggingface/hub's form; bucket copies yield none). */
export async function* copyFilesIter(
  params: { destination: BucketDesignation; files: CopyFilesEntry[] } & CommonOptions,
): AsyncGenerator<CopyProgressEvent, undefined> {
  const destination = toBucket(params.destination as RepoDesignation);
  if (!Array.isArray(params.files)) throw new InvalidArgumentError("copyFiles needs `files`, an array of { source, destinationPath }");
  if (params.files.length === 0) return undefined;
  const ctx = contextOf(params);
  const groups = new Map<string, { bucket: BucketRef; items: { index: number; path: string }[] }>();
  params.files.forEach((f, index) => {
    const bucket = sourceBucket(f.source.repo);
    const path = checkBucketPath(withBase(bucket, f.source.path), "source path");
    checkBucketPath(withBase(destination, f.destinationPath), "destinationPath");
    const g = groups.get(bucket.id) ?? { bucket, items: [] };
    g.items.push({ index, path });
    groups.set(bucket.id, g);
  });
  const ops: CopyFileOp[] = new Array(params.files.length);
  for (const { bucket, items } of groups.values()) {
    params.abortSignal?.throwIfAborted();
    const infos = await postPathsInfo(ctx, bucket, [...new Set(items.map((i) => i.path))], { signal: params.abortSignal });
    const byPath = new Map(infos.map((e) => [e.path, e]));
    for (const { index, path } of items) {
      const info = byPath.get(path);
      if (!info || info.type !== "file" || !info.xetHash) {
        // paths-info omits folders: tell a folder from a missing file.
        for await (const _ of listTree(ctx, bucket, { prefix: path, signal: params.abortSignal })) {
          throw new InvalidArgumentError(`source path '${path}' in buckets/${bucket.id} is a folder; use copyFolder() instead`);
        }
        const err = entryNotFound(bucket, path, ctx.hubUrl);
        err.message = `source file not found: '${path}' in buckets/${bucket.id}`;
        throw err;
      }
      ops[index] = copyLine(withBase(destination, params.files[index]!.destinationPath), bucket, info);
    }
  }
  await commitCopies(params, destination, ops);
  return undefined;
}

/**
 * Copies every file below `source.path` (the whole bucket when empty) to below `destination.path`,
 * server-side, keeping the relative paths (the source folder itself is not recreated). A non-empty
 * source path with no file below it → `EntryNotFoundError`. Failures → `BatchError`.
 */
export async function copyFolder(
  params: {
    source: Omit<CopySource, "path"> & { path?: string };
    destination: Omit<CopyDestination, "path"> & { path?: string };
  } & CommonOptions,
): Promise<undefined> {
  for await (const _ of copyFolderIter(params)) {
    // no events for bucket sources
  }
  return undefined;
}

/** `copyFolder` as a generator of progress events (@huggingface/hub's form; bucket copies yield none). */
export async function* copyFolderIter(
  params: {
    source: Omit<CopySource, "path"> & { path?: string };
    destination: Omit<CopyDestination, "path"> & { path?: string };
  } & CommonOptions,
): AsyncGenerator<CopyProgressEvent, undefined> {
  const src = sourceBucket(params.source.repo);
  const destination = toBucket(params.destination.repo as RepoDesignation);
  const ctx = contextOf(params);
  const sourcePath = withBase(src, params.source.path);
  const destPrefix = withBase(destination, params.destination.path);
  const ops: CopyFileOp[] = [];
  for await (const item of listTree(ctx, src, { prefix: sourcePath, recursive: true, signal: params.abortSignal })) {
    if (item.type !== "file" || !item.xetHash || !isUnderPrefix(item.path, sourcePath)) continue;
    ops.push(copyLine(joinBucketPath(destPrefix, relativeUnderFolder(item.path, sourcePath)), src, item));
  }
  if (ops.length === 0 && sourcePath !== "") {
    const err = entryNotFound(src, sourcePath, ctx.hubUrl);
    err.message = `nothing to copy: no file at or below '${sourcePath}' in buckets/${src.id}`;
    throw err;
  }
  await commitCopies(params, destination, ops);
  return undefined;
}
