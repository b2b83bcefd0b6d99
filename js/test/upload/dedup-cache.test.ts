/**
 * The persistent dedup cache (xet/dedup-cache.ts), against the real local hub, uploads in fresh processes
 * where it matters (the cache is what survives them):
 *
 * - with a hub that never answers dedup queries (`dedupAnswer: "none"`), a second upload of the same 64 MiB
 *   from the same user environment sends ≤ 256 KiB (xorb and shard bodies, from the hub's request log), and a
 *   version with 10 % changed sends about the changed bytes; another hub (another endpoint) gets nothing from
 *   that cache;
 * - a cache that knows only the first chunks of a file does not keep the CAS from naming the rest: against a hub
 *   that answers generously, the file another machine uploaded is not sent again;
 * - two uploads in two processes at once, sharing the cache, both succeed, and the cache is readable after;
 * - the size bound holds (least recently used entries go first), and a damaged entry is ignored with a warning;
 * - a disabled cache (`cache: false`, `XET_BUCKETS_DISABLE_CACHE=1`) is neither read nor written;
 * - a cache entry whose xorb the hub no longer has (deleted behind its back; or the hub's data wiped and the
 *   hub restarted on the same URL): the upload still succeeds, sending what is missing, and the file
 *   downloads byte-identical;
 * - uploads into repositories (LFS files through Xet) read and write the same cache.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { createRepo } from "../../src/api/buckets.js";
import { uploadFiles, type CommitResult } from "../../src/api/upload.js";
import { directoryDedupCache } from "../../src/xet/dedup-cache.js";
import { loadSqlite } from "../../server/src/store.js";
import { checkpointBlocks, MiB, seededBytes } from "../helpers/data.mjs";
import { sha256, tempDir, writeBlocks } from "../helpers/files.js";
import { ALICE, newBucket, resolveBytes, startTestHub, type TestHub } from "../helpers/hub.js";
import { uploadBodyBytes } from "../helpers/hub-state.js";
import { runChild, startChild, type ChildJob } from "../helpers/processes.js";

/** An upload of local files in a fresh process (helpers/child.ts); `env` is added to its environment (the cache directory). */
function uploadInChild({ env, ...job }: Omit<ChildJob, "mode"> & { env?: Record<string, string> }): Promise<CommitResult> {
  return runChild({ mode: "upload", ...job }, env);
}

/** Every entry file of a cache directory (all endpoints). */
function entries(cacheDir: string): string[] {
  const root = join(cacheDir, "v1");
  if (!existsSync(root)) return [];
  return readdirSync(root).flatMap((space) => readdirSync(join(root, space)).map((f) => join(root, space, f)));
}

function dirBytes(cacheDir: string): number {
  return entries(cacheDir).reduce((a, f) => a + statSync(f).size, 0);
}

/** A 64 MiB "checkpoint" (v1) and a version with 10 % of it changed in 4 regions (v2). */
function checkpoints(dir: string): { v1: string; v2: string } {
  const v1 = join(dir, "v1.bin");
  const v2 = join(dir, "v2.bin");
  writeBlocks(v1, checkpointBlocks(64 * MiB, 300));
  writeBlocks(v2, checkpointBlocks(64 * MiB, 300, "changed"));
  return { v1, v2 };
}

test("against a hub without global dedup, a second upload of 64 MiB from the same environment sends ≤ 256 KiB", async (t) => {
  const hub = await startTestHub({ dedupAnswer: "none" });
  t.after(() => hub.close());
  const dir = (await tempDir("xet-cache-data-", t)).dir;
  const cacheDir = (await tempDir("xet-cache-", t)).dir;
  const { v1, v2 } = checkpoints(dir);
  const bucket = await newBucket(hub, "cache");
  const base = { hubUrl: hub.url, accessToken: ALICE.token, repo: `buckets/${bucket}`, env: { XET_BUCKETS_CACHE_DIR: cacheDir } };

  let mark = hub.requests.length;
  const first = await uploadInChild({ ...base, files: [[v1, "step-1/model.bin"]] });
  assert.ok(uploadBodyBytes(hub, mark) >= 64 * MiB, "the first upload sends everything");
  assert.equal(first.dedupCacheEntriesWritten, 1);
  assert.equal(entries(cacheDir).length, 1);

  mark = hub.requests.length;
  const again = await uploadInChild({ ...base, files: [[v1, "step-2/model.bin"]] });
  const sent = uploadBodyBytes(hub, mark);
  t.diagnostic(`same 64 MiB again: ${sent} bytes sent (${again.dedupCacheHits} cache hits, ${again.dedupQueries} CAS queries)`);
  assert.ok(sent <= 256 * 1024, `sent ${sent} bytes`);
  assert.equal(again.bytesSent, 0);
  // The CAS is asked as well (it may know more than this machine), but this hub answers nothing: what was
  // saved came from the cache.
  assert.ok(again.dedupCacheHits >= 1);

  mark = hub.requests.length;
  const changed = await uploadInChild({ ...base, files: [[v2, "step-3/model.bin"]] });
  const sentChanged = uploadBodyBytes(hub, mark);
  assert.ok(changed.dedupCacheHits >= 1);
  t.diagnostic(`10 % changed: ${(sentChanged / MiB).toFixed(2)} MiB sent`);
  assert.ok(sentChanged <= 0.11 * 64 * MiB + 512 * 1024, `sent ${sentChanged}`);
  assert.ok(sentChanged >= 0.099 * 64 * MiB);

  for (const [p, f] of [
    ["step-2/model.bin", v1],
    ["step-3/model.bin", v2],
  ] as const) {
    assert.equal(sha256(await resolveBytes(hub.url, bucket, p)), sha256(readFileSync(f)), p);
  }

  // Another hub is another endpoint: this cache does not claim its xorbs.
  const other = await startTestHub({ dedupAnswer: "none" });
  t.after(() => other.close());
  const otherBucket = await newBucket(other, "other");
  const elsewhere = await uploadInChild({ ...base, hubUrl: other.url, repo: `buckets/${otherBucket}`, files: [[v1, "model.bin"]] });
  assert.equal(elsewhere.newBytes, 64 * MiB);
  assert.equal(elsewhere.dedupCacheHits, 0);
});

test("a cache that knows the first chunks of a file does not keep the CAS from naming the rest (sent: none of it)", async (t) => {
  const hub = await startTestHub();
  t.after(() => hub.close());
  const dir = (await tempDir("xet-cache-data-", t)).dir;
  const mine = (await tempDir("xet-cache-", t)).dir;
  const theirs = (await tempDir("xet-cache-", t)).dir;
  const whole = seededBytes(16 * MiB, 31);
  writeFileSync(join(dir, "head.bin"), whole.subarray(0, 2 * MiB));
  writeFileSync(join(dir, "whole.bin"), whole);
  const bucket = await newBucket(hub, "cache-partial");
  const base = { hubUrl: hub.url, accessToken: ALICE.token, repo: `buckets/${bucket}` };
  // This machine uploads the first 2 MiB; another machine the whole file (its first 2 MiB deduplicated).
  await uploadInChild({ ...base, files: [[join(dir, "head.bin"), "head.bin"]], env: { XET_BUCKETS_CACHE_DIR: mine } });
  await uploadInChild({ ...base, files: [[join(dir, "whole.bin"), "theirs.bin"]], env: { XET_BUCKETS_CACHE_DIR: theirs } });
  // This machine's cache answers the file's first chunk; the CAS names the other machine's xorbs as well.
  const mark = hub.requests.length;
  const r = await uploadInChild({ ...base, files: [[join(dir, "whole.bin"), "mine.bin"]], env: { XET_BUCKETS_CACHE_DIR: mine } });
  const sent = uploadBodyBytes(hub, mark);
  t.diagnostic(`16 MiB, 2 MiB of it cached here, 14 MiB uploaded by another machine: ${sent} bytes sent (${r.dedupCacheHits} cache hits)`);
  assert.ok(r.dedupCacheHits >= 1, "the cache answered");
  assert.equal(r.bytesSent, 0);
  assert.ok(sent <= 256 * 1024, `sent ${sent} bytes`);
  assert.equal(sha256(await resolveBytes(hub.url, bucket, "mine.bin")), sha256(whole));
});

test("two uploads in two processes share the cache: both succeed, and the cache is readable after", async (t) => {
  const hub = await startTestHub({ dedupAnswer: "none" });
  t.after(() => hub.close());
  const dir = (await tempDir("xet-cache-data-", t)).dir;
  const cacheDir = (await tempDir("xet-cache-", t)).dir;
  const bucket = await newBucket(hub, "concurrent");
  const files = [0, 1, 2, 3].map((i) => {
    const p = join(dir, `f${i}.bin`);
    writeFileSync(p, seededBytes(6 * MiB, 40 + i));
    return p;
  });
  const base = { hubUrl: hub.url, accessToken: ALICE.token, repo: `buckets/${bucket}`, env: { XET_BUCKETS_CACHE_DIR: cacheDir } };
  const [a, b] = await Promise.all([
    uploadInChild({
      ...base,
      files: [
        [files[0]!, "a/0.bin"],
        [files[1]!, "a/1.bin"],
      ],
    }),
    uploadInChild({
      ...base,
      files: [
        [files[2]!, "b/2.bin"],
        [files[3]!, "b/3.bin"],
      ],
    }),
  ]);
  assert.equal(a.dedupCacheEntriesWritten + b.dedupCacheEntriesWritten, 2);
  assert.equal(entries(cacheDir).filter((f) => f.endsWith(".xbdc")).length, 2);
  assert.deepEqual(
    entries(cacheDir).filter((f) => !f.endsWith(".xbdc")),
    [],
    "no temporary file is left",
  );
  // A third process finds all four files in the cache: nothing sent, no warning about a damaged entry.
  const mark = hub.requests.length;
  const { env, ...job } = base;
  const c = await startChild({ ...job, mode: "upload", files: files.map((f, i) => [f, `c/${i}.bin`] as [string, string]) }, env).done;
  assert.ok(c.json?.ok, c.stderr);
  assert.equal(uploadBodyBytes(hub, mark) > 64 * 1024, false, `sent ${uploadBodyBytes(hub, mark)}`);
  assert.equal(c.json.result.newBytes, 0);
  assert.deepEqual(
    c.json.warnings.filter((w) => /damaged/.test(w)),
    [],
  );
});

test("the cache stays within its size bound, least recently used entries first; a damaged entry is ignored", async (t) => {
  const hub = await startTestHub({ dedupAnswer: "none" });
  t.after(() => hub.close());
  const cacheDir = (await tempDir("xet-cache-", t)).dir;
  const bucket = await newBucket(hub, "bound");
  const data = [0, 1, 2].map((i) => seededBytes(8 * MiB, 60 + i));
  const warnings: string[] = [];
  const up = (i: number, path: string, maxBytes: number) =>
    uploadFiles({
      repo: `buckets/${bucket}`,
      hubUrl: hub.url,
      accessToken: ALICE.token,
      files: [{ path, content: data[i]! }],
      cache: directoryDedupCache(cacheDir, { maxBytes }),
      onWarning: (m) => warnings.push(m),
    });
  await up(0, "a.bin", 1 << 30);
  const one = dirBytes(cacheDir);
  assert.ok(one > 0);
  // Room for two entries and a half.
  const max = Math.floor(2.5 * one);
  await up(1, "b.bin", max);
  assert.equal(entries(cacheDir).length, 2);
  const [entryA, entryB] = entries(cacheDir).sort((x, y) => statSync(x).mtimeMs - statSync(y).mtimeMs);
  // Using A's entry makes it the most recent.
  await new Promise((r) => setTimeout(r, 20));
  const reuse = await up(0, "a-again.bin", max);
  assert.equal(reuse.newBytes, 0);
  assert.ok(reuse.dedupCacheHits >= 1);
  await up(2, "c.bin", max);
  const left = entries(cacheDir);
  assert.ok(dirBytes(cacheDir) <= max, `${dirBytes(cacheDir)} > ${max}`);
  assert.ok(left.includes(entryA!), "the recently used entry stays");
  assert.ok(!left.includes(entryB!), "the least recently used one went");
  assert.equal(left.length, 2);

  // A damaged entry (garbage under a valid name) is ignored with a warning and removed.
  const space = join(cacheDir, "v1", readdirSync(join(cacheDir, "v1"))[0]!);
  const garbage = join(space, `${"ab".repeat(32)}.xbdc`);
  writeFileSync(garbage, seededBytes(5000, 1));
  const r = await up(2, "c-again.bin", max);
  assert.equal(r.newBytes, 0, "the good entries still serve");
  assert.ok(
    warnings.some((w) => /damaged dedup cache entry/.test(w)),
    warnings.join("\n"),
  );
  assert.equal(existsSync(garbage), false);
});

test("a disabled cache is neither read nor written", async (t) => {
  const hub = await startTestHub({ dedupAnswer: "none" });
  t.after(() => hub.close());
  const dir = (await tempDir("xet-cache-data-", t)).dir;
  const cacheDir = (await tempDir("xet-cache-", t)).dir;
  const bucket = await newBucket(hub, "off");
  const file = join(dir, "w.bin");
  writeFileSync(file, seededBytes(4 * MiB, 77));
  const base = { hubUrl: hub.url, accessToken: ALICE.token, repo: `buckets/${bucket}` };
  // Turned off by the environment: nothing written.
  const off = await uploadInChild({
    ...base,
    files: [[file, "1.bin"]],
    env: { XET_BUCKETS_CACHE_DIR: cacheDir, XET_BUCKETS_DISABLE_CACHE: "1" },
  });
  assert.equal(off.dedupCacheEntriesWritten, 0);
  assert.deepEqual(readdirSync(cacheDir), []);
  // Filled once, then `cache: false`: not read (everything is sent again), not written.
  await uploadInChild({ ...base, files: [[file, "2.bin"]], env: { XET_BUCKETS_CACHE_DIR: cacheDir } });
  const before = entries(cacheDir).map((f) => [f, statSync(f).mtimeMs]);
  assert.equal(before.length, 1);
  const noCache = await uploadInChild({
    ...base,
    files: [[file, "3.bin"]],
    options: { cache: false },
    env: { XET_BUCKETS_CACHE_DIR: cacheDir },
  });
  assert.equal(noCache.newBytes, 4 * MiB);
  assert.equal(noCache.dedupCacheHits, 0);
  assert.deepEqual(
    entries(cacheDir).map((f) => [f, statSync(f).mtimeMs]),
    before,
    "not touched",
  );
});

/** Deletes a xorb behind the hub's back: its row, its dedup index entries and its file. */
function deleteXorb(hub: TestHub, xorb: string): void {
  const Database = loadSqlite();
  const db = new Database(join(hub.dataDir, "hub.sqlite"));
  try {
    db.prepare("DELETE FROM dedup_chunks WHERE xorb_hash = ?").run(xorb);
    db.prepare("DELETE FROM shard_xorbs WHERE xorb_hash = ?").run(xorb);
    db.prepare("DELETE FROM xorbs WHERE hash = ?").run(xorb);
  } finally {
    db.close();
  }
  rmSync(join(hub.dataDir, "xorbs", xorb.slice(0, 2), xorb), { force: true });
}

test("a cached xorb the hub no longer has: the upload sends what is missing and the file downloads byte-identical", async (t) => {
  const hub = await startTestHub({ dedupAnswer: "none" });
  t.after(() => hub.close());
  const cacheDir = (await tempDir("xet-cache-", t)).dir;
  const bucket = await newBucket(hub, "stale");
  const warnings: string[] = [];
  const original = seededBytes(6 * MiB, 90);
  const opts = {
    repo: `buckets/${bucket}`,
    hubUrl: hub.url,
    accessToken: ALICE.token,
    cache: cacheDir,
    onWarning: (m: string) => warnings.push(m),
  };
  await uploadFiles({ ...opts, files: [{ path: "v1.bin", content: original }] });
  const xorbs = hub.requests.filter((r) => r.method === "POST" && r.path.startsWith("/v1/xorbs/")).map((r) => r.path.split("/").pop()!);
  assert.equal(xorbs.length, 1);
  deleteXorb(hub, xorbs[0]!);

  // A new version (a different file: the old one's reconstruction is broken with its xorb) dedups against the
  // cached xorb, whose shard the hub refuses; the upload finds the xorb gone and sends its chunks.
  const next = new Uint8Array(original.length + 100_000);
  next.set(original);
  next.set(seededBytes(100_000, 91), original.length);
  const r = await uploadFiles({ ...opts, files: [{ path: "v2.bin", content: new Blob([next as Uint8Array<ArrayBuffer>]) }] });
  t.diagnostic(`after the stale entry: ${r.bytesSent} bytes sent; warnings: ${warnings.join(" | ")}`);
  assert.ok(r.bytesSent >= next.length, "the missing chunks were sent");
  assert.ok(warnings.some((w) => /no longer has/.test(w)));
  assert.equal(sha256(await resolveBytes(hub.url, bucket, "v2.bin")), sha256(next));
  // The stale entry is gone; the new upload's entry serves the next upload.
  const again = await uploadFiles({ ...opts, files: [{ path: "v2-copy.bin", content: next }] });
  assert.equal(again.bytesSent, 0);

  // A stream cannot be read again: the upload fails with CACHE_STALE after removing the entry, and the
  // next run succeeds.
  const streamed = seededBytes(3 * MiB, 95);
  await uploadFiles({ ...opts, files: [{ path: "s1.bin", content: streamed }] });
  const last = hub.requests
    .filter((q) => q.method === "POST" && q.path.startsWith("/v1/xorbs/"))
    .pop()!
    .path.split("/")
    .pop()!;
  deleteXorb(hub, last);
  const stream = () => new Blob([streamed as Uint8Array<ArrayBuffer>, new Uint8Array(10)]).stream();
  await assert.rejects(
    uploadFiles({ ...opts, files: [{ path: "s2.bin", content: stream() }] }),
    (e: unknown) => (e as { code?: string }).code === "CACHE_STALE",
  );
  await uploadFiles({ ...opts, files: [{ path: "s2.bin", content: stream() }] });
  const expected = new Uint8Array(streamed.length + 10);
  expected.set(streamed);
  assert.equal(sha256(await resolveBytes(hub.url, bucket, "s2.bin")), sha256(expected));
});

test("the hub's data wiped and the hub restarted on the same URL: the upload still succeeds", async (t) => {
  const hub = await startTestHub({ dedupAnswer: "none" });
  t.after(() => hub.close());
  const dir = (await tempDir("xet-cache-data-", t)).dir;
  const cacheDir = (await tempDir("xet-cache-", t)).dir;
  const file = join(dir, "w.bin");
  const data = seededBytes(5 * MiB, 123);
  writeFileSync(file, data);
  const bucket = await newBucket(hub, "wiped");
  const base = { hubUrl: hub.url, accessToken: ALICE.token, repo: `buckets/${bucket}`, env: { XET_BUCKETS_CACHE_DIR: cacheDir } };
  await uploadInChild({ ...base, files: [[file, "w.bin"]] });
  const url = hub.url;
  const fresh = (await tempDir("xet-test-hub-", t)).dir;
  await hub.restart({ dataDir: fresh });
  assert.equal(hub.url, url, "the same URL");
  const again = await newBucket(hub, "wiped");
  const r = await uploadInChild({ ...base, repo: `buckets/${again}`, files: [[file, "w.bin"]] });
  // The cache may not even be consulted (a hub with a new store id is a new endpoint); either way, correct.
  t.diagnostic(`after the wipe: ${r.bytesSent} bytes sent, ${r.dedupCacheHits} cache hits`);
  assert.ok(r.bytesSent >= data.length);
  assert.equal(sha256(await resolveBytes(hub.url, again, "w.bin")), sha256(data));
});

test("repository uploads use the same cache: a second upload of the same file into a model repository sends ≤ 256 KiB", async (t) => {
  const hub = await startTestHub({ dedupAnswer: "none" });
  t.after(() => hub.close());
  const cacheDir = (await tempDir("xet-cache-repo-", t)).dir;
  const opts = { hubUrl: hub.url, accessToken: ALICE.token, cache: cacheDir };
  await createRepo({ repo: "models/alice/cached", ...opts });
  const weights = seededBytes(16 * MiB, 77);

  let mark = hub.requests.length;
  const first = await uploadFiles({ repo: "models/alice/cached", files: [{ path: "step-1/model.bin", content: weights }], ...opts });
  assert.ok(uploadBodyBytes(hub, mark) >= 16 * MiB, "the first upload sends everything");
  assert.equal(first.dedupCacheEntriesWritten, 1);
  assert.equal(entries(cacheDir).length, 1);

  mark = hub.requests.length;
  const again = await uploadFiles({ repo: "models/alice/cached", files: [{ path: "step-2/model.bin", content: weights }], ...opts });
  const sent = uploadBodyBytes(hub, mark);
  assert.ok(sent <= 256 * 1024, `sent ${sent} bytes`);
  assert.equal(again.bytesSent, 0);
  // This hub answers no dedup query: what was saved came from the cache.
  assert.ok(again.dedupCacheHits >= 1);
  // The commit holds the file: the hub serves it byte-identical.
  const res = await fetch(`${hub.url}/alice/cached/resolve/main/step-2/model.bin`, { headers: { Authorization: `Bearer ${ALICE.token}` } });
  assert.equal(sha256(new Uint8Array(await res.arrayBuffer())), sha256(weights));

  // `cache: false`: neither read nor written.
  mark = hub.requests.length;
  const off = await uploadFiles({
    repo: "models/alice/cached",
    files: [{ path: "step-3/model.bin", content: weights }],
    ...opts,
    cache: false,
  });
  assert.equal(off.dedupCacheHits, 0);
  assert.ok(uploadBodyBytes(hub, mark) >= 16 * MiB, "without the cache (and no global dedup) everything is sent again");
});
