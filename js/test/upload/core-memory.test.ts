/**
 * Memory of the core's UploadSession, which the upload's memory bound relies on: while xorbs are taken
 * as soon as they close, the WebAssembly heap must hold about one xorb plus the input block and the
 * pending bytes — not a multiple of it. WebAssembly memory never shrinks, so its high-water mark stays in
 * the process's RSS for the rest of its life.
 *
 * The budget checked is the WASM term of the documented bound (js/src/xet/upload/pipeline.ts):
 * 1.5 × maxXorbBytes (the recycled buffer of the last xorb, plus the next one's buffer growing until it
 * takes the recycled one) + 2 × block + 16 MiB of bookkeeping; 120 MiB for 64 MiB xorbs. Before the
 * core capped and recycled xorb buffers, a `Vec` doubling from the first record's size overshot the
 * 64 MiB limit (capacity up to ~128 MiB) and copied on every growth: 200–250 MiB.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { initCore, UploadSession } from "../../src/core/index.js";
import * as glue from "../../src/core/wasm/xet_core.js";
import { seededBytes } from "../helpers/data.mjs";

const MiB = 1024 * 1024;

async function wasmMemory(): Promise<WebAssembly.Memory> {
  await initCore();
  // initSync returns the already-instantiated module's exports (it does not instantiate twice).
  return (glue as unknown as { initSync: () => { memory: WebAssembly.Memory } }).initSync().memory;
}

// Smaller xorbs first: the heap only grows, so the second case sees the first one's mark too.
for (const maxXorbBytes of [16 * MiB, 64 * MiB]) {
  test(`the core's heap holds about one xorb while xorbs are taken as they close (${maxXorbBytes / MiB} MiB xorbs)`, async () => {
    const memory = await wasmMemory();
    const block = 4 * MiB;
    const s = new UploadSession({ maxXorbBytes });
    const total = 3 * maxXorbBytes + 8 * MiB;
    let xorbs = 0;
    try {
      s.startFile();
      for (let off = 0, i = 0; off < total; off += block, i++) {
        const b = seededBytes(block, 1000 + i);
        s.push(b);
        for (const q of s.takeQueries()) s.answerQuery(q, undefined);
        for (let x = s.takeXorb(); x !== undefined; x = s.takeXorb()) xorbs++;
      }
      s.finishFile();
      s.flushXorb();
      while (s.takeXorb() !== undefined) xorbs++;
    } finally {
      s.free();
    }
    assert.ok(xorbs >= 3, `${xorbs} xorbs`);
    const heap = memory.buffer.byteLength;
    const budget = 1.5 * maxXorbBytes + 2 * block + 16 * MiB;
    assert.ok(
      heap <= budget,
      `WebAssembly memory grew to ${(heap / MiB).toFixed(0)} MiB for ${maxXorbBytes / MiB} MiB xorbs (budget ${(budget / MiB).toFixed(0)} MiB)`,
    );
  });
}
