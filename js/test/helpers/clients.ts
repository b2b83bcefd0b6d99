/**
 * Command-line clients pointed at a test hub: the official ones of the project venv (Python `huggingface_hub` +
 * `hf_xet`, the `hf` CLI) and this package's built CLI (`dist/cli/main.js`), each in an environment without the
 * caller's `HF_*` variables and with a private home (no saved token, caches in a temporary directory).
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { ROOT, tempDir } from "./files.js";
import { runProcess, type RunResult } from "./processes.js";

export const VENV_PYTHON = join(ROOT, ".venv", "bin", "python");
export const VENV_HF = join(ROOT, ".venv", "bin", "hf");
/** This package's CLI, as built. */
export const CLI = join(ROOT, "dist", "cli", "main.js");

/** This process's environment without the Hugging Face variables a developer may have set, plus `extra` (undefined: left out). */
export function cleanEnv(
  extra: Record<string, string | undefined> = {},
  drop: (name: string) => boolean = () => false,
): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v !== undefined && !k.startsWith("HF_") && !k.startsWith("HUGGING_FACE") && !drop(k)) env[k] = v;
  }
  for (const [k, v] of Object.entries(extra)) if (v !== undefined) env[k] = v;
  return env;
}

export function hasPythonClients(): boolean {
  return existsSync(VENV_PYTHON) && existsSync(VENV_HF);
}

/**
 * Environment for the official Python clients against a hub: `HF_ENDPOINT`, `HF_TOKEN` (omitted for
 * anonymous runs), a private `HF_HOME` (no saved token, caches and hf_xet state in the temp dir),
 * telemetry and progress bars off.
 */
export function pythonEnv(hubUrl: string, token: string | undefined, hfHome: string, extra: Record<string, string> = {}) {
  return cleanEnv({
    HF_ENDPOINT: hubUrl,
    HF_HOME: hfHome,
    HF_HUB_DISABLE_TELEMETRY: "1",
    HF_HUB_DISABLE_PROGRESS_BARS: "1",
    HF_HUB_DISABLE_IMPLICIT_TOKEN: token === undefined ? "1" : "0",
    HF_HUB_DISABLE_UPDATE_CHECK: "1",
    NO_COLOR: "1",
    PYTHONUNBUFFERED: "1",
    PYTHONDONTWRITEBYTECODE: "1",
    ...extra,
    HF_TOKEN: token,
  });
}

type ClientOptions = { cwd?: string; env?: Record<string, string>; timeoutMs?: number; hfHome?: string; input?: string | Uint8Array };

/** Runs `bin` of the venv with `pythonEnv` and a temporary HF_HOME (unless `hfHome` is given). */
async function runVenv(bin: string, hubUrl: string, token: string | undefined, args: string[], opts: ClientOptions): Promise<RunResult> {
  const home = opts.hfHome ? { dir: opts.hfHome, cleanup: async () => {} } : await tempDir("xet-test-hfhome-");
  try {
    return await runProcess(bin, args, {
      env: pythonEnv(hubUrl, token, home.dir, opts.env),
      cwd: opts.cwd,
      timeoutMs: opts.timeoutMs,
      input: opts.input,
    });
  } finally {
    await home.cleanup();
  }
}

/** Runs a Python script file (or `-c` code) of the project venv against `hubUrl`. */
export function runPython(
  hubUrl: string,
  token: string | undefined,
  args: string[],
  opts: Omit<ClientOptions, "input"> = {},
): Promise<RunResult> {
  return runVenv(VENV_PYTHON, hubUrl, token, args, opts);
}

/** Runs the venv's `hf` CLI against `hubUrl`. */
export function runHf(hubUrl: string, token: string | undefined, args: string[], opts: ClientOptions = {}): Promise<RunResult> {
  return runVenv(VENV_HF, hubUrl, token, args, opts);
}

/** Throws a clear error when the CLI has not been built. */
export function requireBuiltCli(): void {
  if (!existsSync(CLI)) {
    throw new Error(`${CLI} is missing: build it first with \`node scripts/build.mjs\` (or \`--ts\` once the WebAssembly module exists)`);
  }
}

/** An environment for this package's CLI: no HF_* variables, no XDG cache, no NO_COLOR, a private HOME. */
export function cliEnv(home: string, extra: Record<string, string | undefined> = {}): Record<string, string> {
  return cleanEnv({ HOME: home, ...extra }, (k) => k === "XDG_CACHE_HOME" || k === "NO_COLOR");
}

export interface CliRunner {
  (
    args: string[],
    opts?: { input?: string | Uint8Array; env?: Record<string, string | undefined>; cwd?: string; token?: string | null },
  ): Promise<RunResult>;
  home: string;
  cleanup(): Promise<void>;
}

/** A runner of this package's CLI with HF_ENDPOINT = hubUrl and HF_TOKEN = token (`token: null` in a call: none). */
export async function cliRunner(hubUrl: string, token: string): Promise<CliRunner> {
  const { dir: home, cleanup } = await tempDir("xet-cli-home-");
  const run = ((args, opts = {}) => {
    const t = opts.token === undefined ? token : opts.token;
    const env = cliEnv(home, { HF_ENDPOINT: hubUrl, ...(t === null ? {} : { HF_TOKEN: t }), ...opts.env });
    return runProcess(process.execPath, [CLI, ...args], { env, cwd: opts.cwd ?? home, input: opts.input ?? "", timeoutMs: 60_000 });
  }) as CliRunner;
  run.home = home;
  run.cleanup = cleanup;
  return run;
}

/** Asserts exit code 0 and returns stdout (the message shows stderr when it fails). */
export function ok(r: RunResult, what = ""): string {
  if (r.code !== 0) throw new Error(`${what} exited ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  return r.stdout;
}
