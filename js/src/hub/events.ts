/**
 * The Hub's live events feed of a bucket (hub-buckets-api.md §4.13, B14), one session at a time:
 * `GET /api/buckets/{ns}/{name}/events[?cursor=…|?since=…]` with `Accept: text/event-stream`, read as
 * server-sent events from the response's `ReadableStream<Uint8Array>` (no Node API: this runs in browsers and
 * edge runtimes too) and parsed into the feed's vocabulary (`ready`, `changes`, `reset`, `reconnect`).
 * Events this client does not know, and malformed ones, are dropped, so the Hub can add event types.
 *
 * Reconnecting and resuming is the caller's (api/watch.ts).
 */
import { EventsUnavailableError, HubApiError, NetworkError, XetBucketsError } from "../errors.js";
import { errorFromResponse, redactUrl } from "../http.js";
import type { BucketRef } from "../repo.js";
import { bucketApiPath } from "./buckets.js";
import type { HubContext } from "./context.js";

/** One file change of the feed. `path` is from the bucket root; adds and updates carry the file's fields. */
export interface BucketFileChange {
  /** The file's path in the bucket. */
  path: string;
  /** What happened to it. */
  op: "add" | "update" | "delete";
  /** Bytes, when reported (adds and updates). */
  size?: number;
  /** Xet file id, when reported. */
  xetHash?: string;
  /** The uploader's modification time, ISO-8601, when reported. */
  mtime?: string;
  /** When the file was registered, ISO-8601, when reported. */
  uploadedAt?: string;
}

/** An event of the feed, parsed. */
export type FeedEvent =
  | { type: "ready"; cursor: string | undefined }
  | { type: "changes"; cursor: string; changes: BucketFileChange[] }
  | { type: "reset"; reason: string; message: string | undefined }
  | { type: "reconnect"; cursor: string | undefined; reason: string | undefined };

/** One raw server-sent event (WHATWG HTML §9.2). */
export interface SseMessage {
  event: string;
  data: string;
  id: string | undefined;
}

/**
 * Parses a server-sent event stream: lines end with CRLF, LF or CR (also split across chunks), `:` lines are
 * comments, `data:` lines accumulate, a blank line dispatches (events without data are not dispatched, as in
 * the spec). `onBytes` is called for every chunk, comments included (keep-alive).
 */
export async function* parseSse(body: ReadableStream<Uint8Array>, onBytes?: () => void): AsyncGenerator<SseMessage> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buf = "";
  let first = true;
  let event = "";
  let data: string[] = [];
  let id: string | undefined;
  let lastId: string | undefined;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      onBytes?.();
      buf += decoder.decode(value, { stream: true });
      if (first && buf.length > 0) {
        if (buf.charCodeAt(0) === 0xfeff) buf = buf.slice(1);
        first = false;
      }
      let start = 0;
      for (;;) {
        let end = start;
        while (end < buf.length && buf[end] !== "\n" && buf[end] !== "\r") end++;
        if (end >= buf.length) break;
        // A CR at the end of what arrived may be the first half of a CRLF: wait for the next chunk.
        if (buf[end] === "\r" && end + 1 >= buf.length) break;
        const line = buf.slice(start, end);
        start = end + (buf[end] === "\r" && buf[end + 1] === "\n" ? 2 : 1);
        if (line === "") {
          if (id !== undefined) lastId = id;
          if (data.length > 0) yield { event: event || "message", data: data.join("\n"), id: lastId };
          event = "";
          data = [];
          id = undefined;
          continue;
        }
        if (line.startsWith(":")) continue;
        const colon = line.indexOf(":");
        const field = colon < 0 ? line : line.slice(0, colon);
        let value = colon < 0 ? "" : line.slice(colon + 1);
        if (value.startsWith(" ")) value = value.slice(1);
        if (field === "event") event = value;
        else if (field === "data") data.push(value);
        else if (field === "id" && !value.includes("\0")) id = value;
      }
      buf = buf.slice(start);
    }
  } finally {
    await reader.cancel().catch(() => undefined);
  }
}

function str(v: unknown): string | undefined {
  return typeof v === "string" ? v : undefined;
}

/** A raw event as a feed event; undefined for unknown types and malformed payloads (ignored, like huggingface_hub). */
export function feedEvent(msg: SseMessage): FeedEvent | undefined {
  let payload: unknown;
  try {
    payload = msg.data.trim() === "" ? {} : JSON.parse(msg.data);
  } catch {
    return undefined;
  }
  if (payload === null || typeof payload !== "object" || Array.isArray(payload)) return undefined;
  const p = payload as Record<string, unknown>;
  switch (msg.event) {
    case "ready":
      return { type: "ready", cursor: str(p.cursor) };
    case "changes": {
      if (typeof p.cursor !== "string" || !Array.isArray(p.changes)) return undefined;
      const changes: BucketFileChange[] = [];
      for (const c of p.changes as unknown[]) {
        if (c === null || typeof c !== "object") continue;
        const o = c as Record<string, unknown>;
        if (typeof o.path !== "string" || (o.op !== "add" && o.op !== "update" && o.op !== "delete")) continue;
        const change: BucketFileChange = { path: o.path, op: o.op };
        if (typeof o.size === "number" && Number.isFinite(o.size)) change.size = o.size;
        if (typeof o.xetHash === "string") change.xetHash = o.xetHash;
        if (typeof o.mtime === "string") change.mtime = o.mtime;
        if (typeof o.uploadedAt === "string") change.uploadedAt = o.uploadedAt;
        changes.push(change);
      }
      return { type: "changes", cursor: p.cursor, changes };
    }
    case "reset":
      return { type: "reset", reason: str(p.reason) ?? "reset", message: str(p.message) };
    case "reconnect":
      return { type: "reconnect", cursor: str(p.cursor), reason: str(p.reason) };
    default:
      return undefined;
  }
}

export type ResumePoint = { cursor: string } | { since: string } | Record<string, never>;

/**
 * Opens one session of the feed and yields its events until the stream ends (EOF, or the caller stops).
 * Throws `EventsUnavailableError`, the typed HTTP errors of the request (401, 403, `BucketNotFoundError`…,
 * after the retry policy for network errors and 5xx), or the network error that broke the stream.
 * `idleTimeoutMs`: a stream silent for longer while it is read (the Hub pings every ~30 s) is dropped with a
 * `NetworkError`; the time the caller takes with an event does not count.
 */
export async function* followSession(
  ctx: HubContext,
  bucket: BucketRef,
  resume: ResumePoint,
  options: { signal?: AbortSignal; idleTimeoutMs: number },
): AsyncGenerator<FeedEvent> {
  const params = new URLSearchParams(resume as Record<string, string>);
  const query = params.toString();
  const path = `${bucketApiPath(bucket)}/events${query ? `?${query}` : ""}`;
  const session = new AbortController();
  const signal = options.signal ? AbortSignal.any([options.signal, session.signal]) : session.signal;
  let idle: ReturnType<typeof setTimeout> | undefined;
  let idledOut = false;
  const arm = () => {
    if (idle !== undefined) clearTimeout(idle);
    idle = setTimeout(() => {
      idledOut = true;
      session.abort(new DOMException(`no data for ${options.idleTimeoutMs} ms`, "TimeoutError"));
    }, options.idleTimeoutMs);
  };
  try {
    const res = await ctx.request(path, { headers: { Accept: "text/event-stream" }, accept: [404, 501], signal });
    const url = redactUrl(res.url || `${ctx.hubUrl}${path}`);
    if (res.status === 404 && res.headers.get("x-error-code") === "RepoNotFound") throw await errorFromResponse(res, "GET", url);
    if (res.status === 404 || res.status === 501) {
      await res.body?.cancel().catch(() => undefined);
      throw new EventsUnavailableError(
        `the server does not serve the live events feed of bucket ${bucket.id} (${res.status} on GET ${url})`,
        res.status,
        url,
      );
    }
    if (!(res.headers.get("content-type") ?? "").toLowerCase().startsWith("text/event-stream") || !res.body) {
      await res.body?.cancel().catch(() => undefined);
      throw new EventsUnavailableError(
        `GET ${url} answered ${res.status} with ${res.headers.get("content-type") ?? "no content type"}, not an event stream`,
        res.status,
        url,
      );
    }
    arm();
    for await (const msg of parseSse(res.body, arm)) {
      const ev = feedEvent(msg);
      if (!ev) continue;
      // The stream is not read while the caller handles the event (however long): the idle clock waits too.
      clearTimeout(idle);
      yield ev;
      arm();
    }
  } catch (err) {
    if (options.signal?.aborted) throw options.signal.reason;
    if (err instanceof XetBucketsError) throw err;
    const url = `${ctx.hubUrl}${bucketApiPath(bucket)}/events`;
    if (idledOut) {
      throw new NetworkError("TIMEOUT", `the events stream of bucket ${bucket.id} was silent for ${options.idleTimeoutMs} ms`, url, {
        cause: err,
      });
    }
    throw new NetworkError("NETWORK", `the events stream of bucket ${bucket.id} broke: ${(err as Error)?.message ?? err}`, url, {
      cause: err,
    });
  } finally {
    if (idle !== undefined) clearTimeout(idle);
    session.abort(new DOMException("session closed", "AbortError"));
  }
}

/** True for the errors after which a session is worth opening again (network, server busy or failing). */
export function isTransient(err: unknown): boolean {
  if (err instanceof NetworkError) return true;
  if (err instanceof HubApiError)
    return err.statusCode === 408 || err.statusCode === 429 || (err.statusCode >= 500 && err.statusCode !== 501);
  return false;
}
