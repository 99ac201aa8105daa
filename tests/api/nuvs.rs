//! The whole life of a NuVs analysis over HTTP with the real fixtures: HMM annotations (U20) →
//! create → acquire → upload → finalize → GET (§9.2) → export (§10.3) → download → delete.

use std::io::Cursor;

use calamine::{Data, Reader, Xlsx};
use reqwest::Method;
use serde_json::Value;

use crate::both;
use crate::expect;
use crate::support::nuvs_results;
use crate::support::{files_under, fixture_bytes, Setup, TestApp};

/// The contract's example (§10.3) with no BLAST record: the BLAST columns are empty.
const CONTRACT_CSV: &str = "\"Index\",\"Length\",\"E-value\",\"Families\",\"ORF Count\",\"BLAST Top Hit\",\"BLAST Accession\"\r\n\
0,19226,0.69,\"Herpesviridae\",19,\"\",\"\"\r\n\
1,14199,8.8e-22,\"Ascoviridae; Iridoviridae; Marseillevirus family; Mimiviridae\",8,\"\",\"\"\r\n\
2,13808,\"\",\"\",9,\"\",\"\"\r\n\
3,13525,\"\",\"\",11,\"\",\"\"\r\n\
4,10841,0.0099,\"Marseillevirus family\",11,\"\",\"\"\r\n";

both!(nuvs_life_cycle, |app: TestApp| async move {
    app.nuvs_annotations().await;
    let ref_id = app.small_reference().await;
    let run = app.started(&ref_id, "nuvs").await;
    let fasta = fixture_bytes("nuvs/scaffolds_p.fa");
    let path = format!(
        "/jobs-api/analyses/{}/files?name=scaffolds.fa&format=fasta",
        run.id
    );
    let reply = app
        .upload(Method::POST, &path, &run.job, fasta.clone())
        .await;
    reply.assert_status(201);
    let file = reply.json();

    let reply = app.finalize(&run.job, &run.id, &nuvs_results()).await;
    reply.assert_status(200);
    let finalized = reply.json();
    assert_eq!(finalized["ready"], true);
    assert_eq!(finalized["read_count"], Value::Null);
    let (contigs, csv_rows) = expect::nuvs();
    let results = &finalized["results"];
    let keys: Vec<&String> = results.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["hits"]);
    assert_eq!(results["hits"], Value::Array(contigs.clone()));
    // Key order: stored fields first, then the annotation fields, then `blast`.
    let contig = &results["hits"][1];
    let keys: Vec<&String> = contig.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["index", "sequence", "orfs", "blast"]);
    let hit = &contig["orfs"][0]["hits"][0];
    let keys: Vec<&String> = hit.as_object().unwrap().keys().collect();
    assert_eq!(
        keys,
        [
            "hit",
            "full_e",
            "full_score",
            "full_bias",
            "best_e",
            "best_bias",
            "best_score",
            "cluster",
            "families",
            "names"
        ]
    );
    assert_eq!(hit["hit"], "rejiddnd");
    assert_eq!(hit["cluster"], 5143);
    // The swapped best_bias / best_score of real data pass through unchanged.
    assert_eq!(hit["best_bias"], 62.7);
    assert_eq!(hit["best_score"], 0.0);

    let reply = app
        .get(&format!("/api/analyses/{}", run.id), &app.admin)
        .await;
    reply.assert_status(200);
    assert_eq!(reply.json(), finalized);
    let j3 = app
        .get(&format!("/jobs-api/analyses/{}", run.id), &run.job)
        .await;
    assert_eq!(j3.bytes, reply.bytes);

    let csv = app
        .get(
            &format!("/api/analyses/document/{}.csv", run.id),
            &app.admin,
        )
        .await;
    csv.assert_status(200);
    assert_eq!(csv.header("content-type").as_deref(), Some("text/csv"));
    let text = String::from_utf8(csv.bytes).unwrap();
    assert_eq!(text, CONTRACT_CSV);
    let computed: Vec<&str> = text
        .split("\r\n")
        .skip(1)
        .filter(|l| !l.is_empty())
        .collect();
    assert_eq!(computed, csv_rows);

    let xlsx = app
        .get(
            &format!("/api/analyses/documents/{}.xlsx", run.id),
            &app.admin,
        )
        .await;
    xlsx.assert_status(200);
    let mut book: Xlsx<_> = calamine::open_workbook_from_rs(Cursor::new(xlsx.bytes)).unwrap();
    let title = format!("NuVs for {}", run.sample);
    assert_eq!(book.sheet_names(), std::slice::from_ref(&title));
    let sheet = book.worksheet_range(&title).unwrap();
    assert_eq!(sheet.start(), Some((0, 0)));
    let rows: Vec<Vec<Data>> = sheet.rows().map(<[Data]>::to_vec).collect();
    let s = |v: &str| Data::String(v.into());
    let f = Data::Float;
    let e = Data::Empty;
    assert_eq!(
        rows,
        vec![
            vec![
                s("Index"),
                s("Length"),
                s("E-value"),
                s("Families"),
                s("ORF Count"),
                s("BLAST Top Hit"),
                s("BLAST Accession")
            ],
            vec![
                f(0.0),
                f(19226.0),
                f(0.69),
                s("Herpesviridae"),
                f(19.0),
                e.clone(),
                e.clone()
            ],
            vec![
                f(1.0),
                f(14199.0),
                f(8.8e-22),
                s("Ascoviridae; Iridoviridae; Marseillevirus family; Mimiviridae"),
                f(8.0),
                e.clone(),
                e.clone()
            ],
            vec![
                f(2.0),
                f(13808.0),
                e.clone(),
                e.clone(),
                f(9.0),
                e.clone(),
                e.clone()
            ],
            vec![
                f(3.0),
                f(13525.0),
                e.clone(),
                e.clone(),
                f(11.0),
                e.clone(),
                e.clone()
            ],
            vec![
                f(4.0),
                f(10841.0),
                f(0.0099),
                s("Marseillevirus family"),
                f(11.0),
                e.clone(),
                e
            ],
        ]
    );

    let download = app
        .get(
            &format!("/api/analyses/{}/files/{}", run.id, file["id"]),
            &app.admin,
        )
        .await;
    download.assert_status(200);
    assert_eq!(download.bytes, fasta);
    assert_eq!(
        download.header("content-type").as_deref(),
        Some("text/x-fasta")
    );
    assert_eq!(
        download.header("content-disposition").as_deref(),
        Some("attachment; filename=scaffolds.fa")
    );

    app.delete(&format!("/api/analyses/{}", run.id), &app.admin)
        .await
        .assert_status(204);
    assert_eq!(app.rows("analyses", "id", &run.id).await, 0);
    assert_eq!(app.rows("analysis_files", "analysis_id", &run.id).await, 0);
    assert_eq!(files_under(&app.analysis_dir(&run.id)).len(), 0);
    app.get(&format!("/api/analyses/{}", run.id), &app.admin)
        .await
        .assert_error(404, "not_found", "Not found");
});

both!(
    nuvs_finalize_rejects_unknown_annotations,
    |app: TestApp| async move {
        // Without the U20 import, every ORF hit names an unknown annotation (§9.3).
        let ref_id = app.small_reference().await;
        let run = app.started(&ref_id, "nuvs").await;
        let reply = app.finalize(&run.job, &run.id, &nuvs_results()).await;
        reply.assert_error(422, "invalid_input", "Invalid input");
        let raw = nuvs_results();
        let mut expected = serde_json::Map::new();
        for (n, contig) in raw["hits"].as_array().unwrap().iter().enumerate() {
            for (m, orf) in contig["orfs"].as_array().unwrap().iter().enumerate() {
                for (k, hit) in orf["hits"].as_array().unwrap().iter().enumerate() {
                    expected.insert(
                        format!("results.hits.{n}.orfs.{m}.hits.{k}.hit"),
                        serde_json::json!([format!(
                            "unknown HMM annotation {}",
                            hit["hit"].as_str().unwrap()
                        )]),
                    );
                }
            }
        }
        assert_eq!(expected.len(), 6);
        assert_eq!(reply.json()["errors"], Value::Object(expected));
        let body = app
            .get(&format!("/api/analyses/{}", run.id), &app.admin)
            .await
            .json();
        assert_eq!(body["ready"], false);
    }
);
