//! The wasm-bindgen surface (feature "wasm"): thin conversions between JS values and the core.
//!
//! Conventions: hashes are Xet hex strings unless a name says "raw"; "packed hashes" are a
//! `Uint8Array` of 32 × n raw bytes; numbers that may exceed 2^32 are `f64`. Every fallible
//! call throws a JS `Error` whose `name` is `"XetCoreError"` and whose `code` property is the
//! stable [`crate::ErrorKind::code`].
//!
//! Parameters are camelCase so that the generated TypeScript declarations read naturally.
#![allow(non_snake_case)]

use crate::error::{CoreError, ErrorKind};
use crate::hash::{self, MerkleHash};
use crate::upload::{self, UploadOptions};
use crate::{hasher, prepare, shard, xorb};
use std::cell::RefCell;
use std::rc::Rc;
use wasm_bindgen::prelude::*;

type JsResult<T> = std::result::Result<T, JsValue>;

fn js_error(e: CoreError) -> JsValue {
    let err = js_sys::Error::new(&e.message);
    err.set_name("XetCoreError");
    // Setting a property on a fresh Error object cannot fail.
    let _ = js_sys::Reflect::set(
        &err,
        &JsValue::from_str("code"),
        &JsValue::from_str(e.code()),
    );
    err.into()
}

fn invalid(msg: String) -> JsValue {
    js_error(CoreError::new(ErrorKind::InvalidArgument, msg))
}

fn parse_hash(hex: &str) -> JsResult<MerkleHash> {
    MerkleHash::from_hex(hex).map_err(js_error)
}

fn unpack_hashes(packed: &[u8]) -> JsResult<Vec<MerkleHash>> {
    if packed.len() % 32 != 0 {
        return Err(invalid(format!(
            "packed hashes must be 32 bytes each, got {} bytes",
            packed.len()
        )));
    }
    Ok(packed
        .chunks_exact(32)
        .map(|c| {
            let mut b = [0u8; 32];
            b.copy_from_slice(c);
            MerkleHash(b)
        })
        .collect())
}

fn pack_hashes(hashes: &[MerkleHash]) -> Vec<u8> {
    let mut out = Vec::with_capacity(hashes.len() * 32);
    for h in hashes {
        out.extend_from_slice(h.as_bytes());
    }
    out
}

fn nodes(hashes: &[u8], lengths: &[u32]) -> JsResult<Vec<(MerkleHash, u64)>> {
    let hs = unpack_hashes(hashes)?;
    if hs.len() != lengths.len() {
        return Err(invalid(format!(
            "{} packed hashes but {} lengths",
            hs.len(),
            lengths.len()
        )));
    }
    Ok(hs
        .into_iter()
        .zip(lengths.iter().map(|&l| l as u64))
        .collect())
}

fn secs(v: f64, name: &str) -> JsResult<u64> {
    if v.is_finite() && v >= 0.0 && v.fract() == 0.0 {
        Ok(v as u64)
    } else {
        Err(invalid(format!(
            "{name} must be a non-negative integer, got {}",
            crate::error::number_text(v)
        )))
    }
}

/// `"xet-core-rs <version>"`.
#[wasm_bindgen(js_name = coreVersion)]
pub fn core_version() -> String {
    format!("xet-core-rs {}", env!("CARGO_PKG_VERSION"))
}

/// Chunk hash of one chunk's bytes.
#[wasm_bindgen(js_name = chunkHash)]
pub fn chunk_hash(data: &[u8]) -> String {
    hash::chunk_hash(data).to_hex()
}

/// Xorb hash (merkle root) of packed chunk hashes and their lengths.
#[wasm_bindgen(js_name = xorbHashFromChunks)]
pub fn xorb_hash_from_chunks(hashes: &[u8], lengths: &[u32]) -> JsResult<String> {
    Ok(hash::xorb_hash(&nodes(hashes, lengths)?).to_hex())
}

/// File hash of packed chunk hashes and their lengths (all zeros for none).
#[wasm_bindgen(js_name = fileHashFromChunks)]
pub fn file_hash_from_chunks(hashes: &[u8], lengths: &[u32]) -> JsResult<String> {
    Ok(hash::file_hash(&nodes(hashes, lengths)?).to_hex())
}

/// Verification hash of a term's packed chunk hashes.
#[wasm_bindgen(js_name = verificationHash)]
pub fn verification_hash(hashes: &[u8]) -> JsResult<String> {
    Ok(hash::verification_hash(&unpack_hashes(hashes)?).to_hex())
}

/// Xet hex → 32 raw bytes (upper case accepted).
#[wasm_bindgen(js_name = hexToRaw)]
pub fn hex_to_raw(hex: &str) -> JsResult<Vec<u8>> {
    Ok(parse_hash(hex)?.as_bytes().to_vec())
}

/// 32 raw bytes → Xet hex.
#[wasm_bindgen(js_name = rawToHex)]
pub fn raw_to_hex(raw: &[u8]) -> JsResult<String> {
    Ok(MerkleHash::from_slice(raw).map_err(js_error)?.to_hex())
}

/// `hash % 1024 == 0` (§3.10).
#[wasm_bindgen(js_name = isGlobalDedupEligible)]
pub fn is_global_dedup_eligible(hex: &str) -> JsResult<bool> {
    Ok(hash::is_global_dedup_eligible(&parse_hash(hex)?))
}

/// Compression code of a segment without records (boundaries and hashes only).
const HASHES_ONLY: u32 = 255;

fn policy_of(compression: u32) -> crate::Result<Option<xorb::CompressionPolicy>> {
    if compression == HASHES_ONLY {
        Ok(None)
    } else {
        xorb::CompressionPolicy::from_code(compression).map(Some)
    }
}

fn segment_spec(start: u32, emit_from: u32, seam: i64, seam_chain: u32) -> prepare::SegmentSpec {
    prepare::SegmentSpec {
        start: start as usize,
        emit_from: emit_from as usize,
        seam: (seam >= 0).then_some(prepare::Seam {
            at: seam as usize,
            chain_start: seam_chain as usize,
        }),
    }
}

/// Prepares one segment of a file (chunk boundaries, hashes, records) in the packed form of
/// `src/prepare.rs`: the chain starts at `start`, chunks are emitted from its first boundary at
/// or after `emitFrom`; `seam` is where the next segment starts (its chain from `seamChain`), or
/// -1 when the data ends the file; compression 0 none, 1 LZ4, 2 BG4, 3 best, 255 no records
/// (boundaries and hashes only).
#[wasm_bindgen(js_name = prepareSegment)]
pub fn prepare_segment(
    data: &[u8],
    start: u32,
    emitFrom: u32,
    seam: f64,
    seamChain: u32,
    compression: u32,
) -> JsResult<Vec<u8>> {
    let policy = policy_of(compression).map_err(js_error)?;
    if !(seam.is_finite() && seam.fract() == 0.0 && seam >= -1.0 && seam <= u32::MAX as f64) {
        return Err(invalid(format!("seam must be -1 or an offset, got {seam}")));
    }
    let spec = segment_spec(start, emitFrom, seam as i64, seamChain);
    xorb::with_compressor(|c| prepare::prepare_segment(data, spec, policy, c))
        .map(prepare::PreparedSegment::into_bytes)
        .map_err(js_error)
}

// ---------------------------------------------------------------------------------------------
// Worker ABI: plain exports for the chunking workers of the TypeScript pool, which instantiate
// this same module without the wasm-bindgen glue (every import stubbed: none is reached from
// here). Memory stays at one input and one output buffer, reused from call to call.
// ---------------------------------------------------------------------------------------------

thread_local! {
    static WORKER_INPUT: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
    static WORKER_OUTPUT: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// A buffer of `len` bytes for the next `xb_prepare` input; returns its address.
#[no_mangle]
pub extern "C" fn xb_input(len: usize) -> *mut u8 {
    WORKER_INPUT.with(|b| {
        let mut b = b.borrow_mut();
        b.clear();
        b.resize(len, 0);
        b.as_mut_ptr()
    })
}

/// Prepares the `len` bytes written at `xb_input` (see `prepareSegment`; `seam` = u32::MAX for
/// none). Returns the address of the packed result, whose length is `32 + 40 n + records`
/// (header words 0 and 3), valid until the next call; 0 on invalid arguments.
#[no_mangle]
pub extern "C" fn xb_prepare(
    len: usize,
    start: u32,
    emit_from: u32,
    seam: u32,
    seam_chain: u32,
    compression: u32,
) -> *const u8 {
    let Ok(policy) = policy_of(compression) else {
        return std::ptr::null();
    };
    let seam = if seam == u32::MAX { -1 } else { seam as i64 };
    let spec = segment_spec(start, emit_from, seam, seam_chain);
    // Free the previous result first: the heap then holds one input and one output.
    WORKER_OUTPUT.with(|o| drop(std::mem::take(&mut *o.borrow_mut())));
    let out = WORKER_INPUT.with(|input| {
        let input = input.borrow();
        let data = &input[..len.min(input.len())];
        xorb::with_compressor(|c| prepare::prepare_segment(data, spec, policy, c))
    });
    match out {
        Ok(seg) => WORKER_OUTPUT.with(|o| {
            let mut o = o.borrow_mut();
            *o = seg.into_bytes();
            o.as_ptr()
        }),
        Err(_) => std::ptr::null(),
    }
}

thread_local! {
    static WORKER_HASHER: RefCell<hasher::XetHasher> = RefCell::new(hasher::XetHasher::new());
    static WORKER_DIGEST: RefCell<[u8; 40]> = const { RefCell::new([0u8; 40]) };
}

/// Starts the Xet file hash of a new file, fed by `xb_hash_update` and ended by `xb_hash_finish`
/// (whole local files hashed on a worker, read block by block into the `xb_input` buffer).
#[no_mangle]
pub extern "C" fn xb_hash_begin() {
    WORKER_HASHER.with(|h| *h.borrow_mut() = hasher::XetHasher::new());
}

/// Feeds the first `len` bytes of the `xb_input` buffer to the file hash.
#[no_mangle]
pub extern "C" fn xb_hash_update(len: usize) {
    WORKER_INPUT.with(|input| {
        let input = input.borrow();
        WORKER_HASHER.with(|h| h.borrow_mut().update(&input[..len.min(input.len())]));
    });
}

/// Ends the file: returns the address of 40 bytes, valid until the next call: the 32 raw bytes of
/// the file hash, then its chunk count (u64 LE).
#[no_mangle]
pub extern "C" fn xb_hash_finish() -> *const u8 {
    let (hash, chunks) =
        WORKER_HASHER.with(|h| std::mem::take(&mut *h.borrow_mut()).finish_counted());
    WORKER_DIGEST.with(|d| {
        let mut d = d.borrow_mut();
        d[..32].copy_from_slice(hash.as_bytes());
        d[32..].copy_from_slice(&chunks.to_le_bytes());
        d.as_ptr()
    })
}

thread_local! {
    static WORKER_ERROR: RefCell<String> = const { RefCell::new(String::new()) };
}

/// Decodes the chunk records written at `xb_input` (`decodeChunkRecords`: every chunk decoded and
/// hashed). Returns the address of the packed result, valid until the next call: u32 LE chunk
/// count n, decoded length d, two zero words, then n chunk lengths, 32·n raw chunk hashes and the
/// d decoded bytes (length `16 + 36 n + d`). 0 on malformed records: `xb_error` tells why.
#[no_mangle]
pub extern "C" fn xb_decode(len: usize) -> *const u8 {
    WORKER_OUTPUT.with(|o| drop(std::mem::take(&mut *o.borrow_mut())));
    let out = WORKER_INPUT.with(|input| {
        let input = input.borrow();
        xorb::decode_chunk_records(&input[..len.min(input.len())])
    });
    match out {
        Ok(d) => WORKER_OUTPUT.with(|o| {
            let n = d.lengths.len();
            let mut b = Vec::with_capacity(16 + 36 * n + d.data.len());
            b.extend_from_slice(&(n as u32).to_le_bytes());
            b.extend_from_slice(&(d.data.len() as u32).to_le_bytes());
            b.extend_from_slice(&[0u8; 8]);
            for l in &d.lengths {
                b.extend_from_slice(&l.to_le_bytes());
            }
            for h in &d.hashes {
                b.extend_from_slice(h.as_bytes());
            }
            b.extend_from_slice(&d.data);
            let mut o = o.borrow_mut();
            *o = b;
            o.as_ptr()
        }),
        Err(e) => {
            WORKER_ERROR.with(|m| *m.borrow_mut() = format!("{}\0{}", e.code(), e.message));
            std::ptr::null()
        }
    }
}

/// The last `xb_decode` error as UTF-8 `CODE\0message`; its length is `xb_error_len()`.
#[no_mangle]
pub extern "C" fn xb_error() -> *const u8 {
    WORKER_ERROR.with(|m| m.borrow().as_ptr())
}

/// Length of the string at `xb_error()`.
#[no_mangle]
pub extern "C" fn xb_error_len() -> usize {
    WORKER_ERROR.with(|m| m.borrow().len())
}

/// Streaming chunker: returns completed chunks packed 36 bytes each (32 raw hash bytes + u32
/// LE length).
#[wasm_bindgen(js_name = Chunker)]
pub struct WasmChunker {
    inner: hasher::ChunkHasher,
}

impl Default for WasmChunker {
    fn default() -> Self {
        Self::new()
    }
}

fn pack_chunk(out: &mut Vec<u8>, h: MerkleHash, len: usize) {
    out.extend_from_slice(h.as_bytes());
    out.extend_from_slice(&(len as u32).to_le_bytes());
}

#[wasm_bindgen(js_class = Chunker)]
impl WasmChunker {
    /// A chunker at the start of a stream.
    #[wasm_bindgen(constructor)]
    pub fn new() -> WasmChunker {
        WasmChunker {
            inner: hasher::ChunkHasher::new(),
        }
    }

    /// Feeds bytes; returns the chunks completed by this call.
    pub fn update(&mut self, data: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        self.inner
            .update(data, |h, len| pack_chunk(&mut out, h, len));
        out
    }

    /// Ends the stream: returns the final chunk, if any, and resets.
    pub fn finish(&mut self) -> Vec<u8> {
        let mut out = Vec::new();
        self.inner.finish(|h, len| pack_chunk(&mut out, h, len));
        out
    }
}

/// Streaming file hash.
#[wasm_bindgen(js_name = XetHasher)]
pub struct WasmXetHasher {
    inner: hasher::XetHasher,
}

impl Default for WasmXetHasher {
    fn default() -> Self {
        Self::new()
    }
}

#[wasm_bindgen(js_class = XetHasher)]
impl WasmXetHasher {
    /// A hasher for a new file.
    #[wasm_bindgen(constructor)]
    pub fn new() -> WasmXetHasher {
        WasmXetHasher {
            inner: hasher::XetHasher::new(),
        }
    }

    /// Feeds the next bytes of the file.
    pub fn update(&mut self, data: &[u8]) {
        self.inner.update(data);
    }

    /// The file hash (all zeros for empty input); resets the hasher.
    pub fn finish(&mut self) -> String {
        self.inner.finish_reset().to_hex()
    }

    /// Bytes fed so far.
    #[wasm_bindgen(getter)]
    pub fn bytes(&self) -> f64 {
        self.inner.bytes() as f64
    }

    /// Chunks completed so far.
    #[wasm_bindgen(getter)]
    pub fn chunks(&self) -> f64 {
        self.inner.chunks() as f64
    }
}

/// The record of a finished file.
#[wasm_bindgen(js_name = FileResult)]
pub struct WasmFileResult {
    inner: upload::FileResult,
}

#[wasm_bindgen(js_class = FileResult)]
impl WasmFileResult {
    /// File hash.
    #[wasm_bindgen(getter)]
    pub fn hash(&self) -> String {
        self.inner.hash.to_hex()
    }
    /// File size.
    #[wasm_bindgen(getter)]
    pub fn size(&self) -> f64 {
        self.inner.size as f64
    }
    /// Number of chunks.
    #[wasm_bindgen(getter, js_name = chunkCount)]
    pub fn chunk_count(&self) -> f64 {
        self.inner.chunk_count as f64
    }
    /// Bytes stored in new xorbs.
    #[wasm_bindgen(getter, js_name = newBytes)]
    pub fn new_bytes(&self) -> f64 {
        self.inner.new_bytes as f64
    }
    /// Bytes found in this session's xorbs.
    #[wasm_bindgen(getter, js_name = dedupLocalBytes)]
    pub fn dedup_local_bytes(&self) -> f64 {
        self.inner.dedup_local_bytes as f64
    }
    /// Bytes found in learned xorbs.
    #[wasm_bindgen(getter, js_name = dedupGlobalBytes)]
    pub fn dedup_global_bytes(&self) -> f64 {
        self.inner.dedup_global_bytes as f64
    }
    /// Plain-hex SHA-256, when asked for.
    #[wasm_bindgen(getter)]
    pub fn sha256(&self) -> Option<String> {
        self.inner.sha256.clone()
    }
}

/// A buffer handed back by a `XorbResult` once its bytes were copied out, for the session's
/// next xorb (keeps WebAssembly memory at about one xorb on long uploads).
type BufferPool = Rc<RefCell<Option<Vec<u8>>>>;

/// A closed xorb.
#[wasm_bindgen(js_name = XorbResult)]
pub struct WasmXorbResult {
    hash: MerkleHash,
    data: Vec<u8>,
    chunk_count: u32,
    raw_bytes: u64,
    serialized_bytes: usize,
    pool: BufferPool,
}

impl Drop for WasmXorbResult {
    fn drop(&mut self) {
        give_back(&self.pool, std::mem::take(&mut self.data));
    }
}

fn give_back(pool: &BufferPool, buf: Vec<u8>) {
    if buf.capacity() == 0 {
        return;
    }
    let mut slot = pool.borrow_mut();
    if slot.as_ref().is_none_or(|b| b.capacity() < buf.capacity()) {
        *slot = Some(buf);
    }
}

#[wasm_bindgen(js_class = XorbResult)]
impl WasmXorbResult {
    /// Xorb hash.
    #[wasm_bindgen(getter)]
    pub fn hash(&self) -> String {
        self.hash.to_hex()
    }
    /// Number of chunks.
    #[wasm_bindgen(getter, js_name = chunkCount)]
    pub fn chunk_count(&self) -> u32 {
        self.chunk_count
    }
    /// Sum of chunk lengths.
    #[wasm_bindgen(getter, js_name = rawBytes)]
    pub fn raw_bytes(&self) -> f64 {
        self.raw_bytes as f64
    }
    /// Serialized length (the upload body's length).
    #[wasm_bindgen(getter, js_name = serializedBytes)]
    pub fn serialized_bytes(&self) -> f64 {
        self.serialized_bytes as f64
    }
    /// Moves the upload body out (copied into a JS-owned array; the WebAssembly buffer is
    /// kept for the session's next xorb); a second call returns an empty array.
    #[wasm_bindgen(js_name = takeData)]
    pub fn take_data(&mut self) -> js_sys::Uint8Array {
        let out = js_sys::Uint8Array::from(self.data.as_slice());
        give_back(&self.pool, std::mem::take(&mut self.data));
        out
    }
}

/// Session counters.
#[wasm_bindgen(js_name = SessionStats)]
pub struct WasmSessionStats {
    inner: upload::SessionStats,
}

#[wasm_bindgen(js_class = SessionStats)]
impl WasmSessionStats {
    /// File bytes received.
    #[wasm_bindgen(getter, js_name = bytesProcessed)]
    pub fn bytes_processed(&self) -> f64 {
        self.inner.bytes_processed as f64
    }
    /// Chunks resolved.
    #[wasm_bindgen(getter)]
    pub fn chunks(&self) -> f64 {
        self.inner.chunks as f64
    }
    /// Bytes stored in new xorbs.
    #[wasm_bindgen(getter, js_name = newBytes)]
    pub fn new_bytes(&self) -> f64 {
        self.inner.new_bytes as f64
    }
    /// Bytes deduplicated within the session.
    #[wasm_bindgen(getter, js_name = dedupLocalBytes)]
    pub fn dedup_local_bytes(&self) -> f64 {
        self.inner.dedup_local_bytes as f64
    }
    /// Bytes deduplicated against learned xorbs.
    #[wasm_bindgen(getter, js_name = dedupGlobalBytes)]
    pub fn dedup_global_bytes(&self) -> f64 {
        self.inner.dedup_global_bytes as f64
    }
    /// Xorbs closed.
    #[wasm_bindgen(getter, js_name = xorbsProduced)]
    pub fn xorbs_produced(&self) -> f64 {
        self.inner.xorbs_produced as f64
    }
    /// Serialized bytes of the closed xorbs.
    #[wasm_bindgen(getter, js_name = xorbBytesSerialized)]
    pub fn xorb_bytes_serialized(&self) -> f64 {
        self.inner.xorb_bytes_serialized as f64
    }
    /// Queries issued.
    #[wasm_bindgen(getter, js_name = queriesIssued)]
    pub fn queries_issued(&self) -> f64 {
        self.inner.queries_issued as f64
    }
}

/// The sans-IO upload session (see `src/upload.rs`).
#[wasm_bindgen(js_name = UploadSession)]
pub struct WasmUploadSession {
    inner: upload::UploadSession,
    pool: BufferPool,
}

impl WasmUploadSession {
    /// Passes a buffer handed back by a `XorbResult` to the session.
    fn reuse_buffer(&mut self) {
        if let Some(b) = self.pool.borrow_mut().take() {
            self.inner.recycle_xorb_buffer(b);
        }
    }
}

#[wasm_bindgen(js_class = UploadSession)]
impl WasmUploadSession {
    /// Limits in bytes / chunks (0 = default: 64 MiB, 8192, 64 MiB); compression 0 none,
    /// 1 LZ4, 2 BG4, 3 best.
    #[wasm_bindgen(constructor)]
    pub fn new(
        maxXorbBytes: f64,
        maxXorbChunks: f64,
        maxShardBytes: f64,
        compression: u32,
    ) -> JsResult<WasmUploadSession> {
        let opts =
            UploadOptions::from_numbers(maxXorbBytes, maxXorbChunks, maxShardBytes, compression)
                .map_err(js_error)?;
        Ok(WasmUploadSession {
            inner: upload::UploadSession::new(opts).map_err(js_error)?,
            pool: BufferPool::default(),
        })
    }

    /// Opens a file.
    #[wasm_bindgen(js_name = startFile)]
    pub fn start_file(&mut self, withSha256: bool) -> JsResult<()> {
        self.inner.start_file(withSha256).map_err(js_error)
    }

    /// Feeds file bytes.
    pub fn push(&mut self, data: &[u8]) -> JsResult<()> {
        self.reuse_buffer();
        self.inner.push(data).map_err(js_error)
    }

    /// Feeds chunks prepared elsewhere (see `prepareSegment`), in file order, whose records the
    /// caller keeps: packed raw hashes, chunk lengths, record lengths. Where each resolved chunk
    /// went is then read with `takePlacements`; the caller assembles the xorb bodies.
    #[wasm_bindgen(js_name = pushChunks)]
    pub fn push_chunks(
        &mut self,
        hashes: &[u8],
        lengths: &[u32],
        recordLengths: &[u32],
    ) -> JsResult<()> {
        let hs = unpack_hashes(hashes)?;
        if hs.len() != lengths.len() || hs.len() != recordLengths.len() {
            return Err(invalid(format!(
                "{} packed hashes, {} lengths and {} record lengths",
                hs.len(),
                lengths.len(),
                recordLengths.len()
            )));
        }
        let chunks = hs
            .into_iter()
            .zip(lengths.iter().zip(recordLengths))
            .map(|(h, (&l, &r))| upload::PreparedChunk::external(h, l, r))
            .collect();
        self.inner.push_chunks(chunks).map_err(js_error)
    }

    /// Where each chunk resolved since the previous call went, in file order: the session xorb
    /// id (0, 1, … in `takeXorb` order) of a new chunk, or 0xFFFFFFFF for a deduplicated one.
    #[wasm_bindgen(js_name = takePlacements)]
    pub fn take_placements(&mut self) -> Vec<u32> {
        self.inner.take_placements()
    }

    /// Ends the file's input (cuts the last chunk, which may issue a query); optional before
    /// `finishFile`.
    #[wasm_bindgen(js_name = endInput)]
    pub fn end_input(&mut self) -> JsResult<()> {
        self.reuse_buffer();
        self.inner.end_input().map_err(js_error)
    }

    /// New global-dedup queries (chunk hashes) since the previous call.
    #[wasm_bindgen(js_name = takeQueries)]
    pub fn take_queries(&mut self) -> Vec<String> {
        self.inner
            .take_queries()
            .iter()
            .map(MerkleHash::to_hex)
            .collect()
    }

    /// Answers a query with the dedup shard, or `undefined` for "unknown"; returns the number
    /// of xorbs learned.
    #[wasm_bindgen(js_name = answerQuery)]
    pub fn answer_query(
        &mut self,
        chunkHash: &str,
        shard: Option<Vec<u8>>,
        nowUnixSecs: f64,
    ) -> JsResult<u32> {
        let h = parse_hash(chunkHash)?;
        self.reuse_buffer();
        self.inner
            .answer_query(&h, shard.as_deref(), nowUnixSecs)
            .map_err(js_error)
    }

    /// Resolves what can be resolved now.
    pub fn resolve(&mut self) {
        self.reuse_buffer();
        self.inner.resolve();
    }

    /// Raw bytes held for the open file.
    #[wasm_bindgen(getter, js_name = pendingBytes)]
    pub fn pending_bytes(&self) -> f64 {
        self.inner.pending_bytes() as f64
    }

    /// Queries not answered yet.
    #[wasm_bindgen(getter, js_name = outstandingQueries)]
    pub fn outstanding_queries(&self) -> u32 {
        self.inner.outstanding_queries() as u32
    }

    /// Finishes the open file.
    #[wasm_bindgen(js_name = finishFile)]
    pub fn finish_file(&mut self) -> JsResult<WasmFileResult> {
        self.reuse_buffer();
        Ok(WasmFileResult {
            inner: self.inner.finish_file().map_err(js_error)?,
        })
    }

    /// The next closed xorb, or `undefined`.
    #[wasm_bindgen(js_name = takeXorb)]
    pub fn take_xorb(&mut self) -> Option<WasmXorbResult> {
        let pool = self.pool.clone();
        self.inner.take_xorb().map(|x| WasmXorbResult {
            hash: x.hash,
            chunk_count: x.chunk_count,
            raw_bytes: x.raw_bytes,
            serialized_bytes: x.serialized_bytes as usize,
            data: x.data,
            pool,
        })
    }

    /// Closes the open xorb if it holds chunks.
    #[wasm_bindgen(js_name = flushXorb)]
    pub fn flush_xorb(&mut self) {
        self.inner.flush_xorb();
    }

    /// The next upload shard, or `undefined` when all were taken.
    #[wasm_bindgen(js_name = takeShard)]
    pub fn take_shard(&mut self) -> JsResult<Option<Vec<u8>>> {
        self.inner.take_shard().map_err(js_error)
    }

    /// Counters.
    pub fn stats(&self) -> WasmSessionStats {
        WasmSessionStats {
            inner: self.inner.stats(),
        }
    }
}

/// Decoded chunk records.
#[wasm_bindgen(js_name = DecodedChunks)]
pub struct WasmDecodedChunks {
    inner: xorb::DecodedChunks,
}

#[wasm_bindgen(js_class = DecodedChunks)]
impl WasmDecodedChunks {
    /// Number of chunks.
    #[wasm_bindgen(getter)]
    pub fn count(&self) -> u32 {
        self.inner.lengths.len() as u32
    }
    /// Moves the decoded bytes out; a second call returns an empty array.
    #[wasm_bindgen(js_name = takeData)]
    pub fn take_data(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.inner.data)
    }
    /// Chunk lengths.
    pub fn lengths(&self) -> Vec<u32> {
        self.inner.lengths.clone()
    }
    /// Packed raw chunk hashes.
    pub fn hashes(&self) -> Vec<u8> {
        pack_hashes(&self.inner.hashes)
    }
    /// Start of each record, then the input length.
    #[wasm_bindgen(js_name = recordOffsets)]
    pub fn record_offsets(&self) -> Vec<u32> {
        self.inner.record_offsets.clone()
    }
}

/// Decodes a run of chunk records (a fetched xorb range).
#[wasm_bindgen(js_name = decodeChunkRecords)]
pub fn decode_chunk_records(bytes: &[u8]) -> JsResult<WasmDecodedChunks> {
    Ok(WasmDecodedChunks {
        inner: xorb::decode_chunk_records(bytes).map_err(js_error)?,
    })
}

/// Streaming file hash over (hash, length) pairs.
#[wasm_bindgen(js_name = FileHashBuilder)]
pub struct WasmFileHashBuilder {
    inner: hash::FileHashBuilder,
}

impl Default for WasmFileHashBuilder {
    fn default() -> Self {
        Self::new()
    }
}

#[wasm_bindgen(js_class = FileHashBuilder)]
impl WasmFileHashBuilder {
    /// An empty builder.
    #[wasm_bindgen(constructor)]
    pub fn new() -> WasmFileHashBuilder {
        WasmFileHashBuilder {
            inner: hash::FileHashBuilder::new(),
        }
    }

    /// Adds chunks in file order.
    #[wasm_bindgen(js_name = addChunks)]
    pub fn add_chunks(&mut self, hashes: &[u8], lengths: &[u32]) -> JsResult<()> {
        for (h, l) in nodes(hashes, lengths)? {
            self.inner.add_chunk(h, l);
        }
        Ok(())
    }

    /// The file hash; resets the builder.
    pub fn finish(&mut self) -> String {
        std::mem::take(&mut self.inner).finish().to_hex()
    }
}

/// What `parseXorb` learned.
#[wasm_bindgen(js_name = XorbInfo)]
pub struct WasmXorbInfo {
    inner: xorb::XorbInfo,
}

#[wasm_bindgen(js_class = XorbInfo)]
impl WasmXorbInfo {
    /// Xorb hash.
    #[wasm_bindgen(getter)]
    pub fn hash(&self) -> String {
        self.inner.hash.to_hex()
    }
    /// Number of chunks.
    #[wasm_bindgen(getter)]
    pub fn count(&self) -> u32 {
        self.inner.lengths.len() as u32
    }
    /// Sum of chunk lengths.
    #[wasm_bindgen(getter, js_name = rawBytes)]
    pub fn raw_bytes(&self) -> f64 {
        self.inner.raw_bytes as f64
    }
    /// Packed raw chunk hashes.
    pub fn hashes(&self) -> Vec<u8> {
        pack_hashes(&self.inner.hashes)
    }
    /// Chunk lengths.
    pub fn lengths(&self) -> Vec<u32> {
        self.inner.lengths.clone()
    }
    /// Start of each record, then the body length (n + 1 entries).
    #[wasm_bindgen(js_name = recordOffsets)]
    pub fn record_offsets(&self) -> Vec<u32> {
        self.inner.record_offsets.clone()
    }
}

/// Validates an uploaded xorb body against its expected hash and the protocol limits.
#[wasm_bindgen(js_name = parseXorb)]
pub fn parse_xorb(bytes: &[u8], expectedHash: &str) -> JsResult<WasmXorbInfo> {
    let expected = parse_hash(expectedHash)?;
    Ok(WasmXorbInfo {
        inner: xorb::parse_xorb(bytes, &expected).map_err(js_error)?,
    })
}

/// Parses a shard into JSON text (shape documented in `src/shard_json.rs`).
#[wasm_bindgen(js_name = parseShard)]
pub fn parse_shard(bytes: &[u8]) -> JsResult<String> {
    let s = shard::parse_shard(bytes).map_err(js_error)?;
    Ok(crate::shard_json::to_json(&s))
}

/// Builder of global-dedup answer shards.
#[wasm_bindgen(js_name = DedupShardBuilder)]
pub struct WasmDedupShardBuilder {
    inner: shard::DedupShardBuilder,
}

impl Default for WasmDedupShardBuilder {
    fn default() -> Self {
        Self::new()
    }
}

#[wasm_bindgen(js_class = DedupShardBuilder)]
impl WasmDedupShardBuilder {
    /// An empty builder.
    #[wasm_bindgen(constructor)]
    pub fn new() -> WasmDedupShardBuilder {
        WasmDedupShardBuilder {
            inner: shard::DedupShardBuilder::new(),
        }
    }

    /// Adds a xorb: its hash, packed plain chunk hashes, chunk lengths, serialized length.
    #[wasm_bindgen(js_name = addXorb)]
    pub fn add_xorb(
        &mut self,
        hash: &str,
        chunkHashes: &[u8],
        chunkLengths: &[u32],
        bytesOnDisk: f64,
    ) -> JsResult<()> {
        let h = parse_hash(hash)?;
        let hs = unpack_hashes(chunkHashes)?;
        let disk = secs(bytesOnDisk, "bytesOnDisk")?;
        if disk > u32::MAX as u64 {
            return Err(invalid(format!(
                "bytesOnDisk {disk} does not fit in 32 bits"
            )));
        }
        self.inner
            .add_xorb(h, &hs, chunkLengths, disk as u32)
            .map_err(js_error)
    }

    /// The shard bytes; `hmacKey` (32 raw bytes) keys the chunk hashes when given.
    pub fn finish(
        &self,
        hmacKey: Option<Vec<u8>>,
        createdAtSecs: f64,
        expirySecs: f64,
    ) -> JsResult<Vec<u8>> {
        let key = match hmacKey {
            None => None,
            Some(k) => Some(
                <[u8; 32]>::try_from(k.as_slice())
                    .map_err(|_| invalid(format!("hmacKey must be 32 bytes, got {}", k.len())))?,
            ),
        };
        self.inner
            .finish(
                key,
                secs(createdAtSecs, "createdAtSecs")?,
                secs(expirySecs, "expirySecs")?,
            )
            .map_err(js_error)
    }
}
