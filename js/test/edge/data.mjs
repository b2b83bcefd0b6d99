// Test content shared by the runtime scenario (run inside workerd, Deno, Bun, Chromium) and the Node test
// that checks the results: deterministic, so Node recomputes every expected hash from the same bytes.

/** Seeded pseudo-random bytes (xorshift32), identical in every runtime. */
export function seededBytes(n, seed) {
  const out = new Uint8Array(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out[i] = x & 0xff;
  }
  return out;
}

/** A 32-bit seed from a string (FNV-1a), so each runtime uploads its own data (no dedup across runs). */
export function seedOf(tag) {
  let h = 0x811c9dc5;
  for (const c of new TextEncoder().encode(tag)) h = Math.imul(h ^ c, 0x01000193) >>> 0;
  return h;
}

/**
 * The files a runtime uploads: a small text file (sent as a Blob), a 3 MiB file of random bytes (a
 * Uint8Array; several chunks, more than the 1 MiB some edge bodies are limited to), and a file that repeats
 * the large one's first 2 MiB between two new regions (deduplicated against the large file in the same call).
 */
export function scenarioFiles(tag) {
  const seed = seedOf(tag);
  const big = seededBytes(3 * 1024 * 1024, seed ^ 0x5eed);
  const mixed = new Uint8Array(512 * 1024 + 2 * 1024 * 1024 + 512 * 1024);
  mixed.set(seededBytes(512 * 1024, seed ^ 0xa11ce), 0);
  mixed.set(big.subarray(0, 2 * 1024 * 1024), 512 * 1024);
  mixed.set(seededBytes(512 * 1024, seed ^ 0xb0b), 512 * 1024 + 2 * 1024 * 1024);
  return [
    { path: "notes/hello.txt", bytes: new TextEncoder().encode(`hello from ${tag}\n`), asBlob: true },
    { path: "weights/big.bin", bytes: big },
    { path: "weights/mixed.bin", bytes: mixed },
  ];
}
