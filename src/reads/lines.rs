//! Cutting decoded chunks into lines: whole lines for FASTQ ([`Lines`]), parts of lines of any
//! length for FASTA ([`LineParts`]). A line never includes its `\n` nor a `\r` just before it.

use super::gzip::Fault;
use super::source::{Feed, Piece};

/// Lines of a stream that arrives in chunks: each line without its `\n` and without a `\r`
/// before that `\n`. A line split between chunks is joined in a carry buffer, so memory is one
/// line at most beyond the chunks.
#[derive(Default)]
pub struct Lines {
    carry: Vec<u8>,
}

impl Lines {
    /// Calls `each` with every line that `chunk` completes, in order, until it fails.
    pub fn feed<E>(
        &mut self,
        chunk: &[u8],
        mut each: impl FnMut(&[u8]) -> Result<(), E>,
    ) -> Result<(), E> {
        let mut start = 0;
        if !self.carry.is_empty() {
            let Some(end) = memchr::memchr(b'\n', chunk) else {
                self.carry.extend_from_slice(chunk);
                return Ok(());
            };
            self.carry.extend_from_slice(&chunk[..end]);
            each(without_cr(&self.carry))?;
            self.carry.clear();
            start = end + 1;
        }
        let base = start;
        for end in memchr::memchr_iter(b'\n', &chunk[base..]) {
            let end = base + end;
            each(without_cr(&chunk[start..end]))?;
            start = end + 1;
        }
        self.carry.extend_from_slice(&chunk[start..]);
        Ok(())
    }

    /// The last line when the stream did not end with `\n` (kept as it is: no `\n` follows it).
    pub fn unterminated(&self) -> Option<&[u8]> {
        (!self.carry.is_empty()).then_some(&self.carry[..])
    }
}

/// Lines of a stream in parts, for lines of any length (a genome may hold a chromosome on one
/// line): `each(part, ends_line)`, without `\n` and a `\r` before it. Nothing is copied; a `\r`
/// that ends a chunk is held back until the next byte shows whether `\n` follows it.
#[derive(Default)]
pub struct LineParts {
    held_cr: bool,
}

impl LineParts {
    pub fn feed<E>(
        &mut self,
        chunk: &[u8],
        mut each: impl FnMut(&[u8], bool) -> Result<(), E>,
    ) -> Result<(), E> {
        if chunk.is_empty() {
            return Ok(());
        }
        if std::mem::take(&mut self.held_cr) && chunk[0] != b'\n' {
            each(b"\r", false)?;
        }
        let mut start = 0;
        for end in memchr::memchr_iter(b'\n', chunk) {
            each(without_cr(&chunk[start..end]), true)?;
            start = end + 1;
        }
        let mut tail = &chunk[start..];
        if let Some(before) = tail.strip_suffix(b"\r") {
            self.held_cr = true;
            tail = before;
        }
        if !tail.is_empty() {
            each(tail, false)?;
        }
        Ok(())
    }

    /// The end of the stream: a held `\r` had no `\n` after it, so it belongs to the last line.
    pub fn finish<E>(
        &mut self,
        mut each: impl FnMut(&[u8], bool) -> Result<(), E>,
    ) -> Result<(), E> {
        if std::mem::take(&mut self.held_cr) {
            each(b"\r", false)?;
        }
        Ok(())
    }
}

#[inline]
fn without_cr(line: &[u8]) -> &[u8] {
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// Feeds every line of `feed` to `each`: complete lines as they come, the unterminated last line
/// at the end. Returns `Ok(Ok(()))` at the end of the input, `Ok(Err(Fault::Corrupt))` when the
/// gzip data was damaged (the partial line before the damage is dropped), and `Err` when `each`
/// failed first.
pub fn each_line<E>(
    feed: &Feed,
    mut each: impl FnMut(&[u8]) -> Result<(), E>,
) -> Result<Result<(), Fault>, E> {
    let mut lines = Lines::default();
    loop {
        match feed.next() {
            Piece::Data(buffer, len) => {
                lines.feed(&buffer[..len], &mut each)?;
                feed.recycle(buffer);
            }
            Piece::End => {
                if let Some(last) = lines.unterminated() {
                    each(last)?;
                }
                return Ok(Ok(()));
            }
            Piece::Corrupt => return Ok(Err(Fault::Corrupt)),
            Piece::Failed(error) => return Ok(Err(Fault::Io(error))),
        }
    }
}

/// Feeds every line part of `feed` to `each` (see [`LineParts`]); returns as [`each_line`].
pub fn each_line_part<E>(
    feed: &Feed,
    mut each: impl FnMut(&[u8], bool) -> Result<(), E>,
) -> Result<Result<(), Fault>, E> {
    let mut parts = LineParts::default();
    loop {
        match feed.next() {
            Piece::Data(buffer, len) => {
                parts.feed(&buffer[..len], &mut each)?;
                feed.recycle(buffer);
            }
            Piece::End => {
                parts.finish(&mut each)?;
                return Ok(Ok(()));
            }
            Piece::Corrupt => return Ok(Err(Fault::Corrupt)),
            Piece::Failed(error) => return Ok(Err(Fault::Io(error))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines_of(chunks: &[&[u8]]) -> Vec<String> {
        let mut lines = Lines::default();
        let mut seen = Vec::new();
        for chunk in chunks {
            lines
                .feed(chunk, |line| {
                    seen.push(String::from_utf8(line.to_vec()).unwrap());
                    Ok::<_, ()>(())
                })
                .unwrap();
        }
        if let Some(last) = lines.unterminated() {
            seen.push(format!("{}<no newline>", String::from_utf8_lossy(last)));
        }
        seen
    }

    #[test]
    fn lines_across_chunks() {
        assert_eq!(lines_of(&[b"ab\r\ncd\n"]), ["ab", "cd"]);
        assert_eq!(
            lines_of(&[b"a", b"b\r", b"\nc", b"d"]),
            ["ab", "cd<no newline>"]
        );
        assert_eq!(lines_of(&[b"\n\n", b"x\r"]), ["", "", "x\r<no newline>"]);
        assert_eq!(lines_of(&[b"a\r\r\n"]), ["a\r"]);
    }

    fn parts_of(chunks: &[&[u8]]) -> String {
        let mut parts = LineParts::default();
        let mut seen = String::new();
        let mut each = |part: &[u8], ends: bool| {
            seen.push_str(&String::from_utf8_lossy(part).replace('\r', "<CR>"));
            seen.push_str(if ends { "|" } else { "~" });
            Ok::<_, ()>(())
        };
        for chunk in chunks {
            parts.feed(chunk, &mut each).unwrap();
        }
        parts.finish(&mut each).unwrap();
        seen
    }

    #[test]
    fn line_parts_across_chunks() {
        assert_eq!(parts_of(&[b"ab\r\ncd\n"]), "ab|cd|");
        assert_eq!(parts_of(&[b"ab\r", b"\ncd"]), "ab~|cd~");
        assert_eq!(parts_of(&[b"ab\r", b"x\n"]), "ab~<CR>~x|");
        assert_eq!(parts_of(&[b"ab\r"]), "ab~<CR>~");
        assert_eq!(parts_of(&[b"\n", b"\r\n"]), "||");
    }
}
