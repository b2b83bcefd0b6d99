//! `parse_shard`: uploads checked by the hub, dedup answers read by the client.
#![no_main]
use libfuzzer_sys::fuzz_target;
use xet_core::parse_shard;

fuzz_target!(|data: &[u8]| {
    let _ = parse_shard(data);
});
