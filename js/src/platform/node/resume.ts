/**
 * Resume states in a directory (Node, Deno, Bun): one append-only file per upload, `<key>.xbresume`.
 *
 * ```text
 * {"format":"xet-buckets-resume","version":1,"core":"xet-core-rs 0.1.0","key":"<sha-256>","created":1732700000000}
 * p <xorb hash>        a POST of this xorb started
 * a <xorb hash>        the CAS accepted it
 * ```
 *
 * Each mark is one `write` of a short line to a file opened for appending, so a process killed at any
 * point leaves at worst a torn last line, which is dropped. Any other damage (unparseable header, another
 * stamp or key, a malformed line) makes the file untrusted: it is ignored with a warning and replaced.
 * The file is deleted once the upload's files are registered; files untouched for `maxAgeDays` (default
 * 14) are removed when a state is opened, so abandoned uploads do not accumulate.
 *
 * The store itself (`directoryResumeStore`, the `resumeDir` option) is xet/resume.ts's: it stamps states with
 * the core's version, which this module (below the core) is given.
 */
import { closeSync, mkdirSync, openSync, readdirSync, readFileSync, statSync, truncateSync, unlinkSync, writeSync } from "node:fs";
import { join } from "node:path";
import { InvalidArgumentError, LocalFileError } from "../../errors.js";
import { isXetHash } from "../../hex.js";
import { stampMismatch, type DirectoryResumeOptions, type ResumeStamp, type ResumeState } from "../../resume-state.js";

const SUFFIX = ".xbresume";
const DAY = 24 * 3600 * 1000;

/**
 * Opens (or starts) the state of upload `key` in `dir` (created if missing), stamped with `stamp`. A directory
 * or file that cannot be created or written is a `LocalFileError`; a damaged state is a warning.
 */
export async function openResumeState(
  dir: string,
  key: string,
  stamp: ResumeStamp,
  warn: (message: string) => void,
  options: DirectoryResumeOptions = {},
): Promise<ResumeState> {
  if (!isXetHash(key)) throw new InvalidArgumentError(`a resume key must be 64 hex characters, got ${JSON.stringify(key)}`);
  const file = join(dir, key + SUFFIX);
  try {
    return openState(dir, file, key, stamp, warn, options);
  } catch (err) {
    throw new LocalFileError(file, err);
  }
}

function openState(
  dir: string,
  file: string,
  key: string,
  stamp: ResumeStamp,
  warn: (message: string) => void,
  options: DirectoryResumeOptions,
): ResumeState {
  mkdirSync(dir, { recursive: true });
  prune(dir, (options.maxAgeDays ?? 14) * DAY);
  const known = new Map<string, "p" | "a">();
  let text: string | undefined;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT")
      warn(`resume state ${file} cannot be read (${(err as Error).message}): starting afresh`);
  }
  let keep = false;
  if (text !== undefined) {
    const problem = parseState(text, stamp, key, known);
    if (problem) {
      warn(`resume state ${file} ignored: ${problem}; the upload starts afresh`);
      known.clear();
    } else {
      keep = true;
    }
  }
  // A line cut by a kill is dropped from the file too, so that the next mark starts a line of its own.
  if (keep && text !== undefined && !text.endsWith("\n")) truncateSync(file, Buffer.byteLength(text.slice(0, text.lastIndexOf("\n") + 1)));
  let fd: number | undefined = openSync(file, keep ? "a" : "w");
  if (!keep) writeSync(fd, `${JSON.stringify({ ...stamp, key, created: Date.now() })}\n`);
  let failed = false;
  const append = (line: string) => {
    if (fd === undefined || failed) return;
    try {
      writeSync(fd, line);
    } catch (err) {
      failed = true;
      warn(`resume state ${file} can no longer be written (${(err as Error).message}): this upload will not be resumable`);
    }
  };
  const close = () => {
    if (fd !== undefined) closeSync(fd);
    fd = undefined;
  };
  const state: ResumeState = {
    known,
    posting: (h) => append(`p ${h}\n`),
    accepted: (h) => append(`a ${h}\n`),
    async registered() {
      close();
      try {
        unlinkSync(file);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== "ENOENT") warn(`resume state ${file} could not be deleted: ${(err as Error).message}`);
      }
    },
    async close() {
      close();
    },
  };
  return state;
}

/** Fills `known` from a state file; returns why the file cannot be trusted, or undefined. */
function parseState(text: string, stamp: ResumeStamp, key: string, known: Map<string, "p" | "a">): string | undefined {
  const lines = text.split("\n");
  // The last element is "" after a final newline, or a line cut by a kill: dropped either way.
  lines.pop();
  if (lines.length === 0) return "it is empty";
  let header: unknown;
  try {
    header = JSON.parse(lines[0]!);
  } catch {
    return "its header is not JSON";
  }
  const mismatch = stampMismatch(header, stamp);
  if (mismatch) return mismatch;
  if ((header as { key?: unknown }).key !== key) return "it belongs to another upload";
  for (let i = 1; i < lines.length; i++) {
    const l = lines[i]!;
    if (l === "") continue;
    const kind = l[0];
    const hash = l.slice(2);
    if ((kind !== "p" && kind !== "a") || l[1] !== " " || !isXetHash(hash)) return `line ${i + 1} is malformed`;
    if (kind === "a" || !known.has(hash)) known.set(hash, kind);
  }
  return undefined;
}

function prune(dir: string, maxAge: number): void {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return;
  }
  const now = Date.now();
  for (const n of names) {
    if (!n.endsWith(SUFFIX)) continue;
    try {
      const p = join(dir, n);
      if (now - statSync(p).mtimeMs > maxAge) unlinkSync(p);
    } catch {
      // another process may be pruning too
    }
  }
}
