//! Sans-IO core of xet-buckets: Xet chunking, hashing, xorbs, shards, deduplication and
//! reconstruction decoding. No I/O, no threads, no clocks: callers pass bytes and times in.

pub mod chunking;
pub mod dedup;
pub mod download;
pub mod error;
pub mod hash;
pub mod hasher;
pub mod shard;
pub mod shard_json;
pub mod upload;
pub mod xorb;

pub use error::{CoreError, ErrorKind, Result};
pub use hash::MerkleHash;

#[cfg(feature = "wasm")]
pub mod wasm;
