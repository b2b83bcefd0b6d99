/**
 * Downloads under injected faults, through the fault-injection proxy in front of the real local hub:
 * connection resets (before and after the answer), truncated bodies, 500 / 502 / 503 / 429 with
 * Retry-After on Hub, token, reconstruction and fetch-URL requests — the call completes and the bytes
 * verify. A 403 from a fetch URL re-queries the reconstruction; an expired CAS token (401) is refreshed
 * once. A corrupted byte in a fetched xorb range fails with IntegrityError HASH_MISMATCH and writes
 * nothing (no target, no temporary file). Abort works during retry waits. Reconstructions shaped by
 * deduplication (several ranges per xorb → multipart/byteranges, a range shared by several terms)
 * download byte-identical.
 */
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { after, before, beforeEach, describe, it } from "node:test";
import { downloadBucketFiles, downloadFile, downloadFileToPath } from "../../src/api/download.js";
import { IntegrityError } from "../../src/errors.js";
import { seed, startTestHub, type TestHub, type Who } from "../helpers/hub.js";
import { startFaultProxy, type FaultProxy } from "../helpers/faults.js";
import { seededBytes } from "../helpers/data.mjs";
import { assertBytesEqual, assertFileEquals, listDir, tempDir } from "../helpers/files.js";

const MiB = 1024 * 1024;
const B = "alice/faults";
const repo = `buckets/${B}` as const;
const fast = { baseDelayMs: 20, maxDelayMs: 200 };

let hub: TestHub;
let proxy: FaultProxy;
let tmp: { dir: string; cleanup: () => Promise<void> };
let clockSkew = 0;
let via: Who & { retry: typeof fast };
const big = seededBytes(3 * MiB, 31);
const small = seededBytes(200_000, 32);

before(async () => {
  hub = await startTestHub({ now: () => Date.now() + clockSkew });
  const alice = { hubUrl: hub.url, accessToken: hub.users.alice.token };
  await seed(alice, B, { "big.bin": big, "small.bin": small });
  proxy = await startFaultProxy(hub.url);
  via = { hubUrl: proxy.url, accessToken: hub.users.alice.token, retry: fast };
  tmp = await tempDir();
});
after(async () => {
  await proxy.close();
  await hub.close();
  await tmp.cleanup();
});
beforeEach(() => proxy.clear());

async function fetchAll(path: string, extra: Record<string, unknown> = {}): Promise<Uint8Array> {
  const blob = (await downloadFile({ repo, path, ...via, ...extra }))!;
  return new Uint8Array(await blob.arrayBuffer());
}

describe("transient faults: the download completes and verifies", () => {
  it("connection resets on fetch URLs, before and after the server answered", async () => {
    const r1 = proxy.add({ path: "/fetch/", action: "reset", times: 2 });
    const r2 = proxy.add({ path: "/fetch/", action: "reset-after", times: 1 });
    assertBytesEqual(await fetchAll("big.bin"), big);
    assert.equal(r1.injected, 2);
    assert.equal(r2.injected, 1);
  });

  it("a body cut in the middle (truncated) is fetched again", async () => {
    const r = proxy.add({ path: "/fetch/", action: "truncate", keepBytes: 100_000, times: 2 });
    const local = join(tmp.dir, "truncated.bin");
    await downloadFileToPath({ repo, path: "big.bin", localPath: local, ...via });
    await assertFileEquals(local, big);
    assert.equal(r.injected, 2);
  });

  it("500 and 502 on reconstructions, 503 + Retry-After on a fetch URL, 429 + Retry-After on the token", async () => {
    const r500 = proxy.add({ path: "/v2/reconstructions/", action: "status", status: 500, times: 1 });
    const r502 = proxy.add({ path: "/v2/reconstructions/", action: "status", status: 502, times: 1 });
    const r503 = proxy.add({ path: "/fetch/", action: "status", status: 503, retryAfter: 1, times: 1 });
    const r429 = proxy.add({ path: "/xet-read-token", action: "status", status: 429, retryAfter: 1, times: 1 });
    const t0 = Date.now();
    assertBytesEqual(await fetchAll("big.bin"), big);
    const elapsed = Date.now() - t0;
    assert.deepEqual([r500.injected, r502.injected, r503.injected, r429.injected], [1, 1, 1, 1]);
    assert.ok(elapsed >= 2000, `both Retry-After waits (1 s each) were honoured; took ${elapsed} ms`);
  });

  it("504 and resets on the Hub calls of downloadBucketFiles (paths-info, token)", async () => {
    const a = proxy.add({ path: "/paths-info", action: "status", status: 504, times: 1 });
    const b = proxy.add({ path: "/xet-read-token", action: "reset", times: 1 });
    const dest = join(tmp.dir, "hubfaults");
    await downloadBucketFiles(
      B,
      [
        ["big.bin", join(dest, "big.bin")],
        ["small.bin", join(dest, "small.bin")],
      ],
      via,
    );
    await assertFileEquals(join(dest, "big.bin"), big);
    await assertFileEquals(join(dest, "small.bin"), small);
    assert.deepEqual([a.injected, b.injected], [1, 1]);
  });

  it("403 from a fetch URL (expired URL) re-queries the reconstruction and succeeds", async () => {
    const r = proxy.add({ path: "/fetch/", action: "status", status: 403, times: 1 });
    const before = proxy.log.filter((l) => l.path.includes("/v2/reconstructions/")).length;
    assertBytesEqual(await fetchAll("small.bin"), small);
    assert.equal(r.injected, 1);
    assert.equal(proxy.log.filter((l) => l.path.includes("/v2/reconstructions/")).length - before, 2, "one re-query");
  });

  it("an expired CAS token (401) is refreshed once", async () => {
    const blob = (await downloadFile({ repo, path: "small.bin", ...via }))!;
    assertBytesEqual(new Uint8Array(await blob.slice(0, 1000).arrayBuffer()), small.subarray(0, 1000));
    const tokens0 = proxy.log.filter((l) => l.path.endsWith("/xet-read-token")).length;
    clockSkew = 2 * 3600 * 1000; // the hub's clock jumps past the token's expiry (and the fetch URLs')
    try {
      assertBytesEqual(new Uint8Array(await blob.arrayBuffer()), small);
    } finally {
      clockSkew = 0;
    }
    assert.equal(proxy.log.filter((l) => l.path.endsWith("/xet-read-token")).length - tokens0, 1, "one refresh");
    assert.ok(proxy.log.some((l) => l.path.includes("/v2/reconstructions/") && l.status === 401));
  });

  it("a CAS token close to its expiry is refreshed before use (no 401 needed)", async () => {
    // The hub's clock runs 59 minutes behind: its one-hour tokens expire 60 s from now by our clock,
    // inside the refresh margin, while the hub still accepts them.
    clockSkew = -59 * 60 * 1000;
    try {
      const blob = (await downloadFile({ repo, path: "small.bin", ...via }))!;
      const tokens0 = proxy.log.filter((l) => l.path.endsWith("/xet-read-token")).length;
      const log0 = proxy.log.length;
      assertBytesEqual(new Uint8Array(await blob.slice(0, 10).arrayBuffer()), small.subarray(0, 10));
      assertBytesEqual(new Uint8Array(await blob.slice(10, 20).arrayBuffer()), small.subarray(10, 20));
      assert.equal(proxy.log.filter((l) => l.path.endsWith("/xet-read-token")).length - tokens0, 2, "a new token for each read");
      assert.ok(!proxy.log.slice(log0).some((l) => l.status === 401));
    } finally {
      clockSkew = 0;
    }
  });

  it("retries are bounded: a fetch URL that keeps failing gives up with the attempts counted", async () => {
    proxy.add({ path: "/fetch/", action: "status", status: 500 });
    const err = await fetchAll("small.bin", { retry: { ...fast, maxAttempts: 3 } }).catch((e) => e);
    assert.equal(err.statusCode, 500);
    assert.equal(err.code, "SERVER_ERROR");
    assert.equal(err.attempts, 3);
    assert.match(err.message, /gave up after 3 attempts/);
    assert.doesNotMatch(err.message, /\?/, "signed URLs are not printed");
  });

  it("abort during a Retry-After wait rejects at once", async () => {
    proxy.add({ path: "/fetch/", action: "status", status: 503, retryAfter: 30 });
    const ctl = new AbortController();
    setTimeout(() => ctl.abort(new Error("stop now")), 300);
    const t0 = Date.now();
    await assert.rejects(fetchAll("small.bin", { abortSignal: ctl.signal }), /stop now/);
    assert.ok(Date.now() - t0 < 5000);
  });
});

describe("corruption", () => {
  it("a flipped byte in a fetched xorb range → IntegrityError HASH_MISMATCH, no file and no temporary file", async () => {
    const dest = join(tmp.dir, "corrupt");
    const r = proxy.add({ path: "/fetch/", action: "corrupt", offset: 5000 });
    const err = await downloadBucketFiles(B, [["big.bin", join(dest, "big.bin")]], via).catch((e) => e);
    assert.ok(err instanceof IntegrityError, String(err));
    assert.equal(err.code, "HASH_MISMATCH");
    assert.match(err.message, /nothing was written/i);
    assert.ok(r.injected >= 1);
    assert.equal(existsSync(join(dest, "big.bin")), false);
    assert.deepEqual(await listDir(dest), [], "the temporary file was removed");
  });

  it("the same corruption over an existing file leaves that file untouched", async () => {
    const dest = join(tmp.dir, "corrupt-existing");
    await downloadBucketFiles(B, [["small.bin", join(dest, "f.bin")]], via);
    proxy.add({ path: "/fetch/", action: "corrupt", offset: 777 });
    await assert.rejects(
      downloadFileToPath({ repo, path: "big.bin", localPath: join(dest, "f.bin"), ...via }),
      (e: IntegrityError) => e.code === "HASH_MISMATCH",
    );
    await assertFileEquals(join(dest, "f.bin"), small);
    assert.deepEqual(await listDir(dest), ["f.bin"]);
  });

  it("Blob reads: arrayBuffer() rejects, stream() errors after its last block", async () => {
    proxy.add({ path: "/fetch/", action: "corrupt", offset: 1234 });
    await assert.rejects(fetchAll("small.bin"), (e: IntegrityError) => e.code === "HASH_MISMATCH");
    const blob = (await downloadFile({ repo, path: "small.bin", ...via }))!;
    let got = 0;
    const err = await (async () => {
      for await (const p of blob.stream() as unknown as AsyncIterable<Uint8Array>) got += p.length;
    })().catch((e) => e);
    assert.ok(err instanceof IntegrityError);
    assert.equal(got, small.length, "all bytes were streamed before the verdict");
  });
});

describe("deduplicated reconstructions", () => {
  it("several ranges per xorb (multipart/byteranges) and ranges shared by terms download byte-identical", async () => {
    const alice = { hubUrl: hub.url, accessToken: hub.users.alice.token };
    const r1 = seededBytes(2 * MiB, 41);
    const r2 = seededBytes(2 * MiB, 42);
    await seed(alice, B, { "r1.bin": r1 });
    await seed(alice, B, { "r2.bin": r2 });
    const spliced = Buffer.concat([r1.subarray(0, MiB), r2, r1.subarray(MiB), r1.subarray(0, MiB)]);
    await seed(alice, B, { "spliced.bin": spliced });
    const ranges: string[] = [];
    const recording: typeof fetch = (input, init) => {
      const r = new Headers(init?.headers).get("range");
      if (r && String(input).includes("/fetch/")) ranges.push(r);
      return fetch(input, init);
    };
    const blob = (await downloadFile({ repo, path: "spliced.bin", ...alice, fetch: recording }))!;
    assertBytesEqual(new Uint8Array(await blob.arrayBuffer()), spliced, "spliced");
    assert.ok(
      ranges.some((r) => r.includes(",")),
      `a multi-range request was made: ${ranges.join(" | ")}`,
    );
    // The same, one request per range.
    const single = (await downloadFile({ repo, path: "spliced.bin", ...alice, multiRange: false }))!;
    assertBytesEqual(new Uint8Array(await single.arrayBuffer()), spliced, "spliced, one range per request");
    // A file that repeats one block: its xorb range is referenced by several terms.
    const block = seededBytes(300_000, 43);
    const repeated = Buffer.concat([block, block, block, block]);
    await seed(alice, B, { "repeated.bin": repeated });
    assertBytesEqual(
      new Uint8Array(await (await downloadFile({ repo, path: "repeated.bin", ...alice }))!.arrayBuffer()),
      repeated,
      "repeated",
    );
  });
});
