/**
 * The unmodified official JavaScript client (@huggingface/hub 2.17.5) against a local hub: createRepo
 * (bucket), uploadFiles, listFiles, pathsInfo, fileExists, downloadFile (bytes equal, also ranged
 * slices and multi-range fetches), deleteFiles, copyFiles, deleteRepo.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import * as hf from "@huggingface/hub";
import { batch, call, casToken, startTestHub, TEST_USERS, type TestHub } from "../helpers/hub.js";
import * as core from "../../src/core/index.js";
import { buildUpload, manualShard, pushUpload } from "../helpers/cas.js";
import { seededBytes } from "../helpers/data.mjs";

const { alice, bob } = TEST_USERS;

describe("official JavaScript client (@huggingface/hub 2.17.5)", () => {
  let hub: TestHub;
  const files = {
    "small.txt": new TextEncoder().encode("hello from the JS client\n"),
    "data/big.bin": seededBytes(2_500_000, 7),
    "data/nested/zeros.bin": new Uint8Array(1_200_000),
    "empty.bin": new Uint8Array(0),
  } as Record<string, Uint8Array>;

  before(async () => {
    hub = await startTestHub();
  });
  after(async () => {
    await hub?.close();
  });

  const repo = { type: "bucket", name: "alice/js" } as const;
  const common = () => ({ hubUrl: hub.url, accessToken: alice.token });

  it("createRepo creates a bucket and returns its url and id; a second call throws (409)", async () => {
    const out = await hf.createRepo({ repo, ...common() });
    assert.deepEqual(out, { repoUrl: `${hub.url}/buckets/alice/js`, id: "alice/js" });
    await assert.rejects(hf.createRepo({ repo, ...common() }), /already created/);
    assert.equal(await hf.repoExists({ repo, hubUrl: hub.url }), true);
    assert.equal(await hf.repoExists({ repo: { type: "bucket", name: "alice/none" }, hubUrl: hub.url }), false);
  });

  it("uploadFiles uploads through the CAS (xorbs + shard) then registers the paths", async () => {
    const xorbsBefore = hub.count("POST", "/v1/xorbs/");
    await hf.uploadFiles({
      repo,
      ...common(),
      files: Object.entries(files).map(([path, data]) => ({ path, content: new Blob([data as BlobPart]) })),
    });
    assert.ok(hub.count("POST", "/v1/xorbs/") > xorbsBefore);
    assert.ok(hub.count("POST", "/v1/shards") >= 1);
  });

  it("listFiles (recursive and not) and pathsInfo see the files with their sizes and xet hashes", async () => {
    const all = [];
    for await (const f of hf.listFiles({ repo, recursive: true, ...common() })) all.push(f);
    assert.deepEqual(all.map((f) => f.path).sort(), Object.keys(files).sort());
    for (const f of all) {
      assert.equal(f.type, "file");
      assert.equal(f.size, files[f.path]!.length);
      assert.match(f.xetHash ?? "", /^[0-9a-f]{64}$/);
    }
    const top = [];
    for await (const f of hf.listFiles({ repo, path: "data", ...common() })) top.push(`${f.type}:${f.path}`);
    assert.deepEqual(top.sort(), ["directory:data/nested", "file:data/big.bin"]);
    const info = await hf.pathsInfo({ repo, paths: ["small.txt", "missing.txt", "data"], ...common() });
    assert.deepEqual(
      info.map((i) => i.path),
      ["small.txt"],
    );
    assert.equal(info[0]!.size, files["small.txt"]!.length);
    assert.equal(await hf.fileExists({ repo, path: "data/big.bin", ...common() }), true);
    assert.equal(await hf.fileExists({ repo, path: "nope.bin", ...common() }), false);
  });

  it("downloadFile returns the uploaded bytes after a restart (through the CAS, v2 reconstructions and fetch URLs)", async () => {
    await hub.restart();
    for (const [path, data] of Object.entries(files)) {
      const blob = await hf.downloadFile({ repo, path, ...common() });
      assert.ok(blob, path);
      assert.deepEqual(new Uint8Array(await blob.arrayBuffer()), data, path);
    }
    const slice = await (await hf.downloadFile({ repo, path: "data/big.bin", ...common() }))!.slice(1_000_000, 1_300_000).arrayBuffer();
    assert.deepEqual(new Uint8Array(slice), files["data/big.bin"]!.subarray(1_000_000, 1_300_000));
    assert.equal(await hf.downloadFile({ repo, path: "nope.bin", ...common() }), null);
    assert.ok(hub.count("GET", "/v2/reconstructions/") > 0);
    assert.ok(hub.count("GET", "/fetch/") > 0);
  });

  it("downloadFile of a file whose terms use separate runs of one xorb (multi-range fetch, multipart/byteranges)", async () => {
    await core.initCore();
    const built = await buildUpload([seededBytes(1_200_000, 8)], { maxXorbBytes: 2 * 1024 * 1024 });
    const tok = await casToken(hub, "alice/js", alice.token, "write");
    await pushUpload(hub, tok, built);
    const x = built.xorbs[0]!;
    const info = core.parseXorb(x.data, x.hash);
    const known = { hash: x.hash, hashes: info.hashes, lengths: info.lengths };
    const runs: Array<[number, number]> = [
      [0, 2],
      [4, 6],
      [8, 9],
    ];
    const m = manualShard(core, [runs.map(([start, end]) => ({ xorb: known, start, end }))]);
    assert.equal((await call(hub, "POST", "/v1/shards", { token: tok, body: m.shard })).status, 200);
    assert.equal(
      (await batch(hub, "alice/js", alice.token, [{ type: "addFile", path: "runs.bin", xetHash: m.fileHashes[0] }])).status,
      200,
    );
    const decoded = core.decodeChunkRecords(x.data);
    const offsets = [0];
    for (const l of decoded.lengths) offsets.push(offsets.at(-1)! + l);
    const expected = Buffer.concat(runs.map(([a, b]) => decoded.data.subarray(offsets[a]!, offsets[b]!)));
    const multiBefore = hub.requests.filter((r) => r.path.startsWith("/fetch/")).length;
    const blob = await hf.downloadFile({ repo, path: "runs.bin", ...common() });
    assert.deepEqual(Buffer.from(await blob!.arrayBuffer()), expected);
    assert.equal(
      hub.requests.filter((r) => r.path.startsWith("/fetch/")).length - multiBefore,
      1,
      "one multi-range request for the three runs",
    );
  });

  it("copyFiles copies server-side into another bucket (bob reads alice's public bucket)", async () => {
    await hf.createRepo({ repo: { type: "bucket", name: "bob/js-copy" }, hubUrl: hub.url, accessToken: bob.token });
    const xorbs = hub.count("POST", "/v1/xorbs/");
    await hf.copyFiles({
      destination: { type: "bucket", name: "bob/js-copy" },
      files: [
        { source: { repo, path: "data/big.bin" }, destinationPath: "copied/big.bin" },
        { source: { repo, path: "small.txt" }, destinationPath: "small-copy.txt" },
      ],
      hubUrl: hub.url,
      accessToken: bob.token,
    });
    assert.equal(hub.count("POST", "/v1/xorbs/"), xorbs, "no data transfer");
    const blob = await hf.downloadFile({
      repo: { type: "bucket", name: "bob/js-copy" },
      path: "copied/big.bin",
      hubUrl: hub.url,
      accessToken: bob.token,
    });
    assert.deepEqual(new Uint8Array(await blob!.arrayBuffer()), files["data/big.bin"]);
  });

  it("deleteFiles removes paths; deleteRepo removes the bucket", async () => {
    await hf.deleteFiles({ repo, paths: ["small.txt", "data/nested/zeros.bin"], ...common() });
    const left = [];
    for await (const f of hf.listFiles({ repo, recursive: true, ...common() })) left.push(f.path);
    assert.deepEqual(left.sort(), ["data/big.bin", "empty.bin", "runs.bin"]);
    await assert.rejects(hf.deleteFiles({ repo, paths: ["not-there.bin"], ...common() }), /not-there\.bin: File not found/);
    await hf.deleteRepo({ repo, ...common() });
    assert.equal(await hf.repoExists({ repo, hubUrl: hub.url }), false);
  });
});
