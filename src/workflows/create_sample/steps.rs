//! The worker's steps of `create_sample` (workflows §10.1).

use std::io::Write;

use serde_json::{json, Value};
use tokio_util::task::AbortOnDropHandle;

use super::reads_file;
use crate::reads::{check_reads_file, check_reads_pair, CheckError, ReadsFile};
use crate::worker::client::Download;
use crate::worker::job::{arg, blocking, check_failure, JobContext, JobFailure, StepResult};
use crate::worker::pipe::{pipe, PipeReader, PipeWriter};

const STEPS: usize = 2;

/// One upload of the job's `args.files`: its id and the name its messages quote.
struct Upload {
    id: i64,
    name: String,
}

fn uploads(args: &Value) -> StepResult<Vec<Upload>> {
    let files = args["files"].as_array().ok_or_else(invalid)?;
    let uploads = files
        .iter()
        .map(|f| {
            Some(Upload {
                id: f["id"].as_i64()?,
                name: f["name"].as_str()?.to_owned(),
            })
        })
        .collect::<Option<Vec<_>>>()
        .ok_or_else(invalid)?;
    if uploads.is_empty() || uploads.len() > 2 {
        return Err(invalid());
    }
    Ok(uploads)
}

fn invalid() -> JobFailure {
    JobFailure::error(
        "InvalidJob",
        vec!["the job's args.files are not 1 or 2 uploads".to_owned()],
    )
}

pub async fn run(ctx: &JobContext) -> StepResult<()> {
    let sample_id = arg(&ctx.job.args, "sample_id")?.to_owned();
    let uploads = uploads(&ctx.job.args)?;
    let _sample: Value = ctx
        .api
        .get(&ctx.job, &format!("/samples/{sample_id}"))
        .await?;
    // J16 of each upload is answered while preparing; the bodies stream into the check.
    let mut downloads = Vec::new();
    for upload in &uploads {
        let path = format!("/uploads/{}", upload.id);
        downloads.push(ctx.api.open_download(&ctx.job, &path).await?);
    }

    ctx.step(
        0,
        STEPS,
        "check_reads",
        "Check Reads",
        "Check the uploaded FASTQ files and compute their quality.",
    )
    .await?;
    tokio::select! {
        stored = check_and_store(ctx, &sample_id, uploads, downloads) => stored,
        // Dropping the pipeline cuts its requests off; the check stops at its next chunk.
        () = ctx.stop.cancelled() => Err(JobFailure::Stopped),
    }
}

/// One pass over each upload, as a pipeline: its download feeds the check, and the stored form
/// the check writes (`reads_<n>.fq.gz`) feeds its J15 as it is made. The uploads end only once
/// the check succeeded (step `store_reads`), so bad reads store nothing: their J15s are cut off.
async fn check_and_store(
    ctx: &JobContext,
    sample_id: &str,
    uploads: Vec<Upload>,
    downloads: Vec<Download>,
) -> StepResult<()> {
    let mut inputs = Vec::new();
    let mut fetching = Vec::new();
    for download in downloads {
        let (input, reader) = pipe();
        fetching.push(AbortOnDropHandle::new(tokio::spawn(
            download.into_pipe(input),
        )));
        inputs.push(reader);
    }
    let mut outputs = Vec::new();
    let mut storing = Vec::new();
    for n in 1..=uploads.len() {
        let name = reads_file(n);
        let (output, upload) =
            ctx.put_streamed(&format!("/samples/{sample_id}/reads/{name}"), &name);
        outputs.push(ToUpload(Some(output)));
        storing.push(upload);
    }
    let names: Vec<String> = uploads.into_iter().map(|u| u.name).collect();
    let (checked, outputs) = blocking(move || {
        let mut outputs = outputs;
        Ok((check(&names, inputs, &mut outputs), outputs))
    })
    .await?;
    let quality = match checked {
        Ok(quality) => quality,
        // An input that stopped early is its download's failure.
        Err(CheckError::Io(error)) => {
            for fetched in fetching {
                fetched
                    .await
                    .map_err(|e| JobFailure::error("WorkerError", vec![e.to_string()]))??;
            }
            return Err(check_failure(CheckError::Io(error)));
        }
        Err(invalid) => return Err(check_failure(invalid)),
    };

    ctx.step(
        1,
        STEPS,
        "store_reads",
        "Store Reads",
        "Compress the reads if needed and store them with the sample.",
    )
    .await?;
    for output in outputs {
        output.finish();
    }
    for upload in storing {
        upload.answer().await?;
    }
    ctx.api
        .patch(
            &ctx.job,
            &format!("/samples/{sample_id}"),
            &json!({ "quality": quality }),
        )
        .await?;
    Ok(())
}

/// The stored form on its way to its upload. Once the upload has ended early (the server refused
/// it, the connection broke), the rest goes nowhere: the check still reads the file to its end,
/// so bad reads are reported before the upload's failure, as when the steps ran one after the
/// other.
struct ToUpload(Option<PipeWriter>);

impl ToUpload {
    fn finish(self) {
        if let Some(pipe) = self.0 {
            pipe.finish();
        }
    }
}

impl Write for ToUpload {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        if let Some(pipe) = &mut self.0 {
            match pipe.write(data) {
                Ok(n) => return Ok(n),
                Err(_) => self.0 = None,
            }
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Check the uploads (one pass each, writing `reads_<n>.fq.gz` as they are read); the `quality`
/// of the file or of the pair.
fn check(
    names: &[String],
    inputs: Vec<PipeReader>,
    outputs: &mut [ToUpload],
) -> Result<Value, CheckError> {
    let mut files = names
        .iter()
        .zip(inputs)
        .zip(outputs)
        .map(|((name, input), output)| ReadsFile::storing(name, input, output));
    match (files.next(), files.next()) {
        (Some(one), None) => check_reads_file(one).map(|q| q.to_json()),
        (Some(first), Some(second)) => {
            check_reads_pair(first, second).map(|[_, _, both]| both.to_json())
        }
        (None, _) => unreachable!("a job has 1 or 2 uploads"),
    }
}
