/**
 * The chunking pool in browsers (Chromium and Firefox, js/test/helpers/browsers.ts): `uploadFiles` with
 * `workers: 2` from a page of the web build starts module Web Workers from a Blob URL (the same worker code
 * as Node's), without SharedArrayBuffer or cross-origin isolation, and every file arrives with the xetHash
 * Node computes.
 */
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { createBucket } from "../../src/api/buckets.js";
import { listFiles } from "../../src/api/files.js";
import { xetHash } from "../../src/hash.js";
import { startStaticServer, type StaticServer } from "../../../examples/browser/serve.mjs";
import { startTestHub, type TestHub } from "../helpers/hub.js";
import { BROWSERS, launchBrowser, type TestBrowser } from "../helpers/browsers.js";
import { ROOT } from "../helpers/files.js";

// Each browser with its own hub: what one uploaded is not already stored for the other.
for (const name of BROWSERS) {
  describe(name, () => {
    let hub: TestHub;
    let site: StaticServer;
    let browser: TestBrowser;
    before(async () => {
      if (!existsSync(join(ROOT, "dist", "web", "index.js"))) throw new Error("dist/web is not built: run `npm run build`");
      hub = await startTestHub();
      site = await startStaticServer({ allow: ["/examples/browser/", "/dist/", "/js/test/helpers/data.mjs"] });
      browser = await launchBrowser(name);
    });
    after(async () => {
      await browser?.close();
      await site?.close();
      await hub?.close();
    });
    test(`browser (${name}): uploadFiles with workers: 2 chunks on module Web Workers; every file arrives intact`, () =>
      poolUpload(browser, hub, site));
  });
}

async function poolUpload(browser: TestBrowser, hub: TestHub, site: StaticServer): Promise<void> {
  const bucket = "alice/browser-pool";
  const opts = { hubUrl: hub.url, accessToken: hub.users.alice.token };
  await createBucket(bucket, { ...opts, existOk: true });
  const MiB = 2 ** 20;
  const sizes = { "big.bin": 9 * MiB + 17, "copy.bin": 9 * MiB + 17, "small.bin": 200_000, "tiny.txt": 5 };
  const page = await browser.newPage();
  await page.goto(`${site.url}/examples/browser/style.css`); // any page of the origin
  // A string, not a function: tsx's transform would add helpers (__name) that the page does not have.
  const result = await page.evaluate<{ workers: number; isolated: boolean; files: number; local: number }>(`(async () => {
    let workers = 0;
    const NativeWorker = Worker;
    globalThis.Worker = class extends NativeWorker {
      constructor(url, options) {
        workers++;
        super(url, options);
      }
    };
    const { uploadFiles } = await import("/dist/web/index.js");
    const { seededBytes } = await import("/js/test/helpers/data.mjs");
    const files = [
      { path: "big.bin", content: seededBytes(${sizes["big.bin"]}, 7) },
      { path: "copy.bin", content: seededBytes(${sizes["copy.bin"]}, 7) },
      { path: "small.bin", content: seededBytes(${sizes["small.bin"]}, 8) },
      { path: "tiny.txt", content: new TextEncoder().encode("tiny\\n") },
    ];
    const report = await uploadFiles({
      repo: ${JSON.stringify(`buckets/${bucket}`)},
      hubUrl: ${JSON.stringify(hub.url)},
      accessToken: ${JSON.stringify(hub.users.alice.token)},
      files,
      workers: 2,
      segmentBytes: 1024 * 1024,
    });
    return { workers, isolated: self.crossOriginIsolated, files: report.files, local: report.dedupLocalBytes };
  })()`);
  await page.close();
  assert.equal(result.workers, 2, "two chunking workers started");
  assert.equal(result.isolated, false, "no COOP/COEP: no SharedArrayBuffer");
  assert.equal(result.files, 4);
  assert.ok(result.local >= sizes["copy.bin"] - 200_000, `the copy deduplicated locally (${result.local} bytes)`);
  const { seededBytes: seeded } = await import("../helpers/data.mjs");
  const want = new Map([
    ["big.bin", await xetHash(seeded(sizes["big.bin"], 7))],
    ["copy.bin", await xetHash(seeded(sizes["copy.bin"], 7))],
    ["small.bin", await xetHash(seeded(sizes["small.bin"], 8))],
    ["tiny.txt", await xetHash(new TextEncoder().encode("tiny\n"))],
  ]);
  const got = new Map<string, string | undefined>();
  for await (const e of listFiles({ repo: `buckets/${bucket}`, ...opts })) got.set(e.path, e.xetHash);
  assert.deepEqual(got, want);
}
