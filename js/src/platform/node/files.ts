/**
 * Node file access for content sources: stat, positional reads, bounded block reads through one reused buffer.
 * Every failure of the file system is a `LocalFileError` naming the path (`local`).
 */
import { open, stat } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { InvalidArgumentError, LocalFileError } from "../../errors.js";
import type { LocalFileHandle } from "../types.js";

/** The path a path or a `file:` URL names (another URL is an `InvalidArgumentError`). */
export function toPath(p: string | URL): string {
  if (!(p instanceof URL)) return p;
  if (p.protocol !== "file:") throw new InvalidArgumentError(`a local path must be a path or a file: URL, got ${p.protocol} (${p.href})`);
  return fileURLToPath(p);
}

/** A file-system call, its failure as a `LocalFileError` naming `path`. */
export function local<T>(path: string, call: Promise<T>): Promise<T> {
  return call.catch((err: unknown) => {
    throw new LocalFileError(path, err);
  });
}

export async function statFile(p: string | URL) {
  const path = toPath(p);
  return local(path, stat(path));
}

/** Opens a file for positional reads. */
export async function openFile(p: string | URL): Promise<LocalFileHandle> {
  const path = toPath(p);
  const fh = await local(path, open(path, "r"));
  return {
    read: (into, position) => local(path, fh.read(into, 0, into.length, position)).then((r) => r.bytesRead),
    readv: (into, position) => local(path, fh.readv(into, position)).then((r) => r.bytesRead),
    size: () => local(path, fh.stat()).then((st) => st.size),
    close: () => local(path, fh.close()),
  };
}

/**
 * Yields the file's bytes in blocks of at most `blockBytes`. The same buffer is reused between blocks:
 * each yielded view is only valid until the generator resumes.
 */
export async function* readFileBlocks(p: string | URL, blockBytes: number, signal?: AbortSignal): AsyncGenerator<Uint8Array> {
  const file = await openFile(p);
  try {
    const size = await file.size();
    const buf = new Uint8Array(Math.max(1, Math.min(blockBytes, size || 1)));
    for (;;) {
      signal?.throwIfAborted();
      const n = await file.read(buf, null);
      if (n === 0) return;
      yield buf.subarray(0, n);
    }
  } finally {
    await file.close();
  }
}
