//! The worker's steps of `build_index` (workflows §10.3).

use std::path::Path;

use serde_json::{json, Value};

use super::{reference_export, write_default_isolates, ProcessError, UPLOADS};
use crate::worker::job::{arg, blocking, work_dir_failure, JobContext, JobFailure, StepResult};
use crate::workflows::gzip_writer;

const STEPS: usize = 3;

pub async fn run(ctx: &JobContext) -> StepResult<()> {
    let index_id = arg(&ctx.job.args, "index_id")?;
    let index: Value = ctx
        .api
        .get(&ctx.job, &format!("/indexes/{index_id}"))
        .await?;
    let data_type = index["reference"]["data_type"]
        .as_str()
        .unwrap_or("genome")
        .to_owned();
    let files = format!("/indexes/{index_id}/files");
    ctx.api
        .download(
            &ctx.job,
            &format!("{files}/otus.json.gz"),
            &ctx.path("otus.json.gz"),
        )
        .await?;

    ctx.step(
        0,
        STEPS,
        "process_otus",
        "Process OTUs",
        "Create a FASTA file and exportable JSON from the index OTUs.",
    )
    .await?;
    let dir = ctx.dir.clone();
    blocking(move || process_otus(&dir, &data_type)).await?;

    ctx.step(
        1,
        STEPS,
        "bowtie_build",
        "Bowtie Build",
        "Build a Bowtie2 mapping index for the reference.",
    )
    .await?;
    let build = ctx
        .tool(&ctx.settings.tools.bowtie2_build)
        .arg("--threads")
        .arg(ctx.settings.threads.to_string())
        .args(["reference.fa", "reference"]);
    ctx.run(&build).await?;

    ctx.step(
        2,
        STEPS,
        "finalize",
        "Finalize",
        "Compress and save the new reference index files.",
    )
    .await?;
    ctx.gzip("reference.fa").await?;
    ctx.put_files(&files, &UPLOADS).await?;
    ctx.api
        .patch(&ctx.job, &format!("/indexes/{index_id}"), &json!({}))
        .await?;
    Ok(())
}

/// `reference.fa` and `reference.json.gz` from `otus.json.gz`.
fn process_otus(dir: &Path, data_type: &str) -> StepResult<()> {
    let file = std::fs::File::open(dir.join("otus.json.gz")).map_err(work_dir_failure)?;
    let otus: Vec<Value> = serde_json::from_reader(std::io::BufReader::new(
        flate2::read::MultiGzDecoder::new(file),
    ))
    .map_err(|e| JobFailure::error("InvalidIndex", vec![format!("otus.json.gz: {e}")]))?;
    let mut fasta = std::io::BufWriter::new(
        std::fs::File::create(dir.join("reference.fa")).map_err(work_dir_failure)?,
    );
    write_default_isolates(&otus, &mut fasta).map_err(process_failure)?;
    std::io::Write::flush(&mut fasta).map_err(work_dir_failure)?;
    let export = reference_export(&otus, data_type).map_err(process_failure)?;
    let mut json = gzip_writer(
        std::fs::File::create(dir.join("reference.json.gz")).map_err(work_dir_failure)?,
    );
    serde_json::to_writer(&mut json, &export)
        .map_err(|e| work_dir_failure(std::io::Error::other(e)))?;
    json.finish().map_err(work_dir_failure)?;
    Ok(())
}

fn process_failure(error: ProcessError) -> JobFailure {
    match error {
        ProcessError::Empty => JobFailure::error("EmptyIndex", vec![error.to_string()]),
        ProcessError::Malformed(_) => JobFailure::error("InvalidIndex", vec![error.to_string()]),
        ProcessError::Io(e) => work_dir_failure(e),
    }
}
