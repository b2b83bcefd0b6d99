/**
 * CAS conformance of the local hub over real HTTP: xorb and shard uploads built with the core, every
 * malformed upload answered 4xx with the store unchanged, reconstructions v1/v2 with ranges against the
 * expected bytes, single- and multi-range fetch URLs, global-dedup answers parsed back with the core,
 * token scopes and expiry.
 */
import assert from "node:assert/strict";
import { readdirSync, readlinkSync } from "node:fs";
import { request } from "node:http";
import { after, before, describe, it } from "node:test";
import * as core from "../../src/core/index.js";
import { decodeChunkRecords, parseShard, rawToHex } from "../../src/core/index.js";
import { batch, call, casToken, postBucket, startTestHub, TEST_USERS, type TestHub } from "../helpers/hub.js";
import { buildUpload, casDownload, manualShard, pushUpload } from "../helpers/cas.js";
import { seededBytes } from "../helpers/data.mjs";
import { snapshot } from "../helpers/hub-state.js";

const { alice, bob } = TEST_USERS;
const ZERO = "0".repeat(64);

let hub: TestHub;
/** Adjustable clock of the hub (ms). */
let clockOffset = 0;
let writeTok: string;
let readTok: string;

before(async () => {
  hub = await startTestHub({ now: () => Date.now() + clockOffset, casTokenTtlSeconds: 600, fetchUrlTtlSeconds: 300 });
  await postBucket(hub, "alice/cas", alice.token);
  await postBucket(hub, "bob/other", bob.token);
  writeTok = await casToken(hub, "alice/cas", alice.token, "write");
  readTok = await casToken(hub, "alice/cas", alice.token, "read");
});
after(async () => {
  await hub?.close();
});

describe("uploads", () => {
  it("stores a xorb (was_inserted true, then false) and registers a shard (v1 result 1, then 0)", async () => {
    const built = await buildUpload([seededBytes(300_000, 1)]);
    assert.equal(built.xorbs.length, 1);
    const x = built.xorbs[0]!;
    const first = await call(hub, "POST", `/v1/xorbs/default/${x.hash}`, { token: writeTok, body: x.data });
    assert.equal(first.status, 200, first.text);
    assert.deepEqual(first.json, { was_inserted: true });
    const again = await call(hub, "POST", `/v1/xorbs/default/${x.hash}`, { token: writeTok, body: x.data });
    assert.deepEqual(again.json, { was_inserted: false });
    const head = await call(hub, "HEAD", `/v1/xorbs/default/${x.hash}`, { token: readTok });
    assert.equal(head.headers.get("content-length"), String(x.data.length));
    const sh = await call(hub, "POST", "/v1/shards", { token: writeTok, body: built.shards[0] });
    assert.deepEqual(sh.json, { result: 1 });
    const sh2 = await call(hub, "POST", "/v1/shards", { token: writeTok, body: built.shards[0] });
    assert.deepEqual(sh2.json, { result: 0 }, "a repeated shard is not an error");
    const file = await call(hub, "HEAD", `/v1/files/${built.files[0]!.hash}`, { token: readTok });
    assert.equal(file.status, 200);
    assert.equal(file.headers.get("content-length"), "300000");
  });

  it("v2 shards stream NDJSON progress frames ending with a result event", async () => {
    const built = await buildUpload([seededBytes(50_000, 2)]);
    await pushUpload(hub, writeTok, { ...built, shards: [] });
    const res = await fetch(`${hub.url}/v2/shards`, {
      method: "POST",
      headers: { Authorization: `Bearer ${writeTok}` },
      body: built.shards[0] as BodyInit,
    });
    assert.equal(res.status, 200);
    assert.match(res.headers.get("content-type")!, /application\/x-ndjson/);
    const frames = (await res.text())
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    assert.deepEqual(
      frames.map((f) => f.type),
      ["validating", "committing", "committing", "result"],
    );
    assert.deepEqual(frames.at(-1), { type: "result", result: 1 });
  });

  it("answers xorb grants 404 so that hf_xet falls back to direct uploads", async () => {
    const res = await call(hub, "POST", `/v1/xorb-grants/default/${"ab".repeat(32)}`, { token: writeTok, body: { length: 1 } });
    assert.equal(res.status, 404);
  });

  it("accepts shards with a footer (JS client) and a lone empty file", async () => {
    const built = await buildUpload([new Uint8Array(0)]);
    assert.equal(built.xorbs.length, 0);
    const res = await call(hub, "POST", "/v1/shards", { token: writeTok, body: built.shards[0] });
    assert.equal(res.status, 200, res.text);
    const withFooter = await buildUpload([seededBytes(10_000, 3)]);
    await pushUpload(hub, writeTok, { ...withFooter, shards: [] });
    const footer = new Uint8Array(200);
    const body = new Uint8Array([...withFooter.shards[0]!, ...footer]);
    new DataView(body.buffer).setBigUint64(40, 200n, true); // header.footer_size
    new DataView(body.buffer).setBigUint64(body.length - 200, 1n, true); // footer version
    const r = await call(hub, "POST", "/v1/shards", { token: writeTok, body });
    assert.equal(r.status, 200, r.text);
  });

  it("answers every malformed upload with 400 and a clear message, leaving the store unchanged", async () => {
    const a = await buildUpload([seededBytes(200_000, 10)]);
    const b = await buildUpload([seededBytes(200_000, 11)]);
    const xa = a.xorbs[0]!;
    const xb = b.xorbs[0]!;
    const before = snapshot(hub.dataDir);
    const post = (path: string, body: Uint8Array, token = writeTok) => call(hub, "POST", path, { token, body });
    const cases: Array<[string, Promise<Awaited<ReturnType<typeof call>>>, RegExp]> = [
      ["bad hash", post(`/v1/xorbs/default/${"zz".repeat(32)}`, xa.data), /invalid xorb hash/],
      ["short hash", post(`/v1/xorbs/default/abc`, xa.data), /invalid xorb hash/],
      ["body not matching its hash", post(`/v1/xorbs/default/${xb.hash}`, xa.data), /invalid xorb/],
      ["truncated xorb", post(`/v1/xorbs/default/${xa.hash}`, xa.data.subarray(0, xa.data.length - 7)), /invalid xorb/],
      ["truncated record header", post(`/v1/xorbs/default/${xa.hash}`, xa.data.subarray(0, 5)), /invalid xorb/],
      ["trailing garbage", post(`/v1/xorbs/default/${xa.hash}`, new Uint8Array([...xa.data, 1, 2, 3])), /xorb/],
      ["empty xorb", post(`/v1/xorbs/default/${xa.hash}`, new Uint8Array(0)), /empty/],
      ["unknown prefix", post(`/v1/xorbs/other/${xa.hash}`, xa.data), /prefix/],
      ["shard referencing an unknown xorb", post("/v1/shards", a.shards[0]!), /not stored/],
      ["garbage shard", post("/v1/shards", seededBytes(1000, 5)), /invalid shard/],
      ["truncated shard", post("/v1/shards", a.shards[0]!.subarray(0, 100)), /invalid shard/],
      ["v2 shard referencing an unknown xorb", post("/v2/shards", a.shards[0]!), /not stored/],
    ];
    for (const [what, p, re] of cases) {
      const res = await p;
      assert.equal(res.status, 400, `${what}: ${res.status} ${res.text}`);
      assert.match(res.json.error, re, what);
    }
    assert.equal(snapshot(hub.dataDir), before, "no malformed upload changed the store");
  });

  it("verifies a xorb body as it arrives, split anywhere: every answer is parseXorb's of the whole body", async () => {
    // LZ4 and raw records (text, then random bytes), their records split between network reads.
    const text = new TextEncoder().encode("The quick brown fox jumps over the lazy dog. ".repeat(3000));
    const built = await buildUpload([new Uint8Array([...text, ...seededBytes(150_000, 12)])]);
    const x = built.xorbs[0]!;
    assert.ok(x.chunkCount >= 3, `${x.chunkCount} chunks`);
    const flipped = (at: number) => {
      const d = x.data.slice();
      d[at]! ^= 0x5a;
      return d;
    };
    const bodies: Array<[string, Uint8Array]> = [
      ["a valid body", x.data],
      ["a record's compression scheme changed", flipped(4)],
      ["a payload byte changed", flipped(5000)],
      ["the last byte changed", flipped(x.data.length - 1)],
      ["cut inside a record", x.data.subarray(0, x.data.length - 1000)],
      ["cut inside a record header", x.data.subarray(0, 3)],
      ["a footer after the records", new Uint8Array([...x.data, ...new TextEncoder().encode("XETBLOB")])],
    ];
    for (const [what, body] of bodies) {
      let expected: { status: number; error?: string };
      try {
        core.parseXorb(body, x.hash);
        expected = { status: 200 };
      } catch (e) {
        expected = { status: 400, error: `invalid xorb: ${(e as Error).message} (${(e as { code: string }).code})` };
      }
      for (const piece of [7, 4093, 70_001]) {
        const res = await postInPieces(`/v1/xorbs/default/${x.hash}`, body, piece);
        assert.deepEqual(
          { status: res.status, ...(res.status !== 200 && { error: res.json.error }) },
          expected,
          `${what}, in ${piece}-byte writes`,
        );
      }
    }
  });

  it("refuses a shard with a wrong verification hash, a wrong file hash or a wrong term size", async () => {
    const built = await buildUpload([seededBytes(150_000, 20)]);
    await pushUpload(hub, writeTok, { ...built, shards: [] });
    const shard = built.shards[0]!;
    const parsed = parseShard(shard);
    const nTerms = parsed.files[0]!.terms.length;
    const before = snapshot(hub.dataDir);
    // Layout: header 48, file header 48, n terms, n verification entries, bookend...
    const verifyAt = 48 + 48 + 48 * nTerms;
    const badVerify = shard.slice();
    badVerify[verifyAt] ^= 0xff;
    const badFileHash = shard.slice();
    badFileHash[48] ^= 0x01;
    const badSize = shard.slice();
    new DataView(badSize.buffer).setUint32(48 + 48 + 36, parsed.files[0]!.terms[0]!.unpacked + 1, true);
    for (const [what, body, re] of [
      ["verification", badVerify, /wrong verification hash/],
      ["file hash", badFileHash, /file hash does not match/],
      ["term size", badSize, /unpacked size/],
    ] as const) {
      const res = await call(hub, "POST", "/v1/shards", { token: writeTok, body });
      assert.equal(res.status, 400, `${what}: ${res.text}`);
      assert.match(res.json.error, re);
    }
    assert.equal(snapshot(hub.dataDir), before);
    // and the good one still registers
    assert.equal((await call(hub, "POST", "/v1/shards", { token: writeTok, body: shard })).status, 200);
  });

  it("accepts a xorb of 64 MiB raw whose body is larger than 64 MiB (incompressible chunks stored raw, as hf_xet sends them)", async () => {
    const big = rawXorb(512, 131_072, 80);
    assert.ok(big.data.length > 64 * 1024 * 1024);
    const before = snapshot(hub.dataDir);
    const wrong = await call(hub, "POST", `/v1/xorbs/default/${"0f".repeat(32)}`, { token: writeTok, body: big.data });
    assert.equal(wrong.status, 400, "the large-body path checks the hash too");
    assert.match(wrong.json.error, /hashes to/);
    assert.equal(snapshot(hub.dataDir), before);
    const res = await call(hub, "POST", `/v1/xorbs/default/${big.hash}`, { token: writeTok, body: big.data });
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(res.json, { was_inserted: true });
    const over = rawXorb(513, 131_072, 81);
    const tooMuch = await call(hub, "POST", `/v1/xorbs/default/${over.hash}`, { token: writeTok, body: over.data });
    assert.equal(tooMuch.status, 400, "more than 64 MiB of chunk data is refused");
  });

  it("core parseXorb accepts a 64 MiB-raw xorb whose body exceeds 64 MiB (hf_xet's incompressible xorbs)", () => {
    const big = rawXorb(512, 131_072, 82);
    assert.equal(core.parseXorb(big.data, big.hash).count, 512);
  });

  it("enforces token scope, expiry and 413 on oversized bodies", async () => {
    const built = await buildUpload([seededBytes(20_000, 30)]);
    const x = built.xorbs[0]!;
    assert.equal((await call(hub, "POST", `/v1/xorbs/default/${x.hash}`, { token: readTok, body: x.data })).status, 403);
    assert.equal((await call(hub, "POST", "/v1/shards", { token: readTok, body: built.shards[0] })).status, 403);
    assert.equal((await call(hub, "POST", `/v1/xorbs/default/${x.hash}`, { body: x.data })).status, 401);
    assert.equal(
      (await call(hub, "POST", `/v1/xorbs/default/${x.hash}`, { token: alice.token, body: x.data })).status,
      401,
      "a Hub token is not a CAS token",
    );
    const forged = `${writeTok.slice(0, -4)}AAAA`;
    assert.equal((await call(hub, "POST", `/v1/xorbs/default/${x.hash}`, { token: forged, body: x.data })).status, 401);
    clockOffset = 601_000;
    try {
      const expired = await call(hub, "POST", `/v1/xorbs/default/${x.hash}`, { token: writeTok, body: x.data });
      assert.equal(expired.status, 401);
      assert.match(expired.json.error, /expired/);
    } finally {
      clockOffset = 0;
    }
    const big = await fetch(`${hub.url}/v1/xorbs/default/${x.hash}`, {
      method: "POST",
      headers: { Authorization: `Bearer ${writeTok}`, "Content-Length": String(66 * 1024 * 1024) },
      body: new Uint8Array(66 * 1024 * 1024),
    }).catch((e: Error) => e);
    if (!(big instanceof Error)) assert.equal(big.status, 413);
  });
});

describe("reconstructions and fetch URLs", () => {
  // Two files sharing data so terms reference several xorbs, with small xorbs (several per file).
  const base = seededBytes(900_000, 40);
  const second = new Uint8Array([...seededBytes(100_000, 41), ...base.subarray(0, 500_000), ...seededBytes(77_777, 42)]);
  let hashes: string[] = [];

  before(async () => {
    const built = await buildUpload([base, second], { maxXorbBytes: 256 * 1024 });
    assert.ok(built.xorbs.length >= 4, `several xorbs (${built.xorbs.length})`);
    await pushUpload(hub, writeTok, built, 2);
    hashes = built.files.map((f) => f.hash);
    const res = await batch(hub, "alice/cas", alice.token, [
      { type: "addFile", path: "base.bin", xetHash: hashes[0] },
      { type: "addFile", path: "second.bin", xetHash: hashes[1] },
    ]);
    assert.equal(res.status, 200, res.text);
  });

  for (const version of [1, 2] as const) {
    it(`v${version}: whole files and ranges decode to the expected bytes`, async () => {
      for (const [i, data] of [base, second].entries()) {
        assert.deepEqual(await casDownload(hub, readTok, hashes[i]!, undefined, version), data);
        for (const [a, b] of [
          [0, 0],
          [1, 70_000],
          [65_000, 400_123],
          [data.length - 10, data.length - 1],
          [123_456, data.length + 1000],
        ] as const) {
          const got = await casDownload(hub, readTok, hashes[i]!, [a, b], version);
          assert.deepEqual(got, data.subarray(a, Math.min(b, data.length - 1) + 1), `v${version} file ${i} range ${a}-${b}`);
        }
      }
    });
  }

  it("v2 terms are never split across fetch descriptors", async () => {
    const rec = await call(hub, "GET", `/v2/reconstructions/${hashes[1]}`, { token: readTok, headers: { Range: "bytes=50000-600000" } });
    for (const t of rec.json.terms) {
      const found = (rec.json.xorbs[t.hash] as any[]).some((e) =>
        e.ranges.some((r: any) => r.chunks.start <= t.range.start && r.chunks.end >= t.range.end),
      );
      assert.ok(found, JSON.stringify(t));
    }
    assert.ok(rec.json.offset_into_first_range > 0);
  });

  it("answers 416 from the file size on, 400 on bad ranges and ids, and the empty file with no terms", async () => {
    const past = await call(hub, "GET", `/v2/reconstructions/${hashes[0]}`, {
      token: readTok,
      headers: { Range: `bytes=${base.length}-` },
    });
    assert.equal(past.status, 416);
    assert.equal(
      (await call(hub, "GET", `/v2/reconstructions/${hashes[0]}`, { token: readTok, headers: { Range: "bytes=9-1" } })).status,
      400,
    );
    assert.equal((await call(hub, "GET", "/v2/reconstructions/xyz", { token: readTok })).status, 400);
    assert.equal((await call(hub, "GET", `/v2/reconstructions/${"ef".repeat(32)}`, { token: readTok })).status, 404);
    const empty = await call(hub, "GET", `/v2/reconstructions/${ZERO}`, { token: readTok });
    assert.deepEqual(empty.json, { offset_into_first_range: 0, terms: [], xorbs: {} });
    assert.equal((await call(hub, "HEAD", `/v1/files/${ZERO}`, { token: readTok })).headers.get("content-length"), "0");
  });

  it("a token of another bucket cannot read the file; a copy makes it readable", async () => {
    const bobRead = await casToken(hub, "bob/other", bob.token, "read");
    assert.equal((await call(hub, "GET", `/v2/reconstructions/${hashes[0]}`, { token: bobRead })).status, 404);
    assert.equal((await call(hub, "HEAD", `/v1/files/${hashes[0]}`, { token: bobRead })).status, 404);
    const copy = await batch(hub, "bob/other", bob.token, [
      { type: "copyFile", path: "c.bin", xetHash: hashes[0], sourceRepoType: "bucket", sourceRepoId: "alice/cas" },
    ]);
    assert.equal(copy.status, 200, copy.text);
    assert.deepEqual(await casDownload(hub, bobRead, hashes[0]!), base);
  });

  it("fetch URLs: a client that goes away mid-range leaves no file open, and the range is served whole after", async () => {
    const built = await buildUpload([seededBytes(6 * 1024 * 1024, 44)]);
    await pushUpload(hub, writeTok, built);
    const x = built.xorbs[0]!;
    const rec = await call(hub, "GET", `/v2/reconstructions/${built.files[0]!.hash}`, { token: readTok });
    const entry = rec.json.xorbs[x.hash][0];
    const { start, end } = entry.ranges[0].bytes as { start: number; end: number };
    assert.ok(end - start > 4 * 1024 * 1024, "a range of several pieces");
    const fetchUrl = new URL(entry.url);
    const xorbDir = `${hub.dataDir}/xorbs/`;
    const openXorbFiles = () =>
      readdirSync("/proc/self/fd").filter((fd) => {
        try {
          return readlinkSync(`/proc/self/fd/${fd}`).startsWith(xorbDir);
        } catch {
          return false; // closed meanwhile
        }
      }).length;
    for (let i = 0; i < 8; i++) {
      // Reads the first bytes of the answer, then drops the connection.
      await new Promise<void>((resolve, reject) => {
        const req = request(fetchUrl, { headers: { Range: `bytes=${start}-${end}`, Connection: "close" } }, (res) => {
          assert.equal(res.statusCode, 206);
          res.once("data", () => {
            req.destroy();
            resolve();
          });
        });
        req.on("error", (err) => (req.destroyed ? resolve() : reject(err)));
        req.end();
      });
    }
    for (let i = 0; i < 50 && openXorbFiles() > 0; i++) await new Promise((resolve) => setTimeout(resolve, 20));
    assert.equal(openXorbFiles(), 0, "every xorb file the aborted answers opened is closed");
    const whole = await fetch(fetchUrl, { headers: { Range: `bytes=${start}-${end}` } });
    assert.equal(whole.status, 206);
    assert.deepEqual(Buffer.from(await whole.arrayBuffer()), Buffer.from(x.data.subarray(start, end + 1)));
  });

  it("fetch URLs: multi-range 206 answers for non-adjacent runs of a xorb; 403 when expired, tampered or outside the signed ranges", async () => {
    // One xorb of many chunks, and a file made of three separate runs of it (hand-built shard).
    const built = await buildUpload([seededBytes(1_200_000, 43)], { maxXorbBytes: 2 * 1024 * 1024 });
    await pushUpload(hub, writeTok, built);
    const x = built.xorbs[0]!;
    const info = core.parseXorb(x.data, x.hash);
    assert.ok(info.count >= 9, `${info.count} chunks`);
    const known = { hash: x.hash, hashes: info.hashes, lengths: info.lengths };
    const runs: Array<[number, number]> = [
      [0, 2],
      [4, 6],
      [8, 9],
    ];
    const m = manualShard(core, [runs.map(([start, end]) => ({ xorb: known, start, end }))]);
    assert.equal((await call(hub, "POST", "/v1/shards", { token: writeTok, body: m.shard })).status, 200);
    const decoded = decodeChunkRecords(x.data);
    const chunkAt = (i: number) => decoded.data.subarray(sumTo(decoded.lengths, i), sumTo(decoded.lengths, i + 1));
    const expected = Buffer.concat(runs.flatMap(([a, b]) => Array.from({ length: b - a }, (_, k) => chunkAt(a + k))));
    assert.deepEqual(Buffer.from(await casDownload(hub, writeTok, m.fileHashes[0]!)), expected, "multi-range fetch");
    assert.deepEqual(Buffer.from(await casDownload(hub, writeTok, m.fileHashes[0]!, undefined, 2, false)), expected, "one range at a time");
    assert.deepEqual(Buffer.from(await casDownload(hub, writeTok, m.fileHashes[0]!, undefined, 1)), expected, "v1");

    const rec = await call(hub, "GET", `/v2/reconstructions/${m.fileHashes[0]}`, { token: writeTok });
    const entry = rec.json.xorbs[x.hash][0];
    assert.equal(entry.ranges.length, 3);
    const rangeHeader = `bytes=${entry.ranges.map((r: any) => `${r.bytes.start}-${r.bytes.end}`).join(",")}`;
    const res = await fetch(entry.url, { headers: { Range: rangeHeader } });
    assert.equal(res.status, 206);
    assert.match(res.headers.get("content-type")!, /^multipart\/byteranges; boundary=/);
    const body = new Uint8Array(await res.arrayBuffer());
    assert.equal(body.length, Number(res.headers.get("content-length")));
    assert.equal((await fetch(entry.url)).status, 400, "Range required");
    const r0 = entry.ranges[0].bytes;
    const outside = await fetch(entry.url, { headers: { Range: `bytes=${r0.start}-${r0.end + 1}` } });
    assert.equal(outside.status, 403, "the byte after a run is not signed");
    const tampered = entry.url.replace(/sig=([A-Za-z0-9_-])/, (_m: string, c: string) => `sig=${c === "A" ? "B" : "A"}`);
    assert.equal((await fetch(tampered, { headers: { Range: `bytes=${r0.start}-${r0.end}` } })).status, 403);
    const ok = await fetch(entry.url, { headers: { Range: `bytes=${r0.start}-${r0.end}`, Authorization: "Bearer whatever" } });
    assert.equal(ok.status, 206, "no Authorization needed (and none checked)");
    assert.equal(ok.headers.get("content-range"), `bytes ${r0.start}-${r0.end}/${x.data.length}`);
    clockOffset = 301_000;
    try {
      assert.equal((await fetch(entry.url, { headers: { Range: `bytes=${r0.start}-${r0.end}` } })).status, 403);
    } finally {
      clockOffset = 0;
    }
  });

  it("refuses hand-built shards with a term outside its xorb", async () => {
    const built = await buildUpload([seededBytes(300_000, 44)], { maxXorbBytes: 2 * 1024 * 1024 });
    await pushUpload(hub, writeTok, { ...built, shards: [] });
    const x = built.xorbs[0]!;
    const info = core.parseXorb(x.data, x.hash);
    const known = { hash: x.hash, hashes: info.hashes, lengths: info.lengths };
    const ok = manualShard(core, [[{ xorb: known, start: 0, end: info.count }]]);
    const bad = ok.shard.slice();
    new DataView(bad.buffer).setUint32(48 + 48 + 44, info.count + 1, true); // chunk_index_end
    const before = snapshot(hub.dataDir);
    const res = await call(hub, "POST", "/v1/shards", { token: writeTok, body: bad });
    assert.equal(res.status, 400);
    assert.match(res.json.error, /not inside xorb|invalid shard/);
    assert.equal(snapshot(hub.dataDir), before);
  });
});

function sumTo(lengths: Uint32Array, n: number): number {
  let s = 0;
  for (let i = 0; i < n; i++) s += lengths[i]!;
  return s;
}

describe("global dedup", () => {
  const content = seededBytes(700_000, 50);
  let built: Awaited<ReturnType<typeof buildUpload>>;
  before(async () => {
    // Three xorbs in one upload: a query for the first chunk should return all of them.
    built = await buildUpload([content], { maxXorbBytes: 256 * 1024 });
    await pushUpload(hub, writeTok, built);
  });

  it("answers the first chunk of a registered file with a shard holding its xorb and the xorbs uploaded with it", async () => {
    const firstChunkXorb = built.xorbs[0]!;
    // The first chunk hash of the file = first chunk of the first xorb.
    const d = decodeChunkRecords(firstChunkXorb.data);
    const chunk = rawToHex(d.hashes.subarray(0, 32));
    const res = await call(hub, "GET", `/v1/chunks/default/${chunk}`, { token: readTok });
    assert.equal(res.status, 200, res.text);
    assert.equal(res.headers.get("content-type"), "application/octet-stream");
    const shard = parseShard(res.bytes);
    assert.equal(shard.files.length, 0);
    assert.deepEqual(shard.xorbs.map((x) => x.hash).sort(), built.xorbs.map((x) => x.hash).sort());
    assert.equal(shard.xorbs[0]!.hash, firstChunkXorb.hash, "the chunk's own xorb first");
    assert.ok(shard.footer, "with a footer");
    assert.notEqual(shard.footer.hmacKey, ZERO, "chunk hashes keyed with a random HMAC key");
    const xorbSectionEnd = 48 + 48 + shard.xorbs.reduce((n, x) => n + 48 * (x.chunks.length + 1), 0) + 48;
    assert.ok(shard.footer.fileLookupOffset >= xorbSectionEnd, "file_lookup_offset at or after the xorb bookend (JS client)");
    const now = Date.now() / 1000;
    assert.ok(shard.footer.expiry > now + 6 * 86400 && shard.footer.expiry < now + 8 * 86400);
    assert.notEqual(shard.xorbs[0]!.chunks[0]!.hash, chunk, "keyed, not the plain hash");
    assert.equal((await call(hub, "GET", `/v1/chunks/default-merkledb/${chunk}`, { token: readTok })).status, 200);
    assert.equal((await call(hub, "GET", `/v1/chunks/default/${"12".repeat(32)}`, { token: readTok })).status, 404);
    assert.equal((await call(hub, "GET", `/v1/chunks/default/nothex`, { token: readTok })).status, 400);
    assert.equal((await call(hub, "GET", `/v1/chunks/default/${chunk}`)).status, 401);
  });

  it("can answer plain chunk hashes (dedupHmac: false)", async () => {
    const plain = await startTestHub({ dedupHmac: false });
    try {
      await postBucket(plain, "alice/p", alice.token);
      const tok = await casToken(plain, "alice/p", alice.token, "write");
      await pushUpload(plain, tok, built);
      const d = decodeChunkRecords(built.xorbs[0]!.data);
      const chunk = rawToHex(d.hashes.subarray(0, 32));
      const shard = parseShard((await call(plain, "GET", `/v1/chunks/default/${chunk}`, { token: tok })).bytes);
      assert.equal(shard.footer!.hmacKey, ZERO);
      assert.equal(shard.xorbs[0]!.chunks[0]!.hash, chunk);
    } finally {
      await plain.close();
    }
  });
});

/**
 * POSTs `body` to the test hub with alice's write token in `piece`-byte writes, each flushed (and the event
 * loop turned) before the next, so that the hub receives it in many reads.
 */
function postInPieces(path: string, body: Uint8Array, piece: number): Promise<{ status: number; json: { error?: string } }> {
  return new Promise((resolve, reject) => {
    const req = request(
      `${hub.url}${path}`,
      { method: "POST", headers: { Authorization: `Bearer ${writeTok}`, "Content-Length": body.length } },
      (res) => {
        const parts: Buffer[] = [];
        res.on("data", (d: Buffer) => parts.push(d));
        res.on("end", () => resolve({ status: res.statusCode!, json: JSON.parse(Buffer.concat(parts).toString("utf8")) }));
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    void (async () => {
      for (let at = 0; at < body.length; at += piece) {
        await new Promise<void>((done) => req.write(body.subarray(at, at + piece), () => done()));
        await new Promise((done) => setImmediate(done));
      }
      req.end();
    })();
  });
}

/** A xorb of `n` incompressible chunks of `len` bytes stored raw (scheme 0), built by hand. */
function rawXorb(n: number, len: number, seed: number): { hash: string; data: Uint8Array } {
  const data = new Uint8Array(n * (8 + len));
  const hashes = new Uint8Array(n * 32);
  const lengths = new Uint32Array(n).fill(len);
  const chunk = seededBytes(len, seed);
  for (let i = 0; i < n; i++) {
    chunk[0] = i & 0xff;
    chunk[1] = i >> 8; // distinct chunks
    const at = i * (8 + len);
    data.set([0, len & 0xff, (len >> 8) & 0xff, len >> 16, 0, len & 0xff, (len >> 8) & 0xff, len >> 16], at);
    data.set(chunk, at + 8);
    hashes.set(core.hexToRaw(core.chunkHash(chunk)), i * 32);
  }
  return { hash: core.xorbHashFromChunks(hashes, lengths), data };
}
