/**
 * One upload, download or sync in a fresh Node process (its own core, session and caches): for tests that kill it mid-way
 * (SIGKILL) and run it again, and for tests that must show global dedup without any state shared with an earlier
 * upload. Prints one JSON line `{ ok: true, result, warnings, peakRss, seconds }` or `{ ok: false, error: { name,
 * code, message }, warnings }` (`peakRss`: the process's VmHWM, bytes). Started by processes.ts (`startChild`).
 *
 *   node --import tsx js/test/helpers/child.ts '{"mode": "upload", "hubUrl": ..., "accessToken": ..., "repo": ..., "files": [[local, dest]], "options": {...}}'
 *   node --import tsx js/test/helpers/child.ts '{"mode": "sync", "hubUrl": ..., "accessToken": ..., "source": dir, "dest": "hf://buckets/...", "options": {...}}'
 *   node --import tsx js/test/helpers/child.ts '{"mode": "download", "hubUrl": ..., "accessToken": ..., "repo": ..., "files": [[remote, local]], "inspect": dir}'
 *
 * With `inspect`, the JSON also has `files`: every file under that directory afterwards (relative path → size and
 * SHA-256), for a child whose view of the file system differs from the test's (a tmpfs mounted in its own
 * mount namespace).
 */
import { createHash } from "node:crypto";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { downloadBucketFiles } from "../../src/api/download.js";
import { uploadFiles } from "../../src/api/upload.js";
import { syncBucket } from "../../src/sync/index.js";

export interface ChildJob {
  mode: "upload" | "sync" | "download";
  hubUrl: string;
  accessToken: string;
  repo?: string;
  files?: [string, string][];
  source?: string;
  dest?: string;
  options?: Record<string, unknown>;
  inspect?: string;
}

const job = JSON.parse(process.argv[2]!) as ChildJob;
const warnings: string[] = [];
const t0 = performance.now();
try {
  const common = { hubUrl: job.hubUrl, accessToken: job.accessToken, onWarning: (m: string) => warnings.push(m), ...(job.options ?? {}) };
  let result: unknown;
  if (job.mode === "upload") {
    result = await uploadFiles({ ...common, repo: job.repo!, files: job.files!.map(([local, dest]) => ({ path: dest, content: local })) });
  } else if (job.mode === "download") {
    result = await downloadBucketFiles(job.repo!, job.files!, common);
  } else {
    const r = await syncBucket(job.source!, job.dest!, common);
    result = { summary: r.summary, upload: r.upload, downloaded: r.downloaded, warnings: r.warnings };
  }
  const seconds = (performance.now() - t0) / 1000;
  process.stdout.write(`${JSON.stringify({ ok: true, result, warnings, peakRss: peakRss(), seconds, ...inspected() })}\n`);
} catch (err) {
  const e = err as { name?: string; code?: string; message?: string; path?: string };
  const error = { name: e?.name, code: e?.code, message: e?.message, path: e?.path };
  process.stdout.write(`${JSON.stringify({ ok: false, error, warnings, ...inspected() })}\n`);
  process.exitCode = 1;
}

/** `{ files }`: what is under `job.inspect` (relative path → size, SHA-256), when given. */
function inspected(): { files?: Record<string, { size: number; sha256: string }> } {
  if (!job.inspect) return {};
  const files: Record<string, { size: number; sha256: string }> = {};
  for (const rel of readdirSync(job.inspect, { recursive: true }).map(String)) {
    const p = join(job.inspect, rel);
    if (!statSync(p).isFile()) continue;
    const bytes = readFileSync(p);
    files[rel] = { size: bytes.length, sha256: createHash("sha256").update(bytes).digest("hex") };
  }
  return { files };
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
