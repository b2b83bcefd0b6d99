/**
 * Node file sink for downloads: write to a temporary file in the destination directory, fsync (when asked),
 * rename over the target, set the mtime. A failed or corrupt download removes its temporary file and leaves
 * the target untouched (never a mixture of old and new bytes, never a stale tail).
 */
import { randomBytes } from "node:crypto";
import { mkdir, open, rename, unlink, utimes, type FileHandle } from "node:fs/promises";
import { basename, dirname, join, resolve } from "node:path";
import { downloadTempName } from "../temp-names.js";
import type { AtomicWriteOptions } from "../types.js";
import { local, toPath } from "./files.js";

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
  await local(dir, mkdir(dir, { recursive: true }));
  const tmp = join(dir, downloadTempName(basename(path), randomBytes(6).toString("hex")));
  let fh: FileHandle | undefined = await local(tmp, open(tmp, "wx"));
  let written = 0;
  try {
    for await (const block of source) {
      options.signal?.throwIfAborted();
      let off = 0;
      while (off < block.length) {
        const { bytesWritten } = await local(tmp, fh.write(block, off, block.length - off));
        off += bytesWritten;
      }
      written += block.length;
      options.onBytes?.(block.length);
    }
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
