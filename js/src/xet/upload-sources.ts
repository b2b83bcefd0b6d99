/**
 * What an upload reads: each input (a `File`, a `file:` or http(s) `URL`, a `{ path, content }` pair, an
 * edit of a Blob) resolved into items with a bucket path, a source, and when known a size, an mtime (ms)
 * and a content type. Local folders given as `file:` URLs expand to their files (as @huggingface/hub does).
 *
 * Reading: `readBlocks` yields bounded blocks with one block of read-ahead, so the next read overlaps the
 * core's work on the current one. Memory: at most two blocks per file being read.
 */
import { localFiles } from "#platform";
import { InvalidArgumentError, LocalFileError, NetworkError, XetBucketsError } from "../errors.js";
import { checkBucketPath } from "../repo.js";
import { asBytes, releaseBuffer } from "../buffers.js";
import { isLocalPath, localFilesFor, readSource, type ContentSource } from "../sources.js";

/** One file to upload, resolved. */
export interface UploadItem {
  /** Destination path in the bucket. */
  path: string;
  source: ContentSource;
  /** Size in bytes when known before reading (paths, Blobs, byte arrays). */
  size?: number;
  /** Modification time, ms since the epoch: the local file's mtime, `File.lastModified`, or undefined (now). */
  mtime?: number;
  /** MIME type, from the Blob's `type` or the path's extension; undefined when unknown. */
  contentType?: string;
  /** True when `source` is a local path (string or `file:` URL): read with two alternating buffers. */
  local?: boolean;
  /**
   * The SHA-256 (plain hex) of the bytes the upload read, from a caller that hashes the source as it is
   * read; asked for once the file is read, and stored in the shard (repository commits name LFS files by it).
   */
  sha256?: () => string;
}

/** A range of the original content replaced by new content (@huggingface/hub's `CommitEditFile` edits). */
export interface ContentEdit {
  /** The bytes that replace the range (any length). */
  content: Blob;
  /** Start of the replaced range in the original (inclusive). */
  start: number;
  /** End of the replaced range in the original (exclusive). */
  end: number;
}

function isBlob(x: unknown): x is Blob {
  return typeof Blob !== "undefined" && x instanceof Blob;
}

function isFile(x: unknown): x is File {
  return typeof File !== "undefined" && x instanceof File;
}

/** Last segment of a URL's path ("file" when there is none), as @huggingface/hub names URL uploads. */
export function urlBaseName(url: URL): string {
  const segs = url.pathname.split("/").filter((s) => s !== "");
  const last = segs[segs.length - 1];
  return last ? decodeURIComponent(last) : "file";
}

interface LocalEntry {
  path: string;
  relative: string;
  size: number;
  mtime: number;
}

/**
 * Files under a local path (the path itself when it is a file), depth-limited, sorted by relative path
 * (`LocalFiles.walk`). Anything the walk could not list fails the upload, except sockets, FIFOs and devices,
 * which are not files to upload.
 */
async function localEntries(p: string | URL, maxDepth: number): Promise<LocalEntry[] | LocalEntry> {
  const files = localFilesFor("local paths and file: URLs");
  const root = files.toPath(p);
  const st = await files.stat(root);
  if (!st.isDirectory()) return { path: root, relative: ".", size: st.size, mtime: st.mtimeMs };
  const walked = await files.walk(root, { maxDepth });
  for (const problem of walked.problems) {
    const where = files.join(root, problem.path);
    if (problem.kind === "unreadable") throw new LocalFileError(where, problem.cause);
    if (problem.kind === "too-deep") {
      throw new InvalidArgumentError(
        `${where} is nested more than maxFolderDepth (${maxDepth}) levels deep: raise maxFolderDepth or upload a deeper folder`,
      );
    }
    if (problem.kind === "loop") throw new InvalidArgumentError(`${where}: ${problem.error}; upload the folder it points to instead`);
  }
  return walked.files.map((f) => ({ path: f.absPath, relative: f.path, size: f.size, mtime: f.mtimeMs }));
}

/**
 * An async iterable that fetches an http(s) URL when first read, streaming its body. A failed fetch is a
 * `NetworkError` (a broken body is a failed read: readSource's READ_FAILED).
 */
function remoteSource(url: URL, fetchFn: typeof fetch | undefined): AsyncIterable<Uint8Array> {
  return {
    async *[Symbol.asyncIterator]() {
      const where = `${url.origin}${url.pathname}`;
      const res = await (fetchFn ?? globalThis.fetch)(url).catch((err: unknown) => {
        throw new NetworkError("NETWORK", `could not read ${where}: ${(err as Error)?.message ?? err}`, where, { cause: err });
      });
      if (!res.ok || !res.body) throw new InvalidArgumentError(`could not read ${where}: HTTP ${res.status}`);
      const reader = res.body.getReader();
      try {
        for (;;) {
          const { done, value } = await reader.read();
          if (done) return;
          yield value;
        }
      } finally {
        reader.releaseLock();
      }
    },
  };
}

/** The original content with `edits` applied, read lazily slice by slice (no copy of the original). */
export function splicedSource(original: Blob, edits: ContentEdit[]): { source: AsyncIterable<Uint8Array>; size: number } {
  const sorted = [...edits].sort((a, b) => a.start - b.start);
  let pos = 0;
  let size = 0;
  for (const e of sorted) {
    if (!(Number.isInteger(e.start) && Number.isInteger(e.end) && e.start >= pos && e.end >= e.start && e.end <= original.size)) {
      throw new InvalidArgumentError(
        `edits must be non-overlapping ranges [start, end) inside the original content (${original.size} bytes)`,
      );
    }
    size += e.start - pos + e.content.size;
    pos = e.end;
  }
  size += original.size - pos;
  const parts: Blob[] = [];
  pos = 0;
  for (const e of sorted) {
    if (e.start > pos) parts.push(original.slice(pos, e.start));
    parts.push(e.content);
    pos = e.end;
  }
  if (pos < original.size) parts.push(original.slice(pos));
  return {
    size,
    source: {
      async *[Symbol.asyncIterator]() {
        for (const p of parts) yield* readSource(p, { blockBytes: 4 << 20 });
      },
    },
  };
}

/** What `uploadFiles` accepts for each file (the @huggingface/hub shapes, plus any `ContentSource` as content). */
export type UploadFileInput =
  | URL
  | File
  | {
      /** The file's path in the bucket. */
      path: string;
      /** The content: bytes, a Blob/File, a stream, an (async) iterable of bytes, a local path or a `file:` URL. */
      content: ContentSource;
    }
  | {
      /** The file's path in the bucket. */
      path: string;
      /** The content the edits apply to. */
      originalContent: Blob;
      /** Ranges of `originalContent` replaced, in order and not overlapping. */
      edits: ContentEdit[];
    };

export interface ResolveOptions {
  /** Prefix joined before every destination path (from an `hf://buckets/ns/name/prefix` designation). */
  prefix?: string;
  /** Deepest folder level expanded from a `file:` URL (default 10, as @huggingface/hub). */
  maxFolderDepth?: number;
  /** fetch for http(s) URL contents. */
  fetch?: typeof fetch;
}

function withPrefix(prefix: string | undefined, path: string): string {
  const p = prefix ? `${prefix.replace(/\/+$/, "")}/${path}` : path;
  return checkBucketPath(p, "destination path");
}

/**
 * Resolves inputs into upload items: checks destination paths, stats local files (so a missing file fails
 * before anything is sent), expands local folders and rejects a path given twice.
 */
export async function resolveUploadItems(inputs: UploadFileInput[], opts: ResolveOptions = {}): Promise<UploadItem[]> {
  const maxDepth = opts.maxFolderDepth ?? 10;
  const out: UploadItem[] = [];
  for (const input of inputs) {
    if (input instanceof URL) {
      out.push(...(await fromContent(urlBaseName(input), input, opts, maxDepth)));
    } else if (isFile(input)) {
      out.push({
        path: withPrefix(opts.prefix, input.name),
        source: input,
        size: input.size,
        mtime: input.lastModified || undefined,
        contentType: input.type || guessContentType(input.name),
      });
    } else if (input && typeof input === "object" && "edits" in input) {
      if (!isBlob(input.originalContent)) throw new InvalidArgumentError(`edit of "${input.path}": originalContent must be a Blob`);
      const { source, size } = splicedSource(input.originalContent, input.edits);
      out.push({
        path: withPrefix(opts.prefix, input.path),
        source,
        size,
        contentType: input.originalContent.type || guessContentType(input.path),
      });
    } else if (input && typeof input === "object" && "path" in input && "content" in input) {
      out.push(...(await fromContent(input.path, input.content, opts, maxDepth)));
    } else {
      throw new InvalidArgumentError(
        `unsupported file ${Object.prototype.toString.call(input)}: pass a URL, a File, { path, content } or { path, originalContent, edits }`,
      );
    }
  }
  checkDistinctPaths(out);
  return out;
}

/** Refuses a destination path given twice in one upload. */
export function checkDistinctPaths(items: UploadItem[]): void {
  const seen = new Set<string>();
  for (const item of items) {
    if (seen.has(item.path)) throw new InvalidArgumentError(`the destination path "${item.path}" is given twice in one upload`);
    seen.add(item.path);
  }
}

async function fromContent(dest: string, content: ContentSource, opts: ResolveOptions, maxDepth: number): Promise<UploadItem[]> {
  if (typeof dest !== "string" || dest === "") throw new InvalidArgumentError("each file needs a non-empty destination path");
  if (content instanceof URL && (content.protocol === "http:" || content.protocol === "https:")) {
    return [{ path: withPrefix(opts.prefix, dest), source: remoteSource(content, opts.fetch), contentType: guessContentType(dest) }];
  }
  if (isLocalPath(content)) {
    if (!localFiles) throw new InvalidArgumentError("local paths and file: URLs can only be uploaded from Node, Bun or Deno");
    const found = await localEntries(content, maxDepth);
    if (!Array.isArray(found)) {
      return [
        {
          path: withPrefix(opts.prefix, dest),
          source: found.path,
          size: found.size,
          mtime: found.mtime,
          contentType: guessContentType(dest) ?? guessContentType(found.path),
          local: true,
        },
      ];
    }
    return found.map((e) => ({
      path: withPrefix(opts.prefix, `${dest.replace(/\/+$/, "")}/${e.relative}`),
      source: e.path,
      size: e.size,
      mtime: e.mtime,
      contentType: guessContentType(e.relative),
      local: true,
    }));
  }
  if (content instanceof URL)
    throw new InvalidArgumentError(`unsupported URL protocol ${content.protocol} for "${dest}": use file:, http: or https:`);
  const item: UploadItem = { path: withPrefix(opts.prefix, dest), source: content };
  if (isBlob(content)) {
    item.size = content.size;
    if (isFile(content) && content.lastModified) item.mtime = content.lastModified;
    item.contentType = content.type || guessContentType(dest);
  } else {
    const bytes = asBytes(content);
    if (bytes) item.size = bytes.length;
    item.contentType = guessContentType(dest);
  }
  return [item];
}

// ---------------------------------------------------------------------------------------------
// Sources read again when a xorb body is sent
// ---------------------------------------------------------------------------------------------

/**
 * A source whose bytes can be read again after they were hashed: a local file (through the platform's file
 * handles) or a `Blob` / `File` (through `slice()`). A xorb body then references the ranges of its chunks
 * stored raw instead of holding their bytes (xet/upload/xorb-assembly.ts).
 */
export interface SourceRanges {
  /** What it is, for messages (a path, or "a Blob"). */
  readonly name: string;
  /** Throws SOURCE_CHANGED when the source is no longer what was hashed (a local file: its size and mtime). */
  check(): Promise<void>;
  /** A reader for one request body; close it when the body is sent. */
  open(): Promise<RangeReader>;
  /** `[start, end)` as a lazy Blob, when the source is one (a buffered body references it without a copy). */
  blob?(start: number, end: number): Blob;
}

export interface RangeReader {
  /** Reads exactly `into.length` bytes at `position`; SOURCE_CHANGED when they are not there any more. */
  read(into: Uint8Array, position: number): Promise<void>;
  /**
   * Reads the consecutive bytes from `position` into the views in turn, filling each exactly (a body's raw
   * chunks of one file are consecutive in it: one scatter read instead of one read per chunk).
   */
  readv(into: readonly Uint8Array[], position: number): Promise<void>;
  close(): Promise<void>;
}

function changed(name: string, what: string, cause?: unknown): XetBucketsError {
  return new XetBucketsError("SOURCE_CHANGED", `${name} ${what} since it was read for the upload — retry the upload`, { cause });
}

// ---------------------------------------------------------------------------------------------
// Failures of one file's source
// ---------------------------------------------------------------------------------------------

const BLAMED = new WeakMap<object, UploadItem>();

/**
 * Marks `err` as a failure of `item`'s source (it could not be read, or changed while it was uploaded), so that a
 * multi-file upload can go on without that file (api/upload.ts). The first mark wins. Returns `err`.
 */
export function blame<T>(err: T, item: UploadItem): T {
  if (err !== null && typeof err === "object" && !BLAMED.has(err)) BLAMED.set(err, item);
  return err;
}

/** The item whose source `err` is a failure of (`blame`), if it is one. */
export function blamedItem(err: unknown): UploadItem | undefined {
  return err !== null && typeof err === "object" ? BLAMED.get(err) : undefined;
}

/**
 * True for the failures that are one source's own (`LocalFileError` but a full disk, READ_FAILED,
 * SOURCE_CHANGED, IS_A_DIRECTORY): the other files of the upload are not concerned.
 */
export function isSourceFailure(err: unknown): boolean {
  if (err instanceof LocalFileError) return err.code !== "NO_SPACE";
  return err instanceof XetBucketsError && (err.code === "READ_FAILED" || err.code === "SOURCE_CHANGED" || err.code === "IS_A_DIRECTORY");
}

/**
 * How to read `item` again, or undefined when it cannot be (streams, async iterables, remote URLs, edits) or
 * should not be: byte arrays are copied, since the caller may change them while the upload runs. Its failures
 * are blamed on `item`.
 */
export function sourceRanges(item: UploadItem): SourceRanges | undefined {
  const r = rangesOf(item);
  if (!r) return undefined;
  const on = <T>(p: Promise<T>): Promise<T> =>
    p.catch((err: unknown) => {
      throw blame(err, item);
    });
  return {
    name: r.name,
    check: () => on(r.check()),
    async open() {
      const reader = await on(r.open());
      return {
        read: (into, position) => on(reader.read(into, position)),
        readv: (into, position) => on(reader.readv(into, position)),
        close: () => reader.close(),
      };
    },
    ...(r.blob ? { blob: r.blob.bind(r) } : {}),
  };
}

function rangesOf(item: UploadItem): SourceRanges | undefined {
  const src = item.source;
  if (item.local && (typeof src === "string" || src instanceof URL)) {
    const files = localFiles;
    if (!files || item.size === undefined || item.mtime === undefined) return undefined;
    const path = files.toPath(src);
    const size = item.size;
    const mtime = item.mtime;
    const check = async () => {
      let st;
      try {
        st = await files.stat(path);
      } catch {
        throw changed(path, "is gone");
      }
      if (st.size !== size || st.mtimeMs !== mtime) throw changed(path, "was modified");
    };
    return {
      name: path,
      check,
      async open() {
        await check();
        const fh = await files.open(path);
        const read = async (into: Uint8Array, position: number) => {
          let got = 0;
          while (got < into.length) {
            const n = await fh.read(into.subarray(got), position + got);
            if (n === 0) throw changed(path, "is shorter");
            got += n;
          }
        };
        return {
          read,
          async readv(into, position) {
            const got = await fh.readv(into, position);
            // Short only at the end of the file (or a signal): the rest view by view, which says which.
            for (let i = 0, at = 0; i < into.length; at += into[i]!.length, i++)
              if (at + into[i]!.length > got) await read(into[i]!.subarray(Math.max(0, got - at)), position + Math.max(got, at));
          },
          close: () => fh.close(),
        };
      },
    };
  }
  if (isBlob(src)) {
    const name = isFile(src) ? src.name || "a File" : "a Blob";
    return {
      name,
      // In-memory Blobs never change; a browser's File read after its file changed fails (NotReadableError).
      check: async () => undefined,
      async open() {
        const read = async (into: Uint8Array, position: number) => {
          let bytes: ArrayBuffer;
          try {
            bytes = await src.slice(position, position + into.length).arrayBuffer();
          } catch (err) {
            throw changed(name, "cannot be read any more", err);
          }
          if (bytes.byteLength !== into.length) throw changed(name, "is shorter");
          into.set(new Uint8Array(bytes));
        };
        return {
          read,
          async readv(into, position) {
            const all = new Uint8Array(into.reduce((n, v) => n + v.length, 0));
            await read(all, position);
            for (let i = 0, at = 0; i < into.length; at += into[i]!.length, i++) into[i]!.set(all.subarray(at, at + into[i]!.length));
          },
          close: async () => undefined,
        };
      },
      blob: (start, end) => src.slice(start, end),
    };
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Reading with read-ahead
// ---------------------------------------------------------------------------------------------

/**
 * Yields the item's bytes in blocks of at most `blockBytes`, starting the read of the next block before
 * yielding the current one. A yielded block is valid until the consumer asks for the next one.
 */
export async function* readBlocks(item: UploadItem, blockBytes: number, signal?: AbortSignal): AsyncGenerator<Uint8Array> {
  if (item.local && (typeof item.source === "string" || item.source instanceof URL)) {
    yield* readLocalDoubleBuffered(item.source, blockBytes, signal);
    return;
  }
  // Other sources give a fresh buffer per block, so asking for the next one early is safe. Blocks read
  // from a Blob are ours: freed as soon as the consumer moves on (the core copied them).
  const owned = isBlob(item.source);
  const it = readSource(item.source, { blockBytes, abortSignal: signal })[Symbol.asyncIterator]();
  let next = it.next();
  try {
    for (;;) {
      const r = await next;
      if (r.done) return;
      next = it.next();
      yield r.value;
      if (owned) releaseBuffer(r.value);
    }
  } finally {
    // Settle the outstanding read before closing the source (its error, if any, is not ours to report).
    await next.catch(() => undefined);
    await it.return?.(undefined);
  }
}

async function* readLocalDoubleBuffered(p: string | URL, blockBytes: number, signal?: AbortSignal): AsyncGenerator<Uint8Array> {
  const fh = await localFilesFor("local paths and file: URLs").open(p);
  let pending: Promise<number> | undefined;
  let bufs: (Uint8Array | undefined)[] = [];
  try {
    const size = await fh.size();
    const len = Math.max(1, Math.min(blockBytes, size || 1));
    bufs = [new Uint8Array(len), size > len ? new Uint8Array(len) : undefined];
    let i = 0;
    const read = (b: Uint8Array) => fh.read(b, null);
    pending = read(bufs[0]!);
    for (;;) {
      signal?.throwIfAborted();
      const bytesRead = await (pending as Promise<number>);
      pending = undefined;
      if (bytesRead === 0) return;
      const cur = bufs[i]!;
      const other = bufs[i ^ 1];
      if (other) {
        i ^= 1;
        pending = read(other);
      }
      yield cur.subarray(0, bytesRead);
      if (!other) pending = read(cur);
    }
  } finally {
    if (pending) await pending.catch(() => undefined);
    await fh.close();
    for (const b of bufs) releaseBuffer(b);
  }
}

// ---------------------------------------------------------------------------------------------
// Content types
// ---------------------------------------------------------------------------------------------

const MIME: Record<string, string> = {
  txt: "text/plain",
  md: "text/markdown",
  csv: "text/csv",
  tsv: "text/tab-separated-values",
  html: "text/html",
  htm: "text/html",
  css: "text/css",
  xml: "text/xml",
  js: "text/javascript",
  mjs: "text/javascript",
  py: "text/x-python",
  json: "application/json",
  jsonl: "application/jsonl",
  ndjson: "application/x-ndjson",
  yaml: "application/yaml",
  yml: "application/yaml",
  toml: "application/toml",
  pdf: "application/pdf",
  zip: "application/zip",
  gz: "application/gzip",
  tgz: "application/gzip",
  tar: "application/x-tar",
  zst: "application/zstd",
  bin: "application/octet-stream",
  wasm: "application/wasm",
  parquet: "application/vnd.apache.parquet",
  arrow: "application/vnd.apache.arrow.file",
  png: "image/png",
  jpg: "image/jpeg",
  jpeg: "image/jpeg",
  gif: "image/gif",
  webp: "image/webp",
  svg: "image/svg+xml",
  bmp: "image/bmp",
  tif: "image/tiff",
  tiff: "image/tiff",
  mp3: "audio/mpeg",
  wav: "audio/wav",
  flac: "audio/flac",
  ogg: "audio/ogg",
  mp4: "video/mp4",
  webm: "video/webm",
  mov: "video/quicktime",
};

/** MIME type from a path's extension (a small table of common types); undefined when unknown. */
export function guessContentType(path: string): string | undefined {
  const base = path.slice(path.lastIndexOf("/") + 1);
  const dot = base.lastIndexOf(".");
  if (dot <= 0) return undefined;
  return MIME[base.slice(dot + 1).toLowerCase()];
}
