#!/usr/bin/env node
// npm run reliability: the reliability suite of issue 8, and RELIABILITY.md from its results.
//
//   1. bounded fuzzing of the core's decoders (scripts/fuzz.mjs, cargo-fuzz on nightly);
//   2. the TypeScript reliability tests (js/test/reliability/*.test.ts): resume after SIGKILL, the seeded
//      fault campaigns (random rules; faults on a fifth of all requests), hostile peers against the client,
//      hostile inputs against the hub, two concurrent writers with readers, the hub under load;
//   3. RELIABILITY.md, written from the numbers those steps saved in test-artifacts/reliability/.
//
//   npm run reliability                                          what CI runs (npm test runs it too)
//   npm run reliability -- --runs 2000 --fuzz-seconds 600        a bigger campaign
//   npm run reliability -- --no-build --no-fuzz                  skip the build / the fuzzing
//
// Options: --runs N (campaign runs, default 200), --rate-runs N (runs of the 20 % fault-rate campaign, default
// 40), --seed S, --fuzz-seconds S (per target, default 30), --load-clients N (default 24), --no-build, --no-fuzz,
// --no-write (do not touch RELIABILITY.md).
// Exit 1 when a test failed or the fuzzer crashed (RELIABILITY.md is written anyway, saying so).
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { ROOT, setup } from "./setup.mjs";
import { buildTs, buildWasm } from "./build.mjs";
import { runFuzz } from "./fuzz.mjs";

const REPORT_DIR = join(ROOT, "test-artifacts", "reliability");

function log(msg) {
  process.stderr.write(`[reliability] ${msg}\n`);
}

function parseArgs(argv) {
  const o = { runs: 200, rateRuns: 40, seed: 20261127, fuzzSeconds: 30, loadClients: 24, build: true, fuzz: true, write: true };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const num = () => {
      const v = Number(argv[++i]);
      if (!Number.isFinite(v) || v <= 0) throw new Error(`${a} needs a positive number`);
      return v;
    };
    if (a === "--runs") o.runs = num();
    else if (a === "--rate-runs") o.rateRuns = num();
    else if (a === "--seed") o.seed = num();
    else if (a === "--fuzz-seconds") o.fuzzSeconds = num();
    else if (a === "--load-clients") o.loadClients = num();
    else if (a === "--no-build") o.build = false;
    else if (a === "--no-fuzz") o.fuzz = false;
    else if (a === "--no-write") o.write = false;
    else throw new Error(`unknown option ${a}`);
  }
  return o;
}

function load(name) {
  const p = join(REPORT_DIR, `${name}.json`);
  return existsSync(p) ? JSON.parse(readFileSync(p, "utf8")) : undefined;
}

const n = (x) => (typeof x === "number" ? x.toLocaleString("en-US") : "–");
/** A Markdown table; the first `textColumns` columns are left-aligned, the others right-aligned (numbers). */
const table = (head, rows, textColumns = 1) =>
  [
    `| ${head.join(" | ")} |`,
    `|${head.map((_, i) => (i < textColumns ? "---" : "---:")).join("|")}|`,
    ...rows.map((r) => `| ${r.join(" | ")} |`),
  ].join("\n");

function git(args) {
  const r = spawnSync("git", args, { cwd: ROOT, encoding: "utf8" });
  return r.status === 0 ? r.stdout.trim() : "";
}

export function writeReport({ command, testsPassed, fuzzRan }) {
  const campaign = load("campaign");
  const rate = load("rate-campaign");
  const resume = load("resume");
  const client = load("hostile-peer");
  const hubHostile = load("hub-hostile");
  const conc = load("concurrency");
  const loadR = load("load");
  const fuzz = fuzzRan ? load("fuzz") : undefined;
  const missing = [
    ["fault campaign", campaign],
    ["fault-rate campaign", rate],
    ["resume", resume],
    ["hostile peers", client],
    ["hub hostile inputs", hubHostile],
    ["concurrency", conc],
    ["load", loadR],
    ["fuzzing", fuzz],
  ]
    .filter(([, r]) => !r)
    .map(([k]) => k);
  const L = [];
  L.push("# Reliability");
  L.push("");
  L.push(
    `Written by \`${command}\` (scripts/reliability.mjs) on ${new Date().toISOString().slice(0, 10)} at commit \`${git(["rev-parse", "--short", "HEAD"]) || "?"}\`${git(["status", "--porcelain", "--untracked-files=no"]) ? " (with local changes)" : ""}, ${process.platform} ${process.arch}, Node ${process.version}. Do not edit by hand: run the command again.`,
  );
  L.push("");
  L.push(
    `Tests: **${testsPassed ? "all passed" : "SOME FAILED"}**.${missing.length ? ` Not run: ${missing.join(", ")}.` : ""} Issue 8 asks that every run end complete and verified, or with a clear error and nothing partial registered or written; issue 14 that transient faults (a fifth of all requests failing) never need a rerun. The numbers below are what the suite measured.`,
  );
  L.push("");
  L.push("## Summary");
  L.push("");
  const hostileTried = (client?.tried ?? 0) + (hubHostile?.tried ?? 0);
  const hostileRejected = (client?.rejected ?? 0) + (client?.harmless ?? 0) + (hubHostile?.rejected ?? 0);
  const faults = campaign ? Object.values(campaign.faultsInjected).reduce((a, b) => a + b, 0) : undefined;
  L.push(
    table(
      ["", "value"],
      [
        ["Fault campaign: runs (upload, download, sync up, sync down)", campaign ? `${n(campaign.runs)} (seed ${campaign.seed})` : "–"],
        ["Faults injected", n(faults)],
        ["Runs ending complete and verified", n(campaign?.outcomes.verified)],
        [
          "Runs ending in a typed error, nothing partial registered or written",
          n(campaign ? campaign.outcomes["typed-error"] + campaign.outcomes["committed-despite-error"] : undefined),
        ],
        ["Runs that hung or ended with an untyped error", n(campaign?.failures.length)],
        ["**Bytes lost**", `**${n(campaign?.bytesLost)}**`],
        ["Temporary files left behind", n(campaign?.tempFilesLeft)],
        [
          "Faults on 20 % of all requests: runs (upload, download, sync up, sync down) / completed in one run",
          rate ? `${n(rate.runs)} / ${n(rate.runs - rate.rerunsNeeded)} (${n(rate.requests)} requests, seed ${rate.seed})` : "–",
        ],
        ["**Reruns needed** / bytes lost, at 20 % faults", rate ? `**${n(rate.rerunsNeeded)}** / ${n(rate.bytesLost)}` : "–"],
        [
          "Resume: runs killed (SIGKILL) or failed, then resumed and verified",
          resume ? `${n(resume.resumedRuns)} (${n(resume.kills)} SIGKILL)` : "–",
        ],
        [
          "Resume: xorb bytes re-sent / bytes not accepted before the interruption",
          resume ? `${n(resume.bytesResent)} / ${n(resume.bytesNotAcceptedBeforeKill)}` : "–",
        ],
        ["Hostile inputs tried / ended typed (or harmless and verified)", `${n(hostileTried)} / ${n(hostileRejected)}`],
        [
          "Concurrent writers: reads checked / inconsistencies / hub integrity problems",
          conc ? `${n(conc.reads + conc.pathsInfoChecks)} / ${n(conc.inconsistencies)} / ${n(conc.integrityProblems)}` : "–",
        ],
        [
          "Hub under load: clients, files verified, peak RSS / bound",
          loadR ? `${n(loadR.clients)}, ${n(loadR.files)}, ${n(loadR.hubPeakRssMiB)} MiB / ${n(loadR.boundMiB)} MiB` : "–",
        ],
        [
          "Fuzzing: targets × seconds, executions",
          fuzz ? `${fuzz.targets.length} × ${fuzz.targets[0]?.seconds ?? 0} s, ${n(fuzz.runs)}` : "not run",
        ],
        ["**Fuzzing crashes**", fuzz ? `**${n(fuzz.crashes)}**` : "not run"],
      ],
    ),
  );
  if (campaign) {
    L.push("");
    L.push("## Fault campaign");
    L.push("");
    L.push(
      "Each run starts a fault proxy (js/test/helpers/faults.ts) in front of one real local hub with 1–4 random rules on random endpoints of its kind, then checks the end state through the hub directly: every registered path holds exactly its bytes (listing size and xetHash, resolved bytes), every written file is complete and correct, no temporary file is left. A run whose batch the hub applied before the answer was lost, and which then failed, counts as *committed despite the error* (its files verify). Corrupted request bodies are only injected on xorb and shard uploads, which the CAS verifies by hash. Source: js/test/reliability/campaign.ts.",
    );
    L.push("");
    L.push("Faults injected, by kind:");
    L.push("");
    L.push(
      table(
        ["fault", "injected"],
        Object.entries(campaign.faultsInjected)
          .sort((a, b) => b[1] - a[1])
          .map(([k, v]) => [`\`${k}\``, n(v)]),
      ),
    );
    L.push("");
    L.push("Rules planned, by endpoint:");
    L.push("");
    L.push(
      table(
        ["endpoint", "rules"],
        Object.entries(campaign.rulesByEndpoint)
          .sort((a, b) => b[1] - a[1])
          .map(([k, v]) => [k, n(v)]),
      ),
    );
    L.push("");
    L.push("Outcomes, by kind of run:");
    L.push("");
    L.push(
      table(
        ["run", "runs", "verified", "typed error", "committed despite the error"],
        Object.entries(campaign.byKind).map(([k, v]) => [k, n(v.runs), n(v.verified), n(v.typedErrors), n(v.committedDespiteError)]),
      ),
    );
    L.push("");
    L.push("Typed errors, by code:");
    L.push("");
    L.push(
      table(
        ["code", "runs"],
        Object.entries(campaign.errorCodes)
          .sort((a, b) => b[1] - a[1])
          .map(([k, v]) => [`\`${k}\``, n(v)]),
      ),
    );
    if (campaign.failures.length) {
      L.push("");
      L.push("Failures:");
      L.push("");
      for (const f of campaign.failures.slice(0, 20)) L.push(`- ${f.split("\n")[0]}`);
    }
    L.push("");
    L.push(`${n(campaign.runs)} runs took ${campaign.seconds} s.`);
  }
  if (rate) {
    const total = Object.values(rate.faults).reduce((a, f) => a + f.injected, 0);
    L.push("");
    L.push("## Faults on a fifth of all requests");
    L.push("");
    L.push(
      `Each run (upload, download, sync up, sync down, as above) goes through a fault proxy that gives ${Math.round(rate.faultRate * 100)} % of all requests — Hub and CAS, every endpoint — a fault of a kind drawn among those that apply to the request. Every run must complete in one run, with the bytes identical (checked through the hub, as above): no run may need a rerun. The client runs with its default policy except shorter waits and timeouts (the hub is local) and ${rate.retry.maxAttempts} attempts per request instead of 5 (at 20 %, 5 attempts in a row all fail for one request in about 3,000). Source: js/test/reliability/campaign.ts (\`runRateCampaign\`).`,
    );
    L.push("");
    L.push(
      table(
        ["", "value"],
        [
          ["Runs", `${n(rate.runs)} (seed ${rate.seed})`],
          ["Requests / faults injected", `${n(rate.requests)} / ${n(total)}`],
          ["Runs completed in one run", n(rate.runs - rate.rerunsNeeded)],
          ["**Reruns needed**", `**${n(rate.rerunsNeeded)}**`],
          ["**Bytes lost**", `**${n(rate.bytesLost)}**`],
          ["Temporary files left behind", n(rate.tempFilesLeft)],
          [
            "Retry policy",
            Object.entries(rate.retry)
              .map(([k, v]) => `${k} ${v}`)
              .join(", "),
          ],
        ],
      ),
    );
    L.push("");
    L.push("Faults, by kind:");
    L.push("");
    L.push(
      table(
        ["fault", "what", "injected", "runs it hit", "runs completed"],
        Object.entries(rate.faults).map(([k, v]) => [`\`${k}\``, v.what, n(v.injected), n(v.runs), n(v.completed)]),
        2,
      ),
    );
    L.push("");
    L.push("Runs, by kind:");
    L.push("");
    L.push(
      table(
        ["run", "runs", "completed in one run", "requests", "faults"],
        Object.entries(rate.byKind).map(([k, v]) => [k, n(v.runs), n(v.completed), n(v.requests), n(v.faults)]),
      ),
    );
    L.push("");
    L.push("How the client absorbed them:");
    L.push("");
    const a = rate.absorbed;
    L.push(
      table(
        ["", "count"],
        [
          ["Requests retried (status, dropped or cut connection)", n(a.retries)],
          ["Stalled bodies abandoned (no byte for the stall timeout)", n(a.stalls)],
          ["Answers that did not come within the answer timeout", n(a.answerTimeouts)],
          ["Downloaded ranges fetched again (bytes that did not decode)", n(a.rangeRefetches)],
          ["Files read again (bytes that did not match the file hash)", n(a.fileRereads)],
          ["Expired CAS tokens refused (401), then refreshed", n(a.tokensRefused)],
          ["Expired fetch URLs (403), reconstruction queried again", n(a.fetchUrlsExpired)],
        ],
      ),
    );
    if (rate.failures.length) {
      L.push("");
      L.push("Runs that needed a rerun:");
      L.push("");
      for (const f of rate.failures.slice(0, 20)) L.push(`- ${f.split("\n")[0]}`);
    }
    L.push("");
    L.push(`${n(rate.runs)} runs took ${rate.seconds} s.`);
  }
  if (resume) {
    L.push("");
    L.push("## Resume");
    L.push("");
    L.push(
      "An upload or sync is killed with SIGKILL in a child process once a third of its xorbs are stored (and, in process, fails at a xorb or at the batch); the same command with the same `resumeDir` then runs in a fresh process. The second run re-chunks, asks the CAS (`HEAD /v1/xorbs`) about the xorbs its state lists and skips those it holds, ignores dedup answers naming them (so it forms the same xorbs), uploads the shards and registers the files. The end state equals an uninterrupted run on another hub (listing with paths, sizes, xet hashes and mtimes; bytes). Source: js/test/reliability/resume.test.ts.",
    );
    L.push("");
    L.push(
      table(
        ["", "value"],
        [
          ["Runs interrupted then resumed and verified", n(resume.resumedRuns)],
          ["Of which killed with SIGKILL", n(resume.kills)],
          ["Xorbs not sent again", n(resume.xorbsSkipped)],
          ["Xorb bytes not sent again", n(resume.bytesSkipped)],
          ["Xorb bytes sent again by the resumed runs", n(resume.bytesResent)],
          ["Xorb bytes the interrupted runs had not got stored", n(resume.bytesNotAcceptedBeforeKill)],
        ],
      ),
    );
  }
  if (client || hubHostile) {
    L.push("");
    L.push("## Hostile inputs");
    L.push("");
    if (client) {
      L.push(
        "Against the client: answers of the real hub rewritten on their way (sources: js/test/reliability/hostile-peer.test.ts). *Typed* = a XetBucketsError (ProtocolError, IntegrityError, XetCoreError, HubApiError, NetworkError, BatchError) within 30 s with nothing written (no target, no temporary file, nothing outside the destination) and nothing registered that does not verify; *harmless* = the input only cost an optimisation (a bad dedup answer is a miss) and the result verified.",
      );
      L.push("");
      L.push(
        table(
          ["input", "tried", "typed error", "harmless, verified"],
          Object.entries(client.byKind).map(([k, v]) => [k, n(v.tried), n(v.rejected), n(v.harmless)]),
        ),
      );
      L.push("");
    }
    if (hubHostile) {
      L.push(
        "Against the local hub: every request answered 4xx (never 5xx, never a hang), and the store (every table row, every xorb file) unchanged (source: js/test/reliability/hub-hostile.test.ts; more cases in js/test/server/).",
      );
      L.push("");
      L.push(
        table(
          ["input", "tried", "refused (4xx)"],
          Object.entries(hubHostile.byKind).map(([k, v]) => [k, n(v.tried), n(v.rejected)]),
        ),
      );
    }
  }
  if (conc) {
    L.push("");
    L.push("## Concurrent writers");
    L.push("");
    L.push(
      `${conc.writers} writers (child processes) sync different and overlapping trees into one bucket, ${conc.rounds} rounds (${conc.syncs} syncs), while ${conc.readers} readers poll listings, paths-info, the hub's resolve and the client's CAS download; every listed or read file must be one writer's complete version and verify. Then the hub's data directory is checked: SQLite integrity and foreign keys, no orphan rows (files ↔ CAS files ↔ terms ↔ xorbs, dedup and shard rows), bucket totals, xorb files ↔ rows. Source: js/test/reliability/concurrency.test.ts.`,
    );
    L.push("");
    L.push(
      table(
        ["", "value"],
        [
          ["Listings polled", n(conc.listings)],
          ["Downloads verified (resolve + client)", n(conc.reads)],
          ["paths-info entries checked", n(conc.pathsInfoChecks)],
          ["Inconsistencies seen", n(conc.inconsistencies)],
          ["Hub integrity problems after", n(conc.integrityProblems)],
          [
            "Hub rows after",
            Object.entries(conc.hubRows ?? {})
              .map(([k, v]) => `${k} ${v}`)
              .join(", "),
          ],
        ],
      ),
    );
  }
  if (loadR) {
    L.push("");
    L.push("## The hub under load");
    L.push("");
    L.push(
      `The hub runs in its own process; ${loadR.clients} clients upload at once (a third of them one ${"medium"} file of one xorb, the others four small files); every file is then read back and compared. The hub reads shard and batch bodies whole and verifies xorb bodies as they arrive; all share a budget (\`maxBodyBytesInFlight\`, default 2 × 65 MiB): peak ≤ baseline + budget, whatever the number of clients. Before the budget, 32 clients sending 48 MiB xorbs took the hub to 728 MiB. Source: js/test/reliability/load.test.ts.`,
    );
    L.push("");
    L.push(
      table(
        ["", "value"],
        [
          ["Clients", n(loadR.clients)],
          ["Files uploaded and verified", n(loadR.files)],
          ["Bytes", n(loadR.bytes)],
          ["Wall time", `${loadR.seconds} s`],
          ["Hub RSS idle", `${n(loadR.hubIdleRssMiB)} MiB`],
          ["Hub peak RSS (VmHWM)", `${n(loadR.hubPeakRssMiB)} MiB`],
          ["Bound asserted", `${n(loadR.boundMiB)} MiB`],
        ],
      ),
    );
  }
  L.push("");
  L.push("## Fuzzing");
  L.push("");
  if (fuzz) {
    L.push(
      "cargo-fuzz (libFuzzer, AddressSanitizer) on the core's decoders, each corpus seeded from tests/vectors (source: fuzz/fuzz_targets/, runner: scripts/fuzz.mjs). A crash fails the run and leaves its input in fuzz/artifacts/.",
    );
    L.push("");
    L.push(
      table(
        ["target", "what", "seconds", "executions", "coverage", "crashes"],
        fuzz.targets.map((t) => [`\`${t.target}\``, FUZZ_WHAT[t.target] ?? "", n(t.seconds), n(t.runs), n(t.coverage), n(t.crashes)]),
        2,
      ),
    );
    const regressions = existsSync(join(ROOT, "tests", "fuzz_regressions")) ? readdirSync(join(ROOT, "tests", "fuzz_regressions")) : [];
    L.push("");
    L.push(
      `Crash inputs found by longer runs and fixed in the core, each replayed by \`cargo test\` (tests/fuzz_regressions.rs): ${regressions.length ? regressions.map((f) => `\`${f}\``).join(", ") : "none"}.`,
    );
  } else {
    L.push("Not run (`--no-fuzz`).");
  }
  L.push("");
  L.push("## Reproduce");
  L.push("");
  L.push("```sh");
  L.push("npm run reliability                                       # this report (CI runs it)");
  L.push("npm run reliability -- --runs 2000 --seed 7 --fuzz-seconds 600   # a bigger campaign, longer fuzzing");
  L.push("XET_RELIABILITY_RUNS=400 XET_RELIABILITY_SEED=7 XET_RELIABILITY_LOG=1 npm test -- --no-build --js reliability/campaign");
  L.push("XET_RELIABILITY_RATE_RUNS=400 XET_RELIABILITY_LOG=1 npm test -- --no-build --js reliability/campaign   # 20 % faults, more runs");
  L.push("node scripts/fuzz.mjs --seconds 300 parse_shard           # one fuzz target");
  L.push("```");
  L.push("");
  writeFileSync(join(ROOT, "RELIABILITY.md"), L.join("\n"));
}

const FUZZ_WHAT = {
  parse_xorb: "the hub's check of every uploaded xorb",
  decode_chunk_records: "the client's decoding of fetched xorb ranges",
  parse_shard: "upload shards (hub) and dedup answers (client), + JSON form",
  answer_query: "an upload session answered with arbitrary / near-valid dedup shards",
  hex: "Xet hex and plain hex parsing (round trip)",
  lz4_frame: "LZ4 frame decoding with an expected length",
};

if (process.argv[1] && import.meta.url === `file://${process.argv[1]}`) {
  let o;
  try {
    o = parseArgs(process.argv.slice(2));
  } catch (err) {
    log(`error: ${err.message}`);
    process.exit(2);
  }
  const command = ["npm run reliability", ...(process.argv.length > 2 ? ["--", ...process.argv.slice(2)] : [])].join(" ");
  let ok = true;
  try {
    if (o.build) {
      setup(new Set(["build", ...(o.fuzz ? ["fuzz"] : [])]));
      buildWasm();
      buildTs();
    }
    rmSync(REPORT_DIR, { recursive: true, force: true });
    mkdirSync(REPORT_DIR, { recursive: true });
    if (o.fuzz) {
      const f = runFuzz({ seconds: o.fuzzSeconds });
      if (f.crashes > 0) ok = false;
    }
    const dir = join(ROOT, "js", "test", "reliability");
    const files = readdirSync(dir)
      .filter((f) => f.endsWith(".test.ts"))
      .sort()
      .map((f) => relative(ROOT, join(dir, f)));
    log(`${files.length} test files, campaigns of ${o.runs} and ${o.rateRuns} runs (seed ${o.seed})`);
    // Uploads keep a dedup cache (default under ~/.cache): the campaign gets its own, fresh each run and
    // removed afterwards, so what it measures does not depend on earlier runs.
    const cacheDir = process.env.XET_BUCKETS_CACHE_DIR ? undefined : mkdtempSync(join(tmpdir(), "xet-reliability-cache-"));
    const r = spawnSync(process.execPath, ["--import", "tsx", "--test", "--test-reporter=spec", ...files], {
      cwd: ROOT,
      stdio: "inherit",
      env: {
        ...process.env,
        ...(cacheDir ? { XET_BUCKETS_CACHE_DIR: cacheDir } : {}),
        XET_RELIABILITY_RUNS: String(o.runs),
        XET_RELIABILITY_RATE_RUNS: String(o.rateRuns),
        XET_RELIABILITY_SEED: String(o.seed),
        XET_RELIABILITY_LOAD_CLIENTS: String(o.loadClients),
      },
    });
    if (cacheDir) rmSync(cacheDir, { recursive: true, force: true });
    if (r.status !== 0) ok = false;
    if (o.write) {
      writeReport({ command, testsPassed: r.status === 0, fuzzRan: o.fuzz });
      log("wrote RELIABILITY.md");
    }
  } catch (err) {
    log(`error: ${err.message}`);
    ok = false;
  }
  process.exit(ok ? 0 : 1);
}
