/**
 * The test hub: a real local hub in this process, on 127.0.0.1 and a free port, with a temporary data directory
 * and known users (or in a child process: `startHubChild`); plain HTTP on it, without the client: calls, bucket
 * creation, tokens, listings, resolved bytes; and `seed`, which fills a bucket with the client's uploader.
 * (Uploads through the core without the client: cas.ts; the hub's stored state: hub-state.ts.)
 *
 * ```ts
 * const hub = await startTestHub();
 * try { ... fetch(`${hub.url}/api/buckets/alice/b`, { headers: hub.auth(hub.users.alice.token) }) ... }
 * finally { await hub.close(); }
 * ```
 *
 * Set `XET_TEST_HUB_LOG=1` to print the hubs' request logs (and internal errors) to stderr.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startLocalHub, type LocalHub, type LocalHubOptions, type RequestInfo } from "../../server/src/index.js";
import { createBucket as clientCreateBucket } from "../../src/api/buckets.js";
import { batchBucketFiles } from "../../src/api/upload.js";
import { ROOT } from "./files.js";
import type { CrashPoint } from "./hub-child.js";
import { startTsServer } from "./processes.js";

/** The users every test hub has. alice belongs to the organisation `acme`. */
export const TEST_USERS = {
  alice: { name: "alice", token: "hf_alice_write_0123456789", readToken: "hf_alice_read_0123456789" },
  bob: { name: "bob", token: "hf_bob_write_0123456789", readToken: "hf_bob_read_0123456789" },
} as const;
export const TEST_ORG = "acme";
export const ALICE = TEST_USERS.alice;

/** A retry policy with short waits, for tests against local hubs and fault proxies. */
export const FAST_RETRY = { baseDelayMs: 20, maxDelayMs: 200 };

export interface TestHub {
  /** `http://127.0.0.1:PORT`. Changes after `restart()` only if the port had to change (it is reused). */
  url: string;
  dataDir: string;
  users: typeof TEST_USERS;
  /**
   * Every finished request since start (across restarts). `path` is the route: the CAS store prefix
   * (`/cas/<store id>`, see `LocalHub.storeId`) is removed, so suites count CAS calls as `/v1/...`,
   * `/v2/...` and `/fetch/...` whichever CAS URL the client used; `rawPath` is the path as requested.
   */
  requests: Array<RequestInfo & { rawPath: string }>;
  /** Number of finished requests with this method whose path (the route) contains `part` (e.g. "/v1/xorbs/", "/xet-write-token"). */
  count(method: string, part: string): number;
  /** `{ Authorization: "Bearer <token>" }` */
  auth(token: string): Record<string, string>;
  /** The running hub (replaced by `restart()`). */
  hub: LocalHub;
  /** Closes the hub and starts a new one on the same data directory and port. */
  restart(overrides?: Partial<LocalHubOptions>): Promise<void>;
  /** Closes the hub and deletes the data directory. */
  close(): Promise<void>;
}

export async function startTestHub(options: Partial<LocalHubOptions> = {}): Promise<TestHub> {
  const dataDir = options.dataDir ?? (await mkdtemp(join(tmpdir(), "xet-test-hub-")));
  const requests: Array<RequestInfo & { rawPath: string }> = [];
  const base: LocalHubOptions = {
    host: "127.0.0.1",
    port: 0,
    users: [
      { name: "alice", token: TEST_USERS.alice.token, readTokens: [TEST_USERS.alice.readToken], orgs: [TEST_ORG] },
      { name: "bob", token: TEST_USERS.bob.token, readTokens: [TEST_USERS.bob.readToken] },
    ],
    log: process.env.XET_TEST_HUB_LOG === "1",
    ...options,
    dataDir,
    onRequest: (info) => {
      requests.push({ ...info, path: info.path.replace(/^\/cas\/[^/]+(?=\/)/, ""), rawPath: info.path });
      options.onRequest?.(info);
    },
  };
  let hub: LocalHub;
  try {
    hub = await startLocalHub(base);
  } catch (err) {
    if (options.dataDir === undefined) await rm(dataDir, { recursive: true, force: true });
    throw err;
  }
  const t: TestHub = {
    url: hub.url,
    dataDir,
    users: TEST_USERS,
    requests,
    hub,
    count: (method, part) => requests.filter((r) => r.method === method && r.path.includes(part)).length,
    auth: (token) => ({ Authorization: `Bearer ${token}` }),
    async restart(overrides = {}) {
      await hub.close();
      hub = await startLocalHub({ ...base, port: hub.port, ...overrides });
      t.hub = hub;
      t.url = hub.url;
    },
    async close() {
      await hub.close();
      if (options.dataDir === undefined) await rm(dataDir, { recursive: true, force: true });
    },
  };
  return t;
}

/** Runs `fn` with a fresh test hub, closing it afterwards. */
export async function withHub<T>(fn: (hub: TestHub) => Promise<T>, options: Partial<LocalHubOptions> = {}): Promise<T> {
  const hub = await startTestHub(options);
  try {
    return await fn(hub);
  } finally {
    await hub.close();
  }
}

// ---------------------------------------------------------------------------------------------
// Plain HTTP on a hub
// ---------------------------------------------------------------------------------------------

/** Anything with the hub URL (a TestHub, a LocalHub, a hub in a child process, a proxy). */
export type HubLike = { url: string };

export interface ApiResponse {
  status: number;
  headers: Headers;
  text: string;
  /** Parsed JSON body (undefined when the body is not JSON). */
  json: any;
  bytes: Uint8Array;
}

/** One HTTP call on the hub; the body may be an object (sent as JSON), a string or bytes. */
export async function call(
  hub: HubLike,
  method: string,
  path: string,
  opts: { token?: string; body?: unknown; headers?: Record<string, string> } = {},
): Promise<ApiResponse> {
  const headers: Record<string, string> = { ...opts.headers };
  if (opts.token) headers.Authorization = `Bearer ${opts.token}`;
  let body: BodyInit | undefined;
  if (opts.body instanceof Uint8Array) body = opts.body as BodyInit;
  else if (typeof opts.body === "string") body = opts.body;
  else if (opts.body !== undefined) {
    body = JSON.stringify(opts.body);
    headers["Content-Type"] ??= "application/json";
  }
  const res = await fetch(path.startsWith("http") ? path : `${hub.url}${path}`, { method, headers, body });
  const bytes = new Uint8Array(await res.arrayBuffer());
  const text = new TextDecoder().decode(bytes);
  let json: any;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, text, json, bytes };
}

/** NDJSON body of a batch request. */
export const ndjson = (lines: unknown[]): string => lines.map((l) => JSON.stringify(l)).join("\n") + "\n";

export async function batch(hub: HubLike, bucket: string, token: string, lines: unknown[]): Promise<ApiResponse> {
  return call(hub, "POST", `/api/buckets/${bucket}/batch`, {
    token,
    body: ndjson(lines),
    headers: { "Content-Type": "application/x-ndjson" },
  });
}

/** `POST /api/buckets/{id}` (asserts 200). */
export async function postBucket(hub: HubLike, id: string, token: string, body: unknown = {}): Promise<ApiResponse> {
  const res = await call(hub, "POST", `/api/buckets/${id}`, { token, body });
  assert.equal(res.status, 200, `create ${id}: ${res.text}`);
  return res;
}

let counter = 0;

/** Creates a bucket `alice/<prefix>-<pid>-<n>` (a new name each call) and returns its id. */
export async function newBucket(hub: HubLike, prefix = "up"): Promise<string> {
  const id = `alice/${prefix}-${process.pid}-${++counter}`;
  await postBucket(hub, id, ALICE.token);
  return id;
}

/** A CAS access token of the bucket (`xet-read-token` or `xet-write-token`). */
export async function casToken(hub: HubLike, bucket: string, token: string | undefined, scope: "read" | "write"): Promise<string> {
  const res = await call(hub, "GET", `/api/buckets/${bucket}/xet-${scope}-token`, { token });
  assert.equal(res.status, 200, `token: ${res.text}`);
  return res.json.accessToken as string;
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

/** Hub access for the client's calls. */
export interface Who {
  hubUrl: string;
  accessToken: string;
}

/** Creates the bucket (if needed) and uploads `files` (path → bytes or text) with this package's uploader. */
export async function seed(
  who: Who,
  bucket: string,
  files: Record<string, Uint8Array | string>,
  opts: { mtime?: number } = {},
): Promise<void> {
  await clientCreateBucket(bucket, { existOk: true, ...who });
  const add = Object.entries(files).map(([path, content]) => ({
    path,
    source: typeof content === "string" ? new TextEncoder().encode(content) : content,
    ...(opts.mtime !== undefined ? { mtime: opts.mtime } : {}),
  }));
  await batchBucketFiles(bucket, { add, ...who });
}

/**
 * A hub in a child process (hub-child.ts) with alice, on `dataDir`: for measuring the hub alone, or (`crashAt`)
 * for a hub that kills itself at a point of a write. `exited` resolves with the signal that ended it.
 */
export async function startHubChild(
  dataDir: string,
  options: Partial<LocalHubOptions> & { crashAt?: CrashPoint } = {},
): Promise<{ url: string; pid: number; exited: Promise<NodeJS.Signals | null>; stop: () => Promise<void> }> {
  const users = [{ name: "alice", token: ALICE.token }];
  const s = await startTsServer<{ url: string; pid: number }>(join(ROOT, "js", "test", "helpers", "hub-child.ts"), [
    JSON.stringify({ dataDir, users, ...options }),
  ]);
  return { ...s.ready, exited: s.exited, stop: s.stop };
}
