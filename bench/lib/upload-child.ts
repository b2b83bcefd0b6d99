/**
 * Child process of bench/upload-memory.ts: one upload of one local file, then one JSON line on stdout
 * `{ seconds, peakRss, report? }` (peakRss = this process's VmHWM). Bundled to plain JavaScript by the
 * parent so that no TypeScript loader adds to the measured memory.
 *
 *   kind "ours":  xet-buckets uploadFiles with default options
 *   kind "hubjs": @huggingface/hub uploadFiles (its bucket path)
 *   kind "idle":  loads the API and the core, uploads nothing (the memory floor)
 */
import { readFileSync } from "node:fs";
import { pathToFileURL } from "node:url";

interface ChildArgs {
  kind: "ours" | "hubjs" | "idle";
  hubUrl: string;
  token: string;
  bucket: string;
  file: string;
  /** Destination path in the bucket (default big.bin). */
  path?: string;
  /** xet-buckets upload tuning (UploadTuning), for experiments; defaults when absent. */
  tuning?: Record<string, unknown>;
}

const a = JSON.parse(process.argv[2]!) as ChildArgs;

/** What the process holds when its RSS peaks (sampled every 20 ms): WebAssembly heap, JS buffers, V8 heap. */
interface Breakdown {
  rss: number;
  wasm: number;
  arrayBuffers: number;
  heapTotal: number;
}
let peak: Breakdown = { rss: 0, wasm: 0, arrayBuffers: 0, heapTotal: 0 };
let wasmMemory: WebAssembly.Memory | undefined;
const sampler = setInterval(() => {
  const m = process.memoryUsage();
  if (m.rss > peak.rss) peak = { rss: m.rss, wasm: wasmMemory?.buffer.byteLength ?? 0, arrayBuffers: m.arrayBuffers, heapTotal: m.heapTotal };
}, 20);
if (a.kind !== "hubjs") {
  const { initCore } = await import("../../js/src/core/index.js");
  await initCore();
  // initSync returns the instantiated module's exports (no second instance).
  const glue = (await import("../../js/src/core/wasm/xet_core.js")) as unknown as { initSync: () => { memory: WebAssembly.Memory } };
  wasmMemory = glue.initSync().memory;
}
const t0 = performance.now();
let report: unknown;
if (a.kind === "idle") {
  const { initCore } = await import("../../js/src/core/index.js");
  await import("../../js/src/api/upload.js");
  await initCore();
} else if (a.kind === "ours") {
  const { uploadFiles } = await import("../../js/src/api/upload.js");
  report = await uploadFiles({ ...a.tuning, repo: `buckets/${a.bucket}`, hubUrl: a.hubUrl, accessToken: a.token, files: [{ path: a.path ?? "big.bin", content: a.file }] });
} else {
  const hub = await import("@huggingface/hub");
  const url = pathToFileURL(a.file);
  const files = a.path ? [{ path: a.path, content: url }] : [url];
  await hub.uploadFiles({ repo: { type: "bucket", name: a.bucket }, hubUrl: a.hubUrl, accessToken: a.token, files });
}
const seconds = (performance.now() - t0) / 1000;
const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync("/proc/self/status", "utf8"));
clearInterval(sampler);
const cpu = process.cpuUsage();
process.stdout.write(
  JSON.stringify({ seconds, peakRss: m ? Number(m[1]) * 1024 : process.memoryUsage().rss, cpuSeconds: (cpu.user + cpu.system) / 1e6, atPeak: peak, report }) + "\n",
);
