//! Compression of chunk payloads (§4.2): LZ4 frames written exactly as hf_xet writes them and
//! decoded in any valid form, BG4 byte grouping, and the reusable compressor that serializes a
//! chunk as its smallest record.

use super::record::{write_header, CompressionScheme, MAX_UNCOMPRESSED_LEN, RECORD_HEADER_LEN};
use crate::error::{err, CoreError, ErrorKind, Result};
use std::io::Read;

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
    Best,
    /// LZ4, and BG4 as well only where the chunk's bytes look grouped by position ([`bg4_may_help`]),
    /// keeping the smallest: one compression pass for most data (random bytes, text), both for
    /// numeric arrays. Never larger than hf_xet's record for the chunk (it writes one scheme, LZ4, or
    /// BG4 where its own predictor recommends it: `bg4_may_help` holds for those chunks and more).
    #[default]
    Auto,
}

/// Whether byte grouping may make a chunk smaller: the distribution of set-bit counts (0 to 8) of the
/// bytes at positions 4k + g differs, for some lane g, from the distribution over all bytes (sampled). Numeric
/// arrays (floats, integers) have lanes of very different entropy (exponents, high bytes), random
/// bytes and text do not. The measure is the largest Kullback–Leibler divergence of a lane from the
/// pooled distribution; hf_xet chooses BG4 above 0.02 with a measure of this kind (over the whole
/// chunk), so this answers yes from well below that, to cover every chunk it would send as BG4.
pub(crate) fn bg4_may_help(chunk: &[u8]) -> bool {
    // Every 8th group of 4 bytes of a chunk above 8 KiB (a sample of at least 256 per lane): its
    // divergence estimates the chunk's within about 0.005 (9 bins), so the threshold is low enough
    // to keep every chunk above 0.02, and the sample costs less than the BG4 pass it may save.
    const THRESHOLD: f64 = 0.008;
    let step = if chunk.len() > 8192 { 32 } else { 4 };
    let mut lanes = [[0u32; 9]; 4];
    let mut at = 0;
    while at + 4 <= chunk.len() {
        let q = &chunk[at..at + 4];
        lanes[0][q[0].count_ones() as usize] += 1;
        lanes[1][q[1].count_ones() as usize] += 1;
        lanes[2][q[2].count_ones() as usize] += 1;
        lanes[3][q[3].count_ones() as usize] += 1;
        at += step;
    }
    if step == 4 {
        for (g, b) in chunk[at..].iter().enumerate() {
            lanes[g][b.count_ones() as usize] += 1;
        }
    }
    // Pooled counts start at 1: no bin has probability 0 (the divergence stays finite).
    let mut pooled = [1u32; 9];
    for lane in &lanes {
        for (p, c) in pooled.iter_mut().zip(lane) {
            *p += c;
        }
    }
    let pooled_total: u32 = pooled.iter().sum();
    lanes.iter().any(|lane| {
        let total: u32 = lane.iter().sum();
        if total == 0 {
            return false;
        }
        let kl: f64 = lane
            .iter()
            .zip(&pooled)
            .filter(|(&c, _)| c > 0)
            .map(|(&c, &q)| {
                let p = c as f64 / total as f64;
                p * (p / (q as f64 / pooled_total as f64)).ln()
            })
            .sum();
        kl > THRESHOLD
    })
}

/// `bg4_split` (§4.2): group `g` holds bytes `data[4i + g]`; groups concatenated in order.
#[cfg(test)]
pub(crate) fn bg4_split(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    bg4_split_into(data, &mut out);
    out
}

/// [`bg4_split`] into `out` (resized to `data.len()`; its allocation is reused).
pub(crate) fn bg4_split_into(data: &[u8], out: &mut Vec<u8>) {
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
pub(crate) fn bg4_join(grouped: &[u8], out: &mut [u8]) {
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
pub(crate) const LZ4_FRAME_HEADER: [u8; 7] = [0x04, 0x22, 0x4D, 0x18, 0x60, 0x40, 0x82];
/// The same for a chunk above 64 KiB: BD `0x50` (256 KiB blocks), checksum `0xFB`.
pub(crate) const LZ4_FRAME_HEADER_256K: [u8; 7] = [0x04, 0x22, 0x4D, 0x18, 0x60, 0x50, 0xFB];
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
    #[cfg(test)]
    pub(crate) fn lz4_frame_into(&mut self, data: &[u8], out: &mut Vec<u8>) {
        self.lz4.compress(&mut self.table, data);
        out.clear();
        out.extend_from_slice(self.lz4.bytes());
    }

    /// Serializes one chunk as a record (header + payload) appended to `out`; see
    /// [`write_chunk_record`]. Under [`CompressionPolicy::Best`] both LZ4 and BG4 are always
    /// computed and the smaller payload kept (LZ4 on a tie), then raw when neither is smaller
    /// than the chunk: the size is exactly `min(chunk, lz4, bg4)` plus the 8-byte header. Under
    /// [`CompressionPolicy::Auto`] the same, with BG4 computed only where [`bg4_may_help`].
    pub(crate) fn write_record(
        &mut self,
        chunk: &[u8],
        policy: CompressionPolicy,
        out: &mut Vec<u8>,
    ) -> Result<CompressionScheme> {
        self.write_record_or_header(chunk, policy, out, false)
    }

    /// [`write_record`](Self::write_record), except that with `header_only_if_raw` a chunk stored
    /// raw gets its header alone (its payload is the chunk itself, which the caller can read again:
    /// copying it here would be wasted).
    pub(crate) fn write_record_or_header(
        &mut self,
        chunk: &[u8],
        policy: CompressionPolicy,
        out: &mut Vec<u8>,
        header_only_if_raw: bool,
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
        if matches!(
            policy,
            CompressionPolicy::Lz4 | CompressionPolicy::Best | CompressionPolicy::Auto
        ) {
            self.lz4.compress(&mut self.table, chunk);
            if self.lz4.len < best_len {
                best_len = self.lz4.len;
                best = Some(CompressionScheme::Lz4);
            }
        }
        if matches!(policy, CompressionPolicy::Bg4 | CompressionPolicy::Best)
            || (policy == CompressionPolicy::Auto && bg4_may_help(chunk))
        {
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
        if header_only_if_raw && scheme == CompressionScheme::None {
            write_header(out, scheme, n, n);
            return Ok(scheme);
        }
        out.reserve(RECORD_HEADER_LEN + payload.len());
        write_header(out, scheme, payload.len(), n);
        out.extend_from_slice(payload);
        Ok(scheme)
    }
}

#[cfg(test)]
/// One LZ4 frame of `data`, as hf_xet writes it (`lz4_flex::frame::FrameEncoder` defaults:
/// header `04 22 4D 18 60 40 82` up to 64 KiB, independent blocks, no checksums). Chunks (at most
/// 128 KiB) go through [`ChunkCompressor`]; larger inputs through `FrameEncoder`.
pub(crate) fn lz4_frame_compress(data: &[u8]) -> Vec<u8> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_common::{splitmix64, text};
    use crate::xorb::{decode_chunk_records, CompressionScheme, RECORD_HEADER_LEN};
    use std::io::Write;

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

    /// The frame `lz4_flex::frame::FrameEncoder` writes with its defaults in one call (what hf_xet
    /// and the earlier encoder of this crate wrote).
    fn frame_encoder(data: &[u8]) -> Vec<u8> {
        let mut enc = lz4_flex::frame::FrameEncoder::new(Vec::new());
        enc.write_all(data).unwrap();
        enc.finish().unwrap()
    }

    /// Chunks of every kind the compressor meets: incompressible, constant, text, 4-byte lanes
    /// (BG4's case), a mix.
    fn compression_inputs() -> Vec<(String, Vec<u8>)> {
        let mut out = Vec::new();
        for len in [
            1usize, 5, 12, 13, 100, 8191, 65_535, 65_536, 65_537, 100_000, 131_071, 131_072,
        ] {
            out.push((format!("random {len}"), splitmix64(len as u64, len)));
            out.push((format!("zeros {len}"), vec![0u8; len]));
            out.push((format!("text {len}"), text(len)));
            let floats: Vec<u8> = (0..len.div_ceil(4))
                .flat_map(|i| (1.0f32 + i as f32 * 1e-4).to_le_bytes())
                .take(len)
                .collect();
            out.push((format!("floats {len}"), floats));
            let mut mixed = splitmix64(9, len);
            let half = len / 2;
            mixed[half..].copy_from_slice(&text(len - half));
            out.push((format!("mixed {len}"), mixed));
        }
        out
    }

    #[test]
    fn compressor_frames_equal_frame_encoder() {
        let mut c = ChunkCompressor::new();
        let mut out = Vec::new();
        for (name, data) in compression_inputs() {
            c.lz4_frame_into(&data, &mut out);
            assert_eq!(out, frame_encoder(&data), "{name}");
            assert_eq!(lz4_frame_compress(&data), out, "{name}");
            let mut back = Vec::new();
            lz4_frame_decompress(&out, data.len(), &mut back).unwrap();
            assert_eq!(back, data, "{name}");
        }
        // Inputs above one chunk still get a valid frame.
        let big = text(300_000);
        let mut back = Vec::new();
        lz4_frame_decompress(&lz4_frame_compress(&big), big.len(), &mut back).unwrap();
        assert_eq!(back, big);
    }

    /// The chunks hf_xet sends as BG4: its predictor (as documented: the largest Kullback–Leibler
    /// divergence of a lane's set-bit-count distribution from the pooled one, above 0.02, pooled
    /// counts starting at 1 and normalised by the lanes' total), written here independently.
    fn hf_xet_predicts_bg4(data: &[u8]) -> bool {
        let mut lanes = [[0f64; 9]; 4];
        for (i, b) in data.iter().enumerate() {
            lanes[i % 4][b.count_ones() as usize] += 1.0;
        }
        let mut base = [1f64; 9];
        for lane in &lanes {
            for k in 0..9 {
                base[k] += lane[k];
            }
        }
        let total: f64 = lanes.iter().map(|l| l.iter().sum::<f64>()).sum();
        lanes.iter().any(|lane| {
            let n: f64 = lane.iter().sum();
            let kl: f64 = (0..9)
                .filter(|&k| lane[k] > 0.0)
                .map(|k| (lane[k] / n) * ((lane[k] / n) / (base[k] / total)).ln())
                .sum();
            kl > 0.02
        })
    }

    /// bf16 weights (sign, 8-bit exponent, 7-bit mantissa) around ±0.05: the kind of chunk BG4 is for.
    fn bf16_weights(seed: u64, len: usize) -> Vec<u8> {
        let noise = splitmix64(seed, len);
        (0..len.div_ceil(2))
            .flat_map(|i| {
                let r = noise[(2 * i) % len.max(1)] as f32 / 255.0 - 0.5;
                let v = 0.1 * r + 0.001 * (noise[(2 * i + 1) % len.max(1)] as f32 / 255.0);
                ((v.to_bits() >> 16) as u16).to_le_bytes()
            })
            .take(len)
            .collect()
    }

    /// `auto`: BG4 is tried wherever hf_xet's predictor would choose it (and on random bytes and text
    /// not at all), so a record is never larger than hf_xet's (LZ4, or BG4 where it predicts it) and
    /// equals `best`'s wherever BG4 was tried.
    #[test]
    fn auto_tries_bg4_wherever_hf_xet_would_and_is_never_larger_than_its_record() {
        let mut c = ChunkCompressor::new();
        let mut inputs = compression_inputs();
        for len in [8192usize, 65_536, 100_001, 131_072] {
            inputs.push((format!("bf16 {len}"), bf16_weights(len as u64, len)));
        }
        let mut bg4_tried = 0;
        for (name, data) in inputs {
            let may = bg4_may_help(&data);
            if hf_xet_predicts_bg4(&data) {
                assert!(may, "{name}: hf_xet would send BG4, auto must try it");
            }
            if name.starts_with("random") && data.len() >= 8192 {
                assert!(!may, "{name}: random bytes need no BG4 attempt");
            }
            bg4_tried += usize::from(may);
            let mut auto = Vec::new();
            c.write_record(&data, CompressionPolicy::Auto, &mut auto)
                .unwrap();
            let mut best = Vec::new();
            c.write_record(&data, CompressionPolicy::Best, &mut best)
                .unwrap();
            let mut lz4 = Vec::new();
            c.write_record(&data, CompressionPolicy::Lz4, &mut lz4)
                .unwrap();
            let mut bg4 = Vec::new();
            c.write_record(&data, CompressionPolicy::Bg4, &mut bg4)
                .unwrap();
            let hf_xet = if hf_xet_predicts_bg4(&data) {
                bg4.len()
            } else {
                lz4.len()
            };
            assert!(
                auto.len() <= hf_xet,
                "{name}: auto {} > hf_xet's {hf_xet}",
                auto.len()
            );
            assert!(auto.len() <= lz4.len(), "{name}");
            if may {
                assert_eq!(auto, best, "{name}: with BG4 tried, auto is best");
            } else {
                assert_eq!(auto, lz4, "{name}: without, auto is LZ4 (or raw)");
            }
            let d = decode_chunk_records(&auto).unwrap();
            assert_eq!(d.data, data, "{name}");
        }
        assert!(bg4_tried >= 4, "the bf16 and float chunks try BG4");
    }

    /// `best` is exactly "smallest wins": the record is 8 bytes plus the smallest of the chunk, its
    /// LZ4 frame and its BG4 frame (both as `FrameEncoder` writes them), LZ4 on a tie; single
    /// policies keep their frame when smaller than the chunk.
    #[test]
    fn best_is_exactly_the_smallest_of_raw_lz4_and_bg4() {
        let mut c = ChunkCompressor::new();
        for (name, data) in compression_inputs() {
            let n = data.len();
            let lz4 = frame_encoder(&data).len();
            let bg4 = frame_encoder(&bg4_split(&data)).len();
            for (policy, expect) in [
                (CompressionPolicy::None, (n, CompressionScheme::None)),
                (
                    CompressionPolicy::Lz4,
                    if lz4 < n {
                        (lz4, CompressionScheme::Lz4)
                    } else {
                        (n, CompressionScheme::None)
                    },
                ),
                (
                    CompressionPolicy::Bg4,
                    if bg4 < n {
                        (bg4, CompressionScheme::Bg4Lz4)
                    } else {
                        (n, CompressionScheme::None)
                    },
                ),
                (
                    CompressionPolicy::Best,
                    if lz4 < n && lz4 <= bg4 {
                        (lz4, CompressionScheme::Lz4)
                    } else if bg4 < n && bg4 < lz4 {
                        (bg4, CompressionScheme::Bg4Lz4)
                    } else {
                        (n, CompressionScheme::None)
                    },
                ),
            ] {
                let mut rec = vec![0xEE];
                let scheme = c.write_record(&data, policy, &mut rec).unwrap();
                assert_eq!(
                    (rec.len() - 1 - RECORD_HEADER_LEN, scheme),
                    expect,
                    "{name} {policy:?}"
                );
                let mut again = Vec::new();
                assert_eq!(
                    write_chunk_record(&data, policy, &mut again).unwrap(),
                    scheme
                );
                assert_eq!(
                    again,
                    rec[1..],
                    "{name} {policy:?}: thread-local compressor"
                );
                let d = decode_chunk_records(&rec[1..]).unwrap();
                assert_eq!(d.data, data, "{name} {policy:?}");
            }
        }
    }
}
