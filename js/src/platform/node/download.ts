/**
 * Node file sink for downloads: write to a temporary file in the destination directory, fsync (when asked),
 * rename over the target, set the mtime. A failed or corrupt download removes its temporary file and leaves
 * the target untouched (never a mixture of old and new bytes, never a stale tail).
 */
import { randomBytes } from "node:crypto";
import { mkdir, open, rename, unlink, utimes } from "node:fs/promises";
import { basename, dirname, join, resolve } from "node:path";
import type { AtomicWriteOptions } from "../types.js";
import { LocalFileError, toPath } from "./files.js";

/** Suffix of temporary download files (`.<name>.<random>.xet-tmp` next to the target). */
export const TEMP_SUFFIX = ".xet-tmp";

/**
 * Writes the blocks of `source` to `target` atomically. Returns the number of bytes written. The source's
 * iteration must complete without error for the file to be committed (a verification error thrown by
 * the source after its last block leaves nothing behind).
 */
export async function writeFileAtomic(
  target: string | URL,
  source: AsyncIterable<Uint8Array>,
  options: AtomicWriteOptions = {},
): Promise<number> {
  const path = resolve(toPath(target));
  const dir = dirname(path);
  try {
    await mkdir(dir, { recursive: true });
  } catch (err) {
    throw new LocalFileError(dir, err as NodeJS.ErrnoException);
  }
  const tmp = join(dir, `.${basename(path)}.${randomBytes(6).toString("hex")}${TEMP_SUFFIX}`);
  let fh;
  try {
    fh = await open(tmp, "wx");
  } catch (err) {
    throw new LocalFileError(tmp, err as NodeJS.ErrnoException);
  }
  let written = 0;
  try {
    for await (const block of source) {
      options.signal?.throwIfAborted();
      let off = 0;
      while (off < block.length) {
        const { bytesWritten } = await fh.write(block, off, block.length - off);
        off += bytesWritten;
      }
      written += block.length;
      options.onBytes?.(block.length);
    }
    options.signal?.throwIfAborted();
    if (options.fsync) await fh.sync();
    await fh.close();
    fh = undefined;
    try {
      await rename(tmp, path);
    } catch (err) {
      throw new LocalFileError(path, err as NodeJS.ErrnoException);
    }
    if (options.mtime !== undefined) {
      const t = new Date(options.mtime);
      await utimes(path, new Date(), t);
    }
    return written;
  } catch (err) {
    await fh?.close().catch(() => {});
    await unlink(tmp).catch(() => {});
    throw err;
  }
}
