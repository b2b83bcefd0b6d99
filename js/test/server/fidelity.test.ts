/**
 * Fidelity of the local hub to the Hub, where the official clients' own tests and docs say how the Hub
 * answers (issue 19): tree listings without `recursive`, implicit namespaces, anonymous access to private
 * buckets, X-Error-Code / X-Error-Message, organisations with private-by-default buckets, Hub-style user
 * names, and a CAS URL that names the store (so hf_xet's per-endpoint cache survives a wiped data
 * directory behind the same port). Driven with huggingface_hub 2.4 + hf_xet (py/fidelity.py), the hf CLI,
 * @huggingface/hub and this package's client.
 */
import assert from "node:assert/strict";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import * as hf from "@huggingface/hub";
import { createBucketFs } from "../../src/fs/index.js";
import { createBucket, InvalidArgumentError, listFiles } from "../../src/index.js";
import { parseServeArgs } from "../../server/src/cli.js";
import { startLocalHub } from "../../server/src/index.js";
import { hasPythonClients, runHf, runPython } from "../helpers/clients.js";
import { call, startTestHub, TEST_ORG, TEST_USERS, type TestHub } from "../helpers/hub.js";

const SCRIPT = join(import.meta.dirname, "py", "fidelity.py");
const { alice, bob } = TEST_USERS;
const DUMMY = { name: "__DUMMY_HUB_USER__", token: "hf___DUMMY_HUB_USER___token" };
const noPython = !hasPythonClients() && "run `node scripts/setup.mjs --python` first";

/** A hub with the usual test users, the Hub-style user __DUMMY_HUB_USER__ and acme private by default. */
const fidelityHub = () =>
  startTestHub({
    users: [
      { name: alice.name, token: alice.token, readTokens: [alice.readToken], orgs: [TEST_ORG] },
      { name: bob.name, token: bob.token, readTokens: [bob.readToken] },
      DUMMY,
    ],
    orgsPrivateByDefault: [TEST_ORG],
  });

describe("local hub fidelity: huggingface_hub 2.4's expectations of the Hub", { skip: noPython }, () => {
  let hub: TestHub;
  let work: string;
  before(async () => {
    hub = await fidelityHub();
    work = await mkdtemp(join(tmpdir(), "xet-fidelity-"));
  });
  after(async () => {
    await hub?.close();
    if (work) await rm(work, { recursive: true, force: true });
  });

  /** Runs one step of fidelity.py in a fresh process; `token` null = anonymous. */
  async function step(name: string, token: string | null = alice.token, args: string[] = [], hfHome?: string) {
    const res = await runPython(hub.url, token ?? undefined, [SCRIPT, name, work, ...args], {
      timeoutMs: 240_000,
      hfHome,
      env: { FIDELITY_OTHER_TOKEN: bob.token },
    });
    const line = res.stdout.trim().split("\n").pop() ?? "";
    assert.equal(res.code, 0, `step ${name} failed:\n${res.stdout}\n${res.stderr}`);
    assert.equal((JSON.parse(line) as { ok: string }).ok, name);
  }

  it("1. list_bucket_tree without recursive lists every file; recursive=False one level (API, HfFileSystem, hf CLI)", async () => {
    await step("tree");
    const hfList = async (args: string[]) => {
      const res = await runHf(hub.url, alice.token, ["buckets", "list", ...args, "--quiet"]);
      assert.equal(res.code, 0, res.stderr);
      return res.stdout.trim().split("\n");
    };
    // test_buckets_cli.py test_list_files_default / _recursive: the CLI sends recursive=False itself.
    assert.deepEqual(await hfList(["alice/fid-tree"]), ["binary.bin", "file.txt", "logs/", "sub/"]);
    assert.deepEqual(await hfList(["alice/fid-tree", "-R"]), ["binary.bin", "file.txt", "logs/data.csv", "sub/binary.bin", "sub/file.txt"]);
  });

  it("1. this package and @huggingface/hub send recursive explicitly: their listings are unchanged", async () => {
    const repo = "buckets/alice/fid-tree";
    const ours: string[] = [];
    for await (const e of listFiles({ repo, hubUrl: hub.url, accessToken: alice.token })) ours.push(`${e.type}:${e.path}`);
    assert.deepEqual(ours.sort(), ["directory:logs", "directory:sub", "file:binary.bin", "file:file.txt"]);
    const deep: string[] = [];
    for await (const e of listFiles({ repo, recursive: true, hubUrl: hub.url, accessToken: alice.token })) deep.push(e.path);
    assert.equal(deep.length, 5);
    const fs = createBucketFs({ hubUrl: hub.url, accessToken: alice.token });
    assert.deepEqual(await fs.ls("hf://buckets/alice/fid-tree/sub", { detail: false }), [
      "buckets/alice/fid-tree/sub/binary.bin",
      "buckets/alice/fid-tree/sub/file.txt",
    ]);
    const theirs: string[] = [];
    for await (const e of hf.listFiles({ repo: { type: "bucket", name: "alice/fid-tree" }, hubUrl: hub.url, accessToken: alice.token })) {
      theirs.push(`${e.type}:${e.path}`);
    }
    assert.deepEqual(theirs.sort(), ["directory:logs", "directory:sub", "file:binary.bin", "file:file.txt"]);
  });

  it("2. an implicit namespace is a 404 for bucket_info and delete_bucket (GET and DELETE /api/buckets/{name})", async () => {
    await step("implicit");
    const del = await call(hub, "DELETE", "/api/buckets/fid-tree", { token: alice.token });
    assert.equal(del.status, 404);
    assert.match(del.json.error, /namespace\/name/);
    const get = await call(hub, "GET", "/api/buckets/nobody-here", { token: alice.token });
    assert.equal(get.status, 404);
    assert.equal((await call(hub, "GET", "/api/buckets/acme")).status, 200, "an organisation lists its buckets");
  });

  it("3. anonymous callers get 401 on private (and missing) buckets, other users 404 BucketNotFound", async () => {
    await step("private-setup");
    await step("anonymous", null);
    await step("other-user", bob.token);
    const anon = await call(hub, "GET", "/api/buckets/alice/fid-private/tree");
    assert.equal(anon.status, 401);
    assert.equal(anon.headers.get("x-error-code"), null);
    assert.equal(anon.headers.get("x-error-message"), "Invalid username or password.");
    // @huggingface/hub: repoExists is false on 401 as on 404.
    assert.equal(await hf.repoExists({ repo: { type: "bucket", name: "alice/fid-private" }, hubUrl: hub.url }), false);
    assert.equal(
      await hf.repoExists({ repo: { type: "bucket", name: "alice/fid-private" }, hubUrl: hub.url, accessToken: alice.token }),
      true,
    );
  });

  it("4. repository URLs answer RepoNotFound, missing files EntryNotFound, 4xx carry X-Error-Message", async () => {
    await step("errors");
    for (const path of [
      "/api/models/alice/x",
      "/api/datasets/alice/x/revision/main",
      "/api/spaces/alice/x/tree/main",
      "/alice/x/resolve/main/a.txt",
    ]) {
      const res = await call(hub, "GET", path, { token: alice.token });
      assert.equal(res.status, 404, path);
      assert.equal(res.headers.get("x-error-code"), "RepoNotFound", path);
      assert.equal(res.headers.get("x-error-message"), "Repository not found", path);
    }
    const anon = await call(hub, "GET", "/datasets/alice/x/resolve/main/a.txt");
    assert.deepEqual([anon.status, anon.headers.get("x-error-code")], [401, "RepoNotFound"]);
    assert.deepEqual((await call(hub, "GET", "/api/models")).json, [], "no repositories to list");
    const forbidden = await call(hub, "PUT", "/api/buckets/alice/fid-public/settings", { token: bob.token, body: { private: true } });
    assert.equal(forbidden.status, 403);
    assert.equal(forbidden.headers.get("x-error-message"), forbidden.json.error);
    // @huggingface/hub reads the code too: a missing file is null, a missing repository throws.
    assert.equal(await hf.downloadFile({ repo: { type: "bucket", name: "alice/fid-public" }, path: "nope", hubUrl: hub.url }), null);
    await assert.rejects(
      hf.downloadFile({ repo: { type: "model", name: "alice/x" }, path: "a.txt", hubUrl: hub.url, accessToken: alice.token }),
    );
  });

  it("5. buckets of an organisation set private by default are private unless the request says otherwise", async () => {
    await step("org");
    const common = { hubUrl: hub.url, accessToken: alice.token };
    await hf.createRepo({ repo: { type: "bucket", name: "acme/fid-js" }, ...common });
    assert.equal((await call(hub, "GET", "/api/buckets/acme/fid-js", { token: alice.token })).json.private, true);
    await createBucket("acme/fid-ours", common);
    assert.equal((await call(hub, "GET", "/api/buckets/acme/fid-ours", { token: alice.token })).json.private, true);
    await createBucket("acme/fid-ours-public", { ...common, private: false });
    assert.equal((await call(hub, "GET", "/api/buckets/acme/fid-ours-public")).json.private, false);
  });

  it("6. accepts Hub-style user names (__DUMMY_HUB_USER__) and refuses names that would break paths", async () => {
    await step("names", DUMMY.token);
    for (const name of ["__DUMMY_HUB_USER__", "a", "_x_", "A.b-c_9"]) {
      assert.equal(parseServeArgs(["--user", `${name}=hf_token_123`]).options.users?.[0]?.name, name);
    }
    for (const bad of ["-lead", "trail.", "a--b", "a..b", "a/b", "me", "x".repeat(97), "é"]) {
      await assert.rejects(startLocalHub({ users: [{ name: bad, token: "hf_token_123" }] }), InvalidArgumentError, bad);
    }
    await assert.rejects(startLocalHub({ users: [{ name: "a", token: "hf_token_123", orgs: ["a..b"] }] }), InvalidArgumentError);
  });

  it("more of huggingface_hub's CLI tests: hf cp bucket → bucket, a missing source, sync to a prefix, list/tree/info/create/delete", async () => {
    await step("cli");
  });

  it("7. a wiped data directory restarted on the same port is a new CAS endpoint: hf_xet's cache does not confuse them", async () => {
    const home = await mkdtemp(join(tmpdir(), "xet-fidelity-home-"));
    try {
      const firstStore = hub.hub.storeId;
      assert.equal(hub.hub.casUrl, `${hub.url}/cas/${firstStore}`);
      await step("cas-upload", alice.token, ["first.bin"], home);
      const xorbPosts = hub.requests.filter((r) => r.method === "POST" && r.path.startsWith("/v1/xorbs/"));
      assert.ok(xorbPosts.length > 0 && xorbPosts.every((r) => r.rawPath.startsWith(`/cas/${firstStore}/`)), "hf_xet used the CAS URL");
      const port = hub.hub.port;
      await hub.hub.close();
      await rm(hub.dataDir, { recursive: true, force: true });
      await hub.restart();
      assert.equal(hub.hub.port, port);
      assert.notEqual(hub.hub.storeId, firstStore, "a new data directory is a new store");
      // The same data, the same HF_HOME: hf_xet must upload it again (it is not on this store).
      const before = hub.count("POST", "/v1/xorbs/");
      await step("cas-upload", alice.token, ["second.bin"], home);
      assert.ok(hub.count("POST", "/v1/xorbs/") > before, "the xorbs were uploaded to the new store");
      // An old CAS URL names another store: 404, whatever the token.
      const stale = await call(hub, "GET", `/cas/${firstStore}/v1/reconstructions/${"0".repeat(64)}`);
      assert.equal(stale.status, 404);
      assert.match(stale.json.error, /another store/);
      const caches = await readdir(join(home, "xet"));
      assert.ok(caches.length >= 2, `hf_xet keeps one cache per CAS endpoint: ${caches.join(", ")}`);
    } finally {
      await rm(home, { recursive: true, force: true });
    }
  });
});

describe("local hub fidelity: options", () => {
  it("--org-private ORG needs --org ORG; orgsPrivateByDefault needs an organisation of a configured user", async () => {
    const { options } = parseServeArgs(["--user", "a=hf_aaaaaaaa", "--org", "o=a", "--org-private", "o"]);
    assert.deepEqual(options.orgsPrivateByDefault, ["o"]);
    assert.throws(() => parseServeArgs(["--user", "a=hf_aaaaaaaa", "--org-private", "o"]), /no --org o=/);
    await assert.rejects(
      startLocalHub({ users: [{ name: "a", token: "hf_aaaaaaaa" }], orgsPrivateByDefault: ["a"] }),
      (err: unknown) => err instanceof InvalidArgumentError && /orgsPrivateByDefault/.test(err.message),
    );
  });

  it("the CAS store id is kept across restarts of the same data directory; the prefix-less CAS routes still answer", async () => {
    const dataDir = await mkdtemp(join(tmpdir(), "xet-fidelity-store-"));
    try {
      const first = await startLocalHub({ dataDir, users: [{ name: "a", token: "hf_aaaaaaaa" }] });
      const id = first.storeId;
      await first.close();
      const second = await startLocalHub({ dataDir, users: [{ name: "a", token: "hf_aaaaaaaa" }] });
      try {
        assert.equal(second.storeId, id);
        assert.equal(second.casUrl, `${second.url}/cas/${id}`);
        await call(second, "POST", "/api/buckets/a/b", { token: "hf_aaaaaaaa", body: {} });
        const tok = (await call(second, "GET", "/api/buckets/a/b/xet-read-token", { token: "hf_aaaaaaaa" })).json;
        assert.equal(tok.casUrl, second.casUrl);
        for (const base of [second.casUrl, second.url]) {
          const res = await call(second, "GET", `${base}/v1/reconstructions/${"0".repeat(64)}`, { token: tok.accessToken });
          assert.equal(res.status, 200, base);
        }
      } finally {
        await second.close();
      }
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
