/** Shared CLI plumbing: streams, usage errors and exit codes. */
import { XetBucketsError } from "../errors.js";

export interface CommandIo {
  stdin: AsyncIterable<Uint8Array>;
  stdout: { write(s: string | Uint8Array): unknown; isTTY?: boolean };
  stderr: { write(s: string): unknown; isTTY?: boolean };
  env: Record<string, string | undefined>;
}

/** Exit codes: 0 success, 1 the operation failed, 2 wrong usage. */
export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

/** Wrong command-line usage: printed with the command's usage text, exit code 2. */
export class UsageError extends XetBucketsError {
  override name = "UsageError";
  readonly usage: string | undefined;
  constructor(message: string, usage?: string) {
    super("USAGE", message);
    this.usage = usage;
  }
}
