/**
 * The shared HTTP layer, over real HTTP on 127.0.0.1: bodies read inside the retry loop (a connection cut
 * mid-body is retried), the idle timeout (a slow but steady body is not cut; a stalled one is retried),
 * JSON bodies of Hub calls, the Hub token kept on the Hub's origin, and Link header parsing.
 */
import assert from "node:assert/strict";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import { NetworkError, ProtocolError } from "../../src/errors.js";
import { httpRequestRead } from "../../src/http.js";
import { parseLinkHeader } from "../../src/hub/buckets.js";
import { hubContext } from "../../src/hub/context.js";

type Handler = (req: http.IncomingMessage, res: http.ServerResponse, hit: number) => void;

let server: http.Server;
let base: string;
const handlers = new Map<string, Handler>();
const hits = new Map<string, number>();
const seenAuth: { path: string; auth: string | undefined }[] = [];

before(async () => {
  server = http.createServer((req, res) => {
    const path = (req.url ?? "/").replace(/\?.*$/, "");
    const n = (hits.get(path) ?? 0) + 1;
    hits.set(path, n);
    seenAuth.push({ path, auth: req.headers.authorization });
    const h = handlers.get(path);
    if (!h) {
      res.writeHead(404).end();
      return;
    }
    h(req, res, n);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

const fast = { baseDelayMs: 5, maxDelayMs: 20 };
const body = (res: Response) => res.arrayBuffer().then((b) => new Uint8Array(b));

describe("httpRequestRead", () => {
  it("retries when the connection breaks in the middle of the body", async () => {
    const payload = new Uint8Array(200_000).map((_, i) => i % 251);
    handlers.set("/cut", (_req, res, hit) => {
      res.writeHead(200, { "Content-Length": String(payload.length) });
      if (hit === 1) {
        res.write(payload.subarray(0, 50_000), () => res.socket?.destroy());
      } else res.end(payload);
    });
    const got = await httpRequestRead(`${base}/cut`, {}, { retry: fast }, body);
    assert.deepEqual(got, payload);
    assert.equal(hits.get("/cut"), 2);
  });

  it("gives up after maxAttempts with a NetworkError that counts the attempts", async () => {
    handlers.set("/always-cut", (_req, res) => {
      res.writeHead(200, { "Content-Length": "1000" });
      res.write("x".repeat(10), () => res.socket?.destroy());
    });
    const err = await httpRequestRead(`${base}/always-cut`, {}, { retry: { ...fast, maxAttempts: 3 } }, body).catch((e) => e);
    assert.ok(err instanceof NetworkError, String(err));
    assert.equal(err.code, "NETWORK");
    assert.equal(err.attempts, 3);
    assert.match(err.message, /gave up after 3 attempts/);
  });

  it("does not cut a slow body that keeps arriving (the stall timeout is an idle timeout)", async () => {
    handlers.set("/slow", (_req, res) => {
      res.writeHead(200, { "Content-Length": "6" });
      let i = 0;
      const t = setInterval(() => {
        res.write("ab");
        if (++i === 3) {
          clearInterval(t);
          res.end();
        }
      }, 120);
    });
    const got = await httpRequestRead(`${base}/slow`, {}, { retry: { ...fast, stallTimeoutMs: 250 } }, async (res) => {
      const reader = res.body!.getReader();
      let s = "";
      for (;;) {
        const { done, value } = await reader.read();
        if (done) return s;
        s += new TextDecoder().decode(value);
        // A reader busy with what it has (longer than the stall timeout) is not a stall.
        await new Promise((resolve) => setTimeout(resolve, 300));
      }
    });
    assert.equal(got, "ababab", "more than a second in total, and the reader idle longer than 250 ms, but bytes never stopped");
  });

  it("retries a stalled body as TIMEOUT", async () => {
    handlers.set("/stall", (_req, res, hit) => {
      res.writeHead(200, { "Content-Length": "4" });
      if (hit === 1)
        res.write("ab"); // then nothing
      else res.end("abcd");
    });
    const got = await httpRequestRead(`${base}/stall`, {}, { retry: { ...fast, stallTimeoutMs: 150 } }, (r) => r.text());
    assert.equal(got, "abcd");
    assert.equal(hits.get("/stall"), 2);
    handlers.set("/stall-always", (_req, res) => {
      res.writeHead(200, { "Content-Length": "4" });
      res.write("ab");
    });
    const err = await httpRequestRead(`${base}/stall-always`, {}, { retry: { ...fast, maxAttempts: 2, stallTimeoutMs: 150 } }, (r) =>
      r.text(),
    ).catch((e) => e);
    assert.ok(err instanceof NetworkError, String(err));
    assert.equal(err.code, "TIMEOUT");
    assert.match(err.message, /stalled \(no data moved for 150 ms\)/);
  });

  it("retries an upload whose stream body the connection stopped taking (stall), and times the answer apart", async () => {
    const size = 64 * 1024 * 1024;
    let received = 0;
    handlers.set("/upload-stall", (req, res, hit) => {
      if (hit === 1) {
        // Takes a little, then stops reading (the socket buffers fill, the client's writes block) and never answers.
        req.once("data", () => req.pause());
        return;
      }
      req.on("data", (d: Buffer) => (received += d.length));
      req.on("end", () => res.writeHead(200).end("stored"));
    });
    let made = 0;
    const stream = () => {
      made++;
      let sent = 0;
      return new ReadableStream<Uint8Array>({
        pull(c) {
          if (sent >= size) return c.close();
          const n = Math.min(1 << 20, size - sent);
          sent += n;
          c.enqueue(new Uint8Array(n));
        },
      });
    };
    const t0 = Date.now();
    const got = await httpRequestRead(
      `${base}/upload-stall`,
      { method: "POST", headers: { "Content-Length": String(size) }, body: stream },
      // The answer timeout is long: only the stall clock can end the first attempt this fast.
      { retry: { ...fast, stallTimeoutMs: 300, attemptTimeoutMs: 60_000 } },
      (r) => r.text(),
    );
    assert.equal(got, "stored");
    assert.equal(made, 2);
    assert.equal(received, size);
    assert.ok(Date.now() - t0 < 20_000, `abandoned the stalled attempt early (${Date.now() - t0} ms)`);

    // A body that takes longer than the stall timeout to produce is not a stall: the clock runs only while the
    // connection holds a chunk it has not taken.
    handlers.set("/upload-slow-source", (req, res) => {
      let n = 0;
      req.on("data", (d: Buffer) => (n += d.length));
      req.on("end", () => res.writeHead(200).end(String(n)));
    });
    const slow = () => {
      let i = 0;
      return new ReadableStream<Uint8Array>({
        async pull(c) {
          if (i++ === 3) return c.close();
          await new Promise((resolve) => setTimeout(resolve, 250));
          c.enqueue(new Uint8Array(1000));
        },
      });
    };
    const n = await httpRequestRead(
      `${base}/upload-slow-source`,
      { method: "POST", body: slow },
      { retry: { ...fast, maxAttempts: 1, stallTimeoutMs: 150 } },
      (r) => r.text(),
    );
    assert.equal(n, "3000");
  });

  it("an answer that does not come within attemptTimeoutMs is retried as TIMEOUT", async () => {
    handlers.set("/silent", (_req, res, hit) => {
      if (hit > 1) res.writeHead(200).end("late but there");
    });
    const got = await httpRequestRead(`${base}/silent`, {}, { retry: { ...fast, attemptTimeoutMs: 200 } }, (r) => r.text());
    assert.equal(got, "late but there");
    handlers.set("/always-silent", () => undefined);
    const err = await httpRequestRead(`${base}/always-silent`, {}, { retry: { ...fast, maxAttempts: 2, attemptTimeoutMs: 100 } }, (r) =>
      r.text(),
    ).catch((e) => e);
    assert.equal(err.code, "TIMEOUT");
    assert.match(err.message, /no answer within 100 ms/);
  });

  it("honours Retry-After on 429, and gives up at once when the wait would exceed the time budget", async () => {
    handlers.set("/busy", (_req, res, hit) => {
      if (hit === 1) res.writeHead(429, { "Retry-After": "1", "Content-Type": "application/json" }).end('{"error":"slow down"}');
      else res.writeHead(200).end("ok");
    });
    const t0 = Date.now();
    assert.equal(await httpRequestRead(`${base}/busy`, {}, { retry: fast }, (r) => r.text()), "ok");
    assert.ok(Date.now() - t0 >= 1000, "waited the announced second");
    handlers.set("/very-busy", (_req, res) => res.writeHead(503, { "Retry-After": "30" }).end());
    const t1 = Date.now();
    const err = await httpRequestRead(`${base}/very-busy`, {}, { retry: { ...fast, budgetMs: 5000 } }, (r) => r.text()).catch((e) => e);
    assert.equal(err.statusCode, 503);
    assert.equal(err.code, "SERVER_ERROR");
    assert.equal(err.retryAfter, 30);
    assert.equal(err.attempts, 1);
    assert.ok(Date.now() - t1 < 1000, "no pointless wait");
  });

  it("does not retry errors of this package thrown by the reader", async () => {
    handlers.set("/bad", (_req, res) => res.writeHead(200).end("nope"));
    await assert.rejects(
      httpRequestRead(`${base}/bad`, {}, { retry: fast }, async () => {
        throw new ProtocolError("bad body");
      }),
      ProtocolError,
    );
    assert.equal(hits.get("/bad"), 1);
  });
});

describe("hub context", () => {
  it("json() retries a JSON body cut short and reports non-JSON bodies as ProtocolError", async () => {
    handlers.set("/api/json-cut", (_req, res, hit) => {
      const text = JSON.stringify({ hello: "world", pad: "p".repeat(5000) });
      res.writeHead(200, { "Content-Type": "application/json", "Content-Length": String(text.length) });
      if (hit === 1) res.write(text.slice(0, 100), () => res.socket?.destroy());
      else res.end(text);
    });
    handlers.set("/api/not-json", (_req, res) => res.writeHead(200, { "Content-Type": "text/html" }).end("<html>"));
    const ctx = hubContext({ hubUrl: base, retry: fast });
    assert.equal((await ctx.json<{ hello: string }>("/api/json-cut")).hello, "world");
    assert.equal(hits.get("/api/json-cut"), 2);
    await assert.rejects(ctx.json("/api/not-json"), ProtocolError);
  });

  it("sends the Hub token to the Hub's origin only", async () => {
    handlers.set("/api/who", (_req, res) => res.writeHead(200, { "Content-Type": "application/json" }).end("{}"));
    // The same server under another origin name (localhost vs 127.0.0.1) stands for a foreign host.
    const foreign = base.replace("127.0.0.1", "localhost");
    const ctx = hubContext({ hubUrl: base, accessToken: "hf_secret_token" });
    seenAuth.length = 0;
    await ctx.json("/api/who");
    await ctx.json(`${foreign}/api/who`);
    assert.deepEqual(
      seenAuth.map((s) => s.auth),
      ["Bearer hf_secret_token", undefined],
    );
  });
});

describe("parseLinkHeader", () => {
  it("reads the Hub's form and tolerates others", () => {
    assert.deepEqual(parseLinkHeader('<https://h/api/buckets/a/b/tree?cursor=2>; rel="next"'), {
      next: "https://h/api/buckets/a/b/tree?cursor=2",
    });
    assert.deepEqual(parseLinkHeader("</p?cursor=3>;rel=next", "http://h:1/api/x"), { next: "http://h:1/p?cursor=3" });
    assert.deepEqual(parseLinkHeader('<http://h/t>; rel="xet-auth", <http://c/v1/reconstructions/abc>; rel="xet-reconstruction-info"'), {
      "xet-auth": "http://h/t",
      "xet-reconstruction-info": "http://c/v1/reconstructions/abc",
    });
    assert.deepEqual(parseLinkHeader(null), {});
  });
});
