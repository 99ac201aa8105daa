//! The application state shared by every handler: configuration, database, file store, BLAST.

use std::sync::Arc;

use crate::blast::Blast;
use crate::config::ServeConfig;
use crate::db::Db;
use crate::files::FileStore;

pub struct App {
    pub config: ServeConfig,
    pub db: Db,
    pub files: FileStore,
    pub blast: Blast,
}

pub type AppState = Arc<App>;

impl App {
    /// Connect the database (migrating it), open the file store, and remove leftover temporary objects.
    pub async fn build(config: ServeConfig) -> anyhow::Result<AppState> {
        std::fs::create_dir_all(&config.storage.data_path)?;
        let blast = Blast::from_config(&config)?;
        let db = Db::connect(
            &config.storage.database_url(),
            config.db_connections,
            std::time::Duration::from_secs(config.db_acquire_timeout),
        )
        .await?;
        let files = FileStore::local(&config.storage.data_path).await?;
        let removed = files.clean_temp().await?;
        if removed > 0 {
            tracing::info!(removed, "removed leftover temporary upload objects");
        }
        Ok(Arc::new(App {
            config,
            db,
            files,
            blast,
        }))
    }
}
