/**
 * The chunking worker: one instance of the core per worker, running the pool's tasks (protocol.ts) through
 * the core's worker ABI (src/wasm.rs `xb_*`; formats in core/packed.ts): preparing segments of files
 * (src/prepare.rs), decoding downloaded chunk records, hashing whole local files.
 *
 * The code runs inside the worker, bundled at build (scripts/build.mjs `buildWorkers`) from its entry for
 * each kind of thread, worker-node.ts (`worker_threads`, which also reads local files) and worker-web.ts
 * (module Web Workers), into one self-contained script per kind that the platform starts
 * (js/src/platform/generated/): no file next to the package to locate, the same text in every bundle.
 *
 * The module the pool posts is instantiated with every import stubbed: the worker ABI reaches none of them.
 */
import {
  decodeInCore,
  fileHashAnswers,
  invalidSegment,
  packDecoded,
  prepareInCore,
  readCoreError,
  writeFileHashAnswer,
  type ChunkViews,
  type WorkerAbi,
} from "../core/packed.js";
import { releaseBuffer } from "../buffers.js";
import type { ErrorCode } from "../errors.js";
import type { DecodeTask, DecodeWrites, FailureKind, FromWorker, HashTask, PrepareTask, TaskFailed, ToWorker } from "./protocol.js";

/** What a worker needs from its thread. */
export interface WorkerThread {
  post(msg: FromWorker, transfer?: Transferable[]): void;
  /** Reads of local files (Node's workers); undefined where tasks carry their bytes. */
  files?: FileReads;
  /** Writes of local files (Node's workers: downloads written where they are decoded); undefined elsewhere. */
  writes?: FileWrites;
}

/** Synchronous writes of local files. Errors are the runtime's, with its `code` (e.g. ENOSPC). */
export interface FileWrites {
  /** Opens an existing file for writing at positions (never creates it). */
  openWrite(path: string): number;
  /** Writes `buffers`, in order, at file position `position`; returns the bytes written (perhaps fewer). */
  writev(fd: number, buffers: Uint8Array[], position: number): number;
  close(fd: number): void;
}

/** Synchronous reads of local files (file descriptors). Errors are the runtime's, with its `code` (e.g. ENOENT). */
export interface FileReads {
  open(path: string): number;
  size(fd: number): number;
  /** Reads into `into` at file position `position`; returns the bytes read (0 at the end). */
  read(fd: number, into: Uint8Array, position: number): number;
  close(fd: number): void;
}

/** A task's failure, as the pool should see it (`TaskFailed.kind`, `code`). */
class TaskError extends Error {
  constructor(
    readonly kind: FailureKind,
    readonly code: ErrorCode | undefined,
    message: string,
    readonly errno?: string,
  ) {
    super(message);
  }
}

/** The answer to a failed task: a trap (a panic in the core) leaves the instance unusable, fatal for this worker. */
function failure(id: number, e: unknown, suffix = ""): TaskFailed {
  const fatal = e instanceof WebAssembly.RuntimeError;
  const message = String((e as Error | undefined)?.message ?? e) + (fatal ? suffix : "");
  if (e instanceof TaskError) {
    const f: TaskFailed = { type: "failed", id, kind: e.kind, code: e.code, message, fatal };
    if (e.errno !== undefined) f.errno = e.errno;
    return f;
  }
  return { type: "failed", id, kind: "worker", message, fatal };
}

/** A failed write of a local file: its system code travels with it. */
function writeFailure(e: unknown): TaskError {
  const code = (e as { code?: unknown } | undefined)?.code;
  return new TaskError("write", undefined, String((e as Error | undefined)?.message ?? e), typeof code === "string" ? code : undefined);
}

/**
 * Writes decoded chunks (`views`, in the core's `memory`) to a local file where `write.runs` say: one
 * vectored write per run, of views of the core's memory (nothing copied here).
 */
function writeRuns(writes: FileWrites, memory: ArrayBuffer, views: ChunkViews, write: DecodeWrites): number {
  if (write.runs.length === 0) return 0;
  let fd: number;
  try {
    fd = writes.openWrite(write.path);
  } catch (e) {
    throw writeFailure(e);
  }
  let written = 0;
  try {
    const { runs } = write;
    for (let r = 0; r + 5 <= runs.length; r += 5) {
      const [first, end, skip, take, position] = runs.slice(r, r + 5) as [number, number, number, number, number];
      if (first < 0 || end > views.count || first >= end)
        throw new Error(`write run of chunks ${first}-${end} outside the task's ${views.count}`);
      let buffers: Uint8Array[] = [];
      let toSkip = skip;
      let left = take;
      for (let c = first; c < end && left > 0; c++) {
        const at = views.places[2 * c]!;
        const len = views.places[2 * c + 1]!;
        if (toSkip >= len) {
          toSkip -= len;
          continue;
        }
        const n = Math.min(len - toSkip, left);
        buffers.push(new Uint8Array(memory, at + toSkip, n));
        left -= n;
        toSkip = 0;
      }
      if (left > 0) throw new Error(`write run of ${take} bytes longer than its chunks`);
      // A short write continues where it stopped.
      let pos = position;
      while (buffers.length > 0) {
        let n: number;
        try {
          n = writes.writev(fd, buffers, pos);
        } catch (e) {
          throw writeFailure(e);
        }
        if (n <= 0) throw writeFailure(new Error(`wrote nothing at position ${pos}`));
        pos += n;
        written += n;
        while (buffers.length > 0 && n >= buffers[0]!.length) n -= buffers.shift()!.length;
        if (n > 0) buffers = [buffers[0]!.subarray(n), ...buffers.slice(1)];
      }
    }
  } finally {
    try {
      writes.close(fd);
    } catch {
      // written or failed already; closing cannot lose what was written
    }
  }
  return written;
}

/** Returns the worker's message handler. */
export function chunkingWorker(thread: WorkerThread): (msg: ToWorker) => void {
  let abi: WorkerAbi | undefined;
  const core = (): WorkerAbi => {
    if (!abi) throw new Error("the chunking worker got a task before its core");
    return abi;
  };

  const files = (): FileReads => {
    if (!thread.files) throw new Error("this worker cannot read local files");
    return thread.files;
  };

  /** Opens a local file; a file gone since it was listed is SOURCE_CHANGED. */
  const openFile = (path: string): number => {
    try {
      return files().open(path);
    } catch (e) {
      const code = (e as { code?: unknown }).code === "ENOENT" ? "SOURCE_CHANGED" : "READ_FAILED";
      throw new TaskError("source", code, `cannot open ${path}: ${(e as Error).message}`);
    }
  };

  /** Reads `view.length` bytes of a local file at `offset` into `view` (the core's memory: no copy through the pool). */
  const readInto = (view: Uint8Array, file: { path: string; offset: number }): void => {
    const fd = openFile(file.path);
    try {
      let got = 0;
      while (got < view.length) {
        const n = files().read(fd, view.subarray(got), file.offset + got);
        if (n === 0) break;
        got += n;
      }
      if (got < view.length) {
        throw new TaskError(
          "source",
          "SOURCE_CHANGED",
          `${file.path} is shorter than when the upload started (${file.offset + got} bytes): it changed while it was read`,
        );
      }
    } finally {
      files().close(fd);
    }
  };

  const init = (module: WebAssembly.Module): void => {
    try {
      const imports: Record<string, Record<string, () => never>> = {};
      for (const imp of WebAssembly.Module.imports(module)) {
        if (imp.kind !== "function") throw new Error(`the core imports a ${imp.kind} (${imp.name})`);
        (imports[imp.module] ??= {})[imp.name] = () => {
          throw new Error(`xet-buckets chunking worker: unexpected call to ${imp.name}`);
        };
      }
      const exports = new WebAssembly.Instance(module, imports).exports as unknown as WorkerAbi;
      if (typeof exports.xb_prepare !== "function") throw new Error("this core has no worker ABI (xb_prepare)");
      abi = exports;
      thread.post({ type: "ready" });
    } catch (e) {
      thread.post({ type: "fatal", error: String((e as Error | undefined)?.message ?? e) });
    }
  };

  /**
   * Chunk records of a downloaded range, decoded and hashed; the input handed back for reuse. The core leaves
   * each chunk where it is (raw) or decompresses it; the chunks are then copied once, into the answer, or
   * written to the task's file straight from the core's memory (the answer then carries lengths and hashes).
   */
  const decode = (m: DecodeTask): void => {
    const data = m.data;
    try {
      const ex = core();
      const views = decodeInCore(ex, new Uint8Array(data, 0, m.length));
      if (!views) {
        const { code, message } = readCoreError(ex);
        throw new TaskError("core", code as ErrorCode, message);
      }
      let written: number | undefined;
      if (m.write) {
        if (!thread.writes) throw new Error("this worker cannot write local files");
        written = writeRuns(thread.writes, ex.memory.buffer, views, m.write);
      }
      // Into the caller's spent output buffer when it fits (no new multi-MiB buffer).
      const given = m.out;
      const { packed, length } = packDecoded(ex.memory.buffer, views, given, !m.write);
      const done = { type: "done" as const, id: m.id, packed, length, data, ...(written !== undefined && { written }) };
      if (given && packed !== given) thread.post({ ...done, unused: given }, [packed, data, given]);
      else thread.post(done, [packed, data]);
    } catch (e) {
      const msg: TaskFailed = { ...failure(m.id, e), data };
      if (m.out) msg.unused = m.out;
      thread.post(msg, m.out ? [data, m.out] : [data]);
    }
  };

  /** Xet file hashes of whole local files, each read block by block into the core's memory and hashed there. */
  const hash = (m: HashTask): void => {
    const out = fileHashAnswers(m.files.length);
    let current = "";
    try {
      const ex = core();
      const ptr = ex.xb_input(m.block) >>> 0;
      for (let i = 0; i < m.files.length; i++) {
        const path = (current = m.files[i]!);
        const fd = openFile(path);
        try {
          const size = files().size(fd);
          if (size !== m.sizes[i]) {
            throw new TaskError("source", "SOURCE_CHANGED", `${path} changed while it was hashed (${size} bytes, was ${m.sizes[i]})`);
          }
          ex.xb_hash_begin();
          let pos = 0;
          for (;;) {
            // A new view every time: the core's memory may have grown (and moved) meanwhile.
            const n = files().read(fd, new Uint8Array(ex.memory.buffer, ptr, m.block), pos);
            if (n === 0) break;
            ex.xb_hash_update(n);
            pos += n;
          }
          if (pos !== size) {
            throw new TaskError("source", "SOURCE_CHANGED", `${path} changed while it was hashed (read ${pos} of ${size} bytes)`);
          }
          writeFileHashAnswer(out, i, ex.memory.buffer, ex.xb_hash_finish() >>> 0, size);
        } finally {
          files().close(fd);
        }
      }
      thread.post({ type: "done", id: m.id, packed: out, length: out.byteLength }, [out]);
    } catch (e) {
      thread.post(failure(m.id, e, ` (hashing ${current})`));
    }
  };

  /**
   * A Blob range read by this worker, then prepared (the read overlaps the preparation of the task before it).
   * A Blob that cannot be read (a File changed or deleted on disk) is READ_FAILED; one now shorter,
   * SOURCE_CHANGED.
   */
  const prepareBlob = async (m: PrepareTask & { blob: { blob: Blob; offset: number } }): Promise<void> => {
    let read: Uint8Array<ArrayBuffer>;
    try {
      const { blob, offset } = m.blob;
      try {
        read = new Uint8Array(await blob.slice(offset, offset + m.length).arrayBuffer());
      } catch (e) {
        throw new TaskError("source", "READ_FAILED", `the Blob could not be read: ${(e as Error)?.message ?? e}`);
      }
      if (read.length !== m.length) {
        throw new TaskError("source", "SOURCE_CHANGED", `the Blob is shorter than when the upload started (${offset + read.length} bytes)`);
      }
    } catch (e) {
      thread.post({ ...failure(m.id, e), spare: m.spare }, m.spare ? [m.spare] : []);
      return;
    }
    prepare(m, read);
    // In the core now: freed at once (a new buffer per read otherwise waits for the collector: reading 1 GiB
    // in 2.5 MiB slices, Chromium held ≈ 180 MiB more; bench/browser.ts --probe).
    releaseBuffer(read);
  };

  /**
   * One segment prepared into the spare buffer the pool sent (a fresh multi-MiB buffer costs as much as
   * preparing it). `read`: the bytes of a Blob task, read by this worker (not handed back).
   */
  const prepare = (m: PrepareTask, read?: Uint8Array): void => {
    const data = m.data;
    const back: Transferable[] = data ? [data] : [];
    try {
      const ex = core();
      const ptr = ex.xb_input(m.length) >>> 0;
      if (m.file) readInto(new Uint8Array(ex.memory.buffer, ptr, m.length), m.file);
      else if (read) new Uint8Array(ex.memory.buffer, ptr, m.length).set(read);
      else if (data) new Uint8Array(ex.memory.buffer, ptr, m.length).set(new Uint8Array(data, 0, m.length));
      else throw new Error("a prepare task without data or file");
      const out = prepareInCore(ex, m.length, m);
      if (!out) throw new Error(invalidSegment(m, m.length));
      const length = out.length;
      const spare = m.spare;
      const fits = spare !== undefined && spare.byteLength >= length;
      const packed = fits ? spare : new ArrayBuffer(Math.max(length, m.spareSize));
      new Uint8Array(packed, 0, length).set(out);
      // A spare too small goes back too (the pool frees it): nothing large stays here for the collector.
      if (spare && !fits) thread.post({ type: "done", id: m.id, packed, length, data, spare }, [packed, ...back, spare]);
      else thread.post({ type: "done", id: m.id, packed, length, data }, [packed, ...back]);
    } catch (e) {
      thread.post({ ...failure(m.id, e), data, spare: m.spare }, m.spare ? [...back, m.spare] : back);
    }
  };

  return (msg) => {
    switch (msg.type) {
      case "init":
        return init(msg.module);
      case "decode":
        return decode(msg);
      case "hash":
        return hash(msg);
      case "prepare":
        return msg.blob ? void prepareBlob(msg as PrepareTask & { blob: { blob: Blob; offset: number } }) : prepare(msg);
    }
  };
}
