/** Shared helpers of the download and file tests: seeding buckets, comparing files, temp dirs. */
import assert from "node:assert/strict";
import { createReadStream } from "node:fs";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createBucket } from "../../src/api/buckets.js";
import { batchBucketFiles } from "../../src/api/upload.js";
import { fastRandom } from "../helpers/generators.js";

export interface Who {
  hubUrl: string;
  accessToken: string;
}

/** Creates the bucket (if needed) and uploads `files` (path → bytes) with this package's uploader. */
export async function seed(
  who: Who,
  bucket: string,
  files: Record<string, Uint8Array | string>,
  opts: { mtime?: number } = {},
): Promise<void> {
  await createBucket(bucket, { existOk: true, ...who });
  const add = Object.entries(files).map(([path, content]) => ({
    path,
    source: typeof content === "string" ? new TextEncoder().encode(content) : content,
    ...(opts.mtime !== undefined ? { mtime: opts.mtime } : {}),
  }));
  await batchBucketFiles(bucket, { add, ...who });
}

/** Deterministic pseudo-random bytes (incompressible: stored raw in xorbs). */
export const randomBytes = (n: number, seed = 7): Uint8Array => fastRandom(n, seed);

export async function tempDir(prefix = "xet-dl-"): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** Names in a directory (to check that no temporary file was left behind). */
export async function listDir(dir: string): Promise<string[]> {
  return (await readdir(dir)).sort();
}

/** Compares a file with expected bytes block by block (no whole-file copy for big files). */
export async function assertFileEquals(path: string, expected: Uint8Array): Promise<void> {
  let off = 0;
  for await (const block of createReadStream(path, { highWaterMark: 4 * 1024 * 1024 }) as AsyncIterable<Buffer>) {
    if (off + block.length > expected.length) assert.fail(`${path} is longer than the ${expected.length} bytes expected`);
    if (!Buffer.from(expected.buffer, expected.byteOffset + off, block.length).equals(block)) {
      let i = 0;
      while (block[i] === expected[off + i]) i++;
      assert.fail(`${path} differs at byte ${off + i}`);
    }
    off += block.length;
  }
  assert.equal(off, expected.length, `${path} has ${off} bytes, ${expected.length} expected`);
}

/** Byte equality without printing megabytes on failure. */
export function assertBytesEqual(actual: Uint8Array, expected: Uint8Array, what = "bytes"): void {
  assert.equal(actual.length, expected.length, `${what}: length ${actual.length}, expected ${expected.length}`);
  if (
    !Buffer.from(actual.buffer, actual.byteOffset, actual.length).equals(Buffer.from(expected.buffer, expected.byteOffset, expected.length))
  ) {
    let i = 0;
    while (actual[i] === expected[i]) i++;
    assert.fail(`${what}: differ at byte ${i}`);
  }
}

/** Compares two files block by block. */
export async function assertFilesEqual(a: string, b: string): Promise<void> {
  const { open } = await import("node:fs/promises");
  const fa = await open(a);
  const fb = await open(b);
  try {
    const ba = new Uint8Array(4 * 1024 * 1024);
    const bb = new Uint8Array(ba.length);
    for (let off = 0; ;) {
      const { bytesRead: na } = await fa.read(ba, 0, ba.length, off);
      const { bytesRead: nb } = await fb.read(bb, 0, bb.length, off);
      assert.equal(na, nb, `${a} and ${b} differ in length near byte ${off}`);
      if (na === 0) return;
      if (!Buffer.from(ba.buffer, 0, na).equals(Buffer.from(bb.buffer, 0, nb)))
        assert.fail(`${a} and ${b} differ in bytes ${off}-${off + na}`);
      off += na;
    }
  } finally {
    await fa.close();
    await fb.close();
  }
}
