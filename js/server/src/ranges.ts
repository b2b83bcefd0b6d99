/** `Range: bytes=…` parsing (RFC 9110 §14) for resolve, reconstructions and fetch URLs. */

/** An inclusive byte range [start, end]. */
export interface ByteRange {
  start: number;
  end: number;
}

export type RangeParse =
  | { kind: "none" }
  | { kind: "invalid"; reason: string }
  /** Every range starts at or beyond the end: answer 416. */
  | { kind: "unsatisfiable" }
  | { kind: "ranges"; ranges: ByteRange[] };

const MAX_RANGES = 1000;

/**
 * Parses a Range header against a resource of `size` bytes: `a-b` (end clamped to the last byte),
 * `a-` (to the end) and `-n` (the last n bytes). Ranges starting at or after `size` are dropped; if
 * none remains the request is unsatisfiable.
 */
export function parseRange(header: string | undefined, size: number): RangeParse {
  if (header === undefined) return { kind: "none" };
  const m = /^\s*bytes\s*=\s*(.+)$/i.exec(header);
  if (!m) return { kind: "invalid", reason: `unsupported Range header ${JSON.stringify(header.slice(0, 100))}` };
  const specs = m[1]!.split(",").map((s) => s.trim());
  if (specs.length > MAX_RANGES) return { kind: "invalid", reason: `more than ${MAX_RANGES} ranges` };
  const out: ByteRange[] = [];
  for (const spec of specs) {
    const r = /^(\d*)-(\d*)$/.exec(spec);
    if (!r || (r[1] === "" && r[2] === "")) {
      return { kind: "invalid", reason: `malformed range ${JSON.stringify(spec.slice(0, 100))}` };
    }
    if (r[1] === "") {
      const n = Number(r[2]);
      if (!Number.isSafeInteger(n)) return { kind: "invalid", reason: "range too large" };
      if (n === 0 || size === 0) continue;
      out.push({ start: Math.max(0, size - n), end: size - 1 });
      continue;
    }
    const start = Number(r[1]);
    const end = r[2] === "" ? Number.MAX_SAFE_INTEGER : Number(r[2]);
    if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end)) return { kind: "invalid", reason: "range too large" };
    if (end < start) return { kind: "invalid", reason: `range ${spec} ends before it starts` };
    if (start >= size) continue;
    out.push({ start, end: Math.min(end, size - 1) });
  }
  if (out.length === 0) return { kind: "unsatisfiable" };
  return { kind: "ranges", ranges: out };
}

/** True when every range lies inside the union of `allowed` (inclusive ranges). */
export function rangesCovered(ranges: ByteRange[], allowed: Array<[number, number]>): boolean {
  const merged: Array<[number, number]> = [];
  for (const [s, e] of [...allowed].sort((a, b) => a[0] - b[0])) {
    const last = merged[merged.length - 1];
    if (last && s <= last[1] + 1) last[1] = Math.max(last[1], e);
    else merged.push([s, e]);
  }
  return ranges.every((r) => merged.some(([s, e]) => r.start >= s && r.end <= e));
}
