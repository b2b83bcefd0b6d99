//! Xorbs (spec §4): vector bodies byte-exact (scheme 0) or decoded (LZ4, BG4), fixtures parsed
//! and hashed, build → parse round trips, limits, LZ4 frame variants, hostile input.

mod common;

use common::*;
use proptest::prelude::*;
use std::io::Write;
use xet_core::Chunker;
use xet_core::*;
use xet_core::{chunk_hash, xorb_hash};
use xet_core::{ErrorKind, MerkleHash};

fn header_at(body: &[u8], at: usize) -> (u8, u32, u8, u32) {
    let c = u32::from_le_bytes([body[at + 1], body[at + 2], body[at + 3], 0]);
    let u = u32::from_le_bytes([body[at + 5], body[at + 6], body[at + 7], 0]);
    (body[at], c, body[at + 4], u)
}

fn text2_chunks() -> Vec<Vec<u8>> {
    let sentence = b"The quick brown fox jumps over the lazy dog. ";
    let c0: Vec<u8> = sentence.iter().cycle().take(3000).copied().collect();
    vec![c0, b"hello world".to_vec()]
}

fn floats_chunk() -> Vec<u8> {
    (0..1024)
        .flat_map(|i| (i as f32 * 0.5).to_le_bytes())
        .collect()
}

#[test]
fn serialization_hello_byte_exact() {
    let v = xet_core_vectors();
    let s = &v["serialization"]["hello"];
    let body = plain(s["xorb_no_footer_hex"].as_str().unwrap());
    assert_eq!(
        body.len() as u64,
        s["xorb_no_footer_length"].as_u64().unwrap()
    );
    // LZ4 requested, stored raw because the frame is not smaller.
    for policy in [
        CompressionPolicy::Lz4,
        CompressionPolicy::Best,
        CompressionPolicy::Bg4,
        CompressionPolicy::None,
    ] {
        let mut b = XorbBuilder::new(XorbLimits::default());
        b.push_chunk(b"hello world", policy).unwrap();
        let x = b.finish().unwrap();
        assert_eq!(x.data, body, "{policy:?}");
        assert_eq!(x.hash.to_hex(), s["xorb_hash"].as_str().unwrap());
    }
    let info = parse_xorb(&body, &h(s["xorb_hash"].as_str().unwrap())).unwrap();
    assert_eq!(info.lengths, vec![11]);
    assert_eq!(info.record_offsets, vec![0, 19]);
    assert_eq!(info.raw_bytes, 11);
}

#[test]
fn serialization_text2_and_floats_decode() {
    let v = xet_core_vectors();
    for (name, chunks, scheme0) in [
        ("text2", text2_chunks(), 1u8),
        ("floats_bg4", vec![floats_chunk()], 2u8),
    ] {
        let s = &v["serialization"][name];
        let body = plain(s["xorb_no_footer_hex"].as_str().unwrap());
        let expected = h(s["xorb_hash"].as_str().unwrap());
        let info = parse_xorb(&body, &expected).unwrap();
        assert_eq!(info.hash, expected);
        let decoded = decode_chunk_records(&body).unwrap();
        assert_eq!(decoded.data, chunks.concat(), "{name}");
        assert_eq!(header_at(&body, 0).2, scheme0, "{name} scheme of chunk 0");
        for (i, c) in s["chunks"].as_array().unwrap().iter().enumerate() {
            assert_eq!(decoded.hashes[i].to_hex(), c["hash"].as_str().unwrap());
            assert_eq!(decoded.lengths[i] as u64, c["length"].as_u64().unwrap());
            assert_eq!(chunk_hash(&chunks[i]), decoded.hashes[i]);
        }
        // The stored form (with footer) is rejected as an upload body; its records decode.
        let stored = plain(s["xorb_with_footer_hex"].as_str().unwrap());
        let fstart = s["xorb_with_footer_footer_start"].as_u64().unwrap() as usize;
        assert_eq!(&stored[..fstart], &body[..]);
        let e = parse_xorb(&stored, &expected).unwrap_err();
        assert_eq!(e.kind, ErrorKind::BadRecord, "{e}");
        assert!(e.message.contains("XETBLOB"), "{e}");
    }
    // text2's second chunk falls back to scheme 0 and is byte-exact.
    let s = &v["serialization"]["text2"];
    let body = plain(s["xorb_no_footer_hex"].as_str().unwrap());
    let first_len = 8 + header_at(&body, 0).1 as usize;
    let mut rec = Vec::new();
    let scheme = write_chunk_record(b"hello world", CompressionPolicy::Lz4, &mut rec).unwrap();
    assert_eq!(scheme, CompressionScheme::None);
    assert_eq!(&body[first_len..], &rec[..]);
    // Our encoders: LZ4 for text, BG4 for the floats; round trip, same hashes.
    let mut b = XorbBuilder::new(XorbLimits::default());
    for c in text2_chunks() {
        b.push_chunk(&c, CompressionPolicy::Lz4).unwrap();
    }
    let x = b.finish().unwrap();
    assert_eq!(x.hash.to_hex(), s["xorb_hash"].as_str().unwrap());
    assert_eq!(header_at(&x.data, 0).2, 1);
    let mut b = XorbBuilder::new(XorbLimits::default());
    b.push_chunk(&floats_chunk(), CompressionPolicy::Bg4)
        .unwrap();
    let x = b.finish().unwrap();
    assert_eq!(header_at(&x.data, 0).2, 2);
    assert_eq!(
        x.hash.to_hex(),
        v["serialization"]["floats_bg4"]["xorb_hash"]
            .as_str()
            .unwrap()
    );
    assert_eq!(decode_chunk_records(&x.data).unwrap().data, floats_chunk());
    // Best picks BG4 for the floats (smaller than LZ4) and LZ4 for text.
    let mut rec = Vec::new();
    assert_eq!(
        write_chunk_record(&floats_chunk(), CompressionPolicy::Best, &mut rec).unwrap(),
        CompressionScheme::Bg4Lz4
    );
    rec.clear();
    assert_eq!(
        write_chunk_record(&text2_chunks()[0], CompressionPolicy::Best, &mut rec).unwrap(),
        CompressionScheme::Lz4
    );
}

#[test]
fn fixtures_parse_and_match_vectors() {
    let v = vectors();
    for (file, name) in [
        ("xorb_one_byte_a4d4ed80fcb2.bin", "one_byte.bin"),
        (
            "xorb_splitmix_100KiB_4232f96e026e.bin",
            "splitmix_100KiB.bin",
        ),
        ("xorb_text_200KiB_754334b8c0ee.bin", "text_200KiB.txt"),
        ("xorb_zeros_1MiB_2e39f13c2480.bin", "zeros_1MiB.bin"),
    ] {
        let body = fixture(file);
        let e = &v[name];
        let xv = &e["xorbs_uploaded"][0];
        let expected = h(xv["xorb_hash"].as_str().unwrap());
        assert!(file.contains(&expected.to_hex()[..12]));
        assert_eq!(
            body.len() as u64,
            xv["serialized_len_as_uploaded"].as_u64().unwrap()
        );
        let info = parse_xorb(&body, &expected).unwrap();
        assert_eq!(info.hashes.len() as u64, xv["num_chunks"].as_u64().unwrap());
        assert_eq!(info.raw_bytes, xv["unpacked_bytes"].as_u64().unwrap());
        for (i, r) in xv["chunk_records"].as_array().unwrap().iter().enumerate() {
            let at = r["offset"].as_u64().unwrap() as usize;
            assert_eq!(info.record_offsets[i] as usize, at);
            let (ver, c, s, u) = header_at(&body, at);
            assert_eq!(ver, 0);
            assert_eq!(c as u64, r["compressed_len"].as_u64().unwrap());
            assert_eq!(s as u64, r["compression_scheme"].as_u64().unwrap());
            assert_eq!(u as u64, r["uncompressed_len"].as_u64().unwrap());
        }
        assert_eq!(*info.record_offsets.last().unwrap() as usize, body.len());
        // Decoded chunks equal the regenerated input's distinct chunks, in order.
        let data = input_for(name, e["size"].as_u64().unwrap() as usize);
        let decoded = decode_chunk_records(&body).unwrap();
        let mut distinct: Vec<u8> = Vec::new();
        let mut seen = Vec::new();
        let mut start = 0;
        for c in e["chunks"].as_array().unwrap() {
            let end = c["end"].as_u64().unwrap() as usize;
            let hsh = c["hash"].as_str().unwrap().to_string();
            if !seen.contains(&hsh) {
                distinct.extend_from_slice(&data[start..end]);
                seen.push(hsh);
            }
            start = end;
        }
        assert_eq!(decoded.data, distinct, "{name}");
        assert_eq!(decoded.hashes, info.hashes);
        // Scheme-0 bodies are rebuilt byte for byte.
        if xv["chunk_records"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["compression_scheme"].as_u64() == Some(0))
        {
            let mut b = XorbBuilder::new(XorbLimits::default());
            let mut pos = 0;
            for len in &decoded.lengths {
                let c = &decoded.data[pos..pos + *len as usize];
                b.push_chunk(c, CompressionPolicy::Best).unwrap();
                pos += *len as usize;
            }
            assert_eq!(b.finish().unwrap().data, body, "{name} rebuilt");
        }
    }
}

#[test]
fn splitmix_5mib_body_is_determined() {
    // All chunks incompressible: each record is `00 len 00 len` + bytes (README note).
    let v = vectors();
    let e = &v["splitmix_5MiB.bin"];
    let data = splitmix64(1, 5 << 20);
    let cuts = Chunker::boundaries(&data);
    let mut b = XorbBuilder::new(XorbLimits::default());
    let mut expected = Vec::new();
    let mut start = 0;
    for &end in &cuts {
        let c = &data[start..end];
        b.push_chunk(c, CompressionPolicy::Best).unwrap();
        let l = (c.len() as u32).to_le_bytes();
        expected.extend_from_slice(&[0, l[0], l[1], l[2], 0, l[0], l[1], l[2]]);
        expected.extend_from_slice(c);
        start = end;
    }
    let x = b.finish().unwrap();
    assert_eq!(x.data.len(), 5_243_440);
    assert_eq!(x.data, expected);
    let xv = &e["xorbs_uploaded"][0];
    assert_eq!(x.hash.to_hex(), xv["xorb_hash"].as_str().unwrap());
    assert_eq!(
        x.data.len() as u64,
        xv["serialized_len_as_uploaded"].as_u64().unwrap()
    );
    parse_xorb(&x.data, &x.hash).unwrap();
}

fn frame_with(info: lz4_flex::frame::FrameInfo, data: &[u8]) -> Vec<u8> {
    let mut enc = lz4_flex::frame::FrameEncoder::with_frame_info(info, Vec::new());
    enc.write_all(data).unwrap();
    enc.finish().unwrap()
}

fn record(scheme: u8, payload: &[u8], raw_len: usize) -> Vec<u8> {
    let c = (payload.len() as u32).to_le_bytes();
    let u = (raw_len as u32).to_le_bytes();
    let mut r = vec![0, c[0], c[1], c[2], scheme, u[0], u[1], u[2]];
    r.extend_from_slice(payload);
    r
}

#[test]
fn decoders_accept_any_valid_lz4_frame() {
    use lz4_flex::frame::{BlockMode, BlockSize, FrameInfo};
    let data: Vec<u8> = text(MAX_CHUNK);
    let hsh = chunk_hash(&data);
    let infos = [
        FrameInfo::new(),
        FrameInfo::new().content_size(Some(data.len() as u64)),
        FrameInfo::new()
            .block_checksums(true)
            .content_checksum(true),
        FrameInfo::new().block_mode(BlockMode::Linked),
        FrameInfo::new()
            .block_size(BlockSize::Max4MB)
            .block_mode(BlockMode::Linked),
        FrameInfo::new().block_size(BlockSize::Max256KB),
        FrameInfo::new()
            .block_size(BlockSize::Max1MB)
            .content_checksum(true),
    ];
    for (i, info) in infos.into_iter().enumerate() {
        let payload = frame_with(info.clone(), &data);
        let rec = record(1, &payload, data.len());
        let d = decode_chunk_records(&rec).unwrap();
        assert_eq!(d.data, data, "frame variant {i}");
        parse_xorb(&rec, &hsh).unwrap();
        let bg = frame_with(info, &bg4_group(&data));
        let rec = record(2, &bg, data.len());
        assert_eq!(
            decode_chunk_records(&rec).unwrap().data,
            data,
            "bg4 variant {i}"
        );
    }
    // A payload is exactly one frame: a second frame after it is rejected.
    let mut two = frame_encoder(&data[..1000]);
    two.extend(frame_encoder(&data[1000..]));
    let e = decode_chunk_records(&record(1, &two, data.len())).unwrap_err();
    assert_eq!(e.kind, ErrorKind::LengthMismatch, "{e}");
    let mut trailing = frame_encoder(&data);
    trailing.push(0);
    let e = decode_chunk_records(&record(1, &trailing, data.len())).unwrap_err();
    assert_eq!(e.kind, ErrorKind::BadCompression, "{e}");
}

#[test]
fn hostile_records_are_typed_errors() {
    let data = text(5000);
    let good = frame_encoder(&data);
    let cases: Vec<(Vec<u8>, ErrorKind)> = vec![
        (vec![], ErrorKind::BadRecord), // parse_xorb: empty body
        (vec![1, 1, 0, 0, 0, 1, 0, 0, 9], ErrorKind::BadRecord), // version 1
        (vec![0, 1, 0, 0, 3, 1, 0, 0, 9], ErrorKind::BadRecord), // scheme 3
        (vec![0, 1, 0, 0, 99, 1, 0, 0, 9], ErrorKind::BadRecord), // scheme Auto
        (
            vec![0, 2, 0, 0, 0, 1, 0, 0, 9, 9],
            ErrorKind::LengthMismatch,
        ), // raw, lengths differ
        (vec![0, 0xff, 0xff, 0xff, 1, 1, 0, 0], ErrorKind::BadRecord), // 16 MiB payload
        (vec![0, 1, 0, 0, 0, 0, 0, 0, 9], ErrorKind::BadRecord), // zero-length chunk
        (vec![0, 1, 0, 0, 0, 1, 0, 3, 9], ErrorKind::BadRecord), // 192 KiB chunk
        (vec![0, 5, 0, 0, 0, 5, 0, 0, 1], ErrorKind::Truncated), // payload cut
        (vec![0, 5, 0], ErrorKind::Truncated), // header cut
        (record(1, &good, 4999), ErrorKind::LengthMismatch), // decodes to more
        (record(1, &good, 5001), ErrorKind::LengthMismatch), // decodes to less
        (record(2, &good, 5001), ErrorKind::LengthMismatch),
        (
            record(1, &[1, 2, 3, 4, 5, 6, 7], 7),
            ErrorKind::BadCompression,
        ), // not a frame
        (
            record(1, &good[..good.len() - 10], 5000),
            ErrorKind::BadCompression,
        ), // frame cut
        (b"XETBLOB\x01".to_vec(), ErrorKind::BadRecord), // stored footer
    ];
    for (i, (bytes, kind)) in cases.iter().enumerate() {
        let e = parse_xorb_with_limits(bytes, None, &XorbLimits::default()).unwrap_err();
        assert_eq!(e.kind, *kind, "case {i}: {e}");
        if !bytes.is_empty() {
            let e = decode_chunk_records(bytes).unwrap_err();
            assert_eq!(e.kind, *kind, "case {i} decode: {e}");
            let v = views(bytes).unwrap_err();
            assert_eq!((v.kind, &v.message), (e.kind, &e.message), "case {i} views");
        }
    }
    // A good record followed by garbage: the error names the second record's offset.
    let mut two = record(1, &good, 5000);
    let at = two.len();
    two.extend_from_slice(&[7, 7, 7]);
    let e = decode_chunk_records(&two).unwrap_err();
    assert_eq!(e.kind, ErrorKind::Truncated);
    assert!(e.message.contains(&format!("offset {at}")), "{e}");
    // Wrong expected hash.
    let rec = record(0, b"abc", 3);
    let e = parse_xorb(&rec, &MerkleHash::ZERO).unwrap_err();
    assert_eq!(e.kind, ErrorKind::HashMismatch);
}

#[test]
fn xorb_limits_on_parse() {
    let mut body = Vec::new();
    for i in 0..10u8 {
        body.extend(record(0, &[i; 100], 100));
    }
    let limits = XorbLimits {
        max_raw_bytes: 1000,
        max_serialized_bytes: 1080,
        max_chunks: 10,
    };
    parse_xorb_with_limits(&body, None, &limits).unwrap();
    for l in [
        XorbLimits {
            max_chunks: 9,
            ..limits
        },
        XorbLimits {
            max_raw_bytes: 999,
            ..limits
        },
        XorbLimits {
            max_serialized_bytes: 1079,
            ..limits
        },
    ] {
        let e = parse_xorb_with_limits(&body, None, &l).unwrap_err();
        assert_eq!(e.kind, ErrorKind::LimitExceeded, "{l:?}");
    }
    // The protocol limit: 8193 one-byte chunks.
    let mut big = Vec::new();
    for i in 0..8193u32 {
        big.extend(record(0, &[i as u8], 1));
    }
    let e = parse_xorb_with_limits(&big, None, &XorbLimits::accepted()).unwrap_err();
    assert_eq!(e.kind, ErrorKind::LimitExceeded);
    let exact = &big[..9 * 8192];
    parse_xorb_with_limits(exact, None, &XorbLimits::accepted()).unwrap();
}

#[test]
fn accepts_hf_xet_bodies_of_64_mib_raw() {
    // hf_xet limits raw bytes: 512 incompressible chunks of 128 KiB make a 64 MiB + 4 KiB body.
    let mut body = Vec::new();
    let mut nodes = Vec::new();
    for i in 0..513u64 {
        let c = splitmix64(1000 + i, MAX_CHUNK);
        nodes.push((chunk_hash(&c), c.len() as u64));
        body.extend(record(0, &c, c.len()));
    }
    let n512 = 512 * (MAX_CHUNK + 8);
    let info = parse_xorb(&body[..n512], &xorb_hash(&nodes[..512])).unwrap();
    assert_eq!(info.raw_bytes, MAX_XORB_BYTES);
    assert!(n512 as u64 > MAX_XORB_BYTES);
    // One more chunk: more than 64 MiB of chunk data.
    let e = parse_xorb(&body, &xorb_hash(&nodes)).unwrap_err();
    assert_eq!(e.kind, ErrorKind::LimitExceeded, "{e}");
    // The writer keeps both sizes within 64 MiB: 511 such chunks fit, the 512th does not.
    let mut b = XorbBuilder::new(XorbLimits::default());
    let mut added = 0;
    for c in body[..n512].chunks(MAX_CHUNK + 8) {
        if !b.fits(MAX_CHUNK, c.len()) {
            break;
        }
        b.push_record(chunk_hash(&c[8..]), MAX_CHUNK as u32, c)
            .unwrap();
        added += 1;
    }
    assert_eq!(added, 511);
    assert!(b.serialized_len() as u64 <= MAX_XORB_BYTES);
}

#[test]
fn decoding_is_capped_at_one_xorb() {
    let zeros = vec![0u8; MAX_CHUNK];
    let rec = record(1, &frame_encoder(&zeros), zeros.len());
    let n = (MAX_XORB_BYTES as usize) / zeros.len();
    let mut body = rec.repeat(n);
    let d = decode_chunk_records(&body).unwrap();
    assert_eq!(d.data.len() as u64, MAX_XORB_BYTES);
    body.extend_from_slice(&rec);
    let e = decode_chunk_records(&body).unwrap_err();
    assert_eq!(e.kind, ErrorKind::LimitExceeded, "{e}");
    assert!(e.message.contains(&format!("record {n}")), "{e}");
    assert_eq!(views(&body).unwrap_err().message, e.message);
    // Record count cap.
    let tiny = record(0, b"x", 1).repeat(MAX_XORB_CHUNKS + 1);
    assert_eq!(
        decode_chunk_records(&tiny).unwrap_err().kind,
        ErrorKind::LimitExceeded
    );
    assert_eq!(views(&tiny).unwrap_err().kind, ErrorKind::LimitExceeded);
}

/// `decode_chunk_views` of `bytes`, as the `DecodedChunks` it describes (chunks copied out of the
/// input or the decompressed buffer, where `places` says).
fn views(bytes: &[u8]) -> Result<DecodedChunks> {
    let (mut decoded, mut places, mut hashes) = (vec![7u8; 3], vec![], vec![MerkleHash::ZERO]);
    decode_chunk_views(bytes, &mut decoded, &mut places, &mut hashes)?;
    let mut out = DecodedChunks {
        hashes,
        ..DecodedChunks::default()
    };
    for p in places {
        let (from, start, len) = match p {
            ChunkPlace::Input { start, len } => (bytes, start, len),
            ChunkPlace::Decoded { start, len } => (&decoded[..], start, len),
        };
        out.data
            .extend_from_slice(&from[start as usize..(start + len) as usize]);
        out.lengths.push(len);
    }
    Ok(out)
}

#[test]
fn builder_limits() {
    let limits = XorbLimits {
        max_raw_bytes: 250,
        max_serialized_bytes: 1 << 20,
        max_chunks: 3,
    };
    let mut b = XorbBuilder::new(limits);
    assert!(b.fits(100_000, 100_008), "an empty xorb takes any chunk");
    b.push_chunk(&[1; 100], CompressionPolicy::None).unwrap();
    assert!(b.fits(150, 158));
    assert!(!b.fits(151, 159));
    b.push_chunk(&[2; 100], CompressionPolicy::None).unwrap();
    assert!(!b.fits(51, 59));
    let e = b.push_chunk(&[3; 51], CompressionPolicy::None).unwrap_err();
    assert_eq!(e.kind, ErrorKind::LimitExceeded);
    b.push_chunk(&[3; 50], CompressionPolicy::None).unwrap();
    assert!(b.is_full());
    let x = b.take().unwrap();
    assert_eq!(x.chunk_lengths, vec![100, 100, 50]);
    assert!(b.is_empty() && b.take().is_none());
    // Serialized limit.
    let limits = XorbLimits {
        max_raw_bytes: 1 << 20,
        max_serialized_bytes: 216,
        max_chunks: 100,
    };
    let mut b = XorbBuilder::new(limits);
    b.push_chunk(&[1; 100], CompressionPolicy::None).unwrap();
    assert!(b.fits(100, 108));
    assert!(!b.fits(100, 109));
    assert_eq!(
        write_chunk_record(&[], CompressionPolicy::None, &mut Vec::new())
            .unwrap_err()
            .kind,
        ErrorKind::InvalidArgument
    );
}

/// Every prefix and many corruptions of small bodies: errors, never panics.
#[test]
fn truncation_and_corruption_never_panic() {
    let v = xet_core_vectors();
    let mut bodies: Vec<Vec<u8>> = ["hello", "text2", "floats_bg4"]
        .iter()
        .map(|n| {
            plain(
                v["serialization"][n]["xorb_no_footer_hex"]
                    .as_str()
                    .unwrap(),
            )
        })
        .collect();
    bodies.push(fixture("xorb_one_byte_a4d4ed80fcb2.bin"));
    bodies.push(fixture("xorb_zeros_1MiB_2e39f13c2480.bin"));
    let mut b = XorbBuilder::new(XorbLimits::default());
    b.push_chunk(&text(3000), CompressionPolicy::Lz4).unwrap();
    b.push_chunk(&floats_chunk(), CompressionPolicy::Bg4)
        .unwrap();
    b.push_chunk(b"raw", CompressionPolicy::None).unwrap();
    bodies.push(b.finish().unwrap().data);
    for body in &bodies {
        let full = parse_xorb_with_limits(body, None, &XorbLimits::default()).unwrap();
        let offsets = &full.record_offsets;
        for cut in 0..body.len() {
            let r = parse_xorb(&body[..cut], &full.hash);
            assert!(r.is_err(), "prefix {cut} of {}", body.len());
            let d = decode_chunk_records(&body[..cut]);
            // A prefix that ends on a record boundary is a valid shorter run.
            assert_eq!(d.is_ok(), offsets.contains(&(cut as u32)), "prefix {cut}");
        }
        let mut rng = Rng(body.len() as u64);
        for _ in 0..600 {
            let mut bad = body.clone();
            for _ in 0..1 + rng.below(3) {
                let i = rng.below(bad.len() as u64) as usize;
                bad[i] ^= 1 << rng.below(8);
            }
            if let Ok(info) = parse_xorb(&bad, &full.hash) {
                // Only a change that leaves the content intact can still verify.
                assert_eq!(info.hashes, full.hashes);
            }
            let _ = decode_chunk_records(&bad);
        }
    }
}

fn chunk_strategy() -> impl Strategy<Value = Vec<u8>> {
    (1usize..=MAX_CHUNK, any::<u64>(), 0u8..4).prop_map(|(len, seed, kind)| match kind {
        0 => splitmix64(seed, len),
        1 => vec![(seed % 256) as u8; len],
        2 => text(len),
        _ => (0..len)
            .map(|i| ((i as u64).wrapping_mul(seed) >> 16) as u8 & 0x0f)
            .collect(),
    })
}

fn policy_strategy() -> impl Strategy<Value = CompressionPolicy> {
    prop_oneof![
        Just(CompressionPolicy::None),
        Just(CompressionPolicy::Lz4),
        Just(CompressionPolicy::Bg4),
        Just(CompressionPolicy::Best),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 40, .. ProptestConfig::default() })]

    #[test]
    fn build_parse_round_trip(chunks in prop::collection::vec(chunk_strategy(), 1..8), policy in policy_strategy()) {
        let mut b = XorbBuilder::new(XorbLimits::default());
        for c in &chunks {
            b.push_chunk(c, policy).unwrap();
        }
        let x = b.finish().unwrap();
        let nodes: Vec<(MerkleHash, u64)> = chunks.iter().map(|c| (chunk_hash(c), c.len() as u64)).collect();
        prop_assert_eq!(x.hash, xorb_hash(&nodes));
        let info = parse_xorb(&x.data, &x.hash).unwrap();
        prop_assert_eq!(&info.hashes, &x.chunk_hashes);
        prop_assert_eq!(&info.lengths, &x.chunk_lengths);
        prop_assert_eq!(info.raw_bytes, chunks.iter().map(|c| c.len() as u64).sum::<u64>());
        let d = decode_chunk_records(&x.data).unwrap();
        let v = views(&x.data).unwrap();
        prop_assert_eq!((&v.data, &v.lengths, &v.hashes), (&d.data, &d.lengths, &d.hashes));
        prop_assert_eq!(d.data, chunks.concat());
        prop_assert_eq!(&d.record_offsets, &info.record_offsets);
        // Raw when compression does not help: no record is larger than header + chunk.
        for (i, c) in chunks.iter().enumerate() {
            let rec = d.record_offsets[i + 1] - d.record_offsets[i];
            prop_assert!(rec as usize <= c.len() + RECORD_HEADER_LEN);
        }
    }
}

/// One LZ4 frame of `data` as `lz4_flex::frame::FrameEncoder` writes it with its defaults (what
/// hf_xet writes; the crate's compressor writes the same bytes, see src/xorb/compression.rs).
fn frame_encoder(data: &[u8]) -> Vec<u8> {
    let mut enc = lz4_flex::frame::FrameEncoder::new(Vec::new());
    enc.write_all(data).unwrap();
    enc.finish().unwrap()
}

/// BG4 byte grouping (§4.2): byte `4i + g` goes to group `g`, groups concatenated.
fn bg4_group(data: &[u8]) -> Vec<u8> {
    (0..4)
        .flat_map(|g| data.iter().skip(g).step_by(4).copied())
        .collect()
}

/// The result (the chunks, or the error and its message) of verifying `body` as the local hub
/// receives it, in parts split at `cuts`.
fn verify_in_parts(
    body: &[u8],
    cuts: &[usize],
    expected: &MerkleHash,
    limits: &XorbLimits,
) -> std::result::Result<XorbInfo, String> {
    let mut v = XorbVerifier::new(Some(*expected), *limits);
    let mut from = 0;
    for &c in cuts.iter().chain(std::iter::once(&body.len())) {
        let c = c.clamp(from, body.len());
        v.update(&body[from..c]);
        from = c;
    }
    v.finish()
        .map_err(|e| format!("{:?}: {}", e.kind, e.message))
}

#[test]
fn a_body_verified_in_parts_gives_what_the_whole_body_gives() {
    // Raw, LZ4 and BG4 records of several sizes, then damaged copies: truncated anywhere, a byte
    // changed in a header or a payload, a footer or stray bytes after the last record.
    let mut b = XorbBuilder::new(XorbLimits::default());
    let text: Vec<u8> = b"The quick brown fox jumps over the lazy dog. "
        .iter()
        .cycle()
        .take(5000)
        .copied()
        .collect();
    b.push_chunk(&text, CompressionPolicy::Lz4).unwrap();
    b.push_chunk(&floats_chunk(), CompressionPolicy::Bg4)
        .unwrap();
    b.push_chunk(&splitmix64(3, 9000), CompressionPolicy::Lz4)
        .unwrap();
    b.push_chunk(b"tiny", CompressionPolicy::None).unwrap();
    b.push_chunk(&splitmix64(4, 70_000), CompressionPolicy::None)
        .unwrap();
    let x = b.finish().unwrap();
    let body = x.data.clone();
    let limits = XorbLimits::accepted();
    let mut bodies: Vec<Vec<u8>> = vec![body.clone(), Vec::new()];
    for cut in [1, 7, 8, 9, 100, body.len() - 1] {
        bodies.push(body[..cut].to_vec());
    }
    for at in [0, 1, 3, 4, 5, 7, 8, 20, 5000, body.len() - 1] {
        let mut d = body.clone();
        d[at] ^= 0x5a;
        bodies.push(d);
    }
    for tail in [&b"XETBLOB"[..], b"XETBLOB\0more", b"\0", b"abc"] {
        let mut d = body.clone();
        d.extend_from_slice(tail);
        bodies.push(d);
    }
    let tight = XorbLimits {
        max_chunks: 3,
        ..XorbLimits::accepted()
    };
    for d in &bodies {
        for limits in [&limits, &tight] {
            let whole = parse_xorb_with_limits(d, Some(&x.hash), limits)
                .map_err(|e| format!("{:?}: {}", e.kind, e.message));
            let n = d.len();
            let splits: Vec<Vec<usize>> = vec![
                vec![],
                vec![0],
                vec![1],
                vec![7, 8, 9],
                (0..n).step_by(3).collect(),
                (0..n).step_by(4099).collect(),
                vec![n / 2],
                vec![n.saturating_sub(3)],
            ];
            for cuts in splits {
                assert_eq!(
                    verify_in_parts(d, &cuts, &x.hash, limits),
                    whole,
                    "body of {n} bytes, cut at {cuts:?}"
                );
            }
        }
    }
}
