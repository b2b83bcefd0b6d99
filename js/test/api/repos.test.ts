/**
 * Buckets ↔ repositories through this package (issue 15), against a real local hub:
 * - `uploadFiles` / `commit` into model and dataset repositories: one commit, LFS files through the
 *   deduplicating pipeline with their SHA-256, small text files inline, unchanged files left out;
 * - import (repository → bucket): `copyFiles`, `copyFolder` and `xet-buckets cp` copy Xet files by hash (the
 *   store does not grow, the Xet hash is kept); small regular files are downloaded and uploaded;
 * - promote (bucket → repository): a 64 MiB checkpoint and a folder of shards into a model and a dataset, one
 *   commit each, the store growing by far less than 1 % of the bytes, the official Python client downloading
 *   them byte-identical; progress events, `--commit-message`, the cp rules for folders;
 * - errors: no write access, a missing source, an abort: nothing committed.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readdirSync, statSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { createBucket, createRepo } from "../../src/api/buckets.js";
import { copyFiles, copyFilesIter, copyFolder, listFiles, pathsInfo, type CopyEvent } from "../../src/api/files.js";
import { commit, uploadFiles } from "../../src/api/upload.js";
import { EntryNotFoundError, HubApiError, InvalidArgumentError, RepoNotFoundError } from "../../src/errors.js";
import { cliRunner, hasPythonClients, ok, requireBuiltCli, runPython, type CliRunner } from "../helpers/clients.js";
import { MiB, seededBytes } from "../helpers/data.mjs";
import { startTestHub, TEST_USERS, type TestHub } from "../helpers/hub.js";

const { alice, bob } = TEST_USERS;
const SCRIPT = join(import.meta.dirname, "..", "server", "py", "repos.py");
const sha256 = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

/** Bytes of the xorb files of a hub's data directory (what the CAS stores). */
function xorbBytes(dataDir: string): number {
  let n = 0;
  const root = join(dataDir, "xorbs");
  for (const d of readdirSync(root)) for (const f of readdirSync(join(root, d))) n += statSync(join(root, d, f)).size;
  return n;
}

/** Bytes of the whole data directory (xorbs and database). */
function storeBytes(dataDir: string): number {
  let n = 0;
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (e.isDirectory()) walk(join(d, e.name));
      else n += statSync(join(d, e.name)).size;
    }
  };
  walk(dataDir);
  return n;
}

async function resolveBytes(
  hub: TestHub,
  url: string,
  token = alice.token,
): Promise<{ status: number; bytes: Uint8Array; headers: Headers }> {
  const res = await fetch(`${hub.url}${url}`, { headers: { Authorization: `Bearer ${token}` } });
  return { status: res.status, bytes: new Uint8Array(await res.arrayBuffer()), headers: res.headers };
}

describe("buckets ↔ repositories", () => {
  let hub: TestHub;
  let work: string;
  let cli: CliRunner;
  const opts = () => ({ hubUrl: hub.url, accessToken: alice.token });

  before(async () => {
    requireBuiltCli();
    hub = await startTestHub();
    work = await mkdtemp(join(tmpdir(), "xet-repos-api-"));
    cli = await cliRunner(hub.url, alice.token);
    await createBucket("alice/ckpt", opts());
    await createRepo({ repo: "models/alice/promoted", ...opts() });
    await createRepo({ repo: { type: "dataset", name: "alice/shards" }, ...opts() });
  });
  after(async () => {
    await cli?.cleanup();
    await hub?.close();
    if (work) await rm(work, { recursive: true, force: true });
  });

  /** The official client downloads `files` (path → bytes) from a repository and compares their SHA-256. */
  async function pythonChecks(repoType: string, repoId: string, files: Record<string, Uint8Array>) {
    if (!hasPythonClients()) return;
    const dir = await mkdtemp(join(work, "py-"));
    await writeFile(
      join(dir, "expect.json"),
      JSON.stringify({ repo_id: repoId, files: Object.fromEntries(Object.entries(files).map(([p, b]) => [p, sha256(b)])) }),
    );
    const res = await runPython(hub.url, alice.token, [SCRIPT, "check-download", dir, repoType], { timeoutMs: 240_000 });
    assert.equal(res.code, 0, `${res.stdout}\n${res.stderr}`);
  }

  describe("uploadFiles and commit into repositories", () => {
    it("one commit: LFS files through the pipeline (with their SHA-256), small text inline, title and description", async () => {
      await createRepo({ repo: "models/alice/up", ...opts() });
      const weights = seededBytes(3 * MiB + 7, 1);
      const res = await uploadFiles({
        repo: "models/alice/up",
        files: [
          { path: "w/model.bin", content: weights },
          { path: "config.json", content: new Blob(['{"layers": 2}']) },
          // .gitattributes sends *.bin to LFS, but an empty file is always regular.
          { path: "empty.bin", content: new Uint8Array(0) },
          {
            path: "notes.txt",
            content: (async function* () {
              yield new TextEncoder().encode("a stream of unknown size\n");
            })(),
          },
        ],
        commitTitle: "first weights",
        commitDescription: "from the test",
        ...opts(),
      });
      assert.match(res.commit?.oid ?? "", /^[0-9a-f]{40}$/);
      assert.equal(res.files, 1, "one LFS file went through the pipeline");
      assert.ok(res.bytesSent > 0);
      const entries = new Map<string, { lfs?: { oid: string }; xetHash?: string }>();
      for await (const e of listFiles({ repo: "models/alice/up", recursive: true, ...opts() })) entries.set(e.path, e);
      assert.equal(entries.get("w/model.bin")?.lfs?.oid, sha256(weights));
      assert.equal(entries.get("w/model.bin")?.xetHash, res.perFile[0]!.xetHash);
      assert.equal(entries.get("config.json")?.lfs, undefined, "small text is a regular file");
      assert.equal(entries.get("empty.bin")?.lfs, undefined, "an empty file is a regular file");
      assert.equal((await resolveBytes(hub, "/alice/up/resolve/main/empty.bin")).bytes.length, 0);
      const commits = await (
        await fetch(`${hub.url}/api/models/alice/up/commits/main`, { headers: { Authorization: `Bearer ${alice.token}` } })
      ).json();
      assert.equal(commits[0].title, "first weights");
      assert.equal(commits[0].message, "from the test");
      assert.deepEqual(
        (await resolveBytes(hub, "/alice/up/resolve/main/notes.txt")).bytes,
        new TextEncoder().encode("a stream of unknown size\n"),
      );
      await pythonChecks("model", "alice/up", { "w/model.bin": weights });

      // Again with one change: the unchanged file is left out and sends nothing; a delete in the same commit.
      const again = await commit({
        repo: "hf://models/alice/up",
        operations: [
          { operation: "addOrUpdate", path: "w/model.bin", content: weights },
          { operation: "addOrUpdate", path: "w/other.bin", content: weights.subarray(0, MiB) },
          { operation: "delete", path: "notes.txt" },
        ],
        title: "second",
        ...opts(),
      });
      assert.deepEqual(again.unchanged, ["w/model.bin"]);
      // The prefix ends inside a chunk of the original: that last chunk is new, the rest is deduplicated.
      assert.ok(again.bytesSent < 128 * 1024, `sent ${again.bytesSent}`);
      assert.equal(again.deleted, 1);
      assert.equal((await resolveBytes(hub, "/alice/up/resolve/main/notes.txt")).status, 404);
      // Nothing changed at all: no commit.
      const same = await uploadFiles({ repo: "models/alice/up", files: [{ path: "w/model.bin", content: weights }], ...opts() });
      assert.equal(same.commit, undefined);
    });

    it("refuses copy operations, pull requests and useXet: false for repositories, before any request", async () => {
      const before = hub.requests.length;
      const copy = await commit({
        repo: "datasets/alice/shards",
        operations: [{ operation: "copy", path: "x", sourceXetHash: "ab".repeat(32), sourceRepo: "buckets/alice/ckpt" }],
        ...opts(),
      }).catch((e) => e);
      assert.ok(copy instanceof InvalidArgumentError && /copyFiles/.test(copy.message), String(copy));
      await assert.rejects(uploadFiles({ repo: "datasets/alice/shards", files: [], isPullRequest: true, ...opts() }), InvalidArgumentError);
      await assert.rejects(uploadFiles({ repo: "datasets/alice/shards", files: [], useXet: false, ...opts() }), InvalidArgumentError);
      assert.equal(hub.requests.length, before);
    });

    it("without write access nothing is read and nothing is committed", async () => {
      const big = seededBytes(2 * MiB, 9);
      for (const accessToken of [alice.readToken, bob.token]) {
        const before = hub.count("POST", "/api/models/alice/promoted/preupload/");
        const err = await uploadFiles({
          repo: "models/alice/promoted",
          files: [{ path: "x.bin", content: big }],
          hubUrl: hub.url,
          accessToken,
        }).catch((e) => e);
        assert.ok(err instanceof HubApiError, String(err));
        assert.equal(err.statusCode, 403);
        assert.equal(hub.count("POST", "/api/models/alice/promoted/preupload/"), before, "stopped at the write token");
      }
      const missing = await uploadFiles({ repo: "models/alice/never", files: [{ path: "x.bin", content: big }], ...opts() }).catch(
        (e) => e,
      );
      assert.ok(missing instanceof RepoNotFoundError, String(missing));
    });
  });

  describe("promote: bucket → repository", () => {
    const checkpoint = seededBytes(64 * MiB, 21);
    const shards = [0, 1, 2, 3].map((i) => seededBytes(4 * MiB + i * 1000, 100 + i));

    before(async () => {
      await uploadFiles({
        repo: "buckets/alice/ckpt",
        files: [
          { path: "run/step-100/model.safetensors", content: checkpoint },
          { path: "run/step-100/config.json", content: new Blob(['{"step": 100}']) },
          ...shards.map((s, i) => ({ path: `processed/part-${i}.parquet`, content: s })),
        ],
        ...opts(),
      });
    });

    it("a 64 MiB checkpoint into a model: one commit, the store grows < 1 %, byte-identical for the official client", async () => {
      const xorbs = xorbBytes(hub.dataDir);
      const store = storeBytes(hub.dataDir);
      const events: CopyEvent[] = [];
      const it = copyFilesIter({
        destination: "models/alice/promoted",
        files: [
          { source: { repo: "buckets/alice/ckpt", path: "run/step-100/model.safetensors" }, destinationPath: "model.safetensors" },
          { source: { repo: "hf://buckets/alice/ckpt/run", path: "step-100/config.json" }, destinationPath: "config.json" },
        ],
        commitTitle: "Promote step 100",
        ...opts(),
      });
      let result;
      for (;;) {
        const r = await it.next();
        if (r.done) {
          result = r.value;
          break;
        }
        events.push(r.value);
      }
      assert.ok(result?.commit, "a commit was made");
      assert.equal(xorbBytes(hub.dataDir), xorbs, "no xorb stored: every chunk was in the store");
      const grew = storeBytes(hub.dataDir) - store;
      assert.ok(grew < 0.01 * checkpoint.length, `the store grew by ${grew} bytes`);
      assert.ok(result.bytesSent < 0.01 * checkpoint.length, `sent ${result.bytesSent}`);
      assert.ok(
        events.some((e) => e.event === "bytes"),
        "progress events",
      );
      assert.deepEqual(
        events.filter((e) => e.event === "phase").map((e) => (e as { phase: string }).phase),
        ["preuploading", "uploadingLargeFiles", "uploadingShards", "committing"],
      );
      const [info] = await pathsInfo({ repo: "models/alice/promoted", paths: ["model.safetensors"], ...opts() });
      assert.equal(info!.lfs?.oid, sha256(checkpoint));
      const [src] = await pathsInfo({ repo: "buckets/alice/ckpt", paths: ["run/step-100/model.safetensors"], ...opts() });
      assert.equal(info!.xetHash, src!.xetHash, "the same Xet file");
      const commits = await (
        await fetch(`${hub.url}/api/models/alice/promoted/commits/main`, { headers: { Authorization: `Bearer ${alice.token}` } })
      ).json();
      assert.equal(commits[0].title, "Promote step 100");
      await pythonChecks("model", "alice/promoted", {
        "model.safetensors": checkpoint,
        "config.json": new TextEncoder().encode('{"step": 100}'),
      });
    });

    it("a folder of shards into a dataset with `xet-buckets cp --commit-message`: one commit, nested per the cp rules", async () => {
      const xorbs = xorbBytes(hub.dataDir);
      const out = JSON.parse(
        ok(await cli(["cp", "hf://buckets/alice/ckpt/processed", "hf://datasets/alice/shards/data/", "-m", "Add shards", "--json"])),
      );
      assert.equal(out.files, shards.length);
      assert.match(out.commit, /^[0-9a-f]{40}$/);
      assert.equal(xorbBytes(hub.dataDir), xorbs);
      // data/ did not exist: the folder's contents went there; now it exists, so a second cp nests the folder.
      ok(await cli(["cp", "hf://buckets/alice/ckpt/processed", "hf://datasets/alice/shards/data", "--json"]));
      // A trailing slash on the source copies its contents into the existing folder (rsync style).
      const third = JSON.parse(ok(await cli(["cp", "hf://buckets/alice/ckpt/processed/", "hf://datasets/alice/shards/data", "--json"])));
      assert.equal(third.commit, undefined, "same content at the same paths: nothing to commit");
      assert.equal(third.unchanged, shards.length);
      const paths: string[] = [];
      for await (const e of listFiles({ repo: "datasets/alice/shards", recursive: true, ...opts() }))
        if (e.type === "file") paths.push(e.path);
      assert.deepEqual(
        paths.sort(),
        [
          ".gitattributes",
          ...shards.map((_, i) => `data/part-${i}.parquet`),
          ...shards.map((_, i) => `data/processed/part-${i}.parquet`),
        ].sort(),
      );
      const commits = await (
        await fetch(`${hub.url}/api/datasets/alice/shards/commits/main`, { headers: { Authorization: `Bearer ${alice.token}` } })
      ).json();
      assert.equal(commits.at(-2).title, "Add shards");
      await pythonChecks("dataset", "alice/shards", Object.fromEntries(shards.map((s, i) => [`data/processed/part-${i}.parquet`, s])));
    });

    it("a missing source, a read token, an abort: nothing committed", async () => {
      const head = async () =>
        (await (await fetch(`${hub.url}/api/models/alice/promoted`, { headers: { Authorization: `Bearer ${alice.token}` } })).json()).sha;
      const sha = await head();
      const missing = await copyFiles({
        destination: "models/alice/promoted",
        files: [
          { source: { repo: "buckets/alice/ckpt", path: "run/step-100/model.safetensors" }, destinationPath: "a.bin" },
          { source: { repo: "buckets/alice/ckpt", path: "run/step-999/model.safetensors" }, destinationPath: "b.bin" },
        ],
        ...opts(),
      }).catch((e) => e);
      assert.ok(missing instanceof EntryNotFoundError, String(missing));
      const readOnly = await copyFolder({
        source: { repo: "buckets/alice/ckpt", path: "processed" },
        destination: { repo: "models/alice/promoted", path: "p" },
        hubUrl: hub.url,
        accessToken: alice.readToken,
      }).catch((e) => e);
      assert.equal(readOnly.statusCode, 403);
      const ac = new AbortController();
      const it = copyFilesIter({
        destination: "models/alice/promoted",
        files: [{ source: { repo: "buckets/alice/ckpt", path: "run/step-100/model.safetensors" }, destinationPath: "aborted.bin" }],
        abortSignal: ac.signal,
        ...opts(),
      });
      const aborted = await (async () => {
        for await (const ev of it) if (ev.event === "bytes" && ev.processed > 0) ac.abort(new Error("stop"));
      })().catch((e) => e);
      assert.equal(aborted?.message, "stop");
      assert.equal(await head(), sha, "no commit");
      const cliMissing = await cli(["cp", "hf://buckets/alice/ckpt/nothing-here", "hf://models/alice/promoted/"]);
      assert.equal(cliMissing.code, 1);
      assert.match(cliMissing.stderr, /no files found/);
    });
  });

  describe("import: repository → bucket", () => {
    let wHash = "";
    let wSize = 0;
    before(async () => {
      const w = seededBytes(5 * MiB + 11, 77);
      await createRepo({ repo: "models/alice/import-src", ...opts() });
      const res = await uploadFiles({
        repo: "models/alice/import-src",
        files: [
          { path: "w.bin", content: w },
          { path: "cfg/config.json", content: new Blob(['{"import": true}']) },
        ],
        ...opts(),
      });
      wHash = res.perFile[0]!.xetHash;
      wSize = w.length;
    });

    it("xet-buckets cp hf://models/ns/m/w.bin hf://buckets/ns/b/w.bin: the store grows by nothing, the Xet hash is kept", async () => {
      const xorbs = xorbBytes(hub.dataDir);
      const shardsBefore = hub.count("POST", "/v1/shards") + hub.count("POST", "/v2/shards");
      ok(await cli(["cp", "hf://models/alice/import-src/w.bin", "hf://buckets/alice/ckpt/w.bin"]));
      assert.equal(xorbBytes(hub.dataDir), xorbs);
      assert.equal(hub.count("POST", "/v1/shards") + hub.count("POST", "/v2/shards"), shardsBefore, "server-side: no upload at all");
      const [info] = await pathsInfo({ repo: "buckets/alice/ckpt", paths: ["w.bin"], ...opts() });
      assert.equal(info!.xetHash, wHash);
      assert.equal(info!.size, wSize);
    });

    it("copyFolder from a model: Xet files by hash, small regular files downloaded and uploaded, .gitattributes left out", async () => {
      const events: CopyEvent[] = [];
      const res = await copyFolder({
        source: { repo: "alice/import-src" },
        destination: { repo: "buckets/alice/ckpt", path: "from-model" },
        ...opts(),
      });
      assert.ok(res, "regular files were uploaded");
      const paths: string[] = [];
      for await (const e of listFiles({ repo: "buckets/alice/ckpt", path: "from-model", recursive: true, ...opts() })) paths.push(e.path);
      assert.deepEqual(paths, ["from-model/cfg/config.json", "from-model/w.bin"]);
      assert.deepEqual(
        (await resolveBytes(hub, "/buckets/alice/ckpt/resolve/from-model/cfg/config.json")).bytes,
        new TextEncoder().encode('{"import": true}'),
      );
      for await (const e of copyFilesIter({
        destination: "hf://buckets/alice/ckpt/single",
        files: [{ source: { repo: { type: "model", name: "alice/import-src" }, path: "cfg/config.json" }, destinationPath: "c.json" }],
        ...opts(),
      }))
        events.push(e);
      assert.ok(
        events.some((e) => e.event === "fileDownloaded"),
        "the regular file was downloaded",
      );
      const notThere = await copyFiles({
        destination: "buckets/alice/ckpt",
        files: [{ source: { repo: "models/alice/import-src", path: "nope.bin" }, destinationPath: "x" }],
        ...opts(),
      }).catch((e) => e);
      assert.ok(notThere instanceof EntryNotFoundError);
      const folder = await copyFiles({
        destination: "buckets/alice/ckpt",
        files: [{ source: { repo: "models/alice/import-src", path: "cfg" }, destinationPath: "x" }],
        ...opts(),
      }).catch((e) => e);
      assert.ok(folder instanceof InvalidArgumentError && /copyFolder/.test(folder.message));
    });

    it("a revision: files as they were at a commit", async () => {
      const commits = await (
        await fetch(`${hub.url}/api/models/alice/import-src/commits/main`, { headers: { Authorization: `Bearer ${alice.token}` } })
      ).json();
      await commit({
        repo: "models/alice/import-src",
        operations: [{ operation: "addOrUpdate", path: "cfg/config.json", content: new Blob(["v2"]) }],
        ...opts(),
      });
      await copyFiles({
        destination: "buckets/alice/ckpt",
        files: [
          { source: { repo: `hf://models/alice/import-src@${commits[0].id}`, path: "cfg/config.json" }, destinationPath: "old.json" },
        ],
        ...opts(),
      });
      assert.deepEqual(
        (await resolveBytes(hub, "/buckets/alice/ckpt/resolve/old.json")).bytes,
        new TextEncoder().encode('{"import": true}'),
      );
    });
  });
});
