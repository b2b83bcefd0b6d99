/** xetHashFiles: file hashes computed on the chunking workers equal xetHash, for every kind of input. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { xetHash } from "../../src/index.js";
import { xetHashFiles } from "../../src/pool/hash.js";
import { acquireWorkerPool } from "../../src/pool/pool.js";
import { rawToHex } from "../../src/core/index.js";
import { XetBucketsError } from "../../src/errors.js";
import { fastRandom, textInput } from "../helpers/generators.js";

test("xetHashFiles on workers and on this thread equals xetHash (paths, file: URLs, bytes)", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "xb-hashfiles-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const M = 1024 * 1024;
  const runs = fastRandom(9 * M + 5, 4);
  runs.fill(7, 2 * M + 3, 6 * M);
  const datas = [new Uint8Array(0), new Uint8Array([1]), fastRandom(8191, 1), fastRandom(13 * M + 7, 2), textInput(5 * M), new Uint8Array(3 * M), runs];
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
  for (let i = 0; i < 150; i++) datas.push(i % 50 === 7 ? fastRandom(6 * M + i, 300 + i) : i % 3 === 0 ? textInput(sizes[i % sizes.length]!) : fastRandom(sizes[i % sizes.length]!, 100 + i));
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
  writeFileSync(ok, fastRandom(70_000, 9));
  await assert.rejects(xetHashFiles([ok, join(dir, "missing.bin")], { workers: 2 }), (e: unknown) => e instanceof XetBucketsError && e.code === "FILE_NOT_FOUND");
  await assert.rejects(xetHashFiles([ok, dir], { workers: 2 }), (e: unknown) => e instanceof XetBucketsError);
  const pool = await acquireWorkerPool(1);
  t.after(() => pool.release());
  await assert.rejects(pool.hashFiles([ok], [69_999]), (e: unknown) => e instanceof XetBucketsError && e.code === "SOURCE_CHANGED");
  await assert.rejects(pool.hashFiles([join(dir, "missing.bin")], [1]), (e: unknown) => e instanceof XetBucketsError && e.code === "SOURCE_CHANGED");
  const [good] = await pool.hashFiles([ok], [70_000]);
  assert.equal(rawToHex(good!.hash), await xetHash(fastRandom(70_000, 9)));
  assert.equal(good!.size, 70_000);
});
