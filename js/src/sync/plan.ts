/**
 * Sync plans: comparison rules and the JSONL format of `hf buckets sync --plan` (huggingface_hub 2.4.0),
 * so that a plan written here applies with `hf buckets sync --apply` and the reverse.
 *
 * Comparison of a path present on both sides (window: 1000 ms):
 *   ignoreExisting → skip "exists on receiver (--ignore-existing)"
 *   ignoreSizes    → transfer when the source is newer by > 1 s, else skip ("… newer" / "same mtime")
 *   ignoreTimes    → transfer when sizes differ ("size differs"), else skip "same size"
 *   default        → transfer when sizes differ or the source is newer by > 1 s, else skip "identical"
 * No content hash is compared.
 */
import { InvalidArgumentError } from "../errors.js";

const SYNC_TIME_WINDOW_MS = 1000;

/** What a sync does with one path. */
export type SyncAction = "upload" | "download" | "delete" | "skip";

/** One line of a sync plan (field names as in `hf buckets sync --plan`'s JSONL). */
export interface SyncOperation {
  /** What is done with the path. */
  action: SyncAction;
  /** Path relative to the source / destination roots, "/"-separated. */
  path: string;
  /** Why, in huggingface_hub's words ("new file", "size differs", "identical", …). */
  reason: string;
  /** The file's size in bytes (transfers). */
  size?: number;
  /** ISO-8601 with "+00:00", as Python's isoformat() */
  local_mtime?: string;
  /** The bucket file's mtime, in the same format. */
  remote_mtime?: string;
}

/** The counts of a plan. */
export interface SyncSummary {
  /** Files to upload. */
  uploads: number;
  /** Files to download. */
  downloads: number;
  /** Files to delete at the destination. */
  deletes: number;
  /** Paths left as they are. */
  skips: number;
  /** Bytes to transfer. */
  total_size: number;
}

/** A sync plan: what `syncBucket` computed, as `hf buckets sync --plan` writes it. */
export interface SyncPlan {
  /** The source: a local directory (absolute) or `hf://buckets/ns/name[/prefix]`. */
  source: string;
  /** The destination, in the same forms. */
  dest: string;
  /** When the plan was computed (ISO-8601). */
  timestamp: string;
  /** One operation per path, in path order. */
  operations: SyncOperation[];
}

/** A file as seen on one side: size and mtime in ms. */
export interface SideFile {
  size: number;
  mtimeMs: number;
}

/** How the two sides are compared (the options of `hf buckets sync` that shape a plan). */
export interface CompareOptions {
  /** Delete destination files absent from the source (default false). */
  delete?: boolean;
  /** Compare sizes only. */
  ignoreTimes?: boolean;
  /** Compare modification times only. */
  ignoreSizes?: boolean;
  /** Only update files that exist on the receiver. */
  existing?: boolean;
  /** Only create files that do not exist on the receiver. */
  ignoreExisting?: boolean;
}

/** Refuses the combinations of comparison options that contradict each other. */
export function checkCompareOptions(opts: CompareOptions): void {
  if (opts.ignoreTimes && opts.ignoreSizes) throw new InvalidArgumentError("ignoreTimes and ignoreSizes cannot be combined");
  if (opts.existing && opts.ignoreExisting) throw new InvalidArgumentError("existing and ignoreExisting cannot be combined");
}

/** Python's `datetime.fromtimestamp(ms / 1000, tz=utc).isoformat()`: microseconds only when non-zero. */
export function isoFromMs(ms: number): string {
  const totalMicros = Math.round(ms * 1000);
  const secs = Math.floor(totalMicros / 1e6);
  const micros = totalMicros - secs * 1e6;
  const base = new Date(secs * 1000).toISOString().slice(0, 19);
  return `${base}${micros ? "." + String(micros).padStart(6, "0") : ""}+00:00`;
}

export function nowIso(): string {
  return isoFromMs(Date.now());
}

export function summarize(plan: SyncPlan): SyncSummary {
  const s: SyncSummary = { uploads: 0, downloads: 0, deletes: 0, skips: 0, total_size: 0 };
  for (const op of plan.operations) {
    if (op.action === "upload") s.uploads++;
    else if (op.action === "download") s.downloads++;
    else if (op.action === "delete") s.deletes++;
    else s.skips++;
    if (op.action === "upload" || op.action === "download") s.total_size += op.size ?? 0;
  }
  return s;
}

/**
 * Computes the operations for one direction from the two listings (already filtered). `source` and `dest`
 * map relative paths to sizes and mtimes. Paths are processed in sorted order, like Python.
 */
export function compareListings(
  direction: "upload" | "download",
  source: Map<string, SideFile>,
  dest: Map<string, SideFile>,
  opts: CompareOptions = {},
): SyncOperation[] {
  checkCompareOptions(opts);
  const up = direction === "upload";
  const srcNewer = up ? "local newer" : "remote newer";
  const dstNewer = up ? "remote newer" : "local newer";
  const srcKey = up ? "local_mtime" : "remote_mtime";
  const dstKey = up ? "remote_mtime" : "local_mtime";
  const ops: SyncOperation[] = [];
  const paths = [...new Set([...source.keys(), ...dest.keys()])].sort(comparePaths);
  for (const path of paths) {
    const s = source.get(path);
    const d = dest.get(path);
    if (s && !d) {
      ops.push({
        action: opts.existing ? "skip" : direction,
        path,
        reason: opts.existing ? "new file (--existing)" : "new file",
        size: s.size,
        [srcKey]: isoFromMs(s.mtimeMs),
      });
    } else if (s && d) {
      const base = {
        path,
        size: s.size,
        local_mtime: isoFromMs(up ? s.mtimeMs : d.mtimeMs),
        remote_mtime: isoFromMs(up ? d.mtimeMs : s.mtimeMs),
      };
      const sizeDiffers = s.size !== d.size;
      const sourceNewer = s.mtimeMs - d.mtimeMs > SYNC_TIME_WINDOW_MS;
      if (opts.ignoreExisting) ops.push({ action: "skip", reason: "exists on receiver (--ignore-existing)", ...base });
      else if (opts.ignoreSizes) {
        if (sourceNewer) ops.push({ action: direction, reason: srcNewer, ...base });
        else ops.push({ action: "skip", reason: d.mtimeMs - s.mtimeMs > SYNC_TIME_WINDOW_MS ? dstNewer : "same mtime", ...base });
      } else if (opts.ignoreTimes) {
        ops.push(sizeDiffers ? { action: direction, reason: "size differs", ...base } : { action: "skip", reason: "same size", ...base });
      } else if (sizeDiffers || sourceNewer) {
        ops.push({ action: direction, reason: sizeDiffers ? "size differs" : srcNewer, ...base });
      } else {
        ops.push({ action: "skip", reason: "identical", ...base });
      }
    } else if (!s && d && opts.delete) {
      ops.push({ action: "delete", path, reason: "not in source (--delete)", size: d.size, [dstKey]: isoFromMs(d.mtimeMs) });
    }
  }
  return ops;
}

/** Python sorts str by code point; JS sorts by UTF-16 unit. Compare by code point to match. */
function comparePaths(a: string, b: string): number {
  const x = [...a];
  const y = [...b];
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    const d = x[i]!.codePointAt(0)! - y[i]!.codePointAt(0)!;
    if (d) return d;
  }
  return x.length - y.length;
}

/** JSON with Python's default separators (", " and ": ") and ASCII escapes, as json.dumps writes it. */
function pyJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(pyJson).join(", ")}]`;
  if (value !== null && typeof value === "object") {
    return `{${Object.entries(value)
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => `${pyJson(k)}: ${pyJson(v)}`)
      .join(", ")}}`;
  }
  if (typeof value === "string") {
    return JSON.stringify(value).replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
  }
  return JSON.stringify(value);
}

/** Serializes a plan as JSONL (header line, then one line per operation), like `hf buckets sync --plan`. */
export function serializePlan(plan: SyncPlan): string {
  const lines = [pyJson({ type: "header", source: plan.source, dest: plan.dest, timestamp: plan.timestamp, summary: summarize(plan) })];
  for (const op of plan.operations) {
    const o: Record<string, unknown> = { type: "operation", action: op.action, path: op.path, reason: op.reason };
    if (op.size !== undefined) o.size = op.size;
    if (op.local_mtime !== undefined) o.local_mtime = op.local_mtime;
    if (op.remote_mtime !== undefined) o.remote_mtime = op.remote_mtime;
    lines.push(pyJson(o));
  }
  return lines.join("\n") + "\n";
}

/** Parses a JSONL plan (ours or Python's). Lines whose `type` is not "operation" after the header are skipped. */
export function parsePlan(text: string): SyncPlan {
  const lines = text.split(/\r?\n/).filter((l) => l.trim() !== "");
  if (lines.length === 0) throw new InvalidArgumentError("empty plan file");
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(lines[0]!);
  } catch {
    throw new InvalidArgumentError("invalid plan file: the first line is not JSON");
  }
  if (header?.type !== "header" || typeof header.source !== "string" || typeof header.dest !== "string") {
    throw new InvalidArgumentError("invalid plan file: expected a header line with source and dest first");
  }
  const plan: SyncPlan = { source: header.source, dest: header.dest, timestamp: String(header.timestamp ?? ""), operations: [] };
  lines.slice(1).forEach((line, i) => {
    let o: Record<string, unknown>;
    try {
      o = JSON.parse(line);
    } catch {
      throw new InvalidArgumentError(`invalid plan file: line ${i + 2} is not JSON`);
    }
    if (o?.type !== "operation") return;
    if (!["upload", "download", "delete", "skip"].includes(o.action as string) || typeof o.path !== "string") {
      throw new InvalidArgumentError(`invalid plan file: line ${i + 2} has an unknown action or no path`);
    }
    const op: SyncOperation = { action: o.action as SyncAction, path: o.path, reason: typeof o.reason === "string" ? o.reason : "" };
    if (typeof o.size === "number") op.size = o.size;
    if (typeof o.local_mtime === "string") op.local_mtime = o.local_mtime;
    if (typeof o.remote_mtime === "string") op.remote_mtime = o.remote_mtime;
    plan.operations.push(op);
  });
  return plan;
}

/**
 * Rejects relative paths that would escape the root they are joined to (absolute, "..", empty segments,
 * NUL, backslashes), as Python's `_validate_relative_filename`.
 */
export function checkRelativePath(path: string): string {
  if (!path || path.startsWith("/") || /^[A-Za-z]:/.test(path) || path.includes("\0") || path.includes("\\")) {
    throw new InvalidArgumentError(`unsafe path in sync: ${JSON.stringify(path)}`);
  }
  for (const seg of path.split("/")) {
    if (seg === "" || seg === "." || seg === "..") throw new InvalidArgumentError(`unsafe path in sync: ${JSON.stringify(path)}`);
  }
  return path;
}
