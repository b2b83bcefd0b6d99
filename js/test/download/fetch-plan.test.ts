/**
 * The pure parts of the download path: reconstruction answers (v1 and v2), multipart/byteranges bodies,
 * and the limiter that bounds concurrent fetches and buffered bytes.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ProtocolError } from "../../src/errors.js";
import { DownloadLimiter, MultipartParser, RangeRouter, parseMultipart, parseReconstruction } from "../../src/xet/fetch-plan.js";
import { concatBytes } from "../helpers/files.js";

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
    assert.deepEqual(parseReconstruction({ offset_into_first_range: 0, terms: [], xorbs: {} }, "v2"), {
      offset: 0,
      terms: [],
      entries: [],
    });
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
  return concatBytes(chunks);
}

describe("parseMultipart", () => {
  it("splits parts by their Content-Range lengths, even when the data contains the boundary", () => {
    const boundary = "XYZ";
    const tricky = new TextEncoder().encode("--XYZ\r\n\r\n binary \r\n--XYZ--");
    const other = new Uint8Array([0, 1, 2, 255]);
    const body = multipart(
      boundary,
      [
        { start: 10, data: tricky, total: 1000 },
        { start: 500, data: other, total: 1000 },
      ],
      "preamble to ignore",
    );
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

describe("MultipartParser (streaming)", () => {
  it("gives the same parts whatever the split of the body (one byte at a time, random pieces)", () => {
    const a = new Uint8Array(3000).map((_, i) => (i * 7) % 256);
    const b = new Uint8Array(10).fill(0x2d); // "----------"
    const body = multipart(
      "bnd",
      [
        { start: 0, data: a, total: 9999 },
        { start: 5000, data: b, total: 9999 },
      ],
      "pre",
    );
    const expected = parseMultipart(body, "bnd");
    for (const split of ["bytes", "random"] as const) {
      const got = new Map<number, number[]>();
      const p = new MultipartParser("bnd", (off, bytes) => {
        for (let i = 0; i < bytes.length; i++) got.set(off + i, [bytes[i]!]);
      });
      let seed = 17;
      for (let pos = 0; pos < body.length;) {
        seed = (seed * 1103515245 + 12345) & 0x7fffffff;
        const n = split === "bytes" ? 1 : 1 + (seed % 700);
        p.push(body.subarray(pos, pos + n));
        pos += n;
      }
      p.end();
      assert.equal(got.size, a.length + b.length, split);
      for (const part of expected) for (let i = 0; i < part.data.length; i++) assert.equal(got.get(part.start + i)![0], part.data[i]);
    }
  });

  it("end() rejects a body cut inside a part", () => {
    const body = multipart("q", [{ start: 0, data: new Uint8Array(100), total: 100 }]);
    const p = new MultipartParser("q", () => {});
    p.push(body.subarray(0, 90));
    assert.throws(() => p.end(), ProtocolError);
  });
});

describe("RangeRouter", () => {
  const sink = () => {
    const got: number[] = [];
    return { got, push: (b: Uint8Array) => got.push(...b) };
  };

  it("cuts requested ranges out of a whole body or of a coalesced part, dropping the gaps", () => {
    const body = new Uint8Array(100).map((_, i) => i);
    const s1 = sink();
    const s2 = sink();
    const r = new RangeRouter([
      { start: 60, end: 64, sink: s2 },
      { start: 10, end: 12, sink: s1 },
    ]);
    r.feed(0, body.subarray(0, 30));
    assert.equal(r.complete, false);
    assert.equal(r.missing(), "60-64");
    r.feed(30, body.subarray(30));
    assert.ok(r.complete);
    assert.deepEqual(s1.got, [10, 11, 12]);
    assert.deepEqual(s2.got, [60, 61, 62, 63, 64]);
  });

  it("rejects an answer that skips bytes of a range", () => {
    const r = new RangeRouter([{ start: 0, end: 9, sink: sink() }]);
    r.feed(0, new Uint8Array(4));
    assert.throws(() => r.feed(6, new Uint8Array(4)), ProtocolError);
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
