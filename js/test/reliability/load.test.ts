/**
 * The local hub under load, in its own process: many clients upload small and medium files at once
 * (one upload call per client, concurrently); every upload completes and every file verifies, and the
 * hub's peak RSS (VmHWM, sampled from /proc) stays under a stated bound.
 *
 * The bound: the hub holds at most `maxBodyBytesInFlight` of request bodies at once (default 2 × the xorb
 * limit = 130 MiB; further uploads wait for their turn), plus one body's copy in WebAssembly while it is
 * checked, plus its baseline (Node, SQLite, the core, and here the tsx loader):
 *
 *   peak ≈ baseline (≈ 100 MiB with tsx) + maxBodyBytesInFlight (130 MiB) + 2 × one xorb in the core (≈ 130 MiB) ≤ 400 MiB
 *
 * whatever the number of clients (it grew with the clients before the budget: ~1 GiB for 24 clients
 * sending 24 MiB xorbs).
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { uploadFiles } from "../../src/api/upload.js";
import { ALICE, startHubChild } from "../helpers/hub.js";
import { seededBytes } from "../helpers/data.mjs";
import { saveSuiteReport } from "../helpers/reports.js";

const MiB = 1024 * 1024;
const CLIENTS = Number(process.env.XET_RELIABILITY_LOAD_CLIENTS ?? 24);
const MEDIUM = Number(process.env.XET_RELIABILITY_LOAD_MEDIUM_MIB ?? 24) * MiB;
const BOUND = 400 * MiB;

function status(pid: number, field: "VmRSS" | "VmHWM"): number {
  const m = new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return m ? Number(m[1]) * 1024 : 0;
}

test(
  `hub under load: ${CLIENTS} concurrent clients (small and ${MEDIUM / MiB} MiB files) all verify; hub peak RSS ≤ ${BOUND / MiB} MiB`,
  { skip: process.platform !== "linux" && "reads /proc" },
  async (t) => {
    const dir = mkdtempSync(join(tmpdir(), "xet-load-"));
    const hub = await startHubChild(dir);
    t.after(async () => {
      await hub.stop();
      rmSync(dir, { recursive: true, force: true });
    });
    const auth = { Authorization: `Bearer ${ALICE.token}` };
    await new Promise((r) => setTimeout(r, 300));
    const idle = status(hub.pid, "VmRSS");
    let peakSampled = 0;
    const sampler = setInterval(() => {
      try {
        peakSampled = Math.max(peakSampled, status(hub.pid, "VmRSS"));
      } catch {
        // exited
      }
    }, 20);
    const jobs = Array.from({ length: CLIENTS }, (_, i) => {
      const medium = i % 3 === 0;
      const files = medium
        ? [{ path: `m${i}.bin`, content: seededBytes(MEDIUM, 9000 + i) }]
        : Array.from({ length: 4 }, (_, k) => ({
            path: `s${i}/f${k}.bin`,
            content: seededBytes(100_000 + k * 300_000, 9100 + i * 10 + k),
          }));
      return { i, files };
    });
    const t0 = Date.now();
    for (let i = 0; i < CLIENTS; i++) {
      const res = await fetch(`${hub.url}/api/buckets/alice/load${i}`, {
        method: "POST",
        headers: { ...auth, "Content-Type": "application/json" },
        body: "{}",
      });
      assert.equal(res.status, 200);
    }
    const results = await Promise.allSettled(
      jobs.map((j) => uploadFiles({ repo: `buckets/alice/load${j.i}`, hubUrl: hub.url, accessToken: ALICE.token, files: j.files })),
    );
    const seconds = (Date.now() - t0) / 1000;
    clearInterval(sampler);
    const peak = status(hub.pid, "VmHWM");
    const failed = results.filter((r) => r.status === "rejected").map((r) => String((r as PromiseRejectedResult).reason));
    assert.deepEqual(failed, []);
    let verified = 0;
    let bytes = 0;
    for (const j of jobs) {
      for (const f of j.files) {
        const res = await fetch(`${hub.url}/buckets/alice/load${j.i}/resolve/${f.path}`, { headers: auth });
        const got = new Uint8Array(await res.arrayBuffer());
        assert.equal(createHash("sha256").update(got).digest("hex"), createHash("sha256").update(f.content).digest("hex"), f.path);
        verified++;
        bytes += f.content.length;
      }
    }
    const summary = {
      clients: CLIENTS,
      files: verified,
      bytes,
      seconds,
      hubIdleRssMiB: Math.round(idle / MiB),
      hubPeakRssMiB: Math.round(peak / MiB),
      sampledPeakMiB: Math.round(peakSampled / MiB),
      boundMiB: BOUND / MiB,
    };
    t.diagnostic(JSON.stringify(summary));
    saveSuiteReport({ suite: "load", ...summary });
    assert.ok(peak <= BOUND, `hub peak RSS ${Math.round(peak / MiB)} MiB > ${BOUND / MiB} MiB`);
  },
);
