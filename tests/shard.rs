//! Shards (spec §5): upload shards byte-exact with the vectors and fixtures, full local shards
//! byte-exact (lookup tables, footer), dedup-answer shards, the reader on hostile input, and
//! write → parse round trips.

mod common;

use common::*;
use proptest::prelude::*;
use xet_core::*;
use xet_core::{chunk_hash, verification_hash};
use xet_core::{ErrorKind, MerkleHash};

fn sha_bytes(hex: &str) -> [u8; 32] {
    plain(hex).try_into().unwrap()
}

/// File and xorb entries of one `serialization.*` vector.
fn serialization_entries(name: &str) -> (FileEntry, XorbEntry) {
    let v = xet_core_vectors();
    let s = &v["serialization"][name];
    let hashes: Vec<MerkleHash> = s["chunks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| h(c["hash"].as_str().unwrap()))
        .collect();
    let lengths: Vec<u32> = s["chunks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["length"].as_u64().unwrap() as u32)
        .collect();
    let xh = h(s["xorb_hash"].as_str().unwrap());
    let sha = s["input"]["sha256_metadata_ext"]["standard_hex"]
        .as_str()
        .map(sha_bytes);
    let file = FileEntry {
        hash: h(s["file_hash"].as_str().unwrap()),
        flags: 0,
        terms: vec![FileTerm {
            xorb: xh,
            flags: 0,
            unpacked_bytes: lengths.iter().sum(),
            start: 0,
            end: hashes.len() as u32,
        }],
        verification: Some(vec![h(s["verification_hash_all_chunks"].as_str().unwrap())]),
        sha256: sha,
    };
    let xorb = XorbEntry::from_chunks(xh, &hashes, &lengths, 0).unwrap();
    (file, xorb)
}

#[test]
fn serialization_upload_shards_byte_exact() {
    let v = xet_core_vectors();
    for name in ["hello", "text2", "floats_bg4"] {
        let s = &v["serialization"][name];
        let expected = plain(s["upload_shard_hex"].as_str().unwrap());
        assert_eq!(
            expected.len() as u64,
            s["upload_shard_length"].as_u64().unwrap()
        );
        let (f, x) = serialization_entries(name);
        let got = write_upload_shard(std::slice::from_ref(&f), std::slice::from_ref(&x)).unwrap();
        assert_eq!(got, expected, "{name}");
        assert_eq!(
            upload_shard_len(std::slice::from_ref(&f), std::slice::from_ref(&x)),
            expected.len()
        );
        let parsed = parse_shard(&expected).unwrap();
        assert_eq!(parsed.footer_size, 0);
        assert!(parsed.footer.is_none());
        assert_eq!(parsed.xorbs, vec![x]);
        let mut pf = parsed.files[0].clone();
        assert_eq!(
            pf.flags & FILE_FLAG_WITH_VERIFICATION,
            FILE_FLAG_WITH_VERIFICATION
        );
        pf.flags = 0;
        assert_eq!(pf, f);
        assert_eq!(parsed.sections_end as usize, expected.len());
    }
    // §3.9: the stored bytes of text2's SHA-256 begin 08 3e 4d 93 b9 27 4d b9.
    let text2 = plain(
        v["serialization"]["text2"]["upload_shard_hex"]
            .as_str()
            .unwrap(),
    );
    let ext_at = 48 + 48 * 3; // header, then file header, one term, one verification entry
    assert_eq!(&text2[ext_at..ext_at + 8], &plain("083e4d93b9274db9")[..]);
}

#[test]
fn serialization_full_local_shards_byte_exact() {
    let v = xet_core_vectors();
    for name in ["hello", "text2", "floats_bg4"] {
        let s = &v["serialization"][name];
        let expected = plain(s["full_local_shard_hex"].as_str().unwrap());
        let (f, x) = serialization_entries(name);
        let got = write_full_shard(&[f], &[x], None, 0, u64::MAX).unwrap();
        assert_eq!(got, expected, "{name}");
        let parsed = parse_shard(&expected).unwrap();
        assert_eq!(parsed.footer_size, 200);
        let ft = parsed.footer.unwrap();
        let e = &s["full_local_shard_footer"];
        let u = |k: &str| e[k].as_u64().unwrap();
        assert_eq!(ft.version, u("version"));
        assert_eq!(ft.file_info_offset, u("file_info_offset"));
        assert_eq!(ft.xorb_info_offset, u("xorb_info_offset"));
        assert_eq!(ft.file_lookup_offset, u("file_lookup_offset"));
        assert_eq!(ft.file_lookup_count, u("file_lookup_num_entry"));
        assert_eq!(ft.xorb_lookup_offset, u("xorb_lookup_offset"));
        assert_eq!(ft.xorb_lookup_count, u("xorb_lookup_num_entry"));
        assert_eq!(ft.chunk_lookup_offset, u("chunk_lookup_offset"));
        assert_eq!(ft.chunk_lookup_count, u("chunk_lookup_num_entry"));
        assert_eq!(
            ft.hmac_key.to_vec(),
            plain(e["chunk_hash_hmac_key"].as_str().unwrap())
        );
        assert_eq!(ft.key(), None);
        assert_eq!(ft.created_at, u("shard_creation_timestamp"));
        assert_eq!(ft.expiry, u("shard_key_expiry"));
        assert_eq!(ft.stored_bytes_on_disk, u("stored_bytes_on_disk"));
        assert_eq!(ft.materialized_bytes, u("materialized_bytes"));
        assert_eq!(ft.stored_bytes, u("stored_bytes"));
        assert_eq!(ft.footer_offset, u("footer_offset"));
        assert_eq!(ft.footer_offset as usize, expected.len() - 200);
        assert!(ft.file_lookup_offset >= parsed.sections_end);
    }
}

/// The upload shard of one `vectors.json` input, from the vector fields alone.
pub fn fixture_entries(name: &str) -> (FileEntry, Vec<XorbEntry>) {
    let v = vectors();
    let e = &v[name];
    let terms: Vec<FileTerm> = e["segments_in_uploaded_shard"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| FileTerm {
            xorb: h(t["xorb_hash"].as_str().unwrap()),
            flags: t["xorb_flags"].as_u64().unwrap() as u32,
            unpacked_bytes: t["unpacked_segment_bytes"].as_u64().unwrap() as u32,
            start: t["chunk_index_start"].as_u64().unwrap() as u32,
            end: t["chunk_index_end"].as_u64().unwrap() as u32,
        })
        .collect();
    let ver: Vec<MerkleHash> = e["verification_range_hashes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| h(x.as_str().unwrap()))
        .collect();
    let mut distinct: Vec<(MerkleHash, u32)> = Vec::new();
    for c in e["chunks"].as_array().unwrap() {
        let p = (
            h(c["hash"].as_str().unwrap()),
            c["len"].as_u64().unwrap() as u32,
        );
        if !distinct.contains(&p) {
            distinct.push(p);
        }
    }
    let xorbs = e["xorbs_uploaded"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| {
            let hs: Vec<MerkleHash> = distinct.iter().map(|d| d.0).collect();
            let ls: Vec<u32> = distinct.iter().map(|d| d.1).collect();
            XorbEntry::from_chunks(h(x["xorb_hash"].as_str().unwrap()), &hs, &ls, 0).unwrap()
        })
        .collect();
    (
        FileEntry {
            hash: h(e["xet_file_hash"].as_str().unwrap()),
            flags: 0,
            terms,
            verification: Some(ver),
            sha256: None,
        },
        xorbs,
    )
}

const FIXTURES: [(&str, &str); 6] = [
    ("shard_empty.bin", "empty.bin"),
    ("shard_one_byte.bin", "one_byte.bin"),
    ("shard_splitmix_100KiB.bin", "splitmix_100KiB.bin"),
    ("shard_splitmix_5MiB.bin", "splitmix_5MiB.bin"),
    ("shard_text_200KiB.bin", "text_200KiB.txt"),
    ("shard_zeros_1MiB.bin", "zeros_1MiB.bin"),
];

#[test]
fn fixture_shards_rebuilt_and_parsed() {
    for (file, name) in FIXTURES {
        let expected = fixture(file);
        let (f, xs) = fixture_entries(name);
        assert_eq!(
            write_upload_shard(std::slice::from_ref(&f), &xs).unwrap(),
            expected,
            "{file}"
        );
        let p = parse_shard(&expected).unwrap();
        assert_eq!(p.files.len(), 1);
        assert_eq!(p.files[0].hash, f.hash);
        assert_eq!(p.files[0].terms, f.terms);
        assert_eq!(p.files[0].verification, f.verification);
        assert_eq!(p.files[0].flags, FILE_FLAG_WITH_VERIFICATION);
        assert_eq!(p.xorbs, xs);
        assert_eq!(p.files[0].size(), vectors()[name]["size"].as_u64().unwrap());
    }
    assert_eq!(fixture("shard_empty.bin").len(), 192);
}

#[test]
fn tolerates_js_footer_and_trailing_bytes() {
    // huggingface.js appends a footer (footer_size 200, lookup fields 0) to upload bodies.
    let (f, xs) = fixture_entries("text_200KiB.txt");
    let mut body = write_upload_shard(std::slice::from_ref(&f), &xs).unwrap();
    body[40..48].copy_from_slice(&200u64.to_le_bytes());
    let mut footer = vec![0u8; 200];
    footer[..8].copy_from_slice(&1u64.to_le_bytes());
    body.extend_from_slice(&footer);
    let p = parse_shard(&body).unwrap();
    assert_eq!(p.files[0].terms, f.terms);
    assert_eq!(p.footer.unwrap().file_lookup_offset, 0);
    // footer_size 0 with bytes after the xorb bookend: ignored.
    let mut body = write_upload_shard(std::slice::from_ref(&f), &xs).unwrap();
    let end = body.len();
    body.extend_from_slice(&[1, 2, 3]);
    let p = parse_shard(&body).unwrap();
    assert_eq!(p.sections_end as usize, end);
}

#[test]
fn rejects_bad_shards() {
    let (f, xs) = fixture_entries("splitmix_100KiB.bin");
    let good = write_upload_shard(std::slice::from_ref(&f), &xs).unwrap();
    let check = |bytes: &[u8], kind: ErrorKind, what: &str| {
        let e = parse_shard(bytes).unwrap_err();
        assert_eq!(e.kind, kind, "{what}: {e}");
    };
    let mut b = good.clone();
    b[3] ^= 1;
    check(&b, ErrorKind::BadShard, "tag");
    let mut b = good.clone();
    b[32] = 3;
    check(&b, ErrorKind::BadShard, "version");
    let mut b = good.clone();
    b[40] = 7;
    check(&b, ErrorKind::BadShard, "footer_size");
    let mut b = good.clone();
    b[40] = 200;
    check(
        &b,
        ErrorKind::Truncated,
        "footer announced, shard too short",
    );
    // A term count that exceeds the bytes left.
    let mut b = good.clone();
    b[48 + 36..48 + 40].copy_from_slice(&u32::MAX.to_le_bytes());
    check(&b, ErrorKind::Truncated, "huge term count");
    // A chunk count that exceeds the bytes left.
    let xorb_at = 48 + f.block_len() + 48;
    let mut b = good.clone();
    b[xorb_at + 36..xorb_at + 40].copy_from_slice(&1_000_000u32.to_le_bytes());
    check(&b, ErrorKind::Truncated, "huge chunk count");
    // Empty term range.
    let mut b = good.clone();
    b[96 + 40..96 + 44].copy_from_slice(&9u32.to_le_bytes());
    check(&b, ErrorKind::BadShard, "term start >= end");
    // Bad footer version.
    let (hf, hx) = serialization_entries_for_hello();
    let mut full = write_full_shard(&[hf], &[hx], None, 1, 2).unwrap();
    let at = full.len() - 200;
    full[at] = 2;
    check(&full, ErrorKind::BadShard, "footer version");
    // Only some files carry verification.
    let mut g = f.clone();
    g.hash = MerkleHash([9; 32]);
    g.verification = None;
    let mixed = write_upload_shard(&[f.clone(), g.clone()], &xs).unwrap();
    check(&mixed, ErrorKind::BadShard, "mixed verification");
    // All files without verification is well-formed (the server decides whether to accept).
    let mut f2 = f.clone();
    f2.verification = None;
    parse_shard(&write_upload_shard(&[f2, g], &xs).unwrap()).unwrap();
    // An empty file without the flag beside files with it is fine (nothing to verify).
    let empty = FileEntry {
        hash: MerkleHash::ZERO,
        flags: 0,
        terms: vec![],
        verification: None,
        sha256: None,
    };
    parse_shard(&write_upload_shard(&[f.clone(), empty], &xs).unwrap()).unwrap();
    // Writer refuses a verification list of the wrong length.
    let mut bad = f.clone();
    bad.verification = Some(vec![]);
    assert_eq!(
        write_upload_shard(&[bad], &[]).unwrap_err().kind,
        ErrorKind::InvalidArgument
    );
}

fn serialization_entries_for_hello() -> (FileEntry, XorbEntry) {
    let v = xet_core_vectors();
    let s = &v["serialization"]["hello"];
    let hh = h(s["xorb_hash"].as_str().unwrap());
    (
        FileEntry {
            hash: h(s["file_hash"].as_str().unwrap()),
            flags: 0,
            terms: vec![FileTerm {
                xorb: hh,
                flags: 0,
                unpacked_bytes: 11,
                start: 0,
                end: 1,
            }],
            verification: Some(vec![verification_hash(&[hh])]),
            sha256: None,
        },
        XorbEntry::from_chunks(hh, &[hh], &[11], 19).unwrap(),
    )
}

#[test]
fn every_prefix_and_corruptions_never_panic() {
    let v = xet_core_vectors();
    let mut shards: Vec<Vec<u8>> = FIXTURES.iter().map(|(f, _)| fixture(f)).collect();
    for n in ["hello", "text2", "floats_bg4"] {
        shards.push(plain(
            v["serialization"][n]["upload_shard_hex"].as_str().unwrap(),
        ));
        shards.push(plain(
            v["serialization"][n]["full_local_shard_hex"]
                .as_str()
                .unwrap(),
        ));
    }
    let mut d = DedupShardBuilder::new();
    d.add_xorb(
        MerkleHash([3; 32]),
        &[MerkleHash([4; 32]); 3],
        &[10, 20, 30],
        99,
    )
    .unwrap();
    shards.push(d.finish(Some([5; 32]), 10, 20).unwrap());
    for s in &shards {
        let full = parse_shard(s).unwrap();
        for cut in 0..s.len() {
            let r = parse_shard(&s[..cut]);
            // A full shard cut inside its lookup tables or footer is still a structurally
            // complete upload body only when footer_size is 0 and the sections are intact.
            if full.footer_size == 0 && cut as u64 >= full.sections_end {
                assert!(r.is_ok());
            } else {
                assert!(r.is_err(), "prefix {cut} of {} parsed", s.len());
            }
        }
        let mut rng = Rng(s.len() as u64);
        for _ in 0..500 {
            let mut bad = s.clone();
            for _ in 0..1 + rng.below(4) {
                let i = rng.below(bad.len() as u64) as usize;
                bad[i] = rng.next() as u8;
            }
            let _ = parse_shard(&bad);
        }
    }
}

#[test]
fn dedup_shard_builder() {
    let chunks: Vec<Vec<u8>> = (0..5u8).map(|i| vec![i; 1000 + i as usize]).collect();
    let hashes: Vec<MerkleHash> = chunks.iter().map(|c| chunk_hash(c)).collect();
    let lengths: Vec<u32> = chunks.iter().map(|c| c.len() as u32).collect();
    let xh = MerkleHash([0xab; 32]);
    let mut b = DedupShardBuilder::new();
    b.add_xorb(xh, &hashes, &lengths, 4242).unwrap();
    b.add_xorb(MerkleHash([0xcd; 32]), &hashes[..2], &lengths[..2], 0)
        .unwrap();
    assert_eq!(
        b.add_xorb(xh, &hashes, &lengths[..2], 1).unwrap_err().kind,
        ErrorKind::InvalidArgument
    );
    assert_eq!(
        b.add_xorb(xh, &[], &[], 1).unwrap_err().kind,
        ErrorKind::InvalidArgument
    );
    for key in [None, Some([0u8; 32]), Some([7u8; 32])] {
        let bytes = b.finish(key, 1_700_000_000, 1_700_604_800).unwrap();
        let p = parse_shard(&bytes).unwrap();
        assert_eq!(p.footer_size, 200);
        assert!(p.files.is_empty());
        assert_eq!(p.xorbs.len(), 2);
        let ft = p.footer.unwrap();
        assert!(
            ft.file_lookup_offset >= p.sections_end,
            "JS walks xorbs below it"
        );
        assert_eq!(ft.file_lookup_offset, p.sections_end);
        assert_eq!(ft.created_at, 1_700_000_000);
        assert_eq!(ft.expiry, 1_700_604_800);
        assert_eq!(ft.footer_offset as usize, bytes.len() - 200);
        assert_eq!(ft.xorb_lookup_count, 2);
        assert_eq!(ft.chunk_lookup_count, 7);
        assert_eq!(ft.stored_bytes_on_disk, 4242);
        assert_eq!(
            ft.stored_bytes,
            lengths.iter().map(|&l| l as u64).sum::<u64>() + 2001
        );
        let x = &p.xorbs[0];
        assert_eq!(x.hash, xh);
        assert_eq!(x.bytes_on_disk, 4242);
        let mut off = 0;
        for (i, c) in x.chunks.iter().enumerate() {
            assert_eq!(c.offset, off);
            assert_eq!(c.length, lengths[i]);
            off += lengths[i];
            match key {
                Some(k) if k != [0u8; 32] => {
                    assert_eq!(ft.key(), Some(k));
                    assert_eq!(c.hash, hashes[i].hmac(&k));
                }
                _ => {
                    assert_eq!(ft.key(), None);
                    assert_eq!(c.hash, hashes[i]);
                }
            }
        }
    }
}

fn hash_strategy() -> impl Strategy<Value = MerkleHash> {
    any::<[u8; 32]>().prop_map(|mut b| {
        if b == [0xFF; 32] {
            b[0] = 0; // not a bookend
        }
        MerkleHash(b)
    })
}

fn file_strategy(ver: bool) -> impl Strategy<Value = FileEntry> {
    (
        hash_strategy(),
        prop::collection::vec((hash_strategy(), any::<u32>(), 0u32..1000, 1u32..50), 0..6),
        prop::option::of(any::<[u8; 32]>()),
    )
        .prop_map(move |(hash, ts, sha)| {
            let terms: Vec<FileTerm> = ts
                .iter()
                .map(|(x, u, s, n)| FileTerm {
                    xorb: *x,
                    flags: 0,
                    unpacked_bytes: *u,
                    start: *s,
                    end: s + n,
                })
                .collect();
            let verification = ver.then(|| terms.iter().map(|t| t.xorb.hmac(&[1; 32])).collect());
            FileEntry {
                hash,
                flags: 0,
                terms,
                verification,
                sha256: sha,
            }
        })
}

fn xorb_strategy() -> impl Strategy<Value = XorbEntry> {
    (
        hash_strategy(),
        prop::collection::vec((hash_strategy(), 1u32..131_073), 1..20),
        any::<u32>(),
    )
        .prop_map(|(hash, cs, disk)| {
            let hs: Vec<MerkleHash> = cs.iter().map(|c| c.0).collect();
            let ls: Vec<u32> = cs.iter().map(|c| c.1).collect();
            XorbEntry::from_chunks(hash, &hs, &ls, disk).unwrap()
        })
}

fn with_flags(mut f: FileEntry) -> FileEntry {
    if f.verification.is_some() {
        f.flags |= FILE_FLAG_WITH_VERIFICATION;
    }
    if f.sha256.is_some() {
        f.flags |= FILE_FLAG_WITH_METADATA_EXT;
    }
    f
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, .. ProptestConfig::default() })]

    #[test]
    fn write_parse_round_trip(
        ver in any::<bool>(),
        files in prop::collection::vec(file_strategy(true), 0..5),
        xorbs in prop::collection::vec(xorb_strategy(), 0..5),
        key in prop::option::of(any::<[u8; 32]>()),
        created in any::<u64>(),
        expiry in any::<u64>(),
    ) {
        let files: Vec<FileEntry> = files.into_iter().map(|mut f| {
            if !ver { f.verification = None; }
            f
        }).collect();
        let up = write_upload_shard(&files, &xorbs).unwrap();
        prop_assert_eq!(up.len(), upload_shard_len(&files, &xorbs));
        let p = parse_shard(&up).unwrap();
        let expected: Vec<FileEntry> = files.iter().cloned().map(with_flags).collect();
        prop_assert_eq!(&p.files, &expected);
        prop_assert_eq!(&p.xorbs, &xorbs);
        let full = write_full_shard(&files, &xorbs, key, created, expiry).unwrap();
        let p = parse_shard(&full).unwrap();
        prop_assert_eq!(&p.files, &expected);
        prop_assert_eq!(&p.xorbs, &xorbs);
        let ft = p.footer.unwrap();
        prop_assert_eq!(ft.hmac_key, key.unwrap_or([0; 32]));
        prop_assert_eq!(ft.created_at, created);
        prop_assert_eq!(ft.expiry, expiry);
        prop_assert_eq!(ft.file_lookup_count as usize, files.len());
        prop_assert_eq!(ft.xorb_lookup_count as usize, xorbs.len());
        prop_assert_eq!(ft.file_lookup_offset, p.sections_end);
        prop_assert_eq!(ft.materialized_bytes, files.iter().map(|f| f.size()).sum::<u64>());
    }
}

/// A xorb of `n` chunks (hashes from `seed`), with a file whose only term starts at chunk `first`.
fn xorb_and_file(seed: u8, n: usize, first: u32) -> (XorbEntry, FileEntry) {
    let hashes: Vec<MerkleHash> = (0..n)
        .map(|i| chunk_hash(&[seed, i as u8, (i >> 8) as u8]))
        .collect();
    let lengths = vec![1000u32; n];
    let xh = MerkleHash([seed; 32]);
    let xorb = XorbEntry::from_chunks(xh, &hashes, &lengths, 7).unwrap();
    let file = FileEntry {
        hash: MerkleHash([seed ^ 0xff; 32]),
        flags: 0,
        terms: vec![FileTerm {
            xorb: xh,
            flags: 0,
            unpacked_bytes: 1000 * (n as u32 - first),
            start: first,
            end: n as u32,
        }],
        verification: None,
        sha256: None,
    };
    (xorb, file)
}

#[test]
fn upload_entries_regroup_xorbs_with_their_keys() {
    let (x1, f1) = xorb_and_file(1, 300, 5);
    let (x2, f2) = xorb_and_file(2, 300, 0);
    let (x3, f3) = xorb_and_file(3, 500, 0);
    let a = write_upload_shard(&[f1.clone(), f2], &[x1.clone(), x2.clone()]).unwrap();
    // The second shard lists x1 again (an earlier attempt's): it is kept once, and the key of the file of the
    // second shard that starts in it (at chunk 7) joins x1's entry.
    let f4 = FileEntry {
        hash: MerkleHash([0x44; 32]),
        terms: vec![FileTerm {
            start: 7,
            ..f1.terms[0]
        }],
        ..f1.clone()
    };
    let b = write_upload_shard(&[f3, f4], &[x3.clone(), x1.clone()]).unwrap();
    let mut e = UploadEntries::new(700, 64);
    e.add_shard(&parse_shard(&a).unwrap()).unwrap();
    e.add_shard(&parse_shard(&b).unwrap()).unwrap();
    let entries = e.finish(1_700_000_000).unwrap();
    // 300 + 300 fit in 700 chunks; x3's 500 more do not: a second entry.
    assert_eq!(entries.len(), 2);
    assert_eq!(entries[0].xorbs, vec![x1.hash, x2.hash]);
    assert_eq!(entries[1].xorbs, vec![x3.hash]);
    for (entry, xorbs, files) in [
        (
            &entries[0],
            vec![&x1, &x2],
            vec![(&x1, 5u32), (&x2, 0), (&x1, 7)],
        ),
        (&entries[1], vec![&x3], vec![(&x3, 0)]),
    ] {
        // The shard is a dedup answer of exactly those xorbs, plain hashes, stamped as asked.
        let p = parse_shard(&entry.shard).unwrap();
        assert!(p.files.is_empty());
        assert_eq!(p.xorbs.iter().collect::<Vec<_>>(), xorbs);
        let ft = p.footer.unwrap();
        assert_eq!(ft.key(), None);
        assert_eq!((ft.created_at, ft.expiry), (1_700_000_000, 0));
        // Keys: each xorb's first chunk, its chunks 0 mod 64, each file's first chunk; once each.
        let mut want: Vec<MerkleHash> = Vec::new();
        for x in &xorbs {
            want.push(x.chunks[0].hash);
            want.extend(
                x.chunks
                    .iter()
                    .map(|c| c.hash)
                    .filter(|h| h.hash_mod(64) == 0),
            );
        }
        want.extend(
            files
                .iter()
                .map(|(x, first)| x.chunks[*first as usize].hash),
        );
        let mut got = entry.keys.clone();
        let n = got.len();
        got.sort_by_key(|h| h.0);
        got.dedup();
        assert_eq!(got.len(), n, "keys are listed once");
        want.sort_by_key(|h| h.0);
        want.dedup();
        assert_eq!(got, want);
    }
    // A xorb larger than the bound makes an entry of its own; modulus 0 keys no chunk by its hash.
    let mut e = UploadEntries::new(100, 0);
    e.add_shard(&parse_shard(&a).unwrap()).unwrap();
    let entries = e.finish(1).unwrap();
    assert_eq!(entries.len(), 2);
    assert_eq!(entries[0].keys, vec![x1.chunks[0].hash, x1.chunks[5].hash]);
    assert_eq!(entries[1].keys, vec![x2.chunks[0].hash]);
    // Nothing added: no entry.
    assert!(UploadEntries::new(100, 64).finish(1).unwrap().is_empty());
}
