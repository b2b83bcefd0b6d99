/** Runs the built `xet-buckets` CLI (dist/cli/main.js) as a child process against a test hub. */
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ROOT } from "../helpers/generators.js";
import { runProcess, type RunResult } from "../helpers/hub.js";

export const CLI = join(ROOT, "dist", "cli", "main.js");

/** Throws a clear error when the CLI has not been built. */
export function requireBuiltCli(): void {
  if (!existsSync(CLI)) {
    throw new Error(`${CLI} is missing: build it first with \`node scripts/build.mjs\` (or \`--ts\` once the WebAssembly module exists)`);
  }
}

/** An environment without the caller's HF_* variables, with a private HOME (no token file). */
export function cleanEnv(home: string, extra: Record<string, string | undefined> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v !== undefined && !k.startsWith("HF_") && !k.startsWith("HUGGING_FACE") && k !== "XDG_CACHE_HOME" && k !== "NO_COLOR") env[k] = v;
  }
  env.HOME = home;
  for (const [k, v] of Object.entries(extra)) if (v !== undefined) env[k] = v;
  return env;
}

export interface CliRunner {
  (
    args: string[],
    opts?: { input?: string | Uint8Array; env?: Record<string, string | undefined>; cwd?: string; token?: string | null },
  ): Promise<RunResult>;
  home: string;
  cleanup(): Promise<void>;
}

/** A runner with HF_ENDPOINT = hubUrl and HF_TOKEN = token (`token: null` in a call: none). */
export async function cliRunner(hubUrl: string, token: string): Promise<CliRunner> {
  const home = await mkdtemp(join(tmpdir(), "xet-cli-home-"));
  const run = ((args, opts = {}) => {
    const t = opts.token === undefined ? token : opts.token;
    const env = cleanEnv(home, { HF_ENDPOINT: hubUrl, ...(t === null ? {} : { HF_TOKEN: t }), ...opts.env });
    return runProcess(process.execPath, [CLI, ...args], { env, cwd: opts.cwd ?? home, input: opts.input ?? "", timeoutMs: 60_000 });
  }) as CliRunner;
  run.home = home;
  run.cleanup = () => rm(home, { recursive: true, force: true });
  return run;
}

/** Asserts exit code 0 and returns stdout (the message shows stderr when it fails). */
export function ok(r: RunResult, what = ""): string {
  if (r.code !== 0) throw new Error(`${what} exited ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  return r.stdout;
}
