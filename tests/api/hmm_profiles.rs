//! HMM profiles (workflows U36) and the HMM files of `nuvs` jobs (J27, J28).

use std::io::{Read, Write};

use reqwest::Method;
use serde_json::{json, Value};

use crate::subtraction_files::{keys_in_order, stored_object};
use crate::support::{fixture_bytes, Creds, Reply, Setup, TestApp};
use crate::{both, every_store};

async fn import_profiles(app: &TestApp, creds: &Creds, bytes: Vec<u8>) -> Reply {
    app.multipart(
        Method::POST,
        "/api/hmms/profiles",
        creds,
        "profiles.hmm",
        bytes,
    )
    .await
}

async fn import_annotations(app: &TestApp, fixture: &str) {
    app.import("/api/hmms/annotations", fixture_bytes(fixture))
        .await
        .assert_status(201);
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

fn gunzip(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(bytes)
        .read_to_end(&mut out)
        .unwrap();
    out
}

const ONE: &str = "HMMER3/f [3.1b1 | May 2013]\nNAME  vFam_10\nLENG  3\n//\n";

both!(import_error_rows, |app: TestApp| async move {
    let (user, _) = app.user("plain", &[]).await;
    let anonymous = app
        .send(
            app.request(Method::POST, "/api/hmms/profiles", None)
                .body("x"),
        )
        .await;
    assert_eq!(anonymous.status, 401);
    import_profiles(&app, &user, ONE.into()).await.assert_error(
        403,
        "forbidden",
        "Requires administrative privilege",
    );
    let no_part = app
        .send(
            app.request(Method::POST, "/api/hmms/profiles", Some(&app.admin))
                .header("content-type", "text/plain")
                .body("x"),
        )
        .await;
    no_part.assert_status(422);
    assert_eq!(
        no_part.json()["errors"],
        json!({"file": ["required field"]})
    );
    // Every cluster needs an annotation: the vfam7 example before its annotations.
    import_profiles(&app, &app.admin, fixture_bytes("hmm/vfam7.profiles.hmm"))
        .await
        .assert_error(
            400,
            "bad_request",
            "Invalid profiles file: no annotation for clusters 2,3,4,5,8,9,10",
        );
    import_annotations(&app, "hmm/annotations.json").await;
    let cases = [
        ("", "no profiles".to_owned()),
        ("\n\n", "no profiles".to_owned()),
        (
            "NAME x\n//\n",
            "profile 1 does not start with HMMER3/".to_owned(),
        ),
        (
            &*format!("{ONE}HMMER2\n//\n"),
            "profile 2 does not start with HMMER3/".to_owned(),
        ),
        ("HMMER3/f\nLENG 3\n//\n", "profile 1 has no NAME".to_owned()),
        (
            "HMMER3/f\nNAME  PF0001\n//\n",
            "profile 1: NAME PF0001 is not vFam_<number>".to_owned(),
        ),
        (
            "HMMER3/f\nNAME  vFam_x1\n//\n",
            "profile 1: NAME vFam_x1 is not vFam_<number>".to_owned(),
        ),
        (&*format!("{ONE}{ONE}"), "duplicate cluster 10".to_owned()),
        (
            &*format!(
                "{ONE}{}{}",
                ONE.replace("_10", "_77"),
                ONE.replace("_10", "_5")
            ),
            "no annotation for clusters 5,77".to_owned(),
        ),
    ];
    for (text, reason) in cases {
        import_profiles(&app, &app.admin, text.as_bytes().to_vec())
            .await
            .assert_error(
                400,
                "bad_request",
                &format!("Invalid profiles file: {reason}"),
            );
    }
    assert_eq!(app.count("hmm_profiles").await, 0);
});

both!(
    import_too_large,
    config = |c| c.max_upload_bytes = 1000,
    |app: TestApp| async move {
        import_profiles(&app, &app.admin, vec![b'x'; 4000])
            .await
            .assert_status(413);
    }
);

every_store!(import_and_serve_to_nuvs_jobs, |app: TestApp| async move {
    let ref_id = app.small_reference().await;
    let nuvs = app.started(&ref_id, "nuvs").await.job;
    let pathoscope = app.started(&ref_id, "pathoscope_bowtie").await.job;
    let refused =
        |reply: Reply| reply.assert_error(403, "insufficient_rights", "Insufficient rights");
    // Nothing imported: an empty annotation list, no profiles.
    let empty = app
        .get("/jobs-api/hmms/files/annotations.json.gz", &nuvs)
        .await;
    empty.assert_status(200);
    assert_eq!(gunzip(&empty.bytes), b"[]");
    app.get("/jobs-api/hmms/files/profiles.hmm", &nuvs)
        .await
        .assert_error(404, "not_found", "Profiles not found");
    refused(
        app.get("/jobs-api/hmms/files/annotations.json.gz", &pathoscope)
            .await,
    );
    refused(
        app.get("/jobs-api/hmms/files/profiles.hmm", &pathoscope)
            .await,
    );
    for path in ["annotations.json.gz", "profiles.hmm"] {
        let reply = app
            .send(app.request(Method::GET, &format!("/jobs-api/hmms/files/{path}"), None))
            .await;
        assert_eq!(reply.status, 401);
    }

    // vfam7 after its annotations, gzip-compressed.
    import_annotations(&app, "hmm/virtool-hmm.tests.annotations.json").await;
    let vfam7 = fixture_bytes("hmm/vfam7.profiles.hmm");
    let reply = import_profiles(&app, &app.admin, gzip(&vfam7)).await;
    reply.assert_status(201);
    let body = reply.json();
    assert_eq!(
        keys_in_order(&body),
        ["profiles", "size", "sha256", "uploaded_at"]
    );
    assert_eq!(
        (&body["profiles"], &body["size"], &body["sha256"]),
        (&json!(7), &json!(vfam7.len()), &json!(sha256_hex(&vfam7)))
    );
    assert_eq!(
        stored_object(&app, "hmm/profiles.hmm").await,
        Some(vfam7.clone())
    );
    let whole = app.get("/jobs-api/hmms/files/profiles.hmm", &nuvs).await;
    whole.assert_status(200);
    assert!(whole.bytes == vfam7);
    assert_eq!(
        whole.header("content-type").unwrap(),
        "application/octet-stream"
    );
    assert_eq!(
        whole.header("content-length").unwrap(),
        vfam7.len().to_string()
    );
    let ranged = app
        .send(
            app.request(
                Method::GET,
                "/jobs-api/hmms/files/profiles.hmm",
                Some(&nuvs),
            )
            .header("range", "bytes=0-6"),
        )
        .await;
    ranged.assert_status(206);
    assert_eq!(ranged.bytes, b"HMMER3/");
    let beyond = app
        .send(
            app.request(
                Method::GET,
                "/jobs-api/hmms/files/profiles.hmm",
                Some(&nuvs),
            )
            .header("range", format!("bytes={}-", vfam7.len())),
        )
        .await;
    beyond.assert_status(416);

    // The annotations: by cluster, with the keys Virtool's model needs.
    let annotations = app
        .get("/jobs-api/hmms/files/annotations.json.gz", &nuvs)
        .await;
    annotations.assert_status(200);
    assert_eq!(
        annotations.header("content-disposition").unwrap(),
        "attachment; filename=annotations.json.gz"
    );
    let list: Value = serde_json::from_slice(&gunzip(&annotations.bytes)).unwrap();
    let clusters: Vec<i64> = (list.as_array().unwrap().iter())
        .map(|a| a["cluster"].as_i64().unwrap())
        .collect();
    assert_eq!(clusters, [2, 3, 4, 5, 8, 9, 10]);
    for annotation in list.as_array().unwrap() {
        for key in [
            "id",
            "cluster",
            "count",
            "families",
            "names",
            "entries",
            "genera",
            "length",
            "mean_entropy",
            "total_entropy",
        ] {
            assert!(annotation.get(key).is_some(), "{key} in {annotation}");
        }
        for entry in annotation["entries"].as_array().unwrap() {
            for key in ["accession", "gi", "name", "organism"] {
                assert!(entry[key].is_string(), "{key} in {entry}");
            }
        }
    }

    // vfam3 after annotations.json replaces the file as a whole.
    import_annotations(&app, "hmm/annotations.json").await;
    let vfam3 = fixture_bytes("hmm/vfam3.profiles.hmm");
    let reply = import_profiles(&app, &app.admin, vfam3.clone()).await;
    reply.assert_status(201);
    assert_eq!(reply.json()["profiles"], 3);
    let whole = app.get("/jobs-api/hmms/files/profiles.hmm", &nuvs).await;
    assert!(whole.bytes == vfam3);
    assert_eq!(app.count("hmm_profiles").await, 1);
    let list: Value = serde_json::from_slice(&gunzip(
        &app.get("/jobs-api/hmms/files/annotations.json.gz", &nuvs)
            .await
            .bytes,
    ))
    .unwrap();
    let clusters: Vec<i64> = (list.as_array().unwrap().iter())
        .map(|a| a["cluster"].as_i64().unwrap())
        .collect();
    // Both files have an annotation of cluster 10 with the same id: imported once (U20).
    assert_eq!(clusters, [2, 3, 4, 5, 8, 9, 10, 100, 1000]);
    app.assert_no_temporary_objects().await;
});
