/**
 * The change log behind the live events feed (events.ts): one row per file change (add, update, delete) in
 * `bucket_events`, written in the same transaction as the change itself, so the log and the files never
 * disagree, even across a crash. Rows are numbered by one store-wide sequence (`seq`, AUTOINCREMENT: never
 * reused, so it keeps growing across restarts and deletions) that gives every change its place in one order.
 *
 * The log is a bounded replay window: `prune` drops the oldest rows beyond `maxRecords` (store-wide) and rows
 * older than `maxAgeMs`. For each bucket it remembers the newest row it dropped (`bucket_event_horizons`:
 * its seq and time), which is how the feed knows whether it still holds every change after a cursor or an
 * instant, or must answer `reset`. Buckets that existed before the log start with their `updated_at` as
 * horizon (schema migration 3): nothing of their earlier history is held.
 */
import type BetterSqlite3 from "better-sqlite3";

/** Migration 3 of the hub database (store.ts `MIGRATIONS`). */
export const CHANGE_LOG_MIGRATION = `
  CREATE TABLE bucket_events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,          -- store-wide order of changes, never reused
    bucket_id INTEGER NOT NULL REFERENCES buckets(id) ON DELETE CASCADE,
    at INTEGER NOT NULL,                            -- server time of the change, ms
    op TEXT NOT NULL,                               -- add | update | delete
    path TEXT NOT NULL,
    xet_hash TEXT,                                  -- add, update: the file as it is after the change
    size INTEGER,
    mtime INTEGER,
    uploaded_at INTEGER
  );
  CREATE INDEX bucket_events_by_bucket ON bucket_events (bucket_id, seq);
  CREATE INDEX bucket_events_by_time ON bucket_events (at);
  CREATE TABLE bucket_event_horizons (              -- per bucket: the newest change the log no longer holds
    bucket_id INTEGER PRIMARY KEY REFERENCES buckets(id) ON DELETE CASCADE,
    seq INTEGER NOT NULL,
    at INTEGER NOT NULL
  );
  INSERT INTO bucket_event_horizons (bucket_id, seq, at) SELECT id, 0, updated_at FROM buckets;
`;

export type ChangeOp = "add" | "update" | "delete";

/** One logged change. Deletes carry no file fields. */
export interface ChangeRecord {
  seq: number;
  bucketId: number;
  /** Server time of the change, ms. */
  at: number;
  op: ChangeOp;
  path: string;
  xetHash: string | null;
  size: number | null;
  /** Client modification time, ms. */
  mtime: number | null;
  /** Server time of the add or copy, ms. */
  uploadedAt: number | null;
}

/** How much of the log is kept. */
export interface ChangeLogRetention {
  /** Rows kept over the whole store (the newest ones). */
  maxRecords: number;
  /** Rows older than this are dropped, ms. */
  maxAgeMs: number;
}

interface RawRecord {
  seq: number;
  bucket_id: number;
  at: number;
  op: ChangeOp;
  path: string;
  xet_hash: string | null;
  size: number | null;
  mtime: number | null;
  uploaded_at: number | null;
}

const record = (r: RawRecord): ChangeRecord => ({
  seq: r.seq,
  bucketId: r.bucket_id,
  at: r.at,
  op: r.op,
  path: r.path,
  xetHash: r.xet_hash,
  size: r.size,
  mtime: r.mtime,
  uploadedAt: r.uploaded_at,
});

export class ChangeLog {
  readonly #stmts;
  /** The newest seq ever given (0 before the first change). */
  #head: number;
  /** Rows recorded by the write transaction in progress, handed to the listener once it commits. */
  #pending: ChangeRecord[] = [];
  /** Called after each commit that logged changes, with them in order. */
  onCommit: ((records: ChangeRecord[]) => void) | undefined;

  constructor(db: BetterSqlite3.Database) {
    this.#stmts = {
      insert: db.prepare(
        "INSERT INTO bucket_events (bucket_id, at, op, path, xet_hash, size, mtime, uploaded_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
      ),
      after: db.prepare<[number, number, number], RawRecord>(
        "SELECT * FROM bucket_events WHERE bucket_id = ? AND seq > ? ORDER BY seq LIMIT ?",
      ),
      firstAtOrAfter: db.prepare<[number, number], { seq: number | null }>(
        "SELECT min(seq) AS seq FROM bucket_events WHERE bucket_id = ? AND at >= ?",
      ),
      horizon: db.prepare<[number], { seq: number; at: number }>("SELECT seq, at FROM bucket_event_horizons WHERE bucket_id = ?"),
      lastOlderThan: db.prepare<[number], { seq: number | null }>("SELECT max(seq) AS seq FROM bucket_events WHERE at < ?"),
      raiseHorizons: db.prepare(
        `INSERT INTO bucket_event_horizons (bucket_id, seq, at)
           SELECT bucket_id, max(seq), max(at) FROM bucket_events WHERE seq <= ? GROUP BY bucket_id
         ON CONFLICT (bucket_id) DO UPDATE SET seq = max(seq, excluded.seq), at = max(at, excluded.at)`,
      ),
      dropUpTo: db.prepare("DELETE FROM bucket_events WHERE seq <= ?"),
      count: db.prepare<[], { n: number }>("SELECT count(*) AS n FROM bucket_events"),
      sequence: db.prepare<[], { seq: number }>("SELECT seq FROM sqlite_sequence WHERE name = 'bucket_events'"),
    };
    this.#head = this.#stmts.sequence.get()?.seq ?? 0;
  }

  /** The newest seq ever given: every later change has a larger one. */
  get head(): number {
    return this.#head;
  }

  /** Logs a change; call inside the write transaction that makes it. */
  record(c: Omit<ChangeRecord, "seq">): void {
    const info = this.#stmts.insert.run(c.bucketId, c.at, c.op, c.path, c.xetHash, c.size, c.mtime, c.uploadedAt);
    this.#pending.push({ ...c, seq: Number(info.lastInsertRowid) });
  }

  /** Forgets what the transaction in progress logged (it is about to start, or was rolled back). */
  discardPending(): void {
    this.#pending = [];
  }

  /** The transaction committed: moves the head and hands its changes to the listener. */
  committed(): void {
    if (this.#pending.length === 0) return;
    const done = this.#pending;
    this.#pending = [];
    this.#head = Math.max(this.#head, done[done.length - 1]!.seq);
    this.onCommit?.(done);
  }

  /** Up to `limit` changes of a bucket after `seq`, in order. */
  after(bucketId: number, seq: number, limit: number): ChangeRecord[] {
    return this.#stmts.after.all(bucketId, seq, limit).map(record);
  }

  /** The first held change of a bucket at or after `at` (ms), if any. */
  firstAtOrAfter(bucketId: number, at: number): number | undefined {
    return this.#stmts.firstAtOrAfter.get(bucketId, at)?.seq ?? undefined;
  }

  /** The newest change of a bucket the log no longer holds (seq and time), if any was dropped. */
  horizon(bucketId: number): { seq: number; at: number } | undefined {
    return this.#stmts.horizon.get(bucketId);
  }

  /** Rows held (tests, diagnostics). */
  count(): number {
    return this.#stmts.count.get()!.n;
  }

  /**
   * Drops the rows beyond the retention (run inside a write transaction), remembering per bucket the newest
   * one dropped. Returns how many were dropped.
   */
  prune(now: number, retention: ChangeLogRetention): number {
    const byCount = this.#head - retention.maxRecords;
    const byAge = this.#stmts.lastOlderThan.get(now - retention.maxAgeMs)?.seq ?? 0;
    const upTo = Math.max(byCount, byAge);
    if (upTo <= 0) return 0;
    this.#stmts.raiseHorizons.run(upTo);
    return this.#stmts.dropUpTo.run(upTo).changes;
  }
}
