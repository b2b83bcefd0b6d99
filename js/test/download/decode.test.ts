/**
 * Streaming decode of fetched xorb ranges with the WebAssembly core, on the xorbs produced by hf_xet
 * (tests/vectors): any split of the bytes gives the chunks, lengths and hashes of a one-shot decode, the
 * chunk hashes give the xorb's hash, and damaged ranges fail with IntegrityError CORRUPT_DATA.
 */
import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import { decodeChunkRecords, initCore, xorbHashFromChunks } from "../../src/core/index.js";
import { IntegrityError } from "../../src/errors.js";
import { decodeRange, RecordDecoder } from "../../src/xet/download.js";
import { readVector } from "../helpers/vectors.js";
import { concatBytes } from "../helpers/files.js";

const XORBS = [
  "xorb_one_byte_a4d4ed80fcb2.bin",
  "xorb_splitmix_100KiB_4232f96e026e.bin",
  "xorb_text_200KiB_754334b8c0ee.bin",
  "xorb_zeros_1MiB_2e39f13c2480.bin",
];

before(() => initCore());

describe("RecordDecoder", () => {
  for (const name of XORBS) {
    it(`${name}: streamed in random pieces = decoded at once; the chunk hashes give the xorb hash`, () => {
      const bytes = readVector(name);
      const whole = decodeChunkRecords(bytes);
      const prefix = /_([0-9a-f]{12})\.bin$/.exec(name)![1]!;
      assert.ok(xorbHashFromChunks(whole.hashes, whole.lengths).startsWith(prefix));
      let seed = bytes.length;
      const dec = new RecordDecoder({ start: 0, end: whole.count }, prefix);
      for (let pos = 0; pos < bytes.length;) {
        seed = (seed * 1103515245 + 12345) & 0x7fffffff;
        const n = 1 + (seed % 5000);
        dec.push(bytes.subarray(pos, pos + n));
        pos += n;
      }
      const got = dec.finish();
      assert.deepEqual(concatBytes(got.batches.map((b) => b.data)), whole.data);
      assert.deepEqual(concatBytes(got.batches.map((b) => b.hashes)), whole.hashes);
      assert.deepEqual(
        got.batches.flatMap((b) => [...b.lengths]),
        [...whole.lengths],
      );
    });
  }

  it("chunk ranges that do not start at 0 keep their indices", () => {
    const bytes = readVector("xorb_text_200KiB_754334b8c0ee.bin");
    const whole = decodeChunkRecords(bytes);
    const from = whole.recordOffsets[1]!;
    const r = decodeRange(bytes.subarray(from), 1, whole.count, "x");
    assert.equal(r.batches[0]!.chunkStart, 1);
    assert.equal(
      r.batches.reduce((s, b) => s + b.count, 0),
      whole.count - 1,
    );
  });

  it("damaged ranges: truncated, a bad record version, a chunk count different from the reconstruction's, a corrupt LZ4 frame", () => {
    const bytes = readVector("xorb_zeros_1MiB_2e39f13c2480.bin"); // LZ4-compressed records
    const n = decodeChunkRecords(bytes).count;
    const code = (f: () => unknown) => {
      try {
        f();
      } catch (err) {
        assert.ok(err instanceof IntegrityError, String(err));
        return err.code;
      }
      assert.fail("no error");
    };
    assert.equal(
      code(() => decodeRange(bytes.subarray(0, bytes.length - 3), 0, n, "x")),
      "CORRUPT_DATA",
    );
    const badVersion = bytes.slice();
    badVersion[0] = 1;
    assert.equal(
      code(() => decodeRange(badVersion, 0, n, "x")),
      "CORRUPT_DATA",
    );
    assert.equal(
      code(() => decodeRange(bytes, 0, n + 1, "x")),
      "CORRUPT_DATA",
    );
    assert.equal(
      code(() => decodeRange(bytes, 0, n - 1, "x")),
      "CORRUPT_DATA",
    );
    const badLz4 = bytes.slice();
    badLz4[8 + 20] ^= 0xff; // inside the first record's LZ4 frame
    assert.equal(
      code(() => decodeRange(badLz4, 0, n, "x")),
      "CORRUPT_DATA",
    );
  });
});
