/**
 * `fsync`: files are flushed to disk before they replace their targets only when asked (downloadBucketFiles,
 * sync, CLI `--fsync`); the rename is atomic either way. Counted at fs.fsync (the file sink's flush).
 */
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { createRequire, syncBuiltinESMExports } from "node:module";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { downloadBucketFiles } from "../../src/api/download.js";
import { writeFileAtomic } from "../../src/platform/node/download.js";
import { seed, startTestHub, type TestHub } from "../helpers/hub.js";
import { seededBytes } from "../helpers/data.mjs";
import { assertFileEquals, tempDir } from "../helpers/files.js";

const B = "alice/fsync";

/** Counts fs.fsync calls while `f` runs (the ES module view of node:fs follows the patch). */
async function countSyncs(_dir: string, f: () => Promise<void>): Promise<number> {
  const fs = createRequire(import.meta.url)("node:fs") as { fsync: (...args: unknown[]) => void };
  const original = fs.fsync;
  let n = 0;
  fs.fsync = (...args: unknown[]) => {
    n++;
    return original(...args);
  };
  syncBuiltinESMExports();
  try {
    await f();
  } finally {
    fs.fsync = original;
    syncBuiltinESMExports();
  }
  return n;
}

describe("fsync", () => {
  let hub: TestHub;
  let tmp: { dir: string; cleanup: () => Promise<void> };
  const files = { "a.bin": seededBytes(300_000, 1), "b.bin": seededBytes(70_000, 2) };
  before(async () => {
    hub = await startTestHub();
    await seed({ hubUrl: hub.url, accessToken: hub.users.alice.token }, B, files);
    tmp = await tempDir();
  });
  after(async () => {
    await hub.close();
    await tmp.cleanup();
  });

  it("writeFileAtomic flushes the file before the rename only with fsync: true", async () => {
    const target = join(tmp.dir, "atomic.bin");
    const blocks = async function* () {
      yield new Uint8Array([1, 2, 3]);
      yield new Uint8Array([4]);
    };
    assert.equal(await countSyncs(tmp.dir, async () => void (await writeFileAtomic(target, blocks()))), 0);
    assert.deepEqual([...(await readFile(target))], [1, 2, 3, 4]);
    assert.equal(await countSyncs(tmp.dir, async () => void (await writeFileAtomic(target, blocks(), { fsync: true }))), 1);
    assert.deepEqual([...(await readFile(target))], [1, 2, 3, 4]);
  });

  it("downloadBucketFiles passes fsync on: one flush per file, none by default", async () => {
    const access = { hubUrl: hub.url, accessToken: hub.users.alice.token };
    const pairs = (dest: string) => Object.keys(files).map((p) => [p, join(tmp.dir, dest, p)] as [string, string]);
    const plain = await countSyncs(tmp.dir, async () => void (await downloadBucketFiles(B, pairs("plain"), access)));
    const synced = await countSyncs(tmp.dir, async () => void (await downloadBucketFiles(B, pairs("synced"), { ...access, fsync: true })));
    assert.equal(plain, 0);
    assert.equal(synced, 2);
    for (const [p, bytes] of Object.entries(files)) {
      await assertFileEquals(join(tmp.dir, "plain", p), bytes);
      await assertFileEquals(join(tmp.dir, "synced", p), bytes);
    }
  });
});
