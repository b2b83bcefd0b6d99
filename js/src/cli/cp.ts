/**
 * `xet-buckets cp SRC [DST]`, as `hf buckets cp`: local file or stdin → bucket, bucket → local file or
 * stdout, bucket → bucket (server-side, files and folders).
 */
import { stat } from "node:fs/promises";
import { basename, join, resolve } from "node:path";
import { downloadBucketFiles, downloadFile } from "../api/download.js";
import { commitIter, type CommitResult } from "../api/upload.js";
import { EntryNotFoundError } from "../errors.js";
import { BucketFileSystem } from "../fs/index.js";
import { COMMON_HELP, bucketArg, isBucketUri, resumeDirOption, setup, type Context } from "./common.js";
import { formatSize } from "./output.js";
import { ProgressLine } from "./progress.js";
import { EXIT_OK, UsageError, type CommandIo } from "./util.js";

const CP_USAGE = `Usage: xet-buckets cp [OPTIONS] SRC [DST]

  Copy files between local paths and buckets.

  Handles uploads (local/stdin -> bucket), downloads (bucket -> local/stdout) and remote-to-remote
  copies (bucket -> bucket, server-side: no data is transferred). Local-to-local copies are not
  supported. For local directories, use \`xet-buckets sync\`.

  Bucket to bucket: a file is copied to DST (into DST when DST is an existing folder, ends with "/"
  or is a bucket root). A folder is copied recursively: without a trailing "/" on SRC it is nested
  inside an existing DST folder (like cp -r); with a trailing "/" its contents go directly into DST
  (like rsync). Upload: a DST ending in "/" (or a bucket root) appends the source's file name.
  Download: DST may be a file path or a directory (default: the file name in the current directory).

Arguments:
  SRC    Source: local file, hf://buckets/namespace/bucket_name/path, or - for stdin.
  [DST]  Destination: local path, hf://buckets/namespace/bucket_name/path, or - for stdout.

Options:
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
  $ xet-buckets cp hf://buckets/username/source-bucket/logs/ hf://buckets/username/dest-bucket/logs/`;

function checkBucketSide(arg: string): void {
  if (isBucketUri(arg) && !arg.startsWith("hf://buckets/")) {
    throw new UsageError(
      `\`xet-buckets cp\` only works with buckets (hf://buckets/...), got "${arg}". Use \`hf cp\` for model, dataset and space repositories.`,
      CP_USAGE,
    );
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
      ],
    },
    io,
  );
  if (!ctx) return EXIT_OK;
  const [src, dst] = ctx.positionals as [string, string | undefined];
  checkBucketSide(src);
  if (dst !== undefined) checkBucketSide(dst);
  const srcRemote = isBucketUri(src);
  const dstRemote = dst !== undefined && isBucketUri(dst);

  if (srcRemote && dstRemote) return copyRemote(ctx, src, dst!);
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
  const ref = bucketArg(dst, CP_USAGE, { what: "DST" });
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
      repo: `buckets/${ref.id}`,
      operations: [{ operation: "addOrUpdate", path: remotePath, content }],
      resumeDir: resumeDirOption(ctx.values["resume-dir"], ctx.io),
      onWarning: (m) => ctx.out.warning(m),
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
    dst: `hf://buckets/${ref.id}/${remotePath}`,
    size: result.logicalBytes,
    new_bytes: result.newBytes,
    deduplicated_bytes: result.dedupLocalBytes + result.dedupGlobalBytes,
    sent_bytes: result.bytesSent,
  });
  return EXIT_OK;
}
