/**
 * The Rust core, compiled to WebAssembly: loading, and typed wrappers whose errors are `XetCoreError`s.
 *
 * The core is sans-IO: bytes in, bytes and records out. Everything here is synchronous once the module is
 * initialised with `initCore()` (idempotent; the public API calls it for you).
 *
 * Conventions: hashes are Xet hex strings (64 lowercase characters, xet-protocol.md §3.2) unless a name
 * says `raw`; "packed hashes" are a Uint8Array of 32 × n raw hash bytes.
 *
 * Records (`FileResult`, `XorbResult`, `DecodedChunks`, `ParsedShard`, …) arrive from the core as plain
 * objects; their interfaces are generated from the Rust structs of src/wasm.rs into the glue's `.d.ts` and
 * re-exported here. So are the protocol constants (`MAX_XORB_CHUNKS`, `ZERO_HASH`, …): the glue defines them
 * as frozen objects, readable before the module is loaded.
 *
 * @module xet-buckets/core
 */
import { readCoreWasm } from "#platform";
import initWasm, * as wasm from "./wasm/xet_core.js";
import { isArrayBuffer } from "../buffers.js";
import { InvalidArgumentError, XetBucketsError, XetCoreError, type ErrorCode } from "../errors.js";
import {
  decodeInCore,
  invalidSegment,
  packDecoded,
  prepareInCore,
  readCoreError,
  readDecoded,
  unpackChunks,
  type ChunkInfo,
  type ChunkViews,
  type DecodedRecords,
  type SegmentSpec,
  type WorkerAbi,
} from "./packed.js";

export { unpackChunks, type ChunkInfo, type DecodedRecords, type SegmentSpec } from "./packed.js";
export { isXetHash } from "../hex.js";

/** What `initCore` accepts: a URL of the `.wasm` file, a fetch `Response`, its bytes, or a compiled module. */
export type CoreInput = URL | string | Response | BufferSource | WebAssembly.Module;

let initialized = false;
let pending: Promise<void> | undefined;
/** The compiled module, when known (chunking workers instantiate it too). */
let compiled: WebAssembly.Module | undefined;
/** Where the module was fetched from, when it was loaded from a URL. */
let loadedFrom: URL | string | undefined;

/** The plain exports of the worker ABI (src/wasm.rs), used on this thread by `prepareSegmentInto`. */
let raw: WorkerAbi | undefined;

function isBufferSource(x: unknown): x is BufferSource {
  return isArrayBuffer(x) || ArrayBuffer.isView(x);
}

/** The `.wasm` file next to this module (the web build points this at its copy of the file). */
const defaultWasmUrl = (): URL => new URL("./wasm/xet_core_bg.wasm", import.meta.url);

/**
 * Loads the WebAssembly core once. Without an argument it reads the `.wasm` file next to this module
 * (from disk in Node, Bun and Deno; with `fetch` elsewhere). Edge runtimes that forbid compiling from
 * bytes (Cloudflare Workers, Vercel Edge) pass the `WebAssembly.Module` they imported.
 */
export function initCore(input?: CoreInput): Promise<void> {
  if (initialized) return Promise.resolve();
  pending ??= (async () => {
    if (input instanceof WebAssembly.Module) {
      compiled = input;
      raw = (await initWasm({ module_or_path: input })) as unknown as WorkerAbi;
    } else if (isBufferSource(input)) {
      compiled = await WebAssembly.compile(input);
      raw = (await initWasm({ module_or_path: compiled })) as unknown as WorkerAbi;
    } else if (input !== undefined) {
      if (typeof input === "string" || input instanceof URL) loadedFrom = input;
      raw = (await initWasm({ module_or_path: input })) as unknown as WorkerAbi;
    } else {
      // Node, Deno and Bun read the file from disk (the platform); elsewhere the glue fetches it.
      const bytes = await readCoreWasm(defaultWasmUrl());
      if (bytes) {
        compiled = new WebAssembly.Module(bytes);
        raw = wasm.initSync({ module: compiled }) as unknown as WorkerAbi;
      } else {
        raw = (await initWasm()) as unknown as WorkerAbi;
      }
    }
    initialized = true;
  })().catch((err: unknown) => {
    pending = undefined;
    throw loadFailed(err);
  });
  return pending;
}

function loadFailed(err: unknown): XetBucketsError {
  return new XetBucketsError(
    "CORE_LOAD_FAILED",
    `could not load the xet-buckets WebAssembly core: ${(err as Error)?.message ?? err}. ` +
      "Pass the .wasm URL, bytes or a compiled WebAssembly.Module to initCore() if your runtime cannot find it.",
    { cause: err },
  );
}

/** Initialises the core synchronously from the module's bytes or a compiled module. */
export function initCoreSync(input: BufferSource | WebAssembly.Module): void {
  if (!(input instanceof WebAssembly.Module) && !isBufferSource(input)) {
    throw new InvalidArgumentError("initCoreSync needs the core's bytes (an ArrayBuffer or a view) or a compiled WebAssembly.Module");
  }
  if (initialized) return;
  try {
    const module = input instanceof WebAssembly.Module ? input : new WebAssembly.Module(input);
    raw = wasm.initSync({ module }) as unknown as WorkerAbi;
    compiled = module;
  } catch (err) {
    throw loadFailed(err);
  }
  initialized = true;
}

/**
 * The compiled core module, for chunking workers that instantiate it themselves (js/src/pool). Known
 * when the core was loaded from a module, from bytes, or from disk (Node); otherwise compiled here once
 * from the URL the core was loaded from (or the default `.wasm` file next to this module).
 */
export async function coreModule(): Promise<WebAssembly.Module> {
  await initCore();
  if (compiled) return compiled;
  const url = loadedFrom ?? defaultWasmUrl();
  try {
    const res = await fetch(url);
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    compiled = await WebAssembly.compile(await res.arrayBuffer());
  } catch (err) {
    throw new XetBucketsError(
      "CORE_LOAD_FAILED",
      `could not fetch the xet-buckets WebAssembly core for workers: ${(err as Error)?.message ?? err}`,
      {
        cause: err,
      },
    );
  }
  return compiled;
}

/** True once the core is loaded (`initCore` resolved, or `initCoreSync` returned). */
export function isCoreReady(): boolean {
  return initialized;
}

function assertReady(): void {
  if (!initialized) {
    throw new XetBucketsError("CORE_NOT_INITIALIZED", "the WebAssembly core is not loaded: `await initCore()` first");
  }
}

/** Converts an error thrown by the core into a `XetCoreError` (other errors pass through). */
export function toCoreError(err: unknown): unknown {
  if (err instanceof XetCoreError) return err;
  if (err instanceof Error && err.name === "XetCoreError") {
    const code = (err as Error & { code?: unknown }).code;
    return new XetCoreError(typeof code === "string" ? (code as ErrorCode) : "CORE_ERROR", err.message);
  }
  if (err instanceof WebAssembly.RuntimeError) {
    return new XetCoreError("CORE_PANIC", `internal error in the WebAssembly core: ${err.message}`);
  }
  return err;
}

/** Runs `fn` against the loaded core, converting its errors. */
export function guard<T>(fn: () => T): T {
  assertReady();
  try {
    return fn();
  } catch (err) {
    throw toCoreError(err);
  }
}

// ---------------------------------------------------------------------------------------------
// Protocol constants (from src/wasm.rs, checked there against the core's own)
// ---------------------------------------------------------------------------------------------

/** Bytes of a raw hash. */
export const HASH_BYTES: number = wasm.HashSize.Bytes;
/** The hash of nothing: the file id of an empty file (Xet hex, 64 zeros). */
export const ZERO_HASH: string = "0".repeat(wasm.HashSize.HexDigits);
/** Smallest chunk the chunker cuts (except the last of a file). */
export const MIN_CHUNK_BYTES: number = wasm.ChunkSize.Min;
/** Target (average) chunk size. */
export const TARGET_CHUNK_BYTES: number = wasm.ChunkSize.Target;
/** Largest chunk. */
export const MAX_CHUNK_BYTES: number = wasm.ChunkSize.Max;
/** Largest xorb, raw and serialized, as written (default and maximum of `maxXorbBytes`). */
export const MAX_XORB_BYTES: number = wasm.XorbLimit.MaxBytes;
/** Most chunks per xorb. */
export const MAX_XORB_CHUNKS: number = wasm.XorbLimit.MaxChunks;
/** Largest upload shard. */
export const MAX_SHARD_BYTES: number = wasm.ShardLimit.MaxBytes;
/** `takePlacements` value of a deduplicated chunk. */
export const PLACED_DEDUP: number = wasm.Placement.Dedup;
/** File bytes per ingestion block of an `UploadSession` by default (8 MiB: chunks of a block wait for its dedup answers). */
export const DEFAULT_BLOCK_BYTES: number = wasm.UploadDefault.BlockBytes;
/** Compression code of a segment prepared without records (boundaries and hashes only). */
export const HASHES_ONLY: number = wasm.Compression.HashesOnly;

// ---------------------------------------------------------------------------------------------
// Stateless helpers
// ---------------------------------------------------------------------------------------------

// Each throws `XetBucketsError` CORE_NOT_INITIALIZED before `initCore`, and `XetCoreError` on malformed input.

/** The core's name and version, `"xet-core-rs <version>"` (stamped on resume states). */
export const coreVersion = (): string => guard(() => wasm.coreVersion());
/** The Xet hash of one chunk's bytes (keyed BLAKE3), as Xet hex. */
export const chunkHash = (data: Uint8Array): string => guard(() => wasm.chunkHash(data));
/**
 * A xorb's hash (the merkle root of its chunks): `hashes` packs the raw 32-byte chunk hashes, `lengths` the
 * chunk lengths in bytes, in order.
 */
export const xorbHashFromChunks = (hashes: Uint8Array, lengths: Uint32Array): string =>
  guard(() => wasm.xorbHashFromChunks(hashes, lengths));
/**
 * A file's Xet hash (its `xetHash`) from its chunks: packed raw 32-byte hashes and lengths in bytes, in
 * file order (64 zeros for none).
 */
export const fileHashFromChunks = (hashes: Uint8Array, lengths: Uint32Array): string =>
  guard(() => wasm.fileHashFromChunks(hashes, lengths));
/** The verification hash of a shard term: packed raw 32-byte hashes of the term's chunks. */
export const verificationHash = (hashes: Uint8Array): string => guard(() => wasm.verificationHash(hashes));
/** Xet hex (64 digits, upper case accepted) → the hash's 32 raw bytes. */
export const hexToRaw = (hex: string): Uint8Array => guard(() => wasm.hexToRaw(hex));
/** A hash's 32 raw bytes → Xet hex (64 lower-case digits). */
export const rawToHex = (raw: Uint8Array): string => guard(() => wasm.rawToHex(raw));
/** True for the chunk hashes a client may ask the CAS about (global dedup): `hash % 1024 == 0`. */
export const isGlobalDedupEligible = (hex: string): boolean => guard(() => wasm.isGlobalDedupEligible(hex));

// ---------------------------------------------------------------------------------------------
// Stateful objects. Each owns WebAssembly memory: call free() (or use `using`) when done early;
// finishing them frees nothing by itself, but the finalizer reclaims memory eventually.
// ---------------------------------------------------------------------------------------------

/** Streaming content-defined chunker (current Xet rule): any split of the input gives the same chunks. */
export class Chunker {
  #inner = guard(() => new wasm.Chunker());
  /** Feeds bytes; returns the chunks this call completed. */
  update(data: Uint8Array): ChunkInfo[] {
    return unpackChunks(guard(() => this.#inner.update(data)));
  }
  /** Ends the input; returns the last chunk, if any. */
  finish(): ChunkInfo[] {
    return unpackChunks(guard(() => this.#inner.finish()));
  }
  /** Releases the chunker's WebAssembly memory now (it cannot be used afterwards). */
  free(): void {
    this.#inner.free();
  }
}

/** Bytes of a large `XetHasher.update` copied into the core and hashed at a time (well inside a CPU's L2 cache). */
const UPDATE_PIECE_BYTES = 256 * 1024;

/** Streaming Xet file hash (file id): chunk, hash, merkle root, keyed file hash. */
export class XetHasher {
  #inner = guard(() => new wasm.XetHasher());
  /** Bytes the last `input` view holds. */
  #inputLength = 0;
  /** Feeds the next bytes of the file (any split gives the same hash). */
  update(data: Uint8Array): void {
    if (data.length <= UPDATE_PIECE_BYTES) {
      guard(() => this.#inner.update(data));
      return;
    }
    // A piece at a time through the core's input buffer, so that each is hashed while the copy is still in the
    // CPU cache (8 MiB copied at once is read back from memory: 3-7 % slower, measured).
    for (let at = 0; at < data.length; at += UPDATE_PIECE_BYTES) {
      const piece = data.subarray(at, at + UPDATE_PIECE_BYTES);
      this.input(piece.length).set(piece);
      guard(() => this.#inner.updateInput(piece.length));
    }
    // The view an earlier input() returned now holds other bytes.
    this.#inputLength = 0;
  }
  /**
   * A view of `length` bytes of the core's own input buffer, to fill in place (a file read straight into it)
   * and then feed with `updateInput`: `update` copies its argument into the core first, this does not. The
   * buffer is the one the chunking workers read files into; one per core instance, shared by every hasher on
   * this thread, so the view is valid until the next call into the core: fill it, then call `updateInput`
   * before anything else runs (no `await` in between).
   */
  input(length: number): Uint8Array {
    if (!(Number.isSafeInteger(length) && length >= 0 && length <= 0x7fff_ffff)) {
      throw new InvalidArgumentError(`input length must be an integer from 0 to 2^31 - 1, got ${length}`);
    }
    const at = guard(() => raw!.xb_input(length) >>> 0);
    const abi = raw!;
    this.#inputLength = length;
    return new Uint8Array(abi.memory.buffer, at, length);
  }
  /** Feeds the first `length` bytes of the view the last `input` call returned, as filled since. */
  updateInput(length: number): void {
    if (!(Number.isSafeInteger(length) && length >= 0 && length <= this.#inputLength)) {
      throw new InvalidArgumentError(`updateInput needs 0 to ${this.#inputLength} bytes (the last input() view), got ${length}`);
    }
    guard(() => this.#inner.updateInput(length));
  }
  /** The Xet file hash (64 zeros for empty input). The hasher cannot be used afterwards. */
  finish(): string {
    try {
      return guard(() => this.#inner.finish());
    } finally {
      this.#inner.free();
    }
  }
  /** Bytes hashed so far. */
  get bytes(): number {
    return this.#inner.bytes;
  }
  /** Chunks completed so far. */
  get chunks(): number {
    return this.#inner.chunks;
  }
  /** Releases the hasher's WebAssembly memory now, without finishing. */
  free(): void {
    this.#inner.free();
  }
}

/**
 * Compression policy for new chunks. `best` keeps the smallest of LZ4 and BG4-LZ4 (raw when neither helps); `auto`
 * (the default) the same, trying BG4-LZ4 only where the chunk's bytes look grouped by position (numeric arrays).
 */
export type CompressionPolicy = "none" | "lz4" | "bg4" | "best" | "auto";
const COMPRESSION: Record<CompressionPolicy, number> = {
  none: wasm.Compression.None,
  lz4: wasm.Compression.Lz4,
  bg4: wasm.Compression.Bg4,
  best: wasm.Compression.Best,
  auto: wasm.Compression.Auto,
};

/** Limits and compression of an `UploadSession`. */
export interface UploadSessionOptions {
  /**
   * Largest xorb: the sum of its chunk lengths (default and maximum 64 MiB); as hf_xet's, a body of chunks
   * stored raw exceeds it by their 8-byte record headers. Smaller values lower memory.
   */
  maxXorbBytes?: number;
  /** Most chunks per xorb (default and maximum 8192). */
  maxXorbChunks?: number;
  /** Largest upload shard (default and maximum 64 MiB). */
  maxShardBytes?: number;
  /** How new chunks are compressed in xorbs (default `best`). */
  compression?: CompressionPolicy;
  /**
   * File bytes per ingestion block (default `DEFAULT_BLOCK_BYTES`, 8 MiB): no chunk of a block is placed
   * before the block is complete and its dedup answers are in, so an answer also deduplicates the chunks of
   * its block before the queried one (as hf_xet re-runs a block). 0: every chunk its own block.
   */
  blockBytes?: number;
  /** Chunks with `hash % probeModulus == 0` become probes for a local cache (`takeProbes`); default 0: none. */
  probeModulus?: number;
}

export type { FileResult, XorbResult, SessionStats } from "./wasm/xet_core.js";

/**
 * The upload state machine: file bytes in → new xorbs + file records + upload shards out.
 * Global dedup is driven by the caller: `takeQueries()` lists chunk hashes to ask the CAS about (and
 * `takeProbes()` those to look up in a local cache only); each answer (a dedup shard, or `undefined` for a
 * miss) goes back through `answerQuery()`. Until then the session holds the chunks of the queried chunk's
 * ingestion block and those after it (`pendingBytes`).
 */
export class UploadSession {
  #inner: wasm.UploadSession;

  constructor(options: UploadSessionOptions = {}) {
    const maxXorbBytes = options.maxXorbBytes ?? MAX_XORB_BYTES;
    const maxXorbChunks = options.maxXorbChunks ?? MAX_XORB_CHUNKS;
    const maxShardBytes = options.maxShardBytes ?? MAX_SHARD_BYTES;
    const compression = compressionCode(options.compression);
    const blockBytes = options.blockBytes ?? DEFAULT_BLOCK_BYTES;
    const probeModulus = options.probeModulus ?? 0;
    this.#inner = guard(() => new wasm.UploadSession(maxXorbBytes, maxXorbChunks, maxShardBytes, compression, blockBytes, probeModulus));
  }

  /** Opens a file (one at a time). `withSha256`: also compute its SHA-256, reported in the file's result. */
  startFile(withSha256 = false): void {
    guard(() => this.#inner.startFile(withSha256));
  }
  /** Feeds the open file's next bytes. */
  push(data: Uint8Array): void {
    guard(() => this.#inner.push(data));
  }
  /**
   * Feeds chunks prepared elsewhere (`prepareSegment`, the chunking workers) in file order, whose records
   * the caller keeps: packed raw hashes, chunk lengths, record lengths. A session takes either these or
   * `push`. Where each resolved chunk went: `takePlacements`; the caller writes the records of new chunks
   * into the xorb bodies (`takeXorb` then returns empty `data`).
   */
  pushChunks(hashes: Uint8Array, lengths: Uint32Array, recordLengths: Uint32Array): void {
    guard(() => this.#inner.pushChunks(hashes, lengths, recordLengths));
  }
  /**
   * For each chunk resolved since the previous call, in file order: the id (0, 1, … in `takeXorb` order) of
   * the xorb a new chunk goes into, or `PLACED_DEDUP` for a deduplicated chunk.
   */
  takePlacements(): Uint32Array {
    return guard(() => this.#inner.takePlacements());
  }
  /**
   * Declares the end of the open file's input: cuts its last chunk (which may need a dedup query), so that
   * its queries can be answered before finishFile().
   */
  endInput(): void {
    guard(() => this.#inner.endInput());
  }
  /** The chunk hashes (Xet hex) to ask the CAS about since the previous call (global dedup queries). */
  takeQueries(): string[] {
    return guard(() => this.#inner.takeQueries());
  }
  /** Chunk hashes to look up in a local cache only (never the CAS), answered with `answerQuery`. */
  takeProbes(): string[] {
    return guard(() => this.#inner.takeProbes());
  }
  /** Learns the xorbs of a shard that answers no query (e.g. xorbs known to be stored); returns how many. */
  learnShard(shard: Uint8Array, nowUnixSecs = Date.now() / 1000): number {
    return guard(() => this.#inner.learnShard(shard, nowUnixSecs));
  }
  /** Seals the open file's newest ingestion block: its chunks stop waiting for later chunks (only for answers). */
  sealBlock(): void {
    guard(() => this.#inner.sealBlock());
  }
  /** Returns the number of xorbs learned from the shard. */
  answerQuery(chunkHash: string, shard: Uint8Array | undefined, nowUnixSecs = Date.now() / 1000): number {
    return guard(() => this.#inner.answerQuery(chunkHash, shard, nowUnixSecs));
  }
  /** Resolves the chunks that no unanswered query holds back (new or deduplicated), filling xorbs. */
  resolve(): void {
    guard(() => this.#inner.resolve());
  }
  /** Raw bytes of the open file held until queries are answered. */
  get pendingBytes(): number {
    return this.#inner.pendingBytes;
  }
  /** Queries not answered yet. */
  get outstandingQueries(): number {
    return this.#inner.outstandingQueries;
  }
  /**
   * Finishes the open file. `sha256` (plain hex): the file's SHA-256 computed by the caller, stored in the
   * shard (the LFS pointer of repository commits), for files fed with `pushChunks`, which never sees the bytes.
   */
  finishFile(sha256?: string): wasm.FileResult {
    return guard(() => this.#inner.finishFile(sha256));
  }
  /** The next closed xorb (its body copied out of WebAssembly memory), or undefined. */
  takeXorb(): wasm.XorbResult | undefined {
    return guard(() => this.#inner.takeXorb());
  }
  /** Closes the open xorb if it holds chunks (it is then returned by `takeXorb`). */
  flushXorb(): void {
    guard(() => this.#inner.flushXorb());
  }
  /** The next upload shard (file and xorb records, ≤ `maxShardBytes`), or undefined when all were taken. */
  takeShard(): Uint8Array | undefined {
    return guard(() => this.#inner.takeShard());
  }
  /** The session's counters (bytes new, deduplicated, xorbs, queries…). */
  stats(): wasm.SessionStats {
    return guard(() => this.#inner.stats());
  }
  /** Releases the session's WebAssembly memory now (it cannot be used afterwards). */
  free(): void {
    this.#inner.free();
  }
}

/** The core's number for a compression policy (the numbering of `prepareSegment` and the workers). */
export function compressionCode(policy: CompressionPolicy | undefined): number {
  const code = Object.hasOwn(COMPRESSION, policy ?? "auto") ? COMPRESSION[policy ?? "auto"] : undefined;
  if (code === undefined)
    throw new InvalidArgumentError(`unknown compression ${JSON.stringify(policy)}: use "none", "lz4", "bg4", "best" or "auto"`);
  return code;
}

/**
 * Prepares one segment of a file on this thread: chunk boundaries, hashes and records (src/prepare.rs).
 * Returns the packed result (`PreparedSegment` in ./packed.ts reads it) in its own ArrayBuffer.
 */
export function prepareSegment(data: Uint8Array, spec: SegmentSpec): ArrayBuffer {
  const out = guard(() => wasm.prepareSegment(data, spec.start, spec.emitFrom, spec.seam, spec.seamChain, spec.compression));
  return out.byteOffset === 0 && out.byteLength === out.buffer.byteLength
    ? (out.buffer as ArrayBuffer)
    : (out.slice().buffer as ArrayBuffer);
}

/**
 * `prepareSegment` into a reusable buffer (what the chunking workers do, on this thread): the packed
 * result is written into `spare` when it is large enough, else into a new buffer of at least `minSize`
 * bytes. A fresh multi-MiB ArrayBuffer costs about as much as preparing its bytes (zeroing, page faults),
 * hence the reuse. Returns the buffer and the packed length.
 */
export function prepareSegmentInto(
  data: Uint8Array,
  spec: SegmentSpec,
  spare?: ArrayBuffer,
  minSize = 0,
): {
  /** The buffer holding the packed result (`spare` or a new one). */
  packed: ArrayBuffer;
  /** Bytes of `packed` the result occupies. */
  length: number;
} {
  assertReady();
  const r = raw;
  if (!r || typeof r.xb_prepare !== "function") {
    const packed = prepareSegment(data, spec);
    return { packed, length: packed.byteLength };
  }
  const ptr = r.xb_input(data.length) >>> 0;
  new Uint8Array(r.memory.buffer, ptr, data.length).set(data);
  const out = prepareInCore(r, data.length, spec);
  if (!out) throw new XetCoreError("INVALID_ARGUMENT", invalidSegment(spec, data.length));
  const length = out.length;
  const packed = spare && spare.byteLength >= length ? spare : new ArrayBuffer(Math.max(length, minSize));
  new Uint8Array(packed, 0, length).set(out);
  return { packed, length };
}

// ---------------------------------------------------------------------------------------------
// Download side
// ---------------------------------------------------------------------------------------------

export type { DecodedChunks } from "./wasm/xet_core.js";

/** Decodes a run of serialized chunk records (a fetched xorb range) and hashes every chunk. */
export function decodeChunkRecords(bytes: Uint8Array): wasm.DecodedChunks {
  return guard(() => wasm.decodeChunkRecords(bytes));
}

/** What `decodeRecordsInto` wrote. */
export interface DecodedInto {
  /** The buffer holding the result: `out` when it fitted, else a new one. */
  packed: ArrayBuffer;
  /** The chunks, their lengths and hashes: views of `packed`. */
  decoded: DecodedRecords;
}

/**
 * `decodeChunkRecords` into a buffer the caller keeps: the records copied once into the core's input buffer,
 * decoded there (a raw chunk stays where it is), and the chunks, their lengths and hashes written into `out`
 * when it fits (else a new buffer, a multiple of 64 KiB). What the chunking workers do, on this thread: no
 * buffer per batch for the collector, no copy through a fresh `Uint8Array`.
 */
export function decodeRecordsInto(bytes: Uint8Array, out?: ArrayBuffer): DecodedInto {
  assertReady();
  const abi = raw!;
  let views: ChunkViews | undefined;
  try {
    views = decodeInCore(abi, bytes);
  } catch (err) {
    throw toCoreError(err);
  }
  if (!views) {
    const { code, message } = readCoreError(abi);
    throw new XetCoreError((code || "CORE_ERROR") as ErrorCode, message);
  }
  const { packed } = packDecoded(abi.memory.buffer, views, out, true);
  return { packed, decoded: readDecoded(packed) };
}

/** Accumulates chunk hashes in file order and computes the file hash (to verify whole-file downloads). */
export class FileHashBuilder {
  #inner = guard(() => new wasm.FileHashBuilder());
  /** Adds the next chunks in file order: packed raw 32-byte hashes and their lengths in bytes. */
  addChunks(hashes: Uint8Array, lengths: Uint32Array): void {
    guard(() => this.#inner.addChunks(hashes, lengths));
  }
  /** The file's Xet hash; the builder cannot be used afterwards. */
  finish(): string {
    try {
      return guard(() => this.#inner.finish());
    } finally {
      this.#inner.free();
    }
  }
}

/** An incremental SHA-256 in the core (runtimes without a native one: browsers, edge). */
export class Sha256Hasher {
  #inner = guard(() => new wasm.Sha256Hasher());
  /** Adds the next bytes of the message. */
  update(data: Uint8Array): void {
    guard(() => this.#inner.update(data));
  }
  /** The digest as plain hex; frees the hasher. */
  digest(): string {
    try {
      return guard(() => this.#inner.finish());
    } finally {
      this.#inner.free();
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Server side (the local hub validates everything it receives with these)
// ---------------------------------------------------------------------------------------------

export type { XorbInfo, ParsedShard, ShardFile, ShardTerm, ShardXorb, ShardXorbChunk, ShardFooter } from "./wasm/xet_core.js";

/** Decodes and verifies an uploaded xorb body against the hash it was uploaded under. */
export function parseXorb(bytes: Uint8Array, expectedHash: string): wasm.XorbInfo {
  const v = new XorbVerifier(expectedHash);
  try {
    v.update(bytes);
    return v.finish();
  } finally {
    v.free();
  }
}

/**
 * Verifies an uploaded xorb body part by part as it arrives: `finish` gives what `parseXorb` gives for the
 * whole body (the same errors, as `XetCoreError`), without the body held or copied whole into the core.
 */
export class XorbVerifier {
  readonly #inner: wasm.XorbVerifier;
  #freed = false;
  /** A verifier of a body uploaded as the xorb `expectedHash`. */
  constructor(expectedHash: string) {
    this.#inner = guard(() => new wasm.XorbVerifier(expectedHash));
  }
  /** The next bytes of the body (copied into the core; every record they complete is verified now). */
  update(part: Uint8Array): void {
    this.#inner.update(part);
  }
  /** The body ended: its chunks, or the error its whole body gives. Once only. */
  finish(): wasm.XorbInfo {
    return guard(() => this.#inner.finish());
  }
  /** Releases its WebAssembly memory (it cannot be used afterwards). */
  free(): void {
    if (this.#freed) return;
    this.#freed = true;
    this.#inner.free();
  }
}

/** Parses an upload shard or a full shard (with footer). Structural errors throw `XetCoreError`. */
export function parseShard(bytes: Uint8Array): wasm.ParsedShard {
  return guard(() => wasm.parseShard(bytes));
}

/** One dedup-cache entry of an upload (`uploadCacheEntries`). */
export interface UploadCacheEntry {
  /** A dedup-answer shard of some of the upload's xorbs (plain chunk hashes). */
  shard: Uint8Array;
  /** The chunks that key the entry (Xet hex): each xorb's first chunk, the probe chunks, each file's first chunk. */
  keyChunks: string[];
  /** The entry's xorbs (Xet hex). */
  xorbs: string[];
}

/**
 * The xorbs of an upload's shards regrouped into dedup-cache entries of at most `maxChunks` chunks, with their
 * keys (chunks with `hash % probeModulus == 0` among them), in one pass of the core: only the keys and the
 * xorbs come back to JavaScript as hashes, not every chunk. Bytes that are not a shard are skipped.
 */
export function uploadCacheEntries(
  shards: Uint8Array[],
  maxChunks: number,
  probeModulus: number,
  createdAtSecs: number,
): UploadCacheEntry[] {
  const all = new Uint8Array(shards.reduce((a, s) => a + s.length, 0));
  const ends = new Uint32Array(shards.length);
  let at = 0;
  shards.forEach((s, i) => {
    all.set(s, at);
    ends[i] = at += s.length;
  });
  const packed = guard(() => wasm.uploadCacheEntries(all, ends, maxChunks, probeModulus, createdAtSecs));
  const v = new DataView(packed.buffer, packed.byteOffset, packed.byteLength);
  const hashes = (from: number, n: number) =>
    Array.from({ length: n }, (_, i) => rawToHex(packed.subarray(from + 32 * i, from + 32 * i + 32)));
  const out: UploadCacheEntry[] = [];
  for (let p = 0; p < packed.length;) {
    const [size, keys, xorbs] = [v.getUint32(p, true), v.getUint32(p + 4, true), v.getUint32(p + 8, true)];
    p += 12;
    out.push({ shard: packed.slice(p, p + size), keyChunks: hashes(p + size, keys), xorbs: hashes(p + size + 32 * keys, xorbs) });
    p += size + 32 * (keys + xorbs);
  }
  return out;
}

/** Builds a global-dedup answer shard (xet-protocol.md §5.8). */
export class DedupShardBuilder {
  #inner = guard(() => new wasm.DedupShardBuilder());
  /** Adds a stored xorb: its hash, packed raw chunk hashes, chunk lengths, and its serialized size in bytes. */
  addXorb(hash: string, chunkHashes: Uint8Array, chunkLengths: Uint32Array, bytesOnDisk: number): void {
    guard(() => this.#inner.addXorb(hash, chunkHashes, chunkLengths, bytesOnDisk));
  }
  /** `hmacKey`: 32 raw bytes to key the chunk hashes with, or undefined for plain hashes. */
  finish(hmacKey: Uint8Array | undefined, createdAtSecs: number, expirySecs: number): Uint8Array {
    try {
      return guard(() => this.#inner.finish(hmacKey, createdAtSecs, expirySecs));
    } finally {
      this.#inner.free();
    }
  }
}
