/**
 * The pure parts of the download path: reconstruction answers (v1 and v2), multipart/byteranges bodies,
 * and the limiter that bounds concurrent fetches and buffered bytes.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ProtocolError } from "../../src/errors.js";
import { DownloadLimiter, parseMultipart, parseReconstruction } from "../../src/xet/fetch-plan.js";

const H1 = "a".repeat(64);
const H2 = "B".repeat(64);

describe("parseReconstruction", () => {
  it("reads a v2 answer: terms, fetch entries with several ranges (bytes inclusive)", () => {
    const r = parseReconstruction(
      {
        offset_into_first_range: 7,
        terms: [
          { hash: H1, unpacked_length: 100, range: { start: 0, end: 2 } },
          { hash: H2, unpacked_length: 50, range: { start: 3, end: 4 } },
        ],
        xorbs: {
          [H1]: [{ url: "http://x/a", ranges: [{ chunks: { start: 0, end: 2 }, bytes: { start: 0, end: 99 } }] }],
          [H2]: [
            {
              url: "http://x/b",
              ranges: [
                { chunks: { start: 0, end: 1 }, bytes: { start: 0, end: 9 } },
                { chunks: { start: 3, end: 4 }, bytes: { start: 30, end: 39 } },
              ],
            },
          ],
        },
      },
      "v2",
    );
    assert.equal(r.offset, 7);
    assert.deepEqual(r.terms[1], { xorb: "b".repeat(64), start: 3, end: 4, unpacked: 50 });
    assert.equal(r.entries.length, 2);
    assert.deepEqual(r.entries[1]!.ranges[1], { start: 3, end: 4, byteStart: 30, byteEnd: 39 });
    assert.equal(r.entries[1]!.xorb, "b".repeat(64), "xorb keys are lower-cased like term hashes");
  });

  it("reads a v1 answer (fetch_info, url_range) as one range per entry", () => {
    const r = parseReconstruction(
      {
        terms: [{ hash: H1, unpacked_length: 10, range: { start: 1, end: 6 } }],
        fetch_info: { [H1]: [{ range: { start: 1, end: 6 }, url: "http://x/a", url_range: { start: 9, end: 18762 } }] },
      },
      "v1",
    );
    assert.equal(r.offset, 0, "a missing offset_into_first_range means 0");
    assert.deepEqual(r.entries, [{ xorb: H1, url: "http://x/a", ranges: [{ start: 1, end: 6, byteStart: 9, byteEnd: 18762 }] }]);
  });

  it("accepts the empty file's answer", () => {
    assert.deepEqual(parseReconstruction({ offset_into_first_range: 0, terms: [], xorbs: {} }, "v2"), { offset: 0, terms: [], entries: [] });
  });

  it("rejects malformed answers with ProtocolError", () => {
    const bads: unknown[] = [
      null,
      { terms: "x", xorbs: {} },
      { terms: [{ hash: H1, unpacked_length: -1, range: { start: 0, end: 1 } }], xorbs: {} },
      { terms: [{ hash: H1, unpacked_length: 1, range: { start: 2, end: 2 } }], xorbs: {} },
      { terms: [], xorbs: { [H1]: [{ url: "u", ranges: [{ chunks: { start: 0, end: 1 }, bytes: { start: 5, end: 4 } }] }] } },
      { terms: [] },
      { offset_into_first_range: 1.5, terms: [], xorbs: {} },
    ];
    for (const b of bads) assert.throws(() => parseReconstruction(b, "v2"), ProtocolError, JSON.stringify(b));
    assert.throws(() => parseReconstruction({ terms: [], fetch_info: { [H1]: [{ url: "u" }] } }, "v1"), ProtocolError);
  });
});

function multipart(boundary: string, parts: { start: number; data: Uint8Array; total: number }[], preamble = ""): Uint8Array {
  const enc = new TextEncoder();
  const chunks: Uint8Array[] = [enc.encode(preamble)];
  for (const p of parts) {
    chunks.push(
      enc.encode(
        `\r\n--${boundary}\r\nContent-Type: application/octet-stream\r\nContent-Range: bytes ${p.start}-${p.start + p.data.length - 1}/${p.total}\r\n\r\n`,
      ),
      p.data,
    );
  }
  chunks.push(enc.encode(`\r\n--${boundary}--\r\n`));
  const out = new Uint8Array(chunks.reduce((s, c) => s + c.length, 0));
  let off = 0;
  for (const c of chunks) {
    out.set(c, off);
    off += c.length;
  }
  return out;
}

describe("parseMultipart", () => {
  it("splits parts by their Content-Range lengths, even when the data contains the boundary", () => {
    const boundary = "XYZ";
    const tricky = new TextEncoder().encode("--XYZ\r\n\r\n binary \r\n--XYZ--");
    const other = new Uint8Array([0, 1, 2, 255]);
    const body = multipart(boundary, [
      { start: 10, data: tricky, total: 1000 },
      { start: 500, data: other, total: 1000 },
    ], "preamble to ignore");
    const parts = parseMultipart(body, boundary);
    assert.equal(parts.length, 2);
    assert.deepEqual([parts[0]!.start, parts[0]!.end], [10, 10 + tricky.length - 1]);
    assert.deepEqual(parts[0]!.data, tricky);
    assert.deepEqual([...parts[1]!.data], [0, 1, 2, 255]);
  });

  it("rejects bodies without a closing boundary, without Content-Range, or shorter than announced", () => {
    const enc = new TextEncoder();
    assert.throws(() => parseMultipart(enc.encode("--B\r\nContent-Range: bytes 0-3/4\r\n\r\nabcd"), "B"), ProtocolError);
    assert.throws(() => parseMultipart(enc.encode("--B\r\nX: y\r\n\r\nabcd\r\n--B--"), "B"), ProtocolError);
    assert.throws(() => parseMultipart(enc.encode("--B\r\nContent-Range: bytes 0-9/10\r\n\r\nabcd"), "B"), ProtocolError);
  });
});

describe("DownloadLimiter", () => {
  it("makes reservations over the budget wait; the one the reader waits for goes at once, uncounted", async () => {
    const lim = new DownloadLimiter({ maxBufferedBytes: 100, maxRangeFetches: 2 });
    const signal = new AbortController().signal;
    assert.equal(await lim.reserve(80, () => false, signal), 80);
    let second = false;
    const p = lim.reserve(50, () => false, signal).then(() => (second = true));
    await new Promise((r) => setTimeout(r, 10));
    assert.equal(second, false, "80 + 50 > 100: waits");
    assert.equal(await lim.reserve(500, () => true, signal), 0, "the head always goes, outside the budget");
    assert.equal(lim.reservedBytes, 80);
    lim.release(80);
    await p;
    assert.equal(second, true);
    assert.equal(lim.reservedBytes, 50);
  });

  it("bounds concurrent fetch slots and wakes waiters on release", async () => {
    const lim = new DownloadLimiter({ maxRangeFetches: 2 });
    const signal = new AbortController().signal;
    await lim.acquireSlot(signal);
    await lim.acquireSlot(signal);
    let third = false;
    const p = lim.acquireSlot(signal).then(() => (third = true));
    await new Promise((r) => setTimeout(r, 10));
    assert.equal(third, false);
    lim.releaseSlot();
    await p;
    assert.equal(lim.activeFetches, 2);
  });

  it("rejects a waiting reservation when its signal aborts", async () => {
    const lim = new DownloadLimiter({ maxBufferedBytes: 10 });
    const ctl = new AbortController();
    await lim.reserve(10, () => false, ctl.signal);
    const p = lim.reserve(5, () => false, ctl.signal);
    ctl.abort(new Error("stop"));
    await assert.rejects(p, /stop/);
    assert.equal(lim.reservedBytes, 10);
  });
});
