//! Reading chunk records: runs of records decoded chunk by chunk (fetched xorb ranges, §6.6)
//! and whole xorb bodies verified against their hash and limits (server side).

use super::compression::{bg4_join, lz4_frame_decompress};
use super::record::{
    parse_record_header, read_record_header, read_record_header_in, CompressionScheme,
    RecordHeader, FOOTER_MAGIC, MAX_UNCOMPRESSED_LEN, RECORD_HEADER_LEN,
};
use super::{XorbLimits, MAX_XORB_BYTES, MAX_XORB_CHUNKS};
use crate::error::{err, CoreError, ErrorKind, Result};
use crate::hash::{chunk_hash, MerkleBuilder, MerkleHash};

/// Decodes the payload of a validated record, appending exactly `uncompressed_len` bytes to
/// `out`. `scratch` is reused for BG4.
fn decode_payload(
    header: &RecordHeader,
    payload: &[u8],
    out: &mut Vec<u8>,
    scratch: &mut Vec<u8>,
    at: usize,
    index: usize,
) -> Result<()> {
    let n = header.uncompressed_len as usize;
    let with_place = |e: CoreError| {
        CoreError::new(
            e.kind,
            format!("chunk record {index} at offset {at}: {}", e.message),
        )
    };
    match header.scheme {
        CompressionScheme::None => out.extend_from_slice(payload),
        CompressionScheme::Lz4 => lz4_frame_decompress(payload, n, out).map_err(with_place)?,
        CompressionScheme::Bg4Lz4 => {
            scratch.clear();
            lz4_frame_decompress(payload, n, scratch).map_err(with_place)?;
            let start = out.len();
            out.resize(start + n, 0);
            bg4_join(scratch, &mut out[start..]);
        }
    }
    Ok(())
}

/// Decoded form of one run of chunk records.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DecodedChunks {
    /// All decoded chunk bytes, concatenated.
    pub data: Vec<u8>,
    /// Length of each chunk.
    pub lengths: Vec<u32>,
    /// Hash of each decoded chunk.
    pub hashes: Vec<MerkleHash>,
    /// Start offset of each record in the input, then the input length (n + 1 entries).
    pub record_offsets: Vec<u32>,
}

/// Walks the records of `bytes`, calling `f(index, offset, header, decoded)` per record, and
/// stops after `max_chunks` records with `LIMIT_EXCEEDED`. Returns the record offsets.
fn walk_records(
    bytes: &[u8],
    max_chunks: usize,
    mut f: impl FnMut(usize, &RecordHeader, &[u8]) -> Result<()>,
) -> Result<Vec<u32>> {
    if bytes.len() > u32::MAX as usize {
        return err(
            ErrorKind::LimitExceeded,
            format!(
                "{} bytes of chunk records: at most 4 GiB can be decoded at once",
                bytes.len()
            ),
        );
    }
    let mut offsets = Vec::new();
    let mut at = 0;
    let mut decoded = Vec::with_capacity(MAX_UNCOMPRESSED_LEN);
    let mut scratch = Vec::new();
    let mut index = 0;
    while at < bytes.len() {
        if index == max_chunks {
            return err(
                ErrorKind::LimitExceeded,
                format!("more than {max_chunks} chunk records (the next starts at offset {at})"),
            );
        }
        let header = read_record_header(bytes, at, index)?;
        let payload = &bytes[at + RECORD_HEADER_LEN..at + header.record_len()];
        offsets.push(at as u32);
        if header.scheme == CompressionScheme::None {
            // Stored raw: the payload is the chunk (validated length), no copy.
            f(index, &header, payload)?;
        } else {
            decoded.clear();
            decode_payload(&header, payload, &mut decoded, &mut scratch, at, index)?;
            f(index, &header, &decoded)?;
        }
        at += header.record_len();
        index += 1;
    }
    offsets.push(at as u32);
    Ok(offsets)
}

/// Decodes a run of chunk records (a fetched xorb range, §6.6): every chunk's bytes, length and
/// hash. Errors on truncation, bad headers, bad LZ4 and length mismatches.
///
/// A run lies within one xorb, so it holds at most 8,192 chunks and 64 MiB of decoded data;
/// more is `LIMIT_EXCEEDED` (compressed input could otherwise expand about 250-fold).
pub fn decode_chunk_records(bytes: &[u8]) -> Result<DecodedChunks> {
    let mut out = DecodedChunks::default();
    let offsets = walk_records(bytes, MAX_XORB_CHUNKS, |i, h, data| {
        if (out.data.len() + data.len()) as u64 > MAX_XORB_BYTES {
            return err(
                ErrorKind::LimitExceeded,
                format!(
                    "chunk records decode to more than {MAX_XORB_BYTES} bytes (the size of a xorb) at record {i}"
                ),
            );
        }
        out.data.extend_from_slice(data);
        out.lengths.push(h.uncompressed_len);
        out.hashes.push(chunk_hash(data));
        Ok(())
    })?;
    out.record_offsets = offsets;
    Ok(out)
}

/// Where the bytes of one decoded chunk lie ([`decode_chunk_views`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChunkPlace {
    /// Stored raw: `len` bytes at `start` of the input.
    Input { start: u32, len: u32 },
    /// Decompressed: `len` bytes at `start` of the `decoded` buffer.
    Decoded { start: u32, len: u32 },
}

/// Decodes a run of chunk records like [`decode_chunk_records`] (same checks, same limits), but
/// copies no chunk stored raw: each chunk's bytes are left where they are (in `bytes`) or
/// decompressed into `decoded`, and `places` says where. `decoded`, `places` and `hashes` are
/// cleared first (their capacity is reused from call to call). For callers that only hash, or
/// that write the chunks somewhere themselves (the download workers).
pub fn decode_chunk_views(
    bytes: &[u8],
    decoded: &mut Vec<u8>,
    places: &mut Vec<ChunkPlace>,
    hashes: &mut Vec<MerkleHash>,
) -> Result<()> {
    decoded.clear();
    places.clear();
    hashes.clear();
    if bytes.len() > u32::MAX as usize {
        return err(
            ErrorKind::LimitExceeded,
            format!(
                "{} bytes of chunk records: at most 4 GiB can be decoded at once",
                bytes.len()
            ),
        );
    }
    let mut scratch = Vec::new();
    let mut total: u64 = 0;
    let mut at = 0;
    let mut index = 0;
    while at < bytes.len() {
        if index == MAX_XORB_CHUNKS {
            return err(
                ErrorKind::LimitExceeded,
                format!(
                    "more than {MAX_XORB_CHUNKS} chunk records (the next starts at offset {at})"
                ),
            );
        }
        let header = read_record_header(bytes, at, index)?;
        let len = header.uncompressed_len;
        total += len as u64;
        if total > MAX_XORB_BYTES {
            return err(
                ErrorKind::LimitExceeded,
                format!(
                    "chunk records decode to more than {MAX_XORB_BYTES} bytes (the size of a xorb) at record {index}"
                ),
            );
        }
        let payload_at = at + RECORD_HEADER_LEN;
        let payload = &bytes[payload_at..at + header.record_len()];
        if header.scheme == CompressionScheme::None {
            hashes.push(chunk_hash(payload));
            places.push(ChunkPlace::Input {
                start: payload_at as u32,
                len,
            });
        } else {
            let start = decoded.len();
            decode_payload(&header, payload, decoded, &mut scratch, at, index)?;
            hashes.push(chunk_hash(&decoded[start..]));
            places.push(ChunkPlace::Decoded {
                start: start as u32,
                len,
            });
        }
        at += header.record_len();
        index += 1;
    }
    Ok(())
}

/// What [`parse_xorb`] learned from a valid xorb body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct XorbInfo {
    /// The xorb hash (merkle root of the chunks).
    pub hash: MerkleHash,
    /// Chunk hashes in index order.
    pub hashes: Vec<MerkleHash>,
    /// Chunk lengths in index order.
    pub lengths: Vec<u32>,
    /// Start offset of each record, then the body length (n + 1 entries).
    pub record_offsets: Vec<u32>,
    /// Sum of the chunk lengths.
    pub raw_bytes: u64,
}

/// Validates an uploaded xorb body (server side, §10 item 7) with the limits of
/// [`XorbLimits::accepted`]: decodes every record, hashes every chunk, and checks that the
/// merkle root equals `expected`.
pub fn parse_xorb(bytes: &[u8], expected: &MerkleHash) -> Result<XorbInfo> {
    parse_xorb_with_limits(bytes, Some(expected), &XorbLimits::accepted())
}

/// [`parse_xorb`] with explicit limits and an optional expected hash.
pub fn parse_xorb_with_limits(
    bytes: &[u8],
    expected: Option<&MerkleHash>,
    limits: &XorbLimits,
) -> Result<XorbInfo> {
    let mut v = XorbVerifier::new(expected.copied(), *limits);
    v.update(bytes);
    v.finish()
}

/// [`parse_xorb`] of a body that arrives in parts (the local hub verifies an upload as it is
/// received, without holding or copying the whole body): `update` with each part in order, then
/// `finish`. The result is exactly [`parse_xorb_with_limits`]'s for the concatenated parts, the
/// same errors included: every error is reported by `finish`, as the whole body would have it
/// (an empty or oversized body first, then the first bad record, then the hash). Only a record
/// split between parts is copied (at most one record, 256 KiB + 8 bytes, is held).
#[derive(Debug)]
pub struct XorbVerifier {
    limits: XorbLimits,
    expected: Option<MerkleHash>,
    /// The start of the record being received, when a part ended inside it.
    carry: Vec<u8>,
    /// Offset of the next record (of `carry`'s first byte).
    at: usize,
    received: u64,
    /// The first error, reported by `finish`; later parts are only counted.
    error: Option<CoreError>,
    hashes: Vec<MerkleHash>,
    lengths: Vec<u32>,
    record_offsets: Vec<u32>,
    merkle: MerkleBuilder,
    raw: u64,
    decoded: Vec<u8>,
    scratch: Vec<u8>,
}

impl XorbVerifier {
    /// A verifier of one body, against `expected` (when given) and `limits`.
    pub fn new(expected: Option<MerkleHash>, limits: XorbLimits) -> Self {
        XorbVerifier {
            limits,
            expected,
            carry: Vec::new(),
            at: 0,
            received: 0,
            error: None,
            hashes: Vec::new(),
            lengths: Vec::new(),
            record_offsets: Vec::new(),
            merkle: MerkleBuilder::new(),
            raw: 0,
            decoded: Vec::new(),
            scratch: Vec::new(),
        }
    }

    /// The next bytes of the body: every record they complete is decoded and hashed now.
    pub fn update(&mut self, part: &[u8]) {
        self.received += part.len() as u64;
        if self.error.is_some()
            || self.received > self.limits.max_serialized_bytes
            || self.received > u32::MAX as u64
        {
            return;
        }
        if let Err(e) = self.records(part) {
            self.error = Some(e);
            self.carry = Vec::new();
        }
    }

    fn records(&mut self, mut part: &[u8]) -> Result<()> {
        if !self.carry.is_empty() {
            // Complete the record a previous part ended in: its header first, then its payload.
            if self.carry.len() < RECORD_HEADER_LEN {
                let n = (RECORD_HEADER_LEN - self.carry.len()).min(part.len());
                self.carry.extend_from_slice(&part[..n]);
                part = &part[n..];
                if self.carry.len() < RECORD_HEADER_LEN {
                    return Ok(());
                }
            }
            let header = parse_record_header(&self.carry, self.at, self.hashes.len())?;
            let n = (header.record_len() - self.carry.len()).min(part.len());
            self.carry.extend_from_slice(&part[..n]);
            part = &part[n..];
            if self.carry.len() < header.record_len() {
                return Ok(());
            }
            let record = std::mem::take(&mut self.carry);
            self.record(&header, &record)?;
            self.carry = record;
            self.carry.clear();
        }
        while !part.is_empty() {
            let index = self.hashes.len();
            if index == self.limits.max_chunks {
                return err(
                    ErrorKind::LimitExceeded,
                    format!(
                        "more than {} chunk records (the next starts at offset {})",
                        self.limits.max_chunks, self.at
                    ),
                );
            }
            if part.len() < RECORD_HEADER_LEN {
                // A stored xorb's footer is recognised from its first 7 bytes, as in a whole body.
                if part.starts_with(FOOTER_MAGIC) {
                    parse_record_header(part, self.at, index)?;
                }
                self.carry.extend_from_slice(part);
                return Ok(());
            }
            let header = parse_record_header(part, self.at, index)?;
            if part.len() < header.record_len() {
                self.carry.extend_from_slice(part);
                return Ok(());
            }
            let (record, rest) = part.split_at(header.record_len());
            self.record(&header, record)?;
            part = rest;
        }
        Ok(())
    }

    /// One whole record (header and payload) at `self.at`: decoded, hashed, counted.
    fn record(&mut self, header: &RecordHeader, record: &[u8]) -> Result<()> {
        let at = self.at;
        let index = self.hashes.len();
        let payload = &record[RECORD_HEADER_LEN..];
        let ch = if header.scheme == CompressionScheme::None {
            // Stored raw: the payload is the chunk (validated length), no copy.
            chunk_hash(payload)
        } else {
            self.decoded.clear();
            decode_payload(
                header,
                payload,
                &mut self.decoded,
                &mut self.scratch,
                at,
                index,
            )?;
            chunk_hash(&self.decoded)
        };
        self.record_offsets.push(at as u32);
        self.hashes.push(ch);
        self.lengths.push(header.uncompressed_len);
        self.merkle.push(ch, header.uncompressed_len as u64);
        self.raw += header.uncompressed_len as u64;
        if self.raw > self.limits.max_raw_bytes {
            return err(
                ErrorKind::LimitExceeded,
                format!(
                    "xorb holds more than {} bytes of chunk data (limit exceeded at chunk {index})",
                    self.limits.max_raw_bytes
                ),
            );
        }
        self.at += record.len();
        Ok(())
    }

    /// The body ended: its chunks, or the error the whole body would have given.
    pub fn finish(mut self) -> Result<XorbInfo> {
        if self.received == 0 {
            return err(
                ErrorKind::BadRecord,
                "empty xorb body: a xorb has at least one chunk",
            );
        }
        if self.received > self.limits.max_serialized_bytes {
            return err(
                ErrorKind::LimitExceeded,
                format!(
                    "xorb body of {} bytes exceeds the limit of {} bytes",
                    self.received, self.limits.max_serialized_bytes
                ),
            );
        }
        if self.received > u32::MAX as u64 {
            return err(
                ErrorKind::LimitExceeded,
                format!(
                    "{} bytes of chunk records: at most 4 GiB can be decoded at once",
                    self.received
                ),
            );
        }
        if let Some(e) = self.error.take() {
            return Err(e);
        }
        if !self.carry.is_empty() {
            // The body ends inside a record: the error reading it gives (truncated, or a bad header).
            read_record_header_in(&self.carry, self.at, self.hashes.len())?;
            return err(ErrorKind::Truncated, "the body ends inside a chunk record");
        }
        self.record_offsets.push(self.at as u32);
        let hash = self.merkle.finish();
        if let Some(exp) = self.expected {
            if exp != hash {
                return err(
                    ErrorKind::HashMismatch,
                    format!("xorb body hashes to {hash}, expected {exp}"),
                );
            }
        }
        Ok(XorbInfo {
            hash,
            hashes: self.hashes,
            lengths: self.lengths,
            record_offsets: self.record_offsets,
            raw_bytes: self.raw,
        })
    }
}
