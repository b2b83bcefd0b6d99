//! Xorbs (spec §4): chunk records, compression (None, LZ4 frame, BG4 + LZ4 frame), the xorb
//! builder with its limits, and the reader that decodes and verifies a serialized xorb.
//!
//! Decoders never trust length fields for allocation: a record announces at most 131,072
//! decoded bytes, and only that much is ever allocated for it.

use crate::error::{err, CoreError, ErrorKind, Result};
use crate::hash::{chunk_hash, MerkleBuilder, MerkleHash};
use std::io::Read;

/// Length of a chunk record header.
pub const RECORD_HEADER_LEN: usize = 8;
/// Largest `compressed_length` a reader accepts (xet-core `validate`).
pub const MAX_COMPRESSED_LEN: usize = 262_144;
/// Largest `uncompressed_length` (the maximum chunk size).
pub const MAX_UNCOMPRESSED_LEN: usize = 131_072;
/// Maximum xorb size, raw and serialized (§4.5).
pub const MAX_XORB_BYTES: u64 = 64 * 1024 * 1024;
/// Maximum chunks per xorb (§4.5).
pub const MAX_XORB_CHUNKS: usize = 8192;
/// First capacity of a xorb's buffer.
const MIN_XORB_CAPACITY: usize = 256 * 1024;
/// Smallest buffer worth keeping for reuse by a later xorb.
pub const SMALL_XORB_CAPACITY: usize = 4 * 1024 * 1024;
/// First bytes of a stored xorb footer (§4.6), never part of an upload body.
pub const FOOTER_MAGIC: &[u8; 7] = b"XETBLOB";

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
    pub fn from_u8(v: u8) -> Option<Self> {
        match v {
            0 => Some(CompressionScheme::None),
            1 => Some(CompressionScheme::Lz4),
            2 => Some(CompressionScheme::Bg4Lz4),
            _ => None,
        }
    }
}

/// Which compression a writer tries for each new chunk. Whatever the policy, a chunk whose
/// compressed payload is not smaller than the chunk is stored raw (scheme 0).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum CompressionPolicy {
    /// Store every chunk raw.
    None,
    /// LZ4 frame.
    Lz4,
    /// Byte grouping (4) then LZ4 frame.
    Bg4,
    /// Try LZ4 and BG4, keep the smallest (LZ4 on a tie).
    #[default]
    Best,
}

impl CompressionPolicy {
    /// 0 None, 1 LZ4, 2 BG4, 3 Best (the numbering of the WASM constructor).
    pub fn from_code(code: u32) -> Result<Self> {
        match code {
            0 => Ok(CompressionPolicy::None),
            1 => Ok(CompressionPolicy::Lz4),
            2 => Ok(CompressionPolicy::Bg4),
            3 => Ok(CompressionPolicy::Best),
            _ => err(
                ErrorKind::InvalidArgument,
                format!("compression must be 0 (none), 1 (LZ4), 2 (BG4) or 3 (best), got {code}"),
            ),
        }
    }
}

/// `bg4_split` (§4.2): group `g` holds bytes `data[4i + g]`; groups concatenated in order.
pub fn bg4_split(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    bg4_split_into(data, &mut out);
    out
}

/// [`bg4_split`] into `out` (resized to `data.len()`; its allocation is reused).
pub fn bg4_split_into(data: &[u8], out: &mut Vec<u8>) {
    let n = data.len();
    let (q, r) = (n / 4, n % 4);
    out.resize(n, 0);
    let sizes = [0, 1, 2, 3].map(|g| q + usize::from(g < r));
    let starts = [
        0,
        sizes[0],
        sizes[0] + sizes[1],
        sizes[0] + sizes[1] + sizes[2],
    ];
    {
        let (g0, rest) = out.split_at_mut(starts[1]);
        let (g1, rest) = rest.split_at_mut(sizes[1]);
        let (g2, g3) = rest.split_at_mut(sizes[2]);
        for (((quad, a), b), (c, d)) in data
            .chunks_exact(4)
            .zip(g0.iter_mut())
            .zip(g1.iter_mut())
            .zip(g2.iter_mut().zip(g3.iter_mut()))
        {
            *a = quad[0];
            *b = quad[1];
            *c = quad[2];
            *d = quad[3];
        }
        let tail = &data[4 * q..];
        let groups: [&mut [u8]; 3] = [g0, g1, g2];
        for (g, (&b, grp)) in tail.iter().zip(groups).enumerate() {
            debug_assert!(g < r);
            grp[q] = b;
        }
    }
}

/// Inverse of [`bg4_split`]: writes the re-interleaved bytes into `out` (same length).
pub fn bg4_join(grouped: &[u8], out: &mut [u8]) {
    let n = grouped.len();
    debug_assert_eq!(out.len(), n);
    let (q, r) = (n / 4, n % 4);
    let sizes = [0, 1, 2, 3].map(|g| q + usize::from(g < r));
    let (g0, rest) = grouped.split_at(sizes[0]);
    let (g1, rest) = rest.split_at(sizes[1]);
    let (g2, g3) = rest.split_at(sizes[2]);
    for (i, quad) in out.chunks_exact_mut(4).enumerate() {
        quad[0] = g0[i];
        quad[1] = g1[i];
        quad[2] = g2[i];
        quad[3] = g3[i];
    }
    let groups = [g0, g1, g2];
    for (g, b) in out[4 * q..].iter_mut().enumerate() {
        *b = groups[g][q];
    }
}

/// LZ4 frame header of a chunk of at most 64 KiB: magic `04 22 4D 18`, FLG `0x60` (version 01,
/// independent blocks, no checksums, no content size), BD `0x40` (64 KiB blocks), header checksum
/// `0x82` (second byte of XXH32 of FLG and BD): what hf_xet writes (`lz4_flex::frame::FrameEncoder`
/// defaults, whose block size follows the first write).
pub const LZ4_FRAME_HEADER: [u8; 7] = [0x04, 0x22, 0x4D, 0x18, 0x60, 0x40, 0x82];
/// The same for a chunk above 64 KiB: BD `0x50` (256 KiB blocks), checksum `0xFB`.
pub const LZ4_FRAME_HEADER_256K: [u8; 7] = [0x04, 0x22, 0x4D, 0x18, 0x60, 0x50, 0xFB];
/// Frame bytes around the single block: header, block size, end mark.
const LZ4_FRAME_OVERHEAD: usize = 7 + 4 + 4;

/// Reusable chunk compressor: writes LZ4 frames with the block compressor of `lz4_flex`, keeping
/// its match table, the BG4 buffer and the output buffers between chunks, so compressing a chunk
/// allocates nothing (the frame encoder of `lz4_flex` allocates and copies per frame, which made
/// it several times slower than the block compressor it wraps).
///
/// A chunk (at most 128 KiB) is one frame of one block, exactly as `FrameEncoder` with its
/// defaults writes it in one call: header ([`LZ4_FRAME_HEADER`], or [`LZ4_FRAME_HEADER_256K`]
/// above 64 KiB), the block compressed with a fresh table (stored raw, high bit of its size set,
/// when that is not smaller), the end mark. Tests check byte equality with `FrameEncoder`.
pub struct ChunkCompressor {
    table: lz4_flex::block::CompressTable,
    lz4: Frame,
    bg4: Frame,
    grouped: Vec<u8>,
}

/// A reusable frame buffer: `buf` only grows (its bytes stay initialised), `len` is the frame.
#[derive(Default)]
struct Frame {
    buf: Vec<u8>,
    len: usize,
}

impl Frame {
    fn bytes(&self) -> &[u8] {
        &self.buf[..self.len]
    }

    /// One LZ4 frame of `data`, its block compressed with `table`.
    fn compress(&mut self, table: &mut lz4_flex::block::CompressTable, data: &[u8]) {
        let bound = LZ4_FRAME_OVERHEAD + lz4_flex::block::get_maximum_output_size(data.len());
        if self.buf.len() < bound {
            self.buf.resize(bound, 0);
        }
        let out = &mut self.buf;
        out[..7].copy_from_slice(if data.len() > 64 * 1024 {
            &LZ4_FRAME_HEADER_256K
        } else {
            &LZ4_FRAME_HEADER
        });
        let mut pos = 7;
        if !data.is_empty() {
            let size = match lz4_flex::block::compress_into_with_table(data, &mut out[11..], table)
            {
                Ok(c) if c < data.len() => c as u32,
                _ => {
                    out[11..11 + data.len()].copy_from_slice(data);
                    data.len() as u32 | 0x8000_0000
                }
            };
            out[7..11].copy_from_slice(&size.to_le_bytes());
            pos = 11 + (size & 0x7FFF_FFFF) as usize;
        }
        out[pos..pos + 4].copy_from_slice(&[0, 0, 0, 0]);
        self.len = pos + 4;
    }
}

impl Default for ChunkCompressor {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for ChunkCompressor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChunkCompressor").finish_non_exhaustive()
    }
}

impl ChunkCompressor {
    /// A compressor with empty buffers (they grow to the largest chunk seen).
    pub fn new() -> Self {
        ChunkCompressor {
            table: lz4_flex::block::CompressTable::large(),
            lz4: Frame::default(),
            bg4: Frame::default(),
            grouped: Vec::new(),
        }
    }

    /// Writes one LZ4 frame of `data` (at most 128 KiB, one block) into `out` (cleared first).
    pub fn lz4_frame_into(&mut self, data: &[u8], out: &mut Vec<u8>) {
        self.lz4.compress(&mut self.table, data);
        out.clear();
        out.extend_from_slice(self.lz4.bytes());
    }

    /// Serializes one chunk as a record (header + payload) appended to `out`; see
    /// [`write_chunk_record`]. Under [`CompressionPolicy::Best`] both LZ4 and BG4 are always
    /// computed and the smaller payload kept (LZ4 on a tie), then raw when neither is smaller
    /// than the chunk: the size is exactly `min(chunk, lz4, bg4)` plus the 8-byte header.
    pub fn write_record(
        &mut self,
        chunk: &[u8],
        policy: CompressionPolicy,
        out: &mut Vec<u8>,
    ) -> Result<CompressionScheme> {
        if chunk.is_empty() || chunk.len() > MAX_UNCOMPRESSED_LEN {
            return err(
                ErrorKind::InvalidArgument,
                format!(
                    "a chunk has 1 to {MAX_UNCOMPRESSED_LEN} bytes, got {}",
                    chunk.len()
                ),
            );
        }
        let n = chunk.len();
        let mut best: Option<CompressionScheme> = None;
        let mut best_len = n;
        if matches!(policy, CompressionPolicy::Lz4 | CompressionPolicy::Best) {
            self.lz4.compress(&mut self.table, chunk);
            if self.lz4.len < best_len {
                best_len = self.lz4.len;
                best = Some(CompressionScheme::Lz4);
            }
        }
        if matches!(policy, CompressionPolicy::Bg4 | CompressionPolicy::Best) {
            bg4_split_into(chunk, &mut self.grouped);
            self.bg4.compress(&mut self.table, &self.grouped);
            if self.bg4.len < best_len {
                best_len = self.bg4.len;
                best = Some(CompressionScheme::Bg4Lz4);
            }
        }
        let (scheme, payload): (CompressionScheme, &[u8]) = match best {
            Some(CompressionScheme::Lz4) => (CompressionScheme::Lz4, self.lz4.bytes()),
            Some(CompressionScheme::Bg4Lz4) => (CompressionScheme::Bg4Lz4, self.bg4.bytes()),
            _ => (CompressionScheme::None, chunk),
        };
        debug_assert_eq!(payload.len(), best_len);
        out.reserve(RECORD_HEADER_LEN + payload.len());
        write_header(out, scheme, payload.len(), n);
        out.extend_from_slice(payload);
        Ok(scheme)
    }
}

/// One LZ4 frame of `data`, as hf_xet writes it (`lz4_flex::frame::FrameEncoder` defaults:
/// header `04 22 4D 18 60 40 82` up to 64 KiB, independent blocks, no checksums). Chunks (at most
/// 128 KiB) go through [`ChunkCompressor`]; larger inputs through `FrameEncoder`.
pub fn lz4_frame_compress(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    if data.len() <= MAX_UNCOMPRESSED_LEN {
        with_compressor(|c| c.lz4_frame_into(data, &mut out));
        return out;
    }
    use std::io::Write;
    let mut enc = lz4_flex::frame::FrameEncoder::new(Vec::with_capacity(data.len() / 2 + 64));
    // Writing into a Vec cannot fail.
    let _ = enc.write_all(data);
    enc.finish().unwrap_or_default()
}

thread_local! {
    static COMPRESSOR: std::cell::RefCell<ChunkCompressor> = std::cell::RefCell::new(ChunkCompressor::new());
}

/// Runs `f` with this thread's compressor (a fresh one if it is already borrowed).
pub(crate) fn with_compressor<T>(f: impl FnOnce(&mut ChunkCompressor) -> T) -> T {
    let mut f = Some(f);
    let done = COMPRESSOR.with(|c| match c.try_borrow_mut() {
        Ok(mut c) => f.take().map(|f| f(&mut c)),
        Err(_) => None,
    });
    match (done, f) {
        (Some(v), _) => v,
        (None, Some(f)) => f(&mut ChunkCompressor::new()),
        (None, None) => unreachable!("the closure ran"),
    }
}

/// Decodes an LZ4 frame payload that must decode to exactly `expected` bytes, appending them
/// to `out`. Accepts any valid frame (content size, checksums, linked or independent blocks,
/// any block size); bytes after the frame are an error. Never allocates more than `expected` bytes of output plus the decoder's block
/// buffers (at most 4 MiB, bounded by the frame format).
pub fn lz4_frame_decompress(payload: &[u8], expected: usize, out: &mut Vec<u8>) -> Result<()> {
    let start = out.len();
    out.resize(start + expected, 0);
    let mut dec = lz4_flex::frame::FrameDecoder::new(payload);
    let mut filled = 0;
    let fail = |out: &mut Vec<u8>, e: std::io::Error| {
        out.truncate(start);
        CoreError::new(ErrorKind::BadCompression, format!("invalid LZ4 frame: {e}"))
    };
    while filled < expected {
        match dec.read(&mut out[start + filled..]) {
            Ok(0) => {
                out.truncate(start);
                return err(
                    ErrorKind::LengthMismatch,
                    format!("LZ4 frame decodes to {filled} bytes, the record announces {expected}"),
                );
            }
            Ok(n) => filled += n,
            Err(e) => return Err(fail(out, e)),
        }
    }
    // The frame must end here: no more decoded bytes, and a valid end mark / checksums.
    let mut extra = [0u8; 1];
    match dec.read(&mut extra) {
        Ok(0) if dec.get_ref().is_empty() => Ok(()),
        Ok(0) => {
            let left = dec.get_ref().len();
            out.truncate(start);
            err(
                ErrorKind::BadCompression,
                format!(
                    "{left} bytes after the end of the LZ4 frame: a payload is exactly one frame"
                ),
            )
        }
        Ok(_) => {
            out.truncate(start);
            err(
                ErrorKind::LengthMismatch,
                format!("LZ4 frame decodes to more than the {expected} bytes the record announces"),
            )
        }
        Err(e) => Err(fail(out, e)),
    }
}

/// Appends to `out` the record header for a payload.
fn write_header(out: &mut Vec<u8>, scheme: CompressionScheme, payload_len: usize, raw_len: usize) {
    let c = (payload_len as u32).to_le_bytes();
    let u = (raw_len as u32).to_le_bytes();
    out.extend_from_slice(&[0, c[0], c[1], c[2], scheme as u8, u[0], u[1], u[2]]);
}

/// Serializes one chunk as a record (header + payload), compressed per `policy` and stored raw
/// when compression does not make it smaller. Appends to `out`; returns the scheme used.
///
/// `INVALID_ARGUMENT` for an empty chunk or one longer than 131,072 bytes.
pub fn write_chunk_record(
    chunk: &[u8],
    policy: CompressionPolicy,
    out: &mut Vec<u8>,
) -> Result<CompressionScheme> {
    with_compressor(|c| c.write_record(chunk, policy, out))
}

/// A chunk record header (§4.1), validated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RecordHeader {
    /// Compression scheme.
    pub scheme: CompressionScheme,
    /// Payload length.
    pub compressed_len: u32,
    /// Chunk length.
    pub uncompressed_len: u32,
}

impl RecordHeader {
    /// Header plus payload length.
    pub fn record_len(&self) -> usize {
        RECORD_HEADER_LEN + self.compressed_len as usize
    }
}

/// Reads and validates the record header at `at` of `bytes`, and checks that its payload is
/// complete. `index` is only used in messages.
pub fn read_record_header(bytes: &[u8], at: usize, index: usize) -> Result<RecordHeader> {
    let rest = &bytes[at.min(bytes.len())..];
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
    let have = rest.len() - RECORD_HEADER_LEN;
    if (compressed_len as usize) > have {
        return err(
            ErrorKind::Truncated,
            format!(
                "chunk record {index} at offset {at}: payload of {compressed_len} bytes, only {have} bytes left"
            ),
        );
    }
    Ok(RecordHeader {
        scheme,
        compressed_len,
        uncompressed_len,
    })
}

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

/// Limits of a xorb: raw bytes, serialized bytes, chunk count.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct XorbLimits {
    /// Maximum sum of chunk lengths.
    pub max_raw_bytes: u64,
    /// Maximum serialized length (records, no footer).
    pub max_serialized_bytes: u64,
    /// Maximum number of chunks.
    pub max_chunks: usize,
}

impl Default for XorbLimits {
    /// The writer's limits: raw and serialized size both ≤ 64 MiB, ≤ 8,192 chunks (§4.5).
    fn default() -> Self {
        XorbLimits {
            max_raw_bytes: MAX_XORB_BYTES,
            max_serialized_bytes: MAX_XORB_BYTES,
            max_chunks: MAX_XORB_CHUNKS,
        }
    }
}

impl XorbLimits {
    /// What a server accepts: ≤ 8,192 chunks and ≤ 64 MiB of chunk data (hf_xet limits the raw
    /// size), so the body may exceed 64 MiB by one record header per chunk (incompressible
    /// chunks are stored raw): at most 64 MiB + 64 KiB.
    pub const fn accepted() -> Self {
        XorbLimits {
            max_raw_bytes: MAX_XORB_BYTES,
            max_serialized_bytes: MAX_XORB_BYTES + (RECORD_HEADER_LEN * MAX_XORB_CHUNKS) as u64,
            max_chunks: MAX_XORB_CHUNKS,
        }
    }
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

    /// The limits.
    pub fn limits(&self) -> &XorbLimits {
        &self.limits
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
    pub fn expect_spare(&mut self, expected: bool) {
        self.expect_spare = expected;
    }

    /// Hands back the buffer of a xorb that was taken and uploaded, for reuse by a later xorb:
    /// a long upload then keeps reusing the same large allocation instead of allocating (and,
    /// in WebAssembly, growing the never-shrinking memory for) a new one per xorb. One spare
    /// buffer is kept, the largest.
    pub fn recycle(&mut self, mut buf: Vec<u8>) {
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
    pub fn reserved_bytes(&self) -> usize {
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

    #[test]
    fn bg4_example() {
        let g = bg4_split(&[1, 2, 3, 4, 5, 6]);
        assert_eq!(g, vec![1, 5, 2, 6, 3, 4]);
        let mut back = vec![0u8; 6];
        bg4_join(&g, &mut back);
        assert_eq!(back, vec![1, 2, 3, 4, 5, 6]);
        for n in 0..40 {
            let d: Vec<u8> = (0..n as u8).collect();
            let mut b = vec![0u8; n];
            bg4_join(&bg4_split(&d), &mut b);
            assert_eq!(b, d);
        }
    }
}
