/**
 * The local hub's model and dataset repositories (issue 15): the unmodified official clients
 * (huggingface_hub 2.4 + hf_xet: create_repo, upload_file, upload_folder, hf_hub_download, snapshot_download,
 * list_repo_files, list_repo_commits…; @huggingface/hub: uploadFiles then downloadFile), and the Hub API
 * details they rely on, over plain HTTP: resolve headers, revisions, commit checks (all or nothing), the
 * 401/404 rules, repository sources in bucket batches, and the store migration of data directories.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import * as hf from "@huggingface/hub";
import { initCore, UploadSession } from "../../src/core/index.js";
import { loadSqlite } from "../../server/src/store.js";
import { casDownload, pushUpload, uploadWithCore, type BuiltUpload } from "../helpers/cas.js";
import { hasPythonClients, runPython } from "../helpers/clients.js";
import { seededBytes } from "../helpers/data.mjs";
import { batch, call, postBucket, startTestHub, TEST_USERS, type TestHub } from "../helpers/hub.js";

const SCRIPT = join(import.meta.dirname, "py", "repos.py");
const { alice, bob } = TEST_USERS;
const sha256 = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");
const gitBlob = (b: Uint8Array) => createHash("sha1").update(`blob ${b.length}\0`).update(b).digest("hex");

/** Xorbs and a shard for `datas` whose file entries carry their SHA-256 (as hf_xet uploads to repositories). */
async function buildRepoUpload(datas: Uint8Array[]): Promise<BuiltUpload & { sha256: string[] }> {
  await initCore();
  const s = new UploadSession({ compression: "lz4" });
  const out: BuiltUpload & { sha256: string[] } = { files: [], xorbs: [], shards: [], sha256: [] };
  const take = () => {
    for (let x = s.takeXorb(); x; x = s.takeXorb()) out.xorbs.push({ hash: x.hash, data: x.data, chunkCount: x.chunkCount });
  };
  try {
    for (const data of datas) {
      s.startFile(true);
      s.push(data);
      for (const q of s.takeQueries()) s.answerQuery(q, undefined);
      const r = s.finishFile();
      out.files.push({ hash: r.hash, size: r.size });
      out.sha256.push(r.sha256!);
      take();
    }
    s.flushXorb();
    take();
    for (let sh = s.takeShard(); sh; sh = s.takeShard()) out.shards.push(sh);
  } finally {
    s.free();
  }
  return out;
}

const ndjson = (lines: unknown[]) => lines.map((l) => JSON.stringify(l)).join("\n") + "\n";
const header = (summary: string, extra: Record<string, unknown> = {}) => ({ key: "header", value: { summary, description: "", ...extra } });
const fileLine = (path: string, content: Uint8Array) => ({
  key: "file",
  value: { path, content: Buffer.from(content).toString("base64"), encoding: "base64" },
});

describe("local hub: model and dataset repositories", () => {
  let hub: TestHub;
  let work: string;
  before(async () => {
    hub = await startTestHub();
    work = await mkdtemp(join(tmpdir(), "xet-repos-"));
  });
  after(async () => {
    await hub?.close();
    if (work) await rm(work, { recursive: true, force: true });
  });

  async function commit(repo: string, token: string, lines: unknown[], rev = "main") {
    return call(hub, "POST", `/api/${repo}/commit/${rev}`, {
      token,
      body: ndjson(lines),
      headers: { "Content-Type": "application/x-ndjson" },
    });
  }
  async function createRepo(id: string, type = "model", token: string = alice.token, body: Record<string, unknown> = {}) {
    const [organization, name] = id.split("/");
    const r = await call(hub, "POST", "/api/repos/create", { token, body: { name, organization, type, ...body } });
    assert.equal(r.status, 200, r.text);
    return r;
  }

  describe("huggingface_hub 2.4 + hf_xet", { skip: !hasPythonClients() && "run `node scripts/setup.mjs --python` first" }, () => {
    async function step(name: string, type: string, token: string = alice.token): Promise<Record<string, unknown>> {
      const res = await runPython(hub.url, token, [SCRIPT, name, work, type], { timeoutMs: 240_000 });
      assert.equal(res.code, 0, `step ${name} (${type}) failed:\n${res.stdout}\n${res.stderr}`);
      const out = JSON.parse(res.stdout.trim().split("\n").pop() ?? "") as Record<string, unknown>;
      assert.equal(out.ok, name);
      return out;
    }
    for (const type of ["model", "dataset"]) {
      it(`${type}: create_repo (private dataset), exist_ok, 409, repo_info, the initial .gitattributes`, async () => {
        await step("create", type);
      });
      it(`${type}: upload_file, upload_folder (Xet and inline files), list_repo_files, list_repo_commits, list_repo_tree, get_paths_info`, async () => {
        const xorbs = hub.count("POST", "/v1/xorbs/");
        const shardPosts = () => hub.count("POST", "/v1/shards") + hub.count("POST", "/v2/shards");
        const shards = shardPosts();
        const out = await step("upload", type);
        assert.ok(shardPosts() > shards, "hf_xet registered the large files with the CAS");
        if (type === "model") assert.ok(hub.count("POST", "/v1/xorbs/") > xorbs, "hf_xet uploaded the large files to the CAS");
        // The dataset holds the model's files again: the store deduplicates them across repositories.
        else assert.equal(hub.count("POST", "/v1/xorbs/"), xorbs, "nothing new to store");
        assert.match(String(out.xet_hash), /^[0-9a-f]{64}$/);
      });
      it(`${type}: hf_hub_download and snapshot_download (cache and local_dir) are byte-identical`, async () => {
        await step("download", type);
      });
      it(`${type}: every commit is a revision (downloads and listings at a commit id); unknown revisions fail`, async () => {
        await step("revisions", type);
      });
      it(`${type}: missing files and repositories raise the Hub's errors; a failing commit applies nothing`, async () => {
        await step("errors", type);
      });
      it(`${type}: another user cannot see a private dataset nor write a public model`, async () => {
        await step("other-user", type, bob.token);
      });
      it(`${type}: delete_file, delete_folder, delete_repo (missing_ok)`, async () => {
        await step("delete", type);
      });
    }
  });

  it("@huggingface/hub: createRepo, uploadFiles (LFS batch with the xet transfer) then downloadFile and listFiles on a model", async () => {
    const repo = { type: "model", name: "alice/js-model" } as const;
    const common = { hubUrl: hub.url, accessToken: alice.token };
    const out = await hf.createRepo({ repo, ...common });
    assert.equal(out.repoUrl, `${hub.url}/alice/js-model`);
    const files: Record<string, Uint8Array> = {
      "model.safetensors": seededBytes(6_000_000, 41),
      "README.md": new TextEncoder().encode("# model\n"),
    };
    const xorbs = hub.count("POST", "/v1/xorbs/");
    const res = await hf.uploadFiles({
      repo,
      ...common,
      files: Object.entries(files).map(([path, data]) => ({ path, content: new Blob([data as BlobPart]) })),
    });
    assert.match(res?.commit.oid ?? "", /^[0-9a-f]{40}$/);
    assert.ok(hub.count("POST", "/v1/xorbs/") > xorbs);
    assert.ok(hub.count("POST", "/alice/js-model.git/info/lfs/objects/batch") >= 1);
    for (const [path, data] of Object.entries(files)) {
      const blob = await hf.downloadFile({ repo, path, ...common });
      assert.ok(blob, path);
      assert.deepEqual(new Uint8Array(await blob.arrayBuffer()), data, path);
    }
    const listed: Array<{ path: string; xetHash?: string; lfs?: { oid: string } }> = [];
    for await (const f of hf.listFiles({ repo, recursive: true, ...common })) listed.push(f);
    const big = listed.find((f) => f.path === "model.safetensors")!;
    assert.equal(big.lfs?.oid, sha256(files["model.safetensors"]!));
    assert.match(big.xetHash ?? "", /^[0-9a-f]{64}$/);
    assert.deepEqual(listed.map((f) => f.path).sort(), [".gitattributes", "README.md", "model.safetensors"]);
    // Uploading the same file again sends nothing: the LFS batch answers it has the object.
    const before = hub.count("POST", "/v1/xorbs/");
    await hf.uploadFiles({
      repo,
      ...common,
      files: [{ path: "again.safetensors", content: new Blob([files["model.safetensors"] as BlobPart]) }],
    });
    assert.equal(hub.count("POST", "/v1/xorbs/"), before);
  });

  it("resolve: X-Repo-Commit, X-Xet-Hash, X-Linked-Size, X-Linked-Etag (the SHA-256), the Xet links; regular files by Git blob id; raw", async () => {
    await createRepo("alice/resolve");
    const big = seededBytes(700_000, 3);
    const small = new TextEncoder().encode('{"a": 1}\n');
    const up = await buildRepoUpload([big]);
    const tok = await call(hub, "GET", "/api/models/alice/resolve/xet-write-token/main", { token: alice.token });
    assert.equal(tok.status, 200, tok.text);
    assert.equal(tok.headers.get("x-xet-access-token"), tok.json.accessToken);
    await pushUpload(hub, tok.json.accessToken, up);
    const c = await commit("models/alice/resolve", alice.token, [
      header("two files"),
      fileLine("config.json", small),
      { key: "lfsFile", value: { path: "w/big.bin", algo: "sha256", oid: up.sha256[0], size: big.length } },
    ]);
    assert.equal(c.status, 200, c.text);
    const oid = c.json.commitOid as string;
    assert.equal(c.json.commitUrl, `${hub.url}/alice/resolve/commit/${oid}`);

    const head = await call(hub, "HEAD", "/alice/resolve/resolve/main/w/big.bin", { token: alice.token });
    assert.equal(head.status, 200);
    assert.equal(head.headers.get("x-repo-commit"), oid);
    assert.equal(head.headers.get("x-xet-hash"), up.files[0]!.hash);
    assert.equal(head.headers.get("x-linked-size"), String(big.length));
    assert.equal(head.headers.get("x-linked-etag"), `"${sha256(big)}"`);
    assert.equal(head.headers.get("content-length"), String(big.length));
    const link = head.headers.get("link") ?? "";
    assert.ok(link.includes(`<${hub.url}/api/models/alice/resolve/xet-read-token/${oid}>; rel="xet-auth"`), link);
    assert.match(link, /\/v1\/reconstructions\/[0-9a-f]{64}>; rel="xet-reconstruction-info"/);
    const get = await call(hub, "GET", `/alice/resolve/resolve/${oid}/w/big.bin`, {
      token: alice.token,
      headers: { Range: "bytes=10-19" },
    });
    assert.equal(get.status, 206);
    assert.deepEqual(get.bytes, big.subarray(10, 20));
    // The repository's read token reads the file from the CAS.
    const read = await call(hub, "GET", `/api/models/alice/resolve/xet-read-token/${oid}`, { token: alice.token });
    assert.deepEqual(await casDownload(hub, read.json.accessToken, up.files[0]!.hash), big);

    const cfg = await call(hub, "GET", "/alice/resolve/resolve/main/config.json", { token: alice.token });
    assert.deepEqual(cfg.bytes, small);
    assert.equal(cfg.headers.get("etag"), `"${gitBlob(small)}"`);
    assert.equal(cfg.headers.get("x-xet-hash"), null);
    const raw = await call(hub, "GET", "/alice/resolve/raw/main/w/big.bin", { token: alice.token });
    assert.equal(raw.text, `version https://git-lfs.github.com/spec/v1\noid sha256:${sha256(big)}\nsize ${big.length}\n`);
    const missing = await call(hub, "HEAD", "/alice/resolve/resolve/main/nope.bin", { token: alice.token });
    assert.equal(missing.status, 404);
    assert.equal(missing.headers.get("x-error-code"), "EntryNotFound");
    assert.equal(missing.headers.get("x-repo-commit"), oid);
    const badRev = await call(hub, "HEAD", "/alice/resolve/resolve/v2/config.json", { token: alice.token });
    assert.equal(badRev.headers.get("x-error-code"), "RevisionNotFound");

    const tree = await call(hub, "GET", "/api/models/alice/resolve/tree/main?recursive=true", { token: alice.token });
    assert.deepEqual(
      tree.json.map((e: { type: string; path: string }) => `${e.type}:${e.path}`),
      ["file:.gitattributes", "file:config.json", "directory:w", "file:w/big.bin"],
    );
    const lfs = tree.json.find((e: { path: string }) => e.path === "w/big.bin");
    const pointer = `version https://git-lfs.github.com/spec/v1\noid sha256:${sha256(big)}\nsize ${big.length}\n`;
    assert.deepEqual(lfs.lfs, { oid: sha256(big), size: big.length, pointerSize: pointer.length });
    assert.equal(lfs.oid, gitBlob(new TextEncoder().encode(pointer)));
    const commits = await call(hub, "GET", "/api/models/alice/resolve/commits/main?limit=1", { token: alice.token });
    assert.equal(commits.headers.get("x-total-count"), "2");
    assert.equal(commits.json.length, 1);
    assert.equal(commits.json[0].id, oid);
    assert.match(commits.headers.get("link") ?? "", /rel="next"/);
  });

  it("commits are all or nothing: an unknown LFS object, a stale parentCommit, a file where a folder is, a read token", async () => {
    await createRepo("alice/atomic", "dataset");
    const info = async () => (await call(hub, "GET", "/api/datasets/alice/atomic", { token: alice.token })).json;
    const head = (await info()).sha as string;
    const notUploaded = await commit("datasets/alice/atomic", alice.token, [
      header("x"),
      fileLine("a.txt", new TextEncoder().encode("a")),
      { key: "lfsFile", value: { path: "w.bin", algo: "sha256", oid: "ab".repeat(32), size: 10 } },
    ]);
    assert.equal(notUploaded.status, 400);
    assert.match(notUploaded.json.error, /LFS pointer pointed to a file that does not exist.*w\.bin/);
    const stale = await commit("datasets/alice/atomic", alice.token, [
      header("x", { parentCommit: "0".repeat(40) }),
      fileLine("a.txt", new Uint8Array([1])),
    ]);
    assert.equal(stale.status, 412);
    assert.equal((await commit("datasets/alice/atomic", alice.token, [header("x"), fileLine("d", new Uint8Array([1]))])).status, 200);
    const conflict = await commit("datasets/alice/atomic", alice.token, [header("x"), fileLine("d/e.txt", new Uint8Array([1]))]);
    assert.equal(conflict.status, 400);
    assert.match(conflict.json.error, /d is a file/);
    const readOnly = await commit("datasets/alice/atomic", alice.readToken, [header("x"), fileLine("r.txt", new Uint8Array([1]))]);
    assert.equal(readOnly.status, 403);
    const files = (await call(hub, "GET", "/api/datasets/alice/atomic/tree/main", { token: alice.token })).json.map(
      (e: { path: string }) => e.path,
    );
    assert.deepEqual(files, [".gitattributes", "d"]);
    assert.notEqual((await info()).sha, head);
    // A shard uploaded with another repository's token does not make its files committable here.
    await createRepo("alice/elsewhere");
    const up = await buildRepoUpload([seededBytes(100_000, 9)]);
    const tok = await call(hub, "GET", "/api/models/alice/elsewhere/xet-write-token/main", { token: alice.token });
    await pushUpload(hub, tok.json.accessToken, up);
    const foreign = await commit("datasets/alice/atomic", alice.token, [
      header("x"),
      { key: "lfsFile", value: { path: "f.bin", algo: "sha256", oid: up.sha256[0], size: 100_000 } },
    ]);
    assert.equal(foreign.status, 400);
  });

  it("access: anonymous callers get 401 on private and missing repositories, other users 404 RepoNotFound; public ones are readable", async () => {
    await createRepo("alice/secret", "dataset", alice.token, { private: true });
    await createRepo("alice/open", "model");
    for (const path of ["/api/datasets/alice/secret", "/api/datasets/alice/never", "/datasets/alice/secret/resolve/main/.gitattributes"]) {
      const anon = await call(hub, "GET", path);
      assert.equal(anon.status, 401, path);
      assert.equal(anon.headers.get("x-error-code"), "RepoNotFound");
      const other = await call(hub, "GET", path, { token: bob.token });
      assert.equal(other.status, 404, path);
      assert.equal(other.headers.get("x-error-code"), "RepoNotFound");
    }
    assert.equal((await call(hub, "GET", "/api/datasets/alice/secret", { token: alice.readToken })).status, 200);
    assert.equal((await call(hub, "GET", "/api/models/alice/open")).status, 200);
    assert.equal((await call(hub, "GET", "/alice/open/resolve/main/.gitattributes")).status, 200);
    assert.equal((await call(hub, "GET", "/api/models/alice/open/xet-write-token/main", { token: bob.token })).status, 403);
    // Spaces need an SDK.
    assert.equal((await call(hub, "POST", "/api/repos/create", { token: alice.token, body: { name: "app", type: "space" } })).status, 400);
    await createRepo("alice/app", "space", alice.token, { sdk: "static" });
    assert.equal((await call(hub, "GET", "/api/spaces/alice/app", { token: alice.token })).json.sdk, "static");
    assert.equal((await call(hub, "GET", "/spaces/alice/app/resolve/main/.gitattributes", { token: alice.token })).status, 200);
    // Organisations: alice's organisation's repositories are hers to write, bob's are not.
    await createRepo("acme/shared", "model");
    assert.equal(
      (await call(hub, "POST", "/api/repos/create", { token: bob.token, body: { name: "x", organization: "acme" } })).status,
      403,
    );
    const listed = await call(hub, "GET", "/api/datasets?author=alice", { token: bob.token });
    assert.ok(!listed.json.some((r: { id: string }) => r.id === "alice/secret"), "a private repository is not listed to others");
    const mine = await call(hub, "GET", "/api/datasets?author=alice", { token: alice.token });
    assert.ok(mine.json.some((r: { id: string }) => r.id === "alice/secret"));
  });

  it("bucket batches copy Xet files from repositories the caller can read (by hash: nothing is stored again)", async () => {
    await createRepo("alice/src-model");
    const data = seededBytes(400_000, 12);
    const up = await buildRepoUpload([data]);
    const tok = await call(hub, "GET", "/api/models/alice/src-model/xet-write-token/main", { token: alice.token });
    await pushUpload(hub, tok.json.accessToken, up);
    const c = await commit("models/alice/src-model", alice.token, [
      header("w"),
      { key: "lfsFile", value: { path: "w.bin", algo: "sha256", oid: up.sha256[0] } },
    ]);
    assert.equal(c.status, 200, c.text);
    await postBucket(hub, "alice/imports", alice.token);
    const xorbs = hub.count("POST", "/v1/xorbs/");
    const res = await batch(hub, "alice/imports", alice.token, [
      { type: "copyFile", path: "from-model/w.bin", xetHash: up.files[0]!.hash, sourceRepoType: "model", sourceRepoId: "alice/src-model" },
      { type: "copyFile", path: "nope.bin", xetHash: "cd".repeat(32), sourceRepoType: "model", sourceRepoId: "alice/src-model" },
      { type: "copyFile", path: "hidden.bin", xetHash: up.files[0]!.hash, sourceRepoType: "dataset", sourceRepoId: "alice/secret" },
    ]);
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(
      res.json.failed.map((f: { path: string }) => f.path),
      ["nope.bin", "hidden.bin"],
    );
    assert.equal(hub.count("POST", "/v1/xorbs/"), xorbs);
    const info = await call(hub, "POST", "/api/buckets/alice/imports/paths-info", {
      token: alice.token,
      body: { paths: ["from-model/w.bin"] },
    });
    assert.equal(info.json[0].xetHash, up.files[0]!.hash);
    assert.equal(info.json[0].size, data.length);
    const read = await call(hub, "GET", "/api/buckets/alice/imports/xet-read-token", { token: alice.token });
    assert.deepEqual(await casDownload(hub, read.json.accessToken, up.files[0]!.hash), data);
    // bob cannot copy from alice's private dataset into his bucket.
    await postBucket(hub, "bob/b", bob.token);
    const denied = await batch(hub, "bob/b", bob.token, [
      { type: "copyFile", path: "x", xetHash: up.files[0]!.hash, sourceRepoType: "dataset", sourceRepoId: "alice/secret" },
    ]);
    assert.equal(denied.status, 422);
  });

  it("a data directory of schema version 1 opens: its buckets stay, repositories are added (migration 2)", async () => {
    const h = await startTestHub();
    try {
      await postBucket(h, "alice/old", alice.token);
      const [f] = await uploadWithCore(h, "alice/old", alice.token, [{ path: "kept.bin", data: seededBytes(300_000, 5) }]);
      await h.hub.close();
      // Turn the database back into version 1: no repository tables, no shards.repo_id.
      const Database = loadSqlite();
      const db = new Database(join(h.dataDir, "hub.sqlite"));
      for (const t of ["repo_files", "repo_commits", "repo_blobs", "repo_lfs_objects", "cas_file_repos", "repos"])
        db.exec(`DROP TABLE ${t}`);
      db.exec("ALTER TABLE shards DROP COLUMN repo_id");
      // (and without the events feed's change log, schema version 3)
      db.exec("DROP TABLE bucket_events; DROP TABLE bucket_event_horizons;");
      db.exec("DELETE FROM schema_version WHERE version >= 2");
      db.close();
      await h.restart();
      const db2 = new Database(join(h.dataDir, "hub.sqlite"), { readonly: true });
      assert.equal((db2.prepare("SELECT max(version) AS v FROM schema_version").get() as { v: number }).v, 3);
      db2.close();
      const res = await call(h, "GET", "/buckets/alice/old/resolve/kept.bin", { token: alice.token });
      assert.equal(res.status, 200);
      assert.equal(res.headers.get("x-xet-hash"), f!.hash);
      const r = await call(h, "POST", "/api/repos/create", { token: alice.token, body: { name: "after-migration" } });
      assert.equal(r.status, 200, r.text);
    } finally {
      await h.close();
    }
  });
});
