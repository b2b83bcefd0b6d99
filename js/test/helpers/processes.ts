/**
 * Processes in tests: commands run to completion, long-running servers, free ports, polling, and the child
 * scripts of this folder (an upload or a sync in a fresh process: child.ts).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createServer } from "node:net";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { ROOT } from "./files.js";
import type { ChildJob } from "./child.js";

export type { ChildJob } from "./child.js";

/** Output of a finished process. */
export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a command to completion, collecting its output (stdin: `input`, else none); rejects only if it cannot start or times out. */
export function runProcess(
  cmd: string,
  args: string[],
  opts: { env?: NodeJS.ProcessEnv; cwd?: string; timeoutMs?: number; input?: string | Uint8Array } = {},
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env: opts.env, cwd: opts.cwd, stdio: ["pipe", "pipe", "pipe"] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on("data", (d: Buffer) => out.push(d));
    child.stderr.on("data", (d: Buffer) => err.push(d));
    const text = (b: Buffer[]) => Buffer.concat(b).toString("utf8");
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`${cmd} ${args.join(" ")} timed out after ${opts.timeoutMs} ms\nstdout: ${text(out)}\nstderr: ${text(err)}`));
    }, opts.timeoutMs ?? 180_000);
    child.on("error", (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout: text(out), stderr: text(err) });
    });
    child.stdin.on("error", () => undefined); // a child that exits without reading its input
    child.stdin.end(opts.input);
  });
}

/** A long-running child (a server) with its output collected; `stop()` kills it and waits for the exit. */
export interface Running {
  child: ChildProcess;
  output: () => string;
  stop: () => Promise<void>;
}

export function startProcess(cmd: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Running {
  const child = spawn(cmd, args, { cwd: opts.cwd, env: opts.env, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  child.stdout!.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr!.on("data", (d: Buffer) => (out += d.toString()));
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  return {
    child,
    output: () => out,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
      const t = setTimeout(() => child.kill("SIGKILL"), 5000);
      await exited;
      clearTimeout(t);
    },
  };
}

/**
 * Starts a TypeScript script that prints one JSON line when it is ready (a hub in a child process); resolves with
 * that line, once printed. `exited` resolves with the signal that ended the process (null for an exit).
 */
export async function startTsServer<T>(
  script: string,
  args: string[],
): Promise<{ child: ChildProcess; ready: T; exited: Promise<NodeJS.Signals | null>; stop: () => Promise<void> }> {
  const child = spawn(process.execPath, ["--import", "tsx", script, ...args], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
  const exited = new Promise<NodeJS.Signals | null>((r) => child.on("exit", (_code, signal) => r(signal)));
  let stderr = "";
  child.stderr!.on("data", (d) => (stderr += d));
  const rl = createInterface({ input: child.stdout! });
  const line = await new Promise<string>((resolve, reject) => {
    rl.once("line", resolve);
    child.once("exit", (code) => reject(new Error(`${script} exited early (${code}): ${stderr}`)));
  });
  rl.close();
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
    await exited;
  };
  return { child, ready: JSON.parse(line) as T, exited, stop };
}

/** Polls `url` until it answers (any status) or the process exits or `timeoutMs` passes. */
export async function waitForHttp(url: string, proc: Running, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (proc.child.exitCode !== null)
      throw new Error(`the process exited (${proc.child.exitCode}) before answering ${url}:\n${proc.output()}`);
    try {
      await fetch(url, { signal: AbortSignal.timeout(2000) });
      return;
    } catch {
      if (Date.now() > deadline) throw new Error(`${url} did not answer within ${timeoutMs} ms:\n${proc.output()}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

/** A free TCP port on 127.0.0.1 (closed again before returning; the caller binds it right away). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

/** Resolves once `cond()` holds (polled every 5 ms) or rejects after `timeoutMs`. */
export async function until(cond: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

// ---------------------------------------------------------------------------------------------
// An upload or a sync in a fresh process (child.ts)
// ---------------------------------------------------------------------------------------------

export interface ChildOutcome {
  code: number | null;
  signal: NodeJS.Signals | null;
  json?: {
    ok: boolean;
    result?: any;
    error?: { name?: string; code?: string; message?: string; path?: string };
    warnings: string[];
    peakRss?: number;
    seconds?: number;
    files?: Record<string, { size: number; sha256: string }>;
  };
  stderr: string;
}

/**
 * Starts child.ts with a job; `done` resolves when it exits (killed or not). `env` is added to this process's
 * environment (e.g. `XET_BUCKETS_CACHE_DIR`). `wrap`: a command that runs the child's command line, given as its
 * last arguments (e.g. `unshare … sh -c '…; exec "$@"' sh`).
 */
export function startChild(
  job: ChildJob,
  env: Record<string, string> = {},
  opts: { wrap?: string[] } = {},
): { child: ChildProcess; done: Promise<ChildOutcome> } {
  const argv = [process.execPath, "--import", "tsx", join(ROOT, "js", "test", "helpers", "child.ts"), JSON.stringify(job)];
  const [cmd, ...args] = [...(opts.wrap ?? []), ...argv] as [string, ...string[]];
  const child = spawn(cmd, args, {
    cwd: ROOT,
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, ...env },
  });
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout!.on("data", (d: Buffer) => out.push(d));
  child.stderr!.on("data", (d: Buffer) => err.push(d));
  const done = new Promise<ChildOutcome>((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (code, signal) => {
      const text = Buffer.concat(out).toString("utf8").trim();
      let json: ChildOutcome["json"];
      try {
        json = text ? JSON.parse(text.split("\n").pop()!) : undefined;
      } catch {
        json = undefined;
      }
      resolve({ code, signal, json, stderr: Buffer.concat(err).toString("utf8") });
    });
  });
  return { child, done };
}

/** Runs a child job to completion and returns its result (throws on failure); `env` as for `startChild`. */
export async function runChild(job: ChildJob, env: Record<string, string> = {}): Promise<any> {
  const o = await startChild(job, env).done;
  if (!o.json?.ok) throw new Error(`child failed (${o.code}): ${JSON.stringify(o.json?.error)}\n${o.stderr}`);
  return o.json.result;
}
