//! Multipart streams of U6/J6 uploads and the U18/U20 imports: `http::multipart::receive_file`
//! into a real temporary object, with the body cut into chunks at fuzzer-chosen places (multer
//! must find boundaries across chunk edges), then, as the imports do, `maybe_gunzip` and the
//! reference and annotation readers on the received file.
//!
//! Input: byte 0 picks the chunk size, byte 1 the size limit; the rest is the body. A body that
//! starts with `CT:` carries its own `Content-Type` up to the first newline, otherwise it is
//! `multipart/form-data; boundary=X`.
#![no_main]

#[path = "common.rs"]
mod common;

use std::convert::Infallible;
use std::sync::OnceLock;

use axum::body::Body;
use axum::http::{header, HeaderMap, HeaderValue};
use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use vira::files::FileStore;
use vira::http::multipart::{receive_file, MultipartLimits};

fn store() -> &'static FileStore {
    static STORE: OnceLock<FileStore> = OnceLock::new();
    STORE.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("vira-fuzz-multipart-{}", std::process::id()));
        common::runtime()
            .block_on(FileStore::local(&dir))
            .expect("file store")
    })
}

const LIMITS: [u64; 4] = [0, 16, 4096, 1 << 20];

fuzz_target!(|data: &[u8]| {
    let [chunk, limit, rest @ ..] = data else {
        return;
    };
    let chunk = usize::from(*chunk).max(1);
    let limit = LIMITS[usize::from(*limit) % LIMITS.len()];
    let (content_type, body) = match rest.strip_prefix(b"CT:") {
        Some(tail) => match tail.iter().position(|&b| b == b'\n') {
            Some(end) => (&tail[..end], &tail[end + 1..]),
            None => (tail, &[][..]),
        },
        None => (&b"multipart/form-data; boundary=X"[..], rest),
    };
    let mut headers = HeaderMap::new();
    if let Ok(value) = HeaderValue::from_bytes(content_type) {
        headers.insert(header::CONTENT_TYPE, value);
    }
    let chunks: Vec<Result<Bytes, Infallible>> = body
        .chunks(chunk)
        .map(|c| Ok(Bytes::copy_from_slice(c)))
        .collect();
    let stream = futures_util::stream::iter(chunks);

    // Created outside `block_on`: it runs a future of its own the first time.
    let store = store();
    common::runtime().block_on(async {
        let mut temp = store.create_temp().await.expect("temporary object");
        let limits = MultipartLimits {
            bytes: limit,
            part_header_bytes: 256,
        };
        match receive_file(&headers, Body::from_stream(stream), limits, &mut temp).await {
            Ok(()) => {
                let size = temp.finish().await.expect("finish");
                assert!(
                    size <= limit,
                    "{size} bytes received under a {limit}-byte limit"
                );
                let path = temp.path().expect("path").to_owned();
                let bytes = tokio::fs::read(&path).await.expect("read back");
                assert_eq!(bytes.len() as u64, size);
                assert!(body.len() as u64 >= size, "more bytes received than sent");
                // The import path (U18, U20).
                if let Ok(json) = vira::import::gzip::maybe_gunzip(bytes, 1 << 20) {
                    assert!(json.len() <= 1 << 20);
                    let _ = vira::import::reference::parse_reference(&json);
                    let _ = vira::import::hmms::parse_annotations(&json);
                }
            }
            Err(e) => {
                let status = e.status.as_u16();
                assert!(matches!(status, 400 | 413 | 422 | 500), "status {status}");
                assert_ne!(status, 500, "internal error: {e:?}");
            }
        }
    });
});
