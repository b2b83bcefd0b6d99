/**
 * The deduplicating Xet upload pipeline (xet-protocol.md §8): every file of a call goes through ONE core
 * `UploadSession` (local dedup across all files), global dedup queries are sent for the chunks the core
 * asks about and answered with the CAS's shards, new xorbs are uploaded concurrently (bounded), then the
 * upload shards (v2, falling back to v1). Registering the paths in the bucket is the caller's last step
 * (api/upload.ts), and happens only when everything here succeeded.
 *
 * This file is the coordinator: it owns the session and wires the stages, each of which owns its state:
 *
 *   xet/prepared-files.ts     files cut into segments, chunked, hashed and compressed ahead of the session
 *   upload/dedup-queries.ts   global dedup queries and their answers; pending-bytes back-pressure
 *   upload/xorb-assembly.ts   records of new chunks into xorb bodies (reused buffers)
 *   upload/xorb-uploads.ts    bounded concurrent xorb POSTs, resume skip, which xorbs are stored
 *   upload/shards.ts          upload shards, v2 falling back to v1
 *   upload/progress.ts        counters, progress events, the report's files
 *   upload/control.ts         the abort and first-failure policy
 *   upload/tuning.ts          the options, their defaults and `uploadMemoryBound`
 *
 * Data flow: files are cut into segments that chunking workers (js/src/pool; or this thread with
 * `workers: 0`) chunk, hash and compress in parallel, across files and within large files, ahead of the
 * session (xet/prepared-files.ts keeps the boundaries those of one sequential pass). In file order, each
 * segment's chunk hashes and record lengths go into the session (`pushChunks`), which deduplicates them
 * (ingestion block by ingestion block, as hf_xet) and says where each new chunk goes; the records go into the
 * xorb bodies (the assembly: record headers and compressed payloads are copied, raw chunks of local files and
 * Blobs are referenced and read again when the body is sent), and each closed xorb is uploaded while the next
 * one fills. Dedup queries go out as soon as a segment's chunk hashes are known (its file's first chunk, and
 * chunks with `hash % 1024 == 0`), so a file rarely waits for an answer when the session reaches it; the
 * persistent dedup cache (xet/dedup-cache.ts), when there is one, answers first. Once the shards are
 * registered, the xorbs this upload created are remembered in that cache.
 *
 * Memory (upper bound, all terms in bytes; see `uploadMemoryBound`):
 *
 *   peak ≈ maxXorbUploads × (held + 3 MiB)          xorb bodies: the one being filled and those uploading;
 *                                                   `held` is what a body holds (below), 3 MiB the pieces
 *                                                   a streamed body is read into
 *        + (2 × maxSegments + 2) × segment job       segment buffers (segmentBytes + 512 KiB of pre-roll and
 *                                                   overlap) in flight or reused, and prepared results
 *        + workers × (2 × segment job + 10 MiB)     each worker: its isolate and its core's heap (one input
 *                                                   and one result)
 *        + maxPendingBytes                         records held while their ingestion block (8 MiB, at most
 *                                                   half of this) is open or dedup answers are awaited
 *        + chunk metadata                          ≈ 4 MiB per GiB uploaded: the session's chunk index, the
 *                                                   shard records and the chunks learned from the dedup cache
 *                                                   and dedup answers (in the core), until the end of the call
 *        + 12 MiB                                  the dedup cache's key index (at its 256 MiB bound)
 *        + runtime                                 Node + this package + the WebAssembly module ≈ 50 MiB, and
 *                                                   V8's heap and the core's memory growing under load:
 *                                                   ≈ 105 MiB in all (measured)
 *
 * where maxSegments = workers + 1 (2 without workers), and `held` = 8 bytes per chunk (≤ 64 KiB) + the
 * compressed payloads of its chunks + the raw chunks whose source cannot be read again (streams, async
 * iterables, byte arrays): chunks stored raw from local files and Blobs are read again when the body is sent
 * (xorb-assembly.ts). So `held` ≤ maxXorbBytes + 64 KiB, and ≈ 64 KiB for incompressible local files. A xorb
 * body is filled only while fewer than `maxXorbUploads` others are closed, queued or uploading (`addFiles`
 * waits otherwise): with the default of 2, one xorb fills while one uploads, and when the filled one closes
 * both upload at once (the CAS stores one while receiving the other) until one is acknowledged. With the
 * defaults (64 MiB xorbs, 2 xorb bodies, 2 workers, 2 MiB segments, 16 MiB pending), for a 4 GiB file that is
 * 6 + 20 + 30 + 16 + 16 + 12 + 105 ≈ 205 MiB when it is a local file of incompressible data (measured: 188 MiB),
 * and at most 134 + 20 + 30 + 16 + 16 + 12 + 105 ≈ 333 MiB for data that compresses or comes from a stream. Each
 * further upload in flight adds one body; each further worker about 15 MiB. Raise `maxXorbUploads` on
 * high-latency links where two connections cannot fill the bandwidth; lower `maxXorbBytes` to bound memory
 * for compressible data and streams (e.g. 16 MiB xorbs: ≤ 237 MiB), at the cost of less dedup against a CAS
 * that answers a query with one xorb.
 *
 * Abort and failure (upload/control.ts): one internal AbortController stops every stage (reads, queries,
 * xorb and shard uploads, retry waits) on the caller's abort or on the first failure; the pipeline then
 * rejects with the caller's abort reason or that first failure.
 */
import { compressionCode, initCore, parseShard, UploadSession } from "../../core/index.js";
import { DedupCacheStaleError, XetBucketsError } from "../../errors.js";
import { CasClient } from "../cas.js";
import { PROBE_MODULUS, type DedupCache } from "../dedup-cache.js";
import type { UploadResume } from "../resume.js";
import { acquireWorkerPool, InlinePreparer, type SegmentPreparer } from "../../pool/pool.js";
import type { PreparedSegment } from "../../core/packed.js";
import { PreparedFiles, type PrepareStats } from "../prepared-files.js";
import { releaseBuffer } from "../../buffers.js";
import { blame, sourceRanges, type SourceRanges, type UploadItem } from "../upload-sources.js";
import { UploadControl } from "./control.js";
import { DedupQueries } from "./dedup-queries.js";
import { UploadProgress, type DedupReport, type FileUploadReport, type UploadProgressEvent } from "./progress.js";
import { ShardUploads } from "./shards.js";
import {
  blockBytesFor,
  maxSegmentsFor,
  resolveTuning,
  SEGMENT_OVERLAP_BYTES,
  SEGMENT_PREROLL_BYTES,
  type Tuning,
  type UploadTuning,
} from "./tuning.js";
import { XorbAssembly, type SegmentSource } from "./xorb-assembly.js";
import { XorbUploads } from "./xorb-uploads.js";

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
  /**
   * The persistent dedup cache of the CAS endpoint (xet/dedup-cache.ts): consulted before any dedup query,
   * told about the CAS's answers and, once the shards are registered, about the xorbs this upload created.
   */
  cache?: DedupCache;
  /** Shards whose xorbs are known to be stored (an earlier attempt's, see `DedupCacheStaleError`): learned first. */
  learn?: Uint8Array[];
}

/**
 * One upload: `addFiles` with the items (or `addFile` for each, without read-ahead across files), then
 * `finish` to store everything on the CAS. Always call `close` (in a finally) to stop background work and
 * free the core's memory.
 */
export class UploadPipeline {
  readonly #t: Tuning;
  readonly #ctl: UploadControl;
  /** The caller's client with the pipeline's signal: every request stops with the pipeline. */
  readonly #cas: CasClient;
  #session: UploadSession | undefined;
  #preparer: SegmentPreparer | undefined;
  /** Small files are prepared on this thread (a worker round trip costs more than their bytes). */
  readonly #inline = new InlinePreparer();
  readonly #queries: DedupQueries;
  readonly #assembly: XorbAssembly;
  readonly #uploads: XorbUploads;
  readonly #shards: ShardUploads;
  readonly #progress: UploadProgress;
  readonly #cache: DedupCache | undefined;
  readonly #learned: Uint8Array[];
  /** Chunking counters of the last `addFiles` (tests and benchmarks). */
  prepareStats: PrepareStats = { jobs: 0, reruns: 0, dropped: 0 };

  private constructor(cas: CasClient, opts: PipelineOptions) {
    this.#t = resolveTuning(opts.tuning ?? {}, cas.http);
    this.#ctl = new UploadControl(opts.abortSignal);
    this.#cas = new CasClient(cas.tokens, { ...cas.http, abortSignal: this.#ctl.signal }, cas.sessionId);
    const session = new UploadSession({
      maxXorbBytes: this.#t.maxXorbBytes,
      maxXorbChunks: this.#t.maxXorbChunks,
      maxShardBytes: this.#t.maxShardBytes,
      compression: this.#t.compression,
      blockBytes: blockBytesFor(this.#t),
      // With a cache, chunks with hash % 64 == 0 are probes: looked up in the cache only.
      probeModulus: opts.cache ? PROBE_MODULUS : 0,
    });
    this.#session = session;
    this.#cache = opts.cache;
    this.#learned = opts.learn ?? [];
    for (const shard of this.#learned) session.learnShard(shard);
    this.#queries = new DedupQueries(this.#cas, session, this.#t, this.#ctl, opts.resume, () => this.#takeXorbs(), opts.cache);
    this.#assembly = new XorbAssembly(this.#t, (seg) => this.#recycleSegment(seg));
    this.#uploads = new XorbUploads(this.#cas, this.#t, this.#ctl, opts.resume, {
      stored: () => {
        this.#progress.stored(this.#uploads.storedBelow);
        this.#progress.bytes(true);
      },
      sending: () => this.#progress.bytes(false),
    });
    this.#shards = new ShardUploads(this.#cas, this.#ctl.signal);
    this.#progress = new UploadProgress(
      opts.onEvent,
      () => ({ stats: this.#session?.stats(), sent: this.#uploads.sent, toSend: this.#uploads.toSend }),
      opts.totalBytes,
      opts.fileCount ?? 0,
    );
  }

  /** Loads the core, opens the session and gets the chunking workers (the process's shared pool). */
  static async create(cas: CasClient, opts: PipelineOptions = {}): Promise<UploadPipeline> {
    await initCore();
    const p = new UploadPipeline(cas, opts);
    p.#preparer = p.#t.workers > 0 ? await acquireWorkerPool(p.#t.workers) : p.#inline;
    return p;
  }

  /** Xorb bytes and xorbs sent so far (a failed attempt's share of the call's report). */
  get bytesSent(): number {
    return this.#uploads.bytesSent;
  }
  get xorbsUploaded(): number {
    return this.#uploads.uploaded;
  }

  /** The xorbs the CAS holds, of those this upload formed: a later attempt of the same upload need not send them. */
  get storedXorbs(): ReadonlySet<string> {
    return this.#uploads.stored;
  }
  /** The xorbs whose POST started (the CAS may hold them even when their answer never came). */
  get postedXorbs(): ReadonlySet<string> {
    return this.#uploads.posted;
  }

  /** The internal signal: aborted on the caller's abort or the first failure. */
  get signal(): AbortSignal {
    return this.#ctl.signal;
  }

  get #s(): UploadSession {
    if (!this.#session) throw new XetBucketsError("INVALID_STATE", "the upload pipeline is closed");
    return this.#session;
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
    this.#ctl.check();
    const s = this.#s;
    const reports: FileUploadReport[] = [];
    const workers = this.#t.workers;
    /** Per file: whether its source can be read again (asked once per file, not per segment). */
    const rereadable: (boolean | undefined)[] = [];
    const prepared = new PreparedFiles(items, {
      preparer: this.#preparer ?? this.#inline,
      inline: this.#inline,
      compression: compressionCode(this.#t.compression),
      // The same test as the bodies' (`source` below): then raw payloads come from the source, not the records.
      rawByReference: (f) => this.#assembly.readsSourcesAgain && (rereadable[f] ??= sourceRanges(items[f]!) !== undefined),
      segmentBytes: this.#t.segmentBytes,
      prerollBytes: SEGMENT_PREROLL_BYTES,
      overlapBytes: SEGMENT_OVERLAP_BYTES,
      maxSegments: maxSegmentsFor(workers),
      readBlockBytes: this.#t.readBlockBytes,
      inlineBelow: workers > 0 ? 64 * 1024 : Number.MAX_SAFE_INTEGER,
      signal: this.#ctl.signal,
      onPrepared: (_file, first, segment) => this.#queries.prefetch(first, segment),
    });
    this.prepareStats = prepared.stats;
    let item: UploadItem | undefined;
    let source: SourceRanges | undefined;
    let processed = 0;
    for await (const ev of prepared) {
      if (ev.type === "start") {
        item = items[ev.file]!;
        // Xorb bodies reference the raw chunks of a source that can be read again instead of holding them.
        source = sourceRanges(item);
        s.startFile(false);
        processed = 0;
        this.#progress.hashing(item.path, 0, item.size);
      } else if (ev.type === "chunks") {
        const { segment: seg, to } = ev;
        for (let from = ev.from; from < to;) {
          this.#ctl.check();
          // Push the chunks that fit in the open xorb even if all are new; a xorb closes (and starts
          // uploading) only when it is full and a body is free for the next one.
          const end = this.#assembly.fitting(seg, from, to);
          if (end > from) {
            if (!this.#assembly.filling && this.#bodiesBusy() >= this.#t.maxXorbUploads) {
              await this.#ctl.wait();
              continue;
            }
            processed += this.#push(seg, from, end, source && { source, base: ev.base });
            from = end;
            // Bound what waits: for dedup answers, or (with no answer awaited) for its block to end.
            if (s.pendingBytes > this.#t.maxPendingBytes && !this.#queries.pendingOverBudget) {
              s.sealBlock();
              this.#takeXorbs();
            }
            while (this.#queries.pendingOverBudget) {
              this.#ctl.check();
              await this.#ctl.wait();
            }
            continue;
          }
          if (this.#assembly.unplaced > 0) {
            // Chunks wait for their ingestion block to end or for dedup answers: once placed, the open
            // xorb's fill is exact. The block ends here (no more chunks can be pushed before the xorb
            // closes); then only answers are awaited.
            s.sealBlock();
            this.#takeXorbs();
            if (this.#assembly.unplaced > 0) await this.#ctl.wait();
            continue;
          }
          // The next chunk would close the open xorb: close it now; it uploads while the next one fills.
          s.flushXorb();
          this.#takeXorbs();
        }
        this.#progress.hashing(item!.path, processed, item!.size);
        this.#progress.bytes(false);
      } else {
        reports.push(await this.#finishFile(item!));
      }
    }
    return reports;
  }

  /** Pushes chunks [from, to) of a prepared segment (readable again at `src`) into the session; returns their raw bytes. */
  #push(seg: PreparedSegment, from: number, to: number, src: SegmentSource | undefined): number {
    const lengths = this.#assembly.add(seg, from, to, src);
    this.#s.pushChunks(seg.hashes.subarray(32 * from, 32 * to), lengths, seg.recordLengths.subarray(from, to));
    const raw = seg.ends[to - 1]! - seg.chunkStart(from);
    this.#progress.read(raw);
    this.#queries.pump();
    this.#takeXorbs();
    return raw;
  }

  /**
   * Hands the placements of the session's chunks to the assembly, then every closed xorb (with its body) to
   * the uploads, which start while slots are free.
   */
  #takeXorbs(): void {
    const s = this.#s;
    this.#assembly.place(s.takePlacements());
    for (let x = s.takeXorb(); x !== undefined; x = s.takeXorb()) this.#uploads.add(this.#assembly.take(x));
    this.#uploads.launch();
  }

  /** Xorb bodies that are closed, queued or uploading (not available for filling). */
  #bodiesBusy(): number {
    return this.#uploads.pending + this.#assembly.closedBodies;
  }

  /** Ends the open file: waits for the answers its chunks wait on, then records it. */
  async #finishFile(item: UploadItem): Promise<FileUploadReport> {
    const s = this.#s;
    // Cut the last chunk (it may be the file's first, always queried), then wait for the answers that
    // bytes of this file still wait on: finishFile() would count them as misses. Answers nothing waits
    // on may arrive later; they still serve the next files.
    s.endInput();
    this.#queries.pump();
    this.#takeXorbs();
    while (this.#queries.pendingOnAnswers) {
      this.#ctl.check();
      await this.#ctl.wait();
      this.#queries.pump();
    }
    this.#ctl.check();
    s.resolve();
    const r = s.finishFile(item.sha256?.());
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
      throw blame(
        new XetBucketsError(
          "SOURCE_CHANGED",
          `${item.path}: expected ${item.size} bytes, read ${r.size}; the source changed while it was uploaded — retry the upload`,
        ),
        item,
      );
    }
    // Its data is stored once every xorb up to the one holding its last new chunk is uploaded. When the
    // core's open xorb is empty, that is the last xorb taken; otherwise the next one.
    let needXorb = -1;
    if (r.newBytes > 0) {
      const openEmpty = this.#assembly.takenRaw >= s.stats().newBytes;
      needXorb = openEmpty ? this.#assembly.taken - 1 : this.#assembly.taken;
    }
    this.#progress.hashed(report, needXorb, this.#uploads.storedBelow);
    return report;
  }

  /**
   * A prepared segment whose records are all placed: its buffer goes back for a later result, or is freed
   * now (prepared results arrive faster than the garbage collector reclaims large buffers).
   */
  #recycleSegment(seg: PreparedSegment): void {
    if (this.#preparer?.recycle(seg.buffer) || this.#inline.recycle(seg.buffer)) return;
    releaseBuffer(new Uint8Array(seg.buffer));
  }

  // ----- the end ----------------------------------------------------------------------------

  /**
   * Flushes the last xorb, waits for every xorb upload, then uploads the shards. After this resolves the
   * CAS knows every file of the call; nothing is registered in the bucket yet.
   */
  async finish(): Promise<DedupReport> {
    this.#ctl.check();
    const s = this.#s;
    s.flushXorb();
    this.#takeXorbs();
    while (this.#uploads.pending > 0) {
      this.#ctl.check();
      await this.#ctl.wait();
    }
    this.#ctl.check();
    this.#progress.stored(this.#uploads.storedBelow);
    this.#progress.phase("uploadingShards");
    const shards: Uint8Array[] = [];
    for (let shard = s.takeShard(); shard !== undefined; shard = s.takeShard()) shards.push(shard);
    try {
      for (const shard of shards) {
        this.#ctl.check();
        await this.#shards.upload(shard);
      }
    } catch (err) {
      throw await this.#staleCache(err, shards);
    }
    this.#ctl.check();
    // Registered: the next uploads from this machine find these xorbs in the cache.
    if (this.#cache) {
      // With what an earlier attempt stored (`learn`), which this attempt's shards reference without listing.
      this.#cache.rememberUpload([...this.#learned, ...shards]);
      await this.#cache.trim();
    }
    this.#progress.bytes(true);
    const st = s.stats();
    const files = this.#progress.files;
    return {
      files: files.length,
      logicalBytes: files.reduce((a, f) => a + f.size, 0),
      newBytes: st.newBytes,
      bytesSent: this.#uploads.bytesSent,
      dedupLocalBytes: st.dedupLocalBytes,
      dedupGlobalBytes: st.dedupGlobalBytes,
      chunks: st.chunks,
      xorbs: this.#uploads.uploaded,
      xorbsAlreadyStored: this.#uploads.alreadyStored,
      shards: this.#shards.count,
      shardBytes: this.#shards.bytes,
      dedupQueries: this.#queries.sent,
      dedupQueryHits: this.#queries.hits,
      dedupQueryFailures: this.#queries.failures,
      dedupCacheHits: this.#queries.cacheHits,
      dedupCacheEntriesWritten: this.#cache?.written ?? 0,
      perFile: [...files],
    };
  }

  /**
   * A shard was refused. When it references xorbs this upload took from the dedup cache, the CAS may no
   * longer have some (`HEAD /v1/xorbs/…`): their entries are evicted and a `DedupCacheStaleError` says what
   * is missing and what this attempt stored, for the caller to run the upload again. Anything else: `err`.
   */
  async #staleCache(err: unknown, shards: Uint8Array[]): Promise<unknown> {
    const cache = this.#cache;
    const fromCache = this.#queries.cacheXorbs;
    if (!cache || fromCache.size === 0 || this.#ctl.signal.aborted) return err;
    const referenced = new Set<string>();
    for (const shard of shards) {
      for (const f of parseShard(shard).files) for (const t of f.terms) if (fromCache.has(t.xorb)) referenced.add(t.xorb);
    }
    const missing: string[] = [];
    const list = [...referenced];
    for (let i = 0; i < list.length; i += 8) {
      const batch = list.slice(i, i + 8);
      const held = await Promise.all(batch.map((h) => this.#held(h)));
      batch.forEach((h, k) => held[k] || missing.push(h));
    }
    if (missing.length === 0) return err;
    await cache.evictXorbs(missing);
    return new DedupCacheStaleError(missing, shards, { bytes: this.#uploads.bytesSent, xorbs: this.#uploads.uploaded }, err);
  }

  /** Whether the CAS holds xorb `hash` (`HEAD`); a failed check counts as "not held". */
  async #held(hash: string): Promise<boolean> {
    try {
      return await this.#cas.requestRead(`/v1/xorbs/default/${hash}`, { method: "HEAD", accept: [404] }, async (res) => {
        await res.body?.cancel();
        return res.status !== 404;
      });
    } catch {
      return false;
    }
  }

  /** Stops background work, waits for it to settle and frees the core's memory. Safe to call twice. */
  async close(): Promise<void> {
    this.#ctl.stop(new XetBucketsError("CLOSED", "upload pipeline closed"));
    for (;;) {
      const running = [...this.#uploads.running(), ...this.#queries.running()];
      if (running.length === 0) break;
      await Promise.allSettled(running);
    }
    this.#uploads.close();
    this.#assembly.close();
    this.#queries.close();
    this.#session?.free();
    this.#session = undefined;
    this.#preparer?.release();
    this.#preparer = undefined;
    this.#inline.release();
  }
}
