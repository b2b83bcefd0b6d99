//! Reading chunk records: runs of records decoded chunk by chunk (fetched xorb ranges, §6.6)
//! and whole xorb bodies verified against their hash and limits (server side).

use super::compression::{bg4_join, lz4_frame_decompress};
use super::record::{
    read_record_header, CompressionScheme, RecordHeader, MAX_UNCOMPRESSED_LEN, RECORD_HEADER_LEN,
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
    if bytes.is_empty() {
        return err(
            ErrorKind::BadRecord,
            "empty xorb body: a xorb has at least one chunk",
        );
    }
    if bytes.len() as u64 > limits.max_serialized_bytes {
        return err(
            ErrorKind::LimitExceeded,
            format!(
                "xorb body of {} bytes exceeds the limit of {} bytes",
                bytes.len(),
                limits.max_serialized_bytes
            ),
        );
    }
    let mut hashes = Vec::new();
    let mut lengths = Vec::new();
    let mut merkle = MerkleBuilder::new();
    let mut raw: u64 = 0;
    let record_offsets = walk_records(bytes, limits.max_chunks, |_, h, data| {
        let ch = chunk_hash(data);
        hashes.push(ch);
        lengths.push(h.uncompressed_len);
        merkle.push(ch, h.uncompressed_len as u64);
        raw += h.uncompressed_len as u64;
        if raw > limits.max_raw_bytes {
            return err(
                ErrorKind::LimitExceeded,
                format!(
                    "xorb holds more than {} bytes of chunk data (limit exceeded at chunk {})",
                    limits.max_raw_bytes,
                    hashes.len() - 1
                ),
            );
        }
        Ok(())
    })?;
    let hash = merkle.finish();
    if let Some(exp) = expected {
        if *exp != hash {
            return err(
                ErrorKind::HashMismatch,
                format!("xorb body hashes to {hash}, expected {exp}"),
            );
        }
    }
    Ok(XorbInfo {
        hash,
        hashes,
        lengths,
        record_offsets,
        raw_bytes: raw,
    })
}
