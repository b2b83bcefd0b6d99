/**
 * Throughput on every core, with bounded memory (issue 7), in one run on the local hub:
 *
 *   1. upload of 1 GiB (one 512 MiB file and 512 files of 1 MiB) by xet-buckets, @huggingface/hub 2.17.5 and
 *      huggingface_hub 2.4.0 + hf_xet 1.8.0, each against a fresh local hub;
 *   2. download of that 1 GiB by each client (from one hub holding it);
 *   3. re-upload of the 512 MiB file after 10 % of it changed (4 regions), on a hub that has version 1;
 *   4. chunk + hash on all cores: xet-buckets `xetHashFiles` (chunking workers) vs `hf_xet.hash_files`;
 *   5. peak RSS of xet-buckets uploading a 4 GiB file (and the idle floor of the same child);
 *   6. the command-line clients as users run them: `xet-buckets sync` against `hf buckets sync` (one 384 MiB
 *      file and 256 files of 1 MiB, up and down, fresh processes, the same hub), and the peak RSS of downloading
 *      one 1 GiB file with the library and with the CLI (bench/lib/cli-run.ts).
 *
 * Every client runs in its own child process (Node children are bundled to plain JavaScript; Python in the
 * project venv); the hub runs in this process, so its CPU is measured apart (the hub validates every xorb
 * with the same WebAssembly core). Rounds are interleaved (client A, B, C, A, B, C, …) and medians reported;
 * ratios are taken within this run. Writes the "throughput" (1-5) and "throughput-cli" (6) sections of
 * BENCHMARKS.md; part 6 runs the built CLI (dist/, `npm run build`; `npm run bench` builds first).
 *
 *   npx tsx bench/throughput.ts [--rounds 5] [--skip-4gib] [--only library,cli]
 *
 * Data (generated once under bench-data/, AES-128-CTR keystreams: incompressible, no duplicates).
 */
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, rmSync, statSync, writeSync } from "node:fs";
import { availableParallelism, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { BENCH_DATA, ensureDir, median, table, writeSection } from "./lib/report.js";
import { runCli, type CliClient } from "./lib/cli-run.js";
import { BenchHub, MiB, nodeRun, nodeUpload, pythonRun, type BenchFile, type Run } from "./lib/upload-harness.js";
import { seededStream } from "../js/test/helpers/data.mjs";

const { values } = parseArgs({
  options: {
    rounds: { type: "string", default: "5" },
    "skip-4gib": { type: "boolean", default: false },
    only: { type: "string", default: "library,cli" },
  },
});
const ROUNDS = Number(values.rounds);
/** Parts to run: "library" (1-5, the "throughput" section), "cli" (6, the "throughput-cli" section). */
const PARTS = new Set(values.only.split(","));
for (const p of PARTS) if (p !== "library" && p !== "cli") throw new Error(`--only: unknown part ${p} (library, cli)`);
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

/**
 * Part 6: the CLIs as users run them (`xet-buckets sync` and `hf buckets sync`, fresh processes, the same
 * local hub), up and down, interleaved; then the peak RSS of downloading one 1 GiB file, by the library and
 * by the CLI. Writes the "throughput-cli" section.
 */
async function cliBench(): Promise<void> {
  // Its own hub and helpers: it may run before the rest of this script is set up (--only cli).
  const hub = new BenchHub();
  const log = (s: string) => process.stderr.write(s + "\n");
  const fmt = (x: number, d = 0) => x.toFixed(d);
  const mibps = (bytes: number, s: number) => bytes / MiB / s;
  const push = <K, V>(m: Map<K, V[]>, k: K, v: V) => (m.get(k) ?? m.set(k, []).get(k)!).push(v);
  type Measured = Run & { hubCpu: number };
  const measured = async (f: () => Promise<Run>): Promise<Measured> => {
    const c0 = process.cpuUsage();
    const r = await f();
    const u = process.cpuUsage(c0);
    return { ...r, hubCpu: (u.user + u.system) / 1e6 };
  };
  const DIR = join(ensureDir(BENCH_DATA), "sync-640MiB");
  mkdirSync(join(DIR, "small"), { recursive: true });
  generate(join(DIR, "big.bin"), 384 * MiB, "cli sync big");
  {
    const ks = seededStream("cli sync small files");
    for (let i = 0; i < 256; i++) {
      const file = join(DIR, "small", `${String(i).padStart(4, "0")}.bin`);
      const block = ks(MiB);
      if (!existsSync(file) || statSync(file).size !== MiB) {
        const fd = openSync(file, "w");
        writeSync(fd, block);
        closeSync(fd);
      }
    }
  }
  const SYNC_BYTES = 640 * MiB;
  const load = loadavg()[0]!;
  const ONE = join(BENCH_DATA, "random-1GiB.bin");
  generate(ONE, GiB, "download memory 1 GiB");

  const CLIS: CliClient[] = ["ours", "hf"];
  const CLI_NAMES: Record<CliClient, string> = {
    ours: "`xet-buckets sync`",
    hf: "`hf buckets sync` (huggingface_hub 2.4.0 + hf_xet 1.8.0)",
  };
  const up = new Map<CliClient, Measured[]>();
  const down = new Map<CliClient, Measured[]>();
  /** Bytes under a local directory (every file of a download arrived, whole). */
  const bytesUnder = (dir: string): number =>
    readdirSync(dir, { recursive: true, withFileTypes: true })
      .filter((e) => e.isFile())
      .reduce((a, e) => a + statSync(join(e.parentPath, e.name)).size, 0);

  let dlMem: { library: Run; cli: Run; idle: Run } | undefined;
  try {
    // Upload: a fresh hub for every run (nothing to deduplicate against).
    for (let r = 0; r < ROUNDS; r++) {
      for (const c of CLIS) {
        await hub.fresh();
        const bucket = await hub.bucket(`sync-${c}`);
        const run = await measured(() => runCli(c, hub.url, ["sync", DIR, `hf://buckets/${bucket}`]));
        push(up, c, run);
        log(
          `cli upload round ${r + 1} ${c}: ${fmt(run.seconds, 2)} s, peak RSS ${fmt(run.peakRss / MiB)} MiB, CPU ${fmt(run.cpuSeconds ?? 0, 1)} s`,
        );
      }
    }
    // Download: one hub holding the set (synced up by xet-buckets), each run into a fresh directory.
    await hub.fresh();
    const bucket = await hub.bucket("sync-dl");
    await runCli("ours", hub.url, ["sync", DIR, `hf://buckets/${bucket}`]);
    for (let r = 0; r < ROUNDS; r++) {
      for (const c of CLIS) {
        const dest = mkdtempSync(join(tmpdir(), "xet-bench-sync-"));
        try {
          const run = await measured(() => runCli(c, hub.url, ["sync", `hf://buckets/${bucket}`, dest]));
          const got = bytesUnder(dest);
          if (got !== SYNC_BYTES) throw new Error(`${c} synced ${got} of ${SYNC_BYTES} bytes down`);
          push(down, c, run);
          log(
            `cli download round ${r + 1} ${c}: ${fmt(run.seconds, 2)} s, peak RSS ${fmt(run.peakRss / MiB)} MiB, CPU ${fmt(run.cpuSeconds ?? 0, 1)} s`,
          );
        } finally {
          rmSync(dest, { recursive: true, force: true });
        }
      }
    }
    // Download memory: one 1 GiB file, by the library (downloadBucketFiles) and by the CLI (sync).
    await hub.fresh();
    const memBucket = await hub.bucket("dl-memory");
    await nodeRun("ours", hub.url, memBucket, [{ path: "model.bin", file: ONE }]);
    const dest = mkdtempSync(join(tmpdir(), "xet-bench-dlmem-"));
    try {
      const library = await nodeRun("ours-download", hub.url, memBucket, [{ path: "model.bin", file: join(dest, "a", "model.bin") }]);
      const cli = await runCli("ours", hub.url, ["sync", `hf://buckets/${memBucket}`, join(dest, "b")]);
      for (const d of ["a", "b"]) if (bytesUnder(join(dest, d)) !== GiB) throw new Error(`download ${d}: not 1 GiB`);
      const idle = await nodeUpload("idle", hub.url, memBucket, ONE);
      dlMem = { library, cli, idle };
      log(`1 GiB download: library peak RSS ${fmt(library.peakRss / MiB)} MiB, CLI ${fmt(cli.peakRss / MiB)} MiB`);
    } finally {
      rmSync(dest, { recursive: true, force: true });
    }
  } finally {
    await hub.close();
  }

  // Ratios: their time / our time (above 1: we are faster), from the medians, and the range of the per-round
  // ratios (round r of ours against round r of hf, run one after the other).
  const ratioOf = (m: Map<CliClient, Measured[]>) => {
    const ours = m.get("ours")!;
    const hf = m.get("hf")!;
    const perRound = ours.map((o, i) => hf[i]!.seconds / o.seconds);
    return {
      median: median(hf.map((r) => r.seconds)) / median(ours.map((r) => r.seconds)),
      lo: Math.min(...perRound),
      hi: Math.max(...perRound),
    };
  };
  const upRatio = ratioOf(up);
  const downRatio = ratioOf(down);
  const ratio = (x: number) => x.toFixed(2) + "×";
  const met = (ok: boolean) => (ok ? "**met**" : "**not met**");
  const rows = (m: Map<CliClient, Measured[]>) =>
    CLIS.map((c) => {
      const runs = m.get(c)!;
      const s = median(runs.map((r) => r.seconds));
      return [
        CLI_NAMES[c],
        fmt(s, 2),
        `${fmt(Math.min(...runs.map((r) => r.seconds)), 2)}–${fmt(Math.max(...runs.map((r) => r.seconds)), 2)}`,
        fmt(mibps(SYNC_BYTES, s)),
        fmt(median(runs.map((r) => r.cpuSeconds ?? 0)), 1),
        fmt(median(runs.map((r) => r.hubCpu)), 1),
        fmt(Math.max(...runs.map((r) => r.peakRss)) / MiB),
      ];
    });
  const header = ["client", "seconds (median)", "seconds (range)", "MiB/s", "client CPU s", "hub CPU s", "peak RSS MiB (max)"];
  const mem = dlMem!;
  const mustShow = [
    [
      "`sync` upload ≥ 1.0× `hf buckets sync`",
      `${ratio(upRatio.median)} (rounds ${ratio(upRatio.lo)}–${ratio(upRatio.hi)})`,
      met(upRatio.median >= 1),
    ],
    [
      "`sync` download ≥ 0.9× `hf buckets sync` (every byte verified)",
      `${ratio(downRatio.median)} (rounds ${ratio(downRatio.lo)}–${ratio(downRatio.hi)})`,
      met(downRatio.median >= 0.9),
    ],
    ["Download peak RSS ≤ 256 MiB, 1 GiB file, library", `${fmt(mem.library.peakRss / MiB)} MiB`, met(mem.library.peakRss <= 256 * MiB)],
    ["Download peak RSS ≤ 256 MiB, 1 GiB file, CLI", `${fmt(mem.cli.peakRss / MiB)} MiB`, met(mem.cli.peakRss <= 256 * MiB)],
  ];
  const body = `Both command-line clients as users run them, each in a fresh process (interpreter start included), against
the same local hub (in the benchmark's process, on the same ${availableParallelism()} cores); ${ROUNDS} interleaved rounds. Ratios are hf's
time over ours (above 1: ours is faster), from the medians; "rounds" is the range of the round-by-round
ratios. Peak RSS is the process's ru_maxrss; CPU is user + system time of every thread. Data: one 384 MiB
file and 256 files of 1 MiB (seeded pseudo-random bytes: incompressible, no duplicates). Load average at the
start: ${load.toFixed(1)} on ${availableParallelism()} cores (anything near or above the core count means the CPU was shared: then
the ratios follow the clients' CPU time more than their design).

${table(["must show", "measured", "result"], mustShow)}

### Upload: \`sync ./dir hf://buckets/…\`, a fresh hub for every run

${table(header, rows(up))}

### Download: \`sync hf://buckets/… ./dir\` into a fresh directory (the set synced up once by xet-buckets)

${table(header, rows(down))}

xet-buckets verifies every file against its Xet hash before it renames it into place (hf_xet does not verify
downloads); the chunking workers decode, hash and write the chunks, so the bytes never pass through the main
thread.

### Download memory: one 1 GiB file

| client | peak RSS MiB | seconds |
| --- | --- | --- |
| xet-buckets \`downloadBucketFiles\` (library, defaults) | **${fmt(mem.library.peakRss / MiB)}** | ${fmt(mem.library.seconds, 2)} |
| \`xet-buckets sync\` (CLI) | **${fmt(mem.cli.peakRss / MiB)}** | ${fmt(mem.cli.seconds, 2)} |

The library's child process idle (Node, the bundled client and the WebAssembly core loaded) peaks at
${fmt(mem.idle.peakRss / MiB)} MiB.`;
  process.stdout.write(body + "\n");
  writeSection(
    "throughput-cli",
    "Command-line sync against `hf buckets sync`, and download memory",
    `npx tsx bench/throughput.ts --only cli --rounds ${ROUNDS}`,
    body,
  );
}

// Only part 6: nothing of parts 1-5 is generated or run.
if (!PARTS.has("library")) {
  await cliBench();
  process.exit(0);
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
${UPLOAD_DEFAULTS.segmentBytes / MiB} MiB segments, ${UPLOAD_DEFAULTS.maxPendingBytes / MiB} MiB pending. Documented bound for this data (a local file, incompressible:
\`uploadMemoryBound(defaults, 4 GiB, { rereadable: true, compressedShare: 0 })\`, js/src/xet/upload.ts): ${fmt(uploadMemoryBound({}, 4 * GiB, { rereadable: true, compressedShare: 0 }) / MiB)} MiB
(${fmt(uploadMemoryBound({}, 4 * GiB) / MiB)} MiB for any data); of it only the chunk metadata (≈4 MiB per GiB of new chunks) grows with the size.

- The hub validates every xorb (decodes and hashes every chunk) with the same WebAssembly core, on the same
  cores: "hub CPU" is its time during each run.`;

process.stdout.write(body + "\n");
writeSection(
  "throughput",
  "Throughput on every core, with bounded memory",
  `npx tsx bench/throughput.ts --only library --rounds ${ROUNDS}${values["skip-4gib"] ? " --skip-4gib" : ""}`,
  body,
);

if (PARTS.has("cli")) await cliBench();
