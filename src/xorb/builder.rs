//! The xorb builder: chunk records appended under the xorb limits, closed into a hashed xorb,
//! with a buffer policy that keeps memory at about one xorb on long uploads.

use super::compression::write_chunk_record;
use super::record::RECORD_HEADER_LEN;
use super::{CompressionPolicy, XorbLimits};
use crate::error::{err, ErrorKind, Result};
use crate::hash::{chunk_hash, MerkleBuilder, MerkleHash};

/// First capacity of a xorb's buffer.
const MIN_XORB_CAPACITY: usize = 256 * 1024;
/// Smallest buffer worth keeping for reuse by a later xorb.
pub(crate) const SMALL_XORB_CAPACITY: usize = 4 * 1024 * 1024;

/// A closed xorb: its hash and serialized body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BuiltXorb {
    /// Xorb hash.
    pub hash: MerkleHash,
    /// Serialized chunk records, no footer (the upload body).
    pub data: Vec<u8>,
    /// Chunk hashes in index order.
    pub chunk_hashes: Vec<MerkleHash>,
    /// Chunk lengths in index order.
    pub chunk_lengths: Vec<u32>,
    /// Sum of the chunk lengths.
    pub raw_bytes: u64,
    /// Serialized length: `data.len()`, or the records kept by the caller
    /// ([`XorbBuilder::push_external`]; `data` is then empty).
    pub serialized_len: usize,
}

/// Builds one xorb from chunk records, enforcing raw size, serialized size and chunk count.
///
/// Records are either copied in ([`XorbBuilder::push_record`]) or kept by the caller, who
/// assembles the body ([`XorbBuilder::push_external`]: only their lengths count here); one xorb
/// does not mix the two.
#[derive(Clone, Debug)]
pub struct XorbBuilder {
    limits: XorbLimits,
    data: Vec<u8>,
    /// Serialized bytes of records kept by the caller.
    external: usize,
    hashes: Vec<MerkleHash>,
    lengths: Vec<u32>,
    raw_bytes: u64,
    /// A large buffer handed back by the caller (see [`XorbBuilder::recycle`]).
    spare: Option<Vec<u8>>,
    expect_spare: bool,
}

impl XorbBuilder {
    /// An empty builder with the given limits.
    pub fn new(limits: XorbLimits) -> Self {
        XorbBuilder {
            limits,
            data: Vec::new(),
            external: 0,
            hashes: Vec::new(),
            lengths: Vec::new(),
            raw_bytes: 0,
            spare: None,
            expect_spare: false,
        }
    }

    /// True when no chunk was added.
    pub fn is_empty(&self) -> bool {
        self.hashes.is_empty()
    }

    /// Chunks added.
    pub fn chunk_count(&self) -> usize {
        self.hashes.len()
    }

    /// Sum of chunk lengths.
    pub fn raw_bytes(&self) -> u64 {
        self.raw_bytes
    }

    /// Serialized length so far.
    pub fn serialized_len(&self) -> usize {
        self.data.len() + self.external
    }

    /// True when a chunk of `raw_len` bytes with a record of `record_len` bytes fits. An empty
    /// builder accepts any single chunk.
    pub fn fits(&self, raw_len: usize, record_len: usize) -> bool {
        self.is_empty()
            || (self.hashes.len() < self.limits.max_chunks
                && self.raw_bytes + raw_len as u64 <= self.limits.max_raw_bytes
                && (self.serialized_len() + record_len) as u64 <= self.limits.max_serialized_bytes)
    }

    /// True when no further chunk can fit whatever its size (count reached, or a size limit hit
    /// exactly).
    pub fn is_full(&self) -> bool {
        self.hashes.len() >= self.limits.max_chunks
            || self.raw_bytes >= self.limits.max_raw_bytes
            || self.serialized_len() as u64 >= self.limits.max_serialized_bytes
    }

    /// Appends a serialized record (header + payload) of a chunk with `hash` and `raw_len`
    /// bytes; returns its chunk index. `LIMIT_EXCEEDED` when it does not fit; the caller
    /// checks [`XorbBuilder::fits`] first and closes the xorb.
    pub fn push_record(&mut self, hash: MerkleHash, raw_len: u32, record: &[u8]) -> Result<u32> {
        if self.external > 0 {
            return err(
                ErrorKind::InvalidState,
                "this xorb's records are kept by the caller (push_external); push_record cannot add bytes to it",
            );
        }
        if !self.fits(raw_len as usize, record.len()) {
            return err(
                ErrorKind::LimitExceeded,
                format!(
                    "chunk of {raw_len} bytes (record {} bytes) does not fit in a xorb with {} chunks, {} raw bytes, {} serialized bytes",
                    record.len(),
                    self.hashes.len(),
                    self.raw_bytes,
                    self.data.len()
                ),
            );
        }
        let index = self.hashes.len() as u32;
        self.grow_for(record.len());
        self.data.extend_from_slice(record);
        self.hashes.push(hash);
        self.lengths.push(raw_len);
        self.raw_bytes += raw_len as u64;
        Ok(index)
    }

    /// Appends a chunk whose serialized record (`record_len` bytes: header + payload) the caller
    /// keeps and writes into the body itself, in chunk order; returns its chunk index. The
    /// finished xorb has an empty `data` and `serialized_len` = the sum of the record lengths.
    /// `LIMIT_EXCEEDED` when it does not fit; `INVALID_STATE` when records were copied in.
    pub fn push_external(
        &mut self,
        hash: MerkleHash,
        raw_len: u32,
        record_len: usize,
    ) -> Result<u32> {
        if !self.data.is_empty() {
            return err(
                ErrorKind::InvalidState,
                "this xorb holds copied records (push_record); push_external cannot add to it",
            );
        }
        if !self.fits(raw_len as usize, record_len) {
            return err(
                ErrorKind::LimitExceeded,
                format!(
                    "chunk of {raw_len} bytes (record {record_len} bytes) does not fit in a xorb with {} chunks, {} raw bytes, {} serialized bytes",
                    self.hashes.len(),
                    self.raw_bytes,
                    self.serialized_len()
                ),
            );
        }
        let index = self.hashes.len() as u32;
        self.external += record_len;
        self.hashes.push(hash);
        self.lengths.push(raw_len);
        self.raw_bytes += raw_len as u64;
        Ok(index)
    }

    /// Reserves room for `extra` more bytes, never beyond the serialized limit (a plain `Vec`
    /// could overshoot it almost twofold). Up to [`SMALL_XORB_CAPACITY`] the buffer doubles.
    /// Past it, a recycled buffer is adopted if there is one (see [`XorbBuilder::recycle`]);
    /// else, when one is expected back soon ([`XorbBuilder::expect_spare`]), the buffer keeps
    /// doubling; otherwise it jumps to the limit at once, so that a large xorb is copied once
    /// and the heap holds one xorb rather than a doubling's old and new buffers.
    fn grow_for(&mut self, extra: usize) {
        let needed = self.data.len() + extra;
        if needed <= self.data.capacity() {
            return;
        }
        let max = usize::try_from(self.limits.max_serialized_bytes)
            .unwrap_or(usize::MAX)
            .max(needed);
        let doubled = needed.max(2 * self.data.capacity()).max(MIN_XORB_CAPACITY);
        let target = if needed <= SMALL_XORB_CAPACITY {
            doubled.min(SMALL_XORB_CAPACITY).min(max)
        } else {
            if let Some(mut big) = self.spare.take() {
                if big.capacity() >= needed {
                    big.extend_from_slice(&self.data);
                    self.data = big;
                    return;
                }
                self.spare = Some(big);
            }
            if self.expect_spare {
                doubled.min(max)
            } else {
                max
            }
        };
        self.data.reserve_exact(target - self.data.len());
    }

    /// Tells the builder that a large buffer is likely to be recycled soon (a closed xorb has
    /// not been handed back yet), so it should grow gradually instead of allocating a full
    /// xorb next to the one still held.
    pub(crate) fn expect_spare(&mut self, expected: bool) {
        self.expect_spare = expected;
    }

    /// Hands back the buffer of a xorb that was taken and uploaded, for reuse by a later xorb:
    /// a long upload then keeps reusing the same large allocation instead of allocating (and,
    /// in WebAssembly, growing the never-shrinking memory for) a new one per xorb. One spare
    /// buffer is kept, the largest.
    pub(crate) fn recycle(&mut self, mut buf: Vec<u8>) {
        buf.clear();
        if buf.capacity() > SMALL_XORB_CAPACITY
            && self
                .spare
                .as_ref()
                .is_none_or(|s| s.capacity() < buf.capacity())
        {
            self.spare = Some(buf);
        }
    }

    /// Bytes reserved for the serialized xorb (diagnostics and tests).
    #[cfg(test)]
    pub(crate) fn reserved_bytes(&self) -> usize {
        self.data.capacity()
    }

    /// Compresses `chunk` per `policy` and appends it; returns its chunk index.
    pub fn push_chunk(&mut self, chunk: &[u8], policy: CompressionPolicy) -> Result<u32> {
        let mut record = Vec::with_capacity(chunk.len() + RECORD_HEADER_LEN);
        write_chunk_record(chunk, policy, &mut record)?;
        self.push_record(chunk_hash(chunk), chunk.len() as u32, &record)
    }

    /// Closes the xorb: computes its hash. `None` when empty (an empty xorb is never uploaded).
    pub fn finish(self) -> Option<BuiltXorb> {
        if self.hashes.is_empty() {
            return None;
        }
        let mut m = MerkleBuilder::new();
        for (h, l) in self.hashes.iter().zip(&self.lengths) {
            m.push(*h, *l as u64);
        }
        Some(BuiltXorb {
            hash: m.finish(),
            serialized_len: self.data.len() + self.external,
            data: self.data,
            chunk_hashes: self.hashes,
            chunk_lengths: self.lengths,
            raw_bytes: self.raw_bytes,
        })
    }

    /// Closes the xorb and leaves an empty builder with the same limits (and spare buffer).
    pub fn take(&mut self) -> Option<BuiltXorb> {
        let spare = self.spare.take();
        let expect = self.expect_spare;
        let built = std::mem::replace(self, XorbBuilder::new(self.limits)).finish();
        self.spare = spare;
        self.expect_spare = expect;
        built
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::xorb::{MAX_XORB_BYTES, MAX_XORB_CHUNKS};

    /// A raw (scheme 0) record of `payload`.
    fn record(payload: &[u8]) -> Vec<u8> {
        let n = (payload.len() as u32).to_le_bytes();
        let mut r = vec![0, n[0], n[1], n[2], 0, n[0], n[1], n[2]];
        r.extend_from_slice(payload);
        r
    }

    #[test]
    fn xorb_buffer_never_overshoots_the_limit() {
        for (limit, record_len) in [
            (MAX_XORB_BYTES, 65_544usize),
            (MAX_XORB_BYTES, 8_200),
            (MAX_XORB_BYTES, 131_080),
            (1_000_000, 70_000),
        ] {
            let limits = XorbLimits {
                max_raw_bytes: limit,
                max_serialized_bytes: limit,
                max_chunks: MAX_XORB_CHUNKS,
            };
            let mut b = XorbBuilder::new(limits);
            let rec = record(&vec![7u8; record_len - 8]);
            let mut copies = 0;
            let mut last_cap = 0;
            while b.fits(record_len - 8, rec.len()) {
                b.push_record(MerkleHash::ZERO, (record_len - 8) as u32, &rec)
                    .unwrap();
                let cap = b.reserved_bytes();
                assert!(cap as u64 <= limit, "capacity {cap} over the limit {limit}");
                if cap != last_cap {
                    copies += 1;
                    last_cap = cap;
                }
            }
            assert!(copies <= 10, "{copies} reallocations");
            // A recycled buffer is adopted by the next xorb once it outgrows the small phase,
            // instead of a new allocation.
            let x = b.take().unwrap();
            let big = x.data.capacity();
            b.recycle(x.data);
            while b.serialized_len() <= SMALL_XORB_CAPACITY && b.fits(record_len - 8, rec.len()) {
                b.push_record(MerkleHash::ZERO, (record_len - 8) as u32, &rec)
                    .unwrap();
                assert!(b.reserved_bytes() <= SMALL_XORB_CAPACITY || b.reserved_bytes() == big);
            }
            if big > SMALL_XORB_CAPACITY && b.serialized_len() > SMALL_XORB_CAPACITY {
                assert_eq!(b.reserved_bytes(), big, "the recycled buffer is reused");
            }
        }
    }

    #[test]
    fn xorb_buffer_growth_without_a_spare() {
        let rec = record(&[7u8; 65_536]);
        // Nothing expected back: past 4 MiB the buffer jumps to the limit once.
        let mut b = XorbBuilder::new(XorbLimits::default());
        let mut caps = Vec::new();
        while b.fits(65_536, rec.len()) {
            b.push_record(MerkleHash::ZERO, 65_536, &rec).unwrap();
            if caps.last() != Some(&b.reserved_bytes()) {
                caps.push(b.reserved_bytes());
            }
        }
        assert_eq!(*caps.last().unwrap() as u64, MAX_XORB_BYTES);
        assert!(
            caps[..caps.len() - 1]
                .iter()
                .all(|&c| c <= SMALL_XORB_CAPACITY),
            "{caps:?}"
        );
        // A buffer is expected back: the builder keeps doubling (capped at the limit).
        let mut b = XorbBuilder::new(XorbLimits::default());
        b.expect_spare(true);
        let mut caps = Vec::new();
        while b.fits(65_536, rec.len()) {
            b.push_record(MerkleHash::ZERO, 65_536, &rec).unwrap();
            if caps.last() != Some(&b.reserved_bytes()) {
                caps.push(b.reserved_bytes());
            }
        }
        assert!(
            caps.contains(&(8 << 20)) && caps.contains(&(32 << 20)),
            "{caps:?}"
        );
        assert!(caps.iter().all(|&c| c as u64 <= MAX_XORB_BYTES));
    }
}
