#!/usr/bin/env node
// npm run bench: installs what is missing, builds, then runs the benchmark scripts in bench/, each of which
// writes its section of BENCHMARKS.md (ratios against anchors measured in the same run).
//
//   npm run bench                  every benchmark
//   npm run bench -- chunk-hash    only those whose name contains an argument
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { ROOT, run, setup } from "./setup.mjs";
import { buildTs, buildWasm } from "./build.mjs";

const filters = process.argv.slice(2).filter((a) => !a.startsWith("--"));
try {
  setup(new Set(["build", "python"]));
  buildWasm();
  buildTs();
  let benches = readdirSync(join(ROOT, "bench"))
    .filter((f) => f.endsWith(".ts"))
    .sort();
  if (filters.length) benches = benches.filter((b) => filters.some((f) => b.includes(f)));
  for (const b of benches) {
    process.stderr.write(`[bench] ${b}\n`);
    run(process.execPath, ["--import", "tsx", join("bench", b)]);
  }
} catch (err) {
  process.stderr.write(`[bench] error: ${err.message}\n`);
  process.exit(1);
}
