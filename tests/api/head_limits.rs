//! Limits of what a request may carry before anything reads it: a line of the request head
//! (`--max-header-line-bytes`: 414 / 431, the connection stays usable), the whole head
//! (`--max-head-bytes`: 431), the headers of one multipart part (`--max-part-header-bytes`: 413),
//! and a JSON number no double can hold in a finalize body (400 naming it).

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::both;
use crate::support::{Setup, TestApp};

/// Read one response (head and a `Content-Length` body) from `stream`.
async fn read_response(stream: &mut tokio::net::TcpStream) -> String {
    let mut answer = Vec::new();
    let mut buf = [0u8; 8192];
    loop {
        let n = tokio::time::timeout(std::time::Duration::from_secs(10), stream.read(&mut buf))
            .await
            .expect("an answer")
            .unwrap();
        if n == 0 {
            break;
        }
        answer.extend_from_slice(&buf[..n]);
        let text = String::from_utf8_lossy(&answer).into_owned();
        if let Some(end) = text.find("\r\n\r\n") {
            let length = text[..end]
                .lines()
                .find_map(|l| {
                    l.to_ascii_lowercase()
                        .strip_prefix("content-length:")
                        .map(|v| v.trim().parse::<usize>().unwrap())
                })
                .unwrap_or(0);
            if answer.len() >= end + 4 + length {
                break;
            }
        }
    }
    String::from_utf8_lossy(&answer).into_owned()
}

both!(
    long_head_lines_are_refused_and_the_connection_lives_on,
    |app: TestApp| async move {
        let addr = app.base.trim_start_matches("http://").to_owned();
        let mut stream = tokio::net::TcpStream::connect(&addr).await.unwrap();
        // One header of 9 KiB (over the 8 KiB line, within the 32 KiB head): 431…
        let long = "a".repeat(9 * 1024);
        stream
            .write_all(
                format!("GET /api/health/live HTTP/1.1\r\nHost: vira\r\nX-Long: {long}\r\n\r\n")
                    .as_bytes(),
            )
            .await
            .unwrap();
        let answer = read_response(&mut stream).await;
        assert!(
            answer.starts_with("HTTP/1.1 431"),
            "{}",
            &answer[..answer.len().min(200)]
        );
        assert!(answer.contains("\"id\":\"request_header_fields_too_large\""));
        // …and the same connection serves the next request.
        stream
            .write_all(b"GET /api/health/live HTTP/1.1\r\nHost: vira\r\n\r\n")
            .await
            .unwrap();
        let answer = read_response(&mut stream).await;
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
        // A request line over the limit: 414, and the connection lives on too.
        let query = "q".repeat(9 * 1024);
        stream
            .write_all(
                format!("GET /api/health/live?{query} HTTP/1.1\r\nHost: vira\r\n\r\n").as_bytes(),
            )
            .await
            .unwrap();
        let answer = read_response(&mut stream).await;
        assert!(answer.starts_with("HTTP/1.1 414"), "{answer}");
        stream
            .write_all(b"GET /api/health/live HTTP/1.1\r\nHost: vira\r\n\r\n")
            .await
            .unwrap();
        assert!(read_response(&mut stream).await.starts_with("HTTP/1.1 200"));

        // One header of 100 KB: past the whole head's limit, 431.
        let mut stream = tokio::net::TcpStream::connect(&addr).await.unwrap();
        let huge = "b".repeat(100_000);
        let _ = stream
            .write_all(
                format!("GET /api/health/live HTTP/1.1\r\nHost: vira\r\nX-Huge: {huge}\r\n\r\n")
                    .as_bytes(),
            )
            .await;
        let answer = read_response(&mut stream).await;
        assert!(answer.starts_with("HTTP/1.1 431"), "{answer}");
        app.shutdown().await;
    }
);

both!(
    head_limits_are_settings,
    config = |c: &mut vira::config::ServeConfig| c.max_header_line_bytes = 20_000,
    |app: TestApp| async move {
        let long = "a".repeat(9 * 1024);
        let reply = app
            .send(
                app.request(reqwest::Method::GET, "/api/health/live", None)
                    .header("x-long", long),
            )
            .await;
        reply.assert_status(200);
        app.shutdown().await;
    }
);

both!(
    multipart_part_headers_are_bounded,
    |app: TestApp| async move {
        let ref_id = app.small_reference().await;
        let started = app.started(&ref_id, "pathoscope_bowtie").await;
        let path = format!("/api/analyses/{}/files?name=a.tsv", started.id);
        let body = |pad: usize| {
            format!(
                "--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.tsv\"\r\n\
                 X-Pad: {}\r\n\r\nsome data\r\n--XyZ--\r\n",
                "p".repeat(pad)
            )
        };
        let send = |body: String| {
            app.request(reqwest::Method::POST, &path, Some(&app.admin))
                .header("content-type", "multipart/form-data; boundary=XyZ")
                .body(body)
        };
        let reply = app.send(send(body(5_000_000))).await;
        reply.assert_error(
            413,
            "payload_too_large",
            "The headers of a multipart part are longer than 8192 bytes",
        );
        // Nothing was kept: the same name uploads afterwards.
        let reply = app.send(send(body(100))).await;
        reply.assert_status(201);
        app.shutdown().await;
    }
);

both!(
    a_number_no_double_holds_is_named,
    |app: TestApp| async move {
        let ref_id = app.small_reference().await;
        let started = app.started(&ref_id, "pathoscope_bowtie").await;
        let reply = app
            .finalize_raw(
                &started.job,
                &started.id,
                r#"{"results": {"hits": [], "x": 1e999}}"#.into(),
            )
            .await;
        reply.assert_error(
            400,
            "bad_request",
            "Malformed JSON: number out of range at line 1 column 23 of results",
        );
        let nuvs = app.started(&ref_id, "nuvs").await;
        let reply = app
            .finalize_raw(
                &nuvs.job,
                &nuvs.id,
                r#"{"results": {"hits": [{"index": 1e400}]}}"#.into(),
            )
            .await;
        assert_eq!(reply.status.as_u16(), 400, "{:?}", reply.json());
        assert!(reply.json()["message"]
            .as_str()
            .unwrap()
            .contains("number out of range"));
        app.shutdown().await;
    }
);
