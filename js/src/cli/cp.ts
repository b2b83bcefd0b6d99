/**
 * `xet-buckets cp SRC [DST]`, as `hf buckets cp`: local file or stdin → bucket, bucket → local file or
 * stdout, bucket → bucket (server-side, files and folders); and with model, dataset and space repositories:
 * repository → bucket (import: server-side by Xet hash), bucket or repository → repository (promote: one
 * commit, `--commit-message`), local file or stdin → repository (a commit).
 */
import { stat } from "node:fs/promises";
import { basename, join, resolve } from "node:path";
import { downloadBucketFiles, downloadFile } from "../api/download.js";
import { copyFilesIter, listFiles, pathsInfo, type CopyFilesEntry } from "../api/files.js";
import { commitIter, type CommitResult } from "../api/upload.js";
import { EntryNotFoundError } from "../errors.js";
import { BucketFileSystem } from "../fs/index.js";
import { parseRepo, repoLabel, type RepoRef } from "../repo.js";
import { COMMON_HELP, bucketArg, isBucketUri, resumeDirOption, setup, type Context } from "./common.js";
import { formatSize } from "./output.js";
import { ProgressLine } from "./progress.js";
import { EXIT_OK, UsageError, type CommandIo } from "./util.js";

const CP_USAGE = `Usage: xet-buckets cp [OPTIONS] SRC [DST]

  Copy files between local paths, buckets and model, dataset or space repositories.

  Handles uploads (local/stdin -> bucket or repository), downloads (bucket -> local/stdout) and
  remote-to-remote copies: bucket -> bucket and repository -> bucket are server-side (files keep their
  Xet hash, no data is transferred; small non-Xet repository files are downloaded and uploaded);
  bucket or repository -> repository makes one commit whose files keep their bytes, sending only what the
  store lacks. Local-to-local copies are not supported. For local directories, use \`xet-buckets sync\`.

  Remote to remote: a file is copied to DST (into DST when DST is an existing folder, ends with "/"
  or is a bucket or repository root). A folder is copied recursively: without a trailing "/" on SRC it
  is nested inside an existing DST folder (like cp -r); with a trailing "/" its contents go directly into
  DST (like rsync). Upload: a DST ending in "/" (or a root) appends the source's file name.
  Download: DST may be a file path or a directory (default: the file name in the current directory).

Arguments:
  SRC    Source: local file, hf://buckets/namespace/bucket_name/path, a repository
         (hf://models/namespace/name/path, hf://datasets/..., hf://spaces/..., hf://namespace/name/path for a
         model; @revision after the name), or - for stdin.
  [DST]  Destination: local path, hf://buckets/namespace/bucket_name/path, a repository (as SRC, without
         @revision), or - for stdout.

Options:
  -m, --commit-message MSG   Into a repository: the commit's title (default "Copy N files ..." or
                             "Upload N files ...").
  --commit-description TEXT  Into a repository: the commit's description.
  --resume-dir DIR  Upload: keep resume state in DIR (default: $XET_BUCKETS_RESUME_DIR). An upload that was
                    interrupted, run again, does not send again the data the server already stored.
  --fsync           Download: flush the file to disk before it replaces the target (survives a power loss;
                    slower). The file is replaced atomically either way.
  -h, --help        Show this message and exit.

${COMMON_HELP}

Examples
  $ xet-buckets cp hf://buckets/username/my-bucket/config.json config.json
  $ xet-buckets cp hf://buckets/username/my-bucket/data.csv data/
  $ xet-buckets cp hf://buckets/username/my-bucket/config.json -
  $ xet-buckets cp model.safetensors hf://buckets/username/my-bucket/model.safetensors
  $ xet-buckets cp config.json hf://buckets/username/my-bucket/logs/
  $ xet-buckets cp - hf://buckets/username/my-bucket/config.json
  $ xet-buckets cp hf://buckets/username/my-bucket/data.csv hf://buckets/username/dest-bucket/
  $ xet-buckets cp hf://buckets/username/source-bucket/logs/ hf://buckets/username/dest-bucket/logs/
  $ xet-buckets cp hf://models/username/my-model/model.safetensors hf://buckets/username/my-bucket/
  $ xet-buckets cp hf://buckets/username/my-bucket/run-1/final/ hf://models/username/my-model/ -m "Release"
  $ xet-buckets cp hf://buckets/username/my-bucket/shards hf://datasets/username/my-dataset/data/`;

type Side = { kind: "local" } | { kind: "bucket" } | { kind: "repo"; repo: RepoRef };

function sideOf(arg: string): Side {
  if (!isBucketUri(arg)) return { kind: "local" };
  if (arg.startsWith("hf://buckets/")) return { kind: "bucket" };
  try {
    return { kind: "repo", repo: parseRepo(arg) };
  } catch (err) {
    throw new UsageError((err as Error).message, CP_USAGE);
  }
}

export async function runCp(argv: string[], io: CommandIo): Promise<number> {
  const ctx = setup(
    argv,
    {
      name: "cp",
      usage: CP_USAGE,
      positionals: ["SRC", "DST?"],
      options: [
        { name: "resume-dir", type: "string" },
        { name: "fsync", type: "boolean" },
        { name: "commit-message", short: "m", type: "string" },
        { name: "commit-description", type: "string" },
      ],
    },
    io,
  );
  if (!ctx) return EXIT_OK;
  const [src, dst] = ctx.positionals as [string, string | undefined];
  const srcSide = sideOf(src);
  const dstSide: Side = dst === undefined ? { kind: "local" } : sideOf(dst);
  const srcRemote = srcSide.kind !== "local";
  const dstRemote = dstSide.kind !== "local";
  if (dstSide.kind === "repo" && dstSide.repo.revision !== undefined) {
    throw new UsageError(`a destination repository takes no @revision (commits go to main): ${dst}`, CP_USAGE);
  }
  if (dstSide.kind !== "repo" && (ctx.values["commit-message"] !== undefined || ctx.values["commit-description"] !== undefined)) {
    throw new UsageError("--commit-message and --commit-description apply to a repository destination only", CP_USAGE);
  }

  if (srcSide.kind === "bucket" && dstSide.kind === "bucket") return copyRemote(ctx, src, dst!);
  if (srcRemote && dstRemote) return copyWithRepos(ctx, src, dst!, srcSide, dstSide);
  if (srcSide.kind === "repo") {
    throw new UsageError(
      `downloading from a repository is not what \`xet-buckets cp\` does: copy ${src} into a bucket, or use \`hf download\``,
      CP_USAGE,
    );
  }
  if (!srcRemote && !dstRemote) {
    if (dst === undefined) throw new UsageError("missing destination: give a bucket URI (hf://buckets/...) as DST", CP_USAGE);
    throw new UsageError("one of SRC or DST must be a bucket URI (hf://buckets/namespace/bucket_name/...)", CP_USAGE);
  }
  if (srcRemote) return download(ctx, src, dst);
  return upload(ctx, src, dst!);
}

async function copyRemote(ctx: Context, src: string, dst: string): Promise<number> {
  bucketArg(src, CP_USAGE, { what: "SRC" });
  bucketArg(dst, CP_USAGE, { what: "DST" });
  const fs = new BucketFileSystem(ctx.hub);
  const copied = await fs.cp(src, dst);
  const size = copied.reduce((a, c) => a + c.size, 0);
  ctx.out.result("Copied", { src, dst, files: copied.length, size });
  return EXIT_OK;
}

/** Lists every file of `repo` (a bucket or repository designation) at or below `path`, recursively. */
async function walk(
  ctx: Context,
  repo: string | { type: string; name: string },
  path: string,
  revision?: string,
): Promise<{ path: string; size: number }[]> {
  const out: { path: string; size: number }[] = [];
  try {
    for await (const e of listFiles({ ...ctx.hub, repo, path, recursive: true, revision })) {
      if (e.type === "file" && (path === "" || e.path.startsWith(`${path}/`))) out.push({ path: e.path, size: e.size });
    }
  } catch (err) {
    // A repository answers a missing folder with 404 EntryNotFound: nothing there.
    if (!(err instanceof EntryNotFoundError)) throw err;
  }
  return out;
}

/** huggingface_hub's `_resolve_copy_target_path`: where a source file lands under the cp rules. */
function copyTarget(
  srcFile: string,
  srcRoot: string | null,
  single: boolean,
  dstPath: string,
  dstIsDir: boolean,
  dstExistsAsDir: boolean,
  mergeContents: boolean,
): string {
  const base = srcFile.slice(srcFile.lastIndexOf("/") + 1);
  if (single) {
    if (dstPath === "") return base;
    return dstIsDir ? `${dstPath}/${base}` : dstPath;
  }
  let rel = srcRoot === null ? srcFile : srcFile.startsWith(`${srcRoot}/`) ? srcFile.slice(srcRoot.length + 1) : base;
  if (dstExistsAsDir && srcRoot !== null && !mergeContents) rel = `${srcRoot.slice(srcRoot.lastIndexOf("/") + 1)}/${rel}`;
  return dstPath === "" ? rel : `${dstPath}/${rel}`;
}

/**
 * Remote to remote with a repository on either side: the cp rules decide each target path, then one
 * `copyFiles` call copies them (server-side into a bucket, one commit into a repository).
 */
async function copyWithRepos(ctx: Context, src: string, dst: string, s: Side, d: Side): Promise<number> {
  const source =
    s.kind === "repo"
      ? { designation: { type: s.repo.type, name: s.repo.id }, path: s.repo.path, revision: s.repo.revision, label: repoLabel(s.repo) }
      : (() => {
          const b = bucketArg(src, CP_USAGE, { what: "SRC" });
          return { designation: `buckets/${b.id}`, path: b.path, revision: undefined, label: `buckets/${b.id}` };
        })();
  const dest =
    d.kind === "repo"
      ? { designation: { type: d.repo.type, name: d.repo.id }, path: d.repo.path, label: repoLabel(d.repo) }
      : (() => {
          const b = bucketArg(dst, CP_USAGE, { what: "DST" });
          return { designation: `buckets/${b.id}`, path: b.path, label: `buckets/${b.id}` };
        })();
  // What the destination path is: an existing file, an existing folder, or new (a folder when it ends with "/").
  let dstIsDir = dest.path === "";
  let dstExistsAsDir = dest.path === "";
  if (dest.path !== "") {
    const info = await pathsInfo({ ...ctx.hub, repo: dest.designation, paths: [dest.path] });
    if (!info.some((e) => e.type === "file" && e.path === dest.path)) {
      // Repositories name folders in paths-info; buckets do not (a listing tells).
      dstExistsAsDir =
        info.some((e) => e.type === "directory") || (d.kind === "bucket" && (await walk(ctx, dest.designation, dest.path)).length > 0);
      dstIsDir = dstExistsAsDir || dst.endsWith("/");
    }
  }
  const mergeContents = src.endsWith("/");
  const files: CopyFilesEntry[] = [];
  let size = 0;
  const single =
    source.path === ""
      ? undefined
      : (await pathsInfo({ ...ctx.hub, repo: source.designation, paths: [source.path], revision: source.revision })).find(
          (e) => e.type === "file" && e.path === source.path,
        );
  const add = (path: string, bytes: number, target: string) => {
    files.push({ source: { repo: source.designation, path, revision: source.revision }, destinationPath: target });
    size += bytes;
  };
  if (single) add(single.path, single.size, copyTarget(single.path, null, true, dest.path, dstIsDir, dstExistsAsDir, mergeContents));
  else {
    for (const f of await walk(ctx, source.designation, source.path, source.revision)) {
      // Git metadata stays in repositories (huggingface_hub skips it too).
      if (d.kind === "bucket" && s.kind === "repo" && f.path.split("/").pop() === ".gitattributes") continue;
      add(f.path, f.size, copyTarget(f.path, source.path || null, false, dest.path, dstIsDir, dstExistsAsDir, mergeContents));
    }
  }
  if (files.length === 0) {
    throw new EntryNotFoundError("ENTRY_NOT_FOUND", `no files found at "${src}" in ${source.label}`, {
      statusCode: 404,
      url: src,
      serverCode: "EntryNotFound",
    });
  }
  const bar = new ProgressLine(ctx.io, ctx.progress, d.kind === "repo" ? "Promoting" : "Copying");
  let result: CommitResult | undefined;
  try {
    const it = copyFilesIter({
      ...ctx.hub,
      destination: dest.designation,
      files,
      commitTitle: ctx.values["commit-message"] as string | undefined,
      commitDescription: ctx.values["commit-description"] as string | undefined,
    });
    for (;;) {
      const r = await it.next();
      if (r.done) {
        result = r.value;
        break;
      }
      if (r.value.event !== "fileDownloaded") bar.upload(r.value);
    }
    bar.done();
  } catch (err) {
    bar.clear();
    throw err;
  }
  const out: Record<string, unknown> = { src, dst, files: files.length, size };
  if (d.kind === "repo") {
    out.commit = result?.commit?.oid ?? null;
    out.unchanged = result?.unchanged?.length ?? 0;
    out.new_bytes = result?.newBytes ?? 0;
    out.sent_bytes = result?.bytesSent ?? 0;
  }
  ctx.out.result(d.kind === "repo" ? (result?.commit ? "Committed" : "Unchanged") : "Copied", out);
  return EXIT_OK;
}

async function download(ctx: Context, src: string, dst: string | undefined): Promise<number> {
  const ref = bucketArg(src, CP_USAGE, { what: "SRC" });
  if (ref.path === "" || src.endsWith("/")) {
    throw new UsageError(
      "source path must include a file name, not just a bucket or folder path. Use `xet-buckets sync` to copy folders to a local directory.",
      CP_USAGE,
    );
  }
  const filename = ref.path.slice(ref.path.lastIndexOf("/") + 1);
  const cwd = ctx.io.cwd ?? process.cwd();

  if (dst === "-") {
    const blob = await downloadFile({ ...ctx.hub, repo: `buckets/${ref.id}`, path: ref.path });
    if (!blob) {
      throw new EntryNotFoundError("ENTRY_NOT_FOUND", `file not found: "${ref.path}" in bucket ${ref.id}`, {
        statusCode: 404,
        url: `${ctx.hub.hubUrl}/buckets/${ref.id}/resolve/${ref.path}`,
        serverCode: "EntryNotFound",
      });
    }
    await pipeToStdout(ctx.io, blob.stream());
    return EXIT_OK;
  }

  let local: string;
  if (dst === undefined) local = resolve(cwd, filename);
  else {
    const target = resolve(cwd, dst);
    const isDir = await stat(target).then(
      (s) => s.isDirectory(),
      () => false,
    );
    local = isDir || dst.endsWith("/") ? join(target, filename) : target;
  }
  const bar = new ProgressLine(ctx.io, ctx.progress, "Downloading");
  let total: number | undefined;
  try {
    const r = await downloadBucketFiles(ref.id, [[ref.path, local]], {
      ...ctx.hub,
      raiseOnMissingFiles: true,
      fsync: ctx.values.fsync ? true : undefined,
      onProgress: (p) => {
        total ??= p.totalBytes;
        bar.download(p, total, 1);
      },
      onWarning: (m) => ctx.out.warning(m),
    });
    bar.done();
    const size = r.downloaded[0]?.size ?? 0;
    ctx.out.result("Downloaded", { src, dst: local, size });
  } catch (err) {
    bar.clear();
    throw err;
  }
  return EXIT_OK;
}

/** Writes a stream to stdout with backpressure; a closed pipe (EPIPE, e.g. `| head`) ends quietly. */
async function pipeToStdout(io: CommandIo, stream: ReadableStream<Uint8Array>): Promise<void> {
  const reader = stream.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      const ok = await new Promise<boolean>((res, rej) => {
        io.stdout.write(value, (err) => {
          if (!err) res(true);
          else if ((err as NodeJS.ErrnoException).code === "EPIPE") res(false);
          else rej(err);
        });
      });
      if (!ok) {
        await reader.cancel();
        return;
      }
    }
  } finally {
    reader.releaseLock();
  }
}

async function upload(ctx: Context, src: string, dst: string): Promise<number> {
  const side = sideOf(dst);
  const ref =
    side.kind === "repo"
      ? {
          id: side.repo.id,
          path: side.repo.path,
          designation: `hf://${side.repo.type}s/${side.repo.id}`,
          label: `hf://${side.repo.type}s/${side.repo.id}`,
        }
      : (() => {
          const b = bucketArg(dst, CP_USAGE, { what: "DST" });
          return { id: b.id, path: b.path, designation: `buckets/${b.id}`, label: `hf://buckets/${b.id}` };
        })();
  const dirLike = ref.path === "" || dst.endsWith("/");
  let remotePath: string;
  let content: string | AsyncIterable<Uint8Array>;
  let shownSrc: string;
  if (src === "-") {
    if (dirLike) throw new UsageError("stdin upload requires a full destination path including the file name", CP_USAGE);
    remotePath = ref.path;
    content = ctx.io.stdin;
    shownSrc = "stdin";
  } else {
    const local = resolve(ctx.io.cwd ?? process.cwd(), src);
    const st = await stat(local).catch(() => undefined);
    if (st?.isDirectory()) {
      throw new UsageError(`source must be a file, not a directory: ${src}. Use \`xet-buckets sync\` for directories.`, CP_USAGE);
    }
    if (!st?.isFile()) throw new UsageError(`source file not found: ${src}`, CP_USAGE);
    remotePath = dirLike ? (ref.path ? `${ref.path}/${basename(local)}` : basename(local)) : ref.path;
    content = local;
    shownSrc = src;
  }
  const bar = new ProgressLine(ctx.io, ctx.progress, "Uploading");
  let result: CommitResult;
  try {
    const it = commitIter({
      ...ctx.hub,
      repo: ref.designation,
      operations: [{ operation: "addOrUpdate", path: remotePath, content }],
      resumeDir: resumeDirOption(ctx.values["resume-dir"], ctx.io),
      onWarning: (m) => ctx.out.warning(m),
      commitTitle: ctx.values["commit-message"] as string | undefined,
      commitDescription: ctx.values["commit-description"] as string | undefined,
    });
    for (;;) {
      const r = await it.next();
      if (r.done) {
        result = r.value;
        break;
      }
      bar.upload(r.value);
    }
    bar.done(
      bar.enabled
        ? `Uploaded ${formatSize(result.logicalBytes)}: ${formatSize(result.newBytes)} new, ${formatSize(result.dedupLocalBytes + result.dedupGlobalBytes)} deduplicated, ${formatSize(result.bytesSent)} sent`
        : undefined,
    );
  } catch (err) {
    bar.clear();
    throw err;
  }
  ctx.out.result("Uploaded", {
    src: shownSrc,
    dst: `${ref.label}/${remotePath}`,
    ...(side.kind === "repo" ? { commit: result.commit?.oid ?? null } : {}),
    size: result.logicalBytes,
    new_bytes: result.newBytes,
    deduplicated_bytes: result.dedupLocalBytes + result.dedupGlobalBytes,
    sent_bytes: result.bytesSent,
  });
  return EXIT_OK;
}
