/**
 * The seeded fault campaign (campaign.ts) against a real local hub: every run of upload, download, sync-up
 * and sync-down under random faults ends complete and verified, or with a typed error and nothing partial
 * registered or written; 0 bytes lost, no hang, no temporary file left.
 *
 * Then the fault-rate campaign: a fault on 20 % of all requests, and every run completes in one run (0 reruns,
 * 0 bytes lost).
 *
 *   XET_RELIABILITY_RUNS=400 XET_RELIABILITY_SEED=7 npm test -- --js reliability/campaign   (a bigger campaign)
 *   XET_RELIABILITY_RATE_RUNS=400 npm test -- --js reliability/campaign                      (more fault-rate runs)
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { startTestHub } from "../helpers/hub.js";
import { runCampaign, runRateCampaign } from "./campaign.js";
import { saveSuiteReport } from "../helpers/reports.js";

const RUNS = Number(process.env.XET_RELIABILITY_RUNS ?? 200);
const SEED = Number(process.env.XET_RELIABILITY_SEED ?? 20261127);

test(`fault campaign: ${RUNS} runs (seed ${SEED}) end verified or with a typed error, 0 bytes lost`, async (t) => {
  const hub = await startTestHub();
  const dir = mkdtempSync(join(tmpdir(), "xet-campaign-"));
  t.after(async () => {
    await hub.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const report = await runCampaign({
    hub,
    workDir: dir,
    runs: RUNS,
    seed: SEED,
    log: process.env.XET_RELIABILITY_LOG ? (l) => t.diagnostic(l) : undefined,
  });
  saveSuiteReport({ suite: "campaign", ...report });
  t.diagnostic(
    JSON.stringify({ outcomes: report.outcomes, faults: report.faultsInjected, errors: report.errorCodes, seconds: report.seconds }),
  );
  assert.deepEqual(report.failures, []);
  assert.equal(report.bytesLost, 0);
  assert.equal(report.tempFilesLeft, 0);
  assert.equal(report.outcomes.verified + report.outcomes["typed-error"] + report.outcomes["committed-despite-error"], RUNS);
  const injected = Object.values(report.faultsInjected).reduce((a, b) => a + (b ?? 0), 0);
  assert.ok(injected >= RUNS / 2, `faults were injected (${injected})`);
  assert.ok(report.outcomes.verified > 0);
});

const RATE_RUNS = Number(process.env.XET_RELIABILITY_RATE_RUNS ?? 40);

test(`faults on 20 % of all requests: ${RATE_RUNS} runs (seed ${SEED}) each complete in one run, 0 bytes lost`, async (t) => {
  const clock = { skewMs: 0 };
  const hub = await startTestHub({ now: () => Date.now() + clock.skewMs });
  const dir = mkdtempSync(join(tmpdir(), "xet-rate-campaign-"));
  t.after(async () => {
    await hub.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const report = await runRateCampaign({
    hub,
    clock,
    tokenTtlSeconds: 3600,
    workDir: dir,
    runs: RATE_RUNS,
    seed: SEED,
    log: process.env.XET_RELIABILITY_LOG ? (l) => t.diagnostic(l) : undefined,
  });
  saveSuiteReport({ suite: "rate-campaign", ...report });
  t.diagnostic(JSON.stringify({ faults: report.faults, absorbed: report.absorbed, requests: report.requests, seconds: report.seconds }));
  assert.deepEqual(report.failures, []);
  assert.equal(report.rerunsNeeded, 0);
  assert.equal(report.bytesLost, 0);
  assert.equal(report.tempFilesLeft, 0);
  for (const [k, v] of Object.entries(report.byKind)) assert.equal(v.completed, v.runs, `${k}: every run completed`);
  const injected = Object.values(report.faults).reduce((a, f) => a + f.injected, 0);
  assert.ok(injected >= report.requests * 0.15, `about a fifth of the requests got a fault (${injected} of ${report.requests})`);
  for (const [f, v] of Object.entries(report.faults)) assert.ok(v.injected > 0, `some ${f} faults were injected`);
});
