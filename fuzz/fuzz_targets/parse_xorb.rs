//! `parse_xorb`: what the local hub runs on every uploaded xorb body. Input: 32 bytes of expected hash,
//! then the body. Must return Ok or Err, never panic, hang or allocate without bound.
#![no_main]
use libfuzzer_sys::fuzz_target;
use xet_core::parse_xorb;
use xet_core::MerkleHash;

fuzz_target!(|data: &[u8]| {
    if data.len() < 32 {
        return;
    }
    let mut raw = [0u8; 32];
    raw.copy_from_slice(&data[..32]);
    let expected = MerkleHash(raw);
    if let Ok(info) = parse_xorb(&data[32..], &expected) {
        // Accepted bodies are self-consistent.
        assert_eq!(info.hash, expected);
        assert_eq!(info.lengths.len(), info.hashes.len());
    }
});
