//! Keyed BLAKE3 of one message of at most 128 KiB (one Xet chunk) in one call, compressing
//! several BLAKE3 chunks (1 KiB each) at once: one lane of a [`Lanes`] vector per BLAKE3 chunk,
//! then the parent nodes of the tree the same way, several per call, up to the root.
//!
//! Written from the BLAKE3 specification (the compression function, the chunk flags and the
//! left-balanced binary tree) and tested against the `blake3` crate on every length class. The
//! tree is built level by level: pairing neighbours and carrying an odd last node up unchanged
//! gives exactly BLAKE3's left-balanced tree.

// Natively only the tests run this (native builds hash with the `blake3` crate).
#![cfg_attr(not(any(test, target_arch = "wasm32")), allow(dead_code))]

use super::lanes::Lanes;

/// BLAKE3 chunk length.
const CHUNK_LEN: usize = 1024;
/// BLAKE3 block length.
const BLOCK_LEN: usize = 64;
/// Longest message [`keyed_hash`] takes: 128 BLAKE3 chunks (the maximum Xet chunk).
pub(crate) const MAX_LEN: usize = 128 * CHUNK_LEN;

const CHUNK_START: u32 = 1;
const CHUNK_END: u32 = 2;
const PARENT: u32 = 4;
const ROOT: u32 = 8;
const KEYED_HASH: u32 = 16;

const IV: [u32; 8] = [
    0x6A09_E667,
    0xBB67_AE85,
    0x3C6E_F372,
    0xA54F_F53A,
    0x510E_527F,
    0x9B05_688C,
    0x1F83_D9AB,
    0x5BE0_CD19,
];

/// Message word order of each of the seven rounds: BLAKE3 permutes the words between rounds;
/// composing the permutations here lets every round read the words in place.
const SCHEDULE: [[usize; 16]; 7] = {
    const PERMUTATION: [usize; 16] = [2, 6, 3, 10, 7, 0, 4, 13, 1, 11, 12, 5, 9, 14, 15, 8];
    let mut s = [[0usize; 16]; 7];
    let mut i = 0;
    while i < 16 {
        s[0][i] = i;
        i += 1;
    }
    let mut r = 1;
    while r < 7 {
        let mut i = 0;
        while i < 16 {
            s[r][i] = s[r - 1][PERMUTATION[i]];
            i += 1;
        }
        r += 1;
    }
    s
};

/// The G function on the state words `a, b, c, d` with message words `x, y`.
#[inline(always)]
fn g<L: Lanes>(v: &mut [L; 16], [a, b, c, d]: [usize; 4], x: L, y: L) {
    v[a] = v[a].add(v[b]).add(x);
    v[d] = v[d].xor(v[a]).rot16();
    v[c] = v[c].add(v[d]);
    v[b] = v[b].xor(v[c]).rot12();
    v[a] = v[a].add(v[b]).add(y);
    v[d] = v[d].xor(v[a]).rot8();
    v[c] = v[c].add(v[d]);
    v[b] = v[b].xor(v[c]).rot7();
}

/// One round: the four columns, then the four diagonals, message words in the order `r`. One G
/// after the other: in V8 this measured faster than interleaving the four G of a step operation
/// by operation (fewer values live at once, so fewer spills).
#[inline(always)]
fn round<L: Lanes>(v: &mut [L; 16], m: &[L; 16], r: &[usize; 16]) {
    g(v, [0, 4, 8, 12], m[r[0]], m[r[1]]);
    g(v, [1, 5, 9, 13], m[r[2]], m[r[3]]);
    g(v, [2, 6, 10, 14], m[r[4]], m[r[5]]);
    g(v, [3, 7, 11, 15], m[r[6]], m[r[7]]);
    g(v, [0, 5, 10, 15], m[r[8]], m[r[9]]);
    g(v, [1, 6, 11, 12], m[r[10]], m[r[11]]);
    g(v, [2, 7, 8, 13], m[r[12]], m[r[13]]);
    g(v, [3, 4, 9, 14], m[r[14]], m[r[15]]);
}

/// The BLAKE3 compression of one block per lane; `cv` becomes the chaining values.
#[inline(always)]
fn compress<L: Lanes>(cv: &mut [L; 8], m: &[L; 16], counter: L, block_len: L, flags: L) {
    let mut v = [
        cv[0],
        cv[1],
        cv[2],
        cv[3],
        cv[4],
        cv[5],
        cv[6],
        cv[7],
        L::splat(IV[0]),
        L::splat(IV[1]),
        L::splat(IV[2]),
        L::splat(IV[3]),
        counter,
        L::splat(0),
        block_len,
        flags,
    ];
    // Spelled out: the schedule must be constant for the message words to stay in registers, and
    // LLVM does not unroll a loop over the rounds.
    round(&mut v, m, &SCHEDULE[0]);
    round(&mut v, m, &SCHEDULE[1]);
    round(&mut v, m, &SCHEDULE[2]);
    round(&mut v, m, &SCHEDULE[3]);
    round(&mut v, m, &SCHEDULE[4]);
    round(&mut v, m, &SCHEDULE[5]);
    round(&mut v, m, &SCHEDULE[6]);
    for i in 0..8 {
        cv[i] = v[i].xor(v[i + 8]);
    }
}

/// Flags of the blocks of one [`compress_lanes`] call.
#[derive(Clone, Copy)]
struct Flags {
    /// On every block.
    all: u32,
    /// Added on the first block.
    first: u32,
    /// Added on each lane's last block.
    last: u32,
}

/// Chunks: `CHUNK_START` on the first block, `CHUNK_END` on the last.
const CHUNK_FLAGS: Flags = Flags {
    all: KEYED_HASH,
    first: CHUNK_START,
    last: CHUNK_END,
};
/// Parent nodes: one block each.
const PARENT_FLAGS: Flags = Flags {
    all: KEYED_HASH | PARENT,
    first: 0,
    last: 0,
};

/// Where a lane's input ends: its last block and that block's length. `NEVER` for an unused lane.
#[derive(Clone, Copy)]
struct End {
    block: usize,
    len: u32,
}

const NEVER: End = End {
    block: usize::MAX,
    len: 0,
};
const FULL_CHUNK: End = End {
    block: CHUNK_LEN / BLOCK_LEN - 1,
    len: BLOCK_LEN as u32,
};
const ONE_BLOCK: End = End {
    block: 0,
    len: BLOCK_LEN as u32,
};

/// Compresses the blocks of up to `L::N` inputs, one per lane, from the key: lane `j` reads its
/// blocks from `data[j · stride ..]`, 64 bytes apart, up to and including block `ends[j].block`,
/// and its chaining value after that block goes to `out[j]`. Lanes whose end is [`NEVER`] compute
/// nothing useful (their input must still be readable, up to the last block of any lane).
///
/// The one place the compression is inlined (each copy is about 10 KB of WebAssembly): the whole
/// chunks, the last chunks, the parents and the root all come here.
#[inline(never)]
fn compress_lanes<L: Lanes>(
    key: &[u32; 8],
    data: &[u8],
    stride: usize,
    counter: L,
    ends: &[End; 8],
    flags: Flags,
    out: &mut [[u8; 32]],
) {
    let lanes = &ends[..L::N];
    let blocks = lanes
        .iter()
        .filter(|e| e.block != usize::MAX)
        .map(|e| e.block + 1)
        .max()
        .unwrap_or(0);
    assert!(L::N <= 8 && data.len() >= (L::N - 1) * stride + blocks * BLOCK_LEN);
    let mut cv: [L; 8] = std::array::from_fn(|i| L::splat(key[i]));
    for b in 0..blocks {
        // SAFETY: lane j reads bytes [j·stride + 64·b, +64) of `data`, inside the asserted length.
        let m = unsafe { L::load_msg(data.as_ptr().add(b * BLOCK_LEN), stride) };
        let first = if b == 0 { flags.first } else { 0 };
        let f =
            L::from_fn(|j| flags.all | first | if lanes[j].block == b { flags.last } else { 0 });
        let len = L::from_fn(|j| {
            if lanes[j].block == b {
                lanes[j].len
            } else {
                BLOCK_LEN as u32
            }
        });
        compress(&mut cv, &m, counter, len, f);
        if lanes.iter().any(|e| e.block == b) {
            capture(&cv, lanes, b, out);
        }
    }
}

/// Stores the chaining values of the lanes whose last block is `b` (as 32 little-endian bytes).
/// Not inlined: a call in the block loop keeps V8 from unrolling it (five copies of the
/// compression overflow the instruction cache).
#[inline(never)]
fn capture<L: Lanes>(cv: &[L; 8], lanes: &[End], b: usize, out: &mut [[u8; 32]]) {
    let mut words = [[0u32; 8]; 8];
    for (w, v) in words.iter_mut().zip(cv) {
        v.write_to(w);
    }
    for (j, e) in lanes.iter().enumerate() {
        if e.block == b {
            for i in 0..8 {
                out[j][4 * i..4 * i + 4].copy_from_slice(&words[i][j].to_le_bytes());
            }
        }
    }
}

/// Chaining values of the last BLAKE3 chunks of a message, at most `L::N` ≤ 8 of them, the last one
/// possibly partial (or empty, for the empty message): `data` holds them, the first with chunk
/// counter `counter`. `root` when `data` is the whole message and at most one chunk long: its
/// chaining value is then the hash.
fn last_chunks<L: Lanes>(
    key: &[u32; 8],
    data: &[u8],
    counter: u32,
    root: bool,
    out: &mut [[u8; 32]],
) {
    let n = data.len().div_ceil(CHUNK_LEN).max(1);
    assert!(n <= L::N && L::N <= 8);
    // A zero-padded copy: every lane may then read all its blocks.
    let mut buf = [0u8; 8 * CHUNK_LEN];
    buf[..data.len()].copy_from_slice(data);
    let mut ends = [NEVER; 8];
    for (j, e) in ends.iter_mut().enumerate().take(n) {
        let len = (data.len() - j * CHUNK_LEN).min(CHUNK_LEN);
        // The empty message is one empty block.
        let block = len.max(1).div_ceil(BLOCK_LEN) - 1;
        *e = End {
            block,
            len: (len - block * BLOCK_LEN) as u32,
        };
    }
    let mut flags = CHUNK_FLAGS;
    if root {
        flags.last |= ROOT;
    }
    let ctr = L::from_fn(|j| counter + j as u32);
    compress_lanes(key, &buf, CHUNK_LEN, ctr, &ends, flags, out);
}

/// Replaces the `n` nodes of a tree level by the next level (pairs merged, an odd last node
/// carried up) in place; returns its node count. `n > 2` (two nodes merge into the root).
fn parent_level<L: Lanes>(key: &[u32; 8], nodes: &mut [[u8; 32]], n: usize) -> usize {
    let pairs = n / 2;
    let mut g = 0;
    while g < pairs {
        let lanes = (pairs - g).min(L::N);
        let mut ends = [NEVER; 8];
        ends[..lanes].fill(ONE_BLOCK);
        // Pair g + j is the 64 bytes of nodes 2(g + j) and 2(g + j) + 1. A copy when the group is
        // not full, so that the unused lanes read inside the buffer.
        let mut buf = [[0u8; 32]; 16];
        buf[..2 * lanes].copy_from_slice(&nodes[2 * g..2 * (g + lanes)]);
        let mut out = [[0u8; 32]; 8];
        compress_lanes(
            key,
            buf.as_flattened(),
            BLOCK_LEN,
            L::splat(0),
            &ends,
            PARENT_FLAGS,
            &mut out,
        );
        // Node g + j is not read again: pairs at or after g read nodes from 2g ≥ g + lanes on.
        nodes[g..g + lanes].copy_from_slice(&out[..lanes]);
        g += lanes;
    }
    if n % 2 == 1 {
        nodes[pairs] = nodes[n - 1];
    }
    pairs + n % 2
}

/// `keyed_hash(key, data)` of BLAKE3 for `data` of at most [`MAX_LEN`] bytes, `L::N` (≤ 8) BLAKE3
/// chunks or parent nodes at a time.
pub(crate) fn keyed_hash<L: Lanes>(key: &[u32; 8], data: &[u8]) -> [u8; 32] {
    assert!(data.len() <= MAX_LEN, "at most {MAX_LEN} bytes");
    let mut nodes = [[0u8; 32]; MAX_LEN / CHUNK_LEN];
    if data.len() <= CHUNK_LEN {
        last_chunks::<L>(key, data, 0, true, &mut nodes);
        return nodes[0];
    }
    let n = data.len().div_ceil(CHUNK_LEN);
    // The last chunk, whole or not, goes with the rest: never more than L::N - 1 whole ones.
    let whole = n - 1;
    let mut i = 0;
    while i + L::N <= whole {
        let ctr = L::from_fn(|j| (i + j) as u32);
        compress_lanes(
            key,
            &data[i * CHUNK_LEN..],
            CHUNK_LEN,
            ctr,
            &[FULL_CHUNK; 8],
            CHUNK_FLAGS,
            &mut nodes[i..],
        );
        i += L::N;
    }
    last_chunks::<L>(
        key,
        &data[i * CHUNK_LEN..],
        i as u32,
        false,
        &mut nodes[i..],
    );
    let mut level = n;
    while level > 2 {
        level = parent_level::<L>(key, &mut nodes, level);
    }
    let mut pair = [[0u8; 32]; 16];
    pair[..2].copy_from_slice(&nodes[..2]);
    let mut ends = [NEVER; 8];
    ends[0] = ONE_BLOCK;
    let flags = Flags {
        last: ROOT,
        ..PARENT_FLAGS
    };
    let mut out = [[0u8; 32]; 1];
    compress_lanes(
        key,
        pair.as_flattened(),
        BLOCK_LEN,
        L::splat(0),
        &ends,
        flags,
        &mut out,
    );
    out[0]
}

/// The eight little-endian words of a 32-byte key.
pub(crate) const fn key_words(key: &[u8; 32]) -> [u32; 8] {
    let mut w = [0u32; 8];
    let mut i = 0;
    while i < 8 {
        w[i] = u32::from_le_bytes([key[4 * i], key[4 * i + 1], key[4 * i + 2], key[4 * i + 3]]);
        i += 1;
    }
    w
}

#[cfg(test)]
mod tests {
    use super::super::lanes::U32x4;
    use super::*;

    fn bytes(len: usize, seed: u64) -> Vec<u8> {
        let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        (0..len)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                (x >> 32) as u8
            })
            .collect()
    }

    fn check(key: &[u8; 32], data: &[u8]) {
        let want = *blake3::keyed_hash(key, data).as_bytes();
        let k = key_words(key);
        assert_eq!(keyed_hash::<U32x4>(&k, data), want, "{} bytes", data.len());
    }

    #[test]
    fn every_length_class_matches_the_blake3_crate() {
        let key: [u8; 32] = std::array::from_fn(|i| (i as u8).wrapping_mul(37).wrapping_add(5));
        let data = bytes(MAX_LEN, 7);
        let mut lens: Vec<usize> = vec![
            0, 1, 2, 63, 64, 65, 127, 128, 129, 1023, 1024, 1025, 2047, 2048, 2049,
        ];
        for chunks in [
            3, 4, 5, 7, 8, 9, 11, 12, 13, 15, 16, 17, 31, 32, 33, 63, 64, 65, 100, 127, 128,
        ] {
            for delta in [-65i64, -64, -1, 0, 1, 64, 65] {
                let len = (chunks * CHUNK_LEN) as i64 + delta;
                if (0..=MAX_LEN as i64).contains(&len) {
                    lens.push(len as usize);
                }
            }
        }
        lens.push(8 * 1024);
        lens.push(MAX_LEN);
        for len in lens {
            check(&key, &data[..len]);
            check(&[0u8; 32], &data[MAX_LEN - len..]);
        }
    }

    #[test]
    fn random_lengths_and_keys() {
        let mut x = 0x1234_5678_9abc_def1u64;
        for round in 0..300 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let len = (x % (MAX_LEN as u64 + 1)) as usize;
            let key: [u8; 32] = bytes(32, x ^ 0xff)[..].try_into().unwrap();
            check(&key, &bytes(len, round));
        }
    }
}
