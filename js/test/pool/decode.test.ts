/**
 * Downloaded chunk records decoded on the chunking workers (RecordDecoder with the pool's decoder): the same
 * chunks, lengths and hashes as decoding on this thread, for any split of the bytes and batches of several
 * MiB; damaged records fail with IntegrityError CORRUPT_DATA.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { decodeChunkRecords, initCore, UploadSession } from "../../src/core/index.js";
import { IntegrityError } from "../../src/errors.js";
import { acquireWorkerPool } from "../../src/pool/pool.js";
import { RecordDecoder, WindowPool, type RecordsDecoder } from "../../src/xet/download.js";
import { seededBytes } from "../helpers/data.mjs";
import { readVector, textInput } from "../helpers/vectors.js";
import { concatBytes } from "../helpers/files.js";

/** A xorb body of `data` (LZ4 / BG4 / raw records, as the upload writes them). */
function xorbOf(data: Uint8Array): Uint8Array {
  const s = new UploadSession({ compression: "best" });
  s.startFile();
  s.push(data);
  for (const q of s.takeQueries()) s.answerQuery(q, undefined);
  s.finishFile();
  s.flushXorb();
  const x = s.takeXorb()!;
  s.free();
  return x.data;
}

test("records decoded on the workers equal records decoded here, in any split", async (t) => {
  await initCore();
  const pool = await acquireWorkerPool(2);
  t.after(() => pool.release());
  const decode: RecordsDecoder = (b, n) => pool.decode(b, n);
  const mixed = seededBytes(9 * 1024 * 1024, 5);
  mixed.set(textInput(3 * 1024 * 1024), 2 * 1024 * 1024);
  for (const body of [xorbOf(mixed), readVector("xorb_zeros_1MiB_2e39f13c2480.bin"), readVector("xorb_text_200KiB_754334b8c0ee.bin")]) {
    const whole = decodeChunkRecords(body);
    for (const piece of [1 << 20, 65536, 77777]) {
      const dec = new RecordDecoder({ start: 0, end: whole.count, byteStart: 0, byteEnd: body.length - 1 }, "x", new WindowPool(), decode);
      for (let pos = 0; pos < body.length; pos += piece) {
        dec.push(body.subarray(pos, pos + piece));
        await dec.ready();
      }
      const got = await dec.done();
      assert.deepEqual(concatBytes(got.batches.map((b) => b.data)), whole.data);
      assert.deepEqual(concatBytes(got.batches.map((b) => b.hashes)), whole.hashes);
      assert.deepEqual(
        got.batches.flatMap((b) => [...b.lengths]),
        [...whole.lengths],
      );
      assert.equal(got.batches[0]!.chunkStart, 0);
    }
  }
  // A corrupt LZ4 frame: CORRUPT_DATA from the worker's core.
  const bytes = readVector("xorb_zeros_1MiB_2e39f13c2480.bin");
  const bad = bytes.slice();
  bad[8] ^= 0xff; // the first record's LZ4 frame magic
  const n = decodeChunkRecords(bytes).count;
  const dec = new RecordDecoder({ start: 0, end: n }, "x", undefined, decode);
  dec.push(bad);
  await assert.rejects(dec.done(), (e: unknown) => e instanceof IntegrityError && e.code === "CORRUPT_DATA");
});

test("with workers, small batches decoded here and large ones on the workers keep their order", async (t) => {
  await initCore();
  const pool = await acquireWorkerPool(2);
  t.after(() => pool.release());
  let offloaded = 0;
  const decode: RecordsDecoder = (b, n) => {
    offloaded++;
    return pool.decode(b, n);
  };
  // 8 MiB + 100 KiB: batches of about 4 MiB on the workers, then a short last batch decoded here.
  const body = xorbOf(seededBytes(8 * 1024 * 1024 + 100 * 1024, 9));
  const whole = decodeChunkRecords(body);
  const dec = new RecordDecoder({ start: 0, end: whole.count, byteStart: 0, byteEnd: body.length - 1 }, "x", new WindowPool(), decode);
  dec.push(body);
  const got = await dec.done();
  assert.ok(got.batches.length >= 3);
  assert.equal(offloaded, got.batches.length - 1, "all but the short last batch on the workers");
  assert.deepEqual(concatBytes(got.batches.map((b) => b.data)), whole.data);
  let next = 0;
  for (const b of got.batches) {
    assert.equal(b.chunkStart, next);
    next += b.count;
  }
});

test("workers decode into spent output buffers: reused when the result fits, handed back when it does not", async (t) => {
  await initCore();
  const pool = await acquireWorkerPool(2);
  t.after(() => pool.release());
  const decode: RecordsDecoder = (b, n, out) => pool.decode(b, n, out);
  const body = xorbOf(seededBytes(8 * 1024 * 1024 + 100 * 1024, 10));
  const whole = decodeChunkRecords(body);
  const range = { start: 0, end: whole.count, byteStart: 0, byteEnd: body.length - 1 };

  // Two outputs large enough for a 4 MiB batch: both batches on the workers are written into them.
  const windows = new WindowPool();
  windows.giveOutput(new ArrayBuffer(6 * 1024 * 1024));
  windows.giveOutput(new ArrayBuffer(6 * 1024 * 1024));
  const dec = new RecordDecoder(range, "x", windows, decode);
  dec.push(body);
  const got = await dec.done();
  assert.deepEqual(concatBytes(got.batches.map((b) => b.data)), whole.data);
  assert.equal(windows.reusedOutputs, 2);
  // The two worker batches are in the given outputs (the tail, decoded on this thread, in a buffer of its own).
  const packed = got.batches.filter((b) => b.packed?.byteLength === 6 * 1024 * 1024);
  assert.equal(packed.length, 2);
  assert.ok(packed.every((b) => b.data.buffer === b.packed));
  assert.ok(
    got.batches.every((b) => b.packed !== undefined && b.data.buffer === b.packed),
    "every batch names its buffer",
  );
  assert.equal(windows.takeOutput(), undefined, "both outputs hold batches");

  // Outputs too small for a batch: the workers use new buffers and hand these back to the pool.
  const small = new WindowPool();
  small.giveOutput(new ArrayBuffer(300 * 1024));
  small.giveOutput(new ArrayBuffer(300 * 1024));
  const dec2 = new RecordDecoder(range, "x", small, decode);
  dec2.push(body);
  const got2 = await dec2.done();
  assert.deepEqual(concatBytes(got2.batches.map((b) => b.data)), whole.data);
  // Each came back, or holds the tail batch decoded on this thread (which fits in one).
  const holdingTail = got2.batches.filter((b) => b.packed?.byteLength === 300 * 1024).length;
  let back = 0;
  while (small.takeOutput()?.byteLength === 300 * 1024) back++;
  assert.equal(back + holdingTail, 2);
  assert.ok(back >= 1, "the workers handed back what did not fit");
});

test("record windows go to the workers as the batches they hold and come back to the pool", async (t) => {
  await initCore();
  const pool = await acquireWorkerPool(2);
  t.after(() => pool.release());
  const sent: number[] = [];
  const decode: RecordsDecoder = (b, n, out) => {
    sent.push(b.byteLength); // before the transfer detaches it
    return pool.decode(b, n, out);
  };
  const body = xorbOf(seededBytes(12 * 1024 * 1024 + 300 * 1024, 11));
  const whole = decodeChunkRecords(body);
  const windows = new WindowPool();
  const dec = new RecordDecoder({ start: 0, end: whole.count, byteStart: 0, byteEnd: body.length - 1 }, "x", windows, decode);
  for (let pos = 0; pos < body.length; pos += 65536) {
    dec.push(body.subarray(pos, pos + 65536));
    await dec.ready();
  }
  const got = await dec.done();
  assert.deepEqual(concatBytes(got.batches.map((b) => b.data)), whole.data);
  assert.ok(sent.length >= 3, `${sent.length} batches on the workers`);
  // Each batch went as a whole window, no copy: its buffer is a window size (a multiple of 256 KiB).
  for (const size of sent) assert.ok(size > 0 && size % (256 * 1024) === 0, `a batch buffer of ${size} bytes`);
  // Handed back by the workers, the windows serve the next ranges.
  const before = windows.reusedWindows;
  for (let i = 0; i < sent.length; i++) windows.take(256 * 1024);
  assert.ok(windows.reusedWindows - before >= sent.length - 1, `${windows.reusedWindows - before} of ${sent.length} windows reused`);
});
