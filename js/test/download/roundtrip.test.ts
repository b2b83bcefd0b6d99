/**
 * Round trips through the real local hub over HTTP: files of 0, 1, 8191, 8192, 131071, 131073 bytes,
 * 5 MiB and 200 MiB are uploaded with this package and downloaded back byte-identical, as lazy Blobs
 * (whole reads verified against the xetHash, ranged slices) and to disk with downloadBucketFiles
 * (temporary file + rename, remote mtime set, no temporary file left). Also: reconstruction windows
 * smaller than the file (hash verified across windows), one request per range, the v1 fallback, the
 * memory bound, missing files (skip with a warning, or EntryNotFoundError), and abort.
 */
import assert from "node:assert/strict";
import { stat, writeFile } from "node:fs/promises";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { downloadBucketFiles, downloadFile, downloadFileToPath, BucketFileBlob } from "../../src/api/download.js";
import { fileDownloadInfo, listFiles, pathsInfo } from "../../src/api/files.js";
import { batchBucketFiles } from "../../src/api/upload.js";
import { createBucket } from "../../src/api/buckets.js";
import { EntryNotFoundError } from "../../src/errors.js";
import { seed, startTestHub, type TestHub, type Who } from "../helpers/hub.js";
import { startFaultProxy } from "../helpers/faults.js";
import { seededBytes } from "../helpers/data.mjs";
import { assertBytesEqual, assertFileEquals, assertFilesEqual, listDir, tempDir } from "../helpers/files.js";

const MiB = 1024 * 1024;
const SIZES = [0, 1, 8191, 8192, 131071, 131073, 5 * MiB];
const MTIME = Date.UTC(2025, 5, 6, 7, 8, 9, 0);

let hub: TestHub;
let alice: Who;
let tmp: { dir: string; cleanup: () => Promise<void> };
const B = "alice/rt";
const repo = `buckets/${B}` as const;
const data = new Map<string, Uint8Array>();

before(async () => {
  hub = await startTestHub();
  alice = { hubUrl: hub.url, accessToken: hub.users.alice.token };
  tmp = await tempDir();
  const files: Record<string, Uint8Array> = {};
  for (const n of SIZES) {
    // Mix random and repetitive content so that chunks are stored raw, LZ4 and BG4.
    const bytes = seededBytes(n, n + 1);
    if (n > 1000) bytes.fill(0, Math.floor(n / 3), Math.floor(n / 2));
    data.set(`sizes/${n}.bin`, bytes);
    files[`sizes/${n}.bin`] = bytes;
  }
  await seed(alice, B, files, { mtime: MTIME });
});
after(async () => {
  await hub.close();
  await tmp.cleanup();
});

describe("round trips", () => {
  for (const n of SIZES) {
    it(`${n} bytes: lazy Blob (verified), slices, and a file on disk with the remote mtime`, async () => {
      const path = `sizes/${n}.bin`;
      const expected = data.get(path)!;
      const blob = (await downloadFile({ repo, path, ...alice }))!;
      assert.ok(blob instanceof BucketFileBlob);
      assert.equal(blob.size, n);
      assertBytesEqual(new Uint8Array(await blob.arrayBuffer()), expected, path);
      if (n > 2) {
        const a = Math.floor(n / 3) - 1;
        const b = Math.floor((2 * n) / 3) + 1;
        assertBytesEqual(new Uint8Array(await blob.slice(a, b).arrayBuffer()), expected.subarray(a, b), `${path}[${a}, ${b})`);
        assertBytesEqual(new Uint8Array(await blob.slice(-2).arrayBuffer()), expected.subarray(n - 2), `${path} last 2`);
        assertBytesEqual(new Uint8Array(await blob.slice(1, 2).slice(0, 1).arrayBuffer()), expected.subarray(1, 2), `${path} byte 1`);
      }
      const local = join(tmp.dir, "sizes", `${n}.bin`);
      await downloadFileToPath({ repo, path, localPath: local, ...alice });
      await assertFileEquals(local, expected);
      assert.equal((await stat(local)).mtimeMs, MTIME);
    });
  }

  it("size 0 needs no CAS request", async () => {
    const before = hub.count("GET", "/v2/reconstructions") + hub.count("GET", "/api/buckets/alice/rt/xet-read-token");
    const r = await downloadBucketFiles(B, [["sizes/0.bin", join(tmp.dir, "zero.bin")]], alice);
    assert.equal(r.downloaded[0]?.size, 0);
    assert.equal((await stat(join(tmp.dir, "zero.bin"))).size, 0);
    assert.equal(hub.count("GET", "/v2/reconstructions") + hub.count("GET", "/api/buckets/alice/rt/xet-read-token"), before);
  });

  it("stream() yields the whole file and text() decodes it", async () => {
    await seed(alice, B, { "hello.txt": "héllo wörld" });
    const blob = (await downloadFile({ repo, path: "hello.txt", ...alice }))!;
    assert.equal(await blob.text(), "héllo wörld");
    const parts: Uint8Array[] = [];
    for await (const p of blob.stream() as unknown as AsyncIterable<Uint8Array>) parts.push(p);
    assert.equal(Buffer.concat(parts).toString("utf8"), "héllo wörld");
    assert.equal(await downloadFile({ repo, path: "missing.txt", ...alice }), null);
  });

  it("reconstruction windows smaller than the file, one request per range, and the v1 fallback give the same bytes", async () => {
    const path = `sizes/${5 * MiB}.bin`;
    const expected = data.get(path)!;
    const q0 = hub.count("GET", "/v2/reconstructions");
    const windowed = (await downloadFile({ repo, path, reconstructionWindowBytes: MiB + 12345, maxRangeFetches: 2, ...alice }))!;
    assertBytesEqual(new Uint8Array(await windowed.arrayBuffer()), expected, "windowed");
    assert.equal(hub.count("GET", "/v2/reconstructions") - q0, Math.ceil((5 * MiB) / (MiB + 12345)));
    const single = (await downloadFile({ repo, path, multiRange: false, ...alice }))!;
    assertBytesEqual(
      new Uint8Array(await single.slice(100, 4 * MiB).arrayBuffer()),
      expected.subarray(100, 4 * MiB),
      "one range per request",
    );
    // A CAS without /v2/reconstructions (404): the client falls back to v1.
    const proxy = await startFaultProxy(hub.url);
    try {
      const rule = proxy.add({ path: "/v2/reconstructions/", action: "status", status: 404 });
      const v1 = (await downloadFile({ repo, path, ...alice, hubUrl: proxy.url }))!;
      assertBytesEqual(new Uint8Array(await v1.arrayBuffer()), expected, "v1");
      assert.equal(rule.injected, 1, "v2 was tried once, then v1 used for the rest");
      assert.ok(proxy.log.some((l) => l.path.includes("/v1/reconstructions/")));
    } finally {
      await proxy.close();
    }
  });

  it("@huggingface/hub's downloadFile options: downloadInfo, xet.readToken, xet: false, parallelDownloads: false", async () => {
    const path = "sizes/131073.bin";
    const expected = data.get(path)!;
    const info = (await fileDownloadInfo({ repo, path, ...alice }))!;
    const tokenRes = await fetch(`${hub.url}/api/buckets/${B}/xet-read-token`, { headers: hub.auth(alice.accessToken) });
    const readToken = (await tokenRes.json()) as { accessToken: string; casUrl: string; exp: number };
    const resolves = hub.count("GET", `/buckets/${B}/resolve/`);
    const tokens = hub.count("GET", `/api/buckets/${B}/xet-read-token`);
    const blob = (await downloadFile({ repo, path, downloadInfo: info, xet: { readToken }, parallelDownloads: false, ...alice }))!;
    assertBytesEqual(new Uint8Array(await blob.arrayBuffer()), expected, "with downloadInfo and readToken");
    assert.equal(hub.count("GET", `/buckets/${B}/resolve/`), resolves, "no metadata request");
    assert.equal(hub.count("GET", `/api/buckets/${B}/xet-read-token`), tokens, "no token request");
    const plain = (await downloadFile({ repo, path, xet: false, ...alice }))!;
    assert.ok(!(plain instanceof BucketFileBlob));
    assert.equal(plain.size, expected.length);
    assertBytesEqual(new Uint8Array(await plain.slice(1000, 90_000).arrayBuffer()), expected.subarray(1000, 90_000), "xet: false, ranged");
    assertBytesEqual(new Uint8Array(await plain.arrayBuffer()), expected, "xet: false, whole");
    const parts: Uint8Array[] = [];
    for await (const p of plain.stream() as unknown as AsyncIterable<Uint8Array>) parts.push(p);
    assertBytesEqual(new Uint8Array(Buffer.concat(parts)), expected, "xet: false, stream");
    assert.equal(hub.count("GET", `/buckets/${B}/resolve/`) - resolves, 4, "served by the resolve URL");
  });

  it("downloadBucketFiles: paths and listing entries, several files in parallel, missing files warned and skipped, or raised", async () => {
    const dest = join(tmp.dir, "many");
    const entries = [];
    for await (const e of listFiles({ repo, path: "sizes", ...alice })) entries.push(e);
    const warnings: string[] = [];
    const r = await downloadBucketFiles(
      `hf://buckets/${B}`,
      [
        ...entries.map((e) => [e, join(dest, e.path)] as [typeof e, string]),
        ["no/such/file.bin", join(dest, "never.bin")],
        ["sizes/1.bin", join(dest, "by-path", "one.bin")],
      ],
      { ...alice, maxFileDownloads: 3, onWarning: (m) => warnings.push(m) },
    );
    assert.equal(r.downloaded.length, SIZES.length + 1);
    assert.deepEqual(r.missing, ["no/such/file.bin"]);
    assert.equal(warnings.length, 1);
    assert.match(warnings[0]!, /no\/such\/file\.bin/);
    for (const n of SIZES) await assertFileEquals(join(dest, "sizes", `${n}.bin`), data.get(`sizes/${n}.bin`)!);
    await assertFileEquals(join(dest, "by-path", "one.bin"), data.get("sizes/1.bin")!);
    assert.deepEqual(await listDir(join(dest, "sizes")), SIZES.map((n) => `${n}.bin`).sort(), "no temporary files left");
    const before = hub.count("GET", "/v2/reconstructions");
    const err = await downloadBucketFiles(
      B,
      [
        ["sizes/1.bin", join(dest, "x.bin")],
        ["nope.bin", join(dest, "y.bin")],
      ],
      { ...alice, raiseOnMissingFiles: true },
    ).catch((e) => e);
    assert.ok(err instanceof EntryNotFoundError);
    assert.match(err.message, /nope\.bin/);
    assert.equal(hub.count("GET", "/v2/reconstructions"), before, "nothing downloaded when raising");
    const dirEntry = { type: "directory", path: "sizes", size: 0 };
    await assert.rejects(downloadBucketFiles(B, [[dirEntry, join(dest, "dir")]], alice), /is a directory, not a file/);
  });

  it("a download replaces an existing longer file atomically (no stale tail)", async () => {
    const local = join(tmp.dir, "replace.bin");
    await writeFile(local, seededBytes(300_000, 99));
    await downloadFileToPath({ repo, path: "sizes/8192.bin", localPath: local, ...alice });
    await assertFileEquals(local, data.get("sizes/8192.bin")!);
  });

  it("abort: the call rejects with the signal's reason and leaves no file", async () => {
    const dest = join(tmp.dir, "aborted");
    const ctl = new AbortController();
    const p = downloadBucketFiles(B, [[`sizes/${5 * MiB}.bin`, join(dest, "big.bin")]], {
      ...alice,
      abortSignal: ctl.signal,
      maxRangeFetches: 1,
      onProgress: () => ctl.abort(new Error("user abort")),
    });
    await assert.rejects(p, /user abort/);
    assert.deepEqual(await listDir(dest).catch(() => []), []);
  });
});

/** A full garbage collection (the test runner does not pass --expose-gc). */
function gcNow(): void {
  const g = (globalThis as { gc?: () => void }).gc ?? (setFlagsFromString("--expose-gc"), runInNewContext("gc") as () => void);
  g();
}

describe("200 MiB", () => {
  it("uploads and downloads 200 MiB byte-identical, with bounded memory", async () => {
    const n = 200 * MiB;
    const src = join(tmp.dir, "big-src.bin");
    await (async () => {
      const bytes = seededBytes(n, 2024);
      bytes.fill(7, 10 * MiB, 30 * MiB);
      await writeFile(src, bytes);
    })();
    await createBucket("alice/big", { existOk: true, ...alice });
    await batchBucketFiles("alice/big", { add: [[src, "big.bin"]], ...alice });
    const [info] = await pathsInfo({ repo: "buckets/alice/big", paths: ["big.bin"], ...alice });
    assert.equal(info?.size, n);

    // Live ArrayBuffer memory (sampled after a full GC) while downloading with a 32 MiB budget, 4 fetches.
    gcNow();
    let low = process.memoryUsage().arrayBuffers;
    let peak = low;
    const timer = setInterval(() => {
      gcNow();
      const now = process.memoryUsage().arrayBuffers;
      peak = Math.max(peak, now);
      low = Math.min(low, now); // leftovers of earlier tests may be freed meanwhile
    }, 50);
    const local = join(tmp.dir, "big-dst.bin");
    const t0 = Date.now();
    try {
      await downloadFileToPath({
        repo: "buckets/alice/big",
        path: "big.bin",
        localPath: local,
        maxBufferedBytes: 32 * MiB,
        maxRangeFetches: 4,
        ...alice,
      });
    } finally {
      clearInterval(timer);
    }
    const secs = (Date.now() - t0) / 1000;
    const growth = (peak - low) / MiB;
    console.log(
      `[download] 200 MiB in ${secs.toFixed(1)} s with a GC every 50 ms; live ArrayBuffer peak +${growth.toFixed(0)} MiB (bound: 32 MiB budget + one fetch ≤ 72 MiB; hub in-process)`,
    );
    await assertFilesEqual(local, src);
    assert.ok(growth < 32 + 72 + 16, `live memory grew by ${growth.toFixed(0)} MiB for a 200 MiB file; the bound is budget + one fetch`);
  });
});
