// Reading tables straight from a bucket, without downloading them: the lazy `Blob` that `downloadFile` returns
// fetches only the byte ranges that are read from it (`blob.slice(a, b).arrayBuffer()`), so a Parquet reader that
// takes ranged reads fetches the footer and the column chunks it needs, and a CSV is parsed row by row while it
// streams in (`blob.stream()`). The JavaScript counterpart of `pd.read_parquet("hf://buckets/…")` and fsspec.
//
// Runs in Node and in browsers (no Node module): examples/node/read-in-place.mjs and examples/browser/read.html
// use it. The Parquet reader is hyparquet (npm install hyparquet).
//
//   const counter = countingFetch();
//   const blob = await downloadFile({ repo: "buckets/ns/tables", path: "docs.parquet", fetch: counter.fetch, ...opts });
//   const { rows } = await readParquetColumns(blob, ["id", "score"]);
//   console.log(`${rows.length} rows; fetched ${counter.bytes} of ${blob.size} bytes`);
//   for await (const row of csvRows(csvBlob)) …
import { parquetMetadataAsync, parquetReadObjects } from "hyparquet";

/**
 * A `fetch` that counts the response bytes the server sends, and the requests. Pass `counter.fetch` as the `fetch`
 * option of a call. A response's `Content-Length` counts in full (even if its body is not all read: it was sent);
 * a body without one counts as it is read.
 */
export function countingFetch(inner = globalThis.fetch.bind(globalThis)) {
  const counter = {
    bytes: 0,
    requests: 0,
    async fetch(input, init) {
      const res = await inner(input, init);
      counter.requests++;
      const length = res.headers.get("content-length");
      if ((init?.method ?? "GET").toUpperCase() === "HEAD" || !res.body) return res;
      if (length !== null) {
        counter.bytes += Number(length);
        return res;
      }
      const counted = res.body.pipeThrough(
        new TransformStream({
          transform(chunk, controller) {
            counter.bytes += chunk.byteLength;
            controller.enqueue(chunk);
          },
        }),
      );
      return new Response(counted, { status: res.status, statusText: res.statusText, headers: res.headers });
    },
  };
  return counter;
}

/**
 * hyparquet's `AsyncBuffer` over a `Blob`: each `slice` is a ranged read of the blob, which for a bucket file's
 * lazy Blob fetches only that range.
 */
export function blobAsyncBuffer(blob) {
  return { byteLength: blob.size, slice: (start, end) => blob.slice(start, end ?? blob.size).arrayBuffer() };
}

/**
 * Reads `columns` of a Parquet file (a `Blob`, e.g. from `downloadFile`) as row objects, fetching the footer
 * (its last 64 KiB first, more if the metadata is larger) and the chunks of those columns only. `rowStart` /
 * `rowEnd` limit the rows (and so the row groups read).
 */
export async function readParquetColumns(blob, columns, { rowStart, rowEnd } = {}) {
  const file = blobAsyncBuffer(blob);
  const metadata = await parquetMetadataAsync(file, { initialFetchSize: 64 * 1024 });
  const rows = await parquetReadObjects({ file, metadata, columns, rowStart, rowEnd });
  return { rows, metadata };
}

/**
 * The rows of a CSV file (a `Blob`, e.g. from `downloadFile`) as arrays of strings, parsed while the file streams
 * in: RFC 4180 quoting (`"a,b"`, `""` for a quote, line breaks inside quotes), `\n` or `\r\n` line ends. Stopping
 * the loop early cancels the stream, so the rest of the file is not fetched.
 */
export async function* csvRows(blob) {
  const reader = blob.stream().pipeThrough(new TextDecoderStream()).getReader();
  let row = [];
  let field = "";
  let quoted = false; // inside a quoted field
  let afterQuote = false; // a quote seen inside a quoted field: the end of the field, or the first of a doubled quote
  let pending = false; // row or field has content not yet yielded
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      const rows = [];
      for (let i = 0; i < value.length; i++) {
        const c = value[i];
        if (quoted) {
          if (afterQuote) {
            afterQuote = false;
            if (c === '"') {
              field += '"';
              continue;
            }
            quoted = false; // the closing quote: c is read as outside a quoted field below
          } else {
            if (c === '"') afterQuote = true;
            else field += c;
            continue;
          }
        }
        if (c === '"' && field === "") {
          quoted = true;
          pending = true;
        } else if (c === ",") {
          row.push(field);
          field = "";
          pending = true;
        } else if (c === "\n") {
          row.push(field.endsWith("\r") ? field.slice(0, -1) : field);
          rows.push(row);
          row = [];
          field = "";
          pending = false;
        } else {
          field += c;
          pending = true;
        }
      }
      yield* rows;
    }
    if (afterQuote) quoted = false;
    if (quoted) throw new Error("CSV: the file ends inside a quoted field");
    if (pending) {
      row.push(field);
      yield row;
    }
  } finally {
    await reader.cancel().catch(() => undefined);
  }
}
