/**
 * Shared plumbing of the upload benchmarks: a fresh local hub per measurement (empty CAS, in this
 * process), and uploads run in child processes — ours and @huggingface/hub's from a plain-JavaScript
 * bundle of bench/lib/upload-child.ts (no TypeScript loader in the measure), huggingface_hub + hf_xet
 * from the project venv — with the child's RSS sampled from /proc and its peak (VmHWM) reported. Every
 * client starts with an empty client cache (ours: a fresh dedup cache directory; hf_xet: a fresh HF_HOME).
 */
import { spawn, spawnSync } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BENCH_DATA, ROOT, ensureDir } from "./report.js";

export const MiB = 1024 * 1024;
export const TOKEN = "hf_bench_user_0123456789";
export const PYTHON = join(ROOT, ".venv", "bin", "python");

export interface Run {
  seconds: number;
  /** The child's VmHWM. */
  peakRss: number;
  /** Highest VmRSS sampled every 100 ms by the parent. */
  sampledPeak: number;
  /** CPU time of the child (user + system, every thread), seconds. */
  cpuSeconds?: number;
  /** Node children: what the process held at its sampled RSS peak. */
  atPeak?: { rss: number; wasm: number; arrayBuffers: number; heapTotal: number };
  /** xet-buckets only: the dedup report. */
  report?: { bytesSent: number; xorbs: number; newBytes: number; dedupGlobalBytes: number; logicalBytes: number };
}

type HubModule = typeof import("../../js/server/src/index.js");
type Hub = Awaited<ReturnType<HubModule["startLocalHub"]>>;
type HubOptions = Parameters<HubModule["startLocalHub"]>[0];
type RequestInfo = Parameters<NonNullable<NonNullable<HubOptions>["onRequest"]>>[0];

/**
 * Upload requests whose bodies carry data: xorbs and shards (grants, commits and queries are small), under the
 * hub's CAS prefix (`/cas/<store id>`) or at the root.
 */
const DATA_UPLOAD = /^(?:\/cas\/[^/]+)?\/(v1\/xorbs\/|v1\/shards$|v2\/shards$)/;

/** One local hub at a time; `fresh()` replaces it with a new one on an empty data directory. */
export class BenchHub {
  hub: Hub | undefined;
  dataDir = "";
  /** Every request the current hub finished. */
  requests: RequestInfo[] = [];

  get url(): string {
    if (!this.hub) throw new Error("no hub running");
    return this.hub.url;
  }

  /** A new hub on an empty data directory (`options`: e.g. its `dedupAnswer` policy). */
  async fresh(options: Omit<NonNullable<HubOptions>, "dataDir" | "users" | "onRequest"> = {}): Promise<void> {
    await this.close();
    const { startLocalHub } = await import("../../js/server/src/index.js");
    this.dataDir = mkdtempSync(join(tmpdir(), "xet-bench-hub-"));
    this.requests = [];
    this.hub = await startLocalHub({
      ...options,
      dataDir: this.dataDir,
      users: [{ name: "bench", token: TOKEN }],
      onRequest: (r) => this.requests.push(r),
    });
  }

  /**
   * Bytes of the xorb and shard upload bodies the hub received (their Content-Length) from request `from` of
   * `requests` on: what a client sent on the wire, measured the same way for every client.
   */
  uploadBytesSince(from: number): number {
    let n = 0;
    for (const r of this.requests.slice(from)) if (r.method === "POST" && DATA_UPLOAD.test(r.path)) n += r.requestBytes;
    return n;
  }

  /** Creates `bench/<name>` on the current hub and returns its id. */
  async bucket(name: string): Promise<string> {
    const res = await fetch(`${this.url}/api/buckets/bench/${name}`, {
      method: "POST",
      headers: { Authorization: `Bearer ${TOKEN}`, "Content-Type": "application/json" },
      body: "{}",
    });
    if (!res.ok) throw new Error(`create bucket: ${res.status} ${await res.text()}`);
    return `bench/${name}`;
  }

  /** Bytes of xorb bodies stored by the hub: what every client sent, measured the same way for all. */
  storedXorbBytes(): number {
    const dir = join(this.dataDir, "xorbs");
    let total = 0;
    const walk = (d: string) => {
      for (const e of readdirSync(d, { withFileTypes: true })) {
        if (e.isDirectory()) walk(join(d, e.name));
        else total += statSync(join(d, e.name)).size;
      }
    };
    try {
      walk(dir);
    } catch {
      return 0;
    }
    return total;
  }

  async close(): Promise<void> {
    if (this.hub) await this.hub.close();
    if (this.dataDir) rmSync(this.dataDir, { recursive: true, force: true });
    this.hub = undefined;
    this.dataDir = "";
  }
}

function sampleRss(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

/**
 * Runs a child to completion; its last stdout line is JSON `{ seconds, peakRss, ... }`. Dirty pages are
 * written back first (`sync`, outside the child's timing): a run that fsyncs its files pays for its own
 * writes, and without this a run that does not would leave its writeback to the next run's time.
 */
export function runChild(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<Run> {
  spawnSync("sync");
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: ROOT, env, stdio: ["ignore", "pipe", "pipe"] });
    let sampledPeak = 0;
    const timer = setInterval(() => (sampledPeak = Math.max(sampledPeak, sampleRss(child.pid!))), 100);
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on("data", (d: Buffer) => out.push(d));
    child.stderr.on("data", (d: Buffer) => err.push(d));
    child.on("error", reject);
    child.on("close", (code) => {
      clearInterval(timer);
      const text = Buffer.concat(out).toString().trim();
      if (code !== 0) return reject(new Error(`${cmd} exited ${code}: ${Buffer.concat(err).toString().slice(-2000)}`));
      const last = JSON.parse(text.split("\n").pop()!) as Omit<Run, "sampledPeak">;
      resolve({ ...last, sampledPeak });
    });
  });
}

let childJs: string | undefined;

/** Bundles bench/lib/upload-child.ts to plain JavaScript (esbuild, tsx's own dependency), the .wasm next to it. */
export async function bundleChild(): Promise<string> {
  if (childJs) return childJs;
  const dir = join(ensureDir(BENCH_DATA), "bundle");
  mkdirSync(join(dir, "wasm"), { recursive: true });
  const esbuild = await import("esbuild");
  await esbuild.build({
    entryPoints: [join(ROOT, "bench", "lib", "upload-child.ts")],
    outfile: join(dir, "upload-child.mjs"),
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    external: ["@huggingface/hub"],
    logLevel: "error",
  });
  copyFileSync(join(ROOT, "js", "src", "core", "wasm", "xet_core_bg.wasm"), join(dir, "wasm", "xet_core_bg.wasm"));
  childJs = join(dir, "upload-child.mjs");
  return childJs;
}

/** A file of a multi-file run: its path in the bucket and its local file. */
export interface BenchFile {
  path: string;
  file: string;
}

/**
 * One upload in a fresh Node process: "ours" (xet-buckets defaults), "hubjs" (@huggingface/hub) or "idle";
 * `env` is added to this process's environment (e.g. the dedup cache directory).
 */
export async function nodeUpload(
  kind: "ours" | "hubjs" | "idle",
  hubUrl: string,
  bucket: string,
  file: string,
  path = "big.bin",
  env: NodeJS.ProcessEnv = {},
): Promise<Run> {
  const child = await bundleChild();
  return withFreshCache(env, (e) =>
    runChild(process.execPath, [child, JSON.stringify({ kind, hubUrl, token: TOKEN, bucket, file, path })], e),
  );
}

/**
 * Runs `fn` with this process's environment plus `env` and, unless `env` names one, a fresh, empty dedup
 * cache directory (removed afterwards): as hf_xet's runs get a fresh HF_HOME each, no run finds another's cache.
 */
async function withFreshCache<T>(env: NodeJS.ProcessEnv, fn: (env: NodeJS.ProcessEnv) => Promise<T>): Promise<T> {
  if (env.XET_BUCKETS_CACHE_DIR !== undefined) return fn({ ...process.env, ...env });
  const cache = mkdtempSync(join(tmpdir(), "xet-bench-cache-"));
  try {
    return await fn({ ...process.env, ...env, XET_BUCKETS_CACHE_DIR: cache });
  } finally {
    rmSync(cache, { recursive: true, force: true });
  }
}

/**
 * One run of the bundled child in a fresh Node process on several files: an upload ("ours", "hubjs"), a
 * download ("ours-download", "hubjs-download": `file` is the local destination) or hashing ("ours-hash").
 */
export async function nodeRun(
  kind: "ours" | "hubjs" | "ours-download" | "hubjs-download" | "ours-hash",
  hubUrl: string,
  bucket: string,
  files: BenchFile[],
  tuning?: Record<string, unknown>,
): Promise<Run> {
  const child = await bundleChild();
  return withFreshCache({}, (e) =>
    runChild(process.execPath, [child, JSON.stringify({ kind, hubUrl, token: TOKEN, bucket, files, tuning })], e),
  );
}

function pythonEnv(hubUrl: string, home: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith("HF_")) env[k] = v;
  Object.assign(env, {
    HF_ENDPOINT: hubUrl,
    HF_TOKEN: TOKEN,
    HF_HOME: home,
    HF_HUB_DISABLE_TELEMETRY: "1",
    HF_HUB_DISABLE_PROGRESS_BARS: "1",
  });
  return env;
}

const PY_EPILOGUE = `
s = time.perf_counter() - t
hwm = int(re.search(r"VmHWM:\\s+(\\d+) kB", open("/proc/self/status").read()).group(1)) * 1024
ru = resource.getrusage(resource.RUSAGE_SELF)
print(json.dumps({"seconds": s, "peakRss": hwm, "cpuSeconds": ru.ru_utime + ru.ru_stime}))
`;

/** Python scripts: argv[1] = bucket, argv[2] = JSON list of [bucket path, local file]. */
const PY_SCRIPTS = {
  upload:
    `import json, re, resource, sys, time
from huggingface_hub import batch_bucket_files
files = json.loads(sys.argv[2])
t = time.perf_counter()
batch_bucket_files(sys.argv[1], add=[(f, p) for p, f in files])` + PY_EPILOGUE,
  download:
    `import json, re, resource, sys, time
from huggingface_hub import HfApi
files = json.loads(sys.argv[2])
t = time.perf_counter()
HfApi().download_bucket_files(sys.argv[1], [(p, f) for p, f in files], raise_on_missing_files=True)` + PY_EPILOGUE,
  hash:
    `import json, re, resource, sys, time
import hf_xet
files = json.loads(sys.argv[2])
t = time.perf_counter()
hf_xet.hash_files([f for _, f in files])` + PY_EPILOGUE,
};

/**
 * One run of huggingface_hub + hf_xet in a fresh Python process (own HF_HOME: no shared cache): an upload
 * (`batch_bucket_files`), a download (`download_bucket_files`) or hashing (`hf_xet.hash_files`).
 */
export async function pythonRun(
  kind: keyof typeof PY_SCRIPTS,
  hubUrl: string,
  bucket: string,
  files: BenchFile[],
  hfHome?: string,
): Promise<Run> {
  const home = hfHome ?? mkdtempSync(join(tmpdir(), "xet-bench-hfhome-"));
  try {
    const list = JSON.stringify(files.map((f) => [f.path, f.file]));
    return await runChild(PYTHON, ["-c", PY_SCRIPTS[kind], bucket, list], pythonEnv(hubUrl, home));
  } finally {
    if (!hfHome) rmSync(home, { recursive: true, force: true });
  }
}

/**
 * One upload with huggingface_hub + hf_xet in a fresh Python process: its own new HF_HOME (no shared cache),
 * or `hfHome` (kept: its shard cache serves the next upload, as for a user on one machine).
 */
export async function pythonUpload(hubUrl: string, bucket: string, file: string, path = "big.bin", hfHome?: string): Promise<Run> {
  return pythonRun("upload", hubUrl, bucket, [{ path, file }], hfHome);
}
