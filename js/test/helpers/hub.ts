/**
 * Test fixture: a real local hub in this process, on 127.0.0.1 and a free port, with a temporary data
 * directory and known users; plus runners for the project venv's Python and `hf` CLI pointed at it.
 *
 * ```ts
 * const hub = await startTestHub();
 * try { ... fetch(`${hub.url}/api/buckets/alice/b`, { headers: hub.auth(hub.users.alice.token) }) ... }
 * finally { await hub.close(); }
 * ```
 *
 * Set `XET_TEST_HUB_LOG=1` to print the hubs' request logs (and internal errors) to stderr.
 */
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startLocalHub, type LocalHub, type LocalHubOptions, type RequestInfo } from "../../server/src/index.js";
import { ROOT } from "./generators.js";

export const VENV_PYTHON = join(ROOT, ".venv", "bin", "python");
export const VENV_HF = join(ROOT, ".venv", "bin", "hf");

/** The users every test hub has. alice belongs to the organisation `acme`. */
export const TEST_USERS = {
  alice: { name: "alice", token: "hf_alice_write_0123456789", readToken: "hf_alice_read_0123456789" },
  bob: { name: "bob", token: "hf_bob_write_0123456789", readToken: "hf_bob_read_0123456789" },
} as const;
export const TEST_ORG = "acme";

export interface TestHub {
  /** `http://127.0.0.1:PORT`. Changes after `restart()` only if the port had to change (it is reused). */
  url: string;
  dataDir: string;
  users: typeof TEST_USERS;
  /**
   * Every finished request since start (across restarts). `path` is the route: the CAS store prefix
   * (`/cas/<store id>`, see `LocalHub.storeId`) is removed, so suites count CAS calls as `/v1/...`,
   * `/v2/...` and `/fetch/...` whichever CAS URL the client used; `rawPath` is the path as requested.
   */
  requests: Array<RequestInfo & { rawPath: string }>;
  /** Number of finished requests with this method whose path starts with `pathPrefix`. */
  count(method: string, pathPrefix: string): number;
  /** `{ Authorization: "Bearer <token>" }` */
  auth(token: string): Record<string, string>;
  /** The running hub (replaced by `restart()`). */
  hub: LocalHub;
  /** Closes the hub and starts a new one on the same data directory and port. */
  restart(overrides?: Partial<LocalHubOptions>): Promise<void>;
  /** Closes the hub and deletes the data directory. */
  close(): Promise<void>;
}

export async function startTestHub(options: Partial<LocalHubOptions> = {}): Promise<TestHub> {
  const dataDir = options.dataDir ?? (await mkdtemp(join(tmpdir(), "xet-test-hub-")));
  const requests: Array<RequestInfo & { rawPath: string }> = [];
  const base: LocalHubOptions = {
    host: "127.0.0.1",
    port: 0,
    users: [
      { name: "alice", token: TEST_USERS.alice.token, readTokens: [TEST_USERS.alice.readToken], orgs: [TEST_ORG] },
      { name: "bob", token: TEST_USERS.bob.token, readTokens: [TEST_USERS.bob.readToken] },
    ],
    log: process.env.XET_TEST_HUB_LOG === "1",
    ...options,
    dataDir,
    onRequest: (info) => {
      requests.push({ ...info, path: info.path.replace(/^\/cas\/[^/]+(?=\/)/, ""), rawPath: info.path });
      options.onRequest?.(info);
    },
  };
  let hub: LocalHub;
  try {
    hub = await startLocalHub(base);
  } catch (err) {
    if (options.dataDir === undefined) await rm(dataDir, { recursive: true, force: true });
    throw err;
  }
  const t: TestHub = {
    url: hub.url,
    dataDir,
    users: TEST_USERS,
    requests,
    hub,
    count: (method, prefix) => requests.filter((r) => r.method === method && r.path.startsWith(prefix)).length,
    auth: (token) => ({ Authorization: `Bearer ${token}` }),
    async restart(overrides = {}) {
      await hub.close();
      hub = await startLocalHub({ ...base, port: hub.port, ...overrides });
      t.hub = hub;
      t.url = hub.url;
    },
    async close() {
      await hub.close();
      if (options.dataDir === undefined) await rm(dataDir, { recursive: true, force: true });
    },
  };
  return t;
}

/** Runs `fn` with a fresh test hub, closing it afterwards. */
export async function withHub<T>(fn: (hub: TestHub) => Promise<T>, options: Partial<LocalHubOptions> = {}): Promise<T> {
  const hub = await startTestHub(options);
  try {
    return await fn(hub);
  } finally {
    await hub.close();
  }
}

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function hasPythonClients(): boolean {
  return existsSync(VENV_PYTHON) && existsSync(VENV_HF);
}

/**
 * Environment for the official Python clients against a hub: `HF_ENDPOINT`, `HF_TOKEN` (omitted for
 * anonymous runs), a private `HF_HOME` (no saved token, caches and hf_xet state in the temp dir),
 * telemetry and progress bars off. Inherited `HF_*` variables are dropped.
 */
export function pythonEnv(hubUrl: string, token: string | undefined, hfHome: string, extra: Record<string, string> = {}) {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v !== undefined && !k.startsWith("HF_") && !k.startsWith("HUGGING_FACE")) env[k] = v;
  }
  Object.assign(env, {
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
  });
  if (token !== undefined) env.HF_TOKEN = token;
  return env;
}

/** Runs a command to completion, collecting its output; rejects only if it cannot start or times out. */
export function runProcess(
  cmd: string,
  args: string[],
  opts: { env?: Record<string, string>; cwd?: string; timeoutMs?: number; input?: string | Uint8Array } = {},
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env: opts.env, cwd: opts.cwd, stdio: ["pipe", "pipe", "pipe"] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on("data", (d: Buffer) => out.push(d));
    child.stderr.on("data", (d: Buffer) => err.push(d));
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`${cmd} ${args.join(" ")} timed out after ${opts.timeoutMs} ms\n${Buffer.concat(err).toString()}`));
    }, opts.timeoutMs ?? 180_000);
    child.on("error", (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout: Buffer.concat(out).toString("utf8"), stderr: Buffer.concat(err).toString("utf8") });
    });
    child.stdin.end(opts.input);
  });
}

/** A temporary HF_HOME for one test, removed by the returned cleanup. */
export async function tempHfHome(): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), "xet-test-hfhome-"));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** Runs a Python script file (or `-c` code) of the project venv against `hubUrl`. */
export async function runPython(
  hubUrl: string,
  token: string | undefined,
  args: string[],
  opts: { cwd?: string; env?: Record<string, string>; timeoutMs?: number; hfHome?: string } = {},
): Promise<RunResult> {
  const home = opts.hfHome ? { dir: opts.hfHome, cleanup: async () => {} } : await tempHfHome();
  try {
    return await runProcess(VENV_PYTHON, args, {
      env: pythonEnv(hubUrl, token, home.dir, opts.env),
      cwd: opts.cwd,
      timeoutMs: opts.timeoutMs,
    });
  } finally {
    await home.cleanup();
  }
}

/** Runs the venv's `hf` CLI against `hubUrl`. */
export async function runHf(
  hubUrl: string,
  token: string | undefined,
  args: string[],
  opts: { cwd?: string; env?: Record<string, string>; timeoutMs?: number; hfHome?: string; input?: string | Uint8Array } = {},
): Promise<RunResult> {
  const home = opts.hfHome ? { dir: opts.hfHome, cleanup: async () => {} } : await tempHfHome();
  try {
    return await runProcess(VENV_HF, args, {
      env: pythonEnv(hubUrl, token, home.dir, opts.env),
      cwd: opts.cwd,
      timeoutMs: opts.timeoutMs,
      input: opts.input,
    });
  } finally {
    await home.cleanup();
  }
}
