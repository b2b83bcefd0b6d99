/**
 * Xet downloads: file bytes from the CAS (xet-protocol.md §6.6, §9).
 *
 * For a byte range of a file: query the reconstruction (`/v2/reconstructions`, falling back to `/v1` on
 * 404/501) in windows of `reconstructionWindowBytes`, fetch the xorb byte ranges it lists from their
 * fetch URLs (no Authorization; one multi-range request per fetch entry, or one request per range),
 * in parallel under a memory budget, decode every chunk record with the core (which hashes each
 * chunk), check each term's `unpacked_length`, assemble the terms in order, drop
 * `offset_into_first_range`, truncate, and stream the bytes out. A 403 from a fetch URL (expired URL)
 * re-queries the reconstruction and retries with the new URL; network errors, 429 and 5xx are retried
 * by the shared policy, also when a connection breaks in the middle of a body.
 *
 * Whole-file reads are verified: the chunk hashes, in file order, give the file hash, which must equal
 * the expected xetHash; otherwise the read ends with `IntegrityError` (code HASH_MISMATCH) after the last
 * byte was produced, so sinks must commit only when the iteration completes (the Node file sink writes
 * a temporary file and renames it only then). Partial reads cannot be verified this way.
 *
 * Memory: peak ≈ maxBufferedBytes + one fetch over budget + the sink's write buffer. A fetch unit (one
 * fetch entry, or one range) holds its serialized bytes and its decoded chunks (each ≤ 64 MiB, one xorb)
 * from the moment it starts until its last term has been consumed; new fetches start only while the
 * reserved total stays under `maxBufferedBytes` (the fetch the reader is waiting for always starts), and
 * at most `maxRangeFetches` requests are in flight. So, per call:
 *
 *     download memory ≈ min(maxRangeFetches × largest fetch, maxBufferedBytes + largest fetch) + write buffer
 */
import { decodeChunkRecords, FileHashBuilder, initCore } from "../core/index.js";
import { HubApiError, IntegrityError, ProtocolError, XetCoreError } from "../errors.js";
import { httpRequestRead, redactUrl, type AttemptContext } from "../http.js";
import type { CasClient } from "./cas.js";
import {
  DownloadLimiter,
  parseMultipart,
  parseReconstruction,
  type DownloadTuning,
  type Part,
  type ReconEntry,
  type ReconRange,
  type ReconTerm,
  type Reconstruction,
} from "./fetch-plan.js";

export { DownloadLimiter, parseMultipart, parseReconstruction, DEFAULT_MAX_BUFFERED_BYTES } from "./fetch-plan.js";
export type { DownloadTuning, ReconEntry, ReconRange, ReconTerm, Reconstruction } from "./fetch-plan.js";

const MiB = 1024 * 1024;

export const DEFAULT_WINDOW_BYTES = 1024 * MiB;
const DECODE_BATCH_BYTES = 4 * MiB;
/** Largest body accepted when a server answers a ranged request with the whole object (200). */
const MAX_WHOLE_OBJECT_BYTES = 80 * MiB;


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
  /** count + 1 offsets into data. */
  offsets: Uint32Array;
}
interface DecodedRange {
  start: number;
  end: number;
  batches: Batch[];
}

function corrupt(message: string, cause?: unknown): IntegrityError {
  return new IntegrityError("CORRUPT_DATA", `${message}: the downloaded xorb data is corrupt. Retry the download; if it persists, the stored data is damaged.`, { cause });
}

/** Decodes the chunk records of one fetched range (chunks [start, end)) in bounded batches. */
export function decodeRange(bytes: Uint8Array, start: number, end: number, xorb: string): DecodedRange {
  const batches: Batch[] = [];
  let pos = 0;
  let chunk = start;
  while (pos < bytes.length) {
    let stop = pos;
    let raw = 0;
    let n = 0;
    while (stop < bytes.length && (n === 0 || (stop - pos < DECODE_BATCH_BYTES && raw < DECODE_BATCH_BYTES))) {
      if (stop + 8 > bytes.length) throw corrupt(`truncated chunk record in xorb ${xorb}`);
      const clen = bytes[stop + 1]! | (bytes[stop + 2]! << 8) | (bytes[stop + 3]! << 16);
      raw += bytes[stop + 5]! | (bytes[stop + 6]! << 8) | (bytes[stop + 7]! << 16);
      stop += 8 + clen;
      n++;
    }
    if (stop > bytes.length) throw corrupt(`truncated chunk record in xorb ${xorb}`);
    let d;
    try {
      d = decodeChunkRecords(bytes.subarray(pos, stop));
    } catch (err) {
      if (err instanceof XetCoreError) throw corrupt(`undecodable chunk records in xorb ${xorb} (${err.code}: ${err.message})`, err);
      throw err;
    }
    if (d.count !== n) throw corrupt(`xorb ${xorb}: decoded ${d.count} chunks where ${n} records were framed`);
    const offsets = new Uint32Array(n + 1);
    for (let i = 0; i < n; i++) offsets[i + 1] = offsets[i]! + d.lengths[i]!;
    batches.push({ chunkStart: chunk, count: n, data: d.data, lengths: d.lengths, hashes: d.hashes, offsets });
    chunk += n;
    pos = stop;
  }
  if (chunk !== end) throw corrupt(`xorb ${xorb}: the range holds ${chunk - start} chunks, the reconstruction announced ${end - start}`);
  return { start, end, batches };
}

async function readBody(res: Response, at: AttemptContext, limit: number, what: string): Promise<Uint8Array> {
  const declared = Number.parseInt(res.headers.get("content-length") ?? "", 10);
  if (Number.isFinite(declared) && declared > limit) throw new ProtocolError(`${what}: answer of ${declared} bytes, more than the ${limit} expected`);
  if (!res.body) return new Uint8Array(0);
  const reader = res.body.getReader();
  const pre = Number.isFinite(declared) && declared >= 0 ? new Uint8Array(declared) : undefined;
  const pieces: Uint8Array[] = [];
  let total = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      at.heartbeat();
      if (total + value.length > limit || (pre && total + value.length > pre.length)) {
        throw new ProtocolError(`${what}: the answer is longer than announced`);
      }
      if (pre) pre.set(value, total);
      else pieces.push(value);
      total += value.length;
    }
  } finally {
    reader.releaseLock();
  }
  if (pre) {
    // A body that ends early is a broken connection (retried), not a protocol error.
    if (total !== pre.length) throw new TypeError(`connection closed after ${total} of ${pre.length} bytes`);
    return pre;
  }
  const out = new Uint8Array(total);
  let off = 0;
  for (const p of pieces) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

/** One request to a fetch URL for `ranges`; returns the bytes of each range, in order. */
async function fetchRanges(cas: CasClient, url: string, ranges: ReconRange[], signal: AbortSignal): Promise<Uint8Array[]> {
  const wanted = ranges.reduce((s, r) => s + (r.byteEnd - r.byteStart + 1), 0);
  const header = `bytes=${ranges.map((r) => `${r.byteStart}-${r.byteEnd}`).join(",")}`;
  const what = `GET ${redactUrl(url)}`;
  return httpRequestRead(url, { headers: { Range: header }, signal }, { ...cas.http, abortSignal: signal }, async (res, at) => {
    const type = res.headers.get("content-type") ?? "";
    let parts: Part[];
    if (res.status === 206 && /^multipart\/byteranges/i.test(type)) {
      const bm = /boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(type);
      if (!bm) throw new ProtocolError(`${what}: multipart answer without boundary`);
      const body = await readBody(res, at, wanted + 512 * ranges.length + 4096, what);
      parts = parseMultipart(body, bm[1] ?? bm[2]!);
    } else if (res.status === 206) {
      const m = /bytes\s+(\d+)-(\d+)\//i.exec(res.headers.get("content-range") ?? "");
      if (!m) throw new ProtocolError(`${what}: 206 answer without Content-Range`);
      const start = Number(m[1]);
      const end = Number(m[2]);
      const body = await readBody(res, at, end - start + 1, what);
      if (body.length !== end - start + 1) throw new TypeError(`connection closed after ${body.length} of ${end - start + 1} bytes`);
      parts = [{ start, end, data: body }];
    } else if (res.status === 200) {
      const body = await readBody(res, at, MAX_WHOLE_OBJECT_BYTES, what);
      parts = [{ start: 0, end: body.length - 1, data: body }];
    } else {
      throw new ProtocolError(`${what}: unexpected status ${res.status} for a ranged request`);
    }
    return ranges.map((r) => {
      const p = parts.find((q) => q.start <= r.byteStart && r.byteEnd <= q.end);
      if (!p) throw new ProtocolError(`${what}: the answer does not contain bytes ${r.byteStart}-${r.byteEnd}`);
      return p.data.subarray(r.byteStart - p.start, r.byteEnd - p.start + 1);
    });
  });
}

// ---------------------------------------------------------------------------------------------
// The reader
// ---------------------------------------------------------------------------------------------

export interface XetFileRef {
  /** The file's xetHash. */
  hash: string;
  /** The file's size in bytes. */
  size: number;
  /** For messages. */
  path?: string;
}

interface Unit {
  index: number;
  xorb: string;
  /** Requests to make: one per URL (one per range when multiRange is off). */
  parts: { url: string; ranges: ReconRange[] }[];
  cost: number;
  lastUse: number;
  reserved: boolean;
  released: boolean;
  ready: Promise<Map<string, DecodedRange>>;
  resolve(v: Map<string, DecodedRange>): void;
  reject(e: unknown): void;
}

const rangeKey = (xorb: string, start: number, end: number) => `${xorb}:${start}:${end}`;

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

  constructor(cas: CasClient, tuning: DownloadTuning = {}, limiter?: DownloadLimiter) {
    this.cas = cas;
    this.limiter = limiter ?? new DownloadLimiter(tuning);
    this.windowBytes = Math.max(1, tuning.reconstructionWindowBytes ?? DEFAULT_WINDOW_BYTES);
    this.multiRange = tuning.multiRange ?? true;
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
      const r = await this.cas.requestRead(`/v2/reconstructions/${hash}`, { headers, accept: [404, 501], signal }, async (res) => {
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
      const json = await this.cas.requestRead(`/v1/reconstructions/${hash}`, { headers, signal }, readJson);
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
   * (HASH_MISMATCH) after the last byte. Yielded arrays are never reused by the reader.
   */
  async *read(
    file: XetFileRef,
    opts: { start?: number; end?: number; signal?: AbortSignal; verify?: boolean } = {},
  ): AsyncGenerator<Uint8Array> {
    const start = Math.max(0, opts.start ?? 0);
    const end = Math.min(file.size, opts.end ?? file.size);
    const signal = opts.signal ?? this.cas.http.abortSignal;
    signal?.throwIfAborted();
    if (end <= start) return;
    await initCore();
    const verify = opts.verify !== false && start === 0 && end === file.size;
    const builder = verify ? new FileHashBuilder() : undefined;
    let finished = false;
    const state = { hashedUpTo: 0, builder };
    try {
      for (let ws = start; ws < end; ws += this.windowBytes) {
        yield* this.#window(file, ws, Math.min(end, ws + this.windowBytes), state, signal);
      }
      if (builder) {
        finished = true;
        const actual = builder.finish();
        const expected = file.hash.toLowerCase();
        if (actual !== expected) {
          throw new IntegrityError(
            "HASH_MISMATCH",
            `downloaded data${file.path ? ` of "${file.path}"` : ""} does not match its xetHash: expected ${expected}, got ${actual}. ` +
              "The data was corrupted in transit or in storage. Retry the download; if it persists, the stored file is damaged.",
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

  async *#window(
    file: XetFileRef,
    ws: number,
    we: number,
    state: { hashedUpTo: number; builder: FileHashBuilder | undefined },
    userSignal: AbortSignal | undefined,
  ): AsyncGenerator<Uint8Array> {
    const hash = file.hash.toLowerCase();
    let plan = await this.reconstruction(hash, ws, we - 1, userSignal);
    // The terms are read from the first answer; a re-query (after a 403) only refreshes URLs.
    const { terms, offset } = plan;
    if (plan.terms.length === 0) throw new ProtocolError(`the reconstruction of ${hash} for bytes ${ws}-${we - 1} has no terms`);

    // Where each term's chunks come from.
    const byRange = new Map<string, { url: string; range: ReconRange }>();
    const indexEntries = (p: Reconstruction) => {
      byRange.clear();
      for (const e of p.entries) for (const r of e.ranges) byRange.set(rangeKey(e.xorb, r.start, r.end), { url: e.url, range: r });
    };
    indexEntries(plan);
    const entriesByXorb = new Map<string, ReconEntry[]>();
    for (const e of plan.entries) entriesByXorb.set(e.xorb, [...(entriesByXorb.get(e.xorb) ?? []), e]);
    const findRange = (t: ReconTerm): { entry: ReconEntry; range: ReconRange } => {
      for (const entry of entriesByXorb.get(t.xorb) ?? []) {
        for (const range of entry.ranges) if (range.start <= t.start && t.end <= range.end) return { entry, range };
      }
      throw new ProtocolError(`the reconstruction of ${hash} has no fetch range for chunks ${t.start}-${t.end} of xorb ${t.xorb}`);
    };

    // Fetch units, in order of first use.
    const units: Unit[] = [];
    const unitOf = new Map<string, Unit>();
    const termUnit: Unit[] = [];
    const termRange: ReconRange[] = [];
    const rangesOfUnit = new Map<Unit, Set<ReconRange>>();
    plan.terms.forEach((t, ti) => {
      const { entry, range } = findRange(t);
      const key = this.multiRange ? `${entry.xorb}|${entry.url}` : `${entry.xorb}|${entry.url}|${range.byteStart}-${range.byteEnd}`;
      let u = unitOf.get(key);
      if (!u) {
        let resolve!: Unit["resolve"];
        let reject!: Unit["reject"];
        const ready = new Promise<Map<string, DecodedRange>>((res, rej) => {
          resolve = res;
          reject = rej;
        });
        ready.catch(() => {});
        u = { index: units.length, xorb: entry.xorb, parts: [], cost: 0, lastUse: ti, reserved: false, released: false, ready, resolve, reject };
        units.push(u);
        unitOf.set(key, u);
        rangesOfUnit.set(u, new Set());
      }
      u.lastUse = ti;
      rangesOfUnit.get(u)!.add(range);
      termUnit.push(u);
      termRange.push(range);
    });
    // Decoded bytes per chunk of each range, estimated from the terms that use it.
    const perChunk = new Map<ReconRange, number>();
    plan.terms.forEach((t, ti) => {
      const r = termRange[ti]!;
      perChunk.set(r, Math.max(perChunk.get(r) ?? 0, t.unpacked / (t.end - t.start)));
    });
    for (const u of units) {
      const ranges = [...rangesOfUnit.get(u)!].sort((a, b) => a.byteStart - b.byteStart);
      const url = byRange.get(rangeKey(u.xorb, ranges[0]!.start, ranges[0]!.end))!.url;
      u.parts = [{ url, ranges }];
      // Cost: serialized bytes + the estimated decoded bytes.
      u.cost = ranges.reduce((c, r) => c + (r.byteEnd - r.byteStart + 1) + Math.ceil(perChunk.get(r)! * (r.end - r.start)), 0);
    }

    // Re-querying the reconstruction after a 403 (expired fetch URLs): one query per generation.
    let generation = 0;
    let refreshing: Promise<void> | undefined;
    const refresh = async (seen: number): Promise<void> => {
      if (generation > seen) return;
      refreshing ??= (async () => {
        try {
          plan = await this.reconstruction(hash, ws, we - 1, signal);
          indexEntries(plan);
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
      for (let attempt = 0; ; attempt++) {
        const seen = generation;
        try {
          const out = new Map<string, DecodedRange>();
          for (const part of u.parts) {
            const groups = this.multiRange ? [part.ranges] : part.ranges.map((r) => [r]);
            for (const group of groups) {
              const bodies = await fetchRanges(this.cas, part.url, group, signal);
              group.forEach((r, i) => out.set(rangeKey(u.xorb, r.start, r.end), decodeRange(bodies[i]!, r.start, r.end, u.xorb)));
            }
          }
          return out;
        } catch (err) {
          if (err instanceof HubApiError && err.statusCode === 403 && attempt < 2) {
            await refresh(seen);
            // Regroup the unit's ranges by their new URLs (byte ranges may move too).
            const regroup = new Map<string, ReconRange[]>();
            for (const part of u.parts) {
              for (const r of part.ranges) {
                const fresh = byRange.get(rangeKey(u.xorb, r.start, r.end));
                if (!fresh) throw new ProtocolError(`after a 403, the new reconstruction of ${hash} no longer lists chunks ${r.start}-${r.end} of xorb ${u.xorb}`);
                regroup.set(fresh.url, [...(regroup.get(fresh.url) ?? []), fresh.range]);
              }
            }
            u.parts = [...regroup].map(([url, ranges]) => ({ url, ranges }));
            continue;
          }
          throw err;
        }
      }
    };

    const launcher = (async () => {
      for (const u of units) {
        await this.limiter.reserve(u.cost, () => u.index <= consumerUnit, signal);
        u.reserved = true;
        await this.limiter.acquireSlot(signal);
        fetchUnit(u)
          .then(u.resolve, u.reject)
          .finally(() => this.limiter.releaseSlot());
      }
    })();
    launcher.catch((err) => {
      for (const u of units) u.reject(err);
    });

    const release = (u: Unit) => {
      if (u.reserved && !u.released) {
        u.released = true;
        this.limiter.release(u.cost);
      }
    };

    try {
      let skip = offset;
      let remaining = we - ws;
      // File offset of the first chunk of this window (for hashing each chunk exactly once).
      let chunkOffset = ws - offset;
      if (chunkOffset < 0) throw new ProtocolError(`offset_into_first_range ${offset} is past the requested start ${ws}`);
      for (let ti = 0; ti < terms.length && (remaining > 0 || state.builder); ti++) {
        const t = terms[ti]!;
        const u = termUnit[ti]!;
        if (u.index > consumerUnit) {
          consumerUnit = u.index;
          this.limiter.notify();
        }
        const decoded = (await u.ready).get(rangeKey(u.xorb, termRange[ti]!.start, termRange[ti]!.end));
        if (!decoded) throw new ProtocolError(`internal: range of term ${ti} was not fetched`);
        // Collect the term's pieces (contiguous chunk runs inside decoded batches).
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
        for (const { b, from, to } of pieces) {
          if (state.builder) {
            // Skip chunks already hashed in the previous window (the chunk that straddles the boundary).
            let k = from;
            while (k < to && chunkOffset + (b.offsets[k]! - b.offsets[from]!) < state.hashedUpTo) k++;
            if (k < to) {
              state.builder.addChunks(b.hashes.subarray(32 * k, 32 * to), b.lengths.subarray(k, to));
              state.hashedUpTo = chunkOffset + (b.offsets[to]! - b.offsets[from]!);
            }
          }
          let data = b.data.subarray(b.offsets[from]!, b.offsets[to]!);
          chunkOffset += data.length;
          if (skip > 0) {
            const s = Math.min(skip, data.length);
            data = data.subarray(s);
            skip -= s;
          }
          if (data.length > remaining) data = data.subarray(0, remaining);
          remaining -= data.length;
          if (data.length > 0) {
            signal.throwIfAborted();
            yield data;
          }
        }
        if (ti === u.lastUse) release(u);
      }
      if (remaining !== 0) {
        throw new ProtocolError(`the reconstruction of ${hash} for bytes ${ws}-${we - 1} covers ${we - ws - remaining} bytes, not ${we - ws}`);
      }
    } finally {
      ctl.abort(new DOMException("download finished or abandoned", "AbortError"));
      await launcher.catch(() => {});
      for (const u of units) release(u);
    }
  }
}

function missingOnCas(hash: string, casUrl: string): HubApiError {
  return new HubApiError(
    "NOT_FOUND",
    `the CAS at ${casUrl} does not know file ${hash}: the bucket lists it but its content is missing (was the upload's shard registered?)`,
    { statusCode: 404, url: `${casUrl}/v1/reconstructions/${hash}` },
  );
}
