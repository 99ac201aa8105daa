//! Migrations through sqlx's migrator: every `migrations/<dialect>/NNNN_name.sql` is embedded at
//! build time and applied in order, each in a transaction, under PostgreSQL's advisory lock, with
//! its checksum recorded in `_sqlx_migrations` so an applied migration that was edited later is
//! refused at start-up instead of silently ignored.

use sqlx::migrate::{Migrate, Migrator};
use sqlx::{Acquire, AnyConnection, Executor};

use super::{Db, Dialect};

static SQLITE: Migrator = sqlx::migrate!("migrations/sqlite");
static POSTGRES: Migrator = sqlx::migrate!("migrations/postgres");

/// The embedded migrations of a dialect.
pub fn migrator(dialect: Dialect) -> &'static Migrator {
    match dialect {
        Dialect::Sqlite => &SQLITE,
        Dialect::Postgres => &POSTGRES,
    }
}

pub async fn run(db: &Db) -> anyhow::Result<()> {
    let migrator = migrator(db.dialect());
    let mut conn = db.writer().acquire().await?;
    // The one-time move below runs under the same lock the migrator takes, so instances starting
    // together move the bookkeeping once.
    conn.lock().await?;
    let adopted = adopt_legacy_bookkeeping(&mut conn, db.dialect(), migrator).await;
    conn.unlock().await?;
    adopted?;
    migrator.run_direct(&mut *conn).await?;
    Ok(())
}

/// Embedded migrations that the database has not recorded as applied (readiness: an instance
/// whose database another, older instance migrated is not ready to serve this binary's queries).
pub async fn unapplied(db: &Db) -> super::DbResult<usize> {
    let applied: Vec<i64> =
        sqlx::query_scalar("SELECT version FROM _sqlx_migrations WHERE success = $1")
            .bind(true)
            .fetch_all(db.reader())
            .await?;
    Ok(migrator(db.dialect())
        .iter()
        .filter(|m| !applied.contains(&m.version))
        .count())
}

/// Databases made before vira used sqlx's migrator recorded applied migrations in
/// `vira_migrations (number, name)`. Record them in `_sqlx_migrations` with the checksums of the
/// embedded files (those files were never edited), then drop the old table.
async fn adopt_legacy_bookkeeping(
    conn: &mut AnyConnection,
    dialect: Dialect,
    migrator: &Migrator,
) -> anyhow::Result<()> {
    let exists = match dialect {
        Dialect::Sqlite => {
            "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'vira_migrations'"
        }
        Dialect::Postgres => {
            "SELECT COUNT(*) FROM information_schema.tables \
             WHERE table_schema = current_schema() AND table_name = 'vira_migrations'"
        }
    };
    let found: i64 = sqlx::query_scalar(exists).fetch_one(&mut *conn).await?;
    if found == 0 {
        return Ok(());
    }
    conn.ensure_migrations_table().await?;
    let mut tx = conn.begin().await?;
    let applied: Vec<i64> = sqlx::query_scalar("SELECT number FROM vira_migrations")
        .fetch_all(&mut *tx)
        .await?;
    for migration in migrator.iter().filter(|m| applied.contains(&m.version)) {
        sqlx::query(
            "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
             VALUES ($1, $2, $3, $4, 0) ON CONFLICT (version) DO NOTHING",
        )
        .bind(migration.version)
        .bind(migration.description.as_ref())
        .bind(true)
        .bind(migration.checksum.as_ref())
        .execute(&mut *tx)
        .await?;
    }
    tx.execute("DROP TABLE vira_migrations").await?;
    tx.commit().await?;
    tracing::info!(
        migrations = applied.len(),
        "moved migration bookkeeping to _sqlx_migrations"
    );
    Ok(())
}
