/** `xetHash`: the Xet file hash (file id, `xetHash` in bucket listings) of any content source. */
import { initCore, XetHasher } from "./core/index.js";
import { readSource, type ContentSource, type ReadOptions } from "./sources.js";

/**
 * Computes the Xet file hash (64 hex characters) of bytes, a Blob/File, a stream, an (async) iterable of
 * byte blocks or, in Node, a file path or `file:` URL — the same value hf_xet's `hash_files` gives and the
 * Hub shows as `xetHash`. Reads the source once, in bounded blocks.
 */
export async function xetHash(source: ContentSource, options: ReadOptions = {}): Promise<string> {
  await initCore();
  const hasher = new XetHasher();
  try {
    for await (const block of readSource(source, options)) hasher.update(block);
  } catch (err) {
    hasher.free();
    throw err;
  }
  return hasher.finish();
}
