//! Indexes with their `build_index` job and stored files (workflows §5, J17–J21), and the one id
//! sequence of index and subtraction files (§11.3).

use serde_json::{Map, Value};
use sqlx::any::AnyRow;
use sqlx::Row;

pub use super::workflow_files::InsertFile;
use super::{get_flag, Db, DbError, DbResult};
use crate::model::otu::OtuSummary;
use crate::model::stores::{missing_bowtie2, StoredFile, INDEX_FASTA, INDEX_FILES};
use crate::model::time::rfc3339;
use crate::model::views::{Index, RefSummary, UserRef};

/// A never-reused id for an index or subtraction file (counter `workflow_files`).
pub async fn reserve_file_id(db: &Db) -> DbResult<i64> {
    Ok(sqlx::query_scalar(
        "UPDATE counters SET value = value + 1 WHERE name = 'workflow_files' RETURNING value",
    )
    .fetch_one(&mut *db.write().await?)
    .await?)
}

pub(super) const SELECT: &str =
    "SELECT i.id, i.version, i.created_at, i.user_id, u.handle AS user_handle, \
     i.otu_count, i.sequence_count, i.has_files, r.id AS ref_id, r.name AS ref_name, \
     r.data_type AS ref_data_type, \
     j.id AS job_id, j.created_at AS job_created_at, j.progress AS job_progress, \
     j.stage AS job_stage, j.state AS job_state, j.workflow AS job_workflow, \
     j.user_id AS job_user_id, ju.handle AS job_user_handle \
     FROM indexes i JOIN refs r ON r.id = i.ref_id LEFT JOIN users u ON u.id = i.user_id \
     LEFT JOIN jobs j ON j.id = i.job_id LEFT JOIN users ju ON ju.id = j.user_id";

fn from_row(row: &AnyRow) -> DbResult<Index> {
    Ok(Index {
        id: row.try_get("id")?,
        version: row.try_get("version")?,
        ready: true,
        reference: RefSummary {
            id: row.try_get("ref_id")?,
            name: row.try_get("ref_name")?,
            data_type: row.try_get("ref_data_type")?,
        },
        created_at: rfc3339(row.try_get("created_at")?),
        user: UserRef {
            id: row.try_get("user_id")?,
            handle: (row.try_get::<Option<String>, _>("user_handle")?).unwrap_or_default(),
        },
        otu_count: row.try_get("otu_count")?,
        sequence_count: row.try_get("sequence_count")?,
        has_files: get_flag(row, "has_files")?,
        job: super::subtractions::job_summary(row)?,
    })
}

/// The index object (U19, U30).
pub async fn get(db: &Db, id: &str) -> DbResult<Option<Index>> {
    let row = sqlx::query(&format!("{SELECT} WHERE i.id = $1"))
        .bind(id)
        .fetch_optional(db.reader())
        .await?;
    row.as_ref().map(from_row).transpose()
}

/// The stored files of an index, ascending `id`.
pub async fn files(db: &Db, id: &str) -> DbResult<Vec<StoredFile>> {
    let rows =
        sqlx::query("SELECT id, name, size, type FROM index_files WHERE index_id = $1 ORDER BY id")
            .bind(id)
            .fetch_all(db.reader())
            .await?;
    rows.iter()
        .map(|row| {
            Ok(StoredFile {
                id: row.try_get("id")?,
                name: row.try_get("name")?,
                size: row.try_get("size")?,
                kind: row.try_get("type")?,
            })
        })
        .collect()
}

/// The snapshot's OTUs in snapshot order (summaries: id, name, version).
pub async fn snapshot(db: &Db, id: &str) -> DbResult<Vec<OtuSummary>> {
    let rows: Vec<String> =
        sqlx::query_scalar("SELECT summary FROM index_otus WHERE index_id = $1 ORDER BY position")
            .bind(id)
            .fetch_all(db.reader())
            .await?;
    rows.iter()
        .map(|text| serde_json::from_str(text).map_err(|e| DbError::Other(e.into())))
        .collect()
}

/// The manifest of a snapshot: OTU id → version, in snapshot order.
pub fn manifest(otus: &[OtuSummary]) -> Map<String, Value> {
    otus.iter()
        .map(|otu| (otu.id.clone(), Value::from(otu.version)))
        .collect()
}

/// The stored OTU documents of the snapshot, in snapshot order (the reference's OTUs never
/// change after import, so the reference's copy is the snapshot's).
pub async fn otu_documents(db: &Db, id: &str) -> DbResult<Vec<String>> {
    Ok(sqlx::query_scalar(
        "SELECT o.document FROM index_otus x JOIN indexes i ON i.id = x.index_id \
         JOIN ref_otus o ON o.ref_id = i.ref_id AND o.otu_id = x.otu_id \
         WHERE x.index_id = $1 ORDER BY x.position",
    )
    .bind(id)
    .fetch_all(db.reader())
    .await?)
}

/// Whether an index has a file of that name.
pub async fn has_file(db: &Db, index_id: &str, name: &str) -> DbResult<bool> {
    let row: Option<i64> =
        sqlx::query_scalar("SELECT 1 FROM index_files WHERE index_id = $1 AND name = $2")
            .bind(index_id)
            .bind(name)
            .fetch_optional(db.reader())
            .await?;
    Ok(row.is_some())
}

/// Record a committed index file unless the files are built or the name is taken.
pub async fn insert_file(
    db: &Db,
    index_id: &str,
    file: &StoredFile,
    job_id: &str,
) -> DbResult<InsertFile> {
    super::workflow_files::insert(db, &super::workflow_files::INDEX, index_id, file, job_id).await
}

pub enum Finalize {
    Done,
    Built,
    NoFasta,
    /// The bowtie2 files not stored, in the order of §5.2.
    Missing(Vec<&'static str>),
}

/// J20: set `has_files` once the FASTA and the six bowtie2 files are stored.
pub async fn finalize(db: &Db, id: &str) -> DbResult<Finalize> {
    let mut tx = db.begin().await?;
    let has_files: Option<i64> = sqlx::query_scalar("SELECT has_files FROM indexes WHERE id = $1")
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?;
    if has_files != Some(0) {
        return Ok(Finalize::Built);
    }
    let stored: Vec<String> =
        sqlx::query_scalar("SELECT name FROM index_files WHERE index_id = $1")
            .bind(id)
            .fetch_all(&mut *tx)
            .await?;
    if !stored.iter().any(|name| name == INDEX_FASTA) {
        return Ok(Finalize::NoFasta);
    }
    let missing = missing_bowtie2(&INDEX_FILES, &stored);
    if !missing.is_empty() {
        return Ok(Finalize::Missing(missing));
    }
    sqlx::query("UPDATE indexes SET has_files = 1 WHERE id = $1")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(Finalize::Done)
}

/// J21: discard the stored files of an index whose files are not built; `None` when they are.
/// The names returned are removed from the store after the commit.
pub async fn discard(db: &Db, id: &str) -> DbResult<Option<Vec<String>>> {
    let mut tx = db.begin().await?;
    let has_files: Option<i64> = sqlx::query_scalar("SELECT has_files FROM indexes WHERE id = $1")
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?;
    if has_files != Some(0) {
        return Ok(None);
    }
    let names: Vec<String> =
        sqlx::query_scalar("DELETE FROM index_files WHERE index_id = $1 RETURNING name")
            .bind(id)
            .fetch_all(&mut *tx)
            .await?;
    tx.commit().await?;
    Ok(Some(names))
}
