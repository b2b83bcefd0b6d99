/**
 * Xorb bodies as parts (xet/upload/xorb-assembly.ts): the chunks a body stores raw are read again from a
 * source that can be (a local file, a Blob) instead of being held, and the body sent is byte for byte the
 * records the session was told about, streamed or buffered. A source that changed since it was hashed fails
 * with SOURCE_CHANGED, never with a wrong xorb — also end to end, against the local hub: nothing is
 * registered.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, statSync, truncateSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { compressionCode, initCore, prepareSegment } from "../../src/core/index.js";
import { PreparedSegment } from "../../src/core/packed.js";
import { XetBucketsError } from "../../src/errors.js";
import { uploadFiles } from "../../src/api/upload.js";
import { XorbAssembly, type XorbBody } from "../../src/xet/upload/xorb-assembly.js";
import { sourceRanges, type UploadItem } from "../../src/xet/upload-sources.js";
import { seededBytes } from "../helpers/data.mjs";
import { ALICE, listTree, newBucket, startTestHub } from "../helpers/hub.js";

const MiB = 1024 * 1024;

/** 3 MiB: incompressible (stored raw), then text (compressed), then incompressible again. */
function mixed(): Uint8Array {
  const text = new TextEncoder().encode("the weights of layer 7 are all small numbers; ".repeat(23_000)).subarray(0, MiB);
  const out = new Uint8Array(3 * MiB);
  out.set(seededBytes(MiB, 1), 0);
  out.set(text, MiB);
  out.set(seededBytes(MiB, 2), 2 * MiB);
  return out;
}

/** The data prepared as one segment, every chunk placed new into xorb 0, and the body taken. */
async function assemble(data: Uint8Array, item: UploadItem): Promise<{ body: XorbBody; records: Uint8Array; held: number }> {
  await initCore();
  const seg = new PreparedSegment(
    prepareSegment(data, { start: 0, emitFrom: 0, seam: -1, seamChain: 0, compression: compressionCode("best") }),
  );
  const a = new XorbAssembly({ maxXorbBytes: 64 * MiB, maxXorbChunks: 8192, maxXorbUploads: 2 }, () => undefined);
  const source = sourceRanges(item);
  a.add(seg, 0, seg.count, source && { source, base: 0 });
  a.place(new Uint32Array(seg.count));
  const records = seg.records.slice();
  const x = a.take({
    hash: "0".repeat(64),
    chunkCount: seg.count,
    rawBytes: data.length,
    serializedBytes: records.length,
    data: new Uint8Array(),
  });
  return { body: x.body, records, held: a.heldPeak };
}

async function streamed(body: XorbBody): Promise<Uint8Array> {
  const s = body.request(true, () => undefined) as ReadableStream<Uint8Array>;
  return new Uint8Array(await new Response(s).arrayBuffer());
}

test("a body of a local file holds headers and compressed payloads only, and sends exactly its records", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "xet-body-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const data = mixed();
  const path = join(dir, "w.bin");
  writeFileSync(path, data);
  const st = statSync(path);
  const item: UploadItem = { path: "w.bin", source: path, size: st.size, mtime: st.mtimeMs, local: true };
  const { body, records, held } = await assemble(data, item);
  t.diagnostic(`records ${records.length} bytes, held ${held} bytes`);
  assert.equal(body.size, records.length);
  // The raw thirds are not held: what is held is the text's compressed payloads and the headers.
  assert.ok(held < MiB / 2, `held ${held}`);
  await body.prepare(true);
  assert.ok(Buffer.from(await streamed(body)).equals(Buffer.from(records)), "streamed body = records");
  assert.ok(Buffer.from(await streamed(body)).equals(Buffer.from(records)), "again, for a retry");
  await body.prepare(false);
  const buffered = body.request(false, () => undefined) as Uint8Array;
  assert.ok(Buffer.from(buffered).equals(Buffer.from(records)), "buffered body = records");

  // Modified since it was hashed (mtime): SOURCE_CHANGED before anything is sent.
  utimesSync(path, st.atime, new Date(st.mtimeMs + 5000));
  await assert.rejects(body.prepare(true), (e: unknown) => e instanceof XetBucketsError && e.code === "SOURCE_CHANGED");
  // A stream that meets the change fails with it too, and so does every later attempt.
  const { body: again } = await assemble(data, { ...item, mtime: statSync(path).mtimeMs });
  truncateSync(path, 2 * MiB);
  await assert.rejects(streamed(again));
  assert.ok(again.failure instanceof XetBucketsError && again.failure.code === "SOURCE_CHANGED", String(again.failure));
  assert.throws(
    () => again.request(true, () => undefined),
    (e: unknown) => e instanceof XetBucketsError && e.code === "SOURCE_CHANGED",
  );
});

test("a body of a Blob references its slices; a byte array's chunks are held", async () => {
  const data = mixed();
  const { body, records, held } = await assemble(data, {
    path: "b",
    source: new Blob([data as Uint8Array<ArrayBuffer>]),
    size: data.length,
  });
  assert.ok(held < MiB / 2);
  await body.prepare(false);
  const blob = body.request(false, () => undefined);
  assert.ok(blob instanceof Blob, "a Blob of arena views and slices");
  assert.ok(Buffer.from(await blob.arrayBuffer()).equals(Buffer.from(records)));
  assert.ok(Buffer.from(await streamed(body)).equals(Buffer.from(records)));

  const bytes = await assemble(data, { path: "u", source: data, size: data.length });
  assert.equal(bytes.held, bytes.records.length, "byte arrays may change under the upload: copied");
  await bytes.body.prepare(false);
  assert.ok(Buffer.from(bytes.body.request(false, () => undefined) as Uint8Array).equals(Buffer.from(bytes.records)));
});

test("a local file modified while it is uploaded fails with SOURCE_CHANGED and registers nothing", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "xet-body-"));
  // Once the hub stored the first xorb, the file is touched: a later xorb's body finds it changed.
  let path = "";
  let touched = false;
  const hub = await startTestHub({
    testHooks: {
      afterXorbTempWrite: () => {
        if (touched) return;
        touched = true;
        const st = statSync(path);
        utimesSync(path, st.atime, new Date(st.mtimeMs + 5000));
      },
    },
  });
  t.after(async () => {
    await hub.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const bucket = await newBucket(hub, "changed");
  path = join(dir, "ckpt.bin");
  writeFileSync(path, seededBytes(24 * MiB, 9));
  await assert.rejects(
    uploadFiles({
      repo: `buckets/${bucket}`,
      hubUrl: hub.url,
      accessToken: ALICE.token,
      files: [{ path: "ckpt.bin", content: path }],
      maxXorbBytes: 4 * MiB,
    }),
    (e: unknown) => e instanceof XetBucketsError && e.code === "SOURCE_CHANGED" && e.message.includes(path),
  );
  assert.ok(touched);
  assert.equal(hub.count("POST", "/v1/shards") + hub.count("POST", "/v2/shards"), 0, "no shard was sent");
  assert.deepEqual(await listTree(hub.url, bucket), []);
});
