//! Native chunk + hash throughput: `cargo run --release --example chunk_hash_bench -- <MiB>`,
//! `-- --file <path>` or `-- --read <path> <block bytes>`.
//!
//! Generates SplitMix64 (seed 1) data of the given size, or reads the file into memory, computes
//! the file hash with the streaming [`XetHasher`] (chunking + chunk hashes + merkle), and prints
//! one JSON line (the time excludes generating or reading the data): wall-clock `seconds`, and on
//! Linux `cpuSeconds`, the time the thread actually ran (from `/proc/thread-self/schedstat`),
//! which stays meaningful when other processes share the CPU.
//!
//! `--read` times the reads too: the file is read block by block into one reused buffer and each
//! block hashed there, as the chunking workers of the TypeScript pool hash a local file (read into
//! the core's input buffer, `XetHasher` fed from it).

use std::io::Read;
use std::time::Instant;
use xet_core::XetHasher;

fn splitmix64(seed: u64, len: usize) -> Vec<u8> {
    let mut state = seed;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        out.extend_from_slice(&z.to_le_bytes());
    }
    out.truncate(len);
    out
}

/// Nanoseconds this thread has run on a CPU (Linux), or `None`.
fn thread_cpu_ns() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    s.split_whitespace().next()?.parse().ok()
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let [flag, path, block] = args.as_slice() {
        if flag == "--read" {
            let block: usize = block.parse().expect("usage: --read <path> <block bytes>");
            return read_and_hash(path, block);
        }
    }
    let data = match args.as_slice() {
        [flag, path] if flag == "--file" => std::fs::read(path).expect("cannot read the file"),
        [n] => splitmix64(
            1,
            n.parse::<usize>()
                .expect("usage: chunk_hash_bench <MiB> | --file <path>")
                << 20,
        ),
        _ => splitmix64(1, 256 << 20),
    };
    let mib = data.len() >> 20;
    // Feed in 16 MiB pieces, as a stream reader would.
    let cpu0 = thread_cpu_ns();
    let start = Instant::now();
    let mut hasher = XetHasher::new();
    for piece in data.chunks(16 << 20) {
        hasher.update(piece);
    }
    let hash = hasher.finish();
    report(mib, start, cpu0, &hash.to_string());
}

/// Reads `path` `block` bytes at a time into one buffer, hashing each block there (timed together).
fn read_and_hash(path: &str, block: usize) {
    let cpu0 = thread_cpu_ns();
    let start = Instant::now();
    let mut file = std::fs::File::open(path).expect("cannot open the file");
    // Page-aligned, as the WebAssembly core's input buffer is (src/wasm.rs, `InputBuffer`): the
    // kernel's copy from the page cache is slower to some unaligned destinations (glibc puts a
    // 1 MiB allocation 16 bytes past a page boundary: 30 ms per 256 MiB instead of 12 here).
    let mut storage = vec![0u8; block + 4095];
    let at = storage.as_ptr() as usize;
    let skip = at.next_multiple_of(4096) - at;
    let buf = &mut storage[skip..skip + block];
    let mut hasher = XetHasher::new();
    let mut total = 0usize;
    loop {
        let n = file.read(buf).expect("cannot read the file");
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        total += n;
    }
    let hash = hasher.finish();
    report(total >> 20, start, cpu0, &hash.to_string());
}

/// Prints the JSON line.
fn report(mib: usize, start: Instant, cpu0: Option<u64>, hash: &str) {
    let seconds = start.elapsed().as_secs_f64();
    let cpu = match (cpu0, thread_cpu_ns()) {
        (Some(a), Some(b)) => format!("{:.4}", (b - a) as f64 / 1e9),
        _ => "null".to_string(),
    };
    println!(
        "{{\"impl\":\"native\",\"mib\":{mib},\"seconds\":{seconds:.4},\"cpuSeconds\":{cpu},\"mibPerSec\":{:.1},\"fileHash\":\"{hash}\"}}",
        mib as f64 / seconds
    );
}
