//! Subtractions: labels and host genomes with their `create_subtraction` job, files and finalize
//! (workflows §4, J22–J26). Uploads are read from the `uploads` table of migration 0009 as is.

use sqlx::any::AnyRow;
use sqlx::Row;

pub use super::workflow_files::InsertFile;
use super::{get_flag, jobs, Db, DbError, DbResult, Tx};
use crate::model::page::PageRequest;
use crate::model::stores::{Gc, StoredFile, UploadRef};
use crate::model::time::{rfc3339, Micros};
use crate::model::views::{IdName, JobSummary, Subtraction, UserRef};
use crate::model::workflow::Workflow;

/// A subtraction to create; `upload` for a host genome (`(id, name)`, the job id beside it).
pub struct NewSubtraction<'a> {
    pub id: &'a str,
    pub name: &'a str,
    pub nickname: &'a str,
    pub user_id: &'a str,
    pub genome: Option<(i64, &'a str)>,
    pub now: Micros,
}

pub enum Create {
    Created,
    /// The upload is unknown or removed (U17 row 3).
    UploadMissing,
    /// The upload is reserved (U17 row 4).
    UploadInUse,
}

/// Insert a label, or a host-genome subtraction that reserves its upload and gets its
/// `create_subtraction` job, all in one transaction.
pub async fn create(db: &Db, new: &NewSubtraction<'_>) -> DbResult<Create> {
    let mut tx = db.begin().await?;
    let mut upload = None;
    if let Some((upload_id, job_id)) = new.genome {
        let row = sqlx::query("SELECT name, reserved, removed FROM uploads WHERE id = $1")
            .bind(upload_id)
            .fetch_optional(&mut *tx)
            .await?;
        let Some(row) = row.filter(|r| !get_flag(r, "removed").unwrap_or(true)) else {
            return Ok(Create::UploadMissing);
        };
        // Conditional, so that of two requests racing for one upload only one reserves it.
        let reserved = sqlx::query(
            "UPDATE uploads SET reserved = 1 WHERE id = $1 AND reserved = 0 AND removed = 0",
        )
        .bind(upload_id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if reserved == 0 {
            return Ok(Create::UploadInUse);
        }
        let name: String = row.try_get("name")?;
        upload = Some((upload_id, name, job_id));
    }
    sqlx::query(
        "INSERT INTO subtractions (id, name, nickname, user_id, created_at, upload_id, ready, job_id) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(new.id)
    .bind(new.name)
    .bind(new.nickname)
    .bind(new.user_id)
    .bind(new.now)
    .bind(upload.as_ref().map(|u| u.0))
    .bind(super::flag(upload.is_none()))
    .bind(upload.as_ref().map(|u| u.2))
    .execute(&mut *tx)
    .await?;
    if let Some((upload_id, name, job_id)) = &upload {
        let args = serde_json::json!({
            "subtraction_id": new.id,
            "files": [{"id": upload_id, "name": name}],
        });
        jobs::insert(
            &mut tx,
            job_id,
            Workflow::CreateSubtraction,
            &args,
            new.user_id,
            new.now,
        )
        .await?;
    }
    tx.commit().await?;
    Ok(Create::Created)
}

const SELECT: &str = "SELECT s.id, s.name, s.nickname, s.ready, s.created_at, s.user_id, \
     u.handle AS user_handle, s.count, s.gc, s.upload_id, up.name AS upload_name, \
     j.id AS job_id, j.created_at AS job_created_at, j.progress AS job_progress, \
     j.stage AS job_stage, j.state AS job_state, j.workflow AS job_workflow, \
     j.user_id AS job_user_id, ju.handle AS job_user_handle \
     FROM subtractions s LEFT JOIN users u ON u.id = s.user_id \
     LEFT JOIN uploads up ON up.id = s.upload_id LEFT JOIN jobs j ON j.id = s.job_id \
     LEFT JOIN users ju ON ju.id = j.user_id";

/// A job summary from the `job_*` columns of a row (null when `job_id` is).
pub(super) fn job_summary(row: &AnyRow) -> DbResult<Option<JobSummary>> {
    let Some(id) = row.try_get::<Option<String>, _>("job_id")? else {
        return Ok(None);
    };
    Ok(Some(JobSummary {
        id,
        archived: false,
        created_at: rfc3339(row.try_get("job_created_at")?),
        progress: row.try_get("job_progress")?,
        stage: row.try_get("job_stage")?,
        state: row.try_get("job_state")?,
        user: UserRef {
            id: row.try_get("job_user_id")?,
            handle: (row.try_get::<Option<String>, _>("job_user_handle")?).unwrap_or_default(),
        },
        workflow: super::get_workflow(row, "job_workflow")?,
    }))
}

fn from_row(row: &AnyRow) -> DbResult<Subtraction> {
    let gc: Option<String> = row.try_get("gc")?;
    let gc: Option<Gc> = match gc {
        Some(text) => Some(serde_json::from_str(&text).map_err(|e| DbError::Other(e.into()))?),
        None => None,
    };
    let file = match row.try_get::<Option<i64>, _>("upload_id")? {
        Some(id) => Some(UploadRef {
            id,
            name: (row.try_get::<Option<String>, _>("upload_name")?).unwrap_or_default(),
        }),
        None => None,
    };
    Ok(Subtraction {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        nickname: row.try_get("nickname")?,
        ready: get_flag(row, "ready")?,
        created_at: rfc3339(row.try_get("created_at")?),
        user: UserRef {
            id: row.try_get("user_id")?,
            handle: (row.try_get::<Option<String>, _>("user_handle")?).unwrap_or_default(),
        },
        count: row.try_get("count")?,
        gc,
        file,
        job: job_summary(row)?,
        files: Vec::new(),
    })
}

/// The subtraction as U29 shows it: files only once it is ready (workflows §1.3).
pub async fn get(db: &Db, id: &str) -> DbResult<Option<Subtraction>> {
    let row = sqlx::query(&format!("{SELECT} WHERE s.id = $1"))
        .bind(id)
        .fetch_optional(db.reader())
        .await?;
    let Some(row) = row else { return Ok(None) };
    let mut subtraction = from_row(&row)?;
    if subtraction.ready {
        subtraction.files = files(db, id).await?;
    }
    Ok(Some(subtraction))
}

/// A page of subtractions by name, then id (U28), and how many there are.
pub async fn list(db: &Db, page: PageRequest) -> DbResult<(Vec<Subtraction>, i64)> {
    let found: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM subtractions")
        .fetch_one(db.reader())
        .await?;
    let rows = sqlx::query(&format!(
        "{SELECT} ORDER BY s.name, s.id LIMIT $1 OFFSET $2"
    ))
    .bind(page.per_page)
    .bind(page.offset())
    .fetch_all(db.reader())
    .await?;
    let mut list = rows.iter().map(from_row).collect::<DbResult<Vec<_>>>()?;
    let ready: Vec<String> = (list.iter().filter(|s| s.ready))
        .map(|s| s.id.clone())
        .collect();
    let rows = super::fetch_for_ids(
        db,
        "SELECT subtraction_id, id, name, size, type FROM subtraction_files \
         WHERE subtraction_id IN (SELECT value FROM json_each($1)) ORDER BY id",
        "SELECT subtraction_id, id, name, size, type FROM subtraction_files \
         WHERE subtraction_id IN (SELECT jsonb_array_elements_text($1::jsonb)) ORDER BY id",
        &ready,
    )
    .await?;
    for row in rows {
        let owner: String = row.try_get("subtraction_id")?;
        if let Some(s) = list.iter_mut().find(|s| s.id == owner) {
            s.files.push(stored_file(&row)?);
        }
    }
    Ok((list, found))
}

fn stored_file(row: &AnyRow) -> DbResult<StoredFile> {
    Ok(StoredFile {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        size: row.try_get("size")?,
        kind: row.try_get("type")?,
    })
}

/// The stored files of a subtraction, ascending `id`.
pub async fn files(db: &Db, id: &str) -> DbResult<Vec<StoredFile>> {
    let rows = sqlx::query(
        "SELECT id, name, size, type FROM subtraction_files WHERE subtraction_id = $1 ORDER BY id",
    )
    .bind(id)
    .fetch_all(db.reader())
    .await?;
    rows.iter().map(stored_file).collect()
}

/// The subtraction regardless of readiness, with every stored file (the runner's view).
pub async fn get_with_files(db: &Db, id: &str) -> DbResult<Option<Subtraction>> {
    let row = sqlx::query(&format!("{SELECT} WHERE s.id = $1"))
        .bind(id)
        .fetch_optional(db.reader())
        .await?;
    let Some(row) = row else { return Ok(None) };
    let mut subtraction = from_row(&row)?;
    subtraction.files = files(db, id).await?;
    Ok(Some(subtraction))
}

/// Samples whose default subtractions include `id`, by name then id (§8.3 `linked_samples`).
pub async fn linked_samples(db: &Db, id: &str) -> DbResult<Vec<IdName>> {
    let sql = db.pick(
        "SELECT id, name FROM samples WHERE $1 IN (SELECT value FROM json_each(subtraction_ids)) \
         ORDER BY name, id",
        "SELECT id, name FROM samples \
         WHERE $1 IN (SELECT jsonb_array_elements_text(subtraction_ids::jsonb)) ORDER BY name, id",
    );
    let rows = sqlx::query(sql).bind(id).fetch_all(db.reader()).await?;
    rows.iter()
        .map(|r| {
            Ok(IdName {
                id: r.try_get("id")?,
                name: r.try_get("name")?,
            })
        })
        .collect()
}

/// Whether a subtraction exists, and whether it is ready.
pub async fn readiness(db: &Db, id: &str) -> DbResult<Option<bool>> {
    let row = sqlx::query("SELECT ready FROM subtractions WHERE id = $1")
        .bind(id)
        .fetch_optional(db.reader())
        .await?;
    row.map(|r| get_flag(&r, "ready")).transpose()
}

/// Record a committed subtraction file unless the subtraction is ready or the name is taken.
pub async fn insert_file(
    db: &Db,
    subtraction_id: &str,
    file: &StoredFile,
    job_id: &str,
) -> DbResult<InsertFile> {
    let target = &super::workflow_files::SUBTRACTION;
    super::workflow_files::insert(db, target, subtraction_id, file, job_id).await
}

/// Whether a subtraction has a file of that name.
pub async fn has_file(db: &Db, subtraction_id: &str, name: &str) -> DbResult<bool> {
    let row: Option<i64> = sqlx::query_scalar(
        "SELECT 1 FROM subtraction_files WHERE subtraction_id = $1 AND name = $2",
    )
    .bind(subtraction_id)
    .bind(name)
    .fetch_optional(db.reader())
    .await?;
    Ok(row.is_some())
}

pub enum Finalize {
    /// Done; the consumed upload's `name_on_disk`, whose object goes after the commit.
    Done(Option<String>),
    AlreadyReady,
    /// The bowtie2 files not stored, in table order.
    Missing(Vec<&'static str>),
}

/// J25: store `count` and `gc`, set `ready`, mark the upload removed — one transaction.
pub async fn finalize(db: &Db, id: &str, gc: &Gc, count: i64, now: Micros) -> DbResult<Finalize> {
    let mut tx = db.begin().await?;
    let row = sqlx::query("SELECT ready, upload_id FROM subtractions WHERE id = $1")
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?;
    let Some(row) = row else {
        return Ok(Finalize::AlreadyReady);
    };
    if get_flag(&row, "ready")? {
        return Ok(Finalize::AlreadyReady);
    }
    let upload_id: Option<i64> = row.try_get("upload_id")?;
    let stored: Vec<String> =
        sqlx::query_scalar("SELECT name FROM subtraction_files WHERE subtraction_id = $1")
            .bind(id)
            .fetch_all(&mut *tx)
            .await?;
    let missing =
        crate::model::stores::missing_bowtie2(&crate::model::stores::SUBTRACTION_FILES, &stored);
    if !missing.is_empty() {
        return Ok(Finalize::Missing(missing));
    }
    let gc_text = serde_json::to_string(gc).map_err(|e| DbError::Other(e.into()))?;
    let updated = sqlx::query(
        "UPDATE subtractions SET ready = 1, count = $1, gc = $2 WHERE id = $3 AND ready = 0",
    )
    .bind(count)
    .bind(gc_text)
    .bind(id)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if updated == 0 {
        return Ok(Finalize::AlreadyReady);
    }
    let mut consumed = None;
    if let Some(upload_id) = upload_id {
        consumed = remove_upload(&mut tx, upload_id, now).await?;
    }
    tx.commit().await?;
    Ok(Finalize::Done(consumed))
}

/// Mark an upload removed and unreserved; its `name_on_disk` when it was not removed yet.
async fn remove_upload(tx: &mut Tx, upload_id: i64, now: Micros) -> DbResult<Option<String>> {
    let name: Option<String> = sqlx::query_scalar(
        "UPDATE uploads SET removed = 1, removed_at = $1, reserved = 0 \
         WHERE id = $2 AND removed = 0 RETURNING name_on_disk",
    )
    .bind(now)
    .bind(upload_id)
    .fetch_optional(&mut **tx)
    .await?;
    Ok(name)
}

pub enum Discard {
    /// The names of the discarded files, whose objects go after the commit.
    Done(Vec<String>),
    AlreadyReady,
}

/// J26: discard the stored files and unreserve the upload; the subtraction stays, not ready.
pub async fn discard(db: &Db, id: &str) -> DbResult<Discard> {
    let mut tx = db.begin().await?;
    let row = sqlx::query("SELECT ready, upload_id FROM subtractions WHERE id = $1")
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?;
    let Some(row) = row.filter(|r| !get_flag(r, "ready").unwrap_or(true)) else {
        return Ok(Discard::AlreadyReady);
    };
    let names: Vec<String> = sqlx::query_scalar(
        "DELETE FROM subtraction_files WHERE subtraction_id = $1 RETURNING name",
    )
    .bind(id)
    .fetch_all(&mut *tx)
    .await?;
    if let Some(upload_id) = row.try_get::<Option<i64>, _>("upload_id")? {
        sqlx::query("UPDATE uploads SET reserved = 0 WHERE id = $1")
            .bind(upload_id)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok(Discard::Done(names))
}
