//! Bytes on the wire (issue 13): U2 and J3 answer a client that accepts gzip with the results
//! compressed once at finalize, spliced into one gzip member per reply, and one that accepts br
//! with the brotli copy made in the background after finalize, spliced into one br stream; the
//! decoded bytes are the identity reply byte for byte, and every reply carries
//! `Vary: Accept-Encoding`.

use std::io::Read;

use reqwest::Method;
use serde_json::Value;

use crate::both;
use crate::support::{
    create_admin_process, process_storage, Backend, Creds, Http, Instance, Reply, Setup, TestApp,
};
use crate::support::{fixture_bytes, nuvs_results, pathoscope_results};

fn gunzip(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(bytes)
        .read_to_end(&mut out)
        .expect("a valid gzip body");
    out
}

fn unbrotli(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    brotli::BrotliDecompress(&mut &bytes[..], &mut out).expect("a valid br body");
    out
}

/// The body as its `Content-Encoding` says.
fn decoded(reply: &Reply) -> Vec<u8> {
    match reply.header("content-encoding").as_deref() {
        None => reply.bytes.clone(),
        Some("gzip") => gunzip(&reply.bytes),
        Some("br") => unbrotli(&reply.bytes),
        Some(other) => panic!("unexpected content-encoding {other}"),
    }
}

/// A GET of an analysis with `encoding` as `Accept-Encoding`: 200, `Vary: Accept-Encoding`, and a
/// `Content-Length` that is the body's.
pub(crate) async fn get_with(
    app: &Http,
    path: &str,
    creds: &Creds,
    encoding: Option<&str>,
) -> Reply {
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

/// The identity and the gzip reply of `path`, and one for a client that takes either br or gzip
/// (br once the brotli copy exists); each decodes to the identity bytes. Returns
/// `(identity bytes, gzip bytes)`.
async fn both_ways(app: &TestApp, path: &str, creds: &Creds) -> (usize, usize) {
    let plain = get_with(app, path, creds, None).await;
    assert_eq!(plain.header("content-encoding"), None);
    let gzip = get_with(app, path, creds, Some("gzip")).await;
    assert_eq!(gzip.header("content-encoding").as_deref(), Some("gzip"));
    assert_eq!(gunzip(&gzip.bytes), plain.bytes, "{path}");
    let either = get_with(app, path, creds, Some("br;q=1, gzip;q=0.8")).await;
    assert!(either.header("content-encoding").is_some(), "{path}");
    assert_eq!(decoded(&either), plain.bytes, "{path}");
    // Refused codings are identity.
    let refused = get_with(app, path, creds, Some("gzip;q=0, br;q=0, *")).await;
    assert_eq!(refused.header("content-encoding"), None);
    assert_eq!(refused.bytes, plain.bytes);
    (plain.bytes.len(), gzip.bytes.len())
}

/// Start a BLAST search of contig 1 (its record is then filled into every reply per request).
async fn blast_contig_1(app: &TestApp, analysis_id: &str) {
    app.send(app.request(
        Method::PUT,
        &format!("/api/analyses/{analysis_id}/1/blast"),
        Some(&app.admin),
    ))
    .await
    .assert_status(200);
}

/// Poll `path` as a client that accepts only br until the brotli copy is there (it is made in the
/// background after finalize); the br reply.
pub(crate) async fn brotli_reply(app: &Http, path: &str, creds: &Creds) -> Reply {
    for _ in 0..600 {
        let reply = get_with(app, path, creds, Some("br")).await;
        match reply.header("content-encoding").as_deref() {
            Some("br") => return reply,
            None => tokio::time::sleep(std::time::Duration::from_millis(50)).await,
            Some(other) => panic!("{other} for a client that accepts only br"),
        }
    }
    panic!("no brotli copy of {path} within 30 s");
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
        blast_contig_1(&app, &nuvs.id).await;
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

both!(
    brotli_replies_decode_to_the_identity_bytes,
    config = |c: &mut vira::config::ServeConfig| c.no_blast_worker = true,
    |app: TestApp| async move {
        let (ref_id, _) = app.reference("reference/otus.json.gz").await;
        app.nuvs_annotations().await;
        let run = app.started(&ref_id, "pathoscope_bowtie").await;
        app.finalize(&run.job, &run.id, &pathoscope_results())
            .await
            .assert_status(200);
        let path = format!("/api/analyses/{}", run.id);
        let br = brotli_reply(&app, &path, &app.admin).await;
        let (plain, gzip) = both_ways(&app, &path, &app.admin).await;
        assert_eq!(unbrotli(&br.bytes).len(), plain);
        // Brotli's best quality: clearly fewer bytes than gzip on the real fixture.
        assert!(
            br.bytes.len() * 10 < gzip * 8,
            "br {} bytes, gzip {gzip}, identity {plain}",
            br.bytes.len()
        );
        let either = get_with(&app, &path, &app.admin, Some("gzip, br")).await;
        assert_eq!(either.header("content-encoding").as_deref(), Some("br"));
        // A client that ranks gzip higher gets gzip.
        let ranked = get_with(&app, &path, &app.admin, Some("gzip;q=1, br;q=0.5")).await;
        assert_eq!(ranked.header("content-encoding").as_deref(), Some("gzip"));
        let jobs_path = format!("/jobs-api/analyses/{}", run.id);
        let reply = get_with(&app, &jobs_path, &run.job, Some("br")).await;
        assert_eq!(reply.header("content-encoding").as_deref(), Some("br"));
        assert_eq!(
            unbrotli(&reply.bytes),
            get_with(&app, &jobs_path, &run.job, None).await.bytes
        );

        // A file added later changes the head, not the stored copy.
        app.upload(
            Method::POST,
            &format!(
                "/jobs-api/analyses/{}/files?name=late.tsv&format=tsv",
                run.id
            ),
            &run.job,
            b"x".to_vec(),
        )
        .await
        .assert_status(201);
        let reply = get_with(&app, &path, &app.admin, Some("br")).await;
        let body: Value = serde_json::from_slice(&unbrotli(&reply.bytes)).unwrap();
        assert_eq!(body["files"][0]["name"], "late.tsv");
        assert_eq!(
            unbrotli(&reply.bytes),
            get_with(&app, &path, &app.admin, None).await.bytes
        );

        // NuVs: br until a BLAST record has to be filled in, then gzip (or identity).
        let nuvs = app.started(&ref_id, "nuvs").await;
        app.finalize(&nuvs.job, &nuvs.id, &nuvs_results())
            .await
            .assert_status(200);
        let path = format!("/api/analyses/{}", nuvs.id);
        brotli_reply(&app, &path, &app.admin).await;
        both_ways(&app, &path, &app.admin).await;
        blast_contig_1(&app, &nuvs.id).await;
        let reply = get_with(&app, &path, &app.admin, Some("br")).await;
        assert_eq!(reply.header("content-encoding"), None);
        let reply = get_with(&app, &path, &app.admin, Some("br, gzip")).await;
        assert_eq!(reply.header("content-encoding").as_deref(), Some("gzip"));
        let body: Value = serde_json::from_slice(&gunzip(&reply.bytes)).unwrap();
        assert_eq!(body["results"]["hits"][1]["blast"]["sequence_index"], 1);
    }
);

both!(
    without_brotli_workers_gzip_is_sent,
    config = |c: &mut vira::config::ServeConfig| {
        c.no_blast_worker = true;
        c.brotli_workers = 0;
    },
    |app: TestApp| async move {
        let (ref_id, _) = app.reference("reference/otus.json.gz").await;
        let run = app.started(&ref_id, "pathoscope_bowtie").await;
        app.finalize(&run.job, &run.id, &pathoscope_results())
            .await
            .assert_status(200);
        let path = format!("/api/analyses/{}", run.id);
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        let reply = get_with(&app, &path, &app.admin, Some("br")).await;
        assert_eq!(reply.header("content-encoding"), None, "no copy, no br");
        let reply = get_with(&app, &path, &app.admin, Some("br, gzip")).await;
        assert_eq!(reply.header("content-encoding").as_deref(), Some("gzip"));
    }
);

/// GET `path` through `instance` as a client that accepts only br.
async fn br(instance: &Instance, path: &str, creds: &Creds) -> Reply {
    instance
        .send(
            instance
                .request(Method::GET, path, Some(creds))
                .header("accept-encoding", "br"),
        )
        .await
}

/// An analysis finalized while no brotli copies were made (or by an instance stopped before it
/// made one) gets its copy when an instance starts.
async fn missing_copies_are_made_at_start_up(backend: Backend) {
    let Some((data, url, _pg)) = process_storage(backend).await else {
        return;
    };
    let admin = create_admin_process(data.path(), &url).await;
    let mut first = Instance::start(
        data.path(),
        &url,
        &["--brotli-workers", "0", "--no-blast-worker"],
    )
    .await;
    let setup = first.as_admin(&admin);
    let ref_id = setup.small_reference().await;
    let run = setup.started(&ref_id, "pathoscope_bowtie").await;
    setup
        .finalize(
            &run.job,
            &run.id,
            &serde_json::json!({"hits": [], "read_count": 0}),
        )
        .await
        .assert_status(200);
    let path = format!("/api/analyses/{}", run.id);
    assert_eq!(
        br(&first, &path, &admin).await.header("content-encoding"),
        None
    );
    first.kill9().await;
    let second = Instance::start(data.path(), &url, &["--no-blast-worker"]).await;
    for _ in 0..600 {
        let reply = br(&second, &path, &admin).await;
        reply.assert_status(200);
        if reply.header("content-encoding").as_deref() == Some("br") {
            let plain = second.get(&path, &admin).await;
            assert_eq!(unbrotli(&reply.bytes), plain.bytes);
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("no brotli copy was made at start-up");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_copies_are_made_at_start_up_sqlite() {
    missing_copies_are_made_at_start_up(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_copies_are_made_at_start_up_postgres() {
    missing_copies_are_made_at_start_up(Backend::Postgres).await;
}
