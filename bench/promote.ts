/**
 * Promotion: bucket files into model and dataset repositories on one local hub (issue 15). A "checkpoint"
 * of seeded random bytes (default 1 GiB) and a folder of shards (default 8 × 64 MiB) are uploaded to a
 * bucket, then promoted with `copyFiles` into a model and `copyFolder` into a dataset: one commit each. For
 * each promotion: the time, the bytes read from the CAS (xorb fetches), the bytes sent (request bodies: xorbs,
 * shards, the commit), and how much the hub's store grew (its xorb files, and the whole data directory). The
 * official client (huggingface_hub + hf_xet) then downloads every promoted file, compared by SHA-256.
 *
 *   npx tsx bench/promote.ts [--mib 1024] [--shards 8] [--shard-mib 64]
 *
 * Writes the "promote" section of BENCHMARKS.md.
 */
import { spawn } from "node:child_process";
import { createCipheriv, createHash } from "node:crypto";
import { closeSync, existsSync, mkdtempSync, openSync, readdirSync, readSync, rmSync, statSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { BucketFileBlob, copyFiles, copyFolder, createBucket, createRepo, downloadFile, pathsInfo, uploadFiles } from "../js/src/index.js";
import { BENCH_DATA, ensureDir, table, writeSection } from "./lib/report.js";
import { BenchHub, MiB, PYTHON, TOKEN } from "./lib/upload-harness.js";

const { values } = parseArgs({
  options: {
    mib: { type: "string", default: "1024" },
    shards: { type: "string", default: "8" },
    "shard-mib": { type: "string", default: "64" },
  },
});
const CKPT = Number(values.mib) * MiB;
const SHARDS = Number(values.shards);
const SHARD = Number(values["shard-mib"]) * MiB;

/** Seeded random bytes without repeats (AES-128-CTR keystream), written to `file` once. */
function generate(file: string, size: number, seed: string): string {
  if (existsSync(file) && statSync(file).size === size) return file;
  const key = createHash("sha256").update(seed).digest().subarray(0, 16);
  const c = createCipheriv("aes-128-ctr", key, Buffer.alloc(16));
  const fd = openSync(file, "w");
  for (let off = 0; off < size; off += 8 * MiB) writeSync(fd, c.update(Buffer.alloc(Math.min(8 * MiB, size - off))));
  closeSync(fd);
  return file;
}

function sha256File(file: string): string {
  const h = createHash("sha256");
  const fd = openSync(file, "r");
  const buf = Buffer.alloc(8 * MiB);
  try {
    for (;;) {
      const n = readSync(fd, buf, 0, buf.length, null);
      if (n === 0) break;
      h.update(buf.subarray(0, n));
    }
  } finally {
    closeSync(fd);
  }
  return h.digest("hex");
}

function dirBytes(dir: string): number {
  let n = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (e.isDirectory()) n += dirBytes(join(dir, e.name));
    else n += statSync(join(dir, e.name)).size;
  }
  return n;
}

/** A fetch that counts request body bytes sent and the bytes of xorb fetch responses read. */
function countingFetch() {
  const counts = { sent: 0, read: 0 };
  const f: typeof fetch = async (input, init) => {
    const body = init?.body;
    if (body instanceof Uint8Array) counts.sent += body.byteLength;
    else if (typeof body === "string") counts.sent += Buffer.byteLength(body);
    else if (body instanceof ArrayBuffer) counts.sent += body.byteLength;
    else if (body && typeof (body as ReadableStream).getReader === "function") {
      // Streamed xorb bodies: count them as they go out.
      const [a, b] = (body as ReadableStream<Uint8Array>).tee();
      void (async () => {
        const r = b.getReader();
        for (;;) {
          const { done, value } = await r.read();
          if (done) break;
          counts.sent += value.byteLength;
        }
      })();
      init = { ...init, body: a, duplex: "half" } as RequestInit;
    }
    const res = await fetch(input, init);
    const url = typeof input === "string" ? input : input instanceof URL ? input.href : input.url;
    if (!/\/fetch\//.test(url) || !res.body) return res;
    const counted = res.body.pipeThrough(
      new TransformStream<Uint8Array, Uint8Array>({
        transform(chunk, ctl) {
          counts.read += chunk.byteLength;
          ctl.enqueue(chunk);
        },
      }),
    );
    return new Response(counted, { status: res.status, statusText: res.statusText, headers: res.headers });
  };
  return { fetch: f, counts };
}

const data = ensureDir(BENCH_DATA);
process.stderr.write("generating the inputs\n");
const ckpt = generate(join(data, `promote-ckpt-${values.mib}MiB.bin`), CKPT, "promote checkpoint");
const shardFiles = Array.from({ length: SHARDS }, (_, i) =>
  generate(join(data, `promote-shard-${values["shard-mib"]}MiB-${i}.bin`), SHARD, `shard ${i}`),
);

const hub = new BenchHub();
const rows: string[][] = [];
let checked: string;
try {
  await hub.fresh();
  const opts = { hubUrl: hub.url, accessToken: TOKEN };
  await createBucket("bench/runs", opts);
  await createRepo({ repo: "models/bench/model", ...opts });
  await createRepo({ repo: "datasets/bench/data", ...opts });
  process.stderr.write("uploading to the bucket\n");
  await uploadFiles({
    repo: "buckets/bench/runs",
    files: [
      { path: "run-1/final/model.safetensors", content: ckpt },
      ...shardFiles.map((f, i) => ({ path: `run-1/shards/part-${String(i).padStart(5, "0")}.parquet`, content: f })),
    ],
    ...opts,
  });
  /** The anchor: reading the same bucket files whole (verified downloads), in the same run. */
  const readAlone = async (paths: string[]): Promise<number> => {
    const t0 = performance.now();
    for (const path of paths) {
      const blob = await downloadFile({ repo: "buckets/bench/runs", path, ...opts });
      if (!(blob instanceof BucketFileBlob)) throw new Error(`${path}: not a Xet download`);
      for await (const _ of blob.blocks()) {
        // read and verified
      }
    }
    return (performance.now() - t0) / 1000;
  };
  const measure = async (
    name: string,
    logical: number,
    paths: string[],
    run: (f: typeof fetch) => Promise<{ bytesSent: number } | undefined>,
  ) => {
    const files = paths.length;
    const anchor = await readAlone(paths);
    const xorbs = hub.storedXorbBytes();
    const store = dirBytes(hub.dataDir);
    const { fetch: f, counts } = countingFetch();
    const t0 = performance.now();
    const report = await run(f);
    const seconds = (performance.now() - t0) / 1000;
    const xorbGrowth = hub.storedXorbBytes() - xorbs;
    const storeGrowth = dirBytes(hub.dataDir) - store;
    process.stderr.write(`${name}: ${seconds.toFixed(1)} s, read ${counts.read}, sent ${counts.sent}, store +${storeGrowth}\n`);
    rows.push([
      name,
      `${files} / ${(logical / MiB).toFixed(0)} MiB`,
      seconds.toFixed(1),
      `${(logical / MiB / seconds).toFixed(0)}`,
      `${(seconds / anchor).toFixed(2)} (${anchor.toFixed(1)} s)`,
      `${(counts.read / MiB).toFixed(1)}`,
      `${(counts.sent / 1024).toFixed(1)} KiB (xorbs: ${((report?.bytesSent ?? 0) / 1024).toFixed(1)} KiB)`,
      `${xorbGrowth} B`,
      `${(storeGrowth / 1024).toFixed(1)} KiB (${((storeGrowth / logical) * 100).toFixed(3)} %)`,
    ]);
  };
  const shardPaths = shardFiles.map((_, i) => `run-1/shards/part-${String(i).padStart(5, "0")}.parquet`);
  await measure("checkpoint → model (`copyFiles`)", CKPT, ["run-1/final/model.safetensors"], (f) =>
    copyFiles({
      destination: "models/bench/model",
      files: [{ source: { repo: "buckets/bench/runs", path: "run-1/final/model.safetensors" }, destinationPath: "model.safetensors" }],
      commitTitle: "Promote run-1",
      ...opts,
      fetch: f,
    }),
  );
  await measure("shards → dataset (`copyFolder`)", SHARDS * SHARD, shardPaths, (f) =>
    copyFolder({
      source: { repo: "buckets/bench/runs", path: "run-1/shards" },
      destination: { repo: "datasets/bench/data", path: "data" },
      ...opts,
      fetch: f,
    }),
  );

  // The official client downloads what was promoted; compared by SHA-256 with the inputs.
  const expect: Record<string, [string, string, string]> = {
    "model.safetensors": ["model", "bench/model", sha256File(ckpt)],
  };
  shardFiles.forEach((f, i) => (expect[`data/part-${String(i).padStart(5, "0")}.parquet`] = ["dataset", "bench/data", sha256File(f)]));
  const [lfs] = await pathsInfo({ repo: "models/bench/model", paths: ["model.safetensors"], ...opts });
  if (lfs?.lfs?.oid !== expect["model.safetensors"]![2]) throw new Error("the LFS pointer's SHA-256 differs from the checkpoint's");
  const py = `
import hashlib, json, sys, tempfile
from huggingface_hub import hf_hub_download
expect = json.loads(sys.argv[1])
with tempfile.TemporaryDirectory() as d:
    for path, (rtype, rid, sha) in expect.items():
        p = hf_hub_download(rid, path, repo_type=rtype, cache_dir=d)
        h = hashlib.sha256()
        with open(p, "rb") as f:
            for block in iter(lambda: f.read(8 << 20), b""):
                h.update(block)
        assert h.hexdigest() == sha, path
        print("ok", path, flush=True)
`;
  process.stderr.write("downloading with huggingface_hub\n");
  const t0 = performance.now();
  const hfHome = mkdtempSync(join(tmpdir(), "xet-bench-hf-home-"));
  // Asynchronously: the hub answering it runs in this process.
  const res = await new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve, reject) => {
    const child = spawn(PYTHON, ["-c", py, JSON.stringify(expect)], {
      env: { ...process.env, HF_ENDPOINT: hub.url, HF_TOKEN: TOKEN, HF_HUB_DISABLE_PROGRESS_BARS: "1", HF_HOME: hfHome },
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("error", reject);
    child.on("close", (status) => resolve({ status, stdout, stderr }));
  });
  rmSync(hfHome, { recursive: true, force: true });
  if (res.status !== 0) throw new Error(`huggingface_hub download failed:\n${res.stdout}\n${res.stderr}`);
  checked = `huggingface_hub 2.4.0 + hf_xet 1.8.0 downloaded the ${Object.keys(expect).length} promoted files in ${((performance.now() - t0) / 1000).toFixed(1)} s: every SHA-256 equals its input's (and the LFS pointer's).`;
} finally {
  await hub.close();
}

const body = `A ${values.mib} MiB checkpoint and ${SHARDS} shards of ${values["shard-mib"]} MiB (seeded random bytes) are uploaded to a
bucket, then promoted on the same local hub: the checkpoint into a model with \`copyFiles\`, the shards folder
into a dataset with \`copyFolder\`, one commit each. Each source is read once from the CAS (verified against
its Xet hash) to compute the SHA-256 of its LFS pointer while going through the deduplicating upload, which
finds every chunk in the store and sends only a shard naming the file (with its SHA-256), then the commit.
"Read" counts the xorb bytes fetched from the CAS; "sent" every request body (xorbs, shards, preupload, the
commit); the store is the hub's data directory (xorb files and database). The anchor, "reading alone", is a
verified download of the same files from the bucket (\`downloadFile\`), timed in the same run just before:
a promotion costs that read plus the SHA-256 and the chunking that finds the chunks in the store. Client and
hub share this process (and the machine's cores with whatever else runs).

${table(["promotion", "files / bytes", "seconds", "MiB/s", "× reading alone", "read, MiB", "sent", "xorb store growth", "store growth"], rows)}

- ${checked}`;
process.stdout.write(body + "\n");
writeSection(
  "promote",
  "Promote: bucket files into a model and a dataset repository",
  `npx tsx bench/promote.ts --mib ${values.mib} --shards ${values.shards} --shard-mib ${values["shard-mib"]}`,
  body,
);
