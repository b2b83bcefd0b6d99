//! Chunks prepared outside the upload session, one segment of a file at a time: boundaries (§2.3),
//! chunk hashes (§3.3) and serialized records (§4.1, §4.2). This is the pure, parallel part of an
//! upload: workers prepare segments of one large file (or whole small files) at once, and the
//! session only places the results ([`crate::upload::UploadSession::push_chunks`]).
//!
//! # Segments and seams
//!
//! A file is cut into segments `[s_k, s_{k+1})`. Job `k` gets the bytes `[s_k - X, s_{k+1} + W)`:
//! a pre-roll of `X` bytes before its segment (none for the first), the segment, and an overlap of
//! `W ≥ 131,072` bytes into the next one. It runs a chunk chain from the start of its bytes, as if a
//! chunk started there, and emits the chunks from its first boundary at or after `s_k`. Chunk
//! boundaries depend only on the position of the previous boundary and the bytes (§2.3), so two
//! chains that share one boundary share every later one; chains started at different places meet
//! after a chunk or two on most data, so after a pre-roll of a few chunks job `k`'s chain is the
//! true one (the sequential chain) by the time it reaches `s_k`, and nothing it emits is wasted.
//!
//! The seam at `s_{k+1}` is resolved inside job `k`: it also runs job `k + 1`'s chain (the one
//! started at `s_{k+1} - X`, boundaries only, no hashing) and finds the first position
//! `p ≥ s_{k+1}` that is a boundary of both. Job `k` emits its chunks up to `p`
//! ([`SegmentEnd::Met`]); job `k + 1`'s chunks from `p` on are the true ones, and any it emitted
//! before `p` (its pre-roll had not converged) are dropped by the caller. When the chains do not
//! meet inside the overlap (constant data has boundaries every 8,192 or 131,072 bytes from
//! wherever a chain starts), job `k` emits its chunks up to its last boundary `c ≥ s_{k+1}`
//! ([`SegmentEnd::Open`]) and job `k + 1` must be prepared again with its chain starting at `c`:
//! a sequential second pass that gives the true chain by construction.
//!
//! The caller checks every seam the same way: the true position (where the previous job's chunks
//! end) must be the start of a job's first emitted chunk or the end of one of its chunks; if not,
//! the job is prepared again from there. So correctness never depends on the pre-roll.
//!
//! Whatever the split, the chunks assembled this way are exactly those of one sequential pass
//! (tests compare them with [`crate::chunking::reference_boundaries`] for many inputs, segment
//! sizes, pre-rolls and seams).
//!
//! # Packed form
//!
//! [`prepare_segment`] returns one buffer (the form workers transfer), all integers u32
//! little-endian:
//!
//! ```text
//! [0] chunk count n   [1] end kind (0 final, 1 met, 2 open)   [2] end offset   [3] records length
//! [4] start of the first emitted chunk   [5] flags (1: raw payloads left out)   [6..8] zero
//! [8 .. 8+n]        chunk end offsets, relative to the start of the data
//! [8+n .. 8+2n]     record lengths (serialized, payload included)
//! 32·n bytes        raw chunk hashes
//! records           the serialized records, concatenated (no padding)
//! ```
//!
//! With [`RecordPayloads::HeaderOnlyIfRaw`] (flag 1), a record stored raw is its 8-byte header
//! alone in `records` (its length in the table still counts the payload, the chunk's own bytes):
//! for sources the caller reads again when it sends the xorb, so that a segment of incompressible
//! data is not copied into the records and out again for nothing.

use crate::chunking::{Chunker, MAX_CHUNK, MIN_CHUNK};
use crate::error::{err, ErrorKind, Result};
use crate::hash::{chunk_hash, MerkleHash};
use crate::xorb::{ChunkCompressor, CompressionPolicy, CompressionScheme, RECORD_HEADER_LEN};

/// Bytes of the packed header.
pub(crate) const PACKED_HEADER: usize = 32;

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

    /// Start of the first emitted chunk, relative to the start of the data.
    pub fn first_start(&self) -> usize {
        word(&self.buf, 4) as usize
    }

    /// End offset of chunk `i`, relative to the start of the data.
    pub fn chunk_end(&self, i: usize) -> usize {
        word(&self.buf, 8 + i) as usize
    }

    /// Record length of chunk `i`.
    pub fn record_len(&self, i: usize) -> usize {
        word(&self.buf, 8 + self.len() + i) as usize
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

/// Where the next segment starts (see the module documentation).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Seam {
    /// Offset of the next segment (its first chunk starts at the first boundary at or after it).
    pub at: usize,
    /// Offset where the next segment's chain starts (`at` minus its pre-roll).
    pub chain_start: usize,
}

/// What to prepare from a segment's bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SegmentSpec {
    /// Offset where the chunk chain starts (a boundary of the file when known, else the start of
    /// the pre-roll).
    pub start: usize,
    /// Chunks are emitted from the chain's first boundary at or after this offset (`start`
    /// counts as a boundary).
    pub emit_from: usize,
    /// The next segment, or `None` when the data ends the file.
    pub seam: Option<Seam>,
}

impl SegmentSpec {
    /// A whole file (or the rest of one from a known boundary): chain and chunks from `start`.
    pub fn last(start: usize) -> Self {
        SegmentSpec {
            start,
            emit_from: start,
            seam: None,
        }
    }
}

/// Feeds `data[from..to]` to `c`, appending the boundaries found (absolute offsets) to `cuts`.
fn feed(c: &mut Chunker, data: &[u8], from: usize, to: usize, cuts: &mut Vec<usize>) {
    let at = cuts.len();
    c.push(&data[from..to], cuts);
    for x in &mut cuts[at..] {
        *x += from;
    }
}

/// Bytes both chains advance by between checks for a common boundary past the seam.
const MEET_STEP: usize = 16 * 1024;

/// The own chain's boundaries (absolute, sorted) from `start`, and with a seam the first common
/// boundary `p ≥ seam.at` of the own chain and the chain started at `seam.chain_start` (which
/// counts as one of its boundaries). Past the seam both chains advance together only until they
/// meet: the overlap after the meeting point is not chunked.
fn chains(data: &[u8], start: usize, seam: Option<Seam>) -> (Vec<usize>, Option<usize>) {
    let mut own = Vec::with_capacity((data.len() - start) / MIN_CHUNK + 2);
    let Some(s) = seam else {
        chain(data, start, &mut own);
        return (own, None);
    };
    let mut c = Chunker::new();
    feed(&mut c, data, start, s.at, &mut own);
    let mut o = Chunker::new();
    let mut other = Vec::new();
    feed(&mut o, data, s.chain_start, s.at, &mut other);
    other.retain(|&x| x >= s.at);
    if s.chain_start == s.at {
        other.push(s.at);
    }
    let mut i = own.partition_point(|&x| x < s.at);
    let mut j = 0;
    let mut pos = s.at;
    loop {
        while i < own.len() && j < other.len() {
            match own[i].cmp(&other[j]) {
                std::cmp::Ordering::Equal => return (own, Some(other[j])),
                std::cmp::Ordering::Less => i += 1,
                std::cmp::Ordering::Greater => j += 1,
            }
        }
        if pos == data.len() {
            return (own, None);
        }
        let end = (pos + MEET_STEP).min(data.len());
        feed(&mut c, data, pos, end, &mut own);
        feed(&mut o, data, pos, end, &mut other);
        pos = end;
    }
}

/// Whether the records of chunks stored raw hold their payload (see the module documentation).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RecordPayloads {
    /// Every record whole.
    Full,
    /// A record stored raw is its header alone (packed flag 1).
    HeaderOnlyIfRaw,
}

/// [`prepare_segment_with`] with every record whole.
pub fn prepare_segment(
    data: &[u8],
    spec: SegmentSpec,
    policy: Option<CompressionPolicy>,
    compressor: &mut ChunkCompressor,
) -> Result<PreparedSegment> {
    prepare_segment_with(data, spec, policy, RecordPayloads::Full, compressor)
}

/// Prepares the chunks of `data` described by `spec` (see [`SegmentSpec`] and the module
/// documentation): boundaries, hashes, and records compressed per `policy` (`None`: boundaries
/// and hashes only, every record length 0, for hashing files).
///
/// - `seam: None`: `data` ends the file; the last chunk ends at the end of `data`.
/// - `seam: Some(s)`: chunks are emitted up to where this chain meets the chain started at
///   `s.chain_start` (at or after `s.at`), or up to this chain's last boundary when they do not
///   meet. At least 131,072 bytes of `data` must follow `s.at`.
///
/// `INVALID_ARGUMENT` for offsets out of order or range, or more than 4 GiB of data.
pub fn prepare_segment_with(
    data: &[u8],
    spec: SegmentSpec,
    policy: Option<CompressionPolicy>,
    payloads: RecordPayloads,
    compressor: &mut ChunkCompressor,
) -> Result<PreparedSegment> {
    let header_only_if_raw = payloads == RecordPayloads::HeaderOnlyIfRaw;
    let SegmentSpec {
        start,
        emit_from,
        seam,
    } = spec;
    if data.len() > u32::MAX as usize {
        return err(
            ErrorKind::InvalidArgument,
            format!("a segment holds at most 4 GiB, got {} bytes", data.len()),
        );
    }
    if start > emit_from || emit_from > data.len() {
        return err(
            ErrorKind::InvalidArgument,
            format!(
                "segment start {start} and first chunk offset {emit_from} must be in order within its {} bytes",
                data.len()
            ),
        );
    }
    if let Some(s) = seam {
        if s.at < emit_from
            || s.chain_start > s.at
            || s.at > data.len()
            || data.len() - s.at < MAX_CHUNK
        {
            return err(
                ErrorKind::InvalidArgument,
                format!(
                    "seam at {} (chain from {}): must follow the first chunk offset {emit_from}, with at least {MAX_CHUNK} bytes after it in {} bytes",
                    s.at,
                    s.chain_start,
                    data.len()
                ),
            );
        }
    }
    let (mut own, met) = chains(data, start, seam);
    let (cut_count, end) = match seam {
        None => {
            if own.last().copied().unwrap_or(start) < data.len() {
                own.push(data.len());
            }
            (own.len(), SegmentEnd::Final)
        }
        Some(_) => match met {
            Some(p) => (own.partition_point(|&c| c <= p), SegmentEnd::Met(p)),
            None => {
                // The chain has a boundary at or after the seam: its open chunk at `s.at`
                // started after `s.at - 131072` and at least 131,072 bytes follow `s.at`.
                let last = own.last().copied().unwrap_or(start);
                (own.len(), SegmentEnd::Open(last))
            }
        },
    };
    // The first emitted chunk starts at the chain's first boundary at or after `emit_from`
    // (`own` holds chunk ends; `start` is a boundary too).
    let (first, first_start) = if emit_from == start {
        (0, start)
    } else {
        let j = own.partition_point(|&c| c < emit_from);
        match own.get(j) {
            Some(&b) => (j + 1, b),
            None => (own.len(), data.len()),
        }
    };
    let cuts = &own[first.min(cut_count)..cut_count];
    let n = cuts.len();
    let body = cuts.last().map_or(0, |&e| e - first_start);
    let meta = PACKED_HEADER + 40 * n;
    let capacity = meta + policy.map_or(0, |_| body + n * RECORD_HEADER_LEN);
    let mut buf = Vec::with_capacity(capacity);
    buf.resize(meta, 0);
    let (kind, at) = match end {
        SegmentEnd::Final => (0u32, data.len()),
        SegmentEnd::Met(p) => (1, p),
        SegmentEnd::Open(c) => (2, c),
    };
    let mut prev = first_start;
    for (i, &c) in cuts.iter().enumerate() {
        let chunk = &data[prev..c];
        let h = chunk_hash(chunk);
        let before = buf.len();
        let mut rec = 0;
        if let Some(policy) = policy {
            let scheme =
                compressor.write_record_or_header(chunk, policy, &mut buf, header_only_if_raw)?;
            rec = if header_only_if_raw && scheme == CompressionScheme::None {
                (RECORD_HEADER_LEN + chunk.len()) as u32
            } else {
                (buf.len() - before) as u32
            };
        }
        put(&mut buf, 8 + i, c as u32);
        put(&mut buf, 8 + n + i, rec);
        let hat = PACKED_HEADER + 8 * n + 32 * i;
        buf[hat..hat + 32].copy_from_slice(h.as_bytes());
        prev = c;
    }
    let records = (buf.len() - meta) as u32;
    put(&mut buf, 0, n as u32);
    put(&mut buf, 1, kind);
    put(&mut buf, 2, at as u32);
    put(&mut buf, 3, records);
    put(&mut buf, 4, first_start as u32);
    put(
        &mut buf,
        5,
        u32::from(header_only_if_raw && policy.is_some()),
    );
    Ok(PreparedSegment { buf })
}

fn put(buf: &mut [u8], i: usize, v: u32) {
    buf[4 * i..4 * i + 4].copy_from_slice(&v.to_le_bytes());
}
