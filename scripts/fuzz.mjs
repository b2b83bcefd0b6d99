#!/usr/bin/env node
// Bounded fuzzing of the core's decoders (fuzz/, cargo-fuzz on the nightly toolchain): builds every target
// once, seeds each corpus from tests/vectors, runs each target for --seconds (default 30), and writes
// test-artifacts/reliability/fuzz.json (targets × seconds, runs, coverage, crashes). Exits 1 on a crash,
// leaving the input in fuzz/artifacts/<target>/ (reproduce: rustup run nightly cargo fuzz run <target> <file>).
//
//   node scripts/fuzz.mjs                       every target, 30 s each
//   node scripts/fuzz.mjs --seconds 300 hex     one target, longer
//
// Needs the nightly toolchain and cargo-fuzz: `node scripts/setup.mjs --fuzz` installs what is missing.
import { spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ROOT, setup } from "./setup.mjs";

export const FUZZ_TARGETS = ["parse_xorb", "decode_chunk_records", "parse_shard", "answer_query", "hex", "lz4_frame"];
const FUZZ = join(ROOT, "fuzz");
const VECTORS = join(ROOT, "tests", "vectors");

function log(msg) {
  process.stderr.write(`[fuzz] ${msg}\n`);
}

/** Seeds: the vector xorbs and shards, shaped for each target's input format. */
function seed(target, dir) {
  mkdirSync(dir, { recursive: true });
  const files = readdirSync(VECTORS);
  const put = (name, bytes) => {
    const p = join(dir, name);
    if (!existsSync(p)) writeFileSync(p, bytes);
  };
  for (const f of files) {
    const bytes = readFileSync(join(VECTORS, f));
    if (bytes.length > 256 * 1024) continue; // keep seeds small: the fuzzer mutates them
    if (f.startsWith("xorb_")) {
      if (target === "decode_chunk_records") copyFileSync(join(VECTORS, f), join(dir, f));
      if (target === "parse_xorb") put(f, Buffer.concat([Buffer.alloc(32), bytes]));
      if (target === "lz4_frame" && bytes[4] === 1)
        put(f, Buffer.concat([bytes.subarray(5, 8), bytes.subarray(8, 8 + bytes.readUIntLE(1, 3))]));
    }
    if (f.startsWith("shard_")) {
      if (target === "parse_shard") copyFileSync(join(VECTORS, f), join(dir, f));
      if (target === "answer_query") put(f, Buffer.concat([Buffer.from([0]), bytes]));
    }
  }
  // Inputs that once crashed a target (their regression tests are in tests/fuzz_regressions.rs).
  const regressions = join(ROOT, "tests", "fuzz_regressions");
  if (existsSync(regressions)) {
    for (const f of readdirSync(regressions)) if (f.startsWith(`${target}-`)) put(f, readFileSync(join(regressions, f)));
  }
  if (target === "answer_query") {
    put("valid-plain", Buffer.from([1, 0, 0, 0]));
    put("valid-keyed", Buffer.from([1, 1, 0, 0]));
  }
  if (target === "hex") {
    put("xet", "4e39378b1c3f7d6a0f3c8bd8b8e6a1b1e7d5c2a9f0e1d2c3b4a5968778695a4b");
    put("plain", "00ff7f80");
    put("upper", "4E39378B1C3F7D6A0F3C8BD8B8E6A1B1E7D5C2A9F0E1D2C3B4A5968778695A4B");
  }
}

export function runFuzz({ seconds = 30, targets = FUZZ_TARGETS } = {}) {
  setup(new Set(["fuzz"]));
  const cargo = (args, opts = {}) =>
    spawnSync("rustup", ["run", "nightly", "cargo", "fuzz", ...args], {
      cwd: ROOT,
      encoding: "utf8",
      maxBuffer: 64 * 1024 * 1024,
      ...opts,
    });
  log("building the fuzz targets (nightly, release, sanitizer)");
  const b = cargo(["build", "-O"], { stdio: "inherit" });
  if (b.status !== 0) throw new Error("cargo fuzz build failed");
  const results = [];
  for (const t of targets) {
    const corpus = join(FUZZ, "corpus", t);
    seed(t, corpus);
    log(`${t}: ${seconds} s`);
    const t0 = Date.now();
    const r = cargo([
      "run",
      "-O",
      t,
      corpus,
      "--",
      `-max_total_time=${seconds}`,
      "-rss_limit_mb=2048",
      "-timeout=10",
      "-print_final_stats=1",
    ]);
    const out = `${r.stdout ?? ""}${r.stderr ?? ""}`;
    const runs = Number(/Done (\d+) runs/.exec(out)?.[1] ?? /stat::number_of_executed_units:\s*(\d+)/.exec(out)?.[1] ?? 0);
    const cov = Number([...out.matchAll(/cov: (\d+)/g)].pop()?.[1] ?? 0);
    const artifacts = join(FUZZ, "artifacts", t);
    const crashFiles = existsSync(artifacts) ? readdirSync(artifacts).filter((n) => /^(crash|oom|timeout|leak)-/.test(n)) : [];
    const crashed = r.status !== 0 || /==ERROR|panicked at|deadly signal/.test(out);
    results.push({
      target: t,
      seconds,
      wallSeconds: Math.round((Date.now() - t0) / 100) / 10,
      runs,
      coverage: cov,
      crashes: crashed ? Math.max(1, crashFiles.length) : 0,
      artifacts: crashFiles,
    });
    log(`${t}: ${runs} runs, coverage ${cov}${crashed ? `, CRASH (exit ${r.status}); see fuzz/artifacts/${t}/` : ""}`);
    if (crashed) process.stderr.write(out.split("\n").slice(-60).join("\n") + "\n");
  }
  const report = {
    suite: "fuzz",
    targets: results,
    totalSeconds: results.reduce((a, r) => a + r.seconds, 0),
    runs: results.reduce((a, r) => a + r.runs, 0),
    crashes: results.reduce((a, r) => a + r.crashes, 0),
    command: `node scripts/fuzz.mjs --seconds ${seconds}`,
    writtenAt: new Date().toISOString(),
  };
  const dir = join(ROOT, "test-artifacts", "reliability");
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "fuzz.json"), JSON.stringify(report, null, 2));
  return report;
}

if (process.argv[1] && import.meta.url === `file://${process.argv[1]}`) {
  const args = process.argv.slice(2);
  let seconds = 30;
  const targets = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i] === "--seconds") seconds = Number(args[++i]);
    else targets.push(args[i]);
  }
  try {
    if (!(seconds > 0)) throw new Error("--seconds must be a positive number");
    for (const t of targets) if (!FUZZ_TARGETS.includes(t)) throw new Error(`unknown target ${t} (${FUZZ_TARGETS.join(", ")})`);
    const r = runFuzz({ seconds, targets: targets.length ? targets : FUZZ_TARGETS });
    log(`${r.targets.length} targets × ${seconds} s: ${r.runs} runs, ${r.crashes} crashes`);
    process.exit(r.crashes ? 1 : 0);
  } catch (err) {
    log(`error: ${err.message}`);
    process.exit(1);
  }
}
