/**
 * Helpers of the upload suites: buckets on a test hub, independent read-back through the hub's resolve
 * endpoint (the server reconstructs the file from its CAS), listings, and an upload run in a fresh
 * child process (no state shared with the test process).
 */
import { spawn } from "node:child_process";
import { createCipheriv, createHash } from "node:crypto";
import { join } from "node:path";
import { ROOT } from "../helpers/generators.js";
import { TEST_USERS, type TestHub } from "../helpers/hub.js";
import type { CommitResult } from "../../src/api/upload.js";

export const ALICE = TEST_USERS.alice;

/**
 * Seeded random bytes without repeats (AES-128-CTR keystream keyed by the seed): different seeds never
 * share chunks, unlike small-state generators whose streams overlap. Fast enough for hundreds of MiB.
 */
export function randomData(n: number, seed: number): Uint8Array {
  const key = createHash("sha256").update(`xet-buckets test data ${seed}`).digest().subarray(0, 16);
  const c = createCipheriv("aes-128-ctr", key, Buffer.alloc(16));
  const out = new Uint8Array(n);
  const zeros = new Uint8Array(Math.min(n, 4 << 20));
  for (let off = 0; off < n; off += zeros.length) {
    const len = Math.min(zeros.length, n - off);
    out.set(c.update(zeros.subarray(0, len)), off);
  }
  return out;
}
let counter = 0;

/** Creates a bucket `alice/<prefix>-<n>` and returns its id. */
export async function newBucket(hub: TestHub, prefix = "up"): Promise<string> {
  const id = `alice/${prefix}-${process.pid}-${++counter}`;
  const res = await fetch(`${hub.url}/api/buckets/${id}`, {
    method: "POST",
    headers: { ...hub.auth(ALICE.token), "Content-Type": "application/json" },
    body: "{}",
  });
  if (!res.ok) throw new Error(`create bucket ${id}: ${res.status} ${await res.text()}`);
  return id;
}

/** The file's bytes as the hub serves them (resolve GET: decoded server-side from the stored xorbs). */
export async function resolveBytes(hubUrl: string, bucketId: string, path: string): Promise<Uint8Array> {
  const res = await fetch(`${hubUrl}/buckets/${bucketId}/resolve/${path.split("/").map(encodeURIComponent).join("/")}`, {
    headers: { Authorization: `Bearer ${ALICE.token}` },
  });
  if (!res.ok) throw new Error(`resolve ${path}: ${res.status} ${await res.text()}`);
  return new Uint8Array(await res.arrayBuffer());
}

/** SHA-256 (hex) of the file as the hub serves it, streamed (for large files). */
export async function resolveSha256(hubUrl: string, bucketId: string, path: string): Promise<{ sha256: string; size: number }> {
  const res = await fetch(`${hubUrl}/buckets/${bucketId}/resolve/${path}`, { headers: { Authorization: `Bearer ${ALICE.token}` } });
  if (!res.ok || !res.body) throw new Error(`resolve ${path}: ${res.status}`);
  const h = createHash("sha256");
  let size = 0;
  for await (const part of res.body as unknown as AsyncIterable<Uint8Array>) {
    h.update(part);
    size += part.length;
  }
  return { sha256: h.digest("hex"), size };
}

export function sha256(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

export interface TreeEntry {
  type: string;
  path: string;
  size: number;
  xetHash: string;
  mtime?: string;
  uploadedAt?: string;
}

/** Every file of the bucket (recursive listing, all pages). */
export async function listTree(hubUrl: string, bucketId: string): Promise<TreeEntry[]> {
  const out: TreeEntry[] = [];
  let url: string | undefined = `${hubUrl}/api/buckets/${bucketId}/tree?recursive=true`;
  while (url) {
    const res: Response = await fetch(url, { headers: { Authorization: `Bearer ${ALICE.token}` } });
    if (!res.ok) throw new Error(`tree: ${res.status} ${await res.text()}`);
    out.push(...((await res.json()) as TreeEntry[]));
    const link: string | null = res.headers.get("link");
    url = link ? /<([^>]+)>;\s*rel="next"/.exec(link)?.[1] : undefined;
  }
  return out;
}

/** POST /paths-info for the given paths; returns the entries the hub knows (with contentType if it sends it). */
export async function pathsInfo(hubUrl: string, bucketId: string, paths: string[]): Promise<(TreeEntry & { contentType?: string })[]> {
  const res = await fetch(`${hubUrl}/api/buckets/${bucketId}/paths-info`, {
    method: "POST",
    headers: { Authorization: `Bearer ${ALICE.token}`, "Content-Type": "application/json" },
    body: JSON.stringify({ paths }),
  });
  if (!res.ok) throw new Error(`paths-info: ${res.status} ${await res.text()}`);
  return (await res.json()) as TreeEntry[];
}

/** Content-Type the hub serves for a file (HEAD resolve). */
export async function servedContentType(hubUrl: string, bucketId: string, path: string): Promise<string | null> {
  const res = await fetch(`${hubUrl}/buckets/${bucketId}/resolve/${path}`, {
    method: "HEAD",
    headers: { Authorization: `Bearer ${ALICE.token}` },
  });
  return res.headers.get("content-type");
}

/** Requests the hub finished whose path contains `part`, by method. */
export function countRequests(hub: TestHub, method: string, part: string): number {
  return hub.requests.filter((r) => r.method === method && r.path.includes(part)).length;
}

export interface ChildUpload {
  hubUrl: string;
  accessToken: string;
  repo: string;
  /** Local files: [local path, destination]. */
  files: [string, string][];
  tuning?: Record<string, unknown>;
  /** Added to the child's environment (e.g. `XET_BUCKETS_CACHE_DIR`). */
  env?: Record<string, string>;
}

/**
 * Runs `uploadFiles` in a fresh Node process (its own core, session and caches) and returns its report.
 * Also returns the child's peak RSS (VmHWM) in bytes.
 */
export function uploadInChild(args: ChildUpload): Promise<{ report: CommitResult; peakRss: number; seconds: number; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ["--import", "tsx", join(ROOT, "js", "test", "upload", "child-upload.ts"), JSON.stringify(args)],
      {
        cwd: ROOT,
        stdio: ["ignore", "pipe", "pipe"],
        env: { ...process.env, ...args.env },
      },
    );
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on("data", (d: Buffer) => out.push(d));
    child.stderr.on("data", (d: Buffer) => err.push(d));
    child.on("error", reject);
    child.on("close", (code) => {
      const stdout = Buffer.concat(out).toString("utf8").trim();
      if (code !== 0) return reject(new Error(`child upload failed (${code}): ${Buffer.concat(err).toString("utf8")}\n${stdout}`));
      try {
        resolve({ ...JSON.parse(stdout.split("\n").pop()!), stderr: Buffer.concat(err).toString("utf8") });
      } catch (e) {
        reject(new Error(`child upload printed no JSON: ${stdout}\n${Buffer.concat(err).toString("utf8")}`));
      }
    });
  });
}
