/**
 * Deduplication against servers of every generosity: for each answer policy of the local hub's global dedup
 * (`--dedup-answer shard | xorb | none`), xet-buckets and huggingface_hub + hf_xet upload a "checkpoint" of
 * seeded random bytes (default 64 MiB), then one of its variants:
 *
 *   10 % changed    10 % of the bytes replaced in 4 contiguous regions (as when some tensors change)
 *   identical       the same bytes again, under another path
 *   inserted        4 KiB inserted 1 MiB from the start (everything after it shifts)
 *
 * Every upload runs in a fresh process with a fresh client cache (ours: a new `XET_BUCKETS_CACHE_DIR`;
 * hf_xet: a new `HF_HOME`), and every (policy, client, variant) against a fresh hub: only the server's answers
 * can help. "Sent" is what the hub received in xorb and shard upload bodies (their Content-Length, from its
 * request log), measured the same way for both clients. The must-show: ours ≤ hf_xet + 2 % of the file +
 * 512 KiB in every cell.
 *
 *   npx tsx bench/dedup.ts [--mib 64] [--policies shard,xorb,none] [--hubjs] [--no-cache]
 *
 * Then, unless `--no-cache`, the same against a hub answering no query, but with the client's cache kept
 * between the two uploads (one `XET_BUCKETS_CACHE_DIR`; one `HF_HOME`): the persistent dedup caches.
 * `--hubjs` adds @huggingface/hub 2.17.5 (for reference; no must-show). Writes the "dedup" section of
 * BENCHMARKS.md.
 */
import { existsSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { BENCH_DATA, ensureDir, table, writeSection } from "./lib/report.js";
import { BenchHub, MiB, nodeUpload, pythonUpload, type Run } from "./lib/upload-harness.js";
import { CHECKPOINT_CHANGED_SHARE, CHECKPOINT_INSERT, CHECKPOINT_REGIONS, checkpointBlocks } from "../js/test/helpers/data.mjs";
import { writeBlocks } from "../js/test/helpers/files.js";

const { values } = parseArgs({
  options: {
    mib: { type: "string", default: "64" },
    policies: { type: "string", default: "shard,xorb,none" },
    hubjs: { type: "boolean", default: false },
    "no-cache": { type: "boolean", default: false },
  },
});
const SIZE = Number(values.mib) * MiB;
const withCache = !values["no-cache"];
const POLICIES = values.policies.split(",") as Array<"shard" | "xorb" | "none">;
const REGION_LEN = Math.round((SIZE * CHECKPOINT_CHANGED_SHARE) / CHECKPOINT_REGIONS.length);
const INSERT_AT = CHECKPOINT_INSERT.at;
const INSERT_LEN = CHECKPOINT_INSERT.bytes;

// The versions of one seeded checkpoint (js/test/helpers/data.mjs), written once and kept in BENCH_DATA.
const dir = ensureDir(BENCH_DATA);
const file = (name: string) => join(dir, `dedup-${values.mib}MiB-${name}.bin`);
const V1 = file("v1");
const CHANGED = file("changed");
const INSERTED = file("inserted");
if (![V1, CHANGED, INSERTED].every((f) => existsSync(f) && statSync(f).size >= SIZE)) {
  process.stderr.write(`generating ${V1}, ${CHANGED}, ${INSERTED}\n`);
  writeBlocks(V1, checkpointBlocks(SIZE, "checkpoint"));
  writeBlocks(CHANGED, checkpointBlocks(SIZE, "checkpoint", "changed"));
  writeBlocks(INSERTED, checkpointBlocks(SIZE, "checkpoint", "inserted"));
}

const VARIANTS: Array<{ name: string; file: string; path: string; size: number }> = [
  { name: "10 % changed", file: CHANGED, path: "model.safetensors", size: SIZE },
  { name: "identical", file: V1, path: "copy/model.safetensors", size: SIZE },
  { name: "inserted", file: INSERTED, path: "model.safetensors", size: SIZE + INSERT_LEN },
];

type Upload = (hubUrl: string, bucket: string, file: string, path: string) => Promise<Run>;

const clients: Array<[string, Upload]> = [
  // A fresh process with a fresh, empty dedup cache (bench/lib/upload-harness.ts).
  ["ours", (u, b, f, p) => nodeUpload("ours", u, b, f, p)],
  ["hf_xet", (u, b, f, p) => pythonUpload(u, b, f, p)],
];
if (values.hubjs) clients.push(["@huggingface/hub", (u, b, f, p) => nodeUpload("hubjs", u, b, f, p)]);

const hub = new BenchHub();
const mib = (n: number) => (n / MiB).toFixed(2);
const pct = (n: number, of: number) => `${((n / of) * 100).toFixed(1)} %`;
/** sent[policy][variant][client] = bytes of the variant's upload. */
const sent = new Map<string, number>();
const firstSent = new Map<string, number>();
const key = (...parts: string[]) => parts.join("|");
/**
 * The bytes the first upload (the original, random bytes, to an empty hub) sent: all of it, or the measure is
 * broken (the hub's request log no longer shows the uploads) and the run must not report anything.
 */
const measuredFirst = (): number => {
  const n = hub.uploadBytesSince(0);
  if (n < SIZE) throw new Error(`the hub's request log shows ${n} bytes for the first upload of ${SIZE}: the measure is broken`);
  return n;
};
let failures = 0;
try {
  for (const policy of POLICIES) {
    for (const v of VARIANTS) {
      for (const [client, upload] of clients) {
        try {
          await hub.fresh({ dedupAnswer: policy });
          const bucket = await hub.bucket("ckpt");
          await upload(hub.url, bucket, V1, "model.safetensors");
          const mark = hub.requests.length;
          firstSent.set(key(policy, v.name, client), measuredFirst());
          await upload(hub.url, bucket, v.file, v.path);
          const n = hub.uploadBytesSince(mark);
          sent.set(key(policy, v.name, client), n);
          process.stderr.write(`${policy} / ${v.name} / ${client}: ${mib(n)} MiB (${pct(n, v.size)})\n`);
        } catch (err) {
          failures++;
          process.stderr.write(`${policy} / ${v.name} / ${client}: failed: ${(err as Error).message}\n`);
        }
      }
    }
  }

  // The same user environment for both uploads (ours: one dedup cache directory; hf_xet: one HF_HOME), against
  // a hub that answers no query: what the client caches remember.
  if (withCache) {
    for (const v of VARIANTS) {
      for (const [client] of clients.slice(0, 2)) {
        const home = mkdtempSync(join(tmpdir(), "xet-bench-env-"));
        try {
          await hub.fresh({ dedupAnswer: "none" });
          const bucket = await hub.bucket("ckpt");
          const up = (file: string, path: string) =>
            client === "ours"
              ? nodeUpload("ours", hub.url, bucket, file, path, { XET_BUCKETS_CACHE_DIR: home })
              : pythonUpload(hub.url, bucket, file, path, home);
          await up(V1, "model.safetensors");
          measuredFirst();
          const mark = hub.requests.length;
          await up(v.file, v.path);
          const n = hub.uploadBytesSince(mark);
          sent.set(key("cache", v.name, client), n);
          process.stderr.write(`none, cache kept / ${v.name} / ${client}: ${mib(n)} MiB (${pct(n, v.size)})\n`);
        } catch (err) {
          failures++;
          process.stderr.write(`none, cache kept / ${v.name} / ${client}: failed: ${(err as Error).message}\n`);
        } finally {
          rmSync(home, { recursive: true, force: true });
        }
      }
    }
  }
} finally {
  await hub.close();
}

const rows: string[][] = [];
let met = 0;
let cells = 0;
for (const policy of withCache ? [...POLICIES, "cache" as const] : POLICIES) {
  for (const v of VARIANTS) {
    const o = sent.get(key(policy, v.name, "ours"));
    const h = sent.get(key(policy, v.name, "hf_xet"));
    const limit = h === undefined ? undefined : h + 0.02 * v.size + 512 * 1024;
    const ok = o !== undefined && limit !== undefined && o <= limit;
    cells++;
    if (ok) met++;
    const cell = (n: number | undefined) => (n === undefined ? "failed" : `${mib(n)} (${pct(n, v.size)})`);
    const row = [policy === "cache" ? "`none`, client cache kept" : `\`${policy}\``, v.name, `**${cell(o)}**`, cell(h)];
    if (values.hubjs) row.push(cell(sent.get(key(policy, v.name, "@huggingface/hub"))));
    row.push(limit === undefined ? "–" : mib(limit), ok ? "met" : "**not met**");
    rows.push(row);
  }
}
const firstOurs = firstSent.get(key(POLICIES[0]!, VARIANTS[0]!.name, "ours"));
const firstHf = firstSent.get(key(POLICIES[0]!, VARIANTS[0]!.name, "hf_xet"));
const header = ["`--dedup-answer`", "second upload", "xet-buckets sent, MiB", "hf_xet sent, MiB"];
if (values.hubjs) header.push("@huggingface/hub sent, MiB");
header.push("limit (hf_xet + 2 % + 512 KiB), MiB", "ours ≤ limit");

const body = `A ${values.mib} MiB "checkpoint" of seeded random bytes is uploaded, then one variant of it: **10 % changed**
(${CHECKPOINT_REGIONS.length} regions of ${mib(REGION_LEN)} MiB at ${CHECKPOINT_REGIONS.map((f) => `${f * 100} %`).join(", ")} of the file
replaced), **identical** (the same bytes under another path), **inserted** (${INSERT_LEN} bytes inserted
${INSERT_AT / MiB} MiB from the start). Every upload runs in a fresh process with a fresh, empty client cache
(xet-buckets: a new \`XET_BUCKETS_CACHE_DIR\`; hf_xet: a new \`HF_HOME\`), and every cell starts from a fresh
hub answering global-dedup queries with the policy shown: \`shard\` the chunk's xorb and the xorbs uploaded with
it, \`xorb\` only the chunk's xorb (the protocol's minimum), \`none\` always 404. "Sent" is what the hub received in
xorb and shard upload bodies during the second upload (Content-Length from its request log; the same measure
for both clients); the percentage is of the second file's size. huggingface_hub 2.4.0 + hf_xet 1.8.0 uploads
with \`batch_bucket_files\`.

${table(header, rows)}

- Must show: xet-buckets ≤ hf_xet + 2 % + 512 KiB in every cell: **${met} of ${cells} met**${failures ? ` (${failures} uploads failed)` : ""}.
- First upload (the ${values.mib} MiB original): xet-buckets sent ${firstOurs === undefined ? "–" : `${mib(firstOurs)} MiB`}, hf_xet ${firstHf === undefined ? "–" : `${mib(firstHf)} MiB`} (xorbs and shards).
- With \`none\` and a fresh cache nothing on the server can be found: both send the whole file. The last rows
  keep the client's cache between the two uploads (the same user on the same machine, each upload in a new
  process: ours one \`XET_BUCKETS_CACHE_DIR\`, hf_xet one \`HF_HOME\`): the persistent dedup cache
  (README, "Dedup cache") finds what the server will not say. js/test/upload/dedup-cache.test.ts asserts it.`;
process.stdout.write(body + "\n");
writeSection(
  "dedup",
  "Dedup against every server answer: xet-buckets vs hf_xet",
  `npx tsx bench/dedup.ts --mib ${values.mib}${values.policies !== "shard,xorb,none" ? ` --policies ${values.policies}` : ""}${values.hubjs ? " --hubjs" : ""}${withCache ? "" : " --no-cache"}`,
  body,
);
