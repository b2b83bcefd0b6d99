//! Hashes of the Xet protocol (spec §3): the 32-byte [`MerkleHash`], its "Xet hex" text form,
//! the keyed BLAKE3 hashes (chunk, internal node, verification, file, HMAC'd chunk), the merkle
//! root with content-defined fan-out, and global-dedup eligibility.

use crate::error::{err, ErrorKind, Result};
use std::fmt;

/// BLAKE3 key of chunk hashes (§3.3).
pub const DATA_KEY: [u8; 32] = [
    0x66, 0x97, 0xf5, 0x77, 0x5b, 0x95, 0x50, 0xde, 0x31, 0x35, 0xcb, 0xac, 0xa5, 0x97, 0x18, 0x1c,
    0x9d, 0xe4, 0x21, 0x10, 0x9b, 0xeb, 0x2b, 0x58, 0xb4, 0xd0, 0xb0, 0x4b, 0x93, 0xad, 0xf2, 0x29,
];

/// BLAKE3 key of merkle internal nodes (§3.4).
pub const INTERNAL_NODE_KEY: [u8; 32] = [
    0x01, 0x7e, 0xc5, 0xc7, 0xa5, 0x47, 0x29, 0x96, 0xfd, 0x94, 0x66, 0x66, 0xb4, 0x8a, 0x02, 0xe6,
    0x5d, 0xdd, 0x53, 0x6f, 0x37, 0xc7, 0x6d, 0xd2, 0xf8, 0x63, 0x52, 0xe6, 0x4a, 0x53, 0x71, 0x3f,
];

/// BLAKE3 key of term verification hashes (§3.7).
pub const VERIFICATION_KEY: [u8; 32] = [
    0x7f, 0x18, 0x57, 0xd6, 0xce, 0x56, 0xed, 0x66, 0x12, 0x7f, 0xf9, 0x13, 0xe7, 0xa5, 0xc3, 0xf3,
    0xa4, 0xcd, 0x26, 0xd5, 0xb5, 0xdb, 0x49, 0xe6, 0x41, 0x24, 0x98, 0x7f, 0x28, 0xfb, 0x94, 0xc3,
];

/// BLAKE3 key of file hashes (§3.6): 32 zero bytes.
pub const FILE_HASH_KEY: [u8; 32] = [0u8; 32];

/// Global-dedup eligibility modulus (§3.10).
pub(crate) const GLOBAL_DEDUP_MODULUS: u64 = 1024;

/// A 32-byte hash in raw (BLAKE3 output) byte order.
///
/// Ordering compares the four little-endian u64 words in order, which equals comparing Xet hex
/// strings (§3.2).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct MerkleHash(pub [u8; 32]);

impl MerkleHash {
    /// The all-zero hash (the empty file's id).
    pub const ZERO: MerkleHash = MerkleHash([0u8; 32]);

    /// Wraps 32 raw bytes.
    pub const fn from_raw(raw: [u8; 32]) -> Self {
        MerkleHash(raw)
    }

    /// Reads 32 raw bytes from a slice; `INVALID_ARGUMENT` when the slice is not 32 bytes long.
    pub fn from_slice(raw: &[u8]) -> Result<Self> {
        match <[u8; 32]>::try_from(raw) {
            Ok(a) => Ok(MerkleHash(a)),
            Err(_) => err(
                ErrorKind::InvalidArgument,
                format!("a raw hash is 32 bytes, got {} bytes", raw.len()),
            ),
        }
    }

    /// The raw bytes.
    pub const fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Word `i` (0..4) read little-endian.
    #[inline]
    pub fn word(&self, i: usize) -> u64 {
        let mut w = [0u8; 8];
        w.copy_from_slice(&self.0[8 * i..8 * i + 8]);
        u64::from_le_bytes(w)
    }

    /// `hash % m` as the protocol defines it: the last word modulo `m` (§3.2).
    #[inline]
    pub fn hash_mod(&self, m: u64) -> u64 {
        self.word(3) % m
    }

    /// The "truncated hash" of shard lookup tables: the first word (§3.2).
    #[inline]
    pub fn truncated(&self) -> u64 {
        self.word(0)
    }

    /// True for the all-zero hash.
    pub fn is_zero(&self) -> bool {
        self.0 == [0u8; 32]
    }

    /// The Xet hex string (§3.2): four little-endian u64 words, 16 lowercase hex digits each.
    pub fn to_hex(&self) -> String {
        let mut s = String::with_capacity(64);
        self.write_hex(&mut s);
        s
    }

    /// Appends the Xet hex string to `out`.
    pub(crate) fn write_hex(&self, out: &mut String) {
        let mut buf = [0u8; 64];
        self.hex_bytes(&mut buf);
        // The buffer holds only ASCII hex digits.
        out.push_str(std::str::from_utf8(&buf).unwrap_or_default());
    }

    /// Writes the 64 ASCII Xet hex digits into `buf`.
    pub(crate) fn hex_bytes(&self, buf: &mut [u8; 64]) {
        const DIGITS: &[u8; 16] = b"0123456789abcdef";
        for g in 0..4 {
            for j in 0..8 {
                let b = self.0[g * 8 + 7 - j];
                buf[g * 16 + 2 * j] = DIGITS[(b >> 4) as usize];
                buf[g * 16 + 2 * j + 1] = DIGITS[(b & 15) as usize];
            }
        }
    }

    /// Parses a Xet hex string (64 hex digits, either case).
    pub fn from_hex(s: &str) -> Result<Self> {
        let b = s.as_bytes();
        if b.len() != 64 {
            return err(
                ErrorKind::InvalidHex,
                format!(
                    "a hash string has 64 hex digits, got {} characters",
                    s.chars().count()
                ),
            );
        }
        let mut raw = [0u8; 32];
        for g in 0..4 {
            for j in 0..8 {
                let pos = g * 16 + 2 * j;
                let hi = hex_val(b[pos]).ok_or_else(|| bad_digit(s, pos))?;
                let lo = hex_val(b[pos + 1]).ok_or_else(|| bad_digit(s, pos + 1))?;
                raw[g * 8 + 7 - j] = (hi << 4) | lo;
            }
        }
        Ok(MerkleHash(raw))
    }

    /// `keyed_hash(key, raw hash)`: the keyed chunk hash of dedup shards (§3.8).
    pub fn hmac(&self, key: &[u8; 32]) -> MerkleHash {
        keyed_hash(key, &self.0)
    }
}

fn bad_digit(s: &str, pos: usize) -> crate::error::CoreError {
    let c = s.get(pos..).and_then(|t| t.chars().next()).unwrap_or('?');
    crate::error::CoreError::new(
        ErrorKind::InvalidHex,
        format!("invalid hex digit {c:?} at position {pos} of a hash string"),
    )
}

#[inline]
fn hex_val(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

impl PartialOrd for MerkleHash {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for MerkleHash {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (0..4)
            .map(|i| self.word(i).cmp(&other.word(i)))
            .find(|o| o.is_ne())
            .unwrap_or(std::cmp::Ordering::Equal)
    }
}

impl fmt::Debug for MerkleHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MerkleHash({})", self.to_hex())
    }
}

impl fmt::Display for MerkleHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

/// Ordinary lowercase hex of bytes in byte order ("plain hex").
pub fn to_plain_hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        s.push(DIGITS[(b >> 4) as usize] as char);
        s.push(DIGITS[(b & 15) as usize] as char);
    }
    s
}

/// Parses plain hex (either case) into bytes.
pub fn from_plain_hex(s: &str) -> Result<Vec<u8>> {
    let b = s.as_bytes();
    if b.len() % 2 != 0 {
        return err(
            ErrorKind::InvalidHex,
            format!("plain hex needs an even number of digits, got {}", b.len()),
        );
    }
    let mut out = Vec::with_capacity(b.len() / 2);
    for i in (0..b.len()).step_by(2) {
        let hi = hex_val(b[i]).ok_or_else(|| bad_digit(s, i))?;
        let lo = hex_val(b[i + 1]).ok_or_else(|| bad_digit(s, i + 1))?;
        out.push((hi << 4) | lo);
    }
    Ok(out)
}

/// BLAKE3 keyed hash with a 32-byte output.
#[inline]
pub fn keyed_hash(key: &[u8; 32], data: &[u8]) -> MerkleHash {
    MerkleHash(*blake3::keyed_hash(key, data).as_bytes())
}

/// Chunk hash (§3.3): `keyed_hash(DATA_KEY, chunk bytes)`.
#[inline]
pub fn chunk_hash(data: &[u8]) -> MerkleHash {
    MerkleHash(crate::kernel::chunk_hash(data))
}

/// Verification hash of a term (§3.7) from the raw chunk hashes of the term's chunks.
pub fn verification_hash(chunk_hashes: &[MerkleHash]) -> MerkleHash {
    let mut h = blake3::Hasher::new_keyed(&VERIFICATION_KEY);
    for c in chunk_hashes {
        h.update(&c.0);
    }
    MerkleHash(*h.finalize().as_bytes())
}

/// True when a chunk may be the subject of a global dedup query by its hash alone (§3.10):
/// `hash % 1024 == 0`. (The first chunk of every file is eligible too; callers add that rule.)
#[inline]
pub fn is_global_dedup_eligible(h: &MerkleHash) -> bool {
    h.hash_mod(GLOBAL_DEDUP_MODULUS) == 0
}

/// Hash of one merkle group (§3.4): the keyed hash of the text lines
/// `xet_hex(hash) + " : " + size + "\n"`, and the sum of the sizes.
fn merge_group(group: &[(MerkleHash, u64)]) -> (MerkleHash, u64) {
    let mut h = blake3::Hasher::new_keyed(&INTERNAL_NODE_KEY);
    let mut total: u64 = 0;
    // One line is at most 64 + 3 + 20 + 1 = 88 bytes; at most 9 lines per group.
    let mut buf = [0u8; 9 * 88];
    let mut len = 0;
    for (hash, size) in group {
        let mut hex = [0u8; 64];
        hash.hex_bytes(&mut hex);
        buf[len..len + 64].copy_from_slice(&hex);
        len += 64;
        buf[len..len + 3].copy_from_slice(b" : ");
        len += 3;
        len += write_decimal(*size, &mut buf[len..len + 20]);
        buf[len] = b'\n';
        len += 1;
        if len > buf.len() - 88 {
            h.update(&buf[..len]);
            len = 0;
        }
        total = total.wrapping_add(*size);
    }
    h.update(&buf[..len]);
    (MerkleHash(*h.finalize().as_bytes()), total)
}

/// Writes `v` in decimal into `out` (at least 20 bytes); returns the digit count.
fn write_decimal(mut v: u64, out: &mut [u8]) -> usize {
    let mut tmp = [0u8; 20];
    let mut n = 0;
    loop {
        tmp[n] = b'0' + (v % 10) as u8;
        n += 1;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    for i in 0..n {
        out[i] = tmp[n - 1 - i];
    }
    n
}

/// Maximum children of a merkle node.
const MAX_CHILDREN: usize = 9;

/// The length of the next group of a merkle level (§3.4 `next_merge_cut`) for a complete level.
fn next_merge_cut(s: &[(MerkleHash, u64)]) -> usize {
    if s.len() <= 2 {
        return s.len();
    }
    let end = MAX_CHILDREN.min(s.len());
    for (k, node) in s.iter().enumerate().take(end).skip(2) {
        if node.0.hash_mod(4) == 0 {
            return k + 1;
        }
    }
    end
}

/// Merkle root of `(hash, size)` leaves (§3.4), the simple level-by-level algorithm.
///
/// [`MerkleBuilder`] computes the same root in a streaming fashion with bounded memory.
pub fn merkle_root(nodes: &[(MerkleHash, u64)]) -> MerkleHash {
    if nodes.is_empty() {
        return MerkleHash::ZERO;
    }
    let mut level: Vec<(MerkleHash, u64)> = nodes.to_vec();
    while level.len() > 1 {
        let mut out = Vec::with_capacity(level.len() / 3 + 1);
        let mut i = 0;
        while i < level.len() {
            let n = next_merge_cut(&level[i..]);
            out.push(merge_group(&level[i..i + n]));
            i += n;
        }
        level = out;
    }
    level[0].0
}

/// Xorb hash (§3.5): the merkle root of the xorb's chunks.
pub fn xorb_hash(chunks: &[(MerkleHash, u64)]) -> MerkleHash {
    merkle_root(chunks)
}

/// File hash (§3.6) of a file's chunks in file order; all zeros for no chunks.
pub fn file_hash(chunks: &[(MerkleHash, u64)]) -> MerkleHash {
    file_hash_with_salt(chunks, &FILE_HASH_KEY)
}

/// File hash with a salt used as the BLAKE3 key (§3.6); all zeros for no chunks.
pub fn file_hash_with_salt(chunks: &[(MerkleHash, u64)], salt: &[u8; 32]) -> MerkleHash {
    if chunks.is_empty() {
        return MerkleHash::ZERO;
    }
    keyed_hash(salt, &merkle_root(chunks).0)
}

/// One level of a [`MerkleBuilder`]: the nodes of the group being formed and how many nodes the
/// level has received in total.
#[derive(Clone, Debug, Default)]
struct Level {
    buf: Vec<(MerkleHash, u64)>,
    total: u64,
}

/// Streaming merkle root (§3.4) with memory bounded by 9 nodes per tree level.
///
/// A group boundary at a level is final as soon as node `k` (2 ≤ k ≤ 8) of the forming group has
/// `hash % 4 == 0` or the group has 9 nodes; the rest of each level is closed by
/// [`MerkleBuilder::finish`]. The result equals [`merkle_root`] of all pushed nodes.
#[derive(Clone, Debug, Default)]
pub struct MerkleBuilder {
    levels: Vec<Level>,
}

impl MerkleBuilder {
    /// An empty builder.
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of leaves pushed so far.
    pub fn leaf_count(&self) -> u64 {
        self.levels.first().map_or(0, |l| l.total)
    }

    /// Adds a leaf (chunk hash, chunk length).
    pub fn push(&mut self, hash: MerkleHash, size: u64) {
        self.push_at(0, (hash, size));
    }

    fn push_at(&mut self, mut level: usize, mut node: (MerkleHash, u64)) {
        loop {
            if self.levels.len() <= level {
                self.levels.push(Level::default());
            }
            let l = &mut self.levels[level];
            l.buf.push(node);
            l.total += 1;
            let n = l.buf.len();
            if n >= 3 && (n == MAX_CHILDREN || node.0.hash_mod(4) == 0) {
                node = merge_group(&l.buf);
                l.buf.clear();
                level += 1;
            } else {
                return;
            }
        }
    }

    /// The root of all leaves pushed so far (zero hash when none). The builder is left unchanged.
    pub fn root(&self) -> MerkleHash {
        let mut b = self.clone();
        b.finish_in_place()
    }

    /// The root; consumes the builder.
    pub fn finish(mut self) -> MerkleHash {
        self.finish_in_place()
    }

    fn finish_in_place(&mut self) -> MerkleHash {
        let mut level = 0;
        loop {
            if level >= self.levels.len() {
                return MerkleHash::ZERO;
            }
            let is_top = level + 1 >= self.levels.len() || self.levels[level + 1].total == 0;
            let l = &mut self.levels[level];
            if l.total == 0 {
                return MerkleHash::ZERO;
            }
            if l.total == 1 && is_top {
                return l.buf[0].0;
            }
            // The rest of this level is one group: no node at 2..len-1 matched, else it would
            // already have been cut.
            if !l.buf.is_empty() {
                let node = merge_group(&l.buf);
                l.buf.clear();
                // Cuts at the level above are final as they are found, so the streaming rule
                // applies to this last group too.
                self.push_at(level + 1, node);
            }
            level += 1;
        }
    }
}

/// Streaming file hash over (chunk hash, length) pairs in file order (§3.6).
#[derive(Clone, Debug, Default)]
pub struct FileHashBuilder {
    merkle: MerkleBuilder,
    bytes: u64,
}

impl FileHashBuilder {
    /// An empty builder.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds one chunk.
    pub fn add_chunk(&mut self, hash: MerkleHash, len: u64) {
        self.merkle.push(hash, len);
        self.bytes += len;
    }

    /// Chunks added so far.
    pub fn chunk_count(&self) -> u64 {
        self.merkle.leaf_count()
    }

    /// Bytes added so far.
    pub fn byte_count(&self) -> u64 {
        self.bytes
    }

    /// The file hash; all zeros when no chunk was added.
    pub fn finish(self) -> MerkleHash {
        self.finish_with_salt(&FILE_HASH_KEY)
    }

    /// The file hash keyed with `salt`.
    pub fn finish_with_salt(self, salt: &[u8; 32]) -> MerkleHash {
        if self.merkle.leaf_count() == 0 {
            return MerkleHash::ZERO;
        }
        keyed_hash(salt, &self.merkle.finish().0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_examples() {
        let raw =
            from_plain_hex("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f")
                .unwrap();
        let h = MerkleHash::from_slice(&raw).unwrap();
        assert_eq!(
            h.to_hex(),
            "07060504030201000f0e0d0c0b0a090817161514131211101f1e1d1c1b1a1918"
        );
        assert_eq!(MerkleHash::from_hex(&h.to_hex().to_uppercase()).unwrap(), h);
    }

    #[test]
    fn decimal() {
        let mut b = [0u8; 20];
        for v in [0u64, 7, 10, 12345, u64::MAX] {
            let n = write_decimal(v, &mut b);
            assert_eq!(std::str::from_utf8(&b[..n]).unwrap(), v.to_string());
        }
    }
}
