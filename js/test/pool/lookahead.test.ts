/**
 * Dedup queries go out as soon as a segment's chunk hashes are known, for files the session has not reached
 * yet: with every query answered 150 ms late, 48 small files upload in far less than 48 round trips (the
 * session finds each file's answer waiting), every file intact, and the dedup report counts the queries.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { uploadFiles } from "../../src/api/upload.js";
import { startFaultProxy } from "../helpers/faults.js";
import { ALICE, newBucket, resolveBytes, startTestHub } from "../helpers/hub.js";
import { seededBytes } from "../helpers/data.mjs";

test("dedup queries of later files are sent ahead: 48 files with 150 ms answers take far less than 48 round trips", async (t) => {
  const hub = await startTestHub();
  const proxy = await startFaultProxy(hub.url);
  t.after(async () => {
    await proxy.close();
    await hub.close();
  });
  const bucket = await newBucket(hub, "ahead");
  const DELAY = 150;
  const delayed = proxy.add({ method: "GET", path: "/v1/chunks/", action: "delay", delayMs: DELAY });
  const files = Array.from({ length: 48 }, (_, i) => ({ path: `f/${i}.bin`, content: seededBytes(200_000 + i, 100 + i) }));
  const t0 = performance.now();
  const report = await uploadFiles({ repo: `buckets/${bucket}`, hubUrl: proxy.url, accessToken: ALICE.token, files });
  const ms = performance.now() - t0;
  // One query per file (its first chunk), each delayed: one after the other they would take 48 × 150 ms.
  assert.ok(delayed.injected >= 48, `${delayed.injected} delayed queries`);
  assert.equal(hub.count("GET", "/v1/chunks/"), report.dedupQueries);
  assert.ok(ms < (48 * DELAY) / 3, `took ${ms.toFixed(0)} ms, sequential round trips would take ${48 * DELAY} ms`);
  for (const f of files.slice(0, 5)) {
    assert.ok(Buffer.from(await resolveBytes(hub.url, bucket, f.path)).equals(Buffer.from(f.content)));
  }
  assert.equal(report.files, 48);
});
