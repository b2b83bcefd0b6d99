/**
 * Per-file isolation in syncs: a file that fails on its own (down: its stored data damaged, every read fails
 * verification; up: the file is gone when its upload reads it) fails alone while the rest of the sync completes;
 * `syncBucket` rejects with a `TransferError` whose `result` is the `SyncResult` listing the failed file; the CLI
 * prints the summary with the failed file and exits 1; running the sync again transfers only what is missing.
 * Against the real local hub.
 */
import assert from "node:assert/strict";
import { existsSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { IntegrityError, TransferError } from "../../src/errors.js";
import { xetHash } from "../../src/hash.js";
import type { RetryInfo } from "../../src/http.js";
import { syncBucket, type SyncResult } from "../../src/sync/index.js";
import { cliRunner, requireBuiltCli, type CliRunner } from "../helpers/clients.js";
import { seededBytes } from "../helpers/data.mjs";
import { assertFileEquals, listFilesRec, tempDir, writeFiles } from "../helpers/files.js";
import { FAST_RETRY, listTree, newBucket, seed, startTestHub, type TestHub } from "../helpers/hub.js";
import { damageStoredXorbs } from "../helpers/hub-state.js";

let hub: TestHub;
let tmp: { dir: string; cleanup: () => Promise<void> };
const FILES: Record<string, Uint8Array> = {
  "a.bin": seededBytes(400_000, 91),
  "models/bad.bin": seededBytes(900_000, 92),
  "models/c.bin": seededBytes(250_000, 93),
  "notes.txt": new TextEncoder().encode("kept\n"),
};

before(async () => {
  hub = await startTestHub();
  tmp = await tempDir();
});
after(async () => {
  await hub?.close();
  await tmp?.cleanup();
});

/** A bucket holding FILES under `run/`, with the stored data of models/bad.bin damaged. */
async function damagedBucket(): Promise<{ bucket: string; repair: () => void }> {
  const bucket = await newBucket(hub, "iso");
  await seed(
    { hubUrl: hub.url, accessToken: hub.users.alice.token },
    bucket,
    Object.fromEntries(Object.entries(FILES).map(([k, v]) => [`run/${k}`, v])),
  );
  const { repair } = damageStoredXorbs(hub.dataDir, await xetHash(FILES["models/bad.bin"]!));
  return { bucket, repair };
}

describe("sync down: one permanently corrupted file", () => {
  it("fails alone while the rest of the sync completes; a rerun transfers only what is missing", async () => {
    const { bucket, repair } = await damagedBucket();
    const dest = join(tmp.dir, "api");
    const retries: RetryInfo[] = [];
    const opts = { hubUrl: hub.url, accessToken: hub.users.alice.token, retry: FAST_RETRY, onRetry: (i: RetryInfo) => retries.push(i) };
    const err = await syncBucket(`hf://buckets/${bucket}/run`, dest, opts).catch((e) => e);
    assert.ok(err instanceof TransferError, String(err));
    assert.equal(err.code, "FILES_FAILED");
    const result = err.result as SyncResult;
    assert.equal(result.executed, true);
    assert.equal(result.summary.downloads, 4);
    assert.equal(result.downloaded, 3);
    assert.deepEqual(
      result.failed.map((f) => [f.path, f.code]),
      [["models/bad.bin", "HASH_MISMATCH"]],
    );
    assert.ok(result.failed[0]!.cause instanceof IntegrityError);
    assert.deepEqual(err.failures, result.failed);
    assert.match(err.message, /1 of 4 file\(s\) failed to download \(the others completed\):\n {2}models\/bad\.bin: downloaded data/);
    assert.equal(retries.filter((r) => /downloading the file again/.test(r.reason)).length, 1, "read twice: wrong the same way twice");
    for (const rel of ["a.bin", "models/c.bin", "notes.txt"]) await assertFileEquals(join(dest, rel), FILES[rel]!);
    assert.deepEqual(listFilesRec(dest).sort(), ["a.bin", "models/c.bin", "notes.txt"], "no bad.bin, no temporary file");

    // Still damaged: a rerun tries that file alone.
    const again = await syncBucket(`hf://buckets/${bucket}/run`, dest, opts).catch((e) => e);
    assert.ok(again instanceof TransferError);
    assert.equal((again.result as SyncResult).summary.downloads, 1);

    // Repaired: a rerun downloads it, and only it.
    repair();
    const fixed = await syncBucket(`hf://buckets/${bucket}/run`, dest, opts);
    assert.equal(fixed.summary.downloads, 1);
    assert.equal(fixed.downloaded, 1);
    assert.deepEqual(fixed.failed, []);
    await assertFileEquals(join(dest, "models/bad.bin"), FILES["models/bad.bin"]!);
    const noop = await syncBucket(`hf://buckets/${bucket}/run`, dest, opts);
    assert.equal(noop.summary.downloads, 0);
  });

  it("the CLI lists the failed file in its summary and exits 1; --json has it in `failed`", async (t) => {
    requireBuiltCli();
    const { bucket, repair } = await damagedBucket();
    t.after(repair);
    const cli: CliRunner = await cliRunner(hub.url, hub.users.alice.token);
    t.after(cli.cleanup);
    const dest = join(tmp.dir, "cli");
    const r = await cli(["sync", `hf://buckets/${bucket}/run`, dest]);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stdout, /Downloads: 4/);
    assert.match(
      r.stdout,
      /Sync completed with 1 failed file\(s\); the others were downloaded:\n {2}models\/bad\.bin: downloaded data .* \[HASH_MISMATCH\]/,
    );
    assert.ok(existsSync(join(dest, "a.bin")) && !existsSync(join(dest, "models/bad.bin")));

    const json = await cli(["sync", `hf://buckets/${bucket}/run`, join(tmp.dir, "cli-json"), "--json"]);
    assert.equal(json.code, 1, json.stderr);
    const out = JSON.parse(json.stdout) as { downloaded: number; failed: { path: string; code: string; error: string }[] };
    assert.equal(out.downloaded, 3);
    assert.deepEqual(
      out.failed.map((f) => [f.path, f.code]),
      [["models/bad.bin", "HASH_MISMATCH"]],
    );
  });
});

describe("sync up: a file gone between the scan and its upload", () => {
  it("fails alone while the others are uploaded; a rerun uploads only what is missing", async () => {
    const bucket = await newBucket(hub, "iso-up");
    const src = join(tmp.dir, "up");
    writeFiles(src, FILES);
    const opts = { hubUrl: hub.url, accessToken: hub.users.alice.token, retry: FAST_RETRY, cache: false as const };
    const err = await syncBucket(src, `hf://buckets/${bucket}/run`, {
      ...opts,
      // The plan is made; the file goes before it is read.
      onEvent: (e) => e.type === "plan" && rmSync(join(src, "models/bad.bin")),
    }).catch((e) => e);
    assert.ok(err instanceof TransferError, String(err));
    const result = err.result as SyncResult;
    assert.equal(result.summary.uploads, 4);
    assert.equal(result.upload?.files, 3);
    assert.deepEqual(
      result.failed.map((f) => [f.path, f.code]),
      [["models/bad.bin", "FILE_NOT_FOUND"]],
    );
    assert.match(err.message, /1 of 4 file\(s\) failed to upload/);
    const listed = (await listTree(hub.url, bucket)).map((e) => e.path).sort();
    assert.deepEqual(listed, ["run/a.bin", "run/models/c.bin", "run/notes.txt"]);

    // Back: the rerun uploads it, and only it.
    writeFileSync(join(src, "models/bad.bin"), FILES["models/bad.bin"]!);
    const again = await syncBucket(src, `hf://buckets/${bucket}/run`, opts);
    assert.equal(again.summary.uploads, 1);
    assert.equal(again.upload?.files, 1);
    assert.deepEqual(again.failed, []);
  });
});
