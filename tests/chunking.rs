//! Chunker (spec §2) against every chunking vector, the plain reference rule, and streaming
//! split invariance.

mod common;

use common::*;
use proptest::prelude::*;
use xet_core::chunk_hash;
use xet_core::ChunkHasher;
use xet_core::{reference_boundaries, Chunker, GEAR, MASK, MAX_CHUNK, MIN_CHUNK};

/// The legacy rule of `@huggingface/xetchunk-wasm` 0.2.0 (§2.6): hashing starts at chunk
/// offset 8,127 and the first match cuts. Test code only, to check `legacy_boundaries`.
fn legacy_boundaries(data: &[u8]) -> Vec<usize> {
    const LEGACY_FIRST_HASHED: usize = 8127;
    let mut out = Vec::new();
    let mut start = 0;
    while start < data.len() {
        let remaining = data.len() - start;
        let mut i = start + LEGACY_FIRST_HASHED.min(remaining);
        let mut h: u64 = 0;
        let mut cut = data.len();
        while i < data.len() {
            h = (h << 1).wrapping_add(GEAR[data[i] as usize]);
            i += 1;
            if h & MASK == 0 || i - start == MAX_CHUNK {
                cut = i;
                break;
            }
        }
        out.push(cut);
        start = cut;
    }
    out
}

/// Boundaries of `data` fed in the given pieces (ranges covering the input in order).
fn streamed(data: &[u8], pieces: impl Iterator<Item = std::ops::Range<usize>>) -> Vec<usize> {
    let pieces: Vec<_> = pieces.collect();
    let a = streamed_with::<true>(data, pieces.iter().cloned());
    let b = streamed_with::<false>(data, pieces.into_iter());
    assert_eq!(a, b, "paired and byte-wise scans agree");
    a
}

fn streamed_with<const PAIRED: bool>(
    data: &[u8],
    pieces: impl Iterator<Item = std::ops::Range<usize>>,
) -> Vec<usize> {
    let mut c = Chunker::new();
    let mut out = Vec::new();
    let mut cuts = Vec::new();
    for r in pieces {
        cuts.clear();
        c.push_with::<PAIRED>(&data[r.clone()], &mut cuts);
        out.extend(cuts.iter().map(|&x| r.start + x));
    }
    if c.finish().is_some() {
        out.push(data.len());
    }
    out
}

fn blocks(len: usize, size: usize) -> impl Iterator<Item = std::ops::Range<usize>> {
    (0..len).step_by(size).map(move |s| s..(s + size).min(len))
}

fn check_all_ways(data: &[u8], expected: &[usize], what: &str) {
    assert_eq!(Chunker::boundaries(data), expected, "{what}: whole");
    assert_eq!(
        Chunker::boundaries_with::<true>(data),
        expected,
        "{what}: paired"
    );
    assert_eq!(
        Chunker::boundaries_with::<false>(data),
        expected,
        "{what}: byte-wise"
    );
    assert_eq!(
        reference_boundaries(data),
        expected,
        "{what}: reference rule"
    );
    for size in [1usize, 37, 255, 65536] {
        assert_eq!(
            streamed(data, blocks(data.len(), size)),
            expected,
            "{what}: blocks of {size}"
        );
    }
    for seed in 0..3 {
        assert_eq!(
            streamed(data, random_splits(data.len(), 200_000, seed).into_iter()),
            expected,
            "{what}: random split {seed}"
        );
    }
}

#[test]
fn generators_match_sizes_and_sha256() {
    let v = vectors();
    for (name, e) in v.as_object().unwrap() {
        let size = e["size"].as_u64().unwrap() as usize;
        let data = input_for(name, size);
        assert_eq!(data.len(), size, "{name}");
        assert_eq!(sha256_hex(&data), e["sha256"].as_str().unwrap(), "{name}");
    }
    // README check values.
    assert_eq!(
        &splitmix64(1, 16),
        &plain("c15c0289ec2d0a9167ec8e65a18debbe")[..]
    );
    assert_eq!(
        &splitmix64(0, 16),
        &plain("afcd1d7b39a820e2f465b9a16a9e786e")[..]
    );
}

#[test]
fn vectors_json_chunks_all_ways() {
    let v = vectors();
    for (name, e) in v.as_object().unwrap() {
        let data = input_for(name, e["size"].as_u64().unwrap() as usize);
        let chunks = e["chunks"].as_array().unwrap();
        let expected: Vec<usize> = chunks
            .iter()
            .map(|c| c["end"].as_u64().unwrap() as usize)
            .collect();
        check_all_ways(&data, &expected, name);
        // start/len/hash of every chunk.
        let mut start = 0;
        for c in chunks {
            let end = c["end"].as_u64().unwrap() as usize;
            assert_eq!(c["start"].as_u64().unwrap() as usize, start, "{name}");
            assert_eq!(c["len"].as_u64().unwrap() as usize, end - start, "{name}");
            assert_eq!(
                chunk_hash(&data[start..end]).to_hex(),
                c["hash"].as_str().unwrap(),
                "{name} chunk at {start}"
            );
            start = end;
        }
    }
}

#[test]
fn chunk_hasher_streams_like_whole() {
    let data = splitmix64(1, 5 << 20);
    let v = vectors();
    let expected: Vec<(String, usize)> = v["splitmix_5MiB.bin"]["chunks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["hash"].as_str().unwrap().to_string(),
                c["len"].as_u64().unwrap() as usize,
            )
        })
        .collect();
    for (i, pieces) in [
        blocks(data.len(), 1 << 20).collect::<Vec<_>>(),
        blocks(data.len(), 4099).collect(),
        random_splits(data.len(), 300_000, 9),
    ]
    .into_iter()
    .enumerate()
    {
        let mut ch = ChunkHasher::new();
        let mut got = Vec::new();
        for r in pieces {
            ch.update(&data[r], |h, len| got.push((h.to_hex(), len)));
        }
        ch.finish(|h, len| got.push((h.to_hex(), len)));
        assert_eq!(got, expected, "split variant {i}");
    }
}

#[test]
fn xet_core_random_1mb() {
    let v = xet_core_vectors();
    let case = &v["chunking"]["random_1mb"];
    let data = splitmix64(0, 1_000_000);
    let check = &case["input_check"];
    assert_eq!(data[0] as u64, check["byte_0"].as_u64().unwrap());
    assert_eq!(data[127] as u64, check["byte_127"].as_u64().unwrap());
    assert_eq!(data[111_111] as u64, check["byte_111111"].as_u64().unwrap());
    assert_eq!(sha256_hex(&data), check["sha256"].as_str().unwrap());
    let expected: Vec<usize> = case["boundaries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_u64().unwrap() as usize)
        .collect();
    check_all_ways(&data, &expected, "random_1mb");
    let hashes: Vec<String> = case["chunk_hashes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_str().unwrap().to_string())
        .collect();
    let mut start = 0;
    for (end, hx) in expected.iter().zip(&hashes) {
        assert_eq!(&chunk_hash(&data[start..*end]).to_hex(), hx);
        start = *end;
    }
}

#[test]
fn xet_core_const_1mb() {
    let v = xet_core_vectors();
    let case = &v["chunking"]["const_1mb"];
    let data = vec![59u8; 1_000_000];
    let expected: Vec<usize> = case["boundaries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_u64().unwrap() as usize)
        .collect();
    check_all_ways(&data, &expected, "const_1mb");
}

#[test]
fn xet_core_streaming_256000() {
    let v = xet_core_vectors();
    let case = &v["chunking"]["streaming_256000"];
    let data = splitmix64(1, 256_000);
    assert_eq!(
        sha256_hex(&data),
        case["input_check"]["sha256"].as_str().unwrap()
    );
    let expected: Vec<usize> = case["boundaries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_u64().unwrap() as usize)
        .collect();
    for size in case["feed_block_sizes"].as_array().unwrap() {
        let size = size.as_u64().unwrap() as usize;
        assert_eq!(streamed(&data, blocks(data.len(), size)), expected);
    }
    check_all_ways(&data, &expected, "streaming_256000");
}

#[test]
fn xet_core_edge_cases_current_and_legacy() {
    let v = xet_core_vectors();
    let ec = &v["chunking"]["edge_cases"];
    let pattern: Vec<u8> = ec["input"]["pattern_decimal"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_u64().unwrap() as u8)
        .collect();
    let len = ec["input"]["length"].as_u64().unwrap() as usize;
    let cases = ec["cases"].as_array().unwrap();
    assert_eq!(cases.len(), 128);
    let mut differ = 0;
    for c in cases {
        let i = c["case"].as_u64().unwrap() as usize;
        let data = edge_case_input(&pattern, i, len);
        assert_eq!(
            data[11111] as u64,
            c["data_11111"].as_u64().unwrap(),
            "case {i}"
        );
        let cur: Vec<usize> = c["boundaries"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_u64().unwrap() as usize)
            .collect();
        let legacy: Vec<usize> = c["legacy_boundaries"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_u64().unwrap() as usize)
            .collect();
        check_all_ways(&data, &cur, &format!("case {i}"));
        assert_eq!(legacy_boundaries(&data), legacy, "case {i} legacy");
        assert_eq!(
            cur != legacy,
            c["legacy_differs"].as_bool().unwrap(),
            "case {i}"
        );
        differ += (cur != legacy) as usize;
    }
    assert_eq!(differ, 13);
}

#[test]
fn constant_inputs_of_every_byte_value() {
    for b in 0..=255u8 {
        let data = vec![b; 3 * MAX_CHUNK + 12345];
        check_all_ways(&data, &reference_boundaries(&data), &format!("byte {b}"));
    }
}

#[test]
fn chunk_sizes_respect_limits() {
    for seed in 0..4 {
        let data = splitmix64(seed, 3 << 20);
        let b = Chunker::boundaries(&data);
        let mut start = 0;
        for (i, &end) in b.iter().enumerate() {
            let len = end - start;
            assert!(len <= MAX_CHUNK);
            if i + 1 < b.len() {
                assert!(len >= MIN_CHUNK);
            }
            start = end;
        }
        assert_eq!(*b.last().unwrap(), data.len());
    }
}

#[test]
fn lengths_around_the_limits() {
    let base = splitmix64(77, 2 * MAX_CHUNK + 200);
    for len in [
        0,
        1,
        63,
        64,
        65,
        MIN_CHUNK - 65,
        MIN_CHUNK - 64,
        MIN_CHUNK - 1,
        MIN_CHUNK,
        MIN_CHUNK + 1,
        MAX_CHUNK - 1,
        MAX_CHUNK,
        MAX_CHUNK + 1,
        2 * MAX_CHUNK,
        2 * MAX_CHUNK + 1,
    ] {
        let data = &base[..len];
        let expected = reference_boundaries(data);
        check_all_ways(data, &expected, &format!("len {len}"));
    }
    // Forced cuts exactly at the maximum when no match exists: constant 59 never matches.
    let data = vec![59u8; 2 * MAX_CHUNK];
    assert_eq!(Chunker::boundaries(&data), vec![MAX_CHUNK, 2 * MAX_CHUNK]);
}

/// Inputs that put many matches close together: low-entropy data of random short periods.
fn periodic(seed: u64, period: usize, len: usize) -> Vec<u8> {
    let p = splitmix64(seed, period.max(1));
    (0..len).map(|i| p[i % p.len()]).collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, .. ProptestConfig::default() })]

    #[test]
    fn fast_equals_reference_random(seed in any::<u64>(), len in 0usize..700_000) {
        let data = splitmix64(seed, len);
        let r = reference_boundaries(&data);
        prop_assert_eq!(&Chunker::boundaries_with::<true>(&data), &r);
        prop_assert_eq!(&Chunker::boundaries_with::<false>(&data), &r);
    }

    #[test]
    fn fast_equals_reference_periodic(seed in any::<u64>(), period in 1usize..300, len in 0usize..400_000) {
        let data = periodic(seed, period, len);
        let r = reference_boundaries(&data);
        prop_assert_eq!(&Chunker::boundaries_with::<true>(&data), &r);
        prop_assert_eq!(&Chunker::boundaries_with::<false>(&data), &r);
    }

    #[test]
    fn split_invariance(seed in any::<u64>(), split_seed in any::<u64>(), len in 0usize..600_000, max in 1usize..150_000) {
        let data = splitmix64(seed, len);
        let expected = reference_boundaries(&data);
        prop_assert_eq!(streamed(&data, random_splits(len, max, split_seed).into_iter()), expected);
    }
}

#[test]
fn many_seeds_against_reference() {
    // Beyond proptest: 64 seeds of 2 MiB, plus low-entropy mixtures.
    for seed in 100..164u64 {
        let data = splitmix64(seed, 2 << 20);
        let r = reference_boundaries(&data);
        assert_eq!(Chunker::boundaries_with::<true>(&data), r, "seed {seed}");
        assert_eq!(Chunker::boundaries_with::<false>(&data), r, "seed {seed}");
    }
    for seed in 0..16u64 {
        let mut data = splitmix64(seed, 1 << 20);
        // Zero runs of random lengths make long forced chunks next to random regions.
        let mut rng = Rng(seed);
        for _ in 0..8 {
            let s = rng.below(data.len() as u64) as usize;
            let n = (rng.below(300_000) as usize).min(data.len() - s);
            data[s..s + n].fill(0);
        }
        check_all_ways(
            &data,
            &reference_boundaries(&data),
            &format!("zero runs {seed}"),
        );
    }
}
