//! UploadSession: fixture shards rebuilt byte for byte, split invariance, dedup (local, global,
//! HMAC-keyed, expired, partially changed files), queries and waiting, limits and shard
//! splitting, state errors.

mod common;

use common::*;
use proptest::prelude::*;
use std::collections::HashMap;
use xet_core::*;
use xet_core::{chunk_hash, is_global_dedup_eligible, verification_hash};
use xet_core::{decode_chunk_records, parse_xorb, CompressionPolicy};
use xet_core::{parse_shard, DedupShardBuilder, FileEntry, XorbEntry, FILE_FLAG_WITH_VERIFICATION};
use xet_core::{ErrorKind, MerkleHash};

#[derive(Debug, Default, Clone, PartialEq)]
struct Outcome {
    files: Vec<FileResult>,
    xorbs: Vec<XorbResult>,
    shards: Vec<Vec<u8>>,
    stats: Option<SessionStats>,
}

type Answer<'a> = &'a dyn Fn(&MerkleHash) -> Option<Vec<u8>>;

/// Uploads files through one session: pushes each in `piece`-byte pieces, answers queries
/// after every push with `answer`, finishes, flushes and takes everything.
fn run(opts: UploadOptions, files: &[&[u8]], piece: usize, answer: Answer) -> Outcome {
    let mut s = UploadSession::new(opts).unwrap();
    let mut out = Outcome::default();
    for data in files {
        s.start_file(false).unwrap();
        for p in data.chunks(piece.max(1)) {
            s.push(p).unwrap();
            for q in s.take_queries() {
                let a = answer(&q);
                s.answer_query(&q, a.as_deref(), 1e9).unwrap();
            }
            while let Some(x) = s.take_xorb() {
                out.xorbs.push(x);
            }
        }
        s.end_input().unwrap();
        for q in s.take_queries() {
            let a = answer(&q);
            s.answer_query(&q, a.as_deref(), 1e9).unwrap();
        }
        assert_eq!(s.pending_bytes(), 0);
        out.files.push(s.finish_file().unwrap());
        assert_eq!(s.outstanding_queries(), 0);
    }
    s.flush_xorb();
    while let Some(x) = s.take_xorb() {
        out.xorbs.push(x);
    }
    while let Some(sh) = s.take_shard().unwrap() {
        out.shards.push(sh);
    }
    assert!(s.take_shard().unwrap().is_none());
    out.stats = Some(s.stats());
    out
}

fn no_answer(_: &MerkleHash) -> Option<Vec<u8>> {
    None
}

fn hf_xet_like() -> UploadOptions {
    UploadOptions {
        write_bytes_on_disk: false,
        ..UploadOptions::default()
    }
}

#[test]
fn fixture_shards_rebuilt_through_the_session() {
    let v = vectors();
    for (file, name) in [
        ("shard_empty.bin", "empty.bin"),
        ("shard_one_byte.bin", "one_byte.bin"),
        ("shard_splitmix_100KiB.bin", "splitmix_100KiB.bin"),
        ("shard_splitmix_5MiB.bin", "splitmix_5MiB.bin"),
        ("shard_text_200KiB.bin", "text_200KiB.txt"),
        ("shard_zeros_1MiB.bin", "zeros_1MiB.bin"),
    ] {
        let e = &v[name];
        let data = input_for(name, e["size"].as_u64().unwrap() as usize);
        for piece in [data.len().max(1), 65536, 37_000] {
            let out = run(hf_xet_like(), &[&data], piece, &no_answer);
            assert_eq!(out.shards, vec![fixture(file)], "{name} piece {piece}");
            let f = &out.files[0];
            assert_eq!(f.hash.to_hex(), e["xet_file_hash"].as_str().unwrap());
            assert_eq!(f.size, data.len() as u64);
            assert_eq!(
                f.chunk_count as usize,
                e["chunks"].as_array().unwrap().len()
            );
            assert_eq!(f.new_bytes + f.dedup_local_bytes, f.size);
            assert_eq!(f.sha256, None);
            let xs = e["xorbs_uploaded"].as_array().unwrap();
            assert_eq!(out.xorbs.len(), xs.len());
            for (x, xv) in out.xorbs.iter().zip(xs) {
                assert_eq!(x.hash.to_hex(), xv["xorb_hash"].as_str().unwrap());
                assert_eq!(x.raw_bytes, xv["unpacked_bytes"].as_u64().unwrap());
                parse_xorb(&x.data, &x.hash).unwrap();
                let all_raw = xv["chunk_records"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .all(|r| r["compression_scheme"].as_u64() == Some(0));
                if all_raw {
                    // Scheme-0 xorbs are byte-exact: incompressible chunks are stored raw.
                    assert_eq!(
                        x.data.len() as u64,
                        xv["serialized_len_as_uploaded"].as_u64().unwrap()
                    );
                    if let Some(fx) = match name {
                        "one_byte.bin" => Some("xorb_one_byte_a4d4ed80fcb2.bin"),
                        "splitmix_100KiB.bin" => Some("xorb_splitmix_100KiB_4232f96e026e.bin"),
                        _ => None,
                    } {
                        assert_eq!(x.data, fixture(fx));
                    }
                } else {
                    // LZ4 xorbs: compare decoded chunks with the fixture's, not bytes.
                    let fx = match name {
                        "text_200KiB.txt" => "xorb_text_200KiB_754334b8c0ee.bin",
                        _ => "xorb_zeros_1MiB_2e39f13c2480.bin",
                    };
                    let ours = decode_chunk_records(&x.data).unwrap();
                    let theirs = decode_chunk_records(&fixture(fx)).unwrap();
                    assert_eq!(ours.data, theirs.data);
                    assert_eq!(ours.hashes, theirs.hashes);
                }
            }
        }
    }
}

#[test]
fn bytes_on_disk_is_the_serialized_length_by_default() {
    let data = text(300_000);
    let out = run(UploadOptions::default(), &[&data], 1 << 20, &no_answer);
    let p = parse_shard(&out.shards[0]).unwrap();
    assert_eq!(p.xorbs[0].bytes_on_disk as usize, out.xorbs[0].data.len());
    assert!(out.xorbs[0].data.len() < data.len() / 4, "text compresses");
}

#[test]
fn sha256_is_reported_and_stored() {
    let data = text(100_000);
    let mut s = UploadSession::new(UploadOptions::default()).unwrap();
    s.start_file(true).unwrap();
    s.push(&data).unwrap();
    let r = s.finish_file().unwrap();
    assert_eq!(r.sha256.as_deref(), Some(sha256_hex(&data).as_str()));
    s.flush_xorb();
    let p = parse_shard(&s.take_shard().unwrap().unwrap()).unwrap();
    assert_eq!(
        p.files[0].sha256.map(|d| xet_core::to_plain_hex(&d)),
        Some(sha256_hex(&data))
    );
}

#[test]
fn sha256_given_by_the_caller_is_stored_like_a_computed_one() {
    use xet_core::{prepare_segment, ChunkCompressor, SegmentSpec};
    let data = text(300_000);
    // In-session bytes computing the SHA-256: the reference.
    let mut a = UploadSession::new(UploadOptions::default()).unwrap();
    a.start_file(true).unwrap();
    a.push(&data).unwrap();
    let ra = a.finish_file().unwrap();
    a.flush_xorb();
    let shard_a = a.take_shard().unwrap().unwrap();
    // External records (the bytes never reach the session), the SHA-256 computed by the caller.
    let mut b = UploadSession::new(UploadOptions::default()).unwrap();
    let seg = prepare_segment(
        &data,
        SegmentSpec::last(0),
        Some(CompressionPolicy::Best),
        &mut ChunkCompressor::new(),
    )
    .unwrap();
    b.start_file(false).unwrap();
    let mut prev = 0;
    let chunks = (0..seg.len())
        .map(|i| {
            let end = seg.chunk_end(i);
            let c =
                PreparedChunk::external(seg.hash(i), (end - prev) as u32, seg.record_len(i) as u32);
            prev = end;
            c
        })
        .collect::<Vec<_>>();
    b.push_chunks(chunks).unwrap();
    let mut digest = [0u8; 32];
    let hex = sha256_hex(&data);
    for (i, d) in digest.iter_mut().enumerate() {
        *d = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap();
    }
    let rb = b.finish_file_with_sha256(Some(digest)).unwrap();
    assert_eq!(rb.sha256, ra.sha256);
    assert_eq!(rb.hash, ra.hash);
    b.flush_xorb();
    let shard_b = b.take_shard().unwrap().unwrap();
    assert_eq!(
        parse_shard(&shard_b).unwrap().files[0].sha256,
        parse_shard(&shard_a).unwrap().files[0].sha256
    );
    assert_eq!(shard_b, shard_a, "the same shard bytes");
    // A file computing its own SHA-256 takes no other.
    let mut c = UploadSession::new(UploadOptions::default()).unwrap();
    c.start_file(true).unwrap();
    c.push(b"abc").unwrap();
    assert_eq!(
        c.finish_file_with_sha256(Some(digest)).unwrap_err().kind,
        ErrorKind::InvalidState
    );
}

/// A deterministic test corpus: random data with repeated blocks (local dedup) and text.
fn corpus(seed: u64, len: usize) -> Vec<u8> {
    let mut rng = Rng(seed);
    let mut out = Vec::with_capacity(len);
    let block = splitmix64(seed ^ 77, 200_000);
    while out.len() < len {
        match rng.below(3) {
            0 => out.extend_from_slice(&splitmix64(rng.next(), 150_000)),
            1 => out.extend_from_slice(&block),
            _ => out.extend_from_slice(&text(90_000)),
        }
    }
    out.truncate(len);
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, .. ProptestConfig::default() })]

    #[test]
    fn session_split_invariance(seed in any::<u64>(), len in 0usize..1_500_000, piece in 1usize..300_000, chunks in 1usize..40) {
        let data = corpus(seed, len);
        let opts = UploadOptions {
            max_xorb_chunks: chunks,
            max_xorb_bytes: 400_000,
            compression: CompressionPolicy::Lz4,
            ..UploadOptions::default()
        };
        let whole = run(opts.clone(), &[&data, &data[..len / 3]], usize::MAX, &no_answer);
        let split = run(opts, &[&data, &data[..len / 3]], piece, &no_answer);
        prop_assert_eq!(&whole, &split);
        // The second file is a prefix: mostly local dedup.
        let f = &whole.files[1];
        prop_assert_eq!(f.new_bytes + f.dedup_local_bytes, f.size);
    }
}

#[test]
fn prepared_chunks_equal_pushed_bytes() {
    let data = corpus(5, 2_000_000);
    let opts = UploadOptions {
        max_xorb_chunks: 7,
        ..UploadOptions::default()
    };
    let pushed = run(opts.clone(), &[&data], 100_000, &no_answer);
    for mode in 0..2 {
        let mut s = UploadSession::new(opts.clone()).unwrap();
        s.start_file(false).unwrap();
        let cuts = xet_core::Chunker::boundaries(&data);
        let mut start = 0;
        let mut prepared = Vec::new();
        for &end in &cuts {
            let c = &data[start..end];
            prepared.push(if mode == 0 {
                PreparedChunk::prepare(c, opts.compression).unwrap()
            } else {
                PreparedChunk::raw(c)
            });
            start = end;
        }
        for batch in prepared.chunks(5) {
            s.push_chunks(batch.to_vec()).unwrap();
            for q in s.take_queries() {
                s.answer_query(&q, None, 0.0).unwrap();
            }
        }
        let f = s.finish_file().unwrap();
        assert_eq!(f, pushed.files[0]);
        s.flush_xorb();
        let mut xorbs = Vec::new();
        while let Some(x) = s.take_xorb() {
            xorbs.push(x);
        }
        assert_eq!(xorbs, pushed.xorbs);
        assert_eq!(s.take_shard().unwrap().unwrap(), pushed.shards[0]);
    }
}

/// A dedup-answer shard holding every xorb of `out` (parsed back from the bodies).
fn answer_shard(xorbs: &[XorbResult], key: Option<[u8; 32]>, expiry: u64) -> Vec<u8> {
    let mut b = DedupShardBuilder::new();
    for x in xorbs {
        let info = parse_xorb(&x.data, &x.hash).unwrap();
        b.add_xorb(x.hash, &info.hashes, &info.lengths, x.data.len() as u32)
            .unwrap();
    }
    b.finish(key, 1_000, expiry).unwrap()
}

fn file_terms(shard: &[u8]) -> Vec<FileEntry> {
    parse_shard(shard).unwrap().files
}

#[test]
fn global_dedup_of_a_reupload_plain_and_keyed() {
    let data = corpus(11, 3_000_000);
    let opts = UploadOptions {
        max_xorb_chunks: 9,
        ..UploadOptions::default()
    };
    let first = run(opts.clone(), &[&data], 1 << 20, &no_answer);
    assert!(first.xorbs.len() > 2);
    for key in [None, Some([42u8; 32])] {
        let shard = answer_shard(&first.xorbs, key, 0);
        let answer = |_: &MerkleHash| Some(shard.clone());
        let second = run(opts.clone(), &[&data], 300_000, &answer);
        let f = &second.files[0];
        assert_eq!(f.hash, first.files[0].hash);
        assert_eq!(f.new_bytes, 0, "key {key:?}");
        assert_eq!(f.dedup_global_bytes + f.dedup_local_bytes, f.size);
        assert!(second.xorbs.is_empty());
        assert_eq!(
            file_terms(&second.shards[0]),
            file_terms(&first.shards[0]),
            "same terms, pointing at the first session's xorbs"
        );
        assert!(parse_shard(&second.shards[0]).unwrap().xorbs.is_empty());
        assert!(second.stats.unwrap().queries_issued >= 1);
    }
}

#[test]
fn expired_answers_are_ignored() {
    let data = corpus(12, 600_000);
    let first = run(UploadOptions::default(), &[&data], 1 << 20, &no_answer);
    let expired = answer_shard(&first.xorbs, None, 500);
    let fresh = answer_shard(&first.xorbs, None, 2_000_000_000);
    for (shard, now, learned) in [
        (&expired, 1_000.0, 0),
        (&fresh, 1_000.0, 1),
        (&expired, 400.0, 1),
    ] {
        let mut s = UploadSession::new(UploadOptions::default()).unwrap();
        s.start_file(false).unwrap();
        s.push(&data).unwrap();
        let qs = s.take_queries();
        assert_eq!(qs.len(), 1, "the first chunk is queried");
        assert_eq!(
            qs[0],
            chunk_hash(&data[..xet_core::Chunker::boundaries(&data)[0]])
        );
        assert_eq!(s.answer_query(&qs[0], Some(shard), now).unwrap(), learned);
        let f = s.finish_file().unwrap();
        if learned == 1 {
            assert_eq!(f.new_bytes, 0);
        } else {
            assert_eq!(f.dedup_global_bytes, 0);
            assert_eq!(f.new_bytes + f.dedup_local_bytes, f.size);
        }
    }
}

#[test]
fn a_xorb_learned_again_after_expiry_is_found() {
    let data = corpus(13, 300_000);
    let first = run(UploadOptions::default(), &[&data], 1 << 20, &no_answer);
    let short = answer_shard(&first.xorbs, None, 2_000);
    let long = answer_shard(&first.xorbs, None, 9_000);
    let mut s = UploadSession::new(UploadOptions::default()).unwrap();
    // Learned at t=1000 with expiry 2000.
    let q = MerkleHash([1; 32]);
    assert_eq!(s.answer_query(&q, Some(&short), 1_000.0).unwrap(), 1);
    // At t=3000 the old entry has expired; the same xorb is learned again with a later expiry.
    assert_eq!(s.answer_query(&q, Some(&long), 3_000.0).unwrap(), 1);
    s.start_file(false).unwrap();
    s.push(&data).unwrap();
    let f = s.finish_file().unwrap();
    assert_eq!(f.new_bytes, 0);
    assert_eq!(f.dedup_global_bytes + f.dedup_local_bytes, f.size);
}

#[test]
fn partially_changed_file_dedups_the_rest() {
    let size = 24 << 20;
    let data = splitmix64(21, size);
    let opts = UploadOptions {
        compression: CompressionPolicy::None,
        ..UploadOptions::default()
    };
    let first = run(opts.clone(), &[&data], 4 << 20, &no_answer);
    let shard = answer_shard(&first.xorbs, None, 0);
    let mut rng = Rng(9);
    for round in 0..3 {
        // 10 % of the bytes changed in 4 contiguous regions.
        let mut edited = data.clone();
        let region = size / 40;
        for k in 0..4 {
            let lo = k * size / 4;
            let start = lo + rng.below((size / 4 - region) as u64) as usize;
            for b in &mut edited[start..start + region] {
                *b = b.wrapping_add(1 + round as u8);
            }
        }
        let answer = |_: &MerkleHash| Some(shard.clone());
        let second = run(opts.clone(), &[&edited], 1 << 20, &answer);
        let f = &second.files[0];
        let ratio = f.new_bytes as f64 / f.size as f64;
        assert!(
            ratio <= 0.13,
            "round {round}: {:.3} of the bytes are new",
            ratio
        );
        assert!(
            ratio >= 0.10,
            "round {round}: changed bytes must be new ({ratio:.3})"
        );
        assert_eq!(
            f.new_bytes + f.dedup_global_bytes + f.dedup_local_bytes,
            f.size
        );
    }
}

#[test]
fn queries_wait_and_hold_bytes() {
    let data = splitmix64(3, 2_000_000);
    let mut s = UploadSession::new(UploadOptions::default()).unwrap();
    s.start_file(false).unwrap();
    s.push(&data).unwrap();
    let qs = s.take_queries();
    assert_eq!(qs.len(), 1);
    assert!(s.take_queries().is_empty(), "each query is reported once");
    assert_eq!(s.outstanding_queries(), 1);
    // Everything waits behind the first chunk's query.
    assert_eq!(s.pending_bytes(), data.len() as u64);
    assert_eq!(s.stats().chunks, 0);
    s.resolve();
    assert_eq!(s.pending_bytes(), data.len() as u64);
    assert_eq!(s.answer_query(&qs[0], None, 0.0).unwrap(), 0);
    assert_eq!(s.outstanding_queries(), 0);
    let open = s.pending_bytes();
    assert!(open > 0 && open <= 131_072, "only the open chunk is held");
    // A malformed answer is an error but still clears its query.
    let f = s.finish_file().unwrap();
    assert_eq!(f.new_bytes, f.size);
    s.start_file(false).unwrap();
    s.push(&splitmix64(4, 8_000)).unwrap();
    let qs = s.take_queries();
    assert_eq!(qs.len(), 0, "not cut yet: the only chunk is still open");
    s.end_input().unwrap();
    let qs = s.take_queries();
    assert_eq!(qs.len(), 1);
    let e = s.answer_query(&qs[0], Some(b"garbage"), 0.0).unwrap_err();
    assert_eq!(e.kind, ErrorKind::Truncated);
    assert_eq!(s.outstanding_queries(), 0);
    assert_eq!(s.pending_bytes(), 0);
    s.finish_file().unwrap();
}

#[test]
fn finish_treats_outstanding_queries_as_misses_and_later_answers_still_serve() {
    let a = splitmix64(30, 400_000);
    // Session 0 produces xorbs for `a` that the "server" knows.
    let known = run(UploadOptions::default(), &[&a], usize::MAX, &no_answer);
    let shard = answer_shard(&known.xorbs, None, 0);
    let mut s = UploadSession::new(UploadOptions::default()).unwrap();
    s.start_file(false).unwrap();
    s.push(&a[..200_000]).unwrap();
    let qs = s.take_queries();
    assert_eq!(qs.len(), 1);
    let f = s.finish_file().unwrap();
    assert_eq!(f.new_bytes, f.size, "unanswered: a miss");
    assert_eq!(s.outstanding_queries(), 1);
    // The late answer is learned and serves the next file.
    assert_eq!(s.answer_query(&qs[0], Some(&shard), 0.0).unwrap(), 1);
    s.start_file(false).unwrap();
    s.push(&a).unwrap();
    let f = s.finish_file().unwrap();
    assert_eq!(f.new_bytes, 0);
    assert!(f.dedup_global_bytes > 0);
}

/// Chunk contents whose hash is global-dedup eligible (hash % 1024 == 0).
fn eligible_chunk(tag: u64) -> Vec<u8> {
    (0u64..)
        .map(|i| {
            let mut c = splitmix64(tag * 1_000_003 + i, 9000);
            c[0] = 1;
            c
        })
        .find(|c| is_global_dedup_eligible(&chunk_hash(c)))
        .unwrap()
}

#[test]
fn eligible_chunks_are_queried_once_per_session() {
    let e1 = eligible_chunk(1);
    let plain = splitmix64(99, 9000);
    let mut s = UploadSession::new(UploadOptions::default()).unwrap();
    s.start_file(false).unwrap();
    s.push_chunks(vec![
        PreparedChunk::raw(&plain),
        PreparedChunk::raw(&e1),
        PreparedChunk::raw(&plain),
        PreparedChunk::raw(&e1),
    ])
    .unwrap();
    let qs = s.take_queries();
    assert_eq!(qs, vec![chunk_hash(&plain), chunk_hash(&e1)]);
    // Answer the first: the second chunk (eligible, outstanding) still blocks.
    s.answer_query(&qs[0], None, 0.0).unwrap();
    assert_eq!(s.stats().chunks, 1);
    assert_eq!(s.pending_bytes(), 3 * 9000);
    s.answer_query(&qs[1], None, 0.0).unwrap();
    assert_eq!(s.stats().chunks, 4);
    let f = s.finish_file().unwrap();
    assert_eq!(f.new_bytes, 18_000);
    assert_eq!(f.dedup_local_bytes, 18_000);
    // A second file starting with a known chunk issues no query.
    s.start_file(false).unwrap();
    s.push_chunks(vec![PreparedChunk::raw(&e1)]).unwrap();
    assert!(s.take_queries().is_empty());
    assert_eq!(s.pending_bytes(), 0);
    s.finish_file().unwrap();
    assert_eq!(s.stats().queries_issued, 2);
}

#[test]
fn terms_merge_and_repeat() {
    // zeros: 8 identical chunks → 8 terms [0, 1) of one one-chunk xorb.
    let zeros = vec![0u8; 1 << 20];
    let out = run(hf_xet_like(), &[&zeros], 1 << 20, &no_answer);
    let f = &file_terms(&out.shards[0])[0];
    assert_eq!(f.terms.len(), 8);
    assert!(f.terms.iter().all(|t| (t.start, t.end) == (0, 1)));
    assert_eq!(f.flags, FILE_FLAG_WITH_VERIFICATION);
    // A file that repeats a run of chunks reuses one term for the whole run.
    let a = splitmix64(40, 600_000);
    let mut twice = a.clone();
    twice.extend_from_slice(&a);
    let out = run(UploadOptions::default(), &[&twice], 1 << 20, &no_answer);
    let f = &file_terms(&out.shards[0])[0];
    // The xorb holds the first copy's chunks (k of them) and, after the second copy has
    // re-synchronised, the repeated run is one term of the same xorb; the second copy's last
    // chunk (cut by the end of the file, unlike in the first copy) is new.
    assert_eq!(f.terms.len(), 3, "{:?}", f.terms);
    assert!(f.terms.iter().all(|t| t.xorb == f.terms[0].xorb));
    assert_eq!(f.terms[0].start, 0);
    let k = f.terms[0].end;
    assert!(f.terms[1].start > 0 && f.terms[1].end <= k);
    assert_eq!((f.terms[2].start, f.terms[2].end), (k, k + 1));
    // Verification hashes are over the file's own chunk hashes per term.
    let cuts = xet_core::Chunker::boundaries(&twice);
    let mut starts = vec![0];
    starts.extend(&cuts[..cuts.len() - 1]);
    let hashes: Vec<MerkleHash> = starts
        .iter()
        .zip(&cuts)
        .map(|(&s, &e)| chunk_hash(&twice[s..e]))
        .collect();
    let mut pos = 0;
    for (t, vh) in f.terms.iter().zip(f.verification.as_ref().unwrap()) {
        let k = (t.end - t.start) as usize;
        assert_eq!(*vh, verification_hash(&hashes[pos..pos + k]));
        pos += k;
    }
}

#[test]
fn xorb_limits_cut_xorbs() {
    let data = splitmix64(50, 3_000_000);
    let n = xet_core::Chunker::boundaries(&data).len();
    // By chunk count.
    let out = run(
        UploadOptions {
            max_xorb_chunks: 4,
            ..UploadOptions::default()
        },
        &[&data],
        1 << 20,
        &no_answer,
    );
    assert_eq!(out.xorbs.len(), n.div_ceil(4));
    assert!(out.xorbs.iter().all(|x| x.chunk_count <= 4));
    assert!(out.xorbs[..out.xorbs.len() - 1]
        .iter()
        .all(|x| x.chunk_count == 4));
    // By bytes: both raw and serialized stay within the limit.
    let limit = 300_000;
    let out = run(
        UploadOptions {
            max_xorb_bytes: limit,
            ..UploadOptions::default()
        },
        &[&data],
        1 << 20,
        &no_answer,
    );
    assert!(out.xorbs.len() >= 10);
    for x in &out.xorbs {
        assert!(x.raw_bytes <= limit && x.data.len() as u64 <= limit);
        parse_xorb(&x.data, &x.hash).unwrap();
    }
    // Every chunk of the file is in exactly one xorb.
    let total: u64 = out.xorbs.iter().map(|x| x.raw_bytes).sum();
    assert_eq!(total, data.len() as u64);
    let terms = &file_terms(&out.shards[0])[0].terms;
    assert_eq!(terms.len(), out.xorbs.len());
}

#[test]
fn shards_split_under_the_limit() {
    let files: Vec<Vec<u8>> = (0..30)
        .map(|i| splitmix64(100 + i, 40_000 + 9_000 * i as usize))
        .collect();
    let refs: Vec<&[u8]> = files.iter().map(|f| f.as_slice()).collect();
    let whole = run(
        UploadOptions {
            max_xorb_chunks: 3,
            ..UploadOptions::default()
        },
        &refs,
        1 << 20,
        &no_answer,
    );
    assert_eq!(whole.shards.len(), 1);
    let max = 4096;
    let split = run(
        UploadOptions {
            max_xorb_chunks: 3,
            max_shard_bytes: max,
            ..UploadOptions::default()
        },
        &refs,
        1 << 20,
        &no_answer,
    );
    assert!(split.shards.len() > 3);
    let mut all_files = Vec::new();
    let mut all_xorbs: Vec<XorbEntry> = Vec::new();
    for s in &split.shards {
        assert!(s.len() <= max as usize, "{} > {max}", s.len());
        let p = parse_shard(s).unwrap();
        all_files.extend(p.files);
        all_xorbs.extend(p.xorbs);
    }
    let p = parse_shard(&whole.shards[0]).unwrap();
    assert_eq!(all_files, p.files, "same file blocks, same order");
    assert_eq!(all_xorbs, p.xorbs, "same xorb blocks, same order");
    // Too small for one block: LIMIT_EXCEEDED, state kept.
    let big: Vec<u8> = splitmix64(7, 9_000_000);
    let mut s = UploadSession::new(UploadOptions {
        max_shard_bytes: 4096,
        max_xorb_chunks: 2,
        ..UploadOptions::default()
    })
    .unwrap();
    s.start_file(false).unwrap();
    s.push(&big).unwrap();
    // 9 MB in xorbs of 2 chunks: many terms, one file block > 4096 bytes.
    s.finish_file().unwrap();
    s.flush_xorb();
    let e = s.take_shard().unwrap_err();
    assert_eq!(e.kind, ErrorKind::LimitExceeded);
}

#[test]
fn repeated_file_written_once_per_shard_and_order_kept() {
    let a = text(120_000);
    let b = splitmix64(1, 50_000);
    let out = run(
        UploadOptions::default(),
        &[&a, &b, &a, &[]],
        1 << 20,
        &no_answer,
    );
    let p = parse_shard(&out.shards[0]).unwrap();
    let hashes: Vec<MerkleHash> = p.files.iter().map(|f| f.hash).collect();
    assert_eq!(
        hashes,
        vec![out.files[0].hash, out.files[1].hash, MerkleHash::ZERO]
    );
    assert_eq!(p.xorbs.len(), 1);
    assert_eq!(out.files[2].dedup_local_bytes, a.len() as u64);
    let st = out.stats.unwrap();
    assert_eq!(st.bytes_processed, 2 * 120_000 + 50_000);
    assert_eq!(st.new_bytes, 170_000);
    assert_eq!(st.dedup_local_bytes, 120_000);
    assert_eq!(st.xorbs_produced, 1);
    assert_eq!(st.xorb_bytes_serialized, out.xorbs[0].data.len() as u64);
    // The empty file: zero hash, zero terms, flagged like hf_xet.
    assert_eq!(out.files[3].hash, MerkleHash::ZERO);
    assert_eq!(out.files[3].size, 0);
    assert!(p.files[2].terms.is_empty());
    assert_eq!(p.files[2].flags, FILE_FLAG_WITH_VERIFICATION);
}

#[test]
fn state_errors() {
    let mut s = UploadSession::new(UploadOptions::default()).unwrap();
    let code = |r: xet_core::Result<()>| r.unwrap_err().kind;
    assert_eq!(code(s.push(b"x")), ErrorKind::InvalidState);
    assert_eq!(s.finish_file().unwrap_err().kind, ErrorKind::InvalidState);
    assert_eq!(code(s.end_input()), ErrorKind::InvalidState);
    s.start_file(false).unwrap();
    assert_eq!(code(s.start_file(false)), ErrorKind::InvalidState);
    assert_eq!(s.take_shard().unwrap_err().kind, ErrorKind::InvalidState);
    s.push(b"abc").unwrap();
    assert_eq!(
        code(s.push_chunks(vec![PreparedChunk::raw(b"x")])),
        ErrorKind::InvalidState
    );
    s.end_input().unwrap();
    assert_eq!(code(s.push(b"more")), ErrorKind::InvalidState);
    s.finish_file().unwrap();
    assert_eq!(
        s.take_shard().unwrap_err().kind,
        ErrorKind::InvalidState,
        "open xorb"
    );
    s.flush_xorb();
    assert!(s.take_xorb().is_some());
    assert!(s.take_shard().unwrap().is_some());
    assert!(s.take_shard().unwrap().is_none());
    // Prepared chunks are validated.
    s.start_file(true).unwrap();
    let bad = PreparedChunk {
        hash: MerkleHash::ZERO,
        len: 0,
        payload: ChunkPayload::Raw(vec![]),
    };
    assert_eq!(code(s.push_chunks(vec![bad])), ErrorKind::InvalidArgument);
    let rec = PreparedChunk::prepare(b"hello", CompressionPolicy::None).unwrap();
    assert_eq!(
        code(s.push_chunks(vec![rec.clone()])),
        ErrorKind::InvalidState,
        "sha256 needs raw"
    );
    let mut wrong = rec.clone();
    wrong.len = 6;
    assert_eq!(code(s.push_chunks(vec![wrong])), ErrorKind::InvalidArgument);
    // Options out of range (the JS numbers of the WASM constructor are checked in
    // js/test/core/records.test.ts).
    for opts in [
        UploadOptions {
            max_xorb_bytes: 100,
            ..UploadOptions::default()
        },
        UploadOptions {
            max_xorb_chunks: 9000,
            ..UploadOptions::default()
        },
        UploadOptions {
            max_shard_bytes: 100,
            ..UploadOptions::default()
        },
    ] {
        assert_eq!(
            UploadSession::new(opts).unwrap_err().kind,
            ErrorKind::InvalidArgument
        );
    }
}

#[test]
fn many_small_files_share_xorbs() {
    let files: Vec<Vec<u8>> = (0..50).map(|i| text(1000 + i * 37)).collect();
    let refs: Vec<&[u8]> = files.iter().map(|f| f.as_slice()).collect();
    let out = run(UploadOptions::default(), &refs, 1 << 20, &no_answer);
    assert_eq!(out.xorbs.len(), 1);
    let p = parse_shard(&out.shards[0]).unwrap();
    let mut by_hash: HashMap<MerkleHash, u64> = HashMap::new();
    for f in &p.files {
        by_hash.insert(f.hash, f.size());
    }
    for (r, f) in out.files.iter().zip(&files) {
        assert_eq!(by_hash[&r.hash], f.len() as u64);
    }
}

/// The external-records flow of the TypeScript pipeline: files prepared segment by segment
/// (`prepare_segment`), chunk metadata pushed in batches, records kept here and written into
/// the xorb bodies as the placements say; queries answered after every batch with `answer`.
fn run_external(opts: UploadOptions, files: &[&[u8]], batch: usize, answer: Answer) -> Outcome {
    use std::collections::VecDeque;
    use xet_core::ChunkCompressor;
    use xet_core::{prepare_segment, SegmentSpec};
    let mut s = UploadSession::new(opts.clone()).unwrap();
    let mut c = ChunkCompressor::new();
    let mut out = Outcome::default();
    let mut fifo: VecDeque<Vec<u8>> = VecDeque::new();
    let mut bodies: Vec<Vec<u8>> = Vec::new();
    let mut drain = |s: &mut UploadSession, fifo: &mut VecDeque<Vec<u8>>, out: &mut Outcome| {
        for p in s.take_placements() {
            let rec = fifo.pop_front().expect("a placement per pushed chunk");
            if p != PLACED_DEDUP {
                let id = p as usize;
                if bodies.len() <= id {
                    bodies.resize(id + 1, Vec::new());
                }
                bodies[id].extend_from_slice(&rec);
            }
        }
        while let Some(mut x) = s.take_xorb() {
            assert!(x.data.is_empty());
            x.data = std::mem::take(&mut bodies[out.xorbs.len()]);
            assert_eq!(x.data.len() as u64, x.serialized_bytes);
            out.xorbs.push(x);
        }
    };
    for data in files {
        s.start_file(false).unwrap();
        let seg =
            prepare_segment(data, SegmentSpec::last(0), Some(opts.compression), &mut c).unwrap();
        let recs = seg.records();
        let mut off = 0;
        let mut prev = 0;
        let mut chunks = Vec::new();
        for i in 0..seg.len() {
            let len = seg.record_len(i);
            fifo.push_back(recs[off..off + len].to_vec());
            off += len;
            let end = seg.chunk_end(i);
            chunks.push(PreparedChunk::external(
                seg.hash(i),
                (end - prev) as u32,
                len as u32,
            ));
            prev = end;
        }
        for b in chunks.chunks(batch.max(1)) {
            s.push_chunks(b.to_vec()).unwrap();
            drain(&mut s, &mut fifo, &mut out);
            for q in s.take_queries() {
                let a = answer(&q);
                s.answer_query(&q, a.as_deref(), 1e9).unwrap();
                drain(&mut s, &mut fifo, &mut out);
            }
        }
        s.end_input().unwrap();
        out.files.push(s.finish_file().unwrap());
        drain(&mut s, &mut fifo, &mut out);
        assert_eq!(s.outstanding_queries(), 0);
    }
    s.flush_xorb();
    drain(&mut s, &mut fifo, &mut out);
    assert!(fifo.is_empty());
    while let Some(sh) = s.take_shard().unwrap() {
        out.shards.push(sh);
    }
    out.stats = Some(s.stats());
    out
}

#[test]
fn external_records_equal_in_session_records() {
    let a = corpus(11, 3_000_000);
    let b = corpus(12, 1_000_000);
    let files: [&[u8]; 5] = [&a, &b, &a[500_000..1_700_000], &[], &b[..10]];
    for opts in [
        UploadOptions::default(),
        UploadOptions {
            max_xorb_chunks: 9,
            max_xorb_bytes: 600_000,
            compression: CompressionPolicy::Lz4,
            ..UploadOptions::default()
        },
    ] {
        let inside = run(opts.clone(), &files, 64 * 1024, &no_answer);
        for batch in [1, 7, 1000] {
            let ext = run_external(opts.clone(), &files, batch, &no_answer);
            assert_eq!(ext, inside, "batch {batch}");
        }
        // Global dedup against the first upload: most chunks are deduplicated, the placements
        // still line up with the records.
        let shard = answer_shard(&inside.xorbs, None, 0);
        let hit = |_: &MerkleHash| Some(shard.clone());
        let c = corpus(13, 500_000);
        let again: [&[u8]; 3] = [&b, &c, &a];
        let inside2 = run(opts.clone(), &again, 64 * 1024, &hit);
        let ext2 = run_external(opts.clone(), &again, 5, &hit);
        assert_eq!(ext2, inside2);
        assert!(ext2.stats.unwrap().dedup_global_bytes > 3_000_000);
    }
}

#[test]
fn external_records_are_not_mixed_with_session_records() {
    let h = chunk_hash(b"hello");
    let mut s = UploadSession::new(UploadOptions::default()).unwrap();
    s.start_file(false).unwrap();
    s.push(b"abc").unwrap();
    s.finish_file().unwrap();
    s.start_file(false).unwrap();
    let e = s
        .push_chunks(vec![PreparedChunk::external(h, 5, 13)])
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::InvalidState);

    let mut s = UploadSession::new(UploadOptions::default()).unwrap();
    s.start_file(false).unwrap();
    s.push_chunks(vec![PreparedChunk::external(h, 5, 13)])
        .unwrap();
    // The first chunk of a file waits for its dedup query.
    assert_eq!(s.take_placements(), Vec::<u32>::new());
    assert_eq!(s.take_queries(), vec![h]);
    s.answer_query(&h, None, 0.0).unwrap();
    assert_eq!(s.take_placements(), vec![0]);
    s.finish_file().unwrap();
    s.start_file(false).unwrap();
    assert_eq!(s.push(b"abc").unwrap_err().kind, ErrorKind::InvalidState);
    // Mixed payloads in one call, and impossible record lengths.
    let mut s = UploadSession::new(UploadOptions::default()).unwrap();
    s.start_file(false).unwrap();
    let mixed = vec![
        PreparedChunk::external(h, 5, 13),
        PreparedChunk::raw(b"hello"),
    ];
    assert_eq!(
        s.push_chunks(mixed).unwrap_err().kind,
        ErrorKind::InvalidArgument
    );
    for bad in [0, 8, 8 + 262_145] {
        let e = s
            .push_chunks(vec![PreparedChunk::external(h, 5, bad)])
            .unwrap_err();
        assert_eq!(e.kind, ErrorKind::InvalidArgument, "{bad}");
    }
}
