#!/usr/bin/env node
// npm test: installs what is missing, builds, then runs every test: the Rust core (native), then the
// TypeScript suites (node:test) against the WebAssembly build and real local hubs on 127.0.0.1.
//
//   npm test                      everything
//   npm test -- --rust            only the Rust tests
//   npm test -- --js [filter...]  only the TypeScript tests (optionally those whose path contains a filter)
//   npm test -- --no-build        skip setup and build (when you just built)
//   npm test -- --reliability     only the reliability step (scripts/reliability.mjs)
// The full run also runs `npm run lint` (formatting, ESLint, rustfmt, clippy) and the API reference's check
// (`npm run docs -- --check`: every public export documented, no broken link) before the tests.
//
// The full run ends with the reliability step (issue 8): bounded fuzzing of the core, the reliability
// tests (js/test/reliability, kept out of the general TypeScript run so they run once), RELIABILITY.md.
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { ROOT, run, setup } from "./setup.mjs";
import { buildTs, buildWasm, GENERATED, WORKER_BUNDLES } from "./build.mjs";

function findTests(dir) {
  const out = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...findTests(p));
    else if (name.endsWith(".test.ts")) out.push(p);
  }
  return out.sort();
}

const args = process.argv.slice(2);
const flags = new Set(args.filter((a) => a.startsWith("--")));
const filters = args.filter((a) => !a.startsWith("--"));
const onlyRust = flags.has("--rust");
const onlyJs = flags.has("--js");
const onlyReliability = flags.has("--reliability");
const everything = !onlyRust && !onlyJs && !onlyReliability;

try {
  if (!flags.has("--no-build")) {
    setup(new Set(onlyRust ? ["build"] : onlyReliability ? ["build", "fuzz"] : ["all"]));
    if (!onlyRust) {
      buildWasm();
      buildTs();
    }
  }
  // Formatting and static checks (npm run lint) first: they take seconds.
  if (everything) {
    run(process.execPath, [join(ROOT, "scripts", "lint.mjs")]);
    run(process.execPath, [join(ROOT, "scripts", "docs.mjs"), "--check"]);
  }
  if (!onlyJs && !onlyReliability) run("cargo", ["test", "--quiet"]);
  // The sources and the tests type-check (tsx runs them without checking); shared and web code also against
  // the web platform, without Node's types (tsconfig.web.json).
  if (everything) {
    const tsc = join(ROOT, "node_modules", "typescript", "bin", "tsc");
    run(process.execPath, [tsc, "-p", "tsconfig.test.json", "--noEmit"]);
    run(process.execPath, [tsc, "-p", "tsconfig.web.json", "--noEmit"]);
  }
  if (!onlyRust && !onlyReliability) {
    // The tests run the sources, which import the build's generated modules.
    for (const name of Object.keys(WORKER_BUNDLES)) {
      const file = join(GENERATED, `${name}.ts`);
      if (!existsSync(file))
        throw new Error(
          `${relative(ROOT, file)} (the chunking worker's bundle) is missing: run \`npm run build\` (or \`node scripts/build.mjs --ts\`) first`,
        );
    }
    let files = findTests(join(ROOT, "js", "test"));
    if (everything) files = files.filter((f) => !f.startsWith(join(ROOT, "js", "test", "reliability") + "/"));
    if (filters.length) files = files.filter((f) => filters.some((x) => f.includes(x)));
    if (files.length === 0) throw new Error("no TypeScript test matched");
    process.stderr.write(`[test] ${files.length} TypeScript test files\n`);
    // Uploads keep a dedup cache (default under ~/.cache): the tests get their own, removed afterwards.
    const cacheDir = process.env.XET_BUCKETS_CACHE_DIR ? undefined : mkdtempSync(join(tmpdir(), "xet-test-cache-"));
    try {
      run(process.execPath, ["--import", "tsx", "--test", "--test-reporter=spec", ...files.map((f) => relative(ROOT, f))], {
        env: cacheDir ? { ...process.env, XET_BUCKETS_CACHE_DIR: cacheDir } : process.env,
      });
    } finally {
      if (cacheDir) rmSync(cacheDir, { recursive: true, force: true });
    }
  }
  if (everything || onlyReliability) run(process.execPath, [join(ROOT, "scripts", "reliability.mjs"), "--no-build"]);
} catch (err) {
  process.stderr.write(`[test] error: ${err.message}\n`);
  process.exit(1);
}
