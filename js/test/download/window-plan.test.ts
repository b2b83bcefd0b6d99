/**
 * Download window planning (xet/window-plan.ts), from reconstructions written out by hand: which fetches a
 * window makes and in what order, how ranges are grouped into requests, what is fetched once for several
 * terms, which bytes each term produces, and how reads are cut into windows.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ProtocolError } from "../../src/errors.js";
import type { ReconRange, Reconstruction } from "../../src/xet/fetch-plan.js";
import { fetchRequests, planWindow, rangeIndex, readWindows, regroupParts } from "../../src/xet/window-plan.js";

const A = "a".repeat(64);
const B = "b".repeat(64);
const C = "c".repeat(64);
const MiB = 1024 * 1024;
const opts = { multiRange: true, decodeWindowBytes: 8 * MiB };

const range = (start: number, end: number, byteStart: number, byteEnd: number): ReconRange => ({ start, end, byteStart, byteEnd });
const term = (xorb: string, start: number, end: number, unpacked: number) => ({ xorb, start, end, unpacked });

describe("planWindow", () => {
  it("a file in one xorb: one fetch, one term producing every byte", () => {
    const r0 = range(0, 3, 0, 2999);
    const recon: Reconstruction = { offset: 0, terms: [term(A, 0, 3, 3000)], entries: [{ xorb: A, url: "http://cas/a", ranges: [r0] }] };
    const plan = planWindow(A, recon, 0, 3000, opts);
    assert.deepEqual(plan.fetches, [{ index: 0, xorb: A, parts: [{ url: "http://cas/a", ranges: [r0] }], cost: 3000 + 3000, lastUse: 0 }]);
    assert.deepEqual(plan.terms, [{ fetch: 0, range: r0, fileOffset: 0, skip: 0, take: 3000 }]);
    assert.equal(plan.needed, 1);
    assert.equal(plan.covered, 3000);
  });

  it("terms over several xorbs: fetches in order of first use, a URL's ranges in one request sorted by offset", () => {
    const a1 = range(0, 2, 0, 199);
    const a2 = range(4, 6, 400, 599);
    const b1 = range(0, 1, 0, 99);
    const recon: Reconstruction = {
      offset: 0,
      terms: [term(A, 4, 6, 200), term(B, 0, 1, 100), term(A, 0, 2, 300), term(C, 0, 1, 50)],
      entries: [
        { xorb: A, url: "http://cas/a", ranges: [a1, a2] },
        { xorb: B, url: "http://cas/b", ranges: [b1] },
        { xorb: C, url: "http://cas/c", ranges: [range(0, 1, 0, 49)] },
      ],
    };
    const plan = planWindow("f", recon, 0, 650, opts);
    assert.deepEqual(
      plan.fetches.map((f) => [f.xorb, f.parts.map((p) => [p.url, p.ranges.map((r) => r.start)]), f.lastUse]),
      [
        [A, [["http://cas/a", [0, 4]]], 2],
        [B, [["http://cas/b", [0]]], 1],
        [C, [["http://cas/c", [0]]], 3],
      ],
    );
    assert.deepEqual(
      plan.terms.map((t) => [t.fetch, t.fileOffset, t.take]),
      [
        [0, 0, 200],
        [1, 200, 100],
        [0, 300, 300],
        [2, 600, 50],
      ],
    );
    // Cost: the decoded estimate of each range (its terms' bytes per chunk) plus its serialized bytes.
    assert.equal(plan.fetches[0]!.cost, 300 + 200 + (200 + 200));
    // Without multi-range requests, each range is its own fetch (still in order of first use).
    const single = planWindow("f", recon, 0, 650, { ...opts, multiRange: false });
    assert.deepEqual(
      single.fetches.map((f) => [f.xorb, f.parts[0]!.ranges[0]!.start, f.lastUse]),
      [
        [A, 4, 0],
        [B, 0, 1],
        [A, 0, 2],
        [C, 0, 3],
      ],
    );
    assert.deepEqual(
      single.terms.map((t) => t.fetch),
      [0, 1, 2, 3],
    );
  });

  it("a range read by several terms is fetched once and kept until its last term", () => {
    const a = range(0, 4, 0, 3999);
    const b = range(0, 1, 0, 99);
    const recon: Reconstruction = {
      offset: 0,
      // The same chunks twice (a repeated block), and a term inside the fetched range.
      terms: [term(A, 0, 2, 2000), term(B, 0, 1, 100), term(A, 0, 2, 2000), term(A, 2, 4, 1000)],
      entries: [
        { xorb: A, url: "http://cas/a", ranges: [a] },
        { xorb: B, url: "http://cas/b", ranges: [b] },
      ],
    };
    const plan = planWindow("f", recon, 0, 5100, opts);
    assert.equal(plan.fetches.length, 2);
    assert.deepEqual(plan.fetches[0]!.parts, [{ url: "http://cas/a", ranges: [a] }]);
    assert.equal(plan.fetches[0]!.lastUse, 3);
    assert.equal(plan.fetches[1]!.lastUse, 1);
    assert.deepEqual(
      plan.terms.map((t) => [t.fetch, t.range, t.fileOffset]),
      [
        [0, a, 0],
        [1, b, 2000],
        [0, a, 2100],
        [0, a, 4100],
      ],
    );
    // Counted once, at the largest estimate per chunk of the terms reading it (1000 bytes a chunk).
    assert.equal(plan.fetches[0]!.cost, 4 * 1000 + 4000);
  });

  it("a ranged read starting and ending mid-term: bytes dropped before, cut after, later terms not needed", () => {
    const recon: Reconstruction = {
      // The first term starts at file offset 100; the read starts at 150.
      offset: 50,
      terms: [term(A, 1, 2, 100), term(A, 2, 3, 100), term(A, 3, 4, 100)],
      entries: [{ xorb: A, url: "http://cas/a", ranges: [range(1, 4, 100, 399)] }],
    };
    const plan = planWindow("f", recon, 150, 250, opts);
    assert.deepEqual(
      plan.terms.map((t) => [t.fileOffset, t.skip, t.take]),
      [
        [100, 50, 50],
        [200, 0, 50],
        [300, 0, 0],
      ],
    );
    assert.equal(plan.needed, 2);
    assert.equal(plan.covered, 100);
    // One byte: inside the first term only.
    const one = planWindow("f", recon, 150, 151, opts);
    assert.deepEqual(
      one.terms.map((t) => [t.skip, t.take]),
      [
        [50, 1],
        [0, 0],
        [0, 0],
      ],
    );
    assert.equal(one.needed, 1);
  });

  it("window boundaries: a window starting inside a chunk begins at the offset, the last needed term ends it", () => {
    // The second window [4 MiB, 8 MiB) of a file of 64 KiB chunks whose chunk 63 straddles 4 MiB by 1 KiB.
    const K = 1024;
    const recon: Reconstruction = {
      offset: 63 * K,
      terms: [term(A, 63, 64, 64 * K), term(B, 0, 64, 4 * MiB), term(C, 0, 1, 64 * K)],
      entries: [
        { xorb: A, url: "http://cas/a", ranges: [range(63, 64, 0, 64 * K - 1)] },
        { xorb: B, url: "http://cas/b", ranges: [range(0, 64, 0, 4 * MiB - 1)] },
        { xorb: C, url: "http://cas/c", ranges: [range(0, 1, 0, 64 * K - 1)] },
      ],
    };
    const plan = planWindow("f", recon, 4 * MiB, 8 * MiB, opts);
    assert.deepEqual(
      plan.terms.map((t) => [t.fileOffset, t.skip, t.take]),
      [
        [4 * MiB - 63 * K, 63 * K, K],
        [4 * MiB + K, 0, 4 * MiB - K],
        [8 * MiB + K, 0, 0],
      ],
    );
    assert.equal(plan.needed, 2);
    assert.equal(plan.covered, 4 * MiB);
    // The decoding window caps the serialized part of a range's cost.
    const small = planWindow("f", recon, 4 * MiB, 8 * MiB, { ...opts, decodeWindowBytes: MiB });
    assert.equal(small.fetches[1]!.cost, 4 * MiB + MiB);
  });

  it("a reconstruction shorter than the window is planned with what it covers (the reader then rejects it)", () => {
    const recon: Reconstruction = {
      offset: 0,
      terms: [term(A, 0, 1, 100)],
      entries: [{ xorb: A, url: "http://cas/a", ranges: [range(0, 1, 0, 99)] }],
    };
    const plan = planWindow("f", recon, 0, 150, opts);
    assert.equal(plan.covered, 100);
    assert.equal(plan.needed, 1);
  });

  it("rejects reconstructions that cannot serve the window", () => {
    const entries = [{ xorb: A, url: "http://cas/a", ranges: [range(0, 2, 0, 199)] }];
    assert.throws(
      () => planWindow("f", { offset: 0, terms: [], entries }, 0, 10, opts),
      (e: unknown) => e instanceof ProtocolError && /no terms/.test(e.message),
    );
    assert.throws(
      () => planWindow("f", { offset: 0, terms: [term(A, 1, 3, 300)], entries }, 0, 300, opts),
      (e: unknown) => e instanceof ProtocolError && /no fetch range for chunks 1-3/.test(e.message),
    );
    assert.throws(
      () => planWindow("f", { offset: 0, terms: [term(B, 0, 1, 100)], entries }, 0, 100, opts),
      (e: unknown) => e instanceof ProtocolError && /no fetch range/.test(e.message),
    );
    assert.throws(
      () => planWindow("f", { offset: 20, terms: [term(A, 0, 2, 200)], entries }, 10, 100, opts),
      (e: unknown) => e instanceof ProtocolError && /offset_into_first_range 20 is past the requested start 10/.test(e.message),
    );
  });
});

describe("readWindows", () => {
  it("cuts a read into windows of at most windowBytes, clamped to the file", () => {
    assert.deepEqual(readWindows(10, {}, 4), [
      { start: 0, end: 4 },
      { start: 4, end: 8 },
      { start: 8, end: 10 },
    ]);
    assert.deepEqual(readWindows(10, { start: 3, end: 9 }, 4), [
      { start: 3, end: 7 },
      { start: 7, end: 9 },
    ]);
    assert.deepEqual(readWindows(10, { start: -5, end: 50 }, 100), [{ start: 0, end: 10 }]);
    assert.deepEqual(readWindows(8, {}, 4), [
      { start: 0, end: 4 },
      { start: 4, end: 8 },
    ]);
  });

  it("an empty file or an empty range has no windows", () => {
    assert.deepEqual(readWindows(0, {}, 4), []);
    assert.deepEqual(readWindows(10, { start: 10 }, 4), []);
    assert.deepEqual(readWindows(10, { start: 6, end: 6 }, 4), []);
    assert.deepEqual(readWindows(10, { start: 7, end: 3 }, 4), []);
  });
});

describe("fetch requests and 403 regrouping", () => {
  const r1 = range(0, 2, 0, 199);
  const r2 = range(5, 6, 500, 599);
  const parts = [{ url: "http://cas/a?sig=1", ranges: [r1, r2] }];

  it("one request per URL with multi-range requests, else one per range, in order", () => {
    assert.deepEqual(fetchRequests(parts, true), parts);
    assert.deepEqual(fetchRequests(parts, false), [
      { url: "http://cas/a?sig=1", ranges: [r1] },
      { url: "http://cas/a?sig=1", ranges: [r2] },
    ]);
  });

  it("after a 403, each range goes to the URL and byte range the new reconstruction lists for its chunks", () => {
    const moved1 = range(0, 2, 1000, 1199);
    const moved2 = range(5, 6, 500, 599);
    const fresh: Reconstruction = {
      offset: 0,
      terms: [],
      entries: [
        { xorb: A, url: "http://cas/a?sig=2", ranges: [moved1] },
        { xorb: A, url: "http://cas/a2?sig=2", ranges: [moved2] },
      ],
    };
    assert.deepEqual(regroupParts("f", A, parts, rangeIndex(fresh)), [
      { url: "http://cas/a?sig=2", ranges: [moved1] },
      { url: "http://cas/a2?sig=2", ranges: [moved2] },
    ]);
    const gone: Reconstruction = { offset: 0, terms: [], entries: [{ xorb: A, url: "http://cas/a?sig=3", ranges: [moved1] }] };
    assert.throws(
      () => regroupParts("f", A, parts, rangeIndex(gone)),
      (e: unknown) => e instanceof ProtocolError && /no longer lists chunks 5-6 of xorb/.test(e.message),
    );
  });
});
