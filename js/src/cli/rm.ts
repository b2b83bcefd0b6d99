/** `xet-buckets remove | rm`, as `hf buckets remove`: one file, or every file under a prefix (-R) with filters. */
import { deleteFiles, listFiles } from "../api/files.js";
import { FilterMatcher } from "../sync/filters.js";
import { COMMON_HELP, bucketArg, confirm, setup } from "./common.js";
import { formatSize } from "./output.js";
import { EXIT_FAILURE, EXIT_OK, UsageError, type CommandIo } from "./util.js";

const RM_USAGE = `Usage: xet-buckets remove [OPTIONS] ARGUMENT
       xet-buckets rm [OPTIONS] ARGUMENT

  Remove files from a bucket.

  To delete an entire bucket, use \`xet-buckets delete\` instead. Asks for confirmation on a terminal;
  without a terminal, -y/--yes (or --dry-run) is required, otherwise the command refuses with exit
  code 2 and removes nothing.

Arguments:
  ARGUMENT  Bucket path: namespace/bucket_name/path or hf://buckets/namespace/bucket_name/path.
            With --recursive, namespace/bucket_name is also accepted to target all files.

Options:
  -R, --recursive  Remove files recursively under the given prefix.
  -y, --yes        Skip confirmation prompt.
  --dry-run        Preview what would be deleted without actually deleting.
  --include TEXT   Include only files matching pattern (can specify multiple). Requires --recursive.
  --exclude TEXT   Exclude files matching pattern (can specify multiple). Requires --recursive.
  -h, --help       Show this message and exit.

  Patterns are fnmatch globs matched against the whole path in the bucket ("*" also matches "/");
  an --exclude match wins over an --include match.

${COMMON_HELP}

Examples
  $ xet-buckets remove user/my-bucket/file.txt
  $ xet-buckets rm hf://buckets/user/my-bucket/file.txt
  $ xet-buckets rm user/my-bucket/logs/ --recursive
  $ xet-buckets rm user/my-bucket --recursive --include "*.tmp"
  $ xet-buckets rm user/my-bucket/data/ --recursive --dry-run`;

export async function runRm(argv: string[], io: CommandIo): Promise<number> {
  const ctx = setup(
    argv,
    {
      name: "rm",
      usage: RM_USAGE,
      positionals: ["ARGUMENT"],
      options: [
        { name: "recursive", short: "R", type: "boolean" },
        { name: "yes", short: "y", type: "boolean" },
        { name: "dry-run", type: "boolean" },
        { name: "include", type: "string", multiple: true },
        { name: "exclude", type: "string", multiple: true },
      ],
    },
    io,
  );
  if (!ctx) return EXIT_OK;
  const arg = ctx.positionals[0]!;
  const ref = bucketArg(arg, RM_USAGE);
  const recursive = !!ctx.values.recursive;
  const yes = !!ctx.values.yes;
  const dryRun = !!ctx.values["dry-run"];
  const include = ctx.values.include as string[] | undefined;
  const exclude = ctx.values.exclude as string[] | undefined;
  const out = ctx.out;

  if (ref.path === "" && !recursive) {
    throw new UsageError(
      `no file path specified. To remove files, provide a path (e.g. '${ref.id}/FILE') or use --recursive to remove all files. To delete the entire bucket, use \`xet-buckets delete ${ref.id}\`.`,
      RM_USAGE,
    );
  }
  if ((include || exclude) && !recursive) throw new UsageError("--include and --exclude require --recursive", RM_USAGE);
  if (!recursive && arg.endsWith("/"))
    throw new UsageError(`"${arg}" is a folder path: add --recursive to remove the files below it`, RM_USAGE);

  if (!recursive) {
    if (dryRun) {
      if (out.json) out.print(JSON.stringify({ dry_run: true, bucket_id: ref.id, files: [ref.path] }));
      else if (out.quiet) out.print(ref.path);
      else {
        out.text(`delete: hf://buckets/${ref.id}/${ref.path}`);
        out.text("(dry run) 1 file would be removed.");
      }
      return EXIT_OK;
    }
    if (!(await confirm(ctx, `Remove '${ref.path}' from '${ref.id}'?`, yes))) {
      out.log("Aborted.");
      return EXIT_FAILURE;
    }
    await deleteFiles({ ...ctx.hub, repo: `buckets/${ref.id}`, paths: [ref.path] });
    out.result("File removed", { path: ref.path, bucket_id: ref.id });
    return EXIT_OK;
  }

  const files: { path: string; size: number }[] = [];
  for await (const e of listFiles({ ...ctx.hub, repo: `buckets/${ref.id}`, path: ref.path, recursive: true })) {
    if (e.type === "file") files.push({ path: e.path, size: e.size });
  }
  files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const matcher = include || exclude ? new FilterMatcher({ include, exclude }) : undefined;
  const matched = matcher ? files.filter((f) => matcher.matches(f.path)) : files;
  const paths = matched.map((f) => f.path);
  const total = matched.reduce((a, f) => a + f.size, 0);
  if (paths.length === 0) {
    if (out.json)
      out.print(JSON.stringify({ bucket_id: ref.id, files_deleted: 0, size: 0, ...(dryRun ? { dry_run: true, files: [] } : {}) }));
    else out.text("No files to remove.");
    return EXIT_OK;
  }
  const label = `${paths.length} file(s) totaling ${formatSize(total)}`;
  if (dryRun) {
    if (out.json) out.print(JSON.stringify({ dry_run: true, bucket_id: ref.id, files: paths, size: total }));
    else if (out.quiet) for (const p of paths) out.print(p);
    else {
      for (const p of paths) out.text(`delete: hf://buckets/${ref.id}/${p}`);
      out.text(`(dry run) ${label} would be removed.`);
    }
    return EXIT_OK;
  }
  if (!yes) {
    if (!ctx.io.stdin.isTTY) await confirm(ctx, `Remove ${label} from '${ref.id}'?`, false); // refuses
    out.text(paths.map((p) => `  ${p}`).join("\n"));
    if (!(await confirm(ctx, `Remove ${label} from '${ref.id}'?`, false))) {
      out.log("Aborted.");
      return EXIT_FAILURE;
    }
  }
  await deleteFiles({ ...ctx.hub, repo: `buckets/${ref.id}`, paths });
  out.result(`Removed ${label} from '${ref.id}'`, { bucket_id: ref.id, files_deleted: paths.length, size: total });
  return EXIT_OK;
}
