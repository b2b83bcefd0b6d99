#!/usr/bin/env node
// Successive training checkpoints synced to a Storage Bucket: the first sync sends everything, later ones
// send only the tensors that changed, thanks to Xet deduplication. Then: listing, download, verification.
//
//   node examples/node/checkpoints.mjs                       # against an embedded local hub (offline)
//   HF_ENDPOINT=https://huggingface.co HF_TOKEN=hf_... BUCKET=you/ckpts node examples/node/checkpoints.mjs
//
// Options (environment): STEPS (default 4), MIB (checkpoint size, default 96), BUCKET (ns/name).
import { mkdtemp, mkdir, rm, writeFile, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createBucket, listFiles, syncBucket, xetHash, bucketInfo } from "xet-buckets";

const STEPS = Number(process.env.STEPS ?? 4);
const MIB = Number(process.env.MIB ?? 96);
const fmt = (n) => (n >= 1 << 20 ? `${(n / (1 << 20)).toFixed(1)} MiB` : n >= 1024 ? `${(n / 1024).toFixed(1)} KiB` : `${n} B`);

// --- Where to sync: the Hub given in the environment, or an embedded local hub -----------------------------
let hub;
let hubUrl = process.env.HF_ENDPOINT;
let accessToken = process.env.HF_TOKEN;
if (!hubUrl) {
  // The local hub is the package xet-buckets-hub (npm install xet-buckets-hub); in this repository, its build.
  const { startLocalHub } = await import("xet-buckets-hub").catch((err) =>
    err.code === "ERR_MODULE_NOT_FOUND" ? import("../../dist/server/index.js") : Promise.reject(err),
  );
  const dataDir = await mkdtemp(join(tmpdir(), "xet-buckets-demo-hub-"));
  accessToken = "hf_demo_local_token";
  hub = await startLocalHub({ dataDir, users: [{ name: "demo", token: accessToken }] });
  hubUrl = hub.url;
  console.log(`Local hub listening on ${hubUrl} (data in ${dataDir})`);
}
const bucket = process.env.BUCKET ?? "demo/checkpoints";
const opts = { hubUrl, accessToken };
await createBucket(bucket, { ...opts, existOk: true, private: true });
console.log(`Bucket hf://buckets/${bucket}\n`);

// --- A toy "model": named tensors of seeded random bytes; each step changes a few of them -----------------
const TENSORS = 24;
const tensorBytes = Math.floor((MIB << 20) / TENSORS);
function tensor(i, version) {
  const out = new Uint8Array(tensorBytes);
  let x = (i * 2654435761 + version * 40503 + 1) >>> 0;
  const w = new Uint32Array(out.buffer, 0, tensorBytes >>> 2);
  for (let k = 0; k < w.length; k++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    w[k] = x;
  }
  return out;
}

const work = await mkdtemp(join(tmpdir(), "xet-buckets-demo-"));
const versions = new Array(TENSORS).fill(0);
const rows = [];
try {
  for (let step = 1; step <= STEPS; step++) {
    // Training moves on: ~10 % of the tensors change between checkpoints, plus small metadata files.
    if (step > 1) for (let k = 0; k < Math.max(1, Math.round(TENSORS / 10)); k++) versions[(step * 7 + k * 5) % TENSORS]++;
    const dir = join(work, `step-${String(step).padStart(4, "0")}`);
    await mkdir(dir, { recursive: true });
    const model = new Uint8Array(tensorBytes * TENSORS);
    for (let i = 0; i < TENSORS; i++) model.set(tensor(i, versions[i]), i * tensorBytes);
    await writeFile(join(dir, "model.safetensors"), model);
    await writeFile(join(dir, "trainer_state.json"), JSON.stringify({ step, loss: 2 / step }, null, 2));

    const t0 = performance.now();
    const res = await syncBucket(dir, `hf://buckets/${bucket}/step-${String(step).padStart(4, "0")}`, opts);
    const secs = (performance.now() - t0) / 1000;
    const r = res.upload;
    rows.push({ step, logical: r.logicalBytes, sent: r.bytesSent, dedup: r.dedupLocalBytes + r.dedupGlobalBytes, secs });
    console.log(
      `step ${step}: ${fmt(r.logicalBytes)} checkpoint → sent ${fmt(r.bytesSent)} ` +
        `(${((100 * r.bytesSent) / r.logicalBytes).toFixed(1)} %), deduplicated ${fmt(r.dedupLocalBytes + r.dedupGlobalBytes)}, ` +
        `${secs.toFixed(1)} s`,
    );
  }

  // --- Listing -----------------------------------------------------------------------------------------------
  const info = await bucketInfo(bucket, opts);
  console.log(`\nBucket holds ${info.totalFiles} files, ${fmt(info.size)} logical:`);
  for await (const e of listFiles({ repo: `buckets/${bucket}`, ...opts }))
    console.log(`  ${e.type === "directory" ? "dir " : "file"} ${e.path}`);

  // --- Download the last checkpoint and verify it ------------------------------------------------------------
  const last = `step-${String(STEPS).padStart(4, "0")}`;
  const restore = join(work, "restored");
  const down = await syncBucket(`hf://buckets/${bucket}/${last}`, restore, opts);
  const a = await readFile(join(work, last, "model.safetensors"));
  const b = await readFile(join(restore, "model.safetensors"));
  const same = Buffer.compare(a, b) === 0 && (await xetHash(a)) === (await xetHash(b));
  console.log(`\nDownloaded ${down.downloaded} files of ${last}: ${same ? "bytes and Xet hash verified" : "MISMATCH"}`);
  const again = await syncBucket(`hf://buckets/${bucket}/${last}`, restore, opts);
  console.log(`A second sync plans ${again.summary.skips} skips and transfers nothing: ${!again.executed}`);

  const total = rows.reduce((n, r) => n + r.logical, 0);
  const sent = rows.reduce((n, r) => n + r.sent, 0);
  console.log(`\n${STEPS} checkpoints, ${fmt(total)} in all: ${fmt(sent)} sent (${((100 * sent) / total).toFixed(1)} %).`);
  if (!same) process.exitCode = 1;
} finally {
  await rm(work, { recursive: true, force: true });
  if (hub) {
    await hub.close();
    await rm(hub.dataDir, { recursive: true, force: true });
  }
}
