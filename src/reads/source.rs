//! Reading an upload on a thread of its own, so that decompression (and, for a plain upload, the
//! compression of its stored copy) runs beside the checks instead of before them.
//!
//! The thread detects gzip by the first two bytes, decodes, writes what is kept (see [`Keep`]) and
//! hands the decoded bytes over in large recycled chunks through a short bounded queue: memory
//! stays a few chunks whatever the file's size. `lines.rs` cuts the chunks into lines.

use std::io::{self, BufReader, Read, Write};
use std::sync::mpsc::{self, Receiver, Sender, SyncSender};
use std::thread::Scope;

use flate2::write::GzEncoder;
use flate2::Compression;

use super::gzip::{Fault, GzipMembers, MAGIC};

/// Decoded bytes per chunk handed to the checks.
const CHUNK: usize = 1 << 20;
/// Chunks queued ahead of the checks (each side can work while the other does).
const QUEUED: usize = 3;
/// Compressed bytes read from the input at a time.
const RAW_BUFFER: usize = 256 << 10;

/// What the reading thread writes while it reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Keep {
    /// Nothing.
    Nothing,
    /// The stored form of a reads file: a gzip input byte for byte, a plain one gzipped (deflate
    /// level 6, no file name, modification time 0).
    StoredReads,
    /// The decoded bytes (the `subtraction.fa` of a genome).
    Decompressed,
}

/// One message of the reading thread.
pub enum Piece {
    /// `len` decoded bytes at the start of the buffer; give the buffer back with [`Feed::recycle`].
    Data(Vec<u8>, usize),
    /// The end of the input; everything kept has been written and flushed.
    End,
    /// The gzip data is damaged here; every byte decoded before the damage came first.
    Corrupt,
    /// Reading the input or writing what is kept failed.
    Failed(io::Error),
}

/// The checks' end of the queue.
pub struct Feed {
    pieces: Receiver<Piece>,
    recycled: Sender<Vec<u8>>,
}

impl Feed {
    /// The next piece. A thread that stopped without saying why (it panicked) is a failure here;
    /// the scope re-raises its panic.
    pub fn next(&self) -> Piece {
        self.pieces.recv().unwrap_or_else(|_| {
            Piece::Failed(io::Error::other("the reads reader stopped unexpectedly"))
        })
    }

    pub fn recycle(&self, buffer: Vec<u8>) {
        // The reader may have finished already; the buffer is then simply freed.
        let _ = self.recycled.send(buffer);
    }
}

/// Starts reading `input` on a thread of `scope`. Dropping the [`Feed`] stops the thread at its
/// next chunk.
pub fn spawn<'scope, R, W>(scope: &'scope Scope<'scope, '_>, input: R, keep: Keep, out: W) -> Feed
where
    R: Read + Send + 'scope,
    W: Write + Send + 'scope,
{
    let (pieces_tx, pieces) = mpsc::sync_channel(QUEUED);
    let (recycled, recycled_rx) = mpsc::channel();
    scope.spawn(move || {
        let mut queue = Queue {
            pieces: pieces_tx,
            recycled: recycled_rx,
        };
        let last = match read_all(input, keep, out, &mut queue) {
            Ok(true) => Piece::End,
            Ok(false) => return, // nobody listens any more
            Err(Fault::Corrupt) => Piece::Corrupt,
            Err(Fault::Io(error)) => Piece::Failed(error),
        };
        let _ = queue.pieces.send(last);
    });
    Feed { pieces, recycled }
}

/// The reading thread's end of the queue.
struct Queue {
    pieces: SyncSender<Piece>,
    recycled: Receiver<Vec<u8>>,
}

impl Queue {
    fn buffer(&self) -> Vec<u8> {
        self.recycled.try_recv().unwrap_or_else(|_| vec![0; CHUNK])
    }
}

/// Reads, keeps and queues the whole input. `Ok(false)`: the checks stopped listening.
fn read_all<R: Read, W: Write>(
    mut input: R,
    keep: Keep,
    mut out: W,
    queue: &mut Queue,
) -> Result<bool, Fault> {
    let mut prefix = [0u8; 2];
    let prefix_len = read_up_to(&mut input, &mut prefix).map_err(Fault::Io)?;
    let is_gzip = prefix[..prefix_len] == MAGIC;
    let mut raw = (&prefix[..prefix_len]).chain(input);
    let mut plain_read = |buffer: &mut [u8]| loop {
        match raw.read(buffer) {
            Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
            other => return other.map_err(Fault::Io),
        }
    };
    let listening = match (is_gzip, keep) {
        (true, Keep::StoredReads) => {
            // The stored copy is the compressed input itself, copied as it is read.
            let tee = Tee {
                inner: raw,
                copy: &mut out,
            };
            let mut decoder = GzipMembers::new(BufReader::with_capacity(RAW_BUFFER, tee));
            pump(&mut |b| decoder.read(b), &mut |_| Ok(()), queue)?
        }
        (true, _) => {
            let mut decoder = GzipMembers::new(BufReader::with_capacity(RAW_BUFFER, raw));
            let write = keep == Keep::Decompressed;
            pump(
                &mut |b| decoder.read(b),
                &mut |data| if write { out.write_all(data) } else { Ok(()) },
                queue,
            )?
        }
        (false, Keep::StoredReads) => {
            // GzEncoder writes mtime 0 and no file name unless told otherwise.
            let mut encoder = GzEncoder::new(&mut out, Compression::new(6));
            let listening = pump(&mut plain_read, &mut |data| encoder.write_all(data), queue)?;
            if listening {
                encoder.try_finish().map_err(Fault::Io)?;
            }
            listening
        }
        (false, Keep::Decompressed) => {
            pump(&mut plain_read, &mut |data| out.write_all(data), queue)?
        }
        (false, Keep::Nothing) => pump(&mut plain_read, &mut |_| Ok(()), queue)?,
    };
    if listening {
        out.flush().map_err(Fault::Io)?;
    }
    Ok(listening)
}

/// Moves decoded bytes from `read` to `write` and the queue, a full chunk at a time.
fn pump(
    read: &mut dyn FnMut(&mut [u8]) -> Result<usize, Fault>,
    write: &mut dyn FnMut(&[u8]) -> io::Result<()>,
    queue: &mut Queue,
) -> Result<bool, Fault> {
    loop {
        let mut buffer = queue.buffer();
        let mut filled = 0;
        let mut fault = None;
        let mut ended = false;
        while filled < buffer.len() {
            match read(&mut buffer[filled..]) {
                Ok(0) => {
                    ended = true;
                    break;
                }
                Ok(n) => filled += n,
                Err(error) => {
                    fault = Some(error);
                    break;
                }
            }
        }
        if filled > 0 {
            write(&buffer[..filled]).map_err(Fault::Io)?;
            if queue.pieces.send(Piece::Data(buffer, filled)).is_err() {
                return Ok(false);
            }
        }
        if let Some(fault) = fault {
            return Err(fault);
        }
        if ended {
            return Ok(true);
        }
    }
}

/// Reads up to `buffer.len()` bytes, fewer only at the end of the input.
fn read_up_to(input: &mut impl Read, buffer: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buffer.len() {
        match input.read(&mut buffer[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
            Err(error) => return Err(error),
        }
    }
    Ok(filled)
}

/// A reader that writes a copy of everything read through it.
struct Tee<R, W> {
    inner: R,
    copy: W,
}

impl<R: Read, W: Write> Read for Tee<R, W> {
    fn read(&mut self, buffer: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buffer)?;
        self.copy.write_all(&buffer[..n])?;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(input: &[u8], keep: Keep) -> (Vec<u8>, Vec<u8>, &'static str) {
        let mut kept = Vec::new();
        let mut decoded = Vec::new();
        let end = std::thread::scope(|scope| {
            let feed = spawn(scope, input, keep, &mut kept);
            loop {
                match feed.next() {
                    Piece::Data(buffer, len) => {
                        decoded.extend_from_slice(&buffer[..len]);
                        feed.recycle(buffer);
                    }
                    Piece::End => return "end",
                    Piece::Corrupt => return "corrupt",
                    Piece::Failed(_) => return "failed",
                }
            }
        });
        (decoded, kept, end)
    }

    #[test]
    fn what_is_kept() {
        let text: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();
        let (decoded, stored, end) = run(&text, Keep::StoredReads);
        assert_eq!((decoded == text, end), (true, "end"));
        // The plain input is gzipped: level 6, no name, mtime 0.
        assert_eq!(&stored[..10], &[0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff]);
        let mut round_trip = Vec::new();
        flate2::read::GzDecoder::new(&stored[..])
            .read_to_end(&mut round_trip)
            .unwrap();
        assert!(round_trip == text);

        // A gzip input is stored as it is and decoded for the checks.
        let (decoded, kept, end) = run(&stored, Keep::StoredReads);
        assert!(decoded == text && kept == stored && end == "end");
        let (decoded, kept, _) = run(&stored, Keep::Decompressed);
        assert!(decoded == text && kept == text);
        let (_, kept, _) = run(&stored, Keep::Nothing);
        assert!(kept.is_empty());

        let (_, _, end) = run(&stored[..stored.len() - 3], Keep::Nothing);
        assert_eq!(end, "corrupt");
        assert_eq!(run(b"", Keep::Nothing), (Vec::new(), Vec::new(), "end"));
        assert_eq!(
            run(b"x", Keep::Decompressed),
            (b"x".to_vec(), b"x".to_vec(), "end")
        );
    }
}
