// The one generator of test data: seeded pseudo-random bytes and numbers, identical in every runtime (Node,
// Deno, Bun, workerd, Chromium load this file as it is: plain ESM, no Node module), so a runtime test and the
// Node test that checks it compute the same bytes. (The official test vectors have their own inputs, rebuilt
// exactly by vectors.ts; they are not test data of this kind.)
//
// xoshiro128** (Blackman and Vigna) seeded through splitmix32: 128 bits of state, so the streams of two seeds
// never share runs of bytes (which would deduplicate), and about 1 GB/s in V8, enough for hundreds of MiB.
// Words are written in the platform's byte order (little-endian wherever these tests run).

export const MiB = 1024 * 1024;

/** A 32-bit seed from a string (FNV-1a), e.g. so that each runtime uploads its own data. */
export function seedOf(tag) {
  let h = 0x811c9dc5;
  for (const c of new TextEncoder().encode(tag)) h = Math.imul(h ^ c, 0x01000193) >>> 0;
  return h;
}

/** The generator's next-word function for a seed (a number, or a string hashed by seedOf). */
function xoshiro(seed) {
  let x = (typeof seed === "string" ? seedOf(seed) : Number(seed)) >>> 0;
  // splitmix32 spreads the seed over the 128-bit state (never all zero).
  const mix = () => {
    x = (x + 0x9e3779b9) >>> 0;
    let z = x;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return (z ^ (z >>> 16)) >>> 0;
  };
  let s0 = mix();
  let s1 = mix();
  let s2 = mix();
  let s3 = mix() | 1;
  return () => {
    const r = Math.imul(rotl(Math.imul(s1, 5), 7), 9) >>> 0;
    const t = s1 << 9;
    s2 ^= s0;
    s3 ^= s1;
    s1 ^= s2;
    s0 ^= s3;
    s2 ^= t;
    s3 = rotl(s3, 11);
    return r;
  };
}

function rotl(v, k) {
  return (v << k) | (v >>> (32 - k));
}

/** `n` seeded pseudo-random bytes (incompressible: stored raw in xorbs). The same `seed` gives the same bytes. */
export function seededBytes(n, seed = 1) {
  return seededStream(seed)(n);
}

/**
 * The bytes of `seededBytes(…, seed)` in pieces, for data too large to hold at once: each call returns the next
 * `n` bytes of the stream (`seededStream(s)(a)` then `(b)` equals `seededBytes(a + b, s)`).
 */
export function seededStream(seed = 1) {
  const next = xoshiro(seed);
  /** Bytes of the last word not handed out yet (little-endian order), and how many. */
  let carry = 0;
  let carried = 0;
  return (n) => {
    const out = new Uint8Array(n);
    let i = 0;
    for (; i < n && carried > 0; i++, carried--, carry >>>= 8) out[i] = carry & 0xff;
    if (i === 0) {
      // Whole words straight into the output (aligned: it starts a new buffer).
      const direct = new Uint32Array(out.buffer, 0, n >>> 2);
      for (let w = 0; w < direct.length; w++) direct[w] = next();
      i = direct.length * 4;
    }
    const words = new Uint32Array(Math.ceil((n - i) / 4));
    for (let w = 0; w < words.length; w++) words[w] = next();
    const bytes = new Uint8Array(words.buffer);
    out.set(bytes.subarray(0, n - i), i);
    const spare = bytes.length - (n - i);
    if (spare > 0) {
      carried = spare;
      carry = words[words.length - 1] >>> (8 * (4 - spare));
    }
    return out;
  };
}

/** Seeded pseudo-random numbers in [0, 1), for choices a test must be able to replay (a fault campaign's). */
export function seededRandom(seed) {
  const next = xoshiro(seed);
  return () => next() / 2 ** 32;
}

// The files the runtime scenario (js/test/edge/scenario.mjs) uploads in every runtime, and its Node checks expect.

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
