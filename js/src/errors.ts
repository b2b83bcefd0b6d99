/**
 * Every error this package throws is a `XetBucketsError` with a stable `code`, so callers can branch on
 * `err.code` (or `instanceof`) instead of parsing messages. Messages say what went wrong and what to do.
 */
export class XetBucketsError extends Error {
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
