//! Throughput of the checks against plain decompression of the same gzip file (the later
//! benchmark asks `create_sample` for ≥ 80 % of the latter). Ignored: run it optimized,
//!
//! ```text
//! cargo test --release --lib reads::tests::throughput -- --ignored --nocapture
//! ```
//!
//! `VIRA_READS_BENCH_MIB` sets the size of the generated FASTQ (default 256 MiB). Wall time is
//! the best run; CPU time (every thread) says what the speed becomes when the machine has no
//! second core to spare: the checks decode on one thread and parse on another.

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

/// CPU seconds used so far by the whole process, every thread included (Linux: utime + stime of
/// /proc/self/stat, in clock ticks of 10 ms); `None` elsewhere.
fn process_cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the parenthesized command name; utime and stime are fields 14 and 15.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    Some(ticks as f64 / 100.0)
}

/// Wall and CPU seconds of `f`, summed over runs.
#[derive(Default)]
struct Timing {
    best_wall: Option<f64>,
    cpu: f64,
    runs: u32,
}

impl Timing {
    fn run(&mut self, f: impl FnOnce()) {
        let cpu = process_cpu_seconds();
        let start = Instant::now();
        f();
        let wall = start.elapsed().as_secs_f64();
        self.best_wall = Some(self.best_wall.map_or(wall, |best| best.min(wall)));
        if let (Some(before), Some(after)) = (cpu, process_cpu_seconds()) {
            self.cpu += after - before;
        }
        self.runs += 1;
    }

    fn wall(&self) -> f64 {
        self.best_wall.expect("ran at least once")
    }

    fn cpu_per_run(&self) -> f64 {
        self.cpu / f64::from(self.runs)
    }
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

    // Interleaved, so a change of load on a shared machine hits both alike.
    let [mut decompress, mut check_gzip, mut check_plain, mut pair] =
        std::array::from_fn(|_| Timing::default());
    for _ in 0..5 {
        decompress.run(|| {
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
        check_gzip.run(|| {
            let file = ReadsFile::storing("bench.fq.gz", &compressed[..], io::sink());
            check_reads_file(file).unwrap();
        });
    }
    for _ in 0..3 {
        check_plain.run(|| {
            check("bench.fq", &plain).unwrap();
        });
        pair.run(|| {
            check_reads_pair(
                ReadsFile::new("bench_1.fq.gz", &compressed[..]),
                ReadsFile::new("bench_2.fq.gz", &compressed[..]),
            )
            .unwrap();
        });
    }
    let mb = plain.len();
    println!("MB/s of decompressed FASTQ (best run), CPU seconds per run (all threads):");
    let line = |what: &str, timing: &Timing, bytes: usize| {
        println!(
            "  {what:<48} {:7.1} MB/s  {:6.2} s CPU",
            mb_per_s(bytes, timing.wall()),
            timing.cpu_per_run()
        );
    };
    line("MultiGzDecoder decompression only", &decompress, mb);
    line(
        "check + quality of the .gz (stored copy teed)",
        &check_gzip,
        mb,
    );
    line(
        "check + quality of the plain text (in memory)",
        &check_plain,
        mb,
    );
    line("a pair of .gz files (both files' bytes)", &pair, 2 * mb);
    println!(
        "check of the .gz: {:.0} % of the decompression speed; {:.2}× its CPU time",
        100.0 * decompress.wall() / check_gzip.wall(),
        check_gzip.cpu_per_run() / decompress.cpu_per_run()
    );
}
