#!/usr/bin/env node
// npm run lint: formatting and static checks of the whole tree, failing on any finding.
//   TypeScript / JavaScript: Prettier (formatting) and ESLint with typescript-eslint (eslint.config.js)
//   Rust: rustfmt and clippy with -D warnings, natively (tests, examples) and for the WebAssembly surface
//
//   npm run lint              check everything
//   npm run lint -- --fix     rewrite what Prettier, ESLint and rustfmt can fix, then check
import { join } from "node:path";
import { ROOT, run, setup } from "./setup.mjs";

const fix = process.argv.includes("--fix");
const bin = (pkg, file) => [process.execPath, join(ROOT, "node_modules", pkg, file)];
const PRETTIER_GLOBS = [
  "js/**/*.{ts,mts,mjs,js}",
  "scripts/**/*.mjs",
  "bench/**/*.ts",
  "examples/**/*.{js,mjs,mts,html,css}",
  "*.{js,json}",
];

try {
  setup(new Set(["build"]));
  const [node, prettier] = bin("prettier", "bin/prettier.cjs");
  run(node, [prettier, fix ? "--write" : "--check", "--log-level", "warn", ...PRETTIER_GLOBS]);
  const [, eslint] = bin("eslint", "bin/eslint.js");
  run(node, [eslint, ...(fix ? ["--fix"] : []), "--max-warnings", "0", "."]);
  run("cargo", ["fmt", "--all", ...(fix ? [] : ["--check"])]);
  run("cargo", ["clippy", "--quiet", "--all-targets", "--", "-D", "warnings"]);
  run("cargo", ["clippy", "--quiet", "--lib", "--target", "wasm32-unknown-unknown", "--features", "wasm", "--", "-D", "warnings"]);
  process.stderr.write("[lint] clean\n");
} catch (err) {
  process.stderr.write(`[lint] ${err.message}\n`);
  process.exit(1);
}
