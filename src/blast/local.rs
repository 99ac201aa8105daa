//! The local BLAST+ backend (spec/blast.md §5): `blastn -outfmt 15` as a subprocess.

use std::process::Stdio;
use std::sync::Arc;

use tokio::io::AsyncWriteExt;
use tokio::process::Command;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::local_reply::{blastn_args, could_not_start, db_name, fasta_query, interpret_exit};

pub struct Local {
    blastn: String,
    db: String,
    db_name: String,
    threads: u32,
    slots: Arc<Semaphore>,
}

impl Local {
    pub fn new(blastn: &str, db: &str, threads: u32, concurrency: u32) -> Local {
        Local {
            blastn: blastn.to_owned(),
            db: db.to_owned(),
            db_name: db_name(db),
            threads,
            slots: Arc::new(Semaphore::new(concurrency.max(1) as usize)),
        }
    }

    /// A free search slot, if any.
    pub fn try_slot(&self) -> Option<OwnedSemaphorePermit> {
        self.slots.clone().try_acquire_owned().ok()
    }

    pub fn free_slots(&self) -> usize {
        self.slots.available_permits()
    }

    /// Run one search to its end. `Ok` holds the transformed result as JSON text, `Err` the
    /// record's error. The process is killed when the returned future is dropped (deadline,
    /// record gone).
    pub async fn run(&self, sequence_index: i64, sequence: &str) -> Result<String, String> {
        let mut child = Command::new(&self.blastn)
            .args(blastn_args(&self.db, self.threads))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| could_not_start(&e.to_string()))?;
        if let Some(mut stdin) = child.stdin.take() {
            let query = fasta_query(sequence_index, sequence);
            // A process that exits early closes its input; its exit status tells why.
            let _ = stdin.write_all(query.as_bytes()).await;
            drop(stdin);
        }
        let output = child
            .wait_with_output()
            .await
            .map_err(|e| could_not_start(&e.to_string()))?;
        let db_name = self.db_name.clone();
        let code = output.status.code();
        let result = tokio::task::spawn_blocking(move || {
            interpret_exit(code, &output.stdout, &output.stderr, &db_name)
        })
        .await
        .map_err(|e| e.to_string())??;
        serde_json::to_string(&result).map_err(|e| e.to_string())
    }
}
