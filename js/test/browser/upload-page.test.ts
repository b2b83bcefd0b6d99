/**
 * The upload page (examples/browser/) in Chromium, driven by playwright-core with Debian's chromium, against
 * a local hub on another origin (so CORS is exercised), served by examples/browser/serve.mjs.
 *
 * Checks through the API (the Node client) that every file arrived with the xetHash Node computes from the
 * local bytes, that the work ran in the Web Worker (the page itself never loads the .wasm or sends a xorb),
 * that the page's thread stayed responsive, and that no request body was a stream. Screenshots of the page
 * after each upload are kept in test-artifacts/browser/.
 *
 * Also runs the README's browser snippet as written, in a page of its own, and checks that what the page sent
 * is made of valid xorbs: the official Python client downloads every file byte-identical.
 */
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { after, before, test } from "node:test";
import { chromium, type Browser, type Page } from "playwright-core";
import { downloadFile } from "../../src/api/download.js";
import { listFiles } from "../../src/api/files.js";
import { createBucket } from "../../src/api/buckets.js";
import { xetHash } from "../../src/hash.js";
import { startStaticServer, type StaticServer } from "../../../examples/browser/serve.mjs";
import { startTestHub, type TestHub } from "../helpers/hub.js";
import { seededBytes } from "../helpers/data.mjs";
import { ROOT } from "../helpers/files.js";
import { CHROMIUM, CHROMIUM_ARGS, readmeSnippet } from "../helpers/runtimes.js";
import { hasPythonClients, ok, runPython } from "../helpers/clients.js";
import { assertFileEquals } from "../helpers/files.js";

const ARTIFACTS = join(ROOT, "test-artifacts", "browser");

let hub: TestHub;
let site: StaticServer;
let browser: Browser;
let work: string;
const MiB = 2 ** 20;

/** The folder the test picks: nested paths, a non-ASCII name, an empty file, a 12 MiB file and its copy. */
const FOLDER: Record<string, Uint8Array> = {
  "readme.txt": new TextEncoder().encode("Holiday photos, uploaded from a browser.\n"),
  "data/weights.bin": seededBytes(12 * MiB, 1),
  "data/weights-copy.bin": seededBytes(12 * MiB, 1),
  "data/nested/deeper/notes.md": new TextEncoder().encode("# Notes\n\nchunked in a Web Worker\n"),
  "données/été.txt": new TextEncoder().encode("accents in paths\n"),
  "empty.txt": new Uint8Array(0),
};

before(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: run \`node scripts/setup.mjs --browser\` (Debian's chromium)`);
  if (!existsSync(join(ROOT, "dist", "web", "browser.js"))) throw new Error("dist/web is not built: run `npm run build`");
  hub = await startTestHub();
  // The page and dist/ on one origin; the test may also load js/test/helpers/data.mjs to build dropped files.
  site = await startStaticServer({ allow: ["/examples/browser/", "/dist/", "/js/test/helpers/data.mjs"] });
  work = await mkdtemp(join(tmpdir(), "xet-browser-test-"));
  for (const [rel, bytes] of Object.entries(FOLDER)) {
    const p = join(work, "photos", rel);
    await mkdir(dirname(p), { recursive: true });
    await writeFile(p, bytes);
  }
  await mkdir(ARTIFACTS, { recursive: true });
  browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true });
});

after(async () => {
  await browser?.close();
  await site?.close();
  await hub?.close();
  if (work) await rm(work, { recursive: true, force: true });
});

const opts = () => ({ hubUrl: hub.url, accessToken: hub.users.alice.token });

async function listed(repo: string, path: string): Promise<Map<string, { size: number; xetHash?: string }>> {
  const out = new Map<string, { size: number; xetHash?: string }>();
  for await (const e of listFiles({ repo, path, recursive: true, ...opts() }))
    if (e.type === "file") out.set(e.path, { size: e.size, xetHash: e.xetHash });
  return out;
}

/** Opens the page with the form prefilled from the query string; collects console errors and page errors. */
async function openPage(bucket: string, prefix: string): Promise<{ page: Page; problems: string[] }> {
  const page = await browser.newPage({ viewport: { width: 1100, height: 1000 } });
  const problems: string[] = [];
  page.on("pageerror", (e) => problems.push(`pageerror: ${e.message}`));
  page.on("console", (m) => {
    // createBucket(existOk) answers an existing bucket's 409, which Chromium logs as a failed load.
    if (m.type() === "error" && !/status of 409 \(Conflict\)/.test(m.text())) problems.push(`console: ${m.text()}`);
  });
  const q = new URLSearchParams({ hub: hub.url, token: hub.users.alice.token, bucket, prefix });
  await page.goto(`${site.url}/examples/browser/?${q}`);
  return { page, problems };
}

interface PageState {
  state: string;
  result?: {
    files: number;
    logicalBytes: number;
    bytesSent: number;
    newBytes: number;
    dedupLocalBytes: number;
    dedupGlobalBytes: number;
    perFile: { path: string; xetHash: string; size: number }[];
  };
  error?: { message: string };
  maxStallMs: number;
  progressEvents: number;
}

async function uploadAndWait(page: Page): Promise<PageState> {
  await page.click("#upload");
  await page.waitForFunction(() => ["done", "error"].includes(document.querySelector("#status")!.getAttribute("data-state")!), undefined, {
    timeout: 120_000,
  });
  const state = (await page.evaluate("window.__xetUpload")) as PageState;
  assert.equal(state.state, "done", `the upload failed: ${JSON.stringify(state.error)} (${await page.textContent("#status")})`);
  return state;
}

/** URLs the page's own thread fetched (a worker's requests are not in the page's timeline). */
const pageResources = (page: Page) => page.evaluate(() => performance.getEntriesByType("resource").map((e) => e.name));

test("upload page: a folder chosen in the page arrives in the bucket, every file with its xetHash", async () => {
  const bucket = "alice/browser-uploads";
  assert.notEqual(new URL(site.url).origin, new URL(hub.url).origin, "the page and the hub are on different origins");
  const { page, problems } = await openPage(bucket, "run1");
  const hubRequestsBefore = hub.requests.length;

  await page.setInputFiles("#pick-folder", join(work, "photos"));
  await page.waitForFunction(() => document.querySelector("#selection")!.textContent!.startsWith("6 files"));
  const t0 = Date.now();
  const state = await uploadAndWait(page);
  const ms = Date.now() - t0;
  await page.screenshot({ path: join(ARTIFACTS, "upload-page-folder.png"), fullPage: true });

  // Through the API: every file, with the hash Node computes from the local bytes.
  const onHub = await listed(`buckets/${bucket}`, "run1");
  const want = new Map<string, { size: number; xetHash: string }>();
  for (const [rel, bytes] of Object.entries(FOLDER)) want.set(`run1/photos/${rel}`, { size: bytes.length, xetHash: await xetHash(bytes) });
  assert.deepEqual(new Map([...onHub].sort()), new Map([...want].sort()));
  assert.deepEqual(
    new Map(state.result!.perFile.map((f) => [f.path, { size: f.size, xetHash: f.xetHash }])),
    want,
    "the page's dedup report names the same files and hashes",
  );
  // The hub holds the bytes themselves: read one back through the Node client.
  const blob = await downloadFile({ repo: `buckets/${bucket}`, path: "run1/photos/data/weights.bin", ...opts() });
  assert.equal(await xetHash(new Uint8Array(await blob!.arrayBuffer())), want.get("run1/photos/data/weights.bin")!.xetHash);

  // The copy was deduplicated in the call, not sent twice.
  const r = state.result!;
  assert.equal(r.files, 6);
  assert.ok(r.dedupLocalBytes >= 12 * MiB, `dedupLocalBytes ${r.dedupLocalBytes}`);
  assert.ok(r.bytesSent < 13 * MiB, `bytesSent ${r.bytesSent}`);
  // The report table and the bars were drawn.
  assert.equal(await page.locator("#files tr").count(), 6);
  assert.equal(await page.locator("#report").isVisible(), true);
  assert.equal(Number(await page.getAttribute("#p-processed", "value")), r.logicalBytes);

  // Off the main thread: the page never fetched the .wasm nor sent a xorb (the worker did), and stayed responsive.
  const resources = await pageResources(page);
  assert.ok(!resources.some((u) => u.endsWith(".wasm")), resources.join("\n"));
  assert.ok(!resources.some((u) => u.includes("/v1/xorbs/")), resources.join("\n"));
  assert.ok(state.progressEvents > 0);
  assert.ok(state.maxStallMs < 500, `the page's thread stalled ${state.maxStallMs} ms`);
  assert.equal(await page.evaluate(() => self.crossOriginIsolated), false, "no COOP/COEP: SharedArrayBuffer is not needed");

  // No stream request bodies: every xorb and shard upload carried a Content-Length.
  const uploads = hub.requests.slice(hubRequestsBefore).filter((q) => q.method === "POST" && /\/v1\/xorbs\/|\/shards$/.test(q.path));
  assert.ok(uploads.length >= 2, JSON.stringify(uploads));
  for (const q of uploads) assert.ok(q.requestBytes > 0, `${q.path} was sent without Content-Length`);

  assert.deepEqual(problems, []);
  process.stderr.write(
    `# browser folder upload: ${(r.logicalBytes / MiB).toFixed(1)} MiB in ${ms} ms, main-thread stall ${state.maxStallMs} ms\n`,
  );
  await page.close();
});

test("upload page: a changed file dropped on the page sends only what changed (global dedup)", async () => {
  const bucket = "alice/browser-uploads";
  const { page, problems } = await openPage(bucket, "run2");
  // The bucket field offers the namespace's buckets (listed from the hub).
  await page.focus("#bucket");
  await page.waitForSelector(`#buckets option[value="${bucket}"]`, { state: "attached" });
  // The dropped file: the 12 MiB weights of run 1 with 64 KiB changed in the middle, built in the page from the
  // same generator. Dropped through a DataTransfer, as a drag from the desktop delivers it.
  await page.evaluate(async () => {
    const { seededBytes } = (await import("/js/test/helpers/data.mjs" as string)) as {
      seededBytes: (n: number, s: number) => Uint8Array<ArrayBuffer>;
    };
    const bytes = seededBytes(12 * 2 ** 20, 1);
    bytes.set(seededBytes(64 * 1024, 99), 6 * 2 ** 20);
    const dt = new DataTransfer();
    dt.items.add(new File([bytes], "weights.bin", { type: "application/octet-stream" }));
    document.querySelector("#drop")!.dispatchEvent(new DragEvent("drop", { dataTransfer: dt, bubbles: true, cancelable: true }));
  });
  await page.waitForFunction(() => document.querySelector("#selection")!.textContent!.startsWith("1 file"));
  const state = await uploadAndWait(page);
  await page.screenshot({ path: join(ARTIFACTS, "upload-page-dedup.png"), fullPage: true });

  const changed = seededBytes(12 * MiB, 1);
  changed.set(seededBytes(64 * 1024, 99), 6 * MiB);
  const want = await xetHash(changed);
  const onHub = await listed(`buckets/${bucket}`, "run2");
  assert.deepEqual([...onHub], [["run2/weights.bin", { size: changed.length, xetHash: want }]]);
  const r = state.result!;
  assert.ok(r.dedupGlobalBytes > 10 * MiB, `dedupGlobalBytes ${r.dedupGlobalBytes}`);
  assert.ok(r.bytesSent < 1 * MiB, `sent ${r.bytesSent} bytes for a 64 KiB change`);
  assert.match((await page.textContent("#summary"))!, /Already stored \(global dedup\)/);
  assert.deepEqual(problems, []);
  process.stderr.write(`# browser re-upload of a 12 MiB file with 64 KiB changed: sent ${r.bytesSent} bytes\n`);
  await page.close();
});

test("upload page: files picked from disk go as valid xorbs: the official Python client downloads each byte-identical", async () => {
  assert.ok(hasPythonClients(), "the project venv with huggingface_hub + hf_xet is missing (node scripts/setup.mjs --python)");
  const bucket = "alice/browser-python";
  await createBucket(bucket, { ...opts(), existOk: true });
  // More than one 64 MiB xorb of random bytes (chunks stored raw), text that compresses (chunks stored
  // compressed, BG4/LZ4), a small file and an empty one: xorb bodies that the worker hands to the browser as
  // Blob pieces, split across pieces and across xorbs.
  const line = (i: number) => `${i}\tstep ${i * 7} loss ${(Math.sin(i) + 2).toFixed(6)} lr ${(1e-4 / (1 + i / 1e4)).toExponential(3)}\n`;
  let text = "";
  for (let i = 0; text.length < 6 * MiB; i++) text += line(i);
  const files: Record<string, Uint8Array> = {
    "weights.bin": seededBytes(70 * MiB + 12_345, 18),
    "train.log": new TextEncoder().encode(text),
    "config.json": new TextEncoder().encode('{"layers": 12}\n'),
    "empty.bin": new Uint8Array(0),
  };
  const dir = join(work, "python");
  await mkdir(dir, { recursive: true });
  for (const [name, bytes] of Object.entries(files)) await writeFile(join(dir, name), bytes);

  const { page, problems } = await openPage(bucket, "py");
  const before = hub.requests.length;
  await page.setInputFiles(
    "#pick-files",
    Object.keys(files).map((name) => join(dir, name)),
  );
  await page.waitForFunction(() => document.querySelector("#selection")!.textContent!.startsWith("4 files"));
  const state = await uploadAndWait(page);
  assert.deepEqual(problems, []);
  await page.close();
  // Every byte was new: nothing deduplicated, the text compressed, the random bytes in 64 MiB xorbs.
  const r = state.result!;
  assert.equal(r.newBytes, r.logicalBytes);
  const xorbs = hub.requests.slice(before).filter((q) => q.method === "POST" && q.path.startsWith("/v1/xorbs/"));
  // 76 MiB of chunks: a full xorb (64 MiB of chunks, most of them raw, sent as one body) and the rest.
  assert.equal(xorbs.length, 2, xorbs.map((q) => q.requestBytes).join(", "));
  assert.ok(Math.max(...xorbs.map((q) => q.requestBytes)) > 56 * MiB, xorbs.map((q) => q.requestBytes).join(", "));
  assert.ok(r.bytesSent < r.logicalBytes - 3 * MiB, `the text was sent compressed: sent ${r.bytesSent} of ${r.logicalBytes}`);

  const out = join(work, "python-download");
  const script = `import json, sys
from huggingface_hub import HfApi
pairs = json.loads(sys.argv[1])
HfApi().download_bucket_files(${JSON.stringify(bucket)}, [(p, f) for p, f in pairs], raise_on_missing_files=True)
print("downloaded", len(pairs))`;
  const pairs = Object.keys(files).map((name) => [`py/${name}`, join(out, name)]);
  ok(
    await runPython(hub.url, hub.users.alice.token, ["-c", script, JSON.stringify(pairs)], { timeoutMs: 240_000 }),
    "download_bucket_files",
  );
  for (const [name, bytes] of Object.entries(files)) await assertFileEquals(join(out, name), bytes);
});

test("upload page: Cancel aborts the upload in the worker and registers nothing", async () => {
  const bucket = "alice/browser-uploads";
  const { page, problems } = await openPage(bucket, "run3");
  // Slow the CAS down (the page's requests only: the worker's go through the same context) so the click lands
  // while the upload is running.
  await page.context().route("**/v1/xorbs/**", async (route) => {
    await new Promise((r) => setTimeout(r, 3000));
    await route.continue().catch(() => undefined);
  });
  await page.evaluate(async () => {
    const { seededBytes } = (await import("/js/test/helpers/data.mjs" as string)) as {
      seededBytes: (n: number, s: number) => Uint8Array<ArrayBuffer>;
    };
    const dt = new DataTransfer();
    dt.items.add(new File([seededBytes(8 * 2 ** 20, 1234)], "big.bin"));
    document.querySelector("#drop")!.dispatchEvent(new DragEvent("drop", { dataTransfer: dt, bubbles: true, cancelable: true }));
  });
  await page.waitForFunction(() => document.querySelector("#selection")!.textContent!.startsWith("1 file"));
  await page.click("#upload");
  await page.waitForFunction(() => (window as unknown as { __xetUpload: PageState }).__xetUpload.progressEvents > 0);
  await page.click("#cancel");
  await page.waitForFunction(() => document.querySelector("#status")!.getAttribute("data-state") === "error");
  assert.match((await page.textContent("#status"))!, /cancelled/);
  assert.equal((await listed(`buckets/${bucket}`, "run3")).size, 0);
  assert.deepEqual(problems, []);
  await page.close();
});

test("browser: initCore accepts a URL, a string, a Response, bytes and a compiled Module; the default finds the .wasm", async () => {
  const want = await xetHash(new TextEncoder().encode("hello\n"));
  for (const mode of ["default", "url", "string", "response", "bytes", "module"]) {
    const page = await browser.newPage();
    await page.goto(`${site.url}/examples/browser/style.css`); // any page of the origin
    // A string, not a function: tsx's transform would add helpers (__name) that the page does not have.
    const got = await page.evaluate(`(async () => {
      const { initCore, xetHash } = await import("/dist/web/hash.js");
      const url = new URL("/dist/core/wasm/xet_core_bg.wasm", location.href);
      const mode = ${JSON.stringify(mode)};
      const input =
        mode === "default" ? undefined
        : mode === "url" ? url
        : mode === "string" ? url.href
        : mode === "response" ? await fetch(url)
        : mode === "bytes" ? new Uint8Array(await (await fetch(url)).arrayBuffer())
        : await WebAssembly.compileStreaming(fetch(url));
      await initCore(input);
      return xetHash(new TextEncoder().encode("hello\\n"));
    })()`);
    assert.equal(got, want, mode);
    await page.close();
  }
});

test("browser: the README's browser snippet runs as written", async () => {
  // A page of its own: the snippet as its module script, the inputs it reads, dist/ next to it.
  const dir = await mkdtemp(join(tmpdir(), "xet-browser-snippet-"));
  try {
    await symlink(join(ROOT, "dist"), join(dir, "dist"));
    await writeFile(join(dir, "snippet.js"), await readmeSnippet("browser"));
    await writeFile(
      join(dir, "index.html"),
      `<!doctype html><meta charset="utf-8"><link rel="icon" href="data:,">
<script type="importmap">{ "imports": { "xet-buckets/browser": "./dist/web/browser.js" } }</script>
<input id="hub" value="${hub.url}"><input id="token" value="${hub.users.alice.token}">
<input type="file" webkitdirectory>
<script type="module" src="snippet.js"></script>`,
    );
    const snippetSite = await startStaticServer({ root: dir, allow: ["/"] });
    try {
      await createBucket("alice/runtimes", { ...opts(), existOk: true });
      const page = await browser.newPage();
      const logs: string[] = [];
      page.on("console", (m) => logs.push(m.text()));
      page.on("pageerror", (e) => logs.push(`pageerror: ${e.message}`));
      await page.goto(`${snippetSite.url}/index.html`);
      await page.waitForFunction(() => document.readyState === "complete");
      await page.setInputFiles("input[webkitdirectory]", join(work, "photos"));
      await page.waitForFunction(() => true); // let the change handler start
      const deadline = Date.now() + 60_000;
      while (!logs.some((l) => l.startsWith("uploaded ") || l.startsWith("pageerror"))) {
        assert.ok(Date.now() < deadline, `no "uploaded" line: ${logs.join("\n")}`);
        await new Promise((r) => setTimeout(r, 100));
      }
      assert.match(logs.find((l) => l.startsWith("uploaded ")) ?? logs.join("\n"), /^uploaded 6 files: sent \d+ of \d+ bytes$/);
      assert.ok(
        logs.some((l) => /^processed \d+, deduplicated \d+, sent \d+$/.test(l)),
        logs.join("\n"),
      );
      const onHub = await listed("buckets/alice/runtimes", "browser");
      for (const [rel, bytes] of Object.entries(FOLDER)) {
        assert.deepEqual(onHub.get(`browser/photos/${rel}`), { size: bytes.length, xetHash: await xetHash(bytes) }, rel);
      }
      assert.equal(onHub.size, Object.keys(FOLDER).length);
      await page.close();
    } finally {
      await snippetSite.close();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
