//! An upload session answered with arbitrary dedup shards: whatever a CAS answers, the session keeps
//! working (the answer is learned or refused) and produces the file's record, its xorbs and shard.
//!
//! Input byte 0 picks the answer: even → the rest of the input is the shard as is; odd → a valid answer
//! naming the file's own chunks (plain or HMAC-keyed, from byte 1) with the rest of the input XORed
//! over it from an offset (bytes 2–3), so the fuzzer explores near-valid shards too.
#![no_main]
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;
use xet_core::Chunker;
use xet_core::chunk_hash;
use xet_core::DedupShardBuilder;
use xet_core::{UploadOptions, UploadSession};
use xet_core::MerkleHash;

struct Fixture {
    data: Vec<u8>,
    plain: Vec<u8>,
    keyed: Vec<u8>,
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
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
        // A xorb claiming the file's chunks (its hash does not matter to the session).
        let mut b = DedupShardBuilder::new();
        b.add_xorb(MerkleHash([7u8; 32]), &hashes, &lengths, 200_000).unwrap();
        let plain = b.finish(None, 1, 4_000_000_000).unwrap();
        let keyed = b.finish(Some([9u8; 32]), 1, 4_000_000_000).unwrap();
        Fixture { data, plain, keyed }
    })
}

fuzz_target!(|input: &[u8]| {
    let f = fixture();
    let shard: Vec<u8> = match input.first() {
        None => return,
        Some(m) if m % 2 == 0 => input[1..].to_vec(),
        Some(_) => {
            if input.len() < 4 {
                return;
            }
            let mut s = if input[1] % 2 == 0 { f.plain.clone() } else { f.keyed.clone() };
            let at = u16::from_le_bytes([input[2], input[3]]) as usize % s.len();
            for (i, b) in input[4..].iter().enumerate() {
                if at + i < s.len() {
                    s[at + i] ^= b;
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
    for part in f.data.chunks(40_000) {
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
    assert_eq!(r.size, f.data.len() as u64);
    assert_eq!(r.new_bytes + r.dedup_local_bytes + r.dedup_global_bytes, r.size);
    s.flush_xorb();
    while s.take_xorb().is_some() {}
    while let Ok(Some(_)) = s.take_shard() {}
});
