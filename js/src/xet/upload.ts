/**
 * The deduplicating Xet upload pipeline (xet-protocol.md §8): every file of a call goes through ONE core
 * `UploadSession` (local dedup across all files), global dedup queries are sent for the chunks the core
 * asks about and answered with the CAS's shards, new xorbs are uploaded concurrently (bounded), then the
 * upload shards (v2, falling back to v1). Registering the paths in the bucket is the caller's last step
 * (api/upload.ts), and happens only when everything here succeeded.
 *
 * Data flow: files are cut into segments that chunking workers (js/src/pool; or this thread with
 * `workers: 0`) chunk, hash and compress in parallel, across files and within large files, ahead of the
 * session (xet/prepared-files.ts keeps the boundaries those of one sequential pass). In file order, each
 * segment's chunk hashes and record lengths go into the session (`pushChunks`), which deduplicates them and
 * says where each new chunk goes; the records are copied into the xorb bodies here, in JavaScript buffers
 * that are reused, and each closed xorb is uploaded while the next one fills. Dedup queries go out as soon as
 * a segment's chunk hashes are known (its file's first chunk, and chunks with `hash % 1024 == 0`), so a file
 * rarely waits for an answer when the session reaches it. Nothing is read twice.
 *
 * Memory (upper bound, all terms in bytes; see `uploadMemoryBound`):
 *
 *   peak ≈ maxXorbUploads × maxXorbBytes            xorb bodies: the one being filled and those uploading
 *        + (2 × maxSegments + 2) × segment job       segment buffers (segmentBytes + 512 KiB of pre-roll and
 *                                                   overlap) in flight or reused, and prepared results
 *        + workers × (2 × segment job + 10 MiB)     each worker: its isolate and its core's heap (one input
 *                                                   and one result)
 *        + maxPendingBytes                         records held while dedup answers are awaited
 *        + chunk metadata                          ≈ 4 MiB per GiB of new chunks: the session's chunk index
 *                                                   and the shard records (in the core), until the shards
 *                                                   are sent at the end of the call
 *        + runtime                                 Node + this package + the WebAssembly module ≈ 50 MiB, and
 *                                                   V8's heap growing under load: ≈ 75 MiB in all
 *
 * where maxSegments = workers + 1 (2 without workers). A xorb body is filled only while fewer than
 * `maxXorbUploads` others are uploading: with the default of 2, one xorb fills while one uploads, and when
 * the filled one closes both upload at once (the CAS stores one while receiving the other) until one is
 * acknowledged. With the defaults (40 MiB xorbs, 2 xorb bodies, 2 workers, 2 MiB segments, 16 MiB pending)
 * that is 80 + 20 + 30 + 16 + 75 ≈ 221 MiB plus 4 MiB per GiB: ≈ 237 MiB for a 4 GiB file (measured:
 * BENCHMARKS.md). Each further upload in flight adds one xorb; each further worker about 15 MiB. Raise
 * `maxXorbUploads` on high-latency links where two connections cannot fill the bandwidth, or lower
 * `maxXorbBytes` to keep the same memory with more connections (e.g. 4 uploads of 20 MiB xorbs).
 *
 * Xorb bodies are sent as streams of views (Node) so that fetch does not copy them; their buffers are
 * reused for the next xorbs once the CAS acknowledged them.
 *
 * Abort and failure: one internal AbortController stops every stage (reads, queries, xorb and shard
 * uploads, retry waits) on the caller's abort or on the first failure; the pipeline then rejects with
 * the caller's abort reason or that first failure.
 */
import {
  compressionCode,
  initCore,
  rawToHex,
  UploadSession,
  MAX_SHARD_BYTES,
  MAX_XORB_BYTES,
  MAX_XORB_CHUNKS,
  PLACED_DEDUP,
  type CompressionPolicy,
  type XorbResult,
} from "../core/index.js";
import { ProtocolError, XetBucketsError } from "../errors.js";
import { retryConfig, sleep, type HttpOptions, type RequestBody, type RetryOptions } from "../http.js";
import { CasClient } from "./cas.js";
import type { UploadResume } from "./resume.js";
import { acquireWorkerPool, defaultWorkers, InlinePreparer, type SegmentPreparer } from "../pool/pool.js";
import type { PreparedSegment } from "../pool/segment.js";
import { PreparedFiles, type PrepareStats } from "./prepared-files.js";
import { releaseBuffer, type UploadItem } from "./upload-sources.js";

// ---------------------------------------------------------------------------------------------
// Options
// ---------------------------------------------------------------------------------------------

/**
 * Upload tuning. Every knob states its default and its term in the memory bound (see the module doc):
 * `peak ≈ maxXorbUploads × maxXorbBytes + (2 × maxSegments + 2 + 2 × workers) × (segmentBytes + 512 KiB)
 *  + 10 MiB × workers + maxPendingBytes + 4 MiB per GiB of new chunks + ≈75 MiB`, with `maxSegments =
 * workers + 1`.
 */
export interface UploadTuning {
  /**
   * Largest xorb, raw and serialized (default 40 MiB, maximum 64 MiB). Term: `maxXorbUploads ×
   * maxXorbBytes`. Smaller xorbs lower memory (edge runtimes, small browser tabs) at the cost of more
   * requests; 64 MiB with the default 2 uploads needs 48 MiB more, past the 256 MiB the defaults fit in for a
   * 4 GiB file.
   */
  maxXorbBytes?: number;
  /** Most chunks per xorb (default and maximum 8192). */
  maxXorbChunks?: number;
  /** Largest upload shard (default and maximum 64 MiB); larger registrations are split. */
  maxShardBytes?: number;
  /**
   * Xorb bodies in memory, so xorb uploads in flight at once (default 2: one xorb fills while the previous
   * one uploads, then both upload together; at least 2 to overlap filling and uploading). Term:
   * `maxXorbUploads × maxXorbBytes`: each further upload costs one more xorb of memory.
   */
  maxXorbUploads?: number;
  /** Global dedup queries in flight at once (default 8). Negligible memory. */
  maxDedupQueries?: number;
  /**
   * Bytes of chunks that may wait for dedup answers (default 16 MiB). When exceeded, the session pauses
   * until answers arrive. Term: `maxPendingBytes`.
   */
  maxPendingBytes?: number;
  /**
   * Chunking workers: threads that chunk, hash and compress segments of files in parallel, each with its
   * own instance of the WebAssembly core (default: the available cores, at most 4, in Node; 0 in browsers,
   * Deno, Bun and edge runtimes, where `workers: n` opts in to module Web Workers). 0 does the work on the
   * calling thread. Term: `workers × (2 × (segmentBytes + 512 KiB) + 8 MiB)`, plus one segment job each in
   * flight.
   */
  workers?: number;
  /**
   * Bytes per segment a worker prepares at once (default 2 MiB, at least 1 MiB). Each job also reads 256
   * KiB before its segment and 256 KiB after it. Term: `(2 × maxSegments + 2 + 2 × workers) × (segmentBytes +
   * 512 KiB)`.
   */
  segmentBytes?: number;
  /** Read block of sources other than local files (default 1 MiB): the unit in which streams are copied. */
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

/** Pre-roll and overlap of each segment job (xet/prepared-files.ts, src/prepare.rs). */
export const SEGMENT_PREROLL_BYTES = 256 * 1024;
export const SEGMENT_OVERLAP_BYTES = 256 * 1024;

export const UPLOAD_DEFAULTS = {
  maxXorbBytes: 40 * 1024 * 1024,
  maxXorbChunks: MAX_XORB_CHUNKS,
  maxShardBytes: MAX_SHARD_BYTES,
  maxXorbUploads: 2,
  maxDedupQueries: 8,
  maxPendingBytes: 16 * 1024 * 1024,
  segmentBytes: 2 * 1024 * 1024,
  readBlockBytes: 1024 * 1024,
  compression: "best" as CompressionPolicy,
  globalDedup: true,
} as const;

/** Runtime baseline used in `uploadMemoryBound` (Node with the WebAssembly module loaded). */
export const RUNTIME_BASELINE_BYTES = 75 * 1024 * 1024;
/** A worker's isolate and fixed core memory, in `uploadMemoryBound`. */
export const WORKER_BASELINE_BYTES = 10 * 1024 * 1024;
/** The session's chunk metadata per GiB of new chunks (chunk index, shard records), in `uploadMemoryBound`. */
export const METADATA_BYTES_PER_GIB = 4 * 1024 * 1024;

/** Segments dispatched and not yet placed, for `workers` workers. */
function maxSegmentsFor(workers: number): number {
  return workers > 0 ? workers + 1 : 2;
}

/**
 * The memory bound of the module doc for the given options and `bytes` uploaded (the chunk metadata
 * grows with them), in bytes. `workers` defaults to this runtime's default.
 */
export function uploadMemoryBound(t: UploadTuning = {}, bytes = 0): number {
  const x = t.maxXorbBytes ?? UPLOAD_DEFAULTS.maxXorbBytes;
  const n = t.maxXorbUploads ?? UPLOAD_DEFAULTS.maxXorbUploads;
  const w = t.workers ?? defaultWorkers();
  const job = (t.segmentBytes ?? UPLOAD_DEFAULTS.segmentBytes) + SEGMENT_PREROLL_BYTES + SEGMENT_OVERLAP_BYTES;
  return (
    n * x +
    (2 * maxSegmentsFor(w) + 2) * job +
    w * (2 * job + WORKER_BASELINE_BYTES) +
    (t.maxPendingBytes ?? UPLOAD_DEFAULTS.maxPendingBytes) +
    Math.ceil((bytes / 2 ** 30) * METADATA_BYTES_PER_GIB) +
    RUNTIME_BASELINE_BYTES
  );
}

function positiveInt(name: string, v: number | undefined, def: number, max = Number.MAX_SAFE_INTEGER, min = 1): number {
  if (v === undefined) return def;
  if (!Number.isInteger(v) || v < min || v > max) {
    throw new XetBucketsError("INVALID_ARGUMENT", `${name} must be an integer between ${min} and ${max}, got ${v}`);
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
  workers: number;
  segmentBytes: number;
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
    workers: positiveInt("workers", t.workers, defaultWorkers(), 64, 0),
    segmentBytes: positiveInt("segmentBytes", t.segmentBytes, UPLOAD_DEFAULTS.segmentBytes, 256 * 1024 * 1024, 1024 * 1024),
    readBlockBytes: positiveInt("readBlockBytes", t.readBlockBytes, UPLOAD_DEFAULTS.readBlockBytes, 256 * 1024 * 1024),
    compression: t.compression ?? UPLOAD_DEFAULTS.compression,
    globalDedup: t.globalDedup ?? UPLOAD_DEFAULTS.globalDedup,
    streamUploads: t.streamUploads ?? (isNode && http.fetch === undefined),
  };
  compressionCode(out.compression); // validates it
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

/** Pushed chunks of one prepared segment whose records are not placed yet: chunks [next, to). */
interface RecordBatch {
  seg: PreparedSegment;
  next: number;
  to: number;
  /** Offset of chunk `next`'s record in `seg.records`. */
  off: number;
}

/** A xorb body being assembled: session xorb `id`, `len` bytes of records in `buffer`. */
interface XorbBody {
  id: number;
  buffer: ArrayBuffer;
  len: number;
  raw: number;
  chunks: number;
}

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
 * One upload: `addFiles` with the items (or `addFile` for each, without read-ahead across files), then
 * `finish` to store everything on the CAS. Always call `close` (in a finally) to stop background work and
 * free the core's memory.
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
  #preparer: SegmentPreparer | undefined;
  /** Small files are prepared on this thread (a worker round trip costs more than their bytes). */
  readonly #inline = new InlinePreparer();
  #failure: { error: unknown } | undefined;
  #waiters: (() => void)[] = [];
  /** Chunking counters of the last `addFiles` (tests and benchmarks). */
  prepareStats: PrepareStats = { jobs: 0, reruns: 0, dropped: 0 };

  // records of pushed chunks not placed yet, in push order (batches of one prepared segment)
  #fifo: RecordBatch[] = [];
  #fifoHead = 0;
  #fifoBytes = 0;
  #fifoRaw = 0;
  #fifoChunks = 0;
  // xorb bodies: the open one (being filled), closed ones waiting to be taken, free buffers
  #open: XorbBody | undefined;
  #closed = new Map<number, XorbBody>();
  #freeBodies: ArrayBuffer[] = [];
  #copy: { body: XorbBody; src: Uint8Array; start: number; end: number } | undefined;

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

  // dedup queries: the session's (`wanted`), and early ones for chunks the session will reach
  #queryQueue: string[] = [];
  #prefetchQueue: string[] = [];
  #wanted = new Set<string>();
  #answers = new Map<string, Uint8Array | undefined>();
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
    const retry =
      cas.http.retry === false ? false : { ...cas.http.retry, maxAttempts: 3, budgetMs: Math.min(this.#retry.budgetMs, 20_000) };
    this.#queryCas = new CasClient(cas.tokens, { ...http, retry }, cas.sessionId);
  }

  /** Loads the core, opens the session and gets the chunking workers (the process's shared pool). */
  static async create(cas: CasClient, opts: PipelineOptions = {}): Promise<UploadPipeline> {
    await initCore();
    const p = new UploadPipeline(cas, opts);
    p.#session = new UploadSession({
      maxXorbBytes: p.#t.maxXorbBytes,
      maxXorbChunks: p.#t.maxXorbChunks,
      maxShardBytes: p.#t.maxShardBytes,
      compression: p.#t.compression,
    });
    p.#preparer = p.#t.workers > 0 ? await acquireWorkerPool(p.#t.workers) : p.#inline;
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
    return (await this.addFiles([item]))[0]!;
  }

  /**
   * Reads, chunks and deduplicates files in order, preparing the next ones while the session works through
   * the current one; new chunks go into xorbs uploaded in the background.
   */
  async addFiles(items: UploadItem[]): Promise<FileUploadReport[]> {
    this.#check();
    const s = this.#s;
    const reports: FileUploadReport[] = [];
    const workers = this.#t.workers;
    const prepared = new PreparedFiles(items, {
      preparer: this.#preparer ?? this.#inline,
      inline: this.#inline,
      compression: compressionCode(this.#t.compression),
      segmentBytes: this.#t.segmentBytes,
      prerollBytes: SEGMENT_PREROLL_BYTES,
      overlapBytes: SEGMENT_OVERLAP_BYTES,
      maxSegments: maxSegmentsFor(workers),
      readBlockBytes: this.#t.readBlockBytes,
      inlineBelow: workers > 0 ? 64 * 1024 : Number.MAX_SAFE_INTEGER,
      signal: this.#ctl.signal,
      onPrepared: (_file, first, segment) => this.#prefetch(first, segment),
    });
    this.prepareStats = prepared.stats;
    let item: UploadItem | undefined;
    let processed = 0;
    for await (const ev of prepared) {
      if (ev.type === "start") {
        item = items[ev.file]!;
        s.startFile(false);
        processed = 0;
        this.#emit({ event: "fileProgress", path: item.path, progress: 0, state: "hashing", processed: 0, size: item.size });
      } else if (ev.type === "chunks") {
        const { segment: seg, to } = ev;
        for (let from = ev.from; from < to;) {
          this.#check();
          // Push the chunks that fit in the open xorb even if all are new; a xorb closes (and starts
          // uploading) only when it is full and a body is free for the next one.
          const end = this.#fitting(seg, from, to);
          if (end > from) {
            if (!this.#open && this.#bodiesBusy() >= this.#t.maxXorbUploads) {
              await this.#wait();
              continue;
            }
            processed += this.#push(seg, from, end);
            from = end;
            // Bound what waits for dedup answers.
            while (s.pendingBytes > this.#t.maxPendingBytes && this.#wanted.size > 0) {
              this.#check();
              await this.#wait();
            }
            continue;
          }
          if (this.#fifoChunks > 0) {
            // Chunks wait for dedup answers: once placed, the open xorb's fill is exact.
            await this.#wait();
            continue;
          }
          // The next chunk would close the open xorb: close it now; it uploads while the next one fills.
          s.flushXorb();
          this.#takeXorbs();
        }
        this.#emit({
          event: "fileProgress",
          path: item!.path,
          progress: item!.size ? Math.min(1, processed / item!.size) : 0,
          state: "hashing",
          processed,
          size: item!.size,
        });
        this.#emitBytes(false);
      } else {
        reports.push(await this.#finishFile(item!));
      }
    }
    return reports;
  }

  /** Ends the open file: waits for the answers its chunks wait on, then records it. */
  async #finishFile(item: UploadItem): Promise<FileUploadReport> {
    const s = this.#s;
    // Cut the last chunk (it may be the file's first, always queried), then wait for the answers that
    // bytes of this file still wait on: finishFile() would count them as misses. Answers nothing waits
    // on may arrive later; they still serve the next files.
    s.endInput();
    this.#pumpQueries();
    this.#takeXorbs();
    while (s.pendingBytes > 0 && this.#wanted.size > 0) {
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
      throw new XetBucketsError(
        "SOURCE_CHANGED",
        `${item.path}: expected ${item.size} bytes, read ${r.size}; the source changed while it was uploaded — retry the upload`,
      );
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

  /** Xorb bodies that are closed, queued or uploading (not available for filling). */
  #bodiesBusy(): number {
    return this.#inflight.size + this.#xorbQueue.length + this.#closed.size;
  }

  /**
   * End of the chunks from `from` that fit in the open xorb (or a new one when none is open), counting the
   * chunks still waiting for placement and assuming every chunk is new: the session's rule (raw bytes,
   * serialized bytes, chunk count), so it never closes a xorb in the middle of a push.
   */
  #fitting(seg: PreparedSegment, from: number, to: number): number {
    const o = this.#open;
    const t = this.#t;
    let len = (o?.len ?? 0) + this.#fifoBytes;
    let raw = (o?.raw ?? 0) + this.#fifoRaw;
    let n = (o?.chunks ?? 0) + this.#fifoChunks;
    let i = from;
    for (; i < to; i++) {
      len += seg.recordLengths[i]!;
      raw += seg.ends[i]! - seg.chunkStart(i);
      n++;
      if (len > t.maxXorbBytes || raw > t.maxXorbBytes || n > t.maxXorbChunks) break;
    }
    // An empty xorb takes any chunk.
    if (i === from && !o && this.#fifoChunks === 0) return from + 1;
    return i;
  }

  /** Pushes chunks [from, to) of a prepared segment into the session; returns their raw bytes. */
  #push(seg: PreparedSegment, from: number, to: number): number {
    const s = this.#s;
    let rec = 0;
    const lengths = new Uint32Array(to - from);
    for (let i = from; i < to; i++) {
      lengths[i - from] = seg.ends[i]! - seg.chunkStart(i);
      rec += seg.recordLengths[i]!;
    }
    const raw = seg.ends[to - 1]! - seg.chunkStart(from);
    this.#fifo.push({ seg, next: from, to, off: seg.recordOffset(from) });
    this.#fifoBytes += rec;
    this.#fifoRaw += raw;
    this.#fifoChunks += to - from;
    s.pushChunks(seg.hashes.subarray(32 * from, 32 * to), lengths, seg.recordLengths.subarray(from, to));
    this.#processed += raw;
    this.#pumpQueries();
    this.#takeXorbs();
    return raw;
  }

  #settleFiles(): void {
    while (this.#waitingFiles.length > 0 && this.#waitingFiles[0]!.needXorb < this.#doneBelow) {
      const f = this.#waitingFiles.shift()!;
      this.#filesDone++;
      this.#emit({
        event: "fileProgress",
        path: f.report.path,
        progress: 1,
        state: "uploading",
        processed: f.report.size,
        size: f.report.size,
      });
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

  /**
   * Hands the session's new queries out (answered at once when an early query already has the answer),
   * then starts queries while slots are free: the session's first, then early ones.
   */
  #pumpQueries(): void {
    const s = this.#s;
    const fresh = s.takeQueries();
    if (!this.#t.globalDedup) {
      for (const h of fresh) s.answerQuery(h, undefined);
      if (fresh.length) this.#takeXorbs();
      return;
    }
    for (const h of fresh) {
      if (this.#answers.has(h)) {
        const shard = this.#answers.get(h);
        this.#answers.delete(h);
        this.#answer(h, shard);
      } else {
        this.#wanted.add(h);
        if (!this.#queriesInflight.has(h)) this.#queryQueue.push(h);
      }
    }
    while (this.#queriesInflight.size < this.#t.maxDedupQueries && !this.#ctl.signal.aborted) {
      const hash = this.#queryQueue.shift() ?? this.#prefetchQueue.shift();
      if (hash === undefined) break;
      if (this.#queriesInflight.has(hash) || this.#answers.has(hash)) continue;
      this.#queries++;
      const p = this.#query(hash)
        .then((shard) => {
          if (!this.#session || this.#ctl.signal.aborted) return;
          const answer = this.#resume ? this.#resume.filterAnswer(shard) : shard;
          if (this.#wanted.delete(hash)) this.#answer(hash, answer);
          else this.#keepAnswer(hash, answer);
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

  /** Keeps an early answer until the session asks (bounded: the oldest are dropped). */
  #keepAnswer(hash: string, shard: Uint8Array | undefined): void {
    this.#answers.set(hash, shard);
    if (this.#answers.size > 4096) this.#answers.delete(this.#answers.keys().next().value!);
  }

  /**
   * Early dedup queries for a prepared segment (any order, possibly before its file is reached): its file's
   * first chunk, and every chunk eligible for global dedup (`hash % 1024 == 0`, xet-protocol.md §3.10). The
   * session asks for the same ones when it gets there (unless it knows them locally by then), and finds
   * the answer waiting.
   */
  #prefetch(first: boolean, seg: PreparedSegment): void {
    if (!this.#t.globalDedup || !this.#session || this.#ctl.signal.aborted) return;
    const h = seg.hashes;
    for (let i = 0; i < seg.count; i++) {
      const eligible = h[32 * i + 24] === 0 && (h[32 * i + 25]! & 3) === 0;
      if (!eligible && !(first && i === 0)) continue;
      const hex = rawToHex(h.subarray(32 * i, 32 * i + 32));
      if (!this.#answers.has(hex) && !this.#queriesInflight.has(hex) && !this.#wanted.has(hex)) this.#prefetchQueue.push(hex);
    }
    this.#pumpQueriesSafe();
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

  /**
   * Writes the records of the chunks the session placed into the xorb bodies (the session says which new
   * chunk goes into which xorb; deduplicated chunks are dropped), then takes every closed xorb from the
   * session and starts uploads while slots are free.
   */
  #takeXorbs(): void {
    const s = this.#s;
    const placed = s.takePlacements();
    let done: PreparedSegment[] | undefined;
    for (let k = 0; k < placed.length; k++) {
      const b = this.#fifo[this.#fifoHead]!;
      const i = b.next++;
      const len = b.seg.recordLengths[i]!;
      const raw = b.seg.ends[i]! - b.seg.chunkStart(i);
      const off = b.off;
      b.off += len;
      this.#fifoBytes -= len;
      this.#fifoRaw -= raw;
      this.#fifoChunks--;
      if (b.next === b.to) {
        if (b.to === b.seg.count) (done ??= []).push(b.seg);
        this.#fifo[this.#fifoHead++] = undefined as unknown as RecordBatch;
        if (this.#fifoHead > 1024 && this.#fifoHead * 2 > this.#fifo.length) {
          this.#fifo = this.#fifo.slice(this.#fifoHead);
          this.#fifoHead = 0;
        }
      }
      const id = placed[k]!;
      if (id !== PLACED_DEDUP) this.#append(id, b.seg.records, off, len, raw);
    }
    this.#flushCopy();
    // Every record of these segments is placed: their buffers are reused or freed now.
    if (done) for (const seg of done) this.#recycleSegment(seg);
    for (let x = s.takeXorb(); x !== undefined; x = s.takeXorb()) {
      const id = this.#xorbsTaken++;
      let body = this.#closed.get(id);
      if (body) this.#closed.delete(id);
      else if (this.#open?.id === id) {
        body = this.#open;
        this.#open = undefined;
      }
      if (!body || body.len !== x.serializedBytes) {
        throw new XetBucketsError(
          "INTERNAL",
          `xorb ${id}: ${body?.len ?? "no"} bytes of records assembled for ${x.serializedBytes} serialized bytes`,
        );
      }
      x.data = new Uint8Array(body.buffer, 0, body.len);
      this.#bodyOf.set(x, body.buffer);
      this.#takenRaw += x.rawBytes;
      this.#toSend += x.serializedBytes;
      this.#xorbQueue.push(x);
    }
    this.#launchXorbs();
  }

  /** Copies a new chunk's record into the body of xorb `id` (consecutive records in one copy). */
  #append(id: number, src: Uint8Array, off: number, len: number, raw: number): void {
    if (this.#open?.id !== id) {
      this.#flushCopy();
      if (this.#open) this.#closed.set(this.#open.id, this.#open);
      this.#open = { id, buffer: this.#freeBodies.pop() ?? new ArrayBuffer(this.#t.maxXorbBytes), len: 0, raw: 0, chunks: 0 };
    }
    const body = this.#open;
    body.raw += raw;
    body.chunks++;
    const c = this.#copy;
    if (c && c.body === body && c.src === src && c.end === off) {
      c.end += len;
      return;
    }
    this.#flushCopy();
    this.#copy = { body, src, start: off, end: off + len };
  }

  #flushCopy(): void {
    const c = this.#copy;
    if (!c) return;
    this.#copy = undefined;
    const n = c.end - c.start;
    new Uint8Array(c.body.buffer, c.body.len, n).set(c.src.subarray(c.start, c.end));
    c.body.len += n;
  }

  /**
   * A prepared segment whose records are all placed: its buffer goes back for a later result, or is freed
   * now (prepared results arrive faster than the garbage collector reclaims large buffers).
   */
  #recycleSegment(seg: PreparedSegment): void {
    if (this.#preparer?.recycle(seg.buffer) || this.#inline.recycle(seg.buffer)) return;
    releaseBuffer(new Uint8Array(seg.buffer));
  }

  /** The body buffer of each xorb handed to an upload, reused once the CAS acknowledged it. */
  #bodyOf = new WeakMap<XorbResult, ArrayBuffer>();

  #recycleBody(x: XorbResult): void {
    const buf = this.#bodyOf.get(x);
    this.#bodyOf.delete(x);
    x.data = new Uint8Array(0);
    if (buf && this.#freeBodies.length < this.#t.maxXorbUploads && buf.byteLength === this.#t.maxXorbBytes) this.#freeBodies.push(buf);
    else if (buf) releaseBuffer(new Uint8Array(buf));
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
    const retry =
      this.#http.retry === false
        ? false
        : { ...this.#http.retry, attemptTimeoutMs: this.#retry.attemptTimeoutMs + Math.ceil(size / 131072) * 1000 };
    const cas = new CasClient(this.#cas.tokens, { ...this.#cas.http, retry }, this.#cas.sessionId);
    const onBytes = (n: number) => {
      if (n > (this.#sentPartial.get(idx) ?? 0)) this.#sentPartial.set(idx, n);
      this.#emitBytes(false);
    };
    const body = (): RequestBody => (this.#t.streamUploads ? streamBody(data!, onBytes) : data!);
    // Resume: a xorb an earlier run of this upload stored is not sent again (xet/resume.ts).
    if (this.#resume && (await this.#resume.alreadyStored(this.#cas, x.hash, size, this.#ctl.signal))) {
      this.#recycleBody(x);
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
    data = undefined;
    this.#recycleBody(x);
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
    this.#fifo = [];
    this.#open = undefined;
    this.#closed.clear();
    this.#freeBodies = [];
    this.#session?.free();
    this.#session = undefined;
    this.#preparer?.release();
    this.#preparer = undefined;
    this.#inline.release();
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
