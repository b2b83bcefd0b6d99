/**
 * Files of a bucket: listing, metadata, existence, deletion and server-side copies, with
 * @huggingface/hub's signatures (listFiles, pathsInfo, fileExists, fileDownloadInfo, deleteFile(s),
 * copyFile(s), copyFolder and their …Iter forms) plus huggingface_hub's getBucketFileMetadata.
 *
 * A `repo` given as "hf://buckets/ns/name/dir" makes "dir" the base of every path of the call.
 */
import { EntryNotFoundError, InvalidArgumentError } from "../errors.js";
import { batchBucketOps, batchError, type CopyFileOp } from "../hub/batch.js";
import { entryNotFound, getResolveInfo, headResolve, isUnderPrefix, listTree, postPathsInfo, type BucketTreeEntry } from "../hub/files.js";
import { hubContext } from "../hub/context.js";
import { checkBucketPath, joinBucketPath, parseBucket, type BucketDesignation, type BucketRef, type RepoDesignation } from "../repo.js";
import type { CommonOptions } from "./buckets.js";

/** An entry of listFiles (@huggingface/hub's `ListFileEntry`, with the bucket fields). */
export interface ListFileEntry {
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
  contentType?: string;
  /** Never set for buckets (kept for type compatibility). */
  oid?: string;
  lfs?: { oid: string; size: number; pointerSize: number };
  lastCommit?: { date: string; id: string; title: string };
  securityFileStatus?: unknown;
}

/** An entry of pathsInfo (@huggingface/hub's `PathInfo`, keeping `mtime` too). */
export interface PathInfo {
  path: string;
  type: string;
  size: number;
  xetHash?: string;
  mtime?: string;
  uploadedAt?: string;
  contentType?: string;
  oid?: string;
  lfs?: { oid: string; size: number; pointerSize: number };
  lastCommit?: { id: string; title: string; date: Date };
  securityFileStatus?: { status: string };
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

/** ISO-8601 → ms since the epoch (undefined when absent or unparseable). */
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
  const bucket = parseBucket(params.repo);
  const ctx = hubContext(params);
  const prefix = withBase(bucket, params.path);
  for await (const e of listTree(ctx, bucket, { prefix, recursive: params.recursive, expand: params.expand, signal: params.abortSignal })) {
    yield toEntry(e);
  }
}

/** Metadata of the given paths (unknown paths and folders are omitted), in requests of ≤ 1000 paths. */
export async function pathsInfo(
  params: { repo: RepoDesignation; paths: string[]; expand?: boolean; /** Unused for buckets. */ revision?: string } & CommonOptions,
): Promise<PathInfo[]> {
  const bucket = parseBucket(params.repo);
  if (!Array.isArray(params.paths)) throw new InvalidArgumentError("pathsInfo needs `paths`, an array of paths");
  if (params.paths.length === 0) return [];
  const entries = await postPathsInfo(
    hubContext(params),
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
  const bucket = parseBucket(params.repo);
  const path = checkBucketPath(withBase(bucket, params.path));
  return (await headResolve(hubContext(params), bucket, path, { signal: params.abortSignal, anyNotFound: true })) !== null;
}

export interface XetFileInfo {
  hash: string;
  /** The read-token URL (`Link rel="xet-auth"`). */
  refreshUrl: URL;
  /** `Link rel="xet-reconstruction-info"`, when the Hub sent it (downloads use the CAS URL of the token). */
  reconstructionUrl?: URL;
}

export interface FileDownloadInfoOutput {
  size: number;
  etag: string;
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
  const bucket = parseBucket(params.repo);
  const ctx = hubContext(params);
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
  size: number;
  xetHash: string;
  etag: string;
  contentType: string | undefined;
  /** The read-token URL. */
  refreshUrl: string;
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
  const ref = parseBucket(bucket, { allowBareId: true });
  const ctx = hubContext(options);
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
  const bucket = parseBucket(params.repo);
  if (!Array.isArray(params.paths)) throw new InvalidArgumentError("deleteFiles needs `paths`, an array of paths");
  const paths = params.paths.map((p) => checkBucketPath(withBase(bucket, p)));
  if (paths.length === 0) return undefined;
  const result = await batchBucketOps(
    hubContext(params),
    bucket,
    paths.map((path) => ({ type: "deleteFile" as const, path })),
    { abortSignal: params.abortSignal },
  );
  if (result.failed.length) throw batchError(result.failed, paths.length);
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Server-side copies
// ---------------------------------------------------------------------------------------------

export interface CopySource {
  /** A bucket. (Repository sources are not supported by this package yet.) */
  repo: RepoDesignation;
  path: string;
  /** Ignored for buckets. */
  revision?: string;
}
export interface CopyDestination {
  repo: BucketDesignation;
  path: string;
}
export interface CopyFilesEntry {
  source: CopySource;
  destinationPath: string;
}
/**
 * @huggingface/hub's copy progress event (emitted when a non-Xet repository file is downloaded). Bucket
 * to bucket copies are server-side, so the …Iter functions of this package never yield one today.
 */
export interface CopyProgressEvent {
  event: "fileDownloaded";
  path: string;
  downloaded: number;
  total: number;
}

/** The bucket of a copy's source; anything else is refused, saying that copies go between buckets only. */
function sourceBucket(repo: RepoDesignation): BucketRef {
  try {
    return parseBucket(repo);
  } catch (err) {
    throw new InvalidArgumentError(
      `copy source: ${(err as Error).message}. xet-buckets copies between buckets only (server-side, no data transfer); ` +
        "use @huggingface/hub's copyFiles for model, dataset or space repositories",
      { cause: err },
    );
  }
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
  const result = await batchBucketOps(hubContext(params), destination, ops, { abortSignal: params.abortSignal });
  if (result.failed.length) throw batchError(result.failed, ops.length);
}

/** Copies one file from a bucket to a bucket, server-side (a `copyFile` batch line; no data transfer). */
export function copyFile(params: { source: CopySource; destination: CopyDestination } & CommonOptions): Promise<undefined> {
  return copyFiles({
    ...params,
    destination: params.destination.repo,
    files: [{ source: params.source, destinationPath: params.destination.path }],
  });
}

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

export async function* copyFilesIter(
  params: { destination: BucketDesignation; files: CopyFilesEntry[] } & CommonOptions,
): AsyncGenerator<CopyProgressEvent, undefined> {
  const destination = parseBucket(params.destination);
  if (!Array.isArray(params.files)) throw new InvalidArgumentError("copyFiles needs `files`, an array of { source, destinationPath }");
  if (params.files.length === 0) return undefined;
  const ctx = hubContext(params);
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
        throw entryNotFound(bucket, path, ctx.hubUrl, `source file not found: '${path}' in buckets/${bucket.id}`);
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

export async function* copyFolderIter(
  params: {
    source: Omit<CopySource, "path"> & { path?: string };
    destination: Omit<CopyDestination, "path"> & { path?: string };
  } & CommonOptions,
): AsyncGenerator<CopyProgressEvent, undefined> {
  const src = sourceBucket(params.source.repo);
  const destination = parseBucket(params.destination.repo);
  const ctx = hubContext(params);
  const sourcePath = withBase(src, params.source.path);
  const destPrefix = withBase(destination, params.destination.path);
  const ops: CopyFileOp[] = [];
  for await (const item of listTree(ctx, src, { prefix: sourcePath, recursive: true, signal: params.abortSignal })) {
    if (item.type !== "file" || !item.xetHash || !isUnderPrefix(item.path, sourcePath)) continue;
    ops.push(copyLine(joinBucketPath(destPrefix, relativeUnderFolder(item.path, sourcePath)), src, item));
  }
  if (ops.length === 0 && sourcePath !== "") {
    throw entryNotFound(src, sourcePath, ctx.hubUrl, `nothing to copy: no file at or below '${sourcePath}' in buckets/${src.id}`);
  }
  await commitCopies(params, destination, ops);
  return undefined;
}
