//! The cleanup pass, at start-up and every `--sweep-interval`: leftover temporary objects
//! (abandoned uploads), and stored objects without a record (an upload interrupted between commit
//! and insert, or a delete whose file removal failed).
//!
//! Local uploads hold a lock on their object until it is recorded; on an object store, uploads
//! keep a marker fresh instead and only objects older than `--stale-upload-secs` are looked at
//! (`files::s3`). Either way the sweep removes only objects whose writer is gone — safe while
//! other instances share the storage.

use std::time::Duration;

use crate::app::App;
use crate::db;
use crate::files::analysis_file_key;

pub struct Swept {
    pub temp_objects: usize,
    pub orphan_objects: usize,
}

impl Swept {
    pub fn log(&self) {
        if self.temp_objects + self.orphan_objects > 0 {
            tracing::info!(
                temp_objects = self.temp_objects,
                orphan_objects = self.orphan_objects,
                "removed leftover objects"
            );
        }
    }
}

/// Sweep every `--sweep-interval` seconds until `stop` (the first sweep ran at start-up).
pub async fn every_interval(
    app: crate::app::AppState,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    let every = Duration::from_secs(app.config.sweep_interval);
    loop {
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = stop.wait_for(|stop| *stop) => return,
        }
        match run(&app).await {
            Ok(swept) => swept.log(),
            Err(e) => tracing::warn!(error = %e, "the sweep of leftover objects failed"),
        }
        fill_missing_brotli(&app).await;
    }
}

/// Make the brotli copies that are missing (`ops::results::fill_missing_brotli`), logging the
/// outcome.
pub async fn fill_missing_brotli(app: &crate::app::AppState) {
    match super::results::fill_missing_brotli(app).await {
        Ok(0) => {}
        Ok(made) => tracing::info!(made, "made missing brotli copies of results"),
        Err(e) => tracing::warn!(error = %e.message, "making missing brotli copies failed"),
    }
}

pub async fn run(app: &App) -> anyhow::Result<Swept> {
    let temp_objects = app.files.clean_temp().await?;
    let mut orphan_objects = 0;
    for (analysis_id, names) in app.files.analysis_objects().await? {
        for name in names {
            let key = analysis_file_key(&analysis_id, &name);
            let Some(_lock) = app.files.try_claim(&key).await? else {
                continue;
            };
            // Checked while holding the lock: an upload releases it only after its record exists.
            if !db::files::names_on_disk(&app.db, &analysis_id)
                .await?
                .contains(&name)
            {
                app.files.remove(&key).await?;
                orphan_objects += 1;
            }
        }
        if db::analyses::get_core(&app.db, &analysis_id)
            .await?
            .is_none()
        {
            app.files.prune_analysis(&analysis_id).await;
        }
    }
    Ok(Swept {
        temp_objects,
        orphan_objects,
    })
}
