/**
 * Command-line clients as users run them, for the benchmarks: our `xet-buckets` (the built package's bin,
 * dist/cli/main.js: `npm run bench` builds first) and the official `hf` (the project venv's), each in a fresh
 * process against the same local hub (`HF_ENDPOINT` and a token in the environment; hf with a fresh HF_HOME,
 * so no cache of an earlier run helps it). Each command runs under a small Python parent that times it and
 * reads its resource usage from `getrusage(RUSAGE_CHILDREN)`, so that both CLIs are measured the same way:
 * wall time from spawn to exit (interpreter start included, as a user waits for it), peak RSS (ru_maxrss)
 * and CPU time (user + system, every thread).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ROOT } from "./report.js";
import { PYTHON, TOKEN, runChild, type Run } from "./upload-harness.js";

/** The built CLI of this package. */
export const OUR_CLI = join(ROOT, "dist", "cli", "main.js");
/** The official CLI (huggingface_hub's `hf`). */
export const HF_CLI = join(ROOT, ".venv", "bin", "hf");

const TIMER = `import json, resource, subprocess, sys, time
t = time.perf_counter()
r = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
s = time.perf_counter() - t
if r.returncode != 0:
    sys.stderr.write(r.stderr.decode(errors="replace")[-3000:])
    sys.exit(r.returncode)
ru = resource.getrusage(resource.RUSAGE_CHILDREN)
rss = ru.ru_maxrss * (1 if sys.platform == "darwin" else 1024)
print(json.dumps({"seconds": s, "peakRss": rss, "cpuSeconds": ru.ru_utime + ru.ru_stime}))
`;

export type CliClient = "ours" | "hf";

/**
 * Runs `xet-buckets <args>` or `hf buckets <args>` once against the hub at `hubUrl`, timed (see the module
 * documentation). Fails when the command fails.
 */
export async function runCli(client: CliClient, hubUrl: string, args: string[]): Promise<Run> {
  const home = mkdtempSync(join(tmpdir(), "xet-bench-clihome-"));
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith("HF_") && !k.startsWith("XET_BUCKETS_")) env[k] = v;
  Object.assign(env, {
    HF_ENDPOINT: hubUrl,
    HF_TOKEN: TOKEN,
    HF_HOME: home,
    HF_HUB_DISABLE_TELEMETRY: "1",
    HF_HUB_DISABLE_PROGRESS_BARS: "1",
    // Our client's caches (e.g. a dedup cache) start empty too.
    XDG_CACHE_HOME: join(home, "cache"),
    XET_BUCKETS_CACHE_DIR: join(home, "xet-buckets-cache"),
  });
  const cmd = client === "ours" ? [process.execPath, OUR_CLI, ...args] : [HF_CLI, "buckets", ...args];
  try {
    return await runChild(PYTHON, ["-c", TIMER, ...cmd], env);
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
}
