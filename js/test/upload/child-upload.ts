/**
 * Runs one `uploadFiles` call in this (fresh) process and prints `{ report, peakRss, seconds }` as JSON.
 * Used by tests that must show global dedup without any state shared with an earlier upload.
 *
 *   node --import tsx js/test/upload/child-upload.ts '{"hubUrl": ..., "accessToken": ..., "repo": ..., "files": [[local, dest], ...]}'
 */
import { readFileSync } from "node:fs";
import { uploadFiles } from "../../src/api/upload.js";
import type { ChildUpload } from "./util.js";

const args = JSON.parse(process.argv[2]!) as ChildUpload;
const t0 = performance.now();
const report = await uploadFiles({
  repo: args.repo,
  hubUrl: args.hubUrl,
  accessToken: args.accessToken,
  files: args.files.map(([local, dest]) => ({ path: dest, content: local })),
  ...(args.tuning ?? {}),
});
const seconds = (performance.now() - t0) / 1000;
let peakRss = 0;
try {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync("/proc/self/status", "utf8"));
  if (m) peakRss = Number(m[1]) * 1024;
} catch {
  peakRss = process.memoryUsage().rss;
}
process.stdout.write(JSON.stringify({ report, peakRss, seconds }) + "\n");
