/**
 * The upload page (examples/browser/) in Chromium, driven by playwright-core with Debian's chromium, against
 * a local hub on another origin (so CORS is exercised), served by examples/browser/serve.mjs.
 *
 * Checks through the API (the Node client) that every file arrived with the xetHash Node computes from the
 * local bytes, that the work ran in the Web Worker (the page itself never loads the .wasm or sends a xorb),
 * that the page's thread stayed responsive, and that no request body was a stream. Screenshots of the page
 * after each upload are kept in test-artifacts/browser/.
 *
 * In the upload worker: a file the browser can no longer read fails alone (TransferError on the page), and
 * stalled connections are abandoned and retried.
 *
 * Also runs the README's browser snippet as written, in a page of its own.
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
import { startFaultProxy } from "../helpers/faults.js";
import { startTestHub, type TestHub } from "../helpers/hub.js";
import { seededBytes } from "../helpers/data.mjs";
import { ROOT } from "../helpers/files.js";
import { CHROMIUM, CHROMIUM_ARGS, readmeSnippet } from "../helpers/runtimes.js";

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

test("upload worker: a file the browser can no longer read (changed on disk after it was chosen) fails alone; the others arrive; the page gets a TransferError", async () => {
  const dir = await mkdtemp(join(tmpdir(), "xet-browser-isolate-"));
  try {
    const names = ["first.bin", "changed.bin", "last.bin"];
    const bytes = names.map((_, i) => seededBytes(300_000 + i * 1000, 500 + i));
    for (let i = 0; i < names.length; i++) await writeFile(join(dir, names[i]!), bytes[i]!);
    await createBucket("alice/browser-uploads", { ...opts(), existOk: true });
    const page = await browser.newPage();
    await page.goto(`${site.url}/examples/browser/style.css`); // any page of the origin
    await page.evaluate(() => {
      const input = document.createElement("input");
      input.type = "file";
      input.multiple = true;
      input.id = "files";
      document.body.append(input);
    });
    await page.setInputFiles(
      "#files",
      names.map((n) => join(dir, n)),
    );
    // Selected, then changed on disk: the browser no longer reads that File (its snapshot is stale).
    await writeFile(join(dir, "changed.bin"), seededBytes(123_456, 599));
    // A string, not a function: tsx's transform would add helpers (__name) that the page does not have.
    const outcome = (await page.evaluate(`(async () => {
      const { UploadWorker } = await import("/dist/web/browser.js");
      const worker = new UploadWorker();
      try {
        await worker.upload({
          repo: "buckets/alice/browser-uploads",
          files: [...document.querySelector("#files").files].map((f) => ({ path: "run4/" + f.name, content: f })),
          hubUrl: ${JSON.stringify(hub.url)},
          accessToken: ${JSON.stringify(hub.users.alice.token)},
        });
        return { ok: true };
      } catch (e) {
        return {
          ok: false,
          name: e.name,
          code: e.code,
          message: e.message,
          failures: e.failures && e.failures.map((f) => ({ path: f.path, code: f.code, causeCode: f.cause && f.cause.code })),
          files: e.result && e.result.files,
        };
      } finally {
        worker.terminate();
      }
    })()`)) as { ok: boolean; name?: string; code?: string; failures?: unknown[]; files?: number; message?: string };
    assert.equal(outcome.ok, false);
    assert.equal(outcome.name, "TransferError", outcome.message);
    assert.equal(outcome.code, "FILES_FAILED");
    assert.deepEqual(outcome.failures, [{ path: "run4/changed.bin", code: "READ_FAILED", causeCode: "READ_FAILED" }]);
    assert.equal(outcome.files, 2);
    const onHub = await listed("buckets/alice/browser-uploads", "run4");
    assert.deepEqual([...onHub.keys()].sort(), ["run4/first.bin", "run4/last.bin"]);
    assert.equal(onHub.get("run4/last.bin")?.xetHash, await xetHash(bytes[2]!));
    await page.close();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("upload worker: stalled connections (an answer that never comes, a body that stops) are abandoned and retried", async () => {
  await createBucket("alice/browser-uploads", { ...opts(), existOk: true });
  const proxy = await startFaultProxy(hub.url);
  try {
    const headers = proxy.add({ method: "POST", path: "/v1/xorbs/", action: "stall", stallAt: "headers", times: 1 });
    const body = proxy.add({ method: "POST", path: "/batch", action: "stall", keepBytes: 2, times: 1 });
    const page = await browser.newPage();
    await page.goto(`${site.url}/examples/browser/style.css`); // any page of the origin
    const data = seededBytes(2 * MiB, 510);
    const t0 = Date.now();
    const outcome = (await page.evaluate(`(async () => {
      const { UploadWorker } = await import("/dist/web/browser.js");
      const { seededBytes } = await import("/js/test/helpers/data.mjs");
      const worker = new UploadWorker();
      try {
        const r = await worker.upload({
          repo: "buckets/alice/browser-uploads",
          files: [{ path: "run5/data.bin", content: new Blob([seededBytes(2 * 2 ** 20, 510)]) }],
          hubUrl: ${JSON.stringify(proxy.url)},
          accessToken: ${JSON.stringify(hub.users.alice.token)},
          retry: { baseDelayMs: 20, maxDelayMs: 200, stallTimeoutMs: 500, attemptTimeoutMs: 1500 },
        });
        return { ok: true, files: r.files };
      } catch (e) {
        return { ok: false, message: e.message };
      } finally {
        worker.terminate();
      }
    })()`)) as { ok: boolean; files?: number; message?: string };
    const elapsed = Date.now() - t0;
    assert.deepEqual(outcome, { ok: true, files: 1 });
    assert.deepEqual([headers.injected, body.injected], [1, 1]);
    assert.ok(elapsed < 30_000, `abandoned the stalled attempts early (${elapsed} ms)`);
    assert.equal((await listed("buckets/alice/browser-uploads", "run5")).get("run5/data.bin")?.xetHash, await xetHash(data));
    await page.close();
  } finally {
    await proxy.close();
  }
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
