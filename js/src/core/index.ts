/**
 * The Rust core, compiled to WebAssembly: loading, and typed wrappers whose errors are `XetCoreError`s.
 *
 * The core is sans-IO: bytes in, bytes and records out. Everything here is synchronous once the module is
 * initialised with `initCore()` (idempotent; the public API calls it for you).
 *
 * Conventions: hashes are Xet hex strings (64 lowercase characters, xet-protocol.md §3.2) unless a name
 * says `raw`; "packed hashes" are a Uint8Array of 32 × n raw hash bytes.
 */
import initWasm, * as wasm from "./wasm/xet_core.js";
import { XetBucketsError, XetCoreError } from "../errors.js";

/** What `initCore` accepts: a URL of the `.wasm` file, a fetch `Response`, its bytes, or a compiled module. */
export type CoreInput = URL | string | Response | BufferSource | WebAssembly.Module;

let initialized = false;
let pending: Promise<void> | undefined;
/** The compiled module, when known (chunking workers instantiate it too). */
let compiled: WebAssembly.Module | undefined;
/** Where the module was fetched from, when it was loaded from a URL. */
let loadedFrom: URL | string | undefined;

/** The plain exports of the worker ABI (src/wasm.rs), used on this thread by `prepareSegmentInto`. */
interface RawExports {
  memory: WebAssembly.Memory;
  xb_input(len: number): number;
  xb_prepare(len: number, start: number, emitFrom: number, seam: number, seamChain: number, compression: number): number;
}
let raw: RawExports | undefined;

function isBufferSource(x: unknown): x is BufferSource {
  return x instanceof ArrayBuffer || ArrayBuffer.isView(x);
}

/** The `.wasm` file next to this module (the web build points this at its copy of the file). */
const defaultWasmUrl = (): URL => new URL("./wasm/xet_core_bg.wasm", import.meta.url);

function isNode(): boolean {
  const p = (globalThis as { process?: { versions?: { node?: string; bun?: string } } }).process;
  return typeof p?.versions?.node === "string";
}

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
      raw = (await initWasm({ module_or_path: input })) as unknown as RawExports;
    } else if (isBufferSource(input)) {
      compiled = await WebAssembly.compile(input);
      raw = (await initWasm({ module_or_path: compiled })) as unknown as RawExports;
    } else if (input !== undefined) {
      if (typeof input === "string" || input instanceof URL) loadedFrom = input;
      raw = (await initWasm({ module_or_path: input })) as unknown as RawExports;
    } else if (isNode()) {
      const fs = "node:fs/promises";
      const { readFile } = (await import(/* @vite-ignore */ fs)) as typeof import("node:fs/promises");
      const bytes = await readFile(defaultWasmUrl());
      compiled = new WebAssembly.Module(bytes);
      raw = wasm.initSync({ module: compiled }) as unknown as RawExports;
    } else {
      raw = (await initWasm()) as unknown as RawExports;
    }
    initialized = true;
  })().catch((err: unknown) => {
    pending = undefined;
    throw new XetBucketsError(
      "CORE_LOAD_FAILED",
      `could not load the xet-buckets WebAssembly core: ${(err as Error)?.message ?? err}. ` +
        "Pass the .wasm URL, bytes or a compiled WebAssembly.Module to initCore() if your runtime cannot find it.",
      { cause: err },
    );
  });
  return pending;
}

/** Initialises the core synchronously from the module's bytes or a compiled module. */
export function initCoreSync(input: BufferSource | WebAssembly.Module): void {
  if (initialized) return;
  const module = input instanceof WebAssembly.Module ? input : new WebAssembly.Module(input);
  raw = wasm.initSync({ module }) as unknown as RawExports;
  compiled = module;
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
  const res = await fetch(url);
  if (!res.ok)
    throw new XetBucketsError("CORE_LOAD_FAILED", `could not fetch the xet-buckets WebAssembly core for workers: HTTP ${res.status}`);
  compiled = await WebAssembly.compile(await res.arrayBuffer());
  return compiled;
}

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
    return new XetCoreError(typeof code === "string" ? code : "CORE_ERROR", err.message);
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
// Stateless helpers
// ---------------------------------------------------------------------------------------------

export const HASH_BYTES = 32;
export const ZERO_HASH = "0".repeat(64);

export const coreVersion = (): string => guard(() => wasm.coreVersion());
export const chunkHash = (data: Uint8Array): string => guard(() => wasm.chunkHash(data));
export const xorbHashFromChunks = (hashes: Uint8Array, lengths: Uint32Array): string =>
  guard(() => wasm.xorbHashFromChunks(hashes, lengths));
export const fileHashFromChunks = (hashes: Uint8Array, lengths: Uint32Array): string =>
  guard(() => wasm.fileHashFromChunks(hashes, lengths));
export const verificationHash = (hashes: Uint8Array): string => guard(() => wasm.verificationHash(hashes));
export const hexToRaw = (hex: string): Uint8Array => guard(() => wasm.hexToRaw(hex));
export const rawToHex = (raw: Uint8Array): string => guard(() => wasm.rawToHex(raw));
export const isGlobalDedupEligible = (hex: string): boolean => guard(() => wasm.isGlobalDedupEligible(hex));

/** True for a 64-character Xet hex hash (either case). Cheap check for input validation. */
export function isXetHash(s: unknown): s is string {
  return typeof s === "string" && /^[0-9a-fA-F]{64}$/.test(s);
}

/** A chunk as reported by the chunker. */
export interface ChunkInfo {
  /** Raw 32-byte chunk hash. */
  hashRaw: Uint8Array;
  length: number;
}

/** Unpacks the chunker's packed output (36 bytes per chunk: 32 raw hash bytes + u32 LE length). */
export function unpackChunks(packed: Uint8Array): ChunkInfo[] {
  const out: ChunkInfo[] = [];
  const view = new DataView(packed.buffer, packed.byteOffset, packed.byteLength);
  for (let off = 0; off + 36 <= packed.length; off += 36) {
    out.push({ hashRaw: packed.slice(off, off + 32), length: view.getUint32(off + 32, true) });
  }
  return out;
}

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
  free(): void {
    this.#inner.free();
  }
}

/** Streaming Xet file hash (file id): chunk, hash, merkle root, keyed file hash. */
export class XetHasher {
  #inner = guard(() => new wasm.XetHasher());
  update(data: Uint8Array): void {
    guard(() => this.#inner.update(data));
  }
  /** The Xet file hash (64 zeros for empty input). The hasher cannot be used afterwards. */
  finish(): string {
    try {
      return guard(() => this.#inner.finish());
    } finally {
      this.#inner.free();
    }
  }
  get bytes(): number {
    return this.#inner.bytes;
  }
  get chunks(): number {
    return this.#inner.chunks;
  }
  free(): void {
    this.#inner.free();
  }
}

/** Compression policy for new chunks. `best` keeps the smallest of LZ4 and BG4-LZ4 (raw when neither helps). */
export type CompressionPolicy = "none" | "lz4" | "bg4" | "best";
const COMPRESSION: Record<CompressionPolicy, number> = { none: 0, lz4: 1, bg4: 2, best: 3 };

export interface UploadSessionOptions {
  /** Largest xorb, raw and serialized (default and maximum 64 MiB). Smaller values lower memory. */
  maxXorbBytes?: number;
  /** Most chunks per xorb (default and maximum 8192). */
  maxXorbChunks?: number;
  /** Largest upload shard (default and maximum 64 MiB). */
  maxShardBytes?: number;
  compression?: CompressionPolicy;
}

export const MAX_XORB_BYTES = 64 * 1024 * 1024;
/** `takePlacements` value of a deduplicated chunk. */
export const PLACED_DEDUP = 0xffffffff;
export const MAX_XORB_CHUNKS = 8192;
export const MAX_SHARD_BYTES = 64 * 1024 * 1024;

export interface FileResult {
  hash: string;
  size: number;
  chunkCount: number;
  newBytes: number;
  dedupLocalBytes: number;
  dedupGlobalBytes: number;
  sha256?: string;
}

export interface XorbResult {
  hash: string;
  chunkCount: number;
  rawBytes: number;
  serializedBytes: number;
  data: Uint8Array;
}

export interface SessionStats {
  bytesProcessed: number;
  chunks: number;
  newBytes: number;
  dedupLocalBytes: number;
  dedupGlobalBytes: number;
  xorbsProduced: number;
  xorbBytesSerialized: number;
  queriesIssued: number;
}

/**
 * The upload state machine: file bytes in → new xorbs + file records + upload shards out.
 * Global dedup is driven by the caller: `takeQueries()` lists chunk hashes to ask the CAS about; each
 * answer (a dedup shard, or `undefined` for a miss) goes back through `answerQuery()`. Until then the
 * session holds the bytes from the queried chunk on (`pendingBytes`).
 */
export class UploadSession {
  #inner: wasm.UploadSession;

  constructor(options: UploadSessionOptions = {}) {
    const maxXorbBytes = options.maxXorbBytes ?? MAX_XORB_BYTES;
    const maxXorbChunks = options.maxXorbChunks ?? MAX_XORB_CHUNKS;
    const maxShardBytes = options.maxShardBytes ?? MAX_SHARD_BYTES;
    const compression = COMPRESSION[options.compression ?? "best"];
    if (compression === undefined) throw new XetCoreError("INVALID_ARGUMENT", `unknown compression ${options.compression}`);
    this.#inner = guard(() => new wasm.UploadSession(maxXorbBytes, maxXorbChunks, maxShardBytes, compression));
  }

  startFile(withSha256 = false): void {
    guard(() => this.#inner.startFile(withSha256));
  }
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
  takeQueries(): string[] {
    return guard(() => this.#inner.takeQueries());
  }
  /** Returns the number of xorbs learned from the shard. */
  answerQuery(chunkHash: string, shard: Uint8Array | undefined, nowUnixSecs = Date.now() / 1000): number {
    return guard(() => this.#inner.answerQuery(chunkHash, shard, nowUnixSecs));
  }
  resolve(): void {
    guard(() => this.#inner.resolve());
  }
  get pendingBytes(): number {
    return this.#inner.pendingBytes;
  }
  get outstandingQueries(): number {
    return this.#inner.outstandingQueries;
  }
  finishFile(): FileResult {
    const r = guard(() => this.#inner.finishFile());
    try {
      const out: FileResult = {
        hash: r.hash,
        size: r.size,
        chunkCount: r.chunkCount,
        newBytes: r.newBytes,
        dedupLocalBytes: r.dedupLocalBytes,
        dedupGlobalBytes: r.dedupGlobalBytes,
      };
      const sha = r.sha256;
      if (sha !== undefined) out.sha256 = sha;
      return out;
    } finally {
      r.free();
    }
  }
  takeXorb(): XorbResult | undefined {
    const x = guard(() => this.#inner.takeXorb());
    if (x === undefined) return undefined;
    try {
      return {
        hash: x.hash,
        chunkCount: x.chunkCount,
        rawBytes: x.rawBytes,
        serializedBytes: x.serializedBytes,
        data: x.takeData(),
      };
    } finally {
      x.free();
    }
  }
  flushXorb(): void {
    guard(() => this.#inner.flushXorb());
  }
  takeShard(): Uint8Array | undefined {
    return guard(() => this.#inner.takeShard());
  }
  stats(): SessionStats {
    const s = guard(() => this.#inner.stats());
    try {
      return {
        bytesProcessed: s.bytesProcessed,
        chunks: s.chunks,
        newBytes: s.newBytes,
        dedupLocalBytes: s.dedupLocalBytes,
        dedupGlobalBytes: s.dedupGlobalBytes,
        xorbsProduced: s.xorbsProduced,
        xorbBytesSerialized: s.xorbBytesSerialized,
        queriesIssued: s.queriesIssued,
      };
    } finally {
      s.free();
    }
  }
  free(): void {
    this.#inner.free();
  }
}

/** Compression code of a segment prepared without records (boundaries and hashes only). */
export const HASHES_ONLY = 255;

/** The core's number for a compression policy (the numbering of `prepareSegment` and the workers). */
export function compressionCode(policy: CompressionPolicy | undefined): number {
  const code = COMPRESSION[policy ?? "best"];
  if (code === undefined) throw new XetCoreError("INVALID_ARGUMENT", `unknown compression ${policy}`);
  return code;
}

/** What to prepare from a segment's bytes (src/prepare.rs `SegmentSpec`). */
export interface SegmentSpec {
  /** Offset where the chunk chain starts. */
  start: number;
  /** Chunks are emitted from the chain's first boundary at or after this offset. */
  emitFrom: number;
  /** Offset where the next segment starts, or -1 when the data ends the file. */
  seam: number;
  /** Offset where the next segment's chain starts (its pre-roll); ignored without a seam. */
  seamChain: number;
  /** `compressionCode(policy)` or `HASHES_ONLY`. */
  compression: number;
}

/**
 * Prepares one segment of a file on this thread: chunk boundaries, hashes and records (src/prepare.rs).
 * Returns the packed result (js/src/pool/segment.ts reads it) in its own ArrayBuffer.
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
): { packed: ArrayBuffer; length: number } {
  assertReady();
  const r = raw;
  if (!r || typeof r.xb_prepare !== "function") {
    const packed = prepareSegment(data, spec);
    return { packed, length: packed.byteLength };
  }
  const ptr = r.xb_input(data.length) >>> 0;
  new Uint8Array(r.memory.buffer, ptr, data.length).set(data);
  const out = r.xb_prepare(data.length, spec.start, spec.emitFrom, spec.seam < 0 ? -1 : spec.seam, spec.seamChain, spec.compression) >>> 0;
  if (out === 0) {
    throw new XetCoreError(
      "INVALID_ARGUMENT",
      `invalid segment (start ${spec.start}, first chunk ${spec.emitFrom}, seam ${spec.seam}/${spec.seamChain}, ${data.length} bytes)`,
    );
  }
  const head = new DataView(r.memory.buffer, out, 32);
  const length = 32 + 40 * head.getUint32(0, true) + head.getUint32(12, true);
  const packed = spare && spare.byteLength >= length ? spare : new ArrayBuffer(Math.max(length, minSize));
  new Uint8Array(packed, 0, length).set(new Uint8Array(r.memory.buffer, out, length));
  return { packed, length };
}

// ---------------------------------------------------------------------------------------------
// Download side
// ---------------------------------------------------------------------------------------------

export interface DecodedChunks {
  count: number;
  /** All decoded chunk bytes, concatenated. */
  data: Uint8Array;
  lengths: Uint32Array;
  /** Packed raw chunk hashes of the decoded bytes. */
  hashes: Uint8Array;
  /** n + 1 offsets: the start of each record in the input, then its total length. */
  recordOffsets: Uint32Array;
}

/** Decodes a run of serialized chunk records (a fetched xorb range) and hashes every chunk. */
export function decodeChunkRecords(bytes: Uint8Array): DecodedChunks {
  const d = guard(() => wasm.decodeChunkRecords(bytes));
  try {
    return {
      count: d.count,
      lengths: d.lengths(),
      hashes: d.hashes(),
      recordOffsets: d.recordOffsets(),
      data: d.takeData(),
    };
  } finally {
    d.free();
  }
}

/** Accumulates chunk hashes in file order and computes the file hash (to verify whole-file downloads). */
export class FileHashBuilder {
  #inner = guard(() => new wasm.FileHashBuilder());
  addChunks(hashes: Uint8Array, lengths: Uint32Array): void {
    guard(() => this.#inner.addChunks(hashes, lengths));
  }
  finish(): string {
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

export interface XorbInfo {
  hash: string;
  count: number;
  rawBytes: number;
  hashes: Uint8Array;
  lengths: Uint32Array;
  /** n + 1 offsets: the start of each chunk record, then the body length. */
  recordOffsets: Uint32Array;
}

/** Decodes and verifies an uploaded xorb body against the hash it was uploaded under. */
export function parseXorb(bytes: Uint8Array, expectedHash: string): XorbInfo {
  const x = guard(() => wasm.parseXorb(bytes, expectedHash));
  try {
    return {
      hash: x.hash,
      count: x.count,
      rawBytes: x.rawBytes,
      hashes: x.hashes(),
      lengths: x.lengths(),
      recordOffsets: x.recordOffsets(),
    };
  } finally {
    x.free();
  }
}

export interface ShardTerm {
  xorb: string;
  flags: number;
  unpacked: number;
  start: number;
  end: number;
}
export interface ShardFile {
  hash: string;
  flags: number;
  terms: ShardTerm[];
  verification: string[] | null;
  sha256: string | null;
}
export interface ShardXorbChunk {
  hash: string;
  offset: number;
  length: number;
  flags: number;
}
export interface ShardXorb {
  hash: string;
  flags: number;
  bytesInXorb: number;
  bytesOnDisk: number;
  chunks: ShardXorbChunk[];
}
export interface ShardFooter {
  fileLookupOffset: number;
  fileLookupCount: number;
  xorbLookupOffset: number;
  xorbLookupCount: number;
  chunkLookupOffset: number;
  chunkLookupCount: number;
  hmacKey: string;
  createdAt: number;
  expiry: number;
  footerOffset: number;
}
export interface ParsedShard {
  footerSize: number;
  files: ShardFile[];
  xorbs: ShardXorb[];
  footer: ShardFooter | null;
}

/** Parses an upload shard or a full shard (with footer). Structural errors throw `XetCoreError`. */
export function parseShard(bytes: Uint8Array): ParsedShard {
  return JSON.parse(guard(() => wasm.parseShard(bytes))) as ParsedShard;
}

/** Builds a global-dedup answer shard (xet-protocol.md §5.8). */
export class DedupShardBuilder {
  #inner = guard(() => new wasm.DedupShardBuilder());
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
