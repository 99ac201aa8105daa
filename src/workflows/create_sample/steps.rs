//! The worker's steps of `create_sample` (workflows §10.1).

use std::path::PathBuf;

use serde_json::{json, Value};

use super::reads_file;
use crate::reads::{check_reads_file, check_reads_pair, ReadsFile};
use crate::worker::job::{
    arg, blocking, check_failure, work_dir_failure, JobContext, JobFailure, StepResult,
};

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
    let mut inputs = Vec::new();
    for (n, upload) in uploads.iter().enumerate() {
        let dest = ctx.path(&format!("upload_{}", n + 1));
        ctx.api
            .download(&ctx.job, &format!("/uploads/{}", upload.id), &dest)
            .await?;
        inputs.push(dest);
    }

    ctx.step(
        0,
        STEPS,
        "check_reads",
        "Check Reads",
        "Check the uploaded FASTQ files and compute their quality.",
    )
    .await?;
    let names: Vec<String> = uploads.into_iter().map(|u| u.name).collect();
    let stored: Vec<PathBuf> = (1..=inputs.len())
        .map(|n| ctx.path(&reads_file(n)))
        .collect();
    let quality = {
        let stored = stored.clone();
        blocking(move || check(&names, &inputs, &stored)).await?
    };

    ctx.step(
        1,
        STEPS,
        "store_reads",
        "Store Reads",
        "Compress the reads if needed and store them with the sample.",
    )
    .await?;
    let names: Vec<String> = (1..=stored.len()).map(reads_file).collect();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    ctx.put_files(&format!("/samples/{sample_id}/reads"), &names)
        .await?;
    ctx.api
        .patch(
            &ctx.job,
            &format!("/samples/{sample_id}"),
            &json!({ "quality": quality }),
        )
        .await?;
    Ok(())
}

/// Check the uploads (one pass each, writing `reads_<n>.fq.gz` as they are read); the `quality`
/// of the file or of the pair.
fn check(names: &[String], inputs: &[PathBuf], stored: &[PathBuf]) -> StepResult<Value> {
    let open = |path: &PathBuf| std::fs::File::open(path).map_err(work_dir_failure);
    let create = |path: &PathBuf| {
        std::fs::File::create(path)
            .map(|f| std::io::BufWriter::with_capacity(256 << 10, f))
            .map_err(work_dir_failure)
    };
    let checked = match (inputs, stored, names) {
        ([one], [out], [name]) => {
            check_reads_file(ReadsFile::storing(name, open(one)?, create(out)?))
                .map(|q| q.to_json())
        }
        ([a, b], [out_a, out_b], [name_a, name_b]) => check_reads_pair(
            ReadsFile::storing(name_a, open(a)?, create(out_a)?),
            ReadsFile::storing(name_b, open(b)?, create(out_b)?),
        )
        .map(|[_, _, both]| both.to_json()),
        _ => return Err(invalid()),
    };
    checked.map_err(check_failure)
}
