/**
 * Every error this package throws is a `XetBucketsError` with a stable `code` (an `ErrorCode`), so callers can
 * branch on `err.code` (or `instanceof`) instead of parsing messages. Messages say what went wrong and what
 * to do. Errors of the platform or of libraries (fetch's TypeError, file-system errors, JSON's SyntaxError,
 * IndexedDB's DOMExceptions) are converted where they could escape, and kept as the `cause`.
 *
 * Two exceptions, both the caller's own:
 * - Abort: when the `abortSignal` the caller gave is aborted, the call rejects with the signal's `reason`
 *   (a DOMException "AbortError" for `controller.abort()`, or whatever was passed to `abort(reason)`), as
 *   `fetch` does. Leaving an upload's progress loop early aborts it the same way.
 * - Callbacks: an error thrown by a callback the caller passed (`onProgress`, `onEvent`, `onWarning`,
 *   `onRetry`, a custom `ResumeStore`) propagates unchanged. A custom `fetch` is the exception to the
 *   exception: its failures are network failures (`NetworkError`).
 */

/**
 * Every code a `XetBucketsError` can carry, with its meaning. Codes never change meaning between versions;
 * new ones may be added.
 */
export type ErrorCode =
  // Arguments and usage
  /** A bad argument: wrong type or value, contradictory options, an unsupported designation (`InvalidArgumentError`). */
  | "INVALID_ARGUMENT"
  /** Wrong command-line usage of the CLI: unknown option, missing argument (exit code 2). */
  | "USAGE"
  /** `xet-buckets serve` without the xet-buckets-hub package installed. */
  | "HUB_NOT_INSTALLED"
  // The WebAssembly core
  /** The WebAssembly core could not be fetched, read or compiled. */
  | "CORE_LOAD_FAILED"
  /** A core function was called before `initCore()`. */
  | "CORE_NOT_INITIALIZED"
  /** The core trapped (a bug in the core; the message says where). */
  | "CORE_PANIC"
  /** The core failed without saying how. */
  | "CORE_ERROR"
  /** A hash string is not 64 hexadecimal characters (`XetCoreError`). */
  | "INVALID_HEX"
  /** Xorb or shard bytes end before a structure they announce is complete (`XetCoreError`). */
  | "TRUNCATED"
  /** A xorb chunk record is malformed (`XetCoreError`). */
  | "BAD_RECORD"
  /** A compressed chunk cannot be decompressed (`XetCoreError`). */
  | "BAD_COMPRESSION"
  /** Data decodes to another length than announced (`XetCoreError`, or `IntegrityError` for a download). */
  | "LENGTH_MISMATCH"
  /** Data does not hash to its expected hash (`XetCoreError`, or `IntegrityError` for a download: nothing written). */
  | "HASH_MISMATCH"
  /** A shard is malformed (`XetCoreError`). */
  | "BAD_SHARD"
  /** A protocol limit (chunks per xorb, xorb or shard size) would be exceeded (`XetCoreError`). */
  | "LIMIT_EXCEEDED"
  /** An object was used at a time it does not allow (a core object after `finish`, a closed pipeline). */
  | "INVALID_STATE"
  /** An HTTP error status from the Hub or the CAS (`HubApiError`): see `HttpErrorCode`. */
  | HttpErrorCode
  // Transport and protocol
  /** The server could not be reached or the connection broke, after the retries (`NetworkError`). */
  | "NETWORK"
  /** No answer (or no body bytes) within the attempt timeout, after the retries (`NetworkError`). */
  | "TIMEOUT"
  /** A server answer that does not follow the protocol: malformed JSON, wrong lengths, bad pagination (`ProtocolError`). */
  | "PROTOCOL"
  /** Downloaded xorb data is corrupt (`IntegrityError`: nothing written). */
  | "CORRUPT_DATA"
  /** The server does not serve the live events feed of this bucket (`EventsUnavailableError`). */
  | "EVENTS_UNAVAILABLE"
  /** Some operations of a bucket batch failed; `failures` lists them (`BatchError`). */
  | "BATCH_FAILED"
  /**
   * Some files of a multi-file transfer failed, each for a reason of its own; the others completed (`TransferError`:
   * `failures` lists the failed files with their errors, `result` what was done).
   */
  | "FILES_FAILED"
  /** The CAS refused an upload's shard: nothing was registered. */
  | "SHARD_REJECTED"
  /**
   * The CAS refused an upload's shard because xorbs taken from the dedup cache are gone from it
   * (`DedupCacheStaleError`): their cache entries were removed; uploading again sends what is missing.
   */
  | "CACHE_STALE"
  // Local data
  /** A local file does not exist (`LocalFileError`). */
  | "FILE_NOT_FOUND"
  /** A local file, directory or browser storage (IndexedDB) operation failed (`LocalFileError` for files). */
  | "LOCAL_IO"
  /** The disk (or the user's quota) is full: a file could not be written; nothing partial was left (`LocalFileError`). */
  | "NO_SPACE"
  /** Content could not be read: a Blob, a stream or a local file read by a chunking worker. */
  | "READ_FAILED"
  /** A source changed (size or bytes) while it was read: retry the call. */
  | "SOURCE_CHANGED"
  /** A bucket folder was given where a file is needed. */
  | "IS_A_DIRECTORY"
  /** A sync refused by a guard: empty source with delete, `maxDelete` exceeded (`SyncRefusedError`). */
  | "SYNC_REFUSED"
  // Workers and lifecycle
  /** Workers were asked for where the runtime has none. */
  | "NO_WORKERS"
  /** A chunking worker failed or crashed. */
  | "CHUNKING_FAILED"
  /** The chunking worker pool was stopped while work was queued. */
  | "POOL_CLOSED"
  /** The browser upload worker failed to start or crashed. */
  | "WORKER_FAILED"
  /** The browser upload worker was terminated while uploads were pending. */
  | "WORKER_TERMINATED"
  /** An upload pipeline was closed while work was pending. */
  | "CLOSED"
  /** An internal invariant failed: a bug in xet-buckets (please report it with the message). */
  | "INTERNAL"
  // The local hub (package xet-buckets-hub)
  /** The hub's data directory is used by another running hub. */
  | "DATA_DIR_IN_USE"
  /** The local hub could not start (its port is in use, its database cannot be opened...): `cause` says why. */
  | "HUB_START_FAILED"
  /** The hub's data directory was written by a newer version. */
  | "DATA_DIR_TOO_NEW"
  /** The hub cannot load its SQLite driver (better-sqlite3). */
  | "MISSING_DEPENDENCY";

/** The codes of `HubApiError`: the Hub or the CAS answered with an error status (after the retries, for 429 and 5xx). */
export type HttpErrorCode =
  /** 401: the token is missing, wrong or expired. */
  | "UNAUTHORIZED"
  /** 403: the token may not do this. */
  | "FORBIDDEN"
  /** 404 without a more specific meaning (e.g. a file the CAS does not know). */
  | "NOT_FOUND"
  /** The bucket does not exist, or the token may not see it (`BucketNotFoundError`). */
  | "BUCKET_NOT_FOUND"
  /** The model, dataset or space repository does not exist, or the token may not see it (`RepoNotFoundError`). */
  | "REPO_NOT_FOUND"
  /** The repository exists but not the revision (branch, tag or commit) asked for. */
  | "REVISION_NOT_FOUND"
  /** The file or folder does not exist in the bucket or repository (`EntryNotFoundError`). */
  | "ENTRY_NOT_FOUND"
  /** 409: e.g. the bucket already exists. */
  | "CONFLICT"
  /** 413: the request is too large for the server. */
  | "PAYLOAD_TOO_LARGE"
  /** 416: the byte range is outside the file. */
  | "RANGE_NOT_SATISFIABLE"
  /** 422: the server refused the request's content. */
  | "UNPROCESSABLE"
  /** 429: rate limited, after the retries. */
  | "RATE_LIMITED"
  /** 5xx, after the retries. */
  | "SERVER_ERROR"
  /** Any other error status. */
  | "HTTP_ERROR";

/** The base class of every error this package throws: `code` says what went wrong, subclasses add its details. */
export class XetBucketsError extends Error {
  /** The class's name (`"XetBucketsError"`, `"HubApiError"`, …), as `Error.name`. */
  override name = "XetBucketsError";
  /** Stable, machine-readable error code (see `ErrorCode`). */
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

/**
 * Raised by the Rust core (through WebAssembly) on malformed input: bad hex, truncated or corrupt xorbs
 * and shards, hash mismatches, exceeded limits. `code` is the core's error kind: `INVALID_HEX`,
 * `TRUNCATED`, `BAD_RECORD`, `BAD_COMPRESSION`, `LENGTH_MISMATCH`, `HASH_MISMATCH`, `BAD_SHARD`,
 * `LIMIT_EXCEEDED`, `INVALID_STATE`, `INVALID_ARGUMENT` (an argument the core refused), or `CORE_PANIC`,
 * `CORE_ERROR`.
 */
export class XetCoreError extends XetBucketsError {
  override name = "XetCoreError";
}

/** Invalid arguments given to a function of this package (wrong bucket name, bad option combination...). */
export class InvalidArgumentError extends XetBucketsError {
  override name = "InvalidArgumentError";
  declare readonly code: "INVALID_ARGUMENT";
  constructor(message: string, options?: { cause?: unknown }) {
    super("INVALID_ARGUMENT", message, options);
  }
}

/**
 * A failed HTTP call to the Hub or the CAS. Compatible with @huggingface/hub's `HubApiError`
 * (`statusCode`, `url`, `requestId`, `data`), plus `code` (an `HttpErrorCode`: UNAUTHORIZED, FORBIDDEN,
 * NOT_FOUND, BUCKET_NOT_FOUND, REPO_NOT_FOUND, REVISION_NOT_FOUND, ENTRY_NOT_FOUND, CONFLICT, PAYLOAD_TOO_LARGE,
 * RANGE_NOT_SATISFIABLE, UNPROCESSABLE, RATE_LIMITED, SERVER_ERROR, HTTP_ERROR), the Hub's `X-Error-Code`
 * (`serverCode`), and how many attempts were made over how long.
 */
export class HubApiError extends XetBucketsError {
  override name = "HubApiError";
  declare readonly code: HttpErrorCode;
  /** The HTTP status (404, 503, …). */
  readonly statusCode: number;
  /** The request URL without its query string (signed URLs never appear in errors). */
  readonly url: string;
  /** The server's request id (`X-Request-Id`), to quote when reporting a problem. */
  readonly requestId: string | undefined;
  /** Parsed JSON error body, when there was one. */
  readonly data: unknown;
  /** The server's `X-Error-Code` header (e.g. RepoNotFound, EntryNotFound). */
  readonly serverCode: string | undefined;
  /** Seconds the server asked to wait (Retry-After), when given. */
  readonly retryAfter: number | undefined;
  /** Attempts made before giving up (1 when the error was not retried; see the `retry` option). */
  attempts = 1;
  /** Time spent over all the attempts and waits, in ms. */
  elapsedMs = 0;

  constructor(
    code: HttpErrorCode,
    message: string,
    init: { statusCode: number; url: string; requestId?: string; data?: unknown; serverCode?: string; retryAfter?: number },
  ) {
    super(code, message);
    this.statusCode = init.statusCode;
    this.url = init.url;
    this.requestId = init.requestId;
    this.data = init.data;
    this.serverCode = init.serverCode;
    this.retryAfter = init.retryAfter;
  }
}

/** The bucket does not exist, or the token may not see it (404 + X-Error-Code: RepoNotFound). */
export class BucketNotFoundError extends HubApiError {
  override name = "BucketNotFoundError";
}

/**
 * The model, dataset or space repository does not exist, or the token may not see it (404 + X-Error-Code:
 * RepoNotFound on a repository URL; code REPO_NOT_FOUND). A missing revision of an existing repository is a
 * `HubApiError` with code REVISION_NOT_FOUND.
 */
export class RepoNotFoundError extends HubApiError {
  override name = "RepoNotFoundError";
}

/** The file does not exist in the bucket or repository (404 + X-Error-Code: EntryNotFound, or absent from paths-info). */
export class EntryNotFoundError extends HubApiError {
  override name = "EntryNotFoundError";
}

/** The server could not be reached, the connection broke, or a request timed out (code NETWORK or TIMEOUT). */
export class NetworkError extends XetBucketsError {
  override name = "NetworkError";
  declare readonly code: "NETWORK" | "TIMEOUT";
  /** The request URL without its query string. */
  readonly url: string;
  /** Attempts made before giving up (see the `retry` option). */
  attempts = 1;
  /** Time spent over all the attempts and waits, in ms. */
  elapsedMs = 0;
  constructor(code: "NETWORK" | "TIMEOUT", message: string, url: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.url = url;
  }
}

/** Downloaded data does not match its hash or its announced length (HASH_MISMATCH, LENGTH_MISMATCH, CORRUPT_DATA); nothing was written. */
export class IntegrityError extends XetBucketsError {
  override name = "IntegrityError";
  declare readonly code: "HASH_MISMATCH" | "LENGTH_MISMATCH" | "CORRUPT_DATA";
  /** HASH_MISMATCH: the hash the data should have (the file's xetHash). */
  readonly expected?: string;
  /** HASH_MISMATCH: the hash of the data received. */
  readonly actual?: string;
  constructor(
    code: "HASH_MISMATCH" | "LENGTH_MISMATCH" | "CORRUPT_DATA",
    message: string,
    options?: { cause?: unknown; expected?: string; actual?: string },
  ) {
    super(code, message, options);
    if (options?.expected !== undefined) this.expected = options.expected;
    if (options?.actual !== undefined) this.actual = options.actual;
  }
}

/** Some operations of a bucket batch failed (code BATCH_FAILED); `failures` lists them by path. */
export class BatchError extends XetBucketsError {
  override name = "BatchError";
  declare readonly code: "BATCH_FAILED";
  /** The operations that failed: the file's path and the server's message. The others were applied. */
  readonly failures: {
    /** The path in the bucket. */
    path: string;
    /** Why this operation failed. */
    error: string;
  }[];
  constructor(message: string, failures: { path: string; error: string }[]) {
    super("BATCH_FAILED", message);
    this.failures = failures;
  }
}

/**
 * The live events feed of a bucket cannot be followed here (code EVENTS_UNAVAILABLE): the server does not serve
 * it for this bucket (404 without `X-Error-Code`, 501, or an answer that is not an event stream). A missing
 * bucket is a `BucketNotFoundError`, a refused token a `HubApiError` (UNAUTHORIZED, FORBIDDEN) instead.
 */
export class EventsUnavailableError extends XetBucketsError {
  override name = "EventsUnavailableError";
  declare readonly code: "EVENTS_UNAVAILABLE";
  /** The HTTP status of the feed's answer (404 or 501; 200 and the like when it was not an event stream). */
  readonly statusCode: number;
  /** The feed's URL without its query string. */
  readonly url: string;
  constructor(message: string, statusCode: number, url: string) {
    super("EVENTS_UNAVAILABLE", message);
    this.statusCode = statusCode;
    this.url = url;
  }
}

/** A server answer that does not follow the protocol (code PROTOCOL): malformed JSON, wrong lengths, bad shard. */
export class ProtocolError extends XetBucketsError {
  override name = "ProtocolError";
  declare readonly code: "PROTOCOL";
  constructor(message: string, options?: { cause?: unknown }) {
    super("PROTOCOL", message, options);
  }
}

/**
 * A local file or directory could not be read or written (Node, Deno, Bun): code FILE_NOT_FOUND when it does
 * not exist, NO_SPACE when the disk or the quota is full, LOCAL_IO otherwise. `path` names it; `cause` is the
 * file system's error.
 */
export class LocalFileError extends XetBucketsError {
  override name = "LocalFileError";
  declare readonly code: "FILE_NOT_FOUND" | "LOCAL_IO" | "NO_SPACE";
  /** The local file or directory. */
  readonly path: string;
  constructor(path: string, cause: unknown) {
    const sys = (cause as { code?: unknown; message?: unknown } | null | undefined) ?? {};
    const full = sys.code === "ENOSPC" || sys.code === "EDQUOT";
    const what =
      sys.code === "ENOENT"
        ? "no such file"
        : sys.code === "EACCES" || sys.code === "EPERM"
          ? "permission denied"
          : sys.code === "EISDIR"
            ? "is a directory"
            : sys.code === "ENOSPC"
              ? "no space left on the device"
              : sys.code === "EDQUOT"
                ? "disk quota exceeded"
                : String(sys.message ?? cause);
    super(sys.code === "ENOENT" ? "FILE_NOT_FOUND" : full ? "NO_SPACE" : "LOCAL_IO", `${path}: ${what}`, { cause });
    this.path = path;
  }
}

/** One file that failed in a multi-file transfer (`TransferError.failures`, the `failed` lists of results). */
export interface FileFailure {
  /** The file's path in the bucket (for uploads, its destination path). */
  path: string;
  /** The local file, when there is one (downloads to disk, uploads of local files). */
  localPath?: string;
  /** The error's code (`ErrorCode`; `ERROR` for an error that is not this package's). */
  code: ErrorCode | "ERROR";
  /** The error's message. */
  error: string;
  /** The error itself. */
  cause: unknown;
}

/** The `FileFailure` of `path` for `err`. */
export function fileFailure(path: string, err: unknown, localPath?: string): FileFailure {
  return {
    path,
    ...(localPath !== undefined ? { localPath } : {}),
    code: err instanceof XetBucketsError ? err.code : "ERROR",
    error: (err as Error)?.message ?? String(err),
    cause: err,
  };
}

/**
 * Some files of a multi-file transfer (`downloadBucketFiles`, `syncBucket`, multi-file uploads) failed, each for a
 * reason of its own (a file corrupt where it is stored, deleted meanwhile, unreadable, refused), after the
 * others completed (code FILES_FAILED). `failures` lists the failed files with their errors; `result` is what
 * the call would have returned, for the files that made it (its `failed` list equals `failures`). Nothing
 * partial was written or registered for the failed files: running the call again transfers only them (syncs),
 * or sends only what is missing (uploads deduplicate). Failures that concern the connection, the credentials
 * or the disk rather than a file (a network down, a refused token, a full disk) stop the call and are thrown
 * as they are.
 */
export class TransferError<R = unknown> extends XetBucketsError {
  override name = "TransferError";
  declare readonly code: "FILES_FAILED";
  /** The files that failed, each with its error. */
  readonly failures: FileFailure[];
  /** What the call returns when nothing fails, for the files that made it. */
  readonly result: R;
  constructor(message: string, failures: FileFailure[], result: R) {
    super("FILES_FAILED", message);
    this.failures = failures;
    this.result = result;
  }
}

/**
 * A failure that is not one file's own: every other file of the call would meet it too (the network still down
 * after the retries, credentials the server refuses, a bucket gone, a full disk), so a multi-file call stops
 * instead of trying them all.
 */
export function isSharedFailure(err: unknown): boolean {
  if (err instanceof LocalFileError) return err.code === "NO_SPACE";
  if (err instanceof NetworkError || err instanceof BucketNotFoundError) return true;
  return err instanceof HubApiError && (err.statusCode === 401 || err.statusCode === 403 || err.statusCode === 429);
}

/** The message of a `TransferError`: how many failed, then each (the first few). */
export function transferMessage(what: string, failures: FileFailure[], done: number): string {
  const list = failures
    .slice(0, 10)
    .map((f) => `\n  ${f.path}: ${f.error}${f.code !== "ERROR" ? ` [${f.code}]` : ""}`)
    .join("");
  return `${failures.length} of ${failures.length + done} file(s) failed to ${what} (the others completed):${list}${failures.length > 10 ? "\n  …" : ""}`;
}

/** A sync refused by a guard (empty source with delete, maxDelete exceeded): code SYNC_REFUSED. Nothing was changed. */
export class SyncRefusedError extends XetBucketsError {
  override name = "SyncRefusedError";
  declare readonly code: "SYNC_REFUSED";
  constructor(message: string) {
    super("SYNC_REFUSED", message);
  }
}

/**
 * An upload's shard was refused because it references xorbs taken from the dedup cache that the CAS no
 * longer has (code CACHE_STALE). Their cache entries are removed. `missing` names those xorbs; `learn`: the
 * shards of the failed attempt, whose xorbs are all stored (shards go last), so that running the upload again
 * with them learned sends only what is missing. Uploads whose sources can be read again (files, Blobs, byte
 * arrays) do so by themselves; this error reaches the caller only for streams.
 */
export class DedupCacheStaleError extends XetBucketsError {
  override name = "DedupCacheStaleError";
  declare readonly code: "CACHE_STALE";
  /** Hashes (hex) of the xorbs the cache named that the CAS no longer has. */
  readonly missing: string[];
  /** The shards the failed attempt uploaded, for the next attempt to learn what it stored (only what is missing is sent again). */
  readonly learn: Uint8Array[];
  /** What the failed attempt sent. */
  readonly sent: {
    /** Xorb bytes. */
    bytes: number;
    /** Xorbs. */
    xorbs: number;
  };
  constructor(missing: string[], learn: Uint8Array[], sent: { bytes: number; xorbs: number }, cause: unknown) {
    super(
      "CACHE_STALE",
      `the dedup cache named ${missing.length} xorb(s) the CAS no longer has (${missing[0]}${missing.length > 1 ? ", …" : ""}); ` +
        "their cache entries were removed. Run the upload again: it sends what is missing.",
      { cause },
    );
    this.missing = missing;
    this.learn = learn;
    this.sent = sent;
  }
}
