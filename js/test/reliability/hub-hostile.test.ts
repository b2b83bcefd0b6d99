/**
 * The local hub facing hostile clients (complementing js/test/server/*): oversized bodies with and without
 * Content-Length (413), bodies shorter than announced, hand-crafted malformed xorbs (bad version, scheme,
 * lengths, LZ4 garbage, zero-length or too many chunks, a stored footer), malformed shards (tag, version,
 * counts, missing bookends, flags without their records, ranges), hostile NDJSON batches (deep nesting,
 * huge lines, BOM, numbers, wrong types), path traversal through every URL form, and wrong / expired /
 * forged / mis-scoped tokens. Every request gets a 4xx (never a 5xx, never a hang) and the store (every
 * table row and every xorb file) is unchanged. The counts go to RELIABILITY.md.
 */
import assert from "node:assert/strict";
import http from "node:http";
import { after, before, describe, it } from "node:test";
import * as core from "../../src/core/index.js";
import { call, casToken, postBucket, startTestHub, TEST_USERS, type TestHub } from "../helpers/hub.js";
import { buildUpload, pushUpload } from "../helpers/cas.js";
import { seededBytes } from "../helpers/data.mjs";
import { snapshot } from "../helpers/hub-state.js";
import { saveSuiteReport } from "../helpers/reports.js";

const { alice, bob } = TEST_USERS;
const LIMITS = { xorb: 2 * 1024 * 1024, shard: 256 * 1024, json: 64 * 1024, ndjson: 256 * 1024 };

let hub: TestHub;
let clockOffset = 0;
let writeTok: string;
let readTok: string;
let good: Awaited<ReturnType<typeof buildUpload>>;
const tally: Record<string, { tried: number; rejected: number }> = {};

before(async () => {
  await core.initCore();
  hub = await startTestHub({ limits: LIMITS, now: () => Date.now() + clockOffset, casTokenTtlSeconds: 600 });
  await postBucket(hub, "alice/h", alice.token);
  await postBucket(hub, "bob/private", bob.token, { private: true });
  writeTok = await casToken(hub, "alice/h", alice.token, "write");
  readTok = await casToken(hub, "alice/h", alice.token, "read");
  // A stored file, so that some hostile requests aim at real data.
  good = await buildUpload([seededBytes(300_000, 1)], { maxXorbBytes: 256 * 1024 });
  await pushUpload(hub, writeTok, good);
  const reg = await call(hub, "POST", "/api/buckets/alice/h/batch", {
    token: alice.token,
    body: `${JSON.stringify({ type: "addFile", path: "data/file.bin", xetHash: good.files[0]!.hash })}\n`,
    headers: { "Content-Type": "application/x-ndjson" },
  });
  assert.equal(reg.status, 200, reg.text);
});
after(async () => {
  await hub.close();
  const total = Object.values(tally).reduce((a, t) => ({ tried: a.tried + t.tried, rejected: a.rejected + t.rejected }), {
    tried: 0,
    rejected: 0,
  });
  saveSuiteReport({ suite: "hub-hostile", byKind: tally, ...total });
});

/** Sends every case; each must get a 4xx in `statuses` (default any 4xx); the store must not change. */
async function expectRefused(
  kind: string,
  cases: Array<[string, () => Promise<{ status: number; text?: string }>, number[]?]>,
): Promise<void> {
  const before = snapshot(hub.dataDir);
  const t = (tally[kind] ??= { tried: 0, rejected: 0 });
  for (const [what, send, statuses] of cases) {
    t.tried++;
    const res = await send();
    const ok = statuses ? statuses.includes(res.status) : res.status >= 400 && res.status < 500;
    assert.ok(ok, `${kind}: ${what}: got ${res.status} ${res.text?.slice(0, 300) ?? ""}`);
    t.rejected++;
  }
  assert.equal(snapshot(hub.dataDir), before, `${kind}: the store changed`);
}

/** A raw HTTP request (for bodies without Content-Length, lying lengths and odd request lines). */
function raw(
  path: string,
  opts: { method?: string; headers?: Record<string, string>; chunks?: Uint8Array[]; endEarly?: boolean } = {},
): Promise<{ status: number; text: string }> {
  const u = new URL(hub.url);
  return new Promise((resolve) => {
    const req = http.request({ host: u.hostname, port: u.port, method: opts.method ?? "POST", path, headers: opts.headers }, (res) => {
      const parts: Buffer[] = [];
      res.on("data", (d: Buffer) => parts.push(d));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(parts).toString("utf8") }));
      res.on("error", () => resolve({ status: res.statusCode ?? 0, text: "" }));
    });
    // A server that answers 413 and closes while the body is still being sent: the status is what counts.
    req.on("error", () => resolve({ status: 499, text: "connection closed by the hub" }));
    (async () => {
      for (const c of opts.chunks ?? []) {
        if (!req.write(c)) await new Promise((r) => req.once("drain", r));
      }
      if (opts.endEarly) {
        // Announced more than sent: the client gives up; the hub must not store anything.
        setTimeout(() => req.destroy(), 100);
        setTimeout(() => resolve({ status: 400, text: "client went away (expected)" }), 300);
      } else req.end();
    })().catch(() => undefined);
  });
}

const auth = (t: string) => ({ Authorization: `Bearer ${t}` });

describe("oversized and short bodies", () => {
  it("413 with or without Content-Length on every body kind; a body shorter than announced stores nothing", async () => {
    const big = (n: number) => Array.from({ length: Math.ceil(n / 65536) }, (_, i) => new Uint8Array(Math.min(65536, n - i * 65536)));
    const x = good.xorbs[0]!;
    await expectRefused("oversized body", [
      [
        "xorb, Content-Length above the limit",
        () => call(hub, "POST", `/v1/xorbs/default/${x.hash}`, { token: writeTok, body: new Uint8Array(LIMITS.xorb + 1) }),
        [413],
      ],
      [
        "xorb, chunked past the limit",
        () => raw(`/v1/xorbs/default/${x.hash}`, { headers: auth(writeTok), chunks: big(LIMITS.xorb + 100_000) }),
        [413, 499],
      ],
      [
        "shard, Content-Length above the limit",
        () => call(hub, "POST", "/v1/shards", { token: writeTok, body: new Uint8Array(LIMITS.shard + 1) }),
        [413],
      ],
      [
        "v2 shard, chunked past the limit",
        () => raw("/v2/shards", { headers: auth(writeTok), chunks: big(LIMITS.shard + 100_000) }),
        [413, 499],
      ],
      [
        "paths-info JSON above the limit",
        () =>
          call(hub, "POST", "/api/buckets/alice/h/paths-info", {
            token: alice.token,
            body: { paths: Array(20_000).fill("data/file.bin") },
          }),
        [413],
      ],
      [
        "batch NDJSON, chunked past the limit",
        () =>
          raw("/api/buckets/alice/h/batch", {
            headers: { ...auth(alice.token), "Content-Type": "application/x-ndjson" },
            chunks: big(LIMITS.ndjson + 1000).map((c) => c.fill(0x20)),
          }),
        [413, 499],
      ],
      [
        "bucket creation JSON above the limit",
        () => call(hub, "POST", "/api/buckets/alice/huge", { token: alice.token, body: { private: false, pad: "x".repeat(LIMITS.json) } }),
        [413],
      ],
      ["a 10 MB header", () => raw("/api/buckets/alice/h", { method: "GET", headers: { "X-Pad": "y".repeat(100_000) } }), [431, 400, 499]],
      [
        "xorb shorter than its Content-Length",
        () =>
          raw(`/v1/xorbs/default/${x.hash}`, {
            headers: { ...auth(writeTok), "Content-Length": String(x.data.length) },
            chunks: [x.data.subarray(0, 100)],
            endEarly: true,
          }),
      ],
      [
        "telemetry above 1 MiB",
        () => call(hub, "POST", "/v1/telemetry", { token: writeTok, body: new Uint8Array(1024 * 1024 + 1) }),
        [413],
      ],
    ]);
  });
});

/** One serialized chunk record: header (version, u24 compressed length, scheme, u24 length) + payload. */
function record(payload: Uint8Array, opts: { version?: number; scheme?: number; clen?: number; ulen?: number } = {}): Uint8Array {
  const h = Buffer.alloc(8);
  h[0] = opts.version ?? 0;
  h.writeUIntLE(opts.clen ?? payload.length, 1, 3);
  h[4] = opts.scheme ?? 0;
  h.writeUIntLE(opts.ulen ?? payload.length, 5, 3);
  return Buffer.concat([h, payload]);
}

/** The xorb hash of raw chunks (what a client would put in the URL). */
function xorbHashOf(chunks: Uint8Array[]): string {
  const hashes = Buffer.concat(chunks.map((c) => Buffer.from(core.hexToRaw(core.chunkHash(c)))));
  return core.xorbHashFromChunks(hashes, new Uint32Array(chunks.map((c) => c.length)));
}

describe("malformed xorbs", () => {
  it("every hand-crafted bad xorb is a 400 and stores nothing", async () => {
    const chunk = seededBytes(1000, 7);
    const h = xorbHashOf([chunk]);
    const post =
      (body: Uint8Array, hash = h) =>
      () =>
        call(hub, "POST", `/v1/xorbs/default/${hash}`, { token: writeTok, body });
    // An LZ4 frame header, ten literal bytes where a block should start, and the end mark.
    const lz4 = (d: Uint8Array) => Buffer.from([0x04, 0x22, 0x4d, 0x18, 0x60, 0x40, 0x82, ...d.subarray(0, 10), 0, 0, 0, 0]);
    const tiny = Array.from({ length: 8193 }, (_, i) => new Uint8Array([i & 0xff, i >> 8]));
    const footer = Buffer.concat([Buffer.from("XETBLOB"), Buffer.alloc(200)]);
    await expectRefused("malformed xorb", [
      ["record version 1", post(record(chunk, { version: 1 })), [400]],
      ["unknown compression scheme 7", post(record(chunk, { scheme: 7 })), [400]],
      ["compressed length past the body", post(record(chunk, { clen: 5000 })), [400]],
      ["compressed length above 256 KiB", post(record(chunk, { clen: 300_000 })), [400]],
      ["uncompressed length above 128 KiB", post(record(chunk, { ulen: 200_000 })), [400]],
      ["uncompressed length not matching the payload", post(record(chunk, { ulen: 999 })), [400]],
      ["zero-length chunk", post(record(new Uint8Array(0))), [400]],
      ["LZ4 scheme with garbage", post(record(seededBytes(500, 3), { scheme: 1, ulen: 1000 })), [400]],
      ["BG4 scheme with garbage", post(record(seededBytes(500, 4), { scheme: 2, ulen: 1000 })), [400]],
      ["an LZ4 frame cut short", post(record(lz4(chunk), { scheme: 1, ulen: 1000 })), [400]],
      ["8193 chunks (limit 8192), hash correct", post(Buffer.concat(tiny.map((c) => record(c))), xorbHashOf(tiny)), [400]],
      ["a stored footer after the records", post(Buffer.concat([record(chunk), footer])), [400]],
      ["only a footer", post(footer), [400]],
      ["a record header cut in the middle", post(record(chunk).subarray(0, 4)), [400]],
      [
        "the right records under an uppercase hash of another xorb",
        post(record(chunk), xorbHashOf([seededBytes(10, 1)]).toUpperCase()),
        [400],
      ],
      [
        "a hash with a path in it",
        () => call(hub, "POST", `/v1/xorbs/default/..%2F..%2Fhub.sqlite`, { token: writeTok, body: record(chunk) }),
        [400, 404],
      ],
    ]);
  });
});

describe("malformed shards", () => {
  it("every bad shard is a 400 (v1 and v2) and registers nothing", async () => {
    const shard = good.shards[0]!;
    const at = (mutate: (b: Buffer, v: DataView) => void) => {
      const b = Buffer.from(shard);
      mutate(b, new DataView(b.buffer, b.byteOffset, b.byteLength));
      return b;
    };
    const files = core.parseShard(shard).files;
    const nTerms = files[0]!.terms.length;
    const fileSectionEnd = 48 + 48 * (1 + 2 * nTerms) + 48; // header, file header + terms + verification, bookend
    const cases: Array<[string, Uint8Array]> = [
      ["wrong tag", at((b) => (b[3] ^= 0xff))],
      ["version 3", at((b, v) => v.setBigUint64(32, 3n, true))],
      ["footer_size 2^63", at((b, v) => v.setBigUint64(40, 2n ** 63n, true))],
      ["footer_size 200 without a footer", at((b, v) => v.setBigUint64(40, 200n, true))],
      ["num_entries 2^32 - 1", at((b, v) => v.setUint32(48 + 36, 0xffffffff, true))],
      ["num_entries + 1", at((b, v) => v.setUint32(48 + 36, nTerms + 1, true))],
      ["verification flag cleared (entries left in place)", at((b, v) => v.setUint32(48 + 32, 0, true))],
      ["metadata-ext flag set without its record", at((b, v) => v.setUint32(48 + 32, 0xc0000000, true))],
      ["a term with end before start", at((b, v) => (v.setUint32(96 + 40, 5, true), v.setUint32(96 + 44, 2, true)))],
      ["a term with end 2^32 - 1", at((b, v) => v.setUint32(96 + 44, 0xffffffff, true))],
      ["a term naming a xorb that is not stored", at((b) => b.fill(0x5a, 96, 128))],
      ["the file bookend removed", Buffer.concat([shard.subarray(0, fileSectionEnd - 48), shard.subarray(fileSectionEnd)])],
      ["no xorb bookend", shard.subarray(0, shard.length - 48)],
      ["only the header", shard.subarray(0, 48)],
      ["empty body", new Uint8Array(0)],
      ["48 × n random bytes", seededBytes(48 * 20, 9)],
      ["the empty-file id with a term", at((b) => b.fill(0, 48, 80))],
      ["trailing garbage after the bookends", Buffer.concat([shard, seededBytes(30, 5)])],
    ];
    await expectRefused(
      "malformed shard",
      cases.flatMap(([what, body]) => [
        [`v1: ${what}`, () => call(hub, "POST", "/v1/shards", { token: writeTok, body })] as [
          string,
          () => Promise<{ status: number; text: string }>,
        ],
        [
          `v2: ${what}`,
          async () => {
            // v2 answers 200 once streaming starts: a refusal is a 4xx before the stream, or a terminal error event.
            const r = await call(hub, "POST", "/v2/shards", { token: writeTok, body });
            if (r.status === 200) return { status: /"type":"error"/.test(r.text) ? 400 : 200, text: r.text };
            return r;
          },
        ] as [string, () => Promise<{ status: number; text: string }>],
      ]),
    );
  });
});

describe("hostile batch NDJSON", () => {
  it("every hostile batch is refused without any change", async () => {
    const post =
      (body: string | Uint8Array, bucket = "alice/h") =>
      () =>
        call(hub, "POST", `/api/buckets/${bucket}/batch`, {
          token: alice.token,
          body,
          headers: { "Content-Type": "application/x-ndjson" },
        });
    const add = (o: Record<string, unknown>) => JSON.stringify({ type: "addFile", path: "x.bin", xetHash: good.files[0]!.hash, ...o });
    await expectRefused("hostile NDJSON", [
      ["deeply nested JSON", post(`${"[".repeat(100_000)}${"]".repeat(100_000)}\n`)],
      ["a JSON number line", post("42\n")],
      ["a JSON string line", post('"addFile"\n')],
      ["null", post("null\n")],
      ["type is a number", post(add({ type: 1 }) + "\n")],
      ["path is an array", post(add({ path: ["a", "b"] }) + "\n")],
      ["path of 5000 bytes", post(add({ path: "a/".repeat(2500) + "b" }) + "\n")],
      ["segment of 300 bytes", post(add({ path: "z".repeat(300) }) + "\n")],
      ["path with a lone surrogate", post(add({ path: "a\ud800b" }) + "\n")],
      ["path with a control character", post(add({ path: "a\u0007b" }) + "\n")],
      ["path '.'", post(add({ path: "./x.bin" }) + "\n")],
      ["path ending with /", post(add({ path: "dir/" }) + "\n")],
      ["mtime negative", post(add({ mtime: -1 }) + "\n")],
      ["mtime 1e300", post(add({ mtime: 1e300 }) + "\n")],
      ["xetHash of an unknown file", post(add({ xetHash: "ab".repeat(32) }) + "\n")],
      ["xetHash with a path in it", post(add({ xetHash: "../../../../../../../../../../../../../../../../../../../../../etc" }) + "\n")],
      ["contentType with a newline", post(add({ contentType: "text/plain\r\nX-Evil: 1" }) + "\n")],
      [
        "copy from a private bucket of another user",
        post(
          JSON.stringify({
            type: "copyFile",
            path: "c.bin",
            xetHash: good.files[0]!.hash,
            sourceRepoType: "bucket",
            sourceRepoId: "bob/private",
          }) + "\n",
        ),
      ],
      [
        "copy with an unknown source type",
        post(
          JSON.stringify({
            type: "copyFile",
            path: "c.bin",
            xetHash: good.files[0]!.hash,
            sourceRepoType: "folder",
            sourceRepoId: "alice/h",
          }) + "\n",
        ),
      ],
      ["delete of a missing path", post(JSON.stringify({ type: "deleteFile", path: "nope.bin" }) + "\n")],
      ["invalid UTF-8", post(new Uint8Array([0x7b, 0x22, 0xc3, 0x28, 0x22, 0x7d, 0x0a]))],
      ["into another user's bucket", post(add({}) + "\n", "bob/private")],
    ]);
  });
});

describe("path traversal", () => {
  it("every traversal form in URLs and bodies is refused; nothing outside the bucket is read", async () => {
    const get =
      (path: string, token = alice.token) =>
      () =>
        call(hub, "GET", path, { token });
    await expectRefused("path traversal", [
      ["resolve ../ encoded", get("/buckets/alice/h/resolve/..%2F..%2Fhub.sqlite")],
      ["resolve %2e%2e segments", get("/buckets/alice/h/resolve/%2e%2e/%2e%2e/hub.sqlite")],
      ["resolve raw ..", () => raw("/buckets/alice/h/resolve/../../hub.sqlite", { method: "GET", headers: auth(alice.token) })],
      ["resolve with a NUL", get("/buckets/alice/h/resolve/data%00/file.bin")],
      ["resolve with a backslash", get("/buckets/alice/h/resolve/data%5C..%5C..%5Chub.sqlite")],
      ["resolve with a malformed escape", get("/buckets/alice/h/resolve/data/%zz")],
      ["resolve double-encoded", get("/buckets/alice/h/resolve/%252e%252e/hub.sqlite")],
      ["tree prefix ../", get("/api/buckets/alice/h/tree/..%2F..%2F")],
      [
        "tree prefix of another bucket via ..",
        () => raw("/api/buckets/alice/h/../../bob/private/tree", { method: "GET", headers: auth(alice.token) }),
      ],
      [
        "paths-info with ../ (answered with no entry, like any unknown path)",
        async () => {
          const r = await call(hub, "POST", "/api/buckets/alice/h/paths-info", {
            token: alice.token,
            body: { paths: ["../bob/private/x", "data/../data/file.bin"] },
          });
          return r.status === 200 && Array.isArray(r.json) && r.json.length === 0 ? { status: 404, text: "no entry" } : r;
        },
      ],
      ["a data-dir file at the root", get("/hub.sqlite")],
      ["a data-dir file under /xorbs", get(`/xorbs/${good.xorbs[0]!.hash}`)],
      ["fetch URL with a path as hash", get("/fetch/..%2F..%2Fhub.sqlite?x=1")],
      ["reconstruction with a path as id", () => call(hub, "GET", "/v2/reconstructions/..%2F..%2Fhub.sqlite", { token: readTok })],
      ["dedup query with a path as hash", () => call(hub, "GET", "/v1/chunks/default/..%2F..%2Fhub.sqlite", { token: readTok })],
      // Sent raw: fetch would normalise the dot segments away before the hub sees them.
      ["namespace ..", () => raw("/api/buckets/../h/tree", { method: "GET", headers: auth(alice.token) })],
      ["bucket name ..", () => raw("/api/buckets/alice/../tree", { method: "GET", headers: auth(alice.token) })],
      ["bucket name %2e%2e", () => raw("/api/buckets/alice/%2e%2e/tree", { method: "GET", headers: auth(alice.token) })],
    ]);
  });
});

describe("tokens", () => {
  it("wrong, expired, forged and mis-scoped tokens are refused", async () => {
    const x = good.xorbs[0]!;
    const [payload, sig] = writeTok.slice("xetcas_".length).split(".");
    const other = await casToken(hub, "bob/private", bob.token, "write");
    const otherPayload = other.slice("xetcas_".length).split(".")[0];
    const flip = (s: string) => s.slice(0, -2) + (s.endsWith("AA") ? "BB" : "AA");
    await expectRefused("tokens", [
      ["no token on a private bucket", () => call(hub, "GET", "/api/buckets/bob/private/tree")],
      ["an unknown Hub token", () => call(hub, "GET", "/api/buckets/alice/h/tree", { token: "hf_nobody_0123456789" })],
      ["Basic auth", () => call(hub, "GET", "/api/buckets/alice/h/xet-write-token", { headers: { Authorization: "Basic YWxpY2U6cHc=" } })],
      ["Bearer without a token", () => call(hub, "GET", "/api/buckets/alice/h/xet-write-token", { headers: { Authorization: "Bearer " } })],
      ["a 16 KiB token", () => call(hub, "GET", "/api/buckets/alice/h/xet-write-token", { token: `hf_${"a".repeat(16384)}` })],
      ["a read token asking for a write token", () => call(hub, "GET", "/api/buckets/alice/h/xet-write-token", { token: alice.readToken })],
      [
        "a read token writing a batch",
        () =>
          call(hub, "POST", "/api/buckets/alice/h/batch", {
            token: alice.readToken,
            body: "",
            headers: { "Content-Type": "application/x-ndjson" },
          }),
      ],
      [
        "bob writing into alice's bucket",
        () =>
          call(hub, "POST", "/api/buckets/alice/h/batch", {
            token: bob.token,
            body: "",
            headers: { "Content-Type": "application/x-ndjson" },
          }),
      ],
      ["bob reading alice's CAS token", () => call(hub, "GET", "/api/buckets/bob/private/xet-read-token", { token: alice.token })],
      ["a CAS token as Hub token", () => call(hub, "GET", "/api/buckets/alice/h/tree", { token: writeTok })],
      ["a Hub token as CAS token", () => call(hub, "POST", `/v1/xorbs/default/${x.hash}`, { token: alice.token, body: x.data })],
      ["a CAS read token uploading", () => call(hub, "POST", `/v1/xorbs/default/${x.hash}`, { token: readTok, body: x.data })],
      [
        "a CAS token with a flipped signature",
        () => call(hub, "POST", `/v1/xorbs/default/${x.hash}`, { token: `xetcas_${payload}.${flip(sig!)}`, body: x.data }),
      ],
      [
        "another bucket's payload with this signature",
        () => call(hub, "POST", `/v1/xorbs/default/${x.hash}`, { token: `xetcas_${otherPayload}.${sig}`, body: x.data }),
      ],
      [
        "a CAS token without signature",
        () => call(hub, "POST", `/v1/xorbs/default/${x.hash}`, { token: `xetcas_${payload}`, body: x.data }),
      ],
      [
        "another bucket's CAS token reading this file",
        () => call(hub, "GET", `/v2/reconstructions/${good.files[0]!.hash}`, { token: other }),
      ],
      [
        "an expired CAS token",
        async () => {
          clockOffset = 601_000;
          try {
            return await call(hub, "POST", `/v1/xorbs/default/${x.hash}`, { token: writeTok, body: x.data });
          } finally {
            clockOffset = 0;
          }
        },
      ],
      [
        "an expired fetch URL",
        async () => {
          const r = await call(hub, "GET", `/v2/reconstructions/${good.files[0]!.hash}`, { token: readTok });
          const e = (Object.values(r.json.xorbs)[0] as any[])[0];
          clockOffset = 4000_000;
          try {
            return await call(hub, "GET", e.url, { headers: { Range: `bytes=${e.ranges[0].bytes.start}-${e.ranges[0].bytes.end}` } });
          } finally {
            clockOffset = 0;
          }
        },
      ],
      [
        "a fetch URL for another xorb",
        async () => {
          const r = await call(hub, "GET", `/v2/reconstructions/${good.files[0]!.hash}`, { token: readTok });
          const [hash, list] = Object.entries(r.json.xorbs)[0] as [string, any[]];
          const otherXorb = good.xorbs.find((y) => y.hash !== hash)?.hash ?? "ab".repeat(32);
          return call(hub, "GET", list[0].url.replace(hash, otherXorb), { headers: { Range: "bytes=0-10" } });
        },
      ],
    ]);
  });
});
