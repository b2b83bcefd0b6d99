/**
 * Reading tables in place (examples/node/read-in-place.mjs, examples/in-place/): two columns of a ≥ 64 MiB Parquet
 * file in a bucket, read with hyparquet over the lazy Blob of `downloadFile`, fetch ≤ 10 % of the file; a CSV is
 * parsed row by row as it streams. The example runs against the built package (dist/) and a local hub behind a
 * proxy that counts every response byte the hub sends, which is checked against the example's own count (a
 * `fetch` wrapper).
 */
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { uploadFiles } from "../../src/api/upload.js";
import { createBucket } from "../../src/api/buckets.js";
import { downloadFile } from "../../src/api/download.js";
import { countAnswerBytes, startFaultProxy, type FaultProxy } from "../helpers/faults.js";
import { ROOT } from "../helpers/files.js";
import { startTestHub, type TestHub } from "../helpers/hub.js";
import { runProcess } from "../helpers/processes.js";
import { readCsvInPlace, readParquetInPlace } from "../../../examples/node/read-in-place.mjs";
import { readParquetColumns } from "../../../examples/in-place/read.mjs";
import { sampleCsv, sampleParquet } from "../../../examples/in-place/sample-data.mjs";
import { parquetMetadata } from "hyparquet";

const MiB = 2 ** 20;
const REPO = "buckets/alice/tables";

let hub: TestHub;
let proxy: FaultProxy;
/** Response body bytes the hub sent through the proxy. */
let served: { readonly bytes: number };
let parquet: { bytes: Uint8Array; id: Int32Array; score: Float64Array };
let csv: { bytes: Uint8Array; rows: string[][] };

before(async () => {
  if (!existsSync(join(ROOT, "dist", "index.js"))) throw new Error("dist/ is not built: run `npm run build`");
  hub = await startTestHub();
  proxy = await startFaultProxy(hub.url);
  served = countAnswerBytes(proxy);
  const opts = { hubUrl: hub.url, accessToken: hub.users.alice.token };
  await createBucket("alice/tables", { ...opts, existOk: true });
  const t0 = Date.now();
  parquet = sampleParquet();
  csv = sampleCsv();
  const t1 = Date.now();
  await uploadFiles({
    repo: REPO,
    files: [
      { path: "docs.parquet", content: parquet.bytes },
      { path: "readings.csv", content: csv.bytes },
    ],
    ...opts,
  });
  process.stderr.write(
    `# sample tables: Parquet ${(parquet.bytes.length / MiB).toFixed(1)} MiB, CSV ${(csv.bytes.length / MiB).toFixed(1)} MiB; written in ${t1 - t0} ms, uploaded in ${Date.now() - t1} ms\n`,
  );
});

after(async () => {
  await proxy?.close();
  await hub?.close();
});

const viaProxy = () => ({ hubUrl: proxy.url, accessToken: hub.users.alice.token });

test("read in place: two columns of a ≥ 64 MiB Parquet file fetch ≤ 10 % of its bytes, and are the columns written", async () => {
  const meta = parquetMetadata(parquet.bytes.buffer as ArrayBuffer);
  assert.ok(parquet.bytes.length >= 64 * MiB, `the file has ${parquet.bytes.length} bytes`);
  assert.ok(meta.row_groups.length >= 4, `${meta.row_groups.length} row groups`);
  assert.equal(meta.schema.length - 1, 5, "five columns");

  const before = served.bytes;
  const r = await readParquetInPlace({ repo: REPO, path: "docs.parquet", columns: ["id", "score"], ...viaProxy() });
  const fetched = served.bytes - before;

  // What was read is what was written.
  assert.equal(r.size, parquet.bytes.length);
  assert.equal(r.rowGroups, meta.row_groups.length);
  assert.equal(r.rows.length, parquet.id.length);
  for (let i = 0; i < r.rows.length; i++) {
    const row = r.rows[i] as { id: number; score: number };
    if (row.id !== parquet.id[i] || row.score !== parquet.score[i]) assert.fail(`row ${i}: ${JSON.stringify(row)}`);
    assert.deepEqual(Object.keys(row), ["id", "score"]);
  }

  // Fetched ≤ 10 % of the file; the example counted what the hub sent. The two columns' chunks came (the CAS
  // sends chunks compressed, so they cost a little less than their size in the file).
  let chunks = 0;
  for (const g of meta.row_groups)
    for (const c of g.columns)
      if (["id", "score"].includes(c.meta_data!.path_in_schema[0]!)) chunks += Number(c.meta_data!.total_compressed_size);
  assert.ok(fetched >= chunks / 2, `fetched ${fetched} bytes for columns of ${chunks}`);
  assert.ok(fetched <= 0.1 * r.size, `fetched ${fetched} of ${r.size} bytes (${((100 * fetched) / r.size).toFixed(1)} %)`);
  assert.equal(r.fetchedBytes, fetched, "the example's count is the hub's");
  process.stderr.write(
    `# Parquet: 2 of 5 columns, ${r.rows.length} rows, ${r.rowGroups} row groups: fetched ${fetched} of ${r.size} bytes (${((100 * fetched) / r.size).toFixed(2)} %; the columns' chunks: ${chunks}) in ${r.requests} requests\n`,
  );
});

test("read in place: hyparquet asks the Blob only for the footer and the chunks of the columns read", async () => {
  const meta = parquetMetadata(parquet.bytes.buffer as ArrayBuffer);
  const blob = (await downloadFile({ repo: REPO, path: "docs.parquet", ...viaProxy() }))!;
  const asked: Array<[number, number]> = [];
  const recording = {
    size: blob.size,
    slice: (a: number, b: number) => {
      asked.push([a, b]);
      return blob.slice(a, b);
    },
  };
  const { rows } = await readParquetColumns(recording, ["score"], { rowStart: 60_000, rowEnd: 70_000 });
  assert.equal(rows.length, 10_000);
  assert.equal((rows[0] as { score: number }).score, parquet.score[60_000]);
  // Allowed: the footer's 64 KiB, and the score chunks of the row groups holding rows 60,000–69,999.
  const allowed: Array<[number, number]> = [[blob.size - 64 * 1024, blob.size]];
  let start = 0;
  for (const g of meta.row_groups) {
    const end = start + Number(g.num_rows);
    if (end > 60_000 && start < 70_000) {
      const c = g.columns.find((c) => c.meta_data!.path_in_schema[0] === "score")!.meta_data!;
      const off = Number(c.dictionary_page_offset ?? c.data_page_offset);
      allowed.push([off, off + Number(c.total_compressed_size)]);
    }
    start = end;
  }
  for (const [a, b] of asked)
    assert.ok(
      allowed.some(([x, y]) => a >= x && b <= y),
      `read [${a}, ${b}) is outside ${JSON.stringify(allowed)}`,
    );
  assert.ok(asked.length >= 2, JSON.stringify(asked));
});

test("read in place: a CSV is parsed row by row as it streams, quotes and line breaks in fields included", async () => {
  const before = served.bytes;
  const r = await readCsvInPlace({ repo: REPO, path: "readings.csv", ...viaProxy() });
  assert.equal(r.size, csv.bytes.length);
  assert.equal(r.rows.length, csv.rows.length);
  assert.deepEqual(r.rows, csv.rows);
  assert.ok(
    r.rows.some((row: string[]) => row[1] === 'The "Big" Apple') && r.rows.some((row: string[]) => row[3]!.includes("\n")),
    "quoted fields",
  );
  assert.equal(r.fetchedBytes, served.bytes - before, "the example's count is the hub's");
});

test("read in place: the example runs as written (small table) and prints what it fetched", async () => {
  const res = await runProcess(process.execPath, [join(ROOT, "examples", "node", "read-in-place.mjs")], {
    cwd: ROOT,
    env: { ...process.env, ROWS: "20000", HF_ENDPOINT: "", HF_TOKEN: "" },
    timeoutMs: 120_000,
  });
  assert.equal(res.code, 0, `${res.stdout}\n${res.stderr}`);
  assert.match(res.stdout, /docs\.parquet: read columns id, score of 20000 rows \(\d+ row groups\)/);
  assert.match(res.stdout, /fetched [\d.]+ (KiB|MiB) of [\d.]+ MiB \([\d.]+ %\) in \d+ requests/);
  assert.match(res.stdout, /readings\.csv: 100000 rows parsed as they streamed in/);
});
