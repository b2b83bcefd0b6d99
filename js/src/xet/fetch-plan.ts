/**
 * Pure pieces of the download path, without the WebAssembly core: reconstruction answers (v1/v2,
 * xet-protocol.md §6.6), `multipart/byteranges` bodies, and the limiter that bounds fetch concurrency and
 * buffered bytes.
 */
import { ProtocolError } from "../errors.js";

const MiB = 1024 * 1024;

export const DEFAULT_MAX_BUFFERED_BYTES = 128 * MiB;

export interface DownloadTuning {
  /**
   * Range requests in flight at once, per call (default 8 in Node, 4 in browsers). Each holds at most one
   * fetch entry (≤ one xorb: 64 MiB serialized + 64 MiB decoded).
   */
  maxRangeFetches?: number;
  /**
   * Budget of fetched-but-not-yet-consumed bytes (serialized + decoded estimate), per call (default
   * 128 MiB). New fetches wait while it is spent; the fetch the reader waits for always starts, so one
   * fetch may go over it.
   */
  maxBufferedBytes?: number;
  /** File bytes covered by one reconstruction query (default 1 GiB). Smaller windows mean smaller answers. */
  reconstructionWindowBytes?: number;
  /**
   * Ask for all the ranges of a fetch entry in one `multipart/byteranges` request (default true). Set
   * false for CDNs or proxies that do not support multi-range requests: one request per range.
   */
  multiRange?: boolean;
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

  async reserve(bytes: number, isHead: () => boolean, signal: AbortSignal): Promise<void> {
    await this.#until(() => isHead() || this.#bytes + bytes <= this.maxBufferedBytes, signal);
    this.#bytes += bytes;
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

const isUint = (x: unknown): x is number => typeof x === "number" && Number.isSafeInteger(x) && x >= 0;

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
  const terms: ReconTerm[] = o.terms.map((t: any, i: number) => {
    if (!t || typeof t.hash !== "string" || !isUint(t.unpacked_length) || !isUint(t.range?.start) || !isUint(t.range?.end) || t.range.end <= t.range.start) {
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
      for (const e of list as any[]) {
        if (!e || typeof e.url !== "string" || !Array.isArray(e.ranges) || e.ranges.length === 0) bad(`fetch entry of ${xorb}`);
        const ranges = e.ranges.map((r: any) => {
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
      for (const e of list as any[]) {
        const rr = { start: e?.range?.start, end: e?.range?.end, byteStart: e?.url_range?.start, byteEnd: e?.url_range?.end };
        if (!e || typeof e.url !== "string") bad(`fetch entry of ${xorb}`);
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

/** Parses a `multipart/byteranges` body into parts (each located by its `Content-Range`). */
export function parseMultipart(body: Uint8Array, boundary: string): Part[] {
  const delim = enc.encode(`--${boundary}`);
  const parts: Part[] = [];
  let pos = 0;
  for (;;) {
    const at = indexOf(body, delim, pos);
    if (at < 0) throw new ProtocolError("multipart/byteranges answer without closing boundary");
    pos = at + delim.length;
    if (body[pos] === 0x2d && body[pos + 1] === 0x2d) break; // "--": last boundary
    const headEnd = indexOf(body, enc.encode("\r\n\r\n"), pos);
    if (headEnd < 0) throw new ProtocolError("multipart/byteranges part without headers");
    const head = dec.decode(body.subarray(pos, headEnd));
    const m = /content-range:\s*bytes\s+(\d+)-(\d+)\/(\d+|\*)/i.exec(head);
    if (!m) throw new ProtocolError("multipart/byteranges part without Content-Range");
    const start = Number(m[1]);
    const end = Number(m[2]);
    const dataStart = headEnd + 4;
    const dataEnd = dataStart + (end - start + 1);
    if (dataEnd > body.length) throw new ProtocolError("multipart/byteranges part shorter than its Content-Range");
    parts.push({ start, end, data: body.subarray(dataStart, dataEnd) });
    pos = dataEnd;
  }
  return parts;
}

