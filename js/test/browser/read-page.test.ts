/**
 * The read-in-place page (examples/browser/read.html) in Chromium and Firefox (js/test/helpers/browsers.ts):
 * columns of a Parquet file and a CSV read from a bucket in the page's world, with the web build and hyparquet,
 * through a proxy that counts what the hub sends. The page reports the same values Node computes from the written
 * tables, and counts the bytes the proxy saw. The ≤ 10 % claim on a ≥ 64 MiB file is js/test/download/read-in-place.test.ts's;
 * this file is smaller, so the browser runs stay short.
 */
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { createBucket } from "../../src/api/buckets.js";
import { uploadFiles } from "../../src/api/upload.js";
import { startStaticServer, type StaticServer } from "../../../examples/browser/serve.mjs";
import { sampleCsv, sampleParquet } from "../../../examples/in-place/sample-data.mjs";
import { BROWSERS, launchBrowser, type TestBrowser } from "../helpers/browsers.js";
import { countAnswerBytes, startFaultProxy, type FaultProxy } from "../helpers/faults.js";
import { ROOT } from "../helpers/files.js";
import { startTestHub, type TestHub } from "../helpers/hub.js";

const ROWS = 60_000;
let hub: TestHub;
let proxy: FaultProxy;
let site: StaticServer;
let served: { readonly bytes: number };
let parquet: { bytes: Uint8Array; id: Int32Array; score: Float64Array };
let csv: { bytes: Uint8Array; rows: string[][] };

before(async () => {
  if (!existsSync(join(ROOT, "dist", "web", "index.js"))) throw new Error("dist/web is not built: run `npm run build`");
  hub = await startTestHub();
  proxy = await startFaultProxy(hub.url);
  served = countAnswerBytes(proxy);
  site = await startStaticServer();
  const opts = { hubUrl: hub.url, accessToken: hub.users.alice.token };
  await createBucket("alice/tables", { ...opts, existOk: true });
  // Four row groups of ≈ 5 MiB: hyparquet reads a whole row group below 2 MiB, which would not show column reads.
  parquet = sampleParquet({ rows: ROWS, rowGroupRows: 15_000 });
  csv = sampleCsv({ rows: 20_000 });
  await uploadFiles({
    repo: "buckets/alice/tables",
    files: [
      { path: "tables/docs.parquet", content: parquet.bytes },
      { path: "tables/readings.csv", content: csv.bytes },
    ],
    ...opts,
  });
});

after(async () => {
  await site?.close();
  await proxy?.close();
  await hub?.close();
});

interface ReadState {
  state: string;
  error?: { message: string };
  parquet: { size: number; rowGroups: number; rows: number; columns: string[]; sums: Record<string, number>; fetchedBytes: number };
  csv: { size: number; rows: number; header: string[]; preview: string[][]; fetchedBytes: number };
}

for (const name of BROWSERS) {
  describe(name, () => {
    let browser: TestBrowser;
    before(async () => (browser = await launchBrowser(name)));
    after(() => browser?.close());

    test(`read page (${name}): two Parquet columns and a streamed CSV, read in place; the page counts what the hub sent`, async () => {
      const page = await browser.newPage({ width: 1100, height: 1100 });
      const q = new URLSearchParams({
        hub: proxy.url,
        token: hub.users.alice.token,
        bucket: "alice/tables",
        columns: "id,score",
        autorun: "1",
      });
      const before = served.bytes;
      await page.goto(`${site.url}/examples/browser/read.html?${q}`);
      await page.waitFor(`["done", "error"].includes(window.__xetRead.state)`, 60_000);
      const state = await page.evaluate<ReadState>("window.__xetRead");
      assert.equal(state.state, "done", JSON.stringify(state.error));
      await page.screenshot(join(ROOT, "test-artifacts", "browser", `read-page-${name}.png`));

      let idSum = 0;
      let scoreSum = 0;
      for (let i = 0; i < ROWS; i++) {
        idSum += parquet.id[i]!;
        scoreSum += parquet.score[i]!;
      }
      const p = state.parquet;
      assert.deepEqual(
        { rows: p.rows, columns: p.columns, sums: p.sums, size: p.size, rowGroups: p.rowGroups },
        { rows: ROWS, columns: ["id", "score"], sums: { id: idSum, score: scoreSum }, size: parquet.bytes.length, rowGroups: 4 },
      );
      assert.ok(p.fetchedBytes <= 0.1 * p.size, `fetched ${p.fetchedBytes} of ${p.size}`);

      const c = state.csv;
      assert.equal(c.size, csv.bytes.length);
      assert.equal(c.rows, csv.rows.length - 1);
      assert.deepEqual(c.header, csv.rows[0]);
      assert.deepEqual(c.preview, csv.rows.slice(1, 11));
      assert.equal(p.fetchedBytes + c.fetchedBytes, served.bytes - before, "the page's counts are what the hub sent");
      assert.deepEqual(
        page.messages.filter((m) => m.type === "error" || m.type === "pageerror"),
        [],
      );
      process.stderr.write(
        `# ${name}: read 2 of 5 columns of a ${(p.size / 2 ** 20).toFixed(1)} MiB Parquet file, fetched ${p.fetchedBytes} bytes (${((100 * p.fetchedBytes) / p.size).toFixed(1)} %)\n`,
      );
      await page.close();
    });
  });
}
