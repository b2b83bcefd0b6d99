// Sample tables for the read-in-place example and its test, the same for a given seed: a Parquet file shaped like
// an ML text dataset (small metadata columns beside large text and embedding columns, several row groups) and a
// CSV with quoted fields. The Parquet writer is hyparquet-writer (npm install hyparquet-writer).
import { parquetWriteBuffer } from "hyparquet-writer";

/** A seeded PRNG (mulberry32): numbers in [0, 1). */
function prng(seed) {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) | 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

const WORDS = (
  "the of and to in is was for on that with as by at from his her an were which are this be also or had first one their " +
  "its new after who they have two model data train loss step layer token weight bucket chunk"
).split(" ");
const LANGS = ["en", "fr", "de", "es", "it", "pt", "nl", "pl"];

/**
 * A Parquet file of `rows` documents (default 200,000: ≈ 66 MiB) in row groups of `rowGroupRows` (default 25,000):
 * `id` (INT32), `score` (DOUBLE), `lang` (STRING, dictionary-encoded), `text` (STRING, 20–60 words) and
 * `embedding` (BYTE_ARRAY, 256 random bytes), Snappy-compressed. Returns the file and the `id` and `score`
 * columns it holds, to check what a reader returns.
 */
export function sampleParquet({ rows = 200_000, rowGroupRows = 25_000, seed = 1 } = {}) {
  const random = prng(seed);
  const id = new Int32Array(rows);
  const score = new Float64Array(rows);
  const lang = new Array(rows);
  const text = new Array(rows);
  const embedding = new Array(rows);
  for (let i = 0; i < rows; i++) {
    id[i] = i;
    score[i] = random();
    lang[i] = LANGS[(random() * LANGS.length) | 0];
    const words = new Array(20 + ((random() * 41) | 0));
    for (let w = 0; w < words.length; w++) words[w] = WORDS[(random() * WORDS.length) | 0];
    text[i] = words.join(" ");
    const e = new Uint8Array(256);
    const view = new DataView(e.buffer);
    for (let k = 0; k < 256; k += 4) view.setUint32(k, random() * 2 ** 32);
    embedding[i] = e;
  }
  const buffer = parquetWriteBuffer({
    columnData: [
      { name: "id", data: id, type: "INT32", nullable: false },
      { name: "score", data: score, type: "DOUBLE", nullable: false },
      { name: "lang", data: lang, type: "STRING" },
      { name: "text", data: text, type: "STRING" },
      { name: "embedding", data: embedding, type: "BYTE_ARRAY" },
    ],
    rowGroupSize: rowGroupRows,
  });
  return { bytes: new Uint8Array(buffer), id, score };
}

const CITIES = ["Paris", "Lyon, France", 'The "Big" Apple', "Zürich", "São Paulo", "Kraków"];

/**
 * A CSV of `rows` readings (default 100,000: ≈ 4 MiB) with a header `id,city,celsius,note`: some cities need
 * quotes (a comma, quotes), some notes span two lines. Returns the file and its rows as a parser should give them.
 */
export function sampleCsv({ rows = 100_000, seed = 2 } = {}) {
  const random = prng(seed);
  const quote = (s) => (/[",\r\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s);
  const table = [["id", "city", "celsius", "note"]];
  for (let i = 0; i < rows; i++) {
    const city = CITIES[(random() * CITIES.length) | 0];
    const celsius = (random() * 50 - 10).toFixed(1);
    const note = random() < 0.05 ? "sensor reset\nvalue estimated" : random() < 0.5 ? "" : `ok ${i}`;
    table.push([String(i), city, celsius, note]);
  }
  const text = table.map((r) => r.map(quote).join(",")).join("\r\n") + "\r\n";
  return { bytes: new TextEncoder().encode(text), rows: table };
}
