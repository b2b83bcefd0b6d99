/**
 * Xorb assembly: the records of new chunks go into the bodies of the xorbs the session chose for them.
 *
 * Chunks are pushed into the session in file order, their records (header + compressed or raw bytes, written
 * by the chunking workers into the prepared segments) wait here in push order until the session places
 * them (`takePlacements`: the xorb a new chunk goes into, or deduplicated; chunks that wait for a dedup
 * answer are placed later). A new chunk's record is then copied into its xorb's body (consecutive records
 * in one copy), and a prepared segment whose records are all placed goes back to the preparer. Each xorb
 * the session closes (`takeXorb`) is matched with its body and handed to the uploads.
 *
 * The body is this stage's abstraction (`XorbBody`): the uploads only ask it for a request body (once per
 * attempt) and release it once the CAS has the xorb. Today a body is one buffer of `maxXorbBytes`, reused for
 * later xorbs (at most `maxXorbUploads` kept). It can become a list of parts (small byte parts: record
 * headers and compressed payloads; references to ranges of the source for chunks stored raw: a local file
 * range, a `File.slice`) with only this file changing: memory would then not grow with the xorb size
 * (64 MiB xorbs), and browsers could send `Blob`s.
 */
import { PLACED_DEDUP, type XorbResult } from "../../core/index.js";
import { XetBucketsError } from "../../errors.js";
import type { RequestBody } from "../../http.js";
import type { PreparedSegment } from "../../core/packed.js";
import { releaseBuffer } from "../../buffers.js";

/** Pushed chunks of one prepared segment whose records are not placed yet: chunks [next, to). */
interface RecordBatch {
  seg: PreparedSegment;
  next: number;
  to: number;
  /** Offset of chunk `next`'s record in `seg.records`. */
  off: number;
}

/** A xorb body being filled: session xorb `id`, `len` bytes of records in `buffer`. */
interface Filling {
  id: number;
  buffer: ArrayBuffer;
  len: number;
  raw: number;
  chunks: number;
}

/** A pending copy of consecutive records of one segment into one body. */
interface Copy {
  body: Filling;
  src: Uint8Array;
  start: number;
  end: number;
}

/** View size of streamed bodies: the transport reads 1 MiB at a time, so `sent` moves below the xorb. */
const STREAM_STEP = 1024 * 1024;

/** The serialized body of a closed xorb (its chunk records, in order), held until the CAS stores it. */
export class XorbBody {
  /** Serialized bytes. */
  readonly size: number;
  #bytes: Uint8Array | undefined;
  readonly #release: (buffer: ArrayBuffer) => void;

  constructor(buffer: ArrayBuffer, size: number, release: (buffer: ArrayBuffer) => void) {
    this.size = size;
    this.#bytes = new Uint8Array(buffer, 0, size);
    this.#release = release;
  }

  /**
   * The body of one request (asked again for each retry): a stream of views of the body, no copy, that
   * reports how far the transport has pulled (`stream`), or the bytes.
   */
  request(stream: boolean, onBytes: (sent: number) => void): RequestBody {
    const data = this.#bytes;
    if (!data) throw new XetBucketsError("INTERNAL", "a xorb body was sent after it was released");
    return stream ? streamBody(data, onBytes) : data;
  }

  /** The CAS stored the xorb: no request reads the body any more, its memory serves later xorbs. */
  release(): void {
    const data = this.#bytes;
    if (!data) return;
    this.#bytes = undefined;
    this.#release(data.buffer as ArrayBuffer);
  }
}

/** A closed xorb, ready to upload. */
export interface AssembledXorb {
  hash: string;
  body: XorbBody;
}

/** A stream over `data` in 1 MiB views (no copy), reporting how far the transport has pulled. */
function streamBody(data: Uint8Array, onBytes: (n: number) => void): ReadableStream<Uint8Array> {
  let off = 0;
  return new ReadableStream<Uint8Array>(
    {
      pull(c) {
        if (off >= data.length) {
          c.close();
          return;
        }
        const end = Math.min(off + STREAM_STEP, data.length);
        c.enqueue(data.subarray(off, end));
        off = end;
        onBytes(off);
      },
    },
    { highWaterMark: 0 },
  );
}

/** The records waiting for placement and the xorb bodies: the open one, closed ones, free buffers. */
export class XorbAssembly {
  readonly #maxBytes: number;
  /** Largest body: `maxXorbBytes` of chunks stored raw and their record headers. */
  readonly #capacity: number;
  readonly #maxChunks: number;
  /** Free bodies kept for reuse. */
  readonly #keep: number;
  readonly #recycleSegment: (seg: PreparedSegment) => void;

  // records of pushed chunks not placed yet, in push order (batches of one prepared segment)
  #fifo: RecordBatch[] = [];
  #fifoHead = 0;
  #fifoRaw = 0;
  #fifoChunks = 0;
  // xorb bodies: the open one (being filled), closed ones waiting to be taken, free buffers
  #open: Filling | undefined;
  #closed = new Map<number, Filling>();
  #free: ArrayBuffer[] = [];
  #copy: Copy | undefined;
  #taken = 0;
  #takenRaw = 0;

  /**
   * `recycleSegment` takes back a prepared segment once every record of it is placed (its buffer then serves
   * a later segment).
   */
  constructor(t: { maxXorbBytes: number; maxXorbChunks: number; maxXorbUploads: number }, recycleSegment: (seg: PreparedSegment) => void) {
    this.#maxBytes = t.maxXorbBytes;
    this.#capacity = t.maxXorbBytes + 8 * t.maxXorbChunks;
    this.#maxChunks = t.maxXorbChunks;
    this.#keep = t.maxXorbUploads;
    this.#recycleSegment = recycleSegment;
  }

  /** A body is being filled. */
  get filling(): boolean {
    return this.#open !== undefined;
  }

  /** Bodies of xorbs closed by the session and not taken yet. */
  get closedBodies(): number {
    return this.#closed.size;
  }

  /** Pushed chunks not placed yet (they wait for dedup answers). */
  get unplaced(): number {
    return this.#fifoChunks;
  }

  /** Xorbs taken so far (the next one taken has this index). */
  get taken(): number {
    return this.#taken;
  }

  /** Raw bytes of the xorbs taken so far. */
  get takenRaw(): number {
    return this.#takenRaw;
  }

  /**
   * End of the chunks from `from` that fit in the open xorb (or a new one when none is open), counting the
   * chunks still waiting for placement and assuming every chunk is new: the session's rule (raw bytes,
   * serialized bytes, chunk count), so it never closes a xorb in the middle of a push.
   */
  fitting(seg: PreparedSegment, from: number, to: number): number {
    const o = this.#open;
    let raw = (o?.raw ?? 0) + this.#fifoRaw;
    let n = (o?.chunks ?? 0) + this.#fifoChunks;
    let i = from;
    for (; i < to; i++) {
      raw += seg.ends[i]! - seg.chunkStart(i);
      n++;
      if (raw > this.#maxBytes || n > this.#maxChunks) break;
    }
    // An empty xorb takes any chunk.
    if (i === from && !o && this.#fifoChunks === 0) return from + 1;
    return i;
  }

  /**
   * Chunks [from, to) of a prepared segment are about to be pushed into the session: their records wait for
   * placement. Returns their lengths (raw bytes), for the session.
   */
  add(seg: PreparedSegment, from: number, to: number): Uint32Array {
    const lengths = new Uint32Array(to - from);
    for (let i = from; i < to; i++) {
      lengths[i - from] = seg.ends[i]! - seg.chunkStart(i);
    }
    this.#fifo.push({ seg, next: from, to, off: seg.recordOffset(from) });
    this.#fifoRaw += seg.ends[to - 1]! - seg.chunkStart(from);
    this.#fifoChunks += to - from;
    return lengths;
  }

  /**
   * Writes the records of the chunks the session placed (`takePlacements`, in push order) into the xorb
   * bodies; deduplicated chunks are dropped. Segments whose records are all placed go back.
   */
  place(placed: Uint32Array): void {
    let done: PreparedSegment[] | undefined;
    for (let k = 0; k < placed.length; k++) {
      const b = this.#fifo[this.#fifoHead]!;
      const i = b.next++;
      const len = b.seg.recordLengths[i]!;
      const raw = b.seg.ends[i]! - b.seg.chunkStart(i);
      const off = b.off;
      b.off += len;
      this.#fifoRaw -= raw;
      this.#fifoChunks--;
      if (b.next === b.to) {
        if (b.to === b.seg.count) (done ??= []).push(b.seg);
        this.#fifo[this.#fifoHead++] = undefined as unknown as RecordBatch;
        if (this.#fifoHead > 1024 && this.#fifoHead * 2 > this.#fifo.length) {
          this.#fifo = this.#fifo.slice(this.#fifoHead);
          this.#fifoHead = 0;
        }
      }
      const id = placed[k]!;
      if (id !== PLACED_DEDUP) this.#append(id, b.seg.records, off, len, raw);
    }
    this.#flushCopy();
    // Every record of these segments is placed: their buffers are reused or freed now.
    if (done) for (const seg of done) this.#recycleSegment(seg);
  }

  /** The body of the next xorb the session closed (`takeXorb`), which must hold exactly its records. */
  take(x: XorbResult): AssembledXorb {
    const id = this.#taken++;
    let body = this.#closed.get(id);
    if (body) this.#closed.delete(id);
    else if (this.#open?.id === id) {
      body = this.#open;
      this.#open = undefined;
    }
    if (!body || body.len !== x.serializedBytes) {
      throw new XetBucketsError(
        "INTERNAL",
        `xorb ${id}: ${body?.len ?? "no"} bytes of records assembled for ${x.serializedBytes} serialized bytes`,
      );
    }
    this.#takenRaw += x.rawBytes;
    return { hash: x.hash, body: new XorbBody(body.buffer, body.len, (buffer) => this.#reuse(buffer)) };
  }

  /** Drops every record and body (the upload is over). */
  close(): void {
    this.#fifo = [];
    this.#open = undefined;
    this.#copy = undefined;
    this.#closed.clear();
    this.#free = [];
  }

  /** Copies a new chunk's record into the body of xorb `id` (consecutive records in one copy). */
  #append(id: number, src: Uint8Array, off: number, len: number, raw: number): void {
    if (this.#open?.id !== id) {
      this.#flushCopy();
      if (this.#open) this.#closed.set(this.#open.id, this.#open);
      this.#open = { id, buffer: this.#free.pop() ?? new ArrayBuffer(this.#capacity), len: 0, raw: 0, chunks: 0 };
    }
    const body = this.#open;
    body.raw += raw;
    body.chunks++;
    const c = this.#copy;
    if (c && c.body === body && c.src === src && c.end === off) {
      c.end += len;
      return;
    }
    this.#flushCopy();
    this.#copy = { body, src, start: off, end: off + len };
  }

  #flushCopy(): void {
    const c = this.#copy;
    if (!c) return;
    this.#copy = undefined;
    const n = c.end - c.start;
    new Uint8Array(c.body.buffer, c.body.len, n).set(c.src.subarray(c.start, c.end));
    c.body.len += n;
  }

  /** A released body's buffer: kept for the next xorbs, or freed now. */
  #reuse(buffer: ArrayBuffer): void {
    if (this.#free.length < this.#keep && buffer.byteLength === this.#capacity) this.#free.push(buffer);
    else releaseBuffer(new Uint8Array(buffer));
  }
}
