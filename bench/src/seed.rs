//! Rows written straight into the database, for sizes the API would take too long to build: the
//! million-analysis list. Deterministic: copies of one analysis made through the API, with ids
//! `seed<n>` and `created_at` one microsecond apart, older than every analysis made before.

use anyhow::{Context, Result};
use sqlx::{Connection, Executor};

/// Rows per transaction.
const BATCH: u64 = 100_000;

/// Add `count` copies of analysis `template` (ids `seed<first>` on).
pub async fn analyses(database_url: &str, template: &str, first: u64, count: u64) -> Result<()> {
    let sqlite = database_url.starts_with("sqlite:");
    let series = if sqlite {
        "WITH RECURSIVE series(n) AS (SELECT $2 UNION ALL SELECT n + 1 FROM series WHERE n < $3) \
         SELECT n FROM series"
    } else {
        "SELECT generate_series($2::bigint, $3::bigint) AS n"
    };
    let sql = format!(
        "INSERT INTO analyses (id, sample_id, job_id, user_id, workflow, ref_id, index_id, \
         subtractions, created_at, updated_at, ready, read_count) \
         SELECT 'seed' || CAST(s.n AS TEXT), a.sample_id, a.job_id, a.user_id, a.workflow, a.ref_id, \
         a.index_id, a.subtractions, a.created_at - 1000000000 - s.n, a.updated_at, a.ready, \
         a.read_count FROM analyses a, ({series}) s WHERE a.id = $1"
    );
    let mut start = first;
    let end = first + count;
    while start < end {
        let last = (start + BATCH).min(end) - 1;
        let mut conn = connect(database_url).await?;
        let mut tx = conn.begin().await?;
        let done = tx
            .execute(
                sqlx::query(&sql)
                    .bind(template)
                    .bind(start as i64)
                    .bind(last as i64),
            )
            .await
            .with_context(|| format!("seeding analyses {start}..={last}"))?;
        tx.commit().await?;
        anyhow::ensure!(
            done.rows_affected() == last - start + 1,
            "analysis {template} to copy is missing"
        );
        start = last + 1;
    }
    analyze(database_url).await
}

/// On PostgreSQL, what its documentation asks after a bulk load (autovacuum would do it within a
/// minute or so): statistics of every table. Without them the planner takes the freshly filled
/// `analyses` for nearly empty and sorts it instead of walking its index, and it keeps
/// re-planning the list on every request (about 1 ms) instead of using its cached plan.
pub async fn analyze(database_url: &str) -> Result<()> {
    if !database_url.starts_with("sqlite:") {
        connect(database_url).await?.execute("ANALYZE").await?;
    }
    Ok(())
}

async fn connect(database_url: &str) -> Result<sqlx::AnyConnection> {
    sqlx::any::install_default_drivers();
    Ok(sqlx::AnyConnection::connect(database_url).await?)
}
