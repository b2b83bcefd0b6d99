/**
 * Node file sink for downloads: write to a temporary file in the destination directory, set the mtime, fsync
 * (when asked), rename over the target. A failed or corrupt download removes its temporary file and leaves
 * the target untouched (never a mixture of old and new bytes, never a stale tail). Errors name the target,
 * not the temporary file (a full disk: `LocalFileError` NO_SPACE naming the file being downloaded). Two ways to fill the
 * temporary file: blocks in order (`writeFileAtomic`), or writes at positions in any order
 * (`writeFileAtomicAt`), which other threads may also do by opening its path (the chunking workers of a
 * download write the chunks they decode).
 */
import { randomFillSync } from "node:crypto";
import * as fs from "node:fs";
import { mkdir } from "node:fs/promises";
import { basename, dirname, join, resolve } from "node:path";
import { promisify } from "node:util";
import { downloadTempName } from "../temp-names.js";
import type { AtomicWriteOptions, PositionalFile } from "../types.js";
import { LocalFileError } from "../../errors.js";
import { local, toPath } from "./files.js";

// The callback forms of fs, promisified: a promise of fs/promises allocates a stats buffer per call, and with a
// download's buffers in V8's young generation each such allocation runs a collection (a file: five calls).
const openFd = (path: string, flags: string): Promise<number> =>
  new Promise((resolve, reject) => fs.open(path, flags, (err, fd) => (err ? reject(err) : resolve(fd))));
const closeFd = promisify(fs.close);
const fsyncFd = (fd: number): Promise<void> => new Promise((resolve, reject) => fs.fsync(fd, (err) => (err ? reject(err) : resolve())));
const futimesFd = promisify(fs.futimes);
const renameFile = promisify(fs.rename);
const unlinkFile = promisify(fs.unlink);
const writeFd = (fd: number, data: Uint8Array, offset: number, length: number, position: number | null): Promise<number> =>
  new Promise((resolve, reject) => fs.write(fd, data, offset, length, position, (err, n) => (err ? reject(err) : resolve(n))));

/** 12 hex digits for a temporary name (into one reused buffer: no allocation per file). */
const nameBytes = new Uint8Array(6);
function randomHex(): string {
  randomFillSync(nameBytes);
  let s = "";
  for (const b of nameBytes) s += (b < 16 ? "0" : "") + b.toString(16);
  return s;
}

/**
 * Creates the temporary file of `target`, lets `fill` write it (returns the bytes written), then commits it:
 * mtime, fsync when asked, close, rename over the target. On any failure the temporary file is removed.
 */
async function atomically(
  target: string | URL,
  options: AtomicWriteOptions,
  fill: (fd: number, tmp: string, path: string) => Promise<number>,
): Promise<number> {
  const path = resolve(toPath(target));
  const dir = dirname(path);
  const tmp = join(dir, downloadTempName(basename(path), randomHex()));
  // The directory is created when missing (only then: a download of many files into one folder would pay a
  // recursive mkdir per file).
  let fd: number | undefined = await openFd(tmp, "wx").catch(async (err: unknown) => {
    if ((err as { code?: unknown }).code !== "ENOENT") throw new LocalFileError(path, err);
    await local(dir, mkdir(dir, { recursive: true }));
    return local(path, openFd(tmp, "wx"));
  });
  try {
    const written = await fill(fd, tmp, path);
    options.signal?.throwIfAborted();
    if (options.mtime !== undefined) await local(path, futimesFd(fd, new Date(), new Date(options.mtime)));
    if (options.fsync) await local(path, fsyncFd(fd));
    const closing = fd;
    fd = undefined;
    await local(path, closeFd(closing));
    await local(path, renameFile(tmp, path));
    return written;
  } catch (err) {
    if (fd !== undefined) await closeFd(fd).catch(() => {});
    await unlinkFile(tmp).catch(() => {});
    // Writers of the temporary file (the chunking workers) name it: the caller knows the target.
    if (err instanceof LocalFileError && err.path === tmp) throw new LocalFileError(path, err.cause);
    throw err;
  }
}

/** Writes all of `data` at `position` (a short write continues where it stopped); errors name `target`. */
async function writeAllAt(fd: number, target: string, data: Uint8Array, position: number | null): Promise<void> {
  let off = 0;
  while (off < data.length) {
    off += await local(target, writeFd(fd, data, off, data.length - off, position === null ? null : position + off));
  }
}

/**
 * Writes the blocks of `source` to `target` atomically. Returns the number of bytes written. The source's
 * iteration must complete without error for the file to be committed (a verification error thrown by
 * the source after its last block leaves nothing behind).
 */
export function writeFileAtomic(
  target: string | URL,
  source: AsyncIterable<Uint8Array>,
  options: AtomicWriteOptions = {},
): Promise<number> {
  return atomically(target, options, async (fd, _tmp, path) => {
    let written = 0;
    for await (const block of source) {
      options.signal?.throwIfAborted();
      await writeAllAt(fd, path, block, null);
      written += block.length;
      options.onBytes?.(block.length);
    }
    return written;
  });
}

/**
 * Writes `target` atomically through writes at positions (`LocalFiles.writeAtomicAt`): `fill` gets the
 * temporary file, writes it in any order (itself, or from other threads that open its path), and resolves
 * with its size; the file is committed only then. Returns that size.
 */
export function writeFileAtomicAt(
  target: string | URL,
  fill: (file: PositionalFile) => Promise<number>,
  options: AtomicWriteOptions = {},
): Promise<number> {
  return atomically(target, options, (fd, tmp, path) =>
    fill({ path: tmp, write: (data, position) => writeAllAt(fd, path, data, position) }),
  );
}
