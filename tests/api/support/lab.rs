//! A lab's data through the API, as the worker tests and the data-path tests need it: uploads,
//! samples with reads, host genomes, indexes built by a worker, runners, `vira worker` processes,
//! and waiting for jobs.

use std::path::Path;
use std::time::Duration;

use reqwest::Method;
use serde_json::{json, Value};

use super::{fixture_bytes, Creds, Http};

/// The states after which a job never changes (workflows §1.2).
pub const FINISHED: [&str; 5] = ["complete", "error", "cancelled", "timeout", "terminated"];

/// U21: upload `bytes` as `name` of `kind` (`reads`, `subtraction`, …); the upload id.
pub async fn upload(http: &Http, creds: &Creds, name: &str, kind: &str, bytes: Vec<u8>) -> i64 {
    let part = reqwest::multipart::Part::bytes(bytes).file_name(name.to_owned());
    let form = reqwest::multipart::Form::new().part("file", part);
    let path = format!("/api/uploads?name={name}&type={kind}");
    let reply = http
        .send(
            http.request(Method::POST, &path, Some(creds))
                .multipart(form),
        )
        .await;
    reply.assert_status(201);
    reply.json()["id"].as_i64().unwrap()
}

/// U21 of a fixture file, under its own file name.
pub async fn upload_fixture(http: &Http, creds: &Creds, fixture: &str, kind: &str) -> i64 {
    let name = Path::new(fixture).file_name().unwrap().to_str().unwrap();
    upload(http, creds, name, kind, fixture_bytes(fixture)).await
}

/// U11 with `files` (and any other fields of `extra`); the sample.
pub async fn sample_with_reads(
    http: &Http,
    creds: &Creds,
    name: &str,
    files: &[i64],
    extra: Value,
) -> Value {
    let mut body = json!({"name": name, "files": files});
    if let Value::Object(more) = extra {
        body.as_object_mut().unwrap().extend(more);
    }
    let reply = http.post("/api/samples", creds, &body).await;
    reply.assert_status(201);
    reply.json()
}

/// U17 with a host genome; the subtraction.
pub async fn subtraction_with_genome(http: &Http, admin: &Creds, name: &str, upload: i64) -> Value {
    let reply = http
        .post(
            "/api/subtractions",
            admin,
            &json!({"name": name, "upload_id": upload}),
        )
        .await;
    reply.assert_status(201);
    reply.json()
}

/// U33: a runner credential `runner-<id>:<key>`.
pub async fn runner(http: &Http, admin: &Creds, name: &str) -> String {
    let reply = http
        .post("/api/runners", admin, &json!({"name": name}))
        .await;
    reply.assert_status(201);
    reply.json()["credential"].as_str().unwrap().to_owned()
}

/// U31 until the job is finished (at most `limit`); the job.
pub async fn finished_job(http: &Http, creds: &Creds, job_id: &str, limit: Duration) -> Value {
    let deadline = std::time::Instant::now() + limit;
    loop {
        let job = http.get(&format!("/api/jobs/{job_id}"), creds).await.json();
        if FINISHED.contains(&job["state"].as_str().unwrap_or("")) {
            return job;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "job {job_id} did not finish within {limit:?}: {job}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// U31 until the job is finished and `complete`; the job.
pub async fn completed_job(http: &Http, creds: &Creds, job_id: &str, limit: Duration) -> Value {
    let job = finished_job(http, creds, job_id, limit).await;
    assert_eq!(job["state"], "complete", "job {job_id}: {job}");
    job
}

/// U31 until the job's stage is `stage` (or it finished); the job.
pub async fn job_at_stage(
    http: &Http,
    creds: &Creds,
    job_id: &str,
    stage: &str,
    limit: Duration,
) -> Value {
    let deadline = std::time::Instant::now() + limit;
    loop {
        let job = http.get(&format!("/api/jobs/{job_id}"), creds).await.json();
        if job["stage"] == stage || FINISHED.contains(&job["state"].as_str().unwrap_or("")) {
            return job;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "job {job_id} did not reach {stage} within {limit:?}: {job}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A `vira worker` process; killed when dropped.
pub struct WorkerProcess {
    child: tokio::process::Child,
    pub work_dir: tempfile::TempDir,
}

impl WorkerProcess {
    /// `vira worker` against the jobs API of `base` (`http://host:port`) with `credential`.
    pub fn start(base: &str, credential: &str, extra: &[&str]) -> WorkerProcess {
        let work_dir = tempfile::TempDir::new().unwrap();
        let child = tokio::process::Command::new(env!("CARGO_BIN_EXE_vira"))
            .arg("worker")
            .args(["--jobs-api-url", &format!("{base}/jobs-api")])
            .args(["--poll-interval", "1", "--ping-interval", "1"])
            .arg("--work-dir")
            .arg(work_dir.path())
            .args(extra)
            .env("VIRA_CREDENTIAL", credential)
            .env(
                "VIRA_LOG",
                std::env::var("VIRA_TEST_WORKER_LOG").unwrap_or("warn".into()),
            )
            .stdin(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("spawn vira worker");
        WorkerProcess { child, work_dir }
    }

    pub fn pid(&self) -> u32 {
        self.child.id().expect("running worker")
    }

    /// Send a signal (`TERM`, `KILL`) to the worker.
    pub fn signal(&self, signal: &str) {
        let status = std::process::Command::new("kill")
            .args([&format!("-{signal}"), &self.pid().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// Wait for the worker to exit, at most `limit`; its exit status.
    pub async fn exit(&mut self, limit: Duration) -> Option<std::process::ExitStatus> {
        tokio::time::timeout(limit, self.child.wait())
            .await
            .ok()?
            .ok()
    }

    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }
}

/// A `bowtie2` for `--bowtie2` that behaves as Debian's but holds the isolate pass (`-k 100`,
/// step `map_isolates`) open for `seconds` after bowtie2 is done, with a child process of its own:
/// a long tool run to cancel, signal or kill. It writes its process group id to `<dir>/pgid`.
pub fn slow_bowtie2(dir: &Path, seconds: u32) -> std::path::PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let path = dir.join("bowtie2");
    let pgid = dir.join("pgid");
    let script = format!(
        "#!/bin/sh\n\
         case \" $* \" in\n\
         *\" -k 100 \"*)\n\
           ps -o pgid= $$ | tr -d ' ' > {pgid}\n\
           bowtie2 \"$@\" || exit $?\n\
           sleep {seconds} &\n\
           wait\n\
           ;;\n\
         *) exec bowtie2 \"$@\" ;;\n\
         esac\n",
        pgid = pgid.display()
    );
    std::fs::write(&path, script).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

/// The processes of process group `pgid` that still exist.
pub fn group_members(pgid: u32) -> Vec<u32> {
    let mut members = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        // Fields after the command's closing parenthesis: state, ppid, pgrp, …
        let Some(rest) = stat.rsplit_once(')').map(|(_, rest)| rest) else {
            continue;
        };
        let fields: Vec<&str> = rest.split_whitespace().collect();
        if fields.get(2).and_then(|g| g.parse::<u32>().ok()) == Some(pgid) && fields[0] != "Z" {
            members.push(pid);
        }
    }
    members
}
