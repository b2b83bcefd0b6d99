/**
 * The contract between resumable uploads (xet/resume.ts, which explains how resuming works) and the places
 * their states are kept (a directory: platform/node/resume.ts; IndexedDB: browser/resume.ts; anything implementing
 * `ResumeStore`): what a state holds, the stamp it carries, and the xorb hashes its marks name. A leaf
 * module, so that stores below the upload pipeline (the Node platform's) need nothing above them.
 */

/** Version of the persisted format. Bump it whenever the meaning of the saved state changes. */
export const RESUME_FORMAT_VERSION = 1;
export const RESUME_FORMAT = "xet-buckets-resume";

/** What a state is stamped with; a saved state with any other stamp is ignored. */
export interface ResumeStamp {
  format: typeof RESUME_FORMAT;
  version: number;
  /** The core's version (`coreVersion()`): chunking and xorb formation belong to it. */
  core: string;
}

/** Checks a saved stamp; returns why it does not match, or undefined when it does. */
export function stampMismatch(saved: unknown, want: ResumeStamp): string | undefined {
  if (!saved || typeof saved !== "object") return "no stamp";
  const s = saved as Partial<ResumeStamp>;
  if (s.format !== want.format) return `format ${JSON.stringify(s.format)} is not ${want.format}`;
  if (s.version !== want.version) return `format version ${JSON.stringify(s.version)} is not ${want.version}`;
  if (s.core !== want.core) return `written by ${JSON.stringify(s.core)}, this is ${want.core}`;
  return undefined;
}

/** One upload's persisted state: the xorbs of earlier runs, and the marks of this one. */
export interface ResumeState {
  /** Xorbs an earlier run started (`"p"`) or finished (`"a"`, accepted by the CAS) posting. */
  readonly known: ReadonlyMap<string, "p" | "a">;
  /** Records that a POST of this xorb starts (it may be stored even if the answer never arrives). */
  posting(xorbHash: string): void;
  /** Records that the CAS accepted this xorb. */
  accepted(xorbHash: string): void;
  /** Every file is registered: the state is no longer needed (deleted). */
  registered(): Promise<void>;
  /** Releases the backend (files, database connections) without deleting the state. */
  close(): Promise<void>;
}

/** A place where states live. `open` never throws for a bad saved state: it warns and starts empty. */
export interface ResumeStore {
  /**
   * The state of the upload named `key` (a digest of its destination and files), empty when there is none
   * or it cannot be used (another stamp, damaged: `warn` says why).
   */
  open(key: string, warn: (message: string) => void): Promise<ResumeState>;
}

/** Options of the directory store (`resumeDir`). */
export interface DirectoryResumeOptions {
  /** Remove state files not written for this many days when the store is opened (default 14). */
  maxAgeDays?: number;
}
