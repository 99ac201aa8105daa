//! References, their OTUs, and frozen indexes (immutable snapshots of a reference's OTUs).

use std::collections::HashMap;

use sqlx::Row;

use super::{Db, DbError, DbResult};
use crate::import::reference::ParsedReference;
use crate::model::otu::OtuSummary;
use crate::model::time::Micros;
use crate::model::views::{Index, RefSummary, Reference, UserRef};
use crate::model::workflow::Workflow;

/// Store a parsed reference and all its OTUs in one transaction.
pub async fn insert_reference(
    db: &Db,
    reference: &Reference,
    parsed: &ParsedReference,
    created_at: Micros,
) -> DbResult<()> {
    let mut tx = db.begin().await?;
    sqlx::query(
        "INSERT INTO refs (id, name, data_type, organism, user_id, created_at, otu_count, isolate_count, sequence_count) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(&reference.id)
    .bind(&reference.name)
    .bind(&reference.data_type)
    .bind(&reference.organism)
    .bind(&reference.user.id)
    .bind(created_at)
    .bind(reference.otu_count)
    .bind(reference.isolate_count)
    .bind(reference.sequence_count)
    .execute(&mut *tx)
    .await?;
    for (position, otu) in parsed.otus.iter().enumerate() {
        let summary = serde_json::to_string(&otu.summary()).map_err(anyhow::Error::from)?;
        let document = serde_json::to_string(otu).map_err(anyhow::Error::from)?;
        sqlx::query(
            "INSERT INTO ref_otus (ref_id, otu_id, position, summary, document) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(&reference.id)
        .bind(&otu.id)
        .bind(position as i64)
        .bind(summary)
        .bind(document)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(())
}

pub async fn get_summary(db: &Db, id: &str) -> DbResult<Option<RefSummary>> {
    let row = sqlx::query("SELECT id, name, data_type FROM refs WHERE id = $1")
        .bind(id)
        .fetch_optional(db.reader())
        .await?;
    row.map(|r| {
        Ok(RefSummary {
            id: r.try_get("id")?,
            name: r.try_get("name")?,
            data_type: r.try_get("data_type")?,
        })
    })
    .transpose()
}

/// Freeze the reference's OTUs as a new index with the next version. `None` when the reference is gone.
///
/// In the same transaction its `build_index` job (`job_id`) is created (workflows §5.1).
pub async fn create_index(
    db: &Db,
    id: &str,
    job_id: &str,
    ref_id: &str,
    user: &UserRef,
    created_at: Micros,
) -> DbResult<Option<Index>> {
    if get_summary(db, ref_id).await?.is_none() {
        return Ok(None);
    }
    let mut tx = db.begin().await?;
    let counts = sqlx::query("SELECT otu_count, sequence_count FROM refs WHERE id = $1")
        .bind(ref_id)
        .fetch_one(&mut *tx)
        .await?;
    let otu_count: i64 = counts.try_get("otu_count")?;
    let sequence_count: i64 = counts.try_get("sequence_count")?;
    let version: i64 =
        sqlx::query_scalar("SELECT COALESCE(MAX(version) + 1, 0) FROM indexes WHERE ref_id = $1")
            .bind(ref_id)
            .fetch_one(&mut *tx)
            .await?;
    sqlx::query(
        "INSERT INTO indexes (id, ref_id, version, user_id, created_at, otu_count, sequence_count, \
         has_files, job_id) VALUES ($1, $2, $3, $4, $5, $6, $7, 0, $8)",
    )
    .bind(id)
    .bind(ref_id)
    .bind(version)
    .bind(&user.id)
    .bind(created_at)
    .bind(otu_count)
    .bind(sequence_count)
    .bind(job_id)
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "INSERT INTO index_otus (index_id, otu_id, position, summary) \
         SELECT $1, otu_id, position, summary FROM ref_otus WHERE ref_id = $2",
    )
    .bind(id)
    .bind(ref_id)
    .execute(&mut *tx)
    .await?;
    let summaries: Vec<String> =
        sqlx::query_scalar("SELECT summary FROM index_otus WHERE index_id = $1 ORDER BY position")
            .bind(id)
            .fetch_all(&mut *tx)
            .await?;
    let otus = (summaries.iter())
        .map(|text| serde_json::from_str::<OtuSummary>(text))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| DbError::Other(e.into()))?;
    let args = serde_json::json!({
        "ref_id": ref_id,
        "user_id": user.id,
        "index_id": id,
        "index_version": version,
        "manifest": super::indexes::manifest(&otus),
    });
    super::jobs::insert(
        &mut tx,
        job_id,
        Workflow::BuildIndex,
        &args,
        &user.id,
        created_at,
    )
    .await?;
    tx.commit().await?;
    super::indexes::get(db, id).await
}

/// The reference's highest-version index: `(id, version)`.
pub async fn latest_index(db: &Db, ref_id: &str) -> DbResult<Option<(String, i64)>> {
    let row = sqlx::query(
        "SELECT id, version FROM indexes WHERE ref_id = $1 ORDER BY version DESC LIMIT 1",
    )
    .bind(ref_id)
    .fetch_optional(db.reader())
    .await?;
    row.map(|r| Ok((r.try_get("id")?, r.try_get("version")?)))
        .transpose()
}

/// Every OTU of an index snapshot, by id.
pub async fn index_otus(db: &Db, index_id: &str) -> DbResult<HashMap<String, OtuSummary>> {
    let rows = sqlx::query("SELECT summary FROM index_otus WHERE index_id = $1")
        .bind(index_id)
        .fetch_all(db.reader())
        .await?;
    let mut otus = HashMap::with_capacity(rows.len());
    for row in rows {
        let text: String = row.try_get("summary")?;
        let otu: OtuSummary = serde_json::from_str(&text).map_err(|e| DbError::Other(e.into()))?;
        otus.insert(otu.id.clone(), otu);
    }
    Ok(otus)
}
