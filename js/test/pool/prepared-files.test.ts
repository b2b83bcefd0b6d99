/**
 * The chunking pool and PreparedFiles: files cut into segments prepared on workers (and on this thread) give
 * exactly the chunks of one sequential pass (boundaries, hashes, records that decode to the chunk bytes),
 * for every source kind, segment geometry and kind of data (random, constant runs that defeat seam
 * convergence, text), with jobs of several files in flight at once.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { appendFileSync, mkdtempSync, rmSync, truncateSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { compressionCode, decodeChunkRecords, FileHashBuilder, HASHES_ONLY, initCore, XetHasher } from "../../src/core/index.js";
import { acquireWorkerPool, InlinePreparer, type SegmentPreparer } from "../../src/pool/pool.js";
import { PreparedFiles } from "../../src/xet/prepared-files.js";
import type { UploadItem } from "../../src/xet/upload-sources.js";
import { seededBytes } from "../helpers/data.mjs";
import { hex, textInput } from "../helpers/vectors.js";

const K = 1024;
const M = 1024 * K;

/** Reference: the file hash and chunk count of one sequential pass (XetHasher). */
function reference(data: Uint8Array): string {
  const h = new XetHasher();
  h.update(data);
  return h.finish();
}

interface Collected {
  hash: string;
  size: number;
  chunks: number;
}

/** Runs PreparedFiles over `items`, checks every chunk's record against its bytes, returns per-file hashes. */
async function collect(
  items: UploadItem[],
  datas: Uint8Array[],
  preparer: SegmentPreparer,
  geometry: { seg: number; pre: number; over: number; max: number },
  compression = compressionCode("best"),
  rawByReference = false,
) {
  const ctl = new AbortController();
  const pf = new PreparedFiles(items, {
    preparer,
    compression,
    rawByReference: () => rawByReference,
    segmentBytes: geometry.seg,
    prerollBytes: geometry.pre,
    overlapBytes: geometry.over,
    maxSegments: geometry.max,
    inlineBelow: 0,
    signal: ctl.signal,
  });
  const out: Collected[] = [];
  let fh: FileHashBuilder | undefined;
  let chunks = 0;
  let pos = 0;
  let leftOut = 0;
  for await (const ev of pf) {
    if (ev.type === "start") {
      fh = new FileHashBuilder();
      chunks = 0;
      pos = 0;
    } else if (ev.type === "chunks") {
      const seg = ev.segment;
      const data = datas[ev.file]!;
      let roff = seg.recordOffset(ev.from);
      for (let i = ev.from; i < ev.to; i++) {
        const start: number = ev.base + seg.chunkStart(i);
        const end = ev.base + seg.ends[i]!;
        assert.equal(start, pos, `file ${ev.file}: chunk ${i} starts where the previous ended`);
        if (compression !== HASHES_ONLY) {
          const stored = seg.storedLength(i, roff);
          let rec = seg.records.subarray(roff, roff + stored);
          if (stored !== seg.recordLengths[i]) {
            // A raw record left out: its header, whose payload is the chunk itself.
            assert.ok(rawByReference && seg.rawLeftOut, `file ${ev.file}: chunk ${i}'s record is whole`);
            assert.equal(rec[4], 0, "only records stored raw leave their payload out");
            rec = Buffer.concat([rec, data.subarray(start, end)]);
            leftOut += end - start;
          }
          const d = decodeChunkRecords(rec);
          assert.equal(hex(d.hashes), hex(seg.hashes.subarray(32 * i, 32 * i + 32)));
          assert.ok(Buffer.from(d.data).equals(Buffer.from(data.subarray(start, end))), `file ${ev.file}: record of chunk ${i}`);
          roff += stored;
        }
        pos = end;
      }
      const lengths = new Uint32Array(ev.to - ev.from);
      for (let i = ev.from; i < ev.to; i++) lengths[i - ev.from] = seg.ends[i]! - seg.chunkStart(i);
      fh!.addChunks(seg.hashes.subarray(32 * ev.from, 32 * ev.to), lengths);
      chunks += ev.to - ev.from;
    } else {
      assert.equal(ev.size, pos);
      out.push({ hash: fh!.finish(), size: ev.size, chunks });
    }
  }
  return { files: out, stats: pf.stats, leftOut };
}

function withRuns(n: number, seed: number): Uint8Array {
  // Random data with long constant runs at odd offsets (no chain convergence inside them) and text.
  const d = seededBytes(n, seed);
  d.fill(0, 1_000_003, 1_000_003 + 3 * M);
  d.fill(0x55, 5 * M + 7, 5 * M + 7 + 700 * K);
  const t = textInput(2 * M);
  d.set(t, 7 * M + 1);
  return d;
}

test("segments prepared on workers and on this thread equal one sequential pass", async (t) => {
  await initCore();
  const pool = await acquireWorkerPool(2);
  t.after(() => pool.release());
  const dir = mkdtempSync(join(tmpdir(), "xb-prepared-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const datas = [seededBytes(11 * M + 12345, 1), withRuns(10 * M, 2), new Uint8Array(0), seededBytes(100, 3), textInput(3 * M + 1)];
  const paths = datas.map((d, i) => {
    const p = join(dir, `f${i}`);
    writeFileSync(p, d);
    return p;
  });
  const expected = datas.map(reference);
  const kinds: [string, (i: number) => UploadItem][] = [
    ["local path", (i) => ({ path: `f${i}`, source: paths[i]!, size: datas[i]!.length, local: true })],
    ["bytes", (i) => ({ path: `f${i}`, source: datas[i]!, size: datas[i]!.length })],
    [
      "stream of odd pieces",
      (i) => ({
        path: `f${i}`,
        source: (async function* () {
          const d = datas[i]!;
          for (let o = 0; o < d.length; o += 333_333) yield d.slice(o, o + 333_333);
        })(),
      }),
    ],
  ];
  const geometries = [
    { seg: 2 * M, pre: 256 * K, over: 256 * K, max: 3 },
    { seg: 1 * M + 7, pre: 0, over: 131072, max: 4 },
    { seg: 300 * K, pre: 131072, over: 140 * K, max: 5 },
  ];
  let reruns = 0;
  for (const [kind, make] of kinds) {
    for (const g of geometries) {
      for (const [name, preparer] of [
        ["pool", pool],
        ["inline", new InlinePreparer()],
      ] as const) {
        const items = datas.map((_, i) => make(i));
        const { files, stats } = await collect(items, datas, preparer, g);
        reruns += stats.reruns;
        assert.deepEqual(
          files.map((f) => [f.hash, f.size]),
          expected.map((h, i) => [h, datas[i]!.length]),
          `${kind}, ${name}, ${JSON.stringify(g)} (${JSON.stringify(stats)})`,
        );
      }
    }
  }
  // The constant runs of the second file defeat seam convergence: second passes happened (and still
  // gave the sequential chunks).
  assert.ok(reruns > 0);
});

test("hashes only: the same chunks without records", async (t) => {
  await initCore();
  const pool = await acquireWorkerPool(2);
  t.after(() => pool.release());
  const datas = [withRuns(10 * M, 9)];
  const items = [{ path: "a", source: datas[0]!, size: datas[0]!.length }];
  const { files } = await collect(items, datas, pool, { seg: 1 * M, pre: 256 * K, over: 256 * K, max: 4 }, HASHES_ONLY);
  assert.equal(files[0]!.hash, reference(datas[0]!));
});

test("raw payloads by reference: records of chunks stored raw are their header alone, on workers and on this thread", async (t) => {
  await initCore();
  const pool = await acquireWorkerPool(2);
  t.after(() => pool.release());
  const dir = mkdtempSync(join(tmpdir(), "xet-prep-raw-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  // Random bytes (stored raw) with text (compressed) in the middle.
  const datas = [withRuns(10 * M, 11), seededBytes(300 * K, 12)];
  const items = datas.map((d, i) => {
    writeFileSync(join(dir, `f${i}`), d);
    return { path: `f${i}`, source: join(dir, `f${i}`), size: d.length, local: true };
  });
  for (const preparer of [pool, new InlinePreparer()]) {
    const g = { seg: 1 * M, pre: 256 * K, over: 256 * K, max: 4 };
    const lean = await collect(items, datas, preparer, g, compressionCode("auto"), true);
    const full = await collect(items, datas, preparer, g, compressionCode("auto"), false);
    assert.deepEqual(lean.files, full.files);
    datas.forEach((d, i) => assert.equal(lean.files[i]!.hash, reference(d)));
    assert.equal(full.leftOut, 0);
    // The random bytes (≈ 4.3 MiB of the first file, all of the second) are stored raw: left out of the records.
    assert.ok(lean.leftOut > 4 * M && lean.leftOut < 4.8 * M, `${lean.leftOut} bytes left out`);
  }
});

test("a failing source rejects; an abort stops the producer", async (t) => {
  await initCore();
  const pool = await acquireWorkerPool(2);
  t.after(() => pool.release());
  const geometry = { segmentBytes: 1 * M, prerollBytes: 256 * K, overlapBytes: 256 * K, maxSegments: 3 };
  const bad: UploadItem = {
    path: "bad",
    source: (async function* () {
      yield seededBytes(3 * M, 5);
      throw new Error("disk on fire");
    })(),
  };
  const ctl = new AbortController();
  const pf = new PreparedFiles([bad], { preparer: pool, compression: 3, signal: ctl.signal, ...geometry });
  await assert.rejects(
    (async () => {
      for await (const _ of pf);
    })(),
    /disk on fire/,
  );
  const ctl2 = new AbortController();
  const big = { path: "big", source: seededBytes(20 * M, 6), size: 20 * M };
  const pf2 = new PreparedFiles([big], { preparer: pool, compression: 3, signal: ctl2.signal, ...geometry });
  let seen = 0;
  await assert.rejects(
    (async () => {
      for await (const ev of pf2) {
        if (ev.type === "chunks" && ++seen === 2) ctl2.abort(new Error("stop"));
      }
    })(),
    /stop/,
  );
  assert.ok(pf2.stats.jobs < 20, `the producer stopped (${pf2.stats.jobs} jobs)`);
});

test("a local file that shrinks or grows while it is read fails with SOURCE_CHANGED", async (t) => {
  await initCore();
  const pool = await acquireWorkerPool(2);
  t.after(() => pool.release());
  const dir = mkdtempSync(join(tmpdir(), "xb-changed-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const geometry = { segmentBytes: 1 * M, prerollBytes: 256 * K, overlapBytes: 256 * K, maxSegments: 1, inlineBelow: 0 };
  for (const change of ["shrink", "grow"] as const) {
    const path = join(dir, change);
    writeFileSync(path, seededBytes(12 * M, 8));
    const pf = new PreparedFiles([{ path: change, source: path, size: 12 * M, local: true }], {
      preparer: pool,
      compression: 3,
      signal: new AbortController().signal,
      ...geometry,
    });
    await assert.rejects(
      (async () => {
        let n = 0;
        for await (const ev of pf) {
          if (ev.type === "chunks" && ++n === 1) {
            if (change === "shrink") truncateSync(path, 3 * M);
            else appendFileSync(path, new Uint8Array(100));
          }
        }
      })(),
      (e: unknown) => (e as { code?: string }).code === "SOURCE_CHANGED",
      change,
    );
  }
});

test("jobs in flight are bounded by bytes: small local files go out many at once, segments maxSegments at a time", async (t) => {
  await initCore();
  const pool = await acquireWorkerPool(2);
  t.after(() => pool.release());
  const dir = mkdtempSync(join(tmpdir(), "xb-inflight-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  let bytes = 0;
  let jobs = 0;
  let maxBytes = 0;
  let maxJobs = 0;
  /** The workers (reading the files), answering a little later, counting what is in flight. */
  const slow: SegmentPreparer = {
    width: pool.width,
    readsFiles: true,
    readsBlobs: false,
    async prepare(job) {
      bytes += job.length;
      jobs++;
      maxBytes = Math.max(maxBytes, bytes);
      maxJobs = Math.max(maxJobs, jobs);
      try {
        const out = await pool.prepare(job);
        await new Promise((r) => setTimeout(r, 2));
        return out;
      } finally {
        bytes -= job.length;
        jobs--;
      }
    },
    recycle: (b) => pool.recycle(b),
    release: () => undefined,
  };
  const geometry = { seg: 1 * M, pre: 256 * K, over: 256 * K, max: 2 };
  const jobBytes = geometry.seg + geometry.pre + geometry.over;
  const local = (datas: Uint8Array[], name: string) =>
    datas.map((d, i) => {
      const path = join(dir, `${name}${i}`);
      writeFileSync(path, d);
      return { path: `${name}${i}`, source: path, size: d.length, local: true };
    });
  const smalls = Array.from({ length: 64 }, (_, i) => seededBytes(16 * K + i, 100 + i));
  const { files } = await collect(local(smalls, "s"), smalls, slow, geometry);
  assert.deepEqual(
    files.map((f) => f.hash),
    smalls.map(reference),
  );
  assert.ok(maxJobs > 2 * geometry.max, `small files in flight at once: ${maxJobs}`);
  assert.ok(maxBytes <= geometry.max * jobBytes, `${maxBytes} bytes in flight`);

  maxBytes = maxJobs = 0;
  const bigs = [seededBytes(5 * M, 7), seededBytes(3 * M + 5, 8)];
  const big = await collect(local(bigs, "b"), bigs, slow, geometry);
  assert.deepEqual(
    big.files.map((f) => f.hash),
    bigs.map(reference),
  );
  assert.ok(maxJobs <= geometry.max, `segments in flight at once: ${maxJobs}`);
  assert.ok(maxBytes <= geometry.max * jobBytes, `${maxBytes} bytes in flight`);

  // Sources in memory are copied into job buffers: at most maxSegments of those, small or not.
  maxBytes = maxJobs = 0;
  const mem = await collect(
    smalls.map((d, i) => ({ path: `m${i}`, source: d, size: d.length })),
    smalls,
    slow,
    geometry,
  );
  assert.deepEqual(
    mem.files.map((f) => f.hash),
    smalls.map(reference),
  );
  assert.ok(maxJobs <= geometry.max, `buffered jobs in flight at once: ${maxJobs}`);
});
