/**
 * The Node range fetch of downloads (platform/node/range-fetch.ts) against small HTTP/1.1 servers that answer
 * the way the protocol allows: bodies over 64 KiB read in place (views of one reused buffer), smaller ones and
 * error answers as ordinary responses, connections kept alive and reused (a connection the server closed while
 * idle is replaced without failing the request), chunked bodies and redirects through `fetch`, and the failures
 * a download must see as broken connections: a body cut short, a stalled body, an abort. (Every download test
 * runs it against the real local hub as well.)
 */
import assert from "node:assert/strict";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import { inPlaceBody, isRangeFetch, mustUseFetch, rangeFetch } from "../../src/platform/node/range-fetch.js";
import { rangeFetch as platformRangeFetch } from "../../src/platform/node.js";
import { seededBytes } from "../helpers/data.mjs";
import { countedServer, type CountedServer } from "../helpers/http-server.js";
import { assertBytesEqual } from "../helpers/files.js";
import { tlsServer, trustingAnyCertificate } from "../helpers/tls.js";

const BODY = seededBytes(3 * 1024 * 1024 + 77, 5);

let server: CountedServer;
let base: string;

before(async () => {
  server = await countedServer((req, res) => {
    const u = new URL(req.url!, "http://x");
    const size = Number(u.searchParams.get("size") ?? BODY.length);
    const body = BODY.subarray(0, size);
    switch (u.pathname) {
      case "/data":
        res.writeHead(206, { "Content-Length": String(body.length), "Content-Range": `bytes 0-${body.length - 1}/${BODY.length}` });
        return res.end(body);
      case "/chunked":
        res.writeHead(200);
        res.write(body.subarray(0, 1000));
        return res.end(body.subarray(1000));
      case "/redirect":
        res.writeHead(302, { Location: `/data?size=${size}`, "Content-Length": "0" });
        return res.end();
      case "/missing":
        res.writeHead(404, { "Content-Type": "application/json", "Content-Length": "24" });
        return res.end('{"error":"no such thing"}'.slice(0, 24));
      case "/cut":
        res.writeHead(200, { "Content-Length": String(body.length) });
        res.write(body.subarray(0, 200_000));
        return setTimeout(() => res.socket?.destroy(), 20);
      case "/stall":
        res.writeHead(200, { "Content-Length": String(body.length) });
        res.write(body.subarray(0, 200_000));
        return; // never ends
      default:
        res.writeHead(500, { "Content-Length": "0" });
        res.end();
    }
  });
  base = server.base;
});
after(() => server.close());

const get = rangeFetch(true);

/** Reads an answer's body in place into one array (copying each view, which is only valid during the call). */
async function readAll(res: Response, onData?: (n: number) => void | Promise<void>): Promise<Uint8Array> {
  const body = inPlaceBody(res);
  assert.ok(body, "the body is read in place");
  const out = new Uint8Array(body.length);
  let at = 0;
  await body.read((bytes) => {
    out.set(bytes, at);
    at += bytes.length;
    return onData?.(bytes.length);
  });
  assert.equal(at, body.length);
  return out;
}

/**
 * Reads an answer's body as a download's decoder does (`target`): into windows of `size` bytes, each read after
 * the first landing in the current window's free space; a full window is transferred away (detached, as a
 * download hands its window to a worker) and a new one takes the bytes after it. Every few reads the reader is
 * busy (the target it gave stays where it is while the connection waits). Returns the bytes, how many were read
 * in place, how often the target was asked, and the last window.
 */
async function readIntoWindows(
  res: Response,
  size: number,
): Promise<{ bytes: Uint8Array; inPlace: number; asked: number; last: Uint8Array }> {
  const body = inPlaceBody(res);
  assert.ok(body, "the body is read in place");
  let win = new Uint8Array(size);
  let len = 0;
  let inPlace = 0;
  let asked = 0;
  let reads = 0;
  let left = body.length;
  const parts: Uint8Array[] = [];
  const away = new MessageChannel();
  const hand = () => {
    parts.push(win.slice(0, len));
    const old = win;
    away.port1.postMessage(old, [old.buffer]);
    assert.equal(old.length, 0, "the window was detached");
    win = new Uint8Array(size);
    len = 0;
  };
  try {
    await body.read(
      (bytes) => {
        left -= bytes.length;
        if (bytes.buffer === win.buffer) {
          assert.equal(bytes.byteOffset, len, "read where the target said");
          len += bytes.length;
          inPlace += bytes.length;
        } else {
          // Into the connection's buffer: copied, across windows when it does not fit.
          for (let b = bytes; b.length > 0;) {
            const n = Math.min(size - len, b.length);
            win.set(b.subarray(0, n), len);
            len += n;
            b = b.subarray(n);
            if (len === size) hand();
          }
        }
        if (len === size) hand();
        if (++reads % 5 === 0) return new Promise<void>((resolve) => setTimeout(resolve, 1));
      },
      {
        target: (max) => {
          asked++;
          assert.ok(max > 0 && max <= left, "never more than the body has left");
          return size - len >= 1024 ? win.subarray(len, len + Math.min(size - len, max)) : undefined;
        },
      },
    );
  } finally {
    away.port1.close();
  }
  parts.push(win.slice(0, len));
  return { bytes: Buffer.concat(parts), inPlace, asked, last: win };
}

describe("range fetch", () => {
  it("reads large bodies in place, small ones whole, and reuses the connection", async () => {
    const before = server.opened;
    const a = await get(`${base}/data`, { headers: { Range: "bytes=0-" } });
    assert.equal(a.status, 206);
    assert.equal(a.body, null);
    assertBytesEqual(await readAll(a), BODY);
    const b = await get(`${base}/data?size=1000`);
    assert.equal(inPlaceBody(b), undefined);
    assertBytesEqual(new Uint8Array(await b.arrayBuffer()), BODY.subarray(0, 1000));
    const c = await get(`${base}/data?size=200000`);
    assertBytesEqual(await readAll(c), BODY.subarray(0, 200_000));
    assert.equal(server.opened - before, 1, "one connection for the three requests");
    // rangeFetch(false) reads every answer whole.
    const d = await rangeFetch(false)(`${base}/data`);
    assertBytesEqual(new Uint8Array(await d.arrayBuffer()), BODY);
  });

  it("a kept-alive connection the server closed meanwhile is replaced", async () => {
    assertBytesEqual(await readAll(await get(`${base}/data?size=100000`)), BODY.subarray(0, 100_000));
    for (const s of server.connections) s.destroy();
    await new Promise((resolve) => setTimeout(resolve, 50));
    assertBytesEqual(await readAll(await get(`${base}/data?size=100000`)), BODY.subarray(0, 100_000));
  });

  it("pauses while the reader is busy", async () => {
    let pauses = 0;
    const got = await readAll(await get(`${base}/data`), async () => {
      pauses++;
      await new Promise((resolve) => setTimeout(resolve, 1));
    });
    assertBytesEqual(got, BODY);
    assert.ok(pauses > 1);
  });

  it("reads into the reader's own memory where it says (target), windows handed away between reads included", async () => {
    const before = server.opened;
    const read = await readIntoWindows(await get(`${base}/data`, { headers: { Range: "bytes=0-" } }), 300 * 1024);
    assertBytesEqual(read.bytes, BODY);
    assert.ok(read.asked > 3 && read.inPlace > BODY.length / 2, `most bytes read in place (${read.inPlace} of ${BODY.length})`);
    // The connection goes on with the next request, which reads into its own buffer again: nothing of the
    // next answer lands in the reader's memory.
    const tail = read.last.slice();
    assertBytesEqual(await readAll(await get(`${base}/data?size=200000`)), BODY.subarray(0, 200_000));
    assertBytesEqual(read.last, tail);
    assert.ok(server.opened - before <= 1, "both requests on one kept-alive connection");
  });

  it("over TLS too: bodies read in place, into the reader's memory (target), pauses and windows handed away", async () => {
    const tls = await tlsServer((req, res) => {
      res.writeHead(206, { "Content-Length": String(BODY.length), "Content-Range": `bytes 0-${BODY.length - 1}/${BODY.length}` });
      res.end(BODY);
    });
    try {
      await trustingAnyCertificate(async () => {
        assertBytesEqual(await readAll(await get(tls.base, { headers: { Range: "bytes=0-" } })), BODY);
        const read = await readIntoWindows(await get(tls.base, { headers: { Range: "bytes=0-" } }), 200 * 1024);
        assertBytesEqual(read.bytes, BODY);
        assert.ok(read.inPlace > BODY.length / 2, `most bytes read in place (${read.inPlace} of ${BODY.length})`);
      });
    } finally {
      await tls.close();
    }
  });

  it("a target that gives nothing or throws leaves the bytes in the connection's buffer", async () => {
    for (const target of [
      () => undefined,
      () => new Uint8Array(0),
      () => {
        throw new Error("cannot say");
      },
    ]) {
      const res = await get(`${base}/data`, { headers: { Range: "bytes=0-" } });
      const out = new Uint8Array(BODY.length);
      let at = 0;
      await inPlaceBody(res)!.read(
        (bytes) => {
          out.set(bytes, at);
          at += bytes.length;
        },
        { target },
      );
      assertBytesEqual(out, BODY);
    }
  });

  it("error answers are ordinary responses; chunked bodies and redirects go through fetch", async () => {
    const e = await get(`${base}/missing`);
    assert.equal(e.status, 404);
    assert.equal(e.headers.get("content-type"), "application/json");
    assert.equal(await e.text(), '{"error":"no such thing"}'.slice(0, 24));
    const c = await get(`${base}/chunked?size=300000`);
    assert.equal(inPlaceBody(c), undefined);
    assertBytesEqual(new Uint8Array(await c.arrayBuffer()), BODY.subarray(0, 300_000));
    const r = await get(`${base}/redirect?size=300000`);
    assert.equal(r.status, 206);
    assertBytesEqual(new Uint8Array(await r.arrayBuffer()), BODY.subarray(0, 300_000));
  });

  it("an error answer read whole keeps its connection (a dedup query's 404 opens none)", async () => {
    assertBytesEqual(await readAll(await get(`${base}/data?size=100000`)), BODY.subarray(0, 100_000));
    const before = server.opened;
    for (let i = 0; i < 3; i++) {
      const e = await rangeFetch(false)(`${base}/missing`);
      assert.equal(e.status, 404);
      assert.equal(await e.text(), '{"error":"no such thing"}'.slice(0, 24));
    }
    assertBytesEqual(await readAll(await get(`${base}/data?size=100000`)), BODY.subarray(0, 100_000));
    assert.equal(server.opened - before, 0, "the kept connection served them all");
  });

  it("a body cut short, a stalled body and an abort fail the read", async () => {
    await assert.rejects(readAll(await get(`${base}/cut`)), /connection broke/);
    const stalled = inPlaceBody(await get(`${base}/stall`))!;
    const t0 = Date.now();
    await assert.rejects(
      stalled.read(() => {}, { stallMs: 200 }),
      /stalled \(no data moved for 200 ms\)/,
    );
    assert.ok(Date.now() - t0 < 5000);
    const ctl = new AbortController();
    const res = await get(`${base}/stall`, { signal: ctl.signal });
    const reason = new Error("stop");
    setTimeout(() => ctl.abort(reason), 50);
    await assert.rejects(
      inPlaceBody(res)!.read(() => {}),
      (e) => e === reason,
    );
    // A connection that cannot be made is a fetch-like TypeError.
    const closed = http.createServer();
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    await assert.rejects(get(`http://127.0.0.1:${port}/data`), (e) => e instanceof TypeError);
  });

  it("its two fetches are recognised as the platform's (options that carry one have no fetch of the caller's)", () => {
    assert.equal(isRangeFetch(rangeFetch(true)), true);
    assert.equal(isRangeFetch(rangeFetch(false)), true);
    assert.equal(isRangeFetch(globalThis.fetch), false);
    assert.equal(
      isRangeFetch((input: RequestInfo | URL, init?: RequestInit) => fetch(input, init)),
      false,
    );
  });

  it("is not used where a proxy is configured", () => {
    const saved = process.env.HTTPS_PROXY;
    process.env.HTTPS_PROXY = "http://127.0.0.1:9";
    try {
      assert.equal(mustUseFetch(), true);
      assert.equal(platformRangeFetch(), undefined);
    } finally {
      if (saved === undefined) delete process.env.HTTPS_PROXY;
      else process.env.HTTPS_PROXY = saved;
    }
    assert.equal(mustUseFetch(), false);
    assert.equal(typeof platformRangeFetch(), "function");
  });
});
