/**
 * One commit to a model, dataset or space repository (what `uploadFiles` / `commit` do for repositories, and
 * what `copyFiles` / `copyFolder` do to promote bucket files into one):
 *
 *   1. the Xet write token (write access is checked first: without it nothing is read), then preupload: each
 *      file's size and first 512 bytes go to the Hub, which answers `lfs` or `regular` and the oid the path
 *      holds now;
 *   2. LFS files go through the deduplicating upload (api/upload-run.ts: the pipeline of xet/upload.ts and the
 *      persistent dedup cache, as for buckets) with the repository's Xet write token, each source read once: the SHA-256 the commit names the file by is computed on the same read
 *      (the shard carries it, as hf_xet's do). Only chunks the CAS lacks are sent: a file already in the
 *      store (a bucket file being promoted) costs a shard;
 *   3. regular files are read whole (they are small) and go inline;
 *   4. one commit with every line; files whose content equals what the path holds are left out (as
 *      huggingface_hub does), and nothing is committed when nothing changed.
 *
 * A failure before the commit request (a missing or unreadable source, no write access, an abort) commits
 * nothing; the Hub applies a commit whole or not at all.
 */
import { asBytes } from "../buffers.js";
import { InvalidArgumentError } from "../errors.js";
import { toHex } from "../hex.js";
import { postCommit, preupload, type CommitInfo, type CommitLine, type PreuploadFile, type UploadMode } from "../hub/commit.js";
import type { HubContext } from "../hub/context.js";
import { PREUPLOAD_SAMPLE_BYTES, repoXetTokenPath } from "../hub/repos.js";
import { XetTokenProvider } from "../hub/xet-token.js";
import { checkBucketPath, type RepoRef } from "../repo.js";
import { newSha256 } from "../sha256.js";
import { localFilesFor, isLocalPath, readSource, type ContentSource } from "../sources.js";
import type { HttpOptions } from "../http.js";
import { newSessionId } from "../xet/cas.js";
import type { UploadResume } from "../xet/resume.js";
import type { DedupReport, UploadProgressEvent } from "../xet/upload.js";
import type { UploadItem } from "../xet/upload-sources.js";
import { emptyReport, uploadItems, type UploadRunOptions } from "./upload-run.js";

/** Files above this size are LFS files whatever their content (the Hub's limit for regular files). */
export const REGULAR_FILE_MAX_BYTES = 10 * 1024 * 1024;
/** Sources of unknown size are read this far ahead to tell a small file (maybe regular) from a large one. */
const PEEK_BYTES = 1024 * 1024;

export interface RepoCommitRequest {
  repo: RepoRef;
  /** The branch the commit goes to (default main). */
  branch?: string;
  title: string;
  description?: string;
  /** The commit the change is based on: the Hub refuses it when the branch moved since. */
  parentCommit?: string;
  /** Files to write; `path` is the full path in the repository. */
  adds: RepoAdd[];
  /** Files to delete. */
  deletes: string[];
}

/** A file to write: an upload item, and for a source that is not cheap to sample, how to read its first bytes. */
export type RepoAdd = UploadItem & {
  /** The first bytes (≥ 512, or the whole file when smaller), e.g. a ranged read of a remote file. */
  sample?: (signal?: AbortSignal) => Promise<Uint8Array>;
};

export interface RepoCommitOptions extends UploadRunOptions {
  resume?: UploadResume;
}

export interface RepoCommitOutcome {
  /** The Xet part (LFS files): dedup and transfer figures; `perFile` lists every LFS file. */
  report: DedupReport;
  /** The commit, or undefined when nothing changed (no commit was made). */
  commit: CommitInfo | undefined;
  /** Paths written by the commit. */
  written: string[];
  /** Paths left out because the repository already holds the same content there. */
  unchanged: string[];
  /** Files deleted by the commit. */
  deleted: number;
  /** The SHA-256 of each LFS file written or unchanged, by path. */
  sha256: Map<string, string>;
}

type Emit = (ev: UploadProgressEvent) => void;

interface Pending {
  item: UploadItem;
  size: number | undefined;
  sample: Uint8Array | undefined;
  /** The whole content, when it was read while sampling. */
  whole: Uint8Array | undefined;
}

/** Commits `req` (see the module comment). */
export async function commitToRepo(
  ctx: HubContext,
  req: RepoCommitRequest,
  options: RepoCommitOptions,
  emit: Emit,
): Promise<RepoCommitOutcome> {
  const branch = req.branch ?? "main";
  const signal = options.abortSignal;
  const r = req.repo;
  const seen = new Set<string>();
  for (const it of req.adds) {
    if (seen.has(it.path)) throw new InvalidArgumentError(`the destination path "${it.path}" is given twice in one commit`);
    seen.add(it.path);
  }
  for (const d of req.deletes) checkBucketPath(d, "path to delete");
  signal?.throwIfAborted();
  emit({ event: "phase", phase: "preuploading" });
  // The write token first: without write access, fail before reading anything.
  const sessionId = newSessionId();
  const tokens = new XetTokenProvider(ctx, undefined, "write", { sessionId, url: repoXetTokenPath(r, "write", branch) });
  if (req.adds.length > 0) await tokens.get(signal);

  // 1. Sizes and samples, then the upload mode of each file.
  const pending: Pending[] = [];
  for (const item of req.adds) pending.push(await sampleOf(item, signal));
  const sized = pending.filter((p) => p.size !== undefined);
  const modes = await preupload(
    ctx,
    r,
    sized.map((p): PreuploadFile => ({ path: p.item.path, size: p.size!, sample: p.sample ?? new Uint8Array(0) })),
    { branch, signal },
  );
  // Empty files are regular whatever the Hub says (as huggingface_hub: LFS cannot store them).
  const modeOf = (p: Pending): UploadMode => {
    const m = modes.get(p.item.path) ?? { mode: "lfs", remoteOid: undefined };
    return p.size === 0 ? { ...m, mode: "regular" } : m;
  };

  // 2. LFS files: one read each, through the pipeline, hashed on the way.
  const lfs = pending.filter((p) => modeOf(p).mode === "lfs");
  const digests = new Map<string, string>();
  let report = emptyReport();
  if (lfs.length > 0) {
    emit({ event: "phase", phase: "uploadingLargeFiles" });
    const items: UploadItem[] = [];
    for (const p of lfs) items.push(await hashedItem(p, signal, (d) => digests.set(p.item.path, d)));
    report = await uploadLfs({ tokens, http: ctx.http, sessionId }, items, options, emit);
  }
  signal?.throwIfAborted();

  // 3. Regular files: read whole, inline.
  const lines: CommitLine[] = [];
  const written: string[] = [];
  const unchanged: string[] = [];
  for (const p of pending) {
    const mode = modeOf(p);
    if (mode.mode === "lfs") {
      const sha256 = digests.get(p.item.path)!;
      const size = report.perFile.find((f) => f.path === p.item.path)?.size ?? p.size ?? 0;
      if (mode.remoteOid === sha256) unchanged.push(p.item.path);
      else {
        lines.push({ kind: "lfsFile", path: p.item.path, sha256, size });
        written.push(p.item.path);
      }
      continue;
    }
    const content = p.whole ?? (await readWhole(p.item.source, p.size, signal));
    if (mode.remoteOid !== undefined && mode.remoteOid === (await gitBlobOid(content))) unchanged.push(p.item.path);
    else {
      lines.push({ kind: "file", path: p.item.path, content });
      written.push(p.item.path);
    }
  }
  for (const path of req.deletes) lines.push({ kind: "deletedFile", path });

  // 4. The commit.
  signal?.throwIfAborted();
  emit({ event: "phase", phase: "committing" });
  const commit =
    lines.length === 0
      ? undefined
      : await postCommit(ctx, r, { summary: req.title, description: req.description, parentCommit: req.parentCommit }, lines, {
          branch,
          signal,
        });
  await options.resume?.registered();
  return { report, commit, written, unchanged, deleted: req.deletes.length, sha256: digests };
}

/**
 * Size and first bytes of a source: read directly where that is cheap (bytes, Blobs, local files, the item's
 * own `sample`), the whole file for a small stream of known size, a peek otherwise.
 */
async function sampleOf(add: RepoAdd, signal?: AbortSignal): Promise<Pending> {
  const { sample: sampler, ...item } = add;
  const src = item.source;
  const bytes = asBytes(src);
  if (bytes) {
    return { item, size: bytes.length, sample: bytes.subarray(0, PREUPLOAD_SAMPLE_BYTES), whole: bytes };
  }
  if (item.size !== undefined && item.size > REGULAR_FILE_MAX_BYTES) {
    // Its size alone makes it an LFS file: no need to read anything yet.
    return { item, size: item.size, sample: undefined, whole: undefined };
  }
  if (sampler && item.size !== undefined) {
    return { item, size: item.size, sample: (await sampler(signal)).subarray(0, PREUPLOAD_SAMPLE_BYTES), whole: undefined };
  }
  if (item.size !== undefined && !(typeof Blob !== "undefined" && src instanceof Blob) && !isLocalPath(src)) {
    const whole = await readWhole(src, item.size, signal);
    return { item: { ...item, source: whole }, size: whole.length, sample: whole.subarray(0, PREUPLOAD_SAMPLE_BYTES), whole };
  }
  if (typeof Blob !== "undefined" && src instanceof Blob) {
    return { item, size: src.size, sample: new Uint8Array(await src.slice(0, PREUPLOAD_SAMPLE_BYTES).arrayBuffer()), whole: undefined };
  }
  if (isLocalPath(src) && item.size !== undefined) {
    const fh = await localFilesFor("local paths and file: URLs").open(src);
    try {
      const sample = new Uint8Array(Math.min(PREUPLOAD_SAMPLE_BYTES, item.size));
      let got = 0;
      while (got < sample.length) {
        const n = await fh.read(sample.subarray(got), got);
        if (n === 0) break;
        got += n;
      }
      return { item, size: item.size, sample: sample.subarray(0, got), whole: undefined };
    } finally {
      await fh.close();
    }
  }
  // A stream: read ahead up to PEEK_BYTES. A source that ends there is small and known whole; a longer one is
  // an LFS file, read on by the upload from where the peek stopped.
  const it = readSource(src, { blockBytes: PEEK_BYTES, abortSignal: signal })[Symbol.asyncIterator]();
  const head: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const r = await it.next();
    if (r.done) {
      const whole = concat(head, total);
      return {
        item: { ...item, source: whole, size: total, local: false },
        size: total,
        sample: whole.subarray(0, PREUPLOAD_SAMPLE_BYTES),
        whole,
      };
    }
    head.push(r.value.slice());
    total += r.value.length;
    if (total > PEEK_BYTES) break;
  }
  const rest: AsyncIterable<Uint8Array> = {
    async *[Symbol.asyncIterator]() {
      yield* head;
      for (;;) {
        const r = await it.next();
        if (r.done) return;
        yield r.value;
      }
    },
  };
  return { item: { ...item, source: rest, size: undefined, local: false }, size: undefined, sample: undefined, whole: undefined };
}

/** The item read through a SHA-256 hasher: `done` gets the digest once the upload has read every byte. */
async function hashedItem(p: Pending, signal: AbortSignal | undefined, done: (hex: string) => void): Promise<UploadItem> {
  const hasher = await newSha256();
  let digest: string | undefined;
  const finish = (): string => {
    if (digest === undefined) {
      digest = hasher.digest();
      done(digest);
    }
    return digest;
  };
  const source: ContentSource = p.whole ?? p.item.source;
  const hashed: AsyncIterable<Uint8Array> = {
    async *[Symbol.asyncIterator]() {
      for await (const block of readSource(source, { abortSignal: signal })) {
        hasher.update(block);
        yield block;
      }
      finish();
    },
  };
  return { ...p.item, source: hashed, local: false, size: p.size ?? p.item.size, sha256: finish };
}

/**
 * The LFS files through one deduplicating upload with the repository's Xet write token (upload-run.ts: the
 * persistent dedup cache as for buckets; a file that fails fails the commit).
 */
function uploadLfs(
  cas: { tokens: XetTokenProvider; http: HttpOptions; sessionId: string },
  items: UploadItem[],
  options: RepoCommitOptions,
  emit: Emit,
): Promise<DedupReport> {
  return uploadItems(cas, items, options, emit, options.resume, { isolate: false }).then((r) => r.report);
}

async function readWhole(source: ContentSource, size: number | undefined, signal?: AbortSignal): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  let total = 0;
  for await (const block of readSource(source, { abortSignal: signal })) {
    parts.push(block.slice());
    total += block.length;
    if (total > REGULAR_FILE_MAX_BYTES * 2) {
      throw new InvalidArgumentError(
        `a regular (non-LFS) file is larger than ${REGULAR_FILE_MAX_BYTES * 2} bytes; the Hub should have asked for LFS`,
      );
    }
  }
  if (size !== undefined && total !== size) {
    throw new InvalidArgumentError(`expected ${size} bytes, read ${total}: the source changed while it was committed — retry`);
  }
  return concat(parts, total);
}

function concat(parts: Uint8Array[], total: number): Uint8Array {
  if (parts.length === 1) return parts[0]!;
  const out = new Uint8Array(total);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

/** Git's blob id: SHA-1 of `blob <size>\0<content>`. */
async function gitBlobOid(content: Uint8Array): Promise<string> {
  const head = new TextEncoder().encode(`blob ${content.length}\0`);
  const digest = await crypto.subtle.digest("SHA-1", concat([head, content], head.length + content.length) as Uint8Array<ArrayBuffer>);
  return toHex(new Uint8Array(digest));
}
