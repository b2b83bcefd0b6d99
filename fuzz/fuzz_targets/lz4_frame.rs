//! LZ4 frame decoding with an expected length (the payload of LZ4 and BG4 chunk records). Input: 3 bytes
//! of expected length (≤ 128 KiB, like a chunk), then the frame.
#![no_main]
use libfuzzer_sys::fuzz_target;
use xet_core::lz4_frame_decompress;

fuzz_target!(|data: &[u8]| {
    if data.len() < 3 {
        return;
    }
    let expected = (u32::from_le_bytes([data[0], data[1], data[2], 0]) as usize) % (128 * 1024 + 1);
    let mut out = Vec::new();
    if lz4_frame_decompress(&data[3..], expected, &mut out).is_ok() {
        assert_eq!(out.len(), expected);
    }
});
