/**
 * A prepared segment (src/prepare.rs): chunk boundaries, raw hashes and serialized records of one
 * segment of a file, read from the packed buffer a worker (or `prepareSegment` on this thread) returns.
 * Views only: nothing is copied.
 */

/** How a prepared segment ends (src/prepare.rs `SegmentEnd`). */
export const enum SegmentEndKind {
  /** The data ended the file. */
  Final = 0,
  /** The chain met the chain started at the seam, at `endAt`. */
  Met = 1,
  /** The chains did not meet; the chunks end at the chain's last boundary `endAt`. */
  Open = 2,
}

export class PreparedSegment {
  readonly count: number;
  readonly endKind: SegmentEndKind;
  /** Offset (relative to the segment's data) where the emitted chunks end, for Met and Open. */
  readonly endAt: number;
  /** Start of the first emitted chunk, relative to the segment's data. */
  readonly firstStart: number;
  /** End offset of each chunk, relative to the segment's data. */
  readonly ends: Uint32Array;
  readonly recordLengths: Uint32Array;
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
    this.ends = new Uint32Array(buffer, 32, n);
    this.recordLengths = new Uint32Array(buffer, 32 + 4 * n, n);
    this.hashes = new Uint8Array(buffer, 32 + 8 * n, 32 * n);
    this.records = new Uint8Array(buffer, 32 + 40 * n, head[3]!);
    if (32 + 40 * n + head[3]! !== length || length > buffer.byteLength) {
      throw new Error(`malformed prepared segment: ${length} bytes for ${n} chunks and ${head[3]} bytes of records`);
    }
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
    for (let k = 0; k < i; k++) off += this.recordLengths[k]!;
    return off;
  }
}
