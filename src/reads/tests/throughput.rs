//! Throughput of the checks against plain decompression of the same gzip file (the later
//! benchmark asks `create_sample` for ≥ 80 % of the latter). Ignored: run it optimized,
//!
//! ```text
//! cargo test --release --lib reads::tests::throughput -- --ignored --nocapture
//! ```
//!
//! `VIRA_READS_BENCH_MIB` sets the size of the generated FASTQ (default 256 MiB).

use std::io::{self, Read};
use std::time::Instant;

use super::*;

/// A deterministic FASTQ of about `bytes` bytes: 150-nt reads with Casava names, random bases
/// with a few `N`s, and quality strings that drift like a real run's (so gzip compresses them
/// about as much as real reads, ~3.5×).
fn generated_fastq(bytes: usize) -> Vec<u8> {
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let mut out = Vec::with_capacity(bytes + 1024);
    let mut read = 0u64;
    while out.len() < bytes {
        read += 1;
        let (x, y) = (next() % 30_000, next() % 30_000);
        out.extend_from_slice(format!("@BENCH:1:FC1:1:1101:{x}:{y} 1:N:0:ACGTAC\n").as_bytes());
        for _ in 0..150 {
            let r = next();
            out.push(if r % 500 == 0 {
                b'N'
            } else {
                b"ACGT"[(r >> 8) as usize % 4]
            });
        }
        out.extend_from_slice(b"\n+\n");
        let mut score = 38i64;
        for cycle in 0..150i64 {
            let r = next();
            if r % 4 == 0 {
                score += (r >> 8) as i64 % 5 - 2 - cycle / 100;
            }
            score = score.clamp(2, 41);
            out.push(b'!' + score as u8);
        }
        out.push(b'\n');
    }
    assert!(read > 0);
    out
}

fn mb_per_s(bytes: usize, seconds: f64) -> f64 {
    bytes as f64 / 1e6 / seconds
}

/// The best of three runs of `f`, in seconds.
fn best_of_three(mut f: impl FnMut()) -> f64 {
    (0..3)
        .map(|_| {
            let start = Instant::now();
            f();
            start.elapsed().as_secs_f64()
        })
        .fold(f64::INFINITY, f64::min)
}

#[test]
#[ignore = "benchmark: run with --release --ignored --nocapture"]
fn check_and_quality_against_plain_decompression() {
    let mib: usize = std::env::var("VIRA_READS_BENCH_MIB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(256);
    let plain = generated_fastq(mib << 20);
    let compressed = gzip(&plain);
    println!(
        "generated FASTQ: {:.1} MB, gzip level 6: {:.1} MB ({:.2}×)",
        plain.len() as f64 / 1e6,
        compressed.len() as f64 / 1e6,
        plain.len() as f64 / compressed.len() as f64
    );

    let decompress = best_of_three(|| {
        let mut decoder = flate2::read::MultiGzDecoder::new(&compressed[..]);
        let mut buffer = vec![0u8; 1 << 20];
        let mut total = 0;
        loop {
            match decoder.read(&mut buffer).unwrap() {
                0 => break,
                n => total += n,
            }
        }
        assert_eq!(total, plain.len());
    });
    let check_gzip = best_of_three(|| {
        let file = ReadsFile::storing("bench.fq.gz", &compressed[..], io::sink());
        check_reads_file(file).unwrap();
    });
    let check_plain = best_of_three(|| {
        check("bench.fq", &plain).unwrap();
    });
    let pair = best_of_three(|| {
        check_reads_pair(
            ReadsFile::new("bench_1.fq.gz", &compressed[..]),
            ReadsFile::new("bench_2.fq.gz", &compressed[..]),
        )
        .unwrap();
    });
    let mb = plain.len();
    println!("MB/s of decompressed FASTQ (best of 3):");
    println!(
        "  MultiGzDecoder decompression only:            {:7.1}",
        mb_per_s(mb, decompress)
    );
    println!(
        "  check + quality of the .gz (stored copy teed): {:7.1}  = {:.0} % of decompression",
        mb_per_s(mb, check_gzip),
        100.0 * decompress / check_gzip
    );
    println!(
        "  check + quality of the plain text (in memory): {:7.1}",
        mb_per_s(mb, check_plain)
    );
    println!(
        "  a pair of .gz files (both files' bytes):       {:7.1}",
        mb_per_s(2 * mb, pair)
    );
}
