/**
 * `syncBucket(source, dest, options)`: rsync-like sync between a local directory (Node) and
 * `hf://buckets/ns/name[/prefix]`, with huggingface_hub's `sync_bucket` semantics and plan format
 * (see plan.ts and filters.ts), plus guards that keep deletes safe:
 *
 * - `delete` is off by default; excluded paths are never deleted (filters apply to both sides);
 * - an empty source never deletes anything unless `force` is set;
 * - `maxDelete` caps the number of deletes (the call is refused above it, before anything runs);
 * - when some local entries could not be read, deletes are left out of the plan (and a warning says so),
 *   since a missing listing entry must not turn into a remote delete;
 * - downloads are written to a temporary file, verified, renamed and given the remote mtime, so a second
 *   sync in either direction plans only skips.
 *
 * A file that fails on its own (corrupt where it is stored, unreadable, refused) does not stop the others: the
 * sync completes them, then rejects with a `TransferError` (FILES_FAILED) whose `result` is the `SyncResult`,
 * its `failed` listing the files with their errors; running the sync again transfers only what is missing.
 *
 * Plans store the local root as an absolute path, so `apply` works from any directory; plans written by
 * `hf buckets sync --plan` (relative roots) are resolved against the current directory, as Python does.
 */
import { InvalidArgumentError, SyncRefusedError, TransferError, transferMessage, type FileFailure } from "../errors.js";
import { localFilesFor } from "../sources.js";
import type { ListFileEntry } from "../api/files.js";
import { commitIter, type CommitOperation, type CommitResult } from "../api/upload.js";
import { downloadFilesIsolated, type RemoteFileEntry } from "../api/download.js";
import {
  checkCompareOptions,
  checkRelativePath,
  compareListings,
  nowIso,
  parsePlan,
  serializePlan,
  summarize,
  type SideFile,
  type SyncPlan,
  type SyncSummary,
} from "./plan.js";
import { filterOf, listRemote, removeStaleTemps, sides, walkLocalSide, type Sides, type SyncOptions } from "./sides.js";
import { watchSync } from "./watch.js";

export type { SyncAction, SyncOperation, SyncPlan, SyncSummary } from "./plan.js";
export { DEFAULT_SETTLE_MS, SETTLE_MS_PER_GIB, settleTime, type SyncEvent, type SyncOptions } from "./sides.js";

/** What `syncBucket` did (or, for `dryRun` / `plan`, would do). */
export interface SyncResult {
  /** The plan: one operation per path, skips included. */
  plan: SyncPlan;
  /** The plan's counts. */
  summary: SyncSummary;
  /** The plan as JSONL (the `--plan` / `--dry-run` format). */
  planText: string;
  /** False for dryRun / plan, and when there was nothing to do. */
  executed: boolean;
  /** The upload's dedup report (upload direction, when something was uploaded or deleted). */
  upload?: CommitResult;
  /** Files downloaded (download direction). */
  downloaded: number;
  /** Files deleted at the destination. */
  deleted: number;
  /** Local entries that could not be read (never skipped silently). */
  problems: {
    /** The entry's path. */
    path: string;
    /** Why it could not be read. */
    error: string;
  }[];
  /** Warnings, also sent to `onEvent` (deletes left out because of `problems`…). */
  warnings: string[];
  /** Files whose transfer failed, with their errors (non-empty only in the `result` of a `TransferError`). */
  failed: FileFailure[];
}

/**
 * Syncs `source` to `dest` once (see the module documentation), or with `watch: true` keeps syncing until
 * `abortSignal` aborts (sync/watch.ts; the call then rejects with the signal's reason).
 */
export async function syncBucket(source: string | undefined, dest: string | undefined, options: SyncOptions = {}): Promise<SyncResult> {
  for (const [what, side] of [
    ["source", source],
    ["dest", dest],
  ] as const) {
    if (side !== undefined && typeof side !== "string")
      throw new InvalidArgumentError(`${what} must be a local path or an hf://buckets/ URI, got ${typeof side}`);
  }
  if (options.watch) return watchSync(source, dest, options);
  const files = localFilesFor("syncBucket");
  const warnings: string[] = [];
  const warn = (message: string) => {
    warnings.push(message);
    options.onEvent?.({ type: "warning", message });
  };

  if (options.apply !== undefined) {
    const conflicting = (
      ["delete", "ignoreTimes", "ignoreSizes", "existing", "ignoreExisting", "include", "exclude", "filterFrom", "dryRun", "plan"] as const
    ).filter((k) => {
      const v = options[k];
      return Array.isArray(v) ? v.length > 0 : Boolean(v);
    });
    if (source !== undefined || dest !== undefined)
      throw new InvalidArgumentError("apply executes a saved plan: do not give source or dest");
    if (conflicting.length) throw new InvalidArgumentError(`apply cannot be combined with ${conflicting.join(", ")}`);
    let text: string;
    try {
      text = await files.readText(options.apply);
    } catch (err) {
      throw new InvalidArgumentError(`cannot read the plan file: ${(err as Error).message}`);
    }
    const plan = parsePlan(text);
    for (const op of plan.operations) checkRelativePath(op.path);
    const s = await sides(plan.source, plan.dest);
    checkGuards(plan, options, undefined);
    return execute(s, plan, options, [], warnings, undefined);
  }

  if (!source || !dest) throw new InvalidArgumentError("syncBucket needs a source and a dest (or `apply` with a saved plan)");
  checkCompareOptions(options);
  if (options.dryRun && options.plan) throw new InvalidArgumentError("dryRun and plan cannot be combined");
  if (options.maxDelete !== undefined && !(Number.isInteger(options.maxDelete) && options.maxDelete >= 0)) {
    throw new InvalidArgumentError(`maxDelete must be a non-negative integer, got ${options.maxDelete}`);
  }

  const s = await sides(source, dest);
  const filter = await filterOf(options);

  // Local side.
  const local = new Map<string, SideFile>();
  let problems: { path: string; error: string }[] = [];
  const rootStat = await files.stat(s.localRoot).catch(() => undefined);
  if (s.direction === "upload") {
    if (!rootStat?.isDirectory()) throw new InvalidArgumentError(`the source must be a local directory: ${s.localRoot}`);
    problems = await walkLocalSide(s.localRoot, filter, local, options.abortSignal);
  } else if (rootStat && !rootStat.isDirectory()) {
    throw new InvalidArgumentError(`the destination must be a directory: ${s.localRoot}`);
  }

  const remote = await listRemote(s, filter, options);

  if (s.direction === "download" && rootStat) {
    if (options.delete) {
      problems = await walkLocalSide(s.localRoot, filter, local, options.abortSignal);
    } else {
      for (const rel of remote.keys()) {
        const st = await files.stat(files.join(s.localRoot, rel)).catch(() => undefined);
        if (st?.isFile()) local.set(rel, { size: st.size, mtimeMs: st.mtimeMs });
      }
    }
  }
  for (const p of problems) warn(`cannot read ${p.path}: ${p.error}`);

  const [src, dst] = s.direction === "upload" ? [local, remote] : [remote, local];
  let operations = compareListings(s.direction, src, dst, options);
  if (problems.length && !options.force && operations.some((o) => o.action === "delete")) {
    const n = operations.filter((o) => o.action === "delete").length;
    operations = operations.filter((o) => o.action !== "delete");
    warn(
      `${n} delete(s) left out because ${problems.length} local entr${problems.length === 1 ? "y" : "ies"} could not be read (force to delete anyway)`,
    );
  }
  const plan: SyncPlan = {
    source: s.direction === "upload" ? s.localRoot : s.remoteUri,
    dest: s.direction === "upload" ? s.remoteUri : s.localRoot,
    timestamp: nowIso(),
    operations,
  };
  checkGuards(plan, options, src.size);
  options.onEvent?.({ type: "plan", summary: summarize(plan) });
  if (options.dryRun || options.plan) {
    const planText = serializePlan(plan);
    if (options.plan) await files.writeText(options.plan, planText);
    return { plan, summary: summarize(plan), planText, executed: false, downloaded: 0, deleted: 0, problems, warnings, failed: [] };
  }
  const entries = new Map([...remote].map(([rel, v]) => [rel, v.entry]));
  return execute(s, plan, options, problems, warnings, entries);
}

/**
 * The result with its `planText` serialized when first read: the JSONL of a plan of many files takes a while
 * to write, and a sync that runs its plan rarely needs it.
 */
function withPlanText(r: Omit<SyncResult, "planText">): SyncResult {
  let text: string | undefined;
  return Object.defineProperty(r, "planText", {
    enumerable: true,
    configurable: true,
    get: () => (text ??= serializePlan(r.plan)),
  }) as SyncResult;
}

function checkGuards(plan: SyncPlan, options: SyncOptions, sourceCount: number | undefined): void {
  const deletes = plan.operations.filter((o) => o.action === "delete").length;
  if (deletes === 0) return;
  const sourceEmpty = sourceCount !== undefined ? sourceCount === 0 : !plan.operations.some((o) => o.action !== "delete");
  if (sourceEmpty && !options.force) {
    throw new SyncRefusedError(
      `refusing to delete all ${deletes} destination file(s): the source ${plan.source} is empty (or everything was filtered out). Pass force to do it anyway.`,
    );
  }
  if (options.maxDelete !== undefined && deletes > options.maxDelete) {
    throw new SyncRefusedError(`the plan deletes ${deletes} file(s), more than maxDelete (${options.maxDelete}); nothing was changed`);
  }
}

async function execute(
  s: Sides,
  plan: SyncPlan,
  options: SyncOptions,
  problems: { path: string; error: string }[],
  warnings: string[],
  entries: Map<string, ListFileEntry> | undefined,
): Promise<SyncResult> {
  const files = localFilesFor("syncBucket");
  const summary = summarize(plan);
  const result = withPlanText({ plan, summary, executed: false, downloaded: 0, deleted: 0, problems, warnings, failed: [] });
  if (summary.uploads + summary.downloads + summary.deletes === 0) return result;
  result.executed = true;
  const remotePath = (rel: string) => (s.prefix ? `${s.prefix}/${rel}` : rel);
  const tuning = { ...options };
  for (const k of ["delete", "include", "exclude", "filterFrom", "dryRun", "plan", "apply", "onEvent"] as const) delete tuning[k];

  if (s.direction === "upload") {
    const operations: CommitOperation[] = [];
    for (const o of plan.operations) {
      if (o.action === "upload")
        operations.push({ operation: "addOrUpdate", path: remotePath(o.path), content: files.join(s.localRoot, o.path) });
      else if (o.action === "delete") operations.push({ operation: "delete", path: remotePath(o.path) });
    }
    const onWarning = (message: string) => {
      warnings.push(message);
      options.onEvent?.({ type: "warning", message });
    };
    const gen = commitIter({ ...tuning, repo: `hf://buckets/${s.bucket.id}`, operations, onWarning });
    try {
      for (;;) {
        const n = await gen.next();
        if (n.done) {
          result.upload = n.value;
          break;
        }
        options.onEvent?.({ type: "upload", event: n.value });
      }
    } catch (err) {
      // Files that failed on their own (unreadable, changed while uploaded): the others are registered.
      if (!(err instanceof TransferError)) throw err;
      result.upload = err.result as CommitResult;
      result.failed = err.failures.map((f) => ({ ...f, path: relativeTo(s, f.path) }));
    }
    const del = operations.filter((o) => o.operation === "delete");
    const refused = new Set(result.upload?.failed.map((f) => f.path));
    result.deleted = del.filter((o) => !refused.has(o.path)).length;
    return failedAtEnd(result);
  }

  await files.makeDir(s.localRoot);
  const downloads: [string | RemoteFileEntry, string][] = plan.operations
    .filter((o) => o.action === "download")
    .map((o) => {
      const e = entries?.get(o.path);
      const target = files.join(s.localRoot, o.path);
      return [e && e.xetHash ? (e as RemoteFileEntry) : remotePath(o.path), target];
    });
  if (downloads.length) {
    const stale = await removeStaleTemps(downloads.map(([, target]) => target));
    if (stale) warnings.push(`removed ${stale} temporary file(s) left by an interrupted download`);
    // Files that fail on their own come back in `failed`: the others are in place, the deletes below go on (they
    // do not depend on them), and the call rejects at the end.
    const r = await downloadFilesIsolated(`hf://buckets/${s.bucket.id}`, downloads, {
      ...tuning,
      raiseOnMissingFiles: true,
      onProgress: options.onEvent ? (progress) => options.onEvent!({ type: "download", progress }) : undefined,
    });
    result.downloaded = r.downloaded.length;
    result.failed = r.failed.map((f) => ({ ...f, path: relativeTo(s, f.path) }));
  }
  for (const op of plan.operations.filter((o) => o.action === "delete")) {
    const file = files.join(s.localRoot, op.path);
    await files.remove(file);
    result.deleted++;
    options.onEvent?.({ type: "delete", path: op.path });
    for (let dir = files.dirname(file); dir !== s.localRoot && dir.startsWith(s.localRoot); dir = files.dirname(dir)) {
      try {
        await files.removeDir(dir);
      } catch {
        break;
      }
    }
  }
  return failedAtEnd(result);
}

/** The result, or the `TransferError` that carries it when some files failed. */
function failedAtEnd(result: SyncResult): SyncResult {
  if (result.failed.length === 0) return result;
  const verb = result.plan.dest.startsWith("hf://") ? "upload" : "download";
  const done = verb === "upload" ? (result.upload?.files ?? 0) : result.downloaded;
  throw new TransferError(transferMessage(verb, result.failed, done), result.failed, result);
}

/** A bucket path relative to the sync's remote root (the plan's paths). */
function relativeTo(s: Sides, path: string): string {
  return s.prefix && path.startsWith(`${s.prefix}/`) ? path.slice(s.prefix.length + 1) : path;
}
