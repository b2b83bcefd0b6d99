/**
 * What one-shot syncs (index.ts) and watching syncs (watch.ts) share: their options and events, which side is
 * local and which is the bucket, the remote listing and the local side as sync compares them, and the temporary
 * files of interrupted downloads.
 */
import { BucketNotFoundError, InvalidArgumentError } from "../errors.js";
import type { HubCallOptions } from "../hub/context.js";
import { parseBucket, type BucketRef } from "../repo.js";
import { DOWNLOAD_TEMP_NAME } from "../platform/temp-names.js";
import { localFilesFor } from "../sources.js";
import { listFiles, parseTime, type ListFileEntry } from "../api/files.js";
import type { ResumeStore, UploadProgressEvent, UploadTuning } from "../api/upload.js";
import type { DownloadProgress } from "../api/download.js";
import { FilterMatcher, parseFilterRules } from "./filters.js";
import { checkRelativePath, type CompareOptions, type SideFile, type SyncSummary } from "./plan.js";

/** What `onEvent` is told while a sync runs: its plan, then its transfers, deletes and warnings; in watch mode, its rounds. */
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
    }
  | {
      /** Watch mode: watching started (after the first scan or listing). */
      type: "watching";
      /** Local → bucket (upload) or bucket → local (download). */
      direction: "upload" | "download";
      /** The source: the local folder (absolute) or the bucket folder (`hf://buckets/ns/name/…`). */
      source: string;
      /** The destination, likewise. */
      dest: string;
      /** What reports changes: file-system events, rescans, the bucket's events feed, or polling. */
      how: "fs-events" | "rescan" | "feed" | "polling";
    }
  | {
      /** Watch mode: one file uploaded, downloaded or deleted (on the bucket when uploading, locally when downloading). */
      type: "transferred";
      /** What was done. */
      action: "upload" | "download" | "delete";
      /** The file's path relative to the roots. */
      path: string;
      /** Its size in bytes (uploads and downloads). */
      size?: number;
    }
  | {
      /** Watch mode: a file changed while it was uploaded; it was not registered and is uploaded again once it settles. */
      type: "unsettled";
      /** The file's path relative to the local root. */
      path: string;
    }
  | {
      /** Watch mode, bucket → local: the feed could not resume (or started): the bucket is listed again. */
      type: "relist";
      /** Why: the feed's reset message (or reason), or what a change lacked. */
      reason: string;
    };

/** Options of `syncBucket`: the common options, the upload tuning, the comparison rules and these. */
export interface SyncOptions extends HubCallOptions, UploadTuning, CompareOptions {
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
  /** Called with the plan, then with progress, deletes and warnings as the sync runs (and its rounds in watch mode). */
  onEvent?: (e: SyncEvent) => void;
  /**
   * Keep syncing until `abortSignal` aborts; the call then rejects with the signal's reason (watch.ts).
   * Local → bucket: the folder is watched (file events, and a full rescan every `rescanInterval`, which is the
   * truth), and a file is uploaded once its size and mtime have not changed for `settle`; a file that changes
   * while it is uploaded is not registered and goes again once it settles. Bucket → local: the bucket's events
   * feed is followed (`watchBucket`; re-listed on reset, polled every `rescanInterval` where the server has no
   * feed) and changes are downloaded atomically. Deletes only with `delete`, under the guards of one-shot syncs
   * (applied to each round). Not with `dryRun`, `plan` or `apply`.
   */
  watch?: boolean;
  /**
   * Watch mode, local → bucket: how long a file's size and mtime must stay unchanged before it is uploaded, ms:
   * a number is the time for an empty file, to which 1 s per GiB is added (default 2000: 2 s + 1 s per GiB,
   * see `settleTime`); or a function of the size. Also how long a file must stay absent before `delete` removes
   * it from the bucket (the time for an empty file).
   */
  settle?: number | ((size: number) => number);
  /** Watch mode: full rescans of the local folder (local → bucket), listings without a feed (bucket → local), ms (default 10000). */
  rescanInterval?: number;
}

/** The settle time of an empty file in watch mode, ms (`SyncOptions.settle`). */
export const DEFAULT_SETTLE_MS = 2000;
/** What the settle time grows by per GiB of file, ms. */
export const SETTLE_MS_PER_GIB = 1000;

/**
 * How long a file of `size` bytes must stay unchanged before `sync --watch` uploads it: `settle` (ms, default
 * 2000) + 1 s per GiB, or `settle(size)` when it is a function. Writers of large files (checkpoints) pause
 * longer between writes (page-cache flushes, serialization of the next tensor), so the wait grows with the size.
 */
export function settleTime(size: number, settle: SyncOptions["settle"] = DEFAULT_SETTLE_MS): number {
  if (typeof settle === "function") return settle(size);
  return settle + (SETTLE_MS_PER_GIB * size) / 2 ** 30;
}

/** The sync's include / exclude / filter-file rules. */
export async function filterOf(options: SyncOptions): Promise<FilterMatcher> {
  let filterRules;
  if (options.filterFrom !== undefined) {
    try {
      filterRules = parseFilterRules(await localFilesFor("syncBucket").readText(options.filterFrom));
    } catch (err) {
      throw new InvalidArgumentError(`cannot read the filter file: ${(err as Error).message}`);
    }
  }
  return new FilterMatcher({ include: options.include, exclude: options.exclude, filterRules });
}

/**
 * True when a local file (`rel` to the local root) is part of a sync's local side: the filter selects it and it
 * is not a temporary download file (platform/temp-names.ts). A process killed mid-download leaves one behind: a
 * sync up would upload its partial bytes; a sync that downloads that name again removes it once it is stale.
 */
export function isLocalSideFile(rel: string, filter: FilterMatcher): boolean {
  return filter.matches(rel) && !DOWNLOAD_TEMP_NAME.test(rel.slice(rel.lastIndexOf("/") + 1));
}

/** Walks a sync's local side into `into` (the files `isLocalSideFile` keeps). Returns what could not be read. */
export async function walkLocalSide(
  root: string,
  filter: FilterMatcher,
  into: Map<string, SideFile>,
  signal: AbortSignal | undefined,
): Promise<{ path: string; error: string }[]> {
  const walked = await localFilesFor("sync").walk(root, { signal });
  for (const f of walked.files) {
    if (isLocalSideFile(f.path, filter)) into.set(f.path, { size: f.size, mtimeMs: f.mtimeMs });
  }
  return walked.problems.map(({ path, error }) => ({ path, error }));
}
/** A temporary download file untouched for this long belongs to a process that is gone. */
const STALE_TEMP_MS = 10 * 60 * 1000;

/** Removes stale temporary files of earlier downloads of these targets; returns how many. */
export async function removeStaleTemps(targets: string[]): Promise<number> {
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
      const m = DOWNLOAD_TEMP_NAME.exec(e);
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

export function isRemote(p: string): boolean {
  return p.startsWith("hf://");
}

export interface Sides {
  direction: "upload" | "download";
  localRoot: string;
  bucket: BucketRef;
  prefix: string;
  remoteUri: string;
}

export async function sides(source: string, dest: string): Promise<Sides> {
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

export async function listRemote(
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
