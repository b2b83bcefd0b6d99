/**
 * `watchBucket(bucket, options)`: the live changes of a bucket, as an async generator of batches, from the
 * Hub's events feed (hub-buckets-api.md §4.13; hub/events.ts), with reconnection and resumption built in.
 * It runs wherever `fetch` streams responses: Node, Deno, Bun, browsers, Web Workers and edge runtimes.
 *
 * ```ts
 * for await (const ev of watchBucket("alice/checkpoints", { prefix: "run-1", accessToken })) {
 *   if (ev.type === "ready" || ev.type === "reset") relist();   // the view you hold may be incomplete: (re)list now
 *   else for (const c of ev.changes) apply(c);                   // { path, op: "add" | "update" | "delete", size, xetHash, … }
 * }
 * ```
 *
 * Events:
 * - `ready {cursor}`: the stream follows live changes (after replaying those after `cursor` / `since`). Without
 *   `cursor` or `since` it comes first: list the bucket then; changes that land while you list are delivered
 *   after it, so apply them on top of your listing (applying a change twice does no harm).
 * - `changes {cursor, changes}`: changes in the order they were made. `cursor` resumes strictly after them:
 *   persist it and pass it back as `cursor` to miss nothing across restarts of your program.
 * - `reset {reason}`: the feed could not resume where needed (older than the Hub's replay window, or the bucket
 *   was deleted or renamed): re-list, then keep applying the changes that follow. It is yielded once a new live
 *   stream is ready, so nothing after your re-listing is missed.
 *
 * Reconnection: a stream the server ends (`reconnect`: maximum connection time, restart, slow reader) is
 * resumed at once from its cursor; a broken or silent one (`idleTimeoutMs`, default 90 s: the Hub pings every
 * ~30 s) after a backoff (the `retry` policy: `baseDelayMs`, `maxDelayMs`), until `retry.budgetMs` (default 5
 * minutes) passed without a stream becoming ready; then the last error is thrown. Errors: `BucketNotFoundError`,
 * `HubApiError` (UNAUTHORIZED 401, FORBIDDEN 403), `EventsUnavailableError` (EVENTS_UNAVAILABLE: the server
 * does not serve the feed, 404 without error code or 501; fall back to listing), `NetworkError`.
 * `abortSignal` ends the generator with the signal's reason; `break` ends it quietly.
 */
import { InvalidArgumentError, NetworkError } from "../errors.js";
import { backoffDelay, retryConfig, sleep } from "../http.js";
import { followSession, isTransient, type BucketFileChange, type ResumePoint } from "../hub/events.js";
import { joinBucketPath } from "../repo.js";
import { hubContext } from "../hub/context.js";
import { parseBucket, type RepoDesignation } from "../repo.js";
import type { CommonOptions } from "./buckets.js";

export type { BucketFileChange } from "../hub/events.js";

/** Options of `watchBucket`: the common options (`retry` shapes the reconnection backoff) and these. */
export interface WatchBucketOptions extends CommonOptions {
  /**
   * Only changes at or below this folder (or of this file): `path === prefix` or below `prefix/`. Joined to
   * the path of an `hf://buckets/ns/name/path` designation. Change paths stay relative to the bucket root.
   */
  prefix?: string;
  /** Resume strictly after this cursor (from a `changes` or `ready` event). */
  cursor?: string;
  /** Replay the changes made at or after this instant (ISO-8601, Date or ms), when `cursor` is not given. */
  since?: string | Date | number;
  /** A stream silent for this long is dropped and reopened (default 90000 ms). */
  idleTimeoutMs?: number;
  /** Called before each reconnection wait (logging). */
  onReconnect?: (info: { attempt: number; delayMs: number; reason: string }) => void;
}

/** What `watchBucket` yields (see its module documentation for when each comes). */
export type BucketWatchEvent =
  | {
      /** The stream follows live changes: (re)list the bucket now. */
      type: "ready";
      /** Resumes strictly after this point (undefined when the feed gave none). */
      cursor: string | undefined;
    }
  | {
      /** Changes, in the order they were made. */
      type: "changes";
      /** Resumes strictly after these changes: persist it to miss nothing across restarts. */
      cursor: string;
      /** The changes (of paths in scope of `prefix`). */
      changes: BucketFileChange[];
    }
  | {
      /** The feed could not resume where needed: re-list, then keep applying the changes that follow. */
      type: "reset";
      /** Why, as the feed says it (e.g. the cursor is older than the replay window). */
      reason: string;
      /** The feed's explanation, when it gave one. */
      message: string | undefined;
      /** Resumes strictly after this point (undefined when the feed gave none). */
      cursor: string | undefined;
    };

/** The live changes of a bucket (see the module documentation). `bucket`: "ns/name" or any bucket designation. */
export async function* watchBucket(bucket: RepoDesignation, options: WatchBucketOptions = {}): AsyncGenerator<BucketWatchEvent> {
  const ref = parseBucket(bucket, { allowBareId: true });
  const ctx = hubContext(options);
  const prefix = joinBucketPath(ref.path, options.prefix ?? "");
  const inScope = (p: string) => prefix === "" || p === prefix || p.startsWith(`${prefix}/`);
  const cfg = retryConfig(options.retry);
  const idleTimeoutMs = options.idleTimeoutMs ?? 90_000;
  if (!(idleTimeoutMs > 0)) throw new InvalidArgumentError(`idleTimeoutMs must be positive, got ${options.idleTimeoutMs}`);
  let resume: ResumePoint = {};
  if (options.cursor !== undefined) {
    if (typeof options.cursor !== "string" || options.cursor === "") throw new InvalidArgumentError("cursor must be a non-empty string");
    resume = { cursor: options.cursor };
  } else if (options.since !== undefined) {
    const t =
      options.since instanceof Date
        ? options.since.getTime()
        : typeof options.since === "number"
          ? options.since
          : Date.parse(options.since);
    if (!Number.isFinite(t))
      throw new InvalidArgumentError(`since must be an ISO-8601 instant, a Date or ms, got ${String(options.since)}`);
    resume = { since: new Date(t).toISOString() };
  }
  const signal = options.abortSignal;
  /** Set by a `reset`: the next `ready` is yielded as that reset (the caller re-lists then). */
  let pendingReset: { reason: string; message: string | undefined } | undefined;
  let lastHealthy = Date.now();
  let failures = 0;
  for (;;) {
    signal?.throwIfAborted();
    let again: "now" | "backoff" = "backoff";
    let failure: unknown;
    try {
      for await (const ev of followSession(ctx, ref, resume, { signal, idleTimeoutMs })) {
        if (ev.type === "changes") {
          resume = { cursor: ev.cursor };
          const mine = ev.changes.filter((c) => inScope(c.path));
          if (mine.length > 0) yield { type: "changes", cursor: ev.cursor, changes: mine };
        } else if (ev.type === "ready") {
          lastHealthy = Date.now();
          failures = 0;
          if (ev.cursor !== undefined) resume = { cursor: ev.cursor };
          if (pendingReset) {
            const r = pendingReset;
            pendingReset = undefined;
            yield { type: "reset", reason: r.reason, message: r.message, cursor: ev.cursor };
          } else {
            yield { type: "ready", cursor: ev.cursor };
          }
        } else if (ev.type === "reset") {
          // Follow live from now; the caller re-lists once that stream is ready (then nothing falls between).
          pendingReset = { reason: ev.reason, message: ev.message };
          resume = {};
          again = "now";
          break;
        } else {
          if (ev.cursor !== undefined) resume = { cursor: ev.cursor };
          again = "now";
          break;
        }
      }
    } catch (err) {
      if (signal?.aborted) throw signal.reason;
      if (!isTransient(err)) throw err;
      failure = err;
    }
    if (again === "now") continue;
    failures++;
    const delay = backoffDelay(cfg, failures);
    const reason = failure instanceof Error ? failure.message : "the stream ended without a reconnect event";
    if (Date.now() - lastHealthy + delay > cfg.budgetMs) {
      const secs = Math.round((Date.now() - lastHealthy) / 1000);
      if (failure instanceof Error) {
        failure.message += ` — gave up following bucket ${ref.id} after ${secs} s without a live stream`;
        throw failure;
      }
      throw new NetworkError(
        "NETWORK",
        `could not follow the events of bucket ${ref.id} for ${secs} s: ${reason}`,
        `${ctx.hubUrl}/api/buckets/${ref.id}/events`,
      );
    }
    options.onReconnect?.({ attempt: failures, delayMs: delay, reason });
    await sleep(delay, signal);
  }
}
