/**
 * The worker pool's scheduling: up to two tasks per worker (the second waits in the worker's own queue),
 * results in the order of their tasks' answers, and a worker whose core traps takes down only the tasks
 * posted to it (rejected with CHUNKING_FAILED); the pool starts a new worker for what comes next. Concurrent
 * callers share one pool.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { writeFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { HASHES_ONLY, initCore, prepareSegment } from "../../src/core/index.js";
import { XetBucketsError } from "../../src/errors.js";
import { acquireWorkerPool, WorkerPool } from "../../src/pool/pool.js";
import { PreparedSegment } from "../../src/core/packed.js";
import { seededBytes } from "../helpers/data.mjs";

const whole = { start: 0, emitFrom: 0, seam: -1, seamChain: -1, compression: HASHES_ONLY };

test("one worker runs queued tasks in turn; a trap rejects the tasks posted to it, the next task gets a new worker", async (t) => {
  await initCore();
  const pool = await WorkerPool.create(1);
  t.after(() => pool.terminate());
  const dir = mkdtempSync(join(tmpdir(), "xet-pool-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));

  const inputs = [0, 1, 2, 3, 4].map((i) => seededBytes(300_000 + 50_000 * i, 40 + i));
  const expected = inputs.map((b) => new PreparedSegment(prepareSegment(b, whole)));
  const outs = await Promise.all(inputs.map((b) => pool.prepare({ ...whole, data: b.slice().buffer, length: b.length })));
  outs.forEach((o, i) => {
    assert.deepEqual(o.segment.hashes, expected[i]!.hashes);
    assert.deepEqual([...o.segment.ends], [...expected[i]!.ends]);
    assert.equal(o.data!.byteLength, inputs[i]!.length, "the input buffer comes back");
  });
  assert.equal(pool.workers, 1);

  // A file job the core cannot allocate (≈ 3.9 GiB of input in a 32-bit memory) traps the worker's core.
  // The task queued behind it on the same worker is lost with it; both reject with CHUNKING_FAILED.
  const file = join(dir, "f.bin");
  writeFileSync(file, inputs[0]!);
  const trap = pool.prepare({ ...whole, file: { path: file, offset: 0 }, length: 0xf000_0000 });
  const behind = pool.prepare({ ...whole, file: { path: file, offset: 0 }, length: inputs[0]!.length });
  const [a, b] = await Promise.allSettled([trap, behind]);
  for (const r of [a, b]) {
    assert.equal(r.status, "rejected");
    assert.ok((r as PromiseRejectedResult).reason instanceof XetBucketsError);
    assert.equal((r as PromiseRejectedResult).reason.code, "CHUNKING_FAILED");
  }
  // The pool goes on with a new worker.
  const again = await pool.prepare({ ...whole, file: { path: file, offset: 0 }, length: inputs[0]!.length });
  assert.deepEqual(again.segment.hashes, expected[0]!.hashes);
  assert.equal(pool.workers, 1);
});

test("warm() starts every worker before the first task; they answer tasks as usual", async (t) => {
  await initCore();
  const pool = await WorkerPool.create(2);
  t.after(() => pool.terminate());
  assert.equal(pool.workers, 0, "workers start lazily");
  pool.warm();
  assert.equal(pool.workers, 2);
  pool.warm();
  assert.equal(pool.workers, 2, "warm() twice starts no more");
  const b = seededBytes(200_000, 77);
  const out = await pool.prepare({ ...whole, data: b.slice().buffer, length: b.length });
  assert.deepEqual(out.segment.hashes, new PreparedSegment(prepareSegment(b, whole)).hashes);
});

test("acquireWorkerPool: calls at every moment while the pool starts all get the one shared pool, which stays open", async () => {
  await initCore();
  const first = acquireWorkerPool(1);
  let settled = false;
  void first.then(() => (settled = true));
  // One call per microtask (and a turn of the event loop now and then, for the pool's start) until the first
  // call has settled, then a few more: one of them lands between the pool's creation and the first caller's
  // resumption.
  const calls: Promise<WorkerPool>[] = [];
  for (let i = 0, after = 0; after < 20; i++) {
    assert.ok(i < 100_000, "the pool never started");
    calls.push(acquireWorkerPool(1));
    await (i % 64 === 63 ? new Promise((resolve) => setImmediate(resolve)) : Promise.resolve());
    if (settled) after++;
  }
  const pool = await first;
  const pools = await Promise.all(calls);
  assert.ok(
    pools.every((p) => p === pool),
    "one shared pool",
  );
  for (const p of [pool, ...pools]) p.release();
  const b = seededBytes(100_000, 5);
  const out = await pool.prepare({ ...whole, data: b.slice().buffer, length: b.length });
  assert.deepEqual(out.segment.hashes, new PreparedSegment(prepareSegment(b, whole)).hashes);
  pool.terminate();
});
