//! Sans-IO core of xet-buckets: Xet chunking, hashing, xorbs, shards, deduplication and
//! reconstruction decoding. No I/O, no threads, no clocks: callers pass bytes and times in.
//! Byte-compatible with xet-core / hf_xet; the normative reference is
//! `shared/spec/xet-protocol.md` (section numbers in the docs refer to it).
//!
//! | Module | What |
//! |---|---|
//! | [`error`] | [`CoreError`] with a stable [`ErrorKind::code`] |
//! | [`hash`] | [`MerkleHash`], Xet hex, keyed hashes, merkle root (also streaming), file and verification hashes, dedup eligibility |
//! | [`chunking`] | the content-defined chunker (current rule), streaming, plus the plain reference rule |
//! | [`hasher`] | chunk + hash streams: `ChunkHasher`, `XetHasher` (file id of a byte stream) |
//! | [`prepare`] | segments of a file chunked, hashed and compressed in parallel, with exact seams |
//! | [`xorb`] | chunk records, LZ4 / BG4 compression, xorb builder and verifying reader, range decoding |
//! | [`shard`] | upload-shard writer, full-shard writer (lookup tables, footer), dedup-answer builder, reader |
//! | [`dedup`] | learned-xorb index (HMAC keys, expiry), term builder |
//! | [`upload`] | the sans-IO `UploadSession` (bytes in → xorbs, files, shards, dedup queries out) |
//! | [`download`] | decoding fetched ranges and verifying whole files |
//! | `wasm` | (feature `wasm`) the wasm-bindgen surface; thin conversions only |

pub mod chunking;
pub mod dedup;
pub mod download;
pub mod error;
pub mod hash;
pub mod hasher;
pub mod prepare;
pub mod shard;
pub mod upload;
pub mod xorb;

pub use error::{CoreError, ErrorKind, Result};
pub use hash::MerkleHash;

#[cfg(feature = "wasm")]
pub mod wasm;
