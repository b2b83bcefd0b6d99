/**
 * The upload page (examples/browser/) in Chromium and in Firefox (js/test/helpers/browsers.ts: Debian's
 * chromium through playwright-core, Debian's firefox-esr over WebDriver), against a local hub on another
 * origin (so CORS is exercised), served by examples/browser/serve.mjs. Each browser gets its own hub, so its
 * dedup figures do not depend on what the other uploaded.
 *
 * Checks through the API (the Node client) that every file arrived with the xetHash Node computes from the
 * local bytes, that the work ran in the Web Worker (the page itself never loads the .wasm or sends a xorb),
 * that the page's thread stayed responsive, and that no request body was a stream. Screenshots of the page
 * after each upload are kept in test-artifacts/browser/ (`upload-page-<browser>-*.png`).
 *
 * In the upload worker: a file the browser can no longer read fails alone (a `TransferError` on the page), and
 * stalled connections are abandoned and retried.
 *
 * Also runs the README's browser snippet as written, in a page of its own, and checks that what the page sent
 * is made of valid xorbs: the official Python client downloads every file byte-identical.
 */
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { after, before, describe, test } from "node:test";
import { downloadFile } from "../../src/api/download.js";
import { listFiles } from "../../src/api/files.js";
import { createBucket } from "../../src/api/buckets.js";
import { xetHash } from "../../src/hash.js";
import { startStaticServer, type StaticServer } from "../../../examples/browser/serve.mjs";
import { startTestHub, type TestHub } from "../helpers/hub.js";
import { BROWSERS, launchBrowser, type TestBrowser, type TestPage } from "../helpers/browsers.js";
import { seededBytes } from "../helpers/data.mjs";
import { startFaultProxy, type FaultProxy } from "../helpers/faults.js";
import { ROOT, assertFileEquals } from "../helpers/files.js";
import { hasPythonClients, ok, runPython } from "../helpers/clients.js";
import { readmeSnippet } from "../helpers/runtimes.js";

const ARTIFACTS = join(ROOT, "test-artifacts", "browser");

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
  if (!existsSync(join(ROOT, "dist", "web", "browser.js"))) throw new Error("dist/web is not built: run `npm run build`");
  work = await mkdtemp(join(tmpdir(), "xet-browser-test-"));
  for (const [rel, bytes] of Object.entries(FOLDER)) {
    const p = join(work, "photos", rel);
    await mkdir(dirname(p), { recursive: true });
    await writeFile(p, bytes);
  }
  await mkdir(ARTIFACTS, { recursive: true });
});

after(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

/** Console errors and uncaught errors of a page. */
const problems = (page: TestPage) =>
  page.messages
    // createBucket(existOk) answers an existing bucket's 409, which Chromium logs as a failed load.
    .filter((m) => (m.type === "error" && !/status of 409 \(Conflict\)/.test(m.text)) || m.type === "pageerror")
    .map((m) => `${m.type}: ${m.text}`);

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

/** URLs the page's own thread fetched (a worker's requests are not in the page's timeline). */
const pageResources = (page: TestPage) => page.evaluate<string[]>(`performance.getEntriesByType("resource").map((e) => e.name)`);

/** Drops `File`s built in the page (from js/test/helpers/data.mjs's generator) on the drop zone, as a drag from the desktop delivers them. */
const dropGenerated = (
  page: TestPage,
  files: { name: string; size: number; seed: number; patch?: { at: number; size: number; seed: number } }[],
) =>
  page.evaluate(async (files: { name: string; size: number; seed: number; patch?: { at: number; size: number; seed: number } }[]) => {
    const { seededBytes } = (await import("/js/test/helpers/data.mjs" as string)) as {
      seededBytes: (n: number, s: number) => Uint8Array<ArrayBuffer>;
    };
    const dt = new DataTransfer();
    for (const f of files) {
      const bytes = seededBytes(f.size, f.seed);
      if (f.patch) bytes.set(seededBytes(f.patch.size, f.patch.seed), f.patch.at);
      dt.items.add(new File([bytes], f.name, { type: "application/octet-stream" }));
    }
    document.querySelector("#drop")!.dispatchEvent(new DragEvent("drop", { dataTransfer: dt, bubbles: true, cancelable: true }));
  }, files);

for (const name of BROWSERS) {
  describe(name, () => {
    let hub: TestHub;
    let proxy: FaultProxy;
    let site: StaticServer;
    let browser: TestBrowser;

    before(async () => {
      hub = await startTestHub();
      proxy = await startFaultProxy(hub.url);
      // The page and dist/ on one origin; the test may also load js/test/helpers/data.mjs to build dropped files.
      site = await startStaticServer({ allow: ["/examples/browser/", "/dist/", "/js/test/helpers/data.mjs"] });
      browser = await launchBrowser(name);
    });

    after(async () => {
      await browser?.close();
      await site?.close();
      await proxy?.close();
      await hub?.close();
    });

    const opts = () => ({ hubUrl: hub.url, accessToken: hub.users.alice.token });

    async function listed(repo: string, path: string): Promise<Map<string, { size: number; xetHash?: string }>> {
      const out = new Map<string, { size: number; xetHash?: string }>();
      for await (const e of listFiles({ repo, path, recursive: true, ...opts() }))
        if (e.type === "file") out.set(e.path, { size: e.size, xetHash: e.xetHash });
      return out;
    }

    /** Opens the page with the form prefilled from the query string (the hub, or another URL for it). */
    async function openPage(bucket: string, prefix: string, hubUrl = hub.url): Promise<TestPage> {
      const page = await browser.newPage({ width: 1100, height: 1000 });
      const q = new URLSearchParams({ hub: hubUrl, token: hub.users.alice.token, bucket, prefix });
      await page.goto(`${site.url}/examples/browser/?${q}`);
      return page;
    }

    async function uploadAndWait(page: TestPage): Promise<PageState> {
      await page.click("#upload");
      await page.waitFor(`["done", "error"].includes(document.querySelector("#status").getAttribute("data-state"))`, 120_000);
      const state = await page.evaluate<PageState>("window.__xetUpload");
      const status = await page.evaluate<string>(`document.querySelector("#status").textContent`);
      assert.equal(state.state, "done", `the upload failed: ${JSON.stringify(state.error)} (${status})`);
      return state;
    }

    test(`upload page (${name}): a folder chosen in the page arrives in the bucket, every file with its xetHash`, async () => {
      const bucket = "alice/browser-uploads";
      assert.notEqual(new URL(site.url).origin, new URL(hub.url).origin, "the page and the hub are on different origins");
      const page = await openPage(bucket, "run1");
      const hubRequestsBefore = hub.requests.length;

      await page.setInputFiles("#pick-folder", join(work, "photos"));
      await page.waitFor(`document.querySelector("#selection").textContent.startsWith("6 files")`);
      const t0 = Date.now();
      const state = await uploadAndWait(page);
      const ms = Date.now() - t0;
      await page.screenshot(join(ARTIFACTS, `upload-page-${name}-folder.png`));

      // Through the API: every file, with the hash Node computes from the local bytes.
      const onHub = await listed(`buckets/${bucket}`, "run1");
      const want = new Map<string, { size: number; xetHash: string }>();
      for (const [rel, bytes] of Object.entries(FOLDER))
        want.set(`run1/photos/${rel}`, { size: bytes.length, xetHash: await xetHash(bytes) });
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
      assert.equal(await page.evaluate(`document.querySelectorAll("#files tr").length`), 6);
      assert.equal(await page.evaluate(`document.querySelector("#report").checkVisibility()`), true);
      assert.equal(await page.evaluate(`Number(document.querySelector("#p-processed").value)`), r.logicalBytes);

      // Off the main thread: the page never fetched the .wasm nor sent a xorb (the worker did), and stayed responsive.
      const resources = await pageResources(page);
      assert.ok(!resources.some((u) => u.endsWith(".wasm")), resources.join("\n"));
      assert.ok(!resources.some((u) => u.includes("/v1/xorbs/")), resources.join("\n"));
      assert.ok(state.progressEvents > 0);
      assert.ok(state.maxStallMs < 500, `the page's thread stalled ${state.maxStallMs} ms`);
      assert.equal(await page.evaluate("self.crossOriginIsolated"), false, "no COOP/COEP: SharedArrayBuffer is not needed");

      // No stream request bodies: every xorb and shard upload carried a Content-Length.
      const uploads = hub.requests.slice(hubRequestsBefore).filter((q) => q.method === "POST" && /\/v1\/xorbs\/|\/shards$/.test(q.path));
      assert.ok(uploads.length >= 2, JSON.stringify(uploads));
      for (const q of uploads) assert.ok(q.requestBytes > 0, `${q.path} was sent without Content-Length`);

      assert.deepEqual(problems(page), []);
      process.stderr.write(
        `# ${name} folder upload: ${(r.logicalBytes / MiB).toFixed(1)} MiB in ${ms} ms, main-thread stall ${state.maxStallMs} ms\n`,
      );
      await page.close();
    });

    test(`upload page (${name}): a changed file dropped on the page sends only what changed (global dedup)`, async () => {
      const bucket = "alice/browser-uploads";
      const page = await openPage(bucket, "run2");
      // The bucket field offers the namespace's buckets (listed from the hub).
      await page.evaluate(`document.querySelector("#bucket").focus()`);
      await page.waitFor(`document.querySelector('#buckets option[value="${bucket}"]') !== null`);
      // The dropped file: the 12 MiB weights of run 1 with 64 KiB changed in the middle, built in the page from the
      // same generator.
      await dropGenerated(page, [{ name: "weights.bin", size: 12 * MiB, seed: 1, patch: { at: 6 * MiB, size: 64 * 1024, seed: 99 } }]);
      await page.waitFor(`document.querySelector("#selection").textContent.startsWith("1 file")`);
      const state = await uploadAndWait(page);
      await page.screenshot(join(ARTIFACTS, `upload-page-${name}-dedup.png`));

      const changed = seededBytes(12 * MiB, 1);
      changed.set(seededBytes(64 * 1024, 99), 6 * MiB);
      const want = await xetHash(changed);
      const onHub = await listed(`buckets/${bucket}`, "run2");
      assert.deepEqual([...onHub], [["run2/weights.bin", { size: changed.length, xetHash: want }]]);
      const r = state.result!;
      assert.ok(r.dedupGlobalBytes > 10 * MiB, `dedupGlobalBytes ${r.dedupGlobalBytes}`);
      assert.ok(r.bytesSent < 1 * MiB, `sent ${r.bytesSent} bytes for a 64 KiB change`);
      assert.match(await page.evaluate<string>(`document.querySelector("#summary").textContent`), /Already stored \(global dedup\)/);
      assert.deepEqual(problems(page), []);
      process.stderr.write(`# ${name} re-upload of a 12 MiB file with 64 KiB changed: sent ${r.bytesSent} bytes\n`);
      await page.close();
    });

    test(`upload page (${name}): files picked from disk go as valid xorbs: the official Python client downloads each byte-identical`, async () => {
      assert.ok(hasPythonClients(), "the project venv with huggingface_hub + hf_xet is missing (node scripts/setup.mjs --python)");
      const bucket = "alice/browser-python";
      await createBucket(bucket, { ...opts(), existOk: true });
      // More than one 64 MiB xorb of random bytes (chunks stored raw), text that compresses (chunks stored
      // compressed, BG4/LZ4), a small file and an empty one: xorb bodies that the worker hands to the browser as
      // Blob pieces, split across pieces and across xorbs.
      const line = (i: number) =>
        `${i}\tstep ${i * 7} loss ${(Math.sin(i) + 2).toFixed(6)} lr ${(1e-4 / (1 + i / 1e4)).toExponential(3)}\n`;
      let text = "";
      for (let i = 0; text.length < 6 * MiB; i++) text += line(i);
      const files: Record<string, Uint8Array> = {
        "weights.bin": seededBytes(70 * MiB + 12_345, 18),
        "train.log": new TextEncoder().encode(text),
        "config.json": new TextEncoder().encode('{"layers": 12}\n'),
        "empty.bin": new Uint8Array(0),
      };
      const dir = join(work, `python-${name}`, "picked");
      await mkdir(dir, { recursive: true });
      for (const [file, bytes] of Object.entries(files)) await writeFile(join(dir, file), bytes);

      const page = await openPage(bucket, name);
      const before = hub.requests.length;
      await page.setInputFiles("#pick-folder", dir);
      await page.waitFor(`document.querySelector("#selection").textContent.startsWith("4 files")`);
      const state = await uploadAndWait(page);
      assert.deepEqual(problems(page), []);
      await page.close();
      // Every byte was new: nothing deduplicated, the text compressed, the random bytes in 64 MiB xorbs.
      const r = state.result!;
      assert.equal(r.newBytes, r.logicalBytes);
      const xorbs = hub.requests.slice(before).filter((q) => q.method === "POST" && q.path.startsWith("/v1/xorbs/"));
      // 76 MiB of chunks: a full xorb (64 MiB of chunks, most of them raw) and the rest.
      assert.equal(xorbs.length, 2, xorbs.map((q) => q.requestBytes).join(", "));
      assert.ok(Math.max(...xorbs.map((q) => q.requestBytes)) > 56 * MiB, xorbs.map((q) => q.requestBytes).join(", "));
      assert.ok(r.bytesSent < r.logicalBytes - 3 * MiB, `the text was sent compressed: sent ${r.bytesSent} of ${r.logicalBytes}`);

      const out = join(work, `python-${name}`, "download");
      const script = `import json, sys
from huggingface_hub import HfApi
pairs = json.loads(sys.argv[1])
HfApi().download_bucket_files(${JSON.stringify(bucket)}, [(p, f) for p, f in pairs], raise_on_missing_files=True)
print("downloaded", len(pairs))`;
      const pairs = Object.keys(files).map((file) => [`${name}/picked/${file}`, join(out, file)]);
      ok(
        await runPython(hub.url, hub.users.alice.token, ["-c", script, JSON.stringify(pairs)], { timeoutMs: 240_000 }),
        "download_bucket_files",
      );
      for (const [file, bytes] of Object.entries(files)) await assertFileEquals(join(out, file), bytes);
    });

    test(`upload page (${name}): Cancel aborts the upload in the worker and registers nothing`, async () => {
      const bucket = "alice/browser-uploads";
      // The hub behind a proxy that holds each xorb upload for 3 s, so the click lands while the upload runs.
      const slow = proxy.add({ method: "POST", path: "/v1/xorbs/", action: "delay", delayMs: 3000 });
      try {
        const page = await openPage(bucket, "run3", proxy.url);
        await dropGenerated(page, [{ name: "big.bin", size: 8 * MiB, seed: 1234 }]);
        await page.waitFor(`document.querySelector("#selection").textContent.startsWith("1 file")`);
        await page.click("#upload");
        await page.waitFor("window.__xetUpload.progressEvents > 0");
        await page.click("#cancel");
        await page.waitFor(`document.querySelector("#status").getAttribute("data-state") === "error"`);
        assert.match(await page.evaluate<string>(`document.querySelector("#status").textContent`), /cancelled/);
        assert.equal((await listed(`buckets/${bucket}`, "run3")).size, 0);
        assert.deepEqual(problems(page), []);
        await page.close();
      } finally {
        slow.disable();
      }
    });

    test(`upload worker (${name}): a file the browser can no longer read fails alone; the others arrive; the page gets a TransferError`, async () => {
      const dir = await mkdtemp(join(tmpdir(), "xet-browser-isolate-"));
      try {
        const names = ["first.bin", "changed.bin", "last.bin"];
        const bytes = names.map((_, i) => seededBytes(300_000 + i * 1000, 500 + i));
        await mkdir(join(dir, "pick"));
        for (let i = 0; i < names.length; i++) await writeFile(join(dir, "pick", names[i]!), bytes[i]!);
        await createBucket("alice/browser-uploads", { ...opts(), existOk: true });
        const page = await browser.newPage();
        await page.goto(`${site.url}/examples/browser/style.css`); // any page of the origin
        await page.evaluate(`(() => {
          const input = document.createElement("input");
          input.type = "file";
          input.webkitdirectory = true;
          input.id = "files";
          // In view: WebDriver picks files through a click on it.
          input.style.cssText = "position: fixed; top: 0; left: 0";
          document.body.append(input);
        })()`);
        await page.setInputFiles("#files", join(dir, "pick"));
        await page.waitFor(`document.querySelector("#files").files.length === 3`);
        // Chosen, then changed on disk: the browser no longer reads that File (its snapshot is stale).
        await writeFile(join(dir, "pick", "changed.bin"), seededBytes(123_456, 599));
        // A string, not a function: tsx's transform would add helpers (__name) that the page does not have.
        const outcome = await page.evaluate<{
          ok: boolean;
          name?: string;
          code?: string;
          failures?: unknown[];
          files?: number;
          message?: string;
        }>(
          `(async () => {
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
          })()`,
        );
        assert.equal(outcome.ok, false);
        assert.equal(outcome.name, "TransferError", outcome.message);
        assert.equal(outcome.code, "FILES_FAILED");
        // Chromium refuses to read it (READ_FAILED); Firefox reads the new bytes, and the upload sees the change.
        const code = name === "chromium" ? "READ_FAILED" : "SOURCE_CHANGED";
        assert.deepEqual(outcome.failures, [{ path: "run4/changed.bin", code, causeCode: code }]);
        assert.equal(outcome.files, 2);
        const onHub = await listed("buckets/alice/browser-uploads", "run4");
        assert.deepEqual([...onHub.keys()].sort(), ["run4/first.bin", "run4/last.bin"]);
        assert.equal(onHub.get("run4/last.bin")?.xetHash, await xetHash(bytes[2]!));
        await page.close();
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    });

    test(`upload worker (${name}): stalled connections (an answer that never comes, a body that stops) are abandoned and retried`, async () => {
      await createBucket("alice/browser-uploads", { ...opts(), existOk: true });
      const rules = [
        proxy.add({ method: "POST", path: "/v1/xorbs/", action: "stall", stallAt: "headers", times: 1 }),
        proxy.add({ method: "POST", path: "/batch", action: "stall", keepBytes: 2, times: 1 }),
      ];
      try {
        const page = await browser.newPage();
        await page.goto(`${site.url}/examples/browser/style.css`); // any page of the origin
        const t0 = Date.now();
        const outcome = await page.evaluate<{ ok: boolean; files?: number; message?: string }>(`(async () => {
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
        })()`);
        const elapsed = Date.now() - t0;
        assert.deepEqual(outcome, { ok: true, files: 1 });
        assert.deepEqual(
          rules.map((r) => r.injected),
          [1, 1],
        );
        assert.ok(elapsed < 30_000, `abandoned the stalled attempts early (${elapsed} ms)`);
        const want = await xetHash(seededBytes(2 * MiB, 510));
        assert.equal((await listed("buckets/alice/browser-uploads", "run5")).get("run5/data.bin")?.xetHash, want);
        await page.close();
      } finally {
        for (const r of rules) r.disable();
      }
    });

    test(`browser (${name}): initCore accepts a URL, a string, a Response, bytes and a compiled Module; the default finds the .wasm`, async () => {
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

    test(`browser (${name}): the README's browser snippet runs as written`, async () => {
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
          await page.goto(`${snippetSite.url}/index.html`);
          await page.waitFor(`document.readyState === "complete"`);
          await page.setInputFiles("input[webkitdirectory]", join(work, "photos"));
          const logs = () => page.messages.map((m) => (m.type === "pageerror" ? `pageerror: ${m.text}` : m.text));
          const deadline = Date.now() + 60_000;
          while (!logs().some((l) => l.startsWith("uploaded ") || l.startsWith("pageerror"))) {
            assert.ok(Date.now() < deadline, `no "uploaded" line: ${logs().join("\n")}`);
            await new Promise((r) => setTimeout(r, 100));
          }
          assert.match(logs().find((l) => l.startsWith("uploaded ")) ?? logs().join("\n"), /^uploaded 6 files: sent \d+ of \d+ bytes$/);
          assert.ok(
            logs().some((l) => /^processed \d+, deduplicated \d+, sent \d+$/.test(l)),
            logs().join("\n"),
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
  });
}
