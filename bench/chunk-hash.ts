/**
 * Chunk + hash throughput on one thread, the same random bytes through:
 *   - our WebAssembly core in Node, reading a local file into the core's own input buffer: the chunking
 *     worker's `hash` task (js/src/pool/worker.ts, run on this thread), which is how `xetHashFiles` and uploads
 *     of local files hash them, 1 MiB reads as the pool asks;
 *   - our core natively, reading the same file in blocks of the same size into one buffer and hashing each there
 *     (cargo example chunk_hash_bench `--read`); both buffers start on a page boundary, where the kernel's copy from
 *     the page cache is fastest;
 *   - our WebAssembly core given bytes already in JS memory (XetHasher.update, 8 MiB blocks, each copied into
 *     the core's input buffer 256 KiB at a time), and natively the same bytes in memory (`--file`: read first,
 *     untimed);
 *   - @huggingface/xetchunk-wasm 0.2.0 (the chunker of @huggingface/hub 2.17.5), bytes in memory;
 *   - hf_xet 1.8.0 `hash_files` (native Rust, from Python), which reads the file.
 * Each round runs every implementation once, interleaved; the median of the rounds is reported. Each row's
 * ratio to native is against the native row with the same input path (file read, or bytes in memory), measured
 * in the same run. Besides wall-clock time, our implementations and xetchunk-wasm are also timed by the CPU
 * time of their thread (Linux `/proc/thread-self/schedstat`, reads included), which stays meaningful when other
 * processes share the CPU. Also reports the gzipped size of the .wasm.
 *
 *   npx tsx bench/chunk-hash.ts [--mib 256] [--rounds 5]
 */
import { spawnSync } from "node:child_process";
import { closeSync, existsSync, fstatSync, openSync, readFileSync, readSync, statSync, writeFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { gzipSync } from "node:zlib";
import { coreModule, initCore, rawToHex, XetHasher } from "../js/src/core/index.js";
import { readFileHashAnswers } from "../js/src/core/packed.js";
import type { FromWorker, ToWorker } from "../js/src/pool/protocol.js";
import { chunkingWorker } from "../js/src/pool/worker.js";
import { seededBytes } from "../js/test/helpers/data.mjs";
import { BENCH_DATA, ROOT, ensureDir, median, table, writeSection } from "./lib/report.js";

const { values } = parseArgs({ options: { mib: { type: "string", default: "256" }, rounds: { type: "string", default: "5" } } });
const MIB = Number(values.mib);
const ROUNDS = Number(values.rounds);
const BLOCK = 8 * 1024 * 1024;
/** Bytes per read of a local file: WorkerPool.hashFiles' default (js/src/pool/pool.ts). */
const READ_BLOCK = 1024 * 1024;
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

let worker: ((msg: ToWorker) => void) | undefined;
let answer: FromWorker | undefined;

/** The chunking worker's hash task on this thread: the file read into the core's input buffer and hashed there. */
async function oursFile(): Promise<Run> {
  if (!worker) {
    worker = chunkingWorker({
      post: (msg) => (answer = msg),
      // As worker-node.ts reads local files.
      files: {
        open: (path) => openSync(path, "r"),
        size: (fd) => fstatSync(fd).size,
        read: (fd, into, position) => readSync(fd, into, 0, into.length, position),
        close: (fd) => closeSync(fd),
      },
    });
    worker({ type: "init", module: await coreModule() });
    if (answer?.type !== "ready") throw new Error(`the chunking worker did not start: ${JSON.stringify(answer)}`);
  }
  const size = statSync(file).size;
  return timed(() => {
    worker!({ type: "hash", id: 1, files: [file], sizes: [size], block: READ_BLOCK });
    if (answer?.type !== "done") throw new Error(`the hash task failed: ${JSON.stringify(answer)}`);
    return rawToHex(readFileHashAnswers(answer.packed, 1)[0]!.hash);
  });
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

function native(args: string[]): Run {
  const exe = join(ROOT, "target", "release", "examples", "chunk_hash_bench");
  const res = spawnSync(exe, args, { encoding: "utf8" });
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

const WASM_FILE = "xet-buckets WASM, file read into the core (1 thread)";
const NATIVE_FILE = "xet-buckets native, file read (1 thread)";
const WASM_MEM = "xet-buckets WASM, bytes in JS memory (1 thread)";
const NATIVE_MEM = "xet-buckets native, bytes in memory (1 thread)";
const JS_NAME = "@huggingface/xetchunk-wasm 0.2.0";
const PY_NAME = "hf_xet 1.8.0 hash_files";
/** Name, input path, the native row with the same input, the run. */
const impls: [string, string, string, () => Run | Promise<Run>][] = [
  [WASM_FILE, "file, 1 MiB reads into the core's buffer (the worker's hash task)", NATIVE_FILE, oursFile],
  [NATIVE_FILE, "file, 1 MiB reads into one buffer", NATIVE_FILE, () => native(["--read", file, String(READ_BLOCK)])],
  [WASM_MEM, "memory, XetHasher.update of 8 MiB blocks (copied in)", NATIVE_MEM, ours],
  [NATIVE_MEM, "memory, 16 MiB pieces", NATIVE_MEM, () => native(["--file", file])],
  [JS_NAME, "memory, 8 MiB blocks", NATIVE_MEM, xetchunk],
  [PY_NAME, "file (its own reader)", NATIVE_FILE, hfXet],
];
const load = loadavg()[0]!;
const times = new Map<string, number[]>();
const cpuTimes = new Map<string, number[]>();
const hashes = new Map<string, string>();
// One untimed pass of each first: the WebAssembly of both JS implementations starts in V8's baseline
// compiler and is optimized while it runs; the rounds measure the steady state (the medians of ROUNDS).
for (const [, , , fn] of impls) await fn();
for (let r = 0; r < ROUNDS; r++) {
  for (const [name, , , fn] of impls) {
    const run = await fn();
    (times.get(name) ?? times.set(name, []).get(name)!).push(run.seconds);
    if (run.cpuSeconds !== undefined) (cpuTimes.get(name) ?? cpuTimes.set(name, []).get(name)!).push(run.cpuSeconds);
    hashes.set(name, run.hash);
    process.stderr.write(`round ${r + 1} ${name}: ${(MIB / run.seconds).toFixed(0)} MiB/s\n`);
  }
}

const rate = (name: string) => MIB / median(times.get(name)!);
const cpuRate = (name: string) => (cpuTimes.get(name)?.length === ROUNDS ? MIB / median(cpuTimes.get(name)!) : undefined);
const ratios = (name: string, anchor: string) => {
  const cpu = cpuRate(name) !== undefined && cpuRate(anchor) !== undefined ? cpuRate(name)! / cpuRate(anchor)! : undefined;
  return { wall: rate(name) / rate(anchor), cpu };
};
const rows = impls.map(([name, input, anchor]) => [
  name,
  input,
  rate(name).toFixed(0),
  cpuRate(name)?.toFixed(0) ?? "—",
  (rate(name) / rate(anchor)).toFixed(2) + "×",
  (rate(name) / rate(JS_NAME)).toFixed(2) + "×",
  (rate(name) / rate(PY_NAME)).toFixed(2) + "×",
  "`" + hashes.get(name)!.slice(0, 16) + "…`",
]);
const ratioText = (r: { wall: number; cpu: number | undefined }) =>
  `${r.wall.toFixed(2)}× by wall clock${r.cpu !== undefined ? `, **${r.cpu.toFixed(2)}× by CPU time**` : ""}`;

const wasmPath = join(ROOT, "js", "src", "core", "wasm", "xet_core_bg.wasm");
const glue = join(ROOT, "js", "src", "core", "wasm", "xet_core.js");
const wasmBytes = readFileSync(wasmPath);
const gz = gzipSync(wasmBytes, { level: 9 }).length;
const gzGlue = gzipSync(readFileSync(glue), { level: 9 }).length;
const ourNames = [WASM_FILE, NATIVE_FILE, WASM_MEM, NATIVE_MEM];
const agree = ourNames.every((n) => hashes.get(n) === hashes.get(PY_NAME));

const body = `${MIB} MiB of seeded random bytes, median of ${ROUNDS} interleaved rounds after one untimed pass of each. Each row says how its input arrives: read from a local file (page cache) block by block, or already in memory; "vs native" compares with our native build given the same input path, in the same run. Load average at the start: ${load.toFixed(1)} on ${cpus().length} cores (anything near or above the core count means the CPU was shared; the CPU-time rates are then the ones to compare).

${table(["implementation", "input", "MiB/s", "MiB/s (CPU time)", "vs native (same input)", "vs xetchunk-wasm", "vs hf_xet", "file hash"], rows)}

- One thread, WebAssembly / native, **a local file read into the core** (how \`xetHashFiles\` and uploads of local files hash, in the chunking workers): ${ratioText(ratios(WASM_FILE, NATIVE_FILE))}.
- One thread, WebAssembly / native, **bytes already in memory** (\`XetHasher.update\`, which copies them into the core 256 KiB at a time; \`XetHasher.input\` lets a caller fill the core's buffer instead): ${ratioText(ratios(WASM_MEM, NATIVE_MEM))}.
- WebAssembly (bytes in memory) / @huggingface/xetchunk-wasm: ${ratioText(ratios(WASM_MEM, JS_NAME))}.
- File hashes of ours (WASM and native, both input paths) and hf_xet ${agree ? "**agree**" : "**DIFFER**"}${
  hashes.get(JS_NAME) !== hashes.get(PY_NAME) ? "; xetchunk-wasm's differs (it applies the legacy boundary rule, xet-protocol.md §2.6)" : ""
}.
- \`xet_core_bg.wasm\`: ${(wasmBytes.length / 1024).toFixed(1)} KiB, **${(gz / 1024).toFixed(1)} KiB gzipped** (glue \`xet_core.js\`: ${(gzGlue / 1024).toFixed(1)} KiB gzipped).`;

process.stdout.write(body + "\n");
writeSection("chunk-hash", "Chunk + hash, one thread", `npx tsx bench/chunk-hash.ts --mib ${MIB} --rounds ${ROUNDS}`, body);
