/**
 * The packed binary formats between the core and JavaScript, each with its one reader here (and its one
 * writer where JavaScript writes it). The core's side of each is documented in Rust:
 *
 *   prepared segment   src/prepare.rs, "Packed form" (`prepareSegment`, the worker ABI's `xb_prepare`)
 *   chunker output     src/wasm.rs, `Chunker` (36 bytes per chunk)
 *   chunk views        src/wasm.rs, `xb_decode_views`
 *   file hash digest   src/wasm.rs, `xb_hash_finish` (40 bytes)
 *   core error         src/wasm.rs, `xb_error` (`CODE\0message`)
 *
 * plus two formats JavaScript writes for itself: the chunking worker's answers to a `decode` task (decoded
 * records, below) and to a `hash` task (48 bytes per file, below). All integers are little-endian.
 *
 * Also here: the worker ABI (src/wasm.rs's plain `xb_*` exports), so that the chunking workers
 * (js/src/pool/worker.ts) and this thread (`prepareSegmentInto`) run it the same way. This module imports
 * nothing: the worker bundle carries it without the rest of the core.
 */

// ---------------------------------------------------------------------------------------------
// The worker ABI
// ---------------------------------------------------------------------------------------------

/** The plain exports of src/wasm.rs that work without wasm-bindgen's glue (every import of the module stubbed). */
export interface WorkerAbi {
  memory: WebAssembly.Memory;
  /** A buffer of `len` bytes for the next input; returns its address. */
  xb_input(len: number): number;
  /** Prepares the input; returns the address of a prepared segment, 0 on invalid arguments (`seam` -1: none). */
  xb_prepare(len: number, start: number, emitFrom: number, seam: number, seamChain: number, compression: number): number;
  xb_hash_begin(): void;
  xb_hash_update(len: number): void;
  /** Returns the address of a file hash digest. */
  xb_hash_finish(): number;
  /** Decodes the input; returns the address of its chunk views, 0 on malformed records (then `xb_error`). */
  xb_decode_views(len: number): number;
  xb_error(): number;
  xb_error_len(): number;
}

/** What to prepare from a segment's bytes (src/prepare.rs `SegmentSpec`). */
export interface SegmentSpec {
  /** Offset where the chunk chain starts. */
  start: number;
  /** Chunks are emitted from the chain's first boundary at or after this offset. */
  emitFrom: number;
  /** Offset where the next segment starts, or -1 when the data ends the file. */
  seam: number;
  /** Offset where the next segment's chain starts (its pre-roll); ignored without a seam. */
  seamChain: number;
  /**
   * `compressionCode(policy)`, or `HASHES_ONLY` (core/index.ts) for boundaries and hashes only; a policy's code
   * may carry `HEADER_ONLY_IF_RAW` (the records of chunks stored raw are then their header alone).
   */
  compression: number;
}

/**
 * Flag of `SegmentSpec.compression` (src/wasm.rs `HEADER_ONLY_IF_RAW`): the record of a chunk stored raw is its
 * 8-byte header alone, for sources read again when the xorb is sent (its payload is the chunk's own bytes).
 */
export const HEADER_ONLY_IF_RAW = 0x100;

/** Bytes of a record's header (xet-protocol.md §4.1). */
export const RECORD_HEADER_BYTES = 8;

/** Whether the record starting at `off` of `records` holds a chunk stored raw (header byte 4, the scheme, is 0). */
export function isRawRecord(records: Uint8Array, off: number): boolean {
  return records[off + 4] === 0;
}

/**
 * Prepares the first `length` bytes of the core's input buffer (`xb_input`): the prepared segment, a view
 * of the core's memory valid until the next call into the core; undefined when the arguments are invalid.
 */
export function prepareInCore(abi: WorkerAbi, length: number, spec: SegmentSpec): Uint8Array | undefined {
  const out = abi.xb_prepare(length, spec.start, spec.emitFrom, spec.seam < 0 ? -1 : spec.seam, spec.seamChain, spec.compression) >>> 0;
  if (out === 0) return undefined;
  return new Uint8Array(abi.memory.buffer, out, preparedLength(abi.memory.buffer, out));
}

/** The message of an invalid segment (what `prepareInCore` refused). */
export function invalidSegment(spec: SegmentSpec, length: number): string {
  return `invalid segment (start ${spec.start}, first chunk ${spec.emitFrom}, seam ${spec.seam}/${spec.seamChain}, ${length} bytes)`;
}

// ---------------------------------------------------------------------------------------------
// Prepared segment (src/prepare.rs, "Packed form"): a 32-byte header of u32 words — [0] chunk count n,
// [1] end kind, [2] end offset, [3] records length, [4] start of the first emitted chunk — then n chunk end
// offsets (u32), n record lengths (u32), 32·n raw chunk hashes and the records.
// ---------------------------------------------------------------------------------------------

const PREPARED_HEADER = 32;

/** Length of the prepared segment at `at` in `buffer`: header, 40 bytes per chunk, records. */
export function preparedLength(buffer: ArrayBufferLike, at = 0): number {
  const head = new DataView(buffer, at, PREPARED_HEADER);
  return PREPARED_HEADER + 40 * head.getUint32(0, true) + head.getUint32(12, true);
}

/**
 * Bytes a prepared segment of `inputBytes` can take (chunks of at least 8 KiB but the last, plus slack;
 * records ≤ input + 8 per chunk, 40 bytes of metadata per chunk; metadata only without `records`): the size
 * of a result buffer that always fits.
 */
export function preparedCapacity(inputBytes: number, records: boolean): number {
  const chunks = Math.ceil(inputBytes / 8192) + 2;
  return records ? PREPARED_HEADER + 48 * chunks + inputBytes : PREPARED_HEADER + 40 * chunks;
}

/** How a prepared segment ends (src/prepare.rs `SegmentEnd`). */
export const enum SegmentEndKind {
  /** The data ended the file. */
  Final = 0,
  /** The chain met the chain started at the seam, at `endAt`. */
  Met = 1,
  /** The chains did not meet; the chunks end at the chain's last boundary `endAt`. */
  Open = 2,
}

/**
 * A prepared segment: chunk boundaries, raw hashes and serialized records of one segment of a file, read
 * from the buffer a worker (or `prepareSegment` on this thread) returns. Views only: nothing is copied.
 */
export class PreparedSegment {
  readonly count: number;
  readonly endKind: SegmentEndKind;
  /** Offset (relative to the segment's data) where the emitted chunks end, for Met and Open. */
  readonly endAt: number;
  /** Start of the first emitted chunk, relative to the segment's data. */
  readonly firstStart: number;
  /** End offset of each chunk, relative to the segment's data. */
  readonly ends: Uint32Array;
  /** Serialized length of each chunk's record (its payload included, even where `records` leaves it out). */
  readonly recordLengths: Uint32Array;
  /** The records of chunks stored raw are their header alone in `records` (`HEADER_ONLY_IF_RAW`). */
  readonly rawLeftOut: boolean;
  /** 32 raw bytes per chunk. */
  readonly hashes: Uint8Array;
  /** The records, concatenated (empty for hashes-only segments). */
  readonly records: Uint8Array;
  readonly buffer: ArrayBuffer;

  /** Bytes of `buffer` that hold the packed segment (the buffer may be larger: it is reused). */
  readonly length: number;

  constructor(buffer: ArrayBuffer, length = buffer.byteLength) {
    const head = new Uint32Array(buffer, 0, 8);
    const n = head[0]!;
    this.buffer = buffer;
    this.length = length;
    this.count = n;
    this.endKind = head[1]! as SegmentEndKind;
    this.endAt = head[2]!;
    this.firstStart = head[4]!;
    this.rawLeftOut = (head[5]! & 1) === 1;
    if (preparedLength(buffer) !== length || length > buffer.byteLength) {
      throw new Error(`malformed prepared segment: ${length} bytes for ${n} chunks and ${head[3]} bytes of records`);
    }
    this.ends = new Uint32Array(buffer, PREPARED_HEADER, n);
    this.recordLengths = new Uint32Array(buffer, PREPARED_HEADER + 4 * n, n);
    this.hashes = new Uint8Array(buffer, PREPARED_HEADER + 8 * n, 32 * n);
    this.records = new Uint8Array(buffer, PREPARED_HEADER + 40 * n, head[3]!);
  }

  /**
   * Index of the chunk that starts at offset `at`: 0 when the first chunk starts there, i + 1 when chunk i
   * ends there (the chunks before it are dropped), -1 when `at` is not a boundary of this segment's chain
   * (it must then be prepared again with its chain starting at `at`).
   */
  firstChunkAt(at: number): number {
    if (at === this.firstStart) return 0;
    // Binary search: ends are increasing.
    let lo = 0;
    let hi = this.count;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.ends[mid]! < at) lo = mid + 1;
      else hi = mid;
    }
    return lo < this.count && this.ends[lo] === at ? lo + 1 : -1;
  }

  /** Start of chunk `i`, relative to the segment's data. */
  chunkStart(i: number): number {
    return i === 0 ? this.firstStart : this.ends[i - 1]!;
  }

  /** Start of chunk `i`'s record in `records`. */
  recordOffset(i: number): number {
    let off = 0;
    for (let k = 0; k < i; k++) off += this.storedLength(k, off);
    return off;
  }

  /** Bytes chunk `i`'s record takes in `records`, where it starts at `off`. */
  storedLength(i: number, off: number): number {
    return this.rawLeftOut && isRawRecord(this.records, off) ? RECORD_HEADER_BYTES : this.recordLengths[i]!;
  }
}

// ---------------------------------------------------------------------------------------------
// Chunker output (src/wasm.rs `Chunker`): 36 bytes per chunk, 32 raw hash bytes then the length (u32).
// ---------------------------------------------------------------------------------------------

/** A chunk as reported by the chunker. */
export interface ChunkInfo {
  /** Raw 32-byte chunk hash. */
  hashRaw: Uint8Array;
  /** The chunk's length in bytes. */
  length: number;
}

/** Unpacks the chunker's output (copies: the chunks outlive the bytes). */
export function unpackChunks(packed: Uint8Array): ChunkInfo[] {
  const out: ChunkInfo[] = [];
  const view = new DataView(packed.buffer, packed.byteOffset, packed.byteLength);
  for (let off = 0; off + 36 <= packed.length; off += 36) {
    out.push({ hashRaw: packed.slice(off, off + 32), length: view.getUint32(off + 32, true) });
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Chunk views (src/wasm.rs `xb_decode_views`): chunk count n (u32), decoded length d (u32), two zero words,
// then n pairs (address, length) of u32 locating each decoded chunk in the core's memory (chunks stored raw
// stay in the input: nothing is copied), then 32·n raw chunk hashes.
//
// Decoded records (the chunking worker's answer to a `decode` task): chunk count n (u32), decoded length d
// (u32), two zero words, then n chunk lengths (u32), 32·n raw chunk hashes and the d decoded bytes (none when
// the worker wrote the chunks to a file itself: d = 0).
// ---------------------------------------------------------------------------------------------

const DECODED_HEADER = 16;

/** Decoded chunks left in the core's memory: where each one is, and its hash. */
export interface ChunkViews {
  count: number;
  /** Decoded bytes in all. */
  total: number;
  /** Address and length of each chunk, in the core's memory. */
  places: Uint32Array;
  /** 32 raw bytes per chunk (a view of the core's memory). */
  hashes: Uint8Array;
}

/** Reads the chunk views at `at` in the core's memory (valid until the next call into the core). */
export function readChunkViews(memory: ArrayBuffer, at: number): ChunkViews {
  const head = new DataView(memory, at, DECODED_HEADER);
  const n = head.getUint32(0, true);
  const placesAt = at + DECODED_HEADER;
  // Copied out (8 bytes per chunk): the core's buffer need not be 4-byte aligned for a Uint32Array.
  const places = new Uint32Array(new Uint8Array(memory, placesAt, 8 * n).slice().buffer);
  return { count: n, total: head.getUint32(4, true), places, hashes: new Uint8Array(memory, placesAt + 8 * n, 32 * n) };
}

/**
 * Decodes and hashes the chunk records in `bytes` in the core (worker ABI): `bytes` are copied into its input
 * buffer; returns the chunk views (in the core's memory, valid until the next call into it), or undefined when
 * the records are malformed (then `readCoreError`). What the chunking workers and `decodeRecordsInto` share.
 */
export function decodeInCore(abi: WorkerAbi, bytes: Uint8Array): ChunkViews | undefined {
  const ptr = abi.xb_input(bytes.length) >>> 0;
  new Uint8Array(abi.memory.buffer, ptr, bytes.length).set(bytes);
  const at = abi.xb_decode_views(bytes.length) >>> 0;
  return at === 0 ? undefined : readChunkViews(abi.memory.buffer, at);
}

/**
 * The decoded records of `views` (with the chunks' bytes when `withData`) written into `out` when they fit,
 * else into a new buffer rounded up to 64 KiB (so that it fits the next batches of about the same size).
 */
export function packDecoded(
  memory: ArrayBuffer,
  views: ChunkViews,
  out: ArrayBuffer | undefined,
  withData: boolean,
): { packed: ArrayBuffer; length: number } {
  const length = decodedRecordsLength(views, withData);
  const packed = out && out.byteLength >= length ? out : new ArrayBuffer(Math.ceil(length / 65536) * 65536);
  writeDecoded(memory, views, packed, withData);
  return { packed, length };
}

/** The length of the decoded records of `views`, with or without the chunks' bytes. */
export function decodedRecordsLength(views: ChunkViews, withData: boolean): number {
  return DECODED_HEADER + 36 * views.count + (withData ? views.total : 0);
}

/**
 * Writes the decoded records of `views` (chunks in `memory`, the core's) into `out`: lengths, hashes and, with
 * `withData`, the chunks' bytes (copied once, from wherever the core left them). Returns the length written.
 */
export function writeDecoded(memory: ArrayBuffer, views: ChunkViews, out: ArrayBuffer, withData: boolean): number {
  const n = views.count;
  const d = withData ? views.total : 0;
  const head = new DataView(out, 0, DECODED_HEADER);
  head.setUint32(0, n, true);
  head.setUint32(4, d, true);
  head.setUint32(8, 0, true);
  head.setUint32(12, 0, true);
  const lengths = new Uint32Array(out, DECODED_HEADER, n);
  for (let i = 0; i < n; i++) lengths[i] = views.places[2 * i + 1]!;
  new Uint8Array(out, DECODED_HEADER + 4 * n, 32 * n).set(views.hashes);
  if (withData) {
    const bytes = new Uint8Array(out, DECODED_HEADER + 36 * n, d);
    const mem = new Uint8Array(memory);
    let at = 0;
    for (let i = 0; i < n; i++) {
      const from = views.places[2 * i]!;
      const len = views.places[2 * i + 1]!;
      bytes.set(mem.subarray(from, from + len), at);
      at += len;
    }
  }
  return DECODED_HEADER + 36 * n + d;
}

/** Decoded chunk records (a downloaded range). */
export interface DecodedRecords {
  /** Number of chunks. */
  count: number;
  /** Each chunk's length. */
  lengths: Uint32Array;
  /** 32 raw bytes per chunk. */
  hashes: Uint8Array;
  /** The decoded chunks, concatenated. */
  data: Uint8Array;
}

/** The expected size of the decoded records of `chunks` chunks framed in `inputBytes` (a buffer to decode into). */
export function decodedCapacity(inputBytes: number, chunks: number): number {
  return DECODED_HEADER + 36 * chunks + inputBytes;
}

/** Reads decoded records (views of `buffer`). */
export function readDecoded(buffer: ArrayBuffer): DecodedRecords {
  const head = new DataView(buffer, 0, DECODED_HEADER);
  const n = head.getUint32(0, true);
  return {
    count: n,
    lengths: new Uint32Array(buffer, DECODED_HEADER, n),
    hashes: new Uint8Array(buffer, DECODED_HEADER + 4 * n, 32 * n),
    data: new Uint8Array(buffer, DECODED_HEADER + 36 * n, head.getUint32(4, true)),
  };
}

// ---------------------------------------------------------------------------------------------
// File hashes: the core's digest (src/wasm.rs `xb_hash_finish`: 32 raw hash bytes, chunk count u64), and the
// chunking worker's answer to a `hash` task, 48 bytes per file: 32 raw hash bytes, size and chunk count as
// float64 (exact below 2^53).
// ---------------------------------------------------------------------------------------------

const DIGEST_BYTES = 40;
const FILE_HASH_BYTES = 48;

/** The file hash of one file, from a worker's answer. */
export interface FileHashAnswer {
  /** 32 raw bytes. */
  hash: Uint8Array;
  size: number;
  chunks: number;
}

/** A buffer for the answers about `files` files. */
export function fileHashAnswers(files: number): ArrayBuffer {
  return new ArrayBuffer(FILE_HASH_BYTES * files);
}

/** Writes the answer about file `i` into `out`: the core's digest at `digestAt` in `memory`, and the file's size. */
export function writeFileHashAnswer(out: ArrayBuffer, i: number, memory: ArrayBufferLike, digestAt: number, size: number): void {
  const digest = new DataView(memory, digestAt, DIGEST_BYTES);
  new Uint8Array(out, FILE_HASH_BYTES * i, 32).set(new Uint8Array(memory, digestAt, 32));
  const dv = new DataView(out, FILE_HASH_BYTES * i + 32, 16);
  dv.setFloat64(0, size, true);
  dv.setFloat64(8, Number(digest.getBigUint64(32, true)), true);
}

/** Reads the answers about `files` files (the hashes are views of `buffer`). */
export function readFileHashAnswers(buffer: ArrayBuffer, files: number): FileHashAnswer[] {
  const dv = new DataView(buffer);
  return Array.from({ length: files }, (_, i) => ({
    hash: new Uint8Array(buffer, FILE_HASH_BYTES * i, 32),
    size: dv.getFloat64(FILE_HASH_BYTES * i + 32, true),
    chunks: dv.getFloat64(FILE_HASH_BYTES * i + 40, true),
  }));
}

// ---------------------------------------------------------------------------------------------
// Core error (src/wasm.rs `xb_error`): UTF-8 `CODE\0message`.
// ---------------------------------------------------------------------------------------------

/** The core's last worker-ABI error: its stable code (crate::ErrorKind::code) and message. */
export function readCoreError(abi: WorkerAbi): { code: string; message: string } {
  const text = new TextDecoder().decode(new Uint8Array(abi.memory.buffer, abi.xb_error() >>> 0, abi.xb_error_len() >>> 0));
  const cut = text.indexOf("\0");
  return { code: text.slice(0, cut), message: text.slice(cut + 1) };
}
