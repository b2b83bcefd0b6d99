/**
 * The tab's memory while the upload page (examples/browser/) uploads a File picked from disk, in Chromium:
 * the RSS of its renderer processes (from /proc, sampled every 50 ms) above the idle page stays under the
 * bound of xet-buckets/browser's module doc, and does not grow with the file: a 384 MiB file takes no more
 * than a 48 MiB one plus noise. (Before xorb bodies became Blob pieces and the workers read Blob ranges into
 * reused buffers, the 384 MiB upload held ≈ 300 MiB more than the small one.)
 */
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { listFiles } from "../../src/api/files.js";
import { startStaticServer, type StaticServer } from "../../../examples/browser/serve.mjs";
import { launchTaggedChromium } from "../helpers/browser-processes.js";
import { seededStream } from "../helpers/data.mjs";
import { ROOT } from "../helpers/files.js";
import { startTestHub, type TestHub } from "../helpers/hub.js";
import { CHROMIUM } from "../helpers/browsers.js";

const MiB = 2 ** 20;
let hub: TestHub;
let site: StaticServer;
let work: string;

before(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: run \`node scripts/setup.mjs --browser\` (Debian's chromium)`);
  if (!existsSync(join(ROOT, "dist", "web", "browser.js"))) throw new Error("dist/web is not built: run `npm run build`");
  hub = await startTestHub();
  site = await startStaticServer();
  work = await mkdtemp(join(tmpdir(), "xet-browser-memory-"));
});

after(async () => {
  await site?.close();
  await hub?.close();
  if (work) await rm(work, { recursive: true, force: true });
});

/** Random bytes (nothing compresses or deduplicates) written to `name`, in 16 MiB blocks. */
async function randomFile(name: string, mib: number, seed: string): Promise<string> {
  const path = join(work, name);
  const ks = seededStream(seed);
  const blocks: Uint8Array[] = [];
  for (let n = 0; n < mib; n += 16) blocks.push(ks(Math.min(16, mib - n) * MiB));
  await writeFile(path, blocks);
  return path;
}

/** Uploads `file` from the page in a fresh browser; the tab's peak RSS above the idle page, in bytes. */
async function peakAboveIdle(file: string, prefix: string): Promise<number> {
  const chromium = await launchTaggedChromium();
  try {
    const page = await chromium.browser.newPage();
    const q = new URLSearchParams({ hub: hub.url, token: hub.users.alice.token, bucket: "alice/browser-memory", prefix });
    await page.goto(`${site.url}/examples/browser/?${q}`);
    await page.setInputFiles("#pick-files", file);
    await page.waitForFunction(() => document.querySelector("#selection")!.textContent!.startsWith("1 file"));
    await new Promise((r) => setTimeout(r, 300));
    const idle = chromium.tabRss();
    let peak = idle;
    const timer = setInterval(() => (peak = Math.max(peak, chromium.tabRss())), 50);
    try {
      await page.click("#upload");
      await page.waitForFunction(
        () => ["done", "error"].includes(document.querySelector("#status")!.getAttribute("data-state")!),
        undefined,
        {
          timeout: 300_000,
        },
      );
    } finally {
      clearInterval(timer);
    }
    assert.equal(await page.getAttribute("#status", "data-state"), "done", (await page.textContent("#status")) ?? "");
    return Math.max(peak, chromium.tabRss()) - idle;
  } finally {
    await chromium.browser.close();
  }
}

test("upload page: the tab's memory stays bounded and does not grow with the file's size", async () => {
  const small = await randomFile("small.bin", 48, "memory small");
  const big = await randomFile("big.bin", 384, "memory big");
  const smallPeak = await peakAboveIdle(small, "small");
  const bigPeak = await peakAboveIdle(big, "big");
  process.stderr.write(
    `# tab above the idle page: ${(smallPeak / MiB).toFixed(0)} MiB (48 MiB file), ${(bigPeak / MiB).toFixed(0)} MiB (384 MiB file)\n`,
  );
  // Both arrived.
  const sizes = new Map<string, number>();
  for await (const e of listFiles({
    repo: "buckets/alice/browser-memory",
    recursive: true,
    hubUrl: hub.url,
    accessToken: hub.users.alice.token,
  }))
    sizes.set(e.path, e.size);
  assert.deepEqual(
    sizes,
    new Map([
      ["big/big.bin", 384 * MiB],
      ["small/small.bin", 48 * MiB],
    ]),
  );
  // The bound of the module doc (256 MiB above the idle page), and no growth with size beyond noise.
  assert.ok(bigPeak <= 256 * MiB, `the tab held ${(bigPeak / MiB).toFixed(0)} MiB above the idle page for a 384 MiB file`);
  assert.ok(
    bigPeak <= smallPeak + 64 * MiB,
    `the tab held ${(bigPeak / MiB).toFixed(0)} MiB for a 384 MiB file, ${(smallPeak / MiB).toFixed(0)} MiB for a 48 MiB one`,
  );
});
