//! Writing shards: upload shards (§5.7) and full shards with lookup tables and footer (§5.5–5.6).

use super::format::*;
use crate::error::{err, ErrorKind, Result};

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
pub(crate) fn write_file_block(out: &mut Vec<u8>, f: &FileEntry) -> Result<()> {
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
pub(crate) fn write_xorb_block(out: &mut Vec<u8>, x: &XorbEntry) -> Result<()> {
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
