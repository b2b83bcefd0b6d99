/**
 * One upload or sync in a fresh Node process (its own core, session and caches): for tests that kill it mid-way
 * (SIGKILL) and run it again, and for tests that must show global dedup without any state shared with an earlier
 * upload. Prints one JSON line `{ ok: true, result, warnings, peakRss, seconds }` or `{ ok: false, error: { name,
 * code, message }, warnings }` (`peakRss`: the process's VmHWM, bytes). Started by processes.ts (`startChild`).
 *
 *   node --import tsx js/test/helpers/child.ts '{"mode": "upload", "hubUrl": ..., "accessToken": ..., "repo": ..., "files": [[local, dest]], "options": {...}}'
 *   node --import tsx js/test/helpers/child.ts '{"mode": "sync", "hubUrl": ..., "accessToken": ..., "source": dir, "dest": "hf://buckets/...", "options": {...}}'
 */
import { readFileSync } from "node:fs";
import { uploadFiles } from "../../src/api/upload.js";
import { syncBucket } from "../../src/sync/index.js";

export interface ChildJob {
  mode: "upload" | "sync";
  hubUrl: string;
  accessToken: string;
  repo?: string;
  files?: [string, string][];
  source?: string;
  dest?: string;
  options?: Record<string, unknown>;
}

const job = JSON.parse(process.argv[2]!) as ChildJob;
const warnings: string[] = [];
const t0 = performance.now();
try {
  const common = { hubUrl: job.hubUrl, accessToken: job.accessToken, onWarning: (m: string) => warnings.push(m), ...(job.options ?? {}) };
  let result: unknown;
  if (job.mode === "upload") {
    result = await uploadFiles({ ...common, repo: job.repo!, files: job.files!.map(([local, dest]) => ({ path: dest, content: local })) });
  } else {
    const r = await syncBucket(job.source!, job.dest!, common);
    result = { summary: r.summary, upload: r.upload, downloaded: r.downloaded, warnings: r.warnings };
  }
  const seconds = (performance.now() - t0) / 1000;
  process.stdout.write(`${JSON.stringify({ ok: true, result, warnings, peakRss: peakRss(), seconds })}\n`);
} catch (err) {
  const e = err as { name?: string; code?: string; message?: string };
  process.stdout.write(`${JSON.stringify({ ok: false, error: { name: e?.name, code: e?.code, message: e?.message }, warnings })}\n`);
  process.exitCode = 1;
}

/** This process's peak resident memory (VmHWM on Linux, the current RSS elsewhere), bytes. */
function peakRss(): number {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync("/proc/self/status", "utf8"));
    if (m) return Number(m[1]) * 1024;
  } catch {
    // not Linux
  }
  return process.memoryUsage().rss;
}
