/**
 * The official test vectors (tests/vectors/) through the WebAssembly build, in Node: the same checks as the
 * Rust suite, but through the JS surface users get.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  Chunker,
  UploadSession,
  XetHasher,
  chunkHash,
  decodeChunkRecords,
  fileHashFromChunks,
  hexToRaw,
  initCore,
  isGlobalDedupEligible,
  parseShard,
  parseXorb,
  rawToHex,
  verificationHash,
  xorbHashFromChunks,
} from "../../src/core/index.js";
import { InvalidArgumentError, XetCoreError } from "../../src/errors.js";
import { edgeCaseInput, fromHex, readVector, readVectorJson, splitmix64, vectorInput } from "../helpers/vectors.js";
import { sha256 } from "../helpers/files.js";
const ExportedCoreError = XetCoreError;

await initCore();

const vectors = readVectorJson<Record<string, any>>("vectors.json");
const core = readVectorJson<any>("xet-core-vectors.json");
const merkle = readVectorJson<any[]>("xet-core-merkle-vectors.json");

function chunkAll(data: Uint8Array, feed?: number | number[]): { hex: string; length: number }[] {
  const c = new Chunker();
  const out = [];
  const sizes = feed === undefined ? [data.length || 1] : Array.isArray(feed) ? feed : [feed];
  let off = 0;
  for (let i = 0; off < data.length; i++) {
    const n = sizes[i % sizes.length]!;
    out.push(...c.update(data.subarray(off, off + n)));
    off += n;
  }
  out.push(...c.finish());
  c.free();
  return out.map((x) => ({ hex: rawToHex(x.hashRaw), length: x.length }));
}

function pack(hexes: string[]): Uint8Array {
  const out = new Uint8Array(32 * hexes.length);
  hexes.forEach((h, i) => out.set(hexToRaw(h), 32 * i));
  return out;
}

function boundaries(chunks: { length: number }[]): number[] {
  let s = 0;
  return chunks.map((c) => (s += c.length));
}

test("hex order: raw bytes <-> Xet hex both ways, upper case accepted", () => {
  for (const { raw_plain_hex, xet_hex } of core.hex_order) {
    assert.equal(rawToHex(fromHex(raw_plain_hex)), xet_hex);
    assert.deepEqual(hexToRaw(xet_hex), fromHex(raw_plain_hex));
    assert.deepEqual(hexToRaw(xet_hex.toUpperCase()), fromHex(raw_plain_hex));
  }
});

test("bad input crosses the boundary as a typed XetCoreError with a code", () => {
  for (const bad of ["", "zz", "0".repeat(63), "g".repeat(64)]) {
    assert.throws(
      () => hexToRaw(bad),
      (e: unknown) => e instanceof ExportedCoreError && e instanceof XetCoreError && e.code === "INVALID_HEX" && e.message.length > 0,
    );
  }
  assert.throws(
    () => rawToHex(new Uint8Array(31)),
    (e: unknown) => e instanceof XetCoreError && typeof e.code === "string",
  );
  assert.throws(
    () => parseXorb(new Uint8Array([0, 5, 0]), "0".repeat(64)),
    (e: unknown) => e instanceof XetCoreError,
  );
  assert.throws(
    () => parseShard(new Uint8Array(47)),
    (e: unknown) => e instanceof XetCoreError,
  );
  assert.throws(
    () => decodeChunkRecords(new Uint8Array([0, 10, 0, 0, 0, 10, 0, 0, 1])),
    (e: unknown) => e instanceof XetCoreError,
  );
});

test("XetHasher.updateInput: at most the bytes of the last input() view", () => {
  const h = new XetHasher();
  assert.throws(() => h.updateInput(1), InvalidArgumentError);
  assert.throws(() => h.input(-1), InvalidArgumentError);
  assert.throws(() => h.input(1.5), InvalidArgumentError);
  h.input(10);
  assert.throws(() => h.updateInput(11), InvalidArgumentError);
  h.updateInput(10);
  assert.equal(h.bytes, 10);
  h.free();
});

for (const [name, v] of Object.entries(vectors)) {
  test(`vectors.json ${name}: chunks, hashes, terms, xorb and shard through WASM`, () => {
    const data = vectorInput(name, v.size);
    assert.equal(sha256(data), v.sha256, "input generator");
    const expected = v.chunks.map((c: any) => ({ hex: c.hash, length: c.len }));
    const feeds: (number | number[] | undefined)[] = [undefined, 37, 255, 65536, [1000, 7, 131072, 3]];
    if (data.length <= 256 * 1024) feeds.push(1);
    for (const feed of feeds) assert.deepEqual(chunkAll(data, feed), expected, `feed ${JSON.stringify(feed)}`);
    for (const c of v.chunks) assert.equal(chunkHash(data.subarray(c.start, c.end)), c.hash);

    const hasher = new XetHasher();
    for (let off = 0; off < data.length; off += 100_003) hasher.update(data.subarray(off, off + 100_003));
    // Chunks are counted as they are cut: the last one may wait for finish().
    assert.ok(hasher.chunks >= v.chunks.length - 1 && hasher.chunks <= v.chunks.length);
    assert.equal(hasher.bytes, v.size);
    assert.equal(hasher.finish(), v.xet_file_hash);

    // Filled in place (the core's input buffer), interleaved with a second hasher on the same buffer and with
    // blocks of changing sizes: the same hash.
    const inPlace = new XetHasher();
    const other = new XetHasher();
    const sizes = [65_536, 1, 300_001, 8192];
    for (let off = 0, k = 0; off < data.length; k++) {
      const piece = data.subarray(off, off + sizes[k % sizes.length]!);
      inPlace.input(piece.length + 5).set(piece);
      inPlace.updateInput(piece.length);
      other.input(3).set([1, 2, 3]);
      other.updateInput(3);
      off += piece.length;
    }
    assert.equal(inPlace.bytes, v.size);
    assert.equal(inPlace.finish(), v.xet_file_hash);
    other.free();

    // The whole input in one update (large ones go through the input buffer in pieces).
    const whole = new XetHasher();
    whole.update(data);
    assert.equal(whole.finish(), v.xet_file_hash);

    const hashes = pack(v.chunks.map((c: any) => c.hash));
    const lengths = Uint32Array.from(v.chunks.map((c: any) => c.len));
    assert.equal(xorbHashFromChunks(hashes, lengths), v.merkle_root_before_file_salt);
    assert.equal(fileHashFromChunks(hashes, lengths), v.xet_file_hash);

    // Terms consume the file's chunks in order; each has its verification hash.
    let next = 0;
    v.segments_in_uploaded_shard.forEach((seg: any, k: number) => {
      const n = seg.chunk_index_end - seg.chunk_index_start;
      assert.equal(verificationHash(hashes.subarray(32 * next, 32 * (next + n))), v.verification_range_hashes[k]);
      next += n;
    });

    // Upload through a session (no global dedup answers): same xorb, same file record.
    const s = new UploadSession({ compression: "best" });
    s.startFile(false);
    s.push(data);
    for (const q of s.takeQueries()) s.answerQuery(q, undefined);
    const file = s.finishFile();
    assert.equal(file.hash, v.xet_file_hash);
    assert.equal(file.size, v.size);
    s.flushXorb();
    const xorbs = [];
    for (let x = s.takeXorb(); x; x = s.takeXorb()) xorbs.push(x);
    assert.deepEqual(
      xorbs.map((x) => [x.hash, x.chunkCount, x.rawBytes]),
      v.xorbs_uploaded.map((x: any) => [x.xorb_hash, x.num_chunks, x.unpacked_bytes]),
    );
    const decoded = new Uint8Array(xorbs.reduce((n, x) => n + x.rawBytes, 0));
    let off = 0;
    for (const x of xorbs) {
      const info = parseXorb(x.data, x.hash);
      assert.equal(info.count, x.chunkCount);
      const d = decodeChunkRecords(x.data);
      decoded.set(d.data, off);
      off += d.data.length;
    }
    // Unique chunks in order: for zeros the xorb holds the one chunk once.
    const unique = [...new Map(v.chunks.map((c: any) => [c.hash, c])).values()] as any[];
    const uniqueBytes = new Uint8Array(unique.reduce((n: number, c: any) => n + c.len, 0));
    let u = 0;
    for (const c of unique) {
      uniqueBytes.set(data.subarray(c.start, c.end), u);
      u += c.len;
    }
    assert.deepEqual(decoded, uniqueBytes);

    const shardBytes = s.takeShard();
    assert.ok(shardBytes, "a shard for the file");
    assert.equal(s.takeShard(), undefined);
    const ours = parseShard(shardBytes);
    const theirs = parseShard(readVector(`shard_${name.replace(/\.(bin|txt)$/, "")}.bin`));
    assert.equal(ours.footerSize, 0);
    assert.deepEqual(ours.files, theirs.files, "file section equals hf_xet's shard");
    assert.deepEqual(
      ours.xorbs.map((x) => ({ ...x, bytesOnDisk: 0 })),
      theirs.xorbs,
      "xorb section equals hf_xet's (bytesOnDisk aside: hf_xet writes 0)",
    );
    s.free();
  });
}

test("xorb fixtures: parsed, every chunk verified, decoded bytes equal the input", () => {
  const fixtures: [string, string, Uint8Array][] = [
    ["xorb_one_byte_a4d4ed80fcb2.bin", "one_byte.bin", vectorInput("one_byte.bin", 1)],
    ["xorb_splitmix_100KiB_4232f96e026e.bin", "splitmix_100KiB.bin", splitmix64(102400, 1)],
    ["xorb_text_200KiB_754334b8c0ee.bin", "text_200KiB.txt", vectorInput("text_200KiB.txt", 204800)],
  ];
  for (const [file, name, input] of fixtures) {
    const bytes = readVector(file);
    const hash = vectors[name].xorbs_uploaded[0].xorb_hash;
    const info = parseXorb(bytes, hash);
    assert.equal(info.hash, hash);
    assert.deepEqual(
      [...info.lengths],
      vectors[name].chunks.map((c: any) => c.len),
    );
    assert.deepEqual(decodeChunkRecords(bytes).data, input);
    // The wrong expected hash is refused.
    assert.throws(
      () => parseXorb(bytes, "1".repeat(64)),
      (e: unknown) => e instanceof XetCoreError && e.code === "HASH_MISMATCH",
    );
    // Any truncation is refused with a typed error.
    for (const cut of [1, 7, 8, 9, bytes.length - 1]) {
      if (cut >= bytes.length) continue;
      assert.throws(
        () => parseXorb(bytes.subarray(0, cut), hash),
        (e: unknown) => e instanceof XetCoreError,
        `cut ${cut}`,
      );
    }
  }
  const zeros = readVector("xorb_zeros_1MiB_2e39f13c2480.bin");
  const d = decodeChunkRecords(zeros);
  assert.equal(d.count, 1);
  assert.deepEqual(d.data, new Uint8Array(131072));
});

test("chunking vectors: random_1mb, const_1mb, streaming_256000 (1/37/255-byte feeds), 128 edge cases", () => {
  const r = core.chunking.random_1mb;
  const data = splitmix64(r.input.length, r.input.seed);
  assert.equal(sha256(data), r.input_check.sha256);
  const chunks = chunkAll(data, 65536);
  assert.deepEqual(boundaries(chunks), r.boundaries);
  assert.deepEqual(
    chunks.map((c) => c.hex),
    r.chunk_hashes,
  );
  const hashes = pack(r.chunk_hashes);
  const lengths = Uint32Array.from(chunks.map((c) => c.length));
  assert.equal(xorbHashFromChunks(hashes, lengths), r.derived.xorb_hash_all_chunks);
  assert.equal(fileHashFromChunks(hashes, lengths), r.derived.file_hash);
  assert.equal(verificationHash(hashes), r.derived.verification_hash_all_chunks);

  const k = core.chunking.const_1mb;
  assert.deepEqual(boundaries(chunkAll(new Uint8Array(k.input.length).fill(59))), k.boundaries);

  const s = core.chunking.streaming_256000;
  const sdata = splitmix64(s.input.length, s.input.seed);
  assert.equal(sha256(sdata), s.input_check.sha256);
  for (const feed of s.feed_block_sizes) assert.deepEqual(boundaries(chunkAll(sdata, feed)), s.boundaries, `feed ${feed}`);

  const e = core.chunking.edge_cases;
  for (const c of e.cases) {
    const input = edgeCaseInput(e.input.pattern_decimal, c.case, e.input.length);
    assert.equal(input[11111], c.data_11111);
    assert.deepEqual(boundaries(chunkAll(input)), c.boundaries, `edge case ${c.case}`);
  }
});

test("merkle vectors: 18 xorb-hash / file-hash cases", () => {
  for (const [i, c] of merkle.entries()) {
    const hashes = pack(c.chunks.map((x: [string, number]) => x[0]));
    if (c.chunks.some((x: [string, number]) => x[1] > 0xffffffff)) continue; // sizes above 2^32: covered by the Rust suite
    const lengths = Uint32Array.from(c.chunks.map((x: [string, number]) => x[1]));
    assert.equal(xorbHashFromChunks(hashes, lengths), c.xorb_hash, `case ${i}`);
    const plain = c.file_hashes_by_salt.find((x: [string, string]) => /^0+$/.test(x[0]));
    assert.equal(fileHashFromChunks(hashes, lengths), plain[1], `case ${i} file hash`);
  }
});

test("serialization vectors: hello, text2 (SHA-256 ext), floats_bg4 — xorb bodies decode, shards parse", () => {
  for (const name of ["hello", "text2", "floats_bg4"]) {
    const v = core.serialization[name];
    const body = fromHex(v.xorb_no_footer_hex);
    const info = parseXorb(body, v.xorb_hash);
    assert.deepEqual(
      [...info.lengths],
      v.chunks.map((c: any) => c.length),
    );
    const d = decodeChunkRecords(body);
    for (let i = 0; i < d.count; i++) assert.equal(rawToHex(d.hashes.subarray(32 * i, 32 * i + 32)), v.chunks[i].hash);
    const shard = parseShard(fromHex(v.upload_shard_hex));
    assert.equal(shard.footerSize, 0);
    assert.equal(shard.files[0]!.hash, v.file_hash);
    assert.equal(shard.files[0]!.verification!.length, shard.files[0]!.terms.length);
    assert.equal(shard.xorbs[0]!.hash, v.xorb_hash);
    if (name === "text2") assert.equal(shard.files[0]!.sha256, "b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9");
    const full = parseShard(fromHex(v.full_local_shard_hex));
    const f = v.full_local_shard_footer;
    assert.equal(full.footerSize, 200);
    assert.equal(full.footer!.fileLookupOffset, f.file_lookup_offset);
    assert.equal(full.footer!.chunkLookupCount, f.chunk_lookup_num_entry);
    assert.equal(full.files[0]!.hash, v.file_hash);
  }
});

test("global dedup eligibility: hash % 1024 == 0", () => {
  assert.equal(isGlobalDedupEligible("0".repeat(64)), true);
  assert.equal(isGlobalDedupEligible("0".repeat(60) + "0400"), true);
  assert.equal(isGlobalDedupEligible("0".repeat(60) + "0200"), false);
  assert.equal(isGlobalDedupEligible("0".repeat(63) + "1"), false);
});
