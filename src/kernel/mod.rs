//! Hot-path kernels for WebAssembly: the chunk hash (§3.3) computed in one call per chunk, several
//! BLAKE3 chunks at a time in SIMD lanes.
//!
//! Native builds hash with the `blake3` crate, whose SIMD paths (SSE4.1, AVX2, AVX-512, NEON) are
//! the fastest there. In WebAssembly, [`blake3_lanes`] compresses eight BLAKE3 chunks of the Xet
//! chunk per step (two `v128` of four lanes, interleaved) with no per-block dispatch. Natively the
//! same algorithm runs on a portable emulation of the lanes in the tests, so `cargo test` checks
//! the logic the WebAssembly build runs; the TypeScript vector tests check the WebAssembly itself.

pub(crate) mod blake3_lanes;
pub(crate) mod lanes;

use crate::hash::DATA_KEY;

/// [`DATA_KEY`] as BLAKE3 key words.
#[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]
const DATA_KEY_WORDS: [u32; 8] = blake3_lanes::key_words(&DATA_KEY);

/// `keyed_hash(DATA_KEY, data)`: the chunk hash.
#[inline]
pub(crate) fn chunk_hash(data: &[u8]) -> [u8; 32] {
    #[cfg(target_arch = "wasm32")]
    if data.len() <= blake3_lanes::MAX_LEN {
        return blake3_lanes::keyed_hash::<lanes::V128>(&DATA_KEY_WORDS, data);
    }
    *blake3::keyed_hash(&DATA_KEY, data).as_bytes()
}
