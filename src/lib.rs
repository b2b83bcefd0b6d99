//! Sans-IO core of xet-buckets: Xet chunking, hashing, xorbs, shards, deduplication and
//! reconstruction decoding. No I/O, no threads, no clocks: callers pass bytes and times in.
//! Byte-compatible with xet-core / hf_xet; the normative reference is
//! `shared/spec/xet-protocol.md` (section numbers in the docs refer to it).
//!
//! The modules are private; this file chooses what the crate offers (re-exported below, by
//! concern). Everything else is an implementation detail, tested beside its code.
//!
//! | Module | What |
//! |---|---|
//! | `error` | [`CoreError`] with a stable [`ErrorKind::code`] |
//! | `hash` | [`MerkleHash`], Xet hex, keyed hashes, merkle root (also streaming), file and verification hashes, dedup eligibility |
//! | `chunking` | the content-defined chunker (current rule), streaming, plus the plain reference rule |
//! | `hasher` | chunk + hash streams: [`ChunkHasher`], [`XetHasher`] (file id of a byte stream) |
//! | `prepare` | segments of a file chunked, hashed and compressed in parallel, with exact seams |
//! | `xorb` | chunk records, LZ4 / BG4 compression, xorb builder and verifying reader, range decoding |
//! | `shard` | upload-shard writer, full-shard writer (lookup tables, footer), dedup-answer builder, reader |
//! | `dedup` | learned-xorb index (HMAC keys, expiry), term builder (internal to the upload session) |
//! | `upload` | the sans-IO [`UploadSession`] (bytes in → xorbs, files, shards, dedup queries out) |
//! | `download` | decoding fetched ranges and verifying whole files |
//! | `wasm` | (feature `wasm`) the wasm-bindgen surface: every JS concern of the crate |
#![warn(unreachable_pub)]

mod chunking;
mod dedup;
mod download;
mod error;
mod hash;
mod hasher;
mod kernel;
mod prepare;
mod shard;
mod upload;
mod xorb;

// Errors.
pub use error::{CoreError, ErrorKind, Result};

// Hashes (§3): the hash type and hex forms, the keyed BLAKE3 hashes and their keys, merkle roots.
pub use hash::{
    chunk_hash, file_hash, file_hash_with_salt, from_plain_hex, is_global_dedup_eligible,
    keyed_hash, merkle_root, to_plain_hex, verification_hash, xorb_hash, FileHashBuilder,
    MerkleBuilder, MerkleHash, DATA_KEY, FILE_HASH_KEY, INTERNAL_NODE_KEY, VERIFICATION_KEY,
};

// Chunking (§2): the chunker, its constants, the reference rule fast paths are checked against.
pub use chunking::{reference_boundaries, Chunker, GEAR, MASK, MAX_CHUNK, MIN_CHUNK, TARGET_CHUNK};
pub use hasher::{ChunkHasher, XetHasher};

// Chunks prepared in parallel, segment by segment.
pub use prepare::{
    prepare_segment, prepare_segment_with, PreparedSegment, RecordPayloads, Seam, SegmentEnd,
    SegmentSpec,
};

// Xorbs (§4): records, compression, building, reading.
pub use xorb::{
    decode_chunk_records, decode_chunk_views, lz4_frame_decompress, parse_xorb,
    parse_xorb_with_limits, write_chunk_record, BuiltXorb, ChunkCompressor, ChunkPlace,
    CompressionPolicy, CompressionScheme, DecodedChunks, XorbBuilder, XorbInfo, XorbLimits,
    XorbVerifier, MAX_XORB_BYTES, MAX_XORB_CHUNKS, RECORD_HEADER_LEN,
};

// Shards (§5): the blocks, writers, the dedup-answer builder, the reader.
pub use shard::{
    parse_shard, upload_shard_len, write_full_shard, write_upload_shard, DedupShardBuilder,
    FileEntry, FileTerm, Shard, ShardFooter, UploadEntries, UploadEntry, XorbChunk, XorbEntry,
    FILE_FLAG_WITH_METADATA_EXT, FILE_FLAG_WITH_VERIFICATION, MAX_SHARD_BYTES,
};

// Upload (§8) and download (§6.6).
pub use download::{check_term_length, file_hash_of_runs};
pub use upload::{
    ChunkPayload, FileResult, PreparedChunk, SessionStats, UploadOptions, UploadSession,
    XorbResult, DEFAULT_BLOCK_BYTES, PLACED_DEDUP,
};

// Its `pub` items are the JS surface (wasm-bindgen exports), not Rust API.
#[cfg(feature = "wasm")]
#[allow(unreachable_pub)]
mod wasm;

// Unit tests share the integration tests' vectors and generators (tests/common), which name the
// crate `xet_core`.
#[cfg(test)]
extern crate self as xet_core;
#[cfg(test)]
#[allow(unreachable_pub)]
#[path = "../tests/common/mod.rs"]
mod test_common;
