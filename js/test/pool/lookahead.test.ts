/**
 * Dedup queries go out as soon as a segment's chunk hashes are known, for files the session has not reached
 * yet. The proxy holds every dedup answer until several queries wait at once: with look-ahead the client has
 * sent the next files' queries while the session waits for its own file's answer; without it the session's one
 * query would wait alone (the session does not leave a file before its answer), and the gate would only open at
 * its timeout, which fails the test. Nothing is timed: a loaded machine makes the test slower, not red. Every
 * file arrives intact and the dedup report counts the queries.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { uploadFiles } from "../../src/api/upload.js";
import { startFaultProxy } from "../helpers/faults.js";
import { ALICE, newBucket, resolveBytes, startTestHub } from "../helpers/hub.js";
import { seededBytes } from "../helpers/data.mjs";

/**
 * Queries held at once before any is answered. Look-ahead reaches 3 with 0 or 1 chunking workers, 4 with 2, 6
 * with 4 (it is bounded by the segments prepared ahead); without it, 1.
 */
const AHEAD = 3;

test("dedup queries of later files are sent ahead: several are in flight while the first waits for its answer", async (t) => {
  const hub = await startTestHub();
  const proxy = await startFaultProxy(hub.url);
  let opened: "by count" | "by timeout" | undefined;
  let open!: () => void;
  const gate = new Promise<void>((resolve) => (open = resolve));
  const release = (how: "by count" | "by timeout") => {
    opened ??= how;
    open();
  };
  // Only so that a broken look-ahead ends the upload (and the test, red) rather than hanging it.
  const timer = setTimeout(() => release("by timeout"), 60_000);
  t.after(async () => {
    clearTimeout(timer);
    await proxy.close();
    await hub.close();
  });
  const bucket = await newBucket(hub, "ahead");
  let held = 0;
  const gated = proxy.add({
    method: "GET",
    path: "/v1/chunks/",
    action: "delay",
    until: () => {
      if (opened === undefined && ++held >= AHEAD) release("by count");
      return gate;
    },
  });
  const files = Array.from({ length: 48 }, (_, i) => ({ path: `f/${i}.bin`, content: seededBytes(200_000 + i, 100 + i) }));
  const report = await uploadFiles({ repo: `buckets/${bucket}`, hubUrl: proxy.url, accessToken: ALICE.token, files });
  assert.equal(opened, "by count", `${held} dedup queries were in flight at once before any answer (${AHEAD} expected)`);
  // One query per file (its first chunk), every one through the gate.
  assert.ok(gated.injected >= 48, `${gated.injected} gated queries`);
  assert.equal(hub.count("GET", "/v1/chunks/"), report.dedupQueries);
  for (const f of files.slice(0, 5)) {
    assert.ok(Buffer.from(await resolveBytes(hub.url, bucket, f.path)).equals(Buffer.from(f.content)));
  }
  assert.equal(report.files, 48);
});
