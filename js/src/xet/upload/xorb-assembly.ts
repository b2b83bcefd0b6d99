/**
 * Xorb assembly: the records of new chunks go into the bodies of the xorbs the session chose for them.
 *
 * Chunks are pushed into the session in file order, their records (header + compressed or raw bytes, written
 * by the chunking workers into the prepared segments) wait here in push order until the session places
 * them (`takePlacements`: the xorb a new chunk goes into, or deduplicated; chunks that wait for their
 * ingestion block or a dedup answer are placed later). A prepared segment whose records are all placed goes
 * back to the preparer. Each xorb the session closes (`takeXorb`) is matched with its body and handed to the
 * uploads.
 *
 * A body (`XorbBody`) is a list of parts, owned by this stage:
 *
 *   - bytes it holds, in its own arena: record headers, compressed payloads, and the records of chunks whose
 *     source cannot be read again (streams, async iterables, byte arrays);
 *   - ranges of a source that can be read again (`SourceRanges`: a local file, a `Blob` / `File`) for the
 *     payloads of chunks stored raw, read again when the body is sent.
 *
 * So a body of incompressible chunks from a file holds 8 bytes per chunk, not the chunks: memory does not grow
 * with the xorb size (64 MiB xorbs, as hf_xet's). A source that changed since it was hashed fails the upload
 * with SOURCE_CHANGED (a local file: its size or mtime differs, or it is shorter; a `File` a browser cannot
 * read any more), never with a wrong xorb. The arena is one buffer per body, resizable where the runtime has
 * resizable ArrayBuffers (only the bytes written take memory), reused for later xorbs (at most
 * `maxXorbUploads` kept).
 *
 * Sending (`request`, once per attempt): streamed, the body is pulled in pieces of about 1 MiB (arena views
 * without a copy; source ranges read into fresh buffers), so `sent` moves below the xorb; buffered (a custom
 * fetch), a body with source ranges becomes a `Blob` of arena views and `Blob` slices (no copy of the source),
 * or bytes read once per upload (`prepare`). In browsers (the web runtime, buffered), a body is instead a
 * `Blob` of 4 MiB pieces of its records, handed to the browser as they are assembled (the constructor says
 * why, with measurements).
 */
import { PLACED_DEDUP, type XorbResult } from "../../core/index.js";
import { XetBucketsError } from "../../errors.js";
import type { RequestBody } from "../../http.js";
import { RECORD_HEADER_BYTES, isRawRecord, type PreparedSegment } from "../../core/packed.js";
import { releaseBuffer } from "../../buffers.js";
import { runtime } from "#platform";
import { sourceRanges, type RangeReader, type SourceRanges } from "../upload-sources.js";

/** Where the chunks of a prepared segment can be read again: a source and the file offset of the segment's data[0]. */
export interface SegmentSource {
  source: SourceRanges;
  base: number;
}

/** Pushed chunks of one prepared segment whose records are not placed yet: chunks [next, to). */
interface RecordBatch {
  seg: PreparedSegment;
  src: SegmentSource | undefined;
  next: number;
  to: number;
  /** Offset of chunk `next`'s record in `seg.records`. */
  off: number;
}

/** Part of a body: a range of its arena, or a range of a source. */
type Part = { a: number; b: number } | { src: SourceRanges; start: number; end: number };

/** A xorb body being filled: session xorb `id`, `len` serialized bytes in `parts`. */
interface Filling {
  id: number;
  arena: Arena;
  parts: Part[];
  len: number;
  raw: number;
  chunks: number;
}

/** Piece size of streamed bodies: the transport reads about 1 MiB at a time, so `sent` moves below the xorb. */
const STREAM_STEP = 1024 * 1024;
/** Piece buffers of a streamed body, reused in turn where the transport allows it (`XorbBody.request`). */
const PIECE_RING = 3;
/** Arena ranges at least this long are streamed as views, without a copy. */
const DIRECT = 256 * 1024;
const HEADER = RECORD_HEADER_BYTES;
/** Blob bodies: the arena is handed over as a `Blob` piece once it holds this much (see `XorbAssembly`). */
const PIECE = 4 * 1024 * 1024;
/** Largest record: a chunk of at most 128 KiB stored raw (compressed only when smaller), and its header. */
const MAX_RECORD = 128 * 1024 + HEADER;

/** A body's own bytes: one buffer, grown in place where ArrayBuffers are resizable. */
class Arena {
  buffer: ArrayBuffer;
  len = 0;
  /** Bytes appended since the last reset (what the arena holds, even once taken). */
  appended = 0;
  readonly #max: number;

  /** `fixed`: a plain buffer of `max` bytes (Web APIs take views of it without a copy). */
  constructor(max: number, fixed = false) {
    this.#max = max;
    this.buffer = (!fixed && resizable(max)) || new ArrayBuffer(max);
  }

  /** Appends `src`; returns where it starts. */
  append(src: Uint8Array): number {
    const at = this.len;
    const need = at + src.length;
    if (need > this.buffer.byteLength) this.#grow(need);
    new Uint8Array(this.buffer, at, src.length).set(src);
    this.len = need;
    this.appended += src.length;
    return at;
  }

  view(a: number, b: number): Uint8Array {
    return new Uint8Array(this.buffer, a, b - a);
  }

  /** True when the buffer is resizable: Web APIs (Blob, fetch bodies in browsers) refuse views of it. */
  get resizable(): boolean {
    return (this.buffer as ArrayBuffer & { resizable?: boolean }).resizable === true;
  }

  /** Bytes [a, b) as a view Web APIs accept: a copy when the buffer is resizable. */
  plain(a: number, b: number): Uint8Array {
    return this.resizable ? new Uint8Array(this.buffer.slice(a, b)) : this.view(a, b);
  }

  /**
   * All its bytes as a view Web APIs accept, without a copy where the runtime can turn the buffer into a
   * fixed-length one (the arena then starts a new buffer).
   */
  take(): Uint8Array {
    if (!this.resizable) return this.view(0, this.len);
    const b = this.buffer as ArrayBuffer & { transferToFixedLength?(n: number): ArrayBuffer };
    if (!b.transferToFixedLength) return this.plain(0, this.len);
    const fixed = new Uint8Array(b.transferToFixedLength(this.len));
    this.buffer = resizable(this.#max) ?? new ArrayBuffer(this.#max);
    this.len = 0;
    return fixed;
  }

  /**
   * Its bytes as a `Blob` (which copies them: the browser keeps a Blob's bytes out of the page's memory), then
   * empty for more.
   */
  spill(): Blob {
    const blob = new Blob([this.plain(0, this.len) as BlobPart]);
    this.appended -= this.len;
    this.len = 0;
    return blob;
  }

  /** Empties it for the next body (a resizable buffer gives its memory back). */
  reset(): void {
    this.len = 0;
    this.appended = 0;
    const b = this.buffer as ArrayBuffer & { resizable?: boolean; resize?(n: number): void };
    if (b.resizable) b.resize!(0);
  }

  #grow(need: number): void {
    const b = this.buffer as ArrayBuffer & { resize(n: number): void };
    if (need > this.#max) throw new XetBucketsError("INTERNAL", `a xorb body outgrew its ${this.#max} bytes`);
    b.resize(Math.min(this.#max, Math.max(need, 2 * b.byteLength, 64 * 1024)));
  }
}

/** A resizable ArrayBuffer of at most `max` bytes, where the runtime has them (only what is written takes memory). */
function resizable(max: number): ArrayBuffer | undefined {
  try {
    const b = new (ArrayBuffer as unknown as new (n: number, o: { maxByteLength: number }) => ArrayBuffer)(0, { maxByteLength: max });
    return (b as ArrayBuffer & { resizable?: boolean }).resizable ? b : undefined;
  } catch {
    return undefined;
  }
}

/** The serialized body of a closed xorb (its chunk records, in order), held until the CAS stores it. */
export class XorbBody {
  /** Serialized bytes. */
  readonly size: number;
  #arena: Arena | undefined;
  readonly #parts: Part[];
  readonly #release: (arena: Arena) => void;
  /** A buffered body prepared for the requests (bytes read once, or a Blob of parts). */
  #buffered: Uint8Array | Blob | undefined;
  /** Why reading a source failed (SOURCE_CHANGED): every later attempt fails with it. */
  #failure: unknown;

  constructor(arena: Arena, parts: Part[], size: number, release: (arena: Arena) => void) {
    this.size = size;
    this.#arena = arena;
    this.#parts = parts;
    this.#release = release;
  }

  /** True when every byte is in the arena (no source is read again). */
  get #whole(): boolean {
    const p = this.#parts;
    return p.length === 0 || (p.length === 1 && "a" in p[0]! && p[0].a === 0 && p[0].b === this.size);
  }

  /** The error that made reading a source fail, if any (it explains a failed request better than the network error). */
  get failure(): unknown {
    return this.#failure;
  }

  /**
   * Before the first request: checks that the sources did not change (SOURCE_CHANGED otherwise) and, for
   * buffered requests, builds the body: a `Blob` of arena views and `Blob` slices when every source is a
   * Blob, else the bytes (read once for every attempt).
   */
  async prepare(stream: boolean): Promise<void> {
    const arena = this.#live();
    if (this.#whole) {
      if (!stream && !this.#buffered) this.#buffered = arena.take();
      return;
    }
    const sources = new Set<SourceRanges>();
    for (const p of this.#parts) if ("src" in p) sources.add(p.src);
    for (const s of sources) await s.check();
    if (stream || this.#buffered) return;
    if ([...sources].every((s) => s.blob)) {
      this.#buffered = new Blob(this.#parts.map((p) => ("a" in p ? arena.plain(p.a, p.b) : p.src.blob!(p.start, p.end))) as BlobPart[]);
      return;
    }
    const out = new Uint8Array(this.size);
    const readers = new Map<SourceRanges, RangeReader>();
    try {
      let at = 0;
      for (const p of this.#parts) {
        if ("a" in p) out.set(arena.view(p.a, p.b), at);
        else {
          let r = readers.get(p.src);
          if (!r) readers.set(p.src, (r = await p.src.open()));
          await r.read(out.subarray(at, at + p.end - p.start), p.start);
        }
        at += "a" in p ? p.b - p.a : p.end - p.start;
      }
    } finally {
      for (const r of readers.values()) await r.close().catch(() => undefined);
    }
    this.#buffered = out;
  }

  /**
   * The body of one request (asked again for each retry): a stream of pieces that reports how far the
   * transport has pulled (`stream`), or the buffered body (`prepare` first).
   */
  request(stream: boolean, onBytes: (sent: number) => void, reusePieces = false): RequestBody {
    if (this.#failure !== undefined) throw this.#failure;
    const arena = this.#live();
    if (stream && this.#whole) return streamBytes(arena.view(0, this.size), onBytes);
    if (stream) return this.#stream(arena, onBytes, reusePieces);
    if (!this.#buffered) throw new XetBucketsError("INTERNAL", "a buffered xorb body was sent before it was prepared");
    return this.#buffered;
  }

  /** The CAS stored the xorb: no request reads the body any more, its arena serves later xorbs. */
  release(): void {
    const arena = this.#arena;
    if (!arena) return;
    this.#arena = undefined;
    this.#buffered = undefined;
    this.#release(arena);
  }

  #live(): Arena {
    if (!this.#arena) throw new XetBucketsError("INTERNAL", "a xorb body was sent after it was released");
    return this.#arena;
  }

  /**
   * The parts in pieces of about 1 MiB: long arena ranges as views, the rest copied or read into buffers.
   * `reusePieces`: the transport is done with a piece once it pulls the next one (Node's fetch waits for the
   * socket to drain before it reads on), so a ring of `PIECE_RING` buffers serves the whole body; otherwise
   * each piece is a fresh buffer.
   */
  #stream(arena: Arena, onBytes: (n: number) => void, reusePieces: boolean): ReadableStream<Uint8Array> {
    const parts = this.#parts;
    const readers = new Map<SourceRanges, Promise<RangeReader>>();
    const reader = (s: SourceRanges) => {
      let r = readers.get(s);
      if (!r) readers.set(s, (r = s.open()));
      return r;
    };
    const closeAll = async () => {
      const all = [...readers.values()];
      readers.clear();
      for (const r of all) await r.then((x) => x.close()).catch(() => undefined);
    };
    let i = 0;
    let at = 0;
    let sent = 0;
    let pieces = 0;
    const ring: Uint8Array[] = [];
    const buffer = (n: number): Uint8Array => {
      if (!reusePieces) return new Uint8Array(n);
      const k = pieces++ % PIECE_RING;
      return (ring[k] ??= new Uint8Array(STREAM_STEP)).subarray(0, n);
    };
    const length = (p: Part) => ("a" in p ? p.b - p.a : p.end - p.start);
    return new ReadableStream<Uint8Array>(
      {
        pull: async (c) => {
          try {
            if (i >= parts.length) {
              await closeAll();
              c.close();
              return;
            }
            const first = parts[i]!;
            let piece: Uint8Array;
            if ("a" in first && length(first) - at >= DIRECT) {
              const n = Math.min(STREAM_STEP, length(first) - at);
              piece = arena.view(first.a + at, first.a + at + n);
              at += n;
              if (at === length(first)) [i, at] = [i + 1, 0];
            } else {
              const out = buffer(Math.min(STREAM_STEP, this.size - sent));
              let n = 0;
              // Raw chunks of one file are consecutive in it: their payloads in this piece (between the record
              // headers copied from the arena) are read with one scatter read, not one read per chunk.
              let run: { src: SourceRanges; from: number; next: number; into: Uint8Array[] } | undefined;
              const readRun = async () => {
                if (run) await (await reader(run.src)).readv(run.into, run.from);
                run = undefined;
              };
              while (n < out.length && i < parts.length) {
                const p = parts[i]!;
                const take = Math.min(length(p) - at, out.length - n);
                if ("a" in p) {
                  if (take >= DIRECT) break; // streamed as a view next
                  out.set(arena.view(p.a + at, p.a + at + take), n);
                } else {
                  const from = p.start + at;
                  if (run?.src !== p.src || run.next !== from) {
                    await readRun();
                    run = { src: p.src, from, next: from, into: [] };
                  }
                  run.into.push(out.subarray(n, n + take));
                  run.next += take;
                }
                n += take;
                at += take;
                if (at === length(p)) [i, at] = [i + 1, 0];
              }
              await readRun();
              piece = n === out.length ? out : out.subarray(0, n);
            }
            c.enqueue(piece);
            sent += piece.length;
            onBytes(sent);
          } catch (err) {
            this.#failure ??= err;
            await closeAll();
            c.error(err);
          }
        },
        cancel: () => closeAll(),
      },
      { highWaterMark: 0 },
    );
  }
}

/** A closed xorb, ready to upload. */
export interface AssembledXorb {
  hash: string;
  body: XorbBody;
}

/** A stream over `data` in 1 MiB views (no copy), reporting how far the transport has pulled. */
function streamBytes(data: Uint8Array, onBytes: (n: number) => void): ReadableStream<Uint8Array> {
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

/** The records waiting for placement and the xorb bodies: the open one, closed ones, free arenas. */
export class XorbAssembly {
  readonly #maxBytes: number;
  readonly #maxChunks: number;
  /** Largest body: `maxXorbBytes` of chunks stored raw and their record headers. */
  readonly #capacity: number;
  /** Free arenas kept for reuse. */
  readonly #keep: number;
  readonly #recycleSegment: (seg: PreparedSegment) => void;
  /** Bodies are Blobs of record pieces (see the constructor). */
  readonly #blobs: boolean;

  // records of pushed chunks not placed yet, in push order (batches of one prepared segment)
  #fifo: RecordBatch[] = [];
  #fifoHead = 0;
  #fifoRaw = 0;
  #fifoChunks = 0;
  // xorb bodies: the open one (being filled), closed ones waiting to be taken, free arenas
  #open: Filling | undefined;
  #closed = new Map<number, Filling>();
  #free: Arena[] = [];
  #taken = 0;
  #takenRaw = 0;
  #held = 0;
  #heldPeak = 0;

  /**
   * `recycleSegment` takes back a prepared segment once every record of it is placed (its buffer then serves
   * a later segment).
   *
   * Browsers (buffered requests in the web runtime): every record is copied into the arena, which is handed
   * over as a `Blob` piece every 4 MiB, and a body is the Blob of its pieces; no source is read again. The
   * browser keeps a Blob's bytes outside the page (Chromium: in its browser process, paged to disk beyond its
   * memory limit), so the tab holds one piece per body, and a Blob of a few large in-memory pieces is what
   * Chromium sends fastest. Measured in Chromium 156 here (bench/browser.ts --probe, 64 MiB bodies to a
   * server that drains them, 2 in flight, on a loaded 2-core machine): a Blob of 8-byte headers and 64 KiB
   * slices of the picked File (a xorb of raw chunks) 50–80 MiB/s, as 2048 file items cost Chromium's blob
   * reader ≈ 0.5 ms each; the same bytes as a Blob of in-memory pieces 140–200 MiB/s; an ArrayBuffer body
   * 7–16 MiB/s with the renderer holding ≈ 900 MiB; the File itself 160–220 MiB/s; a ReadableStream body
   * fails (it needs HTTP/2).
   */
  constructor(
    t: { maxXorbBytes: number; maxXorbChunks: number; maxXorbUploads: number; streamUploads?: boolean },
    recycleSegment: (seg: PreparedSegment) => void,
  ) {
    this.#maxBytes = t.maxXorbBytes;
    this.#maxChunks = t.maxXorbChunks;
    this.#blobs = runtime === "web" && t.streamUploads !== true && typeof Blob !== "undefined";
    this.#capacity = this.#blobs ? PIECE + MAX_RECORD : t.maxXorbBytes + HEADER * t.maxXorbChunks;
    this.#keep = t.maxXorbUploads;
    this.#recycleSegment = recycleSegment;
  }

  /**
   * Bodies reference the raw chunks of sources that can be read again (`SegmentSource`) instead of copying
   * them: segments of such sources may leave raw payloads out of their records (`rawLeftOut`).
   */
  get readsSourcesAgain(): boolean {
    return !this.#blobs;
  }

  /** A body is being filled. */
  get filling(): boolean {
    return this.#open !== undefined;
  }

  /** Bodies of xorbs closed by the session and not taken yet. */
  get closedBodies(): number {
    return this.#closed.size;
  }

  /** Pushed chunks not placed yet (they wait for their ingestion block or dedup answers). */
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

  /** Most bytes the bodies held in their arenas at once (tests and benchmarks: what memory the bodies took). */
  get heldPeak(): number {
    return this.#heldPeak;
  }

  /**
   * End of the chunks from `from` that fit in the open xorb (or a new one when none is open), counting the
   * chunks still waiting for placement and assuming every chunk is new: the session's rule (raw bytes and
   * chunk count), so it never closes a xorb in the middle of a push.
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
   * placement. `src`: where the segment's bytes can be read again (then the payloads of chunks stored raw
   * are not held). Returns their lengths (raw bytes), for the session.
   */
  add(seg: PreparedSegment, from: number, to: number, src?: SegmentSource): Uint32Array {
    const lengths = new Uint32Array(to - from);
    for (let i = from; i < to; i++) lengths[i - from] = seg.ends[i]! - seg.chunkStart(i);
    this.#fifo.push({ seg, src, next: from, to, off: seg.recordOffset(from) });
    this.#fifoRaw += seg.ends[to - 1]! - seg.chunkStart(from);
    this.#fifoChunks += to - from;
    return lengths;
  }

  /**
   * Adds the records of the chunks the session placed (`takePlacements`, in push order) to the xorb bodies;
   * deduplicated chunks are dropped. Segments whose records are all placed go back.
   */
  place(placed: Uint32Array): void {
    let done: PreparedSegment[] | undefined;
    for (let k = 0; k < placed.length; k++) {
      const b = this.#fifo[this.#fifoHead]!;
      const i = b.next++;
      const len = b.seg.recordLengths[i]!;
      const raw = b.seg.ends[i]! - b.seg.chunkStart(i);
      const off = b.off;
      b.off += b.seg.storedLength(i, off);
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
      if (id !== PLACED_DEDUP) this.#append(id, b, i, off, len, raw);
    }
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
    if (body && this.#blobs) this.#spill(body);
    if (!body || body.len !== x.serializedBytes) {
      throw new XetBucketsError(
        "INTERNAL",
        `xorb ${id}: ${body?.len ?? "no"} bytes of records assembled for ${x.serializedBytes} serialized bytes`,
      );
    }
    this.#takenRaw += x.rawBytes;
    return { hash: x.hash, body: new XorbBody(body.arena, body.parts, body.len, (arena) => this.#reuse(arena)) };
  }

  /** Drops every record and body (the upload is over). */
  close(): void {
    this.#fifo = [];
    this.#open = undefined;
    this.#closed.clear();
    for (const a of this.#free) releaseBuffer(new Uint8Array(a.buffer));
    this.#free = [];
  }

  /**
   * Adds chunk `i` of batch `b` (its record at `off`, `len` bytes) to the body of xorb `id`: a raw record
   * of a source that can be read again as its header and a source range, any other record as bytes.
   */
  #append(id: number, b: RecordBatch, i: number, off: number, len: number, raw: number): void {
    if (this.#open?.id !== id) {
      if (this.#open) this.#closed.set(this.#open.id, this.#open);
      this.#open = { id, arena: this.#free.pop() ?? new Arena(this.#capacity, this.#blobs), parts: [], len: 0, raw: 0, chunks: 0 };
    }
    const body = this.#open;
    const records = b.seg.records;
    body.raw += raw;
    body.chunks++;
    body.len += len;
    if (b.src && !this.#blobs && isRawRecord(records, off) && len === HEADER + raw) {
      this.#bytes(body, records.subarray(off, off + HEADER));
      const start = b.src.base + b.seg.chunkStart(i);
      const last = body.parts[body.parts.length - 1];
      if (last && "src" in last && last.src === b.src.source && last.end === start) last.end += raw;
      else body.parts.push({ src: b.src.source, start, end: start + raw });
      return;
    }
    if (b.seg.rawLeftOut && isRawRecord(records, off))
      throw new XetBucketsError("INTERNAL", "a record without its payload has no source to read it from");
    this.#bytes(body, records.subarray(off, off + len));
  }

  /** Appends bytes to a body's arena (extending its last part when it is the arena range just before). */
  #bytes(body: Filling, bytes: Uint8Array): void {
    const at = body.arena.append(bytes);
    const last = body.parts[body.parts.length - 1];
    if (last && "a" in last && last.b === at) last.b += bytes.length;
    else body.parts.push({ a: at, b: at + bytes.length });
    this.#held += bytes.length;
    if (this.#held > this.#heldPeak) this.#heldPeak = this.#held;
    if (this.#blobs && body.arena.len >= PIECE) this.#spill(body);
  }

  /** Blob bodies: the body's arena bytes (its last part) become a Blob piece. */
  #spill(body: Filling): void {
    const n = body.arena.len;
    if (n === 0) return;
    const blob = body.arena.spill();
    this.#held -= n;
    const src = sourceRanges({ path: "", source: blob, size: n })!;
    body.parts[body.parts.length - 1] = { src, start: 0, end: n };
  }

  /** A released body's arena: kept for the next xorbs, or freed now. */
  #reuse(arena: Arena): void {
    this.#held -= arena.appended;
    if (this.#free.length < this.#keep) {
      arena.reset();
      this.#free.push(arena);
    } else releaseBuffer(new Uint8Array(arena.buffer));
  }
}
