// The read-in-place page: columns of a Parquet file and the rows of a CSV read straight from a bucket with the lazy
// Blob of `downloadFile` (examples/in-place/read.mjs, shared with the Node example), and what it cost in bytes.
//
// Query string: ?hub=URL&token=hf_...&bucket=ns/name&parquet=path&columns=a,b&csv=path prefill the form.
import { downloadFile } from "xet-buckets";
import { countingFetch, csvRows, readParquetColumns } from "../in-place/read.mjs";

const $ = (id) => document.getElementById(id);
const query = new URLSearchParams(location.search);
for (const [id, fallback] of [
  ["hub", "https://huggingface.co"],
  ["token", ""],
  ["bucket", ""],
  ["columns", "id,score"],
  ["parquet", "tables/docs.parquet"],
  ["csv", "tables/readings.csv"],
])
  $(id).value = query.get(id) ?? fallback;

/** What the page exposes for scripted checks (js/test/browser/read-page.test.ts reads it). */
const state = (window.__xetRead = { state: "idle", parquet: undefined, csv: undefined, error: undefined });

const fmt = (n) => (n >= 1 << 20 ? `${(n / 2 ** 20).toFixed(1)} MiB` : n >= 1024 ? `${(n / 1024).toFixed(1)} KiB` : `${n} B`);
const PREVIEW = 10;

function setStatus(kind, text) {
  state.state = kind;
  $("status").dataset.state = kind;
  $("status").textContent = text;
  $("read").disabled = kind === "reading";
}

function fillTable(head, body, header, rows) {
  const tr = (cells, tag) => {
    const row = document.createElement("tr");
    for (const c of cells) row.append(Object.assign(document.createElement(tag), { textContent: String(c) }));
    return row;
  };
  $(head).replaceChildren(tr(header, "th"));
  $(body).replaceChildren(...rows.map((r) => tr(r, "td")));
}

async function read() {
  const opts = { hubUrl: $("hub").value.trim().replace(/\/+$/, ""), accessToken: $("token").value.trim() || undefined };
  const repo = `buckets/${$("bucket").value.trim()}`;
  setStatus("reading", "Reading…");
  try {
    if ($("parquet").value.trim()) {
      const columns = $("columns")
        .value.split(",")
        .map((c) => c.trim())
        .filter(Boolean);
      const counter = countingFetch();
      const blob = await downloadFile({ repo, path: $("parquet").value.trim(), ...opts, fetch: counter.fetch });
      if (!blob) throw new Error(`${$("parquet").value} is not in the bucket`);
      const { rows, metadata } = await readParquetColumns(blob, columns.length ? columns : undefined);
      const names = Object.keys(rows[0] ?? {});
      // Sums of the numeric columns: a check that every value arrived.
      const sums = Object.fromEntries(names.map((n) => [n, rows.reduce((s, r) => (typeof r[n] === "number" ? s + r[n] : s), 0)]));
      state.parquet = {
        size: blob.size,
        rowGroups: metadata.row_groups.length,
        rows: rows.length,
        columns: names,
        sums,
        fetchedBytes: counter.bytes,
      };
      $("parquet-summary").textContent =
        `${rows.length} rows of ${names.join(", ")} (${metadata.row_groups.length} row groups): fetched ${fmt(counter.bytes)} of ` +
        `${fmt(blob.size)} (${((100 * counter.bytes) / blob.size).toFixed(1)} %) in ${counter.requests} requests.`;
      fillTable(
        "parquet-head",
        "parquet-rows",
        names,
        rows.slice(0, PREVIEW).map((r) => names.map((n) => r[n])),
      );
      $("parquet-report").hidden = false;
    }
    if ($("csv").value.trim()) {
      const counter = countingFetch();
      const blob = await downloadFile({ repo, path: $("csv").value.trim(), ...opts, fetch: counter.fetch });
      if (!blob) throw new Error(`${$("csv").value} is not in the bucket`);
      let header;
      const preview = [];
      let rows = 0;
      // Row by row as the file streams in: only the preview is kept.
      for await (const row of csvRows(blob)) {
        if (!header) header = row;
        else if (rows++ < PREVIEW) preview.push(row);
      }
      state.csv = { size: blob.size, rows, header, preview, fetchedBytes: counter.bytes };
      $("csv-summary").textContent =
        `${rows} rows parsed as they streamed in: fetched ${fmt(counter.bytes)} for ${fmt(blob.size)} of text.`;
      fillTable("csv-head", "csv-rows", header ?? [], preview);
      $("csv-report").hidden = false;
    }
    setStatus("done", "Done.");
  } catch (err) {
    state.error = { name: err.name, code: err.code, message: err.message };
    setStatus("error", `Failed: ${err.message}`);
  }
}

$("read").addEventListener("click", read);
if (query.get("autorun") === "1") read();
