/**
 * Deduplication, with figures from the dedup report (and checked against the hub's request log):
 *
 * - re-uploading the same files from a fresh process sends 0 xorb bytes (global dedup only: the child
 *   process shares nothing with the first upload);
 * - a "checkpoint" of 128 MiB whose second version has 10 % of its bytes replaced in 4 contiguous regions
 *   is re-uploaded from a fresh process sending ≤ 13 % of its size (hf_xet sends 10.8 % on such a test);
 * - within one call, repeated content is sent once (local dedup across files);
 * - with global dedup off, the same re-upload sends the xorbs again and the CAS answers
 *   `was_inserted: false` (which is not an error).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { closeSync, mkdtempSync, openSync, rmSync, writeFileSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { uploadFiles, type CommitResult } from "../../src/api/upload.js";
import { ALICE, newBucket, resolveBytes, resolveSha256, startTestHub } from "../helpers/hub.js";
import { seededBytes } from "../helpers/data.mjs";
import { sha256 } from "../helpers/files.js";
import { runChild } from "../helpers/processes.js";
import { textInput } from "../helpers/vectors.js";

const MiB = 1024 * 1024;

test("re-uploading the same files from a fresh process sends 0 xorb bytes (global dedup)", async (t) => {
  const hub = await startTestHub();
  const dir = mkdtempSync(join(tmpdir(), "xet-dedup-"));
  t.after(async () => {
    await hub.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const bucket = await newBucket(hub, "same");
  const files: [string, string][] = [];
  const contents = [seededBytes(20 * MiB, 1), textInput(3 * MiB), seededBytes(300_000, 2), new Uint8Array(2 * MiB)];
  contents.forEach((c, i) => {
    const p = join(dir, `f${i}.bin`);
    writeFileSync(p, c);
    files.push([p, `data/f${i}.bin`]);
  });
  const base = { mode: "upload" as const, hubUrl: hub.url, accessToken: ALICE.token, repo: `buckets/${bucket}` };
  const first = await runChild({ ...base, files });
  assert.ok(first.bytesSent > 20 * MiB * 0.99, `first upload sent ${first.bytesSent}`);
  const xorbPostsBefore = hub.count("POST", "/v1/xorbs/");

  const second = await runChild({ ...base, files: files.map(([p, d]) => [p, `copy/${d}`]) });
  const r: CommitResult = second;
  t.diagnostic(
    `second upload: ${r.bytesSent} xorb bytes sent, ${r.dedupGlobalBytes} of ${r.logicalBytes} bytes deduplicated globally, ${r.dedupQueries} queries`,
  );
  assert.equal(r.bytesSent, 0);
  assert.equal(r.xorbs, 0);
  assert.equal(r.newBytes, 0);
  assert.equal(r.dedupGlobalBytes + r.dedupLocalBytes, r.logicalBytes);
  assert.ok(r.dedupGlobalBytes > 0);
  assert.equal(hub.count("POST", "/v1/xorbs/"), xorbPostsBefore, "no xorb reached the hub");
  for (let i = 0; i < contents.length; i++) {
    assert.ok(Buffer.from(await resolveBytes(hub.url, bucket, `copy/data/f${i}.bin`)).equals(Buffer.from(contents[i]!)));
  }
});

test("a 128 MiB checkpoint with 10 % changed in 4 regions is re-uploaded from a fresh process sending ≤ 13 %", async (t) => {
  const hub = await startTestHub();
  const dir = mkdtempSync(join(tmpdir(), "xet-ckpt-"));
  t.after(async () => {
    await hub.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const bucket = await newBucket(hub, "ckpt");
  const SIZE = 128 * MiB;
  const BLOCK = 8 * MiB;
  // 4 regions of 3.2 MiB each (10 % in all), at 15 %, 40 %, 65 % and 90 % of the file.
  const regionLen = Math.round((SIZE * 0.1) / 4);
  const regions = [0.15, 0.4, 0.65, 0.9].map((f) => Math.round(SIZE * f));
  const v1 = join(dir, "v1.safetensors");
  const v2 = join(dir, "v2.safetensors");
  const f1 = openSync(v1, "w");
  const f2 = openSync(v2, "w");
  for (let off = 0; off < SIZE; off += BLOCK) {
    const block = seededBytes(BLOCK, 77 + off / BLOCK);
    writeSync(f1, block);
    const changed = block.slice();
    for (const [i, start] of regions.entries()) {
      const a = Math.max(start, off);
      const b = Math.min(start + regionLen, off + BLOCK);
      if (a < b) changed.set(seededBytes(b - a, 5000 + i * 131 + off / BLOCK), a - off);
    }
    writeSync(f2, changed);
  }
  closeSync(f1);
  closeSync(f2);

  const base = { mode: "upload" as const, hubUrl: hub.url, accessToken: ALICE.token, repo: `buckets/${bucket}` };
  const first = await runChild({ ...base, files: [[v1, "model.safetensors"]] });
  assert.equal(first.newBytes, SIZE);
  const second = await runChild({ ...base, files: [[v2, "model.safetensors"]] });
  const r: CommitResult = second;
  const ratio = r.bytesSent / SIZE;
  t.diagnostic(
    `10 % changed: sent ${(r.bytesSent / MiB).toFixed(2)} MiB of ${SIZE / MiB} MiB = ${(ratio * 100).toFixed(2)} %; ` +
      `new ${(r.newBytes / MiB).toFixed(2)} MiB, dedup global ${(r.dedupGlobalBytes / MiB).toFixed(2)} MiB, ${r.dedupQueries} queries (${r.dedupQueryHits} hits), ${r.xorbs} xorbs`,
  );
  assert.ok(ratio <= 0.13, `sent ${(ratio * 100).toFixed(2)} % (> 13 %)`);
  assert.ok(ratio >= 0.099, `sent ${(ratio * 100).toFixed(2)} %: at least the changed 10 % must be sent`);
  assert.ok(r.dedupGlobalBytes >= SIZE * 0.87, "the unchanged bytes come from global dedup");
  const served = await resolveSha256(hub.url, bucket, "model.safetensors");
  const { createHash } = await import("node:crypto");
  const h = createHash("sha256");
  for await (const part of (await import("node:fs")).createReadStream(v2)) h.update(part as Buffer);
  assert.equal(served.sha256, h.digest("hex"));
});

test("within one call, repeated content is sent once (local dedup across files)", async (t) => {
  const hub = await startTestHub();
  t.after(() => hub.close());
  const bucket = await newBucket(hub, "local");
  const a = seededBytes(6 * MiB, 11);
  const b = seededBytes(4 * MiB, 12);
  const ab = new Uint8Array(a.length + b.length);
  ab.set(a);
  ab.set(b, a.length);
  const report = await uploadFiles({
    repo: `buckets/${bucket}`,
    hubUrl: hub.url,
    accessToken: ALICE.token,
    files: [
      { path: "a.bin", content: a },
      { path: "a-again.bin", content: a.slice() },
      { path: "b.bin", content: b },
      { path: "ab.bin", content: ab },
    ],
  });
  const unique = a.length + b.length;
  t.diagnostic(`logical ${report.logicalBytes}, new ${report.newBytes}, local dedup ${report.dedupLocalBytes}, sent ${report.bytesSent}`);
  assert.equal(report.logicalBytes, 2 * unique + a.length);
  assert.ok(report.dedupLocalBytes >= a.length + b.length + a.length - 2 * 131072, `local dedup ${report.dedupLocalBytes}`);
  assert.ok(report.bytesSent <= unique * 1.03 + 2 * 131072, `sent ${report.bytesSent} for ${unique} unique bytes`);
  const again = report.perFile.find((f) => f.path === "a-again.bin")!;
  assert.equal(again.dedupLocalBytes, a.length);
  assert.equal(again.newBytes, 0);
  assert.equal(sha256(await resolveBytes(hub.url, bucket, "ab.bin")), sha256(ab));
});

test("with global dedup off, a re-upload sends its xorbs again and `was_inserted: false` is fine", async (t) => {
  const hub = await startTestHub();
  t.after(() => hub.close());
  const bucket = await newBucket(hub, "nodedup");
  const data = seededBytes(3 * MiB, 21);
  const opts = { repo: `buckets/${bucket}`, hubUrl: hub.url, accessToken: ALICE.token };
  const first = await uploadFiles({ ...opts, files: [{ path: "x.bin", content: data }] });
  assert.equal(first.xorbsAlreadyStored, 0);
  const second = await uploadFiles({ ...opts, files: [{ path: "y.bin", content: data }], globalDedup: false });
  assert.equal(second.dedupQueries, 0);
  assert.equal(second.xorbs, first.xorbs);
  assert.equal(second.xorbsAlreadyStored, second.xorbs);
  assert.equal(second.bytesSent, first.bytesSent);
  assert.ok(Buffer.from(await resolveBytes(hub.url, bucket, "y.bin")).equals(Buffer.from(data)));
});
