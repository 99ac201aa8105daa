//! The table of figures (stdout) and the "Latest run" section of `BENCHMARKS.md`.

use std::path::Path;
use std::time::Duration;

use anyhow::{Context, Result};

use super::proc::Machine;

/// The line below which `BENCHMARKS.md` keeps hand-written notes across runs.
pub const NOTES_MARKER: &str = "<!-- notes -->";

/// The markers around the "Latest workflow run" section (`--workflows`), kept below the notes
/// marker so that a run of the other scenarios leaves it alone.
const WORKFLOWS_BEGIN: &str = "<!-- workflows -->";
const WORKFLOWS_END: &str = "<!-- /workflows -->";

/// What writes `BENCHMARKS.md` and what each run replaces.
const HEADER_LINE: &str = "Written by `cargo run --release --bin vira-bench -- --size all` (the \
    section \"Latest run\") and `-- --workflows` (the section \"Latest workflow run\", below the notes \
    marker); each replaces its own section on each run, other text below the notes marker is kept.";

/// One figure per database, its target (with a pass mark per database) and Virtool's figure
/// where one was measured.
pub struct Row {
    pub scenario: String,
    pub metric: String,
    /// The value and its pass mark, one per database of the run.
    pub values: Vec<(String, Option<bool>)>,
    pub target: String,
    pub virtool: String,
}

impl Row {
    /// What identifies a figure across databases: the scenario and the metric without the
    /// details in brackets (sample counts and body sizes may differ).
    fn key(&self) -> (String, String) {
        let metric = self.metric.split(" (").next().unwrap_or("").to_owned();
        (self.scenario.clone(), metric)
    }
}

/// A target: its text and whether the figure met it.
pub struct Check {
    pub text: String,
    pub pass: bool,
}

/// `value ≤ limit`.
pub fn at_most<T: PartialOrd>(value: T, limit: T, text: impl Into<String>) -> Option<Check> {
    Some(Check {
        text: format!("<= {}", text.into()),
        pass: value <= limit,
    })
}

/// `value ≥ limit`.
pub fn at_least<T: PartialOrd>(value: T, limit: T, text: impl Into<String>) -> Option<Check> {
    Some(Check {
        text: format!(">= {}", text.into()),
        pass: value >= limit,
    })
}

#[derive(Default)]
pub struct Report {
    /// The database of each value column.
    pub databases: Vec<String>,
    pub rows: Vec<Row>,
    pub notes: Vec<String>,
}

impl Report {
    pub fn add(
        &mut self,
        scenario: &str,
        metric: &str,
        value: String,
        check: Option<Check>,
        virtool: &str,
    ) {
        let (target, pass) = match check {
            Some(c) => (c.text, Some(c.pass)),
            None => (String::new(), None),
        };
        self.rows.push(Row {
            scenario: scenario.to_owned(),
            metric: metric.to_owned(),
            values: vec![(value, pass)],
            target,
            virtool: virtool.to_owned(),
        });
    }

    /// The figures of several runs (one per database) side by side, in the order of the first;
    /// a figure only some runs have gets `—` elsewhere.
    pub fn side_by_side(runs: Vec<(String, Report)>) -> Report {
        let mut merged = Report::default();
        let columns = runs.len();
        for (column, (database, report)) in runs.into_iter().enumerate() {
            merged.databases.push(database);
            for note in report.notes {
                if !merged.notes.contains(&note) {
                    merged.notes.push(note);
                }
            }
            for mut row in report.rows {
                let value = row.values.remove(0);
                let key = row.key();
                let at = merged.rows.iter().position(|r| r.key() == key);
                let target = match at {
                    Some(at) => &mut merged.rows[at],
                    None => {
                        row.values = vec![("—".into(), None); columns];
                        merged.rows.push(row);
                        merged.rows.last_mut().unwrap()
                    }
                };
                target.values[column] = value;
            }
        }
        merged
    }

    pub fn note(&mut self, text: impl Into<String>) {
        self.notes.push(text.into());
    }

    fn cells(&self) -> Vec<Vec<String>> {
        let mut header = vec!["Scenario".to_owned(), "Metric".to_owned()];
        header.extend(self.databases.iter().cloned());
        header.extend([
            "Target".to_owned(),
            "Pass".to_owned(),
            "Virtool (Python, 2026)".to_owned(),
        ]);
        let mut cells = vec![header];
        for row in &self.rows {
            let marks: Vec<&str> = row
                .values
                .iter()
                .map(|(_, pass)| match pass {
                    Some(true) => "ok",
                    Some(false) => "FAIL",
                    None => "",
                })
                .collect();
            let mark = if marks.iter().all(|m| m.is_empty()) {
                String::new()
            } else {
                marks
                    .iter()
                    .map(|m| if m.is_empty() { "—" } else { m })
                    .collect::<Vec<_>>()
                    .join(" / ")
            };
            let mut line = vec![row.scenario.clone(), row.metric.clone()];
            line.extend(row.values.iter().map(|(v, _)| v.clone()));
            line.extend([row.target.clone(), mark, row.virtool.clone()]);
            cells.push(line);
        }
        cells
    }

    /// The plain-text table printed on stdout.
    pub fn table(&self) -> String {
        let cells = self.cells();
        let mut widths = vec![0usize; cells[0].len()];
        for row in &cells {
            for (w, cell) in widths.iter_mut().zip(row) {
                *w = (*w).max(cell.chars().count());
            }
        }
        let mut out = String::new();
        for (i, row) in cells.iter().enumerate() {
            let line: Vec<String> = row
                .iter()
                .zip(&widths)
                .map(|(cell, &w)| format!("{cell:<w$}"))
                .collect();
            out.push_str(line.join("  ").trim_end());
            out.push('\n');
            if i == 0 {
                let rule: Vec<String> = widths.iter().map(|w| "-".repeat(*w)).collect();
                out.push_str(&rule.join("  "));
                out.push('\n');
            }
        }
        out
    }

    /// The same figures as a Markdown table.
    pub fn markdown_table(&self) -> String {
        let cells = self.cells();
        let mut out = String::new();
        for (i, row) in cells.iter().enumerate() {
            let escaped: Vec<String> = row.iter().map(|c| c.replace('|', "\\|")).collect();
            out.push_str(&format!("| {} |\n", escaped.join(" | ")));
            if i == 0 {
                let values = "---:|".repeat(self.databases.len());
                out.push_str(&format!("|---|---|{values}---|---|---|\n"));
            }
        }
        out
    }
}

/// What identifies a run in `BENCHMARKS.md`.
pub struct RunInfo<'a> {
    pub machine: &'a Machine,
    pub date: String,
    pub commit: String,
    pub command: String,
    pub load_before: String,
    pub load_after: String,
    pub wall: Duration,
}

/// The "Latest run" section.
pub fn latest_section(report: &Report, info: &RunInfo) -> String {
    let mut out = String::new();
    out.push_str("# vira benchmarks\n\n");
    out.push_str(HEADER_LINE);
    out.push_str("\n\n");
    out.push_str("## Latest run\n\n");
    out.push_str(&run_body(report, info));
    out.push('\n');
    out
}

/// A run's facts (date, commit, command, machine, load) and its table with the notes.
fn run_body(report: &Report, info: &RunInfo) -> String {
    let m = info.machine;
    let mut out = format!("- Date: {}\n", info.date);
    out.push_str(&format!("- Commit: {}\n", info.commit));
    out.push_str(&format!("- Command: `{}`\n", info.command));
    out.push_str(&format!(
        "- Machine: {} cores, {} memory, {}\n",
        m.cores,
        gib(m.mem_total),
        m.cpu_model
    ));
    out.push_str(&format!(
        "- Load average (1/5/15 min): {} before, {} after; wall time {:.0} s\n\n",
        info.load_before,
        info.load_after,
        info.wall.as_secs_f64()
    ));
    out.push_str(&report.markdown_table());
    if !report.notes.is_empty() {
        out.push('\n');
        for note in &report.notes {
            out.push_str(&format!("- {note}\n"));
        }
    }
    out
}

/// The "Latest workflow run" section, between its markers.
pub fn workflow_section(report: &Report, info: &RunInfo) -> String {
    let mut out = format!("{WORKFLOWS_BEGIN}\n## Latest workflow run\n\n");
    out.push_str(&run_body(report, info));
    out.push_str(&format!("{WORKFLOWS_END}\n"));
    out
}

/// Put `section` (from [`workflow_section`]) in place of the one `path` has, or right below the
/// notes marker, leaving everything else as it is.
pub fn write_workflow_section(path: &Path, section: &str) -> Result<()> {
    let old = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(e).with_context(|| format!("read {}", path.display())),
    };
    let begin = old.find(WORKFLOWS_BEGIN);
    let end = old.find(WORKFLOWS_END).map(|at| at + WORKFLOWS_END.len());
    let new = match (begin, end) {
        (Some(begin), Some(end)) if begin < end => {
            let rest = old[end..].strip_prefix('\n').unwrap_or(&old[end..]);
            format!("{}{section}{rest}", &old[..begin])
        }
        _ => match old.find(NOTES_MARKER) {
            Some(at) => {
                let after = at + NOTES_MARKER.len();
                let rest = old[after..].strip_prefix('\n').unwrap_or(&old[after..]);
                format!("{}\n\n{section}{rest}", &old[..after])
            }
            None => format!("{old}\n{NOTES_MARKER}\n\n{section}"),
        },
    };
    std::fs::write(path, new).with_context(|| format!("write {}", path.display()))
}

/// Replace everything above the notes marker of `path` with `section`, keeping the rest.
pub fn write_benchmarks(path: &Path, section: &str) -> Result<()> {
    let old = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(e).with_context(|| format!("read {}", path.display())),
    };
    let kept = match old.find(NOTES_MARKER) {
        Some(at) => old[at..].to_owned(),
        None => {
            format!("{NOTES_MARKER}\n\n## Notes\n\n(Profile notes go here; kept across runs.)\n")
        }
    };
    std::fs::write(path, format!("{section}{kept}"))
        .with_context(|| format!("write {}", path.display()))
}

/// Milliseconds below 10 s, seconds above.
pub fn ms(d: Duration) -> String {
    let ms = d.as_secs_f64() * 1000.0;
    if ms < 10.0 {
        format!("{ms:.2} ms")
    } else if ms < 10_000.0 {
        format!("{ms:.1} ms")
    } else {
        format!("{:.2} s", ms / 1000.0)
    }
}

/// Mebibytes (RSS and targets in "MB" are read as MiB).
pub fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / (1u64 << 20) as f64)
}

/// A body size in decimal units.
pub fn size(bytes: u64) -> String {
    match bytes {
        0..1_000 => format!("{bytes} B"),
        1_000..1_000_000 => format!("{:.1} kB", bytes as f64 / 1e3),
        _ => format!("{:.1} MB", bytes as f64 / 1e6),
    }
}

pub fn gib(bytes: u64) -> String {
    format!("{:.1} GiB", bytes as f64 / (1u64 << 30) as f64)
}

/// Decimal megabytes per second.
pub fn mb_per_s(bytes: u64, d: Duration) -> f64 {
    bytes as f64 / 1e6 / d.as_secs_f64().max(1e-9)
}
