/**
 * huggingface_hub 2.4's live follow (`huggingface_hub._bucket_live_follow`) against the local hub's events
 * feed: its `BucketFollower` reaches `ready`, then receives the change made by our client's upload; and
 * `HfFileSystem(live_follow=True)` sees a file our client uploads in a listing it had cached, without a
 * refresh. Python runs py/follow.py; this side waits for its `ready` line, then uploads.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { uploadFiles } from "../../src/index.js";
import { hasPythonClients, pythonEnv, VENV_PYTHON } from "../helpers/clients.js";
import { seededBytes } from "../helpers/data.mjs";
import { postBucket, startTestHub, TEST_USERS, type TestHub } from "../helpers/hub.js";

const SCRIPT = join(import.meta.dirname, "py", "follow.py");
const { alice } = TEST_USERS;

/** Runs follow.py; calls `onReady` after its ready line; resolves with every JSON line it printed. */
async function follow(hub: TestHub, args: string[], onReady: (ready: any) => Promise<void>): Promise<any[]> {
  const home = await mkdtemp(join(tmpdir(), "xet-py-follow-"));
  try {
    const child = spawn(VENV_PYTHON, [SCRIPT, ...args], { env: pythonEnv(hub.url, alice.token, home), stdio: ["ignore", "pipe", "pipe"] });
    const lines: any[] = [];
    let stderr = "";
    let buf = "";
    let readyDone: Promise<void> | undefined;
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.stdout.on("data", (d: Buffer) => {
      buf += d.toString();
      let i: number;
      while ((i = buf.indexOf("\n")) >= 0) {
        const line = JSON.parse(buf.slice(0, i));
        buf = buf.slice(i + 1);
        lines.push(line);
        if (line.ready) readyDone = onReady(line);
      }
    });
    const timer = setTimeout(() => child.kill("SIGKILL"), 90_000);
    const code = await new Promise<number | null>((resolve) => child.on("close", resolve));
    clearTimeout(timer);
    await readyDone;
    assert.equal(code, 0, `follow.py ${args.join(" ")} exited ${code}:\n${JSON.stringify(lines)}\n${stderr}`);
    return lines;
  } finally {
    await rm(home, { recursive: true, force: true });
  }
}

describe(
  "huggingface_hub 2.4 live follow against the local hub",
  { skip: !hasPythonClients() && "run `node scripts/setup.mjs --python` first" },
  () => {
    let hub: TestHub;
    before(async () => {
      hub = await startTestHub();
      await postBucket(hub, "alice/live", alice.token, { private: true });
    });
    after(() => hub?.close());

    it("BucketFollower reaches ready, then receives the change made by our client's upload", async () => {
      const data = seededBytes(300_000, 7);
      let uploaded: { xetHash: string } | undefined;
      const lines = await follow(hub, ["follower", "alice/live", "ckpt/model.bin"], async () => {
        const r = await uploadFiles({
          repo: "buckets/alice/live",
          files: [{ path: "ckpt/model.bin", content: data }],
          hubUrl: hub.url,
          accessToken: alice.token,
        });
        uploaded = { xetHash: r.perFile[0]!.xetHash };
      });
      const result = lines.at(-1);
      assert.equal(result.ok, true);
      // It resumed from the bucket's updatedAt (its first session), then from the cursor of what it received.
      assert.equal(lines[0].resume[0], "cursor", "ready gave it a cursor");
      const change = result.received.find((c: { path: string }) => c.path === "ckpt/model.bin");
      assert.deepEqual(
        { op: change.op, size: change.size, xet_hash: change.xet_hash },
        { op: "add", size: data.length, xet_hash: uploaded!.xetHash },
      );
      assert.ok(change.mtime && change.uploaded_at, "mtime and uploadedAt parsed as datetimes");
      assert.equal(result.reconciles, 1, "one reconcile, before its first session");
      assert.deepEqual(result.resume[0], "cursor");
      // Its stream is logged when it ends: the client hung up, so as 499.
      await new Promise((r) => setTimeout(r, 200));
      assert.ok(hub.requests.some((r) => r.path === "/api/buckets/alice/live/events"));
    });

    it("HfFileSystem(live_follow=True) sees our client's upload in a cached listing, without a refresh", async () => {
      const lines = await follow(hub, ["fs", "alice/live", "fresh.txt"], async () => {
        await uploadFiles({
          repo: "buckets/alice/live",
          files: [{ path: "fresh.txt", content: new TextEncoder().encode("hello live\n") }],
          hubUrl: hub.url,
          accessToken: alice.token,
        });
      });
      const result = lines.at(-1);
      assert.equal(result.ok, true);
      assert.ok(!result.before.includes("buckets/alice/live/fresh.txt"));
      assert.ok(result.after.includes("buckets/alice/live/fresh.txt"));
    });
  },
);
