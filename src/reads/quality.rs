//! `quality` (workflows §3.4): FastQC 0.11.9's definitions per cycle, without binning.
//!
//! [`Counts`] holds flat histograms per cycle (memory grows with the longest read, never with the
//! number of reads) and validates the sequence and quality bytes it counts. [`Quality`] is the
//! finished blob of one file, or of a pair ([`Quality::pair`]).

use serde::{Serialize, Serializer};

use crate::model::round::round_half_even;

/// Quality bytes run from `!` (33) to `~` (126).
const LOWEST_QUALITY: u8 = b'!';
const QUALITY_VALUES: usize = 94;
/// The letters `composition` counts, in its order.
const GATC: [u8; 4] = *b"GATC";

/// An ASCII letter, `.` or `-` (written so that the check vectorizes).
fn is_sequence_byte(byte: u8) -> bool {
    (byte | 0x20).wrapping_sub(b'a') < 26 || byte == b'.' || byte == b'-'
}

fn is_quality_byte(byte: u8) -> bool {
    usize::from(byte.wrapping_sub(LOWEST_QUALITY)) < QUALITY_VALUES
}

/// The first byte of `sequence` that is not an ASCII letter, `.` or `-`.
pub fn first_invalid_base(sequence: &[u8]) -> Option<usize> {
    sequence.iter().position(|&b| !is_sequence_byte(b))
}

/// Counts of one file, fed one record at a time.
///
/// The counters a record touches are narrow (`u8` per cycle and letter, `u16` per cycle and
/// quality byte) so they stay in the L1 cache and the letter counts vectorize; they are added
/// into `u64` totals before they can overflow.
pub struct Counts {
    cycles: usize,
    /// Per letter of [`GATC`], per cycle; at most 255 sequences since the last flush.
    letters: [Vec<u8>; 4],
    letters_since_flush: u8,
    letter_totals: Vec<[u64; 4]>,
    /// Per cycle, how often each quality byte was seen, indexed by the byte itself: the hot loop
    /// needs no subtraction and no bounds check, and only the rows' used lines stay in cache.
    qualities: Vec<[u16; 128]>,
    qualities_since_flush: u16,
    /// Per cycle, by byte − 33.
    quality_totals: Vec<[u64; QUALITY_VALUES]>,
    /// Reads by ⌊mean raw quality byte⌋ (0..=126).
    read_means: [u64; 127],
    lowest_quality: u8,
    records: u64,
    shortest: usize,
    longest: usize,
}

impl Default for Counts {
    fn default() -> Self {
        Counts {
            cycles: 0,
            letters: Default::default(),
            letters_since_flush: 0,
            letter_totals: Vec::new(),
            qualities: Vec::new(),
            qualities_since_flush: 0,
            quality_totals: Vec::new(),
            read_means: [0; 127],
            lowest_quality: b'~',
            records: 0,
            shortest: usize::MAX,
            longest: 0,
        }
    }
}

impl Counts {
    /// Counts a sequence line; `Err` holds the index of its first invalid byte.
    pub fn sequence(&mut self, sequence: &[u8]) -> Result<(), usize> {
        if !sequence
            .iter()
            .fold(true, |ok, &b| ok & is_sequence_byte(b))
        {
            return Err(first_invalid_base(sequence).expect("an invalid byte was seen"));
        }
        if sequence.len() > self.cycles {
            self.grow(sequence.len());
        }
        for (counts, letter) in self.letters.iter_mut().zip(GATC) {
            for (count, &byte) in counts.iter_mut().zip(sequence) {
                *count += u8::from(byte == letter);
            }
        }
        self.letters_since_flush += 1;
        if self.letters_since_flush == u8::MAX {
            self.flush_letters();
        }
        Ok(())
    }

    /// Counts the quality line of the record whose sequence was just counted (same length);
    /// `Err` holds the index of its first byte outside `!`..=`~`.
    pub fn quality(&mut self, quality: &[u8]) -> Result<(), usize> {
        if !quality.iter().fold(true, |ok, &b| ok & is_quality_byte(b)) {
            let at = quality.iter().position(|&b| !is_quality_byte(b));
            return Err(at.expect("an invalid byte was seen"));
        }
        for (row, &byte) in self.qualities.iter_mut().zip(quality) {
            row[usize::from(byte & 0x7f)] += 1;
        }
        self.qualities_since_flush += 1;
        if self.qualities_since_flush == u16::MAX {
            self.flush_qualities();
        }
        let lowest = quality.iter().copied().min().unwrap_or(u8::MAX);
        // At most 10,000 bytes of at most 126: no overflow.
        let sum: u32 = quality.iter().map(|&b| u32::from(b)).sum();
        self.lowest_quality = self.lowest_quality.min(lowest);
        self.records += 1;
        self.shortest = self.shortest.min(quality.len());
        self.longest = self.longest.max(quality.len());
        self.read_means[(sum / quality.len() as u32) as usize] += 1;
        Ok(())
    }

    /// The number of records counted.
    pub fn records(&self) -> u64 {
        self.records
    }

    fn grow(&mut self, cycles: usize) {
        self.cycles = cycles;
        for counts in &mut self.letters {
            counts.resize(cycles, 0);
        }
        self.letter_totals.resize(cycles, [0; 4]);
        self.qualities.resize(cycles, [0; 128]);
        self.quality_totals.resize(cycles, [0; QUALITY_VALUES]);
    }

    fn flush_letters(&mut self) {
        for (letter, counts) in self.letters.iter_mut().enumerate() {
            for (total, count) in self.letter_totals.iter_mut().zip(counts.iter_mut()) {
                total[letter] += u64::from(std::mem::take(count));
            }
        }
        self.letters_since_flush = 0;
    }

    fn flush_qualities(&mut self) {
        for (totals, counts) in self.quality_totals.iter_mut().zip(&mut self.qualities) {
            let counts = &mut counts[usize::from(LOWEST_QUALITY)..][..QUALITY_VALUES];
            for (total, count) in totals.iter_mut().zip(counts) {
                *total += u64::from(std::mem::take(count));
            }
        }
        self.qualities_since_flush = 0;
    }

    /// The finished `quality` of the file.
    pub fn finish(mut self) -> Quality {
        self.flush_letters();
        self.flush_qualities();
        let (encoding, offset) = match self.lowest_quality {
            m if m < 64 => ("Sanger / Illumina 1.9", 33),
            65 => ("Illumina 1.3", 64),
            _ => ("Illumina 1.5", 64),
        };
        let bases = self
            .quality_totals
            .iter()
            .take(self.longest)
            .map(|row| quality_row(row, offset - 33))
            .collect();
        let composition = self
            .letter_totals
            .iter()
            .take(self.longest)
            .map(|&gatc| composition_row(gatc))
            .collect();
        let mut totals = [0u64; 4];
        for row in self.letter_totals.iter().take(self.longest) {
            for (total, count) in totals.iter_mut().zip(row) {
                *total += count;
            }
        }
        let [g, a, t, c] = totals;
        let called = g + a + t + c;
        let gc = (100 * (g + c)).checked_div(called).unwrap_or(0);
        let mut sequences = [0u64; 50];
        for (mean, &reads) in self.read_means.iter().enumerate() {
            if let Some(slot) = mean.checked_sub(offset).filter(|&s| s < 50) {
                sequences[slot] += reads;
            }
        }
        Quality {
            bases,
            composition,
            count: self.records,
            encoding,
            gc: Gc::Whole(gc),
            length: match self.records {
                0 => [0, 0],
                _ => [self.shortest as u64, self.longest as u64],
            },
            sequences,
        }
    }
}

/// `[mean, p50, p25, p75, p10, p90]` of one cycle; `histogram[i]` counts byte `33 + i` and
/// `skip` is `offset − 33` (the slots below the offset, empty by the encoding's choice).
fn quality_row(histogram: &[u64], skip: usize) -> [f64; 6] {
    let scored = &histogram[skip..];
    let n: u64 = scored.iter().sum();
    let total: u64 = scored.iter().zip(0u64..).map(|(&c, s)| c * s).sum();
    // FastQC: the integer total over the integer count, in double.
    let mean = round_half_even(total as f64 / n as f64, 3);
    if n <= 100 {
        // FastQC reports NaN percentiles for so few bases; §3.4 uses the mean.
        return [mean; 6];
    }
    let percentile = |p: u64| {
        let target = n * p / 100;
        let mut running = 0;
        for (score, &count) in scored.iter().enumerate() {
            running += count;
            if running >= target {
                return score as f64;
            }
        }
        unreachable!("the running count reaches n")
    };
    [
        mean,
        percentile(50),
        percentile(25),
        percentile(75),
        percentile(10),
        percentile(90),
    ]
}

/// `[G, A, T, C]` in percent of the four, one decimal; zeros where none was called.
fn composition_row(gatc: [u64; 4]) -> [f64; 4] {
    let called: u64 = gatc.iter().sum();
    if called == 0 {
        return [0.0; 4];
    }
    gatc.map(|count| round_half_even((count as f64 / called as f64) * 100.0, 1))
}

/// `gc`: FastQC's integer for one file; a pair's mean may be a half.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Gc {
    Whole(u64),
    Mean(f64),
}

impl Serialize for Gc {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match *self {
            Gc::Whole(value) => serializer.serialize_u64(value),
            // Written as an integer when whole (`45`), else as a float (`45.5`).
            Gc::Mean(value) if value.fract() == 0.0 => serializer.serialize_u64(value as u64),
            Gc::Mean(value) => serializer.serialize_f64(value),
        }
    }
}

impl Gc {
    fn value(self) -> f64 {
        match self {
            Gc::Whole(value) => value as f64,
            Gc::Mean(value) => value,
        }
    }
}

/// The `quality` of a sample (§3.4); serializes with the keys in Virtool's order.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Quality {
    /// Per cycle: `[mean, median, lower quartile, upper quartile, 10th, 90th percentile]`.
    pub bases: Vec<[f64; 6]>,
    /// Per cycle: `[G, A, T, C]` in percent.
    pub composition: Vec<[f64; 4]>,
    pub count: u64,
    pub encoding: &'static str,
    pub gc: Gc,
    /// `[shortest, longest]`.
    pub length: [u64; 2],
    /// Reads by mean quality score 0..50.
    #[serde(serialize_with = "as_list")]
    pub sequences: [u64; 50],
}

/// serde derives arrays of at most 32 elements.
fn as_list<S: Serializer>(values: &[u64; 50], serializer: S) -> Result<S::Ok, S::Error> {
    serializer.collect_seq(values)
}

impl Quality {
    /// The blob of a pair from the blobs of its two files (§3.4).
    pub fn pair(left: &Quality, right: &Quality) -> Quality {
        fn mean_rows<const N: usize>(
            left: &[[f64; N]],
            right: &[[f64; N]],
            digits: usize,
        ) -> Vec<[f64; N]> {
            left.iter()
                .zip(right)
                .map(|(l, r)| std::array::from_fn(|i| round_half_even((l[i] + r[i]) / 2.0, digits)))
                .collect()
        }
        let lengths = [left.length, right.length];
        Quality {
            bases: mean_rows(&left.bases, &right.bases, 3),
            composition: mean_rows(&left.composition, &right.composition, 1),
            count: left.count + right.count,
            encoding: left.encoding,
            gc: Gc::Mean((left.gc.value() + right.gc.value()) / 2.0),
            length: [
                lengths.iter().flatten().copied().min().unwrap_or(0),
                lengths.iter().flatten().copied().max().unwrap_or(0),
            ],
            sequences: std::array::from_fn(|i| left.sequences[i] + right.sequences[i]),
        }
    }

    /// The JSON value stored as the sample's `quality`.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self).expect("a quality blob serializes")
    }
}
