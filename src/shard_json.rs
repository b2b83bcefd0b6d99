//! JSON text of a parsed shard (the `parseShard` shape of the WASM surface), written by hand
//! to keep serde out of the WASM build:
//!
//! ```text
//! {"footerSize":0|200,
//!  "files":[{"hash":h,"flags":n,"terms":[{"xorb":h,"flags":n,"unpacked":n,"start":n,"end":n}],
//!            "verification":[h,...]|null,"sha256":p|null}],
//!  "xorbs":[{"hash":h,"flags":n,"bytesInXorb":n,"bytesOnDisk":n,
//!            "chunks":[{"hash":h,"offset":n,"length":n,"flags":n}]}],
//!  "footer":null|{"fileLookupOffset":n,"fileLookupCount":n,"xorbLookupOffset":n,
//!                 "xorbLookupCount":n,"chunkLookupOffset":n,"chunkLookupCount":n,
//!                 "hmacKey":p,"createdAt":n,"expiry":n,"footerOffset":n}}
//! ```
//!
//! `h` = Xet hex; `p` = plain hex (SHA-256 as usually printed, §3.9; the HMAC key's raw bytes,
//! 64 zeros when none); `n` = JSON number (u64 values above 2^53 lose precision in JS).

use crate::hash::{to_plain_hex, MerkleHash};
use crate::shard::Shard;
use std::fmt::Write;

fn hash(out: &mut String, key: &str, h: &MerkleHash) {
    let _ = write!(out, "\"{key}\":\"");
    h.write_hex(out);
    out.push('"');
}

/// The JSON text of `s`.
pub fn to_json(s: &Shard) -> String {
    let mut o = String::with_capacity(
        64 + s
            .files
            .iter()
            .map(|f| 200 + 220 * f.terms.len())
            .sum::<usize>()
            + s.xorbs
                .iter()
                .map(|x| 200 + 140 * x.chunks.len())
                .sum::<usize>(),
    );
    let _ = write!(o, "{{\"footerSize\":{},\"files\":[", s.footer_size);
    for (i, f) in s.files.iter().enumerate() {
        if i > 0 {
            o.push(',');
        }
        o.push('{');
        hash(&mut o, "hash", &f.hash);
        let _ = write!(o, ",\"flags\":{},\"terms\":[", f.flags);
        for (j, t) in f.terms.iter().enumerate() {
            if j > 0 {
                o.push(',');
            }
            o.push('{');
            hash(&mut o, "xorb", &t.xorb);
            let _ = write!(
                o,
                ",\"flags\":{},\"unpacked\":{},\"start\":{},\"end\":{}}}",
                t.flags, t.unpacked_bytes, t.start, t.end
            );
        }
        o.push_str("],\"verification\":");
        match &f.verification {
            None => o.push_str("null"),
            Some(v) => {
                o.push('[');
                for (j, h) in v.iter().enumerate() {
                    if j > 0 {
                        o.push(',');
                    }
                    o.push('"');
                    h.write_hex(&mut o);
                    o.push('"');
                }
                o.push(']');
            }
        }
        o.push_str(",\"sha256\":");
        match &f.sha256 {
            None => o.push_str("null"),
            Some(d) => {
                let _ = write!(o, "\"{}\"", to_plain_hex(d));
            }
        }
        o.push('}');
    }
    o.push_str("],\"xorbs\":[");
    for (i, x) in s.xorbs.iter().enumerate() {
        if i > 0 {
            o.push(',');
        }
        o.push('{');
        hash(&mut o, "hash", &x.hash);
        let _ = write!(
            o,
            ",\"flags\":{},\"bytesInXorb\":{},\"bytesOnDisk\":{},\"chunks\":[",
            x.flags, x.bytes_in_xorb, x.bytes_on_disk
        );
        for (j, c) in x.chunks.iter().enumerate() {
            if j > 0 {
                o.push(',');
            }
            o.push('{');
            hash(&mut o, "hash", &c.hash);
            let _ = write!(
                o,
                ",\"offset\":{},\"length\":{},\"flags\":{}}}",
                c.offset, c.length, c.flags
            );
        }
        o.push_str("]}");
    }
    o.push_str("],\"footer\":");
    match &s.footer {
        None => o.push_str("null"),
        Some(f) => {
            let _ = write!(
                o,
                "{{\"fileLookupOffset\":{},\"fileLookupCount\":{},\"xorbLookupOffset\":{},\"xorbLookupCount\":{},\"chunkLookupOffset\":{},\"chunkLookupCount\":{},\"hmacKey\":\"{}\",\"createdAt\":{},\"expiry\":{},\"footerOffset\":{}}}",
                f.file_lookup_offset,
                f.file_lookup_count,
                f.xorb_lookup_offset,
                f.xorb_lookup_count,
                f.chunk_lookup_offset,
                f.chunk_lookup_count,
                to_plain_hex(&f.hmac_key),
                f.created_at,
                f.expiry,
                f.footer_offset
            );
        }
    }
    o.push('}');
    o
}
