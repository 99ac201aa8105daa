//! bowtie2's SAM text (`--no-hd --no-sq`), one line at a time (workflows.md §10.4.1).
//!
//! Lines are bytes, not `str`: a read name is whatever the FASTQ held, and nothing here needs
//! more than to compare it.

use std::io::BufRead;

use super::PathoscopeError;

/// The fields of one usable SAM line that Pathoscope reads.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SamLine<'a> {
    /// QNAME: bowtie2 cuts the FASTQ name at the first whitespace, so Casava mates share it.
    pub read: &'a [u8],
    /// RNAME: the reference sequence id.
    pub reference: &'a [u8],
    /// POS, 1-based.
    pub pos: u32,
    /// The length of SEQ (bowtie2 prints the whole read on every line, secondary ones too).
    pub length: u32,
    /// `AS:i` + the length of SEQ.
    pub p_score: f64,
}

/// A consumer of SAM text fed one line at a time, so that bowtie2's stdout is never held whole:
/// a blocking caller uses [`feed`], an async one calls [`LineSink::push_line`] per line read.
pub trait LineSink {
    /// One line, with or without its `\n` (or `\r\n`).
    fn push_line(&mut self, line: &[u8]) -> Result<(), PathoscopeError>;
}

/// Feeds every line of `reader` to `sink`, through one reused buffer.
pub fn feed<R: BufRead, S: LineSink + ?Sized>(
    mut reader: R,
    sink: &mut S,
) -> Result<(), PathoscopeError> {
    let mut line = Vec::with_capacity(512);
    loop {
        line.clear();
        if reader.read_until(b'\n', &mut line)? == 0 {
            return Ok(());
        }
        sink.push_line(&line)?;
    }
}

/// The line's fields when it is usable: FLAG without bit 4 (unmapped) and RNAME not `*`.
/// Empty lines and `@` header lines are not usable. A line with fewer than the 11 mandatory
/// fields, or with a FLAG, POS or `AS:i` that is not a number, is malformed; a usable line
/// without `AS:i` is the spec's error.
pub fn parse_line(line: &[u8]) -> Result<Option<SamLine<'_>>, PathoscopeError> {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    if line.is_empty() || line[0] == b'@' {
        return Ok(None);
    }
    let mut fields = line.split(|&b| b == b'\t');
    let mut mandatory: [&[u8]; 11] = [&[]; 11];
    for slot in &mut mandatory {
        *slot = fields.next().ok_or(PathoscopeError::MalformedLine)?;
    }
    let [read, flag, reference, pos, _, _, _, _, _, seq, _] = mandatory;
    let flag: u32 = number(flag)?;
    if flag & 4 != 0 || reference == b"*" {
        return Ok(None);
    }
    let alignment_score = fields
        .find_map(|tag| tag.strip_prefix(b"AS:i:"))
        .ok_or(PathoscopeError::MissingAlignmentScore)?;
    let alignment_score: i64 = number(alignment_score)?;
    let length = u32::try_from(seq.len()).map_err(|_| PathoscopeError::MalformedLine)?;
    Ok(Some(SamLine {
        read,
        reference,
        pos: number(pos)?,
        length,
        // Both are integers far below 2^53: the sum converts exactly.
        p_score: (alignment_score + i64::from(length)) as f64,
    }))
}

fn number<T: std::str::FromStr>(field: &[u8]) -> Result<T, PathoscopeError> {
    std::str::from_utf8(field)
        .ok()
        .and_then(|text| text.parse().ok())
        .ok_or(PathoscopeError::MalformedLine)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAPPED: &[u8] =
        b"r1\t16\tNC_1\t3637\t255\t100M1S\t*\t0\t0\tACGT\tIIII\tXN:i:0\tAS:i:-3\tYT:Z:UU\n";

    #[test]
    fn a_usable_line() {
        let line = parse_line(MAPPED).unwrap().unwrap();
        assert_eq!(line.read, b"r1");
        assert_eq!(line.reference, b"NC_1");
        assert_eq!((line.pos, line.length), (3637, 4));
        assert_eq!(line.p_score, 1.0);
        let crlf = [&MAPPED[..MAPPED.len() - 1], b"\r\n"].concat();
        assert_eq!(parse_line(&crlf).unwrap(), Some(line));
    }

    #[test]
    fn lines_that_are_not_usable() {
        for line in [
            &b""[..],
            b"\n",
            b"@HD\tVN:1.6\n",
            b"r1\t4\t*\t0\t0\t*\t*\t0\t0\tACGT\tIIII\tAS:i:0\n",
            b"r1\t4\tNC_1\t5\t0\t*\t*\t0\t0\tACGT\tIIII\n",
            b"r1\t0\t*\t0\t0\t*\t*\t0\t0\tACGT\tIIII\n",
        ] {
            assert_eq!(parse_line(line).unwrap(), None, "{}", line.escape_ascii());
        }
    }

    #[test]
    fn errors() {
        let no_score = b"r1\t0\tNC_1\t5\t255\t4M\t*\t0\t0\tACGT\tIIII\tXS:i:3\n";
        assert!(matches!(
            parse_line(no_score),
            Err(PathoscopeError::MissingAlignmentScore)
        ));
        assert_eq!(
            PathoscopeError::MissingAlignmentScore.to_string(),
            "bowtie2 wrote a line without AS:i"
        );
        for line in [
            &b"# junk\n"[..],
            b"r1\t0\tNC_1\t5\t255\t4M\t*\t0\t0\tACGT\n",
            b"r1\tx\tNC_1\t5\t255\t4M\t*\t0\t0\tACGT\tIIII\tAS:i:3\n",
            b"r1\t0\tNC_1\t-5\t255\t4M\t*\t0\t0\tACGT\tIIII\tAS:i:3\n",
            b"r1\t0\tNC_1\t5\t255\t4M\t*\t0\t0\tACGT\tIIII\tAS:i:3.5\n",
        ] {
            assert!(
                matches!(parse_line(line), Err(PathoscopeError::MalformedLine)),
                "{}",
                line.escape_ascii()
            );
        }
    }

    struct Collect(Vec<Vec<u8>>);

    impl LineSink for Collect {
        fn push_line(&mut self, line: &[u8]) -> Result<(), PathoscopeError> {
            self.0.push(line.to_vec());
            Ok(())
        }
    }

    #[test]
    fn feed_passes_every_line_with_a_last_one_unterminated() {
        let mut sink = Collect(Vec::new());
        feed(&b"a\nb\r\n\nc"[..], &mut sink).unwrap();
        assert_eq!(sink.0, [&b"a\n"[..], b"b\r\n", b"\n", b"c"]);
    }
}
