/**
 * Throughput on every core, with bounded memory (issue 7), in one run on the local hub:
 *
 *   1. upload of 1 GiB (one 512 MiB file and 512 files of 1 MiB) by xet-buckets, @huggingface/hub 2.17.5 and
 *      huggingface_hub 2.4.0 + hf_xet 1.8.0, each against a fresh local hub;
 *   2. download of that 1 GiB by each client (from one hub holding it);
 *   3. re-upload of the 512 MiB file after 10 % of it changed (4 regions), on a hub that has version 1;
 *   4. chunk + hash on all cores: xet-buckets `xetHashFiles` (chunking workers) vs `hf_xet.hash_files`;
 *   5. peak RSS of xet-buckets uploading a 4 GiB file (and the idle floor of the same child).
 *
 * Every client runs in its own child process (Node children are bundled to plain JavaScript; Python in the
 * project venv); the hub runs in this process, so its CPU is measured apart (the hub validates every xorb
 * with the same WebAssembly core). Rounds are interleaved (client A, B, C, A, B, C, …) and medians reported;
 * ratios are taken within this run. Writes the "throughput" section of BENCHMARKS.md.
 *
 *   npx tsx bench/throughput.ts [--rounds 5] [--skip-4gib]
 *
 * Data (generated once under bench-data/, AES-128-CTR keystreams: incompressible, no duplicates).
 */
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, rmSync, statSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { BENCH_DATA, ensureDir, median, table, writeSection } from "./lib/report.js";
import { BenchHub, MiB, nodeRun, nodeUpload, pythonRun, type BenchFile, type Run } from "./lib/upload-harness.js";
import { seededStream } from "../js/test/helpers/data.mjs";

const { values } = parseArgs({ options: { rounds: { type: "string", default: "5" }, "skip-4gib": { type: "boolean", default: false } } });
const ROUNDS = Number(values.rounds);
const GiB = 1024 * MiB;

// ------------------------------------------------------------------------------------------- data

/** Writes `size` bytes of the test data stream `seed` to `path` unless it is there already (with `edit` applied). */
function generate(path: string, size: number, seed: string, edit?: (block: Uint8Array, off: number) => void): void {
  if (existsSync(path) && statSync(path).size === size) return;
  process.stderr.write(`generating ${path}\n`);
  const ks = seededStream(seed);
  const fd = openSync(path, "w");
  for (let off = 0; off < size; off += 64 * MiB) {
    const block = ks(Math.min(64 * MiB, size - off));
    edit?.(block, off);
    writeSync(fd, block);
  }
  closeSync(fd);
}

const SET = join(ensureDir(BENCH_DATA), "set-1GiB");
mkdirSync(join(SET, "small"), { recursive: true });
const BIG = join(SET, "big.bin");
generate(BIG, 512 * MiB, "throughput big v1");
const smalls: BenchFile[] = [];
{
  const ks = seededStream("throughput small files");
  for (let i = 0; i < 512; i++) {
    const name = `small/${String(i).padStart(4, "0")}.bin`;
    const file = join(SET, name);
    const block = ks(MiB);
    if (!existsSync(file) || statSync(file).size !== MiB) {
      const fd = openSync(file, "w");
      writeSync(fd, block);
      closeSync(fd);
    }
    smalls.push({ path: name, file });
  }
}
const SET_FILES: BenchFile[] = [{ path: "big.bin", file: BIG }, ...smalls];
const SET_BYTES = SET_FILES.reduce((a, f) => a + statSync(f.file).size, 0);

// Version 2 of big.bin: 10 % of its bytes replaced in 4 regions (at 15, 40, 65 and 90 %).
const BIG_V2 = join(BENCH_DATA, "set-1GiB-big-v2.bin");
{
  const edits = seededStream("throughput big v2 edits");
  const regionLen = Math.round((512 * MiB * 0.1) / 4);
  const starts = [0.15, 0.4, 0.65, 0.9].map((f) => Math.round(512 * MiB * f));
  generate(BIG_V2, 512 * MiB, "throughput big v1", (block, off) => {
    for (const start of starts) {
      const a = Math.max(start, off);
      const b = Math.min(start + regionLen, off + block.length);
      if (a < b) block.set(edits(b - a), a - off);
    }
  });
}

const FOUR = join(BENCH_DATA, "random-4GiB.bin");
if (!values["skip-4gib"]) generate(FOUR, 4 * GiB, "xet-buckets bench 4 GiB");

// ------------------------------------------------------------------------------------------- runs

type Client = "ours" | "hubjs" | "hfxet";
const CLIENTS: Client[] = ["ours", "hfxet", "hubjs"];
/** Downloads also run xet-buckets with `fsync: true` (every file flushed before its rename). */
type DlClient = Client | "oursFsync";
const DL_CLIENTS: DlClient[] = ["ours", "oursFsync", "hfxet", "hubjs"];
const NAMES: Record<DlClient, string> = {
  ours: "xet-buckets",
  oursFsync: "xet-buckets, `fsync: true`",
  hubjs: "@huggingface/hub 2.17.5",
  hfxet: "huggingface_hub 2.4.0 + hf_xet 1.8.0",
};

interface Measured extends Run {
  /** CPU time of the hub (this process) during the run, seconds. */
  hubCpu: number;
}

const hub = new BenchHub();

async function measured(f: () => Promise<Run>): Promise<Measured> {
  const c0 = process.cpuUsage();
  const r = await f();
  const u = process.cpuUsage(c0);
  return { ...r, hubCpu: (u.user + u.system) / 1e6 };
}

function upload(client: Client, bucket: string, files: BenchFile[]): Promise<Measured> {
  return measured(() => (client === "hfxet" ? pythonRun("upload", hub.url, bucket, files) : nodeRun(client, hub.url, bucket, files)));
}

function download(client: DlClient, bucket: string, files: BenchFile[]): Promise<Measured> {
  return measured(() => {
    if (client === "hfxet") return pythonRun("download", hub.url, bucket, files);
    if (client === "hubjs") return nodeRun("hubjs-download", hub.url, bucket, files);
    return nodeRun("ours-download", hub.url, bucket, files, client === "oursFsync" ? { fsync: true } : undefined);
  });
}

const log = (s: string) => process.stderr.write(s + "\n");
const mibps = (bytes: number, s: number) => bytes / MiB / s;
const fmt = (x: number, d = 0) => x.toFixed(d);

const results = {
  upload: new Map<DlClient, Measured[]>(),
  download: new Map<DlClient, Measured[]>(),
  reupload: new Map<Client, (Measured & { sent: number })[]>(),
  hash: new Map<"ours" | "hfxet", Measured[]>(),
};
const push = <K, V>(m: Map<K, V[]>, k: K, v: V) => (m.get(k) ?? m.set(k, []).get(k)!).push(v);

try {
  // 1. Upload, fresh hub per run.
  for (let r = 0; r < ROUNDS; r++) {
    for (const c of CLIENTS) {
      await hub.fresh();
      const run = await upload(c, await hub.bucket(`up-${c}`), SET_FILES);
      push(results.upload, c, run);
      log(
        `upload round ${r + 1} ${c}: ${fmt(mibps(SET_BYTES, run.seconds))} MiB/s, peak RSS ${fmt(run.peakRss / MiB)} MiB, client CPU ${fmt(run.cpuSeconds ?? 0, 1)} s, hub CPU ${fmt(run.hubCpu, 1)} s`,
      );
    }
  }

  // 2. Download: one hub holding the set (uploaded by xet-buckets), every client reads it back.
  await hub.fresh();
  const dlBucket = await hub.bucket("dl");
  await nodeRun("ours", hub.url, dlBucket, SET_FILES);
  for (let r = 0; r < ROUNDS; r++) {
    for (const c of DL_CLIENTS) {
      const dest = mkdtempSync(join(tmpdir(), "xet-bench-dl-"));
      try {
        const files = SET_FILES.map((f) => ({ path: f.path, file: join(dest, f.path) }));
        const run = await download(c, dlBucket, files);
        const got = files.reduce((a, f) => a + statSync(f.file).size, 0);
        if (got !== SET_BYTES) throw new Error(`${c} downloaded ${got} of ${SET_BYTES} bytes`);
        push(results.download, c, run);
        log(`download round ${r + 1} ${c}: ${fmt(mibps(SET_BYTES, run.seconds))} MiB/s, peak RSS ${fmt(run.peakRss / MiB)} MiB`);
      } finally {
        rmSync(dest, { recursive: true, force: true });
      }
    }
  }

  // 3. Re-upload after a 10 % change: fresh hub with version 1, then version 2 under the same path.
  for (let r = 0; r < ROUNDS; r++) {
    for (const c of CLIENTS) {
      await hub.fresh();
      const b = await hub.bucket(`re-${c}`);
      await upload(c, b, [{ path: "model.bin", file: BIG }]);
      const before = hub.storedXorbBytes();
      const run = await upload(c, b, [{ path: "model.bin", file: BIG_V2 }]);
      const sent = hub.storedXorbBytes() - before;
      push(results.reupload, c, { ...run, sent });
      log(`re-upload round ${r + 1} ${c}: ${fmt(run.seconds, 2)} s, sent ${fmt(sent / MiB, 1)} MiB`);
    }
  }

  // 4. Chunk + hash on all cores, the same 513 files (page cache warm).
  for (let r = 0; r < ROUNDS; r++) {
    for (const c of ["ours", "hfxet"] as const) {
      const run = await measured(() => (c === "ours" ? nodeRun("ours-hash", "", "", SET_FILES) : pythonRun("hash", "", "", SET_FILES)));
      push(results.hash, c, run);
      log(`hash round ${r + 1} ${c}: ${fmt(mibps(SET_BYTES, run.seconds))} MiB/s, CPU ${fmt(run.cpuSeconds ?? 0, 2)} s`);
    }
  }
} finally {
  await hub.close();
}

// 5. Peak RSS uploading 4 GiB, and the idle floor of the same child.
let four: Measured | undefined;
let floor: Run | undefined;
if (!values["skip-4gib"]) {
  try {
    await hub.fresh();
    floor = await nodeUpload("idle", hub.url, await hub.bucket("idle"), FOUR);
    await hub.fresh();
    four = await upload("ours", await hub.bucket("four"), [{ path: "big.bin", file: FOUR }]);
    log(
      `4 GiB: ${fmt(mibps(4 * GiB, four.seconds))} MiB/s, peak RSS ${fmt(four.peakRss / MiB)} MiB (idle floor ${fmt(floor.peakRss / MiB)} MiB)`,
    );
  } finally {
    await hub.close();
  }
}

// ----------------------------------------------------------------------------------------- report

const med = <R>(runs: R[], f: (r: R) => number) => median(runs.map(f));
const rate = <K>(m: Map<K, Measured[]>, c: K, bytes: number) => bytes / MiB / med(m.get(c)!, (r) => r.seconds);

const upRate = (c: DlClient) => rate(results.upload, c, SET_BYTES);
const dlRate = (c: DlClient) => rate(results.download, c, SET_BYTES);
const hashRate = (c: "ours" | "hfxet") => rate(results.hash, c, SET_BYTES);

const transferRows = (clients: DlClient[], m: Map<DlClient, Measured[]>, rateOf: (c: DlClient) => number) =>
  clients.map((c) => {
    const runs = m.get(c)!;
    return [
      NAMES[c],
      `**${fmt(rateOf(c))}**`,
      fmt(
        med(runs, (r) => r.seconds),
        2,
      ),
      (rateOf(c) / rateOf("hubjs")).toFixed(2) + "×",
      (rateOf(c) / rateOf("hfxet")).toFixed(2) + "×",
      fmt(
        med(runs, (r) => r.cpuSeconds ?? 0),
        1,
      ),
      fmt(
        med(runs, (r) => r.hubCpu),
        1,
      ),
      fmt(Math.max(...runs.map((r) => r.peakRss)) / MiB),
    ];
  });

const header = [
  "client",
  "MiB/s (median)",
  "seconds",
  "vs @huggingface/hub",
  "vs hf_xet",
  "client CPU s",
  "hub CPU s",
  "peak RSS MiB (max)",
];

const reRows = CLIENTS.map((c) => {
  const runs = results.reupload.get(c)!;
  const s = med(runs, (r) => r.seconds);
  return [
    NAMES[c],
    fmt(s, 2),
    fmt(512 / s),
    fmt(med(runs, (r) => r.sent) / MiB, 1) + ` (${fmt((100 * med(runs, (r) => r.sent)) / (512 * MiB), 1)} %)`,
  ];
});

const hashRows = (["ours", "hfxet"] as const).map((c) => {
  const runs = results.hash.get(c)!;
  return [
    c === "ours" ? "xet-buckets `xetHashFiles` (chunking workers)" : "hf_xet 1.8.0 `hash_files`",
    `**${fmt(hashRate(c))}**`,
    (hashRate(c) / hashRate("hfxet")).toFixed(2) + "×",
    fmt(
      med(runs, (r) => r.cpuSeconds ?? 0),
      2,
    ),
  ];
});

const { UPLOAD_DEFAULTS, uploadMemoryBound } = await import("../js/src/xet/upload.js");
const { defaultWorkers } = await import("../js/src/platform/node.js");
const ratio = (x: number) => x.toFixed(2) + "×";
const met = (ok: boolean) => (ok ? "**met**" : "**not met**");
const upVsHub = upRate("ours") / upRate("hubjs");
const upVsPy = upRate("ours") / upRate("hfxet");
const dlVsHub = dlRate("ours") / dlRate("hubjs");
const hashVsPy = hashRate("ours") / hashRate("hfxet");
const mustShow = [
  ["Upload ≥ 3× @huggingface/hub", ratio(upVsHub), met(upVsHub >= 3)],
  ["Upload ≥ 0.8× huggingface_hub + hf_xet", ratio(upVsPy), met(upVsPy >= 0.8)],
  ["Download ≥ 1× @huggingface/hub", ratio(dlVsHub), met(dlVsHub >= 1)],
  ["Chunk + hash on all cores ≥ 1× hf_xet.hash_files", ratio(hashVsPy), met(hashVsPy >= 1)],
  four
    ? ["Peak RSS ≤ 256 MiB uploading a 4 GiB file", `${fmt(four.peakRss / MiB)} MiB`, met(four.peakRss <= 256 * MiB)]
    : ["Peak RSS ≤ 256 MiB uploading a 4 GiB file", "not measured (--skip-4gib)", "–"],
];

const body = `Ratios from this one run (${ROUNDS} interleaved rounds, medians; every client in its own child process, the
local hub in the benchmark's process on the same ${defaultWorkers()} cores). Data: seeded pseudo-random streams (js/test/helpers/data.mjs: incompressible, no duplicates).

${table(["must show", "measured", "result"], mustShow)}

### Upload of 1 GiB: one 512 MiB file and 512 files of 1 MiB, each run against a fresh local hub

${table(header, transferRows(CLIENTS, results.upload, upRate))}

### Download of the same 1 GiB (uploaded once by xet-buckets), to a fresh directory

@huggingface/hub has no multi-file download: its \`downloadFile\` runs 4 files at a time, each streamed to disk
(xet-buckets' \`downloadBucketFiles\` reads 4 files at a time by default, or up to 16 while they are ≤ 4 MiB).
Every client writes each file under a temporary name and renames it; none flushes files to disk by default
(\`fsync\`). Before every run of this benchmark, dirty pages are written back (\`sync\`, untimed), so that no
run pays for the writeback of the run before it. The \`fsync: true\` row flushes each file before its rename
(durable across a power loss), and pays for its writes inside its time.

${table(header, transferRows(DL_CLIENTS, results.download, dlRate))}

### Re-upload of the 512 MiB file after 10 % changed (4 regions), on a hub holding version 1

"Sent" is the growth of the hub's xorb store (the same measure for every client).

${table(["client", "seconds", "MiB/s", "sent MiB"], reRows)}

### Chunk + hash on all cores: the 1 GiB of files above (from the page cache)

${table(["implementation", "MiB/s (median)", "vs hf_xet", "CPU s"], hashRows)}

### Memory: uploading a 4 GiB file

${
  four && floor
    ? `xet-buckets with default options: peak RSS **${fmt(four.peakRss / MiB)} MiB** (VmHWM; ${fmt(mibps(4 * GiB, four.seconds))} MiB/s), of which the
same child idle (Node, the bundled client and the WebAssembly core loaded) is ${fmt(floor.peakRss / MiB)} MiB. At the sampled peak: WebAssembly
heap (main thread) ${fmt((four.atPeak?.wasm ?? 0) / MiB)} MiB, JavaScript buffers ${fmt((four.atPeak?.arrayBuffers ?? 0) / MiB)} MiB, V8 heap ${fmt((four.atPeak?.heapTotal ?? 0) / MiB)} MiB; the workers' heaps are in the rest.`
    : "Not measured (--skip-4gib)."
}

Defaults: ${UPLOAD_DEFAULTS.maxXorbBytes / MiB} MiB xorbs, ${UPLOAD_DEFAULTS.maxXorbUploads} xorb bodies (one fills while one uploads), ${defaultWorkers()} chunking workers,
${UPLOAD_DEFAULTS.segmentBytes / MiB} MiB segments, ${UPLOAD_DEFAULTS.maxPendingBytes / MiB} MiB pending. Documented bound (\`uploadMemoryBound(defaults, 4 GiB)\`,
js/src/xet/upload.ts): ${fmt(uploadMemoryBound({}, 4 * GiB) / MiB)} MiB; of it only the chunk metadata (≈4 MiB per GiB of new chunks) grows with the size.

- The hub validates every xorb (decodes and hashes every chunk) with the same WebAssembly core, on the same
  cores: "hub CPU" is its time during each run.`;

process.stdout.write(body + "\n");
writeSection(
  "throughput",
  "Throughput on every core, with bounded memory",
  `npx tsx bench/throughput.ts --rounds ${ROUNDS}${values["skip-4gib"] ? " --skip-4gib" : ""}`,
  body,
);
