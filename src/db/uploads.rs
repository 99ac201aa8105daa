//! Uploads (workflows §2): ids from the `uploads` counter, never reused; a record exists only once
//! its object is committed; `reserved` while a sample or subtraction uses it, `removed` when gone.

use sqlx::any::AnyRow;
use sqlx::Row;

use super::{get_flag, Db, DbResult, Tx};
use crate::model::page::PageRequest;
use crate::model::time::{rfc3339, Micros};
use crate::model::views::{Upload, UserRef};

const COLUMNS: &str = "p.id, p.name, p.name_on_disk, p.type, p.size, p.user_id, \
     u.handle AS user_handle, p.created_at, p.reserved, p.removed, p.removed_at";

const FROM: &str = "FROM uploads p LEFT JOIN users u ON u.id = p.user_id";

fn upload_from_row(row: &AnyRow) -> DbResult<Upload> {
    let created_at: Micros = row.try_get("created_at")?;
    let removed_at: Option<Micros> = row.try_get("removed_at")?;
    Ok(Upload {
        id: row.try_get("id")?,
        created_at: rfc3339(created_at),
        name: row.try_get("name")?,
        name_on_disk: row.try_get("name_on_disk")?,
        ready: true,
        removed: get_flag(row, "removed")?,
        removed_at: removed_at.map(rfc3339),
        reserved: get_flag(row, "reserved")?,
        size: row.try_get("size")?,
        upload_type: row.try_get("type")?,
        uploaded_at: rfc3339(created_at),
        user: UserRef {
            id: row.try_get("user_id")?,
            handle: row
                .try_get::<Option<String>, _>("user_handle")?
                .unwrap_or_default(),
        },
    })
}

/// The next upload id (never handed out again, whatever becomes of the upload).
pub async fn reserve_id(db: &Db) -> DbResult<i64> {
    Ok(sqlx::query_scalar(
        "UPDATE counters SET value = value + 1 WHERE name = 'uploads' RETURNING value",
    )
    .fetch_one(&mut *db.write().await?)
    .await?)
}

/// The record of a committed upload.
pub struct NewUpload<'a> {
    pub id: i64,
    pub name: &'a str,
    pub name_on_disk: &'a str,
    pub upload_type: &'a str,
    pub size: i64,
    pub user_id: &'a str,
    pub created_at: Micros,
}

pub async fn insert(db: &Db, upload: &NewUpload<'_>) -> DbResult<()> {
    sqlx::query(
        "INSERT INTO uploads (id, name, name_on_disk, type, size, user_id, created_at, reserved, removed) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, 0, 0)",
    )
    .bind(upload.id)
    .bind(upload.name)
    .bind(upload.name_on_disk)
    .bind(upload.upload_type)
    .bind(upload.size)
    .bind(upload.user_id)
    .bind(upload.created_at)
    .execute(&mut *db.write().await?)
    .await?;
    Ok(())
}

/// One upload, removed or not.
pub async fn get(db: &Db, id: i64) -> DbResult<Option<Upload>> {
    let sql = format!("SELECT {COLUMNS} {FROM} WHERE p.id = $1");
    let row = sqlx::query(&sql)
        .bind(id)
        .fetch_optional(db.reader())
        .await?;
    row.as_ref().map(upload_from_row).transpose()
}

/// Several uploads by id (inside a transaction: what U11 is about to reserve).
pub async fn get_many(tx: &mut Tx, ids: &[i64]) -> DbResult<Vec<Upload>> {
    let mut found = Vec::with_capacity(ids.len());
    let sql = format!("SELECT {COLUMNS} {FROM} WHERE p.id = $1");
    for id in ids {
        if let Some(row) = sqlx::query(&sql).bind(id).fetch_optional(&mut **tx).await? {
            found.push(upload_from_row(&row)?);
        }
    }
    Ok(found)
}

/// The uploads still usable (neither removed nor reserved) of `user_id` (`None`: everyone's),
/// optionally of one type, newest first (U22).
pub async fn list(
    db: &Db,
    user_id: Option<&str>,
    upload_type: Option<&str>,
    page: PageRequest,
) -> DbResult<(Vec<Upload>, i64)> {
    let filter = "p.removed = 0 AND p.reserved = 0 AND ($1 = '' OR p.user_id = $1) \
                  AND ($2 = '' OR p.type = $2)";
    let user_id = user_id.unwrap_or("");
    let upload_type = upload_type.unwrap_or("");
    let found: i64 = sqlx::query_scalar(&format!("SELECT COUNT(*) FROM uploads p WHERE {filter}"))
        .bind(user_id)
        .bind(upload_type)
        .fetch_one(db.reader())
        .await?;
    let sql = format!(
        "SELECT {COLUMNS} {FROM} WHERE {filter} ORDER BY p.created_at DESC, p.id DESC \
         LIMIT $3 OFFSET $4"
    );
    let rows = sqlx::query(&sql)
        .bind(user_id)
        .bind(upload_type)
        .bind(page.per_page)
        .bind(page.offset())
        .fetch_all(db.reader())
        .await?;
    let uploads = rows
        .iter()
        .map(upload_from_row)
        .collect::<DbResult<Vec<_>>>()?;
    Ok((uploads, found))
}

pub enum Remove {
    Removed,
    /// Gone already (or never there).
    NotFound,
    Reserved,
}

/// Mark an upload removed unless it is reserved (U24); conditional, so a racing reservation
/// either happens first (409) or finds it removed.
pub async fn remove(db: &Db, id: i64, now: Micros) -> DbResult<Remove> {
    let mut tx = db.begin().await?;
    let updated = sqlx::query(
        "UPDATE uploads SET removed = 1, removed_at = $1 WHERE id = $2 AND removed = 0 AND reserved = 0",
    )
    .bind(now)
    .bind(id)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if updated > 0 {
        tx.commit().await?;
        return Ok(Remove::Removed);
    }
    let row = sqlx::query("SELECT removed, reserved FROM uploads WHERE id = $1")
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?;
    Ok(match row {
        Some(row) if !get_flag(&row, "removed")? && get_flag(&row, "reserved")? => Remove::Reserved,
        _ => Remove::NotFound,
    })
}

/// Reserve one upload for a new sample or subtraction; `false` when it is reserved or removed
/// meanwhile.
pub async fn reserve(tx: &mut Tx, id: i64) -> DbResult<bool> {
    let updated = sqlx::query(
        "UPDATE uploads SET reserved = 1 WHERE id = $1 AND reserved = 0 AND removed = 0",
    )
    .bind(id)
    .execute(&mut **tx)
    .await?
    .rows_affected();
    Ok(updated > 0)
}

/// Mark uploads consumed by a finalized sample or subtraction: removed, no longer reserved.
/// Returns the storage names of those that were not removed yet.
pub async fn consume(tx: &mut Tx, ids: &[i64], now: Micros) -> DbResult<Vec<String>> {
    let mut names = Vec::new();
    for id in ids {
        let name: Option<String> = sqlx::query_scalar(
            "UPDATE uploads SET removed = 1, removed_at = $1, reserved = 0 \
             WHERE id = $2 AND removed = 0 RETURNING name_on_disk",
        )
        .bind(now)
        .bind(id)
        .fetch_optional(&mut **tx)
        .await?;
        names.extend(name);
    }
    Ok(names)
}
