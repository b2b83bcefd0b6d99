/**
 * What an upload reports: the per-file results and the `DedupReport`, and the progress events, with the
 * stage that emits them (`UploadProgress`: counters of bytes read, files hashed and stored, throttled
 * `bytes` events).
 */
import type { SessionStats } from "../../core/index.js";

/** What one file of an upload became. */
export interface FileUploadReport {
  /** Destination path in the bucket. */
  path: string;
  /** Xet file hash (file id) registered for the path. */
  xetHash: string;
  /** The file's size in bytes. */
  size: number;
  /** Content-defined chunks the file was cut into. */
  chunks: number;
  /** Bytes of this file stored as new chunks (raw, before compression). */
  newBytes: number;
  /** Bytes of this file found earlier in the same call. */
  dedupLocalBytes: number;
  /** Bytes of this file the CAS already had (global dedup). */
  dedupGlobalBytes: number;
  /** mtime sent with the registration (ms since the epoch). */
  mtime: number;
  /** MIME type registered with the file, when known. */
  contentType?: string;
}

/**
 * The dedup report every upload returns. Byte counts are raw (uncompressed) file bytes except `bytesSent`
 * and `shardBytes`, which count what went on the wire.
 */
export interface DedupReport {
  /** Files uploaded (registered). */
  files: number;
  /** Sum of the files' sizes. */
  logicalBytes: number;
  /** Bytes stored as new chunks (raw). `newBytes + dedupLocalBytes + dedupGlobalBytes = logicalBytes`. */
  newBytes: number;
  /** Serialized (compressed) xorb bytes uploaded: the data that went on the wire. */
  bytesSent: number;
  /** Bytes deduplicated against earlier bytes of the same call. */
  dedupLocalBytes: number;
  /** Bytes deduplicated against data the CAS already stored (global dedup). */
  dedupGlobalBytes: number;
  /** Chunks in all files. */
  chunks: number;
  /** Xorbs uploaded. */
  xorbs: number;
  /** Of those, xorbs the CAS already had (answered `was_inserted: false`). */
  xorbsAlreadyStored: number;
  /** Upload shards registered. */
  shards: number;
  /** Bytes of those shards. */
  shardBytes: number;
  /** Global dedup queries sent (for a file's first chunk and the 1 in 1024 chunks the protocol makes eligible). */
  dedupQueries: number;
  /** Of those, queries answered with a shard of stored xorbs (a hit). */
  dedupQueryHits: number;
  /** Of those, queries that failed (treated as misses: the data is sent). */
  dedupQueryFailures: number;
  /** Queries and probes answered from the persistent dedup cache (xet/dedup-cache.ts) instead of the CAS. */
  dedupCacheHits: number;
  /** Entries this upload added to the persistent dedup cache. */
  dedupCacheEntriesWritten: number;
  /** Per file, in upload order. */
  perFile: FileUploadReport[];
}

/** Phases of an upload, in order. `uploadingShards` is ours (registering the data with the CAS). */
export type UploadPhase = "preuploading" | "uploadingLargeFiles" | "uploadingShards" | "committing";

/** An upload entered a phase. */
export interface PhaseEvent {
  /** The event's kind. */
  event: "phase";
  /** The phase entered. */
  phase: UploadPhase;
}

/**
 * Per-file progress, in @huggingface/hub's shape plus byte fields. `state: "hashing"`: the file is being
 * read, chunked, hashed and deduplicated, `progress` = share of its bytes processed. `state: "uploading"`
 * with `progress: 1`: its new data is stored on the CAS (registration follows at the end of the call).
 * `state: "error"`: the bucket refused to register it (`error` says why).
 */
export interface FileProgressEvent {
  /** The event's kind. */
  event: "fileProgress";
  /** The file's path in the bucket. */
  path: string;
  /** Share done in the current state, 0 to 1. */
  progress: number;
  /** Where the file is: being read and hashed, its data stored, or refused. */
  state: "hashing" | "uploading" | "error";
  /** Bytes of this file processed so far. */
  processed?: number;
  /** The file's size, when known. */
  size?: number;
  /** With `state: "error"`: why the bucket refused the file. */
  error?: string;
}

/**
 * Byte counters for the whole call (never folded into one percentage). `processed` moves as data is read;
 * `dedupLocal + dedupGlobal + newBytes` trail it by the bytes awaiting dedup answers; `sent` moves toward
 * `toSend` as xorb bodies go out (below the xorb in Node).
 */
export interface BytesEvent {
  /** The event's kind. */
  event: "bytes";
  /** Bytes read and processed. */
  processed: number;
  /** Sum of the sizes, when every size is known. */
  total?: number;
  /** Bytes found earlier in the same call (raw). */
  dedupLocal: number;
  /** Bytes the CAS already stored (raw). */
  dedupGlobal: number;
  /** Raw bytes of new chunks. */
  newBytes: number;
  /** Serialized xorb bytes handed to the network (retries do not count twice). */
  sent: number;
  /** Serialized bytes of the xorbs produced so far. */
  toSend: number;
  /** Files whose data is stored. */
  filesDone: number;
  /** Files in the call. */
  files: number;
}

/** An event of `uploadFilesWithProgress`, `commitIter` and the upload worker's `onProgress`. */
export type UploadProgressEvent = PhaseEvent | FileProgressEvent | BytesEvent;

/** The counters of the other stages a `bytes` event shows, read when one is emitted. */
export interface ByteCounters {
  /** The session's, or undefined once it is closed. */
  stats: SessionStats | undefined;
  sent: number;
  toSend: number;
}

/** A hashed file whose data is not stored yet. */
interface WaitingFile {
  report: FileUploadReport;
  /** Every xorb with an index ≤ this must be uploaded before the file's data is stored (-1: none). */
  needXorb: number;
}

/** `bytes` events are emitted at most this often, unless forced (a file or a xorb done). */
const BYTES_EVENT_MS = 50;

/**
 * The progress stage: the files of the call in upload order, which of them are stored, the bytes read, and
 * the events (called synchronously: the sink must be cheap).
 */
export class UploadProgress {
  readonly #emit: (ev: UploadProgressEvent) => void;
  readonly #counters: () => ByteCounters;
  readonly #totalBytes: number | undefined;
  readonly #fileCount: number;
  #processed = 0;
  readonly #files: FileUploadReport[] = [];
  #waiting: WaitingFile[] = [];
  #filesDone = 0;
  #lastBytesEmit = 0;

  constructor(
    emit: ((ev: UploadProgressEvent) => void) | undefined,
    counters: () => ByteCounters,
    totalBytes: number | undefined,
    fileCount: number,
  ) {
    this.#emit = emit ?? (() => undefined);
    this.#counters = counters;
    this.#totalBytes = totalBytes;
    this.#fileCount = fileCount;
  }

  /** Every file hashed so far, in upload order. */
  get files(): readonly FileUploadReport[] {
    return this.#files;
  }

  phase(phase: UploadPhase): void {
    this.#emit({ event: "phase", phase });
  }

  /** `processed` raw bytes of the file at `path` are hashed (of `size`, when known). */
  hashing(path: string, processed: number, size: number | undefined): void {
    this.#emit({ event: "fileProgress", path, progress: size ? Math.min(1, processed / size) : 0, state: "hashing", processed, size });
  }

  /** Raw bytes went into the session. */
  read(raw: number): void {
    this.#processed += raw;
  }

  /**
   * A file is hashed and deduplicated: it joins the report, and it is stored once every xorb up to
   * `needXorb` is (-1: it has no new data).
   */
  hashed(report: FileUploadReport, needXorb: number, storedBelow: number): void {
    this.#files.push(report);
    this.#emit({ event: "fileProgress", path: report.path, progress: 1, state: "hashing", processed: report.size, size: report.size });
    this.#waiting.push({ report, needXorb });
    this.stored(storedBelow);
    this.bytes(true);
  }

  /** Every xorb with an index below `storedBelow` is stored: the files that needed no others are too. */
  stored(storedBelow: number): void {
    while (this.#waiting.length > 0 && this.#waiting[0]!.needXorb < storedBelow) {
      const f = this.#waiting.shift()!;
      this.#filesDone++;
      this.#emit({
        event: "fileProgress",
        path: f.report.path,
        progress: 1,
        state: "uploading",
        processed: f.report.size,
        size: f.report.size,
      });
    }
  }

  /** A `bytes` event, unless one went out less than 50 ms ago and `force` is false. */
  bytes(force: boolean): void {
    const now = Date.now();
    if (!force && now - this.#lastBytesEmit < BYTES_EVENT_MS) return;
    this.#lastBytesEmit = now;
    const { stats: st, sent, toSend } = this.#counters();
    const ev: BytesEvent = {
      event: "bytes",
      processed: this.#processed,
      dedupLocal: st?.dedupLocalBytes ?? 0,
      dedupGlobal: st?.dedupGlobalBytes ?? 0,
      newBytes: st?.newBytes ?? 0,
      sent,
      toSend,
      filesDone: this.#filesDone,
      files: this.#fileCount,
    };
    if (this.#totalBytes !== undefined) ev.total = this.#totalBytes;
    this.#emit(ev);
  }
}
