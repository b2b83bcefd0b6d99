/**
 * Downloads that absorb transient faults in one run, through the fault proxy in front of the real local hub:
 *
 * - a byte flipped in a fetched range is fetched again: the range alone when its records no longer decode, the
 *   whole file (with a fresh reconstruction) when only the file hash sees it;
 * - a file whose stored data is damaged fails alone: the other files of the call complete (`TransferError`);
 * - a connection that stalls (mid-body, or before its answer) is abandoned after the stall / answer timeout and
 *   the attempt retried, while progress keeps flowing;
 * - a download longer than the lifetime of the CAS tokens and fetch URLs completes, with the tokens refreshed
 *   before they expire (the CAS never refuses one).
 */
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { after, before, beforeEach, describe, it } from "node:test";
import { downloadBucketFiles, downloadFile, type DownloadProgress } from "../../src/api/download.js";
import { uploadFiles } from "../../src/api/upload.js";
import { IntegrityError, TransferError } from "../../src/errors.js";
import type { RetryInfo } from "../../src/http.js";
import { FAST_RETRY, newBucket, seed, startTestHub, type TestHub, type Who } from "../helpers/hub.js";
import { damageStoredXorbs } from "../helpers/hub-state.js";
import { startFaultProxy, type FaultProxy } from "../helpers/faults.js";
import { seededBytes } from "../helpers/data.mjs";
import { assertBytesEqual, assertFileEquals, listDir, tempDir } from "../helpers/files.js";
import { xetHash } from "../../src/hash.js";
import { FILE_READ_ATTEMPTS } from "../../src/xet/download.js";

const MiB = 1024 * 1024;
const B = "alice/transient";
const repo = `buckets/${B}` as const;

let hub: TestHub;
let proxy: FaultProxy;
let tmp: { dir: string; cleanup: () => Promise<void> };
let via: Who & { retry: typeof FAST_RETRY };
const big = seededBytes(3 * MiB, 71);
const small = seededBytes(300_000, 72);
const other = seededBytes(500_000, 73);

before(async () => {
  hub = await startTestHub();
  await seed({ hubUrl: hub.url, accessToken: hub.users.alice.token }, B, { "big.bin": big, "small.bin": small, "other.bin": other });
  proxy = await startFaultProxy(hub.url);
  via = { hubUrl: proxy.url, accessToken: hub.users.alice.token, retry: FAST_RETRY };
  tmp = await tempDir();
});
after(async () => {
  await proxy.close();
  await hub.close();
  await tmp.cleanup();
});
beforeEach(() => proxy.clear());

const count = (part: string, from = 0) => proxy.log.slice(from).filter((l) => l.path.includes(part)).length;

describe("flipped bytes are fetched again", () => {
  it("a range whose records no longer decode is fetched again, alone, from a fresh reconstruction", async () => {
    const retries: RetryInfo[] = [];
    const from = proxy.log.length;
    // Byte 0 of the answer is the first record's version: the range does not decode.
    const r = proxy.add({ path: "/fetch/", action: "corrupt", offset: 0, times: 1 });
    const blob = (await downloadFile({ repo, path: "big.bin", ...via, onRetry: (i) => retries.push(i) }))!;
    assertBytesEqual(new Uint8Array(await blob.arrayBuffer()), big);
    assert.equal(r.injected, 1);
    assert.equal(count("/fetch/", from), 2, "the range, then the range again: nothing else");
    assert.equal(count("/reconstructions/", from), 2, "fresh URLs for the second fetch");
    assert.equal(retries.length, 1);
    assert.match(retries[0]!.reason, /corrupt.*fetching the range again/);
  });

  it("a byte flipped inside a chunk (only the file hash sees it) makes the whole file be read again", async () => {
    const retries: RetryInfo[] = [];
    const from = proxy.log.length;
    const r = proxy.add({ path: "/fetch/", action: "corrupt", offset: 100_000, times: 1 });
    const dest = join(tmp.dir, "reread");
    const progress: DownloadProgress[] = [];
    const res = await downloadBucketFiles(B, [["big.bin", join(dest, "big.bin")]], {
      ...via,
      onRetry: (i) => retries.push(i),
      onProgress: (p) => progress.push(p),
    });
    assert.deepEqual(
      res.downloaded.map((d) => d.path),
      ["big.bin"],
    );
    assert.deepEqual(res.failed, []);
    await assertFileEquals(join(dest, "big.bin"), big);
    assert.deepEqual(await listDir(dest), ["big.bin"], "no temporary file left");
    assert.equal(r.injected, 1);
    assert.equal(count("/reconstructions/", from), 2, "the second read starts from a fresh reconstruction");
    assert.equal(retries.length, 1);
    assert.match(retries[0]!.reason, /does not match its xetHash.*downloading the file again/);
    assert.equal(progress.at(-1)?.done, true);
    assert.equal(progress.at(-1)?.bytes, big.length, "the progress of the second read counts from 0");

    // The same for a Blob read whole.
    proxy.add({ path: "/fetch/", action: "corrupt", offset: 200_000, times: 1 });
    const blob = (await downloadFile({ repo, path: "big.bin", ...via }))!;
    assertBytesEqual(new Uint8Array(await blob.arrayBuffer()), big);
  });

  it("corruption that persists fails, with IntegrityError and nothing written: after two reads when it is the same each time", async () => {
    const from = proxy.log.length;
    proxy.add({ path: "/fetch/", action: "corrupt", offset: 100_000 });
    const dest = join(tmp.dir, "persistent");
    const err = await downloadBucketFiles(B, [["small.bin", join(dest, "small.bin")]], via).catch((e) => e);
    assert.ok(err instanceof IntegrityError, String(err));
    assert.equal(err.code, "HASH_MISMATCH");
    assert.equal(err.expected, await xetHash(small));
    assert.notEqual(err.actual, err.expected);
    assert.equal(count("/reconstructions/", from), 2, "the same wrong bytes twice: damaged where they are stored");
    assert.equal(existsSync(join(dest, "small.bin")), false);
    assert.deepEqual(await listDir(dest), []);

    // Corruption that differs from read to read (in transit) is read again up to FILE_READ_ATTEMPTS times.
    proxy.clear();
    const from2 = proxy.log.length;
    let n = 0;
    proxy.add({ path: "/fetch/", action: "corrupt", offset: () => 1000 * ++n });
    const err2 = await downloadBucketFiles(B, [["small.bin", join(dest, "small.bin")]], via).catch((e) => e);
    assert.equal(err2.code, "HASH_MISMATCH");
    assert.equal(count("/reconstructions/", from2), FILE_READ_ATTEMPTS);
    assert.deepEqual(await listDir(dest), []);
  });
});

describe("a file whose stored data is damaged fails alone", () => {
  it("the other files complete; TransferError lists the failed one; the damaged file's target is untouched", async () => {
    const bucket = await newBucket(hub, "damaged");
    const alice = { hubUrl: hub.url, accessToken: hub.users.alice.token };
    const bad = seededBytes(700_000, 74);
    await seed(alice, bucket, { "a.bin": small, "bad.bin": bad, "c/d.bin": other });
    const damage = damageStoredXorbs(hub.dataDir, await xetHash(bad));
    try {
      const dest = join(tmp.dir, "isolated");
      const err = await downloadBucketFiles(
        bucket,
        [
          ["a.bin", join(dest, "a.bin")],
          ["bad.bin", join(dest, "bad.bin")],
          ["c/d.bin", join(dest, "c", "d.bin")],
        ],
        { ...via, maxFileDownloads: 1 },
      ).catch((e) => e);
      assert.ok(err instanceof TransferError, String(err));
      assert.equal(err.code, "FILES_FAILED");
      assert.deepEqual(
        err.failures.map((f) => [f.path, f.code, f.localPath]),
        [["bad.bin", "HASH_MISMATCH", join(dest, "bad.bin")]],
      );
      assert.ok(err.failures[0]!.cause instanceof IntegrityError);
      assert.match(err.message, /1 of 3 file\(s\) failed to download \(the others completed\):\n {2}bad\.bin: /);
      const result = err.result as Awaited<ReturnType<typeof downloadBucketFiles>>;
      assert.deepEqual(result.downloaded.map((d) => d.path).sort(), ["a.bin", "c/d.bin"]);
      assert.deepEqual(result.failed, err.failures);
      await assertFileEquals(join(dest, "a.bin"), small);
      await assertFileEquals(join(dest, "c", "d.bin"), other);
      assert.deepEqual(await listDir(dest), ["a.bin", "c"], "no bad.bin, no temporary file");
    } finally {
      damage.repair();
    }
  });
});

describe("stalled connections are abandoned and retried", () => {
  it("a fetch whose body stops arriving, and a reconstruction that never answers: the download completes", async () => {
    const retries: RetryInfo[] = [];
    const body = proxy.add({ path: "/fetch/", action: "stall", keepBytes: 64 * 1024, times: 1 });
    const headers = proxy.add({ path: "/reconstructions/", action: "stall", stallAt: "headers", times: 1 });
    const dest = join(tmp.dir, "stalled");
    const progress: number[] = [];
    const t0 = Date.now();
    // The timeouts are short for the test; the defaults are 30 s (stall) and 120 s (answer).
    await downloadBucketFiles(B, [["big.bin", join(dest, "big.bin")]], {
      ...via,
      retry: { ...FAST_RETRY, stallTimeoutMs: 400, attemptTimeoutMs: 800 },
      onRetry: (i) => retries.push(i),
      onProgress: (p) => progress.push(p.bytes),
    });
    const elapsed = Date.now() - t0;
    await assertFileEquals(join(dest, "big.bin"), big);
    assert.deepEqual([body.injected, headers.injected], [1, 1]);
    assert.ok(elapsed < 10_000, `abandoned the stalled attempts quickly (${elapsed} ms)`);
    assert.deepEqual(retries.map((r) => /stalled \(no data moved for 400 ms\)|no answer within 800 ms/.test(r.reason)).sort(), [
      true,
      true,
    ]);
    assert.equal(progress.at(-1), big.length, "progress flowed to the end");
  });

  it("a Hub call that stalls mid-body (paths-info) is retried too", async () => {
    const r = proxy.add({ path: "/paths-info", action: "stall", keepBytes: 5, times: 1 });
    const dest = join(tmp.dir, "stalled-hub");
    await downloadBucketFiles(B, [["small.bin", join(dest, "small.bin")]], { ...via, retry: { ...FAST_RETRY, stallTimeoutMs: 300 } });
    await assertFileEquals(join(dest, "small.bin"), small);
    assert.equal(r.injected, 1);
  });
});

describe("a download that outlasts its tokens", () => {
  it("completes: CAS tokens are refreshed before they expire (never refused), expired fetch URLs re-query the reconstruction", async (t) => {
    // Tokens and fetch URLs live 2 s; the download takes about 5 s (each fetch delayed, one at a time).
    const shortHub = await startTestHub({ casTokenTtlSeconds: 2, fetchUrlTtlSeconds: 2 });
    const slow = await startFaultProxy(shortHub.url);
    t.after(async () => {
      await slow.close();
      await shortHub.close();
    });
    const bucket = await newBucket(shortHub, "ttl");
    const data = seededBytes(2 * MiB, 75);
    await uploadFiles({
      repo: `buckets/${bucket}`,
      files: [{ path: "long.bin", content: data }],
      hubUrl: shortHub.url,
      accessToken: shortHub.users.alice.token,
      maxXorbBytes: 256 * 1024,
    });
    slow.add({ path: "/fetch/", action: "delay", delayMs: 500 });
    const dest = join(tmp.dir, "ttl");
    const t0 = Date.now();
    await downloadBucketFiles(bucket, [["long.bin", join(dest, "long.bin")]], {
      hubUrl: slow.url,
      accessToken: shortHub.users.alice.token,
      retry: FAST_RETRY,
      maxRangeFetches: 1,
    });
    const elapsed = Date.now() - t0;
    await assertFileEquals(join(dest, "long.bin"), data);
    assert.ok(elapsed > 4000, `the download outlasted the 2 s tokens (${elapsed} ms)`);
    const tokens = slow.log.filter((l) => l.path.includes("/xet-read-token")).length;
    assert.ok(tokens >= 3, `tokens were refreshed during the download (${tokens} token requests)`);
    assert.equal(slow.log.filter((l) => l.status === 401).length, 0, "the CAS never refused a token");
  });
});
