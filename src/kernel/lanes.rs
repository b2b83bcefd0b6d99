//! Vectors of 32-bit lanes for the lane-parallel BLAKE3 of [`super::blake3_lanes`]: one lane per
//! BLAKE3 chunk (or parent node) being compressed.
//!
//! [`Lanes`] is the handful of operations the compression needs. [`V128`] implements them with
//! WebAssembly `simd128` (four lanes per `v128`); [`U32x4`] is a portable four-lane emulation, so
//! that `cargo test` runs the very algorithm the WebAssembly build runs.

/// Operations on `N` independent 32-bit lanes.
pub(crate) trait Lanes: Copy {
    /// Number of lanes.
    const N: usize;
    /// All lanes `x`.
    fn splat(x: u32) -> Self;
    /// Lane `j` is `f(j)`.
    fn from_fn(f: impl Fn(usize) -> u32) -> Self;
    /// Writes lane `j` to `out[j]` (`out` has at least `N` elements).
    fn write_to(self, out: &mut [u32]);
    /// Lane-wise wrapping addition.
    fn add(self, o: Self) -> Self;
    /// Lane-wise exclusive or.
    fn xor(self, o: Self) -> Self;
    /// Lane-wise rotation right by 16 bits.
    fn rot16(self) -> Self;
    /// Lane-wise rotation right by 12 bits.
    fn rot12(self) -> Self;
    /// Lane-wise rotation right by 8 bits.
    fn rot8(self) -> Self;
    /// Lane-wise rotation right by 7 bits.
    fn rot7(self) -> Self;
    /// The sixteen little-endian message words of `N` 64-byte blocks, transposed: lane `j` of
    /// word `w` is word `w` of the block at `p + j * stride`.
    ///
    /// # Safety
    /// The `N` blocks must be readable.
    unsafe fn load_msg(p: *const u8, stride: usize) -> [Self; 16];
}

/// Portable four lanes: what the tests run natively.
#[cfg(test)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct U32x4(pub [u32; 4]);

#[cfg(test)]
impl U32x4 {
    #[inline(always)]
    fn map2(self, o: Self, f: impl Fn(u32, u32) -> u32) -> Self {
        U32x4([
            f(self.0[0], o.0[0]),
            f(self.0[1], o.0[1]),
            f(self.0[2], o.0[2]),
            f(self.0[3], o.0[3]),
        ])
    }

    #[inline(always)]
    fn map(self, f: impl Fn(u32) -> u32) -> Self {
        U32x4([f(self.0[0]), f(self.0[1]), f(self.0[2]), f(self.0[3])])
    }
}

#[cfg(test)]
impl Lanes for U32x4 {
    const N: usize = 4;

    #[inline(always)]
    fn splat(x: u32) -> Self {
        U32x4([x; 4])
    }

    #[inline(always)]
    fn from_fn(f: impl Fn(usize) -> u32) -> Self {
        U32x4([f(0), f(1), f(2), f(3)])
    }

    #[inline(always)]
    fn write_to(self, out: &mut [u32]) {
        out[..4].copy_from_slice(&self.0);
    }

    #[inline(always)]
    fn add(self, o: Self) -> Self {
        self.map2(o, u32::wrapping_add)
    }

    #[inline(always)]
    fn xor(self, o: Self) -> Self {
        self.map2(o, |a, b| a ^ b)
    }

    #[inline(always)]
    fn rot16(self) -> Self {
        self.map(|a| a.rotate_right(16))
    }

    #[inline(always)]
    fn rot12(self) -> Self {
        self.map(|a| a.rotate_right(12))
    }

    #[inline(always)]
    fn rot8(self) -> Self {
        self.map(|a| a.rotate_right(8))
    }

    #[inline(always)]
    fn rot7(self) -> Self {
        self.map(|a| a.rotate_right(7))
    }

    #[inline(always)]
    unsafe fn load_msg(p: *const u8, stride: usize) -> [Self; 16] {
        let mut m = [U32x4([0; 4]); 16];
        for j in 0..4 {
            // SAFETY: the caller guarantees 64 readable bytes at every block.
            let block = unsafe { std::slice::from_raw_parts(p.add(j * stride), 64) };
            for (w, word) in block.chunks_exact(4).enumerate() {
                m[w].0[j] = u32::from_le_bytes([word[0], word[1], word[2], word[3]]);
            }
        }
        m
    }
}

#[cfg(target_arch = "wasm32")]
pub(crate) use simd::V128;

#[cfg(target_arch = "wasm32")]
mod simd {
    use super::Lanes;
    use core::arch::wasm32::*;

    /// Four lanes in one WebAssembly `v128`.
    #[derive(Clone, Copy)]
    pub(crate) struct V128(v128);

    impl Lanes for V128 {
        const N: usize = 4;

        #[inline(always)]
        fn splat(x: u32) -> Self {
            V128(u32x4_splat(x))
        }

        #[inline(always)]
        fn from_fn(f: impl Fn(usize) -> u32) -> Self {
            V128(u32x4(f(0), f(1), f(2), f(3)))
        }

        #[inline(always)]
        fn write_to(self, out: &mut [u32]) {
            out[0] = u32x4_extract_lane::<0>(self.0);
            out[1] = u32x4_extract_lane::<1>(self.0);
            out[2] = u32x4_extract_lane::<2>(self.0);
            out[3] = u32x4_extract_lane::<3>(self.0);
        }

        #[inline(always)]
        fn add(self, o: Self) -> Self {
            V128(u32x4_add(self.0, o.0))
        }

        #[inline(always)]
        fn xor(self, o: Self) -> Self {
            V128(v128_xor(self.0, o.0))
        }

        // Rotation by 16 swaps the 16-bit halves (V8 on x86-64: pshuflw + pshufhw, measured 3 to 7 %
        // faster than shifts); the others are two shifts and an or. A byte shuffle for rotation by
        // 8 (one pshufb) measured 9 % slower: V8 rebuilds its mask constant at every use (four
        // instructions and a register).
        #[inline(always)]
        fn rot16(self) -> Self {
            V128(i16x8_shuffle::<1, 0, 3, 2, 5, 4, 7, 6>(self.0, self.0))
        }

        #[inline(always)]
        fn rot12(self) -> Self {
            V128(v128_or(u32x4_shr(self.0, 12), u32x4_shl(self.0, 20)))
        }

        #[inline(always)]
        fn rot8(self) -> Self {
            V128(v128_or(u32x4_shr(self.0, 8), u32x4_shl(self.0, 24)))
        }

        #[inline(always)]
        fn rot7(self) -> Self {
            V128(v128_or(u32x4_shr(self.0, 7), u32x4_shl(self.0, 25)))
        }

        #[inline(always)]
        unsafe fn load_msg(p: *const u8, stride: usize) -> [Self; 16] {
            let mut m = [V128(u32x4_splat(0)); 16];
            for q in 0..4 {
                // SAFETY: the caller guarantees 64 readable bytes at every block; v128.load
                // has no alignment requirement.
                let (a, b, c, d) = unsafe {
                    (
                        v128_load(p.add(16 * q) as *const v128),
                        v128_load(p.add(stride + 16 * q) as *const v128),
                        v128_load(p.add(2 * stride + 16 * q) as *const v128),
                        v128_load(p.add(3 * stride + 16 * q) as *const v128),
                    )
                };
                // 4 × 4 transpose of 32-bit words: interleave pairs of rows, then pairs of pairs.
                let ab_lo = i32x4_shuffle::<0, 4, 1, 5>(a, b);
                let ab_hi = i32x4_shuffle::<2, 6, 3, 7>(a, b);
                let cd_lo = i32x4_shuffle::<0, 4, 1, 5>(c, d);
                let cd_hi = i32x4_shuffle::<2, 6, 3, 7>(c, d);
                m[4 * q] = V128(i64x2_shuffle::<0, 2>(ab_lo, cd_lo));
                m[4 * q + 1] = V128(i64x2_shuffle::<1, 3>(ab_lo, cd_lo));
                m[4 * q + 2] = V128(i64x2_shuffle::<0, 2>(ab_hi, cd_hi));
                m[4 * q + 3] = V128(i64x2_shuffle::<1, 3>(ab_hi, cd_hi));
            }
            m
        }
    }
}
