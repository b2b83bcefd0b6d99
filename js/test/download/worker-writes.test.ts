/**
 * Downloads to files written where the chunks are decoded (`XetReader.readToFile`, used by downloadBucketFiles
 * and sync): in Node the chunking workers decode, hash and write each batch of chunks themselves, so the
 * file's bytes never reach the calling thread — and the file is still verified against its xetHash (a flipped
 * byte fails with HASH_MISMATCH). The same bytes come out with workers off (every byte through the sink),
 * with reconstruction windows smaller than the file, and for ranges several terms read. A file the workers
 * cannot open fails with LocalFileError. Memory: a fetch of writing workers holds its decoding windows only,
 * not its decoded chunks, so a 128 MiB download keeps the budget unused and the live buffers small.
 */
import assert from "node:assert/strict";
import { writeFile, readFile, open } from "node:fs/promises";
import { join } from "node:path";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { after, before, describe, it } from "node:test";
import { downloadBucketFiles } from "../../src/api/download.js";
import { pathsInfo } from "../../src/api/files.js";
import { IntegrityError, LocalFileError } from "../../src/errors.js";
import { hubContext } from "../../src/hub/context.js";
import { XetTokenProvider } from "../../src/hub/xet-token.js";
import { rangeFetch } from "../../src/platform/node/range-fetch.js";
import { parseBucket } from "../../src/repo.js";
import { CasClient } from "../../src/xet/cas.js";
import { RANGE_FETCH_ATTEMPTS, XetReader, type DownloadTuning, type PositionalSink } from "../../src/xet/download.js";
import { seed, startTestHub, type TestHub, type Who } from "../helpers/hub.js";
import { startFaultProxy, type FaultProxy } from "../helpers/faults.js";
import { seededBytes } from "../helpers/data.mjs";
import { assertBytesEqual, assertFileEquals, listDir, tempDir } from "../helpers/files.js";

const MiB = 1024 * 1024;
const B = "alice/worker-writes";

let hub: TestHub;
let proxy: FaultProxy;
let alice: Who;
let tmp: { dir: string; cleanup: () => Promise<void> };
const big = seededBytes(12 * MiB, 71);
const block = seededBytes(700_000, 72);
const repeated = Buffer.concat([block, seededBytes(MiB, 73), block, block, seededBytes(3 * MiB, 74), block]);
const huge = seededBytes(128 * MiB, 75);

before(async () => {
  hub = await startTestHub();
  alice = { hubUrl: hub.url, accessToken: hub.users.alice.token };
  await seed(alice, B, { "big.bin": big, "repeated.bin": repeated, "huge.bin": huge });
  proxy = await startFaultProxy(hub.url);
  tmp = await tempDir();
});
after(async () => {
  await proxy.close();
  await hub.close();
  await tmp.cleanup();
});

/** A reader of the bucket, as downloadBucketFiles makes one. */
function reader(tuning: DownloadTuning = {}, hubUrl = hub.url, fetch?: typeof globalThis.fetch): XetReader {
  const ctx = hubContext({ hubUrl, accessToken: alice.accessToken, retry: { baseDelayMs: 20, maxDelayMs: 200 }, fetch });
  return new XetReader(new CasClient(new XetTokenProvider(ctx, parseBucket(B, { allowBareId: true }), "read"), ctx.http), tuning);
}

async function fileRef(path: string) {
  const [info] = await pathsInfo({ repo: `buckets/${B}`, paths: [path], ...alice });
  return { hash: info!.xetHash!, size: info!.size, path };
}

/** A file written at positions by the test; `through` counts the bytes that came through `write` (this thread). */
async function sinkAt(path: string): Promise<PositionalSink & { through: number; close(): Promise<void> }> {
  await writeFile(path, new Uint8Array(0));
  const fh = await open(path, "r+");
  const sink = {
    path,
    through: 0,
    async write(data: Uint8Array, position: number) {
      sink.through += data.length;
      await fh.write(data, 0, data.length, position);
    },
    close: () => fh.close(),
  };
  return sink;
}

describe("files written by the chunking workers", () => {
  it("the bytes never reach this thread, and the file is verified; with workers off, all of them go through the sink", async () => {
    const ref = await fileRef("big.bin");
    const bytesSeen: number[] = [];
    const viaWorkers = await sinkAt(join(tmp.dir, "w.bin"));
    const n = await reader().readToFile(ref, viaWorkers, { onBytes: (b) => bytesSeen.push(b) });
    await viaWorkers.close();
    assert.equal(n, big.length);
    await assertFileEquals(join(tmp.dir, "w.bin"), big);
    // Batches of 256 KiB or more go to the workers; only a range's small tail may be decoded here.
    assert.ok(viaWorkers.through < 1 * MiB, `${viaWorkers.through} bytes came through this thread`);
    assert.equal(
      bytesSeen.reduce((a, b) => a + b, 0),
      big.length,
      "progress counts every byte once",
    );

    // Options that carry the platform's own fetch (the CLI's) read the same way.
    const viaPlatformFetch = await sinkAt(join(tmp.dir, "p.bin"));
    assert.equal(await reader({}, hub.url, rangeFetch(false)).readToFile(ref, viaPlatformFetch), big.length);
    await viaPlatformFetch.close();
    assert.ok(viaPlatformFetch.through < 1 * MiB, `${viaPlatformFetch.through} bytes came through this thread`);
    await assertFileEquals(join(tmp.dir, "p.bin"), big);

    const inThread = await sinkAt(join(tmp.dir, "t.bin"));
    assert.equal(await reader({ workers: 0 }).readToFile(ref, inThread), big.length);
    await inThread.close();
    assert.equal(inThread.through, big.length);
    await assertFileEquals(join(tmp.dir, "t.bin"), big);
  });

  it("a flipped byte in a fetched range fails with HASH_MISMATCH (the workers hash what they write)", async () => {
    const ref = await fileRef("big.bin");
    const r = proxy.add({ path: "/fetch/", action: "corrupt", offset: 3 * MiB + 5 });
    try {
      const sink = await sinkAt(join(tmp.dir, "corrupt.bin"));
      const err = await reader({}, proxy.url)
        .readToFile(ref, sink)
        .catch((e: unknown) => e);
      await sink.close();
      assert.ok(err instanceof IntegrityError, String(err));
      assert.equal(err.code, "HASH_MISMATCH");
      assert.ok(r.injected >= 1);
      assert.ok(sink.through < 1 * MiB, "the workers wrote the batches");
    } finally {
      proxy.clear();
    }
    // downloadBucketFiles leaves nothing behind.
    const dest = join(tmp.dir, "corrupt-dir");
    proxy.add({ path: "/fetch/", action: "corrupt", offset: 777 });
    try {
      const err = await downloadBucketFiles(B, [["big.bin", join(dest, "big.bin")]], {
        hubUrl: proxy.url,
        accessToken: alice.accessToken,
      }).catch((e: unknown) => e);
      assert.ok(err instanceof IntegrityError && err.code === "HASH_MISMATCH", String(err));
      assert.deepEqual(await listDir(dest), []);
    } finally {
      proxy.clear();
    }
  });

  it("malformed chunk records in an answer fail with CORRUPT_DATA after the bounded refetches of damaged data (an error of the reader is not a broken connection)", async () => {
    // Offset 0 is the first record's version byte.
    const r = proxy.add({ path: "/fetch/", action: "corrupt", offset: 0 });
    try {
      const dest = join(tmp.dir, "bad-record");
      const err = await downloadBucketFiles(B, [["big.bin", join(dest, "big.bin")]], {
        hubUrl: proxy.url,
        accessToken: alice.accessToken,
      }).catch((e: unknown) => e);
      assert.ok(err instanceof IntegrityError, String(err));
      assert.equal(err.code, "CORRUPT_DATA");
      // Damaged data is fetched again from fresh reconstructions (RANGE_FETCH_ATTEMPTS per read; the file is read a
      // second time, and the same damage again ends it), never retried as a broken connection (5 attempts each).
      assert.equal(r.injected, RANGE_FETCH_ATTEMPTS * 2, "fetched again only by the damaged-data policy");
      assert.deepEqual(await listDir(dest), []);
    } finally {
      proxy.clear();
    }
  });

  it("ranges read by several terms, windows smaller than the file, one request per range: the same bytes", async () => {
    const dest = join(tmp.dir, "repeated");
    for (const tuning of [{}, { reconstructionWindowBytes: 1_500_000 }, { multiRange: false, reconstructionWindowBytes: 2 * MiB + 17 }]) {
      const r = await downloadBucketFiles(B, [["repeated.bin", join(dest, "r.bin")]], { ...alice, ...tuning });
      assert.equal(r.downloaded[0]?.size, repeated.length);
      assertBytesEqual(new Uint8Array(await readFile(join(dest, "r.bin"))), repeated, JSON.stringify(tuning));
    }
  });

  it("a file the workers cannot open fails with LocalFileError", async () => {
    const ref = await fileRef("big.bin");
    const err = await reader()
      .readToFile(ref, { path: join(tmp.dir, "missing", "x.bin"), write: async () => {} })
      .catch((e: unknown) => e);
    assert.ok(err instanceof LocalFileError, String(err));
    assert.equal(err.code, "FILE_NOT_FOUND");
  });
});

/** A full garbage collection (the test runner does not pass --expose-gc). */
function gcNow(): void {
  const g = (globalThis as { gc?: () => void }).gc ?? (setFlagsFromString("--expose-gc"), runInNewContext("gc") as () => void);
  g();
}

describe("memory", () => {
  it("128 MiB written by the workers: the fetches hold their windows only, live buffers stay small", async () => {
    const ref = await fileRef("huge.bin");
    const r = reader({ maxBufferedBytes: 24 * MiB });
    gcNow();
    let low = process.memoryUsage().arrayBuffers;
    let peak = low;
    let reserved = 0;
    const timer = setInterval(() => {
      gcNow();
      const now = process.memoryUsage().arrayBuffers;
      peak = Math.max(peak, now);
      low = Math.min(low, now);
      reserved = Math.max(reserved, r.limiter.reservedBytes);
    }, 50);
    const sink = await sinkAt(join(tmp.dir, "huge.bin"));
    try {
      assert.equal(await r.readToFile(ref, sink), huge.length);
    } finally {
      clearInterval(timer);
      await sink.close();
    }
    await assertFileEquals(join(tmp.dir, "huge.bin"), huge);
    const growth = (peak - low) / MiB;
    console.log(
      `[download] 128 MiB written by the workers; live ArrayBuffer peak +${growth.toFixed(0)} MiB, budget used ${reserved / MiB} MiB`,
    );
    assert.ok(reserved <= 24 * MiB, `the budget was exceeded: ${reserved}`);
    // Windows in flight (≤ 4.5 MiB each: a few per fetch, at most 2 per worker + 2 queued) and the spares
    // kept for reuse (≤ 32 MiB), plus the hub's own buffers: far below one fetch's decoded chunks (64 MiB).
    assert.ok(growth < 64, `live memory grew by ${growth.toFixed(0)} MiB`);
  });
});
