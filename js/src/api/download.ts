/**
 * Downloads: `downloadFile` (@huggingface/hub: a lazy Blob backed by the CAS), `downloadBucketFiles`
 * (huggingface_hub: many files to local paths, Node) and `downloadFileToPath` (one file, Node).
 *
 * Data comes from the Xet CAS (js/src/xet/download.ts): ranged fetches in parallel under a memory
 * budget, every chunk decoded and hashed by the core, whole files verified against their xetHash.
 *
 * Memory of a Blob read ≈ maxBufferedBytes + F per file being read + one write block. F, a fetch, is at most
 * one xorb's decoded chunks (64 MiB) plus an 8 MiB decoding window: fetched data is decoded as it arrives,
 * never held serialized. The fetch a reader is consuming is outside the budget; `maxBufferedBytes`
 * (default 128 MiB) bounds what is fetched ahead, `maxRangeFetches` (default 8) the requests in flight,
 * `maxFileDownloads` (default 4) the files read at once. Measured: a 200 MiB file with a 32 MiB budget
 * peaks at about 90 MiB of live buffers. Files made of small xorbs need a few MiB.
 *
 * Downloads to local files hold no decoded chunks at all: the file is written at positions
 * (`LocalFiles.writeAtomicAt`), in Node by the chunking workers as they decode (`XetReader.readToFile`), so
 * each fetch holds only its record windows (a 128 MiB file: about 45 MiB of live buffers; 1 GiB: about
 * 190 MiB of RSS, Node and the core included).
 */
import {
  fileFailure,
  InvalidArgumentError,
  IntegrityError,
  isSharedFailure,
  LocalFileError,
  ProtocolError,
  TransferError,
  transferMessage,
  type FileFailure,
} from "../errors.js";
import { hubContext, type HubContext } from "../hub/context.js";
import { entryNotFound, postPathsInfo, type BucketTreeEntry } from "../hub/files.js";
import { XetTokenProvider, type XetToken } from "../hub/xet-token.js";
import { checkBucketPath, joinBucketPath, parseBucket, type BucketRef, type RepoDesignation } from "../repo.js";
import type { PositionalFile } from "../platform/types.js";
import { localFilesFor } from "../sources.js";
import { CasClient } from "../xet/cas.js";
import { Rereads, XetReader, type DownloadTuning, type XetFileRef } from "../xet/download.js";
import type { CommonOptions } from "./buckets.js";
import { fileDownloadInfo, parseTime, type FileDownloadInfoOutput } from "./files.js";

export type { DownloadTuning } from "../xet/download.js";

/** @huggingface/hub's `XetReadToken`. */
export type XetReadToken = XetToken;

/** @huggingface/hub's `ParallelDownloadOptions` (mapped onto maxRangeFetches / maxBufferedBytes). */
export interface ParallelDownloadOptions {
  /** Range requests in flight at once (`maxRangeFetches`, unless that is given). */
  maxConcurrency?: number;
  /** Bytes fetched ahead of the reader (`maxBufferedBytes`, unless that is given). */
  maxInFlightBytes?: number;
}

function tuningOf(params: DownloadTuning & { parallelDownloads?: boolean | ParallelDownloadOptions }): DownloadTuning {
  const t: DownloadTuning = {
    maxRangeFetches: params.maxRangeFetches,
    maxBufferedBytes: params.maxBufferedBytes,
    reconstructionWindowBytes: params.reconstructionWindowBytes,
    multiRange: params.multiRange,
  };
  const p = params.parallelDownloads;
  if (p === false) t.maxRangeFetches = 1;
  else if (typeof p === "object") {
    t.maxRangeFetches ??= p.maxConcurrency;
    t.maxBufferedBytes ??= p.maxInFlightBytes;
  }
  return t;
}

function readerFor(ctx: HubContext, bucket: BucketRef, tuning: DownloadTuning, refreshUrl?: string, token?: XetToken): XetReader {
  const tokens = new XetTokenProvider(ctx, bucket, "read", refreshUrl ? { url: refreshUrl } : {});
  if (token) tokens.seed(token);
  return new XetReader(new CasClient(tokens, ctx.http), tuning);
}

// ---------------------------------------------------------------------------------------------
// Lazy blobs
// ---------------------------------------------------------------------------------------------

/**
 * A lazy Blob over bytes `[start, end)` of a file: nothing is read until a method reads it. What differs
 * between the two kinds (how bytes are fetched, what a slice is) is theirs; the Blob surface is here.
 */
abstract class RangeBlob extends Blob {
  /** Where the range starts in the file (bytes). */
  protected readonly start: number;
  /** Where it ends (exclusive). */
  protected readonly end: number;
  readonly #type: string;

  constructor(start: number, end: number, type = "") {
    super([]);
    this.start = start;
    this.end = end;
    this.#type = type;
  }

  override get size(): number {
    return this.end - this.start;
  }
  override get type(): string {
    return this.#type;
  }

  /** The blob over `[from, to)` of the file (absolute offsets), typed `type`. */
  protected abstract range(from: number, to: number, type: string): RangeBlob;

  /** `Blob.slice`: relative offsets, negative ones counted from the end, clamped to the blob. */
  override slice(start?: number, end?: number, contentType?: string): RangeBlob {
    const rel = (x: number | undefined, dflt: number) => {
      if (x === undefined || Number.isNaN(x)) return dflt;
      const i = Math.trunc(x);
      return i < 0 ? Math.max(this.size + i, 0) : Math.min(i, this.size);
    };
    const s = rel(start, 0);
    const e = Math.max(s, rel(end, this.size));
    return this.range(this.start + s, this.start + e, contentType ?? "");
  }

  override async arrayBuffer(): Promise<ArrayBuffer> {
    return (await this.bytes()).buffer;
  }

  override async text(): Promise<string> {
    return new TextDecoder().decode(await this.bytes());
  }
}

/**
 * A bucket file as a lazy `Blob`: nothing is downloaded until it is read. `slice()` returns another lazy
 * blob over a byte range (one reconstruction query with `Range` when read); `stream()`,
 * `arrayBuffer()`, `bytes()` and `text()` fetch and decode the bytes. Reads of the whole file are
 * verified against the file's xetHash: `bytes()`/`arrayBuffer()`/`text()` read the file again when it does not
 * match (damaged in transit; up to `FILE_READ_ATTEMPTS` reads, two when the data comes wrong the same way
 * twice), then reject with `IntegrityError` (HASH_MISMATCH); `stream()` cannot take back what it gave and errors
 * after its last block. Partial reads are not verifiable (a range whose bytes do not decode is fetched again all
 * the same).
 *
 * Pass it to code that reads Blobs through their methods; native consumers that read a Blob's internal
 * bytes directly (`new Response(blob)`, `FormData`, `fetch(…, { body: blob })`) would see an empty blob.
 */
export class BucketFileBlob extends RangeBlob {
  readonly #reader: XetReader;
  readonly #file: XetFileRef;
  readonly #signal: AbortSignal | undefined;

  /** Made by `downloadFile` and by `slice()`. @internal */
  constructor(init: { reader: XetReader; file: XetFileRef; start?: number; end?: number; type?: string; signal?: AbortSignal }) {
    super(init.start ?? 0, init.end ?? init.file.size, init.type);
    this.#reader = init.reader;
    this.#file = init.file;
    this.#signal = init.signal;
  }

  /** The xetHash of the whole file. */
  get xetHash(): string {
    return this.#file.hash;
  }
  /** The path of the file in its bucket, when known. */
  get path(): string | undefined {
    return this.#file.path;
  }

  override slice(start?: number, end?: number, contentType?: string): BucketFileBlob {
    return super.slice(start, end, contentType) as BucketFileBlob;
  }

  protected override range(start: number, end: number, type: string): BucketFileBlob {
    return new BucketFileBlob({ reader: this.#reader, file: this.#file, start, end, type, signal: this.#signal });
  }

  /** The blocks of this blob, in order (see the class comment for verification). */
  blocks(signal?: AbortSignal): AsyncGenerator<Uint8Array> {
    const s = signal && this.#signal ? AbortSignal.any([signal, this.#signal]) : (signal ?? this.#signal);
    return this.#reader.read(this.#file, { start: this.start, end: this.end, signal: s });
  }

  override stream(): ReadableStream<Uint8Array<ArrayBuffer>> {
    const it = this.blocks();
    return new ReadableStream<Uint8Array<ArrayBuffer>>({
      async pull(controller) {
        try {
          const r = await it.next();
          if (r.done) controller.close();
          else controller.enqueue(r.value as Uint8Array<ArrayBuffer>);
        } catch (err) {
          controller.error(err);
        }
      },
      async cancel() {
        await it.return(undefined);
      },
    });
  }

  override async bytes(): Promise<Uint8Array<ArrayBuffer>> {
    const whole = this.start === 0 && this.end === this.#file.size;
    const rereads = new Rereads();
    for (;;) {
      try {
        return await this.#bytesOnce();
      } catch (err) {
        // A whole read is verified: one that failed for a reason a new read may cure is made again.
        if (!whole || this.#signal?.aborted || !rereads.again(err)) throw err;
      }
    }
  }

  async #bytesOnce(): Promise<Uint8Array<ArrayBuffer>> {
    const out = new Uint8Array(this.size);
    let off = 0;
    for await (const block of this.blocks()) {
      if (off + block.length > out.length) throw new ProtocolError(`the download produced more than the ${out.length} bytes expected`);
      out.set(block, off);
      off += block.length;
    }
    if (off !== out.length) throw new ProtocolError(`the download produced ${off} bytes, ${out.length} expected`);
    return out;
  }
}

/** A file served over plain HTTP ranged GETs on its resolve URL (`downloadFile({ xet: false })`). Not verified. */
export class ResolveUrlBlob extends RangeBlob {
  readonly #ctx: HubContext;
  readonly #url: string;

  /** Made by `downloadFile` for files that are not stored with Xet, and by `slice()`. @internal */
  constructor(init: { ctx: HubContext; url: string; start: number; end: number; type?: string }) {
    super(init.start, init.end, init.type);
    this.#ctx = init.ctx;
    this.#url = init.url;
  }

  override slice(start?: number, end?: number, contentType?: string): ResolveUrlBlob {
    return super.slice(start, end, contentType) as ResolveUrlBlob;
  }

  protected override range(start: number, end: number, type: string): ResolveUrlBlob {
    return new ResolveUrlBlob({ ctx: this.#ctx, url: this.#url, start, end, type });
  }

  override async bytes(): Promise<Uint8Array<ArrayBuffer>> {
    if (this.size === 0) return new Uint8Array(0);
    return this.#ctx.requestRead(this.#url, { headers: { Range: `bytes=${this.start}-${this.end - 1}` } }, async (res) => {
      const all = new Uint8Array(await res.arrayBuffer());
      // A 200 is the whole file: cut our range out of it.
      const out = res.status === 206 ? all : all.subarray(this.start, this.end);
      // A short body is a broken connection: retried by requestRead (a NetworkError once retries are spent).
      if (out.length !== this.size) throw new Error(`short body: ${out.length} of ${this.size} bytes`);
      return out.slice();
    });
  }

  /** Streams the range in 8 MiB ranged requests (each retried on its own), so memory stays bounded. */
  override stream(): ReadableStream<Uint8Array<ArrayBuffer>> {
    let off = 0;
    return new ReadableStream<Uint8Array<ArrayBuffer>>({
      pull: async (controller) => {
        if (off >= this.size) return controller.close();
        const n = Math.min(8 * 1024 * 1024, this.size - off);
        try {
          controller.enqueue(await this.slice(off, off + n).bytes());
          off += n;
        } catch (err) {
          controller.error(err);
        }
      },
    });
  }
}

/**
 * Downloads a bucket file as a lazy Blob (@huggingface/hub's `downloadFile`): returns null when the file
 * does not exist (404 + EntryNotFound). Nothing is transferred until the blob is read, and a read fetches only
 * what it covers: `blob.slice(a, b).arrayBuffer()` fetches the chunks holding bytes `[a, b)`, so readers that
 * take ranged reads (a Parquet reader, an archive index) read files in place. Whole reads are verified against
 * the file's Xet hash (`IntegrityError` on a mismatch).
 *
 * Options: `downloadInfo` (skip the metadata request), `xet: { readToken }` (skip the token request),
 * `xet: false` (plain HTTP ranges from the resolve URL, unverified), `parallelDownloads` (false = one
 * fetch at a time; an object maps to maxRangeFetches / maxBufferedBytes), and the DownloadTuning knobs.
 */
export async function downloadFile(
  params: {
    repo: RepoDesignation;
    path: string;
    /** Unused for buckets. */ revision?: string;
    /** Unused for buckets. */ raw?: boolean;
    xet?: boolean | { readToken: XetReadToken };
    downloadInfo?: FileDownloadInfoOutput;
    parallelDownloads?: boolean | ParallelDownloadOptions;
  } & DownloadTuning &
    CommonOptions,
): Promise<BucketFileBlob | ResolveUrlBlob | null> {
  const bucket = parseBucket(params.repo);
  const ctx = hubContext(params);
  const path = checkBucketPath(joinBucketPath(bucket.path, params.path));
  const info = params.downloadInfo ?? (await fileDownloadInfo({ ...params, repo: params.repo, path: params.path }));
  if (!info) return null;
  if (!info.xet || params.xet === false) {
    return new ResolveUrlBlob({ ctx, url: info.url, start: 0, end: info.size });
  }
  const reader = readerFor(
    ctx,
    bucket,
    tuningOf(params),
    info.xet.refreshUrl.href,
    typeof params.xet === "object" ? params.xet.readToken : undefined,
  );
  return new BucketFileBlob({ reader, file: { hash: info.xet.hash, size: info.size, path }, signal: params.abortSignal });
}

// ---------------------------------------------------------------------------------------------
// To local files (Node)
// ---------------------------------------------------------------------------------------------

/** A remote file given by its metadata (a listFiles / pathsInfo entry): no lookup needed. */
/** A bucket file to download, as `listFiles` and `pathsInfo` give them. */
export interface RemoteFileEntry {
  /** Full path from the bucket root. */
  path: string;
  /** The file's Xet hash (required unless the size is 0: `InvalidArgumentError`). */
  xetHash?: string;
  /** The file's size in bytes. */
  size: number;
  /** ISO-8601; set as the local file's mtime. */
  mtime?: string;
  /** `file` (a `directory` entry cannot be downloaded: `InvalidArgumentError`). */
  type?: string;
}

/** Progress of one file of `downloadBucketFiles`. */
export interface DownloadProgress {
  /** The bucket path. */
  path: string;
  /** Where it is written. */
  localPath: string;
  /** Bytes written so far for this file. */
  bytes: number;
  /** The file's size in bytes. */
  totalBytes: number;
  /** True once the file is verified and renamed into place. */
  done: boolean;
}

export interface DownloadBucketFilesOptions extends DownloadTuning, CommonOptions {
  /** Throw `EntryNotFoundError` (before downloading anything) when a path does not exist; default: warn and skip. */
  raiseOnMissingFiles?: boolean;
  /**
   * Files downloaded at once. Default: 4, or up to 16 while they are small (≤ 4 MiB). They share
   * maxRangeFetches and maxBufferedBytes.
   */
  maxFileDownloads?: number;
  /** Set each local file's mtime to the remote mtime when the bucket has one (default true). */
  preserveMtime?: boolean;
  /**
   * fsync each file before it is renamed over its target (default false, like huggingface_hub, hf_xet and
   * @huggingface/hub): the rename is atomic either way; fsync makes the files survive a power loss or OS crash.
   */
  fsync?: boolean;
  /** Called as each file's bytes are written, and when it is done. */
  onProgress?: (p: DownloadProgress) => void;
  /** Where warnings go (missing files); default console.warn. */
  onWarning?: (message: string) => void;
}

/** What `downloadBucketFiles` wrote. */
export interface DownloadBucketFilesResult {
  /** The files written, in the order given. */
  downloaded: {
    /** The bucket path. */
    path: string;
    /** The local file written. */
    localPath: string;
    /** Its size in bytes. */
    size: number;
  }[];
  /** Remote paths that did not exist (skipped). */
  missing: string[];
  /** Files that failed, with their errors (non-empty only in the `result` of a `TransferError`). */
  failed: FileFailure[];
}

/**
 * Downloads bucket files to local paths (huggingface_hub's `download_bucket_files`; Node only). Each item
 * is `[remotePath | entry, localPath]`; string paths are looked up with paths-info (≤ 1000 per request),
 * entries from listFiles/pathsInfo are used as they are. Each file is written to a temporary file in its
 * destination directory, verified against its xetHash, fsynced (with `fsync: true`), renamed over the target
 * and given the remote mtime. Size-0 files need no CAS request.
 *
 * Failures: a file whose bytes do not verify, or whose read failed for a reason a new read may cure, is
 * downloaded again, each time with a fresh reconstruction (up to `FILE_READ_ATTEMPTS` reads; two when the data
 * comes wrong in the same way twice: damaged where it is stored). A file that still fails, for a reason of its
 * own (corrupt where it is stored, gone from the CAS, a target that cannot be written), fails alone: the others
 * complete, then the call rejects with a `TransferError` (FILES_FAILED) whose `failures` list the failed files
 * and whose `result` holds the rest (when the only file failed, its own error is thrown instead). A failure that
 * is not the file's — the network still down after the retries, a refused token, a full disk (`LocalFileError`
 * NO_SPACE, naming the file) — stops the other downloads (their temporary files removed) and is thrown as it is.
 * Either way nothing partial is left, and files completed before stay.
 */
export async function downloadBucketFiles(
  bucket: RepoDesignation,
  files: Array<[string | RemoteFileEntry, string | URL]>,
  options: DownloadBucketFilesOptions = {},
): Promise<DownloadBucketFilesResult> {
  const result = await downloadFilesIsolated(bucket, files, options);
  if (result.failed.length === 0) return result;
  if (result.failed.length === 1 && result.downloaded.length === 0) throw result.failed[0]!.cause;
  throw new TransferError(transferMessage("download", result.failed, result.downloaded.length), result.failed, result);
}

/**
 * `downloadBucketFiles`, with the files that failed on their own in the result's `failed` instead of a
 * `TransferError` (syncs go on with their deletes, watch mode with its next round). Shared failures and aborts
 * are thrown.
 */
export async function downloadFilesIsolated(
  bucket: RepoDesignation,
  files: Array<[string | RemoteFileEntry, string | URL]>,
  options: DownloadBucketFilesOptions = {},
): Promise<DownloadBucketFilesResult> {
  const ref = parseBucket(bucket, { allowBareId: true });
  const ctx = hubContext(options);
  if (!Array.isArray(files) || !files.every((f) => Array.isArray(f) && f.length === 2))
    throw new InvalidArgumentError("downloadBucketFiles needs an array of [remotePath, localPath] pairs");
  const local = localFilesFor("downloadBucketFiles");

  // Resolve string paths with paths-info.
  const wanted = new Set<string>();
  for (const [remote] of files) {
    if (typeof remote === "string") wanted.add(checkBucketPath(joinBucketPath(ref.path, remote)));
    else if (!remote || typeof remote.path !== "string" || typeof remote.size !== "number") {
      throw new InvalidArgumentError("a remote entry needs at least { path, size, xetHash }");
    }
  }
  const known = new Map<string, BucketTreeEntry>();
  if (wanted.size) {
    for (const e of await postPathsInfo(ctx, ref, [...wanted], { signal: options.abortSignal })) {
      if (e.type === "file" && e.xetHash) known.set(e.path, e);
    }
  }
  const missing = [...wanted].filter((p) => !known.has(p));
  if (missing.length && options.raiseOnMissingFiles) {
    throw entryNotFound(
      ref,
      missing[0]!,
      ctx.hubUrl,
      `${missing.length} file(s) not found in bucket ${ref.id}: ${missing.slice(0, 10).join(", ")}${missing.length > 10 ? ", …" : ""}`,
    );
  }
  const warn = options.onWarning ?? ((m: string) => console.warn(`xet-buckets: ${m}`));
  for (const p of missing) warn(`"${p}" not found in bucket ${ref.id}; skipped`);

  const jobs: { entry: RemoteFileEntry; localPath: string }[] = [];
  const targets = new Set<string>();
  for (const [remote, localTarget] of files) {
    const entry = typeof remote === "string" ? known.get(joinBucketPath(ref.path, remote)) : remote;
    if (!entry) continue;
    if (entry.type !== undefined && entry.type !== "file") {
      throw new InvalidArgumentError(`"${entry.path}" is a ${entry.type}, not a file: list it with recursive: true and download its files`);
    }
    if (!entry.xetHash && entry.size > 0) throw new InvalidArgumentError(`remote entry "${entry.path}" has no xetHash`);
    if (typeof localTarget !== "string" && !(localTarget instanceof URL)) {
      throw new InvalidArgumentError(`the local path of "${entry.path}" must be a path or a file: URL, got ${typeof localTarget}`);
    }
    const localPath = local.resolve(local.toPath(localTarget));
    if (targets.has(localPath)) throw new InvalidArgumentError(`two files would be written to ${localPath}`);
    targets.add(localPath);
    jobs.push({ entry, localPath });
  }

  const reader = readerFor(ctx, ref, tuningOf(options));
  const ctl = new AbortController();
  const signal = options.abortSignal ? AbortSignal.any([options.abortSignal, ctl.signal]) : ctl.signal;
  const result: DownloadBucketFilesResult = { downloaded: [], missing, failed: [] };
  let firstError: unknown;
  const runOne = async ({ entry, localPath }: (typeof jobs)[number]) => {
    const rereads = new Rereads();
    for (let attempt = 1; ; attempt++) {
      let bytes = 0;
      const progress = (done: boolean) => options.onProgress?.({ path: entry.path, localPath, bytes, totalBytes: entry.size, done });
      const onBytes = (n: number) => {
        bytes += n;
        progress(false);
      };
      // The reader writes the file at positions (on Node, the chunking workers write the chunks they decode:
      // the bytes never pass through this thread), verifies it, and only then is it committed.
      const fill = async (file: PositionalFile): Promise<number> => {
        if (entry.size === 0) return 0;
        const n = await reader.readToFile({ hash: entry.xetHash!, size: entry.size, path: entry.path }, file, { signal, onBytes });
        if (n !== entry.size)
          throw new IntegrityError("LENGTH_MISMATCH", `"${entry.path}": the download produced ${n} bytes, the bucket lists ${entry.size}.`);
        return n;
      };
      try {
        const written = await local.writeAtomicAt(localPath, fill, {
          signal,
          fsync: options.fsync,
          mtime: options.preserveMtime === false ? undefined : parseTime(entry.mtime),
        });
        progress(true);
        result.downloaded.push({ path: entry.path, localPath, size: written });
        return;
      } catch (err) {
        // Aborted: by the caller, or because another file's failure stops the call.
        if (signal.aborted) return;
        if (entry.size > 0 && rereads.again(err)) {
          options.onRetry?.({
            url: `hf://buckets/${ref.id}/${entry.path}`,
            method: "GET",
            attempt,
            delayMs: 0,
            reason: `${(err as Error).message} (downloading the file again)`,
          });
          continue;
        }
        if (err instanceof IntegrityError) {
          if (attempt > 1) err.message += ` (downloaded ${attempt} times, each from a fresh reconstruction)`;
          err.message += ` Nothing was written to ${localPath} (an existing file there is unchanged).`;
        }
        if (err instanceof LocalFileError && err.code === "NO_SPACE")
          err.message += ` (downloading "${entry.path}"; nothing partial was left, the files downloaded before are intact)`;
        if (isSharedFailure(err)) {
          if (firstError === undefined) {
            firstError = err;
            ctl.abort(err);
          }
        } else result.failed.push(fileFailure(entry.path, err, localPath));
        return;
      }
    }
  };
  // Files at once: `maxFileDownloads` when given; by default 4, or up to 16 while they are small (a small
  // file is mostly round trips and file-system calls, and holds at most about twice its size).
  const explicit = options.maxFileDownloads !== undefined;
  const units = explicit ? Math.max(1, Math.floor(options.maxFileDownloads!)) : 4 * SMALL_FILES_PER_SLOT;
  const weight = (size: number) => (explicit ? 1 : size <= SMALL_FILE_BYTES ? 1 : SMALL_FILES_PER_SLOT);
  let free = units;
  const running = new Set<Promise<void>>();
  for (const job of jobs) {
    const w = weight(job.entry.size);
    while (free < w && firstError === undefined) await Promise.race(running);
    if (firstError !== undefined) break;
    free -= w;
    const p: Promise<void> = runOne(job).finally(() => {
      free += w;
      running.delete(p);
    });
    running.add(p);
  }
  await Promise.all(running);
  if (options.abortSignal?.aborted) throw options.abortSignal.reason;
  if (firstError !== undefined) throw firstError;
  return result;
}

/** Files of at most this size count as a quarter of a download slot (default scheduling). */
const SMALL_FILE_BYTES = 4 * 1024 * 1024;
const SMALL_FILES_PER_SLOT = 4;

/**
 * Downloads one bucket file to a local path (Node), like downloadBucketFiles with one file and
 * `raiseOnMissingFiles`. Returns the number of bytes written.
 */
export async function downloadFileToPath(
  params: { repo: RepoDesignation; path: string; localPath: string | URL } & Omit<DownloadBucketFilesOptions, "raiseOnMissingFiles">,
): Promise<number> {
  const r = await downloadBucketFiles(params.repo, [[params.path, params.localPath]], { ...params, raiseOnMissingFiles: true });
  return r.downloaded[0]?.size ?? 0;
}
