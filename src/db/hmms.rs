//! HMM annotations: add-only, so formatted NuVs results never change under an analysis.

use std::collections::HashMap;

use sqlx::Row;

use super::{Db, DbError, DbResult};
use crate::import::hmms::ParsedAnnotation;
use crate::model::hmm::AnnotationSummary;

/// Insert the annotations whose ids are new; returns `(imported, total stored)`.
pub async fn insert_new(db: &Db, annotations: &[ParsedAnnotation]) -> DbResult<(u64, i64)> {
    let mut tx = db.begin().await?;
    let mut imported = 0;
    for annotation in annotations {
        let summary = AnnotationSummary {
            cluster: annotation.cluster,
            families: annotation.families.clone(),
            names: annotation.names.clone(),
        };
        let summary = serde_json::to_string(&summary).map_err(anyhow::Error::from)?;
        let document = serde_json::to_string(&annotation.document).map_err(anyhow::Error::from)?;
        imported += sqlx::query(
            "INSERT INTO hmm_annotations (id, cluster, summary, document) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (id) DO NOTHING",
        )
        .bind(&annotation.id)
        .bind(annotation.cluster)
        .bind(summary)
        .bind(document)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    }
    let total: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM hmm_annotations")
        .fetch_one(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok((imported, total))
}

/// The stored annotations among `ids`: one statement whatever the number of ids.
pub async fn get_many(db: &Db, ids: &[String]) -> DbResult<HashMap<String, AnnotationSummary>> {
    let rows = super::fetch_for_ids(
        db,
        "SELECT id, summary FROM hmm_annotations WHERE id IN (SELECT value FROM json_each($1))",
        "SELECT id, summary FROM hmm_annotations \
         WHERE id IN (SELECT jsonb_array_elements_text($1::jsonb))",
        ids,
    )
    .await?;
    let mut found = HashMap::with_capacity(rows.len());
    for row in rows {
        let id: String = row.try_get("id")?;
        let text: String = row.try_get("summary")?;
        let summary = serde_json::from_str(&text).map_err(|e| DbError::Other(e.into()))?;
        found.insert(id, summary);
    }
    Ok(found)
}

/// Every annotated cluster (U36's check).
pub async fn clusters(db: &Db) -> DbResult<std::collections::HashSet<i64>> {
    let rows: Vec<i64> = sqlx::query_scalar("SELECT DISTINCT cluster FROM hmm_annotations")
        .fetch_all(db.reader())
        .await?;
    Ok(rows.into_iter().collect())
}

/// Every stored annotation as `(id, document)`, ascending by cluster then id (J27).
pub async fn all_documents(db: &Db) -> DbResult<Vec<(String, String)>> {
    let rows = sqlx::query("SELECT id, document FROM hmm_annotations ORDER BY cluster, id")
        .fetch_all(db.reader())
        .await?;
    rows.iter()
        .map(|r| Ok((r.try_get("id")?, r.try_get("document")?)))
        .collect()
}

/// The record of the imported profiles (U36): replaces any earlier one.
pub async fn put_profiles(
    db: &Db,
    size: i64,
    sha256: &str,
    profile_count: i64,
    uploaded_at: crate::model::time::Micros,
) -> DbResult<()> {
    sqlx::query(
        "INSERT INTO hmm_profiles (singleton, size, sha256, profile_count, uploaded_at) \
         VALUES (1, $1, $2, $3, $4) ON CONFLICT (singleton) DO UPDATE SET size = $1, sha256 = $2, \
         profile_count = $3, uploaded_at = $4",
    )
    .bind(size)
    .bind(sha256)
    .bind(profile_count)
    .bind(uploaded_at)
    .execute(&mut *db.write().await?)
    .await?;
    Ok(())
}

/// Whether profiles have been imported.
pub async fn has_profiles(db: &Db) -> DbResult<bool> {
    let row: Option<i64> = sqlx::query_scalar("SELECT 1 FROM hmm_profiles")
        .fetch_optional(db.reader())
        .await?;
    Ok(row.is_some())
}
