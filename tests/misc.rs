//! Error codes, download helpers, term continuation preference,
//! and a property test of global dedup across sessions.

mod common;

use common::*;
use proptest::prelude::*;
use xet_core::chunk_hash;
use xet_core::{check_term_length, decode_chunk_records, file_hash_of_runs};
use xet_core::{parse_shard, DedupShardBuilder};
use xet_core::{parse_xorb, CompressionPolicy, XorbBuilder, XorbLimits};
use xet_core::{ErrorKind, MerkleHash};
use xet_core::{PreparedChunk, UploadOptions, UploadSession};

#[test]
fn error_codes_are_stable_and_distinct() {
    let codes: Vec<&str> = ErrorKind::ALL.iter().map(|k| k.code()).collect();
    assert_eq!(
        codes,
        vec![
            "INVALID_HEX",
            "INVALID_ARGUMENT",
            "TRUNCATED",
            "BAD_RECORD",
            "BAD_COMPRESSION",
            "LENGTH_MISMATCH",
            "HASH_MISMATCH",
            "BAD_SHARD",
            "LIMIT_EXCEEDED",
            "INVALID_STATE"
        ]
    );
    let e = xet_core::CoreError::new(ErrorKind::BadShard, "x at offset 3");
    assert_eq!(e.to_string(), "BAD_SHARD: x at offset 3");
}

#[test]
fn download_helpers() {
    let v = vectors();
    let body = fixture("xorb_text_200KiB_754334b8c0ee.bin");
    let d = decode_chunk_records(&body).unwrap();
    check_term_length(&d, 204_800).unwrap();
    assert_eq!(
        check_term_length(&d, 204_801).unwrap_err().kind,
        ErrorKind::LengthMismatch
    );
    assert_eq!(
        file_hash_of_runs([&d]).to_hex(),
        v["text_200KiB.txt"]["xet_file_hash"].as_str().unwrap()
    );
    // The zero file: one decoded chunk used eight times.
    let z = decode_chunk_records(&fixture("xorb_zeros_1MiB_2e39f13c2480.bin")).unwrap();
    assert_eq!(
        file_hash_of_runs(std::iter::repeat_n(&z, 8)).to_hex(),
        v["zeros_1MiB.bin"]["xet_file_hash"].as_str().unwrap()
    );
    // Sub-ranges of records decode on their own (fetch ranges start at record offsets).
    let sub = &body[d.record_offsets[1] as usize..d.record_offsets[3] as usize];
    let ds = decode_chunk_records(sub).unwrap();
    assert_eq!(ds.hashes, d.hashes[1..3]);
    assert_eq!(ds.record_offsets[0], 0);
}

#[test]
fn continuing_the_term_beats_other_locations() {
    // a, b: b is stored in this session's xorb by file 1; a learned xorb L holds [a, b].
    let a = splitmix64(1, 9000);
    let b = splitmix64(2, 9000);
    let mut s = UploadSession::new(UploadOptions::default()).unwrap();
    s.start_file(false).unwrap();
    s.push_chunks(vec![PreparedChunk::raw(&b)]).unwrap();
    for q in s.take_queries() {
        s.answer_query(&q, None, 0.0).unwrap();
    }
    s.finish_file().unwrap();
    let mut lb = XorbBuilder::new(XorbLimits::default());
    lb.push_chunk(&a, CompressionPolicy::None).unwrap();
    lb.push_chunk(&b, CompressionPolicy::None).unwrap();
    let l = lb.finish().unwrap();
    let mut d = DedupShardBuilder::new();
    d.add_xorb(l.hash, &l.chunk_hashes, &l.chunk_lengths, 0)
        .unwrap();
    let answer = d.finish(None, 0, 0).unwrap();
    s.start_file(false).unwrap();
    s.push_chunks(vec![PreparedChunk::raw(&a), PreparedChunk::raw(&b)])
        .unwrap();
    let q = s.take_queries();
    assert_eq!(q, vec![chunk_hash(&a)]);
    assert_eq!(s.answer_query(&q[0], Some(&answer), 0.0).unwrap(), 1);
    let f = s.finish_file().unwrap();
    assert_eq!(f.dedup_global_bytes, 18_000, "b continues the learned term");
    s.flush_xorb();
    while s.take_xorb().is_some() {}
    let p = parse_shard(&s.take_shard().unwrap().unwrap()).unwrap();
    let t = &p.files[1].terms;
    assert_eq!(t.len(), 1);
    assert_eq!((t[0].xorb, t[0].start, t[0].end), (l.hash, 0, 2));
    // Not continuing: a chunk known both locally and learned resolves locally.
    s.start_file(false).unwrap();
    s.push_chunks(vec![
        PreparedChunk::raw(&splitmix64(3, 9000)),
        PreparedChunk::raw(&b),
    ])
    .unwrap();
    for q in s.take_queries() {
        s.answer_query(&q, None, 0.0).unwrap();
    }
    let f = s.finish_file().unwrap();
    assert_eq!(f.dedup_local_bytes, 9000);
    assert_eq!(f.dedup_global_bytes, 0);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 6, .. ProptestConfig::default() })]

    /// Upload, then re-upload in a fresh session answering its queries with a dedup shard of
    /// the first session's xorbs (plain or HMAC-keyed): zero new bytes, same file hash, same
    /// terms.
    #[test]
    fn reupload_dedups_fully(seed in any::<u64>(), len in 1usize..2_500_000, chunks in 1usize..30, key in prop::option::of(any::<[u8; 32]>())) {
        let data = splitmix64(seed, len);
        let opts = UploadOptions { max_xorb_chunks: chunks, compression: CompressionPolicy::Lz4, ..UploadOptions::default() };
        let upload = |answer: Option<&[u8]>| {
            let mut s = UploadSession::new(opts.clone()).unwrap();
            s.start_file(false).unwrap();
            for p in data.chunks(700_001) {
                s.push(p).unwrap();
                for q in s.take_queries() {
                    s.answer_query(&q, answer, 100.0).unwrap();
                }
            }
            s.end_input().unwrap();
            for q in s.take_queries() {
                s.answer_query(&q, answer, 100.0).unwrap();
            }
            let f = s.finish_file().unwrap();
            s.flush_xorb();
            let mut xorbs = Vec::new();
            while let Some(x) = s.take_xorb() {
                xorbs.push(x);
            }
            let shard = s.take_shard().unwrap().unwrap();
            (f, xorbs, shard)
        };
        let (f1, x1, s1) = upload(None);
        let mut d = DedupShardBuilder::new();
        for x in &x1 {
            let info = parse_xorb(&x.data, &x.hash).unwrap();
            d.add_xorb(x.hash, &info.hashes, &info.lengths, x.data.len() as u32).unwrap();
        }
        let answer = d.finish(key, 50, 1_000).unwrap();
        let (f2, x2, s2) = upload(Some(&answer));
        prop_assert_eq!(f2.hash, f1.hash);
        prop_assert_eq!(f2.new_bytes, 0);
        prop_assert_eq!(f2.dedup_global_bytes + f2.dedup_local_bytes, f2.size);
        prop_assert!(x2.is_empty());
        let p1 = parse_shard(&s1).unwrap();
        let p2 = parse_shard(&s2).unwrap();
        prop_assert_eq!(&p2.files, &p1.files);
        prop_assert!(p2.xorbs.is_empty());
    }
}

#[derive(Debug, Clone)]
enum Op {
    Start(bool),
    Push(usize),
    EndInput,
    Finish,
    Answer(u8),
    Resolve,
    Flush,
    TakeXorb,
    TakeShard,
}

fn op_strategy() -> impl Strategy<Value = Op> {
    prop_oneof![
        2 => any::<bool>().prop_map(Op::Start),
        4 => (0usize..300_000).prop_map(Op::Push),
        1 => Just(Op::EndInput),
        1 => Just(Op::Finish),
        2 => any::<u8>().prop_map(Op::Answer),
        1 => Just(Op::Resolve),
        1 => Just(Op::Flush),
        2 => Just(Op::TakeXorb),
        1 => Just(Op::TakeShard),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, .. ProptestConfig::default() })]

    /// Any sequence of calls: typed errors only, never a panic; what comes out is valid.
    #[test]
    fn random_call_sequences(ops in prop::collection::vec(op_strategy(), 1..60), seed in any::<u64>()) {
        let opts = UploadOptions { max_xorb_chunks: 3, max_shard_bytes: 8192, ..UploadOptions::default() };
        let mut s = UploadSession::new(opts).unwrap();
        let mut rng = Rng(seed);
        let mut queries: Vec<MerkleHash> = Vec::new();
        let mut xorbs = Vec::new();
        let mut answer = DedupShardBuilder::new();
        for op in ops {
            match op {
                Op::Start(sha) => { let _ = s.start_file(sha); }
                Op::Push(n) => {
                    // Mix fresh data with repeats of earlier data.
                    let data = splitmix64(rng.below(4), n);
                    if let Err(e) = s.push(&data) { prop_assert_eq!(e.kind, ErrorKind::InvalidState); }
                }
                Op::EndInput => { let _ = s.end_input(); }
                Op::Finish => { let _ = s.finish_file(); }
                Op::Answer(k) => {
                    queries.extend(s.take_queries());
                    if let Some(q) = queries.pop() {
                        let shard = answer.finish(None, 0, 0).unwrap();
                        let bytes: Option<Vec<u8>> = match k % 4 {
                            0 => None,
                            1 => Some(shard),
                            2 => { let mut b = shard; let i = rng.below(b.len() as u64) as usize; b[i] ^= 0x5a; Some(b) }
                            _ => Some(shard[..rng.below(shard.len() as u64) as usize].to_vec()),
                        };
                        let _ = s.answer_query(&q, bytes.as_deref(), 0.0);
                    }
                }
                Op::Resolve => s.resolve(),
                Op::Flush => s.flush_xorb(),
                Op::TakeXorb => {
                    if let Some(x) = s.take_xorb() {
                        let info = parse_xorb(&x.data, &x.hash).unwrap();
                        answer.add_xorb(x.hash, &info.hashes, &info.lengths, x.data.len() as u32).unwrap();
                        xorbs.push(x);
                    }
                }
                Op::TakeShard => {
                    match s.take_shard() {
                        Ok(Some(b)) => { prop_assert!(b.len() <= 8192); parse_shard(&b).unwrap(); }
                        Ok(None) => {}
                        Err(e) => prop_assert!(matches!(e.kind, ErrorKind::InvalidState | ErrorKind::LimitExceeded)),
                    }
                }
            }
        }
    }
}
