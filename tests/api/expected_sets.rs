//! The six Pathoscope sets of `fixtures/pathoscope/expected/` from reads to results with Debian's
//! bowtie2 (workflows §10.1–§10.4): the lab's reads, host genome and reference go in through the
//! API, a worker computes, and out come exactly the fixtures' results (floats bit-equal),
//! `report.tsv` and `quality`, the simulated samples within §10.4.10's truth rule. Candidates
//! are internal to the worker (never uploaded or posted): the exact results and report stand for
//! them. Run three ways: `vira serve --workers 1` on SQLite and on PostgreSQL, and two `vira serve`
//! instances on one PostgreSQL database with a `vira worker` on the other instance than the one
//! the lab's requests go to.

use serde_json::{json, Value};

use crate::support::{
    analysis_file, built_reference, completed_job, create_admin_process, fixture_bytes,
    pathoscope_run, posted_results, process_storage, ready_sample, runner, serve_with_one_worker,
    subtraction_with_genome, upload_fixture, Backend, Instance, Lab, WorkerProcess,
    WORKFLOW_JOB_LIMIT,
};

fn fixture_json(path: &str) -> Value {
    serde_json::from_slice(&fixture_bytes(path)).unwrap()
}

/// One expected set: its reads, the quality of its sample, and whether the host is subtracted.
struct Set {
    name: &'static str,
    reads: &'static [&'static str],
    quality: &'static str,
    subtract_host: bool,
    /// The simulation spec when the reads are simulated (its sources name the true isolates).
    simulation: Option<&'static str>,
}

const SETS: [Set; 6] = [
    Set {
        name: "sim1_single",
        reads: &["sim/sim1_single.fq.gz"],
        quality: "sim/sim1_single.quality.json",
        subtract_host: false,
        simulation: Some("sim/specs/sim1_single.json"),
    },
    Set {
        name: "sim1_paired",
        reads: &["sim/sim1_paired_1.fq.gz", "sim/sim1_paired_2.fq.gz"],
        quality: "sim/sim1_paired.quality.json",
        subtract_host: false,
        simulation: Some("sim/specs/sim1_paired.json"),
    },
    Set {
        name: "sim1_host",
        reads: &["sim/sim1_host.fq.gz"],
        quality: "sim/sim1_host.quality.json",
        subtract_host: true,
        simulation: Some("sim/specs/sim1_host.json"),
    },
    Set {
        name: "sim1_host_nosub",
        reads: &["sim/sim1_host.fq.gz"],
        quality: "sim/sim1_host.quality.json",
        subtract_host: false,
        simulation: Some("sim/specs/sim1_host.json"),
    },
    Set {
        name: "rrsv",
        reads: &["reads/rrsv_1.fq.gz", "reads/rrsv_2.fq.gz"],
        quality: "reads/rrsv.quality.json",
        subtract_host: false,
        simulation: None,
    },
    Set {
        name: "srna",
        reads: &["reads/srna_1.fq.gz", "reads/srna_2.fq.gz"],
        quality: "reads/srna.quality.json",
        subtract_host: false,
        simulation: None,
    },
];

fn expected(set: &str, file: &str) -> Vec<u8> {
    fixture_bytes(&format!("pathoscope/expected/{set}/{file}"))
}

/// Compare results exactly (floats bit-equal), naming the first difference.
#[track_caller]
fn assert_same_results(set: &str, actual: &Value, expected: &Value) {
    assert_eq!(
        actual["read_count"], expected["read_count"],
        "{set}: read_count"
    );
    assert_eq!(
        actual["subtracted_count"], expected["subtracted_count"],
        "{set}: subtracted_count"
    );
    let (a, e) = (
        actual["hits"].as_array().unwrap(),
        expected["hits"].as_array().unwrap(),
    );
    assert_eq!(a.len(), e.len(), "{set}: number of hits");
    for (i, (a, e)) in a.iter().zip(e).enumerate() {
        for key in [
            "id", "otu", "final", "initial", "coverage", "depth", "align",
        ] {
            assert!(
                a[key] == e[key],
                "{set}: hit {i} {key}: {} ≠ {}",
                short(&a[key]),
                short(&e[key])
            );
        }
    }
    assert!(actual == expected, "{set}: results differ");
}

fn short(value: &Value) -> String {
    let text = value.to_string();
    text.chars().take(160).collect()
}

/// §10.4.10 against the simulation truth, on the formatted results (`GET /api/analyses/{id}`):
/// each simulated OTU's weight (Σ `pi` of its sequences) within the tolerance of its true share,
/// no other OTU at 0.01 or more, and each simulated OTU's best sequence in the simulated isolate.
#[track_caller]
fn assert_within_truth(set: &str, formatted: &Value, simulation: &str) {
    let summary = &fixture_json("pathoscope/expected/summary.json")[set];
    let truth = summary["truth"].as_object().expect("a truth");
    let tolerance = summary["truth_tolerance"].as_f64().unwrap();
    let spec = fixture_json(simulation);
    for otu in formatted["hits"].as_array().unwrap() {
        let id = otu["id"].as_str().unwrap();
        let sequences: Vec<(&Value, &Value)> = otu["isolates"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|i| {
                i["sequences"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(move |s| (i, s))
            })
            .collect();
        let weight: f64 = sequences
            .iter()
            .map(|(_, s)| s["pi"].as_f64().unwrap())
            .sum();
        let Some(share) = truth.get(id).and_then(Value::as_f64) else {
            assert!(
                weight < 0.01,
                "{set}: OTU {id} is not simulated but weighs {weight}"
            );
            continue;
        };
        assert!(
            (weight - share).abs() <= tolerance,
            "{set}: OTU {id} weighs {weight}, its true share is {share}"
        );
        let (best_isolate, _) = sequences
            .iter()
            .max_by(|a, b| {
                a.1["pi"]
                    .as_f64()
                    .unwrap()
                    .total_cmp(&b.1["pi"].as_f64().unwrap())
            })
            .unwrap();
        let source = spec["sources"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["otu"] == id)
            .unwrap();
        assert_eq!(
            best_isolate["id"], source["isolate"],
            "{set}: the best sequence of {id} is not in the simulated isolate"
        );
    }
    for id in truth.keys() {
        assert!(
            formatted["hits"]
                .as_array()
                .unwrap()
                .iter()
                .any(|o| o["id"] == *id),
            "{set}: simulated OTU {id} is missing"
        );
    }
}

/// The six sets through `lab`, whose workers compute the jobs.
async fn the_six_sets(lab: &Lab) {
    let (http, admin) = (&lab.http, &lab.admin);
    let ref_id = built_reference(lab, "reference/otus.json.gz").await;

    // A host genome for sim1_host.
    let genome = upload_fixture(http, admin, "sim/host1.fa.gz", "subtraction").await;
    let host = subtraction_with_genome(http, admin, "host1", genome).await;
    let host_id = host["id"].as_str().unwrap().to_owned();
    let host_job = host["job"]["id"].as_str().unwrap();
    completed_job(http, admin, host_job, WORKFLOW_JOB_LIMIT).await;
    let host = http
        .get(&format!("/api/subtractions/{host_id}"), admin)
        .await
        .json();
    let finalize = fixture_json("sim/host1.finalize.json");
    assert_eq!(host["count"], finalize["count"]);
    assert_eq!(host["gc"], finalize["gc"]);
    let order: Vec<&String> = host["gc"].as_object().unwrap().keys().collect();
    assert_eq!(order, ["a", "c", "g", "t", "n"]);
    assert_eq!(host["files"].as_array().unwrap().len(), 7, "{host}");

    let summary = fixture_json("pathoscope/expected/summary.json");
    for set in &SETS {
        let name = set.name;
        let sample = ready_sample(http, admin, name, set.reads, json!({})).await;
        let body = http
            .get(&format!("/api/samples/{sample}"), admin)
            .await
            .json();
        assert!(
            body["quality"] == fixture_json(set.quality),
            "{name}: quality differs"
        );
        assert_eq!(body["ready"], true);
        assert_eq!(body["reads"].as_array().unwrap().len(), set.reads.len());

        let subtractions = if set.subtract_host {
            vec![host_id.clone()]
        } else {
            vec![]
        };
        let analysis = pathoscope_run(http, admin, &sample, &ref_id, &subtractions).await;
        let results = posted_results(&lab.db, &analysis).await;
        let expected_results: Value =
            serde_json::from_slice(&expected(name, "results.json")).unwrap();
        assert_same_results(name, &results, &expected_results);
        let report = analysis_file(http, admin, &analysis, "report.tsv").await;
        assert!(
            report == expected(name, "report.tsv"),
            "{name}: report.tsv differs:\n{}",
            String::from_utf8_lossy(&report)
        );

        let formatted = http
            .get(&format!("/api/analyses/{analysis}"), admin)
            .await
            .json();
        assert_eq!(formatted["ready"], true, "{name}");
        let results = &formatted["results"];
        assert_eq!(
            results["subtracted_count"], summary[name]["subtracted_count"],
            "{name}: subtracted_count"
        );
        if let Some(simulation) = set.simulation {
            assert_within_truth(name, results, simulation);
        }
        if name == "srna" {
            // The small-RNA negative: nothing maps, and that is a result, not an error.
            assert_eq!(results["hits"], json!([]), "{name}");
            assert_eq!(results["read_count"], 0, "{name}");
        }
    }
}

/// `vira serve --workers 1` alone: the embedded worker computes every job.
async fn through_serve_with_one_worker(backend: Backend) {
    let Some((dir, url, _db)) = process_storage(backend).await else {
        return;
    };
    let admin = create_admin_process(dir.path(), &url).await;
    let work = tempfile::TempDir::new().unwrap();
    let instance = serve_with_one_worker(dir.path(), &url, work.path()).await;
    let lab = Lab::open(&instance, admin, &url).await;
    the_six_sets(&lab).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expected_sets_through_serve_with_one_worker_sqlite() {
    through_serve_with_one_worker(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expected_sets_through_serve_with_one_worker_postgres() {
    through_serve_with_one_worker(Backend::Postgres).await;
}

/// Two `vira serve` instances on one PostgreSQL database and data path; the lab talks to the
/// first, a `vira worker` process claims and reports through the second.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expected_sets_through_two_instances_and_a_worker() {
    let Some((dir, url, _db)) = process_storage(Backend::Postgres).await else {
        return;
    };
    let admin = create_admin_process(dir.path(), &url).await;
    let (front, back) = tokio::join!(
        Instance::start(dir.path(), &url, &[]),
        Instance::start(dir.path(), &url, &[]),
    );
    let credential = runner(&front, &admin, "lab-1").await;
    let _worker = WorkerProcess::start(&back.base, &credential, &["--threads", "2"]);
    let lab = Lab::open(&front, admin, &url).await;
    the_six_sets(&lab).await;
}
