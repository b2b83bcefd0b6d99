/**
 * The deduplicating Xet upload pipeline (xet-protocol.md §8): every file of a call goes through ONE core
 * `UploadSession` (local dedup across all files), global dedup queries are sent for the chunks the core
 * asks about and answered with the CAS's shards, new xorbs are uploaded concurrently (bounded), then the
 * upload shards (v2, falling back to v1). Registering the paths in the bucket is the caller's last step
 * (api/upload.ts), and happens only when everything here succeeded.
 *
 * Data flow per file: read block (the next read already in flight) → `push` into the core → dispatch the
 * core's dedup queries → take finished xorbs and upload them → repeat; at the end of the file wait for its
 * queries, `resolve`, `finishFile`. Nothing is read twice and no stage holds more than its bound below.
 *
 * Memory (upper bound, all terms in bytes; see `uploadMemoryBound`):
 *
 *   peak ≈ (maxXorbUploads + 1.5) × maxXorbBytes   xorbs on the wire (JS) + in the core (WASM): the xorb being
 *                                                  filled, and the last one's buffer kept for reuse while
 *                                                  the next grows (the core recycles xorb buffers)
 *        + maxPendingBytes                         bytes held in the core while dedup queries are unanswered
 *        + 3 × readBlockBytes                      two read buffers (current + read-ahead) + the copy in WASM
 *        + shard metadata                          ≈ 96 bytes per new chunk (≈ 1.5 MiB per GiB), ≤ maxShardBytes per shard
 *        + runtime baseline                        Node + this package + the WebAssembly module, ≈ 50 MiB
 *
 * With the defaults (64 MiB xorbs, 1 upload in flight, 16 MiB pending, 1 MiB blocks) that is
 * 160 + 16 + 3 + 50 ≈ 229 MiB whatever the file size (measured: ≈ 224 MiB peak RSS for a 2 GiB file, see
 * BENCHMARKS.md). Each further upload in flight adds one xorb (64 MiB): raise `maxXorbUploads` on
 * high-latency links where one connection cannot fill the bandwidth, or lower `maxXorbBytes` to keep the
 * same memory with more connections (e.g. 3 uploads of 32 MiB xorbs ≈ 144 MiB of xorbs).
 *
 * Xorb bodies are sent as streams of views (Node) so that fetch does not copy them, and each xorb's buffer
 * is freed as soon as the CAS acknowledged it (not when the garbage collector gets to it).
 *
 * Abort and failure: one internal AbortController stops every stage (reads, queries, xorb and shard
 * uploads, retry waits) on the caller's abort or on the first failure; the pipeline then rejects with
 * the caller's abort reason or that first failure.
 */
import {
  initCore,
  UploadSession,
  MAX_SHARD_BYTES,
  MAX_XORB_BYTES,
  MAX_XORB_CHUNKS,
  type CompressionPolicy,
  type XorbResult,
} from "../core/index.js";
import { ProtocolError, XetBucketsError } from "../errors.js";
import { retryConfig, sleep, type HttpOptions, type RequestBody, type RetryOptions } from "../http.js";
import { CasClient } from "./cas.js";
import type { UploadResume } from "./resume.js";
import { readBlocks, releaseBuffer, type UploadItem } from "./upload-sources.js";

// ---------------------------------------------------------------------------------------------
// Options
// ---------------------------------------------------------------------------------------------

/**
 * Upload tuning. Every knob states its default and its term in the memory bound (see the module doc):
 * `peak ≈ (maxXorbUploads + 1.5) × maxXorbBytes + maxPendingBytes + 3 × readBlockBytes + shard metadata + ≈50 MiB`.
 */
export interface UploadTuning {
  /**
   * Largest xorb, raw and serialized (default and maximum 64 MiB). Term: `(maxXorbUploads + 1.5) ×
   * maxXorbBytes`. Smaller xorbs lower memory (edge runtimes, small browser tabs) at the cost of more requests.
   */
  maxXorbBytes?: number;
  /** Most chunks per xorb (default and maximum 8192). */
  maxXorbChunks?: number;
  /** Largest upload shard (default and maximum 64 MiB); larger registrations are split. */
  maxShardBytes?: number;
  /**
   * Xorb uploads in flight at once (default 1: each upload overlaps with reading and chunking the next
   * xorb). Term: `maxXorbUploads × maxXorbBytes`: each further upload costs one more xorb of memory.
   */
  maxXorbUploads?: number;
  /** Global dedup queries in flight at once (default 8). Negligible memory. */
  maxDedupQueries?: number;
  /**
   * Bytes the core may hold while dedup answers are awaited (default 16 MiB). When exceeded, reading pauses
   * until answers arrive. Term: `maxPendingBytes`.
   */
  maxPendingBytes?: number;
  /**
   * Read block (default 1 MiB; at most `maxXorbBytes`). Term: `3 × readBlockBytes` (two JS buffers for
   * read-ahead, one copy in WASM).
   */
  readBlockBytes?: number;
  /** Compression of new chunks (default "best": the smaller of LZ4 and BG4-LZ4, raw when neither helps). */
  compression?: CompressionPolicy;
  /** Ask the CAS about eligible chunks (default true). False keeps dedup within this call only. */
  globalDedup?: boolean;
  /**
   * Send xorb bodies as streams so `sent` progresses below the xorb (default: true in Node with the global
   * fetch; false otherwise, as Firefox and Safari cannot stream request bodies). Retries still work.
   */
  streamUploads?: boolean;
}

export const UPLOAD_DEFAULTS = {
  maxXorbBytes: MAX_XORB_BYTES,
  maxXorbChunks: MAX_XORB_CHUNKS,
  maxShardBytes: MAX_SHARD_BYTES,
  maxXorbUploads: 1,
  maxDedupQueries: 8,
  maxPendingBytes: 16 * 1024 * 1024,
  readBlockBytes: 1024 * 1024,
  compression: "best" as CompressionPolicy,
  globalDedup: true,
} as const;

/** Runtime baseline used in `uploadMemoryBound` (Node with the WebAssembly module loaded). */
export const RUNTIME_BASELINE_BYTES = 50 * 1024 * 1024;

/** The memory bound of the module doc for the given options, in bytes, excluding shard metadata. */
export function uploadMemoryBound(t: UploadTuning = {}): number {
  const x = t.maxXorbBytes ?? UPLOAD_DEFAULTS.maxXorbBytes;
  const n = t.maxXorbUploads ?? UPLOAD_DEFAULTS.maxXorbUploads;
  const block = Math.min(t.readBlockBytes ?? UPLOAD_DEFAULTS.readBlockBytes, x);
  return (n + 1.5) * x + (t.maxPendingBytes ?? UPLOAD_DEFAULTS.maxPendingBytes) + 3 * block + RUNTIME_BASELINE_BYTES;
}

function positiveInt(name: string, v: number | undefined, def: number, max = Number.MAX_SAFE_INTEGER): number {
  if (v === undefined) return def;
  if (!Number.isInteger(v) || v < 1 || v > max) {
    throw new XetBucketsError("INVALID_ARGUMENT", `${name} must be an integer between 1 and ${max}, got ${v}`);
  }
  return v;
}

interface Tuning {
  maxXorbBytes: number;
  maxXorbChunks: number;
  maxShardBytes: number;
  maxXorbUploads: number;
  maxDedupQueries: number;
  maxPendingBytes: number;
  readBlockBytes: number;
  compression: CompressionPolicy;
  globalDedup: boolean;
  streamUploads: boolean;
}

function resolveTuning(t: UploadTuning, http: HttpOptions): Tuning {
  const isNode = typeof (globalThis as { process?: { versions?: { node?: string } } }).process?.versions?.node === "string";
  const out: Tuning = {
    maxXorbBytes: positiveInt("maxXorbBytes", t.maxXorbBytes, UPLOAD_DEFAULTS.maxXorbBytes, MAX_XORB_BYTES),
    maxXorbChunks: positiveInt("maxXorbChunks", t.maxXorbChunks, UPLOAD_DEFAULTS.maxXorbChunks, MAX_XORB_CHUNKS),
    maxShardBytes: positiveInt("maxShardBytes", t.maxShardBytes, UPLOAD_DEFAULTS.maxShardBytes, MAX_SHARD_BYTES),
    maxXorbUploads: positiveInt("maxXorbUploads", t.maxXorbUploads, UPLOAD_DEFAULTS.maxXorbUploads, 64),
    maxDedupQueries: positiveInt("maxDedupQueries", t.maxDedupQueries, UPLOAD_DEFAULTS.maxDedupQueries, 64),
    maxPendingBytes: positiveInt("maxPendingBytes", t.maxPendingBytes, UPLOAD_DEFAULTS.maxPendingBytes),
    readBlockBytes: 0,
    compression: t.compression ?? UPLOAD_DEFAULTS.compression,
    globalDedup: t.globalDedup ?? UPLOAD_DEFAULTS.globalDedup,
    streamUploads: t.streamUploads ?? (isNode && http.fetch === undefined),
  };
  // A block never spans more than two xorbs, so one push closes at most one xorb of normal size.
  out.readBlockBytes = Math.min(positiveInt("readBlockBytes", t.readBlockBytes, UPLOAD_DEFAULTS.readBlockBytes, 256 * 1024 * 1024), out.maxXorbBytes);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Results and progress
// ---------------------------------------------------------------------------------------------

/** What one file of an upload became. */
export interface FileUploadReport {
  /** Destination path in the bucket. */
  path: string;
  /** Xet file hash (file id) registered for the path. */
  xetHash: string;
  size: number;
  chunks: number;
  /** Bytes of this file stored as new chunks (raw, before compression). */
  newBytes: number;
  /** Bytes of this file found earlier in the same call. */
  dedupLocalBytes: number;
  /** Bytes of this file the CAS already had (global dedup). */
  dedupGlobalBytes: number;
  /** mtime sent with the registration (ms since the epoch). */
  mtime: number;
  contentType?: string;
}

/**
 * The dedup report every upload returns. Byte counts are raw (uncompressed) file bytes except `bytesSent`
 * and `shardBytes`, which count what went on the wire.
 */
export interface DedupReport {
  /** Files uploaded (registered). */
  files: number;
  /** Sum of the files' sizes. */
  logicalBytes: number;
  /** Bytes stored as new chunks (raw). `newBytes + dedupLocalBytes + dedupGlobalBytes = logicalBytes`. */
  newBytes: number;
  /** Serialized (compressed) xorb bytes uploaded: the data that went on the wire. */
  bytesSent: number;
  /** Bytes deduplicated against earlier bytes of the same call. */
  dedupLocalBytes: number;
  /** Bytes deduplicated against data the CAS already stored (global dedup). */
  dedupGlobalBytes: number;
  /** Chunks in all files. */
  chunks: number;
  /** Xorbs uploaded. */
  xorbs: number;
  /** Of those, xorbs the CAS already had (answered `was_inserted: false`). */
  xorbsAlreadyStored: number;
  /** Upload shards registered. */
  shards: number;
  /** Bytes of those shards. */
  shardBytes: number;
  /** Global dedup queries sent / answered with a shard (a hit) / failed (treated as misses). */
  dedupQueries: number;
  dedupQueryHits: number;
  dedupQueryFailures: number;
  /** Per file, in upload order. */
  perFile: FileUploadReport[];
}

/** Phases of an upload, in order. `uploadingShards` is ours (registering the data with the CAS). */
export type UploadPhase = "preuploading" | "uploadingLargeFiles" | "uploadingShards" | "committing";

export interface PhaseEvent {
  event: "phase";
  phase: UploadPhase;
}

/**
 * Per-file progress, in @huggingface/hub's shape plus byte fields. `state: "hashing"`: the file is being
 * read, chunked, hashed and deduplicated, `progress` = share of its bytes processed. `state: "uploading"`
 * with `progress: 1`: its new data is stored on the CAS (registration follows at the end of the call).
 * `state: "error"`: the bucket refused to register it (`error` says why).
 */
export interface FileProgressEvent {
  event: "fileProgress";
  path: string;
  progress: number;
  state: "hashing" | "uploading" | "error";
  /** Bytes of this file processed so far. */
  processed?: number;
  /** The file's size, when known. */
  size?: number;
  error?: string;
}

/**
 * Byte counters for the whole call (never folded into one percentage). `processed` moves as data is read;
 * `dedupLocal + dedupGlobal + newBytes` trail it by the bytes awaiting dedup answers; `sent` moves toward
 * `toSend` as xorb bodies go out (below the xorb in Node).
 */
export interface BytesEvent {
  event: "bytes";
  /** Bytes read and processed. */
  processed: number;
  /** Sum of the sizes, when every size is known. */
  total?: number;
  dedupLocal: number;
  dedupGlobal: number;
  /** Raw bytes of new chunks. */
  newBytes: number;
  /** Serialized xorb bytes handed to the network (retries do not count twice). */
  sent: number;
  /** Serialized bytes of the xorbs produced so far. */
  toSend: number;
  filesDone: number;
  files: number;
}

export type UploadProgressEvent = PhaseEvent | FileProgressEvent | BytesEvent;

// ---------------------------------------------------------------------------------------------
// The pipeline
// ---------------------------------------------------------------------------------------------

const STREAM_STEP = 1024 * 1024;
/** Largest chunk (xet-protocol.md §2). */
const MAX_CHUNK_BYTES = 131072;

/** Per-file state kept until its data is stored. */
interface FileDone {
  report: FileUploadReport;
  /** Every xorb with an index ≤ this must be uploaded before the file's data is stored (-1: none). */
  needXorb: number;
  size?: number;
}

export interface PipelineOptions {
  tuning?: UploadTuning;
  /** Caller's abort signal. */
  abortSignal?: AbortSignal;
  /** Progress sink (called synchronously; keep it cheap). */
  onEvent?: (ev: UploadProgressEvent) => void;
  /** Total of the sizes, when known (for `bytes` events). */
  totalBytes?: number;
  /** Number of files (for `bytes` events). */
  fileCount?: number;
  /** Resume state (xet/resume.ts): consulted before each xorb POST, told about each accepted xorb. */
  resume?: UploadResume;
}

/**
 * One upload: `addFile` for each item in order, then `finish` to store everything on the CAS. Always
 * call `close` (in a finally) to stop background work and free the core's memory.
 */
export class UploadPipeline {
  readonly #cas: CasClient;
  readonly #queryCas: CasClient;
  readonly #http: HttpOptions;
  readonly #retry: Required<RetryOptions>;
  readonly #t: Tuning;
  readonly #user: AbortSignal | undefined;
  readonly #ctl = new AbortController();
  readonly #emit: (ev: UploadProgressEvent) => void;
  readonly #resume: UploadResume | undefined;
  #session: UploadSession | undefined;
  #failure: { error: unknown } | undefined;
  #waiters: (() => void)[] = [];

  // xorbs
  #inflight = new Set<Promise<void>>();
  /** Xorbs taken from the core, waiting for an upload slot. */
  #xorbQueue: XorbResult[] = [];
  #xorbsTaken = 0;
  #takenRaw = 0;
  #doneXorbs = new Set<number>();
  #doneBelow = 0;
  #sentConfirmed = 0;
  #sentPartial = new Map<number, number>();
  #toSend = 0;
  #xorbsUploaded = 0;
  #xorbsAlreadyStored = 0;
  #bytesSent = 0;

  // dedup queries
  #queryQueue: string[] = [];
  #queriesInflight = new Map<string, Promise<void>>();
  #queries = 0;
  #queryHits = 0;
  #queryFailures = 0;

  // files
  #processed = 0;
  #files: FileUploadReport[] = [];
  #waitingFiles: FileDone[] = [];
  #filesDone = 0;
  readonly #totalBytes: number | undefined;
  readonly #fileCount: number;

  #shards = 0;
  #shardBytes = 0;
  #v1ShardsOnly = false;
  #lastBytesEmit = 0;

  private constructor(cas: CasClient, opts: PipelineOptions) {
    this.#http = cas.http;
    this.#t = resolveTuning(opts.tuning ?? {}, cas.http);
    this.#retry = retryConfig(cas.http.retry);
    this.#user = opts.abortSignal;
    this.#emit = opts.onEvent ?? (() => undefined);
    this.#totalBytes = opts.totalBytes;
    this.#fileCount = opts.fileCount ?? 0;
    this.#resume = opts.resume;
    if (this.#user) {
      if (this.#user.aborted) this.#ctl.abort(this.#user.reason);
      else this.#user.addEventListener("abort", () => this.#ctl.abort(this.#user!.reason), { once: true });
    }
    this.#ctl.signal.addEventListener("abort", () => this.#wake(), { once: true });
    const http: HttpOptions = { ...cas.http, abortSignal: this.#ctl.signal };
    this.#cas = new CasClient(cas.tokens, http, cas.sessionId);
    // Dedup is an optimisation: queries get a short retry budget, and a query that still fails is a miss.
    const retry = cas.http.retry === false ? false : { ...cas.http.retry, maxAttempts: 3, budgetMs: Math.min(this.#retry.budgetMs, 20_000) };
    this.#queryCas = new CasClient(cas.tokens, { ...http, retry }, cas.sessionId);
  }

  /** Loads the core and opens the session. */
  static async create(cas: CasClient, opts: PipelineOptions = {}): Promise<UploadPipeline> {
    await initCore();
    const p = new UploadPipeline(cas, opts);
    p.#session = new UploadSession({
      maxXorbBytes: p.#t.maxXorbBytes,
      maxXorbChunks: p.#t.maxXorbChunks,
      maxShardBytes: p.#t.maxShardBytes,
      compression: p.#t.compression,
    });
    return p;
  }

  /** The internal signal: aborted on the caller's abort or the first failure. */
  get signal(): AbortSignal {
    return this.#ctl.signal;
  }

  get #s(): UploadSession {
    if (!this.#session) throw new XetBucketsError("INVALID_STATE", "the upload pipeline is closed");
    return this.#session;
  }

  /** Throws the caller's abort reason or the first failure, if any. */
  #check(): void {
    if (this.#user?.aborted) throw this.#user.reason;
    if (this.#failure) throw this.#failure.error;
    if (this.#ctl.signal.aborted) throw this.#ctl.signal.reason;
  }

  #fail(error: unknown): void {
    if (this.#failure || this.#ctl.signal.aborted) return;
    this.#failure = { error };
    this.#ctl.abort(error);
  }

  #wake(): void {
    const w = this.#waiters;
    this.#waiters = [];
    for (const f of w) f();
  }

  /** Resolves at the next change (a task finished, an answer arrived, an abort). */
  #wait(): Promise<void> {
    if (this.#ctl.signal.aborted) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  // ----- files ------------------------------------------------------------------------------

  /** Reads, chunks and deduplicates one file; its new chunks go into xorbs (uploaded in the background). */
  async addFile(item: UploadItem): Promise<FileUploadReport> {
    this.#check();
    const s = this.#s;
    s.startFile(false);
    let processed = 0;
    this.#emit({ event: "fileProgress", path: item.path, progress: 0, state: "hashing", processed: 0, size: item.size });
    for await (const block of readBlocks(item, this.#t.readBlockBytes, this.#ctl.signal)) {
      // Keep filling the open xorb while uploads are busy, but not past the point where this block could
      // close it: a closed xorb with no free upload slot would be one more xorb in memory.
      while (!this.#roomFor(block.length)) {
        this.#check();
        await this.#wait();
      }
      this.#check();
      s.push(block);
      processed += block.length;
      this.#processed += block.length;
      this.#pumpQueries();
      this.#takeXorbs();
      // Bound what the core holds while answers are awaited.
      while (s.pendingBytes > this.#t.maxPendingBytes && this.#queriesInflight.size + this.#queryQueue.length > 0) {
        this.#check();
        await this.#wait();
      }
      this.#emit({
        event: "fileProgress",
        path: item.path,
        progress: item.size ? Math.min(1, processed / item.size) : 0,
        state: "hashing",
        processed,
        size: item.size,
      });
      this.#emitBytes(false);
    }
    // Cut the last chunk (it may be the file's first, always queried), then wait for the answers that
    // bytes of this file still wait on: finishFile() would count them as misses. Answers nothing waits
    // on may arrive later; they still serve the next files.
    s.endInput();
    this.#pumpQueries();
    this.#takeXorbs();
    while (s.pendingBytes > 0 && this.#queriesInflight.size + this.#queryQueue.length > 0) {
      this.#check();
      await this.#wait();
      this.#pumpQueries();
    }
    this.#check();
    s.resolve();
    const r = s.finishFile();
    this.#takeXorbs();
    const report: FileUploadReport = {
      path: item.path,
      xetHash: r.hash,
      size: r.size,
      chunks: r.chunkCount,
      newBytes: r.newBytes,
      dedupLocalBytes: r.dedupLocalBytes,
      dedupGlobalBytes: r.dedupGlobalBytes,
      mtime: item.mtime !== undefined ? Math.round(item.mtime) : Date.now(),
    };
    if (item.contentType) report.contentType = item.contentType;
    if (item.size !== undefined && item.size !== r.size) {
      throw new XetBucketsError("SOURCE_CHANGED", `${item.path}: expected ${item.size} bytes, read ${r.size}; the source changed while it was uploaded — retry the upload`);
    }
    this.#files.push(report);
    this.#emit({ event: "fileProgress", path: item.path, progress: 1, state: "hashing", processed: r.size, size: r.size });
    // Its data is stored once every xorb up to the one holding its last new chunk is uploaded. When the
    // core's open xorb is empty, that is the last xorb taken; otherwise the next one.
    let needXorb = -1;
    if (r.newBytes > 0) {
      const openEmpty = this.#takenRaw >= s.stats().newBytes;
      needXorb = openEmpty ? this.#xorbsTaken - 1 : this.#xorbsTaken;
    }
    this.#waitingFiles.push({ report, needXorb, size: r.size });
    this.#settleFiles();
    this.#emitBytes(true);
    return report;
  }

  /** True when pushing `n` more bytes cannot leave a closed xorb waiting for an upload slot. */
  #roomFor(n: number): boolean {
    if (this.#inflight.size + this.#xorbQueue.length < this.#t.maxXorbUploads) return true;
    if (this.#xorbQueue.length > 0) return false;
    // Raw bytes of the open xorb, plus what this push (and the bytes awaiting dedup answers) may add,
    // with a margin for the serialized form (record headers) and the chunk cut at the block's end.
    const s = this.#s;
    const openRaw = s.stats().newBytes - this.#takenRaw;
    return openRaw + s.pendingBytes + n + 2 * MAX_CHUNK_BYTES < this.#t.maxXorbBytes;
  }

  #settleFiles(): void {
    while (this.#waitingFiles.length > 0 && this.#waitingFiles[0]!.needXorb < this.#doneBelow) {
      const f = this.#waitingFiles.shift()!;
      this.#filesDone++;
      this.#emit({ event: "fileProgress", path: f.report.path, progress: 1, state: "uploading", processed: f.report.size, size: f.report.size });
    }
  }

  #emitBytes(force: boolean): void {
    const now = Date.now();
    if (!force && now - this.#lastBytesEmit < 50) return;
    this.#lastBytesEmit = now;
    const st = this.#session?.stats();
    let partial = 0;
    for (const v of this.#sentPartial.values()) partial += v;
    const ev: BytesEvent = {
      event: "bytes",
      processed: this.#processed,
      dedupLocal: st?.dedupLocalBytes ?? 0,
      dedupGlobal: st?.dedupGlobalBytes ?? 0,
      newBytes: st?.newBytes ?? 0,
      sent: this.#sentConfirmed + partial,
      toSend: this.#toSend,
      filesDone: this.#filesDone,
      files: this.#fileCount,
    };
    if (this.#totalBytes !== undefined) ev.total = this.#totalBytes;
    this.#emit(ev);
  }

  // ----- dedup queries ----------------------------------------------------------------------

  #pumpQueries(): void {
    const s = this.#s;
    const fresh = s.takeQueries();
    if (!this.#t.globalDedup) {
      for (const h of fresh) s.answerQuery(h, undefined);
      if (fresh.length) this.#takeXorbs();
      return;
    }
    this.#queryQueue.push(...fresh);
    while (this.#queryQueue.length > 0 && this.#queriesInflight.size < this.#t.maxDedupQueries && !this.#ctl.signal.aborted) {
      const hash = this.#queryQueue.shift()!;
      if (this.#queriesInflight.has(hash)) continue;
      this.#queries++;
      const p = this.#query(hash)
        .then((shard) => {
          if (!this.#session || this.#ctl.signal.aborted) return;
          this.#answer(hash, this.#resume ? this.#resume.filterAnswer(shard) : shard);
        })
        .catch((err: unknown) => this.#fail(err))
        .finally(() => {
          this.#queriesInflight.delete(hash);
          this.#pumpQueriesSafe();
          this.#wake();
        });
      this.#queriesInflight.set(hash, p);
    }
  }

  #pumpQueriesSafe(): void {
    if (!this.#session || this.#ctl.signal.aborted) return;
    try {
      this.#pumpQueries();
    } catch (err) {
      this.#fail(err);
    }
  }

  #answer(hash: string, shard: Uint8Array | undefined): void {
    const s = this.#s;
    try {
      const learned = s.answerQuery(hash, shard);
      if (learned > 0) this.#queryHits++;
    } catch (err) {
      // A dedup answer the core cannot use (malformed shard): the core cleared the query, which counts
      // as a miss; the upload stays valid.
      if (shard === undefined) throw err;
      this.#queryFailures++;
    }
    this.#takeXorbs();
  }

  /** `GET /v1/chunks/default/{hash}`: the dedup shard, or undefined for 404 or a query that failed. */
  async #query(hash: string): Promise<Uint8Array | undefined> {
    try {
      return await this.#queryCas.requestRead(`/v1/chunks/default/${hash}`, { accept: [404], signal: this.#ctl.signal }, async (res) => {
        if (res.status === 404) {
          await res.body?.cancel();
          return undefined;
        }
        return new Uint8Array(await res.arrayBuffer());
      });
    } catch (err) {
      if (this.#ctl.signal.aborted) throw err;
      // A CAS that cannot answer costs dedup, not the upload; a token problem shows on the xorb upload.
      this.#queryFailures++;
      return undefined;
    }
  }

  // ----- xorbs ------------------------------------------------------------------------------

  /** Takes every closed xorb from the core and starts uploads while slots are free. */
  #takeXorbs(): void {
    const s = this.#s;
    for (let x = s.takeXorb(); x !== undefined; x = s.takeXorb()) {
      this.#xorbsTaken++;
      this.#takenRaw += x.rawBytes;
      this.#toSend += x.serializedBytes;
      this.#xorbQueue.push(x);
    }
    this.#launchXorbs();
  }

  #launchXorbs(): void {
    while (this.#xorbQueue.length > 0 && this.#inflight.size < this.#t.maxXorbUploads && !this.#ctl.signal.aborted) {
      this.#launchXorb(this.#xorbQueue.shift()!, this.#xorbsLaunched++);
    }
  }

  #xorbsLaunched = 0;

  #launchXorb(x: XorbResult, idx: number): void {
    const p: Promise<void> = this.#uploadXorb(x, idx)
      .then(() => {
        this.#doneXorbs.add(idx);
        while (this.#doneXorbs.delete(this.#doneBelow)) this.#doneBelow++;
        this.#settleFiles();
        this.#emitBytes(true);
      })
      .catch((err: unknown) => this.#fail(err))
      .finally(() => {
        this.#inflight.delete(p);
        this.#launchXorbs();
        this.#wake();
      });
    this.#inflight.add(p);
  }

  /** `POST /v1/xorbs/default/{hash}` with the serialized xorb; 200 `{was_inserted: false}` is fine too. */
  async #uploadXorb(x: XorbResult, idx: number): Promise<void> {
    let data: Uint8Array | undefined = x.data;
    const size = data.length;
    // An attempt may take as long as the body needs at a slow 128 KiB/s, on top of the usual timeout.
    const retry = this.#http.retry === false ? false : { ...this.#http.retry, attemptTimeoutMs: this.#retry.attemptTimeoutMs + Math.ceil(size / 131072) * 1000 };
    const cas = new CasClient(this.#cas.tokens, { ...this.#cas.http, retry }, this.#cas.sessionId);
    const onBytes = (n: number) => {
      if (n > (this.#sentPartial.get(idx) ?? 0)) this.#sentPartial.set(idx, n);
      this.#emitBytes(false);
    };
    const body = (): RequestBody => (this.#t.streamUploads ? streamBody(data!, onBytes) : data!);
    // Resume: a xorb an earlier run of this upload stored is not sent again (xet/resume.ts).
    if (this.#resume && (await this.#resume.alreadyStored(this.#cas, x.hash, size, this.#ctl.signal))) {
      releaseBuffer(x.data);
      this.#sentConfirmed += size;
      return;
    }
    this.#resume?.posting(x.hash);
    const json = await cas.requestRead(
      `/v1/xorbs/default/${x.hash}`,
      {
        method: "POST",
        headers: { "Content-Type": "application/octet-stream", "Content-Length": String(size) },
        body,
        signal: this.#ctl.signal,
      },
      async (res) => {
        const text = await res.text();
        try {
          return text ? (JSON.parse(text) as { was_inserted?: unknown }) : {};
        } catch {
          throw new ProtocolError(`the CAS answered a xorb upload with a body that is not JSON: ${text.slice(0, 100)}`);
        }
      },
    );
    // The server answered after reading the whole body: no write uses the buffer any more.
    releaseBuffer(x.data);
    data = undefined;
    this.#sentPartial.delete(idx);
    this.#sentConfirmed += size;
    this.#bytesSent += size;
    this.#xorbsUploaded++;
    if (json.was_inserted === false) this.#xorbsAlreadyStored++;
    this.#resume?.accepted(x.hash);
  }

  // ----- shards -----------------------------------------------------------------------------

  /**
   * Flushes the last xorb, waits for every xorb upload, then uploads the shards. After this resolves the
   * CAS knows every file of the call; nothing is registered in the bucket yet.
   */
  async finish(): Promise<DedupReport> {
    this.#check();
    const s = this.#s;
    s.flushXorb();
    this.#takeXorbs();
    while (this.#inflight.size + this.#xorbQueue.length > 0) {
      this.#check();
      await this.#wait();
    }
    this.#check();
    this.#settleFiles();
    this.#emit({ event: "phase", phase: "uploadingShards" });
    for (let shard = s.takeShard(); shard !== undefined; shard = s.takeShard()) {
      this.#check();
      await this.#uploadShard(shard);
      this.#shards++;
      this.#shardBytes += shard.length;
    }
    this.#check();
    this.#emitBytes(true);
    const st = s.stats();
    return {
      files: this.#files.length,
      logicalBytes: this.#files.reduce((a, f) => a + f.size, 0),
      newBytes: st.newBytes,
      bytesSent: this.#bytesSent,
      dedupLocalBytes: st.dedupLocalBytes,
      dedupGlobalBytes: st.dedupGlobalBytes,
      chunks: st.chunks,
      xorbs: this.#xorbsUploaded,
      xorbsAlreadyStored: this.#xorbsAlreadyStored,
      shards: this.#shards,
      shardBytes: this.#shardBytes,
      dedupQueries: this.#queries,
      dedupQueryHits: this.#queryHits,
      dedupQueryFailures: this.#queryFailures,
      perFile: [...this.#files],
    };
  }

  /** `POST /v2/shards` (NDJSON to the terminal event), falling back to `POST /v1/shards` on 404 / 501. */
  async #uploadShard(shard: Uint8Array): Promise<void> {
    const start = Date.now();
    for (let attempt = 1; ; attempt++) {
      if (this.#v1ShardsOnly) {
        await this.#cas.requestRead(
          "/v1/shards",
          { method: "POST", headers: { "Content-Type": "application/octet-stream" }, body: shard, signal: this.#ctl.signal },
          (res) => res.text(),
        );
        return;
      }
      const outcome = await this.#cas.requestRead(
        "/v2/shards",
        {
          method: "POST",
          headers: { "Content-Type": "application/octet-stream", Accept: "application/x-ndjson" },
          body: shard,
          accept: [404, 501],
          signal: this.#ctl.signal,
        },
        async (res, ctx) => {
          if (res.status === 404 || res.status === 501) {
            await res.body?.cancel();
            return "fallback" as const;
          }
          return readShardStream(res, ctx.heartbeat);
        },
      );
      if (outcome === "fallback") {
        this.#v1ShardsOnly = true;
        continue;
      }
      if (outcome.ok) return;
      const elapsed = Date.now() - start;
      const exp = Math.min(this.#retry.maxDelayMs, this.#retry.baseDelayMs * 2 ** (attempt - 1));
      const delay = exp / 2 + Math.random() * (exp / 2); // backoff with jitter, as in http.ts
      if (!outcome.retryable || attempt >= this.#retry.maxAttempts || elapsed + delay > this.#retry.budgetMs) {
        throw new XetBucketsError(
          "SHARD_REJECTED",
          `the CAS rejected the upload shard: ${outcome.message}${attempt > 1 ? ` (after ${attempt} attempts)` : ""}. ` +
            "Nothing was registered in the bucket; retry the upload, and report the message if it persists.",
        );
      }
      await sleep(delay, this.#ctl.signal);
    }
  }

  /** Stops background work, waits for it to settle and frees the core's memory. Safe to call twice. */
  async close(): Promise<void> {
    if (!this.#ctl.signal.aborted) this.#ctl.abort(new XetBucketsError("CLOSED", "upload pipeline closed"));
    while (this.#inflight.size > 0 || this.#queriesInflight.size > 0) {
      await Promise.allSettled([...this.#inflight, ...this.#queriesInflight.values()]);
    }
    this.#xorbQueue = [];
    this.#session?.free();
    this.#session = undefined;
  }
}

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

/** A stream over `data` in 1 MiB views (no copy), reporting how far the transport has pulled. */
function streamBody(data: Uint8Array, onBytes: (n: number) => void): ReadableStream<Uint8Array> {
  let off = 0;
  return new ReadableStream<Uint8Array>(
    {
      pull(c) {
        if (off >= data.length) {
          c.close();
          return;
        }
        const end = Math.min(off + STREAM_STEP, data.length);
        c.enqueue(data.subarray(off, end));
        off = end;
        onBytes(off);
      },
    },
    { highWaterMark: 0 },
  );
}

type ShardOutcome = { ok: true } | { ok: false; message: string; retryable: boolean };

/**
 * Reads a `/v2/shards` NDJSON stream to its terminal event (heartbeats re-arm the idle timeout). A stream
 * that ends before it is a broken connection: a plain Error, which the retry loop sends again (a repeated
 * shard is not an error for the CAS).
 */
async function readShardStream(res: Response, heartbeat: () => void): Promise<ShardOutcome> {
  if (!res.body) throw new Error("the /v2/shards answer has no body");
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  let buf = "";
  const parse = (l: string): ShardOutcome | undefined => {
    let ev: { type?: unknown; message?: unknown; retryable?: unknown };
    try {
      ev = JSON.parse(l) as typeof ev;
    } catch {
      throw new ProtocolError(`malformed line in the /v2/shards stream: ${l.slice(0, 100)}`);
    }
    if (ev.type === "result") return { ok: true };
    if (ev.type === "error") {
      return { ok: false, message: typeof ev.message === "string" ? ev.message : JSON.stringify(ev), retryable: ev.retryable === true };
    }
    return undefined; // progress (validating, committing) and unknown types
  };
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (value) {
        heartbeat();
        buf += value;
        let nl: number;
        while ((nl = buf.indexOf("\n")) >= 0) {
          const l = buf.slice(0, nl).trim();
          buf = buf.slice(nl + 1);
          const out = l ? parse(l) : undefined;
          if (out) return out;
        }
      }
      if (done) {
        const out = buf.trim() ? parse(buf.trim()) : undefined;
        if (out) return out;
        throw new Error("the /v2/shards stream ended without a result or error event");
      }
    }
  } finally {
    reader.cancel().catch(() => undefined);
  }
}
