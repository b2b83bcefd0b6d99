/**
 * Xet downloads: file bytes from the CAS (xet-protocol.md §6.6, §9).
 *
 * For a byte range of a file: query the reconstruction (`/v2/reconstructions`, falling back to `/v1` on
 * 404/501) in windows of `reconstructionWindowBytes`, fetch the xorb byte ranges it lists from their
 * fetch URLs (no Authorization; one multi-range request per fetch entry, or one request per range),
 * in parallel under a memory budget, decode every chunk record with the core (which hashes each
 * chunk), check each term's `unpacked_length`, assemble the terms in order, drop
 * `offset_into_first_range`, truncate, and stream the bytes out. A 403 from a fetch URL (expired URL)
 * re-queries the reconstruction and retries with the new URL; so does a fetched range whose bytes do not
 * decode (damaged in transit: fetched again, `RANGE_FETCH_ATTEMPTS` times in all, before `IntegrityError`);
 * network errors, 429 and 5xx are retried by the shared policy, also when a connection breaks or stalls in
 * the middle of a body. What a window fetches, in which order, what is kept for later terms and which bytes
 * each term produces is planned by xet/window-plan.ts from the reconstruction alone; `XetReader` executes the
 * plan.
 *
 * Whole-file reads are verified: the chunk hashes, in file order, give the file hash, which must equal
 * the expected xetHash; otherwise the read ends with `IntegrityError` (code HASH_MISMATCH) after the last
 * byte was produced, so sinks must commit only when the iteration completes (the Node file sink writes
 * a temporary file and renames it only then), and may read the file again (`FILE_READ_ATTEMPTS`, with a
 * fresh reconstruction: a byte flipped inside a stored-raw chunk decodes, and only the file hash sees it).
 * Partial reads cannot be verified this way.
 *
 * Memory: a fetch streams its answer through the core (decoding batches of about 4 MiB), so it holds its
 * decoded chunks (at most one xorb: 64 MiB) and at most 8 MiB of serialized bytes, from the moment it starts
 * until its last term has been consumed. The fetch the reader consumes or waits for (the head) always
 * starts; fetches ahead of it start only while their total (decoded estimate + window) stays under
 * `maxBufferedBytes`, and at most `maxRangeFetches` requests are in flight. So:
 *
 *     download memory ≈ maxBufferedBytes + F per file being read + one write block + spares,  F ≤ 64 + 8 MiB
 *
 * (spares: the reader keeps spent record windows, at most 32 MiB of them, and decoded outputs, at most 24 MiB,
 * for reuse: see WindowPool.)
 *
 * (F: the head fetch, decoded plus its decoding window; small for files made of small xorbs.)
 *
 * Files (`readToFile`: downloadBucketFiles, sync, the CLI) are written at their offsets instead of streamed,
 * and in Node by the chunking workers themselves: each batch of records goes to a worker with where its chunks
 * go in the file, and comes back as lengths and hashes (fed to the file hash in file order, as above). No
 * fetch holds decoded chunks, only its record windows, so it costs the budget that much, and the batches on the
 * workers are bounded per read (`DecodeGate`): a 1 GiB file downloads in about 190 MiB of RSS.
 *
 * Node fetches xorb ranges and reconstructions over kept-alive HTTP/1.1 connections that read in place
 * (platform/node/range-fetch.ts: no buffer per network read), unless the caller gives its own `fetch`.
 */
import { decodeRecordsInto, FileHashBuilder, initCore } from "../core/index.js";
import { defaultWorkers, inPlaceBody, rangeFetch } from "#platform";
import { decodedCapacity } from "../core/packed.js";
import { acquireWorkerPool } from "../pool/pool.js";
import { HubApiError, IntegrityError, NetworkError, ProtocolError, XetBucketsError, XetCoreError } from "../errors.js";
import { httpRequestRead, redactUrl, retryConfig } from "../http.js";
import type { InPlaceBody } from "../platform/types.js";
import { CasClient, callersFetch } from "./cas.js";
import {
  DownloadLimiter,
  MultipartParser,
  RangeRouter,
  parseReconstruction,
  type DownloadTuning,
  type RangeSink,
  type ReconRange,
  type ReconTerm,
  type Reconstruction,
} from "./fetch-plan.js";
import {
  fetchRequests,
  planWindow,
  rangeIndex,
  rangeKey,
  readWindows,
  regroupParts,
  type PlannedFetch,
  type PlannedTerm,
} from "./window-plan.js";

export { DownloadLimiter, parseMultipart, parseReconstruction, DEFAULT_MAX_BUFFERED_BYTES } from "./fetch-plan.js";
export type { DownloadTuning, ReconEntry, ReconRange, ReconTerm, Reconstruction } from "./fetch-plan.js";

const MiB = 1024 * 1024;

const DEFAULT_WINDOW_BYTES = 1024 * MiB;
/** Records decoded per call into the core (bounds the core's memory and the pending serialized bytes). */
const DECODE_BATCH_BYTES = 4 * MiB;
/** Serialized bytes a fetch holds at most while decoding: one batch, one network read, one record. */
const DECODE_WINDOW_BYTES = 2 * DECODE_BATCH_BYTES;

// ---------------------------------------------------------------------------------------------
// Fetching and decoding ranges
// ---------------------------------------------------------------------------------------------

/** Decoded chunks of a run of records, with prefix offsets. */
interface Batch {
  chunkStart: number;
  count: number;
  data: Uint8Array;
  lengths: Uint32Array;
  hashes: Uint8Array;
  /**
   * count + 1 offsets into data. A plain array: a typed array of this size lives outside V8's heap, and
   * allocating one while transferred windows fill the young generation's external bytes starts a collection.
   */
  offsets: number[];
  /** The buffer under data, lengths and hashes (reusable once the batch is consumed). */
  packed?: ArrayBuffer;
  /**
   * The worker wrote the batch's chunks to the file being read into (`XetReader.readToFile`), where the
   * range's placement says: `data` is empty, and the terms produce nothing more from it.
   */
  written?: boolean;
}
interface DecodedRange {
  start: number;
  end: number;
  batches: Batch[];
}

/** The offsets of chunks of these lengths laid end to end, and their total: lengths.length + 1 numbers. */
function prefixSums(lengths: Uint32Array): number[] {
  const out = new Array<number>(lengths.length + 1);
  out[0] = 0;
  for (let i = 0; i < lengths.length; i++) out[i + 1] = out[i]! + lengths[i]!;
  return out;
}

function corrupt(message: string, cause?: unknown): IntegrityError {
  return new IntegrityError(
    "CORRUPT_DATA",
    `${message}: the downloaded xorb data is corrupt. Retry the download; if it persists, the stored data is damaged.`,
    { cause },
  );
}

/**
 * Spent buffers kept for reuse, up to `capBytes` in all: when full, a larger buffer replaces the smallest.
 * Capped by bytes, not by count, so that many small files in flight (each holding a buffer of about its size)
 * reuse as well as a few large ones.
 */
class Spares<T extends { byteLength: number }> {
  readonly #free: T[] = [];
  #bytes = 0;
  constructor(readonly capBytes: number) {}
  /** The smallest kept buffer of at least `size` bytes. */
  take(size: number): T | undefined {
    let best = -1;
    for (let i = 0; i < this.#free.length; i++) {
      const b = this.#free[i]!;
      if (b.byteLength >= size && (best < 0 || b.byteLength < this.#free[best]!.byteLength)) best = i;
    }
    if (best < 0) return undefined;
    const b = this.#free.splice(best, 1)[0]!;
    this.#bytes -= b.byteLength;
    return b;
  }
  give(b: T): void {
    if (b.byteLength === 0 || b.byteLength > this.capBytes) return;
    while (this.#bytes + b.byteLength > this.capBytes) {
      let smallest = 0;
      for (let i = 1; i < this.#free.length; i++) if (this.#free[i]!.byteLength < this.#free[smallest]!.byteLength) smallest = i;
      if (this.#free.length === 0 || this.#free[smallest]!.byteLength >= b.byteLength) return;
      this.#bytes -= this.#free.splice(smallest, 1)[0]!.byteLength;
    }
    this.#free.push(b);
    this.#bytes += b.byteLength;
  }
}

/** Bytes of spent buffers a reader keeps, for each kind (record windows, decoded outputs). */
const SPARE_BYTES = 3 * DECODE_WINDOW_BYTES;

/** Granule of window sizes: a range of 1 MiB and a few record headers takes 1.25 MiB, not 2. */
const WINDOW_STEP = 256 * 1024;
/** A window handed to a worker: one batch, one network read, one record (most reads fit, or it grows). */
const BATCH_WINDOW_BYTES = DECODE_BATCH_BYTES + 2 * WINDOW_STEP;
/** A network read lands in a decoder's window only where it has this much room (else it is copied there). */
const MIN_TARGET_BYTES = 16 * 1024;
/** Bytes of spent windows a reader keeps: with 16 small files in flight, each holds one. */
const WINDOW_SPARE_BYTES = 4 * DECODE_WINDOW_BYTES;

/**
 * Buffers for the serialized records of fetched ranges, reused from range to range by one reader: a fresh
 * multi-MiB buffer per range costs its page faults and, with many small files, frequent full collections
 * (the external memory they add up to). A window is a whole `ArrayBuffer` (it is handed to a worker as the
 * batch it holds); sizes are multiples of 256 KiB. It keeps at most `WINDOW_SPARE_BYTES` (32 MiB) of windows
 * and `SPARE_BYTES` (24 MiB) of decoded outputs.
 */
export class WindowPool {
  readonly #free = new Spares<Uint8Array>(WINDOW_SPARE_BYTES);
  readonly #outputs = new Spares<ArrayBuffer>(SPARE_BYTES);
  /** Windows handed out again (for tests and diagnostics). */
  reusedWindows = 0;
  /** Output buffers handed out again (for tests and diagnostics). */
  reusedOutputs = 0;
  /**
   * A spent output buffer for a worker's decoded batch, if one is kept: decoded batches live until they are
   * written, long enough to reach V8's old generation, where a fresh multi-MiB buffer per batch (1 GiB
   * downloaded: hundreds of them) triggers a full collection every few of them. The smallest kept of at
   * least `size` bytes (the expected result); the worker writes into it when the result fits.
   */
  takeOutput(size = 0): ArrayBuffer | undefined {
    const b = this.#outputs.take(size);
    if (b) this.reusedOutputs++;
    return b;
  }
  /** Keeps a consumed batch's buffer for a later batch (of at most one decode window). */
  giveOutput(b: ArrayBuffer): void {
    if (b.byteLength >= 64 * 1024 && b.byteLength <= DECODE_WINDOW_BYTES) this.#outputs.give(b);
  }
  /** A window of at least `size` bytes (a whole buffer). */
  take(size: number): Uint8Array {
    const cap = Math.max(WINDOW_STEP, Math.ceil(size / WINDOW_STEP) * WINDOW_STEP);
    const w = this.#free.take(cap);
    if (w) this.reusedWindows++;
    return w ?? new Uint8Array(cap);
  }
  /** Keeps a spent window (a whole buffer of at most one decode window) for a later range. */
  give(w: Uint8Array): void {
    if (w.length < WINDOW_STEP || w.length > DECODE_WINDOW_BYTES || w.byteOffset !== 0 || w.length !== w.buffer.byteLength) return;
    this.#free.give(w);
  }
}

/**
 * Decodes and hashes chunk records elsewhere (the chunking workers: `WorkerPool.decode`), handing the
 * input buffer back.
 */
export type RecordsDecoder = (
  bytes: ArrayBuffer,
  length: number,
  out?: ArrayBuffer,
  write?: { path: string; runs: number[] },
) => Promise<{
  decoded: { count: number; lengths: Uint32Array; hashes: Uint8Array; data: Uint8Array };
  data: ArrayBuffer;
  unused?: ArrayBuffer;
  written?: number;
}>;

/**
 * Where the chunks of one fetched range go when a worker writes them to the file being read into
 * (`XetReader.readToFile`): the file's path, and each term that reads the range, with the file offset of its
 * first byte and the span of its bytes to write (`skip` bytes dropped, then `take` bytes).
 */
export interface RangePlacement {
  path: string;
  terms: { start: number; end: number; fileOffset: number; skip: number; take: number }[];
}

/**
 * Batches on the workers for one read at most (all its ranges together): beyond, network reads wait. Each
 * batch holds a window of serialized records (≤ 4.5 MiB), so this bounds what a fast network piles up in
 * front of the workers.
 */
export class DecodeGate {
  #inflight = 0;
  #waiters: (() => void)[] = [];
  constructor(readonly max: number) {}
  get full(): boolean {
    return this.#inflight >= this.max;
  }
  /** Resolves once a batch may go (does not take it: `take()` does). */
  wait(): Promise<void> {
    if (!this.full) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push(resolve));
  }
  take(): void {
    this.#inflight++;
  }
  give(): void {
    this.#inflight--;
    const w = this.#waiters;
    this.#waiters = [];
    for (const f of w) f();
  }
}

/**
 * Smaller batches (tiny files) are decoded here: a worker round trip would cost them more than it saves.
 * Batches of 1 MiB files go to the workers: decoded here they cost the calling thread — the bottleneck of a
 * download, with the network reads and the file writes — more CPU than the round trip (measured: 512 files
 * of 1 MiB, 4.4 → 4.2 s, CPU 3.7 → 3.0 s).
 */
const SMALL_BATCH_BYTES = 256 * 1024;

/** Batches a decoder has on the workers at most; the network read waits beyond. */
const MAX_PENDING_BATCHES = 2;

/**
 * Streaming decoder of the chunk records of one fetched range (chunks [start, end)): serialized bytes go
 * in as they arrive; complete records are decoded (and their chunks hashed) by the core in batches of
 * about 4 MiB, so only the decoded chunks and a small window of serialized bytes are held. With a
 * `RecordsDecoder` the batches of 2 MiB or more are decoded on the chunking workers (at most 2 at a time per
 * range; read the result with `done()`), smaller ones here (a worker round trip would cost a small file more
 * latency than it saves), in order either way.
 */
export class RecordDecoder implements RangeSink {
  readonly range: { start: number; end: number };
  readonly xorb: string;
  readonly batches: Batch[] = [];
  #pending: Promise<Batch>[] = [];
  #inflight = 0;
  #waiters: (() => void)[] = [];
  readonly #decode: RecordsDecoder | undefined;
  readonly #placement: RangePlacement | undefined;
  readonly #gate: DecodeGate | undefined;
  /** Decoded bytes of the range's chunks before each chunk (from the record headers), with a placement. */
  readonly #before: number[] = [0];
  #buf: Uint8Array = new Uint8Array(0);
  #len = 0;
  #chunk: number;

  /** The range's serialized length, when known: the window is sized for it at once (no regrowth). */
  readonly #expected: number;
  /** Serialized bytes already handed on in batches (the window holds the ones after them). */
  #consumed = 0;
  readonly #pool: WindowPool | undefined;

  constructor(
    range: { start: number; end: number; byteStart?: number; byteEnd?: number },
    xorb: string,
    pool?: WindowPool,
    decode?: RecordsDecoder,
    opts: { placement?: RangePlacement; gate?: DecodeGate } = {},
  ) {
    this.range = range;
    this.xorb = xorb;
    this.#chunk = range.start;
    this.#expected = range.byteEnd !== undefined && range.byteStart !== undefined ? range.byteEnd - range.byteStart + 1 : 0;
    this.#pool = pool;
    this.#decode = decode;
    this.#placement = decode ? opts.placement : undefined;
    this.#gate = decode ? opts.gate : undefined;
  }

  /** True while `ready()` would wait. */
  get busy(): boolean {
    return this.#inflight >= MAX_PENDING_BATCHES || this.#gate?.full === true;
  }

  /**
   * Resolves once fewer than 2 batches of this range, and fewer than the gate allows for the whole read, are
   * being decoded on the workers (backpressure for the network reads).
   */
  async ready(): Promise<void> {
    for (;;) {
      if (this.#inflight >= MAX_PENDING_BATCHES) await new Promise<void>((resolve) => this.#waiters.push(resolve));
      else if (this.#gate?.full) await this.#gate.wait();
      else return;
    }
  }

  /** `finish()`, then the batches decoded on the workers, in order. */
  async done(): Promise<DecodedRange> {
    const r = this.finish();
    if (this.#pending.length > 0) {
      this.batches.push(...(await Promise.all(this.#pending)));
      this.#pending = [];
    }
    return r;
  }

  #alloc(size: number): Uint8Array {
    return this.#pool ? this.#pool.take(size) : new Uint8Array(size);
  }

  /** The size of a new window that already holds `carry` bytes: the rest of the range, up to a decode window. */
  #windowSize(carry: number): number {
    const rest = this.#expected > 0 ? this.#expected - this.#consumed : 0;
    // A window that goes to a worker holds one batch, one network read and one record; one decoded here
    // stays, and holds up to a decode window.
    return Math.max(carry, Math.min(rest, this.#decode ? BATCH_WINDOW_BYTES : DECODE_WINDOW_BYTES));
  }

  /**
   * The window's free space (at most `max` bytes) for the next network read to land in (`InPlaceTarget`), or
   * undefined when it has less than `MIN_TARGET_BYTES` free (the bytes then come to `push` to be copied). The
   * window stays this decoder's until `push` receives the bytes read into that view.
   */
  target(max: number): Uint8Array | undefined {
    if (this.#buf.length === 0 && this.#expected > 0) this.#buf = this.#alloc(this.#windowSize(0));
    const room = this.#buf.length - this.#len;
    if (room < MIN_TARGET_BYTES) return undefined;
    return this.#buf.subarray(this.#len, this.#len + Math.min(room, max));
  }

  push(bytes: Uint8Array): void {
    if (bytes.buffer === this.#buf.buffer && bytes.byteOffset === this.#buf.byteOffset + this.#len && bytes.length > 0) {
      // Read into the window's free space (`target`): already in place.
      this.#len += bytes.length;
      this.#drain(false);
      return;
    }
    if (this.#buf.length === 0 && this.#expected > 0) this.#buf = this.#alloc(this.#windowSize(0));
    if (this.#len + bytes.length > this.#buf.length) {
      const grown = this.#alloc(Math.max(this.#len + bytes.length, Math.min(2 * this.#buf.length, DECODE_WINDOW_BYTES), 256 * 1024));
      grown.set(this.#buf.subarray(0, this.#len));
      this.#pool?.give(this.#buf);
      this.#buf = grown;
    }
    this.#buf.set(bytes, this.#len);
    this.#len += bytes.length;
    this.#drain(false);
  }

  /** Decodes what is left; the range must end on a record boundary with the announced chunk count. */
  finish(): DecodedRange {
    this.#drain(true);
    if (this.#len > 0) throw corrupt(`truncated chunk record in xorb ${this.xorb}`);
    const { start, end } = this.range;
    if (this.#chunk !== end)
      throw corrupt(`xorb ${this.xorb}: the range holds ${this.#chunk - start} chunks, the reconstruction announced ${end - start}`);
    this.#pool?.give(this.#buf);
    this.#buf = new Uint8Array(0);
    return { start, end, batches: this.batches };
  }

  #drain(final: boolean): void {
    let buf = this.#buf;
    let pos = 0;
    const lengths: number[] = [];
    for (;;) {
      let stop = pos;
      let raw = 0;
      let n = 0;
      let full = false;
      lengths.length = 0;
      while (stop + 8 <= this.#len) {
        if (buf[stop] !== 0) throw corrupt(`xorb ${this.xorb}: chunk record ${this.#chunk + n} has version ${buf[stop]}, expected 0`);
        const clen = buf[stop + 1]! | (buf[stop + 2]! << 8) | (buf[stop + 3]! << 16);
        if (stop + 8 + clen > this.#len) break;
        const len = buf[stop + 5]! | (buf[stop + 6]! << 8) | (buf[stop + 7]! << 16);
        raw += len;
        if (this.#placement) lengths.push(len);
        stop += 8 + clen;
        n++;
        if (stop - pos >= DECODE_BATCH_BYTES || raw >= DECODE_BATCH_BYTES) {
          full = true;
          break;
        }
      }
      if (n === 0 || (!full && !final)) break;
      if (this.#chunk + n > this.range.end)
        throw corrupt(`xorb ${this.xorb}: the range holds more chunks than the ${this.range.end - this.range.start} announced`);
      // The decoded length of each chunk is in its header (the core checks that it decodes to it): where the
      // chunks go in the file is known before they are decoded.
      for (const len of lengths) this.#before.push(this.#before[this.#before.length - 1]! + len);
      if (this.#decode && stop - pos >= SMALL_BATCH_BYTES && pos === 0) {
        // The window itself goes to the worker (its records are at its start, no copy); the bytes after
        // them move to a new window.
        const carry = this.#len - stop;
        const next = carry > 0 || !final ? this.#alloc(this.#windowSize(carry)) : new Uint8Array(0);
        next.set(buf.subarray(stop, this.#len));
        this.#consumed += stop;
        this.#buf = next;
        this.#len = carry;
        this.#offload(buf, stop, this.#chunk, n, this.#runs(this.#chunk, n));
        this.#chunk += n;
        buf = next;
        continue;
      }
      let d, packed;
      try {
        // Into a spent output buffer when the reader keeps one (no copy through a fresh array either way).
        ({ decoded: d, packed } = decodeRecordsInto(buf.subarray(pos, stop), this.#pool?.takeOutput(decodedCapacity(stop - pos, n))));
      } catch (err) {
        if (err instanceof XetCoreError) throw corrupt(`undecodable chunk records in xorb ${this.xorb} (${err.code}: ${err.message})`, err);
        throw err;
      }
      if (d.count !== n) throw corrupt(`xorb ${this.xorb}: decoded ${d.count} chunks where ${n} records were framed`);
      const offsets = prefixSums(d.lengths);
      const batch = { chunkStart: this.#chunk, count: n, data: d.data, lengths: d.lengths, hashes: d.hashes, offsets, packed };
      // With batches on the workers, keep the order: this one comes after theirs.
      if (this.#decode) this.#pending.push(Promise.resolve(batch));
      else this.batches.push(batch);
      this.#chunk += n;
      this.#consumed += stop - pos;
      pos = stop;
    }
    if (pos > 0) {
      buf.copyWithin(0, pos, this.#len);
      this.#len -= pos;
    }
  }

  /**
   * With a placement, the writes of the chunks [first, first + n) of the range, 5 numbers each (see
   * `DecodeWrites`): for each term that reads some of them, the part of its span they hold.
   */
  #runs(first: number, n: number): number[] | undefined {
    if (!this.#placement) return undefined;
    const base = this.range.start;
    const before = this.#before;
    const runs: number[] = [];
    for (const t of this.#placement.terms) {
      const a = Math.max(first, t.start);
      const b = Math.min(first + n, t.end);
      if (a >= b) continue;
      const termStart = before[t.start - base]!;
      // The term's bytes these chunks hold, and the part of them the term produces.
      const from = before[a - base]! - termStart;
      const to = before[b - base]! - termStart;
      const x = Math.max(from, t.skip);
      const y = Math.min(to, t.skip + t.take);
      if (x < y) runs.push(a - first, b - first, x - from, y - x, t.fileOffset + x);
    }
    return runs;
  }

  /**
   * Sends one batch of records to the workers: the first `length` bytes of `window` (a whole buffer, given
   * up here and handed back by the worker), chunks from `chunkStart`, `n` of them.
   */
  #offload(window: Uint8Array, length: number, chunkStart: number, n: number, runs: number[] | undefined): void {
    this.#inflight++;
    this.#gate?.take();
    const write = runs && this.#placement ? { path: this.#placement.path, runs } : undefined;
    // A batch written by the worker comes back as lengths and hashes: no output buffer to lend.
    const out = write ? undefined : this.#pool?.takeOutput(decodedCapacity(length, n));
    const p = this.#decode!(window.buffer as ArrayBuffer, length, out, write)
      .then(
        ({ decoded: d, data, unused, written }) => {
          this.#pool?.give(new Uint8Array(data));
          if (unused) this.#pool?.giveOutput(unused);
          if (d.count !== n) throw corrupt(`xorb ${this.xorb}: decoded ${d.count} chunks where ${n} records were framed`);
          const offsets = prefixSums(d.lengths);
          if (write && written !== write.runs.reduce((a, _, i) => (i % 5 === 3 ? a + write.runs[i]! : a), 0))
            throw new XetBucketsError("INTERNAL", `a chunking worker wrote ${written} bytes of xorb ${this.xorb}, not what was asked`);
          return {
            chunkStart,
            count: n,
            data: d.data,
            lengths: d.lengths,
            hashes: d.hashes,
            offsets,
            packed: write ? undefined : (d.data.buffer as ArrayBuffer),
            written: write !== undefined,
          };
        },
        (err: unknown) => {
          if (err instanceof XetCoreError)
            throw corrupt(`undecodable chunk records in xorb ${this.xorb} (${err.code}: ${err.message})`, err);
          throw err;
        },
      )
      .finally(() => {
        this.#inflight--;
        this.#gate?.give();
        const w = this.#waiters;
        this.#waiters = [];
        for (const f of w) f();
      });
    // Failures surface in done(); a decoder abandoned on a broken connection must not report them.
    p.catch(() => undefined);
    this.#pending.push(p);
  }
}

/** Decodes the chunk records of a whole fetched range (chunks [start, end)). */
export function decodeRange(bytes: Uint8Array, start: number, end: number, xorb: string): DecodedRange {
  const d = new RecordDecoder({ start, end }, xorb);
  d.push(bytes);
  return d.finish();
}

/**
 * One request to a fetch URL for `ranges` (one `Range` header listing them all); the answer — a 206
 * part, a multipart/byteranges body, or a whole 200 body — is streamed into one decoder per range.
 * Returns the decoded ranges, in order. Inside the retry loop: a broken body is fetched again.
 */
async function fetchRanges(
  cas: CasClient,
  url: string,
  ranges: ReconRange[],
  xorb: string,
  signal: AbortSignal,
  pool?: WindowPool,
  decode?: RecordsDecoder,
  opts: { placement?: (r: ReconRange) => RangePlacement | undefined; gate?: DecodeGate } = {},
): Promise<DecodedRange[]> {
  const header = `bytes=${ranges.map((r) => `${r.byteStart}-${r.byteEnd}`).join(",")}`;
  const what = `GET ${redactUrl(url)}`;
  // Without a fetch of the caller's, the platform's range fetch where it has one (Node: bodies read in place).
  const http = { ...cas.http, abortSignal: signal, fetch: callersFetch(cas.http.fetch) ?? rangeFetch() };
  return httpRequestRead(url, { headers: { Range: header }, signal }, http, async (res) => {
    const inPlace = inPlaceBody(res);
    try {
      return await readRanges(res, inPlace);
    } finally {
      // An answer refused before its body was read: its connection must not wait for a reader.
      inPlace?.cancel();
    }
  });

  async function readRanges(res: Response, inPlace: InPlaceBody | undefined): Promise<DecodedRange[]> {
    const decoders = ranges.map((r) => new RecordDecoder(r, xorb, pool, decode, { placement: opts.placement?.(r), gate: opts.gate }));
    const router = new RangeRouter(ranges.map((r, i) => ({ start: r.byteStart, end: r.byteEnd, sink: decoders[i]! })));
    const type = res.headers.get("content-type") ?? "";
    let feed: (chunk: Uint8Array) => void;
    let multipart: MultipartParser | undefined;
    if (res.status === 206 && /^multipart\/byteranges/i.test(type)) {
      const bm = /boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(type);
      if (!bm) throw new ProtocolError(`${what}: multipart answer without boundary`);
      const mp = new MultipartParser(bm[1] ?? bm[2]!, (offset, bytes) => router.feed(offset, bytes));
      multipart = mp;
      feed = (chunk) => mp.push(chunk);
    } else if (res.status === 206 || res.status === 200) {
      let offset = 0;
      if (res.status === 206) {
        const m = /bytes\s+(\d+)-(\d+)\//i.exec(res.headers.get("content-range") ?? "");
        if (!m) throw new ProtocolError(`${what}: 206 answer without Content-Range`);
        offset = Number(m[1]);
      }
      feed = (chunk) => {
        // Its length first: a chunk read into a decoder's window (`target`) is gone once the decoder hands
        // that window to a worker.
        const n = chunk.length;
        router.feed(offset, chunk);
        offset += n;
      };
    } else {
      throw new ProtocolError(`${what}: unexpected status ${res.status} for a ranged request`);
    }
    const declared = Number.parseInt(res.headers.get("content-length") ?? "", 10);
    let total = 0;
    if (inPlace) {
      // Node: the body is read in place (views of the connection's read buffer, copied into the decoders'
      // windows at once; with one range, read straight into its decoder's window); a promise returned pauses
      // the connection while the workers catch up.
      const busy = () => decode !== undefined && decoders.some((d) => d.busy);
      const only = res.status === 206 && !multipart && decoders.length === 1 ? decoders[0]! : undefined;
      await inPlace.read(
        (bytes) => {
          total += bytes.length;
          feed(bytes);
          // A server that ignored the Range header sends the whole object: stop once we have our bytes.
          if (res.status === 200 && router.complete) return false;
          if (busy()) return Promise.all(decoders.map((d) => d.ready())).then(() => undefined);
        },
        { signal, stallMs: retryConfig(cas.http.retry).stallTimeoutMs, target: only && ((max) => only.target(max)) },
      );
    } else if (res.body) {
      const reader = res.body.getReader();
      try {
        for (;;) {
          const { done, value } = await reader.read();
          if (done) break;
          total += value.length;
          feed(value);
          if (decode) await Promise.all(decoders.map((d) => d.ready()));
          // A server that ignored the Range header sends the whole object: stop once we have our bytes.
          if (res.status === 200 && router.complete) {
            await reader.cancel();
            break;
          }
        }
      } finally {
        reader.releaseLock();
      }
    }
    if (!router.complete) {
      // A body shorter than announced is a broken connection (a plain Error: retried by httpRequestRead, a
      // NetworkError once retries are spent), anything else a protocol error.
      if (Number.isFinite(declared) && total < declared) throw new Error(`connection closed after ${total} of ${declared} bytes`);
      throw new ProtocolError(`${what}: the answer lacks bytes ${router.missing()}`);
    }
    multipart?.end();
    return Promise.all(decoders.map((d) => d.done()));
  }
}

// ---------------------------------------------------------------------------------------------
// The reader
// ---------------------------------------------------------------------------------------------

/** A file to read: its Xet hash, size and path (for messages). */
export interface XetFileRef {
  /** The file's xetHash. */
  hash: string;
  /** The file's size in bytes. */
  size: number;
  /** For messages. */
  path?: string;
}

/**
 * A file written at positions (`XetReader.readToFile`): the platform's temporary file of an atomic write.
 * Where it has a `path` and the chunking workers write files (Node), the workers that decode the chunks write
 * them there themselves; `write` takes the rest (chunks decoded on this thread).
 */
export interface PositionalSink {
  /** The file's path, for workers that open it to write (never to create it). */
  readonly path?: string;
  write(data: Uint8Array, position: number): Promise<void>;
}

/** How a window's bytes leave the reader: yielded in order (`read`), or written at their offsets (`readToFile`). */
interface WindowOutput {
  sink: PositionalSink;
  /** Bytes produced (written by a worker or through the sink), in file order. */
  onBytes(n: number): void;
  /** The workers write the chunks they decode (the sink has a path and the workers write files). */
  workersWrite: boolean;
}

/** A planned fetch while the window is read: its requests (re-planned after a 403) and its data. */
interface Unit extends PlannedFetch {
  /** Bytes counted in the limiter's budget (0 once the unit is the head or done). */
  counted: number;
  /** The reader is done with the unit (or the read ended). */
  done: boolean;
  /** Settles when the unit is fetched (its data is in `decoded`, dropped when the unit is released). */
  ready: Promise<void>;
  decoded: Map<string, DecodedRange> | undefined;
  resolve(): void;
  reject(e: unknown): void;
}

function startUnit(f: PlannedFetch): Unit {
  let resolve!: Unit["resolve"];
  let reject!: Unit["reject"];
  const ready = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  ready.catch(() => {});
  return { ...f, counted: 0, done: false, ready, decoded: undefined, resolve, reject };
}

/**
 * Batches on the workers at once per read, beyond the 2 per range: 2 per worker (one decoding, one queued
 * behind it) plus 2, so that a fast network never piles more than a few windows in front of the workers.
 */
const GATE_PER_WORKER = 2;

/**
 * Reads files through one CAS client. Share one reader (and its limiter) between the files of a call
 * so that their fetches share the memory budget.
 */
export class XetReader {
  readonly cas: CasClient;
  readonly limiter: DownloadLimiter;
  readonly windowBytes: number;
  readonly multiRange: boolean;
  #version: "v1" | "v2" | undefined;
  readonly #windows = new WindowPool();
  readonly #workers: number;
  readonly #gate: DecodeGate;

  /**
   * Where fetched records are decoded and hashed: the chunking workers (Node: `workers`, default the cores,
   * at most 4) so that decoding runs beside the network reads and file writes, else this thread. `writes`:
   * the workers also write the chunks of `readToFile` (Node).
   */
  async #decoder(): Promise<{ decode: RecordsDecoder; writes: boolean } | undefined> {
    if (this.#workers <= 0) return undefined;
    try {
      const pool = await acquireWorkerPool(this.#workers);
      // The pool stays while jobs run and stops its workers once idle; no need to hold it.
      pool.release();
      return { decode: (bytes, length, out, write) => pool.decode(bytes, length, out, write), writes: pool.readsFiles };
    } catch {
      return undefined;
    }
  }

  /** The CAS client of reconstruction queries: the platform's fast fetch (small answers read whole) unless the caller gave one. */
  readonly #queries: CasClient;

  constructor(cas: CasClient, tuning: DownloadTuning = {}, limiter?: DownloadLimiter) {
    this.cas = cas;
    const fast = callersFetch(cas.http.fetch) === undefined ? rangeFetch(false) : undefined;
    this.#queries = fast ? new CasClient(cas.tokens, { ...cas.http, fetch: fast }, cas.sessionId) : cas;
    this.limiter = limiter ?? new DownloadLimiter(tuning);
    this.windowBytes = Math.max(1, tuning.reconstructionWindowBytes ?? DEFAULT_WINDOW_BYTES);
    this.multiRange = tuning.multiRange ?? true;
    this.#workers = tuning.workers ?? defaultWorkers();
    this.#gate = new DecodeGate(GATE_PER_WORKER * Math.max(1, this.#workers) + 2);
  }

  #uncount(u: Unit): void {
    if (u.counted > 0) {
      this.limiter.release(u.counted);
      u.counted = 0;
    }
  }

  /** Queries the reconstruction of bytes [first, last] (inclusive) of a file; v2, falling back to v1. */
  async reconstruction(hash: string, first: number, last: number, signal?: AbortSignal): Promise<Reconstruction> {
    const headers = { Range: `bytes=${first}-${last}` };
    const readJson = async (res: Response) => {
      const text = await res.text();
      try {
        return JSON.parse(text) as unknown;
      } catch (err) {
        throw new ProtocolError(`the reconstruction of ${hash} is not JSON: ${text.slice(0, 120)}`, { cause: err });
      }
    };
    if (this.#version !== "v1") {
      const r = await this.#queries.requestRead(`/v2/reconstructions/${hash}`, { headers, accept: [404, 501], signal }, async (res) => {
        if (res.status === 404 || res.status === 501) {
          await res.body?.cancel();
          return { status: res.status, json: undefined };
        }
        return { status: res.status, json: await readJson(res) };
      });
      if (r.status !== 404 && r.status !== 501) {
        this.#version = "v2";
        return parseReconstruction(r.json, "v2");
      }
      if (this.#version === "v2" && r.status === 404) throw missingOnCas(hash, await this.cas.casUrl(signal));
    }
    try {
      const json = await this.#queries.requestRead(`/v1/reconstructions/${hash}`, { headers, signal }, readJson);
      this.#version = "v1";
      return parseReconstruction(json, "v1");
    } catch (err) {
      if (err instanceof HubApiError && err.statusCode === 404) throw missingOnCas(hash, await this.cas.casUrl(signal));
      throw err;
    }
  }

  /**
   * Yields the bytes [start, end) of a file, in order. Whole-file reads (start 0, end = size) are verified
   * against `file.hash` unless `verify` is false; a mismatch ends the iteration with `IntegrityError`
   * (HASH_MISMATCH) after the last byte. Yielded arrays are never reused by the reader, unless `reuse` is
   * set: for a sink that is done with each array (wrote or copied it) when it asks for the next one, the
   * reader then reuses the buffers of consumed batches (fewer full collections).
   */
  read(
    file: XetFileRef,
    opts: { start?: number; end?: number; signal?: AbortSignal; verify?: boolean; reuse?: boolean } = {},
  ): AsyncGenerator<Uint8Array> {
    return this.#read(file, opts, undefined);
  }

  /**
   * Writes the whole file into `sink` at its offsets, in no particular order, verified against `file.hash`
   * (unless `verify` is false): a mismatch rejects with `IntegrityError` (HASH_MISMATCH) once every byte was
   * written, so the sink must commit only when this resolves. Where the sink has a path and the chunking
   * workers write files (Node), each worker writes the chunks it decodes and sends back only their lengths
   * and hashes: the file's bytes never cross into this thread, and the memory held is the serialized windows
   * of the fetches in flight (a few MiB each), not their decoded chunks. `onBytes` reports the bytes written,
   * in file order. Returns the number of bytes written (the file's size).
   */
  async readToFile(
    file: XetFileRef,
    sink: PositionalSink,
    opts: { signal?: AbortSignal; verify?: boolean; onBytes?: (n: number) => void } = {},
  ): Promise<number> {
    let written = 0;
    const out: WindowOutput = {
      sink,
      onBytes: (n) => {
        written += n;
        opts.onBytes?.(n);
      },
      workersWrite: sink.path !== undefined && (await this.#decoder())?.writes === true,
    };
    for await (const _ of this.#read(file, { signal: opts.signal, verify: opts.verify }, out)) {
      // nothing is yielded: the bytes went to the sink
    }
    return written;
  }

  async *#read(
    file: XetFileRef,
    opts: { start?: number; end?: number; signal?: AbortSignal; verify?: boolean; reuse?: boolean },
    output: WindowOutput | undefined,
  ): AsyncGenerator<Uint8Array> {
    const windows = readWindows(file.size, opts, this.windowBytes);
    const signal = opts.signal ?? this.cas.http.abortSignal;
    signal?.throwIfAborted();
    if (windows.length === 0) return;
    await initCore();
    const verify = opts.verify !== false && windows[0]!.start === 0 && windows.at(-1)!.end === file.size;
    const builder = verify ? new FileHashBuilder() : undefined;
    let finished = false;
    const state = { hashedUpTo: 0, builder };
    try {
      for (const w of windows) yield* this.#window(file, w.start, w.end, state, signal, opts.reuse === true, output);
      if (builder) {
        finished = true;
        const actual = builder.finish();
        const expected = file.hash.toLowerCase();
        if (actual !== expected) {
          throw new IntegrityError(
            "HASH_MISMATCH",
            `downloaded data${file.path ? ` of "${file.path}"` : ""} does not match its xetHash: expected ${expected}, got ${actual}. ` +
              "The data was corrupted in transit or in storage. Retry the download; if it persists, the stored file is damaged.",
            { expected, actual },
          );
        }
      }
    } finally {
      if (builder && !finished) {
        try {
          builder.finish();
        } catch {
          // only frees it
        }
      }
    }
  }

  /**
   * Reads the window [ws, we): plans it from its reconstruction, then fetches, decodes and slices. The bytes
   * are yielded in order, or with `output` written at their offsets (nothing is yielded).
   */
  async *#window(
    file: XetFileRef,
    ws: number,
    we: number,
    state: { hashedUpTo: number; builder: FileHashBuilder | undefined },
    userSignal: AbortSignal | undefined,
    reuse: boolean,
    output: WindowOutput | undefined,
  ): AsyncGenerator<Uint8Array> {
    const hash = file.hash.toLowerCase();
    const recon = await this.reconstruction(hash, ws, we - 1, userSignal);
    const workersWrite = output?.workersWrite === true;
    // The terms are read from the first answer; a re-query (after a 403) only refreshes URLs. Chunks the
    // workers write are not held once fetched: a fetch costs only its decoding windows.
    const plan = planWindow(hash, recon, ws, we, {
      multiRange: this.multiRange,
      decodeWindowBytes: DECODE_WINDOW_BYTES,
      holdsDecoded: !workersWrite,
    });
    const units = plan.fetches.map(startUnit);

    // Where the workers write each range's chunks: the terms that read it.
    const placements = new Map<string, RangePlacement>();
    if (workersWrite) {
      plan.terms.forEach((pt, ti) => {
        const t = recon.terms[ti]!;
        const key = rangeKey(t.xorb, pt.range.start, pt.range.end);
        let p = placements.get(key);
        if (!p) placements.set(key, (p = { path: output!.sink.path!, terms: [] }));
        p.terms.push({ start: t.start, end: t.end, fileOffset: pt.fileOffset, skip: pt.skip, take: pt.take });
      });
    }

    // Re-querying the reconstruction after a 403 (expired fetch URLs): one query per generation.
    let urls = rangeIndex(recon);
    let generation = 0;
    let refreshing: Promise<void> | undefined;
    const refresh = async (seen: number): Promise<void> => {
      if (generation > seen) return;
      refreshing ??= (async () => {
        try {
          urls = rangeIndex(await this.reconstruction(hash, ws, we - 1, signal));
          generation++;
        } finally {
          refreshing = undefined;
        }
      })();
      await refreshing;
    };

    const ctl = new AbortController();
    const signal = userSignal ? AbortSignal.any([userSignal, ctl.signal]) : ctl.signal;
    let consumerUnit = 0;

    const fetchUnit = async (u: Unit): Promise<Map<string, DecodedRange>> => {
      let expired = 0;
      let damaged = 0;
      for (;;) {
        const seen = generation;
        try {
          const out = new Map<string, DecodedRange>();
          const decoder = await this.#decoder();
          const placement = workersWrite ? (r: ReconRange) => placements.get(rangeKey(u.xorb, r.start, r.end)) : undefined;
          for (const req of fetchRequests(u.parts, this.multiRange)) {
            const decoded = await fetchRanges(this.cas, req.url, req.ranges, u.xorb, signal, this.#windows, decoder?.decode, {
              placement,
              gate: this.#gate,
            });
            req.ranges.forEach((r, i) => out.set(rangeKey(u.xorb, r.start, r.end), decoded[i]!));
          }
          return out;
        } catch (err) {
          const isExpired = err instanceof HubApiError && err.statusCode === 403 && ++expired <= 2;
          // Bytes that do not decode (a flipped byte, a cut record, a garbled multipart answer) were damaged on
          // their way or where they are served from: fetch them again, from fresh URLs, a bounded number of times.
          const isDamaged = isDamagedAnswer(err) && ++damaged < RANGE_FETCH_ATTEMPTS && !signal.aborted;
          if (!isExpired && !isDamaged) {
            if (damaged >= RANGE_FETCH_ATTEMPTS && err instanceof IntegrityError)
              err.message += ` (fetched ${damaged} times from fresh URLs with the same result: the stored data is likely damaged)`;
            throw err;
          }
          if (isDamaged) {
            this.cas.http.onRetry?.({
              url: redactUrl(u.parts[0]?.url ?? ""),
              method: "GET",
              attempt: damaged,
              delayMs: 0,
              reason: `${(err as Error).message} (fetching the range again)`,
            });
          }
          await refresh(seen);
          // Regroup the unit's ranges by their new URLs (byte ranges may move too).
          u.parts = regroupParts(hash, u.xorb, u.parts, urls);
        }
      }
    };

    const launcher = (async () => {
      for (const u of units) {
        u.counted = await this.limiter.reserve(u.cost, () => u.index <= consumerUnit, signal);
        if (u.done) this.#uncount(u);
        await this.limiter.acquireSlot(signal);
        fetchUnit(u)
          .then((decoded) => {
            // A unit released early (the read ended) keeps nothing.
            if (!u.done) u.decoded = decoded;
            // Written by the workers, a fetched unit holds only hashes: its budget goes to the next fetches.
            if (workersWrite) this.#uncount(u);
            u.resolve();
          }, u.reject)
          .finally(() => this.limiter.releaseSlot());
      }
    })();
    launcher.catch((err) => {
      for (const u of units) u.reject(err);
    });

    const release = (u: Unit) => {
      u.done = true;
      u.decoded = undefined; // the data goes as soon as its last term was consumed
      this.#uncount(u);
    };

    const decodedOf = (u: Unit, r: ReconRange): DecodedRange => {
      const d = u.decoded?.get(rangeKey(u.xorb, r.start, r.end));
      if (!d) throw new ProtocolError(`internal: chunks ${r.start}-${r.end} of xorb ${u.xorb} were not fetched`);
      return d;
    };

    try {
      // Slices of the current term. Cleared as they are yielded: a generator keeps its locals alive across
      // yields, and a stale reference would pin a whole fetched xorb.
      let out: TermSlice[] = [];
      // Without the file hash, the terms past the window's end are not read.
      const last = state.builder ? plan.terms.length : plan.needed;
      for (let ti = 0; ti < last; ti++) {
        const pt = plan.terms[ti]!;
        const u = units[pt.fetch]!;
        if (u.index > consumerUnit) {
          consumerUnit = u.index;
          // The unit becomes the head: it leaves the budget, which lets the next fetches start.
          this.#uncount(u);
          this.limiter.notify();
        }
        await u.ready;
        out = termSlices(decodedOf(u, pt.range), recon.terms[ti]!, pt, state);
        for (let i = 0; i < out.length; i++) {
          signal.throwIfAborted();
          const slice = out[i]!;
          out[i] = EMPTY_SLICE;
          if (output) {
            if (slice.bytes) await output.sink.write(slice.bytes, slice.position);
            output.onBytes(slice.length);
          } else if (slice.bytes) yield slice.bytes;
          else throw new XetBucketsError("INTERNAL", "a worker wrote chunks of a read that yields them");
        }
        out = [];
        if (ti === u.lastUse) {
          // The consumer asked for more after the unit's last slice: with `reuse`, it is done with them.
          if (reuse) for (const d of u.decoded?.values() ?? []) for (const b of d.batches) if (b.packed) this.#windows.giveOutput(b.packed);
          release(u);
        }
      }
      if (plan.covered !== we - ws) {
        throw new ProtocolError(`the reconstruction of ${hash} for bytes ${ws}-${we - 1} covers ${plan.covered} bytes, not ${we - ws}`);
      }
    } finally {
      ctl.abort(new DOMException("download finished or abandoned", "AbortError"));
      await launcher.catch(() => {});
      for (const u of units) release(u);
    }
  }
}

/**
 * One piece of a term's output: `length` bytes for file offset `position`, in `bytes` unless a worker already
 * wrote them there.
 */
interface TermSlice {
  bytes: Uint8Array | undefined;
  position: number;
  length: number;
}

const EMPTY_SLICE: TermSlice = { bytes: undefined, position: 0, length: 0 };

/** Fetches of one range whose bytes do not decode, in all, before the read fails (`IntegrityError`). */
export const RANGE_FETCH_ATTEMPTS = 3;

/**
 * Reads of a whole file, in all, before a failure that reading it again may cure (`isRereadable`) is final. A
 * byte flipped inside a chunk stored raw decodes fine: only the file hash, at the end, sees it, and the whole
 * file is read again (with a fresh reconstruction). Data damaged where it is stored fails the same way every
 * time: `Rereads` stops as soon as a failure repeats (two reads, for a damaged file).
 */
export const FILE_READ_ATTEMPTS = 5;

/**
 * True when reading the whole file again may cure `err`: damaged data (`IntegrityError`, a garbled answer), or a
 * transport failure that outlasted the retries of one request (`NetworkError`, 408, 429, 5xx).
 */
export function isRereadable(err: unknown): boolean {
  if (isDamagedAnswer(err) || err instanceof NetworkError) return true;
  return err instanceof HubApiError && (err.statusCode === 408 || err.statusCode === 429 || err.statusCode >= 500);
}

/**
 * The re-reads of one whole file: `again(err)` after each failed read says whether to read it once more — while
 * the failure is one a new read may cure, fewer than `FILE_READ_ATTEMPTS` reads were made, and the data is not
 * wrong in the same way as before (bytes damaged in transit differ from read to read; damaged storage does not).
 */
export class Rereads {
  #reads = 0;
  readonly #seen = new Set<string>();

  again(err: unknown): boolean {
    this.#reads++;
    if (!isRereadable(err) || this.#reads >= FILE_READ_ATTEMPTS) return false;
    if (err instanceof IntegrityError) {
      const key = `${err.code} ${err.actual ?? err.message}`;
      if (this.#seen.has(key)) return false;
      this.#seen.add(key);
    }
    return true;
  }
}

/** A fetched answer whose bytes were damaged (they do not decode, or the answer's framing is garbled). */
function isDamagedAnswer(err: unknown): boolean {
  return err instanceof IntegrityError || err instanceof ProtocolError || err instanceof XetCoreError;
}

/**
 * The output slices of one term: checks its decoded length against `unpacked_length`, feeds its chunk
 * hashes to the file hash (each chunk once, across windows), and cuts the span the plan gives it (`skip`
 * bytes dropped at the window's start, `take` bytes produced up to the window's end).
 */
function termSlices(
  decoded: DecodedRange,
  t: ReconTerm,
  pt: PlannedTerm,
  state: { hashedUpTo: number; builder: FileHashBuilder | undefined },
): TermSlice[] {
  const pieces: { b: Batch; from: number; to: number }[] = [];
  let total = 0;
  for (const b of decoded.batches) {
    const from = Math.max(t.start, b.chunkStart);
    const to = Math.min(t.end, b.chunkStart + b.count);
    if (from >= to) continue;
    pieces.push({ b, from: from - b.chunkStart, to: to - b.chunkStart });
    total += b.offsets[to - b.chunkStart]! - b.offsets[from - b.chunkStart]!;
  }
  if (total !== t.unpacked) {
    throw new IntegrityError(
      "LENGTH_MISMATCH",
      `chunks ${t.start}-${t.end} of xorb ${t.xorb} decode to ${total} bytes, the reconstruction announced ${t.unpacked}: the data or the reconstruction is corrupt`,
    );
  }
  const out: TermSlice[] = [];
  const cutFrom = pt.skip;
  const cutTo = pt.skip + pt.take;
  /** Bytes of the term before the current piece. */
  let pos = 0;
  for (const { b, from, to } of pieces) {
    const at = pt.fileOffset + pos;
    if (state.builder) {
      // Skip chunks already hashed in the previous window (the chunk that straddles the boundary).
      let k = from;
      while (k < to && at + (b.offsets[k]! - b.offsets[from]!) < state.hashedUpTo) k++;
      if (k < to) {
        state.builder.addChunks(b.hashes.subarray(32 * k, 32 * to), b.lengths.subarray(k, to));
        state.hashedUpTo = at + (b.offsets[to]! - b.offsets[from]!);
      }
    }
    const len = b.offsets[to]! - b.offsets[from]!;
    const s = Math.max(cutFrom - pos, 0);
    const e = Math.min(cutTo - pos, len);
    if (e > s) {
      const position = pt.fileOffset + pos + s;
      const bytes = b.written ? undefined : b.data.subarray(b.offsets[from]! + s, b.offsets[from]! + e);
      out.push({ bytes, position, length: e - s });
    }
    pos += len;
  }
  return out;
}

function missingOnCas(hash: string, casUrl: string): HubApiError {
  return new HubApiError(
    "NOT_FOUND",
    `the CAS at ${casUrl} does not know file ${hash}: the bucket lists it but its content is missing (was the upload's shard registered?)`,
    { statusCode: 404, url: `${casUrl}/v1/reconstructions/${hash}` },
  );
}
