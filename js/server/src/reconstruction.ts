/**
 * Reconstruction answers (xet-protocol.md §6.6), computed from stored terms and xorb layouts.
 *
 * Server rules implemented here:
 * - keep the terms overlapping the requested range [a, b]; trim the first and last term to the chunks
 *   containing `a` and `b`, recompute their `unpacked_length`, and set
 *   `offset_into_first_range = a − (file offset of the first kept chunk)`;
 * - `b` past the end is clamped by the caller; `a` ≥ size is a 416 (caller);
 * - fetch descriptors merge the chunk ranges of a xorb's terms (overlapping or adjacent), so a term is
 *   never split across descriptors (huggingface.js looks for one descriptor containing the term);
 * - byte ranges are inclusive offsets into the footer-less stored xorb.
 */
import type { TermRow } from "./store.js";

/** What the planner needs to know about a xorb. */
export interface XorbLayout {
  chunkLengths: Uint32Array;
  /** n + 1 record start offsets; the last one is the stored length. */
  recordOffsets: Uint32Array;
}

export interface PlannedTerm {
  hash: string;
  unpacked_length: number;
  range: { start: number; end: number };
}

/** A merged run of chunks of one xorb and its inclusive byte range in the stored xorb. */
export interface FetchRange {
  chunks: { start: number; end: number };
  bytes: { start: number; end: number };
}

export interface ReconstructionPlan {
  offsetIntoFirstRange: number;
  terms: PlannedTerm[];
  /** Per xorb, its merged chunk runs in ascending order. */
  fetch: Map<string, FetchRange[]>;
}

/**
 * Plans the reconstruction of bytes [first, last] (inclusive, already clamped to the file) from the
 * terms overlapping that range (in file order, as `Store.termsInRange` returns them).
 */
export function planReconstruction(
  terms: TermRow[],
  first: number,
  last: number,
  layout: (xorbHash: string) => XorbLayout,
): ReconstructionPlan {
  const planned: PlannedTerm[] = [];
  let offsetIntoFirstRange = 0;
  const runs = new Map<string, Array<[number, number]>>();
  for (let i = 0; i < terms.length; i++) {
    const t = terms[i]!;
    const termEnd = t.offset + t.unpacked; // exclusive
    if (termEnd <= first || t.offset > last) continue;
    let start = t.chunkStart;
    let end = t.chunkEnd;
    let unpacked = t.unpacked;
    const needsTrim = t.offset < first || termEnd - 1 > last;
    if (needsTrim) {
      const { chunkLengths } = layout(t.xorbHash);
      let pos = t.offset;
      // Skip whole chunks before `first`.
      while (start < end && pos + chunkLengths[start]! <= first) {
        pos += chunkLengths[start]!;
        start++;
      }
      if (planned.length === 0) offsetIntoFirstRange = Math.max(0, first - pos);
      // Keep chunks up to the one containing `last`.
      let k = start;
      let kept = 0;
      while (k < end && pos <= last) {
        pos += chunkLengths[k]!;
        kept += chunkLengths[k]!;
        k++;
      }
      end = k;
      unpacked = kept;
    } else if (planned.length === 0) {
      offsetIntoFirstRange = 0;
    }
    planned.push({ hash: t.xorbHash, unpacked_length: unpacked, range: { start, end } });
    let list = runs.get(t.xorbHash);
    if (!list) runs.set(t.xorbHash, (list = []));
    list.push([start, end]);
  }
  const fetch = new Map<string, FetchRange[]>();
  for (const [hash, list] of runs) {
    list.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
    const merged: Array<[number, number]> = [];
    for (const [s, e] of list) {
      const lastRun = merged[merged.length - 1];
      if (lastRun && s <= lastRun[1]) lastRun[1] = Math.max(lastRun[1], e);
      else merged.push([s, e]);
    }
    const { recordOffsets } = layout(hash);
    fetch.set(
      hash,
      merged.map(([s, e]) => ({
        chunks: { start: s, end: e },
        bytes: { start: recordOffsets[s]!, end: recordOffsets[e]! - 1 },
      })),
    );
  }
  return { offsetIntoFirstRange, terms: planned, fetch };
}
