//! A bounded pipe of byte chunks between the async side of a job (its downloads and uploads) and
//! blocking code (the checks of `crate::reads`), so a file streams from one to the other without
//! touching the job's directory: a download feeds a [`PipeWriter`] that a check reads through
//! [`PipeReader`]'s `Read`; a check writes a [`PipeWriter`] that an upload sends as
//! [`PipeReader`]'s `Stream`. Memory is at most [`CHUNKS`] chunks per pipe.
//!
//! The reader sees the end of the data only when the writer said so ([`PipeWriter::finish`]): a
//! writer dropped without it (a failed download, a failed check, a cancelled job) is an error at
//! the reading end, so a cut-off download is never checked as a short file and a cut-off upload
//! is never completed (the server then stores nothing).

use std::io::{self, Read, Write};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use futures_util::Stream;
use tokio::sync::mpsc;

/// Chunks in flight per pipe.
const CHUNKS: usize = 8;
/// The largest chunk a blocking write sends (larger writes are cut).
const MAX_CHUNK: usize = 256 << 10;

/// A new pipe.
pub fn pipe() -> (PipeWriter, PipeReader) {
    let (chunks, receiver) = mpsc::channel(CHUNKS);
    let finished = Arc::new(AtomicBool::new(false));
    (
        PipeWriter {
            chunks,
            finished: finished.clone(),
        },
        PipeReader {
            chunks: receiver,
            current: Bytes::new(),
            finished,
            failed: false,
        },
    )
}

/// The reading end is gone: nothing written arrives any more.
#[derive(Debug, thiserror::Error)]
#[error("the reading end of the pipe is gone")]
pub struct ReaderGone;

/// The writing end: `send` from async code, `Write` from blocking code (never from the runtime's
/// threads: a full pipe blocks the caller).
pub struct PipeWriter {
    chunks: mpsc::Sender<Bytes>,
    finished: Arc<AtomicBool>,
}

impl PipeWriter {
    /// Sends one chunk, waiting while the pipe is full.
    pub async fn send(&self, chunk: Bytes) -> Result<(), ReaderGone> {
        if chunk.is_empty() {
            return Ok(());
        }
        self.chunks.send(chunk).await.map_err(|_| ReaderGone)
    }

    /// Ends the data: the reader sees its end once it has read every chunk.
    pub fn finish(self) {
        // Before the sender is dropped, so a reader that sees the channel closed sees this too.
        self.finished.store(true, Ordering::SeqCst);
    }
}

impl Write for PipeWriter {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        let len = data.len().min(MAX_CHUNK);
        if len == 0 {
            return Ok(0);
        }
        self.chunks
            .blocking_send(Bytes::copy_from_slice(&data[..len]))
            .map_err(|_| io::Error::new(io::ErrorKind::BrokenPipe, ReaderGone))?;
        Ok(len)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// The reading end: `Read` from blocking code, `Stream` from async code.
pub struct PipeReader {
    chunks: mpsc::Receiver<Bytes>,
    current: Bytes,
    finished: Arc<AtomicBool>,
    failed: bool,
}

impl PipeReader {
    /// What the closed channel means: the end, or a writer that stopped early.
    fn closed(&mut self) -> Option<io::Error> {
        if self.finished.load(Ordering::SeqCst) {
            None
        } else {
            self.failed = true;
            // Not `UnexpectedEof`: the gzip reader takes that for a truncated file.
            Some(io::Error::new(
                io::ErrorKind::BrokenPipe,
                "the data stopped before its end",
            ))
        }
    }
}

impl Read for PipeReader {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if out.is_empty() {
            return Ok(0);
        }
        while self.current.is_empty() {
            match self.chunks.blocking_recv() {
                Some(chunk) => self.current = chunk,
                None => return self.closed().map_or(Ok(0), Err),
            }
        }
        let len = out.len().min(self.current.len());
        out[..len].copy_from_slice(&self.current.split_to(len));
        Ok(len)
    }
}

impl Stream for PipeReader {
    type Item = io::Result<Bytes>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.failed {
            return Poll::Ready(None);
        }
        if !self.current.is_empty() {
            return Poll::Ready(Some(Ok(std::mem::take(&mut self.current))));
        }
        match self.chunks.poll_recv(cx) {
            Poll::Ready(Some(chunk)) => Poll::Ready(Some(Ok(chunk))),
            Poll::Ready(None) => Poll::Ready(self.closed().map(Err)),
            Poll::Pending => Poll::Pending,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::StreamExt;

    #[tokio::test]
    async fn async_to_blocking() {
        let (writer, mut reader) = pipe();
        let reading = tokio::task::spawn_blocking(move || {
            let mut all = Vec::new();
            reader.read_to_end(&mut all).map(|_| all)
        });
        for part in [&b"abc"[..], b"", b"defg"] {
            writer.send(Bytes::copy_from_slice(part)).await.unwrap();
        }
        writer.finish();
        assert_eq!(reading.await.unwrap().unwrap(), b"abcdefg");

        // Dropped without `finish`: an error, never a short file.
        let (writer, mut reader) = pipe();
        let reading = tokio::task::spawn_blocking(move || {
            let mut all = Vec::new();
            reader.read_to_end(&mut all)
        });
        writer.send(Bytes::from_static(b"abc")).await.unwrap();
        drop(writer);
        let error = reading.await.unwrap().unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::BrokenPipe);
    }

    #[tokio::test]
    async fn blocking_to_async() {
        let data: Vec<u8> = (0..MAX_CHUNK * 3 + 5).map(|i| i as u8).collect();
        let (mut writer, reader) = pipe();
        let writing = {
            let data = data.clone();
            tokio::task::spawn_blocking(move || {
                writer.write_all(&data)?;
                writer.finish();
                io::Result::Ok(())
            })
        };
        let chunks: Vec<io::Result<Bytes>> = reader.collect().await;
        writing.await.unwrap().unwrap();
        let received: Vec<u8> = chunks
            .into_iter()
            .flat_map(|c| c.unwrap().to_vec())
            .collect();
        assert!(received == data);

        // Dropped without `finish`: the stream ends with an error.
        let (mut writer, reader) = pipe();
        tokio::task::spawn_blocking(move || writer.write_all(b"abc"))
            .await
            .unwrap()
            .unwrap();
        let chunks: Vec<io::Result<Bytes>> = reader.collect().await;
        assert_eq!(chunks.len(), 2);
        assert!(chunks[1].is_err());

        // The reader gone: the writer is told.
        let (mut writer, reader) = pipe();
        drop(reader);
        let written = tokio::task::spawn_blocking(move || writer.write_all(b"abc"))
            .await
            .unwrap();
        assert_eq!(written.unwrap_err().kind(), io::ErrorKind::BrokenPipe);
    }
}
