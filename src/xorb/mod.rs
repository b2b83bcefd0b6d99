//! Xorbs (spec §4): chunk records, compression (None, LZ4 frame, BG4 + LZ4 frame), the xorb
//! builder with its limits, and the reader that decodes and verifies a serialized xorb.
//!
//! Decoders never trust length fields for allocation: a record announces at most 131,072
//! decoded bytes, and only that much is ever allocated for it.
//!
//! | File | What |
//! |---|---|
//! | `record.rs` | the chunk record format: header layout, compression schemes, header reader and writer |
//! | `compression.rs` | LZ4 frames and BG4 byte grouping; the reusable compressor that writes records |
//! | `builder.rs` | the xorb builder (limits, buffer reuse) and the closed xorb |
//! | `reader.rs` | decoding runs of records (fetched ranges) and verifying whole xorb bodies |

mod builder;
mod compression;
mod reader;
mod record;

pub use builder::*;
pub use compression::*;
pub use reader::*;
pub use record::*;

/// Maximum xorb size, raw and serialized (§4.5).
pub const MAX_XORB_BYTES: u64 = 64 * 1024 * 1024;
/// Maximum chunks per xorb (§4.5).
pub const MAX_XORB_CHUNKS: usize = 8192;

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
