/**
 * The fault-injection proxy (helpers/faults.ts) does what its rules say, and counts it: checked against a
 * plain HTTP server with real sockets.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { startFaultProxy } from "../helpers/faults.js";

async function startEcho(): Promise<{ url: string; seen: string[]; close: () => Promise<void> }> {
  const seen: string[] = [];
  const server = http.createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on("data", (d: Buffer) => parts.push(d));
    req.on("end", () => {
      seen.push(`${req.method} ${req.url}`);
      const origin = `http://${req.headers.host}`;
      if (req.url?.startsWith("/json")) {
        const body = JSON.stringify({ self: `http://127.0.0.1:${(server.address() as AddressInfo).port}/x`, host: origin });
        res.writeHead(200, { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(body) });
        res.end(body);
        return;
      }
      const body = Buffer.alloc(1000, 7);
      body.write(`${req.method} ${Buffer.concat(parts).length}`);
      res.writeHead(200, { "Content-Type": "application/octet-stream", "Content-Length": body.length });
      res.end(body);
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    seen,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

test("fault proxy: forwards, injects each action by rule, and counts", async (t) => {
  const echo = await startEcho();
  const proxy = await startFaultProxy(echo.url);
  t.after(async () => {
    await proxy.close();
    await echo.close();
  });

  // Plain forwarding, Host preserved, the target's origin rewritten in JSON.
  const j = (await (await fetch(`${proxy.url}/json`)).json()) as { self: string; host: string };
  assert.equal(j.host, proxy.url);
  assert.equal(j.self, `${proxy.url}/x`);

  // status + Retry-After, twice, after skipping one.
  const st = proxy.add({ path: "/a", method: "POST", action: "status", status: 503, retryAfter: 2, skip: 1, times: 2 });
  const statuses: number[] = [];
  for (let i = 0; i < 4; i++) {
    const res = await fetch(`${proxy.url}/a`, { method: "POST", body: "xyz" });
    statuses.push(res.status);
    if (res.status === 503) assert.equal(res.headers.get("retry-after"), "2");
    await res.arrayBuffer();
  }
  assert.deepEqual(statuses, [200, 503, 503, 200]);
  assert.equal(st.matched, 4);
  assert.equal(st.injected, 2);

  // reset: the server never sees the request.
  const before = echo.seen.length;
  const rs = proxy.add({ path: "/reset", action: "reset", times: 1 });
  await assert.rejects(fetch(`${proxy.url}/reset`));
  assert.equal(echo.seen.length, before);
  assert.equal((await fetch(`${proxy.url}/reset`)).status, 200);
  assert.equal(rs.injected, 1);

  // reset-after: the server saw it; the client gets no answer.
  const ra = proxy.add({ path: "/after", action: "reset-after", times: 1 });
  await assert.rejects(fetch(`${proxy.url}/after`, { method: "POST", body: "12345" }));
  assert.ok(echo.seen.includes("POST /after"));
  assert.equal(ra.injected, 1);

  // truncate: headers promise 1000 bytes, 100 arrive, then the connection is cut.
  proxy.add({ path: "/trunc", action: "truncate", keepBytes: 100, times: 1 });
  const tr = await fetch(`${proxy.url}/trunc`);
  assert.equal(tr.headers.get("content-length"), "1000");
  await assert.rejects(tr.arrayBuffer());

  // corrupt: one byte flipped in the middle.
  proxy.add({ path: "/corrupt", action: "corrupt", times: 1 });
  const good = new Uint8Array(await (await fetch(`${echo.url}/corrupt`)).arrayBuffer());
  const bad = new Uint8Array(await (await fetch(`${proxy.url}/corrupt`)).arrayBuffer());
  assert.equal(bad.length, good.length);
  assert.equal(bad.filter((b, i) => b !== good[i]).length, 1);
  assert.equal(bad[500], good[500]! ^ 0xff);

  // delay
  proxy.add({ path: "/slow", action: "delay", delayMs: 300, times: 1 });
  const t0 = Date.now();
  await (await fetch(`${proxy.url}/slow`)).arrayBuffer();
  assert.ok(Date.now() - t0 >= 280);

  // probability, reproducible from the seed
  const pr = proxy.add({ path: "/p", action: "status", status: 500, probability: 0.5 });
  for (let i = 0; i < 40; i++) await (await fetch(`${proxy.url}/p`)).arrayBuffer();
  assert.equal(pr.matched, 40);
  assert.ok(pr.injected > 5 && pr.injected < 35, `injected ${pr.injected} of 40`);
  pr.disable();
  assert.equal((await fetch(`${proxy.url}/p`)).status, 200);

  const c = proxy.counts();
  assert.equal(c.byAction.status, 2 + pr.injected);
  assert.equal(c.byAction.reset, 1);
  assert.equal(c.byAction["reset-after"], 1);
  assert.equal(c.byAction.truncate, 1);
  assert.equal(c.byAction.corrupt, 1);
  assert.equal(c.byAction.delay, 1);
  assert.equal(c.requests, proxy.log.length);
});
