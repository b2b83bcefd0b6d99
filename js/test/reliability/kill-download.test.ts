/**
 * A sync down killed with SIGKILL mid-download leaves its temporary file (`.<name>.<random>.xet-tmp`) in
 * the destination: nothing can clean up after SIGKILL. The next sync completes the download and removes
 * that stale temporary file, and no sync ever takes a temporary download file for a local file (it would
 * otherwise be uploaded by a sync up, or count as an extra local file).
 */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, utimesSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { uploadFiles } from "../../src/api/upload.js";
import { syncBucket } from "../../src/sync/index.js";
import { startFaultProxy } from "../helpers/faults.js";
import { ALICE, listTree, newBucket, startTestHub } from "../helpers/hub.js";
import { seededBytes } from "../helpers/data.mjs";
import { listFilesRec } from "../helpers/files.js";
import { startChild, until } from "../helpers/processes.js";

test("sync down killed mid-download: the next sync completes, removes the stale temporary file, and never uploads one", async (t) => {
  const hub = await startTestHub();
  const work = mkdtempSync(join(tmpdir(), "xet-kill-dl-"));
  t.after(async () => {
    await hub.close();
    rmSync(work, { recursive: true, force: true });
  });
  const bucket = await newBucket(hub, "kill-dl");
  const big = seededBytes(12 * 1024 * 1024, 808);
  await uploadFiles({
    repo: `buckets/${bucket}`,
    hubUrl: hub.url,
    accessToken: ALICE.token,
    files: [{ path: "big.bin", content: big }],
    maxXorbBytes: 512 * 1024,
  });
  const dest = join(work, "dest");
  const proxy = await startFaultProxy(hub.url);
  t.after(() => proxy.close());
  // Slow fetches, one range per request: the download is killed while its temporary file is being written.
  proxy.add({ path: "/fetch/", action: "delay", delayMs: 150 });
  const run = startChild({
    mode: "sync",
    hubUrl: proxy.url,
    accessToken: ALICE.token,
    source: `hf://buckets/${bucket}`,
    dest,
    options: { maxRangeFetches: 1, multiRange: false, maxBufferedBytes: 1 },
  });
  await until(() => listFilesRec(dest).some((p) => p.endsWith(".xet-tmp")), 60_000, "the temporary file");
  await new Promise((r) => setTimeout(r, 300));
  run.child.kill("SIGKILL");
  await run.done;
  const left = listFilesRec(dest);
  assert.equal(left.length, 1, `one stale temporary file: ${left}`);
  assert.match(left[0]!, /^\.big\.bin\.[0-9a-f]{12}\.xet-tmp$/);
  assert.ok(!left.includes("big.bin"));
  // The temp file looks abandoned (untouched for a while).
  const old = new Date(Date.now() - 3600_000);
  utimesSync(join(dest, left[0]!), old, old);
  proxy.clear();

  // A sync up from that directory in between: the temporary file is not a local file.
  const up = await syncBucket(dest, `hf://buckets/${bucket}/mirror`, { hubUrl: hub.url, accessToken: ALICE.token, dryRun: true });
  assert.equal(up.summary.uploads, 0, JSON.stringify(up.plan.operations));

  const again = await syncBucket(`hf://buckets/${bucket}`, dest, { hubUrl: hub.url, accessToken: ALICE.token });
  assert.equal(again.downloaded, 1);
  assert.deepEqual(listFilesRec(dest), ["big.bin"], "the stale temporary file is gone");
  assert.ok(readFileSync(join(dest, "big.bin")).equals(Buffer.from(big)));
  assert.deepEqual(
    (await listTree(hub.url, bucket)).map((e) => e.path),
    ["big.bin"],
  );
});
