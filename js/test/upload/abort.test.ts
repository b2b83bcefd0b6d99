/**
 * Abort: an aborted upload rejects with the signal's reason (an AbortError), stops issuing requests,
 * registers no file, and the next upload succeeds. Covered: abort while xorbs are on the wire, abort
 * during a retry wait (Retry-After: 30 s), an already-aborted signal, and leaving the progress loop early.
 * Uploads go through the fault proxy, which slows xorb uploads down so that the abort lands mid-upload.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { uploadFiles, uploadFilesWithProgress } from "../../src/api/upload.js";

import { ALICE, listTree, newBucket, resolveBytes, startTestHub } from "../helpers/hub.js";
import { startFaultProxy } from "../helpers/faults.js";
import { seededBytes } from "../helpers/data.mjs";

const MiB = 1024 * 1024;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test("abort mid-upload: AbortError, no file registered, no further requests; the next upload succeeds", async (t) => {
  const hub = await startTestHub();
  const proxy = await startFaultProxy(hub.url);
  t.after(async () => {
    await proxy.close();
    await hub.close();
  });
  const bucket = await newBucket(hub, "abort");
  proxy.add({ method: "POST", path: "/v1/xorbs/", action: "delay", delayMs: 250 });
  const data = seededBytes(24 * MiB, 5);
  const ctl = new AbortController();
  let sentAtAbort = 0;
  const run = (async () => {
    const it = uploadFilesWithProgress({
      repo: `buckets/${bucket}`,
      hubUrl: proxy.url,
      accessToken: ALICE.token,
      abortSignal: ctl.signal,
      files: [
        { path: "big.bin", content: data },
        { path: "small.txt", content: new TextEncoder().encode("hello") },
      ],
      maxXorbBytes: MiB,
    });
    for await (const ev of it) {
      if (ev.event === "bytes" && ev.sent >= 2 * MiB && !ctl.signal.aborted) {
        sentAtAbort = ev.sent;
        ctl.abort();
      }
    }
  })();
  await assert.rejects(run, (err: Error) => err.name === "AbortError");
  assert.ok(sentAtAbort >= 2 * MiB && sentAtAbort < data.length, `aborted after ${sentAtAbort} bytes`);
  await sleep(150); // requests already on the socket when the abort came may still reach the proxy
  const seen = proxy.log.length;
  await sleep(700);
  assert.equal(proxy.log.length, seen, "no request after the abort");
  assert.equal(hub.count("POST", `/api/buckets/${bucket}/batch`), 0, "no batch request");
  assert.equal(hub.count("POST", "/shards"), 0, "no shard registered");
  assert.deepEqual(await listTree(hub.url, bucket), []);

  const report = await uploadFiles({
    repo: `buckets/${bucket}`,
    hubUrl: hub.url,
    accessToken: ALICE.token,
    files: [{ path: "big.bin", content: data }],
    maxXorbBytes: MiB,
  });
  assert.equal(report.files, 1);
  assert.ok(Buffer.from(await resolveBytes(hub.url, bucket, "big.bin")).equals(Buffer.from(data)));
  assert.deepEqual(
    (await listTree(hub.url, bucket)).map((e) => e.path),
    ["big.bin"],
  );
});

test("abort during a retry wait (503 with Retry-After: 30) rejects at once", async (t) => {
  const hub = await startTestHub();
  const proxy = await startFaultProxy(hub.url);
  t.after(async () => {
    await proxy.close();
    await hub.close();
  });
  const bucket = await newBucket(hub, "abortwait");
  const rule = proxy.add({ method: "POST", path: "/v1/xorbs/", action: "status", status: 503, retryAfter: 30 });
  const ctl = new AbortController();
  const t0 = Date.now();
  const p = uploadFiles({
    repo: `buckets/${bucket}`,
    hubUrl: proxy.url,
    accessToken: ALICE.token,
    abortSignal: ctl.signal,
    files: [{ path: "a.bin", content: seededBytes(MiB, 1) }],
  });
  while (rule.injected === 0 && Date.now() - t0 < 10_000) await sleep(20);
  assert.ok(rule.injected > 0, "the xorb upload was attempted");
  ctl.abort();
  await assert.rejects(p, (err: Error) => err.name === "AbortError");
  assert.ok(Date.now() - t0 < 5000, `rejected after ${Date.now() - t0} ms`);
  assert.equal(rule.injected, 1, "no second attempt");
  assert.deepEqual(await listTree(hub.url, bucket), []);
});

test("an already-aborted signal rejects before any request; a custom reason is kept", async (t) => {
  const hub = await startTestHub();
  t.after(() => hub.close());
  const bucket = await newBucket(hub, "preabort");
  const before = hub.requests.length;
  const reason = new Error("stop right there");
  await assert.rejects(
    uploadFiles({
      repo: `buckets/${bucket}`,
      hubUrl: hub.url,
      accessToken: ALICE.token,
      abortSignal: AbortSignal.abort(reason),
      files: [{ path: "a", content: new Uint8Array(10) }],
    }),
    (err) => err === reason,
  );
  assert.equal(hub.requests.length, before);
});

test("leaving the progress loop early aborts the upload and registers nothing", async (t) => {
  const hub = await startTestHub();
  const proxy = await startFaultProxy(hub.url);
  t.after(async () => {
    await proxy.close();
    await hub.close();
  });
  const bucket = await newBucket(hub, "break");
  proxy.add({ method: "POST", path: "/v1/xorbs/", action: "delay", delayMs: 200 });
  const it = uploadFilesWithProgress({
    repo: `buckets/${bucket}`,
    hubUrl: proxy.url,
    accessToken: ALICE.token,
    files: [{ path: "x.bin", content: seededBytes(8 * MiB, 3) }],
    maxXorbBytes: MiB,
  });
  for await (const ev of it) {
    if (ev.event === "bytes" && ev.sent > 0) break;
  }
  await sleep(150);
  const seen = proxy.log.length;
  await sleep(600);
  assert.equal(proxy.log.length, seen, "no request after leaving the loop");
  assert.equal(hub.count("POST", `/api/buckets/${bucket}/batch`), 0);
  assert.deepEqual(await listTree(hub.url, bucket), []);
});
