/**
 * Resume in Chromium (playwright-core + Debian's chromium, the browser tests' setup), with the IndexedDB
 * store (browser/resume.ts) and the built web bundle (dist/web): an upload that failed at its shard, started
 * again in the page, sends no xorb again and registers the file; the state is then gone from IndexedDB.
 * The same through the upload worker (`resume: true`). A state stamped by another core is ignored with a
 * warning. The hub is on another origin behind a fault proxy.
 */
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { after, before, test } from "node:test";
import { chromium, type Browser, type Page } from "playwright-core";
import { startStaticServer, type StaticServer } from "../../../examples/browser/serve.mjs";
import { startFaultProxy, type FaultProxy } from "../helpers/faults.js";
import { ALICE, newBucket, resolveBytes, startTestHub, type TestHub } from "../helpers/hub.js";
import { seededBytes } from "../helpers/data.mjs";
import { ROOT } from "../helpers/files.js";
import { xorbPosts } from "../helpers/hub-state.js";
import { CHROMIUM, CHROMIUM_ARGS } from "../helpers/runtimes.js";

let hub: TestHub;
let proxy: FaultProxy;
let site: StaticServer;
let browser: Browser;
let page: Page;
const warnings: string[] = [];
const skip = !existsSync(CHROMIUM)
  ? `${CHROMIUM} is missing (node scripts/setup.mjs --browser)`
  : !existsSync(`${ROOT}/dist/web/index.js`)
    ? "dist/web is not built"
    : false;

before(async () => {
  if (skip) return;
  hub = await startTestHub();
  proxy = await startFaultProxy(hub.url);
  site = await startStaticServer({ allow: ["/examples/browser/", "/dist/"] });
  browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true });
  page = await browser.newPage();
  page.on("console", (m) => {
    if (m.type() === "warning") warnings.push(m.text());
  });
  await page.goto(`${site.url}/examples/browser/`);
});
after(async () => {
  await browser?.close();
  await site?.close();
  await proxy?.close();
  await hub?.close();
});

interface PageOutcome {
  ok: boolean;
  error?: { name: string; code?: string; message: string };
  resumed?: { candidates: number; xorbsSkipped: number; bytesSkipped: number; notStored: number };
}

/** Runs one upload in the page (main thread or worker) with the IndexedDB resume store. */
function uploadInPage(via: "page" | "worker", bucket: string, b64: string, dbName: string): Promise<PageOutcome> {
  return page.evaluate(
    async ({ via, bucket, b64, hubUrl, token, dbName }) => {
      const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
      const file = new File([bytes], "model.bin", { lastModified: 1_700_000_000_000 });
      const files = [{ path: "ckpt/model.bin", content: file }];
      try {
        let r;
        if (via === "page") {
          const m = await import("/dist/web/index.js" as string);
          r = await m.uploadFiles({
            repo: `buckets/${bucket}`,
            hubUrl,
            accessToken: token,
            files,
            maxXorbBytes: 256 * 1024,
            retry: { maxAttempts: 2, baseDelayMs: 10 },
            resumeStore: m.indexedDbResumeStore({ dbName }),
          });
        } else {
          const { UploadWorker } = await import("/dist/web/browser.js" as string);
          const w = new UploadWorker();
          try {
            r = await w.upload({
              repo: `buckets/${bucket}`,
              hubUrl,
              accessToken: token,
              files,
              maxXorbBytes: 256 * 1024,
              retry: { maxAttempts: 2, baseDelayMs: 10 },
              resume: { dbName },
            });
          } finally {
            w.terminate?.();
          }
        }
        return { ok: true, resumed: r.resumed };
      } catch (e) {
        const err = e as { name: string; code?: string; message: string };
        return { ok: false, error: { name: err.name, code: err.code, message: err.message } };
      }
    },
    { via, bucket, b64, hubUrl: proxy.url, token: ALICE.token, dbName },
  );
}

/** Records in the page's IndexedDB database: uploads and xorb marks (a string: tsx would wrap named functions). */
function idbCounts(dbName: string): Promise<{ uploads: number; xorbs: number }> {
  return page.evaluate(`(async () => {
    const db = await new Promise((res, rej) => {
      const r = indexedDB.open(${JSON.stringify(dbName)}, 1);
      r.onsuccess = () => res(r.result);
      r.onerror = () => rej(r.error);
    });
    const out = {};
    for (const s of ["uploads", "xorbs"]) {
      out[s] = await new Promise((res, rej) => {
        const r = db.transaction(s).objectStore(s).count();
        r.onsuccess = () => res(r.result);
        r.onerror = () => rej(r.error);
      });
    }
    db.close();
    return out;
  })()`);
}

for (const via of ["page", "worker"] as const) {
  test(`IndexedDB resume in Chromium (${via}): a failed upload started again sends no stored xorb`, { skip }, async () => {
    const bucket = await newBucket(hub, `browser-resume-${via}`);
    const data = seededBytes(2 * 1024 * 1024, via === "page" ? 41 : 42);
    const b64 = Buffer.from(data).toString("base64");
    const dbName = `xet-resume-test-${via}`;
    const rule = proxy.add({ method: "POST", path: "/shards", action: "status", status: 400 });
    const mark1 = hub.requests.length;
    const first = await uploadInPage(via, bucket, b64, dbName);
    rule.disable();
    assert.equal(first.ok, false);
    assert.equal(first.error?.code, "HTTP_ERROR", JSON.stringify(first.error));
    const stored = xorbPosts(hub, mark1).ok;
    assert.ok(stored >= 4, `xorbs stored by the failed run: ${stored}`);
    const during = await idbCounts(dbName);
    assert.equal(during.uploads, 1);
    assert.ok(during.xorbs >= stored, `marks in IndexedDB: ${during.xorbs}`);

    const mark2 = hub.requests.length;
    const second = await uploadInPage(via, bucket, b64, dbName);
    assert.ok(second.ok, JSON.stringify(second.error));
    assert.equal(xorbPosts(hub, mark2).count, 0, "no xorb sent again");
    assert.equal(second.resumed?.xorbsSkipped, stored);
    assert.ok(Buffer.from(await resolveBytes(hub.url, bucket, "ckpt/model.bin")).equals(Buffer.from(data)));
    assert.deepEqual(await idbCounts(dbName), { uploads: 0, xorbs: 0 }, "the state is deleted once registered");
  });
}

test("IndexedDB resume in Chromium: a state stamped by another core is ignored with a warning", { skip }, async () => {
  const bucket = await newBucket(hub, "browser-resume-stamp");
  const data = seededBytes(1024 * 1024, 43);
  const b64 = Buffer.from(data).toString("base64");
  const dbName = "xet-resume-test-stamp";
  const rule = proxy.add({ method: "POST", path: "/shards", action: "status", status: 400 });
  await uploadInPage("page", bucket, b64, dbName);
  rule.disable();
  // Another core version wrote the state.
  await page.evaluate(async (dbName) => {
    const db: IDBDatabase = await new Promise((res) => {
      const r = indexedDB.open(dbName, 1);
      r.onsuccess = () => res(r.result);
    });
    const tx = db.transaction("uploads", "readwrite");
    const store = tx.objectStore("uploads");
    const all: Array<Record<string, unknown>> = await new Promise((res) => {
      const r = store.getAll();
      r.onsuccess = () => res(r.result);
    });
    for (const u of all) store.put({ ...u, core: "xet-core-rs 0.0.1" });
    await new Promise((res) => (tx.oncomplete = res));
    db.close();
  }, dbName);
  warnings.length = 0;
  const mark = hub.requests.length;
  const r = await uploadInPage("page", bucket, b64, dbName);
  assert.ok(r.ok, JSON.stringify(r.error));
  assert.equal(r.resumed?.candidates, 0, "nothing trusted");
  assert.ok(xorbPosts(hub, mark).count > 0, "the xorbs were sent again (the CAS answers already stored)");
  assert.ok(
    warnings.some((w) => /ignored: written by "xet-core-rs 0\.0\.1"/.test(w)),
    warnings.join("\n"),
  );
});
