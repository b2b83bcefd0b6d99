/**
 * File-system style access over Storage Buckets, in the spirit of huggingface_hub's `HfFileSystem`:
 * `ls`, `find`, `glob` (with `**`), `stat`, `exists`, `readFile`, `createReadStream` (ranged reads),
 * `open` (a lazy Blob), `writeFile`, `rm` (recursive), `cp` / `mv` (server-side), `du`.
 *
 * ```ts
 * const fs = new BucketFileSystem({ accessToken: "hf_…" });
 * await fs.writeFile("hf://buckets/me/b/data/a.bin", bytes);
 * await fs.glob("hf://buckets/me/b/**\/*.bin");          // ["buckets/me/b/data/a.bin"]
 * const head = await fs.readFile("buckets/me/b/data/a.bin", { start: 0, end: 1024 });
 * ```
 *
 * Paths: `hf://buckets/ns/name/path`, `buckets/ns/name/path` or `ns/name/path` (this file system only
 * knows buckets). Entries are named like HfFileSystem names them: `buckets/ns/name/path`. Folders are
 * implicit in buckets: a folder exists while a file exists below it, and `rm` of its last file removes it.
 *
 * Errors: a missing file or folder → `EntryNotFoundError` (code ENTRY_NOT_FOUND), a missing bucket →
 * `BucketNotFoundError`, a folder where a file is needed (or `rm` of a folder without `recursive`) →
 * `XetBucketsError` with code IS_A_DIRECTORY.
 *
 * Nothing is cached: every call asks the Hub, so results are never stale.
 */
import { BucketFileBlob, downloadFile, type DownloadTuning, type ResolveUrlBlob } from "../api/download.js";
import { bucketInfo } from "../api/buckets.js";
import { deleteFiles, listFiles, parseTime, pathsInfo, type ListFileEntry } from "../api/files.js";
import { batchBucketFiles, type BatchCopy, type CommitResult, type UploadOptions } from "../api/upload.js";
import { EntryNotFoundError, InvalidArgumentError, XetBucketsError } from "../errors.js";
import type { HubCallOptions } from "../hub/context.js";
import { checkBucketPath, parseBucket, type BucketRef } from "../repo.js";
import type { ContentSource } from "../sources.js";
import { globDepth, globToRegExp, hasMagic, splitGlobBase } from "./glob.js";

export { globToRegExp, hasMagic } from "./glob.js";

/** Options of a BucketFileSystem: Hub access, download and upload tuning (see those calls). */
export interface BucketFsOptions extends HubCallOptions, DownloadTuning, Omit<UploadOptions, keyof HubCallOptions> {}

/** A file or folder of a bucket. */
export interface BucketFsEntry {
  /** `buckets/ns/name/path` (HfFileSystem's naming); `buckets/ns/name` for the bucket root. */
  name: string;
  /** "ns/name" */
  bucket: string;
  /** Path inside the bucket ("" for the root). */
  path: string;
  /** A file, or a folder (implicit in buckets: it exists while a file exists below it). */
  type: "file" | "directory";
  /** Bytes (folders: 0; the bucket root: the bucket's total size). */
  size: number;
  /** Xet file id (files). */
  xetHash?: string;
  /** The uploader's modification time, ISO-8601 (files, when the uploader sent one). */
  mtime?: string;
  /** `mtime` in ms since the epoch. */
  mtimeMs?: number;
  /** When the file was registered, ISO-8601. */
  uploadedAt?: string;
  /** The MIME type recorded with the file (files). */
  contentType?: string;
}

/** A parsed file-system path. @internal */
export interface BucketFsPath {
  bucket: BucketRef;
  /** Path inside the bucket, without leading or trailing "/" ("" for the root). */
  path: string;
  /** The path was written with a trailing "/" ("the contents of", for cp). */
  trailingSlash: boolean;
}

/**
 * Parses `hf://buckets/ns/name/path`, `buckets/ns/name/path` or `ns/name/path`. Throws
 * `InvalidArgumentError` for anything else (a model or dataset URI, a missing bucket name).
 * @internal
 */
export function parseBucketPath(p: string): BucketFsPath {
  if (typeof p !== "string" || p === "") throw new InvalidArgumentError("a bucket path must be a non-empty string");
  let uri: string;
  if (p.startsWith("hf://")) uri = p;
  else if (p.startsWith("buckets/")) uri = `hf://${p}`;
  else if (/^[a-z][a-z0-9+.-]*:\/\//i.test(p)) {
    throw new InvalidArgumentError(`"${p}" is not a bucket path: use hf://buckets/ns/name/path, buckets/ns/name/path or ns/name/path`);
  } else uri = `hf://buckets/${p}`;
  const ref = parseBucket(uri);
  return { bucket: { ...ref, path: "", trailingSlash: false }, path: ref.path, trailingSlash: ref.trailingSlash };
}

function nameOf(bucket: BucketRef, path: string): string {
  return path ? `buckets/${bucket.id}/${path}` : `buckets/${bucket.id}`;
}

function fileEntry(bucket: BucketRef, e: ListFileEntry): BucketFsEntry {
  const out: BucketFsEntry = { name: nameOf(bucket, e.path), bucket: bucket.id, path: e.path, type: "file", size: e.size };
  if (e.xetHash) out.xetHash = e.xetHash;
  if (e.mtime) {
    out.mtime = e.mtime;
    const ms = parseTime(e.mtime);
    if (ms !== undefined) out.mtimeMs = ms;
  }
  if (e.uploadedAt) out.uploadedAt = e.uploadedAt;
  if (e.contentType) out.contentType = e.contentType;
  return out;
}

function dirEntry(bucket: BucketRef, path: string, uploadedAt?: string): BucketFsEntry {
  const out: BucketFsEntry = { name: nameOf(bucket, path), bucket: bucket.id, path, type: "directory", size: 0 };
  if (uploadedAt) out.uploadedAt = uploadedAt;
  return out;
}

function notFound(bucket: BucketRef, path: string, hubUrl: string | undefined): EntryNotFoundError {
  return new EntryNotFoundError("ENTRY_NOT_FOUND", `no such file or folder: "${path}" in bucket ${bucket.id}`, {
    statusCode: 404,
    url: `${(hubUrl ?? "https://huggingface.co").replace(/\/+$/, "")}/buckets/${bucket.id}/resolve/${path}`,
    serverCode: "EntryNotFound",
  });
}

function isADirectory(bucket: BucketRef, path: string, hint: string): XetBucketsError {
  return new XetBucketsError("IS_A_DIRECTORY", `"${path}" in bucket ${bucket.id} is a folder${hint}`);
}

/** Every folder implied by the given file paths, below `base` (exclusive). */
function impliedFolders(paths: Iterable<string>, base: string): Set<string> {
  const out = new Set<string>();
  for (const p of paths) {
    let i = p.lastIndexOf("/");
    while (i > 0) {
      const dir = p.slice(0, i);
      if (base !== "" && (dir === base || !dir.startsWith(base + "/"))) break;
      if (out.has(dir)) break;
      out.add(dir);
      i = p.lastIndexOf("/", i - 1);
    }
  }
  return out;
}

/** Where a server-side copy puts a file (huggingface_hub's copy_files rules). */
function copyTarget(
  srcFile: string,
  srcRoot: string | null,
  single: boolean,
  dstPath: string,
  dstIsDir: boolean,
  dstExistsAsDir: boolean,
  mergeContents: boolean,
): string {
  const base = srcFile.slice(srcFile.lastIndexOf("/") + 1);
  if (single) {
    if (dstPath === "") return base;
    return dstIsDir ? `${dstPath}/${base}` : dstPath;
  }
  let rel: string;
  if (srcRoot === null) rel = srcFile;
  else if (srcFile.startsWith(srcRoot + "/")) rel = srcFile.slice(srcRoot.length + 1);
  else rel = base;
  if (dstExistsAsDir && srcRoot !== null && !mergeContents) rel = `${srcRoot.slice(srcRoot.lastIndexOf("/") + 1)}/${rel}`;
  return dstPath === "" ? rel : `${dstPath}/${rel}`;
}

/** One file copied by `cp`. */
export interface CopiedFile {
  /** `buckets/ns/name/path` of the source. */
  from: string;
  /** `buckets/ns/name/path` of the copy. */
  to: string;
  /** The file's size in bytes. */
  size: number;
}

/**
 * File-system style access to buckets, like huggingface_hub's `HfFileSystem`: paths are
 * `hf://buckets/ns/name/path`, `buckets/ns/name/path` or `ns/name/path`. Every method asks the Hub (nothing
 * is cached). A missing path → `EntryNotFoundError`, a missing bucket → `BucketNotFoundError`, a folder where
 * a file is needed → `XetBucketsError` IS_A_DIRECTORY, a path that names no bucket → `InvalidArgumentError`.
 */
export class BucketFileSystem {
  /** The options every call of this file system uses (a copy of those given). */
  readonly options: BucketFsOptions;

  constructor(options: BucketFsOptions = {}) {
    this.options = { ...options };
  }

  #call(): HubCallOptions & DownloadTuning {
    return this.options;
  }

  /** The files at or below `path` (every file of the bucket for its root), sorted by path. */
  async find(path: string, options: { withDirs?: boolean; detail?: false }): Promise<string[]>;
  async find(path: string, options?: { withDirs?: boolean; detail?: true }): Promise<BucketFsEntry[]>;
  async find(path: string, options: { withDirs?: boolean; detail?: boolean } = {}): Promise<BucketFsEntry[] | string[]> {
    const { bucket, path: p } = parseBucketPath(path);
    const entries = await this.#walk(bucket, p);
    let out = entries;
    if (options.withDirs) {
      const dirs = [
        ...impliedFolders(
          entries.map((e) => e.path),
          p,
        ),
      ].map((d) => dirEntry(bucket, d));
      out = [...entries, ...dirs].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
    }
    return options.detail === false ? out.map((e) => e.name) : out;
  }

  /** Every file at or below `p` (recursive listing, no folder entries). */
  async #walk(bucket: BucketRef, p: string): Promise<BucketFsEntry[]> {
    const out: BucketFsEntry[] = [];
    for await (const e of listFiles({ ...this.#call(), repo: `buckets/${bucket.id}`, path: p, recursive: true })) {
      if (e.type === "file") out.push(fileEntry(bucket, e));
    }
    return out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  }

  /**
   * Lists a folder: its direct children (files and folders), or with `recursive` everything below it
   * (files and the folders they imply). A file path lists that file. A path that names nothing →
   * `EntryNotFoundError` (an empty bucket's root lists as []).
   */
  async ls(path: string, options: { recursive?: boolean; detail: false }): Promise<string[]>;
  async ls(path: string, options?: { recursive?: boolean; detail?: true }): Promise<BucketFsEntry[]>;
  async ls(path: string, options: { recursive?: boolean; detail?: boolean } = {}): Promise<BucketFsEntry[] | string[]> {
    const { bucket, path: p } = parseBucketPath(path);
    let out: BucketFsEntry[];
    if (options.recursive) {
      out = await this.find(path, { withDirs: true, detail: true });
    } else {
      out = [];
      for await (const e of listFiles({ ...this.#call(), repo: `buckets/${bucket.id}`, path: p, recursive: false })) {
        out.push(e.type === "file" ? fileEntry(bucket, e) : dirEntry(bucket, e.path, e.uploadedAt));
      }
      out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
    }
    if (out.length === 0 && p !== "") {
      // A missing bucket is reported by the listing itself; here the path names nothing.
      throw notFound(bucket, p, this.options.hubUrl);
    }
    if (out.length === 0) await bucketInfo(bucket.id, this.#call()); // a missing bucket → BucketNotFoundError
    return options.detail === false ? out.map((e) => e.name) : out;
  }

  /**
   * Paths matching a glob (see fs/glob.ts: `*` within a segment, `**` across folders, `?`, `[…]`),
   * files and folders, sorted. The bucket part cannot contain glob characters. A pattern without glob
   * characters returns the path itself when it exists.
   */
  async glob(pattern: string, options: { detail: true }): Promise<BucketFsEntry[]>;
  async glob(pattern: string, options?: { detail?: false }): Promise<string[]>;
  async glob(pattern: string, options: { detail?: boolean } = {}): Promise<BucketFsEntry[] | string[]> {
    const { bucket, path: p } = parseBucketPath(pattern);
    let matches: BucketFsEntry[];
    if (!hasMagic(p)) {
      matches = [];
      try {
        matches.push(await this.stat(pattern));
      } catch (err) {
        if (!(err instanceof EntryNotFoundError)) throw err;
      }
    } else {
      const [base, rest] = splitGlobBase(p);
      const depth = globDepth(rest);
      const re = globToRegExp(p);
      const files = await this.#walk(bucket, base);
      const candidates = [
        ...files,
        ...[
          ...impliedFolders(
            files.map((f) => f.path),
            base,
          ),
        ].map((d) => dirEntry(bucket, d)),
      ];
      const baseDepth = base === "" ? 0 : base.split("/").length;
      matches = candidates
        .filter((e) => e.path.split("/").length - baseDepth <= depth && re.test(e.path))
        .sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
    }
    return options.detail ? matches : matches.map((e) => e.name);
  }

  /**
   * What a path is: a file (size, xetHash, mtime…), a folder, or the bucket root (a folder whose size
   * is the bucket's total). Missing → `EntryNotFoundError`; missing bucket → `BucketNotFoundError`.
   */
  async stat(path: string): Promise<BucketFsEntry> {
    const { bucket, path: p } = parseBucketPath(path);
    if (p === "") {
      const info = await bucketInfo(bucket.id, this.#call());
      const root = dirEntry(bucket, "");
      root.size = info.size;
      if (typeof info.updatedAt === "string") root.uploadedAt = info.updatedAt;
      return root;
    }
    checkBucketPath(p);
    const [info] = await pathsInfo({ ...this.#call(), repo: `buckets/${bucket.id}`, paths: [p] });
    if (info && info.type === "file" && info.path === p) return fileEntry(bucket, info as ListFileEntry);
    for await (const e of listFiles({ ...this.#call(), repo: `buckets/${bucket.id}`, path: p, recursive: false })) {
      if (e.path !== p) return dirEntry(bucket, p);
    }
    throw notFound(bucket, p, this.options.hubUrl);
  }

  /** True when the path names a file, a folder or an existing bucket's root. */
  async exists(path: string): Promise<boolean> {
    try {
      await this.stat(path);
      return true;
    } catch (err) {
      const code = (err as XetBucketsError)?.code;
      if (code === "ENTRY_NOT_FOUND" || code === "BUCKET_NOT_FOUND") return false;
      throw err;
    }
  }

  /** True when the path names a file (false when it or its bucket does not exist). */
  async isFile(path: string): Promise<boolean> {
    try {
      return (await this.stat(path)).type === "file";
    } catch (err) {
      if ((err as XetBucketsError)?.code === "ENTRY_NOT_FOUND" || (err as XetBucketsError)?.code === "BUCKET_NOT_FOUND") return false;
      throw err;
    }
  }

  /** True when the path names a folder or a bucket's root (false when it or its bucket does not exist). */
  async isDir(path: string): Promise<boolean> {
    try {
      return (await this.stat(path)).type === "directory";
    } catch (err) {
      if ((err as XetBucketsError)?.code === "ENTRY_NOT_FOUND" || (err as XetBucketsError)?.code === "BUCKET_NOT_FOUND") return false;
      throw err;
    }
  }

  /**
   * A file as a lazy Blob: nothing is downloaded until it is read; `slice()` gives ranged reads.
   * Whole-file reads are verified against the file's xetHash.
   */
  async open(path: string): Promise<BucketFileBlob | ResolveUrlBlob> {
    const { bucket, path: p } = parseBucketPath(path);
    if (p === "") throw isADirectory(bucket, "", " (the bucket root): name a file");
    checkBucketPath(p);
    const blob = await downloadFile({ ...this.#call(), repo: `buckets/${bucket.id}`, path: p });
    if (blob) return blob;
    for await (const e of listFiles({ ...this.#call(), repo: `buckets/${bucket.id}`, path: p, recursive: false })) {
      if (e.path !== p) throw isADirectory(bucket, p, ": name a file inside it");
    }
    throw notFound(bucket, p, this.options.hubUrl);
  }

  /**
   * The bytes of a file, or of `[start, end)` (end exclusive, like `Blob.slice`; negative values count
   * from the end). Whole-file reads are verified against the xetHash.
   */
  async readFile(path: string, options: { start?: number; end?: number } = {}): Promise<Uint8Array> {
    const blob = await this.open(path);
    const part = options.start === undefined && options.end === undefined ? blob : blob.slice(options.start, options.end);
    return part.bytes();
  }

  /** The file decoded as UTF-8. */
  async readText(path: string): Promise<string> {
    return new TextDecoder().decode(await this.readFile(path));
  }

  /**
   * A web ReadableStream of the file, or of bytes `start` to `end` **inclusive** (Node's
   * `fs.createReadStream` convention). Only the requested range is fetched. The stream opens lazily: a
   * missing file errors the stream on its first read.
   */
  createReadStream(path: string, options: { start?: number; end?: number; signal?: AbortSignal } = {}): ReadableStream<Uint8Array> {
    const { start, end } = options;
    if (start !== undefined && !(Number.isInteger(start) && start >= 0))
      throw new InvalidArgumentError(`start must be an integer ≥ 0, got ${start}`);
    if (end !== undefined && !(Number.isInteger(end) && end >= (start ?? 0)))
      throw new InvalidArgumentError(`end must be an integer ≥ start, got ${end}`);
    let reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
    const open = async () => {
      const blob = await this.open(path);
      const part = start === undefined && end === undefined ? blob : blob.slice(start ?? 0, end === undefined ? undefined : end + 1);
      reader = part.stream().getReader();
      return reader;
    };
    return new ReadableStream<Uint8Array>({
      async pull(controller) {
        try {
          const r = reader ?? (await open());
          options.signal?.throwIfAborted();
          const { done, value } = await r.read();
          if (done) controller.close();
          else controller.enqueue(value);
        } catch (err) {
          controller.error(err);
        }
      },
      async cancel(reason) {
        await reader?.cancel(reason);
      },
    });
  }

  /**
   * Writes (creates or replaces) a file. `data`: bytes, a string (UTF-8 text, not a path), a Blob, a
   * stream or any other upload content source. Returns the upload's dedup report.
   */
  async writeFile(
    path: string,
    data: ContentSource | string,
    options: { mtime?: number | Date; contentType?: string } = {},
  ): Promise<CommitResult> {
    const { bucket, path: p, trailingSlash } = parseBucketPath(path);
    if (p === "" || trailingSlash) throw new InvalidArgumentError(`writeFile needs a file path, got "${path}"`);
    checkBucketPath(p);
    const source: ContentSource = typeof data === "string" ? new TextEncoder().encode(data) : data;
    const mtime = options.mtime instanceof Date ? options.mtime.getTime() : (options.mtime ?? Date.now());
    return batchBucketFiles(bucket.id, {
      ...this.options,
      add: [{ source, path: p, mtime, ...(options.contentType ? { contentType: options.contentType } : {}) }],
    });
  }

  /**
   * Removes files. A folder (or the bucket root) needs `recursive: true` and removes every file below
   * it. Paths that name nothing → `EntryNotFoundError` (nothing is removed). Returns the removed paths
   * (`buckets/ns/name/path`). Deletes go in batches of ≤ 1000 per bucket; a bucket batch is not
   * transactional (a failure → `BatchError` listing the paths that were not removed).
   */
  async rm(paths: string | string[], options: { recursive?: boolean } = {}): Promise<string[]> {
    const list = Array.isArray(paths) ? paths : [paths];
    const byBucket = new Map<string, { bucket: BucketRef; paths: Set<string> }>();
    for (const path of list) {
      const { bucket, path: p } = parseBucketPath(path);
      const group = byBucket.get(bucket.id) ?? { bucket, paths: new Set<string>() };
      byBucket.set(bucket.id, group);
      if (options.recursive) {
        const files = await this.#walk(bucket, p);
        if (files.length === 0) {
          if (p === "") {
            await bucketInfo(bucket.id, this.#call());
            continue; // an empty bucket: nothing to do
          }
          throw notFound(bucket, p, this.options.hubUrl);
        }
        for (const f of files) group.paths.add(f.path);
      } else {
        const e = await this.stat(path);
        if (e.type !== "file") throw isADirectory(bucket, p, ": pass { recursive: true } to remove it and everything below it");
        group.paths.add(p);
      }
    }
    const removed: string[] = [];
    for (const { bucket, paths: ps } of byBucket.values()) {
      if (ps.size === 0) continue;
      const sorted = [...ps].sort();
      await deleteFiles({ ...this.#call(), repo: `buckets/${bucket.id}`, paths: sorted });
      removed.push(...sorted.map((p) => nameOf(bucket, p)));
    }
    return removed;
  }

  /**
   * Server-side copy (no data transfer), with `hf buckets cp` / huggingface_hub `copy_files` rules:
   * a file is copied to `dst` (into it when `dst` is an existing folder, ends with "/" or is a bucket
   * root); a folder is copied recursively: without a trailing "/" on `src` it is nested inside an
   * existing `dst` folder (`cp -r`), with one its contents go directly into `dst` (rsync). The copies
   * keep the source's mtime. Nothing found at `src` → `EntryNotFoundError`.
   */
  async cp(src: string, dst: string): Promise<CopiedFile[]> {
    const s = parseBucketPath(src);
    const d = parseBucketPath(dst);
    const mergeContents = src.endsWith("/");
    let dstIsDir = false;
    let dstExistsAsDir = false;
    if (d.path === "") {
      dstIsDir = dstExistsAsDir = true;
      await bucketInfo(d.bucket.id, this.#call()); // a missing destination bucket fails before anything else
    } else {
      checkBucketPath(d.path, "destination path");
      const info = await pathsInfo({ ...this.#call(), repo: `buckets/${d.bucket.id}`, paths: [d.path] });
      if (!info.some((e) => e.type === "file" && e.path === d.path)) {
        for await (const e of listFiles({ ...this.#call(), repo: `buckets/${d.bucket.id}`, path: d.path, recursive: false })) {
          if (e.path === d.path || e.path.startsWith(d.path + "/")) {
            dstExistsAsDir = true;
            break;
          }
        }
        dstIsDir = dstExistsAsDir || d.trailingSlash;
      }
    }
    const copies: { entry: BucketFsEntry; target: string }[] = [];
    const srcInfo = s.path === "" ? [] : await pathsInfo({ ...this.#call(), repo: `buckets/${s.bucket.id}`, paths: [s.path] });
    const single = srcInfo.find((e) => e.type === "file" && e.path === s.path && e.xetHash);
    if (single) {
      copies.push({
        entry: fileEntry(s.bucket, single as ListFileEntry),
        target: copyTarget(single.path, null, true, d.path, dstIsDir, dstExistsAsDir, mergeContents),
      });
    } else {
      for (const f of await this.#walk(s.bucket, s.path)) {
        if (!f.xetHash) continue;
        copies.push({ entry: f, target: copyTarget(f.path, s.path || null, false, d.path, dstIsDir, dstExistsAsDir, mergeContents) });
      }
    }
    if (copies.length === 0) {
      const err = notFound(s.bucket, s.path, this.options.hubUrl);
      err.message = `no files found at "${src}" in bucket ${s.bucket.id}`;
      throw err;
    }
    const copy: BatchCopy[] = copies.map(({ entry, target }) => ({
      sourceRepo: `buckets/${s.bucket.id}`,
      xetHash: entry.xetHash!,
      path: checkBucketPath(target, "copy destination"),
      mtime: entry.mtimeMs ?? Date.now(),
    }));
    await batchBucketFiles(d.bucket.id, { ...this.options, copy });
    return copies.map(({ entry, target }) => ({ from: entry.name, to: nameOf(d.bucket, target), size: entry.size }));
  }

  /**
   * Moves (renames) files or folders: a server-side `cp` with the same rules, then `rm` of the sources
   * that were copied. Buckets have no rename, so the move is not atomic.
   */
  async mv(src: string, dst: string): Promise<CopiedFile[]> {
    const copied = await this.cp(src, dst);
    const sources = copied.map((c) => c.from).filter((from) => !copied.some((c) => c.to === from));
    if (sources.length) await this.rm(sources);
    return copied;
  }

  /** Total bytes of the files at or below `path`. */
  async du(path: string): Promise<number> {
    const { bucket, path: p } = parseBucketPath(path);
    if (p === "") return (await bucketInfo(bucket.id, this.#call())).size;
    const s = await this.stat(path);
    if (s.type === "file") return s.size;
    return (await this.#walk(bucket, p)).reduce((a, e) => a + e.size, 0);
  }
}

/** `new BucketFileSystem(options)`. */
export function createBucketFs(options: BucketFsOptions = {}): BucketFileSystem {
  return new BucketFileSystem(options);
}
