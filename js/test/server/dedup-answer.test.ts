/**
 * The hub's global-dedup answers under each `dedupAnswer` policy, over real HTTP, and what it indexes.
 *
 * One upload of two files in three xorbs (hand-built, so that chunk 5 of xorb A is eligible for global dedup,
 * `hash % 1024 == 0`): file 1 = all of xorb A then xorb B, file 2 = xorb C. Then:
 *
 * - `shard`: the first chunk of a file and an eligible chunk are answered with the chunk's xorb first and the
 *   xorbs uploaded with it; `xorb`: with the chunk's xorb only; `none`: 404 for every chunk;
 * - in every policy, a chunk that is neither eligible nor the first of a registered file is 404 (a real CAS
 *   indexes nothing else, xet-protocol.md §3.10), and so is the first chunk of a xorb no file starts with;
 * - the CLI flag `--dedup-answer` maps to the option, and a bad value is a usage error.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import * as core from "../../src/core/index.js";
import { parseShard } from "../../src/core/index.js";
import { parseServeArgs } from "../../server/src/cli.js";
import type { DedupAnswerPolicy } from "../../server/src/index.js";
import { manualShard, type KnownXorb } from "../helpers/cas.js";
import { seededBytes } from "../helpers/data.mjs";
import { call, casToken, postBucket, startTestHub, TEST_USERS, type TestHub } from "../helpers/hub.js";

const { alice } = TEST_USERS;
const LEN = 8192;

/** A chunk of `LEN` bytes derived from `seed` whose hash is (or is not) eligible for global dedup. */
function chunkWith(seed: number, eligible: boolean): { bytes: Uint8Array; hash: string } {
  const bytes = seededBytes(LEN, seed);
  for (let i = 0; ; i++) {
    bytes[0] = i & 0xff;
    bytes[1] = (i >> 8) & 0xff;
    bytes[2] = i >> 16;
    const hash = core.chunkHash(bytes);
    if (core.isGlobalDedupEligible(hash) === eligible) return { bytes, hash };
  }
}

/** A xorb of raw (uncompressed) records of the given chunks, with what the tests know of it. */
function xorbOf(chunks: Array<{ bytes: Uint8Array; hash: string }>): KnownXorb & { data: Uint8Array; chunkHashes: string[] } {
  const data = new Uint8Array(chunks.length * (8 + LEN));
  const hashes = new Uint8Array(chunks.length * 32);
  const lengths = new Uint32Array(chunks.length).fill(LEN);
  chunks.forEach((c, i) => {
    const at = i * (8 + LEN);
    data.set([0, LEN & 0xff, LEN >> 8, 0, 0, LEN & 0xff, LEN >> 8, 0], at);
    data.set(c.bytes, at + 8);
    hashes.set(core.hexToRaw(c.hash), i * 32);
  });
  return { hash: core.xorbHashFromChunks(hashes, lengths), hashes, lengths, data, chunkHashes: chunks.map((c) => c.hash) };
}

let a: ReturnType<typeof xorbOf>;
let b: ReturnType<typeof xorbOf>;
let c: ReturnType<typeof xorbOf>;

before(async () => {
  await core.initCore();
  let seed = 100;
  const plain = () => chunkWith(seed++, false);
  a = xorbOf([plain(), plain(), plain(), plain(), plain(), chunkWith(7, true), plain()]);
  b = xorbOf([plain(), plain()]);
  c = xorbOf([plain(), plain(), plain()]);
});

/** A hub with `policy`, holding the upload described in the module doc. */
async function hubWith(policy: DedupAnswerPolicy | undefined): Promise<{ hub: TestHub; tok: string }> {
  const hub = await startTestHub(policy === undefined ? {} : { dedupAnswer: policy });
  await postBucket(hub, "alice/d", alice.token);
  const tok = await casToken(hub, "alice/d", alice.token, "write");
  for (const x of [a, b, c]) {
    const r = await call(hub, "POST", `/v1/xorbs/default/${x.hash}`, { token: tok, body: x.data });
    assert.equal(r.status, 200, r.text);
  }
  const { shard } = manualShard(
    core,
    [
      [
        { xorb: a, start: 0, end: a.lengths.length },
        { xorb: b, start: 0, end: b.lengths.length },
      ],
      [{ xorb: c, start: 0, end: c.lengths.length }],
    ],
    [a, b, c],
  );
  const r = await call(hub, "POST", "/v1/shards", { token: tok, body: shard });
  assert.equal(r.status, 200, r.text);
  return { hub, tok };
}

/** The xorbs of the answer to a query about `chunk`, or the status when it is not 200. */
async function answer(hub: TestHub, tok: string, chunk: string): Promise<string[] | number> {
  const res = await call(hub, "GET", `/v1/chunks/default/${chunk}`, { token: tok });
  if (res.status !== 200) return res.status;
  return parseShard(res.bytes).xorbs.map((x) => x.hash);
}

describe("dedupAnswer policies", () => {
  const hubs: TestHub[] = [];
  after(async () => {
    for (const h of hubs) await h.close();
  });

  it("shard (the default): the chunk's xorb first, then the xorbs uploaded with it", async () => {
    const { hub, tok } = await hubWith(undefined);
    hubs.push(hub);
    const first = await answer(hub, tok, a.chunkHashes[0]!);
    assert.ok(Array.isArray(first));
    assert.equal(first[0], a.hash);
    assert.deepEqual([...first].sort(), [a.hash, b.hash, c.hash].sort());
    const eligible = await answer(hub, tok, a.chunkHashes[5]!);
    assert.ok(Array.isArray(eligible));
    assert.equal(eligible[0], a.hash);
    assert.equal(eligible.length, 3);
    const second = await answer(hub, tok, c.chunkHashes[0]!);
    assert.ok(Array.isArray(second));
    assert.equal(second[0], c.hash, "the first chunk of the second file");
  });

  it("xorb: only the xorb holding the chunk", async () => {
    const { hub, tok } = await hubWith("xorb");
    hubs.push(hub);
    assert.deepEqual(await answer(hub, tok, a.chunkHashes[0]!), [a.hash]);
    assert.deepEqual(await answer(hub, tok, a.chunkHashes[5]!), [a.hash]);
    assert.deepEqual(await answer(hub, tok, c.chunkHashes[0]!), [c.hash]);
  });

  it("none: 404 for every chunk", async () => {
    const { hub, tok } = await hubWith("none");
    hubs.push(hub);
    for (const h of [a.chunkHashes[0]!, a.chunkHashes[5]!, c.chunkHashes[0]!]) assert.equal(await answer(hub, tok, h), 404);
  });

  for (const policy of ["shard", "xorb"] as const) {
    it(`${policy}: a chunk neither eligible nor first of a file is not answered`, async () => {
      const { hub, tok } = await hubWith(policy);
      hubs.push(hub);
      // Chunks inside a file, and the first chunk of xorb B (which starts no file).
      for (const h of [a.chunkHashes[1]!, a.chunkHashes[6]!, b.chunkHashes[0]!, c.chunkHashes[2]!]) {
        assert.equal(await answer(hub, tok, h), 404, h);
      }
    });
  }

  it("refuses an unknown policy", async () => {
    await assert.rejects(startTestHub({ dedupAnswer: "all" as DedupAnswerPolicy }), /dedupAnswer must be "shard", "xorb" or "none"/);
  });

  it("the CLI's --dedup-answer sets the option", () => {
    assert.equal(parseServeArgs(["--dedup-answer", "xorb"]).options.dedupAnswer, "xorb");
    assert.equal(parseServeArgs(["--dedup-answer", "none"]).options.dedupAnswer, "none");
    assert.equal(parseServeArgs([]).options.dedupAnswer, undefined);
    assert.throws(() => parseServeArgs(["--dedup-answer", "some"]), /--dedup-answer expects shard, xorb or none/);
  });
});
