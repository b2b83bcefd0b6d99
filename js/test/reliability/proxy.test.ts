/**
 * The fault proxy's actions added for the reliability campaigns (helpers/faults.ts), against a plain
 * HTTP server: a wrong `Content-Length` in both directions, and a request body damaged on its way in.
 */
import assert from "node:assert/strict";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { test } from "node:test";
import { startFaultProxy } from "../helpers/faults.js";

test("wrong-length: more bytes announced than sent fails the read; fewer cuts the body; corrupt-request flips a request byte", async (t) => {
  const received: Buffer[] = [];
  const server = http.createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on("data", (d: Buffer) => parts.push(d));
    req.on("end", () => {
      received.push(Buffer.concat(parts));
      const body = Buffer.alloc(1000, 0x61);
      res.writeHead(200, { "Content-Type": "application/octet-stream", "Content-Length": body.length, "X-Kept": "yes" });
      res.end(body);
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const target = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const proxy = await startFaultProxy(target);
  t.after(async () => {
    await proxy.close();
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
  });

  const more = proxy.add({ path: "/more", action: "wrong-length", lengthDelta: 500, times: 1 });
  const r1 = await fetch(`${proxy.url}/more`);
  assert.equal(r1.status, 200);
  assert.equal(r1.headers.get("content-length"), "1500");
  assert.equal(r1.headers.get("x-kept"), "yes");
  await assert.rejects(r1.arrayBuffer(), "the connection closes 500 bytes early");
  assert.equal(more.injected, 1);

  proxy.add({ path: "/fewer", action: "wrong-length", lengthDelta: -300, times: 1 });
  const r2 = await fetch(`${proxy.url}/fewer`);
  assert.equal(r2.headers.get("content-length"), "700");
  assert.equal((await r2.arrayBuffer()).byteLength, 700);

  // The next request on a fresh connection is unaffected.
  assert.equal((await (await fetch(`${proxy.url}/fewer`)).arrayBuffer()).byteLength, 1000);

  const cr = proxy.add({ path: "/up", method: "POST", action: "corrupt-request", offset: 3, times: 1 });
  const sent = Buffer.from("0123456789");
  await (await fetch(`${proxy.url}/up`, { method: "POST", body: sent })).arrayBuffer();
  const got = received[received.length - 1]!;
  assert.equal(got.length, sent.length);
  assert.deepEqual(
    [...got].map((b, i) => b !== sent[i]),
    [false, false, false, true, false, false, false, false, false, false],
  );
  assert.equal(cr.injected, 1);
  assert.equal(proxy.counts().byAction["wrong-length"], 2);
  assert.equal(proxy.counts().byAction["corrupt-request"], 1);
});

test("stall: the connection goes silent (mid-body, before the answer, while taking the request body); hook runs before forwarding", async (t) => {
  let served = 0;
  const server = http.createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      served++;
      const body = Buffer.alloc(1000, 0x62);
      res.writeHead(200, { "Content-Type": "application/octet-stream", "Content-Length": body.length });
      res.end(body);
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const target = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const proxy = await startFaultProxy(target);
  t.after(async () => {
    await proxy.close();
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
  });
  const silent = async (p: Promise<unknown>, ms = 300) =>
    assert.equal(
      await Promise.race([
        p.then(
          () => "settled",
          () => "settled",
        ),
        new Promise((r) => setTimeout(() => r("silent"), ms)),
      ]),
      "silent",
    );

  proxy.add({ path: "/body", action: "stall", keepBytes: 100, times: 1 });
  const ctl = new AbortController();
  const r1 = await fetch(`${proxy.url}/body`, { signal: ctl.signal });
  assert.equal(r1.status, 200);
  const reader = r1.body!.getReader();
  let got = 0;
  while (got < 100) got += (await reader.read()).value!.length;
  assert.equal(got, 100);
  await silent(reader.read());
  ctl.abort();

  proxy.add({ path: "/headers", action: "stall", stallAt: "headers", times: 1 });
  const before = served;
  const ctl2 = new AbortController();
  await silent(fetch(`${proxy.url}/headers`, { signal: ctl2.signal }));
  assert.equal(served, before + 1, "the server saw the request");
  ctl2.abort();

  proxy.add({ path: "/request", method: "POST", action: "stall", stallAt: "request", times: 1 });
  const ctl3 = new AbortController();
  await silent(fetch(`${proxy.url}/request`, { method: "POST", body: new Uint8Array(8 << 20), signal: ctl3.signal }));
  assert.equal(served, before + 1, "the request never reached the server");
  ctl3.abort();

  let hooked = 0;
  proxy.add({ path: "/hook", action: "hook", hook: () => void hooked++, times: 1 });
  assert.equal((await (await fetch(`${proxy.url}/hook`)).arrayBuffer()).byteLength, 1000);
  assert.equal(hooked, 1);
  assert.deepEqual(proxy.counts().byAction, { stall: 3, hook: 1 });
});
