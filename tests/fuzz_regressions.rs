//! Regressions found by fuzzing (fuzz/, scripts/fuzz.mjs). Each crash input is kept in
//! tests/fuzz_regressions/ and replayed here through the same code as its fuzz target; the minimal
//! test of the bug it revealed sits beside the code it fixed (src/dedup.rs for `answer_query`).

use std::path::PathBuf;
use xet_core::chunk_hash;
use xet_core::Chunker;
use xet_core::DedupShardBuilder;
use xet_core::MerkleHash;
use xet_core::{UploadOptions, UploadSession};

fn input(name: &str) -> Vec<u8> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("fuzz_regressions")
        .join(name);
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
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
