/**
 * The official test vectors (tests/vectors/): their files, and the generators of their inputs (tests/vectors/README.md),
 * so that tests rebuild every vector input exactly. Test data of other kinds comes from data.mjs.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { ROOT } from "./files.js";

export const VECTORS = join(ROOT, "tests", "vectors");

export function readVector(name: string): Uint8Array {
  return new Uint8Array(readFileSync(join(VECTORS, name)));
}

export function readVectorJson<T = any>(name: string): T {
  return JSON.parse(readFileSync(join(VECTORS, name), "utf8")) as T;
}

const M64 = (1n << 64n) - 1n;

/** SplitMix64 byte stream (xet-core's create_random_data), truncated to n bytes. */
export function splitmix64(n: number, seed: number | bigint): Uint8Array {
  const out = new Uint8Array(Math.ceil(n / 8) * 8);
  const view = new DataView(out.buffer);
  let state = BigInt(seed) & M64;
  for (let off = 0; off < out.length; off += 8) {
    state = (state + 0x9e3779b97f4a7c15n) & M64;
    let z = state;
    z = ((z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n) & M64;
    z = ((z ^ (z >> 27n)) * 0x94d049bb133111ebn) & M64;
    z = z ^ (z >> 31n);
    view.setBigUint64(off, z, true);
  }
  return out.subarray(0, n);
}

/** The text input: numbered lines, truncated to n bytes. */
export function textInput(n: number): Uint8Array {
  const parts: string[] = [];
  let len = 0;
  for (let i = 0; len < n; i++) {
    const line = `line ${String(i).padStart(6, "0")}: the quick brown fox jumps over the lazy dog\n`;
    parts.push(line);
    len += line.length;
  }
  return new TextEncoder().encode(parts.join("")).subarray(0, n);
}

/** Inputs of vectors.json by name. */
export function vectorInput(name: string, size: number): Uint8Array {
  switch (name) {
    case "empty.bin":
      return new Uint8Array(0);
    case "one_byte.bin":
      return new Uint8Array([0x61]);
    case "splitmix_100KiB.bin":
    case "splitmix_5MiB.bin":
      return splitmix64(size, 1);
    case "zeros_1MiB.bin":
      return new Uint8Array(size);
    case "text_200KiB.txt":
      return textInput(size);
    default:
      throw new Error(`unknown vector input ${name}`);
  }
}

/** chunking.edge_cases input for case i. */
export function edgeCaseInput(pattern: number[], i: number, length = 65536): Uint8Array {
  const base = new Uint8Array(pattern.length + i);
  base.set(pattern);
  const out = new Uint8Array(length);
  for (let k = 0; k < length; k++) out[k] = base[k % base.length]!;
  return out;
}

export function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString("hex");
}

export function fromHex(s: string): Uint8Array {
  return new Uint8Array(Buffer.from(s, "hex"));
}
