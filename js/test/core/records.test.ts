/**
 * The WebAssembly boundary itself (src/wasm.rs): records arrive as plain objects of exactly the documented
 * shape (bulk data as typed arrays owned by JS), JS numbers are validated before they reach the core, and the
 * protocol constants equal the core's.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  DedupShardBuilder,
  HASHES_ONLY,
  HASH_BYTES,
  MAX_CHUNK_BYTES,
  MAX_SHARD_BYTES,
  MAX_XORB_BYTES,
  MAX_XORB_CHUNKS,
  MIN_CHUNK_BYTES,
  PLACED_DEDUP,
  TARGET_CHUNK_BYTES,
  UploadSession,
  ZERO_HASH,
  compressionCode,
  decodeChunkRecords,
  hexToRaw,
  initCore,
  parseShard,
  parseXorb,
  prepareSegment,
} from "../../src/core/index.js";
import { XetCoreError } from "../../src/errors.js";
import { fromHex, readVector, readVectorJson, splitmix64, textInput } from "../helpers/vectors.js";

await initCore();

const core = readVectorJson<any>("xet-core-vectors.json");

/** A plain object (not a class instance) with exactly these keys. */
function assertPlain(o: unknown, keys: string[], what: string): void {
  assert.equal(Object.getPrototypeOf(o), Object.prototype, `${what} is a plain object`);
  assert.deepEqual(Object.keys(o as object).sort(), [...keys].sort(), `${what} keys`);
}

function assertInvalid(fn: () => unknown, what: string): void {
  assert.throws(fn, (e: unknown) => e instanceof XetCoreError && e.code === "INVALID_ARGUMENT", what);
}

test("protocol constants come from the core", () => {
  assert.equal(HASH_BYTES, 32);
  assert.equal(ZERO_HASH, "0".repeat(64));
  assert.deepEqual([MIN_CHUNK_BYTES, TARGET_CHUNK_BYTES, MAX_CHUNK_BYTES], [8192, 65536, 131072]);
  assert.equal(MAX_XORB_CHUNKS, 8192);
  assert.equal(MAX_XORB_BYTES, 64 * 1024 * 1024);
  assert.equal(MAX_SHARD_BYTES, 64 * 1024 * 1024);
  assert.equal(PLACED_DEDUP, 0xffffffff);
  assert.equal(HASHES_ONLY, 255);
  assert.deepEqual(
    (["none", "lz4", "bg4", "best", "auto"] as const).map((p) => compressionCode(p)),
    [0, 1, 2, 3, 4],
  );
  assert.equal(compressionCode(undefined), 4, "auto is the default");
});

test("parseShard: the documented shape, footer or not, keyed or not", () => {
  // text2: a file with SHA-256 in a full local shard (footer present).
  const t = core.serialization.text2;
  const j = parseShard(fromHex(t.full_local_shard_hex));
  assertPlain(j, ["footerSize", "files", "xorbs", "footer"], "shard");
  assert.equal(j.footerSize, 200);
  const f = j.files[0]!;
  assertPlain(f, ["hash", "flags", "terms", "verification", "sha256"], "file");
  assert.equal(f.hash, t.file_hash);
  assert.equal(f.flags, 0xc000_0000);
  assert.equal(f.sha256, "b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9");
  assertPlain(f.terms[0], ["xorb", "flags", "unpacked", "start", "end"], "term");
  assert.equal(f.terms[0]!.xorb, t.xorb_hash);
  assert.deepEqual([f.terms[0]!.unpacked, f.terms[0]!.start, f.terms[0]!.end, f.terms[0]!.flags], [3011, 0, 2, 0]);
  assert.equal(f.verification![0], t.verification_hash_all_chunks);
  const x = j.xorbs[0]!;
  assertPlain(x, ["hash", "flags", "bytesInXorb", "bytesOnDisk", "chunks"], "xorb");
  assert.equal(x.bytesInXorb, 3011);
  assert.equal(x.bytesOnDisk, 0);
  assertPlain(x.chunks[1], ["hash", "offset", "length", "flags"], "chunk");
  assert.deepEqual([x.chunks[1]!.offset, x.chunks[1]!.length, x.chunks[1]!.flags], [3000, 11, 0]);
  assert.equal(x.chunks[0]!.hash, t.chunks[0].hash);
  const ft = j.footer!;
  const expected = t.full_local_shard_footer;
  for (const [k, e] of [
    ["fileLookupOffset", "file_lookup_offset"],
    ["fileLookupCount", "file_lookup_num_entry"],
    ["xorbLookupOffset", "xorb_lookup_offset"],
    ["xorbLookupCount", "xorb_lookup_num_entry"],
    ["chunkLookupOffset", "chunk_lookup_offset"],
    ["chunkLookupCount", "chunk_lookup_num_entry"],
    ["createdAt", "shard_creation_timestamp"],
    ["footerOffset", "footer_offset"],
  ] as const) {
    assert.equal(ft[k], expected[e], k);
  }
  assert.equal(ft.hmacKey, "0".repeat(64));
  // u64::MAX: the nearest JS number, as JSON.parse of the exact integer would give.
  assert.equal(ft.expiry, 2 ** 64);
  assert.equal(Object.keys(ft).length, 10);

  // An upload body: no footer, a verification array, sha256 null; the empty file too.
  const z = parseShard(readVector("shard_zeros_1MiB.bin"));
  assert.equal(z.footerSize, 0);
  assert.equal(z.footer, null);
  assert.equal(z.files[0]!.sha256, null);
  assert.equal(z.files[0]!.terms.length, 8);
  assert.equal(z.files[0]!.verification!.length, 8);
  const e = parseShard(readVector("shard_empty.bin"));
  assert.equal(e.files[0]!.hash, "0".repeat(64));
  assert.deepEqual(e.files[0]!.terms, []);
  assert.deepEqual(e.xorbs, []);

  // A keyed dedup answer: the key as plain hex, no files.
  const b = new DedupShardBuilder();
  b.addXorb("01".repeat(32), new Uint8Array(32).fill(2), new Uint32Array([5]), 13);
  const key = new Uint8Array(32);
  key[0] = 0xab;
  const k = parseShard(b.finish(key, 7, 8));
  assert.equal(k.footer!.hmacKey, `ab${"0".repeat(62)}`);
  assert.deepEqual(k.files, []);
  assert.equal(k.xorbs[0]!.bytesOnDisk, 13);

  // Flags with bit 31 stay a positive number; without verification entries the field is null.
  const one = parseShard(readVector("shard_one_byte.bin"));
  assert.equal(one.files[0]!.flags, 0x8000_0000);
  assert.ok(Array.isArray(one.files[0]!.verification));
  const plainAnswer = new DedupShardBuilder();
  plainAnswer.addXorb("01".repeat(32), new Uint8Array(32).fill(2), new Uint32Array([5]), 0);
  assert.equal(parseShard(plainAnswer.finish(undefined, 0, 0)).footer!.hmacKey, "0".repeat(64));
});

test("upload records: FileResult, XorbResult, SessionStats are plain objects; xorb bodies are JS-owned copies", () => {
  const s = new UploadSession({ maxXorbChunks: 2 });
  const data = splitmix64(300_000, 3);
  s.startFile(true);
  s.push(data);
  s.endInput();
  for (const q of s.takeQueries()) s.answerQuery(q, undefined);
  const f = s.finishFile();
  assertPlain(f, ["hash", "size", "chunkCount", "newBytes", "dedupLocalBytes", "dedupGlobalBytes", "sha256"], "file result");
  assert.equal(f.size, data.length);
  assert.equal(f.newBytes + f.dedupLocalBytes + f.dedupGlobalBytes, f.size);
  assert.match(f.sha256!, /^[0-9a-f]{64}$/);
  // Without SHA-256 the field is absent (not undefined-valued).
  s.startFile(false);
  s.push(textInput(1000));
  const g = s.finishFile();
  assert.equal("sha256" in g, false);
  s.flushXorb();
  const xorbs = [];
  for (let x = s.takeXorb(); x !== undefined; x = s.takeXorb()) xorbs.push(x);
  assert.ok(xorbs.length >= 2);
  for (const x of xorbs) {
    assertPlain(x, ["hash", "chunkCount", "rawBytes", "serializedBytes", "data"], "xorb result");
    assert.ok(x.data instanceof Uint8Array);
    assert.equal(x.data.length, x.serializedBytes);
    assert.equal(x.data.byteOffset, 0);
    assert.equal(x.data.buffer.byteLength, x.data.length, "its own buffer, not a view of WebAssembly memory");
    const info = parseXorb(x.data, x.hash);
    assert.equal(info.count, x.chunkCount);
    assert.equal(info.rawBytes, x.rawBytes);
  }
  // A copy taken before more work is unchanged by it (the core reuses its xorb buffers).
  const first = xorbs[0]!.data.slice();
  s.startFile(false);
  s.push(splitmix64(200_000, 4));
  s.finishFile();
  s.flushXorb();
  while (s.takeXorb() !== undefined);
  assert.deepEqual(xorbs[0]!.data, first);
  const st = s.stats();
  assertPlain(
    st,
    [
      "bytesProcessed",
      "chunks",
      "newBytes",
      "dedupLocalBytes",
      "dedupGlobalBytes",
      "xorbsProduced",
      "xorbBytesSerialized",
      "queriesIssued",
    ],
    "stats",
  );
  assert.equal(st.bytesProcessed, 300_000 + 1000 + 200_000);
  assert.ok(st.xorbsProduced >= xorbs.length + 1);
  s.free();
});

test("download and server records: DecodedChunks and XorbInfo carry typed arrays", () => {
  const body = readVector("xorb_text_200KiB_754334b8c0ee.bin");
  const d = decodeChunkRecords(body);
  assertPlain(d, ["count", "data", "lengths", "hashes", "recordOffsets"], "decoded chunks");
  assert.ok(d.data instanceof Uint8Array && d.hashes instanceof Uint8Array);
  assert.ok(d.lengths instanceof Uint32Array && d.recordOffsets instanceof Uint32Array);
  assert.equal(d.lengths.length, d.count);
  assert.equal(d.hashes.length, 32 * d.count);
  assert.equal(d.recordOffsets.length, d.count + 1);
  assert.equal(d.recordOffsets[d.count], body.length);
  assert.equal(
    d.lengths.reduce((a, b) => a + b, 0),
    d.data.length,
  );
  const expected = readVectorJson<Record<string, any>>("vectors.json")["text_200KiB.txt"].xorbs_uploaded[0].xorb_hash as string;
  const info = parseXorb(body, expected);
  assertPlain(info, ["hash", "count", "rawBytes", "hashes", "lengths", "recordOffsets"], "xorb info");
  assert.equal(info.hash, expected);
  assert.deepEqual(info.hashes, d.hashes);
  assert.deepEqual(info.lengths, d.lengths);
  assert.deepEqual(info.recordOffsets, d.recordOffsets);
  assert.equal(info.rawBytes, d.data.length);
});

test("JS numbers are checked at the boundary: upload limits, compression codes, shard times", () => {
  for (const bad of [-1, 1.5, Number.NaN, 1e20, Number.POSITIVE_INFINITY]) {
    for (const key of ["maxXorbBytes", "maxXorbChunks", "maxShardBytes"] as const) {
      assertInvalid(() => new UploadSession({ [key]: bad }), `${key} ${bad}`);
    }
  }
  // In range for a JS number, out of range for the core.
  assertInvalid(() => new UploadSession({ maxXorbBytes: 100 }), "xorb bytes 100");
  assertInvalid(() => new UploadSession({ maxXorbChunks: 9000 }), "xorb chunks 9000");
  assertInvalid(() => new UploadSession({ maxShardBytes: 100 }), "shard bytes 100");
  // 0 means the default for each limit: such a session cuts xorbs like a default one.
  const cut = (s: UploadSession): number[] => {
    s.startFile(false);
    s.push(splitmix64(2_000_000, 9));
    s.finishFile();
    s.flushXorb();
    const sizes = [];
    for (let x = s.takeXorb(); x !== undefined; x = s.takeXorb()) sizes.push(x.chunkCount);
    s.free();
    return sizes;
  };
  assert.deepEqual(cut(new UploadSession({ maxXorbBytes: 0, maxXorbChunks: 0, maxShardBytes: 0 })), cut(new UploadSession()));
  // Compression codes: 0–3 and 255 (hashes only); anything else is refused.
  const data = textInput(20_000);
  const spec = { start: 0, emitFrom: 0, seam: -1, seamChain: 0 };
  for (const compression of [0, 1, 2, 3, 255]) prepareSegment(data, { ...spec, compression });
  assertInvalid(() => prepareSegment(data, { ...spec, compression: 5 }), "compression 5");
  assertInvalid(() => prepareSegment(data, { ...spec, seam: 1.5, compression: 0 }), "seam 1.5");
  // Sizes and times of dedup answers (a builder is finished once, so one per call).
  const h = "0".repeat(62) + "01";
  const answer = (): DedupShardBuilder => {
    const b = new DedupShardBuilder();
    b.addXorb(h, hexToRaw(h), new Uint32Array([5]), 0);
    return b;
  };
  assertInvalid(() => answer().addXorb(h, hexToRaw(h), new Uint32Array([5]), -1), "bytesOnDisk -1");
  assertInvalid(() => answer().addXorb(h, hexToRaw(h), new Uint32Array([5]), 2 ** 32), "bytesOnDisk 2^32");
  assertInvalid(() => answer().finish(undefined, Number.NaN, 0), "createdAt NaN");
  assertInvalid(() => answer().finish(undefined, 0, -5), "expiry -5");
  assertInvalid(() => answer().finish(new Uint8Array(31), 0, 0), "hmac key of 31 bytes");
  parseShard(answer().finish(undefined, 0, 0));
});
