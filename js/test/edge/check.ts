/**
 * The checks every runtime's scenario result must pass, computed in Node: the hashes the runtime
 * computed and registered equal Node's `xetHash` of the same bytes, the hub lists exactly those files
 * (read through the Node client), the in-call dedup happened, and the download came back identical.
 */
import assert from "node:assert/strict";
import { listFiles } from "../../src/api/files.js";
import { xetHash } from "../../src/hash.js";
import type { TestHub } from "../helpers/hub.js";
import { scenarioFiles } from "./data.mjs";
import type { ScenarioResult } from "./helpers.js";

export async function checkScenario(r: ScenarioResult, hub: TestHub, bucket: string, runtime: string): Promise<void> {
  assert.equal(r.runtime, runtime);
  const files = scenarioFiles(runtime);
  const expected = new Map<string, { size: number; xetHash: string }>();
  for (const f of files) expected.set(f.path, { size: f.bytes.length, xetHash: await xetHash(f.bytes) });

  // Hashes computed inside the runtime = Node's.
  for (const [path, e] of expected) assert.equal(r.hashes[path], e.xetHash, `${runtime}: xetHash of ${path}`);
  // What the runtime registered and listed.
  assert.deepEqual(
    r.listed,
    [...expected].map(([path, e]) => ({ path, size: e.size, xetHash: e.xetHash })).sort((a, b) => (a.path < b.path ? -1 : 1)),
    `${runtime}: listing`,
  );
  assert.deepEqual(
    r.report.perFile.map((p) => [p.path, p.xetHash]),
    files.map((f) => [f.path, expected.get(f.path)!.xetHash]),
    `${runtime}: the upload report's hashes`,
  );
  // The hub's view, through the Node client.
  const onHub = [];
  for await (const e of listFiles({ repo: `buckets/${bucket}`, recursive: true, hubUrl: hub.url, accessToken: hub.users.alice.token })) {
    if (e.type === "file") onHub.push({ path: e.path, size: e.size, xetHash: e.xetHash });
  }
  onHub.sort((a, b) => (a.path < b.path ? -1 : 1));
  assert.deepEqual(onHub, r.listed, `${runtime}: the hub's listing`);

  // weights/mixed.bin repeats 2 MiB of weights/big.bin: deduplicated in the call, not sent twice.
  const logical = files.reduce((s, f) => s + f.bytes.length, 0);
  assert.equal(r.report.logicalBytes, logical);
  assert.equal(r.report.newBytes + r.report.dedupLocalBytes + r.report.dedupGlobalBytes, logical);
  assert.ok(r.report.dedupLocalBytes > 1.5 * 2 ** 20, `${runtime}: dedupLocalBytes ${r.report.dedupLocalBytes}`);
  assert.ok(r.report.bytesSent < logical - 1.5 * 2 ** 20, `${runtime}: bytesSent ${r.report.bytesSent} of ${logical}`);

  assert.deepEqual(r.download, { path: "weights/mixed.bin", size: 3 * 2 ** 20, identical: true }, `${runtime}: download`);
}
