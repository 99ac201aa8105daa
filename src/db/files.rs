//! Analysis file records; `(analysis_id, name)` is unique, ids come from a never-reused counter.

use sqlx::any::AnyRow;
use sqlx::Row;

use super::{Db, DbError, DbResult};
use crate::model::time::{rfc3339, Micros};
use crate::model::views::AnalysisFile;

const COLUMNS: &str = "id, analysis_id, name, name_on_disk, format, size, uploaded_at";

fn file_from_row(row: &AnyRow) -> DbResult<AnalysisFile> {
    Ok(AnalysisFile {
        id: row.try_get("id")?,
        analysis: row.try_get("analysis_id")?,
        description: None,
        format: row.try_get("format")?,
        name: row.try_get("name")?,
        name_on_disk: row.try_get("name_on_disk")?,
        size: row.try_get("size")?,
        uploaded_at: rfc3339(row.try_get("uploaded_at")?),
    })
}

pub async fn list(db: &Db, analysis_id: &str) -> DbResult<Vec<AnalysisFile>> {
    let sql = format!("SELECT {COLUMNS} FROM analysis_files WHERE analysis_id = $1 ORDER BY id");
    let rows = sqlx::query(&sql)
        .bind(analysis_id)
        .fetch_all(db.reader())
        .await?;
    rows.iter().map(file_from_row).collect()
}

pub async fn get(db: &Db, analysis_id: &str, file_id: i64) -> DbResult<Option<AnalysisFile>> {
    let sql = format!("SELECT {COLUMNS} FROM analysis_files WHERE analysis_id = $1 AND id = $2");
    let row = sqlx::query(&sql)
        .bind(analysis_id)
        .bind(file_id)
        .fetch_optional(db.reader())
        .await?;
    row.as_ref().map(file_from_row).transpose()
}

pub async fn name_taken(db: &Db, analysis_id: &str, name: &str) -> DbResult<bool> {
    let row: Option<i64> =
        sqlx::query_scalar("SELECT 1 FROM analysis_files WHERE analysis_id = $1 AND name = $2")
            .bind(analysis_id)
            .bind(name)
            .fetch_optional(db.reader())
            .await?;
    Ok(row.is_some())
}

/// Reserve the next file id (never reused, even when the upload then fails).
pub async fn reserve_id(db: &Db) -> DbResult<i64> {
    Ok(sqlx::query_scalar(
        "UPDATE counters SET value = value + 1 WHERE name = 'analysis_files' RETURNING value",
    )
    .fetch_one(&mut *db.write().await?)
    .await?)
}

pub enum Insert {
    Inserted(AnalysisFile),
    AnalysisGone,
    DuplicateName,
}

/// Insert the record of a committed upload and bump the analysis's `updated_at`.
/// `uploaded_by_job`: the job whose credential uploaded it (J6), null for a user's upload (U6).
pub async fn insert(
    db: &Db,
    file: &AnalysisFile,
    uploaded_at: Micros,
    uploaded_by_job: Option<&str>,
) -> DbResult<Insert> {
    let mut tx = db.begin().await?;
    if !super::analyses::touch(&mut tx, &file.analysis, uploaded_at).await? {
        return Ok(Insert::AnalysisGone);
    }
    let result = sqlx::query(
        "INSERT INTO analysis_files (id, analysis_id, name, name_on_disk, format, size, uploaded_at, uploaded_by_job) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(file.id)
    .bind(&file.analysis)
    .bind(&file.name)
    .bind(&file.name_on_disk)
    .bind(&file.format)
    .bind(file.size)
    .bind(uploaded_at)
    .bind(uploaded_by_job)
    .execute(&mut *tx)
    .await;
    match result.map_err(DbError::from) {
        Ok(_) => {}
        Err(DbError::UniqueViolation(_)) => return Ok(Insert::DuplicateName),
        Err(e) => return Err(e),
    }
    tx.commit().await?;
    Ok(Insert::Inserted(file.clone()))
}

/// The `name_on_disk` of every file record of an analysis (for the start-up sweep).
pub async fn names_on_disk(db: &Db, analysis_id: &str) -> DbResult<Vec<String>> {
    Ok(
        sqlx::query_scalar("SELECT name_on_disk FROM analysis_files WHERE analysis_id = $1")
            .bind(analysis_id)
            .fetch_all(db.reader())
            .await?,
    )
}
