/**
 * Files cut into segments and prepared (chunked, hashed, compressed; src/prepare.rs) ahead of the upload
 * session, in parallel on a `SegmentPreparer` (workers, or this thread), then handed to the session in file
 * order with exactly the boundaries of one sequential pass.
 *
 * Segments: job k of a file gets the bytes [s_k − X, s_k + L + W): a pre-roll X (none for the first job),
 * its segment of L bytes and an overlap W into the next one (src/prepare.rs explains why the chunks agree
 * with the sequential chain). Jobs of several files are in flight at once (across files and across the
 * segments of one large file), at most `maxSegments` at a time. Results arrive in any order; this module
 * consumes them in order and checks each seam: the true position (where the previous job's chunks end) must
 * be the start of one of the job's chunks; when it is not, the job is prepared again with its chain starting
 * there (the sequential fallback, e.g. on constant data). When the previous job's outcome is already known
 * at dispatch, a job starts at the true position directly.
 *
 * Reading: local files in Node are read by the workers themselves, straight into their core's memory (the
 * bytes never pass through this thread); so are Blobs (a picked File) by Web Workers, each reading the
 * ranges of its own jobs; on this thread, local files are read with positional reads into
 * the job buffers; other sources as a stream, the overlap and next pre-roll copied from one job buffer into
 * the next. Job buffers are reused (a worker hands its input back with the result), so at most
 * `maxSegments + 1` exist.
 *
 * Memory: `(maxSegments + 1) × (X + L + W)` of job buffers, plus the prepared results not yet consumed
 * (about L each) — see `UploadTuning` in upload.ts.
 */
import { releaseBuffer } from "../buffers.js";
import { HEADER_ONLY_IF_RAW, type PreparedSegment, type SegmentSpec } from "../core/packed.js";
import { HASHES_ONLY } from "../core/index.js";
import { InvalidArgumentError, XetBucketsError } from "../errors.js";
import { InlinePreparer, type SegmentOutput, type SegmentPreparer } from "../pool/pool.js";
import { localFilesFor } from "../sources.js";
import { blame, readBlocks, type UploadItem } from "./upload-sources.js";

export interface PrepareOptions {
  preparer: SegmentPreparer;
  /** Prepares the small files (`inlineBelow`) on this thread (default: a new `InlinePreparer`). */
  inline?: SegmentPreparer;
  /** `compressionCode(policy)` or `HASHES_ONLY`. */
  compression: number;
  /**
   * True for the files whose chunks stored raw are read again from the source when their xorb is sent: their
   * records leave those payloads out (`HEADER_ONLY_IF_RAW`), so that incompressible bytes are not copied into
   * the records and across threads for nothing.
   */
  rawByReference?: (file: number) => boolean;
  /** L: bytes per segment (≥ 256 KiB). */
  segmentBytes: number;
  /** X: pre-roll before each segment but the first (< L). */
  prerollBytes: number;
  /** W: overlap into the next segment (≥ 131,072, < L). */
  overlapBytes: number;
  /** Jobs dispatched and not yet consumed, at most. */
  maxSegments: number;
  /** Files of at most this many bytes (when their size is known) are prepared on this thread. */
  inlineBelow?: number;
  /** Blocks in which sources other than local files are read (default 1 MiB). */
  readBlockBytes?: number;
  signal: AbortSignal;
  /** Called when a segment is prepared (any order), e.g. to send dedup queries early. `first`: the file's first job. */
  onPrepared?: (file: number, first: boolean, segment: PreparedSegment) => void;
}

/** What the consumer receives, in order: per file `start`, its `chunks` batches, `end`. */
export type PreparedEvent =
  | { type: "start"; file: number }
  | {
      type: "chunks";
      file: number;
      segment: PreparedSegment;
      /** Chunks [from, to) of `segment`. */
      from: number;
      to: number;
      /** File offset of the segment's data[0] (chunk ends are relative to it). */
      base: number;
    }
  | { type: "end"; file: number; size: number };

/** Counters (tests and benchmarks). */
export interface PrepareStats {
  jobs: number;
  /** Jobs prepared a second time because their chain had not met the true one. */
  reruns: number;
  /** Chunks prepared and dropped (before the true position). */
  dropped: number;
}

const MAX_CHUNK = 131072;

interface Job {
  file: number;
  index: number;
  /** File offset of data[0]. */
  base: number;
  length: number;
  spec: SegmentSpec;
  promise: Promise<SegmentOutput>;
  /** The job's bytes: a buffer, or a local file or a Blob the preparer reads. */
  input: { buffer: ArrayBuffer } | { path: string } | { blob: Blob };
  /** File offset where this job's chunks end, once consumed. */
  confirmedEnd?: number;
}

interface FileState {
  jobs: Job[];
  done: boolean;
  /** A check to pass before the file ends (its size did not change while it was read). */
  check?: Promise<void>;
}

/**
 * Prepares `items` and yields their chunks in order. Stop early with `return()` (or by breaking out of a
 * `for await`): the background reader stops, and jobs still running are dropped.
 */
export class PreparedFiles {
  readonly stats: PrepareStats = { jobs: 0, reruns: 0, dropped: 0 };
  readonly #items: UploadItem[];
  readonly #o: Required<Omit<PrepareOptions, "onPrepared" | "inline">> & Pick<PrepareOptions, "onPrepared">;
  readonly #inline: SegmentPreparer;
  readonly #files: FileState[] = [];
  readonly #free: ArrayBuffer[] = [];
  #outstanding = 0;
  /** Bytes of the outstanding jobs, and how many of them hold a job buffer. */
  #outstandingBytes = 0;
  #bufferJobs = 0;
  #error: { error: unknown } | undefined;
  #stopped = false;
  #waiters: (() => void)[] = [];
  readonly #capacity: number;

  constructor(items: UploadItem[], options: PrepareOptions) {
    const o = { inlineBelow: 64 * 1024, readBlockBytes: 1024 * 1024, rawByReference: () => false, ...options };
    if (!(o.overlapBytes >= MAX_CHUNK && o.overlapBytes < o.segmentBytes && o.prerollBytes >= 0 && o.prerollBytes < o.segmentBytes)) {
      throw new InvalidArgumentError(
        `bad segment geometry: segment ${o.segmentBytes}, pre-roll ${o.prerollBytes}, overlap ${o.overlapBytes} (the overlap must be at least ${MAX_CHUNK} bytes, both less than the segment)`,
      );
    }
    this.#items = items;
    this.#o = o;
    this.#inline = o.inline ?? new InlinePreparer();
    this.#capacity = o.prerollBytes + o.segmentBytes + o.overlapBytes;
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<PreparedEvent> {
    const producer = this.#produce().catch((error: unknown) => {
      this.#error ??= { error };
      this.#wake();
    });
    try {
      for (let f = 0; f < this.#items.length; f++) {
        while (this.#files.length <= f) await this.#wait();
        yield { type: "start", file: f };
        const state = this.#files[f]!;
        let pos = 0;
        for (let j = 0; ; j++) {
          while (state.jobs.length <= j && !state.done) await this.#wait();
          if (state.jobs.length <= j) break;
          const job = state.jobs[j]!;
          let out = await job.promise.catch((err: unknown) => {
            throw blame(err, this.#items[f]!);
          });
          this.#check();
          const rel = pos - job.base;
          let from = out.segment.firstChunkAt(rel);
          if (from < 0) {
            // The job's chain did not meet the true chain: prepare it again from the true position.
            this.stats.reruns++;
            const again: SegmentSpec = { ...job.spec, start: rel, emitFrom: rel };
            const first = out.segment;
            const input =
              "path" in job.input
                ? { file: { path: job.input.path, offset: job.base } }
                : "blob" in job.input
                  ? { blob: { blob: job.input.blob, offset: job.base } }
                  : { data: out.data };
            out = await this.#preparerFor(job)
              .prepare({ ...input, length: job.length, ...again })
              .catch((err: unknown) => {
                throw blame(err, this.#items[f]!);
              });
            if (!this.#preparerFor(job).recycle(first.buffer)) releaseBuffer(new Uint8Array(first.buffer));
            this.#check();
            from = 0;
          }
          this.stats.dropped += from;
          const seg = out.segment;
          if (from < seg.count) yield { type: "chunks", file: f, segment: seg, from, to: seg.count, base: job.base };
          else if (!this.#preparerFor(job).recycle(seg.buffer)) releaseBuffer(new Uint8Array(seg.buffer));
          pos = job.base + seg.endAt;
          job.confirmedEnd = pos;
          if (out.data) this.#recycle(out.data);
          this.#outstanding--;
          this.#outstandingBytes -= job.length;
          if ("buffer" in job.input) this.#bufferJobs--;
          this.#wake();
        }
        if (state.check)
          await state.check.catch((err: unknown) => {
            throw blame(err, this.#items[f]!);
          });
        yield { type: "end", file: f, size: pos };
      }
      this.#check();
    } finally {
      this.#stopped = true;
      this.#wake();
      await producer;
      for (const b of this.#free.splice(0)) releaseBuffer(new Uint8Array(b));
    }
  }

  #check(): void {
    if (this.#error) throw this.#error.error;
    this.#o.signal.throwIfAborted();
  }

  #wake(): void {
    const w = this.#waiters;
    this.#waiters = [];
    for (const f of w) f();
  }

  #wait(): Promise<void> {
    this.#check();
    return new Promise<void>((resolve) => {
      const onAbort = () => resolve();
      this.#o.signal.addEventListener("abort", onAbort, { once: true });
      this.#waiters.push(() => {
        this.#o.signal.removeEventListener("abort", onAbort);
        resolve();
      });
    }).then(() => this.#check());
  }

  #buffer(): ArrayBuffer {
    return this.#free.pop() ?? new ArrayBuffer(this.#capacity);
  }

  /** Keeps a job buffer for the next job (at most as many as can be in use); frees the others now. */
  #recycle(b: ArrayBuffer): void {
    if (b.byteLength === this.#capacity && this.#free.length < this.#o.maxSegments + 1) this.#free.push(b);
    else releaseBuffer(new Uint8Array(b));
  }

  #preparerFor(job: Job): SegmentPreparer {
    return this.#inlineFile(job.file) ? this.#inline : this.#o.preparer;
  }

  /** Small files (known size ≤ `inlineBelow`) are prepared on this thread. */
  #inlineFile(f: number): boolean {
    const size = this.#items[f]!.size;
    return size !== undefined && size <= this.#o.inlineBelow;
  }

  /**
   * Reads every file and dispatches its jobs: at most `maxSegments` full jobs' worth of bytes outstanding
   * (so several small files count as one job), at most `maxSegments` of them holding a job buffer.
   */
  async #produce(): Promise<void> {
    for (let f = 0; f < this.#items.length && !this.#stopped; f++) {
      const state: FileState = { jobs: [], done: false };
      this.#files.push(state);
      this.#wake();
      const item = this.#items[f]!;
      try {
        if (item.local && (typeof item.source === "string" || item.source instanceof URL)) await this.#produceLocal(f, item.source, state);
        else if (this.#o.preparer.readsBlobs && typeof Blob !== "undefined" && item.source instanceof Blob && !this.#inlineFile(f))
          await this.#produceBlob(f, item.source, state);
        else await this.#produceStream(f, item, state);
      } catch (err) {
        throw blame(err, item);
      }
      state.done = true;
      this.#wake();
    }
  }

  /** Waits until a job of `length` bytes may go out (`buffered`: it holds a job buffer); false when the consumer stopped. */
  async #slot(length: number, buffered: boolean): Promise<boolean> {
    const full = () =>
      this.#outstanding > 0 &&
      (this.#outstandingBytes + length > this.#o.maxSegments * this.#capacity || (buffered && this.#bufferJobs >= this.#o.maxSegments));
    while (full() && !this.#stopped) await this.#wait();
    return !this.#stopped;
  }

  /** The file bytes of the segment job starting at `s`: from its pre-roll (`base`), `want` of them through its overlap. */
  #window(s: number): { base: number; want: number } {
    const o = this.#o;
    const base = s - Math.min(o.prerollBytes, s);
    return { base, want: s + o.segmentBytes + o.overlapBytes - base };
  }

  /**
   * Dispatches job `index` of file `f`: `length` bytes of `buffer` starting at file offset `base`, whose
   * segment starts at `segStart`; `full` when the buffer holds the whole overlap (then a seam follows).
   */
  #dispatch(state: FileState, f: number, input: Job["input"], base: number, segStart: number, length: number, full: boolean): void {
    const o = this.#o;
    const x = segStart - base;
    const nextBase = this.#window(segStart + o.segmentBytes).base;
    const prev = state.jobs[state.jobs.length - 1];
    let start = 0;
    let emitFrom = x;
    if (prev?.confirmedEnd !== undefined) {
      // The previous job is consumed: its chunks end at the true position; start the chain there.
      start = emitFrom = prev.confirmedEnd - base;
    }
    const spec: SegmentSpec = {
      start,
      emitFrom,
      seam: full ? x + o.segmentBytes : -1,
      seamChain: full ? nextBase - base : 0,
      compression: o.compression !== HASHES_ONLY && o.rawByReference(f) ? o.compression | HEADER_ONLY_IF_RAW : o.compression,
    };
    const job: Job = {
      file: f,
      index: state.jobs.length,
      base,
      length,
      spec,
      input,
      promise: undefined as unknown as Promise<SegmentOutput>,
    };
    const source =
      "path" in input
        ? { file: { path: input.path, offset: base } }
        : "blob" in input
          ? { blob: { blob: input.blob, offset: base } }
          : { data: input.buffer };
    job.promise = this.#preparerFor(job).prepare({ ...source, length, ...spec });
    // Rejections surface where the consumer awaits the job; this handler only keeps them from being
    // reported as unhandled when the consumer stopped first.
    job.promise.catch(() => undefined);
    if (o.onPrepared) {
      const cb = o.onPrepared;
      job.promise.then((out) => cb(f, job.index === 0, out.segment)).catch(() => undefined);
    }
    this.stats.jobs++;
    this.#outstanding++;
    this.#outstandingBytes += length;
    if ("buffer" in input) this.#bufferJobs++;
    state.jobs.push(job);
    this.#wake();
  }

  async #produceLocal(f: number, source: string | URL, state: FileState): Promise<void> {
    const files = localFilesFor("local paths and file: URLs");
    const path = files.toPath(source);
    const o = this.#o;
    if (o.preparer.readsFiles && !this.#inlineFile(f)) {
      // The workers read the file: jobs carry its path and offsets, sized from its length now (no file
      // handle here: two stats per file).
      const sizeNow = async () => (await files.stat(path)).size;
      // The size stated when the upload was resolved, else now.
      const size = this.#items[f]!.size ?? (await sizeNow());
      for (let s = 0; size > 0; s += o.segmentBytes) {
        const { base, want } = this.#window(s);
        const length = Math.min(want, size - base);
        if (!(await this.#slot(length, false))) return;
        this.#dispatch(state, f, { path }, base, s, length, length === want);
        if (length < want) break;
      }
      // A file that grew while it was read would be uploaded cut short (one that shrank fails its reads):
      // checked before the file ends, without holding up the next files.
      state.check = sizeNow().then((now) => {
        if (now !== size) throw new XetBucketsError("SOURCE_CHANGED", `${path} changed size while it was uploaded — retry the upload`);
      });
      state.check.catch(() => undefined);
      return;
    }
    const fh = await files.open(path);
    try {
      for (let s = 0; ; s += o.segmentBytes) {
        const { base, want } = this.#window(s);
        if (!(await this.#slot(want, true))) return;
        const buffer = this.#buffer();
        const view = new Uint8Array(buffer, 0, want);
        let got = 0;
        while (got < want) {
          const bytesRead = await fh.read(view.subarray(got, want), base + got);
          if (bytesRead === 0) break;
          got += bytesRead;
        }
        this.#o.signal.throwIfAborted();
        if (s === 0 && got === 0) {
          this.#recycle(buffer);
          return; // empty file: no job
        }
        this.#dispatch(state, f, { buffer }, base, s, got, got === want);
        if (got < want) return;
      }
    } finally {
      await fh.close();
    }
  }

  /** A Blob whose ranges the workers read themselves (`readsBlobs`): jobs name their range. */
  async #produceBlob(f: number, blob: Blob, state: FileState): Promise<void> {
    const o = this.#o;
    const size = blob.size;
    for (let s = 0; size > 0; s += o.segmentBytes) {
      const { base, want } = this.#window(s);
      const length = Math.min(want, size - base);
      if (!(await this.#slot(length, false))) return;
      this.#dispatch(state, f, { blob }, base, s, length, length === want);
      if (length < want) break;
    }
  }

  async #produceStream(f: number, item: UploadItem, state: FileState): Promise<void> {
    const o = this.#o;
    const it = readBlocks(item, o.readBlockBytes, o.signal)[Symbol.asyncIterator]();
    let block: Uint8Array | undefined;
    let blockOff = 0;
    let eof = false;
    /** Copies stream bytes into `view` from `at`; returns the filled length. */
    const fill = async (view: Uint8Array, at: number): Promise<number> => {
      while (at < view.length && !eof) {
        if (!block || blockOff >= block.length) {
          const r = await it.next();
          if (r.done) {
            eof = true;
            break;
          }
          block = r.value;
          blockOff = 0;
          continue;
        }
        const n = Math.min(view.length - at, block.length - blockOff);
        view.set(block.subarray(blockOff, blockOff + n), at);
        at += n;
        blockOff += n;
      }
      return at;
    };
    try {
      let carry: Uint8Array | undefined;
      for (let s = 0; ; s += o.segmentBytes) {
        const { base, want } = this.#window(s);
        if (!(await this.#slot(want, true))) return;
        const buffer = this.#buffer();
        const view = new Uint8Array(buffer, 0, want);
        let at = 0;
        if (carry) {
          view.set(carry);
          at = carry.length;
        }
        const got = await fill(view, at);
        if (s === 0 && got === 0) {
          this.#recycle(buffer);
          return;
        }
        const full = got === want;
        if (full) {
          // The next job's bytes from its pre-roll on are already here.
          carry = view.slice(this.#window(s + o.segmentBytes).base - base, got);
        }
        this.#dispatch(state, f, { buffer }, base, s, got, full);
        if (!full) return;
      }
    } finally {
      await it.return?.(undefined);
    }
  }
}
