//! The deterministic sample of `--workflows`: 100–150 nt single-end reads drawn from a handful of
//! viruses of the fixtures' `reference/otus.json.gz` (their default isolates, at different
//! abundances), from the host genome `sim/host1.fa.gz`, and from neither (uniform bases), each
//! with 0–3 substitutions and half of them reverse-complemented. One fixed xorshift seed: the same
//! files on every run, on every machine.

use std::io::{Read, Write};
use std::path::Path;

use anyhow::{bail, Context, Result};
use serde_json::Value;

/// The viruses (OTU id in `otus.json.gz`, for messages its name) and their share of the reads in
/// per mille; the host has [`HOST_SHARE`], the rest is from neither. The first three are the
/// sources of `sim/sim1_host.fq.gz`; the host carries a GLRaV-3-like insert, so step 4 has
/// something to subtract.
const VIRUSES: [(&str, &str, u32); 5] = [
    ("kgzph6f5", "Grapevine leafroll-associated virus 3", 300),
    ("3q26b1re", "Grapevine virus T", 150),
    ("j0axyvro", "Apple stem pitting virus", 80),
    ("7wc8khfd", "Grapevine virus A", 50),
    ("sm6fh6h4", "Grapevine fanleaf virus", 20),
];
const HOST_SHARE: u32 = 300;

/// Illumina-style binned qualities, mostly high: 4 bits of the stream pick one.
const QUALITIES: &[u8; 16] = b"FFFFFFFFFFFF:::,";

/// The genomes reads are drawn from.
pub struct Sources {
    /// Per source: its sequences (upper case, anything but ACGT as `N`), its share per mille.
    genomes: Vec<(Vec<Vec<u8>>, u32)>,
}

impl Sources {
    /// The default isolates of [`VIRUSES`] and the host's chromosomes.
    pub fn load(fixtures: &Path) -> Result<Sources> {
        let otus: Value =
            serde_json::from_slice(&gunzip(&fixtures.join("reference/otus.json.gz"))?)?;
        let otus = otus.as_array().context("otus.json.gz is not a list")?;
        let mut genomes = Vec::new();
        for (id, name, share) in VIRUSES {
            let otu = otus
                .iter()
                .find(|otu| otu["_id"] == id)
                .with_context(|| format!("no OTU {id} ({name}) in otus.json.gz"))?;
            let isolate = (otu["isolates"].as_array().into_iter().flatten())
                .find(|isolate| isolate["default"] == true)
                .with_context(|| format!("OTU {id} has no default isolate"))?;
            let sequences: Vec<Vec<u8>> = (isolate["sequences"].as_array().into_iter().flatten())
                .filter_map(|s| s["sequence"].as_str())
                .map(|s| clean(s.as_bytes()))
                .collect();
            if sequences.is_empty() {
                bail!("OTU {id} has no sequence");
            }
            genomes.push((sequences, share));
        }
        let host = gunzip(&fixtures.join("sim/host1.fa.gz"))?;
        let mut chromosomes: Vec<Vec<u8>> = Vec::new();
        for line in host.split(|&b| b == b'\n') {
            if line.starts_with(b">") {
                chromosomes.push(Vec::new());
            } else if let Some(last) = chromosomes.last_mut() {
                last.extend_from_slice(&clean(line.trim_ascii_end()));
            }
        }
        if chromosomes.iter().all(Vec::is_empty) {
            bail!("host1.fa.gz holds no sequence");
        }
        genomes.push((chromosomes, HOST_SHARE));
        Ok(Sources { genomes })
    }
}

fn gunzip(path: &Path) -> Result<Vec<u8>> {
    let file = std::fs::File::open(path).with_context(|| format!("open {}", path.display()))?;
    let mut out = Vec::new();
    flate2::read::MultiGzDecoder::new(std::io::BufReader::new(file))
        .read_to_end(&mut out)
        .with_context(|| format!("gunzip {}", path.display()))?;
    Ok(out)
}

fn clean(sequence: &[u8]) -> Vec<u8> {
    sequence
        .iter()
        .map(|b| match b.to_ascii_uppercase() {
            b @ (b'A' | b'C' | b'G' | b'T') => b,
            _ => b'N',
        })
        .collect()
}

/// The reads one after the other, as FASTQ records.
pub struct ReadStream<'a> {
    sources: &'a Sources,
    state: u64,
    count: u64,
    sequence: Vec<u8>,
}

impl<'a> ReadStream<'a> {
    pub fn new(sources: &'a Sources) -> ReadStream<'a> {
        ReadStream {
            sources,
            state: 0x9E37_79B9_7F4A_7C15,
            count: 0,
            sequence: Vec::with_capacity(160),
        }
    }

    fn next(&mut self) -> u64 {
        self.state ^= self.state << 13;
        self.state ^= self.state >> 7;
        self.state ^= self.state << 17;
        self.state
    }

    /// Append the next FASTQ record to `out`.
    pub fn write_next(&mut self, out: &mut Vec<u8>) {
        self.count += 1;
        let length = 100 + (self.next() % 51) as usize;
        self.sequence.clear();
        let mut pick = (self.next() % 1000) as u32;
        let sources = self.sources;
        let source = sources.genomes.iter().find(|(_, share)| {
            let here = pick < *share;
            pick = pick.saturating_sub(*share);
            here
        });
        match source {
            Some((sequences, _)) => {
                let total: usize = sequences.iter().map(Vec::len).sum();
                let mut at = (self.next() % total as u64) as usize;
                let sequence = sequences
                    .iter()
                    .find(|s| {
                        let here = at < s.len();
                        at = at.saturating_sub(s.len());
                        here
                    })
                    .unwrap_or(&sequences[0]);
                let start = at.min(sequence.len().saturating_sub(length));
                let end = (start + length).min(sequence.len());
                self.sequence.extend_from_slice(&sequence[start..end]);
                if self.next() & 1 == 1 {
                    self.sequence.reverse();
                    for base in &mut self.sequence {
                        *base = complement(*base);
                    }
                }
            }
            None => {
                for _ in 0..length {
                    let base = b"ACGT"[(self.next() & 3) as usize];
                    self.sequence.push(base);
                }
            }
        }
        let substitutions = self.next() % 4;
        for _ in 0..substitutions {
            let r = self.next();
            let at = (r % self.sequence.len() as u64) as usize;
            let base = self.sequence[at];
            let other = b"ACGT"[((r >> 32) & 3) as usize];
            self.sequence[at] = if other == base {
                b"CGTA"[((r >> 32) & 3) as usize]
            } else {
                other
            };
        }
        let _ = writeln!(out, "@WF:{} 1:N:0:1", self.count);
        out.extend_from_slice(&self.sequence);
        out.extend_from_slice(b"\n+\n");
        let mut bits = 0u64;
        for i in 0..self.sequence.len() {
            if i % 16 == 0 {
                bits = self.next();
            }
            out.push(QUALITIES[(bits & 15) as usize]);
            bits >>= 4;
        }
        out.push(b'\n');
    }
}

fn complement(base: u8) -> u8 {
    match base {
        b'A' => b'T',
        b'C' => b'G',
        b'G' => b'C',
        b'T' => b'A',
        other => other,
    }
}

/// Counts the bytes that reach the file, so generation can stop at a compressed size.
struct Counting<W> {
    inner: W,
    written: u64,
}

impl<W: Write> Write for Counting<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.written += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// When to stop writing reads.
#[derive(Clone, Copy)]
pub enum Until {
    Reads(u64),
    /// At least this many compressed bytes (the last block may go a little over).
    Bytes(u64),
}

/// Write a gzip FASTQ of the reads at deflate `level` to `path`; the number of reads.
pub fn write_fastq_gz(sources: &Sources, path: &Path, until: Until, level: u32) -> Result<u64> {
    let file = std::fs::File::create(path).with_context(|| format!("create {}", path.display()))?;
    let counting = Counting {
        inner: std::io::BufWriter::with_capacity(1 << 20, file),
        written: 0,
    };
    let mut gz = flate2::GzBuilder::new()
        .mtime(0)
        .write(counting, flate2::Compression::new(level));
    let mut stream = ReadStream::new(sources);
    let mut chunk = Vec::with_capacity(1 << 20);
    let mut reads = 0u64;
    loop {
        let done = match until {
            Until::Reads(n) => reads >= n,
            Until::Bytes(n) => gz.get_ref().written >= n,
        };
        if done {
            break;
        }
        // A chunk of records per write: the encoder's per-call cost stays out of the way.
        chunk.clear();
        while chunk.len() < (1 << 20) - 400 {
            if matches!(until, Until::Reads(n) if reads >= n) {
                break;
            }
            stream.write_next(&mut chunk);
            reads += 1;
        }
        gz.write_all(&chunk)?;
    }
    gz.finish()?.inner.flush()?;
    Ok(reads)
}
