//! The upload session: file bytes in → new xorbs + file records + upload shards out (spec §8).
//!
//! Sans-IO: the caller (TypeScript) pushes file bytes, uploads the xorbs and shards the session
//! hands out, and answers the global-dedup queries it asks for. Nothing here waits, reads a
//! clock or touches the network; times are passed in.
//!
//! # Flow
//!
//! ```text
//! start_file(sha256?) → push(bytes)* → [end_input()] → finish_file() → FileResult
//!          ↑ take_queries() / answer_query(hash, shard?, now) / resolve() at any time
//! take_xorb()* (upload each) → flush_xorb() → take_xorb()* → take_shard()* (upload each)
//! ```
//!
//! # Chunk resolution
//!
//! Every chunk (chunked and hashed as it arrives) enters a FIFO of *pending* chunks and is
//! resolved in file order to a location:
//!
//! 1. the next chunk of the open term's xorb, if it has this hash (keeps terms long);
//! 2. a chunk of a xorb produced in this session, the open one included (local dedup);
//! 3. a chunk of a xorb learned from a dedup answer, matched through the shard's HMAC key
//!    when it has one (global dedup);
//! 4. otherwise a new chunk, compressed per the policy and appended to the open xorb; the
//!    xorb is closed first when the chunk would exceed a limit, and right after when it is full.
//!
//! A chunk that is eligible for a global query (the first chunk of every file, or
//! `hash % 1024 == 0`), not known yet and never queried in this session becomes an outstanding
//! query (reported once by [`UploadSession::take_queries`]); with a `probe_modulus` m, a chunk
//! with `hash % m == 0` that is neither becomes a *probe* ([`UploadSession::take_probes`]): a
//! query the caller answers from a local cache only. Both are answered with
//! [`UploadSession::answer_query`].
//!
//! # Ingestion blocks (as hf_xet)
//!
//! A file's chunks are grouped into blocks of about `block_bytes` (a block starts with the first
//! chunk at or past the previous block's end, or after [`UploadSession::seal_block`]). No chunk
//! of a block is placed before the block is *sealed* (a chunk of the next block arrived, the
//! input ended, or `seal_block`) and every query its chunks wait on is answered: so an answer
//! deduplicates the chunks of its block that come *before* the queried chunk too, as hf_xet's
//! re-run of the block does (`FileDeduper::process_chunks`). Chunks wait in file order, holding
//! their bytes ([`UploadSession::pending_bytes`]: about one block, more while answers are
//! awaited). `block_bytes` 0 makes every chunk its own block: a chunk then waits only for its
//! own query and those before it. [`UploadSession::finish_file`] resolves everything: the
//! file's queries still outstanding then count as misses for this file (their answers, when
//! they come, still serve later files).
//!
//! # Shards
//!
//! [`UploadSession::take_shard`] returns the upload shards for the files finished and the
//! xorbs closed since the previous call. It needs no file open and an empty open xorb
//! ([`UploadSession::flush_xorb`]); every xorb it references must be uploaded before the
//! shard. Split rule: the file blocks (processing order, a repeated file hash written once)
//! then the new xorb blocks (processing order) are packed greedily into shards of at most
//! `max_shard_bytes`; a shard is closed when the next block would not fit. A block never
//! spans two shards, so a shard may hold file blocks and xorb blocks together. One call
//! returns one shard; call until it returns `None`.

use crate::chunking::{Chunker, MAX_CHUNK};
use crate::dedup::{HashMapFast, LearnedIndex, TermBuilder, XorbRef};
use crate::error::{err, ErrorKind, Result};
use crate::hash::{
    chunk_hash, is_global_dedup_eligible, to_plain_hex, FileHashBuilder, MerkleHash,
};
use crate::shard::{
    parse_shard, write_upload_shard, FileEntry, FileTerm, XorbEntry, HEADER_LEN, MAX_SHARD_BYTES,
    RECORD_LEN,
};
use crate::xorb::{
    read_record_header, write_chunk_record, CompressionPolicy, XorbBuilder, XorbLimits,
    MAX_COMPRESSED_LEN, MAX_XORB_BYTES, MAX_XORB_CHUNKS, RECORD_HEADER_LEN, SMALL_XORB_CAPACITY,
};
use sha2::{Digest, Sha256};
use std::collections::{HashSet, VecDeque};

/// Options of an [`UploadSession`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UploadOptions {
    /// Maximum raw size of a xorb: the sum of its chunk lengths (default and maximum 64 MiB; at
    /// least 131,080 so that any chunk fits an empty xorb). As with hf_xet, a new xorb starts
    /// before a chunk that would exceed it; the serialized body may exceed it by the 8-byte
    /// record headers of chunks stored raw (at most 64 KiB), which servers accept.
    pub max_xorb_bytes: u64,
    /// Maximum chunks per xorb (default and maximum 8,192).
    pub max_xorb_chunks: usize,
    /// Maximum size of one upload shard (default and maximum 64 MiB; at least 4,096).
    pub max_shard_bytes: u64,
    /// Compression of new chunks (default: best of LZ4 and BG4, raw when neither helps).
    pub compression: CompressionPolicy,
    /// Write each new xorb's serialized length as `num_bytes_on_disk` (default true, like the
    /// specification and huggingface.js); false writes 0 like hf_xet.
    pub write_bytes_on_disk: bool,
    /// File bytes per ingestion block (default [`DEFAULT_BLOCK_BYTES`], hf_xet's ingestion
    /// block; 0 = every chunk its own block). See the module documentation.
    pub block_bytes: u64,
    /// Chunks with `hash % probe_modulus == 0` (not eligible for a global query) become probes
    /// for a local cache (default 0: none; at most 1024).
    pub probe_modulus: u64,
}

/// Default ingestion block: 8 MiB, at least hf_xet's 8 MB (`data.ingestion_block_size`).
pub const DEFAULT_BLOCK_BYTES: u64 = 8 * 1024 * 1024;

impl Default for UploadOptions {
    fn default() -> Self {
        UploadOptions {
            max_xorb_bytes: MAX_XORB_BYTES,
            max_xorb_chunks: MAX_XORB_CHUNKS,
            max_shard_bytes: MAX_SHARD_BYTES,
            compression: CompressionPolicy::Auto,
            write_bytes_on_disk: true,
            block_bytes: DEFAULT_BLOCK_BYTES,
            probe_modulus: 0,
        }
    }
}

/// Smallest accepted `max_xorb_bytes`: one maximal chunk record.
pub(crate) const MIN_XORB_BYTES: u64 = (MAX_CHUNK + RECORD_HEADER_LEN) as u64;
/// Smallest accepted `max_shard_bytes`.
pub(crate) const MIN_SHARD_BYTES: u64 = 4096;
/// Largest accepted `block_bytes` (the bytes a block may hold back).
pub(crate) const MAX_BLOCK_BYTES: u64 = 256 * 1024 * 1024;

impl UploadOptions {
    /// Checks the limits' ranges.
    pub(crate) fn validate(&self) -> Result<()> {
        if !(MIN_XORB_BYTES..=MAX_XORB_BYTES).contains(&self.max_xorb_bytes) {
            return err(
                ErrorKind::InvalidArgument,
                format!(
                    "max xorb bytes must be {MIN_XORB_BYTES} to {MAX_XORB_BYTES}, got {}",
                    self.max_xorb_bytes
                ),
            );
        }
        if !(1..=MAX_XORB_CHUNKS).contains(&self.max_xorb_chunks) {
            return err(
                ErrorKind::InvalidArgument,
                format!(
                    "max xorb chunks must be 1 to {MAX_XORB_CHUNKS}, got {}",
                    self.max_xorb_chunks
                ),
            );
        }
        if self.block_bytes > MAX_BLOCK_BYTES {
            return err(
                ErrorKind::InvalidArgument,
                format!(
                    "block bytes must be at most {MAX_BLOCK_BYTES}, got {}",
                    self.block_bytes
                ),
            );
        }
        if self.probe_modulus > 1024 {
            return err(
                ErrorKind::InvalidArgument,
                format!(
                    "probe modulus must be 0 to 1024, got {}",
                    self.probe_modulus
                ),
            );
        }
        if !(MIN_SHARD_BYTES..=MAX_SHARD_BYTES).contains(&self.max_shard_bytes) {
            return err(
                ErrorKind::InvalidArgument,
                format!(
                    "max shard bytes must be {MIN_SHARD_BYTES} to {MAX_SHARD_BYTES}, got {}",
                    self.max_shard_bytes
                ),
            );
        }
        Ok(())
    }
}

/// The record of one finished file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileResult {
    /// File hash (file id); all zeros for an empty file.
    pub hash: MerkleHash,
    /// File size.
    pub size: u64,
    /// Number of chunks.
    pub chunk_count: u64,
    /// Bytes stored in new xorbs.
    pub new_bytes: u64,
    /// Bytes found in xorbs of this session.
    pub dedup_local_bytes: u64,
    /// Bytes found in xorbs learned from dedup answers.
    pub dedup_global_bytes: u64,
    /// Plain-hex SHA-256 of the file, when asked for at `start_file`.
    pub sha256: Option<String>,
}

/// A closed xorb, ready to upload.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct XorbResult {
    /// Xorb hash (the upload path).
    pub hash: MerkleHash,
    /// Serialized chunk records, no footer (the upload body); empty when the session's records
    /// are kept by the caller ([`ChunkPayload::External`]).
    pub data: Vec<u8>,
    /// Length of the upload body.
    pub serialized_bytes: u64,
    /// Number of chunks.
    pub chunk_count: u32,
    /// Sum of the chunk lengths.
    pub raw_bytes: u64,
}

/// Counters of a session.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SessionStats {
    /// File bytes received.
    pub bytes_processed: u64,
    /// Chunks resolved.
    pub chunks: u64,
    /// Bytes stored in new xorbs.
    pub new_bytes: u64,
    /// Bytes deduplicated against this session's xorbs.
    pub dedup_local_bytes: u64,
    /// Bytes deduplicated against learned xorbs.
    pub dedup_global_bytes: u64,
    /// Xorbs closed.
    pub xorbs_produced: u64,
    /// Serialized bytes of the closed xorbs.
    pub xorb_bytes_serialized: u64,
    /// Global-dedup queries issued.
    pub queries_issued: u64,
}

/// A chunk prepared outside the session (e.g. by a worker): its hash and either its raw bytes
/// or its serialized record (header + payload, already compressed).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PreparedChunk {
    /// Chunk hash (trusted: the session does not re-hash prepared chunks).
    pub hash: MerkleHash,
    /// Chunk length.
    pub len: u32,
    /// The chunk's bytes or record.
    pub payload: ChunkPayload,
}

/// Payload of a [`PreparedChunk`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ChunkPayload {
    /// Raw chunk bytes; compressed by the session if the chunk is new.
    Raw(Vec<u8>),
    /// A serialized chunk record (§4.1).
    Record(Vec<u8>),
    /// A serialized record of this many bytes (header + payload) that the caller keeps: the
    /// session only places the chunk and reports where it went
    /// ([`UploadSession::take_placements`]); the caller writes the records of new chunks into
    /// the xorb bodies itself (every [`XorbResult`] then has empty `data`). A session takes
    /// either external records only or in-session bytes only.
    External(u32),
}

impl PreparedChunk {
    /// A chunk whose record (`record_len` bytes) the caller keeps (see [`ChunkPayload::External`]).
    pub fn external(hash: MerkleHash, len: u32, record_len: u32) -> Self {
        PreparedChunk {
            hash,
            len,
            payload: ChunkPayload::External(record_len),
        }
    }

    /// Hashes and compresses a chunk: the pure, parallelisable part of an upload.
    pub fn prepare(chunk: &[u8], policy: CompressionPolicy) -> Result<Self> {
        let mut record = Vec::with_capacity(chunk.len() + RECORD_HEADER_LEN);
        write_chunk_record(chunk, policy, &mut record)?;
        Ok(PreparedChunk {
            hash: chunk_hash(chunk),
            len: chunk.len() as u32,
            payload: ChunkPayload::Record(record),
        })
    }

    /// Hashes a chunk and keeps its raw bytes (compressed later only if new).
    pub fn raw(chunk: &[u8]) -> Self {
        PreparedChunk {
            hash: chunk_hash(chunk),
            len: chunk.len() as u32,
            payload: ChunkPayload::Raw(chunk.to_vec()),
        }
    }
}

/// Where a session's chunk records live (fixed by the first chunk it receives).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum RecordsMode {
    Unset,
    /// Records are built or copied into the session's xorbs.
    Internal,
    /// Records are kept by the caller ([`ChunkPayload::External`]).
    External,
}

/// Placement reported for a deduplicated chunk by [`UploadSession::take_placements`].
pub const PLACED_DEDUP: u32 = u32::MAX;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum InputMode {
    Unset,
    Bytes,
    Chunks,
}

#[derive(Debug)]
struct OpenFile {
    sha256: Option<Sha256>,
    mode: InputMode,
    input_ended: bool,
    chunks_seen: u64,
    /// File offset of the next chunk.
    offset: u64,
    hash: FileHashBuilder,
    terms: TermBuilder,
    new_bytes: u64,
    local: u64,
    global: u64,
}

#[derive(Debug)]
struct PendingChunk {
    hash: MerkleHash,
    len: u32,
    payload: ChunkPayload,
    /// Its ingestion block (numbered within the open file).
    block: u64,
}

/// The ingestion blocks of the open file (see the module documentation).
#[derive(Debug, Default)]
struct Blocks {
    /// The newest block.
    open: u64,
    /// The newest block is sealed: no chunk joins it any more.
    sealed: bool,
    /// File offset where the newest block ends (the next chunk at or past it starts a block).
    end: u64,
    /// Outstanding queries that chunks of each block wait on, oldest block first.
    waits: Vec<(u64, Vec<MerkleHash>)>,
}

impl Blocks {
    /// The block a chunk at `offset` joins (opening a new one at the block end).
    fn block_of(&mut self, offset: u64, block_bytes: u64, first: bool) -> u64 {
        if first {
            *self = Blocks::default();
        } else if offset >= self.end {
            self.open += 1;
        } else {
            return self.open;
        }
        self.end = offset + block_bytes;
        self.sealed = block_bytes == 0;
        self.open
    }

    /// Chunks of `block` wait on the answer to `hash`.
    fn wait(&mut self, block: u64, hash: MerkleHash) {
        match self.waits.iter_mut().find(|(b, _)| *b == block) {
            Some((_, hs)) => {
                if !hs.contains(&hash) {
                    hs.push(hash);
                }
            }
            None => self.waits.push((block, vec![hash])),
        }
    }

    /// The answer to `hash` came.
    fn answered(&mut self, hash: &MerkleHash) {
        for (_, hs) in &mut self.waits {
            hs.retain(|h| h != hash);
        }
        self.waits.retain(|(_, hs)| !hs.is_empty());
    }

    /// True when the chunks of `block` may be placed.
    fn ready(&self, block: u64) -> bool {
        (block != self.open || self.sealed) && !self.waits.iter().any(|(b, _)| *b == block)
    }
}

/// A payload borrowed from the input or from a pending chunk.
#[derive(Clone, Copy)]
enum PayloadRef<'a> {
    Raw(&'a [u8]),
    Record(&'a [u8]),
    External(u32),
}

impl<'a> PayloadRef<'a> {
    fn of(p: &'a ChunkPayload) -> Self {
        match p {
            ChunkPayload::Raw(d) => PayloadRef::Raw(d),
            ChunkPayload::Record(r) => PayloadRef::Record(r),
            ChunkPayload::External(n) => PayloadRef::External(*n),
        }
    }
}

#[derive(Debug)]
struct SessionXorb {
    hash: Option<MerkleHash>,
    chunks: Vec<MerkleHash>,
}

#[derive(Debug)]
struct FinishedFile {
    hash: MerkleHash,
    terms: Vec<crate::dedup::BuiltTerm>,
    sha256: Option<[u8; 32]>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Placement {
    New,
    Local,
    Global,
}

/// See the module documentation.
#[derive(Debug)]
pub struct UploadSession {
    opts: UploadOptions,
    chunker: Chunker,
    cuts: Vec<usize>,
    partial: Vec<u8>,
    file: Option<OpenFile>,
    pending: VecDeque<PendingChunk>,
    pending_bytes: u64,
    session_index: HashMapFast<(u32, u32)>,
    session_xorbs: Vec<SessionXorb>,
    open_xorb: XorbBuilder,
    open_xorb_id: Option<u32>,
    /// Large xorb buffers handed out and not recycled yet.
    buffers_out: usize,
    records_mode: RecordsMode,
    /// External mode: where each resolved chunk went, in file order (see `take_placements`).
    placements: Vec<u32>,
    learned: LearnedIndex,
    now: f64,
    queried: HashSet<MerkleHash, std::hash::BuildHasherDefault<crate::dedup::HashFold>>,
    outstanding: HashSet<MerkleHash, std::hash::BuildHasherDefault<crate::dedup::HashFold>>,
    new_queries: Vec<MerkleHash>,
    new_probes: Vec<MerkleHash>,
    blocks: Blocks,
    ready_xorbs: VecDeque<XorbResult>,
    shard_files: Vec<FinishedFile>,
    shard_xorbs: Vec<XorbEntry>,
    shard_queue: VecDeque<Vec<u8>>,
    stats: SessionStats,
}

impl UploadSession {
    /// A session with validated options.
    pub fn new(opts: UploadOptions) -> Result<Self> {
        opts.validate()?;
        // Cut on raw bytes and chunks, as hf_xet: a body of chunks stored raw then exceeds the
        // raw limit by their record headers, within what servers accept (`XorbLimits::accepted`).
        let limits = XorbLimits {
            max_raw_bytes: opts.max_xorb_bytes,
            max_serialized_bytes: opts.max_xorb_bytes
                + (RECORD_HEADER_LEN * opts.max_xorb_chunks) as u64,
            max_chunks: opts.max_xorb_chunks,
        };
        Ok(UploadSession {
            opts,
            chunker: Chunker::new(),
            cuts: Vec::new(),
            partial: Vec::new(),
            file: None,
            pending: VecDeque::new(),
            pending_bytes: 0,
            session_index: HashMapFast::default(),
            session_xorbs: Vec::new(),
            open_xorb: XorbBuilder::new(limits),
            open_xorb_id: None,
            buffers_out: 0,
            records_mode: RecordsMode::Unset,
            placements: Vec::new(),
            learned: LearnedIndex::new(),
            now: f64::NEG_INFINITY,
            queried: Default::default(),
            outstanding: Default::default(),
            new_queries: Vec::new(),
            new_probes: Vec::new(),
            blocks: Blocks::default(),
            ready_xorbs: VecDeque::new(),
            shard_files: Vec::new(),
            shard_xorbs: Vec::new(),
            shard_queue: VecDeque::new(),
            stats: SessionStats::default(),
        })
    }

    /// Opens a file. `with_sha256`: also compute the file's SHA-256, report it in the
    /// [`FileResult`] and store it in the shard (`FileMetadataExt`, needed by Git-backed repos,
    /// optional for buckets).
    pub fn start_file(&mut self, with_sha256: bool) -> Result<()> {
        if self.file.is_some() {
            return err(
                ErrorKind::InvalidState,
                "a file is already open: call finishFile() before startFile()",
            );
        }
        self.file = Some(OpenFile {
            sha256: with_sha256.then(Sha256::new),
            mode: InputMode::Unset,
            input_ended: false,
            chunks_seen: 0,
            offset: 0,
            hash: FileHashBuilder::new(),
            terms: TermBuilder::new(),
            new_bytes: 0,
            local: 0,
            global: 0,
        });
        Ok(())
    }

    fn open_file_for(&mut self, mode: InputMode, what: &str) -> Result<&mut OpenFile> {
        let Some(f) = self.file.as_mut() else {
            return err(
                ErrorKind::InvalidState,
                format!("{what}: no file is open, call startFile() first"),
            );
        };
        if f.input_ended {
            return err(
                ErrorKind::InvalidState,
                format!("{what}: the file's input was already ended"),
            );
        }
        if f.mode != InputMode::Unset && f.mode != mode {
            return err(
                ErrorKind::InvalidState,
                format!("{what}: a file is fed either bytes or prepared chunks, not both"),
            );
        }
        f.mode = mode;
        Ok(f)
    }

    /// Fixes (or checks) where the session's records live.
    fn records_mode(&mut self, mode: RecordsMode, what: &str) -> Result<()> {
        if self.records_mode == RecordsMode::Unset {
            self.records_mode = mode;
        } else if self.records_mode != mode {
            return err(
                ErrorKind::InvalidState,
                format!("{what}: a session keeps chunk records either inside (push, pushChunks with bytes) or with the caller (external records), not both"),
            );
        }
        Ok(())
    }

    /// Feeds the next bytes of the open file. Any split gives the same result.
    pub fn push(&mut self, data: &[u8]) -> Result<()> {
        self.open_file_for(InputMode::Bytes, "push")?;
        self.records_mode(RecordsMode::Internal, "push")?;
        let f = self.open_file_for(InputMode::Bytes, "push")?;
        if let Some(s) = &mut f.sha256 {
            s.update(data);
        }
        self.stats.bytes_processed += data.len() as u64;
        let mut cuts = std::mem::take(&mut self.cuts);
        cuts.clear();
        self.chunker.push(data, &mut cuts);
        let mut start = 0;
        for &cut in &cuts {
            if self.partial.is_empty() {
                self.add_chunk_slice(&data[start..cut]);
            } else {
                self.partial.extend_from_slice(&data[start..cut]);
                let chunk = std::mem::take(&mut self.partial);
                self.add_chunk_owned(chunk);
            }
            start = cut;
        }
        self.partial.extend_from_slice(&data[start..]);
        self.cuts = cuts;
        self.resolve_inner(false);
        Ok(())
    }

    /// Feeds prepared chunks of the open file, in file order (the file's chunking was done by
    /// the caller). Not combinable with [`UploadSession::push`] in one file, nor with SHA-256
    /// unless every payload is raw. External records ([`ChunkPayload::External`]) are not
    /// combinable with the other payloads in one session.
    pub fn push_chunks(&mut self, chunks: Vec<PreparedChunk>) -> Result<()> {
        let external = chunks
            .iter()
            .filter(|c| matches!(c.payload, ChunkPayload::External(_)))
            .count();
        if external != 0 && external != chunks.len() {
            return err(
                ErrorKind::InvalidArgument,
                "pushChunks: external records cannot be mixed with other payloads",
            );
        }
        for (i, c) in chunks.iter().enumerate() {
            if c.len == 0 || c.len as usize > MAX_CHUNK {
                return err(
                    ErrorKind::InvalidArgument,
                    format!(
                        "prepared chunk {i}: length {} is not 1 to {MAX_CHUNK}",
                        c.len
                    ),
                );
            }
            match &c.payload {
                ChunkPayload::Raw(d) if d.len() != c.len as usize => {
                    return err(
                        ErrorKind::InvalidArgument,
                        format!(
                            "prepared chunk {i}: {} raw bytes for length {}",
                            d.len(),
                            c.len
                        ),
                    )
                }
                ChunkPayload::External(n)
                    if (*n as usize) <= RECORD_HEADER_LEN
                        || *n as usize > RECORD_HEADER_LEN + MAX_COMPRESSED_LEN =>
                {
                    return err(
                        ErrorKind::InvalidArgument,
                        format!(
                            "prepared chunk {i}: a record has {} to {} bytes, got {n}",
                            RECORD_HEADER_LEN + 1,
                            RECORD_HEADER_LEN + MAX_COMPRESSED_LEN
                        ),
                    );
                }
                ChunkPayload::Record(r) => {
                    let h = read_record_header(r, 0, i)?;
                    if h.record_len() != r.len() || h.uncompressed_len != c.len {
                        return err(
                            ErrorKind::InvalidArgument,
                            format!(
                                "prepared chunk {i}: record of {} bytes for {} announces {} + {} bytes",
                                r.len(),
                                c.len,
                                RECORD_HEADER_LEN,
                                h.compressed_len
                            ),
                        );
                    }
                }
                _ => {}
            }
        }
        self.open_file_for(InputMode::Chunks, "pushChunks")?;
        if !chunks.is_empty() {
            let mode = if external > 0 {
                RecordsMode::External
            } else {
                RecordsMode::Internal
            };
            self.records_mode(mode, "pushChunks")?;
        }
        let f = self.open_file_for(InputMode::Chunks, "pushChunks")?;
        if f.sha256.is_some()
            && chunks
                .iter()
                .any(|c| !matches!(c.payload, ChunkPayload::Raw(_)))
        {
            return err(
                ErrorKind::InvalidState,
                "pushChunks: the file computes SHA-256, which needs raw chunk payloads",
            );
        }
        for c in chunks {
            if let (Some(s), ChunkPayload::Raw(d)) = (
                self.file.as_mut().and_then(|f| f.sha256.as_mut()),
                &c.payload,
            ) {
                s.update(d);
            }
            self.stats.bytes_processed += c.len as u64;
            match self.admit(&c.hash, c.len) {
                None => self.place(c.hash, c.len, PayloadRef::of(&c.payload)),
                Some(block) => {
                    self.pending_bytes += c.len as u64;
                    self.pending.push_back(PendingChunk {
                        hash: c.hash,
                        len: c.len,
                        payload: c.payload,
                        block,
                    });
                }
            }
        }
        self.resolve_inner(false);
        Ok(())
    }

    /// Ends the open file's input: the last chunk is cut (and queried if eligible), so a
    /// caller can answer that query before [`UploadSession::finish_file`]. Optional:
    /// `finish_file` ends the input itself.
    pub fn end_input(&mut self) -> Result<()> {
        let Some(f) = self.file.as_mut() else {
            return err(ErrorKind::InvalidState, "endInput: no file is open");
        };
        if f.input_ended {
            return Ok(());
        }
        f.input_ended = true;
        if self.chunker.finish().is_some() {
            let chunk = std::mem::take(&mut self.partial);
            self.add_chunk_owned(chunk);
        }
        self.blocks.sealed = true;
        self.resolve_inner(false);
        Ok(())
    }

    /// Seals the open file's newest ingestion block: its chunks no longer wait for later chunks
    /// (only for the answers they wait on), and the next chunk starts a new block. For a caller
    /// that must see chunks placed before it pushes more (e.g. to close a full xorb).
    pub fn seal_block(&mut self) {
        if self.file.is_some() {
            self.blocks.sealed = true;
            if let Some(f) = &self.file {
                self.blocks.end = f.offset;
            }
            self.resolve_inner(false);
        }
    }

    fn add_chunk_slice(&mut self, chunk: &[u8]) {
        let hash = chunk_hash(chunk);
        match self.admit(&hash, chunk.len() as u32) {
            None => self.place(hash, chunk.len() as u32, PayloadRef::Raw(chunk)),
            Some(block) => self.hold(hash, chunk.to_vec(), block),
        }
    }

    fn add_chunk_owned(&mut self, chunk: Vec<u8>) {
        let hash = chunk_hash(&chunk);
        match self.admit(&hash, chunk.len() as u32) {
            None => {
                self.place(hash, chunk.len() as u32, PayloadRef::Raw(&chunk));
                // Keep the allocation for the next partial chunk.
                self.partial = chunk;
                self.partial.clear();
            }
            Some(block) => self.hold(hash, chunk, block),
        }
    }

    fn hold(&mut self, hash: MerkleHash, data: Vec<u8>, block: u64) {
        let len = data.len() as u32;
        self.pending_bytes += len as u64;
        self.pending.push_back(PendingChunk {
            hash,
            len,
            payload: ChunkPayload::Raw(data),
            block,
        });
    }

    /// Registers a new chunk of `len` bytes of the open file: its block, its global query or
    /// probe when eligible. `None` when it can be placed at once (nothing pending before it,
    /// its block sealed, nothing to wait for), else the block it waits with.
    fn admit(&mut self, hash: &MerkleHash, len: u32) -> Option<u64> {
        let block_bytes = self.opts.block_bytes;
        let probe_modulus = self.opts.probe_modulus;
        // Without an open file there is nothing to wait for: place at once.
        let f = self.file.as_mut()?;
        let first = f.chunks_seen == 0;
        f.chunks_seen += 1;
        let offset = f.offset;
        f.offset += len as u64;
        let block = self.blocks.block_of(offset, block_bytes, first);
        let known = self.known_locally(hash);
        if !known && !self.queried.contains(hash) {
            let query = first || is_global_dedup_eligible(hash);
            if query || (probe_modulus > 0 && hash.hash_mod(probe_modulus) == 0) {
                self.queried.insert(*hash);
                self.outstanding.insert(*hash);
                if query {
                    self.new_queries.push(*hash);
                    self.stats.queries_issued += 1;
                } else {
                    self.new_probes.push(*hash);
                }
            }
        }
        if !known && self.outstanding.contains(hash) {
            self.blocks.wait(block, *hash);
        }
        if self.pending.is_empty() && self.blocks.ready(block) {
            None
        } else {
            Some(block)
        }
    }

    fn known_locally(&self, hash: &MerkleHash) -> bool {
        self.session_index.contains_key(hash) || self.learned.lookup(hash, self.now).is_some()
    }

    /// Resolves pending chunks in order; without `force`, stops at the first one whose block
    /// is not ready (open, or waiting for answers).
    fn resolve_inner(&mut self, force: bool) {
        while let Some(front) = self.pending.front() {
            if !force && !self.blocks.ready(front.block) {
                break;
            }
            let Some(c) = self.pending.pop_front() else {
                break;
            };
            self.pending_bytes -= c.len as u64;
            self.place(c.hash, c.len, PayloadRef::of(&c.payload));
        }
        if force {
            self.blocks.waits.clear();
        }
    }

    /// The chunk hash at `index` of a xorb, when it is `hash` (for term continuation).
    fn continues(&self, xorb: XorbRef, index: u32, hash: &MerkleHash) -> bool {
        match xorb {
            XorbRef::Session(id) => self.session_xorbs[id as usize]
                .chunks
                .get(index as usize)
                .is_some_and(|h| h == hash),
            XorbRef::Learned(id) => self.learned.matches_at(id, index, hash, self.now),
        }
    }

    /// Places one chunk of the open file (see the module documentation for the order).
    fn place(&mut self, hash: MerkleHash, len: u32, payload: PayloadRef<'_>) {
        let cont = self
            .file
            .as_ref()
            .and_then(|f| f.terms.continuation())
            .filter(|(x, i)| self.continues(*x, *i, &hash));
        let (xorb, index, kind) = if let Some((x, i)) = cont {
            let kind = match x {
                XorbRef::Session(_) => Placement::Local,
                XorbRef::Learned(_) => Placement::Global,
            };
            (x, i, kind)
        } else if let Some(&(id, i)) = self.session_index.get(&hash) {
            (XorbRef::Session(id), i, Placement::Local)
        } else if let Some((id, i)) = self.learned.lookup(&hash, self.now) {
            (XorbRef::Learned(id), i, Placement::Global)
        } else {
            let (id, i) = self.store_new(hash, len, payload);
            (XorbRef::Session(id), i, Placement::New)
        };
        if self.records_mode == RecordsMode::External {
            self.placements.push(match (kind, xorb) {
                (Placement::New, XorbRef::Session(id)) => id,
                _ => PLACED_DEDUP,
            });
        }
        let n = len as u64;
        self.stats.chunks += 1;
        match kind {
            Placement::New => self.stats.new_bytes += n,
            Placement::Local => self.stats.dedup_local_bytes += n,
            Placement::Global => self.stats.dedup_global_bytes += n,
        }
        if let Some(f) = self.file.as_mut() {
            f.hash.add_chunk(hash, n);
            f.terms.push(xorb, index, len, &hash);
            match kind {
                Placement::New => f.new_bytes += n,
                Placement::Local => f.local += n,
                Placement::Global => f.global += n,
            }
        }
    }

    /// Appends a new chunk to the open xorb (closing it first if the chunk does not fit).
    fn store_new(&mut self, hash: MerkleHash, len: u32, payload: PayloadRef<'_>) -> (u32, u32) {
        let mut compressed = Vec::new();
        let record: &[u8] = match payload {
            PayloadRef::External(n) => return self.store_external(hash, len, n as usize),
            PayloadRef::Record(r) => r,
            PayloadRef::Raw(d) => {
                compressed.reserve(d.len() + RECORD_HEADER_LEN);
                // Chunks are 1..=131072 bytes here (chunker output or validated input), the
                // only inputs `write_chunk_record` rejects.
                if write_chunk_record(d, self.opts.compression, &mut compressed).is_err() {
                    compressed.clear();
                }
                &compressed
            }
        };
        self.append_new(hash, len, record.len(), |x| {
            x.push_record(hash, len, record)
        })
    }

    /// The external-records form of [`UploadSession::store_new`].
    fn store_external(&mut self, hash: MerkleHash, len: u32, record_len: usize) -> (u32, u32) {
        self.append_new(hash, len, record_len, |x| {
            x.push_external(hash, len, record_len)
        })
    }

    /// Adds a new chunk of `record_len` serialized bytes to the open xorb with `push` (closing the
    /// xorb first if the chunk does not fit, and after if it is full) and indexes it.
    fn append_new(
        &mut self,
        hash: MerkleHash,
        len: u32,
        record_len: usize,
        push: impl FnOnce(&mut XorbBuilder) -> Result<u32>,
    ) -> (u32, u32) {
        if !self.open_xorb.fits(len as usize, record_len) {
            self.close_xorb();
        }
        let id = self.open_xorb_id();
        // Fits by construction: the xorb was just closed if needed, and an empty xorb takes
        // any single chunk.
        let index = push(&mut self.open_xorb).unwrap_or_default();
        self.session_xorbs[id as usize].chunks.push(hash);
        self.session_index.insert(hash, (id, index));
        if self.open_xorb.is_full() {
            self.close_xorb();
        }
        (id, index)
    }

    /// The id of the open xorb, opening one if needed.
    fn open_xorb_id(&mut self) -> u32 {
        match self.open_xorb_id {
            Some(id) => id,
            None => {
                let id = self.session_xorbs.len() as u32;
                self.session_xorbs.push(SessionXorb {
                    hash: None,
                    chunks: Vec::new(),
                });
                self.open_xorb_id = Some(id);
                id
            }
        }
    }

    fn close_xorb(&mut self) {
        let (Some(id), Some(x)) = (self.open_xorb_id.take(), self.open_xorb.take()) else {
            return;
        };
        self.session_xorbs[id as usize].hash = Some(x.hash);
        let on_disk = if self.opts.write_bytes_on_disk {
            x.serialized_len as u32
        } else {
            0
        };
        // Chunk lengths of one xorb add up to at most 64 MiB: no overflow.
        if let Ok(entry) =
            XorbEntry::from_chunks(x.hash, &x.chunk_hashes, &x.chunk_lengths, on_disk)
        {
            self.shard_xorbs.push(entry);
        }
        self.stats.xorbs_produced += 1;
        self.stats.xorb_bytes_serialized += x.serialized_len as u64;
        if x.data.capacity() > SMALL_XORB_CAPACITY {
            self.buffers_out += 1;
            self.open_xorb.expect_spare(true);
        }
        self.ready_xorbs.push_back(XorbResult {
            hash: x.hash,
            serialized_bytes: x.serialized_len as u64,
            chunk_count: x.chunk_hashes.len() as u32,
            raw_bytes: x.raw_bytes,
            data: x.data,
        });
    }

    /// Finishes the open file: ends its input, resolves every pending chunk (outstanding
    /// queries of this file count as misses), and records the file for the next shard.
    pub fn finish_file(&mut self) -> Result<FileResult> {
        self.finish_file_with_sha256(None)
    }

    /// [`UploadSession::finish_file`] with the file's SHA-256 computed by the caller, for files
    /// whose chunks were prepared elsewhere ([`UploadSession::push_chunks`] with external records
    /// never sees the bytes). It is stored in the shard like one computed here. A file opened
    /// with `start_file(true)` computes its own: giving one too is an error.
    pub fn finish_file_with_sha256(&mut self, sha256: Option<[u8; 32]>) -> Result<FileResult> {
        if self.file.is_none() {
            return err(ErrorKind::InvalidState, "finishFile: no file is open");
        }
        if sha256.is_some() && self.file.as_ref().is_some_and(|f| f.sha256.is_some()) {
            return err(
                ErrorKind::InvalidState,
                "finishFile: the file computes its SHA-256 (startFile(true)); do not give one",
            );
        }
        self.end_input()?;
        self.resolve_inner(true);
        let Some(f) = self.file.take() else {
            return err(ErrorKind::InvalidState, "finishFile: no file is open");
        };
        let chunk_count = f.hash.chunk_count();
        let size = f.hash.byte_count();
        let hash = f.hash.finish();
        let sha = f
            .sha256
            .map(|s| {
                let d: [u8; 32] = s.finalize().into();
                d
            })
            .or(sha256);
        self.shard_files.push(FinishedFile {
            hash,
            terms: f.terms.finish(),
            sha256: sha,
        });
        Ok(FileResult {
            hash,
            size,
            chunk_count,
            new_bytes: f.new_bytes,
            dedup_local_bytes: f.local,
            dedup_global_bytes: f.global,
            sha256: sha.map(|d| to_plain_hex(&d)),
        })
    }

    /// External records mode: where each chunk resolved since the previous call went, in file
    /// order (the order the chunks were pushed): the session xorb id (0, 1, … in the order of
    /// [`UploadSession::take_xorb`]) for a new chunk, to be appended to that xorb's body, or
    /// [`PLACED_DEDUP`] for a chunk found in an existing xorb. A xorb is complete once a later
    /// id appears or [`UploadSession::take_xorb`] returns it. Empty in the other mode.
    pub fn take_placements(&mut self) -> Vec<u32> {
        std::mem::take(&mut self.placements)
    }

    /// The global-dedup queries issued since the previous call, in order (chunk hashes).
    pub fn take_queries(&mut self) -> Vec<MerkleHash> {
        std::mem::take(&mut self.new_queries)
    }

    /// The probes issued since the previous call, in order (chunk hashes): queries to answer
    /// from a local cache only (see `probe_modulus`), with [`UploadSession::answer_query`].
    pub fn take_probes(&mut self) -> Vec<MerkleHash> {
        std::mem::take(&mut self.new_probes)
    }

    /// Number of queries and probes issued and not answered yet.
    pub fn outstanding_queries(&self) -> usize {
        self.outstanding.len()
    }

    /// Learns the xorbs of a shard that answers no query (e.g. what an earlier attempt of the
    /// same upload stored), as [`UploadSession::answer_query`] does, and resumes resolution.
    /// Returns the number of xorbs learned.
    pub fn learn_shard(&mut self, shard: &[u8], now_unix_secs: f64) -> Result<u32> {
        if now_unix_secs > self.now {
            self.now = now_unix_secs;
        }
        let learned = parse_shard(shard).map(|s| self.learned.ingest(&s, now_unix_secs) as u32);
        self.resolve_inner(false);
        learned
    }

    /// Answers a query: `shard` is the dedup-answer shard, or `None` when the server does not
    /// know the chunk (404) or the query failed. Learns the shard's xorbs (unless its key
    /// expired before `now_unix_secs`) and resumes resolution. Returns the number of xorbs
    /// learned. The query is cleared even when the shard is malformed (`BAD_SHARD`,
    /// `TRUNCATED`): it then counts as a miss.
    pub fn answer_query(
        &mut self,
        chunk_hash: &MerkleHash,
        shard: Option<&[u8]>,
        now_unix_secs: f64,
    ) -> Result<u32> {
        self.outstanding.remove(chunk_hash);
        self.blocks.answered(chunk_hash);
        if now_unix_secs > self.now {
            self.now = now_unix_secs;
        }
        let learned = match shard {
            None => Ok(0),
            Some(bytes) => {
                parse_shard(bytes).map(|s| self.learned.ingest(&s, now_unix_secs) as u32)
            }
        };
        self.resolve_inner(false);
        learned
    }

    /// Resolves what can be resolved now (after answers were given).
    pub fn resolve(&mut self) {
        self.resolve_inner(false);
    }

    /// Raw bytes held by the session for the open file: unresolved chunks (their block is open
    /// or waits for answers) plus the incomplete trailing chunk. When it grows too large, await
    /// query answers, or [`UploadSession::seal_block`] when none is awaited.
    pub fn pending_bytes(&self) -> u64 {
        self.pending_bytes + self.partial.len() as u64
    }

    /// The next closed xorb to upload.
    pub fn take_xorb(&mut self) -> Option<XorbResult> {
        self.ready_xorbs.pop_front()
    }

    /// Gives back the `data` buffer of a taken xorb once it has been uploaded, so that a later
    /// xorb reuses the allocation (optional; keeps WebAssembly memory at about one xorb).
    /// While a large buffer is out, the open xorb grows gradually rather than allocating a full
    /// xorb beside it.
    pub fn recycle_xorb_buffer(&mut self, buf: Vec<u8>) {
        if buf.capacity() > SMALL_XORB_CAPACITY {
            self.buffers_out = self.buffers_out.saturating_sub(1);
            self.open_xorb.expect_spare(self.buffers_out > 0);
        }
        self.open_xorb.recycle(buf);
    }

    /// Bytes reserved for the open xorb's serialized records (diagnostics and tests of the
    /// memory bound).
    #[cfg(test)]
    pub(crate) fn open_xorb_reserved_bytes(&self) -> usize {
        self.open_xorb.reserved_bytes()
    }

    /// Closes the open xorb if it holds chunks (then [`UploadSession::take_xorb`] returns it).
    pub fn flush_xorb(&mut self) {
        self.close_xorb();
    }

    /// Counters.
    pub fn stats(&self) -> SessionStats {
        self.stats
    }

    /// The next upload shard (see the module documentation for the split rule). Call until it
    /// returns `None`. `INVALID_STATE` while a file is open or the open xorb is not empty (call
    /// `flush_xorb` and upload the xorbs first); `LIMIT_EXCEEDED` when one block alone is larger
    /// than `max_shard_bytes`.
    pub fn take_shard(&mut self) -> Result<Option<Vec<u8>>> {
        if self.file.is_some() {
            return err(
                ErrorKind::InvalidState,
                "takeShard: a file is open; finishFile() first",
            );
        }
        if !self.open_xorb.is_empty() {
            return err(
                ErrorKind::InvalidState,
                "takeShard: the open xorb holds chunks; call flushXorb(), upload every xorb from takeXorb(), then take shards",
            );
        }
        if self.shard_queue.is_empty() {
            self.build_shards()?;
        }
        Ok(self.shard_queue.pop_front())
    }

    fn xorb_hash_of(&self, x: XorbRef) -> MerkleHash {
        match x {
            XorbRef::Session(id) => self.session_xorbs[id as usize].hash.unwrap_or_default(),
            XorbRef::Learned(id) => self.learned.xorb(id).hash,
        }
    }

    fn build_shards(&mut self) -> Result<()> {
        if self.shard_files.is_empty() && self.shard_xorbs.is_empty() {
            return Ok(());
        }
        let mut seen: HashSet<MerkleHash, std::hash::BuildHasherDefault<crate::dedup::HashFold>> =
            HashSet::default();
        let mut files = Vec::with_capacity(self.shard_files.len());
        for f in &self.shard_files {
            if !seen.insert(f.hash) {
                continue;
            }
            let terms = f
                .terms
                .iter()
                .map(|t| FileTerm {
                    xorb: self.xorb_hash_of(t.xorb),
                    flags: 0,
                    unpacked_bytes: t.bytes,
                    start: t.start,
                    end: t.end,
                })
                .collect();
            files.push(FileEntry {
                hash: f.hash,
                flags: 0,
                terms,
                verification: Some(f.terms.iter().map(|t| t.verification).collect()),
                sha256: f.sha256,
            });
        }
        let max = self.opts.max_shard_bytes as usize;
        let base = HEADER_LEN + 2 * RECORD_LEN;
        for (what, len) in files
            .iter()
            .map(|f| (format!("file {}", f.hash), f.block_len()))
            .chain(
                self.shard_xorbs
                    .iter()
                    .map(|x| (format!("xorb {}", x.hash), x.block_len())),
            )
        {
            if base + len > max {
                return err(
                    ErrorKind::LimitExceeded,
                    format!(
                        "the shard block of {what} needs {} bytes, more than max shard bytes {max}",
                        base + len
                    ),
                );
            }
        }
        let xorbs = std::mem::take(&mut self.shard_xorbs);
        self.shard_files.clear();
        let mut cur_files: Vec<FileEntry> = Vec::new();
        let mut cur_xorbs: Vec<XorbEntry> = Vec::new();
        let mut cur_len = base;
        for f in files {
            let l = f.block_len();
            if cur_len + l > max {
                self.emit_shard(&mut cur_files, &mut cur_xorbs)?;
                cur_len = base;
            }
            cur_len += l;
            cur_files.push(f);
        }
        for x in xorbs {
            let l = x.block_len();
            if cur_len + l > max {
                self.emit_shard(&mut cur_files, &mut cur_xorbs)?;
                cur_len = base;
            }
            cur_len += l;
            cur_xorbs.push(x);
        }
        if !cur_files.is_empty() || !cur_xorbs.is_empty() {
            self.emit_shard(&mut cur_files, &mut cur_xorbs)?;
        }
        Ok(())
    }

    fn emit_shard(&mut self, files: &mut Vec<FileEntry>, xorbs: &mut Vec<XorbEntry>) -> Result<()> {
        let bytes = write_upload_shard(files, xorbs)?;
        files.clear();
        xorbs.clear();
        self.shard_queue.push_back(bytes);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_common::splitmix64;

    /// A long upload keeps memory at about one xorb: the buffer of a taken xorb, handed back,
    /// is reused by a later one.
    #[test]
    fn recycled_xorb_buffers_are_reused() {
        let opts = UploadOptions {
            max_xorb_bytes: 16 << 20,
            compression: CompressionPolicy::None,
            ..UploadOptions::default()
        };
        // The largest body: 16 MiB of chunks stored raw and their record headers.
        let full = (16 << 20) + RECORD_HEADER_LEN * MAX_XORB_CHUNKS;
        let mut s = UploadSession::new(opts).unwrap();
        s.start_file(false).unwrap();
        let mut seed = 0;
        let mut next = || {
            seed += 1;
            splitmix64(seed, 2 << 20)
        };
        // First xorb: small buffers, then one jump to the limit.
        while s.stats().xorbs_produced == 0 {
            s.push(&next()).unwrap();
            for q in s.take_queries() {
                s.answer_query(&q, None, 0.0).unwrap();
            }
            assert!(s.open_xorb_reserved_bytes() <= full);
        }
        let x = s.take_xorb().unwrap();
        assert_eq!(x.data.capacity(), full);
        // While that buffer is out, the next xorb grows gradually.
        for _ in 0..3 {
            s.push(&next()).unwrap();
        }
        let before = s.open_xorb_reserved_bytes();
        assert!(before < full, "{before}");
        // Handed back, it is adopted at the next growth.
        s.recycle_xorb_buffer(x.data);
        while s.open_xorb_reserved_bytes() == before {
            s.push(&next()).unwrap();
        }
        assert_eq!(s.stats().xorbs_produced, 1);
        assert_eq!(s.open_xorb_reserved_bytes(), full);
        s.finish_file().unwrap();
    }
}
