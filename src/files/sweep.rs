//! The start-up cleanup pass: leftover temporary objects, and stored objects without a record
//! (an upload interrupted between commit and insert, or a delete whose file removal failed).
//!
//! With SQLite only one instance uses the data path, so everything left over is garbage. With
//! PostgreSQL other instances may be in the middle of an upload right now, so only objects that
//! nobody has written to for `SHARED_GRACE` are removed.

use std::time::Duration;

use crate::app::App;
use crate::db::{self, Dialect};

pub const SHARED_GRACE: Duration = Duration::from_secs(600);

pub struct Swept {
    pub temp_objects: usize,
    pub orphan_objects: usize,
}

pub async fn run(app: &App) -> anyhow::Result<Swept> {
    let grace = match app.db.dialect() {
        Dialect::Sqlite => Duration::ZERO,
        Dialect::Postgres => SHARED_GRACE,
    };
    let temp_objects = app.files.clean_temp(grace).await?;
    let mut orphan_objects = 0;
    for (analysis_id, stale) in app.files.stale_analysis_objects(grace).await? {
        if stale.is_empty() {
            continue;
        }
        let known = db::files::names_on_disk(&app.db, &analysis_id).await?;
        for name in stale.iter().filter(|name| !known.contains(name)) {
            app.files
                .remove(&crate::files::analysis_file_key(&analysis_id, name))
                .await?;
            orphan_objects += 1;
        }
        if known.is_empty()
            && db::analyses::get_core(&app.db, &analysis_id)
                .await?
                .is_none()
        {
            app.files.remove_analysis(&analysis_id).await?;
        }
    }
    Ok(Swept {
        temp_objects,
        orphan_objects,
    })
}
