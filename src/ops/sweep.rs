//! The cleanup pass, at start-up and every `--sweep-interval`: leftover temporary objects
//! (abandoned uploads), and stored objects without a record — analysis files, uploads, samples'
//! reads, index and subtraction files (an upload interrupted between commit and insert, or a
//! delete whose file removal failed).
//!
//! Local uploads hold a lock on their object until it is recorded; on an object store, uploads
//! keep a marker fresh instead and only objects older than `--stale-upload-secs` are looked at
//! (`files::s3`). Either way the sweep removes only objects whose writer is gone — safe while
//! other instances share the storage.

use std::time::Duration;

use crate::app::App;
use crate::db::stored_objects::{self, Owner};
use crate::files::upload_key;
use crate::model::stores::OTUS_FILE;

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
    for owner in Owner::ALL {
        orphan_objects += sweep_owned(app, owner).await?;
    }
    for name in app.files.upload_objects().await? {
        let key = upload_key(&name);
        let Some(_lock) = app.files.try_claim(&key).await? else {
            continue;
        };
        if !stored_objects::upload_is_live(&app.db, &name).await? {
            app.files.remove(&key).await?;
            orphan_objects += 1;
        }
    }
    Ok(Swept {
        temp_objects,
        orphan_objects,
    })
}

/// Remove the objects under `owner`'s folder that no record names; prune the folders of owners
/// that are gone. Returns how many objects were removed.
async fn sweep_owned(app: &App, owner: Owner) -> anyhow::Result<usize> {
    let folder = owner.folder();
    let mut removed = 0;
    for (owner_id, names) in app.files.owned_objects(folder).await? {
        for name in names {
            let key = format!("{folder}/{owner_id}/{name}");
            let Some(_lock) = app.files.try_claim(&key).await? else {
                continue;
            };
            // Checked while holding the lock: an upload releases it only after its record exists.
            if !is_recorded(app, owner, &owner_id, &name).await? {
                app.files.remove(&key).await?;
                removed += 1;
            }
        }
        if !stored_objects::owner_exists(&app.db, owner, &owner_id).await? {
            app.files.prune_owner(folder, &owner_id).await;
        }
    }
    Ok(removed)
}

async fn is_recorded(app: &App, owner: Owner, owner_id: &str, name: &str) -> anyhow::Result<bool> {
    // An index's OTUs file is made on demand and kept without a record (J18).
    if owner == Owner::Index && name == OTUS_FILE {
        return Ok(stored_objects::owner_exists(&app.db, owner, owner_id).await?);
    }
    let names = stored_objects::recorded_names(&app.db, owner, owner_id).await?;
    Ok(names.iter().any(|recorded| recorded == name))
}
