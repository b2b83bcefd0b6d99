/**
 * Pure pieces of the download path, without the WebAssembly core: reconstruction answers (v1/v2,
 * xet-protocol.md §6.6), `multipart/byteranges` bodies, and the limiter that bounds fetch concurrency and
 * buffered bytes.
 */
import { ProtocolError, XetBucketsError } from "../errors.js";

const MiB = 1024 * 1024;

export const DEFAULT_MAX_BUFFERED_BYTES = 128 * MiB;

/** How downloads fetch (every download call takes these options). */
export interface DownloadTuning {
  /**
   * Range requests in flight at once, per call (default 8 in Node, 4 in browsers). Each holds the decoded
   * chunks of one fetch entry (≤ one xorb: 64 MiB) and ≤ 8 MiB of serialized bytes while decoding.
   */
  maxRangeFetches?: number;
  /**
   * Budget for fetching ahead: bytes (decoded estimate + decoding window) of fetches started before the
   * reader needs them, per call (default 128 MiB). The fetch the reader is consuming or waiting for (the
   * head, one per file in flight) is outside the budget. Download memory ≈ maxBufferedBytes + F per file
   * in flight + one write block, F being the largest fetch (≤ 64 MiB decoded + 8 MiB window).
   */
  maxBufferedBytes?: number;
  /** File bytes covered by one reconstruction query (default 1 GiB). Smaller windows mean smaller answers. */
  reconstructionWindowBytes?: number;
  /**
   * Ask for all the ranges of a fetch entry in one `multipart/byteranges` request (default true). Set
   * false for CDNs or proxies that do not support multi-range requests: one request per range.
   */
  multiRange?: boolean;
  /**
   * Chunking workers that decode and hash the fetched records beside the network reads and file writes
   * (default: the cores, at most 4, in Node, sharing the upload's pool; 0 elsewhere: this thread). Each
   * range has at most 2 batches of 4 MiB on the workers.
   */
  workers?: number;
}

function isBrowserLike(): boolean {
  const p = (globalThis as { process?: { versions?: { node?: string } } }).process;
  return typeof p?.versions?.node !== "string";
}

// ---------------------------------------------------------------------------------------------
// Limiter: request slots and a byte budget, shared by every file of one call
// ---------------------------------------------------------------------------------------------

export class DownloadLimiter {
  readonly maxRangeFetches: number;
  readonly maxBufferedBytes: number;
  #slots = 0;
  #bytes = 0;
  #waiters = new Set<() => void>();

  constructor(tuning: DownloadTuning = {}) {
    this.maxRangeFetches = Math.max(1, Math.floor(tuning.maxRangeFetches ?? (isBrowserLike() ? 4 : 8)));
    this.maxBufferedBytes = Math.max(1, tuning.maxBufferedBytes ?? DEFAULT_MAX_BUFFERED_BYTES);
  }

  /** Bytes currently reserved (for tests and progress displays). */
  get reservedBytes(): number {
    return this.#bytes;
  }
  get activeFetches(): number {
    return this.#slots;
  }

  /** Wakes every waiter so that it re-checks its condition. */
  notify(): void {
    const ws = [...this.#waiters];
    this.#waiters.clear();
    for (const w of ws) w();
  }

  async #until(cond: () => boolean, signal: AbortSignal): Promise<void> {
    while (!cond()) {
      signal.throwIfAborted();
      await new Promise<void>((resolve, reject) => {
        const wake = () => {
          signal.removeEventListener("abort", onAbort);
          resolve();
        };
        const onAbort = () => {
          this.#waiters.delete(wake);
          reject(signal.reason);
        };
        this.#waiters.add(wake);
        signal.addEventListener("abort", onAbort, { once: true });
      });
    }
  }

  /**
   * Admits a fetch of `bytes`: at once when `isHead()` (the reader waits for it; not counted: the head is
   * outside the budget), else once it fits in the budget. Returns the bytes counted (0 for the head);
   * give them back with `release` when the data is consumed or becomes the head.
   */
  async reserve(bytes: number, isHead: () => boolean, signal: AbortSignal): Promise<number> {
    await this.#until(() => isHead() || this.#bytes + bytes <= this.maxBufferedBytes, signal);
    if (isHead()) return 0;
    this.#bytes += bytes;
    return bytes;
  }
  release(bytes: number): void {
    this.#bytes -= bytes;
    this.notify();
  }
  async acquireSlot(signal: AbortSignal): Promise<void> {
    await this.#until(() => this.#slots < this.maxRangeFetches, signal);
    this.#slots++;
  }
  releaseSlot(): void {
    this.#slots--;
    this.notify();
  }
}

// ---------------------------------------------------------------------------------------------
// Reconstruction answers
// ---------------------------------------------------------------------------------------------

export interface ReconTerm {
  xorb: string;
  /** Chunk indices [start, end). */
  start: number;
  end: number;
  unpacked: number;
}
export interface ReconRange {
  /** Chunk indices [start, end). */
  start: number;
  end: number;
  /** Byte range [byteStart, byteEnd] (inclusive) in the serialized xorb. */
  byteStart: number;
  byteEnd: number;
}
export interface ReconEntry {
  xorb: string;
  url: string;
  ranges: ReconRange[];
}
export interface Reconstruction {
  offset: number;
  terms: ReconTerm[];
  entries: ReconEntry[];
}

/** Parsed JSON from the CAS, checked field by field before any of it is used. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- untrusted JSON, validated where it is read
type Untrusted = any;

const isUint = (x: unknown): x is number => typeof x === "number" && Number.isSafeInteger(x) && x >= 0;
/** Fetch URLs are fetched without credentials, but never with another scheme (file:, data:, javascript:...). */
const isHttpUrl = (x: unknown): x is string => typeof x === "string" && /^https?:\/\/[^\s]+$/i.test(x);

function bad(what: string): never {
  throw new ProtocolError(`malformed reconstruction answer: ${what}`);
}

/** Validates a v1 or v2 reconstruction answer (xet-protocol.md §6.6). */
export function parseReconstruction(json: unknown, version: "v1" | "v2"): Reconstruction {
  const o = json as Record<string, unknown> | null;
  if (!o || typeof o !== "object") bad("not an object");
  const offset = o.offset_into_first_range ?? 0;
  if (!isUint(offset)) bad("offset_into_first_range");
  if (!Array.isArray(o.terms)) bad("terms is not an array");
  const terms: ReconTerm[] = o.terms.map((t: Untrusted, i: number) => {
    if (
      !t ||
      typeof t.hash !== "string" ||
      !isUint(t.unpacked_length) ||
      !isUint(t.range?.start) ||
      !isUint(t.range?.end) ||
      t.range.end <= t.range.start
    ) {
      bad(`term ${i}`);
    }
    return { xorb: t.hash.toLowerCase(), start: t.range.start, end: t.range.end, unpacked: t.unpacked_length };
  });
  const entries: ReconEntry[] = [];
  const checkRange = (r: ReconRange, where: string) => {
    if (![r.start, r.end, r.byteStart, r.byteEnd].every(isUint) || r.end <= r.start || r.byteEnd < r.byteStart) bad(where);
  };
  if (version === "v2") {
    const xorbs = o.xorbs as Record<string, unknown> | undefined;
    if (!xorbs || typeof xorbs !== "object") bad("xorbs is missing");
    for (const [xorb, list] of Object.entries(xorbs)) {
      if (!Array.isArray(list)) bad(`xorbs[${xorb}] is not an array`);
      for (const e of list as Untrusted[]) {
        if (!e || !isHttpUrl(e.url) || !Array.isArray(e.ranges) || e.ranges.length === 0)
          bad(`fetch entry of ${xorb} (an http(s) URL and ranges are required)`);
        const ranges = e.ranges.map((r: Untrusted) => {
          const rr = { start: r?.chunks?.start, end: r?.chunks?.end, byteStart: r?.bytes?.start, byteEnd: r?.bytes?.end };
          checkRange(rr, `range of ${xorb}`);
          return rr;
        });
        entries.push({ xorb: xorb.toLowerCase(), url: e.url, ranges });
      }
    }
  } else {
    const info = o.fetch_info as Record<string, unknown> | undefined;
    if (!info || typeof info !== "object") bad("fetch_info is missing");
    for (const [xorb, list] of Object.entries(info)) {
      if (!Array.isArray(list)) bad(`fetch_info[${xorb}] is not an array`);
      for (const e of list as Untrusted[]) {
        const rr = { start: e?.range?.start, end: e?.range?.end, byteStart: e?.url_range?.start, byteEnd: e?.url_range?.end };
        if (!e || !isHttpUrl(e.url)) bad(`fetch entry of ${xorb} (an http(s) URL is required)`);
        checkRange(rr, `fetch entry of ${xorb}`);
        entries.push({ xorb: xorb.toLowerCase(), url: e.url, ranges: [rr] });
      }
    }
  }
  return { offset, terms, entries };
}

// ---------------------------------------------------------------------------------------------
// multipart/byteranges
// ---------------------------------------------------------------------------------------------

export interface Part {
  start: number;
  end: number;
  data: Uint8Array;
}

const enc = new TextEncoder();
const dec = new TextDecoder();

function indexOf(hay: Uint8Array, needle: Uint8Array, from: number): number {
  outer: for (let i = from; i + needle.length <= hay.length; i++) {
    for (let j = 0; j < needle.length; j++) if (hay[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}

const HEAD_LIMIT = 64 * 1024;

/**
 * Streaming `multipart/byteranges` parser: bytes go in as they arrive; the data of each part comes out
 * through `onData(absoluteOffset, bytes)`, located by the part's `Content-Range` (whose length also
 * delimits the part, so data that happens to contain the boundary is never misread). Holds at most one
 * part header in memory.
 */
export class MultipartParser {
  readonly #delim: Uint8Array;
  readonly #onData: (offset: number, bytes: Uint8Array) => void;
  #head = new Uint8Array(0);
  #state: "head" | "body" | "end" = "head";
  #offset = 0;
  #remaining = 0;

  constructor(boundary: string, onData: (offset: number, bytes: Uint8Array) => void) {
    this.#delim = enc.encode(`--${boundary}`);
    this.#onData = onData;
  }

  get done(): boolean {
    return this.#state === "end";
  }

  push(chunk: Uint8Array): void {
    let data = chunk;
    while (data.length > 0 && this.#state !== "end") {
      if (this.#state === "body") {
        const n = Math.min(this.#remaining, data.length);
        this.#onData(this.#offset, data.subarray(0, n));
        this.#offset += n;
        this.#remaining -= n;
        data = data.subarray(n);
        if (this.#remaining === 0) this.#state = "head";
        continue;
      }
      const head = new Uint8Array(this.#head.length + data.length);
      head.set(this.#head);
      head.set(data, this.#head.length);
      data = new Uint8Array(0);
      const at = indexOf(head, this.#delim, 0);
      const after = at + this.#delim.length;
      if (at < 0 || head.length < after + 2) {
        if (head.length > HEAD_LIMIT) throw new ProtocolError("multipart/byteranges answer without a boundary where a part should start");
        this.#head = head;
        continue;
      }
      if (head[after] === 0x2d && head[after + 1] === 0x2d) {
        this.#state = "end";
        this.#head = new Uint8Array(0);
        break;
      }
      const headEnd = indexOf(head, CRLFCRLF, after);
      if (headEnd < 0) {
        if (head.length > HEAD_LIMIT) throw new ProtocolError("multipart/byteranges part header too long");
        this.#head = head;
        continue;
      }
      const m = /content-range:\s*bytes\s+(\d+)-(\d+)\/(\d+|\*)/i.exec(dec.decode(head.subarray(after, headEnd)));
      if (!m) throw new ProtocolError("multipart/byteranges part without Content-Range");
      this.#offset = Number(m[1]);
      this.#remaining = Number(m[2]) - this.#offset + 1;
      if (this.#remaining <= 0) throw new ProtocolError("multipart/byteranges part with an empty or reversed Content-Range");
      this.#state = "body";
      this.#head = new Uint8Array(0);
      data = head.subarray(headEnd + 4);
    }
  }

  /** Checks that the closing boundary was seen. */
  end(): void {
    if (this.#state === "body") throw new ProtocolError("multipart/byteranges part shorter than its Content-Range");
    if (this.#state !== "end") throw new ProtocolError("multipart/byteranges answer without closing boundary");
  }
}

const CRLFCRLF = enc.encode("\r\n\r\n");

/** Parses a whole `multipart/byteranges` body into parts (tests and small bodies). */
export function parseMultipart(body: Uint8Array, boundary: string): Part[] {
  const parts: { start: number; pieces: Uint8Array[]; length: number }[] = [];
  const p = new MultipartParser(boundary, (offset, bytes) => {
    const last = parts[parts.length - 1];
    if (last && last.start + last.length === offset) {
      last.pieces.push(bytes);
      last.length += bytes.length;
    } else parts.push({ start: offset, pieces: [bytes], length: bytes.length });
  });
  p.push(body);
  p.end();
  return parts.map((q) => {
    const data = new Uint8Array(q.length);
    let off = 0;
    for (const b of q.pieces) {
      data.set(b, off);
      off += b.length;
    }
    return { start: q.start, end: q.start + q.length - 1, data };
  });
}

// ---------------------------------------------------------------------------------------------
// Routing answer bytes to requested ranges
// ---------------------------------------------------------------------------------------------

/** Receives the bytes of one requested range, in order. */
export interface RangeSink {
  push(bytes: Uint8Array): void;
}

/**
 * Routes the bytes of an answer, given at absolute offsets of the resource (a 206 part, a multipart part,
 * or a whole 200 body), to the sinks of the requested byte ranges ([start, end] inclusive, sorted, not
 * overlapping). Bytes outside the ranges are dropped; a range must be fed contiguously.
 */
export class RangeRouter {
  readonly #ranges: { start: number; end: number; next: number; sink: RangeSink }[];

  constructor(ranges: { start: number; end: number; sink: RangeSink }[]) {
    this.#ranges = [...ranges].sort((a, b) => a.start - b.start).map((r) => ({ ...r, next: r.start }));
  }

  feed(offset: number, chunk: Uint8Array): void {
    const length = chunk.length;
    const chunkEnd = offset + length; // exclusive
    for (const r of this.#ranges) {
      if (r.start >= chunkEnd) break;
      const from = Math.max(r.next, offset);
      const to = Math.min(r.end + 1, chunkEnd);
      if (from >= to) continue;
      if (from > r.next) throw new ProtocolError(`the answer skips bytes ${r.next}-${from - 1} of requested range ${r.start}-${r.end}`);
      // A sink may take the chunk's memory (a decoder whose window the bytes were read into hands it to a
      // worker): then no later range may share the chunk.
      if (chunk.length !== length) throw new XetBucketsError("INTERNAL", "a range's sink took bytes another range of the answer needed");
      r.sink.push(chunk.subarray(from - offset, to - offset));
      r.next = to;
    }
  }

  /** True when every range received all its bytes. */
  get complete(): boolean {
    return this.#ranges.every((r) => r.next === r.end + 1);
  }

  /** The ranges still missing bytes, for messages. */
  missing(): string {
    return this.#ranges
      .filter((r) => r.next !== r.end + 1)
      .map((r) => `${r.next}-${r.end}`)
      .join(", ");
  }
}
