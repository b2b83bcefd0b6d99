/**
 * Upload options: `UploadTuning` (every knob with its default and its term in the memory bound), their
 * defaults, their validation, and `uploadMemoryBound`, which computes the bound the pipeline's module doc
 * explains (xet/upload/pipeline.ts).
 */
import {
  compressionCode,
  DEFAULT_BLOCK_BYTES,
  MAX_SHARD_BYTES,
  MAX_XORB_BYTES,
  MAX_XORB_CHUNKS,
  type CompressionPolicy,
} from "../../core/index.js";
import { InvalidArgumentError } from "../../errors.js";
import type { HttpOptions } from "../../http.js";
import { defaultWorkers, isRangeFetch, streamingUploads } from "#platform";

/**
 * Upload tuning. Every knob states its default and its term in the memory bound (see the module doc of
 * xet/upload/pipeline.ts): `peak ≈ maxXorbUploads × (held + 3 MiB) + (2 × maxSegments + 2 + 2 × workers) ×
 * (segmentBytes + 512 KiB) + 10 MiB × workers + maxPendingBytes + 4 MiB per GiB + 12 MiB + ≈105 MiB`,
 * with `maxSegments = workers + 1` and `held` what one xorb body holds: at most `maxXorbBytes` + 64 KiB,
 * about 64 KiB for incompressible chunks of local files and Blobs (read again when the xorb is sent).
 */
export interface UploadTuning {
  /**
   * Largest xorb: the sum of its chunk lengths (default and maximum 64 MiB, as hf_xet's: the same xorbs, so
   * the same dedup against any server). Term: `maxXorbUploads × held`, where a body holds its record headers
   * and compressed payloads, plus the raw chunks of sources that are not read again (streams, async
   * iterables, byte arrays); chunks stored raw from local files and Blobs are read again when the xorb is
   * sent. Smaller xorbs lower memory for compressible data and streams (edge runtimes, small browser tabs)
   * at the cost of more requests and of less dedup against servers that answer with one xorb.
   */
  maxXorbBytes?: number;
  /** Most chunks per xorb (default and maximum 8192). */
  maxXorbChunks?: number;
  /** Largest upload shard (default and maximum 64 MiB); larger registrations are split. */
  maxShardBytes?: number;
  /**
   * Xorb bodies in memory, so xorb uploads in flight at once (default 2: one xorb fills while the previous
   * one uploads, then both upload together; at least 2 to overlap filling and uploading). Term:
   * `maxXorbUploads × (held + 3 MiB)` (see `maxXorbBytes`; 3 MiB of pieces a streamed body is read into).
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
  /**
   * Compression of new chunks: "auto" (default) LZ4, and BG4-LZ4 as well where the chunk's bytes look grouped by
   * position (numeric arrays), the smaller kept, raw when neither helps: never larger than hf_xet's record, one
   * compression pass for random bytes and text; "best" tries both on every chunk; "lz4", "bg4", "none".
   */
  compression?: CompressionPolicy;
  /**
   * Ask the CAS about eligible chunks, and use the persistent dedup cache (default true). False keeps dedup
   * within this call only.
   */
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
  /** Largest xorb sent (64 MiB, the protocol's limit, as hf_xet cuts them). */
  maxXorbBytes: MAX_XORB_BYTES,
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
  compression: "auto" as CompressionPolicy,
  /** Ask the CAS for chunks it already stores. */
  globalDedup: true,
} as const;

/** Runtime baseline used in `uploadMemoryBound` (Node with the WebAssembly module loaded). */
export const RUNTIME_BASELINE_BYTES = 105 * 1024 * 1024;
/** A worker's isolate and fixed core memory, in `uploadMemoryBound`. */
export const WORKER_BASELINE_BYTES = 10 * 1024 * 1024;
/** The session's chunk metadata per GiB of new chunks (chunk index, shard records), in `uploadMemoryBound`. */
export const METADATA_BYTES_PER_GIB = 4 * 1024 * 1024;
/** Pieces a streamed body is read into (xet/upload/xorb-assembly.ts: a ring of 3 × 1 MiB), in `uploadMemoryBound`. */
export const STREAM_PIECES_BYTES = 3 * 1024 * 1024;
/** The dedup cache's key index at its default bound (xet/dedup-cache.ts), in `uploadMemoryBound`. */
export const CACHE_INDEX_BYTES = 12 * 1024 * 1024;

/** What `uploadMemoryBound` may assume about the data (default: nothing, the worst case). */
export interface UploadDataShape {
  /**
   * Every source is a local file or a `Blob` / `File` (read again when a xorb is sent, so a body does not hold
   * its chunks stored raw); not a stream, an async iterable, a byte array or a remote URL. Default false.
   */
  rereadable?: boolean;
  /**
   * The share of a xorb that compressed payloads take: 0 for incompressible data (random or encrypted bytes,
   * most quantized weights), nearly 1 for data that compresses a little (bf16 weights often do, by a few
   * percent). Default 1.
   */
  compressedShare?: number;
}

/**
 * The session's ingestion block (xet/upload/pipeline.ts): 8 MiB as hf_xet's, at most half the pending budget
 * (chunks of a block wait until it ends, and the answers they wait on may hold the next one back).
 */
export function blockBytesFor(t: Pick<Tuning, "maxPendingBytes">): number {
  return Math.min(DEFAULT_BLOCK_BYTES, Math.floor(t.maxPendingBytes / 2));
}

/** Segments dispatched and not yet placed, for `workers` workers. */
export function maxSegmentsFor(workers: number): number {
  return workers > 0 ? workers + 1 : 2;
}

/**
 * The memory bound of the pipeline's module doc for the given options and `bytes` uploaded (the chunk
 * metadata grows with them), in bytes: the worst case, or what `data` allows (local files of incompressible
 * data: `{ rereadable: true, compressedShare: 0 }`). `workers` defaults to this runtime's default.
 */
export function uploadMemoryBound(t: UploadTuning = {}, bytes = 0, data: UploadDataShape = {}): number {
  const x = t.maxXorbBytes ?? UPLOAD_DEFAULTS.maxXorbBytes;
  const n = t.maxXorbUploads ?? UPLOAD_DEFAULTS.maxXorbUploads;
  const w = t.workers ?? defaultWorkers();
  const job = (t.segmentBytes ?? UPLOAD_DEFAULTS.segmentBytes) + SEGMENT_PREROLL_BYTES + SEGMENT_OVERLAP_BYTES;
  // A body: its record headers (8 bytes per chunk), what it holds of its chunks, the pieces it is streamed in.
  const headers = 8 * (t.maxXorbChunks ?? UPLOAD_DEFAULTS.maxXorbChunks);
  const share = data.rereadable ? Math.min(1, Math.max(0, data.compressedShare ?? 1)) : 1;
  return (
    n * (Math.ceil(share * x) + headers + STREAM_PIECES_BYTES) +
    (2 * maxSegmentsFor(w) + 2) * job +
    w * (2 * job + WORKER_BASELINE_BYTES) +
    (t.maxPendingBytes ?? UPLOAD_DEFAULTS.maxPendingBytes) +
    Math.ceil((bytes / 2 ** 30) * METADATA_BYTES_PER_GIB) +
    CACHE_INDEX_BYTES +
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
    // A caller's own fetch gets whole bodies (it may not stream them); the platform's light client streams them.
    streamUploads: t.streamUploads ?? (streamingUploads && (http.fetch === undefined || isRangeFetch(http.fetch))),
  };
  compressionCode(out.compression); // validates it
  return out;
}
