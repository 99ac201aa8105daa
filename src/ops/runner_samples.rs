//! Samples on the jobs API (workflows §7.6, §8.1): the runner sample (J11), finalize (J12), and
//! the reads a `create_sample` job stores (J15) and any job in scope reads (J14). Each checks the
//! sample's existence (404) before the job's scope (403).

use std::sync::Arc;

use crate::app::App;
use crate::db;
use crate::db::sample_reads::{Finalize, InsertReads};
use crate::db::samples::SampleRow;
use crate::files::{sample_reads_key, Sink, Stored};
use crate::model::failure::{Failure, Outcome};
use crate::model::job_scope::Reach;
use crate::model::sample::READS_FILES;
use crate::model::time::now_micros;
use crate::model::views::{RunnerGroup, RunnerReads, RunnerSample};
use crate::ops::auth::JobAuth;
use crate::ops::job_scope;
use crate::ops::uploads::InProgress;

/// The sample, read afresh (jobs write it), after the 404 and the scope check.
async fn in_scope(app: &App, job: &JobAuth, sample_id: &str, reach: Reach) -> Outcome<SampleRow> {
    let sample = db::samples::get(&app.db, sample_id)
        .await?
        .ok_or_else(Failure::not_found)?;
    job_scope::require(app, job, reach, sample_id).await?;
    Ok(sample)
}

/// The runner sample of a sample row (workflows §8.1).
async fn runner_view(app: &App, sample: &SampleRow) -> Outcome<RunnerSample> {
    let group = match &sample.record.group {
        Some(id) => db::sample_reads::group(&app.db, id)
            .await?
            .map(|(id, name)| RunnerGroup {
                id,
                name,
                legacy_id: None,
            }),
        None => None,
    };
    let analyses = db::sample_reads::analysis_states(&app.db, &sample.record.id).await?;
    Ok(sample.record.runner_view(group, &analyses))
}

/// J11: 404 → 403 → the runner sample.
pub async fn get(app: &App, job: &JobAuth, sample_id: &str) -> Outcome<RunnerSample> {
    let sample = in_scope(app, job, sample_id, Reach::ReadSample).await?;
    runner_view(app, &sample).await
}

/// J12 after the body's checks: 404 → 403 → 409 `Sample already finalized` → 409 `Reads have
/// not been uploaded: …` → `quality` stored as given, `ready`, the uploads consumed (their
/// objects removed after the commit).
pub async fn finalize(
    app: &App,
    job: &JobAuth,
    sample_id: &str,
    quality: &str,
) -> Outcome<RunnerSample> {
    let sample = in_scope(app, job, sample_id, Reach::WriteSample).await?;
    let already = || Failure::conflict("Sample already finalized");
    if sample.record.ready {
        return Err(already());
    }
    let needed = if sample.record.paired { 2 } else { 1 };
    let missing: Vec<&str> = READS_FILES[..needed]
        .iter()
        .copied()
        .filter(|name| !sample.record.reads.iter().any(|r| r.name == *name))
        .collect();
    if !missing.is_empty() {
        return Err(Failure::conflict(format!(
            "Reads have not been uploaded: {}",
            missing.join(", ")
        )));
    }
    let outcome = db::sample_reads::finalize(
        &app.db,
        sample_id,
        quality,
        &sample.record.upload_ids,
        now_micros(),
    )
    .await?;
    match outcome {
        Finalize::Finalized(consumed) => {
            crate::ops::user_uploads::remove_consumed(app, &consumed).await
        }
        Finalize::SampleGone => return Err(Failure::not_found()),
        Finalize::AlreadyFinalized => return Err(already()),
    }
    let sample = db::samples::get(&app.db, sample_id)
        .await?
        .ok_or_else(Failure::not_found)?;
    runner_view(app, &sample).await
}

/// J14: 404 → 403 → 404 (another name, or not stored) → the stored reads file.
pub async fn reads(app: &App, job: &JobAuth, sample_id: &str, reads_file: &str) -> Outcome<Stored> {
    let sample = in_scope(app, job, sample_id, Reach::ReadSample).await?;
    crate::ops::samples::open_reads(app, &Arc::new(sample), reads_file).await
}

/// The message of J15 row 8.
pub const NOT_COMPRESSED: &str = "File is not compressed";

/// A sink that takes only gzip data: the first two bytes must be `1f 8b` (J15 row 8). Refused
/// content fails the write with `InvalidData`, which the multipart reader answers with 400.
pub struct GzipOnly<S> {
    inner: S,
    head: Vec<u8>,
}

impl<S: Sink + Send> Sink for GzipOnly<S> {
    fn size(&self) -> u64 {
        self.inner.size()
    }

    async fn write(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        if self.head.len() < 2 {
            let take = (2 - self.head.len()).min(bytes.len());
            self.head.extend_from_slice(&bytes[..take]);
            if !self.head.iter().zip([0x1f, 0x8b]).all(|(a, b)| *a == b) {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    NOT_COMPRESSED,
                ));
            }
        }
        self.inner.write(bytes).await
    }
}

impl<S> GzipOnly<S> {
    /// Whether the whole content began with the gzip magic bytes.
    pub fn is_gzip(&self) -> bool {
        self.head == [0x1f, 0x8b]
    }
}

/// A reads file being received (J15): checked, its object not yet visible.
pub struct PendingReads {
    sample_id: String,
    reads_file: String,
    job_id: String,
    pub sink: GzipOnly<crate::files::Upload>,
    _receiving: InProgress,
}

/// J15 before the body: 404 → 403 → 400 (not an accepted reads file) → 409 finalized → 409
/// already stored → an upload to `samples/<id>/<reads_file>`.
pub async fn begin_reads(
    app: &App,
    job: &JobAuth,
    sample_id: &str,
    reads_file: &str,
) -> Outcome<PendingReads> {
    let sample = in_scope(app, job, sample_id, Reach::WriteSample).await?;
    let accepted = match READS_FILES.iter().position(|n| *n == reads_file) {
        Some(0) => true,
        Some(_) => sample.record.paired,
        None => false,
    };
    if !accepted {
        return Err(Failure::bad_request(
            "File name is not an accepted reads file",
        ));
    }
    if sample.record.ready {
        return Err(Failure::conflict("Sample already finalized"));
    }
    if sample.record.reads.iter().any(|r| r.name == reads_file) {
        return Err(duplicate());
    }
    let sink = app
        .files
        .create_upload(&sample_reads_key(sample_id, reads_file))
        .await?;
    Ok(PendingReads {
        sample_id: sample_id.to_owned(),
        reads_file: reads_file.to_owned(),
        job_id: job.job_id.clone(),
        sink: GzipOnly {
            inner: sink,
            head: Vec::new(),
        },
        _receiving: InProgress::start("sample_reads"),
    })
}

fn duplicate() -> Failure {
    Failure::conflict("Reads file name is already uploaded for this sample")
}

/// J15 after the body: 400 unless it was gzip, then the object made visible and recorded
/// (`uploaded_by_job`); nothing is left when any step fails.
pub async fn finish_reads(app: &App, pending: PendingReads) -> Outcome<RunnerReads> {
    let PendingReads {
        sample_id,
        reads_file,
        job_id,
        sink,
        _receiving,
    } = pending;
    if !sink.is_gzip() {
        return Err(Failure::bad_request(NOT_COMPRESSED));
    }
    let committed = app.files.commit(sink.inner).await?;
    let size = committed.size as i64;
    let now = now_micros();
    let outcome =
        db::sample_reads::insert(&app.db, &sample_id, &reads_file, size, now, &job_id).await;
    drop(committed);
    let failure = match outcome {
        Ok(InsertReads::Inserted) => {
            let sample = db::samples::get(&app.db, &sample_id)
                .await?
                .ok_or_else(Failure::not_found)?;
            let reads = sample
                .record
                .reads
                .iter()
                .find(|r| r.name == reads_file)
                .ok_or_else(Failure::not_found)?;
            return Ok(sample.record.runner_reads(reads));
        }
        // The winner's object is under the same key: it stays.
        Ok(InsertReads::Duplicate) => return Err(duplicate()),
        Ok(InsertReads::SampleGone) => Failure::not_found(),
        Ok(InsertReads::Finalized) => Failure::conflict("Sample already finalized"),
        Err(e) => e.into(),
    };
    let key = sample_reads_key(&sample_id, &reads_file);
    if let Err(e) = app.files.remove(&key).await {
        tracing::error!(key, error = %e, "could not remove an uncommitted reads file");
    }
    Err(failure)
}
