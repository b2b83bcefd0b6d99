/**
 * Seeded fault campaigns: N runs of upload, download, sync-up and sync-down through a fault proxy (a new one
 * per run) in front of one real local hub, each run with 1–4 random rules on random endpoints (connection
 * resets before and after the server saw the request, 5xx, 429 + Retry-After, delays, truncated bodies,
 * wrong Content-Length in both directions, corrupted answers, corrupted request bodies). Every run must end:
 *
 * - **complete and verified**: every file registered (listing: path, size, xetHash) or written, with the
 *   expected bytes; or
 * - **a typed error** (`XetBucketsError`: HubApiError, NetworkError, ProtocolError, IntegrityError, ...)
 *   with nothing partial: every path registered in the run's bucket holds exactly the bytes it was given
 *   (a batch the server applied before its answer was lost counts as "committed despite the error"), every
 *   local file present is complete and correct, and no temporary file is left.
 *
 * A run that hangs (no outcome within `runTimeoutMs`) or ends with an untyped error fails the campaign.
 * "Bytes lost" counts bytes of files that were registered or written with the wrong content, or reported
 * as done without being there: it must be 0.
 *
 * Corrupted request bodies are injected only on xorb and shard uploads, whose content the CAS verifies
 * by hash; Hub JSON/NDJSON bodies carry no end-to-end checksum (TLS protects them in production).
 */
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { downloadBucketFiles } from "../../src/api/download.js";
import { uploadFiles } from "../../src/api/upload.js";
import { initCore, XetHasher } from "../../src/core/index.js";
import { XetBucketsError } from "../../src/errors.js";
import { syncBucket } from "../../src/sync/index.js";
import { startFaultProxy, type FaultAction, type FaultRule } from "../helpers/faults.js";
import { ALICE, listTree, newBucket, resolveBytes, type TestHub } from "../helpers/hub.js";
import { seededBytes, seededRandom } from "../helpers/data.mjs";
import { listFilesRec, writeFiles } from "../helpers/files.js";
import { textInput } from "../helpers/vectors.js";

export type RunKind = "upload" | "download" | "sync-up" | "sync-down";
export type Outcome = "verified" | "typed-error" | "committed-despite-error";

export interface CampaignReport {
  seed: number;
  runs: number;
  byKind: Record<RunKind, { runs: number; verified: number; typedErrors: number; committedDespiteError: number }>;
  outcomes: Record<Outcome, number>;
  /** Faults the proxies injected, by action (as counted by the proxies). */
  faultsInjected: Partial<Record<FaultAction, number>>;
  /** Rules planned per endpoint family. */
  rulesByEndpoint: Record<string, number>;
  /** Typed errors by `code`. */
  errorCodes: Record<string, number>;
  /** Must stay 0. */
  bytesLost: number;
  /** Runs that did not end in time or ended with an untyped error (must stay 0), with details. */
  failures: string[];
  /** Leftover temporary files (must stay 0). */
  tempFilesLeft: number;
  seconds: number;
}

const ENDPOINTS: Record<RunKind, Array<{ name: string; path: string; method?: string; body?: boolean }>> = {
  upload: [
    { name: "write-token", path: "/xet-write-token" },
    { name: "dedup-query", path: "/v1/chunks/" },
    { name: "xorb", path: "/v1/xorbs/", method: "POST", body: true },
    { name: "shard", path: "/shards", method: "POST", body: true },
    { name: "batch", path: "/batch", method: "POST" },
  ],
  download: [
    { name: "paths-info", path: "/paths-info" },
    { name: "read-token", path: "/xet-read-token" },
    { name: "reconstruction", path: "/reconstructions/" },
    { name: "fetch", path: "/fetch/" },
  ],
  "sync-up": [
    { name: "tree", path: "/tree" },
    { name: "write-token", path: "/xet-write-token" },
    { name: "xorb", path: "/v1/xorbs/", method: "POST", body: true },
    { name: "shard", path: "/shards", method: "POST", body: true },
    { name: "batch", path: "/batch", method: "POST" },
  ],
  "sync-down": [
    { name: "tree", path: "/tree" },
    { name: "read-token", path: "/xet-read-token" },
    { name: "reconstruction", path: "/reconstructions/" },
    { name: "fetch", path: "/fetch/" },
  ],
};

function randomRule(rand: () => number, kind: RunKind): { rule: FaultRule; endpoint: string } {
  const eps = ENDPOINTS[kind];
  const ep = eps[Math.floor(rand() * eps.length)]!;
  const pick = <T>(xs: T[]): T => xs[Math.floor(rand() * xs.length)]!;
  const actions: FaultAction[] = ["reset", "reset-after", "status", "status", "delay", "truncate", "corrupt", "wrong-length"];
  if (ep.body) actions.push("corrupt-request");
  const action = pick(actions);
  const rule: FaultRule = { action, path: ep.path, method: ep.method };
  if (action === "status") {
    const status = pick([429, 500, 502, 503, 504]);
    rule.status = status;
    if (status === 429 || (status === 503 && rand() < 0.5)) rule.retryAfter = rand() < 0.7 ? 0 : 1;
  }
  if (action === "delay") rule.delayMs = 20 + Math.floor(rand() * 300);
  if (action === "truncate") rule.keepBytes = Math.floor(rand() * 200);
  if (action === "wrong-length") rule.lengthDelta = rand() < 0.5 ? 1 + Math.floor(rand() * 500) : -(1 + Math.floor(rand() * 20));
  if (action === "corrupt" || action === "corrupt-request") rule.offset = Math.floor(rand() * 400);
  if (rand() < 0.25) {
    rule.probability = 0.2 + rand() * 0.3;
    rule.times = 1 + Math.floor(rand() * 3);
  } else {
    rule.skip = Math.floor(rand() * 3);
    rule.times = 1 + Math.floor(rand() * 2);
  }
  return { rule, endpoint: ep.name };
}

function xetHashOf(data: Uint8Array): string {
  const h = new XetHasher();
  h.update(data);
  return h.finish();
}

const sha = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

export interface CampaignOptions {
  hub: TestHub;
  workDir: string;
  runs: number;
  seed: number;
  /** A run with no outcome after this long is a hang (default 90 s). */
  runTimeoutMs?: number;
  log?: (line: string) => void;
}

export async function runCampaign(opts: CampaignOptions): Promise<CampaignReport> {
  await initCore();
  const { hub, workDir } = opts;
  const rand = seededRandom(opts.seed); // the campaign is reproducible from its seed
  const t0 = Date.now();
  const report: CampaignReport = {
    seed: opts.seed,
    runs: 0,
    byKind: {
      upload: { runs: 0, verified: 0, typedErrors: 0, committedDespiteError: 0 },
      download: { runs: 0, verified: 0, typedErrors: 0, committedDespiteError: 0 },
      "sync-up": { runs: 0, verified: 0, typedErrors: 0, committedDespiteError: 0 },
      "sync-down": { runs: 0, verified: 0, typedErrors: 0, committedDespiteError: 0 },
    },
    outcomes: { verified: 0, "typed-error": 0, "committed-despite-error": 0 },
    faultsInjected: {},
    rulesByEndpoint: {},
    errorCodes: {},
    bytesLost: 0,
    failures: [],
    tempFilesLeft: 0,
    seconds: 0,
  };

  // The source bucket of download runs, seeded directly (no proxy).
  const source: Record<string, Uint8Array> = {
    "d/a.bin": seededBytes(1536 * 1024, opts.seed + 1),
    "d/b.txt": textInput(300_000),
    "d/empty": new Uint8Array(0),
    "d/sub/c.bin": seededBytes(700_000, opts.seed + 2),
  };
  const srcBucket = await newBucket(hub, "campaign-src");
  await uploadFiles({
    repo: `buckets/${srcBucket}`,
    hubUrl: hub.url,
    accessToken: ALICE.token,
    files: Object.entries(source).map(([path, content]) => ({ path, content })),
    maxXorbBytes: 256 * 1024,
  });

  const retry = { baseDelayMs: 10, maxDelayMs: 100, maxAttempts: 4, budgetMs: 20_000, attemptTimeoutMs: 10_000 };
  const tuning = { maxXorbBytes: 256 * 1024 };

  for (let i = 0; i < opts.runs; i++) {
    const kind = (["upload", "download", "sync-up", "sync-down"] as RunKind[])[i % 4]!;
    const nRules = 1 + Math.floor(rand() * 4);
    const planned = Array.from({ length: nRules }, () => randomRule(rand, kind));
    const proxy = await startFaultProxy(hub.url, { seed: opts.seed * 1000 + i });
    for (const p of planned) {
      proxy.add(p.rule);
      report.rulesByEndpoint[p.endpoint] = (report.rulesByEndpoint[p.endpoint] ?? 0) + 1;
    }
    const runDir = join(workDir, `run-${i}`);
    mkdirSync(runDir, { recursive: true });
    const common = { hubUrl: proxy.url, accessToken: ALICE.token, retry };
    const fileSeed = opts.seed * 100 + i;
    let expected: Record<string, Uint8Array> = {};
    let bucket = "";
    let prefix = "";
    let localDir = "";
    const ctl = new AbortController();
    let op: Promise<unknown>;
    switch (kind) {
      case "upload": {
        bucket = await newBucket(hub, "campaign-up");
        expected = {
          "x/one.bin": seededBytes(1024 * 1024 + Math.floor(rand() * 512 * 1024), fileSeed),
          "x/two.txt": textInput(50_000 + Math.floor(rand() * 200_000)),
          "three.bin": seededBytes(Math.floor(rand() * 200_000), fileSeed + 7),
        };
        op = uploadFiles({
          ...common,
          ...tuning,
          abortSignal: ctl.signal,
          repo: `buckets/${bucket}`,
          files: Object.entries(expected).map(([path, content]) => ({ path, content })),
        });
        break;
      }
      case "sync-up": {
        bucket = await newBucket(hub, "campaign-sync");
        prefix = "mirror";
        localDir = join(runDir, "src");
        expected = {
          "w/a.bin": seededBytes(800_000 + Math.floor(rand() * 800_000), fileSeed),
          "w/b.bin": seededBytes(100_000, fileSeed + 3),
          "c.json": new TextEncoder().encode(JSON.stringify({ run: i })),
        };
        writeFiles(localDir, expected);
        op = syncBucket(localDir, `hf://buckets/${bucket}/${prefix}`, { ...common, ...tuning, abortSignal: ctl.signal });
        break;
      }
      case "download": {
        localDir = join(runDir, "dl");
        const names = Object.keys(source).filter(() => rand() < 0.7);
        if (names.length === 0) names.push("d/a.bin");
        for (const n of names) expected[n] = source[n]!;
        op = downloadBucketFiles(
          srcBucket,
          names.map((n) => [n, join(localDir, n)] as [string, string]),
          { ...common, abortSignal: ctl.signal },
        );
        break;
      }
      case "sync-down": {
        localDir = join(runDir, "mirror");
        expected = Object.fromEntries(
          Object.entries(source)
            .filter(([k]) => k.startsWith("d/"))
            .map(([k, v]) => [k.slice(2), v]),
        );
        op = syncBucket(`hf://buckets/${srcBucket}/d`, localDir, { ...common, abortSignal: ctl.signal });
        break;
      }
    }

    let error: unknown;
    let hung = false;
    const timeoutMs = opts.runTimeoutMs ?? 90_000;
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      await Promise.race([
        op!,
        new Promise((_, reject) => {
          timer = setTimeout(() => {
            hung = true;
            reject(new Error(`no outcome after ${timeoutMs} ms`));
          }, timeoutMs);
        }),
      ]);
    } catch (err) {
      error = err;
    } finally {
      clearTimeout(timer);
      if (hung) {
        ctl.abort(new Error("campaign timeout"));
        await op!.catch(() => undefined);
      }
    }
    const counts = proxy.counts();
    await proxy.close();
    for (const [a, n] of Object.entries(counts.byAction))
      report.faultsInjected[a as FaultAction] = (report.faultsInjected[a as FaultAction] ?? 0) + n!;

    // Judge the end state, through the hub directly.
    const describe = `run ${i} (${kind}, seed ${opts.seed}, rules ${JSON.stringify(planned.map((p) => p.rule))})`;
    let lost = 0;
    let complete = true;
    if (kind === "upload" || kind === "sync-up") {
      const listing = await listTree(hub.url, bucket);
      const byPath = new Map(listing.map((e) => [e.path, e]));
      for (const e of listing) {
        const rel = prefix ? e.path.slice(prefix.length + 1) : e.path;
        const want = expected[rel];
        if (!want) {
          lost += e.size;
          report.failures.push(`${describe}: unexpected path registered: ${e.path}`);
          continue;
        }
        const got = await resolveBytes(hub.url, bucket, e.path);
        if (e.size !== want.length || e.xetHash !== xetHashOf(want) || sha(got) !== sha(want)) {
          lost += want.length;
          report.failures.push(`${describe}: ${e.path} registered with the wrong content`);
        }
      }
      for (const rel of Object.keys(expected)) if (!byPath.has(prefix ? `${prefix}/${rel}` : rel)) complete = false;
      if (!error && !complete) {
        for (const [rel, want] of Object.entries(expected)) if (!byPath.has(prefix ? `${prefix}/${rel}` : rel)) lost += want.length;
        report.failures.push(`${describe}: reported success but files are missing`);
      }
    } else {
      const present = listFilesRec(localDir);
      for (const rel of present) {
        if (rel.endsWith(".xet-tmp")) {
          report.tempFilesLeft++;
          report.failures.push(`${describe}: temporary file left: ${rel}`);
          continue;
        }
        const want = expected[rel];
        const got = readFileSync(join(localDir, rel));
        if (!want || sha(got) !== sha(want)) {
          lost += got.length;
          report.failures.push(`${describe}: ${rel} written with the wrong content`);
        }
      }
      for (const rel of Object.keys(expected)) if (!present.includes(rel)) complete = false;
      if (!error && !complete) {
        for (const [rel, want] of Object.entries(expected)) if (!present.includes(rel)) lost += want.length;
        report.failures.push(`${describe}: reported success but files are missing`);
      }
    }
    report.bytesLost += lost;
    report.runs++;
    const k = report.byKind[kind];
    k.runs++;
    let outcome: Outcome | undefined;
    if (hung) {
      report.failures.push(`${describe}: hung`);
    } else if (!error) {
      outcome = "verified";
    } else if (error instanceof XetBucketsError) {
      outcome = complete && (kind === "upload" || kind === "sync-up") ? "committed-despite-error" : "typed-error";
      report.errorCodes[error.code] = (report.errorCodes[error.code] ?? 0) + 1;
    } else {
      const e = error as Error;
      report.failures.push(`${describe}: untyped error ${e?.name}: ${e?.message}\n${e?.stack ?? ""}`);
    }
    if (outcome) {
      report.outcomes[outcome]++;
      if (outcome === "verified") k.verified++;
      else if (outcome === "typed-error") k.typedErrors++;
      else k.committedDespiteError++;
    }
    opts.log?.(
      `run ${i} ${kind}: ${outcome ?? "FAILED"}${error ? ` (${(error as { code?: string }).code ?? (error as Error).name}: ${String((error as Error).message).slice(0, 120)})` : ""}; injected ${JSON.stringify(counts.byAction)}`,
    );
    if (existsSync(runDir)) rmSync(runDir, { recursive: true, force: true });
  }
  report.seconds = Math.round((Date.now() - t0) / 100) / 10;
  return report;
}
