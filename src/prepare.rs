//! Chunks prepared outside the upload session, one segment of a file at a time: boundaries (§2.3),
//! chunk hashes (§3.3) and serialized records (§4.1, §4.2). This is the pure, parallel part of an
//! upload: workers prepare segments of one large file (or whole small files) at once, and the
//! session only places the results ([`crate::upload::UploadSession::push_chunks`]).
//!
//! # Segments and seams
//!
//! A file is cut into segments `[s_k, s_k + L)`; job `k` gets the bytes `[s_k, s_k + L + W)`: its
//! segment plus an overlap of `W ≥ 131,072` bytes into the next one (`W < L`). Job `k` starts a
//! chunk chain at `s_k` as if a chunk started there (for `k = 0` that is the true chain). Chunk
//! boundaries depend only on the position of the previous boundary and the bytes (§2.3), so two
//! chains that share one boundary share every later one.
//!
//! The seam at `s_{k+1}` is resolved inside job `k`: besides its own chain it runs the chain that
//! job `k + 1` starts at `s_{k+1}` (boundaries only, no hashing) and finds the first position
//! `p ≥ s_{k+1}` that is a boundary of both. Job `k` then emits its chunks up to `p`
//! ([`SegmentEnd::Met`]); job `k + 1`'s chunks from `p` on are the true ones, and the ones it
//! emitted before `p` are dropped by the caller. On random data the chains meet after one or two
//! chunks. When they do not meet inside the overlap (constant data has boundaries every 8,192 or
//! 131,072 bytes from wherever a chain starts), job `k` emits its chunks up to its last boundary
//! `c ≥ s_{k+1}` ([`SegmentEnd::Open`]) and job `k + 1` must be prepared again starting at `c`:
//! a sequential fallback that gives the true chain by construction.
//!
//! If job `k`'s outcome is known before job `k + 1` is prepared, job `k + 1` can start at `p` (or
//! `c`) directly and nothing is dropped.
//!
//! Whatever the split, the chunks assembled this way are exactly those of one sequential pass
//! (tests compare them with [`crate::chunking::reference_boundaries`] for many inputs, segment
//! sizes and seams).
//!
//! # Packed form
//!
//! [`prepare_segment`] returns one buffer (the form workers transfer), all integers u32
//! little-endian:
//!
//! ```text
//! [0] chunk count n   [1] end kind (0 final, 1 met, 2 open)   [2] end offset   [3] records length
//! [4 .. 4+n]        chunk end offsets, relative to the start of the data
//! [4+n .. 4+2n]     record lengths
//! 32·n bytes        raw chunk hashes
//! records           the serialized records, concatenated (no padding)
//! ```

use crate::chunking::{Chunker, MAX_CHUNK, MIN_CHUNK};
use crate::error::{err, ErrorKind, Result};
use crate::hash::{chunk_hash, MerkleHash};
use crate::xorb::{ChunkCompressor, CompressionPolicy, RECORD_HEADER_LEN};

/// Bytes of the packed header.
pub const PACKED_HEADER: usize = 16;

/// How a prepared segment ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SegmentEnd {
    /// No seam: the data ends the file; the last chunk ends at the end of the data.
    Final,
    /// The chain met the chain started at the seam at this offset (≥ the seam), where the
    /// emitted chunks end.
    Met(usize),
    /// The chains did not meet inside the data: the emitted chunks end at this offset (≥ the
    /// seam), the chain's last boundary; the next segment must be prepared again from here.
    Open(usize),
}

/// A prepared segment in its packed form (see the module documentation).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PreparedSegment {
    buf: Vec<u8>,
}

fn word(buf: &[u8], i: usize) -> u32 {
    u32::from_le_bytes([buf[4 * i], buf[4 * i + 1], buf[4 * i + 2], buf[4 * i + 3]])
}

impl PreparedSegment {
    /// Number of chunks.
    pub fn len(&self) -> usize {
        word(&self.buf, 0) as usize
    }

    /// True when no chunk was emitted.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// How the segment ends.
    pub fn end(&self) -> SegmentEnd {
        let at = word(&self.buf, 2) as usize;
        match word(&self.buf, 1) {
            1 => SegmentEnd::Met(at),
            2 => SegmentEnd::Open(at),
            _ => SegmentEnd::Final,
        }
    }

    /// End offset of chunk `i`, relative to the start of the data.
    pub fn chunk_end(&self, i: usize) -> usize {
        word(&self.buf, 4 + i) as usize
    }

    /// Record length of chunk `i`.
    pub fn record_len(&self, i: usize) -> usize {
        word(&self.buf, 4 + self.len() + i) as usize
    }

    /// Hash of chunk `i`.
    pub fn hash(&self, i: usize) -> MerkleHash {
        let at = PACKED_HEADER + 8 * self.len() + 32 * i;
        let mut h = [0u8; 32];
        h.copy_from_slice(&self.buf[at..at + 32]);
        MerkleHash(h)
    }

    /// All records, concatenated.
    pub fn records(&self) -> &[u8] {
        &self.buf[PACKED_HEADER + 40 * self.len()..]
    }

    /// The packed bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.buf
    }

    /// The packed bytes, moved out.
    pub fn into_bytes(self) -> Vec<u8> {
        self.buf
    }
}

/// Boundaries (absolute offsets in `data`) of a chain that starts at `from`, cut at real
/// boundaries only (no final chunk).
fn chain(data: &[u8], from: usize, cuts: &mut Vec<usize>) {
    let mut c = Chunker::new();
    let at = cuts.len();
    c.push(&data[from..], cuts);
    for x in &mut cuts[at..] {
        *x += from;
    }
}

/// First common boundary `p ≥ seam` of the own chain `own` (sorted) and the chain started at
/// `seam` (which counts `seam` itself).
fn meet(data: &[u8], own: &[usize], seam: usize) -> Option<usize> {
    let first = own.partition_point(|&c| c < seam);
    let own = &own[first..];
    if own.first() == Some(&seam) {
        return Some(seam);
    }
    let last = *own.last()?;
    // The seam's chain is only needed up to the own chain's last boundary.
    let mut fresh = Vec::new();
    chain(&data[..last], seam, &mut fresh);
    let (mut i, mut j) = (0, 0);
    while i < own.len() && j < fresh.len() {
        match own[i].cmp(&fresh[j]) {
            std::cmp::Ordering::Equal => return Some(own[i]),
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
        }
    }
    None
}

/// Prepares the chunks of `data` for a chain starting at offset `start` (a chunk boundary of the
/// file): boundaries, hashes and records compressed per `policy` (`None`: boundaries and hashes
/// only, every record length 0, for hashing files).
///
/// - `seam: None`: `data` ends the file; every chunk is emitted, the last one ending at the end.
/// - `seam: Some(s)`: the next segment starts at `s` (`start ≤ s`, and at least 131,072 bytes of
///   `data` follow `s`); chunks are emitted up to where this chain meets the chain started at
///   `s`, or up to this chain's last boundary when they do not meet (see the module docs).
///
/// `INVALID_ARGUMENT` for offsets out of range or more than 4 GiB of data.
pub fn prepare_segment(
    data: &[u8],
    start: usize,
    seam: Option<usize>,
    policy: Option<CompressionPolicy>,
    compressor: &mut ChunkCompressor,
) -> Result<PreparedSegment> {
    if data.len() > u32::MAX as usize {
        return err(
            ErrorKind::InvalidArgument,
            format!("a segment holds at most 4 GiB, got {} bytes", data.len()),
        );
    }
    if start > data.len() {
        return err(
            ErrorKind::InvalidArgument,
            format!(
                "segment start {start} is past the end of its {} bytes",
                data.len()
            ),
        );
    }
    if let Some(s) = seam {
        if s < start || s > data.len() || data.len() - s < MAX_CHUNK {
            return err(
                ErrorKind::InvalidArgument,
                format!(
                    "seam {s}: must be at or after the start {start} with at least {MAX_CHUNK} bytes after it in {} bytes",
                    data.len()
                ),
            );
        }
    }
    let mut own = Vec::with_capacity((data.len() - start) / MIN_CHUNK + 2);
    chain(data, start, &mut own);
    let (cut_count, end) = match seam {
        None => {
            if own.last().copied().unwrap_or(start) < data.len() {
                own.push(data.len());
            }
            (own.len(), SegmentEnd::Final)
        }
        Some(s) => match meet(data, &own, s) {
            Some(p) => (own.partition_point(|&c| c <= p), SegmentEnd::Met(p)),
            None => {
                // The chain has a boundary at or after the seam: its open chunk at `s` started
                // after `s - 131072` and at least 131,072 bytes follow `s`.
                let last = own.last().copied().unwrap_or(start);
                (own.len(), SegmentEnd::Open(last))
            }
        },
    };
    let cuts = &own[..cut_count];
    let n = cuts.len();
    let body = data.len().min(cuts.last().copied().unwrap_or(start)) - start;
    let meta = PACKED_HEADER + 40 * n;
    let capacity = meta + policy.map_or(0, |_| body + n * RECORD_HEADER_LEN);
    let mut buf = Vec::with_capacity(capacity);
    buf.resize(meta, 0);
    let (kind, at) = match end {
        SegmentEnd::Final => (0u32, data.len()),
        SegmentEnd::Met(p) => (1, p),
        SegmentEnd::Open(c) => (2, c),
    };
    let mut prev = start;
    for (i, &c) in cuts.iter().enumerate() {
        let chunk = &data[prev..c];
        let h = chunk_hash(chunk);
        let before = buf.len();
        if let Some(policy) = policy {
            compressor.write_record(chunk, policy, &mut buf)?;
        }
        let rec = (buf.len() - before) as u32;
        put(&mut buf, 4 + i, c as u32);
        put(&mut buf, 4 + n + i, rec);
        let hat = PACKED_HEADER + 8 * n + 32 * i;
        buf[hat..hat + 32].copy_from_slice(h.as_bytes());
        prev = c;
    }
    let records = (buf.len() - meta) as u32;
    put(&mut buf, 0, n as u32);
    put(&mut buf, 1, kind);
    put(&mut buf, 2, at as u32);
    put(&mut buf, 3, records);
    Ok(PreparedSegment { buf })
}

fn put(buf: &mut [u8], i: usize, v: u32) {
    buf[4 * i..4 * i + 4].copy_from_slice(&v.to_le_bytes());
}
