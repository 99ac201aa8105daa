//! The worker's steps of `create_subtraction` (workflows §10.2).

use serde_json::{json, Value};

use super::UPLOADS;
use crate::reads::check_genome;
use crate::worker::job::{
    arg, blocking, check_failure, work_dir_failure, JobContext, JobFailure, StepResult,
};

const STEPS: usize = 4;

pub async fn run(ctx: &JobContext) -> StepResult<()> {
    let subtraction_id = arg(&ctx.job.args, "subtraction_id")?.to_owned();
    let upload = &ctx.job.args["files"][0];
    let (Some(upload_id), Some(upload_name)) = (upload["id"].as_i64(), upload["name"].as_str())
    else {
        return Err(JobFailure::error(
            "InvalidJob",
            vec!["the job's args.files name no upload".to_owned()],
        ));
    };
    let upload_name = upload_name.to_owned();
    let subtraction = format!("/subtractions/{subtraction_id}");
    let _record: Value = ctx.api.get(&ctx.job, &subtraction).await?;
    let genome_upload = ctx.path("upload_1");
    ctx.api
        .download(&ctx.job, &format!("/uploads/{upload_id}"), &genome_upload)
        .await?;

    ctx.step(
        0,
        STEPS,
        "decompress",
        "Decompress FASTA",
        "Ensure the input FASTA data is decompressed.",
    )
    .await?;
    let fasta = ctx.path("subtraction.fa");
    let genome = {
        let fasta = fasta.clone();
        blocking(move || {
            let input = std::fs::File::open(&genome_upload).map_err(work_dir_failure)?;
            let output = std::io::BufWriter::with_capacity(
                256 << 10,
                std::fs::File::create(&fasta).map_err(work_dir_failure)?,
            );
            check_genome(&upload_name, input, output).map_err(check_failure)
        })
        .await?
    };

    ctx.step(
        1,
        STEPS,
        "compute_gc_and_count",
        "Compute GC and Count",
        "Compute the GC content and the number of sequences.",
    )
    .await?;

    ctx.step(
        2,
        STEPS,
        "build_index",
        "Build Index",
        "Build a Bowtie2 index.",
    )
    .await?;
    let build = ctx
        .tool(&ctx.settings.tools.bowtie2_build)
        .args(["-f", "--threads"])
        .arg(ctx.settings.threads.to_string())
        .args(["subtraction.fa", "subtraction"]);
    ctx.run(&build).await?;
    if !ctx.path("subtraction.1.bt2").exists() && ctx.path("subtraction.1.bt2l").exists() {
        return Err(JobFailure::error(
            "GenomeTooLarge",
            vec![
                "the host genome needs a large bowtie2 index (.bt2l), which vira does not support"
                    .to_owned(),
            ],
        ));
    }

    ctx.step(
        3,
        STEPS,
        "finalize",
        "Finalize",
        "Compress and store the subtraction data.",
    )
    .await?;
    ctx.gzip("subtraction.fa").await?;
    ctx.put_files(&format!("{subtraction}/files"), &UPLOADS)
        .await?;
    let gc = serde_json::to_value(genome.gc)
        .map_err(|e| JobFailure::error("WorkerError", vec![e.to_string()]))?;
    ctx.api
        .patch(
            &ctx.job,
            &subtraction,
            &json!({"gc": gc, "count": genome.count}),
        )
        .await?;
    Ok(())
}
