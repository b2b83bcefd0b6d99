/**
 * `--resume-dir` (and XET_BUCKETS_RESUME_DIR) on `cp` and `sync`: a command that failed midway, run again,
 * does not send again the xorbs the hub stored, and ends with the files registered and the state deleted.
 * The CLI runs from source (tsx) in a child process.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { startFaultProxy } from "../helpers/faults.js";
import { cliEnv } from "../helpers/clients.js";
import { seededBytes } from "../helpers/data.mjs";
import { ROOT } from "../helpers/files.js";
import { ALICE, newBucket, resolveBytes, startTestHub, type TestHub } from "../helpers/hub.js";
import { storedFromState, xorbPosts } from "../helpers/hub-state.js";
import { runProcess } from "../helpers/processes.js";

let hub: TestHub;
let work: string;
before(async () => {
  hub = await startTestHub();
  work = mkdtempSync(join(tmpdir(), "xet-cli-resume-"));
});
after(async () => {
  await hub.close();
  rmSync(work, { recursive: true, force: true });
});

function cli(args: string[], endpoint: string, env: Record<string, string> = {}) {
  return runProcess(process.execPath, ["--import", "tsx", join(ROOT, "js", "src", "cli", "main.ts"), ...args], {
    cwd: ROOT,
    env: cliEnv(work, { HF_ENDPOINT: endpoint, HF_TOKEN: ALICE.token, ...env }),
    timeoutMs: 120_000,
  });
}

for (const how of ["cp --resume-dir", "sync + XET_BUCKETS_RESUME_DIR"] as const) {
  test(`${how}: a failed command run again skips the stored xorbs and completes`, async () => {
    const bucket = await newBucket(hub, "cli-resume");
    const state = join(work, `state-${how.split(" ")[0]}`);
    const src = join(work, `src-${how.split(" ")[0]}`);
    const data = seededBytes(3 * 1024 * 1024, how.length);
    rmSync(src, { recursive: true, force: true });
    const { mkdirSync } = await import("node:fs");
    mkdirSync(src, { recursive: true });
    writeFileSync(join(src, "model.bin"), data);
    const args = how.startsWith("cp")
      ? ["cp", join(src, "model.bin"), `hf://buckets/${bucket}/model.bin`, "--resume-dir", state]
      : ["sync", src, `hf://buckets/${bucket}`];
    const env: Record<string, string> = how.startsWith("sync") ? { XET_BUCKETS_RESUME_DIR: state } : {};
    const proxy = await startFaultProxy(hub.url);
    try {
      // Small xorbs come from the default 64 MiB limit only for large files: fail the upload at its shard
      // instead, after every xorb is stored.
      proxy.add({ method: "POST", path: "/shards", action: "status", status: 400 });
      const first = await cli(args, proxy.url, env);
      assert.equal(first.code, 1, first.stderr);
      const stored = await storedFromState(hub, bucket, state, ALICE.token);
      assert.ok(stored.count >= 1);
      proxy.clear();
      const mark = hub.requests.length;
      const second = await cli(args, proxy.url, env);
      assert.equal(second.code, 0, second.stderr);
      assert.equal(xorbPosts(hub, mark).count, 0, "no xorb sent again");
      assert.ok(Buffer.from(await resolveBytes(hub.url, bucket, "model.bin")).equals(Buffer.from(data)));
      assert.deepEqual(readdirSync(state), [], "the state is deleted once registered");
    } finally {
      await proxy.close();
    }
  });
}

test("--resume-dir with an empty value is a usage error", async () => {
  const r = await cli(["cp", join(ROOT, "package.json"), "hf://buckets/alice/x/p.json", "--resume-dir", ""], hub.url);
  assert.equal(r.code, 2, r.stderr);
});
