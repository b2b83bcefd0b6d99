//! Shards (spec §5): the upload-shard writer, the full-shard writer (lookup tables + footer,
//! used for dedup answers, §5.8), and a reader for both.
//!
//! | File | What |
//! |---|---|
//! | `format.rs` | layout constants and the in-memory form of the blocks (files, terms, xorbs, footer) |
//! | `write.rs` | the upload-shard and full-shard writers |
//! | `dedup_answer.rs` | the builder of global-dedup answer shards (HMAC-keyed chunk hashes) |
//! | `read.rs` | the reader of both forms |

mod dedup_answer;
mod format;
mod read;
mod write;

pub use dedup_answer::*;
pub use format::*;
pub use read::*;
pub use write::*;
