/**
 * Messages between the chunking pool (pool.ts) and its workers (worker.ts). Buffers travel as transferred
 * `ArrayBuffer`s (moved, never copied; no SharedArrayBuffer): the input of a task goes to the worker and comes
 * back with the answer so that the pool reuses it; results are written into spent buffers the pool sends
 * along (`spare`, `out`) when they fit. Results are in the packed formats of core/packed.ts.
 *
 *   pool → worker                                  worker → pool
 *   init (the core's compiled module)              ready | fatal
 *   prepare (a segment: bytes, a file or Blob range)  done (a prepared segment) | failed
 *   decode (downloaded chunk records)              done (decoded records) | failed
 *   hash (whole local files)                       done (file hash answers) | failed
 */
import type { SegmentSpec } from "../core/packed.js";
import type { ErrorCode } from "../errors.js";

export interface InitMessage {
  type: "init";
  /** The core, compiled once by the pool's thread; each worker instantiates it. */
  module: WebAssembly.Module;
}

/**
 * Prepare one segment (src/prepare.rs): `length` bytes of `data`, or (workers that read files) of the local
 * file `file` from `file.offset`, read straight into the core's memory.
 */
export interface PrepareTask extends SegmentSpec {
  type: "prepare";
  id: number;
  data?: ArrayBuffer;
  file?: { path: string; offset: number };
  /** Or (workers that read Blobs) `length` bytes of a Blob from `offset`, read by the worker. */
  blob?: { blob: Blob; offset: number };
  length: number;
  /** A spent result buffer to write the result into, when it fits. */
  spare?: ArrayBuffer;
  /** The size of a new result buffer when `spare` does not fit (the pool's standard size). */
  spareSize: number;
}

/**
 * Decode and hash the chunk records in the first `length` bytes of `data` (a downloaded range). With `write`
 * (workers that write files), the worker writes the decoded chunks to that file itself, where `runs` say, and
 * answers with their lengths and hashes only.
 */
export interface DecodeTask {
  type: "decode";
  id: number;
  data: ArrayBuffer;
  length: number;
  /** A spent output buffer to write the result into, when it fits. */
  out?: ArrayBuffer;
  write?: DecodeWrites;
}

/**
 * Where a decode task's chunks go in a local file (opened by path for writing, never created: a file removed
 * meanwhile fails the task). `runs` holds 5 numbers per write: the first chunk and the end chunk (indices in
 * the task's records), bytes of those chunks to skip, bytes to write, file position.
 */
export interface DecodeWrites {
  path: string;
  runs: number[];
}

/**
 * The Xet file hashes of whole local files (workers that read files), each read `block` bytes at a time into
 * the core's memory. `sizes`: the sizes the pool saw; a file of another size is SOURCE_CHANGED.
 */
export interface HashTask {
  type: "hash";
  id: number;
  files: string[];
  sizes: number[];
  block: number;
}

export type Task = PrepareTask | DecodeTask | HashTask;

export type ToWorker = InitMessage | Task;

/** A task's result: the first `length` bytes of `packed`, in the task's packed format. */
export interface TaskDone extends HandedBack {
  type: "done";
  id: number;
  packed: ArrayBuffer;
  length: number;
  /** A decode task with `write`: the bytes it wrote. */
  written?: number;
}

/**
 * Why a task failed: `source`, a local file that could not be read as listed (`code` SOURCE_CHANGED: gone,
 * shorter or another size; READ_FAILED: any other read error); `core`, input the core refused (`code`: the
 * core's error code, e.g. a malformed chunk record); `write`, a decode task's file could not be written
 * (`errno`: the system's code, e.g. ENOSPC); `worker`, anything else.
 */
export type FailureKind = "source" | "core" | "write" | "worker";

export interface TaskFailed extends HandedBack {
  type: "failed";
  id: number;
  kind: FailureKind;
  code?: ErrorCode;
  /** `write` failures: the system's error code (ENOSPC, EACCES, ENOENT…). */
  errno?: string;
  message: string;
  /** The worker's core trapped: it is unusable (a task queued behind this one is lost with it). */
  fatal: boolean;
}

/** Buffers of the task handed back to the pool (transferred). */
interface HandedBack {
  /** The task's input. */
  data?: ArrayBuffer;
  /** The spare the worker did not use (too small). */
  spare?: ArrayBuffer;
  /** A decode task's output buffer, when the result did not fit in it. */
  unused?: ArrayBuffer;
}

export type FromWorker = { type: "ready" } | { type: "fatal"; error: string } | TaskDone | TaskFailed;
