/** xetHashFiles: file hashes computed on the chunking workers equal xetHash, for every kind of input. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { xetHash } from "../../src/index.js";
import { wholeFiles, xetHashFiles } from "../../src/hash.js";
import { acquireWorkerPool } from "../../src/pool/pool.js";
import { rawToHex } from "../../src/core/index.js";
import { XetBucketsError } from "../../src/errors.js";
import { seededBytes } from "../helpers/data.mjs";
import { textInput } from "../helpers/vectors.js";

test("xetHashFiles on workers and on this thread equals xetHash (paths, file: URLs, bytes)", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "xb-hashfiles-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const M = 1024 * 1024;
  const runs = seededBytes(9 * M + 5, 4);
  runs.fill(7, 2 * M + 3, 6 * M);
  const datas = [
    new Uint8Array(0),
    new Uint8Array([1]),
    seededBytes(8191, 1),
    seededBytes(13 * M + 7, 2),
    textInput(5 * M),
    new Uint8Array(3 * M),
    runs,
  ];
  const paths = datas.map((d, i) => {
    const p = join(dir, `f${i}`);
    writeFileSync(p, d);
    return p;
  });
  const expected = await Promise.all(datas.map((d) => xetHash(d)));
  for (const workers of [2, 0]) {
    for (const [kind, sources] of [
      ["paths", paths],
      ["file: URLs", paths.map((p) => pathToFileURL(p))],
      ["bytes", datas],
    ] as const) {
      const got = await xetHashFiles([...sources], { workers, segmentBytes: 1024 * 1024 });
      assert.deepEqual(
        got.map((g) => [g.xetHash, g.size]),
        expected.map((h, i) => [h, datas[i]!.length]),
        `${kind}, ${workers} workers`,
      );
    }
  }
});

test("xetHashFiles: many small local files go to the workers whole (several per task), in order among large files and bytes", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "xb-hashwhole-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const M = 1024 * 1024;
  const sizes = [0, 1, 8191, 8192, 8193, 65535, 131073, 500_000, M, 3 * M + 5];
  const datas: Uint8Array[] = [];
  for (let i = 0; i < 150; i++)
    datas.push(
      i % 50 === 7
        ? seededBytes(6 * M + i, 300 + i)
        : i % 3 === 0
          ? textInput(sizes[i % sizes.length]!)
          : seededBytes(sizes[i % sizes.length]!, 100 + i),
    );
  const sources: (string | Uint8Array)[] = datas.map((d, i) => {
    if (i === 40) return d; // bytes among the paths
    const p = join(dir, `f${i}`);
    writeFileSync(p, d);
    return p;
  });
  const expected = await Promise.all(datas.map((d) => xetHash(d)));
  const onWorkers = await xetHashFiles(sources, { workers: 2, segmentBytes: 4 * M });
  const here = await xetHashFiles(sources, { workers: 0, segmentBytes: 4 * M });
  assert.deepEqual(
    onWorkers.map((g) => [g.xetHash, g.size]),
    expected.map((h, i) => [h, datas[i]!.length]),
  );
  assert.deepEqual(
    onWorkers.map((g) => g.chunks),
    here.map((g) => g.chunks),
    "chunk counts agree with the segmented path",
  );
});

test("xetHashFiles: a missing path or a directory is a typed error; a worker told a wrong size answers SOURCE_CHANGED", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "xb-hashbad-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const ok = join(dir, "ok.bin");
  writeFileSync(ok, seededBytes(70_000, 9));
  await assert.rejects(
    xetHashFiles([ok, join(dir, "missing.bin")], { workers: 2 }),
    (e: unknown) => e instanceof XetBucketsError && e.code === "FILE_NOT_FOUND",
  );
  await assert.rejects(xetHashFiles([ok, dir], { workers: 2 }), (e: unknown) => e instanceof XetBucketsError);
  const pool = await acquireWorkerPool(1);
  t.after(() => pool.release());
  await assert.rejects(pool.hashFiles([ok], [69_999]), (e: unknown) => e instanceof XetBucketsError && e.code === "SOURCE_CHANGED");
  await assert.rejects(
    pool.hashFiles([join(dir, "missing.bin")], [1]),
    (e: unknown) => e instanceof XetBucketsError && e.code === "SOURCE_CHANGED",
  );
  const [good] = await pool.hashFiles([ok], [70_000]);
  assert.equal(rawToHex(good!.hash), await xetHash(seededBytes(70_000, 9)));
  assert.equal(good!.size, 70_000);
});

test("wholeFiles: large files go whole while each fits a worker's even share (longest first), the others are segmented", () => {
  const M = 1024 * 1024;
  const files = (sizes: number[]) => new Map(sizes.map((s, i) => [i, [`f${i}`, s] as [string, number]]));
  const whole = (sizes: number[], workers: number, seg = 4 * M) => [...wholeFiles(files(sizes), seg, workers).keys()].sort((a, b) => a - b);
  // One 512 MiB file and 512 files of 1 MiB on 2 workers: the large one fills one worker, the small ones the other.
  assert.deepEqual(whole([512 * M, ...Array(512).fill(M)], 2).length, 513);
  // Three of 400 MiB on 2 workers: two whole, the third (it would make one worker do 800) segmented.
  assert.deepEqual(whole([400 * M, 400 * M, 400 * M], 2), [0, 1]);
  // One file larger than the share: segmented, so that both workers share it; small files stay whole.
  assert.deepEqual(whole([1024 * M, M, 2 * M], 2), [1, 2]);
  // Longest first: 300 and 200 on the two workers (share 350 + a segment), one 100 joins the 200; the other 100
  // would take a worker to 400: segmented, so that both workers end at 350.
  assert.deepEqual(whole([100 * M, 300 * M, 200 * M, 100 * M], 2), [0, 1, 2]);
  assert.deepEqual(whole([350 * M, 340 * M, 10 * M], 2, M), [0, 1, 2]);
  // One worker: everything whole (segments would only add work).
  assert.deepEqual(whole([1024 * M, 5 * M], 1), [0, 1]);
});

test("xetHashFiles: a large file that fits a worker's share is read whole by one worker, one that does not is segmented; both equal xetHash", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "xb-hashlpt-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const M = 1024 * 1024;
  const pool = await acquireWorkerPool(2);
  t.after(() => pool.release());
  const sent: number[][] = [];
  const original = pool.hashFiles.bind(pool);
  pool.hashFiles = (paths, sizes, block) => {
    sent.push(sizes);
    return original(paths, sizes, block);
  };
  t.after(() => void (pool.hashFiles = original));
  const write = (name: string, data: Uint8Array) => {
    const p = join(dir, name);
    writeFileSync(p, data);
    return p;
  };
  // 6 + 5 + 2.5 MiB on 2 workers (share 6.75 MiB + a segment): all whole. 20 MiB with two small files: segmented.
  const fits = [seededBytes(6 * M + 1, 41), seededBytes(5 * M + 2, 42), textInput(2.5 * M + 3)];
  const big = [seededBytes(20 * M + 5, 43), seededBytes(70_000, 44), new Uint8Array(3)];
  for (const datas of [fits, big]) {
    sent.length = 0;
    const paths = datas.map((d, i) => write(`f${datas.length}-${i}-${d.length}`, d));
    const got = await xetHashFiles(paths, { workers: 2, segmentBytes: M });
    assert.deepEqual(
      got.map((g) => [g.xetHash, g.size]),
      await Promise.all(datas.map(async (d) => [await xetHash(d), d.length])),
    );
    const wholeSizes = sent.flat().sort((a, b) => a - b);
    if (datas === fits)
      assert.deepEqual(
        wholeSizes,
        datas.map((d) => d.length).sort((a, b) => a - b),
        "every file whole",
      );
    else assert.deepEqual(wholeSizes, [3, 70_000], "the 20 MiB file segmented");
  }
});

test("xetHashFiles: an abort while workers read whole files rejects at once with the abort reason", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "xb-hashabort-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const M = 1024 * 1024;
  const paths = [0, 1].map((i) => {
    const p = join(dir, `big${i}`);
    writeFileSync(p, seededBytes(48 * M + i, 50 + i));
    return p;
  });
  const pool = await acquireWorkerPool(2);
  t.after(() => pool.release());
  let answered = 0;
  const original = pool.hashFiles.bind(pool);
  pool.hashFiles = (p, sizes, block) => original(p, sizes, block).finally(() => answered++);
  t.after(() => void (pool.hashFiles = original));
  const ctl = new AbortController();
  const reason = new Error("stop");
  const run = xetHashFiles(paths, { workers: 2, abortSignal: ctl.signal });
  setTimeout(() => ctl.abort(reason), 5);
  await assert.rejects(run, (e: unknown) => e === reason);
  assert.equal(answered, 0, "rejected before the workers finished their files");
});
