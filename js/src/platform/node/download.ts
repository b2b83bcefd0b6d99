/**
 * Node file sink for downloads: write to a temporary file in the destination directory, fsync (when asked),
 * rename over the target, set the mtime. A failed or corrupt download removes its temporary file and leaves
 * the target untouched (never a mixture of old and new bytes, never a stale tail). Two ways to fill the
 * temporary file: blocks in order (`writeFileAtomic`), or writes at positions in any order
 * (`writeFileAtomicAt`), which other threads may also do by opening its path (the chunking workers of a
 * download write the chunks they decode).
 */
import { randomBytes } from "node:crypto";
import { mkdir, open, rename, unlink, utimes, type FileHandle } from "node:fs/promises";
import { basename, dirname, join, resolve } from "node:path";
import { downloadTempName } from "../temp-names.js";
import type { AtomicWriteOptions, PositionalFile } from "../types.js";
import { LocalFileError } from "../../errors.js";
import { local, toPath } from "./files.js";

/**
 * Creates the temporary file of `target`, lets `fill` write it (returns the bytes written), then commits it:
 * fsync when asked, close, rename over the target, mtime. On any failure the temporary file is removed.
 */
async function atomically(
  target: string | URL,
  options: AtomicWriteOptions,
  fill: (fh: FileHandle, tmp: string) => Promise<number>,
): Promise<number> {
  const path = resolve(toPath(target));
  const dir = dirname(path);
  const tmp = join(dir, downloadTempName(basename(path), randomBytes(6).toString("hex")));
  // The directory is created when missing (only then: a download of many files into one folder would pay a
  // recursive mkdir per file).
  let fh: FileHandle | undefined = await open(tmp, "wx").catch(async (err: unknown) => {
    if ((err as { code?: unknown }).code !== "ENOENT") throw new LocalFileError(tmp, err);
    await local(dir, mkdir(dir, { recursive: true }));
    return local(tmp, open(tmp, "wx"));
  });
  try {
    const written = await fill(fh, tmp);
    options.signal?.throwIfAborted();
    if (options.fsync) await local(tmp, fh.sync());
    const closing = fh;
    fh = undefined;
    await local(tmp, closing.close());
    await local(path, rename(tmp, path));
    if (options.mtime !== undefined) await local(path, utimes(path, new Date(), new Date(options.mtime)));
    return written;
  } catch (err) {
    await fh?.close().catch(() => {});
    await unlink(tmp).catch(() => {});
    throw err;
  }
}

/** Writes all of `data` at `position` (a short write continues where it stopped). */
async function writeAllAt(fh: FileHandle, tmp: string, data: Uint8Array, position: number | null): Promise<void> {
  let off = 0;
  while (off < data.length) {
    const { bytesWritten } = await local(tmp, fh.write(data, off, data.length - off, position === null ? null : position + off));
    off += bytesWritten;
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
  return atomically(target, options, async (fh, tmp) => {
    let written = 0;
    for await (const block of source) {
      options.signal?.throwIfAborted();
      await writeAllAt(fh, tmp, block, null);
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
  return atomically(target, options, (fh, tmp) => fill({ path: tmp, write: (data, position) => writeAllAt(fh, tmp, data, position) }));
}
