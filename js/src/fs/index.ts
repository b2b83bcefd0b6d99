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
 * Nothing is cached by default: every call asks the Hub, so results are never stale. With `liveFollow: true`,
 * listings are cached and kept fresh by each bucket's live events feed (fs/live.ts, as HfFileSystem's
 * `live_follow`): a listing is then as fresh as the feed, and this file system's own writes are visible at
 * once. Stop the feeds with `close()` (or `abortSignal`): an open feed keeps a Node process alive.
 *
 * `find`, `glob` and `walk` take fsspec's `maxDepth` (levels below the path, ≥ 1); `walk` yields
 * `[folder, subfolders, files]` as fsspec's (and `os.walk`).
 */
import { BucketFileBlob, downloadFile, type DownloadTuning, type ResolveUrlBlob } from "../api/download.js";
import { bucketInfo } from "../api/buckets.js";
import { deleteFiles, listFiles, parseTime, pathsInfo, type ListFileEntry } from "../api/files.js";
import { batchBucketFiles, type BatchCopy, type CommitResult, type UploadOptions } from "../api/upload.js";
import { BucketNotFoundError, EntryNotFoundError, InvalidArgumentError, XetBucketsError } from "../errors.js";
import { DEFAULT_HUB_URL, type HubCallOptions } from "../hub/context.js";
import { entryNotFound } from "../hub/files.js";
import { checkBucketPath, parseBucket, type BucketRef } from "../repo.js";
import type { ContentSource } from "../sources.js";
import { globDepth, globToRegExp, hasMagic, splitGlobBase } from "./glob.js";
import { byPath, LiveListings } from "./live.js";

/** Options of a BucketFileSystem: Hub access, download and upload tuning (see those calls). */
export interface BucketFsOptions extends HubCallOptions, DownloadTuning, Omit<UploadOptions, keyof HubCallOptions> {
  /**
   * Cache listings and keep them fresh from each bucket's live events feed (`watchBucket`), like HfFileSystem's
   * `live_follow`: the feed of a bucket starts with the first call that lists it, and its cache serves calls
   * once the feed is live. A bucket whose feed cannot be followed is never cached. Default false. Call
   * `close()` (or abort `abortSignal`) to stop the feeds.
   */
  liveFollow?: boolean;
}

/** What `walk` yields: a folder (its `name`), its subfolders and its files, by base name or as entries with `detail`. */
export type BucketWalkStep<T extends string | BucketFsEntry = string> = [folder: string, dirs: T[], files: T[]];

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

/** A parsed file-system path. */
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

/** The folder of a path ("" at the root). */
function folderOf(p: string): string {
  const i = p.lastIndexOf("/");
  return i < 0 ? "" : p.slice(0, i);
}

/** fsspec's `maxdepth`: undefined (no limit) or an integer ≥ 1. */
function checkMaxDepth(maxDepth: number | undefined): number | undefined {
  if (maxDepth === undefined) return undefined;
  if (!Number.isInteger(maxDepth) || maxDepth < 1) throw new InvalidArgumentError(`maxDepth must be an integer ≥ 1, got ${maxDepth}`);
  return maxDepth;
}

/** The entries at most `maxDepth` levels below `base` (1: its direct children). */
function within(entries: BucketFsEntry[], base: string, maxDepth: number | undefined): BucketFsEntry[] {
  if (maxDepth === undefined) return entries;
  const baseDepth = base === "" ? 0 : base.split("/").length;
  return entries.filter((e) => e.path.split("/").length - baseDepth <= maxDepth);
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
  readonly #live: LiveListings | undefined;

  constructor(options: BucketFsOptions = {}) {
    this.options = { ...options };
    this.#live = options.liveFollow ? new LiveListings(this.options) : undefined;
  }

  #call(): HubCallOptions & DownloadTuning {
    return this.options;
  }

  #notFound(bucket: BucketRef, path: string, message = `no such file or folder: "${path}" in bucket ${bucket.id}`): EntryNotFoundError {
    return entryNotFound(bucket, path, (this.options.hubUrl ?? DEFAULT_HUB_URL).replace(/\/+$/, ""), message);
  }

  /** Stops the live feeds of `liveFollow` and drops their caches (the file system still works, uncached). */
  close(): void {
    this.#live?.close();
  }

  /** True when `liveFollow` serves this bucket's listings from its cache now (its feed is live). */
  isLive(bucket: string): boolean {
    return this.#live?.isLive(parseBucketPath(bucket).bucket.id) ?? false;
  }

  /**
   * The files at or below `path` (every file of the bucket for its root), sorted by path; with `maxDepth`
   * (≥ 1), those at most that many levels below it (1: its direct children).
   */
  async find(path: string, options: { withDirs?: boolean; maxDepth?: number; detail: false }): Promise<string[]>;
  async find(path: string, options?: { withDirs?: boolean; maxDepth?: number; detail?: true }): Promise<BucketFsEntry[]>;
  async find(path: string, options: { withDirs?: boolean; maxDepth?: number; detail?: boolean } = {}): Promise<BucketFsEntry[] | string[]> {
    const { bucket, path: p } = parseBucketPath(path);
    const maxDepth = checkMaxDepth(options.maxDepth);
    const all = await this.#walk(bucket, p);
    const entries = within(all, p, maxDepth);
    let out = entries;
    if (options.withDirs) {
      const dirs = [
        ...impliedFolders(
          all.map((e) => e.path),
          p,
        ),
      ].map((d) => dirEntry(bucket, d));
      out = [...entries, ...within(dirs, p, maxDepth)].sort(byPath);
    }
    return options.detail === false ? out.map((e) => e.name) : out;
  }

  /**
   * Walks the folders at and below `path`, like fsspec's `walk` (and `os.walk`): yields `[folder, dirs, files]`
   * for each folder (`folder` named like the entries, `buckets/ns/name/path`; `dirs` and `files` by base
   * name, or as entries with `detail`), top-down by default: remove names from `dirs` to skip those folders.
   * `maxDepth` (≥ 1) limits the levels. A path that names nothing yields nothing; a file yields
   * `[path, [], [""]]` (fsspec's rule); a missing bucket throws `BucketNotFoundError`. One recursive listing
   * is made for the whole walk.
   */
  walk(path: string, options?: { maxDepth?: number; topdown?: boolean; detail?: false }): AsyncGenerator<BucketWalkStep<string>>;
  walk(path: string, options: { maxDepth?: number; topdown?: boolean; detail: true }): AsyncGenerator<BucketWalkStep<BucketFsEntry>>;
  async *walk(
    path: string,
    options: { maxDepth?: number; topdown?: boolean; detail?: boolean } = {},
  ): AsyncGenerator<BucketWalkStep<string> | BucketWalkStep<BucketFsEntry>> {
    const { bucket, path: p } = parseBucketPath(path);
    const maxDepth = checkMaxDepth(options.maxDepth);
    const topdown = options.topdown ?? true;
    const files = await this.#walk(bucket, p);
    if (files.length === 0) {
      if (p === "")
        await bucketInfo(bucket.id, this.#call()); // a missing bucket throws; an empty one yields its root
      else return;
    }
    // Folder → its subfolders and files, from the one listing.
    const tree = new Map<string, { dirs: Map<string, BucketFsEntry>; files: BucketFsEntry[] }>();
    const node = (d: string) => {
      let n = tree.get(d);
      if (!n) tree.set(d, (n = { dirs: new Map(), files: [] }));
      return n;
    };
    node(p);
    for (const f of files) {
      if (f.path === p) {
        if (files.length === 1) {
          yield options.detail ? [nameOf(bucket, p), [], [f]] : [nameOf(bucket, p), [], [""]];
          return;
        }
        continue; // a file named like the folder: the folder is walked
      }
      const parent = folderOf(f.path);
      node(parent).files.push(f);
      for (let d = parent; d !== p; d = folderOf(d)) {
        const up = node(folderOf(d));
        if (up.dirs.has(d)) break; // and so are its parents
        up.dirs.set(d, dirEntry(bucket, d));
      }
    }
    const base = (e: BucketFsEntry) => e.path.slice(e.path.lastIndexOf("/") + 1);
    const detail = !!options.detail;
    async function* visit(d: string, depth: number): AsyncGenerator<BucketWalkStep<string> | BucketWalkStep<BucketFsEntry>> {
      const n = tree.get(d)!;
      const dirEntries = [...n.dirs.values()].sort(byPath);
      const dirs: Array<string | BucketFsEntry> = detail ? dirEntries : dirEntries.map(base);
      const fileList: Array<string | BucketFsEntry> = detail ? n.files : n.files.map(base);
      const step = [nameOf(bucket, d), dirs, fileList] as BucketWalkStep<string> | BucketWalkStep<BucketFsEntry>;
      if (topdown) yield step;
      if (maxDepth === undefined || depth < maxDepth) {
        // Top-down, the caller may have removed folders from `dirs`: only those left are visited.
        for (const sub of dirs) {
          const subPath = typeof sub === "string" ? (d === "" ? sub : `${d}/${sub}`) : sub.path;
          if (tree.has(subPath)) yield* visit(subPath, depth + 1);
        }
      }
      if (!topdown) yield step;
    }
    yield* visit(p, 1);
  }

  /** Every file at or below `p` (recursive listing, no folder entries). */
  async #walk(bucket: BucketRef, p: string): Promise<BucketFsEntry[]> {
    const list = async () => {
      const out: ListFileEntry[] = [];
      for await (const e of listFiles({ ...this.#call(), repo: `buckets/${bucket.id}`, path: p, recursive: true })) {
        if (e.type === "file") out.push(e);
      }
      return out;
    };
    const view = this.#live?.view(bucket);
    const entries = view?.files(p) ?? (view ? await view.fetch("tree", p, list) : await list());
    return entries.map((e) => fileEntry(bucket, e)).sort(byPath);
  }

  /** The direct children of the folder `p` (and the file named `p`), from the live cache when it has them. */
  async #children(bucket: BucketRef, p: string): Promise<ListFileEntry[]> {
    const list = async () => {
      const out: ListFileEntry[] = [];
      for await (const e of listFiles({ ...this.#call(), repo: `buckets/${bucket.id}`, path: p, recursive: false })) out.push(e);
      return out;
    };
    const view = this.#live?.view(bucket);
    return view?.children(p) ?? (view ? view.fetch("dir", p, list) : list());
  }

  /** After a write: what the live cache held of these paths is dropped (the next call lists them again). */
  #wrote(bucket: BucketRef, paths: string[]): void {
    this.#live?.view(bucket)?.invalidate(paths);
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
      out = (await this.#children(bucket, p)).map((e) =>
        e.type === "file" ? fileEntry(bucket, e) : dirEntry(bucket, e.path, e.uploadedAt),
      );
      out.sort(byPath);
    }
    if (out.length === 0 && p !== "") {
      // A missing bucket is reported by the listing itself; here the path names nothing.
      throw this.#notFound(bucket, p);
    }
    if (out.length === 0) await bucketInfo(bucket.id, this.#call()); // a missing bucket → BucketNotFoundError
    return options.detail === false ? out.map((e) => e.name) : out;
  }

  /**
   * Paths matching a glob (see fs/glob.ts: `*` within a segment, `**` across folders, `?`, `[…]`),
   * files and folders, sorted. The bucket part cannot contain glob characters. A pattern without glob
   * characters returns the path itself when it exists.
   */
  async glob(pattern: string, options: { maxDepth?: number; detail: true }): Promise<BucketFsEntry[]>;
  async glob(pattern: string, options?: { maxDepth?: number; detail?: false }): Promise<string[]>;
  async glob(pattern: string, options: { maxDepth?: number; detail?: boolean } = {}): Promise<BucketFsEntry[] | string[]> {
    const { bucket, path: p } = parseBucketPath(pattern);
    const maxDepth = checkMaxDepth(options.maxDepth);
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
      // fsspec: maxDepth bounds the levels "**" may cross (from the first "**"); patterns without it are bounded anyway.
      const segs = rest.split("/");
      const starstar = segs.findIndex((seg) => seg.includes("**"));
      const depth = starstar >= 0 && maxDepth !== undefined ? starstar + maxDepth : globDepth(rest);
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
      matches = candidates.filter((e) => e.path.split("/").length - baseDepth <= depth && re.test(e.path)).sort(byPath);
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
    const known = this.#live?.view(bucket)?.lookup(p);
    if (known === null) throw this.#notFound(bucket, p);
    if (known) return known.type === "file" ? fileEntry(bucket, known) : dirEntry(bucket, p, known.uploadedAt);
    const [info] = await pathsInfo({ ...this.#call(), repo: `buckets/${bucket.id}`, paths: [p] });
    if (info && info.type === "file" && info.path === p) return fileEntry(bucket, info as ListFileEntry);
    for await (const e of listFiles({ ...this.#call(), repo: `buckets/${bucket.id}`, path: p, recursive: false })) {
      if (e.path !== p) return dirEntry(bucket, p);
    }
    throw this.#notFound(bucket, p);
  }

  /** True when the path names a file, a folder or an existing bucket's root. */
  async exists(path: string): Promise<boolean> {
    return (await this.#statIfAny(path)) !== undefined;
  }

  /** True when the path names a file (false when it or its bucket does not exist). */
  async isFile(path: string): Promise<boolean> {
    return (await this.#statIfAny(path))?.type === "file";
  }

  /** True when the path names a folder or a bucket's root (false when it or its bucket does not exist). */
  async isDir(path: string): Promise<boolean> {
    return (await this.#statIfAny(path))?.type === "directory";
  }

  /** `stat`, or undefined when the path or its bucket does not exist. */
  async #statIfAny(path: string): Promise<BucketFsEntry | undefined> {
    try {
      return await this.stat(path);
    } catch (err) {
      if (err instanceof EntryNotFoundError || err instanceof BucketNotFoundError) return undefined;
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
    throw this.#notFound(bucket, p);
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
    try {
      return await batchBucketFiles(bucket.id, {
        ...this.options,
        add: [{ source, path: p, mtime, ...(options.contentType ? { contentType: options.contentType } : {}) }],
      });
    } finally {
      this.#wrote(bucket, [p]);
    }
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
          throw this.#notFound(bucket, p);
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
      try {
        await deleteFiles({ ...this.#call(), repo: `buckets/${bucket.id}`, paths: sorted });
      } finally {
        this.#wrote(bucket, sorted);
      }
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
      throw this.#notFound(s.bucket, s.path, `no files found at "${src}" in bucket ${s.bucket.id}`);
    }
    const copy: BatchCopy[] = copies.map(({ entry, target }) => ({
      sourceRepo: `buckets/${s.bucket.id}`,
      xetHash: entry.xetHash!,
      path: checkBucketPath(target, "copy destination"),
      mtime: entry.mtimeMs ?? Date.now(),
    }));
    try {
      await batchBucketFiles(d.bucket.id, { ...this.options, copy });
    } finally {
      this.#wrote(
        d.bucket,
        copy.map((c) => (c as { path: string }).path),
      );
    }
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
