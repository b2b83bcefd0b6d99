/**
 * Chunk + hash throughput on one thread: the same random bytes through
 *   - our WebAssembly core in Node (XetHasher),
 *   - our core natively (cargo example chunk_hash_bench),
 *   - @huggingface/xetchunk-wasm 0.2.0 (the chunker of @huggingface/hub 2.17.5),
 *   - hf_xet 1.8.0 `hash_files` (native Rust, from Python).
 * Each round runs every implementation once, interleaved; the median of the rounds is reported, and
 * ratios are taken against the anchors of the same run (the headline: our WebAssembly on one thread
 * against our own native build). Besides wall-clock time, the three single-thread implementations are
 * also timed by the CPU time of their thread (Linux `/proc/thread-self/schedstat`), which stays
 * meaningful when other processes share the CPU. Also reports the gzipped size of the .wasm.
 *
 *   npx tsx bench/chunk-hash.ts [--mib 256] [--rounds 5]
 */
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { gzipSync } from "node:zlib";
import { initCore, XetHasher } from "../js/src/core/index.js";
import { seededBytes } from "../js/test/helpers/data.mjs";
import { BENCH_DATA, ROOT, ensureDir, median, table, writeSection } from "./lib/report.js";

const { values } = parseArgs({ options: { mib: { type: "string", default: "256" }, rounds: { type: "string", default: "5" } } });
const MIB = Number(values.mib);
const ROUNDS = Number(values.rounds);
const BLOCK = 8 * 1024 * 1024;
const PYTHON = join(ROOT, ".venv", "bin", "python");

const file = join(ensureDir(BENCH_DATA), `random-${MIB}MiB.bin`);
if (!existsSync(file)) writeFileSync(file, seededBytes(MIB * 1024 * 1024, 1));
const data = new Uint8Array(readFileSync(file));

interface Run {
  seconds: number;
  /** CPU time of the thread that did the work, when known. */
  cpuSeconds?: number;
  hash: string;
}

/** Seconds this thread has run on a CPU (Linux), or undefined. */
function threadCpu(): number | undefined {
  try {
    return Number(readFileSync("/proc/thread-self/schedstat", "utf8").split(" ")[0]) / 1e9;
  } catch {
    return undefined;
  }
}

/** Times `fn` by wall clock and by this thread's CPU time. */
function timed(fn: () => string): Run {
  const c0 = threadCpu();
  const t0 = performance.now();
  const hash = fn();
  const seconds = (performance.now() - t0) / 1000;
  const c1 = threadCpu();
  return { seconds, cpuSeconds: c0 !== undefined && c1 !== undefined ? c1 - c0 : undefined, hash };
}

async function ours(): Promise<Run> {
  await initCore();
  return timed(() => {
    const h = new XetHasher();
    for (let off = 0; off < data.length; off += BLOCK) h.update(data.subarray(off, off + BLOCK));
    return h.finish();
  });
}

async function xetchunk(): Promise<Run> {
  const x = await import("@huggingface/xetchunk-wasm");
  return timed(() => {
    const chunker = x.createChunker();
    const chunks = [];
    for (let off = 0; off < data.length; off += BLOCK) {
      for (const c of x.nextBlock(chunker, data.subarray(off, off + BLOCK))) chunks.push(c);
    }
    const last = x.finalize(chunker);
    if (last) chunks.push(last);
    return x.hashToHex(x.fileHash(chunks));
  });
}

function native(): Run {
  const exe = join(ROOT, "target", "release", "examples", "chunk_hash_bench");
  const res = spawnSync(exe, ["--file", file], { encoding: "utf8" });
  if (res.status !== 0) throw new Error(`native bench failed: ${res.stderr}`);
  const j = JSON.parse(res.stdout.trim().split("\n").pop()!) as { seconds: number; cpuSeconds: number | null; fileHash: string };
  return { seconds: j.seconds, cpuSeconds: j.cpuSeconds ?? undefined, hash: j.fileHash };
}

function hfXet(): Run {
  const script = `import sys, time, hf_xet
t = time.perf_counter(); r = hf_xet.hash_files([sys.argv[1]]); s = time.perf_counter() - t
print(s, r[0].hash)`;
  const res = spawnSync(PYTHON, ["-c", script, file], { encoding: "utf8" });
  if (res.status !== 0) throw new Error(`hf_xet bench failed: ${res.stderr}`);
  const [s, hash] = res.stdout.trim().split(/\s+/);
  return { seconds: Number(s), hash: hash! };
}

const cargo = spawnSync("cargo", ["build", "--release", "--quiet", "--example", "chunk_hash_bench"], { cwd: ROOT, stdio: "inherit" });
if (cargo.status !== 0) throw new Error("cargo build of the native bench failed");

const impls: [string, () => Run | Promise<Run>][] = [
  ["xet-buckets WASM (Node, 1 thread)", ours],
  ["xet-buckets native (Rust, 1 thread)", native],
  ["@huggingface/xetchunk-wasm 0.2.0", xetchunk],
  ["hf_xet 1.8.0 hash_files", hfXet],
];
const load = loadavg()[0]!;
const times = new Map<string, number[]>();
const cpuTimes = new Map<string, number[]>();
const hashes = new Map<string, string>();
// One untimed pass of each first: the WebAssembly of both JS implementations starts in V8's baseline
// compiler and is optimized while it runs; the rounds measure the steady state (the medians of ROUNDS).
for (const [, fn] of impls) await fn();
for (let r = 0; r < ROUNDS; r++) {
  for (const [name, fn] of impls) {
    const run = await fn();
    (times.get(name) ?? times.set(name, []).get(name)!).push(run.seconds);
    if (run.cpuSeconds !== undefined) (cpuTimes.get(name) ?? cpuTimes.set(name, []).get(name)!).push(run.cpuSeconds);
    hashes.set(name, run.hash);
    process.stderr.write(`round ${r + 1} ${name}: ${(MIB / run.seconds).toFixed(0)} MiB/s\n`);
  }
}

const rate = (name: string) => MIB / median(times.get(name)!);
const cpuRate = (name: string) => (cpuTimes.get(name)?.length === ROUNDS ? MIB / median(cpuTimes.get(name)!) : undefined);
const [wasmName, nativeName, jsName, pyName] = impls.map(([name]) => name) as [string, string, string, string];
const anchorNative = rate(nativeName);
const anchorJs = rate(jsName);
const anchorPy = rate(pyName);
const rows = impls.map(([name]) => [
  name,
  rate(name).toFixed(0),
  (rate(name) / anchorNative).toFixed(2) + "×",
  (rate(name) / anchorJs).toFixed(2) + "×",
  (rate(name) / anchorPy).toFixed(2) + "×",
  cpuRate(name)?.toFixed(0) ?? "—",
  "`" + hashes.get(name)!.slice(0, 16) + "…`",
]);
const cpuRatio =
  cpuRate(wasmName) !== undefined && cpuRate(nativeName) !== undefined ? cpuRate(wasmName)! / cpuRate(nativeName)! : undefined;

const wasmPath = join(ROOT, "js", "src", "core", "wasm", "xet_core_bg.wasm");
const glue = join(ROOT, "js", "src", "core", "wasm", "xet_core.js");
const wasmBytes = readFileSync(wasmPath);
const gz = gzipSync(wasmBytes, { level: 9 }).length;
const gzGlue = gzipSync(readFileSync(glue), { level: 9 }).length;
const agree = hashes.get(wasmName) === hashes.get(pyName) && hashes.get(nativeName) === hashes.get(pyName);

const body = `${MIB} MiB of seeded random bytes, in memory (hf_xet reads them from the page cache), median of ${ROUNDS} interleaved rounds after one untimed pass of each. Load average at the start: ${load.toFixed(1)} on ${cpus().length} cores (anything near or above the core count means the CPU was shared).

${table(["implementation", "MiB/s", "vs native", "vs xetchunk-wasm", "vs hf_xet", "MiB/s (CPU time)", "file hash"], rows)}

- **One thread, WebAssembly / native: ${(rate(wasmName) / anchorNative).toFixed(2)}×** by wall clock${
  cpuRatio !== undefined ? ` (${cpuRatio.toFixed(2)}× by CPU time)` : ""
}; WebAssembly / @huggingface/xetchunk-wasm: ${(rate(wasmName) / anchorJs).toFixed(2)}×.
- File hashes of ours (WASM and native) and hf_xet ${agree ? "**agree**" : "**DIFFER**"}${
  hashes.get(jsName) !== hashes.get(pyName) ? "; xetchunk-wasm's differs (it applies the legacy boundary rule, xet-protocol.md §2.6)" : ""
}.
- \`xet_core_bg.wasm\`: ${(wasmBytes.length / 1024).toFixed(1)} KiB, **${(gz / 1024).toFixed(1)} KiB gzipped** (glue \`xet_core.js\`: ${(gzGlue / 1024).toFixed(1)} KiB gzipped).`;

process.stdout.write(body + "\n");
writeSection("chunk-hash", "Chunk + hash, one thread", `npx tsx bench/chunk-hash.ts --mib ${MIB} --rounds ${ROUNDS}`, body);
