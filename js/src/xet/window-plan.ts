/**
 * Planning the reads of a download (xet/download.ts), as functions of plain data: a read is split into
 * windows (one reconstruction query each); a window's reconstruction becomes a plan of fetches and terms.
 *
 * A fetch is what one unit of memory and one slot's worth of requests covers: the ranges of one xorb that
 * one fetch URL serves (one multi-range request for all of them, or, without multi-range requests, one
 * fetch per range). Fetches are ordered by first use; a range that several terms read is fetched once and
 * kept until its last term is consumed (`lastUse`). Each fetch's cost is its estimated memory while held:
 * the decoded bytes of its ranges (from the terms' `unpacked_length`; none when they are written out as they
 * are decoded) plus a decoding window per range.
 * Each term then produces a span of its bytes: the window starts `offset_into_first_range` bytes into the
 * first term and ends with the requested range, so only the terms up to the window's end are needed, unless
 * the whole file is hashed.
 *
 * Nothing here touches the network or the core; download.ts executes the plan (fetches under the limiter,
 * decoding, hashing, slicing), and re-plans the URLs of a fetch after a 403 (`regroupParts`).
 */
import { ProtocolError } from "../errors.js";
import type { ReconEntry, ReconRange, Reconstruction } from "./fetch-plan.js";

/** Ranges of one xorb fetched from one URL. */
export interface FetchPart {
  url: string;
  ranges: ReconRange[];
}

/** One fetch: ranges of one xorb, held from the moment it starts until its last term is consumed. */
export interface PlannedFetch {
  /** Position in fetch order (the order in which the terms first use the fetches). */
  index: number;
  xorb: string;
  /** Its ranges, sorted by byte offset, by fetch URL (one part when planned; a 403 may spread them). */
  parts: FetchPart[];
  /** Estimated bytes held: decoded chunks plus one decoding window per range. */
  cost: number;
  /** The last term that reads it: it is released once that term is consumed. */
  lastUse: number;
}

/** What one term of the reconstruction becomes. */
export interface PlannedTerm {
  /** Index of the fetch that holds its chunks. */
  fetch: number;
  /** The fetched range that holds its chunks. */
  range: ReconRange;
  /** File offset of its first byte. */
  fileOffset: number;
  /** Bytes of the term to drop (before the window's start), then bytes to produce (up to its end). */
  skip: number;
  take: number;
}

export interface WindowPlan {
  fetches: PlannedFetch[];
  /** One per term of the reconstruction, in order: the order in which bytes are produced. */
  terms: PlannedTerm[];
  /** Terms to read, from the first, to produce the window's bytes; the rest only serve the file hash. */
  needed: number;
  /** Bytes of the window the terms produce: its length, unless the reconstruction is short. */
  covered: number;
}

export interface WindowPlanOptions {
  /** One request per fetch URL for all its ranges (multipart/byteranges); false: one fetch per range. */
  multiRange: boolean;
  /** Serialized bytes a range holds at most while it is decoded (part of each fetch's cost). */
  decodeWindowBytes: number;
  /**
   * The fetch holds its decoded chunks until its last term is consumed (default true); false when they are
   * written out as they are decoded (`XetReader.readToFile` with writing workers): a fetch then costs only
   * its decoding windows.
   */
  holdsDecoded?: boolean;
}

/** Key of a range of chunks of a xorb (for lookups across reconstructions: ranges are compared by value). */
export const rangeKey = (xorb: string, start: number, end: number): string => `${xorb}:${start}:${end}`;

/** Every fetchable range of a reconstruction by `rangeKey`, with its URL (a range listed twice: the last). */
export type RangeIndex = Map<string, { url: string; range: ReconRange }>;

export function rangeIndex(recon: Reconstruction): RangeIndex {
  const index: RangeIndex = new Map();
  for (const e of recon.entries) for (const r of e.ranges) index.set(rangeKey(e.xorb, r.start, r.end), { url: e.url, range: r });
  return index;
}

/**
 * The windows of a read of bytes [start, end) of a file of `size` bytes (both clamped to the file), each of
 * at most `windowBytes`: none for an empty file or range.
 */
export function readWindows(size: number, range: { start?: number; end?: number }, windowBytes: number): { start: number; end: number }[] {
  const start = Math.max(0, range.start ?? 0);
  const end = Math.min(size, range.end ?? size);
  const out: { start: number; end: number }[] = [];
  for (let ws = start; ws < end; ws += windowBytes) out.push({ start: ws, end: Math.min(end, ws + windowBytes) });
  return out;
}

/**
 * The plan of the window [start, end) (non-empty) of file `hash` from its reconstruction. Throws
 * `ProtocolError` for a reconstruction that cannot serve the window: no terms, a term no fetch entry holds,
 * an offset past the window's start.
 */
export function planWindow(hash: string, recon: Reconstruction, start: number, end: number, opts: WindowPlanOptions): WindowPlan {
  const { terms, offset } = recon;
  if (terms.length === 0) throw new ProtocolError(`the reconstruction of ${hash} for bytes ${start}-${end - 1} has no terms`);
  if (offset > start) throw new ProtocolError(`offset_into_first_range ${offset} is past the requested start ${start}`);

  // Where each term's chunks come from: the first fetch entry of its xorb with a range that holds them.
  const entriesOf = new Map<string, ReconEntry[]>();
  for (const e of recon.entries) {
    const list = entriesOf.get(e.xorb);
    if (list) list.push(e);
    else entriesOf.set(e.xorb, [e]);
  }
  const holder = (xorb: string, from: number, to: number): { entry: ReconEntry; range: ReconRange } => {
    for (const entry of entriesOf.get(xorb) ?? []) {
      for (const range of entry.ranges) if (range.start <= from && to <= range.end) return { entry, range };
    }
    throw new ProtocolError(`the reconstruction of ${hash} has no fetch range for chunks ${from}-${to} of xorb ${xorb}`);
  };

  const fetches: PlannedFetch[] = [];
  const fetchOf = new Map<string, PlannedFetch>();
  const rangesOf: Set<ReconRange>[] = [];
  /** Decoded bytes per chunk of each range, estimated from the terms that read it. */
  const perChunk = new Map<ReconRange, number>();
  const planned: PlannedTerm[] = [];
  const length = end - start;
  let at = start - offset;
  let covered = 0;
  let needed = terms.length;
  terms.forEach((t, ti) => {
    const { entry, range } = holder(t.xorb, t.start, t.end);
    const key = opts.multiRange ? `${entry.xorb}|${entry.url}` : `${entry.xorb}|${entry.url}|${range.byteStart}-${range.byteEnd}`;
    let f = fetchOf.get(key);
    if (!f) {
      f = { index: fetches.length, xorb: entry.xorb, parts: [], cost: 0, lastUse: ti };
      fetches.push(f);
      fetchOf.set(key, f);
      rangesOf.push(new Set());
    }
    f.lastUse = ti;
    rangesOf[f.index]!.add(range);
    perChunk.set(range, Math.max(perChunk.get(range) ?? 0, t.unpacked / (t.end - t.start)));
    const skip = Math.min(t.unpacked, Math.max(0, start - at));
    const take = Math.min(t.unpacked - skip, length - covered);
    planned.push({ fetch: f.index, range, fileOffset: at, skip, take });
    at += t.unpacked;
    covered += take;
    if (covered === length && needed > ti + 1) needed = ti + 1;
  });

  const index = rangeIndex(recon);
  for (const f of fetches) {
    const ranges = [...rangesOf[f.index]!].sort((a, b) => a.byteStart - b.byteStart);
    f.parts = [{ url: index.get(rangeKey(f.xorb, ranges[0]!.start, ranges[0]!.end))!.url, ranges }];
    // Cost: the estimated decoded bytes (when held), plus the decoding window of serialized bytes.
    const held = opts.holdsDecoded === false ? 0 : 1;
    f.cost = ranges.reduce(
      (c, r) => c + held * Math.ceil(perChunk.get(r)! * (r.end - r.start)) + Math.min(r.byteEnd - r.byteStart + 1, opts.decodeWindowBytes),
      0,
    );
  }
  return { fetches, terms: planned, needed, covered };
}

/** The requests of a fetch, in order: one per part with all its ranges (multi-range), or one per range. */
export function fetchRequests(parts: FetchPart[], multiRange: boolean): FetchPart[] {
  return multiRange ? parts : parts.flatMap((p) => p.ranges.map((r) => ({ url: p.url, ranges: [r] })));
}

/**
 * The parts of a fetch of `xorb` after a 403 (expired URLs) or damaged bytes, from the new reconstruction's
 * `index`: each range goes to the URL (and byte range) now listed for its chunks.
 */
export function regroupParts(hash: string, xorb: string, parts: FetchPart[], index: RangeIndex): FetchPart[] {
  const regroup = new Map<string, ReconRange[]>();
  for (const part of parts) {
    for (const r of part.ranges) {
      const fresh = index.get(rangeKey(xorb, r.start, r.end));
      if (!fresh) throw new ProtocolError(`the new reconstruction of ${hash} no longer lists chunks ${r.start}-${r.end} of xorb ${xorb}`);
      regroup.set(fresh.url, [...(regroup.get(fresh.url) ?? []), fresh.range]);
    }
  }
  return [...regroup].map(([url, ranges]) => ({ url, ranges }));
}
