/**
 * Where segments of files are prepared (chunked, hashed, compressed; src/prepare.rs): a pool of workers
 * each running its own instance of the core's `WebAssembly.Module` (worker.ts, started by the platform:
 * Node `worker_threads`, module Web Workers in browsers, Deno and Bun; messages in protocol.ts), or this
 * thread (`InlinePreparer`) where workers are off or unavailable. The workers also decode downloaded chunk
 * records and hash whole local files.
 *
 * Workers receive each segment's bytes as a transferred `ArrayBuffer` and hand it back with the result
 * (also transferred): nothing is copied between threads and no `SharedArrayBuffer` is needed, so pages need
 * no cross-origin isolation. Each worker runs one segment at a time; jobs wait in one queue, so a slow
 * worker never holds more than its own job. Web Workers read the segments of a Blob (a picked File)
 * themselves: the Blob crosses by reference, and a browser answers several range reads at once faster than
 * one after the other (Chromium here: 1 MiB reads one at a time ≈ 120 MiB/s, 2.5 MiB reads two at a time
 * ≈ 300–450 MiB/s; bench/browser.ts --probe).
 *
 * Memory of a worker: its JavaScript isolate (a few MiB) plus its WebAssembly heap, which holds one
 * segment's input and its result (about 2 × segment bytes, kept for reuse).
 *
 * One pool per process is shared by concurrent calls (`acquireWorkerPool`); its workers do not keep Node
 * alive while idle and are stopped after a few idle seconds, which frees their heaps.
 */
import { chunkingWorkers } from "#platform";
import { releaseBuffer } from "../buffers.js";
import { coreModule, HASHES_ONLY, prepareSegmentInto } from "../core/index.js";
import {
  PreparedSegment,
  preparedCapacity,
  readDecoded,
  readFileHashAnswers,
  type DecodedRecords,
  type FileHashAnswer,
  type SegmentSpec,
} from "../core/packed.js";
import { LocalFileError, XetBucketsError, XetCoreError } from "../errors.js";
import type { WorkerHost, WorkerPort } from "../platform/types.js";
import type { DecodeWrites, FromWorker, TaskDone, TaskFailed, Task, ToWorker } from "./protocol.js";

/**
 * One segment to prepare: `length` bytes of `data` (transferred to the worker and handed back in the
 * output), of a local file from `file.offset` (preparers with `readsFiles`: the worker reads them into
 * its core's memory, so they never pass through this thread), or of a Blob from `blob.offset` (preparers
 * with `readsBlobs`: the worker reads the range itself).
 */
export interface SegmentJob extends SegmentSpec {
  data?: ArrayBuffer;
  file?: { path: string; offset: number };
  blob?: { blob: Blob; offset: number };
  length: number;
}

export interface SegmentOutput {
  segment: PreparedSegment;
  /** The job's input buffer, handed back for reuse (or for a second pass); none for file jobs. */
  data?: ArrayBuffer;
}

/** Prepares segments: on workers or on this thread. */
export interface SegmentPreparer {
  /** Segments prepared at once (workers; 1 on this thread). */
  readonly width: number;
  /** True when jobs may name a local file instead of carrying its bytes. */
  readonly readsFiles: boolean;
  /** True when jobs may name a Blob range instead of carrying its bytes. */
  readonly readsBlobs: boolean;
  prepare(job: SegmentJob): Promise<SegmentOutput>;
  /**
   * Hands back the buffer of a prepared segment nothing uses any more, for a later result (results are
   * written into spent buffers: a fresh multi-MiB buffer costs as much as preparing it). False when it was
   * not kept (too small, or enough spares): the caller frees it.
   */
  recycle(packed: ArrayBuffer): boolean;
  /** Done with it (a shared pool stops its workers once idle). */
  release(): void;
}

/** Spent result buffers, reused for later results. */
class Spares {
  readonly #free: ArrayBuffer[] = [];
  /** The largest size asked for: smaller buffers are not kept. */
  #want = 0;
  constructor(readonly max: number) {}
  take(size: number): ArrayBuffer | undefined {
    this.#want = Math.max(this.#want, size);
    for (let i = this.#free.length - 1; i >= 0; i--) {
      if (this.#free[i]!.byteLength >= size) return this.#free.splice(i, 1)[0];
    }
    return undefined;
  }
  give(b: ArrayBuffer): boolean {
    if (b.byteLength >= this.#want && b.byteLength > 0 && this.#free.length < this.max) {
      this.#free.push(b);
      return true;
    }
    return false;
  }
  clear(): void {
    this.#free.length = 0;
  }
}

/** Prepares on the calling thread, synchronously (the promise is already settled). */
export class InlinePreparer implements SegmentPreparer {
  readonly width = 1;
  readonly readsFiles = false;
  readonly readsBlobs = false;
  readonly #spares = new Spares(2);
  prepare(job: SegmentJob): Promise<SegmentOutput> {
    try {
      if (!job.data) throw new XetBucketsError("INTERNAL", "the in-thread preparer needs the segment's bytes");
      const size = preparedCapacity(job.data.byteLength, job.compression !== HASHES_ONLY);
      const { packed, length } = prepareSegmentInto(new Uint8Array(job.data, 0, job.length), job, this.#spares.take(size), size);
      return Promise.resolve({ segment: new PreparedSegment(packed, length), data: job.data });
    } catch (err) {
      return Promise.reject(internal(err));
    }
  }
  recycle(packed: ArrayBuffer): boolean {
    return this.#spares.give(packed);
  }
  release(): void {
    this.#spares.clear();
  }
}

// ---------------------------------------------------------------------------------------------
// Workers
// ---------------------------------------------------------------------------------------------

/** A queued task: the message it posts, and what to do with the worker's answer. */
interface Pending {
  post(id: number): { msg: Task; transfer: Transferable[] };
  settle(msg: TaskDone | TaskFailed): void;
  reject: (e: unknown) => void;
}

interface Slot {
  worker: WorkerPort<ToWorker>;
  ready: boolean;
  /** Tasks posted to the worker and not answered yet, by id (at most `DEPTH`). */
  busy: Map<number, Pending>;
}

/**
 * The error of a failed `prepare` or `hash` task: a local file that could not be read as listed (SOURCE_CHANGED,
 * READ_FAILED) as itself, any other failure as CHUNKING_FAILED.
 */
function taskError(msg: TaskFailed): XetBucketsError {
  if (msg.kind === "source" && (msg.code === "SOURCE_CHANGED" || msg.code === "READ_FAILED"))
    return new XetBucketsError(msg.code, msg.message);
  return new XetBucketsError("CHUNKING_FAILED", `a chunking worker failed: ${msg.message}`);
}

/** A failure of this module's own reading (core/packed.ts throws plain Errors on malformed buffers): INTERNAL. */
function internal(err: unknown): unknown {
  if (err instanceof XetBucketsError) return err;
  return new XetBucketsError("INTERNAL", `the chunking pool failed: ${(err as Error)?.message ?? err}`, { cause: err });
}

/**
 * Tasks posted to one worker at once: the second waits in the worker's message queue, so the worker starts
 * it as soon as it answers the first, without a round trip through this thread (≈ 10 % of the time of a
 * 1 MiB file). New tasks go to the least loaded worker, so a second one is queued only when every worker
 * is busy.
 */
const DEPTH = 2;

/** Stop idle workers after this long. */
const IDLE_MS = 5000;

export class WorkerPool implements SegmentPreparer {
  readonly width: number;
  /** Node's workers read local files themselves (and write the files of downloads: `decode` with `write`). */
  readonly readsFiles: boolean;
  /** Web Workers read Blob ranges themselves. */
  readonly readsBlobs: boolean;
  readonly #module: WebAssembly.Module;
  readonly #slots: Slot[] = [];
  readonly #queue: Pending[] = [];
  #nextId = 1;
  #users = 0;
  #idleTimer: ReturnType<typeof setTimeout> | undefined;
  #closed = false;
  readonly #host: WorkerHost;
  readonly #spares: Spares;

  private constructor(width: number, module: WebAssembly.Module, host: WorkerHost) {
    this.width = width;
    this.#module = module;
    this.#host = host;
    this.readsFiles = host.readsFiles;
    this.readsBlobs = host.readsBlobs;
    // Results wait for placement after the jobs that made them (ingestion blocks, dedup answers): a few
    // more spares than workers, so that steady uploads reuse every result buffer instead of making new ones.
    this.#spares = new Spares(width + 4);
  }

  recycle(packed: ArrayBuffer): boolean {
    return this.#spares.give(packed);
  }

  /** A pool of `width` workers (started on first use). */
  static async create(width: number): Promise<WorkerPool> {
    const module = await coreModule();
    const host = chunkingWorkers();
    if (!host) throw new XetBucketsError("NO_WORKERS", "this runtime has no workers: use workers: 0");
    return new WorkerPool(width, module, host);
  }

  prepare(job: SegmentJob): Promise<SegmentOutput> {
    return this.#enqueue<SegmentOutput>((resolve, reject) => ({
      reject,
      post: (id) => {
        const { data, file, blob, length, start, emitFrom, seam, seamChain, compression } = job;
        const spareSize = preparedCapacity(data?.byteLength ?? length, compression !== HASHES_ONLY);
        const spare = this.#spares.take(spareSize);
        const transfer: Transferable[] = [];
        if (data) transfer.push(data);
        if (spare) transfer.push(spare);
        return {
          msg: { type: "prepare", id, data, file, blob, length, start, emitFrom, seam, seamChain, compression, spare, spareSize },
          transfer,
        };
      },
      settle: (msg) => {
        if (msg.type === "failed") reject(taskError(msg));
        else resolve({ segment: new PreparedSegment(msg.packed, msg.length), data: msg.data });
      },
    }));
  }

  /**
   * Decodes and hashes the chunk records in the first `length` bytes of `data` (transferred, handed back)
   * on a worker: what `decodeChunkRecords` does on this thread. Malformed records reject with the core's
   * `XetCoreError`. The result goes into `out` (transferred) when it fits; otherwise `out` comes back as
   * `unused`. With `write` (workers that read files also write them: Node), the worker writes the decoded
   * chunks to that file itself and answers with their lengths and hashes (`decoded.data` empty, `written`
   * bytes); a failed write rejects with `LocalFileError`.
   */
  decode(
    data: ArrayBuffer,
    length: number,
    out?: ArrayBuffer,
    write?: DecodeWrites,
  ): Promise<{ decoded: DecodedRecords; data: ArrayBuffer; unused?: ArrayBuffer; written?: number }> {
    if (write && !this.readsFiles) return Promise.reject(new XetBucketsError("INTERNAL", "these workers cannot write local files"));
    return this.#enqueue((resolve, reject) => ({
      reject,
      post: (id) => ({ msg: { type: "decode", id, data, length, out, write }, transfer: out ? [data, out] : [data] }),
      settle: (msg) => {
        if (msg.type === "failed" && msg.kind === "core") return reject(new XetCoreError(msg.code ?? "CORE_ERROR", msg.message));
        if (msg.type === "failed" && msg.kind === "write" && write)
          return reject(new LocalFileError(write.path, Object.assign(new Error(msg.message), { code: msg.errno })));
        if (msg.type === "failed" || !msg.data)
          return reject(
            new XetBucketsError("CHUNKING_FAILED", `a chunking worker failed: ${msg.type === "failed" ? msg.message : "no input back"}`),
          );
        resolve({ decoded: readDecoded(msg.packed), data: msg.data, unused: msg.unused, written: msg.written });
      },
    }));
  }

  /**
   * Xet file hashes of whole local files (Node), on one worker, which reads each `block` bytes at a time into
   * its core's memory: nothing passes through this thread. `sizes` are the sizes the caller saw; a file whose
   * size differs, or that changes while it is read, fails with SOURCE_CHANGED.
   */
  hashFiles(paths: string[], sizes: number[], block = 1024 * 1024): Promise<FileHashAnswer[]> {
    if (!this.readsFiles) return Promise.reject(new XetBucketsError("INTERNAL", "these workers cannot read local files"));
    return this.#enqueue((resolve, reject) => ({
      reject,
      post: (id) => ({ msg: { type: "hash", id, files: paths, sizes, block }, transfer: [] }),
      settle: (msg) => {
        if (msg.type === "failed") reject(taskError(msg));
        else resolve(readFileHashAnswers(msg.packed, paths.length));
      },
    }));
  }

  /** Queues a task (`task` builds it from the promise's settlers) and starts it as soon as a worker is free. */
  #enqueue<T>(task: (resolve: (v: T) => void, reject: (e: unknown) => void) => Pending): Promise<T> {
    if (this.#closed) return Promise.reject(new XetBucketsError("POOL_CLOSED", "the chunking pool was stopped"));
    this.#cancelIdle();
    return new Promise<T>((resolve, reject) => {
      this.#queue.push(task(resolve, reject));
      this.#pump();
    });
  }

  /** Starts every worker now (they start on the first task otherwise), e.g. while the caller lists files. */
  warm(): void {
    if (this.#closed) return;
    this.#cancelIdle();
    while (this.#slots.length < this.width && this.#spawn());
    this.#maybeIdle();
  }

  /** Counts a user of a shared pool (see `acquireWorkerPool`). */
  acquire(): this {
    this.#users++;
    this.#cancelIdle();
    return this;
  }

  release(): void {
    if (this.#users > 0) this.#users--;
    this.#maybeIdle();
  }

  /** Stops every worker; queued and running jobs reject. */
  terminate(): void {
    this.#closed = true;
    this.#cancelIdle();
    this.#spares.clear();
    const err = new XetBucketsError("POOL_CLOSED", "the chunking pool was stopped");
    for (const p of this.#queue.splice(0)) p.reject(err);
    for (const s of this.#slots.splice(0)) {
      for (const p of s.busy.values()) p.reject(err);
      s.busy.clear();
      s.worker.terminate();
    }
    this.#host.close();
    if (sharedPool === this) sharedPool = undefined;
  }

  /** True while a caller holds the pool or a job is queued or running. */
  get inUse(): boolean {
    return this.#users > 0 || this.#queue.length > 0 || this.#slots.some((s) => s.busy.size > 0);
  }

  /** Workers started (for tests and diagnostics). */
  get workers(): number {
    return this.#slots.length;
  }

  #pump(): void {
    while (this.#queue.length > 0) {
      let slot: Slot | undefined;
      for (const s of this.#slots) if (s.ready && s.busy.size < DEPTH && (!slot || s.busy.size < slot.busy.size)) slot = s;
      if (!slot || slot.busy.size > 0) {
        if (this.#slots.length < this.width) {
          if (!this.#spawn()) return;
          continue;
        }
        // Workers still starting take the next tasks, rather than a busy worker's queue.
        if (!slot || this.#slots.some((s) => !s.ready)) return;
      }
      const p = this.#queue.shift()!;
      const id = this.#nextId++;
      slot.busy.set(id, p);
      slot.worker.ref();
      try {
        const { msg, transfer } = p.post(id);
        slot.worker.post(msg, transfer);
      } catch (err) {
        slot.busy.delete(id);
        if (slot.busy.size === 0) slot.worker.unref();
        p.reject(internal(err));
      }
    }
  }

  /** Starts a worker; false when the runtime refused (what waits is then rejected with CHUNKING_FAILED). */
  #spawn(): boolean {
    let worker: WorkerPort<ToWorker>;
    try {
      worker = this.#host.start<ToWorker, FromWorker>({
        message: (msg) => this.#onMessage(slot, msg),
        error: (err) => this.#onCrash(slot, err),
      });
    } catch (err) {
      const e = new XetBucketsError("CHUNKING_FAILED", `a chunking worker could not be started: ${(err as Error)?.message ?? err}`, {
        cause: err,
      });
      for (const q of this.#queue.splice(0)) q.reject(e);
      return false;
    }
    const slot: Slot = { worker, ready: false, busy: new Map() };
    this.#slots.push(slot);
    slot.worker.ref();
    slot.worker.post({ type: "init", module: this.#module }, []);
    return true;
  }

  #onMessage(slot: Slot, msg: FromWorker): void {
    if (msg.type === "ready") {
      slot.ready = true;
      if (slot.busy.size === 0) slot.worker.unref();
      this.#pump();
      return;
    }
    if (msg.type === "fatal") {
      this.#onCrash(slot, new Error(msg.error));
      return;
    }
    const p = slot.busy.get(msg.id);
    slot.busy.delete(msg.id);
    if (slot.busy.size === 0) slot.worker.unref();
    // A spare the worker could not use comes back.
    if (msg.spare && !this.#spares.give(msg.spare)) releaseBuffer(new Uint8Array(msg.spare));
    if (p) {
      try {
        p.settle(msg);
      } catch (err) {
        p.reject(internal(err));
      }
    }
    if (msg.type === "failed" && msg.fatal) {
      // The instance is unusable; a task queued behind the failed one went down with it.
      const lost = [...slot.busy.values()];
      slot.busy.clear();
      this.#drop(slot);
      const e = new XetBucketsError("CHUNKING_FAILED", `a chunking worker failed: ${msg.message}`);
      for (const q of lost) q.reject(e);
    }
    this.#pump();
    this.#maybeIdle();
  }

  #onCrash(slot: Slot, err: unknown): void {
    if (!this.#slots.includes(slot)) return;
    const e = new XetBucketsError("CHUNKING_FAILED", `a chunking worker failed: ${(err as Error)?.message ?? err}`, { cause: err });
    const lost = [...slot.busy.values()];
    slot.busy.clear();
    this.#drop(slot);
    // Their input buffers went to the worker with them: they cannot be run again elsewhere.
    for (const p of lost) p.reject(e);
    if (!slot.ready) {
      // The worker never started: the runtime cannot run these workers. Fail what waits, rather
      // than respawning forever.
      for (const q of this.#queue.splice(0)) q.reject(e);
      return;
    }
    this.#pump();
  }

  #drop(slot: Slot): void {
    const i = this.#slots.indexOf(slot);
    if (i >= 0) this.#slots.splice(i, 1);
    slot.worker.terminate();
  }

  #cancelIdle(): void {
    if (this.#idleTimer !== undefined) clearTimeout(this.#idleTimer);
    this.#idleTimer = undefined;
  }

  #maybeIdle(): void {
    if (this.#closed || this.#users > 0 || this.#queue.length > 0 || this.#slots.some((s) => s.busy.size > 0)) return;
    this.#cancelIdle();
    const t = setTimeout(() => {
      this.#idleTimer = undefined;
      if (this.#users === 0 && this.#queue.length === 0 && !this.#slots.some((s) => s.busy.size > 0)) {
        for (const s of this.#slots.splice(0)) s.worker.terminate();
        this.#spares.clear();
      }
    }, IDLE_MS);
    (t as { unref?: () => void }).unref?.();
    this.#idleTimer = t;
  }
}

let sharedPool: WorkerPool | undefined;
let sharedPending: Promise<WorkerPool> | undefined;

/**
 * The process's shared pool, with at least `width` workers allowed (a wider request replaces an idle
 * narrower pool). Call `release()` when done.
 */
export async function acquireWorkerPool(width: number): Promise<WorkerPool> {
  for (;;) {
    if (sharedPool && sharedPool.width >= width) return sharedPool.acquire();
    // The new pool becomes the shared one as soon as it exists (before `sharedPending` is cleared), so that
    // no call in between starts a second one.
    sharedPending ??= WorkerPool.create(width)
      .then((pool) => {
        // A narrower pool still in use finishes its jobs; its workers stop once idle.
        if (sharedPool && !sharedPool.inUse) sharedPool.terminate();
        sharedPool = pool;
        return pool;
      })
      .finally(() => (sharedPending = undefined));
    await sharedPending;
  }
}
