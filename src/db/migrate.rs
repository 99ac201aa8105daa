//! A small migration runner: numbered SQL files per dialect, applied in order, each in a transaction.

use sqlx::Executor;

use super::{Db, Dialect};

/// (number, name, SQLite SQL, PostgreSQL SQL). Never edit an entry once released; add a new one.
const MIGRATIONS: &[(i64, &str, &str, &str)] = &[
    (
        1,
        "foundation",
        include_str!("../../migrations/sqlite/0001_foundation.sql"),
        include_str!("../../migrations/postgres/0001_foundation.sql"),
    ),
    (
        2,
        "blast",
        include_str!("../../migrations/sqlite/0002_blast.sql"),
        include_str!("../../migrations/postgres/0002_blast.sql"),
    ),
];

pub async fn run(db: &Db) -> anyhow::Result<()> {
    let pool = db.writer();
    if db.dialect() == Dialect::Postgres {
        // Several instances may start at once against one database: serialize their migrations.
        let mut conn = pool.acquire().await?;
        conn.execute("SELECT pg_advisory_lock(7212001)").await?;
        let result = apply(db, &mut conn).await;
        conn.execute("SELECT pg_advisory_unlock(7212001)").await?;
        return result;
    }
    let mut conn = pool.acquire().await?;
    apply(db, &mut conn).await
}

async fn apply(db: &Db, conn: &mut sqlx::AnyConnection) -> anyhow::Result<()> {
    conn.execute(
        "CREATE TABLE IF NOT EXISTS vira_migrations (number BIGINT PRIMARY KEY, name TEXT NOT NULL)",
    )
    .await?;
    let applied: Vec<i64> = sqlx::query_scalar("SELECT number FROM vira_migrations")
        .fetch_all(&mut *conn)
        .await?;
    for (number, name, sqlite, postgres) in MIGRATIONS {
        if applied.contains(number) {
            continue;
        }
        let sql = match db.dialect() {
            Dialect::Sqlite => sqlite,
            Dialect::Postgres => postgres,
        };
        let mut tx = sqlx::Connection::begin(&mut *conn).await?;
        tx.execute(*sql).await?;
        sqlx::query("INSERT INTO vira_migrations (number, name) VALUES ($1, $2)")
            .bind(number)
            .bind(*name)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        tracing::info!(number, name, "applied migration");
    }
    Ok(())
}
