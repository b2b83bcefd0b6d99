/**
 * Browser uploads and downloads (issue 18), in Debian Chromium and Firefox ESR, on a file picked from
 * disk through `<input type=file>` (a 128 MiB and a 1 GiB file of random bytes), each client in the same run:
 *
 *   upload:    a plain `fetch` POST of the picked File to a server that drains it (the anchor: what this
 *              browser sends at best), xet-buckets' `UploadWorker`, and @huggingface/hub 2.17.5's
 *              `uploadFiles` (its browser build bundled for the page with esbuild), each against a fresh
 *              local hub (in this process);
 *   download:  a plain `fetch` GET of the same bytes from a static server (the anchor), xet-buckets'
 *              `downloadFile` and @huggingface/hub's, each reading the Blob's stream to its end, from a hub
 *              holding the file.
 *
 * Each measurement runs in a fresh browser; rounds are interleaved (client A, B, C, A, B, C, …) and medians
 * reported, with every round's figure; ratios are taken within this run. Measured with each run:
 *
 *   - the page's main thread: the longest task its 'longtask' PerformanceObserver saw (the must-show: ≤ 50
 *     ms), and the longest delay of a 10 ms timer (which on a loaded machine also counts waits for a CPU);
 *   - the renderer's memory: the RSS of Chromium's renderer processes (from /proc, sampled every 50 ms), its
 *     peak above the idle page (taken before anything ran, so the upload worker's start counts);
 *   - CPU seconds of the renderers, of the browser process, of the network service, and of this process (the
 *     hub, which validates every xorb, and the static servers).
 *
 * Upload clients are warmed first (a 3 MiB upload in the same page: workers started, modules compiled).
 * @huggingface/hub runs the 1 GiB upload only with `--full` (≈ 4 MiB/s here: minutes, and ≈ 1 GiB of tab).
 * Writes the "browser" section of BENCHMARKS.md.
 *
 *   npx tsx bench/browser.ts [--rounds 3] [--big-rounds 1] [--full] [--no-write]
 *   npx tsx bench/browser.ts --probe [--sizes 128]   # candidate xorb bodies and File reads (printed only)
 *
 * Runs in Chromium and in Firefox (`--browsers chromium,firefox`, default both), through the tests' page API
 * (js/test/helpers/browsers.ts) and their /proc view of a browser's processes (browser-processes.ts). The
 * issue's must-show rows are Chromium's. `XET_CHROMIUM_ARGS="--js-flags=--prof"` profiles Chromium's tab.
 */
import { spawnSync } from "node:child_process";
import { closeSync, createReadStream, existsSync, openSync, readFileSync, statSync, writeSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { uploadFiles } from "../js/src/api/upload.js";
import { seededStream } from "../js/test/helpers/data.mjs";
import { cpuSecondsOf, launchMeasuredBrowser } from "../js/test/helpers/browser-processes.js";
import { BROWSERS as TEST_BROWSERS, browserMissing, type BrowserName, type TestPage } from "../js/test/helpers/browsers.js";
import { BENCH_DATA, ROOT, ensureDir, median, table, writeSection } from "./lib/report.js";
import { BenchHub, MiB, TOKEN } from "./lib/upload-harness.js";

const { values } = parseArgs({
  options: {
    rounds: { type: "string", default: "3" },
    "big-rounds": { type: "string", default: "1" },
    sizes: { type: "string", default: "128,1024" },
    /** Browsers to run (comma-separated): chromium, firefox; default both, or XET_TEST_BROWSERS's. */
    browsers: { type: "string" },
    full: { type: "boolean", default: false },
    probe: { type: "boolean", default: false },
    "no-write": { type: "boolean", default: false },
    /** Upload options for xet-buckets (JSON), for experiments. */
    options: { type: "string", default: "{}" },
    /** Download options for xet-buckets (JSON), for experiments. */
    "download-options": { type: "string", default: "{}" },
    /** Only uploads, or only downloads. */
    only: { type: "string" },
  },
});
const ROUNDS = Number(values.rounds);
const BIG_ROUNDS = Number(values["big-rounds"]);
const SIZES = values.sizes.split(",").map(Number);
const BIG = 1024;
const RUN_BROWSERS = (values.browsers?.split(",").map((b) => b.trim()) ?? [...TEST_BROWSERS]).filter(
  (b): b is BrowserName => b === "chromium" || b === "firefox",
);

// ------------------------------------------------------------------------------------------- data

/** `mib` MiB of a keystream under bench-data/ (incompressible, no duplicate chunks), made once. */
function generate(mib: number): string {
  const size = mib * MiB;
  const path = join(ensureDir(BENCH_DATA), `browser-${mib}MiB.bin`);
  if (existsSync(path) && statSync(path).size === size) return path;
  process.stderr.write(`generating ${path}\n`);
  const ks = seededStream(`browser bench ${size}`);
  const fd = openSync(path, "w");
  for (let off = 0; off < size; off += 64 * MiB) writeSync(fd, ks(Math.min(64 * MiB, size - off)));
  closeSync(fd);
  return path;
}

// ------------------------------------------------------------------------------------------- servers

interface Served {
  url: string;
  close: () => Promise<void>;
}

function listen(server: Server): Promise<Served> {
  return new Promise((resolve) =>
    server.listen(0, "127.0.0.1", () =>
      resolve({
        url: `http://127.0.0.1:${(server.address() as { port: number }).port}`,
        close: () => new Promise((r) => server.close(() => r())),
      }),
    ),
  );
}

/**
 * Another origin than the page's, with CORS: POST reads the body to its end and answers `{ bytes }` (the
 * upload anchor); GET /file/<MiB> serves the bench file of that size (the download anchor).
 */
function anchorServer(files: Map<number, string>): Promise<Served> {
  return listen(
    createServer((req, res) => {
      res.setHeader("Access-Control-Allow-Origin", "*");
      res.setHeader("Access-Control-Allow-Headers", "*");
      res.setHeader("Access-Control-Allow-Methods", "POST, GET, OPTIONS");
      if (req.method === "OPTIONS") return void res.writeHead(204).end();
      if (req.method === "GET") {
        const file = files.get(Number(/^\/file\/(\d+)$/.exec(req.url ?? "")?.[1]));
        if (!file) return void res.writeHead(404).end();
        res.writeHead(200, { "Content-Type": "application/octet-stream", "Content-Length": statSync(file).size });
        createReadStream(file).pipe(res);
        return;
      }
      let bytes = 0;
      req.on("data", (d: Buffer) => (bytes += d.length));
      req.on("end", () => res.writeHead(200, { "Content-Type": "application/json" }).end(JSON.stringify({ bytes })));
    }),
  );
}

const TYPES: Record<string, string> = { ".js": "text/javascript", ".wasm": "application/wasm" };

/** The page's origin: the page, its script, dist/ and the @huggingface/hub bundle. */
function siteServer(hubjs: string): Promise<Served> {
  const page = `<!doctype html><meta charset="utf-8"><link rel="icon" href="data:,"><input type="file" id="file">
<script type="module" src="/page.js"></script>`;
  return listen(
    createServer((req, res) => {
      const path = new URL(req.url ?? "/", "http://x").pathname;
      const send = (type: string, body: string | Buffer) =>
        res.writeHead(200, { "Content-Type": type, "Cache-Control": "no-cache" }).end(body);
      if (path === "/") return send("text/html", page);
      if (path === "/page.js") return send("text/javascript", readFileSync(join(ROOT, "bench", "lib", "browser-page.js")));
      if (path === "/hubjs.mjs") return send("text/javascript", hubjs);
      if (path.startsWith("/dist/") && !path.includes("..")) {
        const file = join(ROOT, path);
        if (existsSync(file) && statSync(file).isFile())
          return send(TYPES[/\.[a-z]+$/.exec(file)?.[0] ?? ""] ?? "application/octet-stream", readFileSync(file));
      }
      res.writeHead(404).end();
    }),
  );
}

/** @huggingface/hub's browser build as one ES module (esbuild, tsx's own dependency). */
async function bundleHubJs(): Promise<string> {
  const esbuild = await import("esbuild");
  const out = await esbuild.build({
    entryPoints: [join(ROOT, "node_modules", "@huggingface", "hub", "dist", "browser", "index.mjs")],
    bundle: true,
    format: "esm",
    platform: "browser",
    write: false,
    logLevel: "error",
  });
  return out.outputFiles[0]!.text;
}

// ------------------------------------------------------------------------------------------- browsers

const TITLE: Record<BrowserName, string> = { chromium: "Chromium", firefox: "Firefox" };
let BROWSER: BrowserName = "chromium";

// ------------------------------------------------------------------------------------------- runs

interface Measure {
  seconds: number;
  /** Longest task on the page's main thread (null: the browser reports none), and longest timer delay, ms. */
  longTask: number | null;
  lag: number;
  bytes?: number;
  /** Tab RSS: idle page, and peak during the run (warm-up included). */
  idle: number;
  peak: number;
  /** CPU seconds of the timed call: by browser process role, and of this process ("hub"). */
  cpu: Record<string, number>;
}

type PageCall = [method: string, ...args: unknown[]];

/** Calls `window.B[method](...args)` in the page (a string: the page API evaluates expressions). */
const callPage = <T>(page: TestPage, [method, ...args]: PageCall) =>
  page.evaluate<T>(`window.B[${JSON.stringify(method)}](...${JSON.stringify(args)})`);

/**
 * In a fresh browser with the page open and `file` picked: `warm` (untimed, e.g. a small upload), then `call`,
 * with the tabs' RSS sampled from the idle page on and the CPU of the browser's processes and of this process.
 */
async function inBrowser(file: string, call: PageCall, warm?: PageCall): Promise<Measure> {
  spawnSync("sync");
  const launched = await launchMeasuredBrowser(BROWSER);
  const b = launched.browser;
  let page: TestPage | undefined;
  try {
    page = await b.newPage();
    await page.goto(`${site.url}/`);
    await page.waitFor("window.B?.ready === true");
    await page.setInputFiles("#file", file);
    await new Promise((r) => setTimeout(r, 300));
    const tabRss = launched.tabRss;
    const idle = tabRss();
    let peak = idle;
    const timer = setInterval(() => (peak = Math.max(peak, tabRss())), 50);
    try {
      if (warm) await callPage(page, warm);
      const cpu = () => {
        const out: Record<string, number> = {};
        for (const p of launched.roles()) out[p.role] = (out[p.role] ?? 0) + cpuSecondsOf(p.pid);
        const self = process.cpuUsage();
        out.hub = (self.user + self.system) / 1e6;
        return out;
      };
      const c0 = cpu();
      // A run that takes long shows where it is (its last progress event).
      const watch = setInterval(() => {
        page!
          .evaluate<string>("JSON.stringify(window.progress)")
          .then((p) => process.stderr.write(`  still running ${call[0]}: ${p}\n`))
          .catch(() => undefined);
      }, 60_000);
      const r = await callPage<Omit<Measure, "idle" | "peak" | "cpu">>(page, call).finally(() => clearInterval(watch));
      const c1 = cpu();
      const used: Record<string, number> = {};
      for (const k of Object.keys(c1)) used[k] = c1[k]! - (c0[k] ?? 0);
      return { ...r, idle, peak: Math.max(peak, tabRss()), cpu: used };
    } finally {
      clearInterval(timer);
    }
  } finally {
    // Chromium logs a failed load for each 404 the clients expect (dedup queries that find nothing).
    for (const m of page?.messages ?? [])
      if ((m.type === "error" && !/status of 404/.test(m.text)) || m.type === "pageerror") process.stderr.write(`${m.type}: ${m.text}\n`);
    await b.close();
  }
}

const hub = new BenchHub();
let site: Served;
let anchor: Served;

type Client = "plain" | "ours" | "hubjs";
const NAMES: Record<Client, string> = { plain: "plain `fetch`", ours: "xet-buckets", hubjs: "@huggingface/hub 2.17.5" };

let bucketN = 0;

async function uploadRun(client: Client, file: string, mib: number): Promise<Measure> {
  if (client === "plain") return inBrowser(file, ["plain", `${anchor.url}/drain`]);
  await hub.fresh();
  const bucket = await hub.bucket(`up${bucketN++}`);
  const access = { hubUrl: hub.url, token: TOKEN, bucket, options: JSON.parse(values.options) as unknown };
  const r = await inBrowser(file, [client, { ...access, path: "big.bin" }], ["warm", client, access]);
  // What the hub stored (xorb files) covers the file: the upload happened (random data: nothing dedups).
  if (hub.storedXorbBytes() < mib * MiB)
    throw new Error(`${client}: the hub stores ${hub.storedXorbBytes()} bytes of xorbs for ${mib} MiB`);
  return r;
}

/** Hub holding each file (uploaded by xet-buckets from Node), for the downloads. */
const downloadBuckets = new Map<number, string>();

async function downloadRun(client: Client, file: string, mib: number): Promise<Measure> {
  if (client === "plain") return inBrowser(file, ["plainGet", `${anchor.url}/file/${mib}`]);
  const options = client === "ours" ? (JSON.parse(values["download-options"]) as unknown) : undefined;
  const r = await inBrowser(file, [
    `${client}Get`,
    { hubUrl: hub.url, token: TOKEN, bucket: downloadBuckets.get(mib)!, path: "big.bin", options },
  ]);
  if (r.bytes !== mib * MiB) throw new Error(`${client}: downloaded ${r.bytes} bytes of ${mib * MiB}`);
  return r;
}

// ------------------------------------------------------------------------------------------- report

const fmt0 = (x: number) => x.toFixed(0);
const mibOf = (b: number) => (b / MiB).toFixed(0);

function line(kind: string, mib: number, c: Client, r: Measure): void {
  process.stderr.write(
    `${kind} ${mib} MiB ${c}: ${fmt0(mib / r.seconds)} MiB/s, long task ${r.longTask} ms, lag ${r.lag} ms, tab +${mibOf(r.peak - r.idle)} MiB, cpu ${Object.entries(
      r.cpu,
    )
      .map(([k, v]) => `${k} ${v.toFixed(1)}`)
      .join(" ")}\n`,
  );
}

interface Row {
  mib: number;
  client: Client;
  runs: Measure[];
}

function rowsTable(rows: Row[], anchorName: string): string {
  const med = (r: Row) => median(r.runs.map((m) => m.seconds));
  const out: (string | number)[][] = [];
  for (const r of rows) {
    const a = rows.find((x) => x.mib === r.mib && x.client === "plain");
    const hubjs = rows.find((x) => x.mib === r.mib && x.client === "hubjs");
    const cpu = (k: string) => median(r.runs.map((m) => m.cpu[k] ?? 0)).toFixed(1);
    out.push([
      `${r.mib} MiB`,
      NAMES[r.client],
      `**${fmt0(r.mib / med(r))}** (${r.runs.map((m) => fmt0(r.mib / m.seconds)).join(", ")})`,
      a ? `${(med(a) / med(r)).toFixed(2)}×` : "–",
      hubjs ? `${(med(hubjs) / med(r)).toFixed(2)}×` : "–",
      r.runs.some((m) => m.longTask === null) ? "–" : Math.max(...r.runs.map((m) => m.longTask ?? 0)),
      Math.max(...r.runs.map((m) => m.lag)),
      mibOf(Math.max(...r.runs.map((m) => m.peak - m.idle))),
      `${cpu("tab")} / ${cpu("browser")} / ${cpu("network")} / ${cpu("hub")}`,
    ]);
  }
  return table(
    [
      "file",
      "client",
      "MiB/s median (rounds)",
      `× ${anchorName}`,
      "× @huggingface/hub",
      "longest task ms",
      "timer lag ms",
      "tab peak above idle MiB",
      "CPU s: tab / browser / network / hub",
    ],
    out,
  );
}

// ------------------------------------------------------------------------------------------- probe

async function probe(file: string): Promise<void> {
  const size = statSync(file).size;
  const drain = `${anchor.url}/drain`;
  const runs: [string, PageCall][] = [
    ["read 2.5 MiB slices, arrayBuffer(), 2 at once", ["read", "read", 2]],
    ["read 2.5 MiB slices, arrayBuffer() then freed, 2 at once", ["read", "read-release", 2]],
    ["read 2.5 MiB slices, BYOB reader, 2 at once", ["read", "read-byob", 2]],
  ];
  for (const where of ["page", "worker"]) {
    runs.push([`${where}: the File itself`, ["plain", drain, where]]);
    for (const [kind, n] of [
      ["blob-one", 1],
      ["blob-slices", 1],
      ["blob-slices", 2],
      ["blob-1m", 2],
      ["mem-pieces", 2],
      ["blob-bytes", 2],
      ["bytes", 2],
      ["stream", 1],
    ] as const)
      runs.push([`${where}: ${kind}, ${n} at once`, ["bodies", kind, drain, n, where]]);
  }
  for (let round = 0; round < ROUNDS; round++) {
    for (const [name, call] of runs) {
      try {
        const r = await inBrowser(file, call);
        process.stdout.write(
          `${name}: ${fmt0(size / MiB / r.seconds)} MiB/s, tab +${mibOf(r.peak - r.idle)} MiB, long task ${r.longTask} ms, cpu tab ${r.cpu.tab!.toFixed(2)} browser ${r.cpu.browser!.toFixed(2)}\n`,
        );
      } catch (err) {
        process.stdout.write(`${name}: failed: ${(err as Error).message.split("\n")[0]}\n`);
      }
    }
  }
}

// ------------------------------------------------------------------------------------------- main

async function main(): Promise<void> {
  const files = new Map(SIZES.map((s) => [s, generate(s)]));
  site = await siteServer(await bundleHubJs());
  anchor = await anchorServer(files);
  try {
    if (values.probe) {
      for (const f of files.values()) await probe(f);
      return;
    }
    const sections: string[] = [];
    const must: (string | number)[][] = [];
    for (const name of RUN_BROWSERS) {
      const missing = browserMissing(name);
      if (missing) {
        process.stderr.write(`skipping ${name}: ${missing}\n`);
        continue;
      }
      BROWSER = name;
      const { up, down } = await runBrowser(files);
      const upTable = rowsTable(up, "plain POST");
      const downTable = rowsTable(down, "plain GET");
      process.stdout.write(`${TITLE[name]}\n\n${upTable}\n\n${downTable}\n`);
      if (name === "chromium") must.push(...mustShow(up));
      sections.push(`### ${TITLE[name]}: uploads

${upTable}

### ${TITLE[name]}: downloads (each client reads the Blob's stream to its end, on the page's thread)

${downTable}
`);
    }
    if (!values["no-write"]) writeSection("browser", "Browser uploads and downloads", commandLine(), report(must, sections));
  } finally {
    await hub.close();
    await site.close();
    await anchor.close();
  }
}

/** Every upload and download run in the current browser (`BROWSER`), rounds interleaved. */
async function runBrowser(files: Map<number, string>): Promise<{ up: Row[]; down: Row[] }> {
  const up: Row[] = [];
  const down: Row[] = [];
  const row = (rows: Row[], mib: number, client: Client) => {
    let r = rows.find((x) => x.mib === mib && x.client === client);
    if (!r) rows.push((r = { mib, client, runs: [] }));
    return r;
  };
  // Uploads, interleaved; the big file for fewer rounds.
  for (let round = 0; round < (values.only === "download" ? 0 : ROUNDS); round++) {
    for (const [mib, file] of files) {
      if (mib >= BIG && round >= BIG_ROUNDS) continue;
      for (const c of ["plain", "ours", "hubjs"] as Client[]) {
        if (c === "hubjs" && mib >= BIG && !values.full) continue;
        const r = await uploadRun(c, file, mib);
        line("upload", mib, c, r);
        row(up, mib, c).runs.push(r);
      }
    }
  }
  // Downloads from one hub holding every file.
  if (values.only === "upload") return { up, down };
  await hub.fresh();
  for (const [mib, file] of files) {
    const bucket = await hub.bucket(`down${mib}`);
    await uploadFiles({ repo: `buckets/${bucket}`, hubUrl: hub.url, accessToken: TOKEN, files: [{ path: "big.bin", content: file }] });
    downloadBuckets.set(mib, bucket);
  }
  for (let round = 0; round < ROUNDS; round++) {
    for (const [mib, file] of files) {
      if (mib >= BIG && round >= BIG_ROUNDS) continue;
      for (const c of ["plain", "ours", "hubjs"] as Client[]) {
        const r = await downloadRun(c, file, mib);
        line("download", mib, c, r);
        row(down, mib, c).runs.push(r);
      }
    }
  }
  return { up, down };
}

function commandLine(): string {
  const args = process.argv.slice(2).filter((a) => a !== "--no-write");
  return ["npx tsx bench/browser.ts", ...args].join(" ");
}

/** The issue's must-show rows, from Chromium's uploads. */
function mustShow(up: Row[]): (string | number)[][] {
  const med = (mib: number, c: Client) => {
    const r = up.find((x) => x.mib === mib && x.client === c);
    return r ? median(r.runs.map((m) => m.seconds)) : NaN;
  };
  const ours = (mib: number) => up.find((x) => x.mib === mib && x.client === "ours");
  const must: (string | number)[][] = [];
  for (const mib of SIZES) {
    const vsPlain = med(mib, "plain") / med(mib, "ours");
    must.push([`${mib} MiB: upload ≥ 0.8× the plain POST`, `${vsPlain.toFixed(2)}×`, vsPlain >= 0.8 ? "met" : "**not met**"]);
    const vsHub = med(mib, "hubjs") / med(mib, "ours");
    if (!Number.isNaN(vsHub))
      must.push([`${mib} MiB: upload ≥ 3× @huggingface/hub`, `${vsHub.toFixed(2)}×`, vsHub >= 3 ? "met" : "**not met**"]);
    const task = Math.max(...(ours(mib)?.runs.map((m) => m.longTask ?? NaN) ?? [NaN]));
    must.push([`${mib} MiB: no task over 50 ms on the page's thread`, `${task} ms`, task <= 50 ? "met" : "**not met**"]);
  }
  const peak = (mib: number) => Math.max(...(ours(mib)?.runs.map((m) => m.peak - m.idle) ?? [NaN]));
  if (SIZES.includes(BIG)) {
    must.push([`1 GiB: tab peak ≤ 256 MiB above the idle page`, `${mibOf(peak(BIG))} MiB`, peak(BIG) <= 256 * MiB ? "met" : "**not met**"]);
    const small = Math.min(...SIZES);
    must.push([
      `1 GiB: tab peak ≤ the ${small} MiB upload's + noise (32 MiB)`,
      `${mibOf(peak(BIG))} vs ${mibOf(peak(small))} MiB`,
      peak(BIG) <= peak(small) + 32 * MiB ? "met" : "**not met**",
    ]);
  }
  return must;
}

function report(must: (string | number)[][], sections: string[]): string {
  return `Debian Chromium (headless, playwright-core) and Debian Firefox ESR (headless, over WebDriver), a file
picked from disk through \`<input type=file>\` (random bytes: nothing compresses or deduplicates), against a
local hub in the benchmark's process (a fresh one per upload; it validates every xorb, on the same cores), the
page on another origin. Anchors: a plain \`fetch\` POST of the same File to a server that drains it, and a
plain \`fetch\` GET of the same bytes from a static server. "Tab": the processes that hold the page and its
workers (Chromium's renderers, Firefox's content processes of type "tab"), RSS from /proc sampled every 50 ms,
the peak above the idle page (so the upload worker's start counts; a Blob's bytes live in the browser
process, not the tab). Upload clients are warmed first (a 3 MiB upload in the same page). The longest task is
what the page's 'longtask' PerformanceObserver saw (Chromium only: Firefox has no such entries); the timer lag
also counts waits for a CPU on a loaded machine. Each run in a fresh browser, rounds interleaved; ratios
within this run. On this 2-core machine an upload is bound by CPU: the CPU columns add up to about 2 s per
second of run (the hub's checking of every xorb included), where the plain POST needs about 1.5.

${table(["must show (Chromium)", "measured", "result"], must)}

${sections.join("\n")}`;
}

await main();
