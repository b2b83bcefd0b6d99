/**
 * The platform seam: everything shared code needs from the runtime, and the one place the runtime is
 * detected. Shared code imports it as `#platform` (package.json "imports"), which the runtime or the bundler
 * resolves with the export conditions: ./web.ts for `browser`, `worker`, `workerd` and `edge-light`, ./node.ts
 * for Node, Deno, Bun (and by default). TypeScript checks shared code against both (tsconfig.json maps
 * `#platform` to ./node.ts, tsconfig.web.json to ./web.ts, without Node's types), and each implementation
 * checks itself against `Platform`.
 *
 * `Platform` is the shape of those modules: named exports, so that bundlers drop what an entry point does not
 * use (the chunking worker's code, for one, is only in bundles that start workers).
 */
import type { DedupCacheStore } from "../dedup-cache-store.js";
import type { DirectoryResumeOptions, ResumeStamp, ResumeState } from "../resume-state.js";

/** The runtime, as far as this package behaves differently: `web` covers browsers, Web Workers and edge runtimes. */
export type Runtime = "node" | "deno" | "bun" | "web";

export interface Platform {
  readonly runtime: Runtime;
  /**
   * The default number of chunking workers: the cores available, at most 4, in Node; 0 elsewhere (Deno, Bun,
   * browsers and edge runtimes opt in with `workers: n`).
   */
  defaultWorkers(): number;
  /**
   * Whether uploads stream request bodies by default (fetch with a ReadableStream body): yes in Node, Deno and
   * Bun; browsers need HTTP/2 for it, so they send buffered bodies.
   */
  readonly streamingUploads: boolean;
  /** Local files (paths and `file:` URLs) where the runtime has a file system (Node, Deno, Bun); undefined elsewhere. */
  readonly localFiles: LocalFiles | undefined;
  /**
   * The bytes of the core's `.wasm` file at `url` (a `file:` URL next to the core module), where the runtime
   * reads files; undefined where the core fetches it instead.
   */
  readCoreWasm(url: URL): Promise<Uint8Array<ArrayBuffer> | undefined>;
  /** Starts chunking workers (js/src/pool): `worker_threads` in Node, module Web Workers elsewhere; undefined without workers. */
  chunkingWorkers(): WorkerHost | undefined;
  /**
   * The persistent dedup cache uploads use by default (xet/dedup-cache.ts): a directory under the user's
   * cache directory in Node, Deno and Bun (environment: platform/node/dedup-cache.ts), IndexedDB in browsers;
   * undefined where there is none or it is turned off.
   */
  defaultDedupCache(): DedupCacheStore | undefined;
  /**
   * A native incremental SHA-256 (`node:crypto` in Node, Deno and Bun); undefined where there is none (Web
   * Crypto digests whole buffers only), and the core computes it instead.
   */
  nativeSha256(): Sha256 | undefined;
  /**
   * A `fetch` for the CAS's GETs (Node's: kept-alive HTTP/1.1 connections each reading into one reused buffer,
   * platform/node/range-fetch.ts) whose 2xx answers of more than 64 KiB are read in place with `inPlace`
   * (`inPlaceBody`; default true), the others whole into ordinary responses; undefined elsewhere, and where
   * requests must go through the runtime's `fetch` (a proxy is configured).
   */
  rangeFetch(inPlace?: boolean): typeof fetch | undefined;
  /** The in-place body of an answer of `rangeFetch`; undefined for any other response. */
  inPlaceBody(res: Response): InPlaceBody | undefined;
  /** True for a fetch `rangeFetch` returned (options may carry one: it is not a caller's own fetch). */
  isRangeFetch(f: unknown): boolean;
}

/**
 * Receives body bytes in place (`InPlaceBody.read`): a view valid only during the call (copy what you keep),
 * unless it is a view of what `InPlaceTarget` gave (then the bytes are already where they belong).
 * Return a promise to pause the connection until it settles, or false to stop reading (the rest is dropped).
 */
export type InPlaceData = (bytes: Uint8Array) => void | false | Promise<void>;

/**
 * Where the body's next network read should land: a view of the reader's own memory of at most `max` bytes
 * (no more than the body has left), or undefined for the connection's buffer. The view must stay alive and in
 * this thread, neither transferred nor reused, until `InPlaceData` receives the bytes read into it (a view of
 * its start) or the body ends: the socket writes into it meanwhile.
 */
export type InPlaceTarget = (max: number) => Uint8Array | undefined;

/** The body of an answer of `Platform.rangeFetch`, read in place. */
export interface InPlaceBody {
  /** Its length (Content-Length). */
  readonly length: number;
  /**
   * Reads the whole body into `onData`. Rejects with a plain `Error` when the connection breaks or no byte
   * comes for `stallMs` while the body is wanted (default 30 s), with the signal's reason when aborted, and
   * with what `onData` threw when it throws. With `target`, each read after the first lands where it says
   * (no copy through the connection's buffer).
   */
  read(onData: InPlaceData, opts?: { signal?: AbortSignal; stallMs?: number; target?: InPlaceTarget }): Promise<void>;
  /** Drops the body unread (closes its connection). */
  cancel(): void;
}

/** An incremental SHA-256 (the LFS pointers of repository commits). */
export interface Sha256 {
  update(data: Uint8Array): void;
  /** The digest as plain hex; the hasher is done. */
  digest(): string;
}

// ---------------------------------------------------------------------------------------------
// Local files
// ---------------------------------------------------------------------------------------------

/**
 * The file system as shared code uses it. Paths are the runtime's; `string | URL` arguments also take
 * `file:` URLs. Failures are `LocalFileError`s (code FILE_NOT_FOUND or LOCAL_IO) naming the path, except where
 * a member says otherwise.
 */
export interface LocalFiles {
  /** The path a path or `file:` URL names. */
  toPath(p: string | URL): string;
  /** Path helpers (node:path). */
  resolve(...parts: string[]): string;
  join(...parts: string[]): string;
  dirname(p: string): string;
  basename(p: string): string;
  /** Follows symlinks. */
  stat(p: string | URL): Promise<LocalStat>;
  /** The names in a directory (unsorted). */
  list(dir: string): Promise<string[]>;
  open(p: string | URL): Promise<LocalFileHandle>;
  /**
   * The file's bytes in blocks of at most `blockBytes`. The same buffer is reused between blocks: each
   * yielded view is only valid until the generator resumes.
   */
  readBlocks(p: string | URL, blockBytes: number, signal?: AbortSignal): AsyncGenerator<Uint8Array>;
  readText(p: string): Promise<string>;
  writeText(p: string, text: string): Promise<void>;
  /** Removes a file; nothing to do when it does not exist. */
  remove(p: string): Promise<void>;
  /** Removes an empty directory (rejects when it is not empty). */
  removeDir(p: string): Promise<void>;
  /** Creates a directory and its parents. */
  makeDir(p: string): Promise<void>;
  /**
   * Every file under `root`, recursively, with "/" paths relative to it, in sorted order. Symlinks are followed
   * (a loop is reported, not followed); what cannot be listed is reported in `problems`, never skipped
   * silently. A missing or unreadable `root` is a `LocalFileError`.
   */
  walk(root: string, options?: WalkOptions): Promise<WalkResult>;
  /**
   * Writes the blocks of `source` to `target` atomically (a temporary file in the target's directory, renamed
   * over it once complete). Returns the number of bytes written. A failed or aborted write leaves the target
   * untouched and no temporary file.
   */
  writeAtomic(target: string | URL, source: AsyncIterable<Uint8Array>, options?: AtomicWriteOptions): Promise<number>;
  /**
   * Writes `target` atomically through writes at positions, in any order: `fill` writes the temporary file
   * (`PositionalFile`) and resolves with its size once every byte is written, then the file is committed as by
   * `writeAtomic` (fsync, rename, mtime). `fill` failing leaves the target untouched and no temporary file.
   * `options.onBytes` is not called: `fill` reports its own progress.
   */
  writeAtomicAt(target: string | URL, fill: (file: PositionalFile) => Promise<number>, options?: AtomicWriteOptions): Promise<number>;
  /**
   * Reports changes below the folder `root` as they happen (platform/node/watch.ts): `onChange` receives the "/"
   * path relative to `root`, or undefined when the change cannot be located. Hints only (events may be lost or
   * late): callers rescan periodically. Throws `LocalFileError` when `root` cannot be watched.
   */
  watch(root: string, onChange: (relPath: string | undefined) => void): LocalWatcher;
  /** A dedup cache in directory `dir`, at most `maxBytes` per endpoint (platform/node/dedup-cache.ts). */
  dedupCache(dir: string, maxBytes?: number): DedupCacheStore;
  /** Opens the resume state of upload `key` in directory `dir` (one file per upload; see platform/node/resume.ts). */
  openResumeState(
    dir: string,
    key: string,
    stamp: ResumeStamp,
    warn: (message: string) => void,
    options?: DirectoryResumeOptions,
  ): Promise<ResumeState>;
}

/** A folder being watched (`LocalFiles.watch`). */
export interface LocalWatcher {
  /** False where only the root folder itself is watched (changes deeper down are found by rescans). */
  readonly recursive: boolean;
  close(): void;
}

export interface LocalStat {
  size: number;
  /** Modification time, ms since the epoch. */
  mtimeMs: number;
  isFile(): boolean;
  isDirectory(): boolean;
}

/** An open file, read at positions. */
export interface LocalFileHandle {
  /** Reads into `into` at file position `position` (null: where the previous read ended); resolves with the bytes read (0 at the end). */
  read(into: Uint8Array, position: number | null): Promise<number>;
  /**
   * Reads consecutive bytes from `position` into the views in turn (one scatter read where the runtime has one);
   * resolves with the bytes read, less than their total only at the end of the file.
   */
  readv(into: readonly Uint8Array[], position: number): Promise<number>;
  /** The file's size now. */
  size(): Promise<number>;
  close(): Promise<void>;
}

export interface LocalFile {
  /** Path relative to the root, "/"-separated. */
  path: string;
  absPath: string;
  size: number;
  mtimeMs: number;
}

export interface WalkOptions {
  signal?: AbortSignal;
  /** Directories nested deeper than this (the root is level 1) are reported (`too-deep`), not listed. */
  maxDepth?: number;
}

/** What `walk` could not list: `path` relative to the root ("." for the root itself), `error` saying why. */
export interface WalkProblem {
  path: string;
  /** unreadable: the file system refused (`cause`); loop: a symlink back to an ancestor; special: a socket, FIFO or device; too-deep: past `maxDepth`. */
  kind: "unreadable" | "loop" | "special" | "too-deep";
  error: string;
  cause?: unknown;
}

export interface WalkResult {
  files: LocalFile[];
  problems: WalkProblem[];
}

/** The temporary file of `LocalFiles.writeAtomicAt`. */
export interface PositionalFile {
  /** Its path: other threads of this process may open it to write (never to create it). */
  readonly path: string;
  /** Writes all of `data` at file position `position`. */
  write(data: Uint8Array, position: number): Promise<void>;
}

export interface AtomicWriteOptions {
  /** Modification time to set on the file, ms since the epoch (left as written when undefined). */
  mtime?: number;
  signal?: AbortSignal;
  /** Called after each block is written, with the block's length. */
  onBytes?: (n: number) => void;
  /**
   * fsync the file before it is renamed over the target (default false). The rename is atomic either way:
   * a failed, aborted or killed download never leaves a partial target. fsync adds durability across a power
   * loss or an OS crash, at a cost (≈ 10 % of a 1 GiB download of 513 files on a local SSD, far more on
   * network file systems).
   */
  fsync?: boolean;
}

// ---------------------------------------------------------------------------------------------
// Chunking workers
// ---------------------------------------------------------------------------------------------

/** Starts the chunking workers of one pool (js/src/pool/pool.ts), which speak js/src/pool/protocol.ts. */
export interface WorkerHost {
  /** True when the workers read local files themselves (Node's: jobs may name a file instead of carrying its bytes). */
  readonly readsFiles: boolean;
  /**
   * True when the workers read `Blob` ranges themselves (module Web Workers: a Blob crosses to a worker by
   * reference, and each worker reads its own segments, several at once, without this thread copying them).
   */
  readonly readsBlobs: boolean;
  /** Starts a worker running the chunking worker's code (js/src/pool/worker.ts, bundled at build). */
  start<In, Out>(listener: WorkerListener<Out>): WorkerPort<In>;
  /** The pool is done with its workers (frees what starting them needed). */
  close(): void;
}

export interface WorkerListener<Out> {
  message(msg: Out): void;
  /** The worker failed to start, crashed or exited. */
  error(err: Error): void;
}

export interface WorkerPort<In> {
  post(msg: In, transfer: Transferable[]): void;
  terminate(): void;
  /** Keeps the process alive while the worker has work (Node); no-ops elsewhere. */
  ref(): void;
  unref(): void;
}

/** `T`, when it is a `Platform`: each implementation names itself here, so that TypeScript checks it. */
export type Implements<T extends Platform> = T;
