//! `parse_shard` (+ its JSON form, the WASM `parseShard`): uploads checked by the hub, dedup answers read
//! by the client.
#![no_main]
use libfuzzer_sys::fuzz_target;
use xet_core::shard::parse_shard;
use xet_core::shard_json::to_json;

fuzz_target!(|data: &[u8]| {
    if let Ok(s) = parse_shard(data) {
        let _ = to_json(&s);
    }
});
