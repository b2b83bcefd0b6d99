//! Hashes (spec §3) against the vectors: keys, hex order, chunk hashes, merkle roots (all 18
//! upstream cases, also through the streaming builder), file hashes with salts, verification
//! hashes, dedup eligibility.

mod common;

use common::*;
use proptest::prelude::*;
use xet_core::MerkleHash;
use xet_core::XetHasher;
use xet_core::*;

#[test]
fn keys_match_vectors() {
    let v = xet_core_vectors();
    let k = &v["keys"];
    assert_eq!(
        plain(k["DATA_KEY"]["key_plain_hex"].as_str().unwrap()),
        DATA_KEY
    );
    assert_eq!(
        plain(k["INTERNAL_NODE_KEY"]["key_plain_hex"].as_str().unwrap()),
        INTERNAL_NODE_KEY
    );
    assert_eq!(
        plain(k["VERIFICATION_KEY"]["key_plain_hex"].as_str().unwrap()),
        VERIFICATION_KEY
    );
    assert_eq!(
        plain(k["FILE_HASH_SALT"]["key_plain_hex"].as_str().unwrap()),
        FILE_HASH_KEY
    );
}

#[test]
fn hex_order_both_ways() {
    let v = xet_core_vectors();
    for pair in v["hex_order"].as_array().unwrap() {
        let raw = plain(pair["raw_plain_hex"].as_str().unwrap());
        let xet = pair["xet_hex"].as_str().unwrap();
        let hsh = MerkleHash::from_slice(&raw).unwrap();
        assert_eq!(hsh.to_hex(), xet);
        assert_eq!(MerkleHash::from_hex(xet).unwrap().as_bytes()[..], raw[..]);
        assert_eq!(MerkleHash::from_hex(&xet.to_uppercase()).unwrap(), hsh);
    }
}

#[test]
fn hex_rejects_bad_input() {
    for bad in [
        "",
        "00",
        &"0".repeat(63),
        &"0".repeat(65),
        &format!("{}g", "0".repeat(63)),
        &format!("{}é", "0".repeat(62)),
        &format!(" {}", "0".repeat(63)),
    ] {
        let e = MerkleHash::from_hex(bad).unwrap_err();
        assert_eq!(e.code(), "INVALID_HEX", "{bad:?}");
    }
    assert_eq!(
        MerkleHash::from_slice(&[0u8; 31]).unwrap_err().code(),
        "INVALID_ARGUMENT"
    );
}

#[test]
fn hex_round_trip_and_ordering() {
    let mut rng = Rng(5);
    let mut hs: Vec<MerkleHash> = (0..200)
        .map(|_| {
            let mut b = [0u8; 32];
            for c in b.chunks_mut(8) {
                c.copy_from_slice(&rng.next().to_le_bytes());
            }
            MerkleHash(b)
        })
        .collect();
    for x in &hs {
        assert_eq!(MerkleHash::from_hex(&x.to_hex()).unwrap(), *x);
    }
    let mut by_hex = hs.clone();
    by_hex.sort_by_key(|x| x.to_hex());
    hs.sort();
    assert_eq!(hs, by_hex, "ordering equals Xet hex string ordering");
}

#[test]
fn spec_examples() {
    let hw = chunk_hash(b"hello world");
    assert_eq!(
        to_plain_hex(hw.as_bytes()),
        "119f359d8b37394e0213441f7a559081d97ba0cf5f4ea519b151e66f460bf56c"
    );
    assert_eq!(
        hw.to_hex(),
        "4e39378b9d359f118190557a1f44130219a54e5fcfa07bd96cf50b466fe651b1"
    );
    let a = chunk_hash(b"a");
    assert_eq!(
        a.to_hex(),
        "a4d4ed80fcb2fe5177fc59321d3e6f90faf23e35a48d58303114bf073f34178a"
    );
    assert_eq!(
        file_hash(&[(a, 1)]).to_hex(),
        "49a7fffaf5f34109d4a191757f3e541e26437dcd1e0e83153454a503757856be"
    );
    assert_eq!(xorb_hash(&[(a, 1)]), a);
    assert_eq!(file_hash(&[]), MerkleHash::ZERO);
    assert_eq!(merkle_root(&[]), MerkleHash::ZERO);
    assert_eq!(MerkleHash::ZERO.to_hex(), "0".repeat(64));
}

fn streaming_root(nodes: &[(MerkleHash, u64)]) -> MerkleHash {
    let mut b = MerkleBuilder::new();
    for (h, s) in nodes {
        b.push(*h, *s);
    }
    let mid = b.root();
    let fin = b.finish();
    assert_eq!(mid, fin);
    fin
}

#[test]
fn merkle_vectors_18_cases() {
    let cases = merkle_vectors();
    let cases = cases.as_array().unwrap();
    assert_eq!(cases.len(), 18);
    for (i, c) in cases.iter().enumerate() {
        let nodes: Vec<(MerkleHash, u64)> = c["chunks"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| (h(p[0].as_str().unwrap()), p[1].as_u64().unwrap()))
            .collect();
        let expected = c["xorb_hash"].as_str().unwrap();
        assert_eq!(merkle_root(&nodes).to_hex(), expected, "case {i}");
        assert_eq!(
            streaming_root(&nodes).to_hex(),
            expected,
            "case {i} streaming"
        );
        for pair in c["file_hashes_by_salt"].as_array().unwrap() {
            let salt = key32(pair[0].as_str().unwrap());
            let fh = pair[1].as_str().unwrap();
            assert_eq!(file_hash_with_salt(&nodes, &salt).to_hex(), fh, "case {i}");
            let mut fb = FileHashBuilder::new();
            for (hh, s) in &nodes {
                fb.add_chunk(*hh, *s);
            }
            assert_eq!(fb.finish_with_salt(&salt).to_hex(), fh, "case {i} builder");
        }
    }
}

#[test]
fn xorb_file_hash_cases_all_salts() {
    let v = xet_core_vectors();
    let cases = v["xorb_file_hash_cases"]["cases"].as_array().unwrap();
    assert_eq!(cases.len(), 18);
    for c in cases {
        let i = c["case"].as_u64().unwrap();
        let nodes: Vec<(MerkleHash, u64)> = c["chunks"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| {
                (
                    h(p["hash"].as_str().unwrap()),
                    p["length"].as_u64().unwrap(),
                )
            })
            .collect();
        assert_eq!(nodes.len() as u64, c["num_chunks"].as_u64().unwrap());
        assert_eq!(
            xorb_hash(&nodes).to_hex(),
            c["xorb_hash"].as_str().unwrap(),
            "case {i}"
        );
        let salts = c["file_hashes"].as_array().unwrap();
        assert_eq!(salts.len(), 3);
        for s in salts {
            let salt = key32(s["salt"].as_str().unwrap());
            assert_eq!(
                file_hash_with_salt(&nodes, &salt).to_hex(),
                s["file_hash"].as_str().unwrap(),
                "case {i}"
            );
        }
    }
}

#[test]
fn vectors_json_roots_files_terms_verification() {
    let v = vectors();
    for (name, e) in v.as_object().unwrap() {
        let data = input_for(name, e["size"].as_u64().unwrap() as usize);
        let chunks: Vec<(MerkleHash, u64)> = e["chunks"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| (h(c["hash"].as_str().unwrap()), c["len"].as_u64().unwrap()))
            .collect();
        assert_eq!(
            merkle_root(&chunks).to_hex(),
            e["merkle_root_before_file_salt"].as_str().unwrap(),
            "{name}"
        );
        assert_eq!(
            file_hash(&chunks).to_hex(),
            e["xet_file_hash"].as_str().unwrap(),
            "{name}"
        );
        // Streaming file hash of the raw data, fed in odd pieces.
        for piece in [1usize << 20, 4097] {
            let mut x = XetHasher::new();
            for p in data.chunks(piece) {
                x.update(p);
            }
            assert_eq!(x.bytes(), data.len() as u64);
            assert_eq!(x.finish().to_hex(), e["xet_file_hash"].as_str().unwrap());
        }
        // finish_counted: the same hash, and the file's chunk count.
        let mut x = XetHasher::new();
        x.update(&data);
        let (h, n) = x.finish_counted();
        assert_eq!(h.to_hex(), e["xet_file_hash"].as_str().unwrap());
        assert_eq!(n, chunks.len() as u64, "{name}");
        // Xorb hashes of the uploaded xorbs: the file's chunks are the xorb's chunks (for the
        // zero file: the one distinct chunk).
        for x in e["xorbs_uploaded"].as_array().unwrap() {
            let n = x["num_chunks"].as_u64().unwrap() as usize;
            let mut distinct: Vec<(MerkleHash, u64)> = Vec::new();
            for c in &chunks {
                if !distinct.contains(c) {
                    distinct.push(*c);
                }
            }
            assert_eq!(distinct.len(), n, "{name}");
            assert_eq!(
                xorb_hash(&distinct).to_hex(),
                x["xorb_hash"].as_str().unwrap(),
                "{name}"
            );
        }
        // Verification hash per term from the file's chunk hashes in term order.
        let terms = e["segments_in_uploaded_shard"].as_array().unwrap();
        let ver = e["verification_range_hashes"].as_array().unwrap();
        assert_eq!(terms.len(), ver.len());
        let mut pos = 0;
        for (t, vh) in terms.iter().zip(ver) {
            let n = (t["chunk_index_end"].as_u64().unwrap()
                - t["chunk_index_start"].as_u64().unwrap()) as usize;
            let hs: Vec<MerkleHash> = chunks[pos..pos + n].iter().map(|c| c.0).collect();
            assert_eq!(
                verification_hash(&hs).to_hex(),
                vh.as_str().unwrap(),
                "{name}"
            );
            pos += n;
        }
        assert_eq!(pos, chunks.len());
    }
}

#[test]
fn random_1mb_derived_values() {
    let v = xet_core_vectors();
    let case = &v["chunking"]["random_1mb"];
    let hs: Vec<MerkleHash> = case["chunk_hashes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| h(x.as_str().unwrap()))
        .collect();
    let b: Vec<u64> = case["boundaries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_u64().unwrap())
        .collect();
    let mut prev = 0;
    let nodes: Vec<(MerkleHash, u64)> = hs
        .iter()
        .zip(&b)
        .map(|(hh, &e)| {
            let n = (*hh, e - prev);
            prev = e;
            n
        })
        .collect();
    let d = &case["derived"];
    assert_eq!(
        xorb_hash(&nodes).to_hex(),
        d["xorb_hash_all_chunks"].as_str().unwrap()
    );
    assert_eq!(file_hash(&nodes).to_hex(), d["file_hash"].as_str().unwrap());
    assert_eq!(
        verification_hash(&hs).to_hex(),
        d["verification_hash_all_chunks"].as_str().unwrap()
    );
    let mut x = XetHasher::new();
    x.update(&splitmix64(0, 1_000_000));
    assert_eq!(x.chunks(), 18, "the last chunk completes only at finish");
    assert_eq!(x.finish().to_hex(), d["file_hash"].as_str().unwrap());
}

#[test]
fn serialization_chunk_hashes_and_hashes() {
    let v = xet_core_vectors();
    for name in ["hello", "text2", "floats_bg4"] {
        let s = &v["serialization"][name];
        let mut nodes = Vec::new();
        for c in s["chunks"].as_array().unwrap() {
            let hh = h(c["hash"].as_str().unwrap());
            assert_eq!(
                to_plain_hex(hh.as_bytes()),
                c["hash_raw_plain_hex"].as_str().unwrap()
            );
            nodes.push((hh, c["length"].as_u64().unwrap()));
        }
        assert_eq!(xorb_hash(&nodes).to_hex(), s["xorb_hash"].as_str().unwrap());
        assert_eq!(file_hash(&nodes).to_hex(), s["file_hash"].as_str().unwrap());
        let hs: Vec<MerkleHash> = nodes.iter().map(|n| n.0).collect();
        assert_eq!(
            verification_hash(&hs).to_hex(),
            s["verification_hash_all_chunks"].as_str().unwrap()
        );
    }
}

#[test]
fn global_dedup_eligibility() {
    // The Xet hex ends in "00" preceded by 0, 4, 8 or c.
    for (suffix, ok) in [
        ("000", true),
        ("400", true),
        ("800", true),
        ("c00", true),
        ("100", false),
        ("010", false),
        ("001", false),
        ("e00", false),
    ] {
        let hx = format!("{}{}", "1".repeat(61), suffix);
        assert_eq!(is_global_dedup_eligible(&h(&hx)), ok, "{hx}");
    }
    let mut rng = Rng(3);
    for _ in 0..2000 {
        let mut b = [0u8; 32];
        for c in b.chunks_mut(8) {
            c.copy_from_slice(&rng.next().to_le_bytes());
        }
        let x = MerkleHash(b);
        let expect = b[24] == 0 && b[25] & 3 == 0;
        assert_eq!(is_global_dedup_eligible(&x), expect);
    }
}

#[test]
fn hmac_is_keyed_hash_of_raw_chunk_hash() {
    let key = [7u8; 32];
    let c = chunk_hash(b"abc");
    assert_eq!(c.hmac(&key), keyed_hash(&key, c.as_bytes()));
    assert_ne!(c.hmac(&key), c);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, .. ProptestConfig::default() })]

    #[test]
    fn streaming_merkle_equals_levels(seed in any::<u64>(), n in 0usize..400) {
        let mut rng = Rng(seed);
        let nodes: Vec<(MerkleHash, u64)> = (0..n)
            .map(|_| {
                let mut b = [0u8; 32];
                for c in b.chunks_mut(8) {
                    c.copy_from_slice(&rng.next().to_le_bytes());
                }
                (MerkleHash(b), rng.below(1 << 40))
            })
            .collect();
        prop_assert_eq!(streaming_root(&nodes), merkle_root(&nodes));
    }
}

#[test]
fn streaming_merkle_large_and_biased() {
    // Many nodes whose hashes all satisfy (or all fail) the % 4 rule: extreme fan-outs.
    for bias in [0u8, 1, 2] {
        for n in [1usize, 2, 3, 8, 9, 10, 81, 82, 730, 6561, 6562] {
            let nodes: Vec<(MerkleHash, u64)> = (0..n)
                .map(|i| {
                    let mut b = [0u8; 32];
                    b[..8].copy_from_slice(&(i as u64).to_le_bytes());
                    b[24] = match bias {
                        0 => 4 * (i as u8 % 60),
                        1 => 4 * (i as u8 % 60) + 1,
                        _ => i as u8,
                    };
                    (MerkleHash(b), i as u64)
                })
                .collect();
            assert_eq!(
                streaming_root(&nodes),
                merkle_root(&nodes),
                "bias {bias} n {n}"
            );
        }
    }
}
