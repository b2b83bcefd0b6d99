/**
 * Content sources: everything the public API accepts as file content, read as a stream of byte blocks.
 * Memory is bounded by the block size whatever the source size; nothing is read twice.
 *
 * Local files (paths, `file:` URLs) are read through the platform (`#platform`): Node, Deno and Bun have them;
 * elsewhere they are refused with a clear error.
 */
import { localFiles } from "#platform";
import type { LocalFiles } from "./platform/types.js";
import { asBytes } from "./buffers.js";
import { InvalidArgumentError, XetBucketsError } from "./errors.js";

/** Anything the API accepts as content. Strings and `file:` URLs are local paths (Node, Bun, Deno). */
export type ContentSource =
  Uint8Array | ArrayBuffer | Blob | ReadableStream<Uint8Array> | AsyncIterable<Uint8Array> | Iterable<Uint8Array> | URL | string;

/** Default read block: large enough to amortise calls into WebAssembly, small enough to bound memory. */
const DEFAULT_BLOCK_BYTES = 8 * 1024 * 1024;

/** How a content source is read. */
export interface ReadOptions {
  /** Largest block yielded (default 8 MiB). */
  blockBytes?: number;
  /** Stops reading; the read rejects with the signal's reason. */
  abortSignal?: AbortSignal;
}

/**
 * Reads a source as a sequence of blocks. A yielded block is only valid until the next iteration step
 * (path sources reuse one buffer): consume or copy it before asking for the next. A Blob or a stream that
 * fails is a READ_FAILED `XetBucketsError` (its error as the `cause`); a local file, a `LocalFileError`.
 */
export async function* readSource(source: ContentSource, options: ReadOptions = {}): AsyncGenerator<Uint8Array> {
  const block = options.blockBytes ?? DEFAULT_BLOCK_BYTES;
  if (!(Number.isInteger(block) && block > 0)) throw new InvalidArgumentError(`blockBytes must be a positive integer, got ${block}`);
  const signal = options.abortSignal;
  signal?.throwIfAborted();
  // Bytes of any realm (an iframe's, a vm context's): see buffers.ts.
  const bytes = asBytes(source);
  if (bytes) {
    for (let off = 0; off < bytes.length; off += block) {
      signal?.throwIfAborted();
      yield bytes.subarray(off, Math.min(off + block, bytes.length));
    }
    return;
  }
  if (typeof source === "string" || source instanceof URL) {
    if (source instanceof URL && source.protocol !== "file:") {
      throw new InvalidArgumentError(`only file: URLs can be read as content, got ${source.protocol} (${source.href})`);
    }
    yield* localFilesFor("local paths and file: URLs").readBlocks(source, block, signal);
    return;
  }
  try {
    yield* readOther(source, block, signal);
  } catch (err) {
    if (signal?.aborted) throw signal.reason;
    if (err instanceof XetBucketsError) throw err;
    throw new XetBucketsError("READ_FAILED", `the content could not be read: ${(err as Error)?.message ?? err}`, { cause: err });
  }
}

/** Blobs, streams and iterables (the sources whose failures are not this package's errors). */
async function* readOther(source: ContentSource, block: number, signal: AbortSignal | undefined): AsyncGenerator<Uint8Array> {
  if (typeof Blob !== "undefined" && source instanceof Blob) {
    // Explicit slices keep each read bounded and work with lazy blobs (e.g. remote Blobs).
    for (let off = 0; off < source.size; off += block) {
      signal?.throwIfAborted();
      yield new Uint8Array(await source.slice(off, Math.min(off + block, source.size)).arrayBuffer());
    }
    return;
  }
  if (typeof ReadableStream !== "undefined" && source instanceof ReadableStream) {
    const reader = source.getReader();
    try {
      for (;;) {
        signal?.throwIfAborted();
        const { done, value } = await reader.read();
        if (done) return;
        yield* splitBlock(toBytes(value), block);
      }
    } finally {
      reader.releaseLock();
    }
  }
  if (isAsyncIterable(source)) {
    for await (const value of source) {
      signal?.throwIfAborted();
      yield* splitBlock(toBytes(value), block);
    }
    return;
  }
  if (isIterable(source)) {
    for (const value of source) {
      signal?.throwIfAborted();
      yield* splitBlock(toBytes(value), block);
    }
    return;
  }
  throw new InvalidArgumentError(
    `unsupported content source (${Object.prototype.toString.call(source)}): pass a Uint8Array, ArrayBuffer, Blob/File, ReadableStream, (async) iterable of Uint8Array, a file: URL or a local path`,
  );
}

function* splitBlock(bytes: Uint8Array, block: number): Generator<Uint8Array> {
  for (let off = 0; off < bytes.length; off += block) yield bytes.subarray(off, Math.min(off + block, bytes.length));
}

function toBytes(value: unknown): Uint8Array {
  const bytes = asBytes(value);
  if (bytes) return bytes;
  if (ArrayBuffer.isView(value)) return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
  if (typeof value === "string") return new TextEncoder().encode(value);
  throw new InvalidArgumentError(`a content stream yielded ${Object.prototype.toString.call(value)}, expected bytes`);
}

function isAsyncIterable(x: unknown): x is AsyncIterable<unknown> {
  return x != null && typeof (x as AsyncIterable<unknown>)[Symbol.asyncIterator] === "function";
}

function isIterable(x: unknown): x is Iterable<unknown> {
  return x != null && typeof (x as Iterable<unknown>)[Symbol.iterator] === "function";
}

/**
 * The runtime's local files, for `what` needs them; an `InvalidArgumentError` saying so where the runtime has
 * none (browsers, Web Workers, edge runtimes).
 */
export function localFilesFor(what: string): LocalFiles {
  if (!localFiles) {
    throw new InvalidArgumentError(
      `${what} can only be used in Node, Deno and Bun (this runtime has no local files): pass Blobs, bytes or streams instead`,
    );
  }
  return localFiles;
}

/** A local file (Node): a path, or a `file:` URL. */
export function isLocalPath(source: unknown): source is string | URL {
  return typeof source === "string" || (source instanceof URL && source.protocol === "file:");
}
