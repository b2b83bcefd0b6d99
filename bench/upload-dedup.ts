/**
 * Deduplication across uploads, for every client, from fresh processes (no client-side cache survives
 * between uploads): a "checkpoint" of seeded random bytes (default 128 MiB) is uploaded, then a second
 * version with 10 % of its bytes replaced in 4 contiguous regions (as when some tensors change), then the
 * first version again under another path. What each upload sent is measured the same way for every client:
 * the growth of the hub's xorb store (xorb bodies are stored as received).
 *
 *   npx tsx bench/upload-dedup.ts [--mib 128]
 *
 * Clients: xet-buckets (defaults), huggingface_hub 2.4.0 + hf_xet 1.8.0 `batch_bucket_files`,
 * @huggingface/hub 2.17.5 `uploadFiles`, each against a fresh local hub. Writes the "upload-dedup" section
 * of BENCHMARKS.md.
 */
import { closeSync, existsSync, openSync, statSync, writeSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { BENCH_DATA, ensureDir, table, writeSection } from "./lib/report.js";
import { BenchHub, MiB, nodeUpload, pythonUpload, type Run } from "./lib/upload-harness.js";
import { seededStream } from "../js/test/helpers/data.mjs";

const { values } = parseArgs({ options: { mib: { type: "string", default: "128" } } });
const SIZE = Number(values.mib) * MiB;
const REGIONS = [0.15, 0.4, 0.65, 0.9];
const REGION_LEN = Math.round((SIZE * 0.1) / REGIONS.length);

const v1 = join(ensureDir(BENCH_DATA), `ckpt-${values.mib}MiB-v1.bin`);
const v2 = join(BENCH_DATA, `ckpt-${values.mib}MiB-v2.bin`);
if (!existsSync(v1) || !existsSync(v2) || statSync(v1).size !== SIZE || statSync(v2).size !== SIZE) {
  process.stderr.write(`generating ${v1} and ${v2}\n`);
  const base = seededStream("checkpoint v1");
  const edits = seededStream("checkpoint v2 edits");
  const f1 = openSync(v1, "w");
  const f2 = openSync(v2, "w");
  const BLOCK = 8 * MiB;
  for (let off = 0; off < SIZE; off += BLOCK) {
    const n = Math.min(BLOCK, SIZE - off);
    const block = base(n);
    writeSync(f1, block);
    for (const f of REGIONS) {
      const start = Math.round(SIZE * f);
      const a = Math.max(start, off);
      const b = Math.min(start + REGION_LEN, off + n);
      if (a < b) block.set(edits(b - a), a - off);
    }
    writeSync(f2, block);
  }
  closeSync(f1);
  closeSync(f2);
}

type Upload = (hubUrl: string, bucket: string, file: string, path: string) => Promise<Run>;
const clients: [string, Upload][] = [
  ["xet-buckets `uploadFiles` (defaults)", (u, b, f, p) => nodeUpload("ours", u, b, f, p)],
  ["huggingface_hub 2.4.0 + hf_xet 1.8.0", (u, b, f, p) => pythonUpload(u, b, f, p)],
  ["@huggingface/hub 2.17.5 `uploadFiles`", (u, b, f, p) => nodeUpload("hubjs", u, b, f, p)],
];

const hub = new BenchHub();
const pct = (n: number) => `${((n / SIZE) * 100).toFixed(1)} %`;
const rows: string[][] = [];
let oursReport = "";
try {
  for (const [name, upload] of clients) {
    process.stderr.write(`${name}\n`);
    try {
      await hub.fresh();
      const bucket = await hub.bucket("ckpt");
      const first = await upload(hub.url, bucket, v1, "model.safetensors");
      const s1 = hub.storedXorbBytes();
      const second = await upload(hub.url, bucket, v2, "model.safetensors");
      const s2 = hub.storedXorbBytes();
      const third = await upload(hub.url, bucket, v1, "copy/model.safetensors");
      const s3 = hub.storedXorbBytes();
      process.stderr.write(
        `  v1 ${(s1 / MiB).toFixed(1)} MiB, v2 +${((s2 - s1) / MiB).toFixed(2)} MiB, v1 again +${((s3 - s2) / MiB).toFixed(2)} MiB\n`,
      );
      rows.push([
        name,
        `${(s1 / MiB).toFixed(1)} (${pct(s1)})`,
        `**${((s2 - s1) / MiB).toFixed(2)} (${pct(s2 - s1)})**`,
        `${((s3 - s2) / MiB).toFixed(2)} (${pct(s3 - s2)})`,
        [first, second, third].map((r) => r.seconds.toFixed(1)).join(" / "),
      ]);
      if (second.report) {
        const r = second.report;
        oursReport = `xet-buckets' own dedup report for the second version: ${(r.bytesSent / MiB).toFixed(2)} MiB sent (${pct(r.bytesSent)}), ${(r.newBytes / MiB).toFixed(2)} MiB new, ${(r.dedupGlobalBytes / MiB).toFixed(2)} MiB deduplicated globally; it agrees with the hub's store.`;
      }
    } catch (err) {
      process.stderr.write(`  failed: ${(err as Error).message}\n`);
      rows.push([name, "–", "–", "–", `failed: ${(err as Error).message.split("\n")[0]!.slice(0, 100)}`]);
    }
  }
} finally {
  await hub.close();
}

const body = `A ${values.mib} MiB "checkpoint" of seeded random bytes; version 2 has 10 % of its bytes replaced in
${REGIONS.length} contiguous regions of ${(REGION_LEN / MiB).toFixed(1)} MiB (at ${REGIONS.map((f) => `${f * 100} %`).join(", ")} of the file).
Each upload runs in a fresh process (global dedup only: no client cache survives), each client against a
fresh local hub. "Sent" is the growth of the hub's xorb store (xorb bodies as received, the same measure for
every client).

${table(["client", "version 1 sent, MiB", "version 2 sent, MiB", "version 1 again (new path), MiB", "seconds (v1 / v2 / again)"], rows)}

- ${oursReport || "xet-buckets' dedup report: unavailable in this run."}
- The changed bytes are 10 % of the file; each changed region also re-sends the chunks cut across its two
  edges (chunks are 8–128 KiB), hence a little more than 10 %.
- The local hub answers a dedup query with the queried chunk's xorb and the xorbs uploaded with it, so one
  answer covers the whole earlier version for every client here.`;
process.stdout.write(body + "\n");
writeSection(
  "upload-dedup",
  "Upload dedup: re-uploading a checkpoint with 10 % changed",
  `npx tsx bench/upload-dedup.ts --mib ${values.mib}`,
  body,
);
