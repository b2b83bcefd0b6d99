/**
 * Xet file hashes (file ids) of many files, or of large ones, on every core: the files are cut into segments
 * that the chunking workers chunk and hash in parallel (boundaries and chunk hashes only, no records;
 * xet/prepared-files.ts keeps the boundaries those of one sequential pass), and the merkle tree of each file
 * is built on this thread from its chunk hashes in order. The result equals `xetHash` of each file.
 *
 * Memory: the workers (`workers × (2 × segment job + 8 MiB)`) and `maxSegments` segments in flight.
 */
import { FileHashBuilder, HASHES_ONLY, initCore } from "../core/index.js";
import { PreparedFiles } from "../xet/prepared-files.js";
import type { UploadItem } from "../xet/upload-sources.js";
import { acquireWorkerPool, defaultWorkers, InlinePreparer, type SegmentPreparer } from "./pool.js";
import type { ContentSource } from "../sources.js";

export interface HashFilesOptions {
  /** Chunking workers (default: the cores, at most 4, in Node; 0 elsewhere: this thread). */
  workers?: number;
  /** Bytes per segment (default 4 MiB). */
  segmentBytes?: number;
  abortSignal?: AbortSignal;
}

export interface FileHash {
  xetHash: string;
  size: number;
  chunks: number;
}

/**
 * The Xet file hash of each source, in order. Local paths (strings or `file:` URLs, Node) are read with
 * positional reads; other sources as streams.
 */
export async function xetHashFiles(sources: ContentSource[], options: HashFilesOptions = {}): Promise<FileHash[]> {
  await initCore();
  const workers = options.workers ?? defaultWorkers();
  const preparer: SegmentPreparer = workers > 0 ? await acquireWorkerPool(workers) : new InlinePreparer();
  const items: UploadItem[] = sources.map((source, i) => ({
    path: `file${i}`,
    source,
    local: typeof source === "string" || (source instanceof URL && source.protocol === "file:"),
    size: source instanceof Uint8Array ? source.length : undefined,
  }));
  const ctl = new AbortController();
  const onAbort = () => ctl.abort(options.abortSignal?.reason);
  options.abortSignal?.addEventListener("abort", onAbort, { once: true });
  const out: FileHash[] = [];
  try {
    const prepared = new PreparedFiles(items, {
      preparer,
      compression: HASHES_ONLY,
      segmentBytes: options.segmentBytes ?? 4 * 1024 * 1024,
      prerollBytes: 256 * 1024,
      overlapBytes: 256 * 1024,
      maxSegments: Math.max(2, 2 * workers),
      inlineBelow: workers > 0 ? 64 * 1024 : Number.MAX_SAFE_INTEGER,
      signal: ctl.signal,
    });
    let fh: FileHashBuilder | undefined;
    let chunks = 0;
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
        out.push({ xetHash: fh!.finish(), size: ev.size, chunks });
        fh = undefined;
      }
    }
  } finally {
    options.abortSignal?.removeEventListener("abort", onAbort);
    preparer.release();
  }
  return out;
}
