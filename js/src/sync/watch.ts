/**
 * `syncBucket(source, dest, { watch: true })` (CLI `sync --watch`): a sync that keeps running until its
 * `abortSignal` aborts, then rejects with the signal's reason. Every round is planned by the one-shot sync's
 * planner (`compareListings`, plan.ts) over the same sides (sides.ts), so the comparison rules, the filters and
 * the delete guards are those of `syncBucket`.
 *
 * Local → bucket. The folder is watched (`LocalFiles.watch`: `fs.watch`, recursive where supported) and fully
 * rescanned every `rescanInterval` (default 10 s): events only make the watcher look sooner, the rescan is the
 * truth. A file is uploaded once its size and mtime have not changed for its settle time (`settleTime`: 2 s +
 * 1 s per GiB by default), so a checkpoint still being written is never picked. Once its data is stored and
 * before its path is registered, the file is checked again: if it changed while it was read, it is not
 * registered (the bucket never shows a half-written file) and goes again once it settles. The bucket side is
 * listed once at start and then kept up to date with what this watcher did: changes made by others are not
 * reverted until the local file changes again. With `delete`, a file absent locally for the settle time of an
 * empty file is deleted from the bucket, unless a guard of one-shot syncs holds it back for this round (empty
 * source, unreadable local entries, `maxDelete`; `force` lifts the first two).
 *
 * Bucket → local. The bucket's events feed is followed (`watchBucket`, resuming by cursor across reconnections):
 * at `ready` and at every `reset` the bucket is listed and synced in full, then each batch of changes is applied:
 * files are downloaded as one-shot syncs download them (temporary file, verified, renamed, remote mtime set) and,
 * with `delete`, removed locally. Where the server has no feed (EventsUnavailableError), the bucket is listed
 * every `rescanInterval` instead.
 *
 * Transient failures (network, 5xx, 429) are retried with the `retry` policy's backoff, rounds after rounds; other
 * errors end the watch. Aborting stops at once: an upload in progress registers nothing (unless its final batch
 * request is already in flight), a download in progress leaves no temporary file.
 */
import { EventsUnavailableError, InvalidArgumentError, TransferError, XetBucketsError, type FileFailure } from "../errors.js";
import { backoffDelay, retryConfig, sleep } from "../http.js";
import { isTransient } from "../hub/events.js";
import { checkBucketPath } from "../repo.js";
import { localFilesFor } from "../sources.js";
import { parseTime } from "../api/files.js";
import { commitIter, type CommitOperation, type CommitResult } from "../api/upload.js";
import { downloadFilesIsolated, type RemoteFileEntry } from "../api/download.js";
import { watchBucket } from "../api/watch.js";
import { BEFORE_REGISTER, type BeforeRegister } from "../upload-hooks.js";
import type { FilterMatcher } from "./filters.js";
import { checkCompareOptions, checkRelativePath, compareListings, type SideFile } from "./plan.js";
import {
  filterOf,
  isLocalSideFile,
  listRemote,
  removeStaleTemps,
  settleTime,
  sides,
  walkLocalSide,
  type Sides,
  type SyncOptions,
} from "./sides.js";

/** Options of `SyncOptions` that are the sync's own, not the transfer calls'. */
const SYNC_ONLY = [
  "delete",
  "ignoreTimes",
  "ignoreSizes",
  "existing",
  "ignoreExisting",
  "include",
  "exclude",
  "filterFrom",
  "dryRun",
  "plan",
  "apply",
  "force",
  "maxDelete",
  "onEvent",
  "watch",
  "settle",
  "rescanInterval",
] as const;

export async function watchSync(source: string | undefined, dest: string | undefined, options: SyncOptions): Promise<never> {
  const bad = (["apply", "dryRun", "plan"] as const).filter((k) => options[k] !== undefined && options[k] !== false);
  if (bad.length) throw new InvalidArgumentError(`watch cannot be combined with ${bad.join(", ")}`);
  if (!source || !dest) throw new InvalidArgumentError("watch needs a source and a dest");
  checkCompareOptions(options);
  if (options.maxDelete !== undefined && !(Number.isInteger(options.maxDelete) && options.maxDelete >= 0)) {
    throw new InvalidArgumentError(`maxDelete must be a non-negative integer, got ${options.maxDelete}`);
  }
  const settle = options.settle;
  if (settle !== undefined && typeof settle !== "function" && !(typeof settle === "number" && Number.isFinite(settle) && settle >= 0)) {
    throw new InvalidArgumentError(`settle must be a number of ms ≥ 0 or a function of the size, got ${String(settle)}`);
  }
  const rescan = options.rescanInterval;
  if (rescan !== undefined && !(typeof rescan === "number" && Number.isFinite(rescan) && rescan > 0)) {
    throw new InvalidArgumentError(`rescanInterval must be a positive number of ms, got ${String(rescan)}`);
  }
  const s = await sides(source, dest);
  const filter = await filterOf(options);
  return s.direction === "upload" ? watchUp(s, filter, options) : watchDown(s, filter, options);
}

/** Wakes a waiting loop early (file events). A wake while it is not waiting makes its next wait return at once. */
class Waker {
  #wake: (() => void) | undefined;
  #pending = false;

  wake(): void {
    this.#pending = true;
    this.#wake?.();
  }

  async wait(ms: number, signal: AbortSignal | undefined): Promise<void> {
    if (!this.#pending) {
      await new Promise<void>((resolve, reject) => {
        const done = () => {
          cleanup();
          resolve();
        };
        const onAbort = () => {
          cleanup();
          reject(signal!.reason);
        };
        const timer = setTimeout(done, Math.max(0, ms));
        const cleanup = () => {
          clearTimeout(timer);
          signal?.removeEventListener("abort", onAbort);
          this.#wake = undefined;
        };
        this.#wake = done;
        signal?.addEventListener("abort", onAbort, { once: true });
        if (signal?.aborted) onAbort();
      });
    }
    this.#pending = false;
  }
}

function transferOptions(options: SyncOptions): SyncOptions {
  const out = { ...options };
  for (const k of SYNC_ONLY) delete out[k];
  return out;
}

function plural(n: number, one: string, many: string): string {
  return `${n} ${n === 1 ? one : many}`;
}

/**
 * The delete guards of one-shot syncs, for one round: why the deletes are held back, or undefined.
 * (`maxDelete` refuses the whole one-shot plan; a watch holds back the round's deletes and carries on.)
 */
function heldBack(deletes: number, sourceCount: number, problems: number, options: SyncOptions, source: string): string | undefined {
  if (deletes === 0) return undefined;
  if (problems > 0 && !options.force)
    return `${plural(problems, "local entry", "local entries")} could not be read (force to delete anyway)`;
  if (sourceCount === 0 && !options.force)
    return `the source ${source} is empty or everything in it is filtered out (force to delete anyway)`;
  if (options.maxDelete !== undefined && deletes > options.maxDelete) return `more than maxDelete (${options.maxDelete})`;
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Local → bucket
// ---------------------------------------------------------------------------------------------

interface Observed extends SideFile {
  /** When this size and mtime were first seen (Date.now()). */
  since: number;
}

async function watchUp(s: Sides, filter: FilterMatcher, options: SyncOptions): Promise<never> {
  const files = localFilesFor("sync --watch");
  const signal = options.abortSignal;
  const emit = (e: Parameters<NonNullable<SyncOptions["onEvent"]>>[0]) => options.onEvent?.(e);
  let lastWarning = "";
  const warn = (message: string) => {
    lastWarning = message;
    emit({ type: "warning", message });
  };
  const warnOnce = (message: string) => {
    if (message !== lastWarning) warn(message);
  };
  const rootStat = await files.stat(s.localRoot).catch(() => undefined);
  if (!rootStat?.isDirectory()) throw new InvalidArgumentError(`the source must be a local directory: ${s.localRoot}`);
  const rescanMs = options.rescanInterval ?? 10_000;
  const cfg = retryConfig(options.retry);

  const remote = new Map<string, SideFile>();
  for (const [rel, v] of await listRemote(s, filter, options)) remote.set(rel, { size: v.size, mtimeMs: v.mtimeMs });
  const seen = new Map<string, Observed>();
  /** Bucket files absent locally, since when. */
  const goneSince = new Map<string, number>();
  /** Files the bucket refused, by `size:mtime`: not sent again until they change. */
  const refused = new Map<string, string>();
  let problems: { path: string; error: string }[] = [];
  const dirty = new Set<string>();
  let rescanDue = true;
  const waker = new Waker();
  let how: "fs-events" | "rescan" = "rescan";
  let watcher: { close(): void } | undefined;
  try {
    watcher = files.watch(s.localRoot, (rel) => {
      if (rel === undefined) rescanDue = true;
      else dirty.add(rel);
      waker.wake();
    });
    how = "fs-events";
  } catch (err) {
    warn(`cannot watch ${s.localRoot} for changes (${(err as Error).message}): rescanning every ${rescanMs / 1000} s`);
  }

  /** Something changed since the last plan (or a round ran): plan again. */
  let replan = true;
  /** Local names that cannot be bucket paths (a backslash, too long…): reported once, never uploaded. */
  const unfit = new Set<string>();
  const observe = (rel: string, st: SideFile | undefined, now: number) => {
    const prev = seen.get(rel);
    if (!st) {
      if (seen.delete(rel)) replan = true;
      return;
    }
    if (!prev && !unfit.has(rel)) {
      try {
        checkBucketPath(s.prefix ? `${s.prefix}/${rel}` : rel);
      } catch (err) {
        unfit.add(rel);
        warn(`${rel} is not uploaded: ${(err as Error).message}`);
      }
    }
    if (unfit.has(rel)) return;
    if (!prev || prev.size !== st.size || prev.mtimeMs !== st.mtimeMs) {
      seen.set(rel, { size: st.size, mtimeMs: st.mtimeMs, since: now });
      replan = true;
    }
  };
  const eventPath = (rel: string): string | undefined => {
    try {
      return checkRelativePath(rel);
    } catch {
      return undefined;
    }
  };

  let nextRescan = 0;
  /** When a file planned but not yet settled (or a held delete) becomes due. */
  let planDue = Infinity;
  let started = false;
  let failures = 0;
  let retryAt = 0;
  try {
    for (;;) {
      signal?.throwIfAborted();
      let now = Date.now();
      if (rescanDue || now >= nextRescan) {
        dirty.clear();
        rescanDue = false;
        try {
          const present = new Map<string, SideFile>();
          const unreadable = await walkLocalSide(s.localRoot, filter, present, signal);
          now = Date.now();
          for (const rel of [...seen.keys()]) if (!present.has(rel)) observe(rel, undefined, now);
          for (const [rel, st] of present) observe(rel, st, now);
          problems = unreadable;
        } catch (err) {
          if (signal?.aborted) throw signal.reason;
          // The folder itself cannot be read (removed, unmounted): nothing is decided from that.
          problems = [{ path: ".", error: (err as Error).message }];
          warnOnce(`cannot read ${s.localRoot}: ${(err as Error).message}`);
        }
        nextRescan = Date.now() + rescanMs;
        replan = true; // what a rescan found (or no longer finds) unreadable changes which deletes may go
        if (!started) {
          started = true;
          emit({ type: "watching", direction: "upload", source: s.localRoot, dest: s.remoteUri, how });
        }
      } else if (dirty.size > 0) {
        for (const raw of [...dirty]) {
          dirty.delete(raw);
          const rel = eventPath(raw);
          if (rel === undefined) continue;
          const st = await files.stat(files.join(s.localRoot, rel)).catch(() => undefined);
          if (st?.isDirectory()) {
            rescanDue = true; // a new or moved folder: its files are found by a rescan
          } else if (st?.isFile()) {
            if (isLocalSideFile(rel, filter)) observe(rel, st, Date.now());
          } else {
            observe(rel, undefined, Date.now());
            if ([...seen.keys()].some((p) => p.startsWith(`${rel}/`))) rescanDue = true; // a folder went away
          }
        }
        if (rescanDue) continue;
        now = Date.now();
      }

      if (!replan && now < planDue) {
        await waker.wait(Math.min(planDue, nextRescan) - Date.now(), signal);
        if (dirty.size > 0) await sleep(50, signal); // a burst of events (a file being written) settles into one look
        continue;
      }
      replan = false;
      // Plan this round with the sync planner: every local file seen against the bucket as known.
      const local = new Map<string, SideFile>();
      for (const [rel, v] of seen) local.set(rel, { size: v.size, mtimeMs: v.mtimeMs });
      for (const rel of [...goneSince.keys()]) if (local.has(rel) || !remote.has(rel)) goneSince.delete(rel);
      for (const rel of remote.keys()) if (!local.has(rel) && !goneSince.has(rel)) goneSince.set(rel, now);
      let wakeAt = Infinity;
      const uploads: string[] = [];
      const deletes: string[] = [];
      for (const op of compareListings("upload", local, remote, options)) {
        if (op.action === "upload") {
          const v = seen.get(op.path)!;
          if (refused.get(op.path) === `${v.size}:${v.mtimeMs}`) continue;
          const due = v.since + settleTime(v.size, options.settle);
          if (due <= now) uploads.push(op.path);
          else wakeAt = Math.min(wakeAt, due);
        } else if (op.action === "delete") {
          const due = goneSince.get(op.path)! + settleTime(0, options.settle);
          if (due <= now) deletes.push(op.path);
          else wakeAt = Math.min(wakeAt, due);
        }
      }
      const why = heldBack(deletes.length, local.size, problems.length, options, s.localRoot);
      if (why) {
        warnOnce(`${plural(deletes.length, "delete", "deletes")} held back: ${why}`);
        deletes.length = 0;
      }
      planDue = wakeAt;
      if ((uploads.length > 0 || deletes.length > 0) && now >= retryAt) {
        replan = true;
        try {
          await uploadRound(s, uploads, deletes, { seen, remote, refused }, options, warn);
          failures = 0;
        } catch (err) {
          if (signal?.aborted) throw signal.reason;
          const code = (err as XetBucketsError)?.code;
          if (err instanceof XetBucketsError && (code === "FILE_NOT_FOUND" || code === "LOCAL_IO")) {
            // A file went away before it was read, or cannot be read: look again; an unreadable one waits until it changes.
            const abs = (err as { path?: unknown }).path;
            const rel = typeof abs === "string" ? uploads.find((r) => files.join(s.localRoot, r) === abs) : undefined;
            const v = rel === undefined ? undefined : seen.get(rel);
            if (rel !== undefined && v && code === "LOCAL_IO") refused.set(rel, `${v.size}:${v.mtimeMs}`);
            warn(`${err.message}${code === "LOCAL_IO" ? " (skipped until it changes)" : ""}`);
            rescanDue = true;
            if (rel === undefined) {
              failures++;
              retryAt = Date.now() + backoffDelay(cfg, failures);
              planDue = Math.min(planDue, retryAt);
            }
            continue;
          }
          if (!isTransient(err)) throw err;
          failures++;
          const delay = backoffDelay(cfg, failures);
          retryAt = Date.now() + delay;
          planDue = Math.min(planDue, retryAt);
          warn(`${(err as Error).message}; trying again in ${(delay / 1000).toFixed(1)} s`);
        }
        continue; // look again at once: files may have changed meanwhile
      }
      if (retryAt > now) planDue = Math.min(planDue, retryAt);
    }
  } finally {
    watcher?.close();
  }
}

/**
 * Uploads settled files and applies deletes in one commit. Each file is checked once its data is stored: one
 * whose size or mtime differs from what was planned is left unregistered (`unsettled`) and observed afresh.
 */
async function uploadRound(
  s: Sides,
  uploads: string[],
  deletes: string[],
  state: { seen: Map<string, Observed>; remote: Map<string, SideFile>; refused: Map<string, string> },
  options: SyncOptions,
  warn: (message: string) => void,
): Promise<void> {
  const files = localFilesFor("sync --watch");
  const emit = (e: Parameters<NonNullable<SyncOptions["onEvent"]>>[0]) => options.onEvent?.(e);
  const remotePath = (rel: string) => (s.prefix ? `${s.prefix}/${rel}` : rel);
  const planned = new Map(uploads.map((rel) => [rel, { ...state.seen.get(rel)! }]));
  const relOf = new Map(uploads.map((rel) => [remotePath(rel), rel]));
  const operations: CommitOperation[] = [
    ...uploads.map((rel): CommitOperation => ({ operation: "addOrUpdate", path: remotePath(rel), content: files.join(s.localRoot, rel) })),
    ...deletes.map((rel): CommitOperation => ({ operation: "delete", path: remotePath(rel) })),
  ];
  const unsettled = new Map<string, SideFile | undefined>();
  const beforeRegister: BeforeRegister = async (reports) => {
    const skip: string[] = [];
    for (const f of reports) {
      const rel = relOf.get(f.path);
      if (rel === undefined) continue;
      const want = planned.get(rel)!;
      const st = await files.stat(files.join(s.localRoot, rel)).catch(() => undefined);
      if (!st?.isFile() || st.size !== want.size || st.mtimeMs !== want.mtimeMs || f.size !== want.size) {
        skip.push(f.path);
        unsettled.set(rel, st?.isFile() ? { size: st.size, mtimeMs: st.mtimeMs } : undefined);
      }
    }
    return skip;
  };
  const gen = commitIter({
    ...transferOptions(options),
    repo: `hf://buckets/${s.bucket.id}`,
    operations,
    allowPartial: true,
    onWarning: warn,
    [BEFORE_REGISTER]: beforeRegister,
  } as Parameters<typeof commitIter>[0]);
  let result: CommitResult | undefined;
  // Files whose source failed (gone, unreadable, changed while uploaded): the others of the round are registered.
  const sourceFailed = new Map<string, FileFailure>();
  try {
    for (;;) {
      const n = await gen.next();
      if (n.done) {
        result = n.value;
        break;
      }
      emit({ type: "upload", event: n.value });
    }
  } catch (err) {
    if (!(err instanceof TransferError)) throw err;
    result = err.result as CommitResult;
    for (const f of err.failures) if (f.code !== "BATCH_FAILED") sourceFailed.set(f.path, f);
  }
  const failed = new Map(result.failed.filter((f) => !sourceFailed.has(f.path)).map((f) => [f.path, f.error]));
  const now = Date.now();
  for (const rel of uploads) {
    const p = remotePath(rel);
    const want = planned.get(rel)!;
    const lost = sourceFailed.get(p);
    if (unsettled.has(rel) || lost?.code === "SOURCE_CHANGED" || lost?.code === "FILE_NOT_FOUND") {
      // Changed or gone while it was uploaded: observed afresh (a file that is back goes once it settles).
      const st = unsettled.get(rel);
      if (st) state.seen.set(rel, { ...st, since: now });
      else state.seen.delete(rel);
      emit({ type: "unsettled", path: rel });
    } else if (lost) {
      state.refused.set(rel, `${want.size}:${want.mtimeMs}`);
      warn(`${lost.error} (skipped until it changes)`);
    } else if (failed.has(p)) {
      state.refused.set(rel, `${want.size}:${want.mtimeMs}`);
      warn(`the bucket refused ${p}: ${failed.get(p)}`);
    } else {
      state.remote.set(rel, { size: want.size, mtimeMs: want.mtimeMs });
      emit({ type: "transferred", action: "upload", path: rel, size: want.size });
    }
  }
  for (const rel of deletes) {
    const p = remotePath(rel);
    if (failed.has(p)) warn(`the bucket refused to delete ${p}: ${failed.get(p)}`);
    else {
      state.remote.delete(rel);
      emit({ type: "transferred", action: "delete", path: rel });
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Bucket → local
// ---------------------------------------------------------------------------------------------

type RemoteSide = Map<string, SideFile & { entry: RemoteFileEntry }>;

async function watchDown(s: Sides, filter: FilterMatcher, options: SyncOptions): Promise<never> {
  const files = localFilesFor("sync --watch");
  const signal = options.abortSignal;
  const emit = (e: Parameters<NonNullable<SyncOptions["onEvent"]>>[0]) => options.onEvent?.(e);
  const warn = (message: string) => emit({ type: "warning", message });
  const rootStat = await files.stat(s.localRoot).catch(() => undefined);
  if (rootStat && !rootStat.isDirectory()) throw new InvalidArgumentError(`the destination must be a directory: ${s.localRoot}`);
  await files.makeDir(s.localRoot);
  const cfg = retryConfig(options.retry);
  let remote: RemoteSide = new Map();

  /** The path relative to the sync's root of a bucket path (the listing's rule), or undefined outside it. */
  const relOf = (path: string): string | undefined => {
    let rel: string;
    if (!s.prefix) rel = path;
    else if (path.startsWith(`${s.prefix}/`)) rel = path.slice(s.prefix.length + 1);
    else if (path === s.prefix) rel = path.split("/").pop()!;
    else return undefined;
    try {
      checkRelativePath(rel);
    } catch {
      warn(`skipped ${JSON.stringify(path)}: not a safe local path`);
      return undefined;
    }
    return filter.matches(rel) ? rel : undefined;
  };
  const relist = async () => {
    remote = new Map();
    for (const [rel, v] of await listRemote(s, filter, options)) {
      remote.set(rel, { size: v.size, mtimeMs: v.mtimeMs, entry: v.entry });
    }
  };
  /** Runs a round, retrying transient failures with the retry policy's backoff (within its time budget). */
  const retrying = async (round: () => Promise<void>) => {
    const start = Date.now();
    for (let attempt = 1; ; attempt++) {
      try {
        return await round();
      } catch (err) {
        if (signal?.aborted) throw signal.reason;
        const delay = backoffDelay(cfg, attempt);
        if (!isTransient(err) || Date.now() - start + delay > cfg.budgetMs) throw err;
        warn(`${(err as Error).message}; trying again in ${(delay / 1000).toFixed(1)} s`);
        await sleep(delay, signal);
      }
    }
  };
  const round = (only: Set<string> | undefined) => downRound(s, filter, remote, only, options, warn);

  try {
    let started = false;
    for await (const ev of watchBucket(`hf://buckets/${s.bucket.id}`, {
      ...transferOptions(options),
      prefix: s.prefix || undefined,
      abortSignal: signal,
      onReconnect: (i) => warn(`the events feed broke (${i.reason}); reconnecting in ${(i.delayMs / 1000).toFixed(1)} s`),
    })) {
      if (ev.type === "ready" && started) continue; // resumed by cursor: nothing was missed
      if (ev.type === "ready" || ev.type === "reset") {
        if (ev.type === "reset") emit({ type: "relist", reason: ev.message ?? ev.reason });
        await retrying(async () => {
          await relist();
          await round(undefined);
        });
        if (!started) {
          started = true;
          emit({ type: "watching", direction: "download", source: s.remoteUri, dest: s.localRoot, how: "feed" });
        }
        continue;
      }
      const touched = new Set<string>();
      let incomplete = false;
      for (const c of ev.changes) {
        const rel = relOf(c.path);
        if (rel === undefined) continue;
        touched.add(rel);
        if (c.op === "delete") {
          remote.delete(rel);
          continue;
        }
        // An update carries the fields that changed: the rest comes from what was known.
        const prev = remote.get(rel)?.entry;
        const entry: RemoteFileEntry = {
          path: c.path,
          xetHash: c.xetHash ?? prev?.xetHash,
          size: c.size ?? prev?.size ?? -1,
          mtime: c.mtime ?? prev?.mtime,
          type: "file",
        };
        if (entry.size < 0 || (entry.size > 0 && !entry.xetHash)) {
          incomplete = true;
          continue;
        }
        remote.set(rel, { size: entry.size, mtimeMs: parseTime(entry.mtime) ?? 0, entry });
      }
      if (incomplete) {
        emit({ type: "relist", reason: "a change did not carry the file's size or hash" });
        await retrying(async () => {
          await relist();
          await round(undefined);
        });
      } else if (touched.size > 0) {
        await retrying(() => round(touched));
      }
    }
  } catch (err) {
    if (signal?.aborted) throw signal.reason;
    if (!(err instanceof EventsUnavailableError)) throw err;
    const every = options.rescanInterval ?? 10_000;
    warn(`${err.message}: listing the bucket every ${every / 1000} s instead`);
    emit({ type: "watching", direction: "download", source: s.remoteUri, dest: s.localRoot, how: "polling" });
    for (;;) {
      await retrying(async () => {
        await relist();
        await round(undefined);
      });
      await sleep(every, signal);
    }
  }
  // watchBucket only ends by throwing.
  throw signal?.reason ?? new XetBucketsError("INTERNAL", "the events feed ended without an error");
}

/**
 * Brings the local files in line with `remote` (all of them, or the paths of `only`), planned by the sync
 * planner: downloads (atomic, remote mtime set) and, with `delete`, local deletes under the one-shot guards.
 */
async function downRound(
  s: Sides,
  filter: FilterMatcher,
  remote: RemoteSide,
  only: Set<string> | undefined,
  options: SyncOptions,
  warn: (message: string) => void,
): Promise<void> {
  const files = localFilesFor("sync --watch");
  const emit = (e: Parameters<NonNullable<SyncOptions["onEvent"]>>[0]) => options.onEvent?.(e);
  const local = new Map<string, SideFile>();
  let problems: { path: string; error: string }[] = [];
  const statInto = async (rel: string) => {
    const st = await files.stat(files.join(s.localRoot, rel)).catch(() => undefined);
    if (st?.isFile()) local.set(rel, { size: st.size, mtimeMs: st.mtimeMs });
  };
  if (only) {
    for (const rel of only) await statInto(rel);
  } else if (options.delete) {
    problems = await walkLocalSide(s.localRoot, filter, local, options.abortSignal);
  } else {
    for (const rel of remote.keys()) await statInto(rel);
  }
  const source = only ? new Map([...remote].filter(([rel]) => only.has(rel))) : remote;
  const ops = compareListings("download", source, local, options);
  let deletes = ops.filter((o) => o.action === "delete").map((o) => o.path);
  const why = heldBack(deletes.length, remote.size, problems.length, options, s.remoteUri);
  if (why) {
    warn(`${plural(deletes.length, "local delete", "local deletes")} held back: ${why}`);
    deletes = [];
  }
  const downloads = ops
    .filter((o) => o.action === "download")
    .map((o): [RemoteFileEntry, string] => [remote.get(o.path)!.entry, files.join(s.localRoot, o.path)]);
  if (downloads.length > 0) {
    await removeStaleTemps(downloads.map(([, target]) => target));
    const r = await downloadFilesIsolated(`hf://buckets/${s.bucket.id}`, downloads, {
      ...transferOptions(options),
      onWarning: warn,
      onProgress: (progress) => emit({ type: "download", progress }),
    });
    // Files that failed on their own (a file corrupt where it is stored...) do not end the watch: the others are
    // in place, and a failed file goes again when it changes or the bucket is listed again.
    for (const f of r.failed) warn(`${relOf(s, f.path)} is not downloaded: ${f.error}`);
    for (const d of r.downloaded) {
      emit({ type: "transferred", action: "download", path: relOf(s, d.path), size: d.size });
    }
  }
  for (const rel of deletes) {
    const file = files.join(s.localRoot, rel);
    await files.remove(file);
    emit({ type: "transferred", action: "delete", path: rel });
    for (let dir = files.dirname(file); dir !== s.localRoot && dir.startsWith(s.localRoot); dir = files.dirname(dir)) {
      try {
        await files.removeDir(dir);
      } catch {
        break;
      }
    }
  }
}

/** A bucket path relative to the sync's root (for messages). */
function relOf(s: Sides, path: string): string {
  return s.prefix && path.startsWith(`${s.prefix}/`) ? path.slice(s.prefix.length + 1) : path;
}
