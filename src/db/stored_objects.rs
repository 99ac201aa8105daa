//! What the records say is stored, for the sweep of leftover objects (`ops::sweep`): the names
//! recorded under an owner's folder, and whether the owner still exists.

use super::{Db, DbResult};

/// The owners of object folders (`<folder>/<owner id>/<name>`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Owner {
    Analysis,
    Sample,
    Index,
    Subtraction,
}

impl Owner {
    pub const ALL: [Owner; 4] = [
        Owner::Analysis,
        Owner::Sample,
        Owner::Index,
        Owner::Subtraction,
    ];

    /// The folder of the owner's objects in the file store, also the name of the owners' table.
    pub fn folder(self) -> &'static str {
        match self {
            Owner::Analysis => "analyses",
            Owner::Sample => "samples",
            Owner::Index => "indexes",
            Owner::Subtraction => "subtractions",
        }
    }

    /// The query of the names recorded for one owner (each a name under its folder).
    fn names_query(self) -> &'static str {
        match self {
            Owner::Analysis => "SELECT name_on_disk FROM analysis_files WHERE analysis_id = $1",
            Owner::Sample => "SELECT name FROM sample_reads WHERE sample_id = $1",
            Owner::Index => "SELECT name FROM index_files WHERE index_id = $1",
            Owner::Subtraction => "SELECT name FROM subtraction_files WHERE subtraction_id = $1",
        }
    }
}

/// The object names recorded under `owner_id`'s folder.
pub async fn recorded_names(db: &Db, owner: Owner, owner_id: &str) -> DbResult<Vec<String>> {
    Ok(sqlx::query_scalar(owner.names_query())
        .bind(owner_id)
        .fetch_all(db.reader())
        .await?)
}

/// Whether the owner's row exists.
pub async fn owner_exists(db: &Db, owner: Owner, owner_id: &str) -> DbResult<bool> {
    let sql = format!("SELECT COUNT(*) FROM {} WHERE id = $1", owner.folder());
    let found: i64 = sqlx::query_scalar(&sql)
        .bind(owner_id)
        .fetch_one(db.reader())
        .await?;
    Ok(found > 0)
}

/// Whether an upload object (`uploads/<name_on_disk>`) belongs to an upload not yet removed or
/// consumed.
pub async fn upload_is_live(db: &Db, name_on_disk: &str) -> DbResult<bool> {
    let found: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM uploads WHERE name_on_disk = $1 AND removed = 0")
            .bind(name_on_disk)
            .fetch_one(db.reader())
            .await?;
    Ok(found > 0)
}
