/**
 * Durability: everything survives a restart on the same data directory (files, CAS registry, dedup
 * index, CAS tokens), and crashes — a failing transaction, or a process killed at the worst moments —
 * leave no half state.
 */
import assert from "node:assert/strict";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { decodeChunkRecords, rawToHex } from "../../src/core/index.js";
import { startLocalHub } from "../../server/src/index.js";
import { batch, call, casToken, postBucket, startHubChild, startTestHub, TEST_USERS } from "../helpers/hub.js";
import { buildUpload, casDownload, pushUpload, uploadWithCore } from "../helpers/cas.js";
import { seededBytes } from "../helpers/data.mjs";
import { snapshot } from "../helpers/hub-state.js";

const { alice } = TEST_USERS;

describe("restart", () => {
  it("keeps buckets, files, reconstructions, the dedup index and CAS tokens across a restart", async () => {
    const hub = await startTestHub();
    try {
      await postBucket(hub, "alice/keep", alice.token, { private: true });
      const content = seededBytes(1_500_000, 60);
      const [f] = await uploadWithCore(
        hub,
        "alice/keep",
        alice.token,
        [{ path: "deep/dir/file.bin", data: content, mtime: 1_600_000_000_000 }],
        { maxXorbBytes: 512 * 1024 },
      );
      const readTok = await casToken(hub, "alice/keep", alice.token, "read");
      const before = snapshot(hub.dataDir);

      await hub.restart();

      assert.equal(snapshot(hub.dataDir), before, "identical store after the restart");
      const info = await call(hub, "GET", "/api/buckets/alice/keep", { token: alice.token });
      assert.equal(info.json.totalFiles, 1);
      assert.equal(info.json.size, content.length);
      const tree = await call(hub, "GET", "/api/buckets/alice/keep/tree?recursive=true", { token: alice.token });
      assert.deepEqual(
        tree.json.map((e: any) => [e.path, e.xetHash, e.mtime]),
        [["deep/dir/file.bin", f!.hash, "2020-09-13T12:26:40.000Z"]],
      );
      // A token issued before the restart still works (the signing secret is persisted).
      assert.deepEqual(await casDownload(hub, readTok, f!.hash), content);
      const resolved = await call(hub, "GET", "/buckets/alice/keep/resolve/deep/dir/file.bin", {
        token: alice.token,
        headers: { Range: "bytes=1000-1999" },
      });
      assert.deepEqual(resolved.bytes, content.subarray(1000, 2000));
      // The dedup index survived: the first chunk of the file is still answered.
      const built = await buildUpload([content], { maxXorbBytes: 512 * 1024 });
      const first = rawToHex(decodeChunkRecords(built.xorbs[0]!.data).hashes.subarray(0, 32));
      assert.equal((await call(hub, "GET", `/v1/chunks/default/${first}`, { token: readTok })).status, 200);
    } finally {
      await hub.close();
    }
  });

  it("refuses a second hub on a data directory in use", async () => {
    const hub = await startTestHub();
    try {
      await assert.rejects(startLocalHub({ dataDir: hub.dataDir, users: [{ name: "x", token: "hf_xxxxxxxxxx" }] }), /used by another hub/);
    } finally {
      await hub.close();
    }
  });
});

describe("failed transactions", () => {
  it("a failure inside a transaction (batch, shard, xorb) rolls everything back", async () => {
    let failOn: string | undefined;
    const hub = await startTestHub({
      testHooks: {
        beforeCommit: (what) => {
          if (what === failOn) throw new Error(`injected failure in ${what}`);
        },
      },
    });
    try {
      await postBucket(hub, "alice/tx", alice.token);
      const writeTok = await casToken(hub, "alice/tx", alice.token, "write");
      const built = await buildUpload([seededBytes(400_000, 61)]);
      const before = snapshot(hub.dataDir);

      failOn = "xorb";
      const x = built.xorbs[0]!;
      assert.equal((await call(hub, "POST", `/v1/xorbs/default/${x.hash}`, { token: writeTok, body: x.data })).status, 500);
      assert.equal(snapshot(hub.dataDir), before, "no xorb file and no row");

      failOn = undefined;
      await pushUpload(hub, writeTok, { ...built, shards: [] });
      const withXorb = snapshot(hub.dataDir);
      failOn = "shard";
      const sh = await call(hub, "POST", "/v1/shards", { token: writeTok, body: built.shards[0] });
      assert.equal(sh.status, 500);
      assert.match(sh.json.error, /internal error/);
      const sh2 = await call(hub, "POST", "/v2/shards", { token: writeTok, body: built.shards[0] });
      assert.equal(sh2.status, 200);
      assert.equal(JSON.parse(sh2.text.trim().split("\n").pop()!).type, "error", "v2 reports the failure as its terminal event");
      assert.equal(snapshot(hub.dataDir), withXorb, "no file registered");

      failOn = undefined;
      await pushUpload(hub, writeTok, { ...built, xorbs: [] });
      const registered = snapshot(hub.dataDir);
      failOn = "batch";
      const b = await batch(hub, "alice/tx", alice.token, [
        { type: "addFile", path: "a.bin", xetHash: built.files[0]!.hash },
        { type: "addFile", path: "b.bin", xetHash: built.files[0]!.hash },
      ]);
      assert.equal(b.status, 500);
      assert.equal(snapshot(hub.dataDir), registered, "no path registered");
    } finally {
      await hub.close();
    }
  });
});

describe("killed processes", () => {
  for (const mode of ["xorb-temp", "xorb-commit", "batch-commit"] as const) {
    it(`a hub killed (SIGKILL) at ${mode} restarts with no half state`, async () => {
      const dataDir = await mkdtemp(join(tmpdir(), "xet-crash-"));
      try {
        const c = await startHubChild(dataDir, { crashAt: mode });
        const h = { url: c.url };
        const built = await buildUpload([seededBytes(200_000, 70)]);
        assert.equal((await call(h, "POST", "/api/buckets/alice/crash", { token: alice.token, body: {} })).status, 200);
        const tokRes = await call(h, "GET", "/api/buckets/alice/crash/xet-write-token", { token: alice.token });
        const writeTok = tokRes.json.accessToken as string;
        const x = built.xorbs[0]!;
        if (mode === "batch-commit") {
          const ok = await call(h, "POST", `/v1/xorbs/default/${x.hash}`, { token: writeTok, body: x.data });
          assert.equal(ok.status, 200);
          assert.equal((await call(h, "POST", "/v1/shards", { token: writeTok, body: built.shards[0] })).status, 200);
          await assert.rejects(
            call(h, "POST", "/api/buckets/alice/crash/batch", {
              token: alice.token,
              body: `${JSON.stringify({ type: "addFile", path: "lost.bin", xetHash: built.files[0]!.hash })}\n`,
            }),
          );
        } else {
          await assert.rejects(call(h, "POST", `/v1/xorbs/default/${x.hash}`, { token: writeTok, body: x.data }));
        }
        assert.equal(await c.exited, "SIGKILL");
        if (mode === "xorb-temp") assert.equal((await readdir(join(dataDir, "tmp"))).length, 1, "the crash left a temp file");
        if (mode === "xorb-commit")
          assert.equal((await readdir(join(dataDir, "xorbs"), { recursive: true })).length, 2, "and an orphan xorb");

        const hub = await startTestHub({ dataDir });
        try {
          assert.deepEqual(await readdir(join(dataDir, "tmp")), [], "temp files cleaned at start");
          const tok = await casToken(hub, "alice/crash", alice.token, "write");
          if (mode === "batch-commit") {
            const tree = await call(hub, "GET", "/api/buckets/alice/crash/tree?recursive=true", { token: alice.token });
            assert.deepEqual(tree.json, [], "the interrupted batch left nothing");
            const info = await call(hub, "GET", "/api/buckets/alice/crash", { token: alice.token });
            assert.equal(info.json.totalFiles, 0);
            // the CAS part committed before the crash is intact
            assert.equal((await call(hub, "HEAD", `/v1/files/${built.files[0]!.hash}`, { token: tok })).status, 200);
            const retry = await batch(hub, "alice/crash", alice.token, [
              { type: "addFile", path: "lost.bin", xetHash: built.files[0]!.hash },
            ]);
            assert.equal(retry.status, 200, retry.text);
          } else {
            assert.deepEqual(
              await readdir(join(dataDir, "xorbs"), { recursive: true }).then((l) => l.filter((p) => p.includes(x.hash))),
              [],
              "no orphan xorb",
            );
            assert.equal((await call(hub, "HEAD", `/v1/xorbs/default/${x.hash}`, { token: tok })).status, 404);
            const sh = await call(hub, "POST", "/v1/shards", { token: tok, body: built.shards[0] });
            assert.equal(sh.status, 400, "a shard cannot reference the lost xorb");
            await pushUpload(hub, tok, built);
          }
          assert.deepEqual(await casDownload(hub, tok, built.files[0]!.hash), seededBytes(200_000, 70));
        } finally {
          await hub.close();
        }
      } finally {
        await rm(dataDir, { recursive: true, force: true });
      }
    });
  }
});
