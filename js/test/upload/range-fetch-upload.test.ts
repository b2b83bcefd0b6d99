/**
 * Uploads through Node's light HTTP client (platform/node/range-fetch.ts, `rangeFetch(false)`), against a small
 * HTTP/1.1 server that answers the ways a server may: the bytes of a stream body arrive exactly (also when the
 * stream reuses one piece of memory for every pull, as the xorb bodies do), the connection is kept, answers are
 * read whatever their framing (chunked, compressed), an answer that comes before the body is all sent stops the
 * sending, and a body whose length is not the declared one, a stall and an abort fail the request as `fetch`
 * would. (Every upload test runs it against the real local hub as well.)
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import type { IncomingMessage } from "node:http";
import { gzipSync } from "node:zlib";
import { after, before, describe, it } from "node:test";
import { rangeFetch } from "../../src/platform/node/range-fetch.js";
import { seededBytes } from "../helpers/data.mjs";
import { countedServer, type CountedServer } from "../helpers/http-server.js";
import { tlsServer, trustingAnyCertificate } from "../helpers/tls.js";

const send = rangeFetch(false);
const DATA = seededBytes(5 * 1024 * 1024 + 333, 11);
const sha = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

let server: CountedServer;
let base: string;
/** What the server read of each request body, by path. */
const received = new Map<string, { bytes: number; sha: string }>();

before(async () => {
  server = await countedServer((req, res) => {
    const u = new URL(req.url!, "http://x");
    if (u.pathname === "/refuse") {
      // Answers at once, without reading the body, and closes (as servers do with a body they will not read).
      res.writeHead(413, { "Content-Type": "application/json", "Content-Length": "22", Connection: "close" });
      res.end('{"error":"too large"}\n');
      return;
    }
    if (u.pathname === "/silent") return; // reads nothing, answers nothing
    void hashed(req).then(({ bytes: n, sha: digest }) => {
      received.set(u.pathname, { bytes: n, sha: digest });
      const json = JSON.stringify({ bytes: n, sha: digest, type: req.headers["content-type"] ?? null });
      switch (u.pathname) {
        case "/chunked":
          res.writeHead(200, { "Content-Type": "application/json" });
          res.write(json.slice(0, 5));
          res.end(json.slice(5));
          return;
        case "/gzip": {
          const z = gzipSync(json);
          res.writeHead(200, { "Content-Type": "application/json", "Content-Encoding": "gzip", "Content-Length": String(z.length) });
          res.end(z);
          return;
        }
        case "/continue":
          res.writeContinue();
          res.writeHead(200, { "Content-Type": "application/json", "Content-Length": String(Buffer.byteLength(json)) });
          res.end(json);
          return;
        default:
          res.writeHead(200, { "Content-Type": "application/json", "Content-Length": String(Buffer.byteLength(json)) });
          res.end(json);
      }
    });
  });
  base = server.base;
});
after(() => server.close());

/** Reads a request body through, hashing it: its length and SHA-256. */
function hashed(req: IncomingMessage): Promise<{ bytes: number; sha: string }> {
  const h = createHash("sha256");
  let bytes = 0;
  req.on("data", (d: Buffer) => {
    h.update(d);
    bytes += d.length;
  });
  return new Promise((resolve) => req.on("end", () => resolve({ bytes, sha: h.digest("hex") })));
}

/**
 * A stream of `data` in `piece`-byte pulls, each written into the same buffer (as the xorb bodies reuse theirs):
 * a transport that still held a piece when it pulls the next would send wrong bytes.
 */
function reusedPieces(data: Uint8Array, piece: number, log?: { pulls: number; cancelled?: unknown }): ReadableStream<Uint8Array> {
  const buf = new Uint8Array(piece);
  let at = 0;
  return new ReadableStream<Uint8Array>(
    {
      pull(c) {
        if (log) log.pulls++;
        if (at >= data.length) return c.close();
        const n = Math.min(piece, data.length - at);
        buf.fill(0xee);
        buf.set(data.subarray(at, at + n));
        at += n;
        c.enqueue(buf.subarray(0, n));
      },
      cancel(reason) {
        if (log) log.cancelled = reason ?? "cancelled";
      },
    },
    { highWaterMark: 0 },
  );
}

const streamInit = (body: ReadableStream<Uint8Array>, length: number, signal?: AbortSignal): RequestInit =>
  ({
    method: "POST",
    headers: { "Content-Type": "application/octet-stream", "Content-Length": String(length) },
    body,
    duplex: "half",
    signal,
  }) as RequestInit;

describe("uploads through the light HTTP client", () => {
  it("sends a stream body exactly, pulling a piece only once the socket took the last, and keeps the connection", async () => {
    const before = server.opened;
    for (const piece of [1024 * 1024, 64 * 1024 + 7]) {
      const res = await send(`${base}/xorb-${piece}`, streamInit(reusedPieces(DATA, piece), DATA.length));
      assert.equal(res.status, 200);
      const answer = (await res.json()) as { bytes: number; sha: string; type: string };
      assert.deepEqual(answer, { bytes: DATA.length, sha: sha(DATA), type: "application/octet-stream" });
    }
    // Byte arrays, strings and empty bodies too (a shard, a JSON body).
    const bytes = await send(`${base}/bytes`, { method: "POST", body: DATA.subarray(0, 1000) });
    assert.deepEqual(await bytes.json(), { bytes: 1000, sha: sha(DATA.subarray(0, 1000)), type: null });
    const text = await send(`${base}/text`, { method: "PUT", body: "héllo" });
    assert.deepEqual(await text.json(), { bytes: 6, sha: sha(Buffer.from("héllo")), type: "text/plain;charset=UTF-8" });
    const empty = await send(`${base}/empty`, { method: "POST" });
    assert.deepEqual(await empty.json(), { bytes: 0, sha: sha(new Uint8Array(0)), type: null });
    assert.equal(server.opened - before, 1, "one connection for the five requests");
  });

  it("over TLS too: a stream body arrives exactly and the connection is kept", async () => {
    const tls = await tlsServer((req, res) => {
      void hashed(req).then(({ bytes, sha }) => {
        const json = JSON.stringify({ bytes, sha });
        res.writeHead(200, { "Content-Type": "application/json", "Content-Length": String(Buffer.byteLength(json)) });
        res.end(json);
      });
    });
    try {
      await trustingAnyCertificate(async () => {
        for (const piece of [1024 * 1024, 64 * 1024 + 7]) {
          const res = await send(`${tls.base}xorb`, streamInit(reusedPieces(DATA, piece), DATA.length));
          assert.deepEqual(await res.json(), { bytes: DATA.length, sha: sha(DATA) });
        }
      });
      assert.equal(tls.connections(), 1, "one connection for both requests");
    } finally {
      await tls.close();
    }
  });

  it("reads chunked, compressed and interim answers", async () => {
    for (const path of ["/chunked", "/gzip", "/continue"]) {
      const res = await send(`${base}${path}`, streamInit(reusedPieces(DATA, 256 * 1024), DATA.length));
      assert.equal(res.status, 200, path);
      assert.equal(res.headers.get("content-encoding"), null);
      assert.deepEqual(await res.json(), { bytes: DATA.length, sha: sha(DATA), type: "application/octet-stream" }, path);
    }
    // The connection of the chunked answer stays usable.
    const after = await send(`${base}/after`, { method: "POST", body: new Uint8Array(10) });
    assert.equal(after.status, 200);
  });

  it("an answer before the body is all sent stops the sending, and the stream is cancelled", async () => {
    const log = { pulls: 0, cancelled: undefined as unknown };
    const big = new Uint8Array(64 * 1024 * 1024);
    const res = await send(`${base}/refuse`, streamInit(reusedPieces(big, 1024 * 1024, log), big.length));
    assert.equal(res.status, 413);
    assert.deepEqual(await res.json(), { error: "too large" });
    for (let i = 0; i < 100 && log.cancelled === undefined; i++) await new Promise((r) => setTimeout(r, 20));
    assert.notEqual(log.cancelled, undefined, "the body stream was cancelled");
    assert.ok(log.pulls < 64, `stopped pulling (${log.pulls} pulls of 64)`);
    // The next request works (on another connection).
    assert.equal((await send(`${base}/next`, { method: "POST", body: new Uint8Array(3) })).status, 200);
  });

  it("a body longer or shorter than its Content-Length, a silent server and an abort fail the request", async () => {
    for (const declared of [DATA.length - 1, DATA.length + 1]) {
      await assert.rejects(send(`${base}/wrong-${declared}`, streamInit(reusedPieces(DATA, 1024 * 1024), declared)), (e) => {
        assert.ok(e instanceof TypeError);
        assert.match(String((e.cause as Error).message), /Content-Length/);
        return true;
      });
    }
    // A byte array whose declared length differs goes through fetch, which refuses it too.
    await assert.rejects(send(`${base}/x`, { method: "POST", headers: { "Content-Length": "5" }, body: new Uint8Array(4) }));
    const ctl = new AbortController();
    const reason = new Error("stop");
    const log = { pulls: 0, cancelled: undefined as unknown };
    setTimeout(() => ctl.abort(reason), 100);
    await assert.rejects(
      send(`${base}/silent`, streamInit(reusedPieces(new Uint8Array(256 * 1024 * 1024), 1024 * 1024, log), 256 * 1024 * 1024, ctl.signal)),
      (e) => e === reason,
    );
    for (let i = 0; i < 100 && log.cancelled === undefined; i++) await new Promise((r) => setTimeout(r, 20));
    assert.notEqual(log.cancelled, undefined, "the body stream was cancelled");
  });

  it("a stream without a declared length goes through fetch", async () => {
    const res = await send(`${base}/undeclared`, {
      method: "POST",
      body: reusedPieces(DATA.subarray(0, 100_000), 100_000),
      duplex: "half",
    } as RequestInit);
    assert.equal(res.status, 200);
    assert.equal(received.get("/undeclared")?.sha, sha(DATA.subarray(0, 100_000)));
  });
});
