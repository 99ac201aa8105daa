//! A host genome (workflows §4.2): FASTA checks, `count` and `gc`.

use std::io::{Read, Write};

use serde::Serialize;

use super::lines::each_line_part;
use super::source::{self, Keep};
use super::{fault_error, shown_byte, CheckError, Invalid};
use crate::model::round::round_half_even;

/// `count` and `gc` of a genome, as J25 posts them.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Genome {
    pub count: u64,
    pub gc: GenomeGc,
}

/// The share of each of `a, c, g, t, n` among the five, three decimals; keys in this order.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct GenomeGc {
    pub a: f64,
    pub c: f64,
    pub g: f64,
    pub t: f64,
    pub n: f64,
}

/// Checks a genome upload (gzip or plain) and measures it, writing the decoded FASTA (the
/// worker's `subtraction.fa`) to `decompressed` as it is read. On an error `decompressed` holds
/// a partial copy, to be discarded.
pub fn check_genome<R, W>(name: &str, input: R, decompressed: W) -> Result<Genome, CheckError>
where
    R: Read + Send,
    W: Write + Send,
{
    std::thread::scope(|scope| {
        let feed = source::spawn(scope, input, Keep::Decompressed, decompressed);
        let mut checker = FastaChecker::new(name);
        match each_line_part(&feed, |part, ends| checker.part(part, ends))? {
            Ok(()) => checker.finish()?,
            Err(fault) => return Err(fault_error(fault, name, Invalid::genome)),
        }
        Ok(checker.genome())
    })
}

/// Valid sequence bytes: ASCII letters, `-`, `.` and `*`.
const SEQUENCE_BYTE: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 256 {
        let byte = b as u8;
        table[b] = byte.is_ascii_alphabetic() || byte == b'-' || byte == b'.' || byte == b'*';
        b += 1;
    }
    table
};

/// The line being read, once its first byte is known.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Open {
    /// A header; `named` once the byte after `>` was seen to be no space or tab.
    Header {
        named: bool,
    },
    Sequence,
}

/// Checks a genome's lines in parts, so a chromosome on one line of any length is never held in
/// memory.
struct FastaChecker<'a> {
    file: &'a str,
    line: u64,
    open: Option<Open>,
    record: u64,
    header_line: u64,
    has_sequence: bool,
    /// How often each byte occurs in sequence lines.
    bytes: [u64; 256],
}

impl<'a> FastaChecker<'a> {
    fn new(file: &'a str) -> Self {
        FastaChecker {
            file,
            line: 0,
            open: None,
            record: 0,
            header_line: 0,
            has_sequence: false,
            bytes: [0; 256],
        }
    }

    /// The next part of a line; `ends_line` when the line ends after it.
    fn part(&mut self, mut part: &[u8], ends_line: bool) -> Result<(), Invalid> {
        if self.open.is_none() {
            let Some(&first) = part.first() else {
                // A blank line: skipped before the first header, an empty sequence line after.
                self.line += u64::from(ends_line);
                return Ok(());
            };
            self.line += 1;
            if first == b'>' {
                self.end_of_record()?;
                self.record += 1;
                self.header_line = self.line;
                self.has_sequence = false;
                self.open = Some(Open::Header { named: false });
                part = &part[1..];
            } else if self.record == 0 {
                return Err(self.invalid(format!(
                    r#"line {}: the file does not start with a ">" header"#,
                    self.line
                )));
            } else {
                self.open = Some(Open::Sequence);
            }
        }
        match self.open {
            Some(Open::Header { named: false }) => match part.first() {
                Some(b' ' | b'\t') => return Err(self.in_record("the record name is empty")),
                Some(_) => self.open = Some(Open::Header { named: true }),
                None if ends_line => return Err(self.in_record("the record name is empty")),
                None => {}
            },
            Some(Open::Sequence) => self.sequence(part)?,
            Some(Open::Header { named: true }) | None => {}
        }
        if ends_line {
            self.open = None;
        }
        Ok(())
    }

    fn sequence(&mut self, part: &[u8]) -> Result<(), Invalid> {
        if let Some(&bad) = part.iter().find(|&&b| !SEQUENCE_BYTE[b as usize]) {
            let problem = format!(r#"the sequence has the character "{}""#, shown_byte(bad));
            return Err(self.invalid(format!(
                "record {} (line {}): {problem}",
                self.record, self.line
            )));
        }
        self.has_sequence |= !part.is_empty();
        for &byte in part {
            self.bytes[byte as usize] += 1;
        }
        Ok(())
    }

    /// The end of the input (which may end a line without `\n`).
    fn finish(&mut self) -> Result<(), Invalid> {
        if self.open.is_some() {
            self.part(b"", true)?;
        }
        if self.record == 0 {
            return Err(self.invalid("no sequences".into()));
        }
        self.end_of_record()
    }

    /// A record without a sequence character fails at its header line.
    fn end_of_record(&self) -> Result<(), Invalid> {
        if self.record > 0 && !self.has_sequence {
            return Err(self.in_record("the sequence is empty"));
        }
        Ok(())
    }

    fn genome(&self) -> Genome {
        let count = |letter: u8| {
            self.bytes[letter.to_ascii_lowercase() as usize]
                + self.bytes[letter.to_ascii_uppercase() as usize]
        };
        let [a, c, g, t, n] = [b'a', b'c', b'g', b't', b'n'].map(count);
        let total = a + c + g + t + n;
        // A genome of other letters only (all IUPAC codes, say) has no share to give: zeros.
        let share = |part: u64| match total {
            0 => 0.0,
            _ => round_half_even(part as f64 / total as f64, 3),
        };
        Genome {
            count: self.record,
            gc: GenomeGc {
                a: share(a),
                c: share(c),
                g: share(g),
                t: share(t),
                n: share(n),
            },
        }
    }

    /// A problem of the current record, located at its header.
    fn in_record(&self, problem: &str) -> Invalid {
        self.invalid(format!(
            "record {} (line {}): {problem}",
            self.record, self.header_line
        ))
    }

    fn invalid(&self, problem: String) -> Invalid {
        Invalid::genome(format!("{}: {problem}", self.file))
    }
}
