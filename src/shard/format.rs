//! The shard layout (§5.2–5.6): constants of the header, records and footer, and the in-memory
//! form of file blocks, xorb blocks and the footer that the writer and reader share.

use crate::error::{err, ErrorKind, Result};
use crate::hash::MerkleHash;

/// Header tag (§5.2): `HFRepoMetaData`, a zero byte, 17 fixed bytes.
pub(crate) const SHARD_HEADER_TAG: [u8; 32] = [
    0x48, 0x46, 0x52, 0x65, 0x70, 0x6f, 0x4d, 0x65, 0x74, 0x61, 0x44, 0x61, 0x74, 0x61, 0x00, 0x55,
    0x69, 0x67, 0x45, 0x6a, 0x7b, 0x81, 0x57, 0x83, 0xa5, 0xbd, 0xd9, 0x5c, 0xcd, 0xd1, 0x4a, 0xa9,
];
/// Header version.
pub(crate) const SHARD_VERSION: u64 = 2;
/// Footer version.
pub(crate) const FOOTER_VERSION: u64 = 1;
/// Header length.
pub(crate) const HEADER_LEN: usize = 48;
/// Section record length.
pub(crate) const RECORD_LEN: usize = 48;
/// Footer length.
pub(crate) const FOOTER_LEN: usize = 200;
/// Maximum shard size (§5.7).
pub const MAX_SHARD_BYTES: u64 = 64 * 1024 * 1024;
/// File flag: verification entries follow the terms.
pub const FILE_FLAG_WITH_VERIFICATION: u32 = 0x8000_0000;
/// File flag: a `FileMetadataExt` (SHA-256) record follows.
pub const FILE_FLAG_WITH_METADATA_EXT: u32 = 0x4000_0000;
/// Bytes of a bookend record.
pub(super) const BOOKEND_HASH: [u8; 32] = [0xFF; 32];

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
pub(crate) fn sha256_storage_order(d: &[u8; 32]) -> [u8; 32] {
    let mut s = [0u8; 32];
    for g in 0..4 {
        for j in 0..8 {
            s[g * 8 + 7 - j] = d[g * 8 + j];
        }
    }
    s
}
