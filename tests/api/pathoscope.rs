//! The whole life of a Pathoscope analysis over HTTP with the real fixtures: create → acquire →
//! upload → finalize → GET (§9.1) → export (§10.2) → download → delete (§12).

use std::io::Cursor;

use calamine::{Data, Reader, Xlsx};
use reqwest::Method;
use serde_json::{json, Value};

use crate::both;
use crate::expect;
use crate::support::pathoscope_results;
use crate::support::{files_under, fixture_bytes, Setup, TestApp};

/// The contract's own example rows (§10.2).
const CONTRACT_ROWS: &str = "\"OTU\",\"Isolate\",\"Sequence\",\"Length\",\"Weight\",\"Median Depth\",\"Coverage\"\r\n\
\"Grapevine leafroll-associated virus 1\",\"Isolate 1050\",\"NC_016509\",18659,0.9817922033874211,10,0.999\r\n\
\"Grapevine rupestris stem pitting-associated virus\",\"Unknown unknown\",\"NC_001948\",8744,0.016829359686626827,11.0,0.996\r\n\
\"Grapevine leafroll-associated virus 3\",\"Strain NY1\",\"NC_004667\",17919,6.054707353153265e-05,0,0.034\r\n\
\"Grapevine fleck virus\",\"Isolate MT48\",\"NC_003347\",7564,5.6039729675898496e-05,6.0,0.844\r\n\
\"Grapevine fanleaf virus\",\"Strain F13\",\"NC_003623\",3774,8.64543396608676e-07,26.0,0.898\r\n\
\"Grapevine fanleaf virus\",\"Strain F13\",\"NC_003615\",7342,2.5868710213805918e-05,22.0,0.894\r\n";

/// Check `results` against the fixture, `align` point by point.
fn check_results(results: &Value, expected: &expect::Pathoscope) {
    let keys: Vec<&String> = results.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["hits", "read_count", "subtracted_count"]);
    assert_eq!(results["read_count"], 20276);
    assert_eq!(results["subtracted_count"], 0);
    let mut hits = results["hits"].clone();
    let otus = hits.as_array_mut().unwrap();
    assert_eq!(otus.len(), 15);
    let mut sequences = 0;
    for otu in otus.iter_mut() {
        let keys: Vec<&String> = otu.as_object().unwrap().keys().collect();
        assert_eq!(
            keys,
            [
                "id",
                "name",
                "abbreviation",
                "version",
                "length",
                "isolates"
            ]
        );
        for isolate in otu["isolates"].as_array_mut().unwrap() {
            for seq in isolate["sequences"].as_array_mut().unwrap() {
                let keys: Vec<&String> = seq.as_object().unwrap().keys().collect();
                assert_eq!(
                    keys,
                    [
                        "id",
                        "accession",
                        "definition",
                        "length",
                        "align",
                        "best",
                        "coverage",
                        "pi",
                        "reads"
                    ]
                );
                let id = seq["id"].as_str().unwrap().to_owned();
                expect::check_align(&seq["align"], &expected.depth[&id]);
                seq["align"] = Value::Null;
                sequences += 1;
            }
        }
    }
    assert_eq!(sequences, 18);
    assert_eq!(hits, Value::Array(expected.otus.clone()));
}

fn find_sequence<'a>(results: &'a Value, id: &str) -> &'a Value {
    results["hits"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|o| o["isolates"].as_array().unwrap())
        .flat_map(|i| i["sequences"].as_array().unwrap())
        .find(|s| s["id"] == id)
        .unwrap()
}

both!(pathoscope_life_cycle, |app: TestApp| async move {
    let (ref_id, index_id) = app.reference("reference/otus.json.gz").await;
    let run = app.started(&ref_id, "pathoscope_bowtie").await;
    let report = fixture_bytes("pathoscope/report.tsv");
    let path = format!(
        "/jobs-api/analyses/{}/files?name=report.tsv&format=tsv",
        run.id
    );
    let reply = app
        .upload(Method::PUT, &path, &run.job, report.clone())
        .await;
    reply.assert_status(201);
    let file = reply.json();
    assert_eq!(file["size"], 4462);
    assert_eq!(file["name_on_disk"], format!("{}-report.tsv", file["id"]));

    let reply = app.finalize(&run.job, &run.id, &pathoscope_results()).await;
    reply.assert_status(200);
    let finalized = reply.json();
    let expected = expect::pathoscope();
    assert_eq!(finalized["ready"], true);
    assert_eq!(finalized["read_count"], 20276);
    assert_eq!(finalized["index"], json!({"id": index_id, "version": 0}));
    assert_eq!(finalized["files"], json!([file]));
    check_results(&finalized["results"], &expected);

    // GET (U2) and the runner's read (J3) serve the same bytes as the finalize answer.
    let reply = app
        .get(&format!("/api/analyses/{}", run.id), &app.admin)
        .await;
    reply.assert_status(200);
    assert_eq!(reply.json(), finalized);
    let body = reply.json();
    let results = &body["results"];
    let agqp = find_sequence(results, "agqp7kdv");
    assert_eq!(agqp["accession"], "NC_016509");
    assert_eq!(agqp["align"].as_array().unwrap().len(), 2892);
    assert_eq!(agqp["align"][0], json!([0, 0]));
    assert_eq!(agqp["align"][2891], json!([18658, 3]));
    let d1 = find_sequence(results, "d1qg8xzo");
    assert_eq!(d1["align"].as_array().unwrap().len(), 624);
    assert_eq!(d1["align"][623], json!([3773, 0]));
    let j3 = app
        .get(&format!("/jobs-api/analyses/{}", run.id), &run.job)
        .await;
    j3.assert_status(200);
    assert_eq!(j3.bytes, reply.bytes);

    // CSV (§10.2): the contract's rows first, then every row computed from the fixture.
    for dir in ["document", "documents"] {
        let csv = app
            .get(&format!("/api/analyses/{dir}/{}.csv", run.id), &app.admin)
            .await;
        csv.assert_status(200);
        assert_eq!(csv.header("content-type").as_deref(), Some("text/csv"));
        assert_eq!(
            csv.header("content-disposition").unwrap(),
            format!("attachment; filename={}.csv", run.id)
        );
        let text = String::from_utf8(csv.bytes.clone()).unwrap();
        assert!(text.starts_with(CONTRACT_ROWS), "{text}");
        assert!(text.contains(
            "\r\n\"Hop stunt viroid\",\"Unnamed Isolate\",\"JQ080272\",305,5.801601112325778e-08,3,0.777\r\n"
        ));
        let mut lines: Vec<&str> = text.split("\r\n").collect();
        assert_eq!(lines.pop(), Some(""), "every line ends with CRLF");
        assert_eq!(lines.len(), 19);
        assert_eq!(lines[1..], expected.csv_rows);
    }

    // XLSX: one sheet, header row, typed cells.
    let xlsx = app
        .get(
            &format!("/api/analyses/document/{}.xlsx", run.id),
            &app.admin,
        )
        .await;
    xlsx.assert_status(200);
    assert_eq!(
        xlsx.header("content-type").as_deref(),
        Some("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    );
    assert_eq!(
        xlsx.header("content-disposition").unwrap(),
        format!("attachment; filename={}.xlsx", run.id)
    );
    let mut book: Xlsx<_> = calamine::open_workbook_from_rs(Cursor::new(xlsx.bytes)).unwrap();
    let title = format!("Pathoscope for {}", run.sample);
    assert_eq!(book.sheet_names(), std::slice::from_ref(&title));
    let sheet = book.worksheet_range(&title).unwrap();
    assert_eq!(sheet.start(), Some((0, 0)));
    let rows: Vec<&[Data]> = sheet.rows().collect();
    assert_eq!(rows.len(), 19);
    let header: Vec<Data> = [
        "OTU",
        "Isolate",
        "Sequence",
        "Length",
        "Weight",
        "Median Depth",
        "Coverage",
    ]
    .map(|h| Data::String(h.into()))
    .to_vec();
    assert_eq!(rows[0], header);
    for (row, (otu, isolate, accession, length, pi, median, coverage)) in
        rows[1..].iter().zip(&expected.cells)
    {
        let cells = vec![
            Data::String(otu.clone()),
            Data::String(isolate.clone()),
            Data::String(accession.clone()),
            Data::Float(*length),
            Data::Float(*pi),
            Data::Float(*median),
            Data::Float(*coverage),
        ];
        assert_eq!(row.to_vec(), cells);
    }

    // Download: the exact bytes.
    let download = app
        .get(
            &format!("/api/analyses/{}/files/{}", run.id, file["id"]),
            &app.admin,
        )
        .await;
    download.assert_status(200);
    assert_eq!(download.bytes, report);
    assert_eq!(
        download.header("content-type").as_deref(),
        Some("text/tab-separated-values")
    );

    // Delete: everything is gone.
    app.delete(&format!("/api/analyses/{}", run.id), &app.admin)
        .await
        .assert_status(204);
    assert_eq!(app.rows("analyses", "id", &run.id).await, 0);
    assert_eq!(app.rows("analysis_files", "analysis_id", &run.id).await, 0);
    assert_eq!(
        app.rows("analysis_results", "analysis_id", &run.id).await,
        0
    );
    assert_eq!(files_under(&app.analysis_dir(&run.id)).len(), 0);
    app.get(&format!("/api/analyses/{}", run.id), &app.admin)
        .await
        .assert_error(404, "not_found", "Not found");
    app.get(
        &format!("/api/analyses/{}/files/{}", run.id, file["id"]),
        &app.admin,
    )
    .await
    .assert_error(404, "not_found", "Not found");
    app.get(
        &format!("/api/analyses/document/{}.csv", run.id),
        &app.admin,
    )
    .await
    .assert_error(404, "not_found", "Not found");
    // The job is kept.
    assert_eq!(app.rows("jobs", "id", &run.job_id).await, 1);
});
