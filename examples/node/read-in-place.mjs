#!/usr/bin/env node
// Tables read straight from a bucket, fetching only what is read: two columns of a 66 MiB Parquet file (the footer
// and those columns' chunks: a few % of the file), then a CSV parsed row by row while it streams in. Prints the
// bytes fetched against the file sizes, counted by a `fetch` wrapper (examples/in-place/read.mjs).
//
//   node examples/node/read-in-place.mjs                       # against an embedded local hub (offline)
//   HF_ENDPOINT=https://huggingface.co HF_TOKEN=hf_... BUCKET=you/tables node examples/node/read-in-place.mjs
//
// Options (environment): BUCKET (ns/name, default demo/tables), ROWS (Parquet rows, default 200000 ≈ 66 MiB).
// Needs hyparquet and hyparquet-writer (npm install hyparquet hyparquet-writer).
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { createBucket, downloadFile, uploadFiles } from "xet-buckets";
import { countingFetch, csvRows, readParquetColumns } from "../in-place/read.mjs";
import { sampleCsv, sampleParquet } from "../in-place/sample-data.mjs";

const fmt = (n) => (n >= 1 << 20 ? `${(n / (1 << 20)).toFixed(1)} MiB` : n >= 1024 ? `${(n / 1024).toFixed(1)} KiB` : `${n} B`);

/**
 * Reads `columns` of the Parquet file at `path` in `repo` through a counting `fetch`: the rows, the file's size
 * and row groups, and the response bytes and requests it took.
 */
export async function readParquetInPlace({ repo, path, columns, ...opts }) {
  const counter = countingFetch(opts.fetch);
  const blob = await downloadFile({ repo, path, ...opts, fetch: counter.fetch });
  const { rows, metadata } = await readParquetColumns(blob, columns);
  return { size: blob.size, rowGroups: metadata.row_groups.length, rows, fetchedBytes: counter.bytes, requests: counter.requests };
}

/**
 * Every row of the CSV file at `path` in `repo`, parsed while it streams in, through a counting `fetch` (the CAS
 * sends chunks compressed, so text costs fewer bytes than its size).
 */
export async function readCsvInPlace({ repo, path, ...opts }) {
  const counter = countingFetch(opts.fetch);
  const blob = await downloadFile({ repo, path, ...opts, fetch: counter.fetch });
  const rows = [];
  for await (const row of csvRows(blob)) rows.push(row);
  return { size: blob.size, rows, fetchedBytes: counter.bytes, requests: counter.requests };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  let hub;
  let hubUrl = process.env.HF_ENDPOINT;
  let accessToken = process.env.HF_TOKEN;
  if (!hubUrl) {
    // The local hub is the package xet-buckets-hub (npm install xet-buckets-hub); in this repository, its build.
    const { startLocalHub } = await import("xet-buckets-hub").catch((err) =>
      err.code === "ERR_MODULE_NOT_FOUND" ? import("../../dist/server/index.js") : Promise.reject(err),
    );
    accessToken = "hf_demo_local_token";
    hub = await startLocalHub({ users: [{ name: "demo", token: accessToken }] });
    hubUrl = hub.url;
    console.log(`Local hub listening on ${hubUrl}`);
  }
  try {
    const bucket = process.env.BUCKET ?? "demo/tables";
    const opts = { hubUrl, accessToken };
    await createBucket(bucket, { ...opts, existOk: true, private: true });
    const t0 = Date.now();
    const parquetFile = sampleParquet({ rows: Number(process.env.ROWS ?? 200_000) });
    const csvFile = sampleCsv();
    const up = await uploadFiles({
      repo: `buckets/${bucket}`,
      files: [
        { path: "tables/docs.parquet", content: parquetFile.bytes },
        { path: "tables/readings.csv", content: csvFile.bytes },
      ],
      ...opts,
    });
    console.log(
      `Uploaded tables/docs.parquet (${fmt(parquetFile.bytes.length)}) and tables/readings.csv (${fmt(csvFile.bytes.length)}) to hf://buckets/${bucket} in ${Date.now() - t0} ms (sent ${fmt(up.bytesSent)})\n`,
    );

    const repo = `buckets/${bucket}`;
    const parquet = await readParquetInPlace({ repo, path: "tables/docs.parquet", columns: ["id", "score"], ...opts });
    const csv = await readCsvInPlace({ repo, path: "tables/readings.csv", ...opts });
    const mean = parquet.rows.reduce((s, r) => s + r.score, 0) / parquet.rows.length;
    console.log(
      `docs.parquet: read columns id, score of ${parquet.rows.length} rows (${parquet.rowGroups} row groups); mean score ${mean.toFixed(4)}`,
    );
    console.log(
      `  fetched ${fmt(parquet.fetchedBytes)} of ${fmt(parquet.size)} (${((100 * parquet.fetchedBytes) / parquet.size).toFixed(1)} %) in ${parquet.requests} requests`,
    );
    const warm = csv.rows.slice(1).filter((r) => Number(r[2]) > 30).length;
    console.log(
      `readings.csv: ${csv.rows.length - 1} rows parsed as they streamed in, ${warm} above 30 °C; header ${csv.rows[0].join(",")}`,
    );
    console.log(`  fetched ${fmt(csv.fetchedBytes)} for ${fmt(csv.size)} of text (chunks travel compressed) in ${csv.requests} requests`);
  } finally {
    await hub?.close();
  }
}
