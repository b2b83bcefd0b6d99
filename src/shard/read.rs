//! Reading shards: upload bodies and full shards, walked record by record up to their bookends
//! instead of trusting footer offsets; every count is checked against the bytes that remain
//! before anything is allocated.

use super::format::*;
use crate::error::{err, ErrorKind, Result};
use crate::hash::MerkleHash;

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
