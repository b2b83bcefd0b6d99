/**
 * The unmodified official Python client (huggingface_hub 2.4.0 + hf_xet 1.8.0, from the project venv)
 * and the `hf` CLI against a local hub: create, batch add/copy/delete, sync up twice (the second is a
 * no-op), tree, paths-info, downloads, sync down, HfFileSystem, `hf buckets cp/ls/rm`, and global dedup
 * (a second upload of the same data from a fresh process sends no xorb).
 */
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { hasPythonClients, runHf, runPython } from "../helpers/clients.js";
import { seededBytes } from "../helpers/data.mjs";
import { startTestHub, TEST_USERS, type TestHub } from "../helpers/hub.js";

const SCRIPT = join(import.meta.dirname, "py", "interop.py");
const { alice } = TEST_USERS;

describe(
  "official Python client (huggingface_hub 2.4.0 + hf_xet 1.8.0)",
  { skip: !hasPythonClients() && "run `node scripts/setup.mjs --python` first" },
  () => {
    let hub: TestHub;
    let work: string;
    before(async () => {
      hub = await startTestHub();
      work = await mkdtemp(join(tmpdir(), "xet-py-interop-"));
    });
    after(async () => {
      await hub?.close();
      if (work) await rm(work, { recursive: true, force: true });
    });

    /** Runs one step of interop.py in a fresh process (fresh HF_HOME) and returns its result line. */
    async function step(name: string): Promise<Record<string, unknown>> {
      const res = await runPython(hub.url, alice.token, [SCRIPT, name, work], { timeoutMs: 240_000 });
      const line = res.stdout.trim().split("\n").pop() ?? "";
      assert.equal(res.code, 0, `step ${name} failed:\n${res.stdout}\n${res.stderr}`);
      const out = JSON.parse(line) as Record<string, unknown>;
      assert.equal(out.ok, name);
      return out;
    }
    const posts = (prefix: string) => hub.count("POST", prefix);

    it("create_bucket (also exist_ok), bucket_info, list_buckets, settings", async () => {
      await step("create");
    });

    it("batch_bucket_files add / copy / delete, list_bucket_tree, get_bucket_paths_info, copy_files", async () => {
      const xorbs = posts("/v1/xorbs/");
      await step("batch");
      assert.ok(posts("/v1/xorbs/") > xorbs, "the adds uploaded xorbs");
      assert.equal(hub.count("POST", "/v1/xorb-grants/") > 0, true, "hf_xet asked for grants first (answered 404)");
    });

    it("download_bucket_files: downloaded bytes equal the originals", async () => {
      await step("download");
    });

    it("sync_bucket up twice: the second run is a no-op", async () => {
      const first = await step("sync-up");
      assert.equal(first.uploads, 5);
      const before = {
        batch: posts("/api/buckets/alice/py/batch"),
        xorbs: posts("/v1/xorbs/"),
        shards: posts("/v1/shards") + posts("/v2/shards"),
      };
      const second = await step("sync-up");
      assert.equal(second.uploads, 0);
      assert.equal(second.skips, 5);
      assert.deepEqual(
        { batch: posts("/api/buckets/alice/py/batch"), xorbs: posts("/v1/xorbs/"), shards: posts("/v1/shards") + posts("/v2/shards") },
        before,
        "nothing was sent by the second sync",
      );
    });

    it("restart between upload and download, then sync_bucket down: the local tree equals the original", async () => {
      await hub.restart();
      const out = await step("sync-down");
      assert.equal(out.downloads, 5);
    });

    it("HfFileSystem ls, read, ranged read, get_file", async () => {
      await step("fs");
    });

    it("a second upload of the same data by hf_xet (fresh process) sends no xorb: global dedup answered", async () => {
      await step("dedup-first");
      const xorbsBefore = posts("/v1/xorbs/");
      const grantsBefore = posts("/v1/xorb-grants/");
      const dedupHitsBefore = hub.requests.filter((r) => r.path.startsWith("/v1/chunks/") && r.status === 200).length;
      await step("dedup-second");
      assert.equal(posts("/v1/xorbs/"), xorbsBefore, "no xorb uploaded");
      assert.equal(posts("/v1/xorb-grants/"), grantsBefore, "no xorb grant asked");
      const hits = hub.requests.filter((r) => r.path.startsWith("/v1/chunks/") && r.status === 200).length - dedupHitsBefore;
      assert.ok(hits >= 1, "the dedup query was answered with a shard");
    });

    it("a changed checkpoint re-uploaded from a fresh process dedups against all the xorbs of the first upload", async (t) => {
      const xorbBytes = () =>
        hub.requests.filter((r) => r.method === "POST" && r.path.startsWith("/v1/xorbs/")).reduce((n, r) => n + r.requestBytes, 0);
      const t0 = xorbBytes();
      await step("ckpt-first");
      const first = xorbBytes() - t0;
      assert.ok(first > 150 * 1024 * 1024, `first upload sent ${first} bytes`);
      const queries = hub.requests.length;
      await step("ckpt-second");
      const second = xorbBytes() - t0 - first;
      const hits = hub.requests.slice(queries).filter((r) => r.path.startsWith("/v1/chunks/") && r.status === 200).length;
      assert.ok(hits >= 1, "an eligible chunk of the unchanged part was answered");
      t.diagnostic(`xorb bytes sent: first upload ${first}, changed checkpoint ${second}`);
      // One answer carries every xorb of the first upload, so only the changed regions (and what hf_xet
      // processed before the answer arrived) are sent again.
      assert.ok(second < first / 2, `second upload sent ${second} bytes (first: ${first})`);
    });

    it("hf buckets cp (up, down, stdin/stdout), ls, rm", async () => {
      const content = seededBytes(300_000, 99);
      const local = join(work, "cli-up.bin");
      await writeFile(local, content);
      const hf = async (args: string[], input?: string) => {
        const res = await runHf(hub.url, alice.token, args, { cwd: work, input });
        assert.equal(res.code, 0, `hf ${args.join(" ")}:\n${res.stdout}\n${res.stderr}`);
        return res.stdout;
      };
      await hf(["buckets", "cp", local, "hf://buckets/alice/py/cli/up.bin"]);
      await hf(["buckets", "cp", "-", "hf://buckets/alice/py/cli/stdin.txt"], "from stdin\n");
      const ls = await hf(["buckets", "ls", "alice/py/cli", "-R"]);
      assert.match(ls, /cli\/up\.bin/);
      assert.match(ls, /cli\/stdin\.txt/);
      const down = join(work, "cli-down.bin");
      await hf(["buckets", "cp", "hf://buckets/alice/py/cli/up.bin", down]);
      assert.deepEqual(new Uint8Array(await readFile(down)), content);
      assert.equal(await hf(["buckets", "cp", "hf://buckets/alice/py/cli/stdin.txt", "-"]), "from stdin\n");
      await hf(["buckets", "rm", "hf://buckets/alice/py/cli/up.bin", "-y"]);
      const after = await hf(["buckets", "ls", "alice/py/cli", "-R"]);
      assert.doesNotMatch(after, /up\.bin/);
      assert.match(after, /stdin\.txt/);
    });
  },
);

describe("hf_xet refreshes short-lived CAS tokens", { skip: !hasPythonClients() && "run `node scripts/setup.mjs --python` first" }, () => {
  it("with casTokenTtlSeconds 30 (always inside hf_xet's 30 s refresh window) uploads and downloads still succeed, refreshing tokens", async () => {
    const hub = await startTestHub({ casTokenTtlSeconds: 30 });
    const work = await mkdtemp(join(tmpdir(), "xet-py-refresh-"));
    try {
      const res = await runPython(hub.url, alice.token, [SCRIPT, "refresh", work], { timeoutMs: 240_000 });
      assert.equal(res.code, 0, `${res.stdout}\n${res.stderr}`);
      assert.ok(hub.count("GET", "/api/buckets/alice/refresh/xet-write-token") >= 2, "write token refreshed during the upload");
      assert.ok(hub.count("GET", "/api/buckets/alice/refresh/xet-read-token") >= 2, "read token refreshed during the download");
    } finally {
      await hub.close();
      await rm(work, { recursive: true, force: true });
    }
  });
});
