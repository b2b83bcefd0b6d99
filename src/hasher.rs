//! Streaming chunk + hash: [`ChunkHasher`] yields (chunk hash, length) for any split of the
//! input; [`XetHasher`] turns that into the file hash (file id) without keeping the data.

use crate::chunking::Chunker;
use crate::hash::{FileHashBuilder, MerkleHash, DATA_KEY};

/// Bytes scanned and hashed per step of [`ChunkHasher::update`].
pub(crate) const CACHE_BLOCK: usize = 512 * 1024;

/// Chunks a byte stream and hashes every chunk (§2, §3.3). Keeps no input bytes: the open
/// chunk is fed to an incremental keyed BLAKE3 hasher as it arrives.
#[derive(Clone, Debug)]
pub struct ChunkHasher {
    chunker: Chunker,
    hasher: blake3::Hasher,
    cuts: Vec<usize>,
}

impl Default for ChunkHasher {
    fn default() -> Self {
        Self::new()
    }
}

impl ChunkHasher {
    /// A hasher at the start of a stream.
    pub fn new() -> Self {
        ChunkHasher {
            chunker: Chunker::new(),
            hasher: blake3::Hasher::new_keyed(&DATA_KEY),
            cuts: Vec::new(),
        }
    }

    /// Bytes of the chunk that is still open.
    pub fn open_chunk_len(&self) -> usize {
        self.chunker.open_chunk_len()
    }

    /// Feeds `data`; calls `on_chunk(hash, len)` for every chunk completed by this call, in order.
    ///
    /// Works through `data` in blocks of [`CACHE_BLOCK`] bytes, so that the bytes the chunker
    /// has just scanned are hashed while they are still in the CPU cache.
    pub fn update(&mut self, data: &[u8], mut on_chunk: impl FnMut(MerkleHash, usize)) {
        for block in data.chunks(CACHE_BLOCK) {
            self.update_block(block, &mut on_chunk);
        }
    }

    fn update_block(&mut self, data: &[u8], on_chunk: &mut impl FnMut(MerkleHash, usize)) {
        let mut carried = self.chunker.open_chunk_len();
        self.cuts.clear();
        self.chunker.push(data, &mut self.cuts);
        let mut start = 0;
        for &cut in &self.cuts {
            self.hasher.update(&data[start..cut]);
            let h = MerkleHash(*self.hasher.finalize().as_bytes());
            self.hasher.reset();
            on_chunk(h, carried + cut - start);
            start = cut;
            carried = 0;
        }
        self.hasher.update(&data[start..]);
    }

    /// Ends the stream: calls `on_chunk` for the final chunk if bytes are pending, and resets.
    pub fn finish(&mut self, mut on_chunk: impl FnMut(MerkleHash, usize)) {
        if let Some(len) = self.chunker.finish() {
            let h = MerkleHash(*self.hasher.finalize().as_bytes());
            self.hasher.reset();
            on_chunk(h, len);
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
