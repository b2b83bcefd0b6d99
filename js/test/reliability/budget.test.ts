/**
 * The hub's body budget (server/budget.ts): shares by Content-Length (the limit when unknown, at most the
 * whole budget), waiting in arrival order, given back once; a client that disconnects while waiting leaves
 * the queue. And end to end: a hub with a small budget serves concurrent uploads one budget at a time.
 */
import assert from "node:assert/strict";
import { EventEmitter } from "node:events";
import type { IncomingMessage } from "node:http";
import { test } from "node:test";
import { uploadFiles } from "../../src/api/upload.js";
import { BodyBudget } from "../../server/src/budget.js";
import { ALICE, newBucket, resolveBytes, startTestHub } from "../helpers/hub.js";
import { seededBytes } from "../helpers/data.mjs";

function req(contentLength?: number): IncomingMessage & EventEmitter {
  const r = new EventEmitter() as IncomingMessage & EventEmitter;
  (r as { headers: Record<string, string> }).headers = contentLength === undefined ? {} : { "content-length": String(contentLength) };
  return r;
}

test("body budget: shares, FIFO order, release once, disconnect while waiting", async () => {
  const b = new BodyBudget(100);
  const r1 = await b.acquire(req(60), 1000);
  assert.equal(b.inUse, 60);
  const order: string[] = [];
  const p2 = b.acquire(req(50), 1000).then((rel) => (order.push("second"), rel));
  const p3 = b.acquire(req(10), 1000).then((rel) => (order.push("third"), rel)); // fits, but waits its turn
  const gone = req(20);
  const p4 = b.acquire(gone, 1000);
  await new Promise((r) => setTimeout(r, 10));
  assert.deepEqual(order, []);
  gone.emit("close");
  await assert.rejects(p4, /client went away/);
  r1();
  r1(); // a second release changes nothing
  const [r2, r3] = await Promise.all([p2, p3]);
  assert.deepEqual(order, ["second", "third"]);
  assert.equal(b.inUse, 60);
  r2();
  r3();
  assert.equal(b.inUse, 0);
  // Unknown length: the limit; larger than the budget: the whole budget.
  const u = await b.acquire(req(), 70);
  assert.equal(b.inUse, 70);
  u();
  const big = await b.acquire(req(5000), 10_000);
  assert.equal(b.inUse, 100);
  big();
  assert.equal(b.peak, 100);
  assert.equal(b.waited, 3);
});

test("a hub with a 1 MiB body budget serves 8 concurrent uploads of 600 KiB xorbs, all verified", async (t) => {
  const hub = await startTestHub({ maxBodyBytesInFlight: 1024 * 1024 });
  t.after(() => hub.close());
  const bucket = await newBucket(hub, "budget");
  const files = Array.from({ length: 8 }, (_, i) => ({ path: `f${i}.bin`, content: seededBytes(1_500_000, 300 + i) }));
  await Promise.all(
    files.map((f) =>
      uploadFiles({ repo: `buckets/${bucket}`, hubUrl: hub.url, accessToken: ALICE.token, files: [f], maxXorbBytes: 600 * 1024 }),
    ),
  );
  for (const f of files) assert.ok(Buffer.from(await resolveBytes(hub.url, bucket, f.path)).equals(Buffer.from(f.content)));
});
