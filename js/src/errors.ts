/**
 * Every error this package throws is a `XetBucketsError` with a stable `code`, so callers can branch on
 * `err.code` (or `instanceof`) instead of parsing messages. Messages say what went wrong and what to do.
 */
export class XetBucketsError extends Error {
  /** The class's name (`"XetBucketsError"`, `"HubApiError"`, …), as `Error.name`. */
  override name = "XetBucketsError";
  /** Stable, machine-readable error code (SCREAMING_SNAKE). */
  readonly code: string;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

/**
 * Raised by the Rust core (through WebAssembly) on malformed input: bad hex, truncated or corrupt xorbs
 * and shards, hash mismatches, exceeded limits. `code` is the core's error kind, for example
 * `INVALID_HEX`, `TRUNCATED`, `BAD_RECORD`, `BAD_COMPRESSION`, `LENGTH_MISMATCH`, `HASH_MISMATCH`,
 * `BAD_SHARD`, `LIMIT_EXCEEDED`, `INVALID_STATE`, `INVALID_ARGUMENT`.
 */
export class XetCoreError extends XetBucketsError {
  override name = "XetCoreError";
}

/** Invalid arguments given to a function of this package (wrong bucket name, bad option combination...). */
export class InvalidArgumentError extends XetBucketsError {
  override name = "InvalidArgumentError";
  constructor(message: string, options?: { cause?: unknown }) {
    super("INVALID_ARGUMENT", message, options);
  }
}

/**
 * A failed HTTP call to the Hub or the CAS. Compatible with @huggingface/hub's `HubApiError`
 * (`statusCode`, `url`, `requestId`, `data`), plus `code` (see below), the Hub's `X-Error-Code`
 * (`serverCode`), and how many attempts were made over how long.
 *
 * Codes: UNAUTHORIZED (401: missing, wrong or expired token), FORBIDDEN (403: the token may not do this),
 * NOT_FOUND, BUCKET_NOT_FOUND, ENTRY_NOT_FOUND, CONFLICT (409), PAYLOAD_TOO_LARGE (413),
 * RANGE_NOT_SATISFIABLE (416), UNPROCESSABLE (422), RATE_LIMITED (429), SERVER_ERROR (5xx), HTTP_ERROR.
 */
export class HubApiError extends XetBucketsError {
  override name = "HubApiError";
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
    code: string,
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

/** The file does not exist in the bucket (404 + X-Error-Code: EntryNotFound, or absent from paths-info). */
export class EntryNotFoundError extends HubApiError {
  override name = "EntryNotFoundError";
}

/** The server could not be reached, the connection broke, or a request timed out (code NETWORK or TIMEOUT). */
export class NetworkError extends XetBucketsError {
  override name = "NetworkError";
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

/** Downloaded data does not match its hash (code HASH_MISMATCH); nothing was written. */
export class IntegrityError extends XetBucketsError {
  override name = "IntegrityError";
}

/** Some operations of a bucket batch failed (code BATCH_FAILED); `failures` lists them by path. */
export class BatchError extends XetBucketsError {
  override name = "BatchError";
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

/** A server answer that does not follow the protocol (code PROTOCOL): malformed JSON, wrong lengths, bad shard. */
export class ProtocolError extends XetBucketsError {
  override name = "ProtocolError";
  constructor(message: string, options?: { cause?: unknown }) {
    super("PROTOCOL", message, options);
  }
}
