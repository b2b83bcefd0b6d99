/**
 * One deduplicating upload of files to a CAS, for buckets (api/upload.ts) and repositories (api/repo-commit.ts)
 * alike: the persistent dedup cache (`cache`), the second attempt when the cache named xorbs the CAS no longer
 * has, and (buckets) files that fail alone.
 */
import { isArrayBuffer, isUint8Array } from "../buffers.js";
import { DedupCacheStaleError, fileFailure, InvalidArgumentError, type FileFailure } from "../errors.js";
import type { HttpOptions } from "../http.js";
import type { XetTokenProvider } from "../hub/xet-token.js";
import { defaultDedupCache, defaultWorkers } from "#platform";
import type { DedupCacheStore } from "../dedup-cache-store.js";
import { localFilesFor } from "../sources.js";
import { DedupCache } from "../xet/dedup-cache.js";
import { CasClient } from "../xet/cas.js";
import { MemoryResumeState, UploadResume } from "../xet/resume.js";
import { UploadPipeline, type DedupReport, type UploadProgressEvent } from "../xet/upload.js";
import { blamedItem, isSourceFailure, type UploadItem } from "../xet/upload-sources.js";
import type { UploadOptions } from "./upload-options.js";

/** The options of an upload run: those of `uploadFiles` (the cache, global dedup, warnings, tuning). */
export type UploadRunOptions = UploadOptions;

/**
 * Uploads `items` through the pipeline to the CAS of `casOf.tokens` (a bucket's or a repository's write token);
 * returns the report and the files that failed on their own. With `isolate`, a file whose source fails (gone,
 * unreadable, changed while it was uploaded) does not fail the others: the upload runs again without it,
 * sending only what the failed attempt did not store (its stored xorbs are confirmed with `HEAD` and skipped),
 * as long as every other source can be read again (streams cannot: the error is thrown). Otherwise, and for a
 * lone file, the failure is thrown as it is.
 */
export async function uploadItems(
  casOf: { tokens: XetTokenProvider; http: HttpOptions; sessionId: string },
  items: UploadItem[],
  params: UploadRunOptions,
  emit: (ev: UploadProgressEvent) => void,
  resume: UploadResume | undefined,
  { isolate }: { isolate: boolean },
): Promise<{ report: DedupReport; failed: FileFailure[] }> {
  const { tokens } = casOf;
  const cas = new CasClient(tokens, casOf.http, casOf.sessionId);
  // Fail fast (bad token, missing bucket or repository) before reading anything.
  await tokens.get(params.abortSignal);
  const warn = params.onWarning ?? ((m: string) => console.warn(`xet-buckets: ${m}`));
  // Without global dedup, dedup stays within this call: no cache either.
  const cacheStore = params.globalDedup === false ? undefined : dedupCacheStore(params.cache);
  const cache = cacheStore && (await DedupCache.open(cacheStore, (await tokens.get(params.abortSignal)).casUrl, warn));
  let remaining = items;
  const failed: FileFailure[] = [];
  /** What the failed attempts sent. */
  const sent = { bytes: 0, xorbs: 0 };
  let stored = new Set<string>();
  let posted = new Set<string>();
  let learn: Uint8Array[] | undefined;
  let staleRetried = false;
  let current = resume;
  try {
    for (;;) {
      const sizes = remaining.map((i) => i.size);
      const pipeline = await UploadPipeline.create(cas, {
        tuning: { ...params, workers: params.workers ?? workersFromHubOption(params.useWebWorkers) },
        abortSignal: params.abortSignal,
        onEvent: emit,
        totalBytes: sizes.every((s) => s !== undefined) ? sizes.reduce((a: number, b) => a + b!, 0) : undefined,
        fileCount: remaining.length,
        resume: current,
        cache,
        learn,
      });
      try {
        await pipeline.addFiles(remaining);
        const report = await pipeline.finish();
        return { report: { ...report, bytesSent: report.bytesSent + sent.bytes, xorbs: report.xorbs + sent.xorbs }, failed };
      } catch (err) {
        if (params.abortSignal?.aborted) throw err;
        // The cache named xorbs the CAS no longer has (their entries are gone now). Sources that can be read
        // again are uploaded once more, learning what the first attempt stored: only what is missing is sent.
        // Streams cannot be read again: the error says to run the upload again.
        if (err instanceof DedupCacheStaleError && !staleRetried && remaining.every(canReadAgain)) {
          warn(`${err.message.split(";")[0]}: their cache entries were removed; uploading again what they held`);
          staleRetried = true;
          learn = err.learn;
          sent.bytes += err.sent.bytes;
          sent.xorbs += err.sent.xorbs;
          continue;
        }
        const item = blamedItem(err);
        if (!isolate || !item || items.length === 1 || !isSourceFailure(err) || !remaining.every(canReadAgain)) throw err;
        failed.push(fileFailure(item.path, err, localPathOf(item)));
        emit({ event: "fileProgress", path: item.path, progress: 0, state: "error", error: (err as Error).message });
        remaining = remaining.filter((i) => i !== item);
        sent.bytes += pipeline.bytesSent;
        sent.xorbs += pipeline.xorbsUploaded;
        if (remaining.length === 0) return { report: emptyReport(), failed };
        // The next attempt skips the xorbs this one got stored, or may have (confirmed with HEAD first).
        stored = new Set([...stored, ...pipeline.storedXorbs]);
        posted = new Set([...posted, ...pipeline.postedXorbs]);
        if (current && current !== resume) resume?.add(current);
        current = new UploadResume(new MemoryResumeState(resume?.state, stored, posted));
      } finally {
        await pipeline.close();
      }
    }
  } finally {
    if (current && current !== resume) resume?.add(current);
    await cache?.close();
    await resume?.close();
  }
}

/** The local path of an item read from a local file. */
function localPathOf(item: UploadItem): string | undefined {
  const src = item.source;
  return item.local && (typeof src === "string" || src instanceof URL) ? localFilesFor("local paths").toPath(src) : undefined;
}

/** The dedup cache the `cache` option designates (undefined: none). */
function dedupCacheStore(option: UploadOptions["cache"]): DedupCacheStore | undefined {
  if (option === false) return undefined;
  if (option === undefined) return defaultDedupCache();
  if (typeof option === "string") {
    if (option === "") throw new InvalidArgumentError("cache must be a directory path, a DedupCacheStore or false");
    return localFilesFor("the cache option (a directory)").dedupCache(option);
  }
  if (!option || typeof option.open !== "function")
    throw new InvalidArgumentError("cache must be a directory path, a DedupCacheStore or false");
  return option;
}

/** Sources a second attempt can read again: local files, Blobs, byte arrays (not streams or iterables). */
function canReadAgain(item: UploadItem): boolean {
  const s = item.source;
  return !!item.local || (typeof Blob !== "undefined" && s instanceof Blob) || isUint8Array(s) || isArrayBuffer(s);
}

/** `workers` from @huggingface/hub's `useWebWorkers` (undefined: this runtime's default). */
export function workersFromHubOption(o: UploadOptions["useWebWorkers"]): number | undefined {
  if (!o) return undefined;
  if (o === true) return Math.max(2, defaultWorkers());
  return o.poolSize ?? Math.max(2, defaultWorkers());
}

export function emptyReport(): DedupReport {
  return {
    files: 0,
    logicalBytes: 0,
    newBytes: 0,
    bytesSent: 0,
    dedupLocalBytes: 0,
    dedupGlobalBytes: 0,
    chunks: 0,
    xorbs: 0,
    xorbsAlreadyStored: 0,
    shards: 0,
    shardBytes: 0,
    dedupQueries: 0,
    dedupQueryHits: 0,
    dedupQueryFailures: 0,
    dedupCacheHits: 0,
    dedupCacheEntriesWritten: 0,
    perFile: [],
  };
}
