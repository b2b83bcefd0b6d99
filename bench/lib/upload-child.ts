/**
 * Child process of the benchmarks: one upload, download or hashing run, then one JSON line on stdout
 * `{ seconds, peakRss, cpuSeconds, atPeak, report? }` (peakRss = this process's VmHWM, cpuSeconds = user +
 * system time of every thread). Bundled to plain JavaScript by the parent so that no TypeScript loader adds
 * to the measured memory.
 *
 *   kind "ours":            xet-buckets uploadFiles with default options (or `tuning`)
 *   kind "hubjs":           @huggingface/hub uploadFiles (its bucket path)
 *   kind "idle":            loads the API and the core, uploads nothing (the memory floor)
 *   kind "ours-download":   xet-buckets downloadBucketFiles of `files` (bucket path → local file)
 *   kind "hubjs-download":  @huggingface/hub downloadFile of each of `files`, 4 at a time, streamed to disk
 *   kind "ours-hash":       xet-buckets xetHashFiles of the local `files` on the chunking workers
 */
import { createWriteStream, mkdirSync, readFileSync } from "node:fs";
import { dirname } from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { pathToFileURL } from "node:url";

type Kind = "ours" | "hubjs" | "idle" | "ours-download" | "hubjs-download" | "ours-hash";

interface ChildArgs {
  kind: Kind;
  hubUrl: string;
  token: string;
  bucket: string;
  /** One local file to upload (with `path`, its destination, default big.bin). */
  file?: string;
  path?: string;
  /** Several files: bucket path and local file (uploads, downloads, hashing). */
  files?: { path: string; file: string }[];
  /** xet-buckets upload tuning (UploadTuning), for experiments; defaults when absent. */
  tuning?: Record<string, unknown>;
}

const a = JSON.parse(process.argv[2]!) as ChildArgs;
const files = a.files ?? (a.file ? [{ path: a.path ?? "big.bin", file: a.file }] : []);

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
  if (m.rss > peak.rss)
    peak = { rss: m.rss, wasm: wasmMemory?.buffer.byteLength ?? 0, arrayBuffers: m.arrayBuffers, heapTotal: m.heapTotal };
}, 100);
if (!a.kind.startsWith("hubjs")) {
  const { initCore } = await import("../../js/src/core/index.js");
  await initCore();
  // initSync returns the instantiated module's exports (no second instance).
  const glue = (await import("../../js/src/core/wasm/xet_core.js")) as unknown as { initSync: () => { memory: WebAssembly.Memory } };
  wasmMemory = glue.initSync().memory;
}
const t0 = performance.now();
let report: unknown;
const access = { hubUrl: a.hubUrl, accessToken: a.token };
if (a.kind === "idle") {
  const { initCore } = await import("../../js/src/core/index.js");
  await import("../../js/src/api/upload.js");
  await initCore();
} else if (a.kind === "ours") {
  const { uploadFiles } = await import("../../js/src/api/upload.js");
  report = await uploadFiles({
    ...a.tuning,
    repo: `buckets/${a.bucket}`,
    ...access,
    files: files.map((f) => ({ path: f.path, content: f.file })),
  });
} else if (a.kind === "hubjs") {
  const hub = await import("@huggingface/hub");
  await hub.uploadFiles({
    repo: { type: "bucket", name: a.bucket },
    ...access,
    files: files.map((f) => ({ path: f.path, content: pathToFileURL(f.file) })),
  });
} else if (a.kind === "ours-download") {
  const { downloadBucketFiles } = await import("../../js/src/api/download.js");
  const r = await downloadBucketFiles(
    a.bucket,
    files.map((f) => [f.path, f.file] as [string, string]),
    { ...access, ...a.tuning },
  );
  report = { files: r.downloaded.length };
} else if (a.kind === "hubjs-download") {
  const hub = await import("@huggingface/hub");
  let next = 0;
  const worker = async () => {
    while (next < files.length) {
      const f = files[next++]!;
      const blob = await hub.downloadFile({ repo: { type: "bucket", name: a.bucket }, path: f.path, ...access });
      if (!blob) throw new Error(`${f.path}: not found`);
      mkdirSync(dirname(f.file), { recursive: true });
      await pipeline(Readable.fromWeb(blob.stream() as import("node:stream/web").ReadableStream<Uint8Array>), createWriteStream(f.file));
    }
  };
  await Promise.all(Array.from({ length: 4 }, worker));
  report = { files: files.length };
} else if (a.kind === "ours-hash") {
  const { xetHashFiles } = await import("../../js/src/hash.js");
  const r = await xetHashFiles(files.map((f) => f.file));
  report = { hashes: r.map((h) => h.xetHash) };
}
const seconds = (performance.now() - t0) / 1000;
const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync("/proc/self/status", "utf8"));
clearInterval(sampler);
const cpu = process.cpuUsage();
process.stdout.write(
  JSON.stringify({
    seconds,
    peakRss: m ? Number(m[1]) * 1024 : process.memoryUsage().rss,
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
    atPeak: peak,
    report,
  }) + "\n",
);
