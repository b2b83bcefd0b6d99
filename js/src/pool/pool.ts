/**
 * Where segments of files are prepared (chunked, hashed, compressed; src/prepare.rs): a pool of workers
 * (Node `worker_threads`, or module Web Workers in browsers and Deno) each running its own instance of the
 * core's `WebAssembly.Module`, or this thread (`InlinePreparer`) where workers are off or unavailable.
 *
 * Workers receive each segment's bytes as a transferred `ArrayBuffer` and hand it back with the result
 * (also transferred): nothing is copied between threads and no `SharedArrayBuffer` is needed, so pages need
 * no cross-origin isolation. Each worker runs one segment at a time; jobs wait in one queue, so a slow
 * worker never holds more than its own job.
 *
 * Memory of a worker: its JavaScript isolate (a few MiB) plus its WebAssembly heap, which holds one
 * segment's input and its result (about 2 × segment bytes, kept for reuse).
 *
 * One pool per process is shared by concurrent calls (`acquireWorkerPool`); its workers do not keep Node
 * alive while idle and are stopped after a few idle seconds, which frees their heaps.
 */
import { coreModule, HASHES_ONLY, prepareSegmentInto, type SegmentSpec } from "../core/index.js";
import { XetBucketsError, XetCoreError } from "../errors.js";
import { releaseBuffer } from "../xet/upload-sources.js";
import { PreparedSegment } from "./segment.js";
import { WORKER_SOURCE } from "./worker-source.js";

/**
 * One segment to prepare: `length` bytes of `data` (transferred to the worker and handed back in the
 * output), or of a local file from `file.offset` (preparers with `readsFiles`: the worker reads them into
 * its core's memory, so they never pass through this thread).
 */
export interface SegmentJob extends SegmentSpec {
  data?: ArrayBuffer;
  file?: { path: string; offset: number };
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

/**
 * Size of a result buffer for inputs of `inputBytes` (records ≤ input + 8 per chunk, 40 bytes of metadata
 * per chunk; metadata only without records).
 */
export function packedCapacity(inputBytes: number, compression: number): number {
  const chunks = Math.ceil(inputBytes / 8192) + 2;
  return compression === HASHES_ONLY ? 32 + 40 * chunks : 32 + 48 * chunks + inputBytes;
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
  readonly #spares = new Spares(2);
  prepare(job: SegmentJob): Promise<SegmentOutput> {
    try {
      if (!job.data) throw new XetBucketsError("INVALID_ARGUMENT", "the in-thread preparer needs the segment's bytes");
      const size = packedCapacity(job.data.byteLength, job.compression);
      const { packed, length } = prepareSegmentInto(new Uint8Array(job.data, 0, job.length), job, this.#spares.take(size), size);
      return Promise.resolve({ segment: new PreparedSegment(packed, length), data: job.data });
    } catch (err) {
      return Promise.reject(err);
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

/** The part of a Node or Web Worker the pool uses. */
interface WorkerLike {
  postMessage(msg: unknown, transfer?: Transferable[]): void;
  terminate(): unknown;
}

/** A queued task: the message it posts, and what to do with the worker's answer. */
interface Pending {
  post(id: number): { msg: unknown; transfer: Transferable[] };
  settle(msg: DoneMessage): void;
  reject: (e: unknown) => void;
}

type DoneMessage = Extract<FromWorker, { type: "done" }>;

/** Decoded chunk records (a downloaded range), from `WorkerPool.decode`. */
export interface DecodedRecords {
  count: number;
  lengths: Uint32Array;
  /** 32 raw bytes per chunk. */
  hashes: Uint8Array;
  /** The decoded chunks, concatenated. */
  data: Uint8Array;
}

interface Slot {
  worker: WorkerLike;
  ready: boolean;
  /** Tasks posted to the worker and not answered yet, by id (at most `DEPTH`). */
  busy: Map<number, Pending>;
  ref(): void;
  unref(): void;
}

type FromWorker =
  | { type: "ready" }
  | { type: "fatal"; error: string }
  | {
      type: "done";
      id: number;
      packed?: ArrayBuffer;
      length?: number;
      data?: ArrayBuffer;
      spare?: ArrayBuffer;
      /** The output buffer of a decode job, when the result did not fit in it. */
      unused?: ArrayBuffer;
      error?: string;
      code?: string;
      /** The error is the core's (malformed input), not the worker's. */
      core?: boolean;
      fatal?: boolean;
    };

const isNodeRuntime = (): boolean => {
  const g = globalThis as { process?: { versions?: { node?: string } }; Deno?: unknown; Bun?: unknown };
  return typeof g.process?.versions?.node === "string" && g.Deno === undefined && g.Bun === undefined;
};

/**
 * The error a worker's answer to a `job` or `hash` task carries, if any: a local file that could not be read
 * (SOURCE_CHANGED, READ_FAILED) as itself, any other failure (or an answer without a result) as CHUNKING_FAILED.
 */
function answerFailure(msg: DoneMessage): XetBucketsError | undefined {
  if (msg.code === "SOURCE_CHANGED" || msg.code === "READ_FAILED") return new XetBucketsError(msg.code, msg.error ?? "read failed");
  if (msg.error !== undefined || !msg.packed) return new XetBucketsError("CHUNKING_FAILED", `a chunking worker failed: ${msg.error}`);
  return undefined;
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
  /** Node workers read local files themselves. */
  readsFiles = false;
  readonly #module: WebAssembly.Module;
  readonly #slots: Slot[] = [];
  readonly #queue: Pending[] = [];
  #nextId = 1;
  #users = 0;
  #idleTimer: ReturnType<typeof setTimeout> | undefined;
  #blobUrl: string | undefined;
  #closed = false;
  #nodeWorker: NodeWorkerCtor | undefined;
  readonly #spares: Spares;

  private constructor(width: number, module: WebAssembly.Module) {
    this.width = width;
    this.#module = module;
    this.#spares = new Spares(width);
  }

  recycle(packed: ArrayBuffer): boolean {
    return this.#spares.give(packed);
  }

  /** A pool of `width` workers (started on first use). */
  static async create(width: number): Promise<WorkerPool> {
    const pool = new WorkerPool(width, await coreModule());
    if (isNodeRuntime()) {
      const wt = "node:worker_threads";
      pool.#nodeWorker = ((await import(/* @vite-ignore */ wt)) as unknown as { Worker: NodeWorkerCtor }).Worker;
      pool.readsFiles = true;
    } else if (typeof Worker === "undefined") {
      throw new XetBucketsError("NO_WORKERS", "this runtime has no workers: use workers: 0");
    }
    return pool;
  }

  prepare(job: SegmentJob): Promise<SegmentOutput> {
    if (this.#closed) return Promise.reject(new XetBucketsError("POOL_CLOSED", "the chunking pool was stopped"));
    this.#cancelIdle();
    return new Promise<SegmentOutput>((resolve, reject) => {
      this.#queue.push({
        reject,
        post: (id) => {
          const { data, file, length, start, emitFrom, seam, seamChain, compression } = job;
          const spareSize = packedCapacity(data?.byteLength ?? length, compression);
          const spare = this.#spares.take(spareSize);
          const transfer: Transferable[] = [];
          if (data) transfer.push(data);
          if (spare) transfer.push(spare);
          return {
            msg: { type: "job", id, data, file, length, start, emitFrom, seam, seamChain, compression, spare, spareSize },
            transfer,
          };
        },
        settle: (msg) => {
          const failure = answerFailure(msg);
          if (failure) reject(failure);
          else resolve({ segment: new PreparedSegment(msg.packed!, msg.length), data: msg.data });
        },
      });
      this.#pump();
    });
  }

  /**
   * Decodes and hashes the chunk records in the first `length` bytes of `data` (transferred, handed back)
   * on a worker: what `decodeChunkRecords` does on this thread. Malformed records reject with the core's
   * `XetCoreError`. The result goes into `out` (transferred) when it fits; otherwise `out` comes back as
   * `unused`.
   */
  decode(
    data: ArrayBuffer,
    length: number,
    out?: ArrayBuffer,
  ): Promise<{ decoded: DecodedRecords; data: ArrayBuffer; unused?: ArrayBuffer }> {
    if (this.#closed) return Promise.reject(new XetBucketsError("POOL_CLOSED", "the chunking pool was stopped"));
    this.#cancelIdle();
    return new Promise((resolve, reject) => {
      this.#queue.push({
        reject,
        post: (id) => ({ msg: { type: "decode", id, data, length, out }, transfer: out ? [data, out] : [data] }),
        settle: (msg) => {
          if (msg.core) return reject(new XetCoreError(msg.code ?? "CORE_ERROR", msg.error ?? "undecodable chunk records"));
          if (msg.error !== undefined || !msg.packed || !msg.data)
            return reject(new XetBucketsError("CHUNKING_FAILED", `a chunking worker failed: ${msg.error}`));
          const b = msg.packed;
          const head = new Uint32Array(b, 0, 2);
          const n = head[0]!;
          resolve({
            decoded: {
              count: n,
              lengths: new Uint32Array(b, 16, n),
              hashes: new Uint8Array(b, 16 + 4 * n, 32 * n),
              data: new Uint8Array(b, 16 + 36 * n, head[1]!),
            },
            data: msg.data,
            unused: msg.unused,
          });
        },
      });
      this.#pump();
    });
  }

  /**
   * Xet file hashes of whole local files (Node), on one worker, which reads each `block` bytes at a time into
   * its core's memory: nothing passes through this thread. `sizes` are the sizes the caller saw; a file whose
   * size differs, or that changes while it is read, fails with SOURCE_CHANGED.
   */
  hashFiles(paths: string[], sizes: number[], block = 1024 * 1024): Promise<{ hash: Uint8Array; size: number; chunks: number }[]> {
    if (this.#closed) return Promise.reject(new XetBucketsError("POOL_CLOSED", "the chunking pool was stopped"));
    if (!this.readsFiles) return Promise.reject(new XetBucketsError("INVALID_ARGUMENT", "these workers cannot read local files"));
    this.#cancelIdle();
    return new Promise((resolve, reject) => {
      this.#queue.push({
        reject,
        post: (id) => ({ msg: { type: "hash", id, files: paths, sizes, block }, transfer: [] }),
        settle: (msg) => {
          const failure = answerFailure(msg);
          if (failure) return reject(failure);
          const packed = msg.packed!;
          const dv = new DataView(packed);
          resolve(
            paths.map((_, i) => ({
              hash: new Uint8Array(packed, 48 * i, 32),
              size: dv.getFloat64(48 * i + 32, true),
              chunks: dv.getFloat64(48 * i + 40, true),
            })),
          );
        },
      });
      this.#pump();
    });
  }

  /** Starts every worker now (they start on the first task otherwise), e.g. while the caller lists files. */
  warm(): void {
    if (this.#closed) return;
    this.#cancelIdle();
    while (this.#slots.length < this.width) this.#spawn();
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
      void s.worker.terminate();
    }
    if (this.#blobUrl) URL.revokeObjectURL(this.#blobUrl);
    this.#blobUrl = undefined;
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
          this.#spawn();
          continue;
        }
        // Workers still starting take the next tasks, rather than a busy worker's queue.
        if (!slot || this.#slots.some((s) => !s.ready)) return;
      }
      const p = this.#queue.shift()!;
      const id = this.#nextId++;
      slot.busy.set(id, p);
      slot.ref();
      try {
        const { msg, transfer } = p.post(id);
        slot.worker.postMessage(msg, transfer);
      } catch (err) {
        slot.busy.delete(id);
        if (slot.busy.size === 0) slot.unref();
        p.reject(err);
      }
    }
  }

  #spawn(): void {
    let worker: WorkerLike;
    let slot: Slot;
    const onMessage = (msg: FromWorker) => this.#onMessage(slot, msg);
    const onError = (err: unknown) => this.#onCrash(slot, err);
    if (this.#nodeWorker) {
      const w = new this.#nodeWorker(WORKER_SOURCE, { eval: true });
      w.on("message", onMessage);
      w.on("error", onError);
      w.on("exit", (code: number) => {
        if (!this.#closed && this.#slots.includes(slot)) onError(new Error(`the chunking worker exited (code ${code})`));
      });
      w.unref();
      worker = w;
      slot = { worker, ready: false, busy: new Map(), ref: () => w.ref(), unref: () => w.unref() };
    } else {
      this.#blobUrl ??= URL.createObjectURL(new Blob([WORKER_SOURCE], { type: "text/javascript" }));
      const w = new Worker(this.#blobUrl, { type: "module", name: "xet-buckets chunking" });
      w.addEventListener("message", (ev: MessageEvent<FromWorker>) => onMessage(ev.data));
      w.addEventListener("error", (ev: ErrorEvent) => {
        ev.preventDefault?.();
        onError(new Error(ev.message || "the chunking worker failed to start"));
      });
      worker = w;
      slot = { worker, ready: false, busy: new Map(), ref: () => {}, unref: () => {} };
    }
    this.#slots.push(slot);
    slot.ref();
    worker.postMessage({ type: "init", module: this.#module });
  }

  #onMessage(slot: Slot, msg: FromWorker): void {
    if (msg.type === "ready") {
      slot.ready = true;
      if (slot.busy.size === 0) slot.unref();
      this.#pump();
      return;
    }
    if (msg.type === "fatal") {
      this.#onCrash(slot, new Error(msg.error));
      return;
    }
    const p = slot.busy.get(msg.id);
    slot.busy.delete(msg.id);
    if (slot.busy.size === 0) slot.unref();
    // A spare the worker could not use comes back.
    if (msg.spare && !this.#spares.give(msg.spare)) releaseBuffer(new Uint8Array(msg.spare));
    if (p) {
      try {
        p.settle(msg);
      } catch (err) {
        p.reject(err);
      }
    }
    if (msg.fatal) {
      // The instance is unusable; a task queued behind the failed one went down with it.
      const lost = [...slot.busy.values()];
      slot.busy.clear();
      this.#drop(slot);
      const e = new XetBucketsError("CHUNKING_FAILED", `a chunking worker failed: ${msg.error}`);
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
    void slot.worker.terminate();
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
        for (const s of this.#slots.splice(0)) void s.worker.terminate();
        this.#spares.clear();
      }
    }, IDLE_MS);
    (t as { unref?: () => void }).unref?.();
    this.#idleTimer = t;
  }
}

type NodeWorkerCtor = new (src: string, opts: { eval: boolean }) => WorkerLike & NodeEvents;

interface NodeEvents {
  on(ev: "message", f: (m: FromWorker) => void): void;
  on(ev: "error", f: (e: unknown) => void): void;
  on(ev: "exit", f: (code: number) => void): void;
  ref(): void;
  unref(): void;
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

/** The default number of chunking workers: the cores available, at most 4 (Node); 0 elsewhere. */
export function defaultWorkers(): number {
  if (!isNodeRuntime()) return 0;
  const os = (globalThis as { process?: { getBuiltinModule?: (m: string) => unknown } }).process?.getBuiltinModule?.("node:os") as
    { availableParallelism?: () => number; cpus: () => unknown[] } | undefined;
  const n = os ? (os.availableParallelism?.() ?? os.cpus().length) : 2;
  return Math.max(1, Math.min(4, n));
}
