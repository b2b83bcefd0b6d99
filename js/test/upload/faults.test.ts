/**
 * Injected faults during upload (fault proxy in front of the local hub, real HTTP): connection resets
 * before and after the server saw the request, 500, 502, 503, 429 with Retry-After, truncated answers,
 * on the token, dedup, xorb, shard and batch requests. The call completes and the bytes verify. Also: the
 * v2 → v1 shard fallback, a shard rejected by an NDJSON error event, a spent retry budget (typed error,
 * nothing registered), dedup queries that keep failing (misses, not failures), CAS token refresh before
 * expiry and once on 401.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { uploadFiles, uploadFilesWithProgress } from "../../src/api/upload.js";
import { HubApiError, XetBucketsError } from "../../src/errors.js";
import { ALICE, listTree, newBucket, resolveBytes, startTestHub } from "../helpers/hub.js";
import { startFaultProxy } from "../helpers/faults.js";
import { seededBytes } from "../helpers/data.mjs";
import { textInput } from "../helpers/vectors.js";

const MiB = 1024 * 1024;
const FAST_RETRY = { baseDelayMs: 20, maxDelayMs: 200 };

test("faults on every upload request kind: the call completes and the bytes verify", async (t) => {
  const hub = await startTestHub();
  const proxy = await startFaultProxy(hub.url);
  t.after(async () => {
    await proxy.close();
    await hub.close();
  });
  const bucket = await newBucket(hub, "faults");
  const rules = [
    proxy.add({ method: "GET", path: "/xet-write-token", action: "status", status: 503, times: 1 }),
    proxy.add({ method: "GET", path: "/v1/chunks/", action: "reset", times: 1 }),
    // Spread over the xorb uploads (each rule lets a few requests through first), so that no single xorb
    // meets more faults than its attempts.
    proxy.add({ method: "POST", path: "/v1/xorbs/", action: "reset", times: 1 }),
    proxy.add({ method: "POST", path: "/v1/xorbs/", action: "status", status: 500, skip: 2, times: 1 }),
    proxy.add({ method: "POST", path: "/v1/xorbs/", action: "status", status: 503, skip: 3, times: 1 }),
    proxy.add({ method: "POST", path: "/v1/xorbs/", action: "status", status: 429, retryAfter: 1, skip: 4, times: 1 }),
    proxy.add({ method: "POST", path: "/v1/xorbs/", action: "truncate", keepBytes: 5, skip: 5, times: 1 }),
    proxy.add({ method: "POST", path: "/v1/xorbs/", action: "reset-after", skip: 6, times: 1 }),
    proxy.add({ method: "POST", path: "/shards", action: "reset", times: 1 }),
    proxy.add({ method: "POST", path: "/shards", action: "truncate", keepBytes: 10, times: 1 }),
    proxy.add({ method: "POST", path: "/batch", action: "status", status: 502, times: 1 }),
    proxy.add({ method: "POST", path: "/batch", action: "reset-after", times: 1 }),
  ];
  const files = [
    { path: "a.bin", content: seededBytes(6 * MiB, 1) },
    { path: "b.txt", content: textInput(2 * MiB) },
    { path: "c.bin", content: seededBytes(200_000, 2) },
  ];
  const t0 = Date.now();
  const report = await uploadFiles({
    repo: `buckets/${bucket}`,
    hubUrl: proxy.url,
    accessToken: ALICE.token,
    files,
    maxXorbBytes: 512 * 1024,
    retry: FAST_RETRY,
  });
  t.diagnostic(
    `completed in ${Date.now() - t0} ms with ${proxy.counts().injected} injected faults: ${JSON.stringify(proxy.counts().byAction)}`,
  );
  for (const r of rules)
    assert.equal(r.injected, r.times, `rule ${r.action} ${r.status ?? ""} on ${String(r.path)} fired ${r.injected} times`);
  assert.ok(report.xorbsAlreadyStored >= 1, "the xorb whose answer was lost was stored anyway");
  for (const f of files) assert.ok(Buffer.from(await resolveBytes(hub.url, bucket, f.path)).equals(Buffer.from(f.content)), f.path);
  assert.deepEqual((await listTree(hub.url, bucket)).map((e) => e.path).sort(), ["a.bin", "b.txt", "c.bin"]);
});

test("shards: a CAS without /v2/shards (404) gets every shard on /v1/shards", async (t) => {
  const hub = await startTestHub();
  const proxy = await startFaultProxy(hub.url);
  t.after(async () => {
    await proxy.close();
    await hub.close();
  });
  const bucket = await newBucket(hub, "v1");
  const v2 = proxy.add({ method: "POST", path: "/v2/shards", action: "status", status: 404 });
  const files = Array.from({ length: 30 }, (_, i) => ({ path: `f${i}.bin`, content: seededBytes(100_000, i + 30) }));
  const report = await uploadFiles({ repo: `buckets/${bucket}`, hubUrl: proxy.url, accessToken: ALICE.token, files, maxShardBytes: 4096 });
  assert.ok(report.shards > 1);
  assert.equal(v2.injected, 1, "the fallback sticks after the first 404");
  assert.equal(hub.count("POST", "/v1/shards"), report.shards);
  for (const f of files) assert.ok(Buffer.from(await resolveBytes(hub.url, bucket, f.path)).equals(Buffer.from(f.content)));
});

test("shards: an NDJSON error event fails the call (SHARD_REJECTED, nothing registered); a retryable one is retried", async (t) => {
  const hub = await startTestHub();
  const proxy = await startFaultProxy(hub.url);
  t.after(async () => {
    await proxy.close();
    await hub.close();
  });
  const bucket = await newBucket(hub, "shardrej");
  const opts = { repo: `buckets/${bucket}`, hubUrl: proxy.url, accessToken: ALICE.token, retry: FAST_RETRY };
  const stream = (retryable: boolean) =>
    `{"type":"validating","verified":0,"total":1}\n{"type":"error","message":"injected rejection","retryable":${retryable}}\n`;
  const fatal = proxy.add({ method: "POST", path: "/v2/shards", action: "status", status: 200, body: stream(false), times: 1 });
  await assert.rejects(uploadFiles({ ...opts, files: [{ path: "a.bin", content: seededBytes(100_000, 1) }] }), (err: XetBucketsError) => {
    assert.equal(err.code, "SHARD_REJECTED");
    assert.match(err.message, /injected rejection/);
    return true;
  });
  assert.equal(fatal.injected, 1);
  assert.equal(hub.count("POST", `/api/buckets/${bucket}/batch`), 0);
  assert.deepEqual(await listTree(hub.url, bucket), []);

  const transient = proxy.add({ method: "POST", path: "/v2/shards", action: "status", status: 200, body: stream(true), times: 2 });
  const report = await uploadFiles({ ...opts, files: [{ path: "b.bin", content: seededBytes(100_000, 2) }] });
  assert.equal(transient.injected, 2);
  assert.equal(report.shards, 1);
  assert.deepEqual(
    (await listTree(hub.url, bucket)).map((e) => e.path),
    ["b.bin"],
  );
});

test("a spent retry budget rejects with a typed error (status, attempts) and registers nothing", async (t) => {
  const hub = await startTestHub();
  const proxy = await startFaultProxy(hub.url);
  t.after(async () => {
    await proxy.close();
    await hub.close();
  });
  const bucket = await newBucket(hub, "budget");
  const rule = proxy.add({ method: "POST", path: "/v1/xorbs/", action: "status", status: 500 });
  await assert.rejects(
    uploadFiles({
      repo: `buckets/${bucket}`,
      hubUrl: proxy.url,
      accessToken: ALICE.token,
      files: [{ path: "a.bin", content: seededBytes(MiB, 1) }],
      retry: { ...FAST_RETRY, maxAttempts: 3 },
    }),
    (err: HubApiError) => {
      assert.ok(err instanceof HubApiError);
      assert.equal(err.statusCode, 500);
      assert.equal(err.code, "SERVER_ERROR");
      assert.equal(err.attempts, 3);
      assert.match(err.message, /gave up after 3 attempts/);
      return true;
    },
  );
  assert.equal(rule.injected, 3);
  assert.equal(hub.count("POST", "/shards"), 0);
  assert.equal(hub.count("POST", `/api/buckets/${bucket}/batch`), 0);
});

test("dedup queries that keep failing are misses: the upload completes without global dedup", async (t) => {
  const hub = await startTestHub();
  const proxy = await startFaultProxy(hub.url);
  t.after(async () => {
    await proxy.close();
    await hub.close();
  });
  const bucket = await newBucket(hub, "qfail");
  const data = seededBytes(2 * MiB, 9);
  const opts = { repo: `buckets/${bucket}`, hubUrl: proxy.url, accessToken: ALICE.token, retry: FAST_RETRY };
  await uploadFiles({ ...opts, files: [{ path: "a.bin", content: data }] });
  const q = proxy.add({ method: "GET", path: "/v1/chunks/", action: "status", status: 500 });
  const report = await uploadFiles({ ...opts, files: [{ path: "b.bin", content: data }] });
  assert.ok(q.injected >= 1);
  assert.ok(report.dedupQueryFailures >= 1);
  assert.equal(report.dedupGlobalBytes, 0);
  assert.equal(report.xorbsAlreadyStored, report.xorbs);
  assert.ok(Buffer.from(await resolveBytes(hub.url, bucket, "b.bin")).equals(Buffer.from(data)));
});

test("CAS token: refreshed before expiry during a long upload, and once on 401", async (t) => {
  let clockOffset = 0;
  const hub = await startTestHub({ casTokenTtlSeconds: 61, now: () => Date.now() + clockOffset });
  const proxy = await startFaultProxy(hub.url);
  t.after(async () => {
    await proxy.close();
    await hub.close();
  });
  const bucket = await newBucket(hub, "token");
  // Before expiry: a 61 s token is within the 60 s refresh margin after 1 s.
  proxy.add({ method: "POST", path: "/v1/xorbs/", action: "delay", delayMs: 400 });
  const opts = { repo: `buckets/${bucket}`, hubUrl: proxy.url, accessToken: ALICE.token, maxXorbBytes: MiB, maxXorbUploads: 1 };
  await uploadFiles({ ...opts, files: [{ path: "slow.bin", content: seededBytes(6 * MiB, 1) }] });
  const tokenCalls = hub.count("GET", "/xet-write-token");
  assert.ok(tokenCalls >= 2, `expected a refresh during the upload, got ${tokenCalls} token requests`);
  assert.equal(hub.requests.filter((r) => r.status === 401).length, 0, "refreshed before the CAS refused anything");

  // On 401: the hub's clock jumps 2 hours mid-upload, so the token the client holds is expired for the CAS.
  proxy.clear();
  const hub2 = await startTestHub({ casTokenTtlSeconds: 3600, now: () => Date.now() + clockOffset });
  const proxy2 = await startFaultProxy(hub2.url);
  t.after(async () => {
    await proxy2.close();
    await hub2.close();
  });
  const bucket2 = await newBucket(hub2, "token401");
  proxy2.add({ method: "POST", path: "/v1/xorbs/", action: "delay", delayMs: 200 });
  const data = seededBytes(6 * MiB, 2);
  for await (const ev of uploadFilesWithProgress({
    ...opts,
    repo: `buckets/${bucket2}`,
    hubUrl: proxy2.url,
    files: [{ path: "x.bin", content: data }],
  })) {
    if (ev.event === "bytes" && ev.sent >= MiB && clockOffset === 0) clockOffset = 2 * 3600 * 1000;
  }
  assert.ok(
    hub2.requests.some((r) => r.status === 401),
    "the CAS refused the old token",
  );
  assert.equal(hub2.count("GET", "/xet-write-token"), 2, "one refresh");
  assert.ok(Buffer.from(await resolveBytes(hub2.url, bucket2, "x.bin")).equals(Buffer.from(data)));
});
