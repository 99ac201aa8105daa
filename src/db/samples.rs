//! Samples with their rights columns, and subtractions (labels only).

use sqlx::any::AnyRow;
use sqlx::Row;

use super::{flag, get_flag, Db, DbResult};
use crate::auth::rights::SampleRights;
use crate::model::time::{rfc3339, Micros};
use crate::model::views::{Sample, Subtraction, UserRef};

const SAMPLE_COLUMNS: &str = "s.id, s.name, s.user_id, u.handle AS user_handle, s.group_id, \
     s.group_read, s.group_write, s.all_read, s.all_write, s.created_at";

pub struct SampleRow {
    pub sample: Sample,
    pub rights: SampleRights,
}

fn sample_from_row(row: &AnyRow) -> DbResult<SampleRow> {
    let sample = Sample {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        created_at: rfc3339(row.try_get("created_at")?),
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
    };
    Ok(SampleRow {
        rights: rights_of(&sample),
        sample,
    })
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

pub async fn get(db: &Db, id: &str) -> DbResult<Option<SampleRow>> {
    let sql = format!(
        "SELECT {SAMPLE_COLUMNS} FROM samples s LEFT JOIN users u ON u.id = s.user_id WHERE s.id = $1"
    );
    let row = sqlx::query(&sql)
        .bind(id)
        .fetch_optional(db.reader())
        .await?;
    row.as_ref().map(sample_from_row).transpose()
}

pub async fn insert(db: &Db, sample: &Sample, created_at: Micros) -> DbResult<()> {
    sqlx::query(
        "INSERT INTO samples (id, name, user_id, group_id, group_read, group_write, all_read, all_write, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(&sample.id)
    .bind(&sample.name)
    .bind(&sample.user.id)
    .bind(&sample.group)
    .bind(flag(sample.group_read))
    .bind(flag(sample.group_write))
    .bind(flag(sample.all_read))
    .bind(flag(sample.all_write))
    .bind(created_at)
    .execute(&mut *db.write().await?)
    .await?;
    Ok(())
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
