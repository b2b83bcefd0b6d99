/**
 * syncBucket against a real local hub: up and down round trips (bytes and mtimes), idempotence, delete
 * guards, filters, symlinks and unreadable entries, and plan interop with `hf buckets sync` both ways.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFile, rm, stat, symlink, writeFile, readdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { createBucket, batchBucketFiles, listFiles } from "../../src/index.js";
import { SyncRefusedError } from "../../src/errors.js";
import { syncBucket } from "../../src/sync/index.js";
import { parsePlan } from "../../src/sync/plan.js";
import { hasPythonClients, runHf } from "../helpers/clients.js";
import { seededBytes } from "../helpers/data.mjs";
import { tempDir, writeFiles } from "../helpers/files.js";
import { startTestHub, type TestHub } from "../helpers/hub.js";

const T0 = Date.UTC(2026, 0, 15, 12, 0, 0) + 123; // ms precision on purpose

async function readTree(root: string): Promise<Map<string, { data: Buffer; mtimeMs: number }>> {
  const out = new Map<string, { data: Buffer; mtimeMs: number }>();
  async function visit(dir: string) {
    for (const e of await readdir(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) await visit(p);
      else out.set(relative(root, p), { data: await readFile(p), mtimeMs: (await stat(p)).mtimeMs });
    }
  }
  await visit(root);
  return out;
}

function opts(hub: TestHub) {
  return { hubUrl: hub.url, accessToken: hub.users.alice.token };
}

const FILES: Record<string, Uint8Array> = {
  "model.safetensors": seededBytes(3 << 20, 1),
  "config.json": new TextEncoder().encode('{"layers": 12}\n'),
  "empty.bin": new Uint8Array(0),
  "shards/part-0001.bin": seededBytes(300_000, 2),
  "shards/part-0002.bin": seededBytes(131_073, 3),
  "shards/deep/er/x y #1.txt": new TextEncoder().encode("spaces and hash in the name"),
  "logs/train.log": new TextEncoder().encode("step 1 loss 2.3\n"),
};

test("sync up then down reproduces the tree (bytes and mtimes); second runs in both directions only skip", async (t) => {
  const hub = await startTestHub();
  t.after(() => hub.close());
  await createBucket("alice/ckpts", opts(hub));
  const src = (await tempDir("sync-src-", t)).dir;
  writeFiles(src, FILES, { mtime: T0 });

  const up = await syncBucket(src, "hf://buckets/alice/ckpts/run1", opts(hub));
  assert.equal(up.executed, true);
  assert.equal(up.summary.uploads, Object.keys(FILES).length);
  assert.equal(
    up.summary.total_size,
    Object.values(FILES).reduce((n, d) => n + d.length, 0),
  );
  assert.equal(up.upload!.files, Object.keys(FILES).length);
  assert.equal(up.upload!.logicalBytes, up.summary.total_size);

  const remote = [];
  for await (const e of listFiles({ repo: "buckets/alice/ckpts", path: "run1", recursive: true, ...opts(hub) })) remote.push(e.path);
  assert.deepEqual(
    remote.sort(),
    Object.keys(FILES)
      .map((p) => `run1/${p}`)
      .sort(),
  );

  const again = await syncBucket(src, "hf://buckets/alice/ckpts/run1", opts(hub));
  assert.equal(again.executed, false);
  assert.deepEqual(again.summary, { uploads: 0, downloads: 0, deletes: 0, skips: Object.keys(FILES).length, total_size: 0 });
  assert.ok(again.plan.operations.every((o) => o.reason === "identical"));

  const dst = (await tempDir("sync-dst-", t)).dir;
  const down = await syncBucket("hf://buckets/alice/ckpts/run1", dst, opts(hub));
  assert.equal(down.downloaded, Object.keys(FILES).length);
  const a = await readTree(src);
  const b = await readTree(dst);
  assert.deepEqual([...b.keys()].sort(), [...a.keys()].sort());
  for (const [rel, f] of a) {
    assert.ok(b.get(rel)!.data.equals(f.data), `bytes of ${rel}`);
    assert.ok(Math.abs(b.get(rel)!.mtimeMs - f.mtimeMs) < 1, `mtime of ${rel}: ${b.get(rel)!.mtimeMs} vs ${f.mtimeMs}`);
  }

  const downAgain = await syncBucket("hf://buckets/alice/ckpts/run1", dst, opts(hub));
  assert.equal(downAgain.executed, false);
  assert.equal(downAgain.summary.skips, Object.keys(FILES).length);
  // The downloaded copy, synced back up, is identical too (mtimes were preserved).
  const upFromCopy = await syncBucket(dst, "hf://buckets/alice/ckpts/run1", opts(hub));
  assert.equal(upFromCopy.executed, false);

  // A changed file is uploaded again; with its new mtime the download side sees "remote newer".
  await writeFile(join(src, "config.json"), '{"layers": 24}\n');
  const changed = await syncBucket(src, "hf://buckets/alice/ckpts/run1", opts(hub));
  assert.deepEqual(
    changed.plan.operations.filter((o) => o.action === "upload").map((o) => [o.path, o.reason]),
    [["config.json", "local newer"]],
  );
  const pulled = await syncBucket("hf://buckets/alice/ckpts/run1", dst, opts(hub));
  assert.deepEqual(
    pulled.plan.operations.filter((o) => o.action === "download").map((o) => [o.path, o.reason]),
    [["config.json", "remote newer"]],
  );
  assert.equal(await readFile(join(dst, "config.json"), "utf8"), '{"layers": 24}\n');
});

test("delete guards: excluded files are never deleted, an empty source deletes nothing unless forced, maxDelete", async (t) => {
  const hub = await startTestHub();
  t.after(() => hub.close());
  await createBucket("alice/b", opts(hub));
  const enc = new TextEncoder();
  await batchBucketFiles("alice/b", {
    ...opts(hub),
    add: [
      [enc.encode("a"), "a.txt"],
      [enc.encode("keep"), "keep.log"],
      [enc.encode("old"), "old.bin"],
      [enc.encode("nested"), "dir/old2.bin"],
    ],
  });
  const local = (await tempDir("sync-del-", t)).dir;
  writeFiles(local, { "a.txt": enc.encode("a") }, { mtime: T0 });

  const plan = await syncBucket(local, "hf://buckets/alice/b", { ...opts(hub), delete: true, exclude: ["*.log"], dryRun: true });
  assert.deepEqual(
    plan.plan.operations
      .filter((o) => o.action === "delete")
      .map((o) => o.path)
      .sort(),
    ["dir/old2.bin", "old.bin"],
  );
  assert.equal(plan.executed, false);
  await assert.rejects(
    syncBucket(local, "hf://buckets/alice/b", { ...opts(hub), delete: true, exclude: ["*.log"], maxDelete: 1 }),
    SyncRefusedError,
  );

  const done = await syncBucket(local, "hf://buckets/alice/b", { ...opts(hub), delete: true, exclude: ["*.log"] });
  assert.equal(done.deleted, 2);
  const left = [];
  for await (const e of listFiles({ repo: "buckets/alice/b", recursive: true, ...opts(hub) })) left.push(e.path);
  assert.deepEqual(left.sort(), ["a.txt", "keep.log"]);

  const empty = (await tempDir("sync-empty-", t)).dir;
  await assert.rejects(
    syncBucket(empty, "hf://buckets/alice/b", { ...opts(hub), delete: true }),
    (e: unknown) => e instanceof SyncRefusedError && e.code === "SYNC_REFUSED",
  );
  // Nothing was deleted by the refused call.
  const still = [];
  for await (const e of listFiles({ repo: "buckets/alice/b", recursive: true, ...opts(hub) })) still.push(e.path);
  assert.deepEqual(still.sort(), ["a.txt", "keep.log"]);
  const forced = await syncBucket(empty, "hf://buckets/alice/b", { ...opts(hub), delete: true, force: true });
  assert.equal(forced.deleted, 2);

  // Download direction with delete: local-only files go, empty parent folders too; excluded ones stay.
  await batchBucketFiles("alice/b", { ...opts(hub), add: [[enc.encode("r"), "r.txt"]] });
  const dl = (await tempDir("sync-dl-", t)).dir;
  writeFiles(dl, { "extra/deep/x.bin": enc.encode("x"), "notes.log": enc.encode("mine") }, { mtime: T0 });
  const pulled = await syncBucket("hf://buckets/alice/b", dl, { ...opts(hub), delete: true, exclude: ["*.log"] });
  assert.equal(pulled.downloaded, 1);
  assert.equal(pulled.deleted, 1);
  assert.deepEqual([...(await readTree(dl)).keys()].sort(), ["notes.log", "r.txt"]);
});

test("symlinked directories are followed, loops and broken links reported, and reported problems suppress deletes", async (t) => {
  const hub = await startTestHub();
  t.after(() => hub.close());
  await createBucket("alice/links", opts(hub));
  const root = (await tempDir("sync-links-", t)).dir;
  const outside = (await tempDir("sync-outside-", t)).dir;
  const enc = new TextEncoder();
  writeFiles(outside, { "w.bin": enc.encode("weights") }, { mtime: T0 });
  writeFiles(root, { "real/a.txt": enc.encode("a") }, { mtime: T0 });
  await symlink(outside, join(root, "linked"));
  await symlink(root, join(root, "real", "loop"));
  await symlink(join(root, "missing-target"), join(root, "broken"));
  await batchBucketFiles("alice/links", { ...opts(hub), add: [[enc.encode("stale"), "stale.txt"]] });

  const res = await syncBucket(root, "hf://buckets/alice/links", { ...opts(hub), delete: true });
  assert.deepEqual(
    res.plan.operations
      .filter((o) => o.action === "upload")
      .map((o) => o.path)
      .sort(),
    ["linked/w.bin", "real/a.txt"],
  );
  assert.deepEqual(res.problems.map((p) => p.path).sort(), ["broken", "real/loop"]);
  assert.ok(
    res.warnings.some((w) => /delete\(s\) left out/.test(w)),
    res.warnings.join("\n"),
  );
  assert.equal(res.deleted, 0, "no delete when the local listing is incomplete");
});

test(
  "plans: ours applied by `hf buckets sync --apply`, theirs (--plan) applied by ours; dry run executes nothing",
  { skip: !hasPythonClients() && "no Python venv" },
  async (t) => {
    const hub = await startTestHub();
    t.after(() => hub.close());
    await createBucket("alice/plans", opts(hub));
    const src = (await tempDir("sync-plan-src-", t)).dir;
    writeFiles(src, { "x.bin": seededBytes(200_000, 9), "sub/y.txt": new TextEncoder().encode("y") }, { mtime: T0 });

    const dry = await syncBucket(src, "hf://buckets/alice/plans", { ...opts(hub), dryRun: true });
    assert.equal(dry.executed, false);
    assert.equal(parsePlan(dry.planText).operations.length, 2);
    const listed = [];
    for await (const e of listFiles({ repo: "buckets/alice/plans", recursive: true, ...opts(hub) })) listed.push(e.path);
    assert.deepEqual(listed, [], "dry run uploaded nothing");

    // Our plan, applied by the official CLI (from another working directory: the local root is absolute).
    const planFile = join((await tempDir("sync-planfile-", t)).dir, "plan.jsonl");
    await syncBucket(src, "hf://buckets/alice/plans", { ...opts(hub), plan: planFile });
    const applied = await runHf(hub.url, hub.users.alice.token, ["buckets", "sync", "--apply", planFile], { cwd: tmpdir() });
    assert.equal(applied.code, 0, applied.stderr + applied.stdout);
    const after = [];
    for await (const e of listFiles({ repo: "buckets/alice/plans", recursive: true, ...opts(hub) })) after.push([e.path, e.size]);
    assert.deepEqual(after.sort(), [
      ["sub/y.txt", 1],
      ["x.bin", 200_000],
    ]);
    // hf_xet uploads through Python carry mtimes: a sync from the same source is now a no-op.
    assert.equal((await syncBucket(src, "hf://buckets/alice/plans", opts(hub))).executed, false);

    // Their plan (download direction), applied by us.
    const dst = (await tempDir("sync-plan-dst-", t)).dir;
    const theirPlan = join(dst, "..", `their-plan-${process.pid}.jsonl`);
    t.after(() => rm(theirPlan, { force: true }));
    const planned = await runHf(hub.url, hub.users.alice.token, ["buckets", "sync", "hf://buckets/alice/plans", dst, "--plan", theirPlan]);
    assert.equal(planned.code, 0, planned.stderr + planned.stdout);
    const res = await syncBucket(undefined, undefined, { ...opts(hub), apply: theirPlan });
    assert.equal(res.downloaded, 2);
    assert.deepEqual(await readFile(join(dst, "x.bin")), Buffer.from(await readFile(join(src, "x.bin"))));
    await assert.rejects(
      syncBucket(undefined, undefined, { ...opts(hub), apply: theirPlan, delete: true }),
      /apply cannot be combined with delete/,
    );
    await assert.rejects(syncBucket(src, undefined, { ...opts(hub) }), /needs a source and a dest/);
    await assert.rejects(syncBucket(src, dst, { ...opts(hub) }), /one of source and dest must be a bucket/);
    await assert.rejects(
      syncBucket(src, "hf://buckets/alice/plans", { ...opts(hub), ignoreTimes: true, ignoreSizes: true }),
      /cannot be combined/,
    );
  },
);
