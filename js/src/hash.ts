/**
 * The Xet file hash (file id): `xetHash` of one content source, streamed through the core on this thread;
 * `xetHashFiles` of many files, or of large ones, on every core.
 *
 * `xetHashFiles`: local files (Node) go to the chunking workers whole where that keeps the cores evenly busy:
 * a worker reads each file into its core's memory and returns its file hash (small files several per task,
 * so a tree of small files costs this thread one message per task). A file larger than a segment goes whole
 * when it fits a worker's even share of the work (longest first); the others are cut into segments that the
 * workers chunk and hash in parallel (boundaries and chunk hashes only, no records; xet/prepared-files.ts
 * keeps the boundaries those of one sequential pass), and the merkle tree of each is built on this thread
 * from its chunk hashes in order. A whole file costs ≈ 10 % less CPU than a segmented one (no pre-roll, no
 * seams). The result equals `xetHash` of each file.
 *
 * Memory of `xetHashFiles`: the workers (`workers × (2 × segment job + 8 MiB)`) and `maxSegments` segments in
 * flight.
 */
import { defaultWorkers } from "#platform";
import { asBytes } from "./buffers.js";
import { InvalidArgumentError } from "./errors.js";
import { FileHashBuilder, HASHES_ONLY, initCore, rawToHex, XetHasher } from "./core/index.js";
import { acquireWorkerPool, InlinePreparer, WorkerPool, type SegmentPreparer } from "./pool/pool.js";
import { isLocalPath, localFilesFor, readSource, type ContentSource, type ReadOptions } from "./sources.js";
import { PreparedFiles } from "./xet/prepared-files.js";
import { SEGMENT_OVERLAP_BYTES, SEGMENT_PREROLL_BYTES } from "./xet/upload/tuning.js";
import type { UploadItem } from "./xet/upload-sources.js";

/**
 * Computes the Xet file hash (64 hex characters) of bytes, a Blob/File, a stream, an (async) iterable of
 * byte blocks or, in Node, a file path or `file:` URL — the same value hf_xet's `hash_files` gives and the
 * Hub shows as `xetHash`. Reads the source once, in bounded blocks.
 */
export async function xetHash(source: ContentSource, options: ReadOptions = {}): Promise<string> {
  await initCore();
  const hasher = new XetHasher();
  try {
    for await (const block of readSource(source, options)) hasher.update(block);
  } catch (err) {
    hasher.free();
    throw err;
  }
  return hasher.finish();
}

/** Options of `xetHashFiles`. */
export interface HashFilesOptions {
  /** Chunking workers (default: the cores, at most 4, in Node; 0 elsewhere: this thread). */
  workers?: number;
  /** Bytes per segment (default 4 MiB). */
  segmentBytes?: number;
  /** Stops hashing; the call rejects with the signal's reason. */
  abortSignal?: AbortSignal;
}

/** The hash of one file of `xetHashFiles`. */
export interface FileHash {
  /** The file's Xet hash (the Hub's `xetHash`, 64 hex digits; 64 zeros for an empty file). */
  xetHash: string;
  /** The file's size in bytes. */
  size: number;
  /** Content-defined chunks the file was cut into. */
  chunks: number;
}

/**
 * The Xet file hash of each source, in order. Local paths (strings or `file:` URLs, Node) are read with
 * positional reads; other sources as streams.
 */
export async function xetHashFiles(sources: ContentSource[], options: HashFilesOptions = {}): Promise<FileHash[]> {
  if (!Array.isArray(sources)) throw new InvalidArgumentError("xetHashFiles needs an array of sources");
  const workers = options.workers ?? defaultWorkers();
  if (!(Number.isInteger(workers) && workers >= 0 && workers <= 64))
    throw new InvalidArgumentError(`workers must be an integer from 0 to 64, got ${workers}`);
  const segmentBytes = options.segmentBytes ?? 4 * 1024 * 1024;
  const edge = Math.max(SEGMENT_PREROLL_BYTES, SEGMENT_OVERLAP_BYTES);
  if (!(Number.isInteger(segmentBytes) && segmentBytes > edge)) {
    throw new InvalidArgumentError(`segmentBytes must be an integer larger than ${edge} (the pre-roll and overlap), got ${segmentBytes}`);
  }
  await initCore();
  const preparer: SegmentPreparer = workers > 0 ? await acquireWorkerPool(workers) : new InlinePreparer();
  const ctl = new AbortController();
  const onAbort = () => ctl.abort(options.abortSignal?.reason);
  options.abortSignal?.addEventListener("abort", onAbort, { once: true });
  const out: FileHash[] = new Array(sources.length);
  try {
    // Local files go to workers that read them whole where that keeps the workers evenly busy (`wholeFiles`);
    // the others are cut into segments.
    const pool = preparer instanceof WorkerPool && preparer.readsFiles ? preparer : undefined;
    let whole = new Map<number, [string, number]>();
    if (pool) {
      // The workers start while the files are stat'ed.
      pool.warm();
      whole = wholeFiles(await localFileSizes(sources), segmentBytes, workers);
    }
    const rest = sources.flatMap((_, i) => (whole.has(i) ? [] : [i]));
    await Promise.all([
      pool && whole.size > 0 ? hashWhole(pool, whole, out, workers, ctl.signal) : undefined,
      hashSegmented(preparer, sources, rest, out, segmentBytes, workers, ctl.signal),
    ]);
  } catch (err) {
    ctl.abort(err);
    throw options.abortSignal?.aborted ? options.abortSignal.reason : err;
  } finally {
    options.abortSignal?.removeEventListener("abort", onAbort);
    preparer.release();
  }
  return out;
}

/** Local paths among `sources` (Node) that are regular files, with their sizes: index → [path, size]. */
async function localFileSizes(sources: ContentSource[]): Promise<Map<number, [string, number]>> {
  const found = new Map<number, [string, number]>();
  const idx = sources.flatMap((s, i) => (isLocalPath(s) ? [i] : []));
  if (idx.length === 0) return found;
  const files = localFilesFor("local paths");
  await Promise.all(
    idx.map(async (i) => {
      const path = files.toPath(sources[i] as string | URL);
      // A file that cannot be stat'ed takes the general path, which reports it.
      const st = await files.stat(path).catch(() => undefined);
      if (st?.isFile()) found.set(i, [path, st.size]);
    }),
  );
  return found;
}

/**
 * The local files to hash whole: every file no larger than a segment, and larger ones, longest first, while
 * the least loaded worker stays within an even share of all the bytes (plus a segment). Segments and small
 * files are handed out as workers free up, so they fill in around the whole files; a file that would
 * overload a worker is segmented instead (one file larger than the share always is).
 */
export function wholeFiles(files: Map<number, [string, number]>, segmentBytes: number, workers: number): Map<number, [string, number]> {
  const whole = new Map<number, [string, number]>();
  let total = 0;
  for (const [, size] of files.values()) total += size;
  const share = total / Math.max(1, workers) + segmentBytes;
  const loads = new Array<number>(Math.max(1, workers)).fill(0);
  const large = [...files].filter(([, [, size]]) => size > segmentBytes).sort((a, b) => b[1][1] - a[1][1] || a[0] - b[0]);
  for (const [i, f] of large) {
    const w = loads.indexOf(Math.min(...loads));
    if (loads[w]! + f[1] > share) continue;
    loads[w]! += f[1];
    whole.set(i, f);
  }
  for (const [i, f] of files) if (f[1] <= segmentBytes) whole.set(i, f);
  return whole;
}

/**
 * Hashes whole local files on the workers, a few tasks per worker at once: the files larger than 8 MiB one per
 * task, longest first, then the others in tasks of about 8 MiB or 64 files.
 */
async function hashWhole(
  pool: WorkerPool,
  files: Map<number, [string, number]>,
  out: FileHash[],
  workers: number,
  signal: AbortSignal,
): Promise<void> {
  const TASK_BYTES = 8 * 1024 * 1024;
  const order = [...files.keys()].sort((a, b) => a - b);
  const tasks: number[][] = order
    .filter((i) => files.get(i)![1] > TASK_BYTES)
    .sort((a, b) => files.get(b)![1] - files.get(a)![1])
    .map((i) => [i]);
  let task: number[] = [];
  let bytes = 0;
  for (const i of order.filter((i) => files.get(i)![1] <= TASK_BYTES)) {
    task.push(i);
    bytes += files.get(i)![1];
    if (bytes >= TASK_BYTES || task.length >= 64) {
      tasks.push(task);
      task = [];
      bytes = 0;
    }
  }
  if (task.length) tasks.push(task);
  let next = 0;
  const lane = async () => {
    while (next < tasks.length) {
      signal.throwIfAborted();
      const t = tasks[next++]!;
      // An abort settles the call at once; a worker finishes the file it is reading and its answer is dropped.
      const got = await abortable(
        pool.hashFiles(
          t.map((i) => files.get(i)![0]),
          t.map((i) => files.get(i)![1]),
        ),
        signal,
      );
      t.forEach((i, k) => (out[i] = { xetHash: rawToHex(got[k]!.hash), size: got[k]!.size, chunks: got[k]!.chunks }));
    }
  };
  await Promise.all(Array.from({ length: Math.min(tasks.length, 2 * Math.max(1, workers)) }, lane));
}

/** `p`, or the abort reason as soon as `signal` aborts. */
function abortable<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
  signal.throwIfAborted();
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    p.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
  });
}

/** Hashes `which` of `sources` through PreparedFiles (segments on the preparer, merkle trees here). */
async function hashSegmented(
  preparer: SegmentPreparer,
  sources: ContentSource[],
  which: number[],
  out: FileHash[],
  segmentBytes: number,
  workers: number,
  signal: AbortSignal,
): Promise<void> {
  if (which.length === 0) return;
  const items: UploadItem[] = which.map((i) => {
    const source = sources[i]!;
    return {
      path: `file${i}`,
      source,
      local: isLocalPath(source),
      size: asBytes(source)?.length,
    };
  });
  const prepared = new PreparedFiles(items, {
    preparer,
    compression: HASHES_ONLY,
    segmentBytes,
    prerollBytes: SEGMENT_PREROLL_BYTES,
    overlapBytes: SEGMENT_OVERLAP_BYTES,
    maxSegments: Math.max(2, 2 * workers),
    inlineBelow: workers > 0 ? 64 * 1024 : Number.MAX_SAFE_INTEGER,
    signal,
  });
  let fh: FileHashBuilder | undefined;
  let chunks = 0;
  let n = 0;
  for await (const ev of prepared) {
    if (ev.type === "start") {
      fh = new FileHashBuilder();
      chunks = 0;
    } else if (ev.type === "chunks") {
      const { segment: seg, from, to } = ev;
      const lengths = new Uint32Array(to - from);
      for (let i = from; i < to; i++) lengths[i - from] = seg.ends[i]! - seg.chunkStart(i);
      fh!.addChunks(seg.hashes.subarray(32 * from, 32 * to), lengths);
      chunks += to - from;
      preparer.recycle(seg.buffer);
    } else {
      out[which[n++]!] = { xetHash: fh!.finish(), size: ev.size, chunks };
      fh = undefined;
    }
  }
}
