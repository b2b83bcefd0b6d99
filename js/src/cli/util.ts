/** Shared CLI plumbing: streams, usage errors and exit codes. */
import { XetBucketsError } from "../errors.js";

export interface CommandIo {
  stdin: AsyncIterable<Uint8Array> & { isTTY?: boolean };
  stdout: { write(s: string | Uint8Array, cb?: (err?: Error | null) => void): unknown; isTTY?: boolean; columns?: number };
  stderr: { write(s: string): unknown; isTTY?: boolean; columns?: number };
  env: Record<string, string | undefined>;
  /** Aborted when the user interrupts the command (SIGINT, SIGTERM). */
  signal?: AbortSignal;
  /** Working directory for relative local paths (default process.cwd()). */
  cwd?: string;
}

/**
 * Exit codes: 0 success; 1 the operation failed (network, Hub or local error, partial failure);
 * 2 wrong usage (unknown option, missing or extra argument, invalid value or combination of options,
 * a confirmation that cannot be asked because stdin is not a terminal and -y was not given);
 * 130 interrupted (SIGINT / SIGTERM).
 */
export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;
export const EXIT_INTERRUPTED = 130;

/** Wrong command-line usage: printed with the command's usage text, exit code 2. */
export class UsageError extends XetBucketsError {
  override name = "UsageError";
  readonly usage: string | undefined;
  constructor(message: string, usage?: string) {
    super("USAGE", message);
    this.usage = usage;
  }
}
