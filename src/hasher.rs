//! Streaming chunk + hash: [`ChunkHasher`] yields (chunk hash, length) for any split of the
//! input; [`XetHasher`] turns that into the file hash (file id) without keeping the data.

use crate::chunking::Chunker;
use crate::hash::{chunk_hash, FileHashBuilder, MerkleHash};

/// Bytes scanned for boundaries per step of [`ChunkHasher::update`] before the chunks found are
/// hashed, so that they are hashed while still in the CPU cache. In WebAssembly, steps of 64 KiB
/// (each chunk hashed right after its boundary is found) to 512 KiB measured the same; 2 MiB
/// (more than the L2 cache) was slower.
pub(crate) const CACHE_BLOCK: usize = 512 * 1024;

/// Chunks a byte stream and hashes every chunk (§2, §3.3), each chunk in one call of
/// [`chunk_hash`] (in WebAssembly, the lane-parallel kernel of `crate::kernel`).
///
/// A chunk that ends inside the bytes of one [`ChunkHasher::update`] call is hashed where it lies;
/// only a chunk that spans calls is gathered, in a buffer of at most one chunk (128 KiB).
#[derive(Clone, Debug, Default)]
pub struct ChunkHasher {
    chunker: Chunker,
    /// The open chunk's bytes from earlier calls.
    pending: Vec<u8>,
    cuts: Vec<usize>,
}

impl ChunkHasher {
    /// A hasher at the start of a stream.
    pub fn new() -> Self {
        Self::default()
    }

    /// Bytes of the chunk that is still open.
    pub fn open_chunk_len(&self) -> usize {
        self.chunker.open_chunk_len()
    }

    /// Feeds `data`; calls `on_chunk(hash, len)` for every chunk completed by this call, in order.
    pub fn update(&mut self, data: &[u8], mut on_chunk: impl FnMut(MerkleHash, usize)) {
        // Start of the open chunk in `data` (it may have started in an earlier call: then
        // `pending` holds its first bytes).
        let mut start = 0;
        let mut at = 0;
        while at < data.len() {
            let end = (at + CACHE_BLOCK).min(data.len());
            self.cuts.clear();
            self.chunker.push(&data[at..end], &mut self.cuts);
            for &cut in &self.cuts {
                let cut = at + cut;
                let len = self.pending.len() + cut - start;
                let hash = if self.pending.is_empty() {
                    chunk_hash(&data[start..cut])
                } else {
                    self.pending.extend_from_slice(&data[start..cut]);
                    let h = chunk_hash(&self.pending);
                    self.pending.clear();
                    h
                };
                on_chunk(hash, len);
                start = cut;
            }
            at = end;
        }
        self.pending.extend_from_slice(&data[start..]);
    }

    /// Ends the stream: calls `on_chunk` for the final chunk if bytes are pending, and resets.
    pub fn finish(&mut self, mut on_chunk: impl FnMut(MerkleHash, usize)) {
        if let Some(len) = self.chunker.finish() {
            debug_assert_eq!(len, self.pending.len());
            on_chunk(chunk_hash(&self.pending), len);
            self.pending.clear();
        }
    }
}

/// Streaming file hash: chunks, hashes and aggregates a whole file (§3.6). Memory is bounded
/// (no data kept; merkle state is a few nodes per tree level).
#[derive(Clone, Debug, Default)]
pub struct XetHasher {
    chunks: ChunkHasher,
    file: FileHashBuilder,
}

impl XetHasher {
    /// A hasher for a new file.
    pub fn new() -> Self {
        Self::default()
    }

    /// Feeds the next bytes of the file.
    pub fn update(&mut self, data: &[u8]) {
        let file = &mut self.file;
        self.chunks
            .update(data, |h, len| file.add_chunk(h, len as u64));
    }

    /// Bytes fed so far.
    pub fn bytes(&self) -> u64 {
        self.file.byte_count() + self.chunks.open_chunk_len() as u64
    }

    /// Chunks completed so far.
    pub fn chunks(&self) -> u64 {
        self.file.chunk_count()
    }

    /// The file hash (all zeros for empty input). Consumes the hasher.
    pub fn finish(self) -> MerkleHash {
        self.finish_counted().0
    }

    /// Like [`XetHasher::finish`], with the file's chunk count.
    pub fn finish_counted(mut self) -> (MerkleHash, u64) {
        let file = &mut self.file;
        self.chunks.finish(|h, len| file.add_chunk(h, len as u64));
        let chunks = self.file.chunk_count();
        (self.file.finish(), chunks)
    }

    /// Same as [`XetHasher::finish`] but leaves a fresh hasher behind (for the WASM class).
    pub fn finish_reset(&mut self) -> MerkleHash {
        std::mem::take(self).finish()
    }
}
