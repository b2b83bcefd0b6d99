//! The wasm-bindgen surface (feature "wasm"): every JS concern of the crate lives here. JS
//! numbers are validated and converted here, records cross as plain JS objects (serde through
//! serde-wasm-bindgen, bulk data as typed arrays), and the protocol constants are exported
//! for TypeScript to read at import time.
//!
//! Conventions: hashes are Xet hex strings unless a name says "raw"; "packed hashes" are a
//! `Uint8Array` of 32 × n raw bytes; numbers that may exceed 2^32 are `f64`. Every fallible
//! call throws a JS `Error` whose `name` is `"XetCoreError"` and whose `code` property is the
//! stable [`crate::ErrorKind::code`].
//!
//! Each record below is declared once: its TypeScript interface is generated from the struct
//! (tsify), doc comments included, into the glue's `.d.ts`. Records are built once per call, never
//! per chunk: bulk fields (chunk lengths, hashes, data) are whole typed arrays.
//!
//! Parameters are camelCase so that the generated TypeScript declarations read naturally.
#![allow(non_snake_case)]

use crate::error::{CoreError, ErrorKind};
use crate::hash::{self, to_plain_hex, MerkleHash};
use crate::upload::{self, UploadOptions};
use crate::xorb::CompressionPolicy;
use crate::{hasher, prepare, shard, xorb};
use serde::{Serialize, Serializer};
use std::cell::RefCell;
use tsify::{Ts, Tsify};
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

/// A record as a plain JS object. Serializing these records cannot fail (numbers are `f64`,
/// bulk data typed arrays); an error would still reach JS as an exception, never a panic.
fn to_js<T: Tsify + Serialize>(record: &T) -> JsResult<Ts<T>> {
    match record.into_js() {
        Ok(js) => Ok(Ts::new_unchecked(js.unchecked_into())),
        Err(e) => Err(e.into()),
    }
}

// ---------------------------------------------------------------------------------------------
// JS numbers
// ---------------------------------------------------------------------------------------------

/// Text of a JS number for messages, without pulling float formatting into the WASM build.
fn number_text(v: f64) -> String {
    if v.is_nan() {
        "NaN".to_string()
    } else if v.is_infinite() {
        if v > 0.0 { "Infinity" } else { "-Infinity" }.to_string()
    } else if v.fract() == 0.0 && v.abs() < 1e18 {
        (v as i64).to_string()
    } else if v.abs() < 1e18 {
        format!("{}.… (not an integer)", v.trunc() as i64)
    } else {
        "a number of magnitude ≥ 1e18".to_string()
    }
}

/// A non-negative integer JS number no larger than `max` (exact in a double), else
/// `INVALID_ARGUMENT` naming `name`.
fn whole(v: f64, name: &str, max: f64) -> JsResult<u64> {
    if v.is_finite() && v >= 0.0 && v.fract() == 0.0 && v <= max {
        Ok(v as u64)
    } else {
        Err(invalid(format!(
            "{name} must be a non-negative integer, got {}",
            number_text(v)
        )))
    }
}

fn secs(v: f64, name: &str) -> JsResult<u64> {
    whole(v, name, f64::MAX)
}

/// The compression codes of `UploadSession`, `prepareSegment` and the worker ABI: 0 none, 1
/// LZ4, 2 BG4, 3 best, 4 auto ([`Compression`]).
fn compression_policy(code: u32) -> crate::Result<CompressionPolicy> {
    match code {
        0 => Ok(CompressionPolicy::None),
        1 => Ok(CompressionPolicy::Lz4),
        2 => Ok(CompressionPolicy::Bg4),
        3 => Ok(CompressionPolicy::Best),
        4 => Ok(CompressionPolicy::Auto),
        _ => Err(CoreError::new(
            ErrorKind::InvalidArgument,
            format!(
                "compression must be 0 (none), 1 (LZ4), 2 (BG4), 3 (best) or 4 (auto), got {code}"
            ),
        )),
    }
}

/// Upload options from the `UploadSession` constructor's numbers; 0 means "default" for each
/// limit (not for the block size and probe modulus, where 0 has a meaning). The ranges are
/// checked by the session.
fn upload_options(
    max_xorb_bytes: f64,
    max_xorb_chunks: f64,
    max_shard_bytes: f64,
    compression: u32,
    block_bytes: f64,
    probe_modulus: u32,
) -> JsResult<UploadOptions> {
    let d = UploadOptions::default();
    let or = |v: u64, dflt: u64| if v == 0 { dflt } else { v };
    Ok(UploadOptions {
        max_xorb_bytes: or(
            whole(max_xorb_bytes, "maxXorbBytes", 9.0e15)?,
            d.max_xorb_bytes,
        ),
        max_xorb_chunks: or(
            whole(max_xorb_chunks, "maxXorbChunks", 9.0e15)?,
            d.max_xorb_chunks as u64,
        ) as usize,
        max_shard_bytes: or(
            whole(max_shard_bytes, "maxShardBytes", 9.0e15)?,
            d.max_shard_bytes,
        ),
        compression: compression_policy(compression).map_err(js_error)?,
        write_bytes_on_disk: true,
        block_bytes: whole(block_bytes, "blockBytes", 9.0e15)?,
        probe_modulus: probe_modulus as u64,
    })
}

// ---------------------------------------------------------------------------------------------
// Protocol constants. wasm-bindgen emits a C-style enum as a frozen object in the JS glue, which
// exists as soon as the glue is imported (before the module is initialised), so TypeScript can
// use these at import time (defaults, limits). Discriminants must be literals: each is checked
// against the core's constant below, so Rust stays the one source of truth.
// ---------------------------------------------------------------------------------------------

/// Chunk sizes of the content-defined chunker (xet-protocol.md §2).
#[wasm_bindgen]
pub enum ChunkSize {
    /// Smallest chunk (except the last of a file).
    Min = 8192,
    /// Target (average) chunk size.
    Target = 65536,
    /// Largest chunk.
    Max = 131072,
}

/// Limits of one xorb (§4.5).
#[wasm_bindgen]
pub enum XorbLimit {
    /// Most chunks per xorb.
    MaxChunks = 8192,
    /// Largest xorb: its chunk data (the body exceeds it by the 8-byte headers of chunks
    /// stored raw, as hf_xet's do).
    MaxBytes = 67108864,
}

/// Defaults of `UploadSession`.
#[wasm_bindgen]
pub enum UploadDefault {
    /// File bytes per ingestion block (chunks of a block wait for the block's dedup answers).
    BlockBytes = 8388608,
}

/// Limits of one shard (§5.7).
#[wasm_bindgen]
pub enum ShardLimit {
    /// Largest upload shard.
    MaxBytes = 67108864,
}

/// Hash sizes (§3.2).
#[wasm_bindgen]
pub enum HashSize {
    /// Bytes of a raw hash.
    Bytes = 32,
    /// Digits of a Xet hex hash.
    HexDigits = 64,
}

/// `UploadSession.takePlacements` values.
#[wasm_bindgen]
#[repr(u32)]
pub enum Placement {
    /// A deduplicated chunk (any other value is the id of the xorb a new chunk went into).
    Dedup = 4294967295,
}

/// Compression codes of `UploadSession`, `prepareSegment` and the worker ABI.
#[wasm_bindgen]
pub enum Compression {
    /// Every chunk stored raw.
    None = 0,
    /// LZ4 frame.
    Lz4 = 1,
    /// Byte grouping (4 lanes) then LZ4 frame.
    Bg4 = 2,
    /// The smallest of LZ4 and BG4 (raw when neither helps).
    Best = 3,
    /// LZ4, and BG4 too where the bytes look grouped by position; the smallest (the default).
    Auto = 4,
    /// `prepareSegment` only: boundaries and hashes, no records.
    HashesOnly = 255,
}

const _: () = {
    use crate::chunking::{MAX_CHUNK, MIN_CHUNK, TARGET_CHUNK};
    assert!(ChunkSize::Min as usize == MIN_CHUNK);
    assert!(ChunkSize::Target as usize == TARGET_CHUNK);
    assert!(ChunkSize::Max as usize == MAX_CHUNK);
    assert!(XorbLimit::MaxChunks as usize == xorb::MAX_XORB_CHUNKS);
    assert!(XorbLimit::MaxBytes as u64 == xorb::MAX_XORB_BYTES);
    assert!(ShardLimit::MaxBytes as u64 == shard::MAX_SHARD_BYTES);
    assert!(HashSize::Bytes as usize == std::mem::size_of::<MerkleHash>());
    assert!(HashSize::HexDigits as usize == 2 * std::mem::size_of::<MerkleHash>());
    assert!(Placement::Dedup as u32 == upload::PLACED_DEDUP);
    assert!(UploadDefault::BlockBytes as u64 == upload::DEFAULT_BLOCK_BYTES);
    assert!(Compression::HashesOnly as u32 == HASHES_ONLY);
};

// ---------------------------------------------------------------------------------------------
// Serialization helpers of the records' bulk fields
// ---------------------------------------------------------------------------------------------

/// Bytes as a `Uint8Array` (copied out of WebAssembly memory).
fn bytes<S: Serializer>(v: &[u8], s: S) -> std::result::Result<S::Ok, S::Error> {
    s.serialize_bytes(v)
}

/// Numbers as a `Uint32Array` (one copy).
fn u32_array<S: Serializer>(v: &[u32], s: S) -> std::result::Result<S::Ok, S::Error> {
    serde_wasm_bindgen::preserve::serialize(&js_sys::Uint32Array::from(v), s)
}

/// Hashes packed as a `Uint8Array` of 32 × n raw bytes.
fn packed<S: Serializer>(v: &[MerkleHash], s: S) -> std::result::Result<S::Ok, S::Error> {
    s.serialize_bytes(&pack_hashes(v))
}

/// A hash as Xet hex.
fn hex<S: Serializer>(v: &MerkleHash, s: S) -> std::result::Result<S::Ok, S::Error> {
    s.serialize_str(&v.to_hex())
}

fn parse_hash(hex: &str) -> JsResult<MerkleHash> {
    MerkleHash::from_hex(hex).map_err(js_error)
}

/// A SHA-256 digest from plain hex (64 digits, as usually printed).
fn parse_sha256(hex: &str) -> JsResult<[u8; 32]> {
    let b = hex.as_bytes();
    if b.len() != 64 {
        return Err(invalid(format!(
            "a SHA-256 is 64 hexadecimal digits, got {} characters",
            hex.chars().count()
        )));
    }
    let mut out = [0u8; 32];
    for (i, pair) in b.chunks_exact(2).enumerate() {
        let digit = |c: u8| (c as char).to_digit(16);
        match (digit(pair[0]), digit(pair[1])) {
            (Some(h), Some(l)) => out[i] = (h * 16 + l) as u8,
            _ => return Err(invalid("a SHA-256 is 64 hexadecimal digits".to_string())),
        }
    }
    Ok(out)
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

// ---------------------------------------------------------------------------------------------
// Stateless functions
// ---------------------------------------------------------------------------------------------

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
/// Flag of `xb_prepare`'s `compression`: records of chunks stored raw are their header alone
/// (`prepare::RecordPayloads::HeaderOnlyIfRaw`; packed flag 1).
const HEADER_ONLY_IF_RAW: u32 = 0x100;

fn policy_of(compression: u32) -> crate::Result<Option<CompressionPolicy>> {
    if compression == HASHES_ONLY {
        Ok(None)
    } else {
        compression_policy(compression).map(Some)
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
        return Err(invalid(format!(
            "seam must be -1 or an offset, got {}",
            number_text(seam)
        )));
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
    static WORKER_INPUT: RefCell<InputBuffer> = const { RefCell::new(InputBuffer::new()) };
    static WORKER_OUTPUT: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// The input buffer, starting on a 4 KiB boundary. Local files are read straight into it, and the
/// kernel copies from the page cache fastest to a page-aligned destination: on the development
/// machine (AMD EPYC), 1 MiB reads into WebAssembly memory at 8 bytes past a page boundary (where
/// the allocator happened to put this buffer) took 80 ms per 256 MiB, 30 ms at 16 bytes past, 12 ms
/// page-aligned or at most offsets past 32 (the CPU's fast string copy slows down when destination
/// and source are a few bytes apart modulo the page size).
struct InputBuffer {
    buf: Vec<u8>,
    /// Offset of the aligned start in `buf`.
    start: usize,
}

impl InputBuffer {
    const ALIGN: usize = 4096;

    const fn new() -> Self {
        InputBuffer {
            buf: Vec::new(),
            start: 0,
        }
    }

    /// The start of at least `len` bytes. Only growth is zeroed, and it does not keep the old bytes:
    /// the caller overwrites the `len` bytes it asked for (zeroing a multi-MiB input before every
    /// task costs as much as a copy of it).
    fn reserve(&mut self, len: usize) -> *mut u8 {
        if self.buf.len() - self.start < len {
            // The old buffer goes first: the heap then holds one input.
            self.buf = Vec::new();
            self.buf.resize(len + Self::ALIGN - 1, 0);
            let at = self.buf.as_ptr() as usize;
            self.start = at.next_multiple_of(Self::ALIGN) - at;
        }
        self.buf[self.start..].as_mut_ptr()
    }

    /// The first `len` bytes (fewer if the buffer is shorter).
    fn bytes(&self, len: usize) -> &[u8] {
        let all = &self.buf[self.start..];
        &all[..len.min(all.len())]
    }
}

/// A buffer of `len` bytes for the next input (`xb_prepare`, `xb_decode_views`, `xb_hash_update`,
/// `XetHasher.updateInput`), filled in place by the caller; returns its address. One buffer per
/// instance, valid until the next call.
#[no_mangle]
pub extern "C" fn xb_input(len: usize) -> *mut u8 {
    WORKER_INPUT.with(|b| b.borrow_mut().reserve(len))
}

/// Prepares the `len` bytes written at `xb_input` (see `prepareSegment`; `seam` = u32::MAX for
/// none; `compression` may carry [`HEADER_ONLY_IF_RAW`]). Returns the address of the packed
/// result, whose length is `32 + 40 n + records` (header words 0 and 3), valid until the next
/// call; 0 on invalid arguments.
#[no_mangle]
pub extern "C" fn xb_prepare(
    len: usize,
    start: u32,
    emit_from: u32,
    seam: u32,
    seam_chain: u32,
    compression: u32,
) -> *const u8 {
    let payloads = if compression & HEADER_ONLY_IF_RAW != 0 {
        prepare::RecordPayloads::HeaderOnlyIfRaw
    } else {
        prepare::RecordPayloads::Full
    };
    let Ok(policy) = policy_of(compression & !HEADER_ONLY_IF_RAW) else {
        return std::ptr::null();
    };
    let seam = if seam == u32::MAX { -1 } else { seam as i64 };
    let spec = segment_spec(start, emit_from, seam, seam_chain);
    // Free the previous result first: the heap then holds one input and one output.
    WORKER_OUTPUT.with(|o| drop(std::mem::take(&mut *o.borrow_mut())));
    let out = WORKER_INPUT.with(|input| {
        let input = input.borrow();
        let data = input.bytes(len);
        xorb::with_compressor(|c| prepare::prepare_segment_with(data, spec, policy, payloads, c))
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
        WORKER_HASHER.with(|h| h.borrow_mut().update(input.bytes(len)));
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
    static WORKER_DECODED: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
    static WORKER_PLACES: RefCell<Vec<xorb::ChunkPlace>> = const { RefCell::new(Vec::new()) };
    static WORKER_HASHES: RefCell<Vec<MerkleHash>> = const { RefCell::new(Vec::new()) };
}

/// Decodes the chunk records written at `xb_input` (every chunk decoded and hashed, as
/// `decodeChunkRecords` does), without copying the chunks stored raw (`decode_chunk_views`).
/// Returns the address of: u32 LE chunk count n, decoded length d, two zero words, then n pairs
/// (address, length) of u32 saying where each chunk's bytes are in this memory (in the input, or
/// in a buffer of decompressed chunks), then 32·n raw chunk hashes (length `16 + 40 n`). Valid
/// until the next call or input. 0 on malformed records: `xb_error` tells why.
#[no_mangle]
pub extern "C" fn xb_decode_views(len: usize) -> *const u8 {
    WORKER_OUTPUT.with(|o| drop(std::mem::take(&mut *o.borrow_mut())));
    WORKER_INPUT.with(|input| {
        WORKER_DECODED.with(|decoded| {
            WORKER_PLACES.with(|places| {
                WORKER_HASHES.with(|hashes| {
                    let input = input.borrow();
                    let bytes = input.bytes(len);
                    let (mut decoded, mut places, mut hashes) = (
                        decoded.borrow_mut(),
                        places.borrow_mut(),
                        hashes.borrow_mut(),
                    );
                    if let Err(e) =
                        xorb::decode_chunk_views(bytes, &mut decoded, &mut places, &mut hashes)
                    {
                        WORKER_ERROR
                            .with(|m| *m.borrow_mut() = format!("{}\0{}", e.code(), e.message));
                        return std::ptr::null();
                    }
                    let n = places.len();
                    let (input_at, decoded_at) =
                        (bytes.as_ptr() as usize, decoded.as_ptr() as usize);
                    let mut total: u32 = 0;
                    let mut b = Vec::with_capacity(16 + 40 * n);
                    b.extend_from_slice(&(n as u32).to_le_bytes());
                    b.extend_from_slice(&[0u8; 12]);
                    for p in places.iter() {
                        let (addr, len) = match *p {
                            xorb::ChunkPlace::Input { start, len } => {
                                (input_at + start as usize, len)
                            }
                            xorb::ChunkPlace::Decoded { start, len } => {
                                (decoded_at + start as usize, len)
                            }
                        };
                        total += len;
                        b.extend_from_slice(&(addr as u32).to_le_bytes());
                        b.extend_from_slice(&len.to_le_bytes());
                    }
                    for h in hashes.iter() {
                        b.extend_from_slice(h.as_bytes());
                    }
                    b[4..8].copy_from_slice(&total.to_le_bytes());
                    WORKER_OUTPUT.with(|o| {
                        let mut o = o.borrow_mut();
                        *o = b;
                        o.as_ptr()
                    })
                })
            })
        })
    })
}

/// The last `xb_decode_views` error as UTF-8 `CODE\0message`; its length is `xb_error_len()`.
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

    /// Feeds the first `len` bytes of the core's input buffer (`xb_input`), which the caller filled
    /// in place: no copy of the bytes across the boundary.
    #[wasm_bindgen(js_name = updateInput)]
    pub fn update_input(&mut self, len: usize) {
        WORKER_INPUT.with(|input| {
            let input = input.borrow();
            self.inner.update(input.bytes(len));
        });
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

// ---------------------------------------------------------------------------------------------
// Upload
// ---------------------------------------------------------------------------------------------

/// The record of a finished file.
#[derive(Serialize, Tsify)]
#[serde(rename_all = "camelCase")]
pub struct FileResult {
    /// File hash (file id): Xet hex, 64 zeros for an empty file.
    #[serde(serialize_with = "hex")]
    #[tsify(type = "string")]
    pub hash: MerkleHash,
    /// File size in bytes.
    pub size: f64,
    /// Number of chunks.
    pub chunk_count: f64,
    /// Bytes stored in new xorbs.
    pub new_bytes: f64,
    /// Bytes found in this session's xorbs.
    pub dedup_local_bytes: f64,
    /// Bytes found in xorbs learned from dedup answers.
    pub dedup_global_bytes: f64,
    /// Plain-hex SHA-256 of the file, when `startFile(true)` asked for it.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[tsify(optional)]
    pub sha256: Option<String>,
}

/// A closed xorb, ready to upload.
#[derive(Serialize, Tsify)]
#[serde(rename_all = "camelCase")]
pub struct XorbResult {
    /// Xorb hash (the upload path).
    #[serde(serialize_with = "hex")]
    #[tsify(type = "string")]
    pub hash: MerkleHash,
    /// Number of chunks.
    pub chunk_count: u32,
    /// Sum of the chunk lengths.
    pub raw_bytes: f64,
    /// Length of the upload body.
    pub serialized_bytes: f64,
    /// The upload body (chunk records, no footer), copied out of WebAssembly memory; empty when
    /// the caller keeps the records (`pushChunks`).
    #[serde(serialize_with = "bytes")]
    #[tsify(type = "Uint8Array")]
    pub data: Vec<u8>,
}

/// Session counters.
#[derive(Serialize, Tsify)]
#[serde(rename_all = "camelCase")]
pub struct SessionStats {
    /// File bytes received.
    pub bytes_processed: f64,
    /// Chunks resolved.
    pub chunks: f64,
    /// Bytes stored in new xorbs.
    pub new_bytes: f64,
    /// Bytes deduplicated within the session.
    pub dedup_local_bytes: f64,
    /// Bytes deduplicated against learned xorbs.
    pub dedup_global_bytes: f64,
    /// Xorbs closed.
    pub xorbs_produced: f64,
    /// Serialized bytes of the closed xorbs.
    pub xorb_bytes_serialized: f64,
    /// Global-dedup queries issued.
    pub queries_issued: f64,
}

/// The sans-IO upload session (see `src/upload.rs`).
#[wasm_bindgen(js_name = UploadSession)]
pub struct WasmUploadSession {
    inner: upload::UploadSession,
    /// The buffer of the last xorb taken, once its bytes were copied out: handed back to the
    /// session on the next call that may build a xorb (keeps WebAssembly memory at about one
    /// xorb on long uploads).
    spare: Option<Vec<u8>>,
}

impl WasmUploadSession {
    /// Passes the buffer of a taken xorb back to the session.
    fn reuse_buffer(&mut self) {
        if let Some(b) = self.spare.take() {
            self.inner.recycle_xorb_buffer(b);
        }
    }
}

#[wasm_bindgen(js_class = UploadSession)]
impl WasmUploadSession {
    /// Limits in bytes / chunks (0 = default: 64 MiB, 8192, 64 MiB); compression 0 none,
    /// 1 LZ4, 2 BG4, 3 best; ingestion block bytes (0: every chunk its own block); probe
    /// modulus (0: no probes).
    #[wasm_bindgen(constructor)]
    pub fn new(
        maxXorbBytes: f64,
        maxXorbChunks: f64,
        maxShardBytes: f64,
        compression: u32,
        blockBytes: f64,
        probeModulus: u32,
    ) -> JsResult<WasmUploadSession> {
        let opts = upload_options(
            maxXorbBytes,
            maxXorbChunks,
            maxShardBytes,
            compression,
            blockBytes,
            probeModulus,
        )?;
        Ok(WasmUploadSession {
            inner: upload::UploadSession::new(opts).map_err(js_error)?,
            spare: None,
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
    /// id (0, 1, … in `takeXorb` order) of a new chunk, or `Placement.Dedup` for a deduplicated
    /// one.
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

    /// New probes (chunk hashes to look up in a local cache only) since the previous call.
    #[wasm_bindgen(js_name = takeProbes)]
    pub fn take_probes(&mut self) -> Vec<String> {
        self.inner
            .take_probes()
            .iter()
            .map(MerkleHash::to_hex)
            .collect()
    }

    /// Learns the xorbs of a shard that answers no query; returns the number learned.
    #[wasm_bindgen(js_name = learnShard)]
    pub fn learn_shard(&mut self, shard: &[u8], nowUnixSecs: f64) -> JsResult<u32> {
        self.reuse_buffer();
        self.inner.learn_shard(shard, nowUnixSecs).map_err(js_error)
    }

    /// Seals the open file's newest ingestion block (its chunks stop waiting for later ones).
    #[wasm_bindgen(js_name = sealBlock)]
    pub fn seal_block(&mut self) {
        self.reuse_buffer();
        self.inner.seal_block();
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

    /// Finishes the open file; `sha256` (plain hex) is the file's SHA-256 computed by the caller,
    /// stored in the shard (files whose chunks were prepared elsewhere).
    #[wasm_bindgen(js_name = finishFile)]
    pub fn finish_file(&mut self, sha256: Option<String>) -> JsResult<Ts<FileResult>> {
        self.reuse_buffer();
        let given = match sha256 {
            None => None,
            Some(h) => Some(parse_sha256(&h)?),
        };
        let r = self
            .inner
            .finish_file_with_sha256(given)
            .map_err(js_error)?;
        to_js(&FileResult {
            hash: r.hash,
            size: r.size as f64,
            chunk_count: r.chunk_count as f64,
            new_bytes: r.new_bytes as f64,
            dedup_local_bytes: r.dedup_local_bytes as f64,
            dedup_global_bytes: r.dedup_global_bytes as f64,
            sha256: r.sha256,
        })
    }

    /// The next closed xorb, or `undefined`. Its body is copied out; the buffer stays here for
    /// a later xorb.
    #[wasm_bindgen(js_name = takeXorb)]
    pub fn take_xorb(&mut self) -> JsResult<Option<Ts<XorbResult>>> {
        let Some(x) = self.inner.take_xorb() else {
            return Ok(None);
        };
        let record = XorbResult {
            hash: x.hash,
            chunk_count: x.chunk_count,
            raw_bytes: x.raw_bytes as f64,
            serialized_bytes: x.serialized_bytes as f64,
            data: x.data,
        };
        let js = to_js(&record)?;
        // Keep the largest buffer handed back since the session last took one.
        if record.data.capacity() > self.spare.as_ref().map_or(0, Vec::capacity) {
            self.spare = Some(record.data);
        }
        Ok(Some(js))
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
    pub fn stats(&self) -> JsResult<Ts<SessionStats>> {
        let s = self.inner.stats();
        to_js(&SessionStats {
            bytes_processed: s.bytes_processed as f64,
            chunks: s.chunks as f64,
            new_bytes: s.new_bytes as f64,
            dedup_local_bytes: s.dedup_local_bytes as f64,
            dedup_global_bytes: s.dedup_global_bytes as f64,
            xorbs_produced: s.xorbs_produced as f64,
            xorb_bytes_serialized: s.xorb_bytes_serialized as f64,
            queries_issued: s.queries_issued as f64,
        })
    }
}

// ---------------------------------------------------------------------------------------------
// Download
// ---------------------------------------------------------------------------------------------

/// Decoded chunk records (a fetched xorb range): every chunk decoded and hashed.
#[derive(Serialize, Tsify)]
#[serde(rename_all = "camelCase")]
pub struct DecodedChunks {
    /// Number of chunks.
    pub count: u32,
    /// All decoded chunk bytes, concatenated.
    #[serde(serialize_with = "bytes")]
    #[tsify(type = "Uint8Array")]
    pub data: Vec<u8>,
    /// Chunk lengths.
    #[serde(serialize_with = "u32_array")]
    #[tsify(type = "Uint32Array")]
    pub lengths: Vec<u32>,
    /// Packed raw chunk hashes of the decoded bytes.
    #[serde(serialize_with = "packed")]
    #[tsify(type = "Uint8Array")]
    pub hashes: Vec<MerkleHash>,
    /// n + 1 offsets: the start of each record in the input, then its total length.
    #[serde(serialize_with = "u32_array")]
    #[tsify(type = "Uint32Array")]
    pub record_offsets: Vec<u32>,
}

/// Decodes a run of chunk records (a fetched xorb range).
#[wasm_bindgen(js_name = decodeChunkRecords)]
pub fn decode_chunk_records(bytes: &[u8]) -> JsResult<Ts<DecodedChunks>> {
    let d = xorb::decode_chunk_records(bytes).map_err(js_error)?;
    to_js(&DecodedChunks {
        count: d.lengths.len() as u32,
        data: d.data,
        lengths: d.lengths,
        hashes: d.hashes,
        record_offsets: d.record_offsets,
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

/// An incremental SHA-256, for runtimes without a native one (browsers, edge): the SHA-256 of
/// files committed to Git-backed repositories (their LFS pointers).
#[wasm_bindgen(js_name = Sha256Hasher)]
#[derive(Default)]
pub struct WasmSha256Hasher {
    inner: sha2::Sha256,
}

#[wasm_bindgen(js_class = Sha256Hasher)]
impl WasmSha256Hasher {
    /// An empty hasher.
    #[wasm_bindgen(constructor)]
    pub fn new() -> WasmSha256Hasher {
        WasmSha256Hasher::default()
    }

    /// Adds bytes.
    pub fn update(&mut self, data: &[u8]) {
        use sha2::Digest;
        self.inner.update(data);
    }

    /// The digest as plain hex; resets the hasher.
    pub fn finish(&mut self) -> String {
        use sha2::Digest;
        let d: [u8; 32] = std::mem::take(&mut self.inner).finalize().into();
        to_plain_hex(&d)
    }
}

// ---------------------------------------------------------------------------------------------
// Server side (the local hub validates what it receives with these)
// ---------------------------------------------------------------------------------------------

/// What `XorbVerifier.finish` (and so `parseXorb`) learned from a valid xorb body.
#[derive(Serialize, Tsify)]
#[serde(rename_all = "camelCase")]
pub struct XorbInfo {
    /// Xorb hash.
    #[serde(serialize_with = "hex")]
    #[tsify(type = "string")]
    pub hash: MerkleHash,
    /// Number of chunks.
    pub count: u32,
    /// Sum of the chunk lengths.
    pub raw_bytes: f64,
    /// Packed raw chunk hashes.
    #[serde(serialize_with = "packed")]
    #[tsify(type = "Uint8Array")]
    pub hashes: Vec<MerkleHash>,
    /// Chunk lengths.
    #[serde(serialize_with = "u32_array")]
    #[tsify(type = "Uint32Array")]
    pub lengths: Vec<u32>,
    /// n + 1 offsets: the start of each chunk record, then the body length.
    #[serde(serialize_with = "u32_array")]
    #[tsify(type = "Uint32Array")]
    pub record_offsets: Vec<u32>,
}

/// Verifies an uploaded xorb body part by part as it arrives: `parseXorb` of the whole body, without
/// holding it or copying it whole into the core (only a record split between parts is copied).
#[wasm_bindgen(js_name = XorbVerifier)]
pub struct WasmXorbVerifier {
    inner: Option<xorb::XorbVerifier>,
}

#[wasm_bindgen(js_class = XorbVerifier)]
impl WasmXorbVerifier {
    /// A verifier of a body uploaded as the xorb `expectedHash`, with the limits `parseXorb` applies.
    #[wasm_bindgen(constructor)]
    pub fn new(expectedHash: &str) -> JsResult<WasmXorbVerifier> {
        let expected = parse_hash(expectedHash)?;
        Ok(WasmXorbVerifier {
            inner: Some(xorb::XorbVerifier::new(
                Some(expected),
                xorb::XorbLimits::accepted(),
            )),
        })
    }

    /// The next bytes of the body (errors wait for `finish`).
    pub fn update(&mut self, part: &[u8]) {
        if let Some(v) = self.inner.as_mut() {
            v.update(part);
        }
    }

    /// The body ended: what `parseXorb` gives for the whole body (the same errors). Once only.
    pub fn finish(&mut self) -> JsResult<Ts<XorbInfo>> {
        let v = self.inner.take().ok_or_else(|| {
            js_error(CoreError::new(
                ErrorKind::InvalidArgument,
                "this xorb verifier has finished already",
            ))
        })?;
        let x = v.finish().map_err(js_error)?;
        to_js(&XorbInfo {
            hash: x.hash,
            count: x.lengths.len() as u32,
            raw_bytes: x.raw_bytes as f64,
            hashes: x.hashes,
            lengths: x.lengths,
            record_offsets: x.record_offsets,
        })
    }
}

/// A file term: chunks `[start, end)` of a xorb.
#[derive(Serialize, Tsify)]
#[tsify(missing_as_null)]
pub struct ShardTerm {
    /// Xorb hash.
    #[serde(serialize_with = "hex")]
    #[tsify(type = "string")]
    pub xorb: MerkleHash,
    /// `xorb_flags`.
    pub flags: u32,
    /// Bytes of the term's chunks.
    pub unpacked: u32,
    /// First chunk index.
    pub start: u32,
    /// Chunk index after the last.
    pub end: u32,
}

/// A file block.
#[derive(Serialize, Tsify)]
#[tsify(missing_as_null)]
pub struct ShardFile {
    /// File hash.
    #[serde(serialize_with = "hex")]
    #[tsify(type = "string")]
    pub hash: MerkleHash,
    /// `file_flags` as read.
    pub flags: u32,
    /// Terms in file order.
    pub terms: Vec<ShardTerm>,
    /// One verification hash (Xet hex) per term, or null.
    pub verification: Option<Vec<String>>,
    /// The file's SHA-256 as plain hex (as usually printed), or null.
    pub sha256: Option<String>,
}

/// A chunk of a xorb block.
#[derive(Serialize, Tsify)]
#[serde(rename_all = "camelCase")]
#[tsify(missing_as_null)]
pub struct ShardXorbChunk {
    /// Chunk hash (keyed in dedup answers with an HMAC key).
    #[serde(serialize_with = "hex")]
    #[tsify(type = "string")]
    pub hash: MerkleHash,
    /// Offset of the chunk in the xorb's uncompressed bytes.
    pub offset: u32,
    /// Chunk length.
    pub length: u32,
    /// Flags.
    pub flags: u32,
}

/// A xorb block.
#[derive(Serialize, Tsify)]
#[serde(rename_all = "camelCase")]
#[tsify(missing_as_null)]
pub struct ShardXorb {
    /// Xorb hash.
    #[serde(serialize_with = "hex")]
    #[tsify(type = "string")]
    pub hash: MerkleHash,
    /// `xorb_flags`.
    pub flags: u32,
    /// Sum of chunk lengths.
    pub bytes_in_xorb: u32,
    /// Serialized xorb length (hf_xet writes 0).
    pub bytes_on_disk: u32,
    /// Chunks in index order.
    pub chunks: Vec<ShardXorbChunk>,
}

/// The footer of a full shard. 64-bit fields are JS numbers (exact up to 2^53).
#[derive(Serialize, Tsify)]
#[serde(rename_all = "camelCase")]
#[tsify(missing_as_null)]
pub struct ShardFooter {
    /// Start of the file lookup table.
    pub file_lookup_offset: f64,
    /// Entries of the file lookup table.
    pub file_lookup_count: f64,
    /// Start of the xorb lookup table.
    pub xorb_lookup_offset: f64,
    /// Entries of the xorb lookup table.
    pub xorb_lookup_count: f64,
    /// Start of the chunk lookup table.
    pub chunk_lookup_offset: f64,
    /// Entries of the chunk lookup table.
    pub chunk_lookup_count: f64,
    /// HMAC key of the chunk hashes as plain hex (64 zeros: plain hashes).
    pub hmac_key: String,
    /// Creation time, Unix seconds.
    pub created_at: f64,
    /// Key expiry, Unix seconds.
    pub expiry: f64,
    /// Start of the footer.
    pub footer_offset: f64,
}

/// A parsed shard.
#[derive(Serialize, Tsify)]
#[serde(rename_all = "camelCase")]
#[tsify(missing_as_null)]
pub struct ParsedShard {
    /// `footer_size` of the header: 0 (upload shard) or 200.
    pub footer_size: f64,
    /// File blocks in order.
    pub files: Vec<ShardFile>,
    /// Xorb blocks in order.
    pub xorbs: Vec<ShardXorb>,
    /// The footer, or null without one.
    pub footer: Option<ShardFooter>,
}

impl From<shard::Shard> for ParsedShard {
    fn from(s: shard::Shard) -> Self {
        ParsedShard {
            footer_size: s.footer_size as f64,
            files: s
                .files
                .into_iter()
                .map(|f| ShardFile {
                    hash: f.hash,
                    flags: f.flags,
                    terms: f
                        .terms
                        .iter()
                        .map(|t| ShardTerm {
                            xorb: t.xorb,
                            flags: t.flags,
                            unpacked: t.unpacked_bytes,
                            start: t.start,
                            end: t.end,
                        })
                        .collect(),
                    verification: f
                        .verification
                        .map(|v| v.iter().map(MerkleHash::to_hex).collect()),
                    sha256: f.sha256.map(|d| to_plain_hex(&d)),
                })
                .collect(),
            xorbs: s
                .xorbs
                .into_iter()
                .map(|x| ShardXorb {
                    hash: x.hash,
                    flags: x.flags,
                    bytes_in_xorb: x.bytes_in_xorb,
                    bytes_on_disk: x.bytes_on_disk,
                    chunks: x
                        .chunks
                        .iter()
                        .map(|c| ShardXorbChunk {
                            hash: c.hash,
                            offset: c.offset,
                            length: c.length,
                            flags: c.flags,
                        })
                        .collect(),
                })
                .collect(),
            footer: s.footer.map(|f| ShardFooter {
                file_lookup_offset: f.file_lookup_offset as f64,
                file_lookup_count: f.file_lookup_count as f64,
                xorb_lookup_offset: f.xorb_lookup_offset as f64,
                xorb_lookup_count: f.xorb_lookup_count as f64,
                chunk_lookup_offset: f.chunk_lookup_offset as f64,
                chunk_lookup_count: f.chunk_lookup_count as f64,
                hmac_key: to_plain_hex(&f.hmac_key),
                created_at: f.created_at as f64,
                expiry: f.expiry as f64,
                footer_offset: f.footer_offset as f64,
            }),
        }
    }
}

/// Parses an upload shard or a full shard (with footer).
#[wasm_bindgen(js_name = parseShard)]
pub fn parse_shard(bytes: &[u8]) -> JsResult<Ts<ParsedShard>> {
    let s = shard::parse_shard(bytes).map_err(js_error)?;
    to_js(&ParsedShard::from(s))
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

/// The dedup-cache entries of an upload (`UploadEntries`): the xorbs of its shards (`shards`, concatenated,
/// `ends` their end offsets; bytes that are not a shard are skipped) regrouped into answer shards of at most
/// `maxChunks` chunks, with their key chunks (chunks with `hash % probeModulus == 0` among them). Packed, for
/// each entry: shard length, key count, xorb count (u32 little-endian), the shard, the keys' and the xorbs'
/// raw hashes (32 bytes each).
#[wasm_bindgen(js_name = uploadCacheEntries)]
pub fn upload_cache_entries(
    shards: &[u8],
    ends: &[u32],
    maxChunks: u32,
    probeModulus: u32,
    createdAtSecs: f64,
) -> JsResult<Vec<u8>> {
    let mut b = shard::UploadEntries::new(maxChunks as usize, probeModulus as u64);
    let mut at = 0usize;
    for &end in ends {
        let end = (end as usize).clamp(at, shards.len());
        if let Ok(parsed) = shard::parse_shard(&shards[at..end]) {
            b.add_shard(&parsed).map_err(js_error)?;
        }
        at = end;
    }
    let mut out = Vec::new();
    for e in b
        .finish(secs(createdAtSecs, "createdAtSecs")?)
        .map_err(js_error)?
    {
        for n in [e.shard.len(), e.keys.len(), e.xorbs.len()] {
            out.extend_from_slice(&(n as u32).to_le_bytes());
        }
        out.extend_from_slice(&e.shard);
        for h in e.keys.iter().chain(&e.xorbs) {
            out.extend_from_slice(h.as_bytes());
        }
    }
    Ok(out)
}
