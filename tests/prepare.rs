//! Segments prepared in parallel (src/prepare.rs) give exactly the chunks of one sequential pass,
//! whatever the data, segment size, overlap and seam positions; the seam resolution is the one
//! the TypeScript pool applies (js/src/pool): every segment's chain starts speculatively at the
//! segment start, the true position decides which chunks to keep, and a segment whose chain
//! never met the true one is prepared again from the true position.

mod common;

use common::*;
use proptest::prelude::*;
use xet_core::chunk_hash;
use xet_core::{decode_chunk_records, ChunkCompressor, CompressionPolicy};
use xet_core::{
    prepare_segment, prepare_segment_with, RecordPayloads, Seam, SegmentEnd, SegmentSpec,
};
use xet_core::{reference_boundaries, MAX_CHUNK};

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

/// How jobs start their chain: speculatively at the start of their bytes (the pool: jobs run at
/// once), or at the true position when the previous job's outcome is known (in-thread, sequential).
#[derive(Clone, Copy, Debug)]
enum Start {
    Speculative,
    Known,
}

/// Assembles a file from jobs of `preroll + seg + overlap` bytes every `seg` bytes, as the pool
/// does (js/src/xet/prepared-files.ts).
fn assemble(
    data: &[u8],
    seg: usize,
    overlap: usize,
    preroll: usize,
    start_mode: Start,
) -> (Vec<Assembled>, Stats) {
    assert!(overlap >= MAX_CHUNK && overlap < seg);
    let mut c = ChunkCompressor::new();
    let mut out = Vec::new();
    let mut stats = Stats::default();
    let mut pos = 0usize; // the true chain's last boundary (absolute)
    let mut s = 0usize;
    let policy = Some(CompressionPolicy::Best);
    loop {
        let x = preroll.min(s);
        let base = s - x;
        let end = (s + seg + overlap).min(data.len());
        let buf = &data[base..end];
        // A full buffer has a seam at `seg`; a shorter one reaches the end of the file.
        let seam = (end == s + seg + overlap).then(|| Seam {
            at: x + seg,
            chain_start: x + seg - preroll.min(s + seg),
        });
        let rel = pos - base;
        assert!(
            rel >= x && rel <= x + overlap,
            "true position {pos} vs job at {s}"
        );
        let spec = match start_mode {
            Start::Speculative => SegmentSpec {
                start: 0,
                emit_from: x,
                seam,
            },
            Start::Known => SegmentSpec {
                start: rel,
                emit_from: rel,
                seam,
            },
        };
        stats.jobs += 1;
        let mut r = prepare_segment(buf, spec, policy, &mut c).unwrap();
        // Keep the chunks after the true position: the start of the first chunk, or a boundary.
        let from = if rel == r.first_start() {
            Some(0)
        } else {
            (0..r.len())
                .position(|i| r.chunk_end(i) == rel)
                .map(|i| i + 1)
        };
        let from = match from {
            Some(i) => i,
            None => {
                stats.reruns += 1;
                let again = SegmentSpec {
                    start: rel,
                    emit_from: rel,
                    seam,
                };
                r = prepare_segment(buf, again, policy, &mut c).unwrap();
                assert_eq!(r.first_start(), rel);
                0
            }
        };
        stats.dropped += from;
        let recs = r.records();
        let mut off: usize = (0..from).map(|i| r.record_len(i)).sum();
        for i in from..r.len() {
            let len = r.record_len(i);
            out.push(Assembled {
                end: base + r.chunk_end(i),
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
                assert!(p >= x + seg, "the seam's chunks end at or after it");
                assert_eq!(r.chunk_end(r.len() - 1), p);
                pos = base + p;
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

/// Checks every way of assembling: speculative jobs without pre-roll and with pre-rolls of one
/// and two maximal chunks, and jobs that know their start. Returns the stats of the speculative
/// runs without pre-roll and with the longest.
fn check_all(data: &[u8], seg: usize, overlap: usize, what: &str) -> (Stats, Stats) {
    let mut out = Vec::new();
    for preroll in [0, MAX_CHUNK, 2 * MAX_CHUNK] {
        let preroll = preroll.min(seg - 1);
        let (spec, stats) = assemble(data, seg, overlap, preroll, Start::Speculative);
        check(
            data,
            &spec,
            &format!("{what} speculative, pre-roll {preroll}"),
        );
        out.push(stats);
    }
    let (known, kstats) = assemble(data, seg, overlap, MAX_CHUNK.min(seg - 1), Start::Known);
    check(data, &known, &format!("{what} known start"));
    assert_eq!(
        kstats.reruns, 0,
        "{what}: a known start never needs a second pass"
    );
    assert_eq!(kstats.dropped, 0, "{what}: a known start drops nothing");
    let last = out.pop().unwrap_or_default();
    (out.swap_remove(0), last)
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
        let what = format!("random seg {seg} overlap {overlap}");
        let (st, pre) = check_all(&data, seg, overlap, &what);
        // On random data the chains meet within a few chunks: with an overlap of 256 KiB or
        // more no segment is prepared twice, and without pre-roll about one chunk per seam is
        // dropped; after a pre-roll of 256 KiB the chain has converged before the segment
        // starts (almost) always, so (almost) nothing is dropped.
        if overlap >= 256 * K {
            assert_eq!(st.reruns, 0, "{what}: {st:?}");
            assert!(st.dropped <= 2 * st.jobs, "{what}: {st:?}");
            assert_eq!(pre.reruns, 0, "{what} pre-roll: {pre:?}");
            assert!(pre.dropped * 20 <= pre.jobs, "{what} pre-roll: {pre:?}");
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
    let (st, _) = check_all(&zeros, 512 * K, 256 * K, "zeros aligned");
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
    let spec = |start, emit_from, seam: Option<(usize, usize)>| SegmentSpec {
        start,
        emit_from,
        seam: seam.map(|(at, chain_start)| Seam { at, chain_start }),
    };
    let n = data.len();
    for bad in [
        spec(n + 1, n + 1, None),
        spec(10, 5, None),
        // A seam needs 131,072 bytes after it, comes after the first chunk, and its chain
        // starts before it.
        spec(0, 0, Some((n - MAX_CHUNK + 1, 0))),
        spec(0, 20, Some((10, 0))),
        spec(0, 0, Some((1000, 1001))),
    ] {
        let e = prepare_segment(&data, bad, p, &mut c).unwrap_err();
        assert_eq!(e.kind, xet_core::ErrorKind::InvalidArgument, "{bad:?}");
    }
    assert!(prepare_segment(&data, spec(0, 0, Some((n - MAX_CHUNK, 5))), p, &mut c).is_ok());
    // An empty final segment has no chunk.
    let r = prepare_segment(&[], SegmentSpec::last(0), p, &mut c).unwrap();
    assert!(r.is_empty());
    assert_eq!(r.end(), SegmentEnd::Final);
    // Emitting from the end of the data: no chunk either.
    let r = prepare_segment(&data, spec(0, n, None), p, &mut c).unwrap();
    assert!(r.is_empty());
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
    let whole = SegmentSpec::last(0);
    let full = prepare_segment(&data, whole, Some(CompressionPolicy::Lz4), &mut c).unwrap();
    let bare = prepare_segment(&data, whole, None, &mut c).unwrap();
    assert_eq!(bare.len(), full.len());
    assert!(bare.records().is_empty());
    for i in 0..bare.len() {
        assert_eq!(bare.chunk_end(i), full.chunk_end(i));
        assert_eq!(bare.hash(i), full.hash(i));
        assert_eq!(bare.record_len(i), 0);
    }
}

#[test]
fn raw_payloads_left_out() {
    // Random stretches (stored raw) between text (compressed), so both kinds of record alternate.
    let mut data = Vec::new();
    for i in 0..6u64 {
        data.extend(splitmix64(40 + i, 300 * K));
        data.extend(text(200 * K));
    }
    let mut c = ChunkCompressor::new();
    let whole = SegmentSpec::last(0);
    for policy in [
        CompressionPolicy::None,
        CompressionPolicy::Lz4,
        CompressionPolicy::Auto,
    ] {
        let full = prepare_segment(&data, whole, Some(policy), &mut c).unwrap();
        let lean = prepare_segment_with(
            &data,
            whole,
            Some(policy),
            RecordPayloads::HeaderOnlyIfRaw,
            &mut c,
        )
        .unwrap();
        assert_eq!(lean.len(), full.len());
        assert_eq!(
            u32::from_le_bytes(lean.as_bytes()[20..24].try_into().unwrap()),
            1
        );
        assert_eq!(
            u32::from_le_bytes(full.as_bytes()[20..24].try_into().unwrap()),
            0
        );
        // Putting each raw chunk's bytes back after its header gives the full records exactly.
        let (mut at, mut rebuilt, mut raw) = (0, Vec::new(), 0);
        for i in 0..lean.len() {
            assert_eq!(lean.chunk_end(i), full.chunk_end(i));
            assert_eq!(lean.hash(i), full.hash(i));
            assert_eq!(lean.record_len(i), full.record_len(i));
            let start = if i == 0 { 0 } else { lean.chunk_end(i - 1) };
            let header = &lean.records()[at..at + 8];
            if header[4] == 0 {
                raw += 1;
                rebuilt.extend_from_slice(header);
                rebuilt.extend_from_slice(&data[start..lean.chunk_end(i)]);
                at += 8;
            } else {
                rebuilt.extend_from_slice(&lean.records()[at..at + lean.record_len(i)]);
                at += lean.record_len(i);
            }
        }
        assert_eq!(at, lean.records().len());
        assert_eq!(rebuilt, full.records(), "{policy:?}");
        assert!(
            raw > 0 && (policy == CompressionPolicy::None || raw < lean.len()),
            "{policy:?}: {raw} raw"
        );
    }
}
