//! The stored files of the targets a workflow builds — an index's (J19) and a subtraction's (J24):
//! one insert for both, ordered against the target's finalize by the target row's lock.

use super::{Db, DbError, DbResult};
use crate::model::stores::StoredFile;

/// Where a target's files and its "finalized" flag live.
pub(super) struct Target {
    /// The target's table, and its column that is 0 while files may still come.
    pub table: &'static str,
    pub open_column: &'static str,
    /// The files' table, and its column naming the target.
    pub files: &'static str,
    pub owner_column: &'static str,
}

pub(super) const INDEX: Target = Target {
    table: "indexes",
    open_column: "has_files",
    files: "index_files",
    owner_column: "index_id",
};

pub(super) const SUBTRACTION: Target = Target {
    table: "subtractions",
    open_column: "ready",
    files: "subtraction_files",
    owner_column: "subtraction_id",
};

pub enum InsertFile {
    Inserted,
    /// The target was finalized meanwhile (J19 and J24 row 5).
    Finalized,
    /// A file of that name is stored already (J19 and J24 row 6).
    Duplicate,
}

/// Record a committed file of `owner_id` unless the target is finalized or the name is taken.
pub(super) async fn insert(
    db: &Db,
    target: &Target,
    owner_id: &str,
    file: &StoredFile,
    job_id: &str,
) -> DbResult<InsertFile> {
    let Target {
        table,
        open_column,
        files,
        owner_column,
    } = target;
    let mut tx = db.begin().await?;
    // The row's write lock (as `analyses::lock_row`): a finalize that closes the target is ordered
    // wholly before or after this insert on both databases.
    let finalized: Option<i64> = sqlx::query_scalar(&format!(
        "UPDATE {table} SET {open_column} = {open_column} WHERE id = $1 RETURNING {open_column}"
    ))
    .bind(owner_id)
    .fetch_optional(&mut *tx)
    .await?;
    if finalized != Some(0) {
        return Ok(InsertFile::Finalized);
    }
    let inserted = sqlx::query(&format!(
        "INSERT INTO {files} (id, {owner_column}, name, type, size, uploaded_by_job) \
         VALUES ($1, $2, $3, $4, $5, $6)"
    ))
    .bind(file.id)
    .bind(owner_id)
    .bind(&file.name)
    .bind(&file.kind)
    .bind(file.size)
    .bind(job_id)
    .execute(&mut *tx)
    .await;
    match inserted.map_err(DbError::from) {
        Ok(_) => {}
        Err(DbError::UniqueViolation(_)) => return Ok(InsertFile::Duplicate),
        Err(e) => return Err(e),
    }
    tx.commit().await?;
    Ok(InsertFile::Inserted)
}
