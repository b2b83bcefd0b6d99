/**
 * The hub's metadata in one embedded SQLite database (`DATA/hub.sqlite`, better-sqlite3, WAL,
 * `synchronous=FULL`): buckets, their files, the CAS registry (xorbs with their chunk metadata, file
 * reconstructions, which buckets registered which file), the global-dedup chunk index and the shards
 * that were registered, and the change log of the live events feed (change-log.ts). Every multi-row change
 * runs in one transaction, so a crash leaves either the old or the new state. Xorb bodies live on disk next
 * to it (`blobs.ts`).
 *
 * better-sqlite3 is synchronous: a transaction never interleaves with another request, so the
 * check-then-write sequences below need no extra locking.
 */
import { createRequire } from "node:module";
import { join } from "node:path";
import type BetterSqlite3 from "better-sqlite3";
import { XetBucketsError } from "xet-buckets";
import { ZERO_HASH } from "xet-buckets/core";
import { CHANGE_LOG_MIGRATION, ChangeLog, type ChangeLogRetention } from "./change-log.js";
import { folderEnd } from "./paths.js";
import { REPOS_SCHEMA } from "./repos/schema.js";

export const DB_FILE = "hub.sqlite";
export const SCHEMA_VERSION = 3;

export interface BucketRow {
  id: number;
  namespace: string;
  name: string;
  private: boolean;
  region: string | null;
  resourceGroupId: string | null;
  createdAt: number;
  updatedAt: number;
  totalFiles: number;
  totalSize: number;
}

export interface FileRow {
  path: string;
  xetHash: string;
  size: number;
  /** Client modification time, ms since the epoch. */
  mtime: number;
  /** Server time of the last add or copy, ms. */
  uploadedAt: number;
  contentType: string | null;
}

export interface XorbRow {
  hash: string;
  chunkCount: number;
  rawBytes: number;
  /** Serialized (stored, footer-less) length. */
  storedBytes: number;
  /** 32 × n raw chunk hashes. */
  chunkHashes: Uint8Array;
  chunkLengths: Uint32Array;
  /** n + 1 record start offsets, the last one = storedBytes. */
  recordOffsets: Uint32Array;
}

export interface TermRow {
  /** Offset of the term's first byte in the file. */
  offset: number;
  xorbHash: string;
  chunkStart: number;
  chunkEnd: number;
  unpacked: number;
}

export interface CasFileRow {
  hash: string;
  size: number;
  termCount: number;
}

/** A directory entry of a non-recursive listing. */
export interface DirEntry {
  type: "directory";
  path: string;
  uploadedAt: number | null;
}
export type TreeEntry = ({ type: "file" } & FileRow) | DirEntry;

/** Position in an ordered listing: the next row is the first whose path is `>` (or `>=`) `key`. */
export interface Cursor {
  op: ">" | ">=";
  key: string;
}

export type BatchOp =
  /** An operation already known to fail (kept in place so results stay in request order). */
  | { type: "failed"; path: string; error: string }
  | { type: "addFile"; path: string; xetHash: string; mtime: number | null; contentType: string | null }
  | { type: "copyFile"; path: string; xetHash: string; mtime: number | null; sourceBucketId: number }
  /** A copy whose source (a repository file) was resolved by the caller in the same synchronous step. */
  | { type: "copyResolved"; path: string; xetHash: string; mtime: number | null; size: number }
  | { type: "deleteFile"; path: string };

export interface BatchOpResult {
  path: string;
  error?: string;
}

/** A validated upload shard, ready to be registered. */
export interface ShardRegistration {
  digest: string;
  /** The bucket whose write token uploaded the shard (null for a repository's). */
  bucketId: number | null;
  /** The repository whose write token uploaded the shard (null for a bucket's). */
  repoId: number | null;
  size: number;
  files: Array<{
    hash: string;
    size: number;
    terms: TermRow[];
    firstChunk: { hash: string; xorb: string; index: number } | null;
    /** The SHA-256 the shard declares for the file (its metadata extension), plain hex. */
    sha256: string | null;
  }>;
  /** Every xorb the shard mentions (its xorb section and its terms). */
  xorbs: string[];
}

export interface StoreOptions {
  /** Called inside every write transaction just before it commits (tests throw here to simulate a crash). */
  beforeCommit?: (what: string) => void;
  /** How much of the change log is kept (default: `DEFAULT_CHANGE_LOG_RETENTION`). */
  changeLogRetention?: ChangeLogRetention;
  /** Clock in ms for the change log's retention (default `Date.now`; the hub passes its own). */
  now?: () => number;
}

/** The change log's default replay window: the newest 100,000 changes of the store, none older than a day. */
export const DEFAULT_CHANGE_LOG_RETENTION: ChangeLogRetention = { maxRecords: 100_000, maxAgeMs: 24 * 3600 * 1000 };

/** A bucket that was deleted, renamed or whose visibility changed (after the commit). */
export type BucketEvent = { type: "deleted" | "visibility"; bucketId: number } | { type: "moved"; bucketId: number; to: string };

type Db = BetterSqlite3.Database;
type RangeParams = { bucket: number; lo: string; hi: string | null };

let driver: typeof BetterSqlite3 | undefined;

/** Loads better-sqlite3 on first use (a dependency of the xet-buckets-hub package, built natively at install). */
export function loadSqlite(): typeof BetterSqlite3 {
  if (driver) return driver;
  try {
    const require = createRequire(import.meta.url);
    driver = require("better-sqlite3") as typeof BetterSqlite3;
    return driver;
  } catch (err) {
    throw new XetBucketsError(
      "MISSING_DEPENDENCY",
      "the local hub needs better-sqlite3, which could not be loaded " +
        `(${(err as Error).message}). It is a dependency of xet-buckets-hub: reinstall that package, or \`npm install better-sqlite3\`.`,
      { cause: err },
    );
  }
}

const MIGRATIONS: string[] = [
  // version 1
  `
  CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
  CREATE TABLE buckets (
    id INTEGER PRIMARY KEY AUTOINCREMENT,          -- never reused: CAS tokens name buckets by id
    namespace TEXT NOT NULL,
    name TEXT NOT NULL,
    private INTEGER NOT NULL,
    region TEXT,
    resource_group_id TEXT,
    created_at INTEGER NOT NULL,                    -- ms since the epoch
    updated_at INTEGER NOT NULL,
    total_files INTEGER NOT NULL DEFAULT 0,
    total_size INTEGER NOT NULL DEFAULT 0,
    UNIQUE (namespace, name)
  );
  CREATE TABLE files (
    bucket_id INTEGER NOT NULL REFERENCES buckets(id) ON DELETE CASCADE,
    path TEXT NOT NULL,
    xet_hash TEXT NOT NULL,
    size INTEGER NOT NULL,
    mtime INTEGER NOT NULL,
    uploaded_at INTEGER NOT NULL,
    content_type TEXT,
    PRIMARY KEY (bucket_id, path)
  ) WITHOUT ROWID;
  CREATE INDEX files_by_hash ON files (bucket_id, xet_hash);
  CREATE TABLE xorbs (
    id INTEGER PRIMARY KEY,
    hash TEXT NOT NULL UNIQUE,
    chunk_count INTEGER NOT NULL,
    raw_bytes INTEGER NOT NULL,
    stored_bytes INTEGER NOT NULL,
    chunk_hashes BLOB NOT NULL,                     -- 32 raw bytes per chunk
    chunk_lengths BLOB NOT NULL,                    -- u32 LE per chunk
    record_offsets BLOB NOT NULL,                   -- u32 LE per chunk + the total
    created_at INTEGER NOT NULL
  );
  CREATE TABLE cas_files (
    hash TEXT PRIMARY KEY,
    size INTEGER NOT NULL,
    term_count INTEGER NOT NULL,
    created_at INTEGER NOT NULL
  ) WITHOUT ROWID;
  CREATE TABLE file_terms (
    file_hash TEXT NOT NULL,
    offset INTEGER NOT NULL,                        -- file offset of the term's first byte
    xorb_hash TEXT NOT NULL,
    chunk_start INTEGER NOT NULL,
    chunk_end INTEGER NOT NULL,                     -- exclusive
    unpacked INTEGER NOT NULL,
    PRIMARY KEY (file_hash, offset)
  ) WITHOUT ROWID;
  CREATE TABLE cas_file_buckets (                   -- buckets whose write token registered the file
    file_hash TEXT NOT NULL,
    bucket_id INTEGER NOT NULL REFERENCES buckets(id) ON DELETE CASCADE,
    PRIMARY KEY (file_hash, bucket_id)
  ) WITHOUT ROWID;
  CREATE INDEX cas_file_buckets_by_bucket ON cas_file_buckets (bucket_id);
  CREATE TABLE dedup_chunks (                       -- global-dedup index: eligible chunks + first chunks of files
    chunk_hash TEXT PRIMARY KEY,
    xorb_hash TEXT NOT NULL,
    chunk_index INTEGER NOT NULL
  ) WITHOUT ROWID;
  CREATE TABLE shards (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    digest TEXT NOT NULL UNIQUE,                    -- SHA-256 of the body up to the xorb bookend
    bucket_id INTEGER,
    size INTEGER NOT NULL,
    file_count INTEGER NOT NULL,
    xorb_count INTEGER NOT NULL,
    created_at INTEGER NOT NULL
  );
  CREATE TABLE shard_xorbs (                        -- which xorbs were uploaded or used together
    xorb_hash TEXT NOT NULL,
    shard_id INTEGER NOT NULL REFERENCES shards(id) ON DELETE CASCADE,
    PRIMARY KEY (xorb_hash, shard_id)
  ) WITHOUT ROWID;
  CREATE INDEX shard_xorbs_by_shard ON shard_xorbs (shard_id, xorb_hash);
  `,
  // version 2: model, dataset and space repositories (repos/schema.ts)
  REPOS_SCHEMA,
  // version 3: the change log of the live events feed
  CHANGE_LOG_MIGRATION,
];

function packU32(values: ArrayLike<number>): Buffer {
  const buf = Buffer.allocUnsafe(values.length * 4);
  for (let i = 0; i < values.length; i++) buf.writeUInt32LE(values[i]!, i * 4);
  return buf;
}

function unpackU32(buf: Uint8Array): Uint32Array {
  const out = new Uint32Array(buf.byteLength / 4);
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  for (let i = 0; i < out.length; i++) out[i] = view.getUint32(i * 4, true);
  return out;
}

interface RawBucket {
  id: number;
  namespace: string;
  name: string;
  private: number;
  region: string | null;
  resource_group_id: string | null;
  created_at: number;
  updated_at: number;
  total_files: number;
  total_size: number;
}
interface RawFile {
  path: string;
  xet_hash: string;
  size: number;
  mtime: number;
  uploaded_at: number;
  content_type: string | null;
}
interface RawXorb {
  hash: string;
  chunk_count: number;
  raw_bytes: number;
  stored_bytes: number;
  chunk_hashes: Buffer;
  chunk_lengths: Buffer;
  record_offsets: Buffer;
}

const bucketRow = (r: RawBucket): BucketRow => ({
  id: r.id,
  namespace: r.namespace,
  name: r.name,
  private: r.private !== 0,
  region: r.region,
  resourceGroupId: r.resource_group_id,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
  totalFiles: r.total_files,
  totalSize: r.total_size,
});
const fileRow = (r: RawFile): FileRow => ({
  path: r.path,
  xetHash: r.xet_hash,
  size: r.size,
  mtime: r.mtime,
  uploadedAt: r.uploaded_at,
  contentType: r.content_type,
});
const FILE_COLS = "path, xet_hash, size, mtime, uploaded_at, content_type";

export class Store {
  readonly db: Db;
  /** File changes, logged by the transactions that make them (the events feed reads and follows it). */
  readonly changes: ChangeLog;
  /** Called after a bucket is deleted, renamed or changes visibility (the events feed ends its streams). */
  onBucketEvent: ((e: BucketEvent) => void) | undefined;
  readonly #options: StoreOptions;
  readonly #stmts: ReturnType<Store["prepare"]>;
  readonly #retention: ChangeLogRetention;
  #loggedSincePrune = 0;
  #lastPrune = 0;

  private constructor(db: Db, options: StoreOptions) {
    this.db = db;
    this.#options = options;
    this.#stmts = this.prepare();
    this.changes = new ChangeLog(db);
    this.#retention = options.changeLogRetention ?? DEFAULT_CHANGE_LOG_RETENTION;
  }

  /** Opens (creating or migrating) the database in `dir`. */
  static open(dir: string, options: StoreOptions = {}): Store {
    const Database = loadSqlite();
    const db = new Database(join(dir, DB_FILE));
    try {
      db.pragma("journal_mode = WAL");
      db.pragma("synchronous = FULL");
      db.pragma("foreign_keys = ON");
      db.pragma("busy_timeout = 5000");
      migrate(db);
      return new Store(db, options);
    } catch (err) {
      db.close();
      throw err;
    }
  }

  close(): void {
    if (this.db.open) this.db.close();
  }

  private prepare() {
    const db = this.db;
    return {
      getMeta: db.prepare<[string], { value: string }>("SELECT value FROM meta WHERE key = ?"),
      setMeta: db.prepare("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value"),
      bucketByName: db.prepare<[string, string], RawBucket>("SELECT * FROM buckets WHERE namespace = ? AND name = ?"),
      bucketById: db.prepare<[number], RawBucket>("SELECT * FROM buckets WHERE id = ?"),
      insertBucket: db.prepare(
        "INSERT INTO buckets (namespace, name, private, region, resource_group_id, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
      ),
      deleteBucket: db.prepare("DELETE FROM buckets WHERE id = ?"),
      setPrivate: db.prepare("UPDATE buckets SET private = ?, updated_at = ? WHERE id = ?"),
      moveBucket: db.prepare("UPDATE buckets SET namespace = ?, name = ?, updated_at = ? WHERE id = ?"),
      bumpBucket: db.prepare("UPDATE buckets SET total_files = total_files + ?, total_size = total_size + ?, updated_at = ? WHERE id = ?"),
      getFile: db.prepare<[number, string], RawFile>(`SELECT ${FILE_COLS} FROM files WHERE bucket_id = ? AND path = ?`),
      fileWithHash: db.prepare<[number, string], RawFile>(`SELECT ${FILE_COLS} FROM files WHERE bucket_id = ? AND xet_hash = ? LIMIT 1`),
      upsertFile: db.prepare(
        `INSERT INTO files (bucket_id, path, xet_hash, size, mtime, uploaded_at, content_type) VALUES (?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (bucket_id, path) DO UPDATE SET xet_hash = excluded.xet_hash, size = excluded.size,
           mtime = excluded.mtime, uploaded_at = excluded.uploaded_at, content_type = excluded.content_type`,
      ),
      deleteFile: db.prepare("DELETE FROM files WHERE bucket_id = ? AND path = ?"),
      filesFrom: db.prepare<[RangeParams & { after: string | null; limit: number }], RawFile>(
        `SELECT ${FILE_COLS} FROM files WHERE bucket_id = @bucket AND path >= @lo AND (@hi IS NULL OR path < @hi)
           AND (@after IS NULL OR path > @after) ORDER BY path LIMIT @limit`,
      ),
      firstFileGt: db.prepare<[RangeParams & { key: string }], RawFile>(
        `SELECT ${FILE_COLS} FROM files WHERE bucket_id = @bucket AND path >= @lo AND (@hi IS NULL OR path < @hi)
           AND path > @key ORDER BY path LIMIT 1`,
      ),
      firstFileGe: db.prepare<[RangeParams & { key: string }], RawFile>(
        `SELECT ${FILE_COLS} FROM files WHERE bucket_id = @bucket AND path >= @lo AND (@hi IS NULL OR path < @hi)
           AND path >= @key ORDER BY path LIMIT 1`,
      ),
      dirUploadedAt: db.prepare<[number, string, string], { t: number | null }>(
        "SELECT max(uploaded_at) AS t FROM files WHERE bucket_id = ? AND path >= ? AND path < ?",
      ),
      namespaceHasBuckets: db.prepare<[string], { one: number }>("SELECT 1 AS one FROM buckets WHERE namespace = ? LIMIT 1"),
      listBuckets: db.prepare<[{ ns: string; search: string | null; priv: number; after: string | null; limit: number }], RawBucket>(
        `SELECT * FROM buckets WHERE namespace = @ns AND (@search IS NULL OR instr(lower(name), lower(@search)) > 0)
           AND (private = 0 OR @priv) AND (@after IS NULL OR name > @after) ORDER BY name LIMIT @limit`,
      ),
      getXorb: db.prepare<[string], RawXorb>(
        "SELECT hash, chunk_count, raw_bytes, stored_bytes, chunk_hashes, chunk_lengths, record_offsets FROM xorbs WHERE hash = ?",
      ),
      xorbSize: db.prepare<[string], { stored_bytes: number; chunk_count: number }>(
        "SELECT stored_bytes, chunk_count FROM xorbs WHERE hash = ?",
      ),
      insertXorb: db.prepare(
        `INSERT OR IGNORE INTO xorbs (hash, chunk_count, raw_bytes, stored_bytes, chunk_hashes, chunk_lengths, record_offsets, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
      ),
      insertDedupChunk: db.prepare("INSERT OR IGNORE INTO dedup_chunks (chunk_hash, xorb_hash, chunk_index) VALUES (?, ?, ?)"),
      dedupChunk: db.prepare<[string], { xorb_hash: string; chunk_index: number }>(
        "SELECT xorb_hash, chunk_index FROM dedup_chunks WHERE chunk_hash = ?",
      ),
      getCasFile: db.prepare<[string], { hash: string; size: number; term_count: number }>(
        "SELECT hash, size, term_count FROM cas_files WHERE hash = ?",
      ),
      insertCasFile: db.prepare("INSERT OR IGNORE INTO cas_files (hash, size, term_count, created_at) VALUES (?, ?, ?, ?)"),
      insertTerm: db.prepare(
        "INSERT INTO file_terms (file_hash, offset, xorb_hash, chunk_start, chunk_end, unpacked) VALUES (?, ?, ?, ?, ?, ?)",
      ),
      termsInRange: db.prepare<
        [{ file: string; first: number; last: number }],
        { offset: number; xorb_hash: string; chunk_start: number; chunk_end: number; unpacked: number }
      >(
        `SELECT offset, xorb_hash, chunk_start, chunk_end, unpacked FROM file_terms
         WHERE file_hash = @file AND offset >= (SELECT max(offset) FROM file_terms WHERE file_hash = @file AND offset <= @first)
           AND offset <= @last ORDER BY offset`,
      ),
      insertFileBucket: db.prepare("INSERT OR IGNORE INTO cas_file_buckets (file_hash, bucket_id) VALUES (?, ?)"),
      fileBucket: db.prepare<[string, number], { one: number }>(
        "SELECT 1 AS one FROM cas_file_buckets WHERE file_hash = ? AND bucket_id = ?",
      ),
      fileInBucket: db.prepare<[number, string], { one: number }>(
        "SELECT 1 AS one FROM files WHERE bucket_id = ? AND xet_hash = ? LIMIT 1",
      ),
      shardByDigest: db.prepare<[string], { id: number }>("SELECT id FROM shards WHERE digest = ?"),
      insertShard: db.prepare(
        "INSERT INTO shards (digest, bucket_id, repo_id, size, file_count, xorb_count, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
      ),
      insertShardXorb: db.prepare("INSERT OR IGNORE INTO shard_xorbs (xorb_hash, shard_id) VALUES (?, ?)"),
      shardsOfXorb: db.prepare<[string, number], { shard_id: number }>(
        "SELECT shard_id FROM shard_xorbs WHERE xorb_hash = ? ORDER BY shard_id DESC LIMIT ?",
      ),
      xorbsOfShard: db.prepare<[number], { xorb_hash: string }>("SELECT xorb_hash FROM shard_xorbs WHERE shard_id = ?"),
    };
  }

  /**
   * Runs `fn` in one immediate write transaction; the `beforeCommit` hook runs last inside it. Once it
   * committed, the changes it logged go to the change log's listener (the events feed).
   */
  write<T>(what: string, fn: () => T): T {
    const tx = this.db.transaction(() => {
      const out = fn();
      this.#options.beforeCommit?.(what);
      return out;
    });
    this.changes.discardPending();
    let out: T;
    try {
      out = tx.immediate();
    } catch (err) {
      this.changes.discardPending();
      throw err;
    }
    const logged = this.changes.head;
    this.changes.committed();
    const added = this.changes.head - logged;
    if (added > 0) this.#maybePrune(added);
    return out;
  }

  /**
   * Keeps the change log within its retention: pruned every tenth of `maxRecords` changes (at most every
   * 1000) or once a minute, so the window holds slightly more than the retention between two prunes.
   */
  #maybePrune(added: number): void {
    this.#loggedSincePrune += added;
    const now = (this.#options.now ?? Date.now)();
    const every = Math.max(1, Math.min(1000, Math.floor(this.#retention.maxRecords / 10)));
    if (this.#loggedSincePrune < every && now - this.#lastPrune < 60_000) return;
    this.pruneChanges(now);
  }

  /** Drops the change log's rows beyond its retention now; returns how many. */
  pruneChanges(now = (this.#options.now ?? Date.now)()): number {
    this.#loggedSincePrune = 0;
    this.#lastPrune = now;
    return this.write("prune", () => this.changes.prune(now, this.#retention));
  }

  // ------------------------------------------------------------------------------------------- meta

  getMeta(key: string): string | undefined {
    return this.#stmts.getMeta.get(key)?.value;
  }

  setMeta(key: string, value: string): void {
    this.write("meta", () => this.#stmts.setMeta.run(key, value));
  }

  /** Returns the stored value for `key`, storing `make()` first if there is none. */
  metaOrInit(key: string, make: () => string): string {
    return this.write("meta", () => {
      const have = this.#stmts.getMeta.get(key)?.value;
      if (have !== undefined) return have;
      const value = make();
      this.#stmts.setMeta.run(key, value);
      return value;
    });
  }

  // ---------------------------------------------------------------------------------------- buckets

  getBucket(namespace: string, name: string): BucketRow | undefined {
    const r = this.#stmts.bucketByName.get(namespace, name);
    return r && bucketRow(r);
  }

  getBucketById(id: number): BucketRow | undefined {
    const r = this.#stmts.bucketById.get(id);
    return r && bucketRow(r);
  }

  /** Creates a bucket; returns undefined when one with that id exists. */
  createBucket(b: {
    namespace: string;
    name: string;
    private: boolean;
    region: string | null;
    resourceGroupId: string | null;
    now: number;
  }): BucketRow | undefined {
    return this.write("createBucket", () => {
      if (this.#stmts.bucketByName.get(b.namespace, b.name)) return undefined;
      const info = this.#stmts.insertBucket.run(b.namespace, b.name, b.private ? 1 : 0, b.region, b.resourceGroupId, b.now, b.now);
      return this.getBucketById(Number(info.lastInsertRowid));
    });
  }

  deleteBucket(id: number): void {
    this.write("deleteBucket", () => {
      this.#stmts.deleteBucket.run(id);
    });
    this.onBucketEvent?.({ type: "deleted", bucketId: id });
  }

  setPrivate(id: number, isPrivate: boolean, now: number): void {
    this.write("settings", () => {
      this.#stmts.setPrivate.run(isPrivate ? 1 : 0, now, id);
    });
    this.onBucketEvent?.({ type: "visibility", bucketId: id });
  }

  /** Renames a bucket; false when the destination id is taken. */
  moveBucket(id: number, namespace: string, name: string, now: number): boolean {
    const moved = this.write("move", () => {
      if (this.#stmts.bucketByName.get(namespace, name)) return false;
      this.#stmts.moveBucket.run(namespace, name, now, id);
      return true;
    });
    if (moved) this.onBucketEvent?.({ type: "moved", bucketId: id, to: `${namespace}/${name}` });
    return moved;
  }

  /** True when some bucket (public or private) is in `namespace`. */
  namespaceHasBuckets(namespace: string): boolean {
    return this.#stmts.namespaceHasBuckets.get(namespace) !== undefined;
  }

  /** Buckets of a namespace ordered by name, after `afterName`, optionally only public ones. */
  listBuckets(namespace: string, opts: { search?: string; includePrivate: boolean; afterName?: string; limit: number }): BucketRow[] {
    return this.#stmts.listBuckets
      .all({
        ns: namespace,
        search: opts.search ?? null,
        priv: opts.includePrivate ? 1 : 0,
        after: opts.afterName ?? null,
        limit: opts.limit,
      })
      .map(bucketRow);
  }

  // ------------------------------------------------------------------------------------------ files

  getFile(bucketId: number, path: string): FileRow | undefined {
    const r = this.#stmts.getFile.get(bucketId, path);
    return r && fileRow(r);
  }

  /**
   * Files at or below `prefix` (the file named `prefix` itself first, then `prefix/…`), ordered by
   * path. Returns up to `limit` rows and the cursor of the next page, if any.
   */
  listRecursive(bucketId: number, prefix: string, cursor: Cursor | undefined, limit: number): { rows: FileRow[]; next?: Cursor } {
    const rows: FileRow[] = [];
    if (prefix !== "" && cursor === undefined) {
      const exact = this.getFile(bucketId, prefix);
      if (exact) rows.push(exact);
    }
    const lo = prefix === "" ? "" : `${prefix}/`;
    const hi = prefix === "" ? null : folderEnd(prefix);
    const after = cursor?.key ?? null;
    const more = this.#stmts.filesFrom.all({ bucket: bucketId, lo, hi, after, limit: limit - rows.length + 1 }).map(fileRow);
    rows.push(...more);
    if (rows.length > limit) {
      rows.length = limit;
      return { rows, next: { op: ">", key: rows[rows.length - 1]!.path } };
    }
    return { rows };
  }

  /**
   * Direct children of `prefix`: its files and one directory entry per sub-folder (the file named
   * `prefix` itself comes first when it exists). Sub-folders are skipped over with index seeks, so a
   * page costs O(page size) lookups whatever the folders hold.
   */
  listChildren(bucketId: number, prefix: string, cursor: Cursor | undefined, limit: number): { rows: TreeEntry[]; next?: Cursor } {
    const rows: TreeEntry[] = [];
    if (prefix !== "" && cursor === undefined) {
      const exact = this.getFile(bucketId, prefix);
      if (exact) rows.push({ type: "file", ...exact });
    }
    const base = prefix === "" ? "" : `${prefix}/`;
    const hi = prefix === "" ? null : folderEnd(prefix);
    let pos: Cursor = cursor ?? { op: ">=", key: base };
    const step = (p: Cursor): RawFile | undefined =>
      (p.op === ">" ? this.#stmts.firstFileGt : this.#stmts.firstFileGe).get({ bucket: bucketId, lo: base, hi, key: p.key });
    for (;;) {
      const r = step(pos);
      if (!r) return { rows };
      if (rows.length === limit) return { rows, next: pos };
      const rest = r.path.slice(base.length);
      const slash = rest.indexOf("/");
      if (slash < 0) {
        rows.push({ type: "file", ...fileRow(r) });
        pos = { op: ">", key: r.path };
      } else {
        const dir = base + rest.slice(0, slash);
        const t = this.#stmts.dirUploadedAt.get(bucketId, `${dir}/`, folderEnd(dir))?.t ?? null;
        rows.push({ type: "directory", path: dir, uploadedAt: t });
        pos = { op: ">=", key: folderEnd(dir) };
      }
    }
  }

  /**
   * Applies batch operations in order, in one transaction. Each operation succeeds or fails on its
   * own (the failures are returned, the others are kept); the transaction makes the whole set durable
   * at once and leaves nothing behind if the process dies half way. Every applied operation is logged in
   * the change log (add, update or delete), in the same transaction.
   */
  applyBatch(bucketId: number, ops: BatchOp[], now: number): BatchOpResult[] {
    return this.write("batch", () => {
      const results: BatchOpResult[] = [];
      let dFiles = 0;
      let dSize = 0;
      for (const op of ops) {
        if (op.type === "failed") {
          results.push({ path: op.path, error: op.error });
          continue;
        }
        const before = this.#stmts.getFile.get(bucketId, op.path);
        if (op.type === "deleteFile") {
          if (!before) {
            results.push({ path: op.path, error: "File not found" });
            continue;
          }
          this.#stmts.deleteFile.run(bucketId, op.path);
          this.changes.record({
            bucketId,
            at: now,
            op: "delete",
            path: op.path,
            xetHash: null,
            size: null,
            mtime: null,
            uploadedAt: null,
          });
          dFiles -= 1;
          dSize -= before.size;
          results.push({ path: op.path });
          continue;
        }
        let size: number;
        let contentType: string | null;
        if (op.type === "addFile") {
          if (op.xetHash === ZERO_HASH) {
            size = 0;
          } else {
            const cas = this.#stmts.getCasFile.get(op.xetHash);
            if (!cas) {
              results.push({
                path: op.path,
                error: `xetHash ${op.xetHash} is unknown to the CAS: upload its xorbs and shard before adding the file`,
              });
              continue;
            }
            if (!this.#stmts.fileBucket.get(op.xetHash, bucketId) && !this.#stmts.fileInBucket.get(bucketId, op.xetHash)) {
              results.push({
                path: op.path,
                error: `xetHash ${op.xetHash} was not uploaded to this bucket: upload its shard with this bucket's write token, or use copyFile from a bucket that holds it`,
              });
              continue;
            }
            size = cas.size;
          }
          contentType = op.contentType;
        } else if (op.type === "copyResolved") {
          size = op.size;
          contentType = null;
        } else {
          const source = this.#stmts.fileWithHash.get(op.sourceBucketId, op.xetHash);
          if (!source) {
            results.push({ path: op.path, error: `the source bucket holds no file with xetHash ${op.xetHash}` });
            continue;
          }
          size = source.size;
          contentType = source.content_type;
        }
        this.#stmts.upsertFile.run(bucketId, op.path, op.xetHash, size, op.mtime ?? now, now, contentType);
        this.changes.record({
          bucketId,
          at: now,
          op: before ? "update" : "add",
          path: op.path,
          xetHash: op.xetHash,
          size,
          mtime: op.mtime ?? now,
          uploadedAt: now,
        });
        dFiles += before ? 0 : 1;
        dSize += size - (before?.size ?? 0);
        results.push({ path: op.path });
      }
      if (results.some((r) => r.error === undefined)) this.#stmts.bumpBucket.run(dFiles, dSize, now, bucketId);
      return results;
    });
  }

  // -------------------------------------------------------------------------------------------- CAS

  getXorb(hash: string): XorbRow | undefined {
    const r = this.#stmts.getXorb.get(hash);
    if (!r) return undefined;
    return {
      hash: r.hash,
      chunkCount: r.chunk_count,
      rawBytes: r.raw_bytes,
      storedBytes: r.stored_bytes,
      chunkHashes: new Uint8Array(r.chunk_hashes.buffer, r.chunk_hashes.byteOffset, r.chunk_hashes.byteLength),
      chunkLengths: unpackU32(r.chunk_lengths),
      recordOffsets: unpackU32(r.record_offsets),
    };
  }

  xorbStoredBytes(hash: string): number | undefined {
    return this.#stmts.xorbSize.get(hash)?.stored_bytes;
  }

  /**
   * Records a stored xorb and indexes its dedup-eligible chunks. Returns false when it was already
   * known (the row is not touched).
   */
  insertXorb(x: XorbRow, eligibleChunks: Array<{ hash: string; index: number }>, now: number): boolean {
    return this.write("xorb", () => {
      const info = this.#stmts.insertXorb.run(
        x.hash,
        x.chunkCount,
        x.rawBytes,
        x.storedBytes,
        Buffer.from(x.chunkHashes.buffer, x.chunkHashes.byteOffset, x.chunkHashes.byteLength),
        packU32(x.chunkLengths),
        packU32(x.recordOffsets),
        now,
      );
      if (info.changes === 0) return false;
      for (const c of eligibleChunks) this.#stmts.insertDedupChunk.run(c.hash, x.hash, c.index);
      return true;
    });
  }

  getCasFile(hash: string): CasFileRow | undefined {
    const r = this.#stmts.getCasFile.get(hash);
    return r && { hash: r.hash, size: r.size, termCount: r.term_count };
  }

  /** Terms of a file that overlap the byte range [first, last] (inclusive), in order. */
  termsInRange(fileHash: string, first: number, last: number): TermRow[] {
    return this.#stmts.termsInRange.all({ file: fileHash, first, last }).map((r) => ({
      offset: r.offset,
      xorbHash: r.xorb_hash,
      chunkStart: r.chunk_start,
      chunkEnd: r.chunk_end,
      unpacked: r.unpacked,
    }));
  }

  /** True when a CAS token of bucket `bucketId` may read the file `fileHash`. */
  bucketMayReadFile(bucketId: number, fileHash: string): boolean {
    return !!this.#stmts.fileInBucket.get(bucketId, fileHash) || !!this.#stmts.fileBucket.get(fileHash, bucketId);
  }

  /**
   * Registers a validated shard in one transaction: new file reconstructions, the bucket that
   * uploaded them, first chunks of files in the dedup index, and which xorbs belong together.
   * `alsoInTransaction` runs inside the same transaction (a repository's records of the shard's files).
   * Returns 1 when something new was registered, 0 when the shard (or all its files) was known.
   */
  registerShard(s: ShardRegistration, now: number, alsoInTransaction?: () => void): 0 | 1 {
    return this.write("shard", () => {
      let fresh = false;
      for (const f of s.files) {
        if (!this.#stmts.getCasFile.get(f.hash)) {
          fresh = true;
          this.#stmts.insertCasFile.run(f.hash, f.size, f.terms.length, now);
          for (const t of f.terms) {
            this.#stmts.insertTerm.run(f.hash, t.offset, t.xorbHash, t.chunkStart, t.chunkEnd, t.unpacked);
          }
        }
        if (f.firstChunk) this.#stmts.insertDedupChunk.run(f.firstChunk.hash, f.firstChunk.xorb, f.firstChunk.index);
        if (s.bucketId !== null) this.#stmts.insertFileBucket.run(f.hash, s.bucketId);
      }
      alsoInTransaction?.();
      const known = this.#stmts.shardByDigest.get(s.digest);
      if (!known) {
        fresh = true;
        const info = this.#stmts.insertShard.run(s.digest, s.bucketId, s.repoId, s.size, s.files.length, s.xorbs.length, now);
        const id = Number(info.lastInsertRowid);
        for (const x of s.xorbs) this.#stmts.insertShardXorb.run(x, id);
      }
      return fresh ? 1 : 0;
    });
  }

  /** The xorb and chunk index of a chunk in the global-dedup index. */
  dedupLookup(chunkHash: string): { xorbHash: string; chunkIndex: number } | undefined {
    const r = this.#stmts.dedupChunk.get(chunkHash);
    return r && { xorbHash: r.xorb_hash, chunkIndex: r.chunk_index };
  }

  /**
   * Xorbs registered together with `xorbHash` by the most recent shards that mention it (at most
   * `maxShards` shards), newest first, without `xorbHash` itself.
   */
  companionXorbs(xorbHash: string, maxShards: number): string[] {
    const out = new Set<string>();
    for (const { shard_id } of this.#stmts.shardsOfXorb.all(xorbHash, maxShards)) {
      for (const { xorb_hash } of this.#stmts.xorbsOfShard.all(shard_id)) {
        if (xorb_hash !== xorbHash) out.add(xorb_hash);
      }
    }
    return [...out];
  }
}

function migrate(db: Db): void {
  db.exec("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL, applied_at INTEGER NOT NULL)");
  const row = db.prepare<[], { v: number | null }>("SELECT max(version) AS v FROM schema_version").get();
  const current = row?.v ?? 0;
  if (current > SCHEMA_VERSION) {
    throw new XetBucketsError(
      "DATA_DIR_TOO_NEW",
      `the hub database has schema version ${current}, newer than this xet-buckets (${SCHEMA_VERSION}): upgrade xet-buckets`,
    );
  }
  for (let v = current + 1; v <= SCHEMA_VERSION; v++) {
    db.transaction(() => {
      db.exec(MIGRATIONS[v - 1]!);
      db.prepare("INSERT INTO schema_version (version, applied_at) VALUES (?, ?)").run(v, Date.now());
    }).immediate();
  }
}
