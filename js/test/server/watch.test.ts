/**
 * `watchBucket()` against the local hub: ready first, then the changes of our own uploads (with `prefix`),
 * resumption across a hub restart with nothing missed or repeated, a burst of 1,000 changes in order, a
 * cursor beyond the replay window turned into `reset` once a new live stream is ready, typed errors (401,
 * missing bucket, a feed the server does not serve), abort and break; and the SSE parser on hostile framing
 * (every chunk boundary, CRLF / CR line ends, comments, multi-line data, a BOM, unknown and malformed events).
 */
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { describe, it } from "node:test";
import {
  BucketNotFoundError,
  EventsUnavailableError,
  HubApiError,
  NetworkError,
  uploadFiles,
  watchBucket,
  type BucketWatchEvent,
} from "../../src/index.js";
import { feedEvent, parseSse } from "../../src/hub/events.js";
import { batch, postBucket, TEST_USERS, withHub, type TestHub } from "../helpers/hub.js";

const { alice } = TEST_USERS;
const ZERO = "0".repeat(64);

/**
 * Pulls events from a watch into an array in the background; `until` waits for a condition; `stop` aborts it (an
 * async generator waiting for its next event cannot be returned from outside: its abortSignal ends it).
 */
function collect(start: (abortSignal: AbortSignal) => AsyncGenerator<BucketWatchEvent>) {
  const ctl = new AbortController();
  const gen = start(ctl.signal);
  const events: BucketWatchEvent[] = [];
  let error: unknown;
  let done = false;
  const running = (async () => {
    try {
      for await (const ev of gen) events.push(ev);
    } catch (err) {
      error = err;
    } finally {
      done = true;
    }
  })();
  return {
    events,
    get error() {
      return error;
    },
    get done() {
      return done;
    },
    paths: () => events.flatMap((e) => (e.type === "changes" ? e.changes.map((c) => c.path) : [])),
    async until(pred: () => boolean, what: string, ms = 20_000) {
      const deadline = Date.now() + ms;
      while (!pred()) {
        if (error) throw error;
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(events).slice(0, 1000)}`);
        await new Promise((r) => setTimeout(r, 25));
      }
    },
    stop: async () => {
      ctl.abort(new Error("stopped by the test"));
      await running;
      if ((error as Error)?.message !== "stopped by the test") throw error ?? new Error("the watch ended before it was stopped");
    },
  };
}

const opts = (hub: TestHub) => ({ hubUrl: hub.url, accessToken: alice.token });
const adds = (paths: string[]) => paths.map((path) => ({ type: "addFile", path, xetHash: ZERO }));
const names = (n: number, prefix: string) => Array.from({ length: n }, (_, i) => `${prefix}${String(i).padStart(4, "0")}`);

describe("watchBucket", () => {
  it("yields ready, then the changes of an upload by our client, filtered by prefix", async () => {
    await withHub(async (hub) => {
      await postBucket(hub, "alice/w", alice.token);
      const w = collect((abortSignal) => watchBucket("alice/w", { ...opts(hub), abortSignal, prefix: "keep" }));
      await w.until(() => w.events.length > 0, "ready");
      assert.equal(w.events[0]!.type, "ready");
      await uploadFiles({
        repo: "buckets/alice/w",
        files: [
          { path: "skip/a.txt", content: new TextEncoder().encode("no") },
          { path: "keep/b.txt", content: new TextEncoder().encode("yes!") },
          { path: "keeper.txt", content: new TextEncoder().encode("a sibling, not below keep/") },
        ],
        ...opts(hub),
      });
      await w.until(() => w.paths().length > 0, "a change");
      const ev = w.events[1]!;
      assert.equal(ev.type, "changes");
      if (ev.type !== "changes") return;
      assert.deepEqual(
        ev.changes.map((c) => [c.op, c.path, c.size]),
        [["add", "keep/b.txt", 4]],
      );
      assert.match(ev.changes[0]!.xetHash!, /^[0-9a-f]{64}$/);
      assert.match(ev.cursor, /\.\d+$/);
      await w.stop();
      // `break` inside the loop ends it quietly and closes its stream.
      await new Promise((r) => setTimeout(r, 200));
      const before = hub.requests.filter((r) => r.path.endsWith("/events")).length;
      for await (const e of watchBucket("alice/w", opts(hub))) if (e.type === "ready") break;
      await new Promise((r) => setTimeout(r, 100));
      assert.equal(hub.requests.filter((r) => r.path.endsWith("/events")).length, before + 1, "its request finished");
    });
  });

  it("resumes across a hub restart (reconnect at shutdown, then by cursor): nothing missed, nothing repeated", async () => {
    await withHub(async (hub) => {
      await postBucket(hub, "alice/r", alice.token);
      const w = collect((abortSignal) =>
        watchBucket("alice/r", { ...opts(hub), abortSignal, retry: { baseDelayMs: 50, maxDelayMs: 200 } }),
      );
      await w.until(() => w.events.length > 0, "ready");
      assert.equal((await batch(hub, "alice/r", alice.token, adds(names(5, "a/")))).status, 200);
      await w.until(() => w.paths().length === 5, "5 changes");
      await hub.restart();
      assert.equal((await batch(hub, "alice/r", alice.token, adds(names(5, "b/")))).status, 200);
      await w.until(() => w.paths().length === 10, "the changes made while it reconnected");
      assert.equal((await batch(hub, "alice/r", alice.token, adds(names(5, "c/")))).status, 200);
      await w.until(() => w.paths().length === 15, "15 changes");
      assert.deepEqual(w.paths(), [...names(5, "a/"), ...names(5, "b/"), ...names(5, "c/")]);
      assert.ok(w.events.filter((e) => e.type === "ready").length >= 2, "a second ready after resuming");
      await w.stop();
    });
  });

  it("a burst of 1,000 changes arrives complete and in order; a persisted cursor resumes a new watch", async () => {
    await withHub(async (hub) => {
      await postBucket(hub, "alice/burst", alice.token);
      const w = collect((abortSignal) => watchBucket("alice/burst", { ...opts(hub), abortSignal }));
      await w.until(() => w.events.length > 0, "ready");
      const paths = names(1000, "d/f");
      assert.equal((await batch(hub, "alice/burst", alice.token, adds(paths))).status, 200);
      await w.until(() => w.paths().length === 1000, "1000 changes");
      assert.deepEqual(w.paths(), paths);
      const cursor = (w.events.at(-1) as { cursor: string }).cursor;
      await w.stop();
      assert.equal((await batch(hub, "alice/burst", alice.token, adds(["later"]))).status, 200);
      const again = collect((abortSignal) => watchBucket("alice/burst", { ...opts(hub), abortSignal, cursor }));
      await again.until(() => again.events.some((e) => e.type === "ready"), "ready");
      assert.deepEqual(again.paths(), ["later"], "strictly after the cursor");
      await again.stop();
      const since = collect((abortSignal) => watchBucket("hf://buckets/alice/burst/d", { ...opts(hub), abortSignal, since: new Date(0) }));
      await since.until(() => since.events.some((e) => e.type === "ready"), "ready");
      assert.deepEqual(since.paths(), paths, 'since + the path of the designation (not "later")');
      await since.stop();
    });
  });

  it("turns a cursor beyond the replay window into reset, yielded once a new live stream is ready", async () => {
    await withHub(
      async (hub) => {
        await postBucket(hub, "alice/win", alice.token);
        const first = collect((abortSignal) => watchBucket("alice/win", { ...opts(hub), abortSignal }));
        await first.until(() => first.events.length > 0, "ready");
        const old = (first.events[0] as { cursor: string }).cursor;
        await first.stop();
        for (let i = 0; i < 5; i++) assert.equal((await batch(hub, "alice/win", alice.token, adds(names(5, `x${i}/`)))).status, 200);
        const w = collect((abortSignal) => watchBucket("alice/win", { ...opts(hub), abortSignal, cursor: old }));
        await w.until(() => w.events.length > 0, "reset");
        const reset = w.events[0]!;
        assert.equal(reset.type, "reset");
        assert.equal(reset.type === "reset" && reset.reason, "cursor-expired");
        assert.match((reset as { cursor: string }).cursor, /\.\d+$/);
        assert.equal((await batch(hub, "alice/win", alice.token, adds(["after-reset"]))).status, 200);
        await w.until(() => w.paths().length === 1, "the change after the reset");
        assert.deepEqual(w.paths(), ["after-reset"]);
        await w.stop();
      },
      { events: { maxRecords: 5 } },
    );
  });

  it("throws typed errors: 401 anonymous, BucketNotFoundError, EventsUnavailableError; abortSignal ends it with its reason", async () => {
    await withHub(async (hub) => {
      await postBucket(hub, "alice/priv", alice.token, { private: true });
      const anon = watchBucket("alice/priv", { hubUrl: hub.url });
      await assert.rejects(anon.next(), (e: unknown) => e instanceof HubApiError && e.code === "UNAUTHORIZED" && e.statusCode === 401);
      await assert.rejects(watchBucket("alice/missing", opts(hub)).next(), (e: unknown) => e instanceof BucketNotFoundError);
      const w = collect((abortSignal) => watchBucket("alice/priv", { ...opts(hub), abortSignal }));
      await w.until(() => w.events.length > 0, "ready");
      await w.stop(); // ends with the signal's reason
    });
    for (const [status, type, body] of [
      [404, "application/json", '{"error":"no such endpoint"}'],
      [501, "application/json", '{"error":"not implemented"}'],
      [200, "application/json", "[]"],
    ] as const) {
      const server = await serve((_req, res) => {
        res.writeHead(status, { "Content-Type": type });
        res.end(body);
      });
      try {
        await assert.rejects(
          watchBucket("alice/x", { hubUrl: url(server), retry: false }).next(),
          (e: unknown) => e instanceof EventsUnavailableError && e.code === "EVENTS_UNAVAILABLE" && e.statusCode === status,
        );
      } finally {
        server.close();
      }
    }
  });

  it("drops a silent stream (idle timeout), reconnects with backoff, and gives up after the retry budget", async () => {
    let requests = 0;
    const server = await serve((_req, res) => {
      requests++;
      res.writeHead(200, { "Content-Type": "text/event-stream" });
      res.flushHeaders(); // then nothing, not even a ping
    });
    try {
      const t0 = Date.now();
      await assert.rejects(
        (async () => {
          for await (const _ of watchBucket("alice/x", {
            hubUrl: url(server),
            idleTimeoutMs: 200,
            retry: { baseDelayMs: 20, maxDelayMs: 50, budgetMs: 1500 },
          }));
        })(),
        (e: unknown) => e instanceof NetworkError && e.code === "TIMEOUT",
      );
      assert.ok(requests >= 3, `reconnected (${requests} sessions)`);
      assert.ok(Date.now() - t0 < 5000);
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });
});

describe("server-sent events parser", () => {
  const text =
    '\ufeff: hello\r\n\r\nevent: ready\r\ndata: {"cursor":"c0"}\r\n\r\n' +
    'event: changes\rid: c1\rdata: {"cursor":"c1",\r' +
    'data: "changes":[{"path":"a","op":"add","size":3},{"path":"b","op":"move"},{"op":"delete"}]}\r\r' +
    ": ping\n\nevent: future\ndata: {}\n\nevent: changes\ndata: not json\n\n" +
    'event: reset\ndata: {"reason":"cursor-expired"}\n\nevent: reconnect\ndata\n\nevent: ready\n\n' +
    'event: reconnect\ndata: {"cursor":"c2"}\n\n';

  async function parse(chunks: Uint8Array[]) {
    const stream = new ReadableStream<Uint8Array>({
      start(c) {
        for (const ch of chunks) c.enqueue(ch);
        c.close();
      },
    });
    let bytes = 0;
    const out = [];
    for await (const m of parseSse(stream, () => bytes++)) out.push({ ...m, parsed: feedEvent(m) });
    return { out, bytes };
  }

  it("gives the same events for every split of the stream, one byte at a time included", async () => {
    const all = new TextEncoder().encode(text);
    const whole = await parse([all]);
    assert.deepEqual(
      whole.out.map((m) => m.parsed),
      [
        { type: "ready", cursor: "c0" },
        { type: "changes", cursor: "c1", changes: [{ path: "a", op: "add", size: 3 }] },
        undefined, // unknown event type
        undefined, // malformed JSON
        { type: "reset", reason: "cursor-expired", message: undefined },
        { type: "reconnect", cursor: undefined, reason: undefined }, // "data" without value: an empty payload
        { type: "reconnect", cursor: "c2", reason: undefined },
      ],
    );
    assert.equal(whole.out[1]!.id, "c1");
    assert.equal(whole.out[2]!.id, "c1", "the last event id carries over");
    const bytewise = await parse([...all].map((b) => Uint8Array.of(b)));
    assert.deepEqual(bytewise.out, whole.out);
    assert.equal(bytewise.bytes, all.length, "every chunk counts as activity");
    for (const cut of [1, 5, 37, 100, 255]) {
      const parts: Uint8Array[] = [];
      for (let i = 0; i < all.length; i += cut) parts.push(all.subarray(i, i + cut));
      assert.deepEqual((await parse(parts)).out, whole.out, `chunks of ${cut}`);
    }
  });
});

function serve(handler: Parameters<typeof createServer>[1]): Promise<Server> {
  const server = createServer(handler);
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve(server)));
}

function url(server: Server): string {
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}
