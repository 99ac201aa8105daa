//! Bytes on the wire (issue 13): U2 and J3 answer a client that accepts gzip with the results
//! compressed once at finalize, spliced into one gzip member per reply; the decoded bytes are the
//! identity reply byte for byte, and both carry `Vary: Accept-Encoding`.

use std::io::Read;

use reqwest::Method;
use serde_json::Value;

use crate::both;
use crate::support::{fixture_bytes, nuvs_results, pathoscope_results};
use crate::support::{Creds, Reply, Setup, TestApp};

fn gunzip(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(bytes)
        .read_to_end(&mut out)
        .expect("a valid gzip body");
    out
}

async fn get_with(app: &TestApp, path: &str, creds: &Creds, encoding: Option<&str>) -> Reply {
    let mut request = app.request(Method::GET, path, Some(creds));
    if let Some(encoding) = encoding {
        request = request.header("accept-encoding", encoding);
    }
    let reply = app.send(request).await;
    reply.assert_status(200);
    assert_eq!(
        reply.header("vary").as_deref(),
        Some("accept-encoding"),
        "{path}"
    );
    assert_eq!(
        reply.header("content-length"),
        Some(reply.bytes.len().to_string())
    );
    reply
}

/// The identity and the gzip reply of `path`; the gzip one decodes to the identity bytes.
/// Returns `(identity bytes, gzip bytes)`.
async fn both_ways(app: &TestApp, path: &str, creds: &Creds) -> (usize, usize) {
    let plain = get_with(app, path, creds, None).await;
    assert_eq!(plain.header("content-encoding"), None);
    let gzip = get_with(app, path, creds, Some("br;q=1, gzip;q=0.8")).await;
    assert_eq!(gzip.header("content-encoding").as_deref(), Some("gzip"));
    assert_eq!(gunzip(&gzip.bytes), plain.bytes, "{path}");
    // Refused gzip is identity.
    let refused = get_with(app, path, creds, Some("gzip;q=0, br")).await;
    assert_eq!(refused.header("content-encoding"), None);
    assert_eq!(refused.bytes, plain.bytes);
    (plain.bytes.len(), gzip.bytes.len())
}

both!(
    gzip_replies_decode_to_the_identity_bytes,
    config = |c: &mut vira::config::ServeConfig| c.no_blast_worker = true,
    |app: TestApp| async move {
        let (ref_id, _) = app.reference("reference/otus.json.gz").await;
        app.nuvs_annotations().await;

        // Before finalize there is nothing stored compressed: identity for everyone.
        let run = app.started(&ref_id, "pathoscope_bowtie").await;
        let path = format!("/api/analyses/{}", run.id);
        let reply = get_with(&app, &path, &app.admin, Some("gzip")).await;
        assert_eq!(reply.header("content-encoding"), None);
        assert_eq!(reply.json()["results"], Value::Null);

        app.finalize(&run.job, &run.id, &pathoscope_results())
            .await
            .assert_status(200);
        let (plain, gzip) = both_ways(&app, &path, &app.admin).await;
        // The fixture's depth arrays are short and varied: not the 5× of the L body (the bench).
        assert!(
            gzip * 2 <= plain,
            "Pathoscope: {gzip} gzip bytes of {plain}"
        );
        let jobs_path = format!("/jobs-api/analyses/{}", run.id);
        both_ways(&app, &jobs_path, &run.job).await;

        // A 304 says the same Vary.
        let since = get_with(&app, &path, &app.admin, None)
            .await
            .header("last-modified")
            .unwrap();
        let reply = app
            .send(
                app.request(Method::GET, &path, Some(&app.admin))
                    .header("accept-encoding", "gzip")
                    .header("if-modified-since", since),
            )
            .await;
        assert_eq!(reply.status.as_u16(), 304);
        assert_eq!(reply.header("vary").as_deref(), Some("accept-encoding"));

        // NuVs, without and then with a BLAST record (filled in per request).
        let nuvs = app.started(&ref_id, "nuvs").await;
        let file = fixture_bytes("pathoscope/report.tsv");
        let upload = format!(
            "/jobs-api/analyses/{}/files?name=report.tsv&format=tsv",
            nuvs.id
        );
        let reply = app
            .upload(Method::POST, &upload, &nuvs.job, file.clone())
            .await;
        reply.assert_status(201);
        let file_id = reply.json()["id"].as_i64().unwrap();
        app.finalize(&nuvs.job, &nuvs.id, &nuvs_results())
            .await
            .assert_status(200);
        let path = format!("/api/analyses/{}", nuvs.id);
        both_ways(&app, &path, &app.admin).await;
        app.send(app.request(
            Method::PUT,
            &format!("/api/analyses/{}/1/blast", nuvs.id),
            Some(&app.admin),
        ))
        .await
        .assert_status(200);
        both_ways(&app, &path, &app.admin).await;
        let gzip = get_with(&app, &path, &app.admin, Some("gzip")).await;
        let body: Value = serde_json::from_slice(&gunzip(&gzip.bytes)).unwrap();
        assert_eq!(body["results"]["hits"][1]["blast"]["sequence_index"], 1);
        assert_eq!(body["results"]["hits"][0]["blast"], Value::Null);

        // Range requests on file downloads still work (files are never re-encoded).
        let reply = app
            .send(
                app.request(
                    Method::GET,
                    &format!("/api/analyses/{}/files/{file_id}", nuvs.id),
                    Some(&app.admin),
                )
                .header("accept-encoding", "gzip")
                .header("range", "bytes=10-19"),
            )
            .await;
        assert_eq!(reply.status.as_u16(), 206);
        assert_eq!(reply.header("content-encoding"), None);
        assert_eq!(reply.bytes, file[10..20]);
    }
);
