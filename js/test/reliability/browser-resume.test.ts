/**
 * Resume in browsers (Chromium and Firefox, js/test/helpers/browsers.ts), with the IndexedDB store
 * (browser/resume.ts) and the built web bundle (dist/web): an upload that failed at its shard, started
 * again in the page, sends no xorb again and registers the file; the state is then gone from IndexedDB.
 * The same through the upload worker (`resume: true`). A state stamped by another core is ignored with a
 * warning. The hub is on another origin behind a fault proxy; each browser has its own.
 */
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { after, before, describe, test } from "node:test";
import { startStaticServer, type StaticServer } from "../../../examples/browser/serve.mjs";
import { startFaultProxy, type FaultProxy } from "../helpers/faults.js";
import { BROWSERS, launchBrowser, type TestBrowser, type TestPage } from "../helpers/browsers.js";
import { seededBytes } from "../helpers/data.mjs";
import { ROOT } from "../helpers/files.js";
import { ALICE, newBucket, resolveBytes, startTestHub, type TestHub } from "../helpers/hub.js";
import { xorbPosts } from "../helpers/hub-state.js";

interface PageOutcome {
  ok: boolean;
  error?: { name: string; code?: string; message: string };
  resumed?: { candidates: number; xorbsSkipped: number; bytesSkipped: number; notStored: number };
}

/** Runs one upload in the page (main thread or worker) with the IndexedDB resume store. */
function uploadInPage(
  page: TestPage,
  hubUrl: string,
  via: "page" | "worker",
  bucket: string,
  b64: string,
  dbName: string,
): Promise<PageOutcome> {
  return page.evaluate<PageOutcome, { via: string; bucket: string; b64: string; hubUrl: string; token: string; dbName: string }>(
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
    { via, bucket, b64, hubUrl, token: ALICE.token, dbName },
  );
}

/** Records in the page's IndexedDB database: uploads and xorb marks (a string: tsx would wrap named functions). */
function idbCounts(page: TestPage, dbName: string): Promise<{ uploads: number; xorbs: number }> {
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

for (const name of BROWSERS) {
  describe(name, () => {
    let hub: TestHub;
    let proxy: FaultProxy;
    let site: StaticServer;
    let browser: TestBrowser;
    let page: TestPage;

    before(async () => {
      if (!existsSync(`${ROOT}/dist/web/index.js`)) throw new Error("dist/web is not built: run `npm run build`");
      hub = await startTestHub();
      proxy = await startFaultProxy(hub.url);
      site = await startStaticServer({ allow: ["/examples/browser/", "/dist/"] });
      browser = await launchBrowser(name);
      page = await browser.newPage();
      await page.goto(`${site.url}/examples/browser/`);
    });
    after(async () => {
      await browser?.close();
      await site?.close();
      await proxy?.close();
      await hub?.close();
    });

    for (const via of ["page", "worker"] as const) {
      test(`IndexedDB resume in ${name} (${via}): a failed upload started again sends no stored xorb`, async () => {
        const bucket = await newBucket(hub, `browser-resume-${via}`);
        const data = seededBytes(2 * 1024 * 1024, via === "page" ? 41 : 42);
        const b64 = Buffer.from(data).toString("base64");
        const dbName = `xet-resume-test-${via}`;
        const rule = proxy.add({ method: "POST", path: "/shards", action: "status", status: 400 });
        const mark1 = hub.requests.length;
        const first = await uploadInPage(page, proxy.url, via, bucket, b64, dbName);
        rule.disable();
        assert.equal(first.ok, false);
        assert.equal(first.error?.code, "HTTP_ERROR", JSON.stringify(first.error));
        const stored = xorbPosts(hub, mark1).ok;
        assert.ok(stored >= 4, `xorbs stored by the failed run: ${stored}`);
        const during = await idbCounts(page, dbName);
        assert.equal(during.uploads, 1);
        assert.ok(during.xorbs >= stored, `marks in IndexedDB: ${during.xorbs}`);

        const mark2 = hub.requests.length;
        const second = await uploadInPage(page, proxy.url, via, bucket, b64, dbName);
        assert.ok(second.ok, JSON.stringify(second.error));
        assert.equal(xorbPosts(hub, mark2).count, 0, "no xorb sent again");
        assert.equal(second.resumed?.xorbsSkipped, stored);
        assert.ok(Buffer.from(await resolveBytes(hub.url, bucket, "ckpt/model.bin")).equals(Buffer.from(data)));
        assert.deepEqual(await idbCounts(page, dbName), { uploads: 0, xorbs: 0 }, "the state is deleted once registered");
      });
    }

    test(`IndexedDB resume in ${name}: a state stamped by another core is ignored with a warning`, async () => {
      const bucket = await newBucket(hub, "browser-resume-stamp");
      const data = seededBytes(1024 * 1024, 43);
      const b64 = Buffer.from(data).toString("base64");
      const dbName = "xet-resume-test-stamp";
      const rule = proxy.add({ method: "POST", path: "/shards", action: "status", status: 400 });
      await uploadInPage(page, proxy.url, "page", bucket, b64, dbName);
      rule.disable();
      // Another core version wrote the state.
      await page.evaluate(async (dbName: string) => {
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
      const seen = page.messages.length;
      const mark = hub.requests.length;
      const r = await uploadInPage(page, proxy.url, "page", bucket, b64, dbName);
      assert.ok(r.ok, JSON.stringify(r.error));
      assert.equal(r.resumed?.candidates, 0, "nothing trusted");
      assert.ok(xorbPosts(hub, mark).count > 0, "the xorbs were sent again (the CAS answers already stored)");
      const warnings = page.messages.slice(seen).filter((m) => m.type === "warning");
      assert.ok(
        warnings.some((w) => /ignored: written by "xet-core-rs 0\.0\.1"/.test(w.text)),
        warnings.map((w) => w.text).join("\n"),
      );
    });
  });
}
