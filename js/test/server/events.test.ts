/**
 * The local hub's live events feed (`GET /api/buckets/{ns}/{name}/events`, server-sent events), read with a
 * minimal SSE reader of its own (independent of the client's): access rules, event framing, changes of
 * batch adds / updates / copies / deletes in commit order, resume by cursor and by `since`, a burst of 1,000
 * changes, resumption across a hub restart, the replay window (bounded, persistent, `reset` beyond it),
 * cursors of other buckets and stores, keep-alive pings and the maximum connection time, many subscribers, a
 * slow subscriber that cannot stall the hub, and buckets deleted, renamed or made private under a stream.
 */
import assert from "node:assert/strict";
import { connect } from "node:net";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { loadSqlite } from "../../server/src/store.js";
import { uploadWithCore } from "../helpers/cas.js";
import { batch, call, postBucket, startTestHub, TEST_USERS, type TestHub } from "../helpers/hub.js";

const { alice, bob } = TEST_USERS;
const ZERO = "0".repeat(64);

interface Ev {
  event: string;
  data: any;
  id: string | undefined;
}

/** A subscriber: events and keep-alive comments as they arrive, read with a minimal SSE parser. */
class Stream {
  readonly events: Ev[] = [];
  comments = 0;
  ended = false;
  #waiters: Array<() => void> = [];
  readonly #ctl = new AbortController();
  status = 0;
  headers = new Headers();

  static async open(
    hub: { url: string },
    bucket: string,
    opts: { token?: string; query?: Record<string, string>; headers?: Record<string, string> } = {},
  ): Promise<Stream> {
    const s = new Stream();
    const q = new URLSearchParams(opts.query ?? {}).toString();
    const headers: Record<string, string> = { Accept: "text/event-stream", ...opts.headers };
    if (opts.token) headers.Authorization = `Bearer ${opts.token}`;
    const res = await fetch(`${hub.url}/api/buckets/${bucket}/events${q ? `?${q}` : ""}`, { headers, signal: s.#ctl.signal });
    s.status = res.status;
    s.headers = res.headers;
    if (res.status !== 200) {
      s.events.push({ event: "http-error", data: await res.text(), id: undefined });
      s.ended = true;
      return s;
    }
    void s.#read(res.body!);
    return s;
  }

  async #read(body: ReadableStream<Uint8Array>): Promise<void> {
    const dec = new TextDecoder();
    let buf = "";
    try {
      for await (const chunk of body as unknown as AsyncIterable<Uint8Array>) {
        buf += dec.decode(chunk, { stream: true });
        let i: number;
        while ((i = buf.indexOf("\n\n")) >= 0) {
          const block = buf.slice(0, i);
          buf = buf.slice(i + 2);
          if (block.startsWith(":")) {
            this.comments++;
            continue;
          }
          const ev: Ev = { event: "message", data: undefined, id: undefined };
          for (const line of block.split("\n")) {
            const [field, ...rest] = line.split(": ");
            const value = rest.join(": ");
            if (field === "event") ev.event = value;
            else if (field === "id") ev.id = value;
            else if (field === "data") ev.data = JSON.parse(value);
          }
          this.events.push(ev);
        }
        this.#wake();
      }
    } catch {
      // aborted by close()
    }
    this.ended = true;
    this.#wake();
  }

  #wake(): void {
    for (const w of this.#waiters.splice(0)) w();
  }

  /** Waits until `pred` holds (re-checked on every arrival). */
  async until(pred: (s: Stream) => boolean, what: string, ms = 15_000): Promise<void> {
    const deadline = Date.now() + ms;
    while (!pred(this)) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; got ${JSON.stringify(this.events).slice(0, 1500)}`);
      await new Promise<void>((r) => {
        this.#waiters.push(r);
        setTimeout(r, 100);
      });
    }
  }

  /** The file changes received, in order. */
  changes(): Array<{ path: string; op: string; size?: number; xetHash?: string; mtime?: string; uploadedAt?: string }> {
    return this.events.filter((e) => e.event === "changes").flatMap((e) => e.data.changes);
  }

  last(event: string): Ev | undefined {
    return this.events.filter((e) => e.event === event).pop();
  }

  close(): void {
    this.#ctl.abort();
  }
}

const adds = (paths: string[]) => paths.map((path) => ({ type: "addFile", path, xetHash: ZERO, mtime: 1_700_000_000_000 }));
const names = (n: number, prefix: string) => Array.from({ length: n }, (_, i) => `${prefix}${String(i).padStart(4, "0")}`);
async function mustBatch(hub: { url: string }, bucket: string, lines: unknown[]): Promise<void> {
  const r = await batch(hub, bucket, alice.token, lines);
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.json.failed, []);
}

describe("live events feed", () => {
  let hub: TestHub;
  before(async () => {
    hub = await startTestHub();
    await postBucket(hub, "alice/feed", alice.token, { private: true });
    await postBucket(hub, "alice/open", alice.token, { private: false });
  });
  after(() => hub?.close());

  it("has the tree listing's access rules: 401 anonymous and 404 for others on a private bucket, 200 for readers", async () => {
    const anon = await Stream.open(hub, "alice/feed");
    assert.equal(anon.status, 401);
    const other = await Stream.open(hub, "alice/feed", { token: bob.token });
    assert.equal(other.status, 404);
    assert.equal(other.headers.get("x-error-code"), "RepoNotFound");
    const missing = await Stream.open(hub, "alice/nope", { token: alice.token });
    assert.equal(missing.status, 404);
    assert.equal(missing.headers.get("x-error-code"), "RepoNotFound");
    const reader = await Stream.open(hub, "alice/feed", { token: alice.readToken });
    assert.equal(reader.status, 200);
    assert.match(reader.headers.get("content-type")!, /^text\/event-stream/);
    await reader.until((s) => !!s.last("ready"), "ready");
    reader.close();
    const pub = await Stream.open(hub, "alice/open");
    assert.equal(pub.status, 200, "anyone follows a public bucket");
    pub.close();
    const badSince = await Stream.open(hub, "alice/feed", { token: alice.token, query: { since: "yesterday" } });
    assert.equal(badSince.status, 400);
    assert.match(badSince.events[0]!.data, /ISO-8601/);
    assert.equal((await call(hub, "POST", "/api/buckets/alice/feed/events", { token: alice.token })).status, 405);
  });

  it("streams adds, updates, copies and deletes in commit order, each event with its cursor as id", async () => {
    const s = await Stream.open(hub, "alice/feed", { token: alice.token });
    await s.until((x) => !!x.last("ready"), "ready");
    const ready = s.last("ready")!;
    assert.match(ready.data.cursor, /^[0-9a-f]{32}\.\d+\.\d+$/);
    assert.equal(ready.id, ready.data.cursor);
    const [up] = await uploadWithCore(hub, "alice/feed", alice.token, [
      { path: "data/a.bin", data: new Uint8Array(5000).fill(7), mtime: 1_700_000_123_456 },
    ]);
    await mustBatch(hub, "alice/feed", [
      { type: "addFile", path: "data/a.bin", xetHash: up!.hash, mtime: 1_700_000_999_000 },
      { type: "copyFile", path: "copy/a.bin", xetHash: up!.hash, sourceRepoType: "bucket", sourceRepoId: "alice/feed" },
      { type: "deleteFile", path: "data/a.bin" },
    ]);
    await s.until((x) => x.changes().length >= 4, "4 changes");
    const c = s.changes();
    assert.deepEqual(
      c.map((x) => [x.op, x.path]),
      [
        ["add", "data/a.bin"],
        ["update", "data/a.bin"],
        ["add", "copy/a.bin"],
        ["delete", "data/a.bin"],
      ],
    );
    assert.deepEqual(Object.keys(c[0]!).sort(), ["mtime", "op", "path", "size", "uploadedAt", "xetHash"]);
    assert.equal(c[0]!.size, 5000);
    assert.equal(c[0]!.xetHash, up!.hash);
    assert.equal(c[0]!.mtime, new Date(1_700_000_123_456).toISOString());
    assert.match(c[0]!.uploadedAt!, /Z$/);
    assert.equal(c[1]!.mtime, new Date(1_700_000_999_000).toISOString());
    assert.deepEqual(c[3], { path: "data/a.bin", op: "delete" });
    const events = s.events.filter((e) => e.event === "changes");
    assert.equal(events.length, 2, "one event per batch request");
    for (const e of events) assert.equal(e.id, e.data.cursor);
    s.close();

    // Strictly after a cursor: the second batch only.
    const resumed = await Stream.open(hub, "alice/feed", { token: alice.token, query: { cursor: events[0]!.data.cursor } });
    await resumed.until((x) => !!x.last("ready"), "ready");
    assert.deepEqual(
      resumed.changes().map((x) => x.op),
      ["update", "add", "delete"],
    );
    assert.equal(resumed.last("ready")!.data.cursor, events[1]!.data.cursor, "ready carries the newest cursor");
    resumed.close();
    // The Last-Event-ID header an EventSource sends on reconnection resumes the same way.
    const byHeader = await Stream.open(hub, "alice/feed", { token: alice.token, headers: { "Last-Event-ID": events[0]!.data.cursor } });
    await byHeader.until((x) => !!x.last("ready"), "ready");
    assert.equal(byHeader.changes().length, 3);
    byHeader.close();
    // Since an instant: what was committed at or after it (huggingface_hub resumes from the bucket's updatedAt).
    const info = await call(hub, "GET", "/api/buckets/alice/feed", { token: alice.token });
    const since = await Stream.open(hub, "alice/feed", { token: alice.token, query: { since: info.json.updatedAt } });
    await since.until((x) => !!x.last("ready"), "ready");
    assert.deepEqual(
      since.changes().map((x) => x.op),
      ["update", "add", "delete"],
      "the last batch (at updatedAt) is replayed",
    );
    since.close();
  });

  it("a burst of 1,000 changes arrives complete and in order; parallel batches arrive once each, in commit order", async () => {
    await postBucket(hub, "alice/burst", alice.token);
    const s = await Stream.open(hub, "alice/burst", { token: alice.token });
    await s.until((x) => !!x.last("ready"), "ready");
    const paths = names(1000, "burst/f");
    await mustBatch(hub, "alice/burst", adds(paths));
    await s.until((x) => x.changes().length >= 1000, "1000 changes");
    assert.deepEqual(
      s.changes().map((c) => c.path),
      paths,
    );
    assert.ok(s.changes().every((c) => c.op === "add"));

    const parallel = names(100, "par/p");
    await Promise.all(parallel.map((p) => mustBatch(hub, "alice/burst", adds([p]))));
    await s.until((x) => x.changes().length >= 1100, "1100 changes");
    const live = s.changes().slice(1000);
    assert.deepEqual([...live.map((c) => c.path)].sort(), parallel, "each parallel change exactly once");
    const replay = await Stream.open(hub, "alice/burst", { token: alice.token, query: { since: "1970-01-01T00:00:00Z" } });
    await replay.until((x) => !!x.last("ready"), "replay ready");
    assert.deepEqual(
      replay.changes().map((c) => c.path),
      s.changes().map((c) => c.path),
      "live order = replay order (the commit order)",
    );
    s.close();
    replay.close();
  });

  it("many subscribers all receive every change", async () => {
    const subs = await Promise.all(Array.from({ length: 25 }, () => Stream.open(hub, "alice/feed", { token: alice.token })));
    await Promise.all(subs.map((s) => s.until((x) => !!x.last("ready"), "ready")));
    const paths = names(50, "many/m");
    for (let i = 0; i < paths.length; i += 10) await mustBatch(hub, "alice/feed", adds(paths.slice(i, i + 10)));
    await Promise.all(subs.map((s) => s.until((x) => x.changes().length >= 50, "50 changes")));
    for (const s of subs) {
      assert.deepEqual(
        s.changes().map((c) => c.path),
        paths,
      );
      s.close();
    }
  });

  it("cursors of another bucket or another store, and cursors ahead of the log, answer reset", async () => {
    const s = await Stream.open(hub, "alice/open", { token: alice.token });
    await s.until((x) => !!x.last("ready"), "ready");
    const openCursor = s.last("ready")!.data.cursor as string;
    s.close();
    const other = await Stream.open(hub, "alice/feed", { token: alice.token, query: { cursor: openCursor } });
    await other.until((x) => x.ended, "end");
    assert.deepEqual(
      other.events.map((e) => [e.event, e.data.reason]),
      [["reset", "cursor-unknown"]],
    );
    const second = await startTestHub();
    try {
      await postBucket(second, "alice/feed", alice.token);
      const s2 = await Stream.open(second, "alice/feed", { token: alice.token });
      await s2.until((x) => !!x.last("ready"), "ready");
      const foreign = s2.last("ready")!.data.cursor as string;
      s2.close();
      const r = await Stream.open(hub, "alice/feed", { token: alice.token, query: { cursor: foreign } });
      await r.until((x) => x.ended, "end");
      assert.equal(r.events[0]!.data.reason, "cursor-unknown");
    } finally {
      await second.close();
    }
    const [store, bucketId] = openCursor.split(".");
    const ahead = await Stream.open(hub, "alice/open", { token: alice.token, query: { cursor: `${store}.${bucketId}.999999999` } });
    await ahead.until((x) => x.ended, "end");
    assert.equal(ahead.events[0]!.data.reason, "cursor-unknown");
    const garbage = await Stream.open(hub, "alice/open", { token: alice.token, query: { cursor: "not a cursor" } });
    await garbage.until((x) => x.ended, "end");
    assert.equal(garbage.events[0]!.event, "reset");
  });

  it("a deleted bucket resets its streams; a renamed one too; one made private drops anonymous subscribers", async () => {
    await postBucket(hub, "alice/gone", alice.token);
    const s = await Stream.open(hub, "alice/gone", { token: alice.token });
    await s.until((x) => !!x.last("ready"), "ready");
    assert.equal((await call(hub, "DELETE", "/api/buckets/alice/gone", { token: alice.token })).status, 200);
    await s.until((x) => x.ended, "end");
    assert.deepEqual(s.events.at(-1)!.data.reason, "bucket-deleted");

    await postBucket(hub, "alice/old", alice.token);
    const m = await Stream.open(hub, "alice/old", { token: alice.token });
    await m.until((x) => !!x.last("ready"), "ready");
    const moved = await call(hub, "POST", "/api/repos/move", {
      token: alice.token,
      body: { fromRepo: "alice/old", toRepo: "alice/new", type: "bucket" },
    });
    assert.equal(moved.status, 200, moved.text);
    await m.until((x) => x.ended, "end");
    assert.equal(m.events.at(-1)!.data.reason, "bucket-moved");
    assert.match(m.events.at(-1)!.data.message, /alice\/new/);

    await postBucket(hub, "alice/vis", alice.token, { private: false });
    const anon = await Stream.open(hub, "alice/vis");
    const owner = await Stream.open(hub, "alice/vis", { token: alice.token });
    await anon.until((x) => !!x.last("ready"), "ready");
    await owner.until((x) => !!x.last("ready"), "ready");
    const put = await call(hub, "PUT", "/api/buckets/alice/vis/settings", { token: alice.token, body: { private: true } });
    assert.equal(put.status, 200);
    await anon.until((x) => x.ended, "anonymous stream ended");
    assert.equal(anon.events.at(-1)!.event, "reconnect");
    assert.equal((await Stream.open(hub, "alice/vis", { query: { cursor: anon.events.at(-1)!.data.cursor } })).status, 401);
    await mustBatch(hub, "alice/vis", adds(["still/here"]));
    await owner.until((x) => x.changes().length === 1, "the owner still follows");
    owner.close();
  });
});

describe("live events feed: resumption and the replay window", () => {
  it("a consumer that resumes by cursor after the hub restarts misses no change", async () => {
    const hub = await startTestHub();
    try {
      await postBucket(hub, "alice/restart", alice.token);
      const s = await Stream.open(hub, "alice/restart", { token: alice.token });
      await s.until((x) => !!x.last("ready"), "ready");
      await mustBatch(hub, "alice/restart", adds(names(10, "a/")));
      await s.until((x) => x.changes().length === 10, "10 changes");
      await hub.restart();
      await s.until((x) => x.ended, "end at shutdown");
      const bye = s.events.at(-1)!;
      assert.equal(bye.event, "reconnect");
      assert.equal(bye.data.reason, "shutdown");
      // Changes made while the consumer is away, then it comes back with the cursor it was given.
      await mustBatch(hub, "alice/restart", adds(names(10, "b/")));
      const back = await Stream.open(hub, "alice/restart", { token: alice.token, query: { cursor: bye.data.cursor } });
      await back.until((x) => !!x.last("ready"), "ready");
      await mustBatch(hub, "alice/restart", adds(names(10, "c/")));
      await back.until((x) => x.changes().length === 20, "20 changes");
      assert.deepEqual(
        [...s.changes(), ...back.changes()].map((c) => c.path),
        [...names(10, "a/"), ...names(10, "b/"), ...names(10, "c/")],
      );
      back.close();
    } finally {
      await hub.close();
    }
  });

  it("keeps a bounded window across restarts and answers reset beyond it (no reset loop from updatedAt)", async () => {
    const hub = await startTestHub({ events: { maxRecords: 20 } });
    try {
      await postBucket(hub, "alice/window", alice.token);
      await postBucket(hub, "alice/quiet", alice.token);
      await mustBatch(hub, "alice/quiet", adds(["q/only"]));
      const first = await Stream.open(hub, "alice/window", { token: alice.token });
      await first.until((x) => !!x.last("ready"), "ready");
      const oldCursor = first.last("ready")!.data.cursor as string;
      first.close();
      for (let i = 0; i < 10; i++) await mustBatch(hub, "alice/window", adds(names(10, `w${i}/`)));
      const db = new (loadSqlite())(join(hub.dataDir, "hub.sqlite"), { readonly: true });
      try {
        const n = (db.prepare("SELECT count(*) AS n FROM bucket_events").get() as { n: number }).n;
        assert.ok(n >= 20 && n <= 30, `the log holds the newest changes only (${n})`);
      } finally {
        db.close();
      }
      const latest = await Stream.open(hub, "alice/window", { token: alice.token, query: { since: "1970-01-01T00:00:00Z" } });
      await latest.until((x) => x.ended || !!x.last("ready"), "an answer");
      assert.deepEqual(
        latest.events.map((e) => [e.event, e.data.reason]),
        [["reset", "since-expired"]],
      );
      await hub.restart();
      const expired = await Stream.open(hub, "alice/window", { token: alice.token, query: { cursor: oldCursor } });
      await expired.until((x) => x.ended, "end");
      assert.deepEqual(
        expired.events.map((e) => [e.event, e.data.reason]),
        [["reset", "cursor-expired"]],
      );
      // From updatedAt (huggingface_hub's resume point after a reset): served, with the last batch.
      const info = await call(hub, "GET", "/api/buckets/alice/window", { token: alice.token });
      const fresh = await Stream.open(hub, "alice/window", { token: alice.token, query: { since: info.json.updatedAt } });
      await fresh.until((x) => !!x.last("ready"), "ready");
      assert.deepEqual(
        fresh.changes().map((c) => c.path),
        names(10, "w9/"),
      );
      const recent = fresh.last("ready")!.data.cursor as string;
      fresh.close();
      // A quiet bucket whose only change fell out of the window still resumes from its updatedAt.
      const quietInfo = await call(hub, "GET", "/api/buckets/alice/quiet", { token: alice.token });
      const quiet = await Stream.open(hub, "alice/quiet", { token: alice.token, query: { since: quietInfo.json.updatedAt } });
      await quiet.until((x) => !!x.last("ready") || x.ended, "an answer");
      assert.equal(quiet.events[0]!.event, "ready", JSON.stringify(quiet.events));
      quiet.close();
      await hub.restart();
      await mustBatch(hub, "alice/window", adds(["after/restart"]));
      const again = await Stream.open(hub, "alice/window", { token: alice.token, query: { cursor: recent } });
      await again.until((x) => !!x.last("ready"), "ready");
      assert.deepEqual(
        again.changes().map((c) => c.path),
        ["after/restart"],
      );
      again.close();
    } finally {
      await hub.close();
    }
  });

  it("a data directory without the change log (schema version 2) gets it: its buckets resume from updatedAt, not from earlier", async () => {
    const hub = await startTestHub();
    try {
      await postBucket(hub, "alice/older", alice.token);
      await mustBatch(hub, "alice/older", adds(["before/upgrade"]));
      await hub.hub.close();
      // What a hub of schema version 2 left: the same tables without the change log.
      const db = new (loadSqlite())(join(hub.dataDir, "hub.sqlite"));
      db.exec("DROP TABLE bucket_events; DROP TABLE bucket_event_horizons; DELETE FROM schema_version WHERE version = 3;");
      db.close();
      await hub.restart();
      const info = await call(hub, "GET", "/api/buckets/alice/older", { token: alice.token });
      const fromUpdate = await Stream.open(hub, "alice/older", { token: alice.token, query: { since: info.json.updatedAt } });
      await fromUpdate.until((x) => !!x.last("ready") || x.ended, "an answer");
      assert.equal(fromUpdate.events[0]!.event, "ready");
      fromUpdate.close();
      const older = await Stream.open(hub, "alice/older", { token: alice.token, query: { since: "1970-01-01T00:00:00Z" } });
      await older.until((x) => x.ended, "end");
      assert.equal(older.events[0]!.data.reason, "since-expired", "its history before the upgrade is not held");
      await mustBatch(hub, "alice/older", adds(["after/upgrade"]));
      const live = await Stream.open(hub, "alice/older", { token: alice.token, query: { since: info.json.updatedAt } });
      await live.until((x) => !!x.last("ready"), "ready");
      assert.deepEqual(
        live.changes().map((c) => c.path),
        ["after/upgrade"],
      );
      live.close();
    } finally {
      await hub.close();
    }
  });

  it("drops changes older than maxAgeMs", async () => {
    let clock = Date.now();
    const hub = await startTestHub({ now: () => clock, events: { maxAgeMs: 60_000 } });
    try {
      await postBucket(hub, "alice/aged", alice.token);
      const s = await Stream.open(hub, "alice/aged", { token: alice.token });
      await s.until((x) => !!x.last("ready"), "ready");
      const start = s.last("ready")!.data.cursor as string;
      s.close();
      await mustBatch(hub, "alice/aged", adds(["old"]));
      clock += 120_000;
      await mustBatch(hub, "alice/aged", adds(["new"]));
      const r = await Stream.open(hub, "alice/aged", { token: alice.token, query: { cursor: start } });
      await r.until((x) => x.ended, "end");
      assert.equal(r.events[0]!.data.reason, "cursor-expired");
    } finally {
      await hub.close();
    }
  });
});

describe("live events feed: liveness", () => {
  it("pings while idle, and ends a stream with reconnect at its cursor after the maximum connection time", async () => {
    const hub = await startTestHub({ events: { keepAliveMs: 100, maxConnectionMs: 1500 } });
    try {
      await postBucket(hub, "alice/ka", alice.token);
      const t0 = Date.now();
      const s = await Stream.open(hub, "alice/ka", { token: alice.token });
      await s.until((x) => x.comments >= 3, "3 pings", 5000);
      await mustBatch(hub, "alice/ka", adds(["x"]));
      await s.until((x) => x.ended, "end", 5000);
      const took = Date.now() - t0;
      assert.ok(took >= 1300 && took < 4000, `ended after ${took} ms`);
      const bye = s.events.at(-1)!;
      assert.equal(bye.event, "reconnect");
      assert.equal(bye.data.cursor, s.last("changes")!.data.cursor);
      assert.equal(bye.data.reason, "max-connection-time");
    } finally {
      await hub.close();
    }
  });

  it("a subscriber that stops reading cannot stall the hub: it is told to reconnect and resumes by cursor", async () => {
    const hub = await startTestHub();
    try {
      await postBucket(hub, "alice/slow", alice.token);
      // Long paths (8 segments of 200 characters) make each change ~1.9 KB: 10 batches of 1000 ≈ 19 MB.
      const long = (i: number, k: number) =>
        [...Array.from({ length: 7 }, (_, s) => `${String.fromCharCode(97 + s)}`.repeat(200)), `${i}-${k}`.padEnd(200, "z")].join("/");
      const total = 10_000;
      const { hostname: host, port } = new URL(hub.url);
      const slow = connect({ host, port: Number(port) });
      const raw: Buffer[] = [];
      let paused = false;
      await new Promise<void>((resolve) => slow.once("connect", resolve));
      slow.write(
        `GET /api/buckets/alice/slow/events HTTP/1.0\r\nHost: ${host}:${port}\r\nAuthorization: Bearer ${alice.token}\r\nAccept: text/event-stream\r\n\r\n`,
      );
      slow.on("data", (d: Buffer) => {
        raw.push(d);
        if (!paused && Buffer.concat(raw).includes("event: ready")) {
          paused = true;
          slow.pause();
        } // then it stops reading
      });
      const fast = await Stream.open(hub, "alice/slow", { token: alice.token });
      await fast.until((x) => !!x.last("ready"), "ready");
      await new Promise((r) => setTimeout(r, 200));
      const t0 = Date.now();
      for (let i = 0; i < 10; i++) {
        await mustBatch(
          hub,
          "alice/slow",
          Array.from({ length: 1000 }, (_, k) => ({ type: "addFile", path: long(i, k), xetHash: ZERO })),
        );
      }
      const writes = Date.now() - t0;
      assert.ok(writes < 30_000, `the batches were not held up by the slow subscriber (${writes} ms)`);
      // The slow one now reads what it held: some changes, then reconnect at the last cursor it was sent, then EOF.
      slow.resume();
      await new Promise<void>((resolve) => slow.once("end", resolve));
      await fast.until((x) => x.changes().length === total, "every change for the reader that keeps up", 60_000);
      const text = Buffer.concat(raw).toString("utf8");
      const blocks = text.slice(text.indexOf("\r\n\r\n") + 4).split("\n\n");
      const got: string[] = [];
      let bye: any;
      for (const b of blocks) {
        const data = /\ndata: (.*)$/m.exec(`\n${b}`)?.[1];
        if (b.includes("event: changes")) got.push(...JSON.parse(data!).changes.map((c: { path: string }) => c.path));
        if (b.includes("event: reconnect")) bye = JSON.parse(data!);
      }
      assert.ok(bye, "the slow subscriber was told to reconnect");
      assert.equal(bye.reason, "slow-subscriber");
      assert.ok(got.length < total, `it was cut off before the end (${got.length} of ${total})`);
      const rest = await Stream.open(hub, "alice/slow", { token: alice.token, query: { cursor: bye.cursor } });
      await rest.until((x) => !!x.last("ready"), "ready", 60_000);
      const all = [...got, ...rest.changes().map((c) => c.path)];
      assert.deepEqual(
        all,
        fast.changes().map((c) => c.path),
        "nothing lost or repeated after resuming",
      );
      rest.close();
      fast.close();
    } finally {
      await hub.close();
    }
  });
});
