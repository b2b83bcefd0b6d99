//! Shards (spec §5): the upload-shard writer, the full-shard writer (lookup tables + footer,
//! used for dedup answers, §5.8), and a reader for both.
//!
//! The reader walks the file and xorb sections record by record up to their bookends instead of
//! trusting footer offsets, and checks every count against the bytes that remain before it
//! allocates anything.

use crate::error::{err, ErrorKind, Result};
use crate::hash::MerkleHash;

/// Header tag (§5.2): `HFRepoMetaData`, a zero byte, 17 fixed bytes.
pub const SHARD_HEADER_TAG: [u8; 32] = [
    0x48, 0x46, 0x52, 0x65, 0x70, 0x6f, 0x4d, 0x65, 0x74, 0x61, 0x44, 0x61, 0x74, 0x61, 0x00, 0x55,
    0x69, 0x67, 0x45, 0x6a, 0x7b, 0x81, 0x57, 0x83, 0xa5, 0xbd, 0xd9, 0x5c, 0xcd, 0xd1, 0x4a, 0xa9,
];
/// Header version.
pub const SHARD_VERSION: u64 = 2;
/// Footer version.
pub const FOOTER_VERSION: u64 = 1;
/// Header length.
pub const HEADER_LEN: usize = 48;
/// Section record length.
pub const RECORD_LEN: usize = 48;
/// Footer length.
pub const FOOTER_LEN: usize = 200;
/// Maximum shard size (§5.7).
pub const MAX_SHARD_BYTES: u64 = 64 * 1024 * 1024;
/// File flag: verification entries follow the terms.
pub const FILE_FLAG_WITH_VERIFICATION: u32 = 0x8000_0000;
/// File flag: a `FileMetadataExt` (SHA-256) record follows.
pub const FILE_FLAG_WITH_METADATA_EXT: u32 = 0x4000_0000;
/// Bytes of a bookend record.
const BOOKEND_HASH: [u8; 32] = [0xFF; 32];

/// A file term (`FileDataSequenceEntry`): chunks `[start, end)` of a xorb.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FileTerm {
    /// Xorb hash.
    pub xorb: MerkleHash,
    /// `xorb_flags` (0 when written by clients).
    pub flags: u32,
    /// Sum of the uncompressed lengths of the term's chunks.
    pub unpacked_bytes: u32,
    /// First chunk index.
    pub start: u32,
    /// Chunk index after the last (exclusive).
    pub end: u32,
}

/// A file block: header, terms, optional verification entries, optional SHA-256.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileEntry {
    /// File hash.
    pub hash: MerkleHash,
    /// `file_flags` as read. The writer sets the verification and metadata bits from
    /// `verification` and `sha256` and keeps any other bits of this field.
    pub flags: u32,
    /// Terms in file order.
    pub terms: Vec<FileTerm>,
    /// One verification hash per term, when present.
    pub verification: Option<Vec<MerkleHash>>,
    /// The file's SHA-256 in standard digest byte order (the shard stores each 8-byte group
    /// reversed, §3.9).
    pub sha256: Option<[u8; 32]>,
}

impl FileEntry {
    /// File size: the sum of the terms' unpacked bytes.
    pub fn size(&self) -> u64 {
        self.terms.iter().map(|t| t.unpacked_bytes as u64).sum()
    }

    /// Serialized length of this block.
    pub fn block_len(&self) -> usize {
        let n = self.terms.len();
        RECORD_LEN
            * (1 + n
                + if self.verification.is_some() { n } else { 0 }
                + usize::from(self.sha256.is_some()))
    }
}

/// A chunk of a xorb block (`XorbChunkSequenceEntry`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct XorbChunk {
    /// Chunk hash (a keyed hash in dedup answers with an HMAC key).
    pub hash: MerkleHash,
    /// Cumulative uncompressed offset of the chunk in the xorb.
    pub offset: u32,
    /// Chunk length.
    pub length: u32,
    /// Flags (bit 31: global-dedup eligible; clients write 0).
    pub flags: u32,
}

/// A xorb block (`XorbChunkSequenceHeader` + entries).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct XorbEntry {
    /// Xorb hash.
    pub hash: MerkleHash,
    /// `xorb_flags`.
    pub flags: u32,
    /// Sum of chunk lengths.
    pub bytes_in_xorb: u32,
    /// Serialized xorb length (hf_xet writes 0).
    pub bytes_on_disk: u32,
    /// Chunks in index order.
    pub chunks: Vec<XorbChunk>,
}

impl XorbEntry {
    /// Builds a xorb block from chunk hashes and lengths (offsets are cumulative).
    pub fn from_chunks(
        hash: MerkleHash,
        hashes: &[MerkleHash],
        lengths: &[u32],
        bytes_on_disk: u32,
    ) -> Result<Self> {
        if hashes.len() != lengths.len() {
            return err(
                ErrorKind::InvalidArgument,
                format!(
                    "{} chunk hashes but {} chunk lengths",
                    hashes.len(),
                    lengths.len()
                ),
            );
        }
        let mut offset: u64 = 0;
        let mut chunks = Vec::with_capacity(hashes.len());
        for (h, &l) in hashes.iter().zip(lengths) {
            chunks.push(XorbChunk {
                hash: *h,
                offset: offset as u32,
                length: l,
                flags: 0,
            });
            offset += l as u64;
            if offset > u32::MAX as u64 {
                return err(
                    ErrorKind::LimitExceeded,
                    "xorb chunk lengths add up to more than 4 GiB (u32 fields of the shard)",
                );
            }
        }
        Ok(XorbEntry {
            hash,
            flags: 0,
            bytes_in_xorb: offset as u32,
            bytes_on_disk,
            chunks,
        })
    }

    /// Serialized length of this block.
    pub fn block_len(&self) -> usize {
        RECORD_LEN * (1 + self.chunks.len())
    }
}

/// The 200-byte footer (§5.6).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShardFooter {
    /// Footer version (1).
    pub version: u64,
    /// Start of the file section (48).
    pub file_info_offset: u64,
    /// Start of the xorb section.
    pub xorb_info_offset: u64,
    /// Start of the file lookup table.
    pub file_lookup_offset: u64,
    /// Entries of the file lookup table.
    pub file_lookup_count: u64,
    /// Start of the xorb lookup table.
    pub xorb_lookup_offset: u64,
    /// Entries of the xorb lookup table.
    pub xorb_lookup_count: u64,
    /// Start of the chunk lookup table.
    pub chunk_lookup_offset: u64,
    /// Entries of the chunk lookup table.
    pub chunk_lookup_count: u64,
    /// HMAC key of the chunk hashes (all zero = plain hashes).
    pub hmac_key: [u8; 32],
    /// Creation time, Unix seconds.
    pub created_at: u64,
    /// Key expiry, Unix seconds (0 = none).
    pub expiry: u64,
    /// Sum of `bytes_on_disk`.
    pub stored_bytes_on_disk: u64,
    /// Sum of file sizes.
    pub materialized_bytes: u64,
    /// Sum of `bytes_in_xorb`.
    pub stored_bytes: u64,
    /// Start of the footer.
    pub footer_offset: u64,
}

impl ShardFooter {
    /// The HMAC key, if not all zero.
    pub fn key(&self) -> Option<[u8; 32]> {
        (self.hmac_key != [0u8; 32]).then_some(self.hmac_key)
    }
}

/// A parsed shard.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Shard {
    /// `footer_size` of the header (0 or 200).
    pub footer_size: u64,
    /// File blocks in order.
    pub files: Vec<FileEntry>,
    /// Xorb blocks in order.
    pub xorbs: Vec<XorbEntry>,
    /// The footer when `footer_size` is 200.
    pub footer: Option<ShardFooter>,
    /// Offset just after the xorb bookend.
    pub sections_end: u64,
}

/// Reverses each 8-byte group: standard SHA-256 digest ⇄ the stored `FileMetadataExt` bytes
/// (§3.9). The same permutation both ways.
pub fn sha256_storage_order(d: &[u8; 32]) -> [u8; 32] {
    let mut s = [0u8; 32];
    for g in 0..4 {
        for j in 0..8 {
            s[g * 8 + 7 - j] = d[g * 8 + j];
        }
    }
    s
}

fn put_u32(out: &mut Vec<u8>, v: u32) {
    out.extend_from_slice(&v.to_le_bytes());
}

fn put_u64(out: &mut Vec<u8>, v: u64) {
    out.extend_from_slice(&v.to_le_bytes());
}

fn write_header(out: &mut Vec<u8>, footer_size: u64) {
    out.extend_from_slice(&SHARD_HEADER_TAG);
    put_u64(out, SHARD_VERSION);
    put_u64(out, footer_size);
}

fn write_bookend(out: &mut Vec<u8>) {
    out.extend_from_slice(&BOOKEND_HASH);
    out.extend_from_slice(&[0u8; 16]);
}

/// Appends one file block. `INVALID_ARGUMENT` when the verification list does not have one
/// hash per term.
pub fn write_file_block(out: &mut Vec<u8>, f: &FileEntry) -> Result<()> {
    if let Some(v) = &f.verification {
        if v.len() != f.terms.len() {
            return err(
                ErrorKind::InvalidArgument,
                format!(
                    "file {}: {} verification hashes for {} terms",
                    f.hash,
                    v.len(),
                    f.terms.len()
                ),
            );
        }
    }
    if f.terms.len() > u32::MAX as usize {
        return err(ErrorKind::LimitExceeded, "more than 2^32 terms in one file");
    }
    let mut flags = f.flags & !(FILE_FLAG_WITH_VERIFICATION | FILE_FLAG_WITH_METADATA_EXT);
    if f.verification.is_some() {
        flags |= FILE_FLAG_WITH_VERIFICATION;
    }
    if f.sha256.is_some() {
        flags |= FILE_FLAG_WITH_METADATA_EXT;
    }
    out.extend_from_slice(f.hash.as_bytes());
    put_u32(out, flags);
    put_u32(out, f.terms.len() as u32);
    put_u64(out, 0);
    for t in &f.terms {
        out.extend_from_slice(t.xorb.as_bytes());
        put_u32(out, t.flags);
        put_u32(out, t.unpacked_bytes);
        put_u32(out, t.start);
        put_u32(out, t.end);
    }
    if let Some(v) = &f.verification {
        for h in v {
            out.extend_from_slice(h.as_bytes());
            out.extend_from_slice(&[0u8; 16]);
        }
    }
    if let Some(d) = &f.sha256 {
        out.extend_from_slice(&sha256_storage_order(d));
        out.extend_from_slice(&[0u8; 16]);
    }
    Ok(())
}

/// Appends one xorb block.
pub fn write_xorb_block(out: &mut Vec<u8>, x: &XorbEntry) -> Result<()> {
    if x.chunks.len() > u32::MAX as usize {
        return err(
            ErrorKind::LimitExceeded,
            "more than 2^32 chunks in one xorb",
        );
    }
    out.extend_from_slice(x.hash.as_bytes());
    put_u32(out, x.flags);
    put_u32(out, x.chunks.len() as u32);
    put_u32(out, x.bytes_in_xorb);
    put_u32(out, x.bytes_on_disk);
    for c in &x.chunks {
        out.extend_from_slice(c.hash.as_bytes());
        put_u32(out, c.offset);
        put_u32(out, c.length);
        put_u32(out, c.flags);
        put_u32(out, 0);
    }
    Ok(())
}

/// Length of an upload shard holding these blocks.
pub fn upload_shard_len(files: &[FileEntry], xorbs: &[XorbEntry]) -> usize {
    HEADER_LEN
        + 2 * RECORD_LEN
        + files.iter().map(FileEntry::block_len).sum::<usize>()
        + xorbs.iter().map(XorbEntry::block_len).sum::<usize>()
}

/// An upload shard (§5.7): header with `footer_size` 0, file blocks, bookend, xorb blocks,
/// bookend, nothing after.
pub fn write_upload_shard(files: &[FileEntry], xorbs: &[XorbEntry]) -> Result<Vec<u8>> {
    let mut out = Vec::with_capacity(upload_shard_len(files, xorbs));
    write_header(&mut out, 0);
    for f in files {
        write_file_block(&mut out, f)?;
    }
    write_bookend(&mut out);
    for x in xorbs {
        write_xorb_block(&mut out, x)?;
    }
    write_bookend(&mut out);
    Ok(out)
}

/// A full shard (local / server form, §5.5–5.6): header with `footer_size` 200, sections,
/// lookup tables sorted by truncated hash, and the footer with `hmac_key`, creation time and
/// expiry. Chunk hashes are written as given (apply the HMAC before, see
/// [`DedupShardBuilder`]).
pub fn write_full_shard(
    files: &[FileEntry],
    xorbs: &[XorbEntry],
    hmac_key: Option<[u8; 32]>,
    created_at: u64,
    expiry: u64,
) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    write_header(&mut out, FOOTER_LEN as u64);
    let file_info_offset = out.len() as u64;
    // Lookup entries as (truncated hash, value) with the value's fields packed into a u64, so
    // that one sort instantiation serves the three tables (smaller WASM).
    let mut file_lookup: Vec<(u64, u64)> = Vec::with_capacity(files.len());
    let mut record: u64 = 0;
    for f in files {
        file_lookup.push((f.hash.truncated(), record));
        write_file_block(&mut out, f)?;
        record += (f.block_len() / RECORD_LEN) as u64;
    }
    write_bookend(&mut out);
    let xorb_info_offset = out.len() as u64;
    let mut xorb_lookup: Vec<(u64, u64)> = Vec::with_capacity(xorbs.len());
    let mut chunk_lookup: Vec<(u64, u64)> = Vec::new();
    let mut record: u64 = 0;
    for x in xorbs {
        xorb_lookup.push((x.hash.truncated(), record));
        for (i, c) in x.chunks.iter().enumerate() {
            chunk_lookup.push((c.hash.truncated(), (record << 32) | i as u64));
        }
        write_xorb_block(&mut out, x)?;
        record += (x.block_len() / RECORD_LEN) as u64;
    }
    write_bookend(&mut out);
    file_lookup.sort_unstable();
    xorb_lookup.sort_unstable();
    chunk_lookup.sort_unstable();
    let file_lookup_offset = out.len() as u64;
    for (t, i) in &file_lookup {
        put_u64(&mut out, *t);
        put_u32(&mut out, *i as u32);
    }
    let xorb_lookup_offset = out.len() as u64;
    for (t, i) in &xorb_lookup {
        put_u64(&mut out, *t);
        put_u32(&mut out, *i as u32);
    }
    let chunk_lookup_offset = out.len() as u64;
    for (t, xi) in &chunk_lookup {
        put_u64(&mut out, *t);
        put_u32(&mut out, (*xi >> 32) as u32);
        put_u32(&mut out, *xi as u32);
    }
    let footer_offset = out.len() as u64;
    let footer = ShardFooter {
        version: FOOTER_VERSION,
        file_info_offset,
        xorb_info_offset,
        file_lookup_offset,
        file_lookup_count: file_lookup.len() as u64,
        xorb_lookup_offset,
        xorb_lookup_count: xorb_lookup.len() as u64,
        chunk_lookup_offset,
        chunk_lookup_count: chunk_lookup.len() as u64,
        hmac_key: hmac_key.unwrap_or([0u8; 32]),
        created_at,
        expiry,
        stored_bytes_on_disk: xorbs.iter().map(|x| x.bytes_on_disk as u64).sum(),
        materialized_bytes: files.iter().map(FileEntry::size).sum(),
        stored_bytes: xorbs.iter().map(|x| x.bytes_in_xorb as u64).sum(),
        footer_offset,
    };
    write_footer(&mut out, &footer);
    Ok(out)
}

fn write_footer(out: &mut Vec<u8>, f: &ShardFooter) {
    for v in [
        f.version,
        f.file_info_offset,
        f.xorb_info_offset,
        f.file_lookup_offset,
        f.file_lookup_count,
        f.xorb_lookup_offset,
        f.xorb_lookup_count,
        f.chunk_lookup_offset,
        f.chunk_lookup_count,
    ] {
        put_u64(out, v);
    }
    out.extend_from_slice(&f.hmac_key);
    put_u64(out, f.created_at);
    put_u64(out, f.expiry);
    out.extend_from_slice(&[0u8; 48]);
    for v in [
        f.stored_bytes_on_disk,
        f.materialized_bytes,
        f.stored_bytes,
        f.footer_offset,
    ] {
        put_u64(out, v);
    }
}

/// Builds a global-deduplication answer shard (§5.8): empty file section, the given xorbs,
/// lookup tables, and a footer with the optional HMAC key and the times.
#[derive(Clone, Debug, Default)]
pub struct DedupShardBuilder {
    xorbs: Vec<(XorbEntry, Vec<MerkleHash>)>,
}

impl DedupShardBuilder {
    /// An empty builder.
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of xorbs added.
    pub fn xorb_count(&self) -> usize {
        self.xorbs.len()
    }

    /// Adds a xorb by its hash and its plain chunk hashes and lengths.
    pub fn add_xorb(
        &mut self,
        hash: MerkleHash,
        chunk_hashes: &[MerkleHash],
        chunk_lengths: &[u32],
        bytes_on_disk: u32,
    ) -> Result<()> {
        if chunk_hashes.is_empty() {
            return err(
                ErrorKind::InvalidArgument,
                format!("xorb {hash}: a xorb has at least one chunk"),
            );
        }
        let entry = XorbEntry::from_chunks(hash, chunk_hashes, chunk_lengths, bytes_on_disk)?;
        self.xorbs.push((entry, chunk_hashes.to_vec()));
        Ok(())
    }

    /// The shard. With a (non-zero) `hmac_key`, every chunk hash is replaced by
    /// `keyed_hash(key, chunk hash)` (§3.8) and the key is stored in the footer. The file lookup
    /// table (empty) starts right after the xorb bookend, so `file_lookup_offset` is the end of
    /// the xorb section.
    pub fn finish(
        &self,
        hmac_key: Option<[u8; 32]>,
        created_at_secs: u64,
        expiry_secs: u64,
    ) -> Result<Vec<u8>> {
        let key = hmac_key.filter(|k| *k != [0u8; 32]);
        let xorbs: Vec<XorbEntry> = self
            .xorbs
            .iter()
            .map(|(e, plain)| {
                let mut e = e.clone();
                if let Some(k) = &key {
                    for (c, p) in e.chunks.iter_mut().zip(plain) {
                        c.hash = p.hmac(k);
                    }
                }
                e
            })
            .collect();
        write_full_shard(&[], &xorbs, key, created_at_secs, expiry_secs)
    }
}

/// A bounds-checked little-endian reader over the shard bytes.
struct Cursor<'a> {
    bytes: &'a [u8],
}

impl Cursor<'_> {
    fn u32_at(&self, at: usize) -> u32 {
        let mut b = [0u8; 4];
        b.copy_from_slice(&self.bytes[at..at + 4]);
        u32::from_le_bytes(b)
    }
    fn u64_at(&self, at: usize) -> u64 {
        let mut b = [0u8; 8];
        b.copy_from_slice(&self.bytes[at..at + 8]);
        u64::from_le_bytes(b)
    }
    fn hash_at(&self, at: usize) -> MerkleHash {
        let mut b = [0u8; 32];
        b.copy_from_slice(&self.bytes[at..at + 32]);
        MerkleHash(b)
    }
    fn is_bookend(&self, at: usize) -> bool {
        self.bytes[at..at + 32] == BOOKEND_HASH
    }
}

/// Parses a shard: upload bodies (no footer, or the footer the JS client adds) and full shards
/// (dedup answers, local shards). Anything between the xorb bookend and the footer (lookup
/// tables) is not interpreted; the footer's offsets are reported as read.
pub fn parse_shard(bytes: &[u8]) -> Result<Shard> {
    let c = Cursor { bytes };
    if bytes.len() < HEADER_LEN {
        return err(
            ErrorKind::Truncated,
            format!(
                "shard of {} bytes: the header alone has {HEADER_LEN}",
                bytes.len()
            ),
        );
    }
    if bytes[..32] != SHARD_HEADER_TAG {
        return err(
            ErrorKind::BadShard,
            "not a shard: the first 32 bytes are not the shard header tag",
        );
    }
    let version = c.u64_at(32);
    if version != SHARD_VERSION {
        return err(
            ErrorKind::BadShard,
            format!("shard header version {version}, expected {SHARD_VERSION}"),
        );
    }
    let footer_size = c.u64_at(40);
    if footer_size != 0 && footer_size != FOOTER_LEN as u64 {
        return err(
            ErrorKind::BadShard,
            format!("shard footer_size {footer_size}, expected 0 or {FOOTER_LEN}"),
        );
    }
    // The sections must end before the footer.
    let limit = if footer_size == 0 {
        bytes.len()
    } else if bytes.len() < HEADER_LEN + 2 * RECORD_LEN + FOOTER_LEN {
        return err(
            ErrorKind::Truncated,
            format!(
                "shard of {} bytes announces a footer but cannot hold header, two bookends and footer",
                bytes.len()
            ),
        );
    } else {
        bytes.len() - FOOTER_LEN
    };
    let need_records = |at: usize, records: u64, what: &str| -> Result<()> {
        let have = (limit.saturating_sub(at) / RECORD_LEN) as u64;
        if records > have {
            let end = if footer_size == 0 {
                "the end of the shard"
            } else {
                "the footer"
            };
            return err(
                ErrorKind::Truncated,
                format!(
                    "{what} at offset {at} needs {records} records of 48 bytes, only {have} fit before {end}"
                ),
            );
        }
        Ok(())
    };

    // File info section.
    let mut pos = HEADER_LEN;
    let mut files = Vec::new();
    let mut with_verification: Option<(bool, usize)> = None;
    loop {
        need_records(pos, 1, "file section record (or its bookend)")?;
        if c.is_bookend(pos) {
            pos += RECORD_LEN;
            break;
        }
        let hash = c.hash_at(pos);
        let flags = c.u32_at(pos + 32);
        let n = c.u32_at(pos + 36) as u64;
        let has_ver = flags & FILE_FLAG_WITH_VERIFICATION != 0;
        let has_ext = flags & FILE_FLAG_WITH_METADATA_EXT != 0;
        let records = 1 + n + if has_ver { n } else { 0 } + u64::from(has_ext);
        let index = files.len();
        need_records(pos, records, &format!("file block {index} ({n} terms)"))?;
        if n > 0 {
            match with_verification {
                None => with_verification = Some((has_ver, index)),
                Some((v, first)) if v != has_ver => {
                    return err(
                        ErrorKind::BadShard,
                        format!(
                            "only some files carry verification entries: file {first} {} them, file {index} (offset {pos}) {}",
                            if v { "has" } else { "lacks" },
                            if has_ver { "has them" } else { "does not" }
                        ),
                    )
                }
                _ => {}
            }
        }
        pos += RECORD_LEN;
        let mut terms = Vec::with_capacity(n as usize);
        for i in 0..n as usize {
            let t = FileTerm {
                xorb: c.hash_at(pos),
                flags: c.u32_at(pos + 32),
                unpacked_bytes: c.u32_at(pos + 36),
                start: c.u32_at(pos + 40),
                end: c.u32_at(pos + 44),
            };
            if t.start >= t.end {
                return err(
                    ErrorKind::BadShard,
                    format!(
                        "file block {index}, term {i} at offset {pos}: empty chunk range [{}, {})",
                        t.start, t.end
                    ),
                );
            }
            terms.push(t);
            pos += RECORD_LEN;
        }
        let verification = if has_ver {
            let mut v = Vec::with_capacity(n as usize);
            for _ in 0..n {
                v.push(c.hash_at(pos));
                pos += RECORD_LEN;
            }
            Some(v)
        } else {
            None
        };
        let sha256 = if has_ext {
            let mut stored = [0u8; 32];
            stored.copy_from_slice(&bytes[pos..pos + 32]);
            pos += RECORD_LEN;
            Some(sha256_storage_order(&stored))
        } else {
            None
        };
        files.push(FileEntry {
            hash,
            flags,
            terms,
            verification,
            sha256,
        });
    }

    // Xorb info section.
    let mut xorbs = Vec::new();
    loop {
        need_records(pos, 1, "xorb section record (or its bookend)")?;
        if c.is_bookend(pos) {
            pos += RECORD_LEN;
            break;
        }
        let hash = c.hash_at(pos);
        let flags = c.u32_at(pos + 32);
        let n = c.u32_at(pos + 36) as u64;
        let index = xorbs.len();
        need_records(pos, 1 + n, &format!("xorb block {index} ({n} chunks)"))?;
        let bytes_in_xorb = c.u32_at(pos + 40);
        let bytes_on_disk = c.u32_at(pos + 44);
        pos += RECORD_LEN;
        let mut chunks = Vec::with_capacity(n as usize);
        for _ in 0..n {
            chunks.push(XorbChunk {
                hash: c.hash_at(pos),
                offset: c.u32_at(pos + 32),
                length: c.u32_at(pos + 36),
                flags: c.u32_at(pos + 40),
            });
            pos += RECORD_LEN;
        }
        xorbs.push(XorbEntry {
            hash,
            flags,
            bytes_in_xorb,
            bytes_on_disk,
            chunks,
        });
    }

    let footer = if footer_size == FOOTER_LEN as u64 {
        let at = bytes.len() - FOOTER_LEN;
        let version = c.u64_at(at);
        if version != FOOTER_VERSION {
            return err(
                ErrorKind::BadShard,
                format!(
                    "shard footer at offset {at}: version {version}, expected {FOOTER_VERSION}"
                ),
            );
        }
        let u = |i: usize| c.u64_at(at + 8 * i);
        let mut hmac_key = [0u8; 32];
        hmac_key.copy_from_slice(&bytes[at + 72..at + 104]);
        Some(ShardFooter {
            version,
            file_info_offset: u(1),
            xorb_info_offset: u(2),
            file_lookup_offset: u(3),
            file_lookup_count: u(4),
            xorb_lookup_offset: u(5),
            xorb_lookup_count: u(6),
            chunk_lookup_offset: u(7),
            chunk_lookup_count: u(8),
            hmac_key,
            created_at: c.u64_at(at + 104),
            expiry: c.u64_at(at + 112),
            stored_bytes_on_disk: c.u64_at(at + 168),
            materialized_bytes: c.u64_at(at + 176),
            stored_bytes: c.u64_at(at + 184),
            footer_offset: c.u64_at(at + 192),
        })
    } else {
        None
    };
    Ok(Shard {
        footer_size,
        files,
        xorbs,
        footer,
        sections_end: pos as u64,
    })
}
