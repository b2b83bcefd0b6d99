/** Node file access for content sources: stat, positional reads, bounded block reads through one reused buffer. */
import { open, stat } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { XetBucketsError } from "../../errors.js";
import type { LocalFileHandle } from "../types.js";

export function toPath(p: string | URL): string {
  return p instanceof URL ? fileURLToPath(p) : p;
}

/** Local file errors, with the path and what to do. */
export class LocalFileError extends XetBucketsError {
  override name = "LocalFileError";
  readonly path: string;
  constructor(path: string, cause: NodeJS.ErrnoException) {
    const what =
      cause.code === "ENOENT"
        ? "no such file"
        : cause.code === "EACCES" || cause.code === "EPERM"
          ? "permission denied"
          : cause.code === "EISDIR"
            ? "is a directory"
            : cause.message;
    super(cause.code === "ENOENT" ? "FILE_NOT_FOUND" : "LOCAL_IO", `${path}: ${what}`, { cause });
    this.path = path;
  }
}

export async function statFile(p: string | URL) {
  const path = toPath(p);
  try {
    return await stat(path);
  } catch (err) {
    throw new LocalFileError(path, err as NodeJS.ErrnoException);
  }
}

/** Opens a file for positional reads. */
export async function openFile(p: string | URL): Promise<LocalFileHandle> {
  const path = toPath(p);
  let fh: Awaited<ReturnType<typeof open>>;
  try {
    fh = await open(path, "r");
  } catch (err) {
    throw new LocalFileError(path, err as NodeJS.ErrnoException);
  }
  const fail = (err: unknown): never => {
    throw new LocalFileError(path, err as NodeJS.ErrnoException);
  };
  return {
    read: (into, position) => fh.read(into, 0, into.length, position).then((r) => r.bytesRead, fail),
    size: () => fh.stat().then((st) => st.size, fail),
    close: () => fh.close(),
  };
}

/**
 * Yields the file's bytes in blocks of at most `blockBytes`. The same buffer is reused between blocks:
 * each yielded view is only valid until the generator resumes.
 */
export async function* readFileBlocks(p: string | URL, blockBytes: number, signal?: AbortSignal): AsyncGenerator<Uint8Array> {
  const path = toPath(p);
  let fh;
  try {
    fh = await open(path, "r");
  } catch (err) {
    throw new LocalFileError(path, err as NodeJS.ErrnoException);
  }
  try {
    const size = (await fh.stat()).size;
    const buf = new Uint8Array(Math.max(1, Math.min(blockBytes, size || 1)));
    for (;;) {
      signal?.throwIfAborted();
      let n: number;
      try {
        ({ bytesRead: n } = await fh.read(buf, 0, buf.length, null));
      } catch (err) {
        throw new LocalFileError(path, err as NodeJS.ErrnoException);
      }
      if (n === 0) return;
      yield buf.subarray(0, n);
    }
  } finally {
    await fh.close();
  }
}
