/** Pure parts of the hub: path rules, Range parsing, reconstruction planning, token signing. No HTTP, no core. */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { describe, it } from "node:test";
import { Auth } from "../../server/src/auth.js";
import { HttpError } from "../../server/src/http.js";
import { nameProblem, normalizePrefix, pathProblem } from "../../server/src/paths.js";
import { parseRange, rangesCovered } from "../../server/src/ranges.js";
import { planReconstruction, type XorbLayout } from "../../server/src/reconstruction.js";
import type { TermRow } from "../../server/src/store.js";

describe("path rules", () => {
  it("accepts ordinary relative paths", () => {
    for (const p of ["a", "a.txt", "sub/a.json", "deep/er/file name with spaces.bin", "ünïcode/ファイル", "a/.hidden", "...x"]) {
      assert.equal(pathProblem(p), undefined, p);
    }
  });
  it("refuses traversal, absolute, empty segments, NUL, control characters and backslashes", () => {
    const bad: Array<[unknown, RegExp]> = [
      ["", /empty/],
      ["/abs", /absolute/],
      ["a//b", /empty segment/],
      ["a/", /ends with/],
      ["../x", /'\.\.'/],
      ["a/../b", /'\.\.'/],
      ["a/./b", /'\.'/],
      [".", /'\.'/],
      ["a\0b", /NUL/],
      ["a\nb", /control/],
      ["a\\b", /backslash/],
      ["x".repeat(4097), /longer than 4096/],
      [`${"y".repeat(256)}/z`, /segment is longer/],
      ["\ud800x", /well-formed/],
      [42, /string/],
      [null, /string/],
    ];
    for (const [p, re] of bad) assert.match(pathProblem(p) ?? "", re, JSON.stringify(p));
  });
  it("normalises listing prefixes", () => {
    assert.equal(normalizePrefix(""), "");
    assert.equal(normalizePrefix("/"), "");
    assert.equal(normalizePrefix("sub/"), "sub");
    assert.equal(normalizePrefix("sub/deeper"), "sub/deeper");
    assert.throws(
      () => normalizePrefix("a/../b"),
      (e: unknown) => e instanceof HttpError && e.status === 400,
    );
  });
  it("checks bucket and namespace names", () => {
    assert.equal(nameProblem("my-bucket_1.0"), undefined);
    for (const n of ["", "-a", "a-", ".a", "a..b", "a--b", "a/b", "a b", "x".repeat(97)]) assert.notEqual(nameProblem(n), undefined, n);
  });
});

describe("Range parsing", () => {
  it("parses single, open, suffix and multiple ranges", () => {
    assert.deepEqual(parseRange("bytes=0-9", 100), { kind: "ranges", ranges: [{ start: 0, end: 9 }] });
    assert.deepEqual(parseRange("bytes=90-", 100), { kind: "ranges", ranges: [{ start: 90, end: 99 }] });
    assert.deepEqual(parseRange("bytes=-10", 100), { kind: "ranges", ranges: [{ start: 90, end: 99 }] });
    assert.deepEqual(parseRange("bytes=95-200", 100), { kind: "ranges", ranges: [{ start: 95, end: 99 }] });
    assert.deepEqual(parseRange("bytes=0-0, 5-6", 100), {
      kind: "ranges",
      ranges: [
        { start: 0, end: 0 },
        { start: 5, end: 6 },
      ],
    });
    assert.deepEqual(parseRange(undefined, 100), { kind: "none" });
  });
  it("reports unsatisfiable and invalid ranges", () => {
    assert.equal(parseRange("bytes=100-", 100).kind, "unsatisfiable");
    assert.equal(parseRange("bytes=0-0", 0).kind, "unsatisfiable");
    assert.equal(parseRange("bytes=5-1", 100).kind, "invalid");
    assert.equal(parseRange("items=0-1", 100).kind, "invalid");
    assert.equal(parseRange("bytes=a-b", 100).kind, "invalid");
  });
  it("checks ranges against signed ranges (adjacent signed ranges merge)", () => {
    assert.ok(rangesCovered([{ start: 0, end: 9 }], [[0, 9]]));
    assert.ok(
      rangesCovered(
        [{ start: 2, end: 15 }],
        [
          [0, 9],
          [10, 20],
        ],
      ),
    );
    assert.ok(!rangesCovered([{ start: 0, end: 10 }], [[0, 9]]));
    assert.ok(
      !rangesCovered(
        [{ start: 5, end: 25 }],
        [
          [0, 9],
          [20, 30],
        ],
      ),
    );
  });
});

describe("reconstruction planning", () => {
  // xorb X: chunks of 10, 20, 30, 40 bytes (records of +8 bytes each); xorb Y: 5, 5.
  const layouts: Record<string, XorbLayout> = {
    X: { chunkLengths: Uint32Array.from([10, 20, 30, 40]), recordOffsets: Uint32Array.from([0, 18, 46, 84, 132]) },
    Y: { chunkLengths: Uint32Array.from([5, 5]), recordOffsets: Uint32Array.from([0, 13, 26]) },
  };
  // file = X[0..2) (30 bytes) + Y[0..2) (10) + X[1..4) (90) = 130 bytes
  const terms: TermRow[] = [
    { offset: 0, xorbHash: "X", chunkStart: 0, chunkEnd: 2, unpacked: 30 },
    { offset: 30, xorbHash: "Y", chunkStart: 0, chunkEnd: 2, unpacked: 10 },
    { offset: 40, xorbHash: "X", chunkStart: 1, chunkEnd: 4, unpacked: 90 },
  ];
  const layout = (h: string) => layouts[h]!;

  it("whole file: terms unchanged, overlapping runs of a xorb merged into one descriptor", () => {
    const p = planReconstruction(terms, 0, 129, layout);
    assert.equal(p.offsetIntoFirstRange, 0);
    assert.deepEqual(
      p.terms.map((t) => [t.hash, t.range.start, t.range.end, t.unpacked_length]),
      [
        ["X", 0, 2, 30],
        ["Y", 0, 2, 10],
        ["X", 1, 4, 90],
      ],
    );
    assert.deepEqual(p.fetch.get("X"), [{ chunks: { start: 0, end: 4 }, bytes: { start: 0, end: 131 } }]);
    assert.deepEqual(p.fetch.get("Y"), [{ chunks: { start: 0, end: 2 }, bytes: { start: 0, end: 25 } }]);
  });

  it("a range inside one chunk trims to that chunk with an offset", () => {
    // bytes 12..14 lie in X chunk 1 (file bytes 10..29)
    const p = planReconstruction(terms.slice(0, 1), 12, 14, layout);
    assert.equal(p.offsetIntoFirstRange, 2);
    assert.deepEqual(p.terms, [{ hash: "X", unpacked_length: 20, range: { start: 1, end: 2 } }]);
    assert.deepEqual(p.fetch.get("X"), [{ chunks: { start: 1, end: 2 }, bytes: { start: 18, end: 45 } }]);
  });

  it("a range across terms trims the first and the last term", () => {
    // bytes 25..75: X chunk 1 (10..29), Y (30..39), X chunks 1..2 of the third term (40..59, 60..89)
    const p = planReconstruction(terms, 25, 75, layout);
    assert.equal(p.offsetIntoFirstRange, 15);
    assert.deepEqual(
      p.terms.map((t) => [t.hash, t.range.start, t.range.end, t.unpacked_length]),
      [
        ["X", 1, 2, 20],
        ["Y", 0, 2, 10],
        ["X", 1, 3, 50],
      ],
    );
    assert.deepEqual(p.fetch.get("X"), [{ chunks: { start: 1, end: 3 }, bytes: { start: 18, end: 83 } }]);
  });

  it("the last byte of the file", () => {
    const p = planReconstruction(terms.slice(2), 129, 129, layout);
    assert.equal(p.offsetIntoFirstRange, 39);
    assert.deepEqual(p.terms, [{ hash: "X", unpacked_length: 40, range: { start: 3, end: 4 } }]);
  });
});

describe("CAS tokens and fetch URLs", () => {
  const users = [{ name: "alice", token: "hf_alice_secret_token", readTokens: ["hf_alice_read_token"], orgs: ["acme"] }];
  const auth = new Auth(users, randomBytes(32));
  const other = new Auth(users, randomBytes(32));

  it("resolves Hub tokens to principals and refuses unknown ones", () => {
    assert.equal(auth.principal(undefined), undefined);
    assert.deepEqual(auth.principal("hf_alice_secret_token")?.scope, "write");
    assert.deepEqual(auth.principal("hf_alice_read_token")?.scope, "read");
    assert.ok(auth.principal("hf_alice_read_token")?.namespaces.has("acme"));
    assert.throws(
      () => auth.principal("hf_nope_nope_nope"),
      (e: unknown) => e instanceof HttpError && e.status === 401,
    );
  });

  it("refuses tokens the JS client would refuse", () => {
    assert.throws(() => new Auth([{ name: "x", token: "abc_123456789" }], randomBytes(32)), /must start with "hf_"/);
    assert.throws(() => new Auth([{ name: "me", token: "hf_123456789" }], randomBytes(32)), /invalid user name/);
  });

  it("round-trips, expires and rejects forged CAS tokens", () => {
    const t = auth.mintCasToken({ bucketId: 7, scope: "write", exp: 1000 });
    assert.deepEqual(auth.verifyCasToken(t, 999), { bucketId: 7, scope: "write", exp: 1000 });
    assert.throws(() => auth.verifyCasToken(t, 1000), /expired/);
    assert.throws(() => other.verifyCasToken(t, 0), /invalid CAS access token/);
    const [payload, sig] = t.slice("xetcas_".length).split(".");
    const forged = Buffer.from(JSON.stringify({ v: 1, b: 8, s: "w", e: 1000 })).toString("base64url");
    assert.throws(() => auth.verifyCasToken(`xetcas_${forged}.${sig}`, 0), /invalid/);
    assert.throws(() => auth.verifyCasToken(`xetcas_${payload}`, 0), /invalid/);
    assert.throws(() => auth.verifyCasToken(undefined, 0), /required/);
  });

  it("signs fetch URLs for exact ranges and an expiry", () => {
    const q = new URLSearchParams(
      auth.signFetch(
        "ab".repeat(32),
        [
          [0, 99],
          [200, 299],
        ],
        500,
      ),
    );
    assert.deepEqual(auth.verifyFetch("ab".repeat(32), q, 499), [
      [0, 99],
      [200, 299],
    ]);
    assert.throws(
      () => auth.verifyFetch("ab".repeat(32), q, 500),
      (e: unknown) => e instanceof HttpError && e.status === 403,
    );
    assert.throws(() => auth.verifyFetch("cd".repeat(32), q, 0), /signature/);
    const tampered = new URLSearchParams(q);
    tampered.set("r", "0-299");
    assert.throws(() => auth.verifyFetch("ab".repeat(32), tampered, 0), /signature/);
  });
});
