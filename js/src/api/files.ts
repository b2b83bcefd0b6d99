/**
 * Files of a bucket: listing, metadata, existence, deletion and server-side copies, with
 * @huggingface/hub's signatures (listFiles, pathsInfo, fileExists, fileDownloadInfo, deleteFile(s),
 * copyFile(s), copyFolder and their …Iter forms) plus huggingface_hub's getBucketFileMetadata.
 *
 * A `repo` given as "hf://buckets/ns/name/dir" makes "dir" the base of every path of the call.
 *
 * Buckets and model, dataset and space repositories meet in `listFiles` / `pathsInfo` (which also list
 * repositories, at a revision) and in the copies:
 * - repository → bucket (import): Xet files are copied server-side by Xet hash (`copyFile` batch lines naming
 *   the source repository, as @huggingface/hub and huggingface_hub do); small regular files, which have no
 *   Xet hash, are downloaded and uploaded;
 * - bucket (or repository) → repository (promote): one commit (api/repo-commit.ts) adding the files with
 *   their bytes unchanged. Each source is read once from the CAS (verified against its Xet hash) to compute
 *   the SHA-256 of its LFS pointer while it goes through the deduplicating upload, so only what the store
 *   lacks is sent: within one store, a shard per batch of files.
 */
import { EntryNotFoundError, InvalidArgumentError } from "../errors.js";
import { batchBucketOps, batchError, type CopyFileOp } from "../hub/batch.js";
import { hubContext, type HubContext } from "../hub/context.js";
import { entryNotFound, getResolveInfo, headResolve, isUnderPrefix, listTree, postPathsInfo, type BucketTreeEntry } from "../hub/files.js";
import { fetchRepoFile, listRepoTree, postRepoPathsInfo, repoResolveUrl, repoXetTokenPath, type RepoTreeEntry } from "../hub/repos.js";
import { XetTokenProvider } from "../hub/xet-token.js";
import {
  checkBucketPath,
  isBucketDesignation,
  isRepoDesignation,
  joinBucketPath,
  parseBucket,
  parseRepo,
  repoLabel,
  type BucketRef,
  type RepoDesignation,
  type RepoRef,
} from "../repo.js";
import { CasClient } from "../xet/cas.js";
import { XetReader } from "../xet/download.js";
import type { UploadProgressEvent, UploadTuning } from "../xet/upload.js";
import type { CommonOptions } from "./buckets.js";
import { withEvents } from "./events.js";
import { commitToRepo, type RepoAdd } from "./repo-commit.js";
import { commitIter, type CommitOperation, type CommitResult } from "./upload.js";

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

function repoEntry(e: RepoTreeEntry): ListFileEntry {
  const out: ListFileEntry = { type: e.type, size: e.size, path: e.path };
  if (e.oid !== undefined) out.oid = e.oid;
  if (e.lfs) out.lfs = e.lfs;
  if (e.xetHash !== undefined) out.xetHash = e.xetHash;
  if (e.lastCommit) out.lastCommit = e.lastCommit;
  return out;
}

/** A repository designation of a listing or copy call (a bare "ns/name" is a model, as in @huggingface/hub). */
function repoOf(repo: RepoDesignation): RepoRef | undefined {
  if (isBucketDesignation(repo)) return undefined;
  if (isRepoDesignation(repo) || (typeof repo === "string" && /^[^/:]+\/[^/]+$/.test(repo))) return parseRepo(repo, { allowBareId: true });
  return undefined;
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
    /** Repositories: the revision (default main, or the designation's `@rev`). Unused for buckets. */ revision?: string;
  } & CommonOptions,
): AsyncGenerator<ListFileEntry> {
  const repo = repoOf(params.repo);
  if (repo) {
    const prefix = joinBucketPath(repo.path, params.path ?? "");
    const revision = params.revision ?? repo.revision;
    const opts = { prefix, recursive: params.recursive, expand: params.expand, revision, signal: params.abortSignal };
    for await (const e of listRepoTree(hubContext(params), repo, opts)) yield repoEntry(e);
    return;
  }
  const bucket = parseBucket(params.repo);
  const ctx = hubContext(params);
  const prefix = withBase(bucket, params.path);
  for await (const e of listTree(ctx, bucket, { prefix, recursive: params.recursive, expand: params.expand, signal: params.abortSignal })) {
    yield toEntry(e);
  }
}

/**
 * Metadata of the given paths, in requests of ≤ 1000 paths: unknown paths are omitted, and so are folders of
 * buckets (repositories answer folders as `directory` entries, as the Hub does).
 */
export async function pathsInfo(
  params: {
    repo: RepoDesignation;
    paths: string[];
    expand?: boolean;
    /** Repositories: the revision. */ revision?: string;
  } & CommonOptions,
): Promise<PathInfo[]> {
  if (!Array.isArray(params.paths)) throw new InvalidArgumentError("pathsInfo needs `paths`, an array of paths");
  const repo = repoOf(params.repo);
  if (repo) {
    if (params.paths.length === 0) return [];
    const entries = await postRepoPathsInfo(
      hubContext(params),
      repo,
      params.paths.map((p) => joinBucketPath(repo.path, p)),
      { revision: params.revision ?? repo.revision, expand: params.expand, signal: params.abortSignal },
    );
    return entries.map((e) => repoEntry(e) as PathInfo);
  }
  const bucket = parseBucket(params.repo);
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
// Copies: bucket → bucket (server-side), repository → bucket (import), any → repository (promote)
// ---------------------------------------------------------------------------------------------

/** The source of a copy: a file (or folder, for copyFolder) of a bucket or a repository. */
export interface CopySource {
  /**
   * A bucket, or a model, dataset or space repository ("datasets/ns/name", `{ type: "model", name }`,
   * "hf://datasets/ns/name", or "ns/name": a model, as in @huggingface/hub).
   */
  repo: RepoDesignation;
  /** The path in the source. */
  path: string;
  /** Repositories: the revision to copy from (default main, or the designation's `@rev`). Ignored for buckets. */
  revision?: string;
}
/** Where a copy goes: a path in a bucket or a repository. */
export interface CopyDestination {
  /** A bucket (server-side copies), or a model, dataset or space repository (one commit). */
  repo: RepoDesignation;
  /** The path in the destination (an existing file there is replaced). */
  path: string;
}
/** One file of `copyFiles`. */
export interface CopyFilesEntry {
  /** The file to copy. */
  source: CopySource;
  /** Its path in the destination. */
  destinationPath: string;
}
/** @huggingface/hub's copy progress event: a small (non-Xet) repository file was downloaded, to be uploaded. */
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
/** What the …Iter calls yield: downloads of small repository files, and the upload's progress of a commit. */
export type CopyEvent = CopyProgressEvent | UploadProgressEvent;

/** Options of copies into a repository (the commit and the upload); ignored when the destination is a bucket. */
export interface CopyCommitOptions extends UploadTuning {
  /** The commit's title (@huggingface/hub's `commitTitle`; `title` also accepted). Default "Copy N file(s) with xet-buckets". */
  commitTitle?: string;
  /** The commit's description (`description` also accepted). */
  commitDescription?: string;
  /** Same as `commitTitle`. */
  title?: string;
  /** Same as `commitDescription`. */
  description?: string;
  /** The branch to commit to (default main). */
  branch?: string;
  /** The commit the change is based on: the Hub refuses it when the branch moved since. */
  parentCommit?: string;
}

/** Parameters of `copyFiles` and `copyFilesIter`. */
export type CopyFilesParams = {
  /** The destination: a bucket or a repository (with a folder for a bucket: `hf://buckets/ns/name/folder`). */
  destination: RepoDesignation;
  /** The files, each with its source and its path in the destination. */
  files: CopyFilesEntry[];
} & CommonOptions &
  CopyCommitOptions;
/** Parameters of `copyFolder` and `copyFolderIter`. */
export type CopyFolderParams = {
  /** The bucket or repository to copy from. */
  source: Omit<CopySource, "path"> & {
    /** The folder to copy (default: everything). */
    path?: string;
  };
  /** The bucket or repository to copy to. */
  destination: Omit<CopyDestination, "path"> & {
    /** The folder the files go below (default: the root). */
    path?: string;
  };
} & CommonOptions &
  CopyCommitOptions;

type Source =
  { kind: "bucket"; bucket: BucketRef; key: string } | { kind: "repo"; repo: RepoRef; revision: string | undefined; key: string };
type Destination = { kind: "bucket"; bucket: BucketRef } | { kind: "repo"; repo: RepoRef };

/** A source file, resolved. */
interface SourceFile {
  source: Source;
  path: string;
  size: number;
  xetHash?: string;
  mtime?: string;
  /** A Git LFS file of a repository (with or without Xet hash). */
  lfs: boolean;
}

function sourceOf(repo: RepoDesignation, revision: string | undefined): Source {
  const r = repoOf(repo);
  if (r) {
    const rev = revision ?? r.revision;
    return { kind: "repo", repo: r, revision: rev, key: `${repoLabel(r)}@${rev ?? "main"}` };
  }
  const bucket = parseBucket(repo);
  return { kind: "bucket", bucket, key: `buckets/${bucket.id}` };
}

function destinationOf(repo: RepoDesignation): Destination {
  const r = repoOf(repo);
  if (r) {
    if (r.revision !== undefined) {
      throw new InvalidArgumentError(`copies into ${repoLabel(r)} go to a branch: pass { branch } rather than @${r.revision}`);
    }
    return { kind: "repo", repo: r };
  }
  return { kind: "bucket", bucket: parseBucket(repo) };
}

const labelOf = (s: Source | Destination): string => (s.kind === "bucket" ? `buckets/${s.bucket.id}` : repoLabel(s.repo));
const baseOf = (s: Source | Destination): string => (s.kind === "bucket" ? s.bucket.path : s.repo.path);

function sourceNotFound(ctx: HubContext, s: Source, path: string, message: string): EntryNotFoundError {
  if (s.kind === "bucket") {
    return entryNotFound(s.bucket, path, ctx.hubUrl, message);
  }
  return new EntryNotFoundError("ENTRY_NOT_FOUND", message, {
    statusCode: 404,
    url: repoResolveUrl(ctx, s.repo, s.revision, path),
    serverCode: "EntryNotFound",
  });
}

/** Resolves the files of copyFiles (paths-info per source); a missing file or a folder fails before anything is copied. */
async function resolveSourceFiles(ctx: HubContext, files: CopyFilesEntry[], signal?: AbortSignal): Promise<SourceFile[]> {
  const groups = new Map<string, { source: Source; items: { index: number; path: string }[] }>();
  files.forEach((f, index) => {
    if (!f || typeof f !== "object" || !f.source)
      throw new InvalidArgumentError("each file to copy needs { source: { repo, path }, destinationPath }");
    const source = sourceOf(f.source.repo, f.source.revision);
    const path = checkBucketPath(joinBucketPath(baseOf(source), f.source.path ?? ""), "source path");
    const g = groups.get(source.key) ?? { source, items: [] };
    g.items.push({ index, path });
    groups.set(source.key, g);
  });
  const out: SourceFile[] = new Array(files.length);
  for (const { source, items } of groups.values()) {
    signal?.throwIfAborted();
    const paths = [...new Set(items.map((i) => i.path))];
    if (source.kind === "bucket") {
      const byPath = new Map((await postPathsInfo(ctx, source.bucket, paths, { signal })).map((e) => [e.path, e]));
      for (const { index, path } of items) {
        const info = byPath.get(path);
        if (!info || info.type !== "file" || !info.xetHash) {
          // paths-info omits folders: tell a folder from a missing file.
          for await (const _ of listTree(ctx, source.bucket, { prefix: path, signal })) {
            throw new InvalidArgumentError(`source path '${path}' in buckets/${source.bucket.id} is a folder; use copyFolder() instead`);
          }
          throw sourceNotFound(ctx, source, path, `source file not found: '${path}' in buckets/${source.bucket.id}`);
        }
        out[index] = { source, path, size: info.size, xetHash: info.xetHash, mtime: info.mtime, lfs: false };
      }
    } else {
      const byPath = new Map(
        (await postRepoPathsInfo(ctx, source.repo, paths, { revision: source.revision, signal })).map((e) => [e.path, e]),
      );
      for (const { index, path } of items) {
        const info = byPath.get(path);
        if (info?.type === "directory") {
          throw new InvalidArgumentError(`source path '${path}' in ${repoLabel(source.repo)} is a folder; use copyFolder() instead`);
        }
        if (!info) throw sourceNotFound(ctx, source, path, `source file not found: '${path}' in ${repoLabel(source.repo)}`);
        out[index] = { source, path, size: info.size, xetHash: info.xetHash, lfs: info.lfs !== undefined };
      }
    }
  }
  return out;
}

/** Every file at or below `path` of a source (the whole bucket or repository when empty). */
async function* folderFiles(ctx: HubContext, source: Source, path: string, signal?: AbortSignal): AsyncGenerator<SourceFile> {
  if (source.kind === "bucket") {
    for await (const item of listTree(ctx, source.bucket, { prefix: path, recursive: true, signal })) {
      if (item.type !== "file" || !item.xetHash || !isUnderPrefix(item.path, path)) continue;
      yield { source, path: item.path, size: item.size, xetHash: item.xetHash, mtime: item.mtime, lfs: false };
    }
    return;
  }
  for await (const item of listRepoTree(ctx, source.repo, { prefix: path, recursive: true, revision: source.revision, signal })) {
    if (item.type !== "file" || !isUnderPrefix(item.path, path)) continue;
    yield { source, path: item.path, size: item.size, xetHash: item.xetHash, lfs: item.lfs !== undefined };
  }
}

/** A repository's LFS file without Xet hash cannot be copied (as @huggingface/hub: it was never migrated to Xet). */
function refuseUnmigrated(files: SourceFile[]): void {
  const bad = files.filter((f) => f.lfs && !f.xetHash);
  if (bad.length === 0) return;
  const shown = bad
    .slice(0, 5)
    .map((f) => `'${f.path}'`)
    .join(", ");
  throw new InvalidArgumentError(
    `cannot copy ${bad.length} LFS file(s) of ${labelOf(bad[0]!.source)} that are not stored with Xet: ${shown}${bad.length > 5 ? ", ..." : ""}`,
  );
}

/** Downloads the small regular repository files among `files` (they have no Xet hash), reporting each. */
async function downloadRegular(
  ctx: HubContext,
  files: SourceFile[],
  emit: (ev: CopyEvent) => void,
  signal?: AbortSignal,
): Promise<Map<SourceFile, Uint8Array>> {
  const todo = files.filter((f) => !f.xetHash && f.source.kind === "repo");
  const out = new Map<SourceFile, Uint8Array>();
  for (const f of todo) {
    const s = f.source as Extract<Source, { kind: "repo" }>;
    out.set(f, await fetchRepoFile(ctx, s.repo, s.revision, f.path, signal));
    emit({ event: "fileDownloaded", path: f.path, downloaded: out.size, total: todo.length });
  }
  return out;
}

/** Carries out resolved copies into `dest`; `targets[i]` is the full destination path of `files[i]`. */
async function runCopies(
  params: CommonOptions & CopyCommitOptions,
  dest: Destination,
  files: SourceFile[],
  targets: string[],
  emit: (ev: CopyEvent) => void,
): Promise<CommitResult | undefined> {
  const ctx = hubContext(params);
  const signal = params.abortSignal;
  refuseUnmigrated(files);
  targets.forEach((t) => checkBucketPath(t, "destination path"));
  if (dest.kind === "bucket") {
    const mtimeOf = (f: SourceFile) => parseTime(f.mtime) ?? Date.now();
    const copies: CopyFileOp[] = [];
    files.forEach((f, i) => {
      if (!f.xetHash) return;
      copies.push({
        type: "copyFile",
        path: targets[i]!,
        xetHash: f.xetHash,
        // The source's modification time when known (like `cp -p`), so that sync sees the copy as unchanged.
        mtime: mtimeOf(f),
        sourceRepoType: f.source.kind === "bucket" ? "bucket" : f.source.repo.type,
        sourceRepoId: f.source.kind === "bucket" ? f.source.bucket.id : f.source.repo.id,
      });
    });
    const downloaded = await downloadRegular(ctx, files, emit, signal);
    if (downloaded.size === 0) {
      await commitCopies(params, dest.bucket, copies);
      return undefined;
    }
    // Small regular files have no Xet hash: they are uploaded (with the copies, in the same batch).
    const operations: CommitOperation[] = [];
    files.forEach((f, i) => {
      const bytes = downloaded.get(f);
      if (bytes) operations.push({ operation: "addOrUpdate", path: targets[i]!, content: bytes });
    });
    for (const c of copies) {
      operations.push({
        operation: "copy",
        path: c.path,
        sourceXetHash: c.xetHash,
        sourceRepo: { type: c.sourceRepoType, name: c.sourceRepoId },
        mtime: c.mtime,
      });
    }
    const it = commitIter({ ...params, repo: `buckets/${dest.bucket.id}`, operations });
    for (;;) {
      const r = await it.next();
      if (r.done) return r.value;
      emit(r.value);
    }
  }
  // Into a repository: one commit; Xet sources read once from the CAS (verified), the rest downloaded.
  const readers = new Map<string, XetReader>();
  const readerOf = (s: Source): XetReader => {
    let r = readers.get(s.key);
    if (!r) {
      const tokens =
        s.kind === "bucket"
          ? new XetTokenProvider(ctx, s.bucket, "read")
          : new XetTokenProvider(ctx, undefined, "read", { url: repoXetTokenPath(s.repo, "read", s.revision) });
      r = new XetReader(new CasClient(tokens, ctx.http), { workers: params.workers });
      readers.set(s.key, r);
    }
    return r;
  };
  const downloaded = await downloadRegular(ctx, files, emit, signal);
  const adds: RepoAdd[] = files.map((f, i): RepoAdd => {
    const path = targets[i]!;
    const bytes = downloaded.get(f);
    if (bytes) return { path, source: bytes, size: bytes.length };
    if (f.size === 0) return { path, source: new Uint8Array(0), size: 0 };
    const reader = readerOf(f.source);
    const file = { hash: f.xetHash!, size: f.size, path: f.path };
    return {
      path,
      size: f.size,
      // Read whole, hence verified against the Xet hash: a mismatch fails the upload before any commit.
      source: { [Symbol.asyncIterator]: () => reader.read(file, { signal }) },
      sample: async (s) => collect(reader.read(file, { start: 0, end: Math.min(f.size, 512), signal: s, verify: false })),
    };
  });
  const sources = [...new Set(files.map((f) => labelOf(f.source)))];
  const n = files.length;
  const title =
    params.commitTitle ??
    params.title ??
    `Copy ${n} file${n === 1 ? "" : "s"}${sources.length === 1 ? ` from ${sources[0]}` : ""} with xet-buckets`;
  const out = await commitToRepo(
    ctx,
    {
      repo: dest.repo,
      branch: params.branch,
      title,
      description: params.commitDescription ?? params.description,
      parentCommit: params.parentCommit,
      adds,
      deletes: [],
    },
    { ...params, abortSignal: signal },
    emit,
  );
  return { ...out.report, copied: out.written.length, deleted: 0, failed: [], commit: out.commit, unchanged: out.unchanged };
}

async function collect(blocks: AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  let n = 0;
  for await (const b of blocks) {
    parts.push(b);
    n += b.length;
  }
  const out = new Uint8Array(n);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

/** @huggingface/hub's helper: `filePath` relative to `folderPath` (its basename when they are equal). */
export function relativeUnderFolder(filePath: string, folderPath: string): string {
  if (!folderPath) return filePath;
  if (filePath === folderPath) return filePath.split("/").pop() ?? filePath;
  if (filePath.startsWith(folderPath + "/")) return filePath.slice(folderPath.length + 1);
  throw new InvalidArgumentError(`path '${filePath}' is not inside folder '${folderPath}'`);
}

async function commitCopies(params: CommonOptions, destination: BucketRef, ops: CopyFileOp[]): Promise<void> {
  if (ops.length === 0) return;
  const result = await batchBucketOps(hubContext(params), destination, ops, { abortSignal: params.abortSignal });
  if (result.failed.length) throw batchError(result.failed, ops.length);
}

/** Copies one file (see `copyFiles`). */
export function copyFile(
  params: { source: CopySource; destination: CopyDestination } & CommonOptions & CopyCommitOptions,
): Promise<CommitResult | undefined> {
  const { source, destination, ...rest } = params;
  return copyFiles({ ...rest, destination: destination.repo, files: [{ source, destinationPath: destination.path }] });
}

/** `copyFile` as an async generator of `CopyEvent`s, returning the same result. */
export function copyFileIter(
  params: { source: CopySource; destination: CopyDestination } & CommonOptions & CopyCommitOptions,
): AsyncGenerator<CopyEvent, CommitResult | undefined> {
  const { source, destination, ...rest } = params;
  return copyFilesIter({ ...rest, destination: destination.repo, files: [{ source, destinationPath: destination.path }] });
}

/**
 * Copies files (possibly from several buckets and repositories) into a bucket or a repository. Sources are
 * resolved with paths-info first: a missing source → `EntryNotFoundError`, a folder → `InvalidArgumentError`
 * (use copyFolder), and nothing is copied.
 *
 * - Into a bucket: server-side by Xet hash (bucket copies keep the source's mtime); small regular repository
 *   files are downloaded and uploaded. Failures → `BatchError` (the others are applied). Resolves undefined
 *   when nothing had to be uploaded, else with the upload's `CommitResult`.
 * - Into a repository: one commit (`commitTitle`, `commitDescription`) adding the files with their bytes
 *   unchanged; each Xet source is read once (SHA-256 for its LFS pointer) and only what the CAS lacks is sent.
 *   Resolves with the `CommitResult` (`commit`: the commit made, undefined when nothing changed).
 */
export async function copyFiles(params: CopyFilesParams): Promise<CommitResult | undefined> {
  const it = copyFilesIter(params);
  for (;;) {
    const r = await it.next();
    if (r.done) return r.value;
  }
}

/** `copyFiles` as an async generator of `CopyEvent`s, returning the same result. */
export function copyFilesIter(params: CopyFilesParams): AsyncGenerator<CopyEvent, CommitResult | undefined> {
  return withEvents<CopyEvent, CommitResult | undefined>(params.abortSignal, async (abortSignal, emit) => {
    const dest = destinationOf(params.destination);
    if (!Array.isArray(params.files)) throw new InvalidArgumentError("copyFiles needs `files`, an array of { source, destinationPath }");
    if (params.files.length === 0) return undefined;
    const targets = params.files.map((f) => checkBucketPath(joinBucketPath(baseOf(dest), f?.destinationPath ?? ""), "destinationPath"));
    const ctx = hubContext(params);
    const files = await resolveSourceFiles(ctx, params.files, abortSignal);
    return runCopies({ ...params, abortSignal }, dest, files, targets, emit);
  });
}

/**
 * Copies every file below `source.path` (the whole bucket or repository when empty) to below
 * `destination.path`, keeping the relative paths (the source folder itself is not recreated); into a bucket
 * or a repository as `copyFiles` does. `.gitattributes` files of a repository are not copied into buckets
 * (Git metadata, as huggingface_hub skips them). A non-empty source path with no file below it →
 * `EntryNotFoundError`.
 */
export async function copyFolder(params: CopyFolderParams): Promise<CommitResult | undefined> {
  const it = copyFolderIter(params);
  for (;;) {
    const r = await it.next();
    if (r.done) return r.value;
  }
}

/** `copyFolder` as an async generator of `CopyEvent`s, returning the same result. */
export function copyFolderIter(params: CopyFolderParams): AsyncGenerator<CopyEvent, CommitResult | undefined> {
  return withEvents<CopyEvent, CommitResult | undefined>(params.abortSignal, async (abortSignal, emit) => {
    const source = sourceOf(params.source.repo, params.source.revision);
    const dest = destinationOf(params.destination.repo);
    const ctx = hubContext(params);
    const sourcePath = joinBucketPath(baseOf(source), params.source.path ?? "");
    const destPrefix = joinBucketPath(baseOf(dest), params.destination.path ?? "");
    const files: SourceFile[] = [];
    const targets: string[] = [];
    for await (const f of folderFiles(ctx, source, sourcePath, abortSignal)) {
      if (dest.kind === "bucket" && source.kind === "repo" && f.path.split("/").pop() === ".gitattributes") continue;
      files.push(f);
      targets.push(joinBucketPath(destPrefix, relativeUnderFolder(f.path, sourcePath)));
    }
    if (files.length === 0) {
      if (sourcePath === "") return undefined;
      throw sourceNotFound(ctx, source, sourcePath, `nothing to copy: no file at or below '${sourcePath}' in ${labelOf(source)}`);
    }
    return runCopies({ ...params, abortSignal }, dest, files, targets, emit);
  });
}
