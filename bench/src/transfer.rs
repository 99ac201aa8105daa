//! U6 upload and U7 download of a large file, against `cat` of the same file; on local storage
//! and, with `--s3`, on the object store.

use std::path::Path;

use anyhow::{bail, Result};

use super::load::Api;
use super::measure;
use super::proc::PeakSampler;
use super::report::{at_least, at_most, mb_per_s, mib, Report};
use super::scenarios::{progress, MIB};

/// Which storage the server under test keeps files on: rows are named after it.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Storage {
    Local,
    S3,
}

/// U6 upload and U7 download of a 1 GiB file (`--quick`: 16 MiB) against `cat` of it. The 80 % of
/// `cat` goal is for local storage; on the store (a server of its own, writing to the same disk)
/// only the memory bound applies.
pub async fn run(
    api: &Api,
    pid: u32,
    quick: bool,
    analysis_id: &str,
    work: &Path,
    storage: Storage,
    report: &mut Report,
) -> Result<()> {
    let (size, label) = if quick {
        (16 * MIB, "16 MiB")
    } else {
        (1 << 30, "1 GiB")
    };
    let repeats = if quick { 1 } else { 2 };
    let path = work.join("transfer.bin");
    progress(&format!("transfer: generate {label}"));
    let gen_path = path.clone();
    tokio::task::spawn_blocking(move || measure::generate_file(&gen_path, size)).await??;
    measure::cat(&path)?; // page-cache warm, like the server's reads after the upload
    let cat = (0..repeats)
        .map(|_| measure::cat(&path))
        .collect::<Result<Vec<_>>>()?;
    let cat_rate = cat.iter().map(|d| mb_per_s(size, *d)).fold(0.0, f64::max);

    let (mut up_rate, mut up_growth, mut file_ids) = (0.0f64, 0u64, Vec::new());
    for i in 0..repeats {
        progress(&format!("transfer: upload {label} #{}", i + 1));
        let sampler = PeakSampler::start(pid)?;
        let before = sampler.before();
        let name = format!("transfer-{i}.bin");
        let (elapsed, id) = measure::upload(api, analysis_id, &path, &name).await?;
        up_growth = up_growth.max(sampler.finish().saturating_sub(before));
        up_rate = up_rate.max(mb_per_s(size, elapsed));
        file_ids.push(id);
    }
    let (mut down_rate, mut down_growth) = (0.0f64, 0u64);
    for (i, id) in file_ids.iter().enumerate() {
        progress(&format!("transfer: download {label} #{}", i + 1));
        let sampler = PeakSampler::start(pid)?;
        let before = sampler.before();
        let (elapsed, got) = measure::download(api, analysis_id, *id).await?;
        down_growth = down_growth.max(sampler.finish().saturating_sub(before));
        if got != size {
            bail!("downloaded {got} bytes of {size}");
        }
        down_rate = down_rate.max(mb_per_s(size, elapsed));
    }

    let best = format!("best of {repeats}");
    let goal = 0.8 * cat_rate;
    let goal_text = format!("{goal:.0} MB/s (80% of cat)");
    if storage == Storage::Local {
        let cat_name = format!("cat {label}");
        report.add(
            &cat_name,
            &format!("MB/s, page cache, {best}"),
            format!("{cat_rate:.0}"),
            None,
            "",
        );
    }
    for (dir, rate, growth) in [
        ("Upload", up_rate, up_growth),
        ("Download", down_rate, down_growth),
    ] {
        let name = match storage {
            Storage::Local => format!("{dir} {label}"),
            Storage::S3 => format!("{dir} {label} (S3)"),
        };
        let pct = 100.0 * rate / cat_rate;
        let check = match storage {
            Storage::Local => at_least(rate, goal, goal_text.clone()),
            Storage::S3 => None,
        };
        report.add(
            &name,
            &format!("MB/s, {best} ({pct:.0}% of cat)"),
            format!("{rate:.0}"),
            check,
            "",
        );
        let check = at_most(growth, 64 * MIB, "64 MiB");
        report.add(&name, "server RSS growth", mib(growth), check, "");
    }
    report.note(format!(
        "transfers: {label} of xorshift bytes; `cat FILE > /dev/null` is timed after a first read, so both \
         sides read from the page cache; MB = 10^6 bytes; RSS in MiB"
    ));
    std::fs::remove_file(&path)?;
    Ok(())
}
