/**
 * Every error a public call throws is a `XetBucketsError` whose `code` is one of `ErrorCode` (js/src/errors.ts).
 *
 * Statically: the union lists every code the sources construct errors with, and every kind of the Rust core;
 * no bare `Error` / `TypeError` / `RangeError` is thrown (or rejected with) in js/src or js/server/src outside
 * the few internal signals listed below (each caught near where it is thrown and converted).
 *
 * At run time: a sweep of the public calls (the main entry, xet-buckets/core, xet-buckets/browser and the
 * local hub's startLocalHub and parseServeArgs) with bad arguments and failing conditions against a real local
 * hub: an unreachable server, a fetch that throws, answers that are not JSON or not UTF-8, missing buckets,
 * files, repositories and revisions, an events feed that is not one, bad tokens, missing and unreadable local
 * files, failing Blobs and streams, refused syncs. Each must reject (or throw) with a typed error and the
 * expected code. An abort rejects with the caller's reason, as documented.
 */
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile, mkdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { readFileSync } from "node:fs";
import * as xb from "../../src/index.js";
import { hexToRaw, parseShard, parseXorb, ZERO_HASH } from "../../src/core/index.js";
import { UploadWorker } from "../../src/browser/index.js";
import { XetBucketsError, type ErrorCode } from "../../src/errors.js";
import { parseServeArgs } from "../../server/src/cli.js";
import { startLocalHub } from "../../server/src/index.js";
import { startTestHub, type TestHub } from "../helpers/hub.js";
import { ROOT, sourceFiles } from "../helpers/files.js";

/** The members of the `ErrorCode` union (with those of `HttpErrorCode`, one of its members), read from their source. */
function errorCodes(): Set<string> {
  const src = readFileSync(join(ROOT, "js", "src", "errors.ts"), "utf8");
  const union = (name: string) => {
    const body = new RegExp(`export type ${name} =([\\s\\S]*?)";\\n`).exec(src)![1]! + '"';
    return [...body.matchAll(/\|\s*"([A-Z_]+)"/g)].map((m) => m[1]!);
  };
  assert.match(src, /\| HttpErrorCode\n/, "HttpErrorCode is a member of ErrorCode");
  return new Set([...union("ErrorCode"), ...union("HttpErrorCode")]);
}
const CODES = errorCodes();

const SOURCES = [...sourceFiles(join(ROOT, "js", "src"), ["generated", "wasm"]), ...sourceFiles(join(ROOT, "js", "server", "src"))].map(
  (p) => ({
    file: p.slice(ROOT.length + 1),
    text: readFileSync(p, "utf8"),
  }),
);

/**
 * The bare errors the sources may throw, per file, and why none of them reaches a caller. Anything else is a
 * finding: throw a XetBucketsError (or a subclass) with a code instead.
 */
const INTERNAL_SIGNALS: Record<string, { count: number; why: string }> = {
  "js/src/pool/worker.ts": { count: 10, why: "inside a chunking worker: every failure is posted as a `failed` message (CHUNKING_FAILED)" },
  "js/src/platform/node/range-fetch.ts": {
    count: 10,
    why: "Node's light HTTP client fails as fetch does (TypeError, a broken body, a request body of the wrong length, an answer it cannot read) inside httpRequestRead, which retries and makes it a NetworkError",
  },
  "js/src/pool/worker-node.ts": { count: 1, why: "the worker script started outside a worker thread (never by the pool)" },
  "js/src/core/packed.ts": { count: 1, why: "a malformed packed segment: the pool turns it into INTERNAL" },
  "js/src/core/index.ts": { count: 1, why: "coreModule's HTTP status, caught below it and made CORE_LOAD_FAILED" },
  "js/src/api/download.ts": { count: 1, why: "a short body inside requestRead's reader: retried, then a NetworkError" },
  "js/src/xet/download.ts": { count: 1, why: "a short body inside httpRequestRead's reader: retried, then a NetworkError" },
  "js/src/xet/upload/shards.ts": {
    count: 2,
    why: "a broken /v2/shards stream inside httpRequestRead's reader: retried, then a NetworkError",
  },
  "js/server/src/cas-api.ts": { count: 1, why: "the hub's request handler: answered as a 500" },
  "js/server/src/hub-api.ts": { count: 2, why: "the hub's request handler: answered as a 500" },
  "js/server/src/repos/api.ts": { count: 1, why: "the hub's request handler: answered as a 500" },
  "js/server/src/blobs.ts": {
    count: 2,
    why: "a xorb file shorter than its record in the hub's request handler: answered as a 500, or the answer cut",
  },
  "js/server/src/http.ts": { count: 4, why: "a client that went away: the hub stops answering it" },
  "js/server/src/budget.ts": { count: 1, why: "a client that went away: the hub stops answering it" },
};

describe("ErrorCode is complete", () => {
  it("lists every code the sources construct errors with", () => {
    const used = new Map<string, string>();
    const patterns = [
      /new (?:XetBucketsError|XetCoreError|IntegrityError|NetworkError|HubApiError|BucketNotFoundError|RepoNotFoundError|EntryNotFoundError|TaskError)\(\s*(?:"[a-z]+",\s*)?"([A-Z_]+)"/g,
      /return \["([A-Z_]+)", "/g,
      /\(msg\.code === "([A-Z_]+)"/g,
    ];
    for (const { file, text } of SOURCES) for (const re of patterns) for (const m of text.matchAll(re)) used.set(m[1]!, file);
    assert.ok(used.size > 30, `found ${used.size} codes: the patterns no longer match the sources`);
    const missing = [...used].filter(([code]) => !CODES.has(code)).map(([code, file]) => `${code} (${file})`);
    assert.deepEqual(missing, [], "codes used but not in ErrorCode");
  });

  it("lists every error kind of the Rust core", () => {
    const rust = readFileSync(join(ROOT, "src", "error.rs"), "utf8");
    const kinds = [...rust.matchAll(/ErrorKind::\w+ => "([A-Z_]+)"/g)].map((m) => m[1]!);
    assert.ok(kinds.length >= 10);
    assert.deepEqual(
      kinds.filter((k) => !CODES.has(k)),
      [],
    );
  });

  it("no bare Error, TypeError or RangeError is thrown outside the listed internal signals", () => {
    const found: Record<string, number> = {};
    for (const { file, text } of SOURCES) {
      const n = [...text.matchAll(/(?:throw |reject\()new (?:Error|TypeError|RangeError|SyntaxError)\(/g)].length;
      if (n) found[file] = n;
    }
    const expected = Object.fromEntries(Object.entries(INTERNAL_SIGNALS).map(([f, { count }]) => [f, count]));
    assert.deepEqual(found, expected);
  });
});

// ---------------------------------------------------------------------------------------------
// The sweep
// ---------------------------------------------------------------------------------------------

let hub: TestHub;
let dir: string;
let opts: { hubUrl: string; accessToken: string; retry: { maxAttempts: number; baseDelayMs: number } };
const BUCKET = "alice/errors";
const REPO = `buckets/${BUCKET}`;
const MODEL = "models/alice/errors-model";

before(async () => {
  hub = await startTestHub();
  opts = { hubUrl: hub.url, accessToken: hub.users.alice.token, retry: { maxAttempts: 2, baseDelayMs: 10 } };
  dir = await mkdtemp(join(tmpdir(), "xet-errors-"));
  await xb.createBucket(BUCKET, opts);
  await xb.uploadFiles({ repo: REPO, files: [{ path: "dir/a.txt", content: new TextEncoder().encode("a") }], ...opts });
  await xb.createRepo({ repo: MODEL, ...opts });
  await writeFile(join(dir, "file.bin"), "x");
  await mkdir(join(dir, "empty"));
});
after(async () => {
  await hub.close();
  await rm(dir, { recursive: true, force: true });
});

/** Runs a call to its end (a promise, an async generator consumed to the end, or a plain value) and returns what it threw. */
async function failure(call: () => unknown): Promise<unknown> {
  try {
    const r = call();
    if (r && typeof (r as AsyncIterable<unknown>)[Symbol.asyncIterator] === "function") {
      for await (const _ of r as AsyncIterable<unknown>) {
        // consumed to the end
      }
    } else {
      await r;
    }
  } catch (err) {
    return err;
  }
  return assert.fail("the call did not fail");
}

async function expectCode(call: () => unknown, code: ErrorCode): Promise<XetBucketsError> {
  const err = await failure(call);
  assert.ok(err instanceof XetBucketsError, `not a XetBucketsError: ${(err as Error)?.name}: ${(err as Error)?.message ?? err}`);
  assert.ok(CODES.has(err.code), `code ${err.code} is not in ErrorCode`);
  assert.equal(err.code, code, err.message);
  assert.ok(err.message.length > 10, "a message that says something");
  return err;
}

/** A fetch that answers every request with this body and status 200. */
const answering =
  (body: BodyInit, type = "application/json"): typeof fetch =>
  async () =>
    new Response(body, { status: 200, headers: { "Content-Type": type } });

const cases: Array<[string, ErrorCode, () => unknown]> = [
  // Designations and arguments
  ["createBucket of a model", "INVALID_ARGUMENT", () => xb.createBucket("models/alice/m", opts)],
  ["createRepo of a kernel", "INVALID_ARGUMENT", () => xb.createRepo({ repo: { type: "kernel", name: "alice/k" }, ...opts })],
  ["bucketInfo of a number", "INVALID_ARGUMENT", () => xb.bucketInfo(42 as never, opts)],
  ["listFiles of a bucket/ designation (singular)", "INVALID_ARGUMENT", () => xb.listFiles({ repo: `bucket/${BUCKET}`, ...opts })],
  ["listFiles of a model with a bad revision", "INVALID_ARGUMENT", () => xb.listFiles({ repo: `hf://${BUCKET}@%zz`, ...opts })],
  ["pathsInfo with a number path", "INVALID_ARGUMENT", () => xb.pathsInfo({ repo: REPO, paths: [5 as never], ...opts })],
  ["deleteFiles with a string", "INVALID_ARGUMENT", () => xb.deleteFiles({ repo: REPO, paths: "a" as never, ...opts })],
  ["updateBucketSettings without private", "INVALID_ARGUMENT", () => xb.updateBucketSettings(BUCKET, opts as never)],
  ["moveBucket onto itself", "INVALID_ARGUMENT", () => xb.moveBucket(BUCKET, REPO, opts)],
  ["hubUrl that is no URL", "INVALID_ARGUMENT", () => xb.bucketInfo(BUCKET, { ...opts, hubUrl: "http://" })],
  ["abortSignal that is no signal", "INVALID_ARGUMENT", () => xb.bucketInfo(BUCKET, { ...opts, abortSignal: {} as never })],
  ["retry with a string", "INVALID_ARGUMENT", () => xb.bucketInfo(BUCKET, { ...opts, retry: { maxAttempts: "x" as never } })],
  ["fetch that is no function", "INVALID_ARGUMENT", () => xb.bucketInfo(BUCKET, { ...opts, fetch: "x" as never })],
  ["uploadFiles with a string of files", "INVALID_ARGUMENT", () => xb.uploadFiles({ repo: REPO, files: "x" as never, ...opts })],
  [
    "uploadFiles of a number",
    "INVALID_ARGUMENT",
    () => xb.uploadFiles({ repo: REPO, files: [{ path: "n", content: 42 as never }], ...opts }),
  ],
  [
    "uploadFiles of an ftp: URL",
    "INVALID_ARGUMENT",
    () => xb.uploadFiles({ repo: REPO, files: [{ path: "f", content: new URL("ftp://x/y") }], ...opts }),
  ],
  [
    "uploadFiles with maxXorbBytes -1",
    "INVALID_ARGUMENT",
    () => xb.uploadFiles({ repo: REPO, files: [{ path: "t", content: new Uint8Array(1) }], maxXorbBytes: -1, ...opts }),
  ],
  [
    "uploadFiles with an unknown compression",
    "INVALID_ARGUMENT",
    () => xb.uploadFiles({ repo: REPO, files: [{ path: "t", content: new Uint8Array(1) }], compression: "zstd" as never, ...opts }),
  ],
  [
    "uploadFiles of one path twice",
    "INVALID_ARGUMENT",
    () =>
      xb.uploadFiles({
        repo: REPO,
        files: [
          { path: "t", content: new Uint8Array(1) },
          { path: "t", content: new Uint8Array(2) },
        ],
        ...opts,
      }),
  ],
  [
    "uploadFilesWithProgress into a model",
    "INVALID_ARGUMENT",
    () => xb.uploadFilesWithProgress({ repo: "alice/model", files: [], ...opts }),
  ],
  ["batchBucketFiles with add: 5", "INVALID_ARGUMENT", () => xb.batchBucketFiles(BUCKET, { add: 5 as never, ...opts })],
  [
    "commit of a copy with a bad hash",
    "INVALID_ARGUMENT",
    () => xb.commit({ repo: REPO, operations: [{ operation: "copy", path: "c", sourceXetHash: "zz", sourceRepo: REPO }], ...opts }),
  ],
  [
    "copyFiles into a model at a revision",
    "INVALID_ARGUMENT",
    () =>
      xb.copyFiles({
        destination: `hf://${MODEL.slice("models/".length)}@v1`,
        files: [{ source: { repo: REPO, path: "dir/a.txt" }, destinationPath: "a" }],
        ...opts,
      }),
  ],
  [
    "commit of a copy into a model",
    "INVALID_ARGUMENT",
    () => xb.commit({ repo: MODEL, operations: [{ operation: "copy", path: "c", sourceXetHash: ZERO_HASH, sourceRepo: REPO }], ...opts }),
  ],
  ["watchBucket with idleTimeoutMs 0", "INVALID_ARGUMENT", () => xb.watchBucket(BUCKET, { ...opts, idleTimeoutMs: 0 })],
  ["syncBucket watching a dry run", "INVALID_ARGUMENT", () => xb.syncBucket(dir, `hf://${REPO}/s`, { ...opts, watch: true, dryRun: true })],
  ["downloadFile of a number path", "INVALID_ARGUMENT", () => xb.downloadFile({ repo: REPO, path: 5 as never, ...opts })],
  ["downloadBucketFiles of a lone path", "INVALID_ARGUMENT", () => xb.downloadBucketFiles(BUCKET, [["dir/a.txt"] as never], opts)],
  [
    "downloadBucketFiles to a number",
    "INVALID_ARGUMENT",
    () => xb.downloadBucketFiles(BUCKET, [[{ path: "e", size: 0, xetHash: ZERO_HASH }, 5 as never]], opts),
  ],
  [
    "downloadBucketFiles to an http: URL",
    "INVALID_ARGUMENT",
    () => xb.downloadBucketFiles(BUCKET, [[{ path: "e", size: 0, xetHash: ZERO_HASH }, new URL("http://x/y")]], opts),
  ],
  ["xetHash of a number", "INVALID_ARGUMENT", () => xb.xetHash(42 as never)],
  ["xetHash with blockBytes 0", "INVALID_ARGUMENT", () => xb.xetHash(new Uint8Array(3), { blockBytes: 0 })],
  ["xetHashFiles of a string", "INVALID_ARGUMENT", () => xb.xetHashFiles("a" as never)],
  ["xetHashFiles with tiny segments", "INVALID_ARGUMENT", () => xb.xetHashFiles([new Uint8Array(3)], { segmentBytes: 1000 })],
  ["xetHashFiles with -1 workers", "INVALID_ARGUMENT", () => xb.xetHashFiles([new Uint8Array(3)], { workers: -1 })],
  ["syncBucket of a number", "INVALID_ARGUMENT", () => xb.syncBucket(5 as never, `hf://${REPO}`, opts)],
  [
    "syncBucket with a string exclude",
    "INVALID_ARGUMENT",
    () => xb.syncBucket(dir, `hf://${REPO}/s`, { ...opts, exclude: "*.log" as never }),
  ],
  ["syncBucket of a file as the source", "INVALID_ARGUMENT", () => xb.syncBucket(join(dir, "file.bin"), `hf://${REPO}/s`, opts)],
  [
    "syncBucket applying a missing plan",
    "INVALID_ARGUMENT",
    () => xb.syncBucket(undefined, undefined, { ...opts, apply: join(dir, "no-plan.jsonl") }),
  ],
  ["BucketFileSystem.stat of a dataset", "INVALID_ARGUMENT", () => new xb.BucketFileSystem(opts).stat("hf://datasets/alice/d")],
  ["indexedDbResumeStore without IndexedDB", "INVALID_ARGUMENT", () => xb.indexedDbResumeStore().open(ZERO_HASH, () => {})],
  ["indexedDbDedupCache without IndexedDB", "INVALID_ARGUMENT", () => xb.indexedDbDedupCache().open(hub.url)],
  ["indexedDbDedupCache with maxBytes 0", "INVALID_ARGUMENT", () => xb.indexedDbDedupCache({ maxBytes: 0 })],
  ["directoryDedupCache of an empty path", "INVALID_ARGUMENT", () => xb.directoryDedupCache("")],
  ["directoryDedupCache with a negative maxBytes", "INVALID_ARGUMENT", () => xb.directoryDedupCache(dir, { maxBytes: -1 })],
  ["directoryDedupCache below a file", "LOCAL_IO", () => xb.directoryDedupCache(join(dir, "file.bin")).open(hub.url)],
  [
    "uploadFiles with a cache that is no store",
    "INVALID_ARGUMENT",
    () => xb.uploadFiles({ repo: REPO, files: [{ path: "c", content: new Uint8Array(1) }], cache: 5 as never, ...opts }),
  ],
  ["initCoreSync of a string", "INVALID_ARGUMENT", () => xb.initCoreSync("x" as never)],
  // The Hub and the network
  ["an unreachable hub", "NETWORK", () => xb.bucketInfo(BUCKET, { ...opts, hubUrl: "http://127.0.0.1:9" })],
  [
    "a fetch that throws a TypeError",
    "NETWORK",
    () =>
      xb.bucketInfo(BUCKET, {
        ...opts,
        fetch: async () => {
          throw new TypeError("fetch failed");
        },
      }),
  ],
  ["an answer that is not JSON", "PROTOCOL", () => xb.bucketInfo(BUCKET, { ...opts, fetch: answering("<html>") })],
  [
    "an answer that is not UTF-8",
    "PROTOCOL",
    () => xb.bucketInfo(BUCKET, { ...opts, fetch: answering(new Uint8Array([0x22, 0xff, 0x22])) }),
  ],
  ["a listing that is not an array", "PROTOCOL", () => xb.listBuckets({ ...opts, fetch: answering("{}") })],
  ["a missing bucket", "BUCKET_NOT_FOUND", () => xb.bucketInfo("alice/no-such-bucket", opts)],
  ["watchBucket of a missing bucket", "BUCKET_NOT_FOUND", () => xb.watchBucket("alice/no-such-bucket", opts)],
  ["a feed that is not an event stream", "EVENTS_UNAVAILABLE", () => xb.watchBucket(BUCKET, { ...opts, fetch: answering("{}") })],
  ["listFiles of a missing model (a bare id)", "REPO_NOT_FOUND", () => xb.listFiles({ repo: BUCKET, ...opts })],
  [
    "copyFiles from a missing model",
    "REPO_NOT_FOUND",
    () => xb.copyFiles({ destination: REPO, files: [{ source: { repo: "alice/model", path: "w" }, destinationPath: "w" }], ...opts }),
  ],
  [
    "uploadFiles into a missing dataset",
    "REPO_NOT_FOUND",
    () => xb.uploadFiles({ repo: "datasets/alice/no-such-dataset", files: [{ path: "d", content: new Uint8Array(1) }], ...opts }),
  ],
  ["a missing revision of a model", "REVISION_NOT_FOUND", () => xb.listFiles({ repo: MODEL, revision: "no-such-branch", ...opts })],
  ["an existing model", "CONFLICT", () => xb.createRepo({ repo: MODEL, ...opts })],
  ["a missing file", "ENTRY_NOT_FOUND", () => xb.getBucketFileMetadata(BUCKET, "no/such/file", opts)],
  [
    "a copy of a missing file",
    "ENTRY_NOT_FOUND",
    () => xb.copyFile({ source: { repo: REPO, path: "no-file" }, destination: { repo: REPO, path: "x" }, ...opts }),
  ],
  ["a wrong token", "UNAUTHORIZED", () => xb.createBucket("alice/x-token", { ...opts, accessToken: "hf_wrong_token_123" })],
  ["a read token that writes", "FORBIDDEN", () => xb.createBucket("alice/x-read", { ...opts, accessToken: hub.users.alice.readToken })],
  ["an existing bucket", "CONFLICT", () => xb.createBucket(BUCKET, opts)],
  ["a delete of a missing file", "BATCH_FAILED", () => xb.deleteFile({ repo: REPO, path: "no-such-file", ...opts })],
  [
    "an http URL content that cannot be fetched",
    "NETWORK",
    () => xb.uploadFiles({ repo: REPO, files: [{ path: "u", content: new URL("http://127.0.0.1:9/x") }], ...opts }),
  ],
  // Local data
  [
    "uploadFiles of a missing local file",
    "FILE_NOT_FOUND",
    () => xb.uploadFiles({ repo: REPO, files: [{ path: "m", content: join(dir, "missing") }], ...opts }),
  ],
  ["xetHash of a missing local file", "FILE_NOT_FOUND", () => xb.xetHash(join(dir, "missing"))],
  ["xetHashFiles of a missing local file", "FILE_NOT_FOUND", () => xb.xetHashFiles([join(dir, "missing")], { workers: 0 })],
  ["xetHash of a directory", "LOCAL_IO", () => xb.xetHash(dir)],
  ["a download below a file", "LOCAL_IO", () => xb.downloadBucketFiles(BUCKET, [["dir/a.txt", join(dir, "file.bin", "a.txt")]], opts)],
  [
    "a resumeDir that is a file",
    "LOCAL_IO",
    () => xb.uploadFiles({ repo: REPO, files: [{ path: "r", content: new Uint8Array(5) }], resumeDir: join(dir, "file.bin"), ...opts }),
  ],
  ["a stream that errors", "READ_FAILED", () => xb.xetHash(new ReadableStream({ pull: (c) => c.error(new TypeError("boom")) }))],
  [
    "an iterable that throws",
    "READ_FAILED",
    () =>
      xb.xetHash(
        (function* () {
          yield new Uint8Array(1);
          throw new RangeError("boom");
        })(),
      ),
  ],
  [
    "a Blob that cannot be read",
    "READ_FAILED",
    () => xb.uploadFiles({ repo: REPO, files: [{ path: "b", content: unreadableBlob() }], ...opts }),
  ],
  ["a folder opened as a file", "IS_A_DIRECTORY", () => new xb.BucketFileSystem(opts).readFile(`hf://${REPO}/dir`)],
  [
    "a sync that would delete everything",
    "SYNC_REFUSED",
    () => xb.syncBucket(join(dir, "empty"), `hf://${REPO}/dir`, { ...opts, delete: true }),
  ],
  ["UploadWorker without Web Workers", "NO_WORKERS", () => new UploadWorker()],
  // xet-buckets/core
  ["hexToRaw of bad hex", "INVALID_HEX", () => hexToRaw("zz")],
  ["parseShard of garbage", "TRUNCATED", () => parseShard(new Uint8Array(10))],
  ["parseXorb of garbage", "TRUNCATED", () => parseXorb(new Uint8Array(3), ZERO_HASH)],
  // The local hub's startLocalHub
  ["startLocalHub on port -1", "INVALID_ARGUMENT", () => startLocalHub({ port: -1 })],
  ["startLocalHub with an unknown dedupAnswer", "INVALID_ARGUMENT", () => startLocalHub({ dedupAnswer: "all" as never })],
  ["startLocalHub with a user named me", "INVALID_ARGUMENT", () => startLocalHub({ users: [{ name: "me", token: "hf_me_token_123" }] })],
  ["startLocalHub on a used data directory", "DATA_DIR_IN_USE", () => startLocalHub({ dataDir: hub.dataDir })],
  ["startLocalHub on a used port", "HUB_START_FAILED", () => startLocalHub({ port: Number(new URL(hub.url).port) })],
  ["the hub command with an unknown option", "USAGE", () => parseServeArgs(["--bogus"])],
];

/** A Blob whose reads fail (like a File deleted or changed since it was picked). */
function unreadableBlob(): Blob {
  class Unreadable extends Blob {
    override slice(): Blob {
      return this;
    }
    override arrayBuffer(): Promise<ArrayBuffer> {
      return Promise.reject(new DOMException("the file could not be read", "NotReadableError"));
    }
  }
  return new Unreadable([new Uint8Array(10)]);
}

describe("every public call fails with a typed error", () => {
  for (const [name, code, call] of cases) {
    it(`${name} → ${code}`, async () => {
      await expectCode(call, code);
    });
  }

  it("a timeout is a NetworkError (TIMEOUT)", async () => {
    const hang: typeof fetch = (_url, init) =>
      new Promise((_resolve, reject) => init?.signal?.addEventListener("abort", () => reject(init.signal!.reason)));
    const err = await expectCode(
      () => xb.bucketInfo(BUCKET, { ...opts, fetch: hang, retry: { maxAttempts: 1, attemptTimeoutMs: 50 } }),
      "TIMEOUT",
    );
    assert.ok(err instanceof xb.NetworkError);
  });

  it("an abort rejects with the caller's reason, not a wrapped error", async () => {
    const ctl = new AbortController();
    const reason = new Error("stop here");
    ctl.abort(reason);
    assert.equal(
      await failure(() =>
        xb.uploadFiles({ repo: REPO, files: [{ path: "z", content: new Uint8Array(9) }], abortSignal: ctl.signal, ...opts }),
      ),
      reason,
    );
    assert.equal(
      await failure(() => xb.xetHash(new ReadableStream({ pull: () => new Promise(() => {}) }), { abortSignal: ctl.signal })),
      reason,
    );
    const plain = new AbortController();
    plain.abort();
    const err = await failure(() => xb.bucketInfo(BUCKET, { ...opts, abortSignal: plain.signal }));
    assert.ok(err instanceof DOMException && err.name === "AbortError");
  });
});
