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
