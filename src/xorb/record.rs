//! The chunk record format (§4.1): an 8-byte header (version, compressed length, scheme,
//! uncompressed length) then the payload. Reading validates every field before anything is
//! allocated for the payload.

use crate::error::{err, CoreError, ErrorKind, Result};

/// Length of a chunk record header.
pub const RECORD_HEADER_LEN: usize = 8;
/// Largest `compressed_length` a reader accepts (xet-core `validate`).
pub(crate) const MAX_COMPRESSED_LEN: usize = 262_144;
/// Largest `uncompressed_length` (the maximum chunk size).
pub(crate) const MAX_UNCOMPRESSED_LEN: usize = 131_072;
/// First bytes of a stored xorb footer (§4.6), never part of an upload body.
pub(crate) const FOOTER_MAGIC: &[u8; 7] = b"XETBLOB";

/// Compression scheme of one chunk record (§4.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CompressionScheme {
    /// Payload = the chunk bytes.
    None = 0,
    /// Payload = one LZ4 frame of the chunk.
    Lz4 = 1,
    /// Payload = one LZ4 frame of the byte-grouped (4 lanes) chunk.
    Bg4Lz4 = 2,
}

impl CompressionScheme {
    /// The scheme of a record header byte.
    pub(crate) fn from_u8(v: u8) -> Option<Self> {
        match v {
            0 => Some(CompressionScheme::None),
            1 => Some(CompressionScheme::Lz4),
            2 => Some(CompressionScheme::Bg4Lz4),
            _ => None,
        }
    }
}

/// Appends to `out` the record header for a payload.
pub(super) fn write_header(
    out: &mut Vec<u8>,
    scheme: CompressionScheme,
    payload_len: usize,
    raw_len: usize,
) {
    let c = (payload_len as u32).to_le_bytes();
    let u = (raw_len as u32).to_le_bytes();
    out.extend_from_slice(&[0, c[0], c[1], c[2], scheme as u8, u[0], u[1], u[2]]);
}

/// A chunk record header (§4.1), validated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct RecordHeader {
    /// Compression scheme.
    pub(crate) scheme: CompressionScheme,
    /// Payload length.
    pub(crate) compressed_len: u32,
    /// Chunk length.
    pub(crate) uncompressed_len: u32,
}

impl RecordHeader {
    /// Header plus payload length.
    pub(crate) fn record_len(&self) -> usize {
        RECORD_HEADER_LEN + self.compressed_len as usize
    }
}

/// Reads and validates the record header at `at` of `bytes`, and checks that its payload is
/// complete. `index` is only used in messages.
pub(crate) fn read_record_header(bytes: &[u8], at: usize, index: usize) -> Result<RecordHeader> {
    read_record_header_in(&bytes[at.min(bytes.len())..], at, index)
}

/// [`read_record_header`] of the record at the start of `rest`, which lies at offset `at`.
pub(crate) fn read_record_header_in(rest: &[u8], at: usize, index: usize) -> Result<RecordHeader> {
    let header = parse_record_header(rest, at, index)?;
    let have = rest.len() - RECORD_HEADER_LEN;
    let compressed_len = header.compressed_len;
    if (compressed_len as usize) > have {
        return err(
            ErrorKind::Truncated,
            format!(
                "chunk record {index} at offset {at}: payload of {compressed_len} bytes, only {have} bytes left"
            ),
        );
    }
    Ok(header)
}

/// Reads and validates the record header at the start of `rest` (the record at offset `at`)
/// without looking at its payload (which may not have arrived yet). `index` and `at` are only
/// used in messages.
pub(crate) fn parse_record_header(rest: &[u8], at: usize, index: usize) -> Result<RecordHeader> {
    if rest.len() >= FOOTER_MAGIC.len() && &rest[..FOOTER_MAGIC.len()] == FOOTER_MAGIC {
        return err(
            ErrorKind::BadRecord,
            format!(
                "a stored xorb footer (XETBLOB) starts at offset {at}: chunk records only are expected (upload bodies and fetched ranges carry no footer)"
            ),
        );
    }
    if rest.len() < RECORD_HEADER_LEN {
        return err(
            ErrorKind::Truncated,
            format!(
                "chunk record {index} at offset {at}: {} bytes left, a record header needs {RECORD_HEADER_LEN}",
                rest.len()
            ),
        );
    }
    let version = rest[0];
    if version != 0 {
        return err(
            ErrorKind::BadRecord,
            format!("chunk record {index} at offset {at}: version {version}, expected 0"),
        );
    }
    let compressed_len = u32::from_le_bytes([rest[1], rest[2], rest[3], 0]);
    let scheme = CompressionScheme::from_u8(rest[4]).ok_or_else(|| {
        CoreError::new(
            ErrorKind::BadRecord,
            format!(
                "chunk record {index} at offset {at}: unknown compression scheme {}",
                rest[4]
            ),
        )
    })?;
    let uncompressed_len = u32::from_le_bytes([rest[5], rest[6], rest[7], 0]);
    if uncompressed_len == 0 || uncompressed_len as usize > MAX_UNCOMPRESSED_LEN {
        return err(
            ErrorKind::BadRecord,
            format!(
                "chunk record {index} at offset {at}: uncompressed length {uncompressed_len}, must be 1 to {MAX_UNCOMPRESSED_LEN}"
            ),
        );
    }
    if compressed_len == 0 || compressed_len as usize > MAX_COMPRESSED_LEN {
        return err(
            ErrorKind::BadRecord,
            format!(
                "chunk record {index} at offset {at}: compressed length {compressed_len}, must be 1 to {MAX_COMPRESSED_LEN}"
            ),
        );
    }
    if scheme == CompressionScheme::None && compressed_len != uncompressed_len {
        return err(
            ErrorKind::LengthMismatch,
            format!(
                "chunk record {index} at offset {at}: uncompressed record with payload length {compressed_len} but chunk length {uncompressed_len}"
            ),
        );
    }
    Ok(RecordHeader {
        scheme,
        compressed_len,
        uncompressed_len,
    })
}
