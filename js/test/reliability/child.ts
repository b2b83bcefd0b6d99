/**
 * One upload or sync in a fresh Node process, for tests that kill it mid-way (SIGKILL) and run it again.
 * Prints one JSON line `{ ok: true, result }` or `{ ok: false, error: { name, code, message } }`.
 *
 *   node --import tsx js/test/reliability/child.ts '{"mode": "upload", "hubUrl": ..., "accessToken": ..., "repo": ..., "files": [[local, dest]], "options": {...}}'
 *   node --import tsx js/test/reliability/child.ts '{"mode": "sync", "hubUrl": ..., "accessToken": ..., "source": dir, "dest": "hf://buckets/...", "options": {...}}'
 */
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
try {
  const common = { hubUrl: job.hubUrl, accessToken: job.accessToken, onWarning: (m: string) => warnings.push(m), ...(job.options ?? {}) };
  let result: unknown;
  if (job.mode === "upload") {
    result = await uploadFiles({ ...common, repo: job.repo!, files: job.files!.map(([local, dest]) => ({ path: dest, content: local })) });
  } else {
    const r = await syncBucket(job.source!, job.dest!, common);
    result = { summary: r.summary, upload: r.upload, downloaded: r.downloaded, warnings: r.warnings };
  }
  process.stdout.write(`${JSON.stringify({ ok: true, result, warnings })}\n`);
} catch (err) {
  const e = err as { name?: string; code?: string; message?: string };
  process.stdout.write(`${JSON.stringify({ ok: false, error: { name: e?.name, code: e?.code, message: e?.message }, warnings })}\n`);
  process.exitCode = 1;
}
