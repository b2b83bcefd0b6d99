/**
 * Resume (USERS.md §5): an upload or sync that is killed (SIGKILL, in a child process) or fails midway,
 * run again with the same `resumeDir`, does not send again the xorbs the CAS accepted before, and ends in
 * the state of an uninterrupted run (same listing: paths, sizes, xet hashes, mtimes; same bytes).
 *
 * Also: the state file format (stamp, key, torn last line, corruption → ignored with a warning), a state
 * whose xorbs the CAS does not hold (posted again, never trusted blindly), dedup answers that name the
 * state's xorbs (ignored, so formation stays deterministic), and a failure after the shards (only the
 * registration is redone).
 */
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { uploadFiles, type CommitResult } from "../../src/api/upload.js";
import { DedupShardBuilder, initCore, hexToRaw } from "../../src/core/index.js";
import { syncBucket } from "../../src/sync/index.js";
import { directoryResumeStore, resumeKey, resumeStamp, shardXorbsRaw } from "../../src/xet/resume.js";
import { startFaultProxy } from "../helpers/faults.js";
import { ALICE, FAST_RETRY, listTree, newBucket, resolveBytes, startTestHub, type TestHub, type TreeEntry } from "../helpers/hub.js";
import { dataWithEligibleChunk } from "../helpers/cas.js";
import { MiB, seededBytes } from "../helpers/data.mjs";
import { writeFiles } from "../helpers/files.js";
import { storedFromState, xorbPosts } from "../helpers/hub-state.js";
import { startChild, until } from "../helpers/processes.js";
import { saveSuiteReport } from "../helpers/reports.js";

const XORB = 512 * 1024;
let tmp: string;
const stats = {
  kills: 0,
  resumedRuns: 0,
  xorbsSkipped: 0,
  bytesSkipped: 0,
  bytesResent: 0,
  bytesNotAcceptedBeforeKill: 0,
  runsVerified: 0,
};

before(async () => {
  await initCore();
  tmp = mkdtempSync(join(tmpdir(), "xet-resume-"));
});
after(() => {
  rmSync(tmp, { recursive: true, force: true });
  saveSuiteReport({ suite: "resume", ...stats });
});

const view = (entries: TreeEntry[], withMtime: boolean) =>
  entries
    .map((e) => ({ path: e.path, size: e.size, xetHash: e.xetHash, ...(withMtime ? { mtime: e.mtime } : {}) }))
    .sort((a, b) => a.path.localeCompare(b.path));

function stateFiles(dir: string): string[] {
  return existsSync(dir) ? readdirSync(dir).filter((n) => n.endsWith(".xbresume")) : [];
}

describe("state files", () => {
  it("marks persist; a torn last line is dropped; another stamp, another key or a bad line → ignored with a warning", async () => {
    const dir = join(tmp, "unit");
    const key = await resumeKey({ endpoint: "http://h", bucket: "a/b", files: [{ path: "x", size: 1, mtime: 2, kind: "local" }] });
    const h = (i: number) => i.toString(16).padStart(64, "0");
    const warnings: string[] = [];
    const warn = (m: string) => warnings.push(m);
    const store = directoryResumeStore(dir);

    const s1 = await store.open(key, warn);
    assert.equal(s1.known.size, 0);
    s1.posting(h(1));
    s1.accepted(h(1));
    s1.posting(h(2));
    await s1.close();
    const file = join(dir, `${key}.xbresume`);
    const text = readFileSync(file, "utf8");
    const header = JSON.parse(text.split("\n")[0]!);
    assert.deepEqual({ ...header, created: 0 }, { ...(await resumeStamp()), key, created: 0 });
    assert.ok(header.core.startsWith("xet-core-rs "));

    // A kill in the middle of a write leaves a torn line: dropped without a warning.
    writeFileSync(file, text + "a 00ff");
    const s2 = await store.open(key, warn);
    assert.deepEqual(
      [...s2.known],
      [
        [h(1), "a"],
        [h(2), "p"],
      ],
    );
    assert.deepEqual(warnings, []);
    s2.accepted(h(2));
    await s2.close();
    const s3 = await store.open(key, warn);
    assert.deepEqual(
      [...s3.known],
      [
        [h(1), "a"],
        [h(2), "a"],
      ],
      "appending after a torn line starts on a fresh line",
    );
    await s3.close();

    const cases: Array<[string, (t: string) => string, RegExp]> = [
      ["other core", (t) => t.replace(/"core":"[^"]+"/, '"core":"xet-core-rs 9.9.9"'), /written by "xet-core-rs 9\.9\.9"/],
      ["other format version", (t) => t.replace(/"version":1/, '"version":2'), /format version 2/],
      ["other key", (t) => t.replace(/"key":"[0-9a-f]+"/, `"key":"${"e".repeat(64)}"`), /another upload/],
      ["bad line", (t) => t.replace(`a ${h(1)}`, `x ${h(1)}`), /line \d+ is malformed/],
      ["header not JSON", (t) => `garbage\n${t}`, /header is not JSON/],
    ];
    for (const [name, damage, why] of cases) {
      const good = readFileSync(file, "utf8");
      writeFileSync(file, damage(good));
      warnings.length = 0;
      const s = await store.open(key, warn);
      assert.equal(s.known.size, 0, `${name}: nothing trusted`);
      assert.equal(warnings.length, 1, name);
      assert.match(warnings[0]!, why, name);
      assert.match(warnings[0]!, /ignored/);
      // The replaced file has a fresh header and the marks of this run only.
      s.accepted(h(1));
      s.accepted(h(2));
      await s.close();
      const again = await store.open(key, warn);
      assert.equal(again.known.size, 2, `${name}: the replacement is valid`);
      await again.close();
    }

    // Registered: the file is deleted.
    const s4 = await store.open(key, warn);
    await s4.registered();
    assert.equal(existsSync(file), false);

    // Abandoned states are pruned when a store opens.
    const old = join(dir, `${"0".repeat(64)}.xbresume`);
    writeFileSync(old, "x\n");
    utimesSync(old, new Date(Date.now() - 30 * 86400_000), new Date(Date.now() - 30 * 86400_000));
    await (await directoryResumeStore(dir, { maxAgeDays: 14 }).open(key, warn)).close();
    assert.equal(existsSync(old), false);
  });

  it("shardXorbsRaw reads the xorb hashes of a dedup answer (keyed or not), and refuses what is not a shard", () => {
    const hashes = [seededBytes(32, 1), seededBytes(32, 2)];
    const xorbs = ["11".repeat(32), "22".repeat(32)];
    for (const key of [undefined, new Uint8Array(32).fill(7)]) {
      const b = new DedupShardBuilder();
      b.addXorb(xorbs[0]!, hashes[0]!, new Uint32Array([100]), 108);
      b.addXorb(xorbs[1]!, Buffer.concat([hashes[1]!, hashes[0]!]), new Uint32Array([50, 100]), 166);
      const shard = b.finish(key, 1, 2);
      assert.deepEqual(
        shardXorbsRaw(shard),
        xorbs.map((x) => Buffer.from(hexToRaw(x)).toString("hex")),
      );
    }
    assert.equal(shardXorbsRaw(new Uint8Array(10)), undefined);
    assert.equal(shardXorbsRaw(seededBytes(5000, 3)), undefined);
    // Hostile answers: random bytes and damaged shards always end (a u32 read as negative once looped
    // forever), whatever they return.
    const b = new DedupShardBuilder();
    b.addXorb(xorbs[0]!, Buffer.concat([hashes[0]!, hashes[1]!]), new Uint32Array([10, 20]), 46);
    const good = b.finish(undefined, 1, 2);
    const t0 = Date.now();
    for (let i = 0; i < 3000; i++) {
      const r = seededBytes(48 + (i % 700), 1000 + i);
      if (i % 2) r.set(good.subarray(0, Math.min(r.length, 48 + (i % 200))));
      shardXorbsRaw(r);
      const d = Uint8Array.from(good);
      d[i % d.length] ^= 1 << (i % 8);
      d[(i * 7) % d.length] = 0xff;
      shardXorbsRaw(d);
    }
    assert.ok(Date.now() - t0 < 5000);
  });
});

describe("resume after a failure (in process)", () => {
  let hub: TestHub;
  let ref: TestHub;
  before(async () => {
    hub = await startTestHub();
    ref = await startTestHub();
  });
  after(async () => {
    await hub.close();
    await ref.close();
  });

  it("a failed upload, run again, skips every xorb the CAS accepted, including past a dedup hit on them", async () => {
    // The data has a global-dedup-eligible chunk inside an early xorb: the hub indexes it when the xorb is
    // stored, so the second run's query for it hits a xorb of the first run. The answer must be ignored,
    // or the second run would cut the data into other xorbs and send them all again.
    const { data, offsets } = await dataWithEligibleChunk(16 * MiB, 2 * XORB, 8 * MiB);
    const files = [
      { path: "ckpt/model.bin", content: data },
      { path: "ckpt/small.bin", content: seededBytes(300_000, 77) },
    ];
    const refId = await newBucket(ref, "ref");
    const reference = await uploadFiles({ repo: `buckets/${refId}`, hubUrl: ref.url, accessToken: ALICE.token, files, maxXorbBytes: XORB });
    const total = reference.xorbs;
    const acceptedBefore = Math.ceil(offsets[0]! / XORB) + 4;
    assert.ok(acceptedBefore < total - 2, `${acceptedBefore} of ${total}`);

    const bucket = await newBucket(hub, "resume-fail");
    const resumeDir = join(tmp, "fail");
    const requestsBefore = hub.requests.length;
    const proxy = await startFaultProxy(hub.url);
    const rule = proxy.add({ method: "POST", path: "/v1/xorbs/", action: "status", status: 400, skip: acceptedBefore, times: 1 });
    const opts = { repo: `buckets/${bucket}`, accessToken: ALICE.token, files, maxXorbBytes: XORB, resumeDir, retry: FAST_RETRY };
    await assert.rejects(uploadFiles({ ...opts, hubUrl: proxy.url }), (e: { statusCode?: number }) => e.statusCode === 400);
    assert.equal(rule.injected, 1);
    assert.deepEqual(await listTree(hub.url, bucket), [], "nothing registered");
    assert.equal(stateFiles(resumeDir).length, 1);
    // What the hub stored: the fault hit POST number acceptedBefore + 1 of 2 in flight; the other one may
    // have been stored, even if its answer was cut by the failure. Counted once the hub has finished every
    // xorb POST the proxy passed on (one may still be arriving when the call rejects).
    const passed = () => proxy.log.filter((e) => e.method === "POST" && e.path.startsWith("/v1/xorbs/") && !e.fault).length;
    await until(() => xorbPosts(hub, requestsBefore).count >= passed(), 10_000, "the xorb POSTs in flight").catch(() => undefined);
    const first = await storedFromState(hub, bucket, resumeDir, ALICE.token);
    assert.ok(first.count >= acceptedBefore - 2 && first.count < total, `${first.count} stored`);

    const mark = hub.requests.length;
    const warnings: string[] = [];
    // The same endpoint (the proxy, now without rules): the state is keyed by endpoint, bucket and files.
    const second: CommitResult = await uploadFiles({ ...opts, hubUrl: proxy.url, onWarning: (m) => warnings.push(m) });
    await proxy.close();
    const resent = xorbPosts(hub, mark);
    assert.deepEqual(warnings, []);
    assert.ok(second.resumed, "the result says what resuming did");
    assert.ok(second.resumed.candidates > first.count, "the stored xorbs + the refused one whose POST had started");
    assert.equal(second.resumed.xorbsSkipped, first.count);
    assert.equal(second.resumed.notStored, second.resumed.candidates - first.count, "started but not stored: checked and sent");
    assert.ok(second.resumed.answersIgnored >= 1, "the dedup hit on a first-run xorb was ignored");
    assert.equal(resent.count, total - first.count, "only the xorbs not stored before were sent");
    assert.equal(resent.bytes, reference.bytesSent - first.bytes);
    assert.deepEqual(view(await listTree(hub.url, bucket), false), view(await listTree(ref.url, refId), false));
    for (const f of files) assert.ok(Buffer.from(await resolveBytes(hub.url, bucket, f.path)).equals(Buffer.from(f.content)), f.path);
    assert.equal(stateFiles(resumeDir).length, 0, "the state is deleted once the files are registered");
    stats.resumedRuns++;
    stats.runsVerified++;
    stats.xorbsSkipped += second.resumed.xorbsSkipped;
    stats.bytesSkipped += second.resumed.bytesSkipped;
    stats.bytesResent += resent.bytes;
    stats.bytesNotAcceptedBeforeKill += reference.bytesSent - first.bytes;
  });

  it("a failure after the shards: the second run sends no xorb and only registers", async () => {
    const bucket = await newBucket(hub, "resume-batch");
    const resumeDir = join(tmp, "batch");
    const files = [{ path: "a.bin", content: seededBytes(3 * MiB, 501) }];
    const proxy = await startFaultProxy(hub.url);
    proxy.add({ method: "POST", path: "/batch", action: "status", status: 500 });
    const opts = {
      repo: `buckets/${bucket}`,
      accessToken: ALICE.token,
      files,
      maxXorbBytes: XORB,
      resumeDir,
      retry: { ...FAST_RETRY, maxAttempts: 2 },
    };
    await assert.rejects(uploadFiles({ ...opts, hubUrl: proxy.url }), (e: { code?: string }) => e.code === "SERVER_ERROR");
    proxy.clear();
    const mark = hub.requests.length;
    const r = await uploadFiles({ ...opts, hubUrl: proxy.url });
    await proxy.close();
    assert.equal(xorbPosts(hub, mark).count, 0);
    assert.equal(r.resumed!.xorbsSkipped, r.resumed!.candidates);
    assert.ok(Buffer.from(await resolveBytes(hub.url, bucket, "a.bin")).equals(Buffer.from(files[0]!.content)));
    stats.resumedRuns++;
    stats.runsVerified++;
  });

  it("a state whose xorbs the CAS does not hold is not trusted: they are sent again", async () => {
    const files = [{ path: "a.bin", content: seededBytes(2 * MiB, 601) }];
    const resumeDir = join(tmp, "elsewhere");
    // First run against hub A fails at the batch; the state lists xorbs that only A holds.
    const a = await startTestHub();
    const proxy = await startFaultProxy(a.url);
    proxy.add({ method: "POST", path: "/batch", action: "status", status: 400 });
    const bucketA = await newBucket(a, "st");
    await assert.rejects(
      uploadFiles({ repo: `buckets/${bucketA}`, hubUrl: proxy.url, accessToken: ALICE.token, files, maxXorbBytes: XORB, resumeDir }),
    );
    await proxy.close();
    await a.close();
    // A state keyed for another hub is not picked up; copy it under this upload's key to force the case.
    const [name] = stateFiles(resumeDir);
    const bucket = await newBucket(hub, "st");
    const key = await resumeKey({
      endpoint: hub.url,
      bucket,
      files: [{ path: "a.bin", size: files[0]!.content.length, mtime: undefined, kind: "data" }],
    });
    const text = readFileSync(join(resumeDir, name!), "utf8").replace(/"key":"[0-9a-f]+"/, `"key":"${key}"`);
    writeFileSync(join(resumeDir, `${key}.xbresume`), text);
    const mark = hub.requests.length;
    const r = await uploadFiles({
      repo: `buckets/${bucket}`,
      hubUrl: hub.url,
      accessToken: ALICE.token,
      files,
      maxXorbBytes: XORB,
      resumeDir,
    });
    assert.ok(r.resumed!.candidates > 0);
    assert.equal(r.resumed!.xorbsSkipped, 0);
    assert.equal(r.resumed!.notStored, r.resumed!.candidates);
    assert.equal(xorbPosts(hub, mark).ok, r.xorbs);
    assert.ok(Buffer.from(await resolveBytes(hub.url, bucket, "a.bin")).equals(Buffer.from(files[0]!.content)));
    stats.runsVerified++;
  });
});

describe("resume after SIGKILL (child processes)", () => {
  let hub: TestHub;
  let ref: TestHub;
  before(async () => {
    hub = await startTestHub();
    ref = await startTestHub();
  });
  after(async () => {
    await hub.close();
    await ref.close();
  });

  for (const mode of ["upload", "sync"] as const) {
    it(`${mode}: killed after some xorbs were accepted, run again: resends at most what was not accepted; same end state`, async () => {
      const src = join(tmp, `kill-${mode}`);
      writeFiles(src, {
        "weights/a.bin": seededBytes(6 * MiB, 700 + (mode === "sync" ? 10 : 0)),
        "weights/b.bin": seededBytes(5 * MiB, 701 + (mode === "sync" ? 10 : 0)),
        "config.json": new TextEncoder().encode(JSON.stringify({ mode, layers: 12 })),
      });
      const rels = ["config.json", "weights/a.bin", "weights/b.bin"];
      const options = { maxXorbBytes: XORB, retry: FAST_RETRY };
      const jobFor = (h: TestHub, bucket: string, extra: Record<string, unknown> = {}) =>
        mode === "upload"
          ? {
              mode,
              hubUrl: h.url,
              accessToken: ALICE.token,
              repo: `buckets/${bucket}`,
              files: rels.map((r) => [join(src, r), r] as [string, string]),
              options: { ...options, ...extra },
            }
          : {
              mode,
              hubUrl: h.url,
              accessToken: ALICE.token,
              source: src,
              dest: `hf://buckets/${bucket}`,
              options: { ...options, ...extra },
            };

      // Reference: an uninterrupted run on another hub.
      const refBucketId = await newBucket(ref, `ref-${mode}`);
      const refMark = ref.requests.length;
      const { done: refDone } = startChild(jobFor(ref, refBucketId));
      const refOut = await refDone;
      assert.ok(refOut.json?.ok, refOut.stderr);
      const total = xorbPosts(ref, refMark);

      // Run 1: slowed down (each xorb answer takes 100 ms), killed once a third of the xorbs are stored.
      const bucket = await newBucket(hub, `kill-${mode}`);
      const resumeDir = join(tmp, `state-${mode}`);
      const proxy = await startFaultProxy(hub.url);
      proxy.add({ method: "POST", path: "/v1/xorbs/", action: "delay", delayMs: 100 });
      const mark = hub.requests.length;
      const run1 = startChild({ ...jobFor(hub, bucket, { resumeDir }), hubUrl: proxy.url });
      await until(() => xorbPosts(hub, mark).ok >= Math.floor(total.count / 3), 60_000, "a third of the xorbs");
      run1.child.kill("SIGKILL");
      const killed = await run1.done;
      assert.equal(killed.signal, "SIGKILL");
      await new Promise((r) => setTimeout(r, 300)); // let the hub finish the request the kill cut
      proxy.clear();
      assert.deepEqual(await listTree(hub.url, bucket), [], "nothing registered by the killed run");
      assert.equal(stateFiles(resumeDir).length, 1);
      const before = await storedFromState(hub, bucket, resumeDir, ALICE.token);
      assert.ok(
        before.count >= xorbPosts(hub, mark).ok && before.count < total.count,
        `killed before the end (${before.count} of ${total.count})`,
      );

      // Run 2: a fresh process, same state directory.
      const mark2 = hub.requests.length;
      const run2 = await startChild({ ...jobFor(hub, bucket, { resumeDir }), hubUrl: proxy.url }).done;
      await proxy.close();
      assert.ok(run2.json?.ok, `${JSON.stringify(run2.json)} ${run2.stderr}`);
      const resent = xorbPosts(hub, mark2);
      const notAccepted = total.bytes - before.bytes;
      assert.ok(resent.bytes <= notAccepted, `re-sent ${resent.bytes} bytes, ${notAccepted} were not accepted before the kill`);
      assert.equal(resent.count, total.count - before.count);
      const resumed = mode === "upload" ? run2.json!.result.resumed : run2.json!.result.upload.resumed;
      assert.equal(resumed.xorbsSkipped, before.count);

      // Same end state as the uninterrupted run: listing (with mtimes) and bytes.
      assert.deepEqual(view(await listTree(hub.url, bucket), true), view(await listTree(ref.url, refBucketId), true));
      for (const r of rels) assert.ok(Buffer.from(await resolveBytes(hub.url, bucket, r)).equals(readFileSync(join(src, r))), r);
      assert.equal(stateFiles(resumeDir).length, 0);
      if (mode === "sync") {
        const again = await syncBucket(src, `hf://buckets/${bucket}`, { hubUrl: hub.url, accessToken: ALICE.token });
        assert.equal(again.summary.uploads, 0, "a third sync has nothing to do");
      }
      stats.kills++;
      stats.resumedRuns++;
      stats.runsVerified++;
      stats.xorbsSkipped += resumed.xorbsSkipped;
      stats.bytesSkipped += resumed.bytesSkipped;
      stats.bytesResent += resent.bytes;
      stats.bytesNotAcceptedBeforeKill += notAccepted;
    });
  }
});
