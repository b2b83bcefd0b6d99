/**
 * The live events feed of buckets (hub-buckets-api.md §4.13, B14): `GET /api/buckets/{ns}/{name}/events`
 * answers server-sent events in the vocabulary huggingface_hub 2.4's follower understands
 * (`_bucket_live_follow.py`), each with a JSON `data:` line:
 *
 * - `changes {cursor, changes: [{path, op, size, xetHash, mtime, uploadedAt}]}`: file changes in the order they
 *   were committed (`op` add, update or delete; deletes carry `path` and `op` only). Adds and updates come from
 *   batch `addFile` and `copyFile` lines, deletes from `deleteFile` lines. At most `maxChangesPerEvent` per
 *   event; `cursor` resumes strictly after the event's last change (it is also the event's `id:`).
 * - `ready {cursor}`: the replay is done, the stream now follows live changes.
 * - `reset {reason, message}`: the feed cannot resume where asked (`cursor-expired`, `since-expired`: older than
 *   the replay window; `cursor-unknown`: another bucket's or another store's cursor), or the bucket was deleted
 *   (`bucket-deleted`) or renamed (`bucket-moved`; the feed of the old name ends). The stream ends; the client
 *   re-lists and subscribes again.
 * - `reconnect {cursor, reason}`: the hub ends the stream (`max-connection-time`, `shutdown`, `slow-subscriber`,
 *   `access-changed`: the bucket was made private); the client resumes from `cursor`.
 * - `: ping` comments every `keepAliveMs` while nothing else is sent.
 *
 * Resume points: `?cursor=` (or the `Last-Event-ID` header an EventSource sends) resumes strictly after a cursor;
 * `?since=<ISO-8601>` replays the changes committed at or after that instant; neither follows live changes
 * only. The replay reads the change log (change-log.ts) page by page and switches to live delivery in the same
 * synchronous step as its last read, so no change falls between the two. Cursors are `<store id>.<bucket id>.
 * <seq>`: opaque to clients, and a cursor of another store (a replaced data directory) or bucket is recognised.
 *
 * A slow subscriber cannot stall the hub: live changes are written without waiting, and a subscriber that still
 * holds more than `maxBufferBytes` of unsent output when the next changes come is ended with `reconnect` at the
 * cursor of the last changes it was sent (it resumes from there); a connection that still does not take its
 * data is destroyed after a grace period. A subscriber thus holds at most `maxBufferBytes` plus one batch.
 */
import type { ServerResponse } from "node:http";
import type { Principal } from "./auth.js";
import type { ChangeRecord } from "./change-log.js";
import { iso } from "./context.js";
import { badRequest, type RequestContext } from "./http.js";
import type { BucketEvent, BucketRow, Store } from "./store.js";

export interface EventsConfig {
  /** Interval of `: ping` comments (default 30 s: huggingface_hub gives up on a stream silent for 90 s). */
  keepAliveMs: number;
  /** A stream is ended with `reconnect` after this long (±10 %), default 15 minutes. */
  maxConnectionMs: number;
  /** Unsent bytes a subscriber may still hold when new changes come, or it is ended with `reconnect` (default 4 MiB ≈ 16,000 changes). */
  maxBufferBytes: number;
  /** Changes per `changes` event (default 1000). */
  maxChangesPerEvent: number;
}

export const DEFAULT_EVENTS_CONFIG: EventsConfig = {
  keepAliveMs: 30_000,
  maxConnectionMs: 15 * 60_000,
  maxBufferBytes: 4 * 1024 * 1024,
  maxChangesPerEvent: 1000,
};

/** Rows read from the change log per step of a replay. */
const REPLAY_PAGE = 1000;
/** How long a stream ended by the hub may take to hand over what it holds before its connection is destroyed. */
const END_GRACE_MS = 10_000;

/** One SSE event: `event:`, optional `id:`, one `data:` line (JSON never contains a line break). */
function sse(event: string, data: unknown, id?: string): string {
  return `event: ${event}\n${id !== undefined ? `id: ${id}\n` : ""}data: ${JSON.stringify(data)}\n\n`;
}

function changeJson(r: ChangeRecord): Record<string, unknown> {
  if (r.op === "delete") return { path: r.path, op: r.op };
  return { path: r.path, op: r.op, size: r.size, xetHash: r.xetHash, mtime: iso(r.mtime!), uploadedAt: iso(r.uploadedAt!) };
}

class Subscription {
  live = false;
  ended = false;
  readonly #timers: Array<ReturnType<typeof setTimeout>> = [];

  constructor(
    readonly res: ServerResponse,
    readonly bucketId: number,
    readonly principal: Principal | undefined,
    /** Every change of the bucket up to this seq was written (or precedes the resume point). */
    public pos: number,
  ) {}

  timer(t: ReturnType<typeof setTimeout>): void {
    t.unref?.();
    this.#timers.push(t);
  }

  /**
   * Writes `text`, unless the subscriber still holds more than `limit` unsent bytes of earlier writes (then
   * returns false and writes nothing): a reader that keeps up takes each batch before the next one, however
   * large it is.
   */
  write(text: string, limit: number): boolean {
    if (this.ended) return true;
    if (this.res.writableLength > limit) return false;
    this.res.write(text);
    return true;
  }

  /** Ends the stream after `last` (reset or reconnect); destroys the connection if it does not drain in time. */
  end(last?: string): void {
    if (this.ended) return;
    this.ended = true;
    this.clearTimers();
    if (this.res.destroyed) return;
    this.res.end(last);
    const grace = setTimeout(() => this.res.destroy(), END_GRACE_MS);
    grace.unref?.();
    this.res.once("close", () => clearTimeout(grace));
  }

  clearTimers(): void {
    for (const t of this.#timers) clearTimeout(t);
    this.#timers.length = 0;
  }
}

type Start = { seq: number } | { reset: string; message: string };

export class EventFeed {
  readonly #store: Store;
  readonly #storeId: string;
  readonly #config: EventsConfig;
  readonly #canRead: (p: Principal | undefined, b: BucketRow) => boolean;
  /** Live subscriptions by bucket id. */
  readonly #live = new Map<number, Set<Subscription>>();
  /** Every open subscription (replaying or live). */
  readonly #all = new Set<Subscription>();
  #closed = false;

  constructor(store: Store, storeId: string, config: EventsConfig, canRead: (p: Principal | undefined, b: BucketRow) => boolean) {
    this.#store = store;
    this.#storeId = storeId;
    this.#config = config;
    this.#canRead = canRead;
    store.changes.onCommit = (records) => this.#publish(records);
    store.onBucketEvent = (e) => this.#bucketEvent(e);
  }

  /** Open streams (tests). */
  get subscribers(): number {
    return this.#all.size;
  }

  #cursor(bucketId: number, seq: number): string {
    return `${this.#storeId}.${bucketId}.${seq}`;
  }

  /** Where a request resumes: after a seq, or a reset. Throws 400 for a malformed `since`. */
  #start(ctx: RequestContext, bucket: BucketRow): Start {
    const q = ctx.url.searchParams;
    const lastEventId = ctx.req.headers["last-event-id"];
    const cursor = q.get("cursor") || (typeof lastEventId === "string" && lastEventId) || undefined;
    const since = q.get("since") || undefined;
    const log = this.#store.changes;
    const horizon = log.horizon(bucket.id);
    if (cursor !== undefined) {
      const m = /^([0-9a-f]+)\.(\d+)\.(\d+)$/.exec(cursor);
      if (!m || m[1] !== this.#storeId || Number(m[2]) !== bucket.id) {
        return {
          reset: "cursor-unknown",
          message: "this cursor is not one of this bucket's feed on this hub (another bucket, or a replaced data directory): re-list",
        };
      }
      const seq = Number(m[3]);
      if (seq > log.head)
        return { reset: "cursor-unknown", message: "this cursor is ahead of the hub's change log (restored data?): re-list" };
      if (horizon && horizon.seq > seq) {
        return { reset: "cursor-expired", message: "changes after this cursor are older than the hub's replay window: re-list" };
      }
      return { seq };
    }
    if (since !== undefined) {
      const t = Date.parse(since);
      if (!Number.isFinite(t))
        throw badRequest(`since must be an ISO-8601 instant (e.g. 2026-01-31T12:00:00.000Z), got ${JSON.stringify(since)}`);
      if (horizon && horizon.at > t) {
        return { reset: "since-expired", message: "changes since this instant are older than the hub's replay window: re-list" };
      }
      const first = log.firstAtOrAfter(bucket.id, t);
      return { seq: first !== undefined ? first - 1 : log.head };
    }
    return { seq: log.head };
  }

  /** Serves one stream until it ends (the client leaves, or the hub ends it). */
  async serve(ctx: RequestContext, bucket: BucketRow, principal: Principal | undefined): Promise<void> {
    const start = this.#start(ctx, bucket); // may throw 400 before any header is sent
    const { res } = ctx;
    res.statusCode = 200;
    res.setHeader("Content-Type", "text/event-stream; charset=utf-8");
    res.setHeader("Cache-Control", "no-cache, no-transform");
    res.setHeader("X-Accel-Buffering", "no");
    ctx.req.socket.setNoDelay(true);
    if ("reset" in start || this.#closed) {
      res.end(
        "reset" in start
          ? sse("reset", { reason: start.reset, message: start.message })
          : sse("reconnect", { cursor: this.#cursor(bucket.id, this.#store.changes.head) }),
      );
      return;
    }
    res.flushHeaders();
    const sub = new Subscription(res, bucket.id, principal, start.seq);
    this.#all.add(sub);
    const closed = new Promise<void>((resolve) => res.once("close", resolve));
    void closed.then(() => this.#drop(sub));
    const cfg = this.#config;
    sub.timer(
      setTimeout(
        () => this.#endWith(sub, sse("reconnect", { cursor: this.#cursor(sub.bucketId, sub.pos), reason: "max-connection-time" })),
        cfg.maxConnectionMs * (0.9 + 0.2 * Math.random()),
      ),
    );
    sub.timer(setInterval(() => sub.write(": ping\n\n", Infinity), cfg.keepAliveMs));

    // Replay, page by page, waiting for the client to take each page; the last read (a short page) and the
    // switch to live delivery happen in one synchronous step, so no commit can fall between them.
    for (;;) {
      if (sub.ended) return closed;
      const rows = this.#store.changes.after(bucket.id, sub.pos, REPLAY_PAGE);
      if (rows.length > 0) {
        sub.write(this.#changes(bucket.id, rows), Infinity);
        sub.pos = rows[rows.length - 1]!.seq;
      }
      if (rows.length < REPLAY_PAGE) break;
      if (res.writableLength > cfg.maxBufferBytes / 2 && !(await drained(res))) return closed;
    }
    sub.live = true;
    let set = this.#live.get(bucket.id);
    if (!set) this.#live.set(bucket.id, (set = new Set()));
    set.add(sub);
    const head = Math.max(sub.pos, this.#store.changes.head);
    sub.pos = head;
    sub.write(sse("ready", { cursor: this.#cursor(bucket.id, head) }, this.#cursor(bucket.id, head)), Infinity);
    return closed;
  }

  /** `changes` events for rows of one bucket (split by `maxChangesPerEvent`). */
  #changes(bucketId: number, rows: ChangeRecord[]): string {
    let out = "";
    for (let i = 0; i < rows.length; i += this.#config.maxChangesPerEvent) {
      const part = rows.slice(i, i + this.#config.maxChangesPerEvent);
      const cursor = this.#cursor(bucketId, part[part.length - 1]!.seq);
      out += sse("changes", { cursor, changes: part.map(changeJson) }, cursor);
    }
    return out;
  }

  #publish(records: ChangeRecord[]): void {
    const byBucket = new Map<number, ChangeRecord[]>();
    for (const r of records) {
      if (!this.#live.has(r.bucketId)) continue;
      let list = byBucket.get(r.bucketId);
      if (!list) byBucket.set(r.bucketId, (list = []));
      list.push(r);
    }
    for (const [bucketId, rows] of byBucket) {
      const text = this.#changes(bucketId, rows);
      const last = rows[rows.length - 1]!.seq;
      for (const sub of this.#live.get(bucketId) ?? []) {
        if (sub.ended) continue;
        // Too slow: end it after what it was sent; it resumes from there once it has read what it holds.
        if (!sub.write(text, this.#config.maxBufferBytes)) {
          this.#endWith(sub, sse("reconnect", { cursor: this.#cursor(bucketId, sub.pos), reason: "slow-subscriber" }));
        } else {
          sub.pos = last;
        }
      }
    }
  }

  #bucketEvent(e: BucketEvent): void {
    const subs = [...this.#all].filter((s) => s.bucketId === e.bucketId);
    if (subs.length === 0) return;
    if (e.type === "deleted") {
      for (const s of subs) this.#endWith(s, sse("reset", { reason: "bucket-deleted", message: "the bucket was deleted" }));
    } else if (e.type === "moved") {
      const text = sse("reset", { reason: "bucket-moved", message: `the bucket was renamed to ${e.to}: follow it under its new name` });
      for (const s of subs) this.#endWith(s, text);
    } else {
      const bucket = this.#store.getBucketById(e.bucketId);
      for (const s of subs) {
        // A reconnect: resubscribing then meets the same access rules as a new request (401/404).
        if (!bucket || !this.#canRead(s.principal, bucket)) {
          this.#endWith(s, sse("reconnect", { cursor: this.#cursor(s.bucketId, s.pos), reason: "access-changed" }));
        }
      }
    }
  }

  #endWith(sub: Subscription, last: string): void {
    sub.end(last);
    this.#drop(sub);
  }

  #drop(sub: Subscription): void {
    sub.ended = true;
    sub.clearTimers();
    this.#all.delete(sub);
    const set = this.#live.get(sub.bucketId);
    if (set?.delete(sub) && set.size === 0) this.#live.delete(sub.bucketId);
  }

  /** Hub shutdown: every stream ends with `reconnect` at its cursor; new requests get `reconnect` at once. */
  close(): void {
    this.#closed = true;
    for (const sub of [...this.#all]) {
      this.#endWith(sub, sse("reconnect", { cursor: this.#cursor(sub.bucketId, sub.pos), reason: "shutdown" }));
    }
  }
}

/** Resolves true once `res` drained, false if it closed first. */
function drained(res: ServerResponse): Promise<boolean> {
  if (res.destroyed) return Promise.resolve(false);
  return new Promise((resolve) => {
    const onDrain = () => {
      cleanup();
      resolve(true);
    };
    const onClose = () => {
      cleanup();
      resolve(false);
    };
    const cleanup = () => {
      res.off("drain", onDrain);
      res.off("close", onClose);
    };
    res.on("drain", onDrain);
    res.on("close", onClose);
  });
}
