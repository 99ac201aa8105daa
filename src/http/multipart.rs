//! Multipart uploads: stream the first part named `file` into a temporary object (contract §13).

use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::body::Body;
use axum::http::{header, HeaderMap, StatusCode};
use bytes::Bytes;
use futures_util::{Stream, StreamExt};

use super::body::{check_content_length, linger, refuse_declared};
use super::error::{ApiError, ApiResult};
use crate::files::Sink;

fn file_required() -> ApiError {
    ApiError::invalid_field("file", "required field")
}

/// The limits of a multipart body.
#[derive(Debug, Clone, Copy)]
pub struct MultipartLimits {
    /// The whole body (`--max-upload-bytes`).
    pub bytes: u64,
    /// The headers of one part (`--max-part-header-bytes`).
    pub part_header_bytes: u64,
}

/// Write the `file` part of a `multipart/form-data` body to `temp`.
///
/// 413 when the declared or actual size passes `limit`, or the headers of a part pass theirs;
/// 422 `{"file": ["required field"]}` when the body is not multipart or has no `file` part. Parts
/// before `file` are skipped, parts after it ignored.
pub async fn receive_file(
    headers: &HeaderMap,
    body: Body,
    limits: MultipartLimits,
    temp: &mut impl Sink,
) -> ApiResult<()> {
    let limit = limits.bytes;
    if check_content_length(headers, limit).is_err() {
        return Err(refuse_declared(headers, &mut body.into_data_stream()).await);
    }
    let boundary = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|ct| multer::parse_boundary(ct).ok())
        .ok_or_else(file_required)?;
    let constraints =
        multer::Constraints::new().size_limit(multer::SizeLimit::new().whole_stream(limit));
    let too_long = Arc::new(AtomicBool::new(false));
    let stream = PartHeads::new(
        body.into_data_stream(),
        &boundary,
        limits.part_header_bytes,
        too_long.clone(),
    );
    let mut multipart = multer::Multipart::with_constraints(stream, boundary, constraints);
    let part_head_error = || {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            format!(
                "The headers of a multipart part are longer than {} bytes",
                limits.part_header_bytes
            ),
        )
    };
    loop {
        let field = match multipart.next_field().await {
            Ok(Some(field)) => field,
            Ok(None) => return Err(file_required()),
            Err(_) if too_long.load(Ordering::Acquire) => return Err(part_head_error()),
            Err(e) => return Err(multipart_error(e, false)),
        };
        if field.name() != Some("file") {
            continue;
        }
        let mut field = field;
        loop {
            match field.next().await {
                None => return Ok(()),
                Some(Ok(chunk)) => {
                    if temp.size() + chunk.len() as u64 > limit {
                        return Err(ApiError::payload_too_large());
                    }
                    if let Err(e) = temp.write(&chunk).await {
                        // Read (and drop) a bounded rest of the body first, so the client, still
                        // sending, receives the error instead of a reset connection.
                        linger(&mut field, DRAIN_AFTER_FAILURE).await;
                        // A sink that refuses the content says why (J15: not gzip).
                        if e.kind() == std::io::ErrorKind::InvalidData {
                            return Err(ApiError::bad_request(e.to_string()));
                        }
                        return Err(e.into());
                    }
                }
                Some(Err(_)) if too_long.load(Ordering::Acquire) => return Err(part_head_error()),
                Some(Err(e)) => return Err(multipart_error(e, true)),
            }
        }
    }
}

/// How much of a body is still read after a storage failure, so the error response arrives (more
/// than for a refused size: the client is typically well into a large upload).
const DRAIN_AFTER_FAILURE: u64 = 64 << 20;

fn multipart_error(error: multer::Error, in_file: bool) -> ApiError {
    match error {
        multer::Error::StreamSizeExceeded { .. } | multer::Error::FieldSizeExceeded { .. } => {
            ApiError::payload_too_large()
        }
        _ if in_file => ApiError::bad_request("Malformed multipart body"),
        _ => file_required(),
    }
}

/// The error a body stream ends with when a part's headers are too long.
#[derive(Debug, thiserror::Error)]
#[error("the headers of a multipart part are too long")]
struct PartHeadTooLong;

/// Where [`PartHeads`] is in the body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scan {
    /// In a preamble or a part's data, looking for the next delimiter.
    Data,
    /// After a delimiter: `head` bytes of the part's headers so far.
    Head { head: u64 },
    /// After the closing delimiter (`--boundary--`): the epilogue is not looked at.
    Done,
}

/// The body on its way to multer, watched for part headers longer than the limit: multer reads a
/// part's headers into memory whole before it parses them, however long they are, so they are
/// counted here (from each delimiter to the blank line that ends them) and the stream fails once
/// they pass the limit.
struct PartHeads<S> {
    inner: S,
    delimiter: memchr::memmem::Finder<'static>,
    end_of_head: memchr::memmem::Finder<'static>,
    /// The last bytes seen, shorter than what is looked for (a match may span two chunks).
    carry: Vec<u8>,
    scan: Scan,
    limit: u64,
    too_long: Arc<AtomicBool>,
}

impl<S> PartHeads<S> {
    fn new(inner: S, boundary: &str, limit: u64, too_long: Arc<AtomicBool>) -> PartHeads<S> {
        PartHeads {
            inner,
            delimiter: memchr::memmem::Finder::new(format!("\r\n--{boundary}").as_bytes())
                .into_owned(),
            end_of_head: memchr::memmem::Finder::new(b"\r\n\r\n").into_owned(),
            // The first delimiter may open the body, without the CRLF of later ones.
            carry: b"\r\n".to_vec(),
            scan: Scan::Data,
            limit,
            too_long,
        }
    }

    /// Where `finder`'s needle ends in `rest`, when it starts in the carried bytes or in `rest`.
    fn find(carry: &[u8], rest: &[u8], finder: &memchr::memmem::Finder<'_>) -> Option<usize> {
        let needle = finder.needle().len();
        if !carry.is_empty() {
            let mut window = carry.to_vec();
            window.extend_from_slice(&rest[..rest.len().min(needle - 1)]);
            if let Some(at) = finder.find(&window) {
                return Some(at + needle - carry.len());
            }
        }
        finder.find(rest).map(|at| at + needle)
    }

    /// The carried bytes after `rest`: its last `keep` bytes (with the old carry before them).
    fn carry_on(&mut self, rest: &[u8], keep: usize) {
        self.carry
            .extend_from_slice(&rest[rest.len().saturating_sub(keep)..]);
        let excess = self.carry.len().saturating_sub(keep);
        self.carry.drain(..excess);
    }

    /// Follow `chunk`; `false` when a part's headers passed the limit.
    fn follow(&mut self, chunk: &[u8]) -> bool {
        let mut rest = chunk;
        loop {
            match self.scan {
                Scan::Done => return true,
                Scan::Data => match Self::find(&self.carry, rest, &self.delimiter) {
                    Some(end) => {
                        rest = &rest[end..];
                        self.carry.clear();
                        self.scan = Scan::Head { head: 0 };
                    }
                    None => {
                        let keep = self.delimiter.needle().len() - 1;
                        self.carry_on(rest, keep);
                        return true;
                    }
                },
                Scan::Head { head } => {
                    if head == 0 && self.carry.is_empty() && rest.starts_with(b"--") {
                        self.scan = Scan::Done;
                        continue;
                    }
                    match Self::find(&self.carry, rest, &self.end_of_head) {
                        Some(end) => {
                            if head + end as u64 > self.limit {
                                return false;
                            }
                            rest = &rest[end..];
                            self.carry.clear();
                            self.scan = Scan::Data;
                        }
                        None => {
                            let head = head + rest.len() as u64;
                            if head > self.limit {
                                return false;
                            }
                            self.scan = Scan::Head { head };
                            self.carry_on(rest, 3);
                            return true;
                        }
                    }
                }
            }
        }
    }
}

impl<S, E> Stream for PartHeads<S>
where
    S: Stream<Item = Result<Bytes, E>> + Unpin,
    E: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    type Item = Result<Bytes, Box<dyn std::error::Error + Send + Sync>>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.too_long.load(Ordering::Acquire) {
            return Poll::Ready(Some(Err(Box::new(PartHeadTooLong))));
        }
        match Pin::new(&mut self.inner).poll_next(cx) {
            Poll::Ready(Some(Ok(chunk))) => {
                if !self.follow(&chunk) {
                    self.too_long.store(true, Ordering::Release);
                    return Poll::Ready(Some(Err(Box::new(PartHeadTooLong))));
                }
                Poll::Ready(Some(Ok(chunk)))
            }
            Poll::Ready(Some(Err(e))) => Poll::Ready(Some(Err(e.into()))),
            other => other.map(|_| None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn follow_all(chunks: &[&[u8]], limit: u64) -> bool {
        let mut heads = PartHeads::new(
            futures_util::stream::empty::<Result<Bytes, std::io::Error>>(),
            "XyZ",
            limit,
            Arc::new(AtomicBool::new(false)),
        );
        chunks.iter().all(|chunk| heads.follow(chunk))
    }

    #[test]
    fn part_headers_are_bounded_wherever_the_chunks_split() {
        let body = b"--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nvalue\r\n--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"f\"\r\nX-Long: 0123456789\r\n\r\ndata\r\n--XyZ--\r\nepilogue";
        // The longest header block here is 83 bytes (from its delimiter to its blank line).
        for split in 0..body.len() {
            let (a, b) = body.split_at(split);
            assert!(follow_all(&[a, b], 100), "split at {split}");
            assert!(!follow_all(&[a, b], 60), "split at {split}");
        }
        let one_at_a_time: Vec<&[u8]> = body.chunks(1).collect();
        assert!(follow_all(&one_at_a_time, 100));
        assert!(!follow_all(&one_at_a_time, 60));
        // A part whose headers never end fails once past the limit.
        let endless = [b"--XyZ\r\n".as_slice(), &[b'h'; 1000]];
        assert!(!follow_all(&endless, 500));
    }
}

/// A multipart body with the file in the part named `file` (U6, J6, U18, U20), for the OpenAPI
/// description.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct FileUpload {
    #[schema(value_type = String, format = Binary)]
    file: Vec<u8>,
}
