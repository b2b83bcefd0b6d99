//! Segments prepared in parallel (src/prepare.rs) give exactly the chunks of one sequential pass,
//! whatever the data, segment size, overlap and seam positions; the seam resolution is the one
//! the TypeScript pool applies (js/src/pool): every segment's chain starts speculatively at the
//! segment start, the true position decides which chunks to keep, and a segment whose chain
//! never met the true one is prepared again from the true position.

mod common;

use common::*;
use proptest::prelude::*;
use xet_core::chunking::{reference_boundaries, MAX_CHUNK};
use xet_core::hash::chunk_hash;
use xet_core::prepare::{prepare_segment, PreparedSegment, SegmentEnd};
use xet_core::xorb::{decode_chunk_records, ChunkCompressor, CompressionPolicy};

/// One chunk as assembled: absolute end, hash, record.
#[derive(Debug, PartialEq, Eq)]
struct Assembled {
    end: usize,
    hash: [u8; 32],
    record: Vec<u8>,
}

#[derive(Debug, Default)]
struct Stats {
    jobs: usize,
    reruns: usize,
    dropped: usize,
}

/// How jobs start their chain: speculatively at the segment start (the pool: jobs run at once),
/// or at the true position when the previous job's outcome is known (in-thread, sequential).
#[derive(Clone, Copy, Debug)]
enum Start {
    Speculative,
    Known,
}

/// Assembles a file from jobs of `seg + overlap` bytes every `seg` bytes, as the pool does.
fn assemble(data: &[u8], seg: usize, overlap: usize, start_mode: Start) -> (Vec<Assembled>, Stats) {
    assert!(overlap >= MAX_CHUNK && overlap < seg);
    let mut c = ChunkCompressor::new();
    let mut out = Vec::new();
    let mut stats = Stats::default();
    let mut pos = 0usize; // the true chain's last boundary (absolute)
    let mut s = 0usize;
    loop {
        let end = (s + seg + overlap).min(data.len());
        let buf = &data[s..end];
        // A full buffer has a seam at `seg`; a shorter one reaches the end of the file.
        let seam = (buf.len() == seg + overlap).then_some(seg);
        let rel = pos - s;
        assert!(
            rel <= overlap.min(buf.len()),
            "true position {pos} too far into job at {s}"
        );
        let first_start = match start_mode {
            Start::Speculative => 0,
            Start::Known => rel,
        };
        stats.jobs += 1;
        let mut r = prepare_segment(
            buf,
            first_start,
            seam,
            Some(CompressionPolicy::Best),
            &mut c,
        )
        .unwrap();
        // Keep the chunks after the true position: it must be the chain's start or a boundary.
        let starts_at = |r: &PreparedSegment, start: usize| {
            if start == rel {
                Some(0)
            } else {
                (0..r.len())
                    .position(|i| r.chunk_end(i) == rel)
                    .map(|i| i + 1)
            }
        };
        let from = match starts_at(&r, first_start) {
            Some(i) => i,
            None => {
                stats.reruns += 1;
                r = prepare_segment(buf, rel, seam, Some(CompressionPolicy::Best), &mut c).unwrap();
                0
            }
        };
        stats.dropped += from;
        let recs = r.records();
        let mut off: usize = (0..from).map(|i| r.record_len(i)).sum();
        for i in from..r.len() {
            let len = r.record_len(i);
            out.push(Assembled {
                end: s + r.chunk_end(i),
                hash: *r.hash(i).as_bytes(),
                record: recs[off..off + len].to_vec(),
            });
            off += len;
        }
        assert_eq!(off, recs.len());
        match r.end() {
            SegmentEnd::Final => {
                assert!(seam.is_none());
                break;
            }
            SegmentEnd::Met(p) | SegmentEnd::Open(p) => {
                assert!(p >= seg, "the seam's chunks end at or after it");
                assert_eq!(r.chunk_end(r.len() - 1), p);
                pos = s + p;
            }
        }
        s += seg;
    }
    (out, stats)
}

/// Checks assembled chunks against the sequential reference: boundaries, hashes, records.
fn check(data: &[u8], got: &[Assembled], what: &str) {
    let want = reference_boundaries(data);
    let ends: Vec<usize> = got.iter().map(|a| a.end).collect();
    assert_eq!(ends, want, "{what}: boundaries");
    let mut prev = 0;
    for a in got {
        let chunk = &data[prev..a.end];
        assert_eq!(
            a.hash,
            *chunk_hash(chunk).as_bytes(),
            "{what}: hash of chunk ending {}",
            a.end
        );
        let dec = decode_chunk_records(&a.record).unwrap();
        assert_eq!(dec.data, chunk, "{what}: record of chunk ending {}", a.end);
        prev = a.end;
    }
}

fn check_all(data: &[u8], seg: usize, overlap: usize, what: &str) -> Stats {
    let (spec, stats) = assemble(data, seg, overlap, Start::Speculative);
    check(data, &spec, &format!("{what} speculative"));
    let (known, kstats) = assemble(data, seg, overlap, Start::Known);
    check(data, &known, &format!("{what} known start"));
    assert_eq!(
        kstats.reruns, 0,
        "{what}: a known start never needs a second pass"
    );
    assert_eq!(kstats.dropped, 0, "{what}: a known start drops nothing");
    stats
}

const K: usize = 1024;

#[test]
fn random_data_many_segment_sizes() {
    let data = splitmix64(7, 9 * 1024 * K + 12345);
    for (seg, overlap) in [
        (MAX_CHUNK + 1, MAX_CHUNK),
        (200 * K + 3, 131 * K),
        (256 * K, MAX_CHUNK),
        (1024 * K - 1, 256 * K),
        (1024 * K, 512 * K),
        (3 * 1024 * K + 17, 1024 * K),
        (4 * 1024 * K, 512 * K),
    ] {
        let st = check_all(
            &data,
            seg,
            overlap,
            &format!("random seg {seg} overlap {overlap}"),
        );
        // On random data the chains meet within a few chunks: with an overlap of 256 KiB or
        // more no segment is prepared twice, and about one chunk per seam is dropped.
        if overlap >= 256 * K {
            assert_eq!(st.reruns, 0, "seg {seg} overlap {overlap}: {st:?}");
            assert!(
                st.dropped <= 2 * st.jobs,
                "seg {seg} overlap {overlap}: {st:?}"
            );
        }
    }
}

#[test]
fn constant_data_falls_back_to_the_sequential_chain() {
    // Bytes whose hash matches (a cut every 8,192 bytes) and bytes that never match (every
    // 131,072): chains started elsewhere never meet, unless the offset is a multiple.
    for b in [0u8, 1, 0x55, 0xFF] {
        let mut data = splitmix64(b as u64, 77_777);
        data.extend(std::iter::repeat_n(b, 3 * 1024 * K));
        data.extend(splitmix64(99, 200 * K));
        for (seg, overlap) in [
            (300 * K + 5, MAX_CHUNK),
            (1024 * K, 256 * K),
            (MAX_CHUNK + 8192, MAX_CHUNK),
        ] {
            check_all(&data, seg, overlap, &format!("byte {b} seg {seg}"));
        }
    }
    // All zeros from the start with segments that are multiples of 131,072: the chains share
    // the seam itself.
    let zeros = vec![0u8; 2 * 1024 * K + 5];
    let st = check_all(&zeros, 512 * K, 256 * K, "zeros aligned");
    assert_eq!(st.reruns, 0);
}

#[test]
fn text_and_edge_case_patterns() {
    let t = text(3 * 1024 * K + 999);
    check_all(&t, 700 * K + 1, 300 * K, "text");
    let v = xet_core_vectors();
    let ec = &v["chunking"]["edge_cases"];
    let pattern: Vec<u8> = ec["input"]["pattern_decimal"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_u64().unwrap() as u8)
        .collect();
    for i in [0usize, 1, 7, 31, 64, 100, 127] {
        // The periodic edge-case inputs, long enough for several seams.
        let data = edge_case_input(&pattern, i, 1100 * K + i);
        check_all(&data, 300 * K + i, MAX_CHUNK + i, &format!("edge case {i}"));
    }
}

#[test]
fn short_inputs_and_exact_fits() {
    let data = splitmix64(3, 3 * 1024 * K);
    for len in [
        0usize,
        1,
        8191,
        8192,
        65_536,
        MAX_CHUNK,
        MAX_CHUNK + 1,
        400 * K,
    ] {
        check_all(&data[..len], 256 * K, MAX_CHUNK, &format!("len {len}"));
    }
    // Lengths where the last job is exactly the overlap, or one byte more or less.
    let (seg, overlap) = (256 * K, MAX_CHUNK);
    for len in [
        seg + overlap - 1,
        seg + overlap,
        seg + overlap + 1,
        2 * seg + overlap,
        2 * seg + overlap + 1,
    ] {
        check_all(&data[..len], seg, overlap, &format!("exact len {len}"));
    }
}

#[test]
fn argument_errors() {
    let mut c = ChunkCompressor::new();
    let data = vec![7u8; 300 * K];
    let p = Some(CompressionPolicy::None);
    assert!(prepare_segment(&data, data.len() + 1, None, p, &mut c).is_err());
    // A seam needs 131,072 bytes after it, and comes at or after the start.
    assert!(prepare_segment(&data, 0, Some(data.len() - MAX_CHUNK + 1), p, &mut c).is_err());
    assert!(prepare_segment(&data, 10, Some(5), p, &mut c).is_err());
    assert!(prepare_segment(&data, 0, Some(data.len() - MAX_CHUNK), p, &mut c).is_ok());
    // An empty final segment has no chunk.
    let r = prepare_segment(&[], 0, None, p, &mut c).unwrap();
    assert!(r.is_empty());
    assert_eq!(r.end(), SegmentEnd::Final);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]
    /// Random data with constant runs and text spliced in, random segment sizes and overlaps.
    #[test]
    fn seams_anywhere(seed in 0u64..1_000_000, seg_k in 129usize..700, extra in 0usize..200_000, runs in 0usize..4) {
        let mut data = splitmix64(seed, 600 * K + extra);
        let mut rng = Rng(seed);
        for _ in 0..runs {
            let at = rng.below(data.len() as u64) as usize;
            let len = (rng.below(300_000) as usize).min(data.len() - at);
            let b = rng.below(256) as u8;
            if rng.below(2) == 0 {
                data[at..at + len].fill(b);
            } else {
                data[at..at + len].copy_from_slice(&text(len));
            }
        }
        let seg = seg_k * K + rng.below(1024) as usize;
        let overlap = MAX_CHUNK + rng.below((seg - MAX_CHUNK) as u64) as usize;
        check_all(&data, seg, overlap.min(seg - 1), &format!("seed {seed} seg {seg} overlap {overlap}"));
    }
}

#[test]
fn hashes_only() {
    let data = splitmix64(5, 2 * 1024 * K);
    let mut c = ChunkCompressor::new();
    let full = prepare_segment(&data, 0, None, Some(CompressionPolicy::Lz4), &mut c).unwrap();
    let bare = prepare_segment(&data, 0, None, None, &mut c).unwrap();
    assert_eq!(bare.len(), full.len());
    assert!(bare.records().is_empty());
    for i in 0..bare.len() {
        assert_eq!(bare.chunk_end(i), full.chunk_end(i));
        assert_eq!(bare.hash(i), full.hash(i));
        assert_eq!(bare.record_len(i), 0);
    }
}
