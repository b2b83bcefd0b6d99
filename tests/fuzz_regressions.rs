//! Regressions found by fuzzing (fuzz/, scripts/fuzz.mjs). Each crash input is kept in
//! tests/fuzz_regressions/ and replayed here through the same code as its fuzz target, next to a
//! minimal test of the bug it revealed.

use std::path::PathBuf;
use xet_core::chunking::Chunker;
use xet_core::dedup::LearnedIndex;
use xet_core::hash::chunk_hash;
use xet_core::shard::{parse_shard, DedupShardBuilder};
use xet_core::upload::{UploadOptions, UploadSession};
use xet_core::MerkleHash;

fn input(name: &str) -> Vec<u8> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("fuzz_regressions")
        .join(name);
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// A dedup answer whose xorb lists the same chunk hash twice used to index out of bounds while
/// being learned (the xorb being ingested was looked up before it was stored): a CAS could abort
/// the client's WebAssembly core with one answer.
#[test]
fn a_dedup_answer_repeating_a_chunk_in_one_xorb_is_learned_without_panic() {
    let h = chunk_hash(b"a chunk");
    let other = chunk_hash(b"another chunk");
    let mut b = DedupShardBuilder::new();
    b.add_xorb(MerkleHash([7; 32]), &[h, other, h], &[7, 13, 7], 100)
        .unwrap();
    for key in [None, Some([5u8; 32])] {
        let shard = parse_shard(&b.finish(key, 1, 0).unwrap()).unwrap();
        let mut idx = LearnedIndex::new();
        assert_eq!(idx.ingest(&shard, 2.0), 1);
        // The first occurrence is where the chunk is found.
        assert_eq!(idx.lookup(&h, 2.0), Some((0, 0)));
        assert_eq!(idx.lookup(&other, 2.0), Some((0, 1)));
        // Learning the same answer again changes nothing.
        assert_eq!(idx.ingest(&shard, 2.0), 0);
        assert_eq!(idx.lookup(&h, 2.0), Some((0, 0)));
    }
}

/// The fuzz target `answer_query`, replayed on its crash input.
fn answer_query(input: &[u8]) {
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let data: Vec<u8> = (0..160_000)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect();
    let cuts = Chunker::boundaries(&data);
    let mut hashes = Vec::new();
    let mut lengths = Vec::new();
    let mut start = 0;
    for &c in &cuts {
        hashes.push(chunk_hash(&data[start..c]));
        lengths.push((c - start) as u32);
        start = c;
    }
    let mut b = DedupShardBuilder::new();
    b.add_xorb(MerkleHash([7u8; 32]), &hashes, &lengths, 200_000)
        .unwrap();
    let shard: Vec<u8> = match input.first() {
        None => return,
        Some(m) if m % 2 == 0 => input[1..].to_vec(),
        Some(_) => {
            let mut s = if input[1] % 2 == 0 {
                b.finish(None, 1, 4_000_000_000).unwrap()
            } else {
                b.finish(Some([9u8; 32]), 1, 4_000_000_000).unwrap()
            };
            let at = u16::from_le_bytes([input[2], input[3]]) as usize % s.len();
            for (i, v) in input[4..].iter().enumerate() {
                if at + i < s.len() {
                    s[at + i] ^= v;
                }
            }
            s
        }
    };
    let mut s = UploadSession::new(UploadOptions {
        max_xorb_bytes: 200_000,
        ..UploadOptions::default()
    })
    .unwrap();
    s.start_file(false).unwrap();
    for part in data.chunks(40_000) {
        s.push(part).unwrap();
        for q in s.take_queries() {
            let _ = s.answer_query(&q, Some(&shard), 2.0);
        }
    }
    s.end_input().unwrap();
    for q in s.take_queries() {
        let _ = s.answer_query(&q, Some(&shard), 2.0);
    }
    s.resolve();
    let r = s.finish_file().unwrap();
    assert_eq!(r.size, data.len() as u64);
    assert_eq!(
        r.new_bytes + r.dedup_local_bytes + r.dedup_global_bytes,
        r.size
    );
    s.flush_xorb();
    while s.take_xorb().is_some() {}
    while let Ok(Some(_)) = s.take_shard() {}
}

#[test]
fn fuzz_answer_query_repeated_chunk_input() {
    answer_query(&input("answer_query-repeated-chunk.bin"));
}
