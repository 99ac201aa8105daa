//! The start-up cleanup pass: leftover temporary objects, and stored objects without a record
//! (an upload interrupted between commit and insert, or a delete whose file removal failed).
//!
//! Uploads hold a lock on their object until it is recorded, so the sweep removes only objects
//! whose writer is gone — safe even while other instances share the data path.

use crate::app::App;
use crate::db;
use crate::files::analysis_file_key;

pub struct Swept {
    pub temp_objects: usize,
    pub orphan_objects: usize,
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
