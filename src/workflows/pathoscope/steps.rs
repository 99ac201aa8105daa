//! The worker's steps of `pathoscope_bowtie` (workflows §10.4): bowtie2 and bowtie2-build run here;
//! their output goes line by line into the computation of this folder.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use reqwest::Method;
use serde_json::{json, Value};

use super::{
    reassign_and_report, rewrite_fastq, write_isolate_fasta, Alignments, CandidateScan,
    IsolateIndex, LineSink, PathoscopeOutput, Spill, SubtractionScores, P_SCORE_CUTOFF,
};
use crate::import::reference::ParsedOtu;
use crate::worker::job::{arg, blocking, work_dir_failure, JobContext, JobFailure, StepResult};

const STEPS: usize = 5;

/// The bowtie2 index files of a prefix (`reference`, `subtraction`).
const BOWTIE2_SUFFIXES: [&str; 6] = [
    ".1.bt2",
    ".2.bt2",
    ".3.bt2",
    ".4.bt2",
    ".rev.1.bt2",
    ".rev.2.bt2",
];

/// What the preparation gathered.
struct Inputs {
    analysis_id: String,
    /// The sample's reads files, in order (`reads_1.fq.gz`[, `reads_2.fq.gz`]).
    reads: Vec<PathBuf>,
    snapshot: Vec<ParsedOtu>,
    /// The directory of each subtraction with a genome, in J3's order.
    subtractions: Vec<PathBuf>,
}

pub async fn run(ctx: &JobContext) -> StepResult<()> {
    let mut inputs = prepare(ctx).await?;
    let output = compute(ctx, &mut inputs).await?;
    let report = ctx.path("report.tsv");
    tokio::fs::write(&report, output.report_tsv.as_bytes())
        .await
        .map_err(work_dir_failure)?;
    let analysis = format!("/analyses/{}", inputs.analysis_id);
    ctx.api
        .upload(
            &ctx.job,
            Method::POST,
            &format!("{analysis}/files?name=report.tsv&format=tsv"),
            &report,
            "report.tsv",
        )
        .await?;
    let results = serde_json::to_value(&output.results)
        .map_err(|e| JobFailure::error("WorkerError", vec![e.to_string()]))?;
    ctx.api
        .patch(&ctx.job, &analysis, &json!({ "results": results }))
        .await?;
    Ok(())
}

/// J3, J11, the reads (J14), the index (J17, J18) and the subtraction genomes (J22, J23).
async fn prepare(ctx: &JobContext) -> StepResult<Inputs> {
    let analysis_id = arg(&ctx.job.args, "analysis_id")?.to_owned();
    let analysis: Value = ctx
        .api
        .get(&ctx.job, &format!("/analyses/{analysis_id}"))
        .await?;
    let sample_id = analysis["sample"]["id"]
        .as_str()
        .or_else(|| ctx.job.args["sample_id"].as_str())
        .ok_or_else(|| invalid("the analysis names no sample"))?
        .to_owned();
    let index_id = analysis["index"]["id"]
        .as_str()
        .ok_or_else(|| invalid("the analysis names no index"))?
        .to_owned();
    let sample: Value = ctx
        .api
        .get(&ctx.job, &format!("/samples/{sample_id}"))
        .await?;
    let files: &[&str] = if sample["paired"] == Value::Bool(true) {
        &["reads_1.fq.gz", "reads_2.fq.gz"]
    } else {
        &["reads_1.fq.gz"]
    };
    let mut reads = Vec::new();
    for name in files {
        let dest = ctx.path(name);
        ctx.api
            .download(
                &ctx.job,
                &format!("/samples/{sample_id}/reads/{name}"),
                &dest,
            )
            .await?;
        reads.push(dest);
    }

    let _index: Value = ctx
        .api
        .get(&ctx.job, &format!("/indexes/{index_id}"))
        .await?;
    let index_dir = ctx.path("index");
    tokio::fs::create_dir_all(&index_dir)
        .await
        .map_err(work_dir_failure)?;
    let index_files = format!("/indexes/{index_id}/files");
    let otus = index_dir.join("otus.json.gz");
    ctx.api
        .download(&ctx.job, &format!("{index_files}/otus.json.gz"), &otus)
        .await?;
    for suffix in BOWTIE2_SUFFIXES {
        let name = format!("reference{suffix}");
        ctx.api
            .download(
                &ctx.job,
                &format!("{index_files}/{name}"),
                &index_dir.join(&name),
            )
            .await?;
    }
    let snapshot = blocking(move || read_snapshot(&otus)).await?;

    let mut subtractions = Vec::new();
    for listed in analysis["subtractions"].as_array().into_iter().flatten() {
        let Some(id) = listed["id"].as_str() else {
            continue;
        };
        let subtraction: Value = ctx
            .api
            .get(&ctx.job, &format!("/subtractions/{id}"))
            .await?;
        if subtraction["file"].is_null() {
            // A label: nothing to map to.
            continue;
        }
        let dir = ctx.path(&format!("subtraction-{}", subtractions.len()));
        tokio::fs::create_dir_all(&dir)
            .await
            .map_err(work_dir_failure)?;
        for suffix in BOWTIE2_SUFFIXES {
            let name = format!("subtraction{suffix}");
            ctx.api
                .download(
                    &ctx.job,
                    &format!("/subtractions/{id}/files/{name}"),
                    &dir.join(&name),
                )
                .await?;
        }
        subtractions.push(dir);
    }
    Ok(Inputs {
        analysis_id,
        reads,
        snapshot,
        subtractions,
    })
}

fn read_snapshot(otus: &Path) -> StepResult<Vec<ParsedOtu>> {
    let mut json = Vec::new();
    let file = std::fs::File::open(otus).map_err(work_dir_failure)?;
    std::io::Read::read_to_end(&mut flate2::read::MultiGzDecoder::new(file), &mut json)
        .map_err(work_dir_failure)?;
    crate::import::reference::parse_reference(&json)
        .map(|reference| reference.otus)
        .map_err(|e| invalid(&format!("otus.json.gz: {e}")))
}

fn invalid(message: &str) -> JobFailure {
    JobFailure::error("InvalidJob", vec![message.to_owned()])
}

/// The reads as bowtie2's `-U` takes them: the files joined by `,`.
fn reads_argument(reads: &[PathBuf]) -> OsString {
    let mut joined = OsString::new();
    for (i, path) in reads.iter().enumerate() {
        if i > 0 {
            joined.push(",");
        }
        joined.push(path);
    }
    joined
}

/// Feed each line of the tool's output to `sink`.
fn into(sink: &mut impl LineSink) -> impl FnMut(&[u8]) -> Result<(), String> + '_ {
    |line| sink.push_line(line).map_err(|e| e.to_string())
}

/// Steps 1 to 5.
async fn compute(ctx: &JobContext, inputs: &mut Inputs) -> StepResult<PathoscopeOutput> {
    let tools = &ctx.settings.tools;
    let threads = ctx.settings.threads.to_string();
    let reads = reads_argument(&inputs.reads);

    ctx.step(
        0,
        STEPS,
        "map_default_isolates",
        "Map Default Isolates",
        "Map sample reads to all default isolates to identify candidate OTUs.",
    )
    .await?;
    let mut scan = CandidateScan::new(P_SCORE_CUTOFF);
    let first_pass = ctx
        .tool(&tools.bowtie2)
        .args(["-p", &threads])
        .args(["--reorder", "--local", "--no-unal", "--no-hd", "--no-sq"])
        .args(["--score-min", "L,20,1.0", "-N", "0", "-L", "15"])
        .arg("-x")
        .arg(ctx.path("index").join("reference"))
        .arg("-U")
        .arg(&reads);
    ctx.run_with_lines(&first_pass, into(&mut scan)).await?;
    let candidates = scan.finish(&inputs.snapshot).map_err(tool_error)?;

    ctx.step(
        1,
        STEPS,
        "build_isolate_index",
        "Build Isolate Index",
        "Build a mapping index containing all isolates of candidate OTUs.",
    )
    .await?;
    if candidates.is_empty() {
        // A negative sample is a result: the remaining steps report and run nothing.
        for (step, stage, name, description) in LATER_STEPS {
            ctx.step(step, STEPS, stage, name, description).await?;
        }
        return Ok(PathoscopeOutput::empty(0));
    }
    let fasta = std::io::BufWriter::new(
        std::fs::File::create(ctx.path("isolates.fa")).map_err(work_dir_failure)?,
    );
    let isolate_index: IsolateIndex =
        write_isolate_fasta(&inputs.snapshot, &candidates, fasta).map_err(work_dir_failure)?;
    // The reference is not needed past here: its memory goes before the alignments come.
    inputs.snapshot = Vec::new();
    let build =
        ctx.tool(&tools.bowtie2_build)
            .args(["--threads", &threads, "isolates.fa", "isolates"]);
    ctx.run(&build).await?;

    let (step, stage, name, description) = LATER_STEPS[0];
    ctx.step(step, STEPS, stage, name, description).await?;
    let spill = Spill::new(ctx.path(""), ctx.settings.spill_memory);
    let mut alignments = Alignments::spilling(P_SCORE_CUTOFF, spill);
    let isolate_pass = ctx
        .tool(&tools.bowtie2)
        .args(["-p", &threads])
        .args(["--reorder", "--no-hd", "--no-sq", "--no-unal", "--local"])
        .args([
            "--score-min",
            "L,20,1.0",
            "-N",
            "0",
            "-L",
            "15",
            "-k",
            "100",
        ])
        .args(["--al", "isolate_mapped.fq", "-x", "isolates", "-U"])
        .arg(&reads);
    ctx.run_with_lines(&isolate_pass, into(&mut alignments))
        .await?;

    let (step, stage, name, description) = LATER_STEPS[1];
    ctx.step(step, STEPS, stage, name, description).await?;
    let subtracted_count = eliminate_subtraction(ctx, inputs, &mut alignments, &threads).await?;

    let (step, stage, name, description) = LATER_STEPS[2];
    ctx.step(step, STEPS, stage, name, description).await?;
    tokio::task::block_in_place(|| {
        reassign_and_report(&alignments, &isolate_index, subtracted_count)
    })
    .map_err(tool_error)
}

/// Steps 3 to 5: index, stage, name, description.
const LATER_STEPS: [(usize, &str, &str, &str); 3] = [
    (
        2,
        "map_isolates",
        "Map Isolates",
        "Map sample reads to the all isolate index.",
    ),
    (
        3,
        "eliminate_subtraction",
        "Eliminate Subtraction",
        "Remove reads that map better to a subtraction than to a reference.",
    ),
    (
        4,
        "reassignment",
        "Reassignment",
        "Run the Pathoscope reassignment algorithm.",
    ),
];

/// Step 4: each subtraction in turn on the reads still mapped; the reads subtracted in all.
async fn eliminate_subtraction(
    ctx: &JobContext,
    inputs: &Inputs,
    alignments: &mut Alignments,
    threads: &str,
) -> StepResult<u64> {
    let mut subtracted_count = 0;
    if inputs.subtractions.is_empty() {
        return Ok(0);
    }
    let current = ctx.path("current.fq");
    tokio::fs::copy(ctx.path("isolate_mapped.fq"), &current)
        .await
        .map_err(work_dir_failure)?;
    for dir in &inputs.subtractions {
        let mut scores = SubtractionScores::new(alignments);
        let pass = ctx
            .tool(&ctx.settings.tools.bowtie2)
            .args(["--local", "--no-unal", "--no-hd", "--no-sq", "-N", "0"])
            .args(["-p", threads, "--reorder", "-x"])
            .arg(dir.join("subtraction"))
            .arg("-U")
            .arg(&current);
        ctx.run_with_lines(&pass, into(&mut scores)).await?;
        let scores = scores.finish();
        let subtracted = tokio::task::block_in_place(|| alignments.eliminate(&scores))
            .map_err(work_dir_failure)?;
        subtracted_count += subtracted.count();
        let next = ctx.path("next.fq");
        let alignments: &Alignments = alignments;
        tokio::task::block_in_place(|| {
            let input = std::io::BufReader::new(std::fs::File::open(&current)?);
            let output = std::io::BufWriter::new(std::fs::File::create(&next)?);
            rewrite_fastq(input, output, alignments, &subtracted)
        })
        .map_err(work_dir_failure)?;
        tokio::fs::rename(&next, &current)
            .await
            .map_err(work_dir_failure)?;
    }
    Ok(subtracted_count)
}

fn tool_error(error: super::PathoscopeError) -> JobFailure {
    match error {
        super::PathoscopeError::Io(e) => work_dir_failure(e),
        other => JobFailure::error("ToolError", vec![other.to_string()]),
    }
}
