/**
 * The dedup cache in browsers (Chromium via playwright-core, the browser tests' setup; the built web bundle):
 * IndexedDB, the web platform's default store. Against a hub that answers no dedup query, a File uploaded
 * again from the page sends no xorb (`indexedDbDedupCache`), and so does one from the upload worker (the
 * default store); `cache: false` reads nothing. The files download byte-identical.
 */
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { after, before, test } from "node:test";
import { chromium, type Browser, type Page } from "playwright-core";
import { startStaticServer, type StaticServer } from "../../../examples/browser/serve.mjs";
import { seededBytes } from "../helpers/data.mjs";
import { ROOT } from "../helpers/files.js";
import { ALICE, newBucket, resolveBytes, startTestHub, type TestHub } from "../helpers/hub.js";
import { CHROMIUM, CHROMIUM_ARGS } from "../helpers/browsers.js";

const skip = !existsSync(CHROMIUM)
  ? `${CHROMIUM} is missing (node scripts/setup.mjs --browser)`
  : !existsSync(`${ROOT}/dist/web/index.js`)
    ? "dist/web is not built"
    : false;

let hub: TestHub;
let site: StaticServer;
let browser: Browser;
let page: Page;

before(async () => {
  if (skip) return;
  hub = await startTestHub({ dedupAnswer: "none" });
  site = await startStaticServer({ allow: ["/examples/browser/", "/dist/"] });
  browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true });
  page = await browser.newPage();
  await page.goto(`${site.url}/examples/browser/`);
});
after(async () => {
  await browser?.close();
  await site?.close();
  await hub?.close();
});

interface Outcome {
  ok: boolean;
  error?: string;
  bytesSent?: number;
  cacheHits?: number;
  written?: number;
}

/** One upload of the bytes as a File, from the page or the upload worker; `cache`: "idb" (a named database), "default" or "off". */
function upload(via: "page" | "worker", bucket: string, path: string, b64: string, cache: "idb" | "default" | "off"): Promise<Outcome> {
  return page.evaluate(
    async ({ via, bucket, path, b64, hubUrl, token, cache }) => {
      const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
      const files = [{ path, content: new File([bytes], "model.bin") }];
      try {
        let r;
        if (via === "page") {
          const m = await import("/dist/web/index.js" as string);
          const c = cache === "idb" ? m.indexedDbDedupCache({ dbName: "xet-dedup-cache-test" }) : cache === "off" ? false : undefined;
          r = await m.uploadFiles({ repo: `buckets/${bucket}`, hubUrl, accessToken: token, files, cache: c });
        } else {
          const { UploadWorker } = await import("/dist/web/browser.js" as string);
          const w = new UploadWorker();
          try {
            r = await w.upload({
              repo: `buckets/${bucket}`,
              hubUrl,
              accessToken: token,
              files,
              ...(cache === "off" ? { cache: false } : {}),
            });
          } finally {
            w.terminate?.();
          }
        }
        return { ok: true, bytesSent: r.bytesSent, cacheHits: r.dedupCacheHits, written: r.dedupCacheEntriesWritten };
      } catch (e) {
        return { ok: false, error: `${(e as Error).name}: ${(e as Error).message}` };
      }
    },
    { via, bucket, path, b64, hubUrl: hub.url, token: ALICE.token, cache },
  );
}

for (const via of ["page", "worker"] as const) {
  test(`IndexedDB dedup cache in Chromium (${via}): a File uploaded again sends no xorb`, { skip }, async () => {
    const bucket = await newBucket(hub, `browser-cache-${via}`);
    const data = seededBytes(3 * 1024 * 1024, via === "page" ? 61 : 62);
    const b64 = Buffer.from(data).toString("base64");
    const cache = via === "page" ? "idb" : "default";
    const first = await upload(via, bucket, "a.bin", b64, cache);
    assert.ok(first.ok, first.error);
    assert.ok(first.bytesSent! >= data.length);
    assert.equal(first.written, 1);
    const again = await upload(via, bucket, "b.bin", b64, cache);
    assert.ok(again.ok, again.error);
    assert.equal(again.bytesSent, 0, "found in IndexedDB: nothing sent");
    assert.ok(again.cacheHits! >= 1);
    const off = await upload(via, bucket, "c.bin", b64, "off");
    assert.ok(off.ok, off.error);
    assert.ok(off.bytesSent! >= data.length, "cache: false reads nothing");
    assert.equal(off.cacheHits, 0);
    for (const p of ["a.bin", "b.bin", "c.bin"]) {
      assert.ok(Buffer.from(await resolveBytes(hub.url, bucket, p)).equals(Buffer.from(data)), p);
    }
  });
}
