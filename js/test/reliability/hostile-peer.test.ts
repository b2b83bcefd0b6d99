/**
 * The client facing a hostile or broken Hub/CAS: answers of the real local hub rewritten on their way
 * (fault proxy `rewrite`) into malformed reconstruction JSON, negative / huge / non-integer numbers,
 * ranges outside the xorb, unpacked_length mismatches, non-http(s) fetch URLs, broken multipart bodies,
 * foreign xorb data, malformed tokens, listings and paths-info entries with bad sizes, hashes or
 * traversal paths, bad dedup shards (random, truncated, forged), non-JSON xorb and batch answers, and
 * broken shard NDJSON streams.
 *
 * Every case ends with a typed error (XetBucketsError: ProtocolError, IntegrityError, XetCoreError,
 * HubApiError, NetworkError...) — or, where the input only costs an optimisation (a bad dedup answer), a
 * verified success — within a time limit, with no partial file written (no target, no temporary file,
 * nothing outside the destination) and nothing registered that does not verify. The scripted peer is only
 * ever hostile: normal behaviour is tested against the real hub elsewhere.
 */
import assert from "node:assert/strict";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { downloadFileToPath } from "../../src/api/download.js";
import { uploadFiles } from "../../src/api/upload.js";
import { Chunker, DedupShardBuilder, initCore } from "../../src/core/index.js";
import { XetBucketsError } from "../../src/errors.js";
import { syncBucket } from "../../src/sync/index.js";
import { startFaultProxy, type FaultProxy, type FaultRule, type ProxyAnswer } from "../helpers/faults.js";
import { ALICE, listTree, newBucket, resolveBytes, startTestHub, type TestHub } from "../helpers/hub.js";
import { seededBytes } from "../helpers/data.mjs";
import { listFilesRec } from "../helpers/files.js";
import { saveSuiteReport } from "../helpers/reports.js";

const RETRY = { maxAttempts: 2, baseDelayMs: 5, maxDelayMs: 20, attemptTimeoutMs: 3000, budgetMs: 10_000 };
const CASE_TIMEOUT_MS = 30_000;

let hub: TestHub;
let proxy: FaultProxy;
let work: string;
let bucket: string;
const F = seededBytes(600_000, 4242);
const tally: Record<string, { tried: number; rejected: number; harmless: number }> = {};

before(async () => {
  await initCore();
  hub = await startTestHub();
  proxy = await startFaultProxy(hub.url);
  work = mkdtempSync(join(tmpdir(), "xet-hostile-"));
  bucket = await newBucket(hub, "hostile");
  await uploadFiles({
    repo: `buckets/${bucket}`,
    hubUrl: hub.url,
    accessToken: ALICE.token,
    files: [
      { path: "f.bin", content: F },
      { path: "d/g.bin", content: seededBytes(200_000, 4343) },
    ],
    maxXorbBytes: 256 * 1024,
  });
});
after(async () => {
  await proxy.close();
  await hub.close();
  rmSync(work, { recursive: true, force: true });
  const total = Object.values(tally).reduce(
    (a, t) => ({ tried: a.tried + t.tried, rejected: a.rejected + t.rejected, harmless: a.harmless + t.harmless }),
    { tried: 0, rejected: 0, harmless: 0 },
  );
  saveSuiteReport({ suite: "hostile-peer", byKind: tally, ...total });
});

/** A JSON answer transformed by `fn` (only 2xx answers; others pass unchanged). */
function json(fn: (o: any) => unknown): (a: ProxyAnswer) => { body: string; status?: number } {
  return (a) => {
    if (a.status >= 300) return { body: a.body.toString("latin1"), status: a.status };
    return { body: typeof fn === "function" ? JSON.stringify(fn(JSON.parse(a.body.toString("utf8")))) : "" };
  };
}

function withTimeout<T>(p: Promise<T>, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout>;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`HANG: ${what} did not end within ${CASE_TIMEOUT_MS} ms`)), CASE_TIMEOUT_MS);
    }),
  ]);
}

interface Case {
  name: string;
  rules: FaultRule[];
  /** Error class name (or code) expected; "harmless" allows a verified success too. */
  expect?: string | RegExp;
  harmless?: boolean;
}

/** Runs one download case: a typed error (or a verified download when harmless), nothing left behind. */
async function downloadCase(kind: string, c: Case): Promise<void> {
  proxy.clear();
  for (const r of c.rules) proxy.add(r);
  const dir = join(work, `${kind}-${c.name.replace(/\W+/g, "_")}`);
  mkdirSync(dir, { recursive: true });
  const target = join(dir, "out.bin");
  const t = (tally[kind] ??= { tried: 0, rejected: 0, harmless: 0 });
  t.tried++;
  let err: unknown;
  try {
    await withTimeout(
      downloadFileToPath({
        repo: `buckets/${bucket}`,
        path: "f.bin",
        localPath: target,
        hubUrl: proxy.url,
        accessToken: ALICE.token,
        retry: RETRY,
      }),
      `${kind}: ${c.name}`,
    );
  } catch (e) {
    err = e;
  } finally {
    proxy.clear();
  }
  if (err === undefined) {
    assert.ok(c.harmless, `${kind}: ${c.name}: the download succeeded on hostile input`);
    const { readFileSync } = await import("node:fs");
    assert.ok(Buffer.from(readFileSync(target)).equals(Buffer.from(F)), `${kind}: ${c.name}: verified`);
    t.harmless++;
  } else {
    assert.ok(
      err instanceof XetBucketsError,
      `${kind}: ${c.name}: untyped error ${(err as Error)?.name}: ${(err as Error)?.message}\n${(err as Error)?.stack}`,
    );
    if (c.expect) {
      const label = `${err.name} ${err.code}`;
      assert.ok(
        typeof c.expect === "string" ? label.includes(c.expect) : c.expect.test(label),
        `${kind}: ${c.name}: expected ${c.expect}, got ${label}: ${err.message}`,
      );
    }
    assert.deepEqual(readdirSync(dir), [], `${kind}: ${c.name}: nothing written (no target, no temporary file)`);
    t.rejected++;
  }
}

describe("downloads", () => {
  const R = "/v2/reconstructions/";
  const recon = (name: string, fn: (o: any) => unknown, expect?: string | RegExp): Case => ({
    name,
    rules: [{ path: R, action: "rewrite", rewrite: json(fn) }],
    expect,
  });
  const firstRange = (o: any) => (Object.values(o.xorbs)[0] as any[])[0].ranges[0];
  const cases: Case[] = [
    {
      name: "not JSON",
      rules: [{ path: R, action: "rewrite", rewrite: () => ({ body: "<html>502 Bad Gateway</html>" }) }],
      expect: "ProtocolError",
    },
    recon("null", () => null, "ProtocolError"),
    recon("terms not an array", (o) => ({ ...o, terms: "all of them" }), "ProtocolError"),
    recon("xorbs missing", (o) => ({ ...o, xorbs: undefined }), "ProtocolError"),
    recon("term hash not hex", (o) => ((o.terms[0].hash = "../../etc/passwd"), o)),
    recon("negative chunk index", (o) => ((o.terms[0].range.start = -1), o), "ProtocolError"),
    recon("non-integer chunk index", (o) => ((o.terms[0].range.end = 1.5), o), "ProtocolError"),
    recon("huge unpacked_length", (o) => ((o.terms[0].unpacked_length = 1e300), o), "ProtocolError"),
    recon("unpacked_length 2^53 + 2", (o) => ((o.terms[0].unpacked_length = 2 ** 53 + 2), o), "ProtocolError"),
    recon("unpacked_length + 1", (o) => ((o.terms[0].unpacked_length += 1), o), /IntegrityError|ProtocolError/),
    recon("unpacked_length - 1", (o) => ((o.terms[0].unpacked_length -= 1), o), /IntegrityError|ProtocolError/),
    recon("huge offset_into_first_range", (o) => ({ ...o, offset_into_first_range: 2 ** 53 }), /ProtocolError|IntegrityError/),
    recon("negative offset_into_first_range", (o) => ({ ...o, offset_into_first_range: -5 }), "ProtocolError"),
    recon("byte range past the xorb", (o) => ((firstRange(o).bytes.end += 1_000_000), o)),
    recon("byte range reversed", (o) => ((firstRange(o).bytes.start = firstRange(o).bytes.end + 1), o), "ProtocolError"),
    recon("chunk range not covering the term", (o) => ((o.terms[0].range.end += 1), o)),
    recon("no terms for a non-empty file", (o) => ({ ...o, terms: [] }), /IntegrityError|ProtocolError/),
    recon("terms in the wrong order", (o) => ((o.terms = [...o.terms].reverse()), o), /IntegrityError/),
    recon("a term repeated", (o) => ((o.terms = [...o.terms, o.terms[0]]), o), /IntegrityError/),
    recon("fetch URL file:", (o) => (((Object.values(o.xorbs)[0] as any[])[0].url = "file:///etc/passwd"), o), "ProtocolError"),
    recon(
      "fetch URL data:",
      (o) => (((Object.values(o.xorbs)[0] as any[])[0].url = "data:application/octet-stream;base64,AAAAAAAAAAA="), o),
      "ProtocolError",
    ),
    recon("fetch URL javascript:", (o) => (((Object.values(o.xorbs)[0] as any[])[0].url = "javascript:alert(1)"), o), "ProtocolError"),
    recon("fetch URL unreachable", (o) => (((Object.values(o.xorbs)[0] as any[])[0].url = "http://127.0.0.1:1/x"), o), "NetworkError"),
    recon("fetch URL not a string", (o) => (((Object.values(o.xorbs)[0] as any[])[0].url = 42), o), "ProtocolError"),
  ];
  for (const c of cases) it(`reconstruction: ${c.name}`, () => downloadCase("reconstruction JSON", c));

  const fetchCases: Case[] = [
    { name: "empty 206 body", rules: [{ path: "/fetch/", action: "rewrite", rewrite: (a) => ({ body: "", headers: a.headers }) }] },
    {
      name: "random bytes of the same length",
      rules: [{ path: "/fetch/", action: "rewrite", rewrite: (a) => ({ body: seededBytes(a.body.length, 9), headers: a.headers }) }],
      expect: /IntegrityError|XetCoreError|ProtocolError/,
    },
    {
      name: "the records of another file (valid records, foreign chunks)",
      rules: [{ path: "/fetch/", action: "rewrite", rewrite: (a) => ({ body: foreignRecords(a.body.length), headers: a.headers }) }],
      expect: /IntegrityError|XetCoreError|ProtocolError/,
    },
    {
      name: "200 with the range bytes (no Content-Range)",
      rules: [
        {
          path: "/fetch/",
          action: "rewrite",
          rewrite: (a) => ({ status: 200, body: a.body, headers: { "content-type": "application/octet-stream" } }),
        },
      ],
      harmless: true,
    },
    {
      name: "Content-Range with absurd numbers",
      rules: [
        {
          path: "/fetch/",
          action: "rewrite",
          rewrite: (a) => ({ body: a.body, headers: { ...a.headers, "content-range": "bytes 0-99999999999999999999/1" } }),
        },
      ],
      harmless: true,
    },
    {
      name: "multipart: wrong boundary",
      rules: [
        {
          path: "/fetch/",
          action: "rewrite",
          rewrite: (a) => ({ body: a.body, headers: { ...a.headers, "content-type": "multipart/byteranges; boundary=nope" } }),
        },
      ],
      expect: /ProtocolError|IntegrityError|XetCoreError/,
    },
    {
      name: "multipart: closing boundary cut off",
      rules: [
        {
          path: "/fetch/",
          action: "rewrite",
          rewrite: (a) => ({
            body: a.headers["content-type"]?.startsWith("multipart")
              ? a.body.subarray(0, a.body.length - 20)
              : a.body.subarray(0, a.body.length - 1),
            headers: a.headers,
          }),
        },
      ],
      expect: /ProtocolError|IntegrityError|XetCoreError/,
    },
    {
      name: "body longer than asked",
      rules: [
        {
          path: "/fetch/",
          action: "rewrite",
          rewrite: (a) => ({ body: Buffer.concat([a.body, seededBytes(5000, 3)]), headers: a.headers }),
        },
      ],
      harmless: true,
    },
  ];
  for (const c of fetchCases) it(`fetch URL: ${c.name}`, () => downloadCase("xorb fetch", c));

  const token = (name: string, body: unknown): Case => ({
    name,
    rules: [
      {
        path: "/xet-read-token",
        action: "rewrite",
        rewrite: () => ({ body: typeof body === "string" ? body : JSON.stringify(body), headers: { "content-type": "application/json" } }),
      },
    ],
    expect: "ProtocolError",
  });
  for (const c of [
    token("not JSON", "accessToken=abc"),
    token("empty object", {}),
    token("casUrl javascript:", { accessToken: "t", casUrl: "javascript:alert(1)", exp: 2e9 }),
    token("casUrl not a string", { accessToken: "t", casUrl: 7, exp: 2e9 }),
    token("exp a string", { accessToken: "t", casUrl: "http://127.0.0.1:1", exp: "soon" }),
    token("accessToken with a newline (header injection)", { accessToken: "t\r\nX-Evil: 1", casUrl: hubPlaceholder(), exp: 2e9 }),
  ]) {
    it(`read token: ${c.name}`, () => downloadCase("xet token", c));
  }

  const info = (name: string, fn: (e: any) => unknown): Case => ({
    name,
    rules: [{ path: "/paths-info", action: "rewrite", rewrite: json((arr: any[]) => arr.map(fn)) }],
    expect: "ProtocolError",
  });
  for (const c of [
    info("xetHash not hex", (e) => ({ ...e, xetHash: "zz" })),
    info("xetHash with a path in it", (e) => ({ ...e, xetHash: "../../../../etc/passwd" })),
    info("negative size", (e) => ({ ...e, size: -5 })),
    info("huge size", (e) => ({ ...e, size: 1e300 })),
    info("non-integer size", (e) => ({ ...e, size: 10.5 })),
    info("size as a string", (e) => ({ ...e, size: "600000" })),
    {
      name: "not an array",
      rules: [{ path: "/paths-info", action: "rewrite", rewrite: json(() => ({ files: [] })) }],
      expect: "ProtocolError",
    } as Case,
  ]) {
    it(`paths-info: ${c.name}`, () => downloadCase("paths-info", c));
  }
});

/** Placeholder replaced at run time (the hub's URL is only known after `before`). */
function hubPlaceholder(): string {
  return "http://127.0.0.1:9";
}

/** Valid chunk records of unrelated data, padded or cut to `n` bytes. */
function foreignRecords(n: number): Buffer {
  // A record: version 0, u24 compressed length, scheme 0 (none), u24 length, then the bytes.
  const parts: Buffer[] = [];
  let size = 0;
  while (size < n) {
    const len = Math.min(4096, Math.max(1, n - size - 8));
    const h = Buffer.alloc(8);
    h.writeUIntLE(len, 1, 3);
    h.writeUIntLE(len, 5, 3);
    parts.push(h, Buffer.from(seededBytes(len, size + 1)));
    size += 8 + len;
  }
  return Buffer.concat(parts).subarray(0, n);
}

describe("sync from a hostile listing", () => {
  // Found by a 1000-run campaign (seed 99): a byte flipped inside a path of a listing decoded to U+FFFD,
  // and sync-down wrote the file under that mangled name, reporting success. Invalid UTF-8 is corruption.
  it("a listing whose bytes are not valid UTF-8 (a flipped byte in a path) is refused; nothing is written", async () => {
    const t = (tally["listing (traversal)"] ??= { tried: 0, rejected: 0, harmless: 0 });
    t.tried++;
    proxy.clear();
    proxy.add({
      path: "/tree",
      action: "rewrite",
      rewrite: (a) => {
        const body = Buffer.from(a.body);
        const at = body.indexOf("g.bin");
        if (at >= 0) body[at + 1] ^= 0xff; // "." → 0xd1, a lead byte without its continuation
        return { body, headers: a.headers };
      },
    });
    const dest = join(work, "sync-bad-utf8");
    let err: unknown;
    try {
      await withTimeout(
        syncBucket(`hf://buckets/${bucket}/d`, dest, { hubUrl: proxy.url, accessToken: ALICE.token, retry: RETRY }),
        "invalid UTF-8",
      );
    } catch (e) {
      err = e;
    } finally {
      proxy.clear();
    }
    assert.ok(err instanceof XetBucketsError && err.code === "PROTOCOL", `ProtocolError expected, got ${String(err)}`);
    assert.deepEqual(listFilesRec(dest), []);
    t.rejected++;
  });

  for (const [name, bad] of [
    ["a path with ..", "d/../../escape.bin"],
    ["an absolute path", "d//etc/escape.bin"],
    ["a deep .. path", "d/sub/../../../escape.bin"],
    ["a backslash path", "d/..\\..\\escape.bin"],
    ["a NUL byte", "d/esc\u0000ape.bin"],
  ] as const) {
    it(`a tree entry with ${name} is refused; nothing is written outside the destination`, async () => {
      const t = (tally["listing (traversal)"] ??= { tried: 0, rejected: 0, harmless: 0 });
      t.tried++;
      proxy.clear();
      proxy.add({ path: "/tree", action: "rewrite", rewrite: json((arr: any[]) => [...arr, { ...arr[0], path: bad }]) });
      const root = join(work, `sync-${name.replace(/\W+/g, "_")}`);
      const dest = join(root, "inner", "dest");
      mkdirSync(join(root, "inner"), { recursive: true });
      let err: unknown;
      try {
        await withTimeout(
          syncBucket(`hf://buckets/${bucket}/d`, dest, { hubUrl: proxy.url, accessToken: ALICE.token, retry: RETRY }),
          name,
        );
      } catch (e) {
        err = e;
      } finally {
        proxy.clear();
      }
      assert.ok(err instanceof XetBucketsError, `typed error, got ${String(err)}`);
      assert.deepEqual(
        listFilesRec(root).filter((p) => !p.startsWith("inner/dest/")),
        [],
        "nothing outside the destination",
      );
      assert.ok(!existsSync(join(root, "escape.bin")) && !existsSync("/etc/escape.bin"));
      t.rejected++;
    });
  }
});

let uploadSeed = 0;

describe("uploads", () => {
  /** One upload case: the outcome, and the bucket's listing must verify whatever happened. */
  async function uploadCase(kind: string, c: Case & { files?: Array<{ path: string; content: Uint8Array }> }): Promise<void> {
    const b = await newBucket(hub, "hostile-up");
    // Fresh data for every case: data stored by an earlier case would be deduplicated and never sent.
    const files = c.files ?? [{ path: "a.bin", content: seededBytes(400_000, 6000 + ++uploadSeed) }];
    proxy.clear();
    for (const r of c.rules) proxy.add(r);
    const t = (tally[kind] ??= { tried: 0, rejected: 0, harmless: 0 });
    t.tried++;
    let err: unknown;
    try {
      await withTimeout(
        uploadFiles({ repo: `buckets/${b}`, hubUrl: proxy.url, accessToken: ALICE.token, files, retry: RETRY, maxXorbBytes: 256 * 1024 }),
        `${kind}: ${c.name}`,
      );
    } catch (e) {
      err = e;
    } finally {
      proxy.clear();
    }
    const listing = await listTree(hub.url, b);
    for (const e of listing) {
      const want = files.find((f) => f.path === e.path);
      assert.ok(want, `${kind}: ${c.name}: unexpected path ${e.path}`);
      assert.ok(
        Buffer.from(await resolveBytes(hub.url, b, e.path)).equals(Buffer.from(want.content)),
        `${kind}: ${c.name}: ${e.path} verifies`,
      );
    }
    if (err === undefined) {
      assert.ok(c.harmless, `${kind}: ${c.name}: succeeded on hostile input`);
      assert.equal(listing.length, files.length);
      t.harmless++;
    } else {
      assert.ok(err instanceof XetBucketsError, `${kind}: ${c.name}: untyped error ${(err as Error)?.name}: ${(err as Error)?.message}`);
      if (c.expect) {
        const label = `${err.name} ${err.code}`;
        assert.ok(
          typeof c.expect === "string" ? label.includes(c.expect) : c.expect.test(label),
          `${kind}: ${c.name}: expected ${c.expect}, got ${label}: ${err.message}`,
        );
      }
      t.rejected++;
    }
  }

  const dedup = (name: string, body: (a: ProxyAnswer) => Uint8Array | string): Case => ({
    name,
    rules: [
      {
        path: "/v1/chunks/",
        action: "rewrite",
        rewrite: (a) => ({ status: 200, body: body(a), headers: { "content-type": "application/octet-stream" } }),
      },
    ],
    harmless: true,
  });
  for (const c of [
    dedup("random bytes", () => seededBytes(3000, 1)),
    dedup("empty body", () => ""),
    dedup("a shard cut in the middle", () => validDedupShard().subarray(0, 200)),
    dedup("a shard whose xorb claims 2^32 - 1 chunks", () => {
      const s = Buffer.from(validDedupShard());
      s.writeUInt32LE(0xffffffff, 48 + 48 + 36);
      return s;
    }),
    dedup("a shard with every count byte flipped", () =>
      Buffer.from(validDedupShard()).map((x, i) => (i % 48 >= 32 && i % 48 < 40 ? x ^ 0xff : x)),
    ),
    // Found by fuzzing (tests/fuzz_regressions.rs): a xorb listing one chunk twice aborted the core.
    dedup("a xorb listing the same chunk twice", () => {
      const b = new DedupShardBuilder();
      const h = seededBytes(32, 11);
      b.addXorb("ef".repeat(32), Buffer.concat([h, seededBytes(32, 12), h]), new Uint32Array([100, 50, 100]), 274);
      return b.finish(new Uint8Array(32).fill(3), 1, 4e9);
    }),
  ]) {
    it(`dedup answer: ${c.name} → a miss, the upload completes and verifies`, () => uploadCase("dedup shard", c));
  }

  it("dedup answer: a forged shard claiming our chunks in a xorb the CAS lacks → typed error at the shard, nothing registered", async () => {
    const content = seededBytes(400_000, 5151); // never uploaded by another case
    const c = new Chunker();
    const chunks = [...c.update(content), ...c.finish()];
    c.free();
    const b = new DedupShardBuilder();
    const hashes = Buffer.concat(chunks.map((x) => Buffer.from(x.hashRaw)));
    b.addXorb("ab".repeat(32), hashes, new Uint32Array(chunks.map((x) => x.length)), content.length + 8 * chunks.length);
    const forged = b.finish(undefined, 1, 4e9);
    await uploadCase("dedup shard", {
      name: "forged",
      rules: [
        {
          path: "/v1/chunks/",
          action: "rewrite",
          rewrite: () => ({ status: 200, body: forged, headers: { "content-type": "application/octet-stream" } }),
        },
      ],
      files: [{ path: "a.bin", content }],
      expect: "HubApiError",
    });
  });

  it("xorb answer: 200 with a body that is not JSON → ProtocolError, nothing registered", () =>
    uploadCase("xorb answer", {
      name: "html",
      rules: [{ path: "/v1/xorbs/", method: "POST", action: "rewrite", rewrite: () => ({ body: "<html>ok</html>" }) }],
      expect: "ProtocolError",
    }));

  for (const [name, body, expect] of [
    ["garbage lines", "not json at all\n", "ProtocolError"],
    ["progress only, no terminal event", '{"type":"validating","verified":0,"total":1}\n', /NetworkError|XetBucketsError/],
    ["an unknown type only", '{"type":"surprise"}\n', /NetworkError|XetBucketsError/],
    ["a terminal error event", '{"type":"error","message":"nope","retryable":false}\n', "SHARD_REJECTED"],
    ["a JSON array line", "[1,2,3]\n", /ProtocolError|NetworkError|XetBucketsError/],
  ] as const) {
    it(`shard stream: ${name} → typed error, nothing registered`, () =>
      uploadCase("shard NDJSON stream", {
        name,
        rules: [
          {
            path: "/v2/shards",
            method: "POST",
            action: "rewrite",
            rewrite: () => ({ body, headers: { "content-type": "application/x-ndjson" } }),
          },
        ],
        expect,
      }));
  }

  it("batch answer: 200 with a body that is not JSON → ProtocolError (the files verify if the hub applied it)", () =>
    uploadCase("batch answer", {
      name: "html",
      rules: [{ path: "/batch", method: "POST", action: "rewrite", rewrite: () => ({ body: "<html>ok</html>" }) }],
      expect: "ProtocolError",
    }));

  it("batch answer: 200 listing our path as failed → BatchError", () =>
    uploadCase("batch answer", {
      name: "failed",
      rules: [
        {
          path: "/batch",
          method: "POST",
          action: "rewrite",
          rewrite: () => ({
            body: JSON.stringify({ success: false, processed: 1, succeeded: 0, failed: [{ path: "a.bin", error: "refused by policy" }] }),
          }),
        },
      ],
      expect: "BatchError",
    }));

  for (const [name, body] of [
    ["not JSON", "ok"],
    ["casUrl ftp:", JSON.stringify({ accessToken: "t", casUrl: "ftp://127.0.0.1/", exp: 2e9 })],
    ["exp missing", JSON.stringify({ accessToken: "t", casUrl: "http://127.0.0.1:9" })],
  ] as const) {
    it(`write token: ${name} → ProtocolError before anything is read or sent`, () =>
      uploadCase("xet token", {
        name,
        rules: [
          { path: "/xet-write-token", action: "rewrite", rewrite: () => ({ body, headers: { "content-type": "application/json" } }) },
        ],
        expect: "ProtocolError",
      }));
  }
});

let dedupShardCache: Uint8Array | undefined;
function validDedupShard(): Uint8Array {
  if (!dedupShardCache) {
    const b = new DedupShardBuilder();
    b.addXorb("cd".repeat(32), seededBytes(64, 7), new Uint32Array([100, 200]), 316);
    dedupShardCache = b.finish(undefined, 1, 4e9);
  }
  return dedupShardCache;
}
