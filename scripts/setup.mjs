#!/usr/bin/env node
// Installs what the build, the tests, the demo or the benchmarks need and is missing on this machine.
// Idempotent and quick when everything is present. Uses only Node built-ins, so it runs before `npm install`.
//
//   node scripts/setup.mjs --build     Rust wasm32 target, the pinned wasm-bindgen CLI, npm packages
//   node scripts/setup.mjs --python    + a project venv (.venv) with huggingface_hub + hf_xet (interop tests, benchmarks)
//   node scripts/setup.mjs --browser   + Debian chromium and firefox-esr, and geckodriver (browser tests)
//   node scripts/setup.mjs --fuzz      + the nightly Rust toolchain and cargo-fuzz (bounded fuzzing of the core)
//   node scripts/setup.mjs --all       everything
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
export const PYTHON_PACKAGES = ["huggingface_hub==2.4.0", "hf_xet==1.8.0"];
export const VENV = join(ROOT, ".venv");
export const VENV_PYTHON = join(VENV, "bin", "python");

const cargoBin = join(homedir(), ".cargo", "bin");
if (!(process.env.PATH ?? "").split(":").includes(cargoBin)) {
  process.env.PATH = `${cargoBin}:${process.env.PATH ?? ""}`;
}

function log(msg) {
  process.stderr.write(`[setup] ${msg}\n`);
}

export function run(cmd, args, opts = {}) {
  const res = spawnSync(cmd, args, { stdio: "inherit", cwd: ROOT, ...opts });
  if (res.error) throw new Error(`${cmd} could not be started: ${res.error.message}`);
  if (res.status !== 0) throw new Error(`${cmd} ${args.join(" ")} failed with exit code ${res.status}`);
}

function capture(cmd, args) {
  const res = spawnSync(cmd, args, { encoding: "utf8", cwd: ROOT });
  if (res.error || res.status !== 0) return null;
  return res.stdout.trim();
}

/** The wasm-bindgen version the crate is locked to; the CLI must be exactly the same. */
export function wasmBindgenVersion() {
  const lock = join(ROOT, "Cargo.lock");
  if (existsSync(lock)) {
    const m = /name = "wasm-bindgen"\nversion = "([^"]+)"/.exec(readFileSync(lock, "utf8"));
    if (m) return m[1];
  }
  const m = /wasm-bindgen = \{ version = "=([^"]+)"/.exec(readFileSync(join(ROOT, "Cargo.toml"), "utf8"));
  if (!m) throw new Error("cannot find the wasm-bindgen version in Cargo.lock or Cargo.toml");
  return m[1];
}

function ensureRust() {
  if (!capture("cargo", ["--version"])) {
    throw new Error("cargo is not on PATH: install Rust with rustup (https://rustup.rs) and run again");
  }
  const targets = capture("rustup", ["target", "list", "--installed"]) ?? "";
  if (!targets.split("\n").includes("wasm32-unknown-unknown")) {
    log("adding the Rust target wasm32-unknown-unknown");
    run("rustup", ["target", "add", "wasm32-unknown-unknown"]);
  }
  // rustfmt and clippy (npm run lint); rustup's default profile has them, the minimal one does not.
  const components = capture("rustup", ["component", "list", "--installed"]) ?? "";
  for (const c of ["rustfmt", "clippy"]) {
    if (!components.split("\n").some((l) => l.startsWith(`${c}-`) || l === c)) {
      log(`adding the Rust component ${c}`);
      run("rustup", ["component", "add", c]);
    }
  }
  const want = wasmBindgenVersion();
  const have = capture("wasm-bindgen", ["--version"]);
  if (have !== `wasm-bindgen ${want}`) {
    log(`installing wasm-bindgen-cli ${want} (found: ${have ?? "none"}); about a minute`);
    run("cargo", ["install", "wasm-bindgen-cli", "--version", want, "--no-default-features", "--debug", "--locked", "--force"]);
  }
}

/**
 * npm packages: `npm ci` on a fresh clone; afterwards `npm install` only when package.json or the lockfile
 * changed (compared by content, not mtime), which never empties an existing node_modules.
 */
function ensureNodeModules() {
  const stampFile = join(ROOT, "node_modules", ".xet-buckets-install-stamp");
  const lock = join(ROOT, "package-lock.json");
  const stamp = createHash("sha256")
    .update(readFileSync(join(ROOT, "package.json")))
    .update(existsSync(lock) ? readFileSync(lock) : "")
    .digest("hex");
  if (existsSync(stampFile) && readFileSync(stampFile, "utf8") === stamp) return;
  const fresh = !existsSync(join(ROOT, "node_modules", ".package-lock.json"));
  log(fresh ? "installing npm packages" : "package.json or package-lock.json changed: updating npm packages");
  run("npm", [fresh && existsSync(lock) ? "ci" : "install", "--no-audit", "--no-fund"]);
  writeFileSync(stampFile, stamp);
}

function ensurePython() {
  const check = `import importlib.metadata as m; assert m.version("huggingface_hub") == "2.4.0"; assert m.version("hf_xet") == "1.8.0"`;
  if (existsSync(VENV_PYTHON) && spawnSync(VENV_PYTHON, ["-c", check]).status === 0) return;
  if (!existsSync(VENV_PYTHON)) {
    log("creating the Python venv .venv");
    run("python3", ["-m", "venv", VENV]);
  }
  log(`installing ${PYTHON_PACKAGES.join(" ")} into .venv`);
  run(VENV_PYTHON, ["-m", "pip", "install", "--quiet", "--disable-pip-version-check", ...PYTHON_PACKAGES]);
}

/** geckodriver, built from crates.io (Firefox's WebDriver server; no prebuilt binary is downloaded). */
export const GECKODRIVER_VERSION = "0.37.1";

/**
 * The browsers of the in-browser tests (js/test/helpers/browsers.ts): Debian's chromium (driven by
 * playwright-core) and firefox-esr (driven over WebDriver by geckodriver, which cargo builds: ≈ 3–5 min once).
 */
function ensureBrowser() {
  const missing = ["chromium", "firefox-esr"].filter((p) => !existsSync(`/usr/bin/${p}`));
  if (missing.length) {
    log(`installing Debian ${missing.join(" and ")} (browser tests)`);
    const sudo = process.getuid && process.getuid() === 0 ? [] : ["sudo"];
    const apt = (args) => (sudo.length ? run("sudo", ["apt-get", ...args]) : run("apt-get", args));
    apt(["update", "-qq"]);
    apt(["install", "-y", "-qq", "--no-install-recommends", ...missing]);
  }
  if (!capture("cargo", ["--version"])) throw new Error("cargo is not on PATH: install Rust with rustup (https://rustup.rs) and run again");
  const have = capture("geckodriver", ["--version"])?.split("\n")[0];
  if (have !== `geckodriver ${GECKODRIVER_VERSION}`) {
    log(`installing geckodriver ${GECKODRIVER_VERSION} (found: ${have ?? "none"}); a few minutes`);
    run("cargo", ["install", "geckodriver", "--version", GECKODRIVER_VERSION, "--locked", "--force"]);
  }
}

/** cargo-fuzz needs nightly (libFuzzer + sanitizer flags); no rust-src: the targets do not rebuild std. */
export const CARGO_FUZZ_VERSION = "0.13.2";
function ensureFuzz() {
  if (!capture("cargo", ["--version"])) throw new Error("cargo is not on PATH: install Rust with rustup (https://rustup.rs) and run again");
  const toolchains = capture("rustup", ["toolchain", "list"]) ?? "";
  if (!/^nightly/m.test(toolchains)) {
    log("installing the nightly Rust toolchain (fuzzing)");
    run("rustup", ["toolchain", "install", "nightly", "--profile", "minimal"]);
  }
  if (capture("cargo", ["fuzz", "--version"]) !== `cargo-fuzz ${CARGO_FUZZ_VERSION}`) {
    log(`installing cargo-fuzz ${CARGO_FUZZ_VERSION}; about 30 s`);
    run("cargo", ["install", "cargo-fuzz", "--version", CARGO_FUZZ_VERSION, "--locked", "--force"]);
  }
}

export function setup(parts) {
  if (parts.has("build") || parts.has("all")) {
    ensureRust();
    ensureNodeModules();
  }
  if (parts.has("python") || parts.has("all")) ensurePython();
  if (parts.has("browser") || parts.has("all")) ensureBrowser();
  if (parts.has("fuzz") || parts.has("all")) ensureFuzz();
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const parts = new Set(process.argv.slice(2).map((a) => a.replace(/^--/, "")));
  if (parts.size === 0) parts.add("build");
  try {
    setup(parts);
  } catch (err) {
    log(`error: ${err.message}`);
    process.exit(1);
  }
}
