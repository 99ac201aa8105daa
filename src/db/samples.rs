//! Samples with their rights and reads columns (workflows §3), and subtractions (labels only).

use serde_json::value::RawValue;
use sqlx::any::AnyRow;
use sqlx::Row;

use super::{flag, get_flag, Db, DbError, DbResult, Tx};
use crate::auth::rights::{Principal, SampleRights};
use crate::model::page::PageRequest;
use crate::model::sample::{ReadsRecord, SampleRecord};
use crate::model::time::{rfc3339, Micros};
use crate::model::views::{IdName, JobSummary, Sample, Subtraction, UserRef};

const SAMPLE_COLUMNS: &str = "s.id, s.name, s.user_id, u.handle AS user_handle, s.group_id, \
     s.group_read, s.group_write, s.all_read, s.all_write, s.created_at, s.host, s.isolate, \
     s.locale, s.notes, s.library_type, s.subtraction_ids, s.paired, s.ready, s.quality, \
     s.upload_ids, j.id AS j_id, j.created_at AS j_created_at, j.progress AS j_progress, \
     j.stage AS j_stage, j.state AS j_state, j.workflow AS j_workflow, j.user_id AS j_user_id, \
     ju.handle AS j_user_handle";

const SAMPLE_FROM: &str = "FROM samples s LEFT JOIN users u ON u.id = s.user_id \
     LEFT JOIN jobs j ON j.id = s.job_id LEFT JOIN users ju ON ju.id = j.user_id";

/// A sample as read: the user API's view, its rights, and all that is stored of it.
pub struct SampleRow {
    pub sample: Sample,
    pub rights: SampleRights,
    pub record: SampleRecord,
}

impl SampleRow {
    fn new(record: SampleRecord) -> SampleRow {
        SampleRow {
            sample: record.view(false),
            rights: record.rights(),
            record,
        }
    }
}

fn json_text<T: serde::de::DeserializeOwned>(row: &AnyRow, column: &str) -> DbResult<T> {
    let text: String = row.try_get(column)?;
    serde_json::from_str(&text).map_err(|e| DbError::Other(e.into()))
}

fn record_from_row(row: &AnyRow) -> DbResult<SampleRecord> {
    let job = match row.try_get::<Option<String>, _>("j_id")? {
        None => None,
        Some(id) => Some(JobSummary {
            id,
            archived: false,
            created_at: rfc3339(row.try_get("j_created_at")?),
            progress: row.try_get("j_progress")?,
            stage: row.try_get("j_stage")?,
            state: row.try_get("j_state")?,
            user: UserRef {
                id: row.try_get("j_user_id")?,
                handle: row
                    .try_get::<Option<String>, _>("j_user_handle")?
                    .unwrap_or_default(),
            },
            workflow: super::get_workflow(row, "j_workflow")?,
        }),
    };
    let quality = match row.try_get::<Option<String>, _>("quality")? {
        None => None,
        Some(text) => Some(RawValue::from_string(text).map_err(|e| DbError::Other(e.into()))?),
    };
    Ok(SampleRecord {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        created_at: row.try_get("created_at")?,
        user: UserRef {
            id: row.try_get("user_id")?,
            handle: row
                .try_get::<Option<String>, _>("user_handle")?
                .unwrap_or_default(),
        },
        group: row.try_get("group_id")?,
        group_read: get_flag(row, "group_read")?,
        group_write: get_flag(row, "group_write")?,
        all_read: get_flag(row, "all_read")?,
        all_write: get_flag(row, "all_write")?,
        host: row.try_get("host")?,
        isolate: row.try_get("isolate")?,
        locale: row.try_get("locale")?,
        notes: row.try_get("notes")?,
        library_type: row.try_get("library_type")?,
        subtraction_ids: json_text(row, "subtraction_ids")?,
        paired: get_flag(row, "paired")?,
        ready: get_flag(row, "ready")?,
        quality,
        upload_ids: json_text(row, "upload_ids")?,
        job,
        subtractions: Vec::new(),
        reads: Vec::new(),
    })
}

/// The stored reads files of a sample, `reads_1` first.
pub async fn reads_of(db: &Db, sample_id: &str) -> DbResult<Vec<ReadsRecord>> {
    let rows = sqlx::query(
        "SELECT name, size, uploaded_at FROM sample_reads WHERE sample_id = $1 ORDER BY name",
    )
    .bind(sample_id)
    .fetch_all(db.reader())
    .await?;
    rows.iter()
        .map(|r| {
            Ok(ReadsRecord {
                name: r.try_get("name")?,
                size: r.try_get("size")?,
                uploaded_at: r.try_get("uploaded_at")?,
            })
        })
        .collect()
}

/// Resolve the subtraction names of these records (one statement for all of them).
async fn name_subtractions(db: &Db, records: &mut [SampleRecord]) -> DbResult<()> {
    let mut ids: Vec<String> = records
        .iter()
        .flat_map(|r| r.subtraction_ids.iter().cloned())
        .collect();
    ids.sort();
    ids.dedup();
    let known = subtraction_names(db, &ids).await?;
    for record in records {
        let names = known
            .iter()
            .map(|(id, name)| IdName {
                id: id.clone(),
                name: name.clone(),
            })
            .collect();
        record.set_subtractions(names);
    }
    Ok(())
}

pub async fn get(db: &Db, id: &str) -> DbResult<Option<SampleRow>> {
    let sql = format!("SELECT {SAMPLE_COLUMNS} {SAMPLE_FROM} WHERE s.id = $1");
    let row = sqlx::query(&sql)
        .bind(id)
        .fetch_optional(db.reader())
        .await?;
    let Some(row) = row else { return Ok(None) };
    let mut record = record_from_row(&row)?;
    record.reads = reads_of(db, id).await?;
    name_subtractions(db, std::slice::from_mut(&mut record)).await?;
    Ok(Some(SampleRow::new(record)))
}

/// The samples `principal` can read whose name contains `find` (case-insensitive), newest first,
/// and how many there are (U25). `reads` are not loaded.
pub async fn list_readable(
    db: &Db,
    principal: &Principal,
    find: Option<&str>,
    page: PageRequest,
) -> DbResult<(Vec<SampleRecord>, i64)> {
    let filter = format!(
        "($1 = 1 OR s.user_id = $2 OR s.all_read = 1 OR (s.group_read = 1 AND s.group_id IN \
         (SELECT group_id FROM user_groups WHERE user_id = $2))) AND ($3 = '' OR {})",
        db.pick(
            "instr(lower(s.name), lower($3)) > 0",
            "strpos(lower(s.name), lower($3)) > 0"
        )
    );
    let find = find.unwrap_or("");
    let count_sql = format!("SELECT COUNT(*) FROM samples s WHERE {filter}");
    let found: i64 = sqlx::query_scalar(&count_sql)
        .bind(flag(principal.administrator))
        .bind(&principal.id)
        .bind(find)
        .fetch_one(db.reader())
        .await?;
    let sql = format!(
        "SELECT {SAMPLE_COLUMNS} {SAMPLE_FROM} WHERE {filter} \
         ORDER BY s.created_at DESC, s.id DESC LIMIT $4 OFFSET $5"
    );
    let rows = sqlx::query(&sql)
        .bind(flag(principal.administrator))
        .bind(&principal.id)
        .bind(find)
        .bind(page.per_page)
        .bind(page.offset())
        .fetch_all(db.reader())
        .await?;
    let mut records = rows
        .iter()
        .map(record_from_row)
        .collect::<DbResult<Vec<_>>>()?;
    name_subtractions(db, &mut records).await?;
    Ok((records, found))
}

pub fn rights_of(sample: &Sample) -> SampleRights {
    SampleRights {
        owner_id: sample.user.id.clone(),
        group: sample.group.clone(),
        group_read: sample.group_read,
        group_write: sample.group_write,
        all_read: sample.all_read,
        all_write: sample.all_write,
    }
}

/// Insert a new sample (inside the transaction that may also reserve its uploads and create its
/// job, workflows §3.2).
pub async fn insert(tx: &mut Tx, record: &SampleRecord, job_id: Option<&str>) -> DbResult<()> {
    sqlx::query(
        "INSERT INTO samples (id, name, user_id, group_id, group_read, group_write, all_read, all_write, \
         created_at, host, isolate, locale, notes, library_type, subtraction_ids, paired, ready, \
         quality, upload_ids, job_id) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, 0, NULL, $17, $18)",
    )
    .bind(&record.id)
    .bind(&record.name)
    .bind(&record.user.id)
    .bind(&record.group)
    .bind(flag(record.group_read))
    .bind(flag(record.group_write))
    .bind(flag(record.all_read))
    .bind(flag(record.all_write))
    .bind(record.created_at)
    .bind(&record.host)
    .bind(&record.isolate)
    .bind(&record.locale)
    .bind(&record.notes)
    .bind(&record.library_type)
    .bind(json(&record.subtraction_ids))
    .bind(flag(record.paired))
    .bind(json(&record.upload_ids))
    .bind(job_id)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// A list stored as JSON text.
fn json<T: serde::Serialize>(list: &[T]) -> String {
    serde_json::to_string(list).unwrap_or_else(|_| "[]".into())
}

/// Store new rights (the whole set; the handler merged the change).
pub async fn update_rights(db: &Db, id: &str, rights: &SampleRights) -> DbResult<()> {
    sqlx::query(
        "UPDATE samples SET group_id = $1, group_read = $2, group_write = $3, all_read = $4, all_write = $5 \
         WHERE id = $6",
    )
    .bind(&rights.group)
    .bind(flag(rights.group_read))
    .bind(flag(rights.group_write))
    .bind(flag(rights.all_read))
    .bind(flag(rights.all_write))
    .bind(id)
    .execute(&mut *db.write().await?)
    .await?;
    Ok(())
}

pub async fn insert_subtraction(
    db: &Db,
    subtraction: &Subtraction,
    created_at: Micros,
) -> DbResult<()> {
    sqlx::query(
        "INSERT INTO subtractions (id, name, nickname, user_id, created_at) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(&subtraction.id)
    .bind(&subtraction.name)
    .bind(&subtraction.nickname)
    .bind(&subtraction.user.id)
    .bind(created_at)
    .execute(&mut *db.write().await?)
    .await?;
    Ok(())
}

/// `(id, name)` of the given subtractions that exist: one statement whatever the number of ids.
pub async fn subtraction_names(db: &Db, ids: &[String]) -> DbResult<Vec<(String, String)>> {
    let rows = super::fetch_for_ids(
        db,
        "SELECT id, name FROM subtractions WHERE id IN (SELECT value FROM json_each($1))",
        "SELECT id, name FROM subtractions WHERE id IN (SELECT jsonb_array_elements_text($1::jsonb))",
        ids,
    )
    .await?;
    rows.iter()
        .map(|r| Ok((r.try_get("id")?, r.try_get("name")?)))
        .collect()
}
