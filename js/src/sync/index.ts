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
 * Plans store the local root as an absolute path, so `apply` works from any directory; plans written by
 * `hf buckets sync --plan` (relative roots) are resolved against the current directory, as Python does.
 */
import { BucketNotFoundError, InvalidArgumentError, XetBucketsError } from "../errors.js";
import type { HubCallOptions } from "../hub/context.js";
import { parseBucket, type BucketRef } from "../repo.js";
import { localFilesFor } from "../sources.js";
import { listFiles, parseTime, type ListFileEntry } from "../api/files.js";
import {
  commitIter,
  type CommitOperation,
  type CommitResult,
  type ResumeStore,
  type UploadProgressEvent,
  type UploadTuning,
} from "../api/upload.js";
import { downloadBucketFiles, type DownloadProgress, type RemoteFileEntry } from "../api/download.js";
import { FilterMatcher, parseFilterRules } from "./filters.js";
import {
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

export * from "./plan.js";
export { FilterMatcher, fnmatchToRegExp, parseFilterRules, type FilterRule, type FilterOptions } from "./filters.js";

/** What `onEvent` is told while a sync runs: its plan, then its transfers, deletes and warnings. */
export type SyncEvent =
  | {
      /** The plan is computed. */
      type: "plan";
      /** Its counts. */
      summary: SyncSummary;
    }
  | {
      /** Upload progress (the upload direction). */
      type: "upload";
      /** The upload's event, as `uploadFilesWithProgress` yields it. */
      event: UploadProgressEvent;
    }
  | {
      /** Download progress (the download direction). */
      type: "download";
      /** The file's progress. */
      progress: DownloadProgress;
    }
  | {
      /** A file was deleted (local file, or bucket path). */
      type: "delete";
      /** Its path relative to the destination root. */
      path: string;
    }
  | {
      /** Something the caller should know (an ignored resume state, deletes left out…). */
      type: "warning";
      /** What happened. */
      message: string;
    };

export interface SyncOptions extends HubCallOptions, UploadTuning {
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
  /** fnmatch patterns (`*` also matches `/`), matched against paths relative to the roots. */
  include?: string[];
  /** fnmatch patterns of paths to leave out (both sides: an excluded path is never deleted). */
  exclude?: string[];
  /** Path of a filter file: `+ pattern`, `- pattern`, bare patterns include; first match wins. */
  filterFrom?: string;
  /** Compute the plan only (its JSONL is in `planText`); execute nothing. */
  dryRun?: boolean;
  /** Write the plan (JSONL) to this file; execute nothing. */
  plan?: string;
  /** Execute a saved plan (ours or `hf buckets sync --plan`'s). `source` and `dest` must be undefined. */
  apply?: string;
  /** Allow deletes when the source is empty (refused otherwise), and when local entries were unreadable. */
  force?: boolean;
  /** Refuse (before doing anything) when the plan would delete more than this many files. */
  maxDelete?: number;
  /**
   * Directory for resume states (Node): a sync killed during its upload, run again, does not send again
   * the xorbs the CAS already accepted (see `uploadFiles`' `resumeDir`).
   */
  resumeDir?: string;
  /** Where resume states live, for any runtime (overrides `resumeDir`). */
  resumeStore?: ResumeStore;
  /** Downloads: fsync each file before it is renamed over its target (default false; see `downloadBucketFiles`). */
  fsync?: boolean;
  /** Called with the plan, then with progress, deletes and warnings as the sync runs. */
  onEvent?: (e: SyncEvent) => void;
}

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
}

/** A sync refused by a guard (empty source with delete, maxDelete exceeded): code SYNC_REFUSED. */
export class SyncRefusedError extends XetBucketsError {
  override name = "SyncRefusedError";
  constructor(message: string) {
    super("SYNC_REFUSED", message);
  }
}

/**
 * Names of temporary download files (`.<name>.<12 hex>.xet-tmp`, platform/node/download.ts; group 1: `<name>`). A process
 * killed mid-download leaves one behind: it is never a local file of a sync (a sync up would upload the
 * partial bytes), and a sync that downloads that name again removes it once it is stale.
 */
const DOWNLOAD_TEMP = /^\.(.+)\.[0-9a-f]{12}\.xet-tmp$/;

/** The walked files of a sync's local side: those the filter selects, without temporary download files. */
function localSide(files: { path: string; size: number; mtimeMs: number }[], filter: FilterMatcher, into: Map<string, SideFile>): void {
  for (const f of files) {
    if (filter.matches(f.path) && !DOWNLOAD_TEMP.test(f.path.slice(f.path.lastIndexOf("/") + 1)))
      into.set(f.path, { size: f.size, mtimeMs: f.mtimeMs });
  }
}
/** A temporary download file untouched for this long belongs to a process that is gone. */
const STALE_TEMP_MS = 10 * 60 * 1000;

/** Removes stale temporary files of earlier downloads of these targets; returns how many. */
async function removeStaleTemps(targets: string[]): Promise<number> {
  const files = localFilesFor("sync");
  const byDir = new Map<string, Set<string>>();
  for (const t of targets) {
    const d = files.dirname(t);
    if (!byDir.has(d)) byDir.set(d, new Set());
    byDir.get(d)!.add(files.basename(t));
  }
  let removed = 0;
  for (const [dir, names] of byDir) {
    const entries = await files.list(dir).catch(() => [] as string[]);
    for (const e of entries) {
      const m = DOWNLOAD_TEMP.exec(e);
      if (!m || !names.has(m[1]!)) continue;
      const p = files.join(dir, e);
      const st = await files.stat(p).catch(() => undefined);
      if (st?.isFile() && Date.now() - st.mtimeMs > STALE_TEMP_MS) {
        await files.remove(p).then(
          () => removed++,
          () => undefined,
        );
      }
    }
  }
  return removed;
}

function isRemote(p: string): boolean {
  return p.startsWith("hf://");
}

interface Sides {
  direction: "upload" | "download";
  localRoot: string;
  bucket: BucketRef;
  prefix: string;
  remoteUri: string;
}

async function sides(source: string, dest: string): Promise<Sides> {
  const sRemote = isRemote(source);
  const dRemote = isRemote(dest);
  if (sRemote === dRemote) {
    throw new InvalidArgumentError(
      "one of source and dest must be a bucket (hf://buckets/ns/name[/prefix]) and the other a local directory",
    );
  }
  const uri = sRemote ? source : dest;
  const bucket = parseBucket(uri);
  return {
    direction: sRemote ? "download" : "upload",
    localRoot: localFilesFor("sync").resolve(sRemote ? dest : source),
    bucket,
    prefix: bucket.path,
    remoteUri: `hf://buckets/${bucket.id}${bucket.path ? `/${bucket.path}` : ""}`,
  };
}

async function listRemote(
  s: Sides,
  filter: FilterMatcher,
  opts: HubCallOptions,
): Promise<Map<string, SideFile & { entry: ListFileEntry }>> {
  const out = new Map<string, SideFile & { entry: ListFileEntry }>();
  const repo = `hf://buckets/${s.bucket.id}` as const;
  try {
    for await (const e of listFiles({ ...opts, repo, path: s.prefix || undefined, recursive: true })) {
      if (e.type !== "file") continue;
      let rel: string;
      if (!s.prefix) rel = e.path;
      else if (e.path.startsWith(s.prefix + "/")) rel = e.path.slice(s.prefix.length + 1);
      else if (e.path === s.prefix) rel = e.path.split("/").pop()!;
      else continue;
      checkRelativePath(rel);
      if (!filter.matches(rel)) continue;
      out.set(rel, { size: e.size, mtimeMs: parseTime(e.mtime) ?? 0, entry: e });
    }
  } catch (err) {
    if (err instanceof BucketNotFoundError && s.direction === "upload") return out; // an empty bucket
    throw err;
  }
  return out;
}

/**
 * Syncs a local directory and a bucket folder, in the direction given: `syncBucket("./run",
 * "hf://buckets/ns/name/run")` uploads, `syncBucket("hf://buckets/ns/name/run", "./run")` downloads (Node,
 * Deno, Bun). A path present on both sides is transferred when the sizes differ or the source is newer by
 * more than 1 s (see `SyncOptions` for the other rules); downloads get the remote mtime, so a second sync is a
 * no-op. With `apply`, runs a saved plan (`source` and `dest` undefined).
 *
 * Throws `InvalidArgumentError` for bad arguments (two local or two remote sides, conflicting options, a
 * source that is not a directory, an unreadable plan or filter file), `SyncRefusedError` when a delete guard
 * refuses (before anything runs), and the errors of the uploads and downloads.
 */
export async function syncBucket(source: string | undefined, dest: string | undefined, options: SyncOptions = {}): Promise<SyncResult> {
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
  if (options.ignoreTimes && options.ignoreSizes) throw new InvalidArgumentError("ignoreTimes and ignoreSizes cannot be combined");
  if (options.existing && options.ignoreExisting) throw new InvalidArgumentError("existing and ignoreExisting cannot be combined");
  if (options.dryRun && options.plan) throw new InvalidArgumentError("dryRun and plan cannot be combined");
  if (options.maxDelete !== undefined && !(Number.isInteger(options.maxDelete) && options.maxDelete >= 0)) {
    throw new InvalidArgumentError(`maxDelete must be a non-negative integer, got ${options.maxDelete}`);
  }

  const s = await sides(source, dest);
  let filterRules;
  if (options.filterFrom !== undefined) {
    try {
      filterRules = parseFilterRules(await files.readText(options.filterFrom));
    } catch (err) {
      throw new InvalidArgumentError(`cannot read the filter file: ${(err as Error).message}`);
    }
  }
  const filter = new FilterMatcher({ include: options.include, exclude: options.exclude, filterRules });

  // Local side.
  const local = new Map<string, SideFile>();
  let problems: { path: string; error: string }[] = [];
  const rootStat = await files.stat(s.localRoot).catch(() => undefined);
  if (s.direction === "upload") {
    if (!rootStat?.isDirectory()) throw new InvalidArgumentError(`the source must be a local directory: ${s.localRoot}`);
    const walked = await files.walk(s.localRoot, { signal: options.abortSignal });
    problems = walked.problems;
    localSide(walked.files, filter, local);
  } else if (rootStat && !rootStat.isDirectory()) {
    throw new InvalidArgumentError(`the destination must be a directory: ${s.localRoot}`);
  }

  const remote = await listRemote(s, filter, options);

  if (s.direction === "download" && rootStat) {
    if (options.delete) {
      const walked = await files.walk(s.localRoot, { signal: options.abortSignal });
      problems = walked.problems;
      localSide(walked.files, filter, local);
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
  const planText = serializePlan(plan);

  if (options.dryRun || options.plan) {
    if (options.plan) await files.writeText(options.plan, planText);
    return { plan, summary: summarize(plan), planText, executed: false, downloaded: 0, deleted: 0, problems, warnings };
  }
  const entries = new Map([...remote].map(([rel, v]) => [rel, v.entry]));
  return execute(s, plan, options, problems, warnings, entries);
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
  const planText = serializePlan(plan);
  const result: SyncResult = { plan, summary, planText, executed: false, downloaded: 0, deleted: 0, problems, warnings };
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
    for (;;) {
      const n = await gen.next();
      if (n.done) {
        result.upload = n.value;
        break;
      }
      options.onEvent?.({ type: "upload", event: n.value });
    }
    const del = operations.filter((o) => o.operation === "delete");
    result.deleted = del.length;
    return result;
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
    const r = await downloadBucketFiles(`hf://buckets/${s.bucket.id}`, downloads, {
      ...tuning,
      raiseOnMissingFiles: true,
      onProgress: options.onEvent ? (progress) => options.onEvent!({ type: "download", progress }) : undefined,
    });
    result.downloaded = r.downloaded.length;
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
  return result;
}
