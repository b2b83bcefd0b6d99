/**
 * Helpers of the reliability suites: a child process that can be killed at a chosen moment, request
 * accounting on a test hub, data with a global-dedup-eligible chunk, hub state snapshots, and the report
 * collector whose numbers `report.test.ts` writes into RELIABILITY.md.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Chunker, initCore, isGlobalDedupEligible, rawToHex } from "../../src/core/index.js";
import { ROOT } from "../helpers/generators.js";
import type { TestHub } from "../helpers/hub.js";
import { randomData } from "../upload/util.js";
import type { ChildJob } from "./child.js";

export const MiB = 1024 * 1024;
export const FAST_RETRY = { baseDelayMs: 20, maxDelayMs: 200 };

export interface ChildOutcome {
  code: number | null;
  signal: NodeJS.Signals | null;
  json?: { ok: boolean; result?: any; error?: { name?: string; code?: string; message?: string }; warnings: string[] };
  stderr: string;
}

/** Starts `child.ts` with a job; `done` resolves when it exits (killed or not). */
export function startChild(job: ChildJob): { child: ChildProcess; done: Promise<ChildOutcome> } {
  const child = spawn(process.execPath, ["--import", "tsx", join(ROOT, "js", "test", "reliability", "child.ts"), JSON.stringify(job)], {
    cwd: ROOT,
    stdio: ["ignore", "pipe", "pipe"],
  });
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout!.on("data", (d: Buffer) => out.push(d));
  child.stderr!.on("data", (d: Buffer) => err.push(d));
  const done = new Promise<ChildOutcome>((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (code, signal) => {
      const text = Buffer.concat(out).toString("utf8").trim();
      let json: ChildOutcome["json"];
      try {
        json = text ? JSON.parse(text.split("\n").pop()!) : undefined;
      } catch {
        json = undefined;
      }
      resolve({ code, signal, json, stderr: Buffer.concat(err).toString("utf8") });
    });
  });
  return { child, done };
}

/** Runs a child job to completion and returns its result (throws on failure). */
export async function runChild(job: ChildJob): Promise<any> {
  const o = await startChild(job).done;
  if (!o.json?.ok) throw new Error(`child failed (${o.code}): ${JSON.stringify(o.json?.error)}\n${o.stderr}`);
  return o.json.result;
}

/** Resolves once `cond()` holds (polled every 5 ms) or rejects after `timeoutMs`. */
export async function until(cond: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Xorb POSTs the hub finished from request index `from` on: count, bytes, and those answered 200. */
export function xorbPosts(hub: TestHub, from = 0): { count: number; ok: number; okBytes: number; bytes: number } {
  let count = 0;
  let ok = 0;
  let okBytes = 0;
  let bytes = 0;
  for (const r of hub.requests.slice(from)) {
    if (r.method !== "POST" || !r.path.startsWith("/v1/xorbs/")) continue;
    count++;
    bytes += r.requestBytes;
    if (r.status === 200) {
      ok++;
      okBytes += r.requestBytes;
    }
  }
  return { count, ok, okBytes, bytes };
}

/**
 * Random data (seeded) of `size` bytes with at least one global-dedup-eligible chunk (hash % 1024 == 0)
 * after `minOffset`: a CAS indexes such chunks as soon as their xorb is stored. Returns the seed and the
 * offsets of the eligible chunks.
 */
export async function dataWithEligibleChunk(
  size: number,
  minOffset: number,
  maxOffset = size,
  firstSeed = 1,
): Promise<{ seed: number; data: Uint8Array; offsets: number[] }> {
  await initCore();
  for (let seed = firstSeed; seed < firstSeed + 400; seed++) {
    const data = randomData(size, seed);
    const c = new Chunker();
    const chunks = [...c.update(data), ...c.finish()];
    c.free();
    const offsets: number[] = [];
    let off = 0;
    for (const ch of chunks) {
      if (off >= minOffset && off < maxOffset && isGlobalDedupEligible(rawToHex(ch.hashRaw))) offsets.push(off);
      off += ch.length;
    }
    if (offsets.length > 0) return { seed, data, offsets };
  }
  throw new Error("no seed gave an eligible chunk");
}

export function writeFiles(dir: string, files: Record<string, Uint8Array>): void {
  for (const [rel, data] of Object.entries(files)) {
    const p = join(dir, rel);
    mkdirSync(join(p, ".."), { recursive: true });
    writeFileSync(p, data);
  }
}

export function listFilesRec(dir: string, base = ""): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const rel = base ? `${base}/${e.name}` : e.name;
    if (e.isDirectory()) out.push(...listFilesRec(join(dir, e.name), rel));
    else out.push(rel);
  }
  return out.sort();
}

// ---------------------------------------------------------------------------------------------
// The report: every suite adds its counts to test-artifacts/reliability/<suite>.json; report.test.ts
// (last in alphabetical order) gathers them into RELIABILITY.md.
// ---------------------------------------------------------------------------------------------

export const REPORT_DIR = join(ROOT, "test-artifacts", "reliability");

export interface SuiteReport {
  suite: string;
  /** Free-form counters (see report.test.ts for the ones it reads). */
  [k: string]: unknown;
}

export function saveSuiteReport(r: SuiteReport): void {
  mkdirSync(REPORT_DIR, { recursive: true });
  writeFileSync(join(REPORT_DIR, `${r.suite}.json`), JSON.stringify({ ...r, writtenAt: new Date().toISOString() }, null, 2));
}

export function loadSuiteReports(): SuiteReport[] {
  if (!existsSync(REPORT_DIR)) return [];
  return readdirSync(REPORT_DIR)
    .filter((n) => n.endsWith(".json"))
    .sort()
    .map((n) => JSON.parse(readFileSync(join(REPORT_DIR, n), "utf8")) as SuiteReport);
}

/**
 * The xorbs a resume state lists that the hub holds (HEAD /v1/xorbs with a CAS read token): what the killed
 * or failed run got stored, whether or not its answer arrived.
 */
export async function storedFromState(hub: TestHub, bucket: string, resumeDir: string, token: string): Promise<{ count: number; bytes: number }> {
  const files = readdirSync(resumeDir).filter((n) => n.endsWith(".xbresume"));
  if (files.length !== 1) throw new Error(`expected one state file in ${resumeDir}, found ${files.length}`);
  const hashes = new Set<string>();
  for (const l of readFileSync(join(resumeDir, files[0]!), "utf8").split("\n").slice(1)) {
    const m = /^[pa] ([0-9a-f]{64})$/.exec(l);
    if (m) hashes.add(m[1]!);
  }
  const t = (await (await fetch(`${hub.url}/api/buckets/${bucket}/xet-read-token`, { headers: hub.auth(token) })).json()) as { accessToken: string; casUrl: string };
  let count = 0;
  let bytes = 0;
  for (const h of hashes) {
    const res = await fetch(`${t.casUrl}/v1/xorbs/default/${h}`, { method: "HEAD", headers: { Authorization: `Bearer ${t.accessToken}` } });
    if (res.status === 200) {
      count++;
      bytes += Number(res.headers.get("content-length"));
    }
  }
  return { count, bytes };
}
