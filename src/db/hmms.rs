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
