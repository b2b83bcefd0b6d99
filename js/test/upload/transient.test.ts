/**
 * Uploads that absorb transient faults and isolate files, through the fault proxy in front of the real local hub:
 *
 * - a xorb whose request body the connection stops taking (a stall) is abandoned after the stall timeout and
 *   sent again, and the upload completes with its progress flowing to the end;
 * - an upload longer than the lifetime of the CAS tokens completes, the tokens refreshed before they expire;
 * - in a multi-file upload, a file that is gone (before its upload) or changes while it is uploaded fails alone:
 *   the others are registered, the call rejects with `TransferError`, and the xorbs the failed attempt stored are
 *   not sent again;
 * - a batch whose answer is lost is sent again; a delete the lost attempt applied counts as done.
 */
import assert from "node:assert/strict";
import { appendFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { batchBucketFiles, uploadFiles, uploadFilesWithProgress } from "../../src/api/upload.js";
import { TransferError } from "../../src/errors.js";
import type { RetryInfo } from "../../src/http.js";
import { seededBytes } from "../helpers/data.mjs";
import { startFaultProxy } from "../helpers/faults.js";
import { tempDir } from "../helpers/files.js";
import { ALICE, FAST_RETRY, listTree, newBucket, resolveBytes, startTestHub } from "../helpers/hub.js";

const MiB = 1024 * 1024;

/** The paths a bucket lists, each with its bytes checked against `expected`. */
async function assertRegistered(hubUrl: string, bucket: string, expected: Record<string, Uint8Array>): Promise<void> {
  const listing = await listTree(hubUrl, bucket);
  assert.deepEqual(listing.map((e) => e.path).sort(), Object.keys(expected).sort());
  for (const [path, bytes] of Object.entries(expected)) {
    assert.ok(Buffer.from(await resolveBytes(hubUrl, bucket, path)).equals(Buffer.from(bytes)), `${path} holds its bytes`);
  }
}

test("a xorb whose body the connection stops taking is abandoned and sent again; progress flows to the end", async (t) => {
  const hub = await startTestHub();
  const proxy = await startFaultProxy(hub.url);
  t.after(async () => {
    await proxy.close();
    await hub.close();
  });
  const bucket = await newBucket(hub, "stall-up");
  // One 24 MiB xorb: more than the socket buffers hold, so the client's writes block when the proxy stops reading.
  const data = seededBytes(24 * MiB, 101);
  const stall = proxy.add({ method: "POST", path: "/v1/xorbs/", action: "stall", stallAt: "request", keepBytes: MiB, times: 1 });
  const retries: RetryInfo[] = [];
  const sent: number[] = [];
  const t0 = Date.now();
  for await (const ev of uploadFilesWithProgress({
    repo: `buckets/${bucket}`,
    files: [{ path: "big.bin", content: data }],
    hubUrl: proxy.url,
    accessToken: ALICE.token,
    cache: false,
    // The answer timeout is long: only the stall clock can abandon the attempt this early.
    retry: { ...FAST_RETRY, stallTimeoutMs: 500, attemptTimeoutMs: 60_000 },
    onRetry: (i) => retries.push(i),
  })) {
    if (ev.event === "bytes") sent.push(ev.sent);
  }
  assert.equal(stall.injected, 1);
  assert.ok(Date.now() - t0 < 30_000, `the stalled attempt was abandoned early (${Date.now() - t0} ms)`);
  assert.equal(retries.length, 1);
  assert.match(retries[0]!.reason, /stalled \(no data moved for 500 ms\)/);
  assert.ok(sent.at(-1)! >= data.length, `progress reached the end (${sent.at(-1)})`);
  await assertRegistered(hub.url, bucket, { "big.bin": data });
});

test("an upload longer than the CAS token lifetime completes: tokens refreshed before they expire, none refused", async (t) => {
  const hub = await startTestHub({ casTokenTtlSeconds: 2 });
  const proxy = await startFaultProxy(hub.url);
  t.after(async () => {
    await proxy.close();
    await hub.close();
  });
  const bucket = await newBucket(hub, "ttl-up");
  proxy.add({ method: "POST", path: "/v1/xorbs/", action: "delay", delayMs: 500 });
  const data = seededBytes(2 * MiB, 102);
  const t0 = Date.now();
  await uploadFiles({
    repo: `buckets/${bucket}`,
    files: [{ path: "long.bin", content: data }],
    hubUrl: proxy.url,
    accessToken: ALICE.token,
    cache: false,
    maxXorbBytes: 256 * 1024,
    maxXorbUploads: 1,
    retry: FAST_RETRY,
  });
  const elapsed = Date.now() - t0;
  assert.ok(elapsed > 4000, `the upload outlasted the 2 s tokens (${elapsed} ms)`);
  const tokens = proxy.log.filter((l) => l.path.includes("/xet-write-token")).length;
  assert.ok(tokens >= 3, `tokens were refreshed during the upload (${tokens} token requests)`);
  assert.equal(proxy.log.filter((l) => l.status === 401).length, 0, "the CAS never refused a token");
  await assertRegistered(hub.url, bucket, { "long.bin": data });
});

test("multi-file uploads: a file that is gone, or changes while it is uploaded, fails alone; the rest is registered once", async (t) => {
  const hub = await startTestHub();
  const proxy = await startFaultProxy(hub.url);
  const dir = await tempDir("xet-isolate-up-", t);
  t.after(async () => {
    await proxy.close();
    await hub.close();
  });
  const files: Record<string, Uint8Array> = {
    "a.bin": seededBytes(3 * MiB, 103),
    "victim.bin": seededBytes(2 * MiB, 104),
    "c.bin": seededBytes(MiB, 105),
  };
  for (const [name, bytes] of Object.entries(files)) writeFileSync(join(dir.dir, name), bytes);
  const common = { hubUrl: proxy.url, accessToken: ALICE.token, cache: false as const, maxXorbBytes: 512 * 1024, retry: FAST_RETRY };

  // Gone before the upload: found when the sources are resolved.
  const gone = await newBucket(hub, "gone");
  const err1 = await uploadFiles({
    ...common,
    repo: `buckets/${gone}`,
    files: [
      { path: "a.bin", content: join(dir.dir, "a.bin") },
      { path: "missing.bin", content: join(dir.dir, "missing.bin") },
      { path: "c.bin", content: join(dir.dir, "c.bin") },
    ],
  }).catch((e) => e);
  assert.ok(err1 instanceof TransferError, String(err1));
  assert.deepEqual(
    err1.failures.map((f) => [f.path, f.code, f.localPath]),
    [["missing.bin", "FILE_NOT_FOUND", join(dir.dir, "missing.bin")]],
  );
  assert.equal((err1.result as { files: number }).files, 2);
  await assertRegistered(hub.url, gone, { "a.bin": files["a.bin"]!, "c.bin": files["c.bin"]! });

  // Changed while it is uploaded: the first xorb POST appends to it (after its size was taken). New bytes for
  // the others (global dedup would find the ones above).
  files["a.bin"] = seededBytes(3 * MiB, 106);
  files["c.bin"] = seededBytes(MiB, 107);
  for (const name of ["a.bin", "c.bin"]) writeFileSync(join(dir.dir, name), files[name]!);
  const changed = await newBucket(hub, "changed");
  const from = hub.requests.length;
  proxy.add({
    method: "POST",
    path: "/v1/xorbs/",
    action: "hook",
    hook: () => appendFileSync(join(dir.dir, "victim.bin"), "more"),
    times: 1,
  });
  const err2 = await uploadFiles({
    ...common,
    repo: `buckets/${changed}`,
    files: Object.keys(files).map((name) => ({ path: name, content: join(dir.dir, name) })),
  }).catch((e) => e);
  assert.ok(err2 instanceof TransferError, String(err2));
  assert.deepEqual(
    err2.failures.map((f) => [f.path, f.code]),
    [["victim.bin", "SOURCE_CHANGED"]],
  );
  assert.match(err2.message, /1 of 3 file\(s\) failed to upload \(the others completed\):\n {2}victim\.bin: /);
  await assertRegistered(hub.url, changed, { "a.bin": files["a.bin"]!, "c.bin": files["c.bin"]! });
  // The second attempt confirmed what the first stored (HEAD) instead of sending it again.
  const posted = hub.requests.slice(from).filter((r) => r.method === "POST" && r.path.startsWith("/v1/xorbs/") && r.status === 200);
  const byHash = new Map<string, number>();
  for (const r of posted) byHash.set(r.path, (byHash.get(r.path) ?? 0) + 1);
  assert.deepEqual(
    [...byHash].filter(([, n]) => n > 1),
    [],
    "no xorb was sent twice",
  );
  assert.ok(
    hub.requests.slice(from).some((r) => r.method === "HEAD" && r.path.startsWith("/v1/xorbs/")),
    "the second attempt asked about the xorbs of the first",
  );

  // A lone file's failure is its own error.
  const lone = await uploadFiles({
    ...common,
    repo: `buckets/${gone}`,
    files: [{ path: "m.bin", content: join(dir.dir, "missing.bin") }],
  }).catch((e) => e);
  assert.equal(lone.code, "FILE_NOT_FOUND");
});

test("a batch whose answer is lost is sent again; a delete the lost attempt applied counts as done", async (t) => {
  const hub = await startTestHub();
  const proxy = await startFaultProxy(hub.url);
  t.after(async () => {
    await proxy.close();
    await hub.close();
  });
  const bucket = await newBucket(hub, "batch-lost");
  const who = { hubUrl: proxy.url, accessToken: ALICE.token, cache: false as const, retry: FAST_RETRY };
  await batchBucketFiles(bucket, { ...who, add: [[new Uint8Array([1, 2, 3]), "old.bin"]] });
  const cut = proxy.add({ method: "POST", path: "/batch", action: "truncate", keepBytes: 3, times: 1 });
  const lost = proxy.add({ method: "POST", path: "/batch", action: "reset-after", times: 1 });
  const r = await batchBucketFiles(bucket, { ...who, add: [[new Uint8Array([4, 5]), "new.bin"]], delete: ["old.bin"] });
  assert.deepEqual([cut.injected, lost.injected], [1, 1]);
  assert.deepEqual(r.failed, []);
  assert.equal(r.deleted, 1);
  await assertRegistered(hub.url, bucket, { "new.bin": new Uint8Array([4, 5]) });
});
