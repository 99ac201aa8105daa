//! gzip decoding (RFC 1952) of one or more members, delivering every byte decoded before damage.
//!
//! flate2's `MultiGzDecoder` drops whatever it decoded in the read call that meets the damage, so
//! how many records before a corrupt spot get checked would depend on buffer sizes; §3.3 wants the
//! problems of every complete record reported first. This reader frames the members itself over
//! flate2's raw-deflate `Decompress` (the same inflate engine), returns the bytes decoded before
//! the damage, and reports the damage on the next call.

use std::io::{self, BufRead, Read};

use flate2::{Decompress, FlushDecompress, Status};

/// The two magic bytes every gzip member starts with.
pub const MAGIC: [u8; 2] = [0x1f, 0x8b];

const FLAG_HCRC: u8 = 0x02;
const FLAG_EXTRA: u8 = 0x04;
const FLAG_NAME: u8 = 0x08;
const FLAG_COMMENT: u8 = 0x10;
const FLAGS_RESERVED: u8 = 0xe0;

/// Why decoding stopped early.
#[derive(Debug)]
pub enum Fault {
    /// The gzip data is damaged or truncated.
    Corrupt,
    /// Reading the input (or copying it on) failed.
    Io(io::Error),
}

impl From<io::Error> for Fault {
    fn from(error: io::Error) -> Self {
        // A header or trailer cut off by the end of the file is damage, not an I/O failure.
        if error.kind() == io::ErrorKind::UnexpectedEof {
            Fault::Corrupt
        } else {
            Fault::Io(error)
        }
    }
}

enum State {
    /// Before a member header; `first` is true only for the first one (no padding allowed).
    Header {
        first: bool,
    },
    Body,
    Done,
    Failed,
}

/// The decoded bytes of a gzip stream read from `input` (which starts after nothing: the magic
/// bytes included). Members follow each other; zero bytes after a member are padding (as gzip(1)
/// and Python accept); anything else after a member must be another member.
pub struct GzipMembers<R> {
    input: R,
    inflate: Decompress,
    state: State,
    crc: crc32fast::Hasher,
    /// Decoded size of the current member, modulo 2³² as the trailer holds it.
    size: u32,
    /// Damage found while bytes decoded before it were being returned.
    pending: Option<Fault>,
}

impl<R: BufRead> GzipMembers<R> {
    pub fn new(input: R) -> Self {
        GzipMembers {
            input,
            inflate: Decompress::new(false),
            state: State::Header { first: true },
            crc: crc32fast::Hasher::new(),
            size: 0,
            pending: None,
        }
    }

    /// Fills the start of `out` with decoded bytes: `Ok(0)` at the end of the last member. After
    /// a fault every byte decoded before it has been returned, and then only the fault is.
    pub fn read(&mut self, out: &mut [u8]) -> Result<usize, Fault> {
        if let Some(fault) = self.pending.take() {
            self.state = State::Failed;
            return Err(fault);
        }
        if out.is_empty() {
            return Ok(0);
        }
        loop {
            match self.state {
                State::Done => return Ok(0),
                State::Failed => return Err(Fault::Corrupt),
                State::Header { first } => match self.header(first) {
                    Ok(true) => self.state = State::Body,
                    Ok(false) => self.state = State::Done,
                    Err(fault) => {
                        self.state = State::Failed;
                        return Err(fault);
                    }
                },
                State::Body => {
                    let (produced, member_end) = self.inflate_into(out)?;
                    if member_end {
                        if let Err(fault) = self.trailer() {
                            return self.fail_after(produced, fault);
                        }
                        self.state = State::Header { first: false };
                    }
                    if produced > 0 {
                        return Ok(produced);
                    }
                }
            }
        }
    }

    /// Returns `produced` bytes now and `fault` on the next call (or at once when none).
    fn fail_after(&mut self, produced: usize, fault: Fault) -> Result<usize, Fault> {
        if produced > 0 {
            self.pending = Some(fault);
            Ok(produced)
        } else {
            self.state = State::Failed;
            Err(fault)
        }
    }

    /// Reads one member header. `Ok(false)`: the end of the input (after optional zero padding)
    /// where a further member could have started.
    fn header(&mut self, first: bool) -> Result<bool, Fault> {
        if !first {
            // Zero padding after a member, then the end or another member.
            loop {
                let available = self.input.fill_buf()?;
                if available.is_empty() {
                    return Ok(false);
                }
                let zeros = available.iter().take_while(|&&b| b == 0).count();
                let all = zeros == available.len();
                self.input.consume(zeros);
                if !all {
                    break;
                }
            }
        }
        let mut fixed = [0u8; 10];
        self.input.read_exact(&mut fixed)?;
        let flags = fixed[3];
        if fixed[..2] != MAGIC || fixed[2] != 8 || flags & FLAGS_RESERVED != 0 {
            return Err(Fault::Corrupt);
        }
        if flags & FLAG_EXTRA != 0 {
            let mut length = [0u8; 2];
            self.input.read_exact(&mut length)?;
            let length = u16::from_le_bytes(length) as u64;
            let skipped = io::copy(&mut (&mut self.input).take(length), &mut io::sink())?;
            if skipped < length {
                return Err(Fault::Corrupt);
            }
        }
        for flag in [FLAG_NAME, FLAG_COMMENT] {
            if flags & flag != 0 && !skip_zero_terminated(&mut self.input)? {
                return Err(Fault::Corrupt);
            }
        }
        if flags & FLAG_HCRC != 0 {
            // The header CRC is skipped, not checked (Python's gzip does the same).
            self.input.read_exact(&mut [0u8; 2])?;
        }
        self.inflate.reset(false);
        self.crc = crc32fast::Hasher::new();
        self.size = 0;
        Ok(true)
    }

    /// Inflates into `out` until it is full, the input ends or the member's deflate data ends.
    /// Returns the bytes produced and whether the deflate data ended.
    fn inflate_into(&mut self, out: &mut [u8]) -> Result<(usize, bool), Fault> {
        let mut produced = 0;
        loop {
            let input = match self.input.fill_buf() {
                Ok(input) => input,
                Err(error) => return self.fail_after(produced, error.into()).map(|n| (n, false)),
            };
            if input.is_empty() {
                // The file ended inside the member: truncated.
                return self
                    .fail_after(produced, Fault::Corrupt)
                    .map(|n| (n, false));
            }
            let in_before = self.inflate.total_in();
            let out_before = self.inflate.total_out();
            let status =
                self.inflate
                    .decompress(input, &mut out[produced..], FlushDecompress::None);
            let consumed = (self.inflate.total_in() - in_before) as usize;
            let written = (self.inflate.total_out() - out_before) as usize;
            self.input.consume(consumed);
            self.crc.update(&out[produced..produced + written]);
            self.size = self.size.wrapping_add(written as u32);
            produced += written;
            match status {
                Ok(Status::StreamEnd) => return Ok((produced, true)),
                Ok(Status::Ok | Status::BufError) => {
                    if produced == out.len() {
                        return Ok((produced, false));
                    }
                    if consumed == 0 && written == 0 {
                        // Input and output space but no progress: a stream that cannot go on.
                        return self
                            .fail_after(produced, Fault::Corrupt)
                            .map(|n| (n, false));
                    }
                }
                Err(_) => {
                    return self
                        .fail_after(produced, Fault::Corrupt)
                        .map(|n| (n, false));
                }
            }
        }
    }

    /// Reads and checks the 8-byte trailer of the member just inflated.
    fn trailer(&mut self) -> Result<(), Fault> {
        let mut trailer = [0u8; 8];
        self.input.read_exact(&mut trailer)?;
        let crc = u32::from_le_bytes(trailer[..4].try_into().expect("4 bytes"));
        let size = u32::from_le_bytes(trailer[4..].try_into().expect("4 bytes"));
        let computed = std::mem::replace(&mut self.crc, crc32fast::Hasher::new()).finalize();
        if crc != computed || size != self.size {
            return Err(Fault::Corrupt);
        }
        Ok(())
    }
}

/// Skips past the next zero byte; false when the input ends first.
fn skip_zero_terminated(input: &mut impl BufRead) -> io::Result<bool> {
    loop {
        let available = input.fill_buf()?;
        if available.is_empty() {
            return Ok(false);
        }
        if let Some(at) = memchr::memchr(0, available) {
            input.consume(at + 1);
            return Ok(true);
        }
        let all = available.len();
        input.consume(all);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::write::GzEncoder;
    use flate2::Compression;
    use std::io::Write;

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut encoder = GzEncoder::new(Vec::new(), Compression::new(6));
        encoder.write_all(data).unwrap();
        encoder.finish().unwrap()
    }

    /// Decodes with a small output buffer, returning the bytes and whether it ended in a fault.
    fn decode(bytes: &[u8], step: usize) -> (Vec<u8>, bool) {
        let mut reader = GzipMembers::new(io::BufReader::with_capacity(7, bytes));
        let mut out = Vec::new();
        let mut buffer = vec![0u8; step];
        loop {
            match reader.read(&mut buffer) {
                Ok(0) => return (out, false),
                Ok(n) => out.extend_from_slice(&buffer[..n]),
                Err(Fault::Corrupt) => return (out, true),
                Err(Fault::Io(e)) => panic!("{e}"),
            }
        }
    }

    #[test]
    fn members_padding_and_damage() {
        let text: Vec<u8> = (0..20_000u32).flat_map(|i| i.to_le_bytes()).collect();
        let one = gzip(&text);
        assert_eq!(decode(&one, 1000), (text.clone(), false));

        let mut two = one.clone();
        two.extend_from_slice(&gzip(b"tail"));
        two.extend_from_slice(&[0, 0, 0]);
        let mut expected = text.clone();
        expected.extend_from_slice(b"tail");
        assert_eq!(decode(&two, 333), (expected, false));

        // Truncated: every byte that could be decoded is returned, then the fault.
        let (partial, corrupt) = decode(&one[..one.len() / 2], 100);
        assert!(corrupt && !partial.is_empty() && text.starts_with(&partial));
        // A wrong CRC: all the data, then the fault.
        let mut bad_crc = one.clone();
        let at = bad_crc.len() - 8;
        bad_crc[at] ^= 1;
        assert_eq!(decode(&bad_crc, 4096), (text.clone(), true));
        // Garbage after a member, or a lone magic.
        let mut garbage = one.clone();
        garbage.extend_from_slice(b"x");
        assert_eq!(decode(&garbage, 4096), (text.clone(), true));
        assert_eq!(decode(&MAGIC, 10), (Vec::new(), true));
    }

    #[test]
    fn optional_header_fields_are_skipped() {
        let mut encoder = flate2::GzBuilder::new()
            .filename("reads.fq")
            .comment("a comment")
            .extra(vec![1, 2, 3])
            .write(Vec::new(), Compression::new(6));
        encoder.write_all(b"@r\nA\n+\nI\n").unwrap();
        let bytes = encoder.finish().unwrap();
        assert_eq!(decode(&bytes, 3), (b"@r\nA\n+\nI\n".to_vec(), false));
    }
}
