/** Local files in tests: the repository root, temporary directories, writing and listing trees, comparing bytes. */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { createReadStream, existsSync, mkdirSync, readdirSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { mkdtemp, open, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** The repository's root directory. */
export const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..");

/**
 * A new temporary directory; `cleanup` removes it. With a test context `t`, it is removed when the test ends.
 */
export async function tempDir(
  prefix = "xet-test-",
  t?: { after(fn: () => Promise<void>): void },
): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  const cleanup = () => rm(dir, { recursive: true, force: true });
  t?.after(cleanup);
  return { dir, cleanup };
}

/**
 * Writes `files` (relative path → bytes) under `dir`, creating folders. With `mtime` (ms), the files get
 * modification times `mtime`, `mtime + 1 s`, … in the order given.
 */
export function writeFiles(dir: string, files: Record<string, Uint8Array>, opts: { mtime?: number } = {}): void {
  let i = 0;
  for (const [rel, data] of Object.entries(files)) {
    const p = join(dir, rel);
    mkdirSync(dirname(p), { recursive: true });
    writeFileSync(p, data);
    if (opts.mtime !== undefined) {
      const m = (opts.mtime + 1000 * i++) / 1000;
      utimesSync(p, m, m);
    }
  }
}

/** Names in a directory, sorted (to check that no temporary file was left behind). */
export async function listDir(dir: string): Promise<string[]> {
  return (await readdir(dir)).sort();
}

/** Every file below `dir`, as sorted "/"-separated relative paths ([] when `dir` does not exist). */
export function listFilesRec(dir: string, base = ""): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const rel = base ? `${base}/${e.name}` : e.name;
    if (e.isDirectory()) out.push(...listFilesRec(join(dir, e.name), rel));
    else out.push(rel);
  }
  return out.sort();
}

/** The TypeScript sources below `dir` (not declarations), sorted; folders named in `skip` are left out. */
export function sourceFiles(dir: string, skip: string[] = []): string[] {
  return readdirSync(dir)
    .flatMap((name) => {
      const p = join(dir, name);
      if (statSync(p).isDirectory()) return skip.includes(name) ? [] : sourceFiles(p, skip);
      return name.endsWith(".ts") && !name.endsWith(".d.ts") ? [p] : [];
    })
    .sort();
}

/** SHA-256 of bytes, hex. */
export function sha256(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/** The parts, one after the other, in a new array. */
export function concatBytes(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
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

/** Compares two files block by block. */
export async function assertFilesEqual(a: string, b: string): Promise<void> {
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
