//! BLAST of NuVs contigs (spec/blast.md): two backends behind one worker.
//!
//! The backends and their replies live here; a record is submitted inside the PUT (bounded by
//! `--blast-submit-timeout`) and then followed by the worker in `ops::blast`, whose single step
//! `poll_due_once` tests call directly.

pub mod local;
pub mod local_reply;
pub mod ncbi;
pub mod ncbi_reply;
pub mod transform;

use crate::config::{BlastBackendKind, ServeConfig};
use crate::model::time::Micros;

/// Why a backend call did not produce a result.
#[derive(Debug, Clone, PartialEq)]
pub enum Failure {
    /// Try again when the record is next due.
    Transient(String),
    /// The record fails with this error.
    Permanent(String),
}

pub enum Backend {
    Ncbi(ncbi::Ncbi),
    Local(local::Local),
}

impl Backend {
    pub fn name(&self) -> &'static str {
        match self {
            Backend::Ncbi(_) => "ncbi",
            Backend::Local(_) => "local",
        }
    }
}

/// The BLAST part of the application: backend, schedule settings and this instance's lease id.
pub struct Blast {
    pub backend: Backend,
    pub instance_id: String,
    pub submit_timeout_secs: u64,
    pub timeout_secs: u64,
    pub max_interval_secs: i64,
    /// How long a claim lasts without renewal, microseconds.
    pub lease: Micros,
    /// Woken when a PUT leaves work for the worker.
    pub wake: tokio::sync::Notify,
}

impl Blast {
    pub fn from_config(config: &ServeConfig) -> anyhow::Result<Blast> {
        let backend = match config.blast_backend {
            BlastBackendKind::Ncbi => Backend::Ncbi(ncbi::Ncbi::new(
                &config.ncbi_blast_url,
                &config.ncbi_database,
                config.ncbi_email.as_deref(),
            )?),
            BlastBackendKind::Local => {
                let Some(db) = &config.blast_db else {
                    anyhow::bail!("--blast-db is required with --blast-backend local");
                };
                Backend::Local(local::Local::new(
                    &config.blastn,
                    db,
                    config.blast_threads,
                    config.blast_local_concurrency,
                ))
            }
        };
        Ok(Blast {
            backend,
            instance_id: crate::model::ids::new_id(),
            submit_timeout_secs: config.blast_submit_timeout,
            timeout_secs: config.blast_timeout,
            max_interval_secs: config.blast_max_interval as i64,
            lease: config.blast_lease as i64 * 1_000_000,
            wake: tokio::sync::Notify::new(),
        })
    }

    /// `min(interval + 5, --blast-max-interval)` (spec/blast.md §4.2).
    pub fn next_interval(&self, interval: i64) -> i64 {
        (interval + 5).min(self.max_interval_secs.max(1))
    }

    pub fn timed_out(&self) -> String {
        local_reply::timed_out(self.timeout_secs)
    }
}
