//! The FASTQ record checks of workflows §3.3, line by line, in the order the messages rank.

use super::quality::{first_invalid_base, Counts};
use super::{shown_byte, Invalid};

/// Reads longer than this fail (§3.3): the per-cycle statistics grow with read length.
pub const MAX_READ_LENGTH: usize = 10_000;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Expect {
    Header,
    Sequence,
    Separator,
    Quality,
}

/// Checks one file's lines and counts its quality. Read names are handed to `names` (for the
/// pair check) when it is set.
pub struct FastqChecker<'a> {
    file: &'a str,
    expect: Expect,
    line: u64,
    record: u64,
    sequence_length: usize,
    /// Where a blank line stood where a header was due: fine if nothing but blank lines follow.
    blank_at: Option<(u64, u64)>,
    counts: Counts,
    /// Read names for the pair check, collected while set.
    pub names: Option<NameLog>,
}

impl<'a> FastqChecker<'a> {
    pub fn new(file: &'a str) -> Self {
        FastqChecker {
            file,
            expect: Expect::Header,
            line: 0,
            record: 0,
            sequence_length: 0,
            blank_at: None,
            counts: Counts::default(),
            names: None,
        }
    }

    /// Checks the next line (without its line end).
    pub fn line(&mut self, text: &[u8]) -> Result<(), Invalid> {
        self.line += 1;
        match self.expect {
            Expect::Header => self.header(text),
            Expect::Sequence => self.sequence(text),
            Expect::Separator => self.separator(text),
            Expect::Quality => self.quality(text),
        }
    }

    /// The end of the input: a cut-off record, or none at all, fails.
    pub fn finish(&self) -> Result<(), Invalid> {
        if self.expect != Expect::Header {
            return Err(self.invalid(format!("record {} is incomplete", self.record)));
        }
        if self.record == 0 {
            return Err(self.invalid("no reads".into()));
        }
        Ok(())
    }

    /// The counts so far (complete after [`FastqChecker::finish`]).
    pub fn counts(&self) -> &Counts {
        &self.counts
    }

    pub fn into_counts(self) -> Counts {
        self.counts
    }

    fn header(&mut self, text: &[u8]) -> Result<(), Invalid> {
        if text.is_empty() {
            self.blank_at.get_or_insert((self.record + 1, self.line));
            return Ok(());
        }
        if let Some((record, line)) = self.blank_at {
            // Text after a blank line: the blank line was a header without "@".
            return Err(self.invalid_at(record, line, r#"the header does not start with "@""#));
        }
        self.record += 1;
        let Some(rest) = text.strip_prefix(b"@") else {
            return Err(self.here(r#"the header does not start with "@""#));
        };
        let name = read_name(rest);
        if name.is_empty() {
            return Err(self.here("the read name is empty"));
        }
        if let Some(names) = &mut self.names {
            names.push(name);
        }
        self.expect = Expect::Sequence;
        Ok(())
    }

    fn sequence(&mut self, text: &[u8]) -> Result<(), Invalid> {
        if text.is_empty() {
            return Err(self.here("the sequence is empty"));
        }
        if text.len() > MAX_READ_LENGTH {
            // Characters rank before length, and the histograms are not grown for this read.
            if let Some(at) = first_invalid_base(text) {
                return Err(self.bad_character("sequence", text[at]));
            }
            return Err(self.here(&format!("the read is longer than {MAX_READ_LENGTH} bases")));
        }
        if let Err(at) = self.counts.sequence(text) {
            return Err(self.bad_character("sequence", text[at]));
        }
        self.sequence_length = text.len();
        self.expect = Expect::Separator;
        Ok(())
    }

    fn separator(&mut self, text: &[u8]) -> Result<(), Invalid> {
        if !text.starts_with(b"+") {
            return Err(self.here(r#"the separator line does not start with "+""#));
        }
        self.expect = Expect::Quality;
        Ok(())
    }

    fn quality(&mut self, text: &[u8]) -> Result<(), Invalid> {
        if text.len() != self.sequence_length {
            return Err(self.here(&format!(
                "the quality has {} characters, the sequence {}",
                text.len(),
                self.sequence_length
            )));
        }
        if let Err(at) = self.counts.quality(text) {
            return Err(self.bad_character("quality", text[at]));
        }
        self.expect = Expect::Header;
        Ok(())
    }

    fn bad_character(&self, what: &str, byte: u8) -> Invalid {
        self.here(&format!(
            r#"the {what} has the character "{}""#,
            shown_byte(byte)
        ))
    }

    /// A problem of the current line.
    fn here(&self, problem: &str) -> Invalid {
        self.invalid_at(self.record, self.line, problem)
    }

    fn invalid_at(&self, record: u64, line: u64, problem: &str) -> Invalid {
        self.invalid(format!("record {record} (line {line}): {problem}"))
    }

    fn invalid(&self, problem: String) -> Invalid {
        Invalid::reads(format!("{}: {problem}", self.file))
    }
}

/// The read name: the header after `@` up to the first space or tab.
pub fn read_name(after_at: &[u8]) -> &[u8] {
    match memchr::memchr2(b' ', b'\t', after_at) {
        Some(end) => &after_at[..end],
        None => after_at,
    }
}

/// Read names in record order, packed in one buffer; the pair check takes them from the front.
#[derive(Default)]
pub struct NameLog {
    bytes: Vec<u8>,
    /// End offset in `bytes` of each name held.
    ends: Vec<usize>,
    /// Names already taken from the front.
    taken: usize,
}

impl NameLog {
    fn push(&mut self, name: &[u8]) {
        self.bytes.extend_from_slice(name);
        self.ends.push(self.bytes.len());
    }

    /// Names held and not yet taken.
    pub fn len(&self) -> usize {
        self.ends.len() - self.taken
    }

    /// The `i`-th name not yet taken.
    pub fn get(&self, i: usize) -> &[u8] {
        let index = self.taken + i;
        let start = if index == 0 { 0 } else { self.ends[index - 1] };
        &self.bytes[start..self.ends[index]]
    }

    /// Drops the first `n` names not yet taken; the buffers are emptied once all are taken.
    pub fn take(&mut self, n: usize) {
        self.taken += n;
        if self.taken == self.ends.len() {
            self.bytes.clear();
            self.ends.clear();
            self.taken = 0;
        }
    }
}
