//! Shared helpers of the integration tests: the input generators of `tests/vectors/README.md`,
//! vector loading, hex helpers.
#![allow(dead_code)]

use serde_json::Value;
use sha2::{Digest, Sha256};
use xet_core::MerkleHash;
use xet_core::{from_plain_hex, to_plain_hex};

pub const VECTORS_JSON: &str = include_str!("../vectors/vectors.json");
pub const XET_CORE_VECTORS_JSON: &str = include_str!("../vectors/xet-core-vectors.json");
pub const MERKLE_VECTORS_JSON: &str = include_str!("../vectors/xet-core-merkle-vectors.json");

pub fn vectors() -> Value {
    serde_json::from_str(VECTORS_JSON).unwrap()
}

pub fn xet_core_vectors() -> Value {
    serde_json::from_str(XET_CORE_VECTORS_JSON).unwrap()
}

pub fn merkle_vectors() -> Value {
    serde_json::from_str(MERKLE_VECTORS_JSON).unwrap()
}

/// Reads a fixture from tests/vectors.
pub fn fixture(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/vectors/{}", env!("CARGO_MANIFEST_DIR"), name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("cannot read {path}: {e}"))
}

/// SplitMix64 byte stream (README "SplitMix64 byte stream").
pub fn splitmix64(seed: u64, len: usize) -> Vec<u8> {
    let mut state = seed;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        out.extend_from_slice(&z.to_le_bytes());
    }
    out.truncate(len);
    out
}

/// The text generator of `text_200KiB.txt`.
pub fn text(len: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(len + 64);
    let mut i = 0;
    while out.len() < len {
        out.extend_from_slice(
            format!("line {i:06}: the quick brown fox jumps over the lazy dog\n").as_bytes(),
        );
        i += 1;
    }
    out.truncate(len);
    out
}

/// The input of one `vectors.json` entry by name.
pub fn input_for(name: &str, size: usize) -> Vec<u8> {
    match name {
        "empty.bin" => Vec::new(),
        "one_byte.bin" => vec![b'a'],
        "splitmix_100KiB.bin" | "splitmix_5MiB.bin" => splitmix64(1, size),
        "zeros_1MiB.bin" => vec![0u8; size],
        "text_200KiB.txt" => text(size),
        other => panic!("unknown vector input {other}"),
    }
}

/// The periodic input of `chunking.edge_cases` case `i`.
pub fn edge_case_input(pattern: &[u8], i: usize, len: usize) -> Vec<u8> {
    let mut base = pattern.to_vec();
    base.extend(std::iter::repeat_n(0u8, i));
    (0..len).map(|k| base[k % base.len()]).collect()
}

pub fn sha256_hex(data: &[u8]) -> String {
    to_plain_hex(&Sha256::digest(data))
}

pub fn h(hex: &str) -> MerkleHash {
    MerkleHash::from_hex(hex).unwrap()
}

pub fn plain(hex: &str) -> Vec<u8> {
    from_plain_hex(hex).unwrap()
}

pub fn key32(hex_xet: &str) -> [u8; 32] {
    *MerkleHash::from_hex(hex_xet).unwrap().as_bytes()
}

/// Small deterministic PRNG for test-side randomness (splits, corruption positions).
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            0
        } else {
            self.next() % n
        }
    }
}

/// Splits `len` into random pieces (sizes 0..=max) — includes empty pieces on purpose.
pub fn random_splits(len: usize, max: usize, seed: u64) -> Vec<std::ops::Range<usize>> {
    let mut rng = Rng(seed);
    let mut out = Vec::new();
    let mut pos = 0;
    while pos < len {
        let n = (rng.below(max as u64 + 1) as usize).min(len - pos);
        out.push(pos..pos + n);
        pos += n;
    }
    out
}
