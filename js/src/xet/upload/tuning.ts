/**
 * Upload options: `UploadTuning` (every knob with its default and its term in the memory bound), their
 * defaults, their validation, and `uploadMemoryBound`, which computes the bound the pipeline's module doc
 * explains (xet/upload/pipeline.ts).
 */
import { compressionCode, MAX_SHARD_BYTES, MAX_XORB_BYTES, MAX_XORB_CHUNKS, type CompressionPolicy } from "../../core/index.js";
import { InvalidArgumentError } from "../../errors.js";
import type { HttpOptions } from "../../http.js";
import { defaultWorkers, streamingUploads } from "#platform";

/**
 * Upload tuning. Every knob states its default and its term in the memory bound (see the module doc of
 * xet/upload/pipeline.ts): `peak ≈ maxXorbUploads × maxXorbBytes + (2 × maxSegments + 2 + 2 × workers) ×
 * (segmentBytes + 512 KiB) + 10 MiB × workers + maxPendingBytes + 4 MiB per GiB of new chunks + ≈75 MiB`,
 * with `maxSegments = workers + 1`.
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

/** The defaults of the upload options (`UploadTuning`), in bytes where a size. */
export const UPLOAD_DEFAULTS = {
  /** Largest xorb sent (40 MiB; the protocol allows 64 MiB). */
  maxXorbBytes: 40 * 1024 * 1024,
  /** Most chunks in a xorb (the protocol's limit, 8192). */
  maxXorbChunks: MAX_XORB_CHUNKS,
  /** Largest shard sent (the protocol's limit, 64 MiB). */
  maxShardBytes: MAX_SHARD_BYTES,
  /** Xorb uploads in flight at once. */
  maxXorbUploads: 2,
  /** Global dedup queries in flight at once. */
  maxDedupQueries: 8,
  /** Bytes of chunks held while their dedup answers are awaited (16 MiB). */
  maxPendingBytes: 16 * 1024 * 1024,
  /** Bytes of a file a chunking worker takes at a time (2 MiB). */
  segmentBytes: 2 * 1024 * 1024,
  /** Bytes read from a source at a time (1 MiB). */
  readBlockBytes: 1024 * 1024,
  /** How new chunks are compressed: the smallest of LZ4 and byte-grouped LZ4 per chunk (raw when neither helps). */
  compression: "best" as CompressionPolicy,
  /** Ask the CAS for chunks it already stores. */
  globalDedup: true,
} as const;

/** Runtime baseline used in `uploadMemoryBound` (Node with the WebAssembly module loaded). */
export const RUNTIME_BASELINE_BYTES = 75 * 1024 * 1024;
/** A worker's isolate and fixed core memory, in `uploadMemoryBound`. */
export const WORKER_BASELINE_BYTES = 10 * 1024 * 1024;
/** The session's chunk metadata per GiB of new chunks (chunk index, shard records), in `uploadMemoryBound`. */
export const METADATA_BYTES_PER_GIB = 4 * 1024 * 1024;

/** Segments dispatched and not yet placed, for `workers` workers. */
export function maxSegmentsFor(workers: number): number {
  return workers > 0 ? workers + 1 : 2;
}

/**
 * The memory bound of the pipeline's module doc for the given options and `bytes` uploaded (the chunk
 * metadata grows with them), in bytes. `workers` defaults to this runtime's default.
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
    throw new InvalidArgumentError(`${name} must be an integer between ${min} and ${max}, got ${v}`);
  }
  return v;
}

/** The tuning of one upload, every knob validated and resolved to its value. */
export interface Tuning {
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

export function resolveTuning(t: UploadTuning, http: HttpOptions): Tuning {
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
    streamUploads: t.streamUploads ?? (streamingUploads && http.fetch === undefined),
  };
  compressionCode(out.compression); // validates it
  return out;
}
