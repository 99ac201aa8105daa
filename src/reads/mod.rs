//! Uploaded reads and host genomes, checked and measured (workflows §3.3, §3.4, §4.2): plain
//! functions over `Read`, no HTTP and no database. The worker's `create_sample` calls
//! [`check_reads_file`] or [`check_reads_pair`], `create_subtraction` calls [`check_genome`].
//!
//! Each file is read once, streaming: a thread of its own decodes it (gzip when it starts with
//! `1f 8b`, several members allowed) and writes the stored copy while the calling thread checks
//! the lines and counts per-cycle histograms. Memory depends on the longest read (a FASTQ line is
//! held whole), never on the number of reads.

mod fasta;
mod fastq;
mod gzip;
mod lines;
mod pair;
mod quality;
mod source;

#[cfg(test)]
mod tests;

use std::io::{self, Read, Write};

use serde_json::{json, Value};

pub use crate::model::round::round_half_even;
pub use fasta::{check_genome, Genome, GenomeGc};
pub use fastq::MAX_READ_LENGTH;
pub use pair::names_pair;
pub use quality::{Gc, Quality};

use fastq::FastqChecker;
use lines::each_line;
use source::Keep;

/// The uploaded data breaks a rule of the spec: the job's error object, and nothing is stored.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct Invalid {
    kind: InvalidKind,
    message: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InvalidKind {
    Reads,
    Genome,
}

impl Invalid {
    fn reads(message: String) -> Self {
        Invalid {
            kind: InvalidKind::Reads,
            message,
        }
    }

    fn genome(message: String) -> Self {
        Invalid {
            kind: InvalidKind::Genome,
            message,
        }
    }

    pub fn kind(&self) -> InvalidKind {
        self.kind
    }

    /// The message, as the spec words it (`details[0]` of the error object).
    pub fn message(&self) -> &str {
        &self.message
    }

    /// `{"type": "InvalidReads" | "InvalidGenome", "traceback": [], "details": [message]}`.
    pub fn error_object(&self) -> Value {
        let kind = match self.kind {
            InvalidKind::Reads => "InvalidReads",
            InvalidKind::Genome => "InvalidGenome",
        };
        json!({"type": kind, "traceback": [], "details": [self.message]})
    }
}

/// Why a check did not succeed.
#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    /// The data is not acceptable (the lab's problem: reported as the job's error).
    #[error(transparent)]
    Invalid(#[from] Invalid),
    /// Reading the upload or writing the stored copy failed (the machine's problem).
    #[error("reading or storing the upload failed: {0}")]
    Io(#[from] io::Error),
}

/// One uploaded reads file: its name (the messages quote it), its bytes, and optionally where its
/// stored form `reads_<n>.fq.gz` goes as it is read ([`ReadsFile::storing`]): a gzip upload byte
/// for byte, a plain one gzipped (deflate level 6, no file name, modification time 0). On an
/// error the stored form is partial, to be discarded.
pub struct ReadsFile<'a, R, W = io::Sink> {
    name: &'a str,
    input: R,
    stored: W,
    keep: Keep,
}

impl<'a, R: Read + Send> ReadsFile<'a, R> {
    /// A file checked without keeping a copy.
    pub fn new(name: &'a str, input: R) -> Self {
        ReadsFile {
            name,
            input,
            stored: io::sink(),
            keep: Keep::Nothing,
        }
    }
}

impl<'a, R: Read + Send, W: Write + Send> ReadsFile<'a, R, W> {
    /// A file whose stored form is written to `stored` in the same pass.
    pub fn storing(name: &'a str, input: R, stored: W) -> Self {
        ReadsFile {
            name,
            input,
            stored,
            keep: Keep::StoredReads,
        }
    }
}

/// Checks one reads file (§3.3) and returns its `quality` (§3.4).
pub fn check_reads_file<R, W>(file: ReadsFile<'_, R, W>) -> Result<Quality, CheckError>
where
    R: Read + Send,
    W: Write + Send,
{
    std::thread::scope(|scope| {
        let feed = source::spawn(scope, file.input, file.keep, file.stored);
        let mut checker = FastqChecker::new(file.name);
        match each_line(&feed, |line| checker.line(line))? {
            Ok(()) => checker.finish()?,
            Err(fault) => return Err(fault_error(fault, file.name, Invalid::reads)),
        }
        Ok(checker.into_counts().finish())
    })
}

/// Checks a pair of reads files (§3.3: file 1, file 2, then the count and the names) and returns
/// the `quality` of each file and of the pair, in that order. Both files are read at once, so the
/// names of record *i* are compared without keeping the names of either file.
pub fn check_reads_pair<R, W>(
    first: ReadsFile<'_, R, W>,
    second: ReadsFile<'_, R, W>,
) -> Result<[Quality; 3], CheckError>
where
    R: Read + Send,
    W: Write + Send,
{
    let [left, right] = pair::check(first, second)?;
    let both = Quality::pair(&left, &right);
    Ok([left, right, both])
}

/// The error of a reader that stopped early.
fn fault_error(fault: gzip::Fault, file: &str, invalid: fn(String) -> Invalid) -> CheckError {
    match fault {
        gzip::Fault::Corrupt => invalid(format!("{file}: gzip data is corrupt")).into(),
        gzip::Fault::Io(error) => CheckError::Io(error),
    }
}

/// A byte as the messages quote it: printable ASCII as itself, anything else as `\xHH`.
fn shown_byte(byte: u8) -> String {
    if byte.is_ascii_graphic() || byte == b' ' {
        char::from(byte).to_string()
    } else {
        format!("\\x{byte:02X}")
    }
}
