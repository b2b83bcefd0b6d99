#!/usr/bin/env node
// npm run build: the Rust core to WebAssembly (release, SIMD), its wasm-bindgen glue, then the TypeScript.
// Installs what the build needs first (see scripts/setup.mjs).
//
//   node scripts/build.mjs            everything
//   node scripts/build.mjs --wasm     only the WebAssembly module and its glue
//   node scripts/build.mjs --ts       only the TypeScript (the module must have been built)
import { chmodSync, cpSync, existsSync, mkdirSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { ROOT, run, setup } from "./setup.mjs";

export const WASM_OUT = join(ROOT, "js", "src", "core", "wasm");
const DIST = join(ROOT, "dist");

export function buildWasm() {
  run("cargo", ["build", "--release", "--lib", "--target", "wasm32-unknown-unknown", "--features", "wasm"]);
  const input = join(ROOT, "target", "wasm32-unknown-unknown", "release", "xet_core.wasm");
  rmSync(WASM_OUT, { recursive: true, force: true });
  mkdirSync(WASM_OUT, { recursive: true });
  // --target web: one ES module whose init accepts a URL, a Response, bytes or a compiled WebAssembly.Module,
  // so the same glue serves Node (bytes read from disk), browsers (URL), workers and edge runtimes (Module).
  run("wasm-bindgen", ["--target", "web", "--out-dir", WASM_OUT, "--out-name", "xet_core", input]);
}

export function buildTs() {
  if (!existsSync(join(WASM_OUT, "xet_core_bg.wasm"))) {
    throw new Error("the WebAssembly module is missing: run `npm run build` (without --ts) first");
  }
  rmSync(DIST, { recursive: true, force: true });
  run(process.execPath, [join(ROOT, "node_modules", "typescript", "bin", "tsc"), "-p", join(ROOT, "tsconfig.json")]);
  const wasmDist = join(DIST, "core", "wasm");
  mkdirSync(wasmDist, { recursive: true });
  for (const f of readdirSync(WASM_OUT)) cpSync(join(WASM_OUT, f), join(wasmDist, f));
  const cli = join(DIST, "cli", "main.js");
  if (existsSync(cli)) chmodSync(cli, 0o755);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const args = new Set(process.argv.slice(2));
  try {
    setup(new Set(["build"]));
    if (!args.has("--ts")) buildWasm();
    if (!args.has("--wasm")) buildTs();
  } catch (err) {
    process.stderr.write(`[build] error: ${err.message}\n`);
    process.exit(1);
  }
}
