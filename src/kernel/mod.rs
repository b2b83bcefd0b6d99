//! Hot-path kernels for WebAssembly: the chunk hash (§3.3) computed in one call per chunk, several
//! BLAKE3 chunks at a time in SIMD lanes.
//!
//! Native builds hash with the `blake3` crate, whose SIMD paths (SSE4.1, AVX2, AVX-512, NEON) are
//! the fastest there. In WebAssembly, [`blake3_lanes`] hashes a whole chunk per call: four BLAKE3
//! chunks per compression step (one per lane of a `v128`), then the tree four parents per step,
//! with no per-block dispatch. Natively the same algorithm runs on a portable emulation of the
//! lanes in the tests, so `cargo test` checks the logic the WebAssembly build runs; the
//! TypeScript vector and hf_xet cross-check tests check the WebAssembly itself.
//!
//! Measured and not kept (V8 on x86-64, which has 16 vector registers for the 16 state and 16
//! message vectors): two groups of four lanes interleaved (eight BLAKE3 chunks per step) was
//! 15-20 % slower interleaved operation by operation, and 15-25 % slower interleaved G by G (V8
//! spills about three times as much; a variant that kept only part of the chaining values was
//! faster, which does not help a hash). Scanning for the next chunk's boundary between the
//! rounds (scalar work beside the vector work) saved a quarter of the scan's time in a
//! micro-benchmark with the scan state in locals, but made chunk + hash 7-10 % slower once wired
//! to the chunker and the stream (more code in the loop, state behind pointers). The left shift
//! of the rotation by 7 done as a multiplication (`i32x4.mul`, away from the shift units; its
//! constant read volatile, or LLVM turns it back into a shift) was 5 % slower.

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
