/**
 * How many files downloadBucketFiles reads at once: by default 4, or up to 16 while they are small
 * (≤ 4 MiB: mostly round trips and file-system calls); an explicit maxFileDownloads is honoured exactly.
 * Measured at a proxy that holds every reconstruction query for 400 ms: the queries that arrive before the
 * first one is answered are the files in flight.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { downloadBucketFiles } from "../../src/api/download.js";
import { seed, startTestHub, type TestHub } from "../helpers/hub.js";
import { startFaultProxy, type FaultProxy } from "../helpers/faults.js";
import { seededBytes } from "../helpers/data.mjs";
import { assertFileEquals, tempDir } from "../helpers/files.js";

const MiB = 1024 * 1024;
const B = "alice/concurrency";
const HOLD_MS = 400;

let hub: TestHub;
let proxy: FaultProxy;
let tmp: { dir: string; cleanup: () => Promise<void> };
const smalls: Record<string, Uint8Array> = {};
for (let i = 0; i < 20; i++) smalls[`small/${String(i).padStart(2, "0")}.bin`] = seededBytes(100_000 + i, 60 + i);
const larges: Record<string, Uint8Array> = {};
for (let i = 0; i < 6; i++) larges[`large/${i}.bin`] = seededBytes(4 * MiB + 1000 + i, 90 + i);

before(async () => {
  hub = await startTestHub();
  await seed({ hubUrl: hub.url, accessToken: hub.users.alice.token }, B, { ...smalls, ...larges });
  proxy = await startFaultProxy(hub.url);
  tmp = await tempDir();
});
after(async () => {
  await proxy.close();
  await hub.close();
  await tmp.cleanup();
});

/** Downloads `files` through the proxy; returns how many reconstruction queries arrived in the first hold. */
async function inFlightAtStart(files: Record<string, Uint8Array>, dest: string, extra: Record<string, unknown> = {}): Promise<number> {
  proxy.clear();
  const arrivals: number[] = [];
  proxy.add({
    action: "delay",
    delayMs: HOLD_MS,
    path: (p) => {
      if (p.includes("reconstructions")) {
        arrivals.push(Date.now());
        return true;
      }
      return false;
    },
  });
  const r = await downloadBucketFiles(
    B,
    Object.keys(files).map((p) => [p, join(dest, p)] as [string, string]),
    {
      hubUrl: proxy.url,
      accessToken: hub.users.alice.token,
      ...extra,
    },
  );
  assert.equal(r.downloaded.length, Object.keys(files).length);
  for (const [p, bytes] of Object.entries(files)) await assertFileEquals(join(dest, p), bytes);
  const first = Math.min(...arrivals);
  return arrivals.filter((t) => t < first + HOLD_MS - 50).length;
}

describe("files downloaded at once", () => {
  it("small files: up to 16 at once by default", async () => {
    assert.equal(await inFlightAtStart(smalls, join(tmp.dir, "a")), 16);
  });
  it("files over 4 MiB: 4 at once by default", async () => {
    assert.equal(await inFlightAtStart(larges, join(tmp.dir, "b")), 4);
  });
  it("an explicit maxFileDownloads is honoured for small files too", async () => {
    assert.equal(await inFlightAtStart(smalls, join(tmp.dir, "c"), { maxFileDownloads: 2 }), 2);
  });
});
