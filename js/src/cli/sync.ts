/** `xet-buckets sync [SOURCE] [DEST]`: every option of `hf buckets sync`, plus --max-delete and --force. */
import { readFile } from "node:fs/promises";
import { rangeFetch } from "#platform";
import { TransferError } from "../errors.js";
import { syncBucket, DEFAULT_SETTLE_MS, type SyncEvent, type SyncOptions, type SyncResult } from "../sync/index.js";
import { parsePlan, summarize, type SyncSummary } from "../sync/plan.js";
import { intOption } from "./args.js";
import { COMMON_HELP, isBucketUri, resumeDirOption, setup } from "./common.js";
import { formatSize, printable, type Output } from "./output.js";
import { ProgressLine } from "./progress.js";
import { EXIT_FAILURE, EXIT_OK, UsageError, type CommandIo } from "./util.js";

const SYNC_USAGE = `Usage: xet-buckets sync [OPTIONS] [SOURCE] [DEST]

  Sync files between a local directory and a bucket.

  One side is a local directory, the other hf://buckets/namespace/bucket_name(/prefix). Files are
  compared by size and modification time (1 s window); only new and changed files are transferred,
  through Xet deduplication. Nothing is deleted without --delete; an empty source never deletes
  everything unless --force is given.

Arguments:
  [SOURCE]  Source path: local directory or hf://buckets/namespace/bucket_name(/prefix)
  [DEST]    Destination path: local directory or hf://buckets/namespace/bucket_name(/prefix)

Options:
  --delete / --no-delete  Delete destination files not present in source. [default: no-delete]
  --ignore-times          Skip files only based on size, ignoring modification times.
  --ignore-sizes          Skip files only based on modification times, ignoring sizes.
  --plan FILE             Save sync plan to JSONL file for review instead of executing.
  --apply FILE            Apply a previously saved plan file (no SOURCE, DEST or filter options).
  --dry-run               Print sync plan to stdout as JSONL without executing.
  --include TEXT          Include files matching pattern (can specify multiple).
  --exclude TEXT          Exclude files matching pattern (can specify multiple).
  --filter-from FILE      Read include/exclude patterns from file ("+ pattern", "- pattern").
  --existing              Skip creating new files on receiver (only update existing files).
  --ignore-existing       Skip updating files that exist on receiver (only create new files).
  --max-delete N          Refuse (change nothing) when the plan deletes more than N files.
  --force                 Allow --delete to remove every destination file when the source is empty.
  --fsync                 Downloads: flush each file to disk before it replaces its target (survives a
                          power loss; slower). Files are replaced atomically either way.
  --resume-dir DIR        Keep upload resume state in DIR (default: $XET_BUCKETS_RESUME_DIR): a sync
                          interrupted while uploading, run again, does not send again what the server stored.
  --watch                 Keep syncing until interrupted (Ctrl-C). Local -> bucket: watch the folder and
                          upload a file once its size and mtime have not changed for the settle time (a
                          file that changes while it uploads is not registered, and goes again once it
                          settles). Bucket -> local: follow the bucket's live changes and download them.
                          One line per file transferred. Not with --dry-run, --plan or --apply.
  --settle SECONDS        With --watch: how long a file must stay unchanged before it is uploaded, plus 1 s
                          per GiB of file [default: 2]; with --delete, how long a file must stay gone.
  --rescan SECONDS        With --watch: rescan the local folder (local -> bucket), or list the bucket when
                          the server has no events feed (bucket -> local), every SECONDS [default: 10].
  -v, --verbose           Show detailed logging with reasoning.
  -h, --help              Show this message and exit.

  Patterns are fnmatch globs matched against paths relative to the roots ("*" also matches "/").
  A file that fails on its own (corrupt where it is stored, unreadable) does not stop the others: they are
  synced, the failed files are listed, and running the sync again transfers only what is missing.
  Exit code 1 when the sync or some of its files failed, it was refused by a guard, or some local entries
  could not be read;
  130 when interrupted (--watch ends that way, with nothing half-written).

${COMMON_HELP}

Examples
  $ xet-buckets sync ./data hf://buckets/user/my-bucket
  $ xet-buckets sync hf://buckets/user/my-bucket ./data
  $ xet-buckets sync ./data hf://buckets/user/my-bucket --delete --max-delete 100
  $ xet-buckets sync hf://buckets/user/my-bucket ./data --include "*.safetensors" --exclude "*.tmp"
  $ xet-buckets sync ./data hf://buckets/user/my-bucket --plan sync-plan.jsonl
  $ xet-buckets sync --apply sync-plan.jsonl
  $ xet-buckets sync ./data hf://buckets/user/my-bucket --dry-run | jq .
  $ xet-buckets sync ./checkpoints hf://buckets/user/my-bucket/run-1 --watch --settle 5
  $ xet-buckets sync hf://buckets/user/my-bucket ./mirror --watch --delete`;

function printSummary(out: { text(s: string): void }, source: string, dest: string, s: SyncSummary): void {
  out.text(`Sync plan: ${source} -> ${dest}`);
  out.text(`  Uploads: ${s.uploads}`);
  out.text(`  Downloads: ${s.downloads}`);
  out.text(`  Deletes: ${s.deletes}`);
  out.text(`  Skips: ${s.skips}`);
}

export async function runSync(argv: string[], io: CommandIo): Promise<number> {
  const ctx = setup(
    argv,
    {
      name: "sync",
      usage: SYNC_USAGE,
      positionals: ["SOURCE?", "DEST?"],
      options: [
        { name: "delete", type: "boolean", negatable: true },
        { name: "ignore-times", type: "boolean" },
        { name: "ignore-sizes", type: "boolean" },
        { name: "plan", type: "string" },
        { name: "apply", type: "string" },
        { name: "dry-run", type: "boolean" },
        { name: "include", type: "string", multiple: true },
        { name: "exclude", type: "string", multiple: true },
        { name: "filter-from", type: "string" },
        { name: "existing", type: "boolean" },
        { name: "ignore-existing", type: "boolean" },
        { name: "max-delete", type: "string" },
        { name: "force", type: "boolean" },
        { name: "resume-dir", type: "string" },
        { name: "fsync", type: "boolean" },
        { name: "watch", type: "boolean" },
        { name: "settle", type: "string" },
        { name: "rescan", type: "string" },
        { name: "verbose", short: "v", type: "boolean" },
      ],
    },
    io,
  );
  if (!ctx) return EXIT_OK;
  const v = ctx.values;
  const [source, dest] = ctx.positionals as [string | undefined, string | undefined];
  const fail = (msg: string): never => {
    throw new UsageError(msg, SYNC_USAGE);
  };
  const maxDelete = intOption(v["max-delete"], "--max-delete", SYNC_USAGE);
  const apply = v.apply as string | undefined;
  const watch = v.watch === true;
  const seconds = (flag: string, min: number): number | undefined => {
    const raw = v[flag];
    if (raw === undefined) return undefined;
    if (!watch) fail(`--${flag} needs --watch`);
    const n = Number(raw);
    if (typeof raw !== "string" || raw.trim() === "" || !Number.isFinite(n) || n < min || (min > 0 && n === 0)) {
      fail(`--${flag} expects a number of seconds${min > 0 ? " > 0" : " ≥ 0"}, got ${JSON.stringify(raw)}`);
    }
    return n * 1000;
  };
  const settle = seconds("settle", 0);
  const rescan = seconds("rescan", 0.001);
  if (watch) {
    const bad = (["apply", "dry-run", "plan"] as const).filter((k) => v[k] !== undefined && v[k] !== false);
    if (bad.length) fail(`--watch cannot be combined with ${bad.map((k) => `--${k}`).join(", ")}`);
  }
  if (apply !== undefined) {
    if (source !== undefined || dest !== undefined) fail("--apply executes a saved plan: do not give SOURCE or DEST");
    const bad = (
      [
        "delete",
        "ignore-times",
        "ignore-sizes",
        "plan",
        "dry-run",
        "include",
        "exclude",
        "filter-from",
        "existing",
        "ignore-existing",
      ] as const
    ).filter((k) => v[k] !== undefined && v[k] !== false);
    if (bad.length) fail(`--apply cannot be combined with ${bad.map((k) => `--${k}`).join(", ")}`);
  } else {
    if (source === undefined || dest === undefined) fail("SOURCE and DEST are both required (unless --apply FILE is given)");
    const sRemote = isBucketUri(source!);
    const dRemote = isBucketUri(dest!);
    if (sRemote && dRemote)
      fail("remote to remote sync is not supported: one path must be a local directory (use `xet-buckets cp` between buckets)");
    if (!sRemote && !dRemote) fail("one of SOURCE or DEST must be a bucket path (hf://buckets/namespace/bucket_name[/prefix])");
    for (const p of [source!, dest!])
      if (isBucketUri(p) && !p.startsWith("hf://buckets/"))
        fail(`"${p}" is not a bucket path: expected hf://buckets/namespace/bucket_name[/prefix]`);
    if (v["ignore-times"] && v["ignore-sizes"]) fail("cannot specify both --ignore-times and --ignore-sizes");
    if (v.existing && v["ignore-existing"]) fail("cannot specify both --existing and --ignore-existing");
    if (v["dry-run"] && v.plan !== undefined) fail("cannot specify both --dry-run and --plan");
  }

  const out = ctx.out;
  const verbose = !!v.verbose;
  const dryRun = !!v["dry-run"];
  const planFile = v.plan as string | undefined;
  const bar = new ProgressLine(io, ctx.progress && !dryRun && planFile === undefined, "Syncing");
  let total: number | undefined;
  let downloadFiles: number | undefined;
  const onEvent = (e: SyncEvent) => {
    if (watch) return watchLine(out, e, settle ?? DEFAULT_SETTLE_MS);
    switch (e.type) {
      case "plan":
        total = e.summary.total_size;
        downloadFiles = e.summary.downloads;
        if (!dryRun && planFile === undefined && !out.json) {
          printSummary(out, source ?? "(plan)", dest ?? apply ?? "", e.summary);
          if (e.summary.uploads + e.summary.downloads + e.summary.deletes > 0) out.text("Syncing...");
        }
        break;
      case "upload":
        bar.upload(e.event);
        break;
      case "download":
        bar.download(e.progress, total, downloadFiles);
        break;
      case "warning":
        bar.clear();
        out.warning(e.message);
        break;
      case "delete":
        break;
    }
  };
  // A one-shot sync's Hub and CAS requests go through Node's light HTTP client where that is the route (no
  // proxy): fetch's HTTP client is never warmed up for them (≈ 0.1 s of CPU per run), and xorb bodies are written
  // to the socket piece by piece. (Requests it does not take itself, such as a DELETE, still go through fetch.)
  const options: SyncOptions = {
    ...ctx.hub,
    ...(!watch && rangeFetch() ? { fetch: rangeFetch(false) } : {}),
    delete: v.delete === true ? true : undefined,
    ignoreTimes: v["ignore-times"] ? true : undefined,
    ignoreSizes: v["ignore-sizes"] ? true : undefined,
    existing: v.existing ? true : undefined,
    ignoreExisting: v["ignore-existing"] ? true : undefined,
    include: v.include as string[] | undefined,
    exclude: v.exclude as string[] | undefined,
    filterFrom: v["filter-from"] as string | undefined,
    dryRun: dryRun || undefined,
    plan: planFile,
    apply,
    force: v.force ? true : undefined,
    maxDelete,
    resumeDir: resumeDirOption(v["resume-dir"], io),
    fsync: v.fsync ? true : undefined,
    watch: watch || undefined,
    settle,
    rescanInterval: rescan,
    onEvent,
  };
  if (apply !== undefined && !out.json) {
    // Like hf: the saved plan's summary, then "Executing plan..." (an unreadable file fails in syncBucket).
    const text = await readFile(apply, "utf8").catch(() => undefined);
    let plan;
    try {
      plan = text === undefined ? undefined : parsePlan(text);
    } catch {
      plan = undefined;
    }
    if (plan) {
      printSummary(out, plan.source, plan.dest, summarize(plan));
      out.text("Executing plan...");
    }
  }
  let result: SyncResult;
  try {
    result = await syncBucket(source, dest, options);
  } catch (err) {
    bar.clear();
    // Some files failed on their own, the others were synced: the summary below says which, exit code 1.
    if (!(err instanceof TransferError)) throw err;
    result = err.result as SyncResult;
  }
  if (result.executed) {
    const up = result.upload;
    bar.done(
      bar.enabled && up && up.files > 0
        ? `Uploaded ${formatSize(up.logicalBytes)}: ${formatSize(up.newBytes)} new, ${formatSize(up.dedupLocalBytes + up.dedupGlobalBytes)} deduplicated, ${formatSize(up.bytesSent)} sent`
        : undefined,
    );
  } else bar.clear();

  if (dryRun) {
    io.stdout.write(result.planText.endsWith("\n") || result.planText === "" ? result.planText : result.planText + "\n");
    return result.problems.length ? EXIT_FAILURE : EXIT_OK;
  }

  const s = result.summary;
  if (verbose && !out.json) {
    const dir = result.plan.dest.startsWith("hf://") ? "Uploading" : "Downloading";
    for (const op of result.plan.operations) {
      const verb = op.action === "skip" ? "Skipping" : op.action === "delete" ? "Deleting" : dir;
      out.text(`  ${verb}: ${op.path} (${op.reason})`);
    }
  }
  if (out.json) {
    const up = result.upload;
    out.print(
      JSON.stringify({
        source: result.plan.source,
        dest: result.plan.dest,
        summary: s,
        executed: result.executed,
        ...(planFile !== undefined ? { plan_file: planFile } : {}),
        uploaded: up?.files ?? 0,
        downloaded: result.downloaded,
        deleted: result.deleted,
        ...(up ? { new_bytes: up.newBytes, deduplicated_bytes: up.dedupLocalBytes + up.dedupGlobalBytes, sent_bytes: up.bytesSent } : {}),
        warnings: result.warnings,
        problems: result.problems,
        failed: result.failed.map(({ path, code, error }) => ({ path, code, error })),
      }),
    );
  } else if (planFile !== undefined) {
    printSummary(out, result.plan.source, result.plan.dest, s);
    out.text(`Plan saved to: ${planFile}`);
    out.hint(`Run \`xet-buckets sync --apply ${planFile}\` to execute this plan.`);
  } else if (s.uploads + s.downloads + s.deletes === 0) {
    out.text("Nothing to sync.");
  } else if (result.failed.length > 0) {
    const verb = result.plan.dest.startsWith("hf://") ? "uploaded" : "downloaded";
    out.text(`Sync completed with ${result.failed.length} failed file(s); the others were ${verb}:`);
    for (const f of result.failed) out.text(`  ${printable(f.path)}: ${printable(f.error)} [${f.code}]`);
    out.hint("Run the same sync again to transfer only what is missing.");
  } else {
    out.text("Sync completed.");
  }
  if (result.problems.length) {
    out.warning(
      `${result.problems.length} local entr${result.problems.length === 1 ? "y" : "ies"} could not be read; see the warnings above`,
    );
    return EXIT_FAILURE;
  }
  return result.failed.length ? EXIT_FAILURE : EXIT_OK;
}

/**
 * `--watch` output, one line per event: transfers on stdout (human: "uploaded PATH (SIZE)"; agent: key=value;
 * json: one object per line; quiet: the path), the rest on stderr.
 */
function watchLine(out: Output, e: SyncEvent, settleMs: number): void {
  switch (e.type) {
    case "watching": {
      const what =
        e.direction === "upload"
          ? `uploading files once unchanged for ${settleMs / 1000} s + 1 s per GiB${e.how === "rescan" ? "; no file events here: rescanning" : ""}`
          : e.how === "polling"
            ? "the server has no events feed: listing the bucket periodically"
            : "following the bucket's live changes";
      if (out.json) out.print(JSON.stringify({ event: "watching", direction: e.direction, source: e.source, dest: e.dest, how: e.how }));
      else out.log(`Watching ${printable(e.source)} -> ${printable(e.dest)} (${what}). Press Ctrl-C to stop.`);
      break;
    }
    case "transferred": {
      const verb = e.action === "upload" ? "uploaded" : e.action === "download" ? "downloaded" : "deleted";
      if (out.json) out.print(JSON.stringify({ event: verb, path: e.path, ...(e.size !== undefined ? { size: e.size } : {}) }));
      else if (out.quiet) out.print(printable(e.path));
      else if (out.mode === "agent") out.print(`${verb} path=${printable(e.path)}${e.size !== undefined ? ` size=${e.size}` : ""}`);
      else out.print(`${verb} ${printable(e.path)}${e.size !== undefined ? ` (${formatSize(e.size)})` : ""}`);
      break;
    }
    case "unsettled":
      if (out.json) out.print(JSON.stringify({ event: "unsettled", path: e.path }));
      else out.log(`${printable(e.path)} changed while it was uploaded: not registered; it goes again once it settles`);
      break;
    case "relist":
      if (out.json) out.print(JSON.stringify({ event: "relist", reason: e.reason }));
      else out.log(`Listing the bucket again (${printable(e.reason)})`);
      break;
    case "warning":
      out.warning(e.message);
      break;
    default:
      break; // byte progress of each transfer: the per-file lines say when it is done
  }
}
