//! Xet hex and plain hex parsing: any string; accepted strings round-trip.
#![no_main]
use libfuzzer_sys::fuzz_target;
use xet_core::from_plain_hex;
use xet_core::MerkleHash;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else { return };
    if let Ok(h) = MerkleHash::from_hex(s) {
        assert_eq!(h.to_hex(), s.to_ascii_lowercase());
    }
    if let Ok(b) = from_plain_hex(s) {
        assert_eq!(b.len() * 2, s.len());
    }
});
