//! `decode_chunk_records`: what the client runs on every fetched xorb range.
#![no_main]
use libfuzzer_sys::fuzz_target;
use xet_core::decode_chunk_records;

fuzz_target!(|data: &[u8]| {
    if let Ok(d) = decode_chunk_records(data) {
        let total: usize = d.lengths.iter().map(|&l| l as usize).sum();
        assert_eq!(total, d.data.len());
        assert_eq!(d.hashes.len(), d.lengths.len());
    }
});
