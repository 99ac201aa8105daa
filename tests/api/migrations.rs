//! Migrations through sqlx's migrator: databases of the earlier bookkeeping are adopted, an edited
//! migration is refused, and the SQLite and PostgreSQL schemas agree.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use sqlx::{Connection, Executor, Row};
use tempfile::TempDir;

use crate::support::{create_pg_database, process_storage, Backend, PgDatabase};
use vira::db::{Db, PoolSettings};

/// A database URL of `backend` for one test, and what keeps it alive.
pub(crate) async fn database(backend: Backend) -> Option<(String, TempDir, Option<PgDatabase>)> {
    let (dir, url, pg) = process_storage(backend).await?;
    Some((url, dir, pg))
}

async fn connect(url: &str) -> anyhow::Result<Db> {
    let pool = PoolSettings {
        max_connections: 2,
        acquire_timeout: Duration::from_secs(5),
        ping_after_idle: Duration::from_secs(1),
        sqlite_cache_kib: 512,
    };
    Db::connect(url, &pool).await
}

pub(crate) async fn raw_connection(url: &str) -> sqlx::AnyConnection {
    sqlx::any::install_default_drivers();
    let url = match url.starts_with("sqlite:") {
        true => format!("{url}?mode=rwc"),
        false => url.to_owned(),
    };
    sqlx::AnyConnection::connect(&url).await.unwrap()
}

fn migration_files(dialect: &str) -> Vec<(i64, String)> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("migrations")
        .join(dialect);
    let mut files: Vec<(i64, String)> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .map(|name| {
            let (number, _) = name.split_once('_').expect("NNNN_name.sql");
            (number.parse().unwrap(), name)
        })
        .collect();
    files.sort();
    files
}

/// `--sqlite-cache-kib` sets the page cache of every SQLite connection, readers and the writer.
#[tokio::test]
async fn sqlite_page_cache_is_configured() {
    let (url, _dir, _pg) = database(Backend::Sqlite).await.unwrap();
    let pool = PoolSettings {
        max_connections: 2,
        acquire_timeout: Duration::from_secs(5),
        ping_after_idle: Duration::from_secs(1),
        sqlite_cache_kib: 300,
    };
    let db = Db::connect(&url, &pool).await.unwrap();
    let read: i64 = sqlx::query_scalar("PRAGMA cache_size")
        .fetch_one(db.reader())
        .await
        .unwrap();
    let written: i64 = sqlx::query_scalar("PRAGMA cache_size")
        .fetch_one(&mut *db.write().await.unwrap())
        .await
        .unwrap();
    assert_eq!((read, written), (-300, -300));
}

#[test]
fn both_dialects_have_the_same_migrations() {
    let sqlite = migration_files("sqlite");
    let postgres = migration_files("postgres");
    assert_eq!(
        sqlite, postgres,
        "the same numbers and names in both folders"
    );
    let numbers: Vec<i64> = sqlite.iter().map(|(n, _)| *n).collect();
    let expected: Vec<i64> = (1..=numbers.len() as i64).collect();
    assert_eq!(numbers, expected, "numbered 1, 2, 3 … without gaps");
}

/// Apply the migration files by hand and record them the way vira did before sqlx's migrator.
async fn legacy_database(url: &str, dialect: &str) {
    legacy_database_until(url, dialect, i64::MAX).await;
    let mut conn = raw_connection(url).await;
    sqlx::query(
        "INSERT INTO users (id, handle, administrator, key_digest, created_at) VALUES ('u1', 'old', 1, 'd', 0)",
    )
    .execute(&mut conn)
    .await
    .unwrap();
}

/// [`legacy_database`] with the migrations numbered up to `last` only.
pub(crate) async fn legacy_database_until(url: &str, dialect: &str, last: i64) {
    let mut conn = raw_connection(url).await;
    conn.execute("CREATE TABLE vira_migrations (number BIGINT PRIMARY KEY, name TEXT NOT NULL)")
        .await
        .unwrap();
    for (number, name) in migration_files(dialect)
        .into_iter()
        .filter(|(n, _)| *n <= last)
    {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("migrations")
            .join(dialect)
            .join(&name);
        conn.execute(std::fs::read_to_string(path).unwrap().as_str())
            .await
            .unwrap();
        sqlx::query("INSERT INTO vira_migrations (number, name) VALUES ($1, $2)")
            .bind(number)
            .bind(name)
            .execute(&mut conn)
            .await
            .unwrap();
    }
}

/// A user's key from before named keys (migration 0010) keeps working: it becomes their first
/// named key.
async fn keys_survive_the_move_to_named_keys(backend: Backend) {
    let Some((url, dir, _pg)) = database(backend).await else {
        return;
    };
    let dialect = match backend {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgres",
    };
    legacy_database_until(&url, dialect, 9).await;
    let key = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    let digest = {
        use sha2::Digest;
        hex::encode(sha2::Sha256::digest(key.as_bytes()))
    };
    let mut conn = raw_connection(&url).await;
    sqlx::query(
        "INSERT INTO users (id, handle, administrator, key_digest, created_at) \
         VALUES ('u1', 'veteran', 1, $1, 0)",
    )
    .bind(&digest)
    .execute(&mut conn)
    .await
    .unwrap();
    drop(conn);
    let instance = crate::support::Instance::start(dir.path(), &url, &["--no-blast-worker"]).await;
    let veteran = crate::support::Creds {
        login: "veteran".into(),
        key: key.into(),
    };
    let account = instance.get("/api/account", &veteran).await;
    account.assert_status(200);
    assert_eq!(account.json()["active"], true);
    let keys = instance.get("/api/account/keys", &veteran).await.json();
    assert_eq!(keys.as_array().unwrap().len(), 1, "{keys}");
    assert_eq!(keys[0]["name"], "Created with the user");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_survive_the_move_to_named_keys_sqlite() {
    keys_survive_the_move_to_named_keys(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_survive_the_move_to_named_keys_postgres() {
    keys_survive_the_move_to_named_keys(Backend::Postgres).await;
}

async fn adopts_legacy_bookkeeping(backend: Backend) {
    let Some((url, _dir, _pg)) = database(backend).await else {
        return;
    };
    let dialect = match backend {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgres",
    };
    legacy_database(&url, dialect).await;
    let db = connect(&url).await.expect("a legacy database opens");
    let versions: Vec<i64> =
        sqlx::query_scalar("SELECT version FROM _sqlx_migrations WHERE success ORDER BY version")
            .fetch_all(db.reader())
            .await
            .unwrap();
    let expected: Vec<i64> = migration_files(dialect).iter().map(|(n, _)| *n).collect();
    assert_eq!(versions, expected);
    let old = sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM vira_migrations")
        .fetch_one(db.reader())
        .await;
    assert!(old.is_err(), "vira_migrations is gone");
    let handle: String = sqlx::query_scalar("SELECT handle FROM users WHERE id = 'u1'")
        .fetch_one(db.reader())
        .await
        .unwrap();
    assert_eq!(handle, "old", "the data survived");
    db.close().await;
    // And it opens again as an ordinary sqlx-migrated database.
    connect(&url).await.unwrap().close().await;
}

#[tokio::test]
async fn a_legacy_database_is_adopted_sqlite() {
    adopts_legacy_bookkeeping(Backend::Sqlite).await;
}

#[tokio::test]
async fn a_legacy_database_is_adopted_postgres() {
    adopts_legacy_bookkeeping(Backend::Postgres).await;
}

async fn refuses_an_edited_migration(backend: Backend) {
    let Some((url, _dir, _pg)) = database(backend).await else {
        return;
    };
    connect(&url).await.unwrap().close().await;
    let mut conn = raw_connection(&url).await;
    // As if 0001 had been edited after it was applied: its recorded checksum no longer matches.
    sqlx::query("UPDATE _sqlx_migrations SET checksum = $1 WHERE version = 1")
        .bind(vec![0u8; 48])
        .execute(&mut conn)
        .await
        .unwrap();
    let error = connect(&url)
        .await
        .expect_err("an edited migration is refused");
    let message = format!("{error:#}");
    assert!(message.contains("modified"), "{message}");
}

#[tokio::test]
async fn an_edited_migration_is_refused_sqlite() {
    refuses_an_edited_migration(Backend::Sqlite).await;
}

#[tokio::test]
async fn an_edited_migration_is_refused_postgres() {
    refuses_an_edited_migration(Backend::Postgres).await;
}

/// Per table: column → nullable; primary key columns; other indexes as (columns, unique).
#[derive(Debug, PartialEq, Eq, Default)]
struct Table {
    columns: BTreeMap<String, bool>,
    primary_key: Vec<String>,
    indexes: BTreeSet<(Vec<String>, bool)>,
}

async fn sqlite_schema(db: &Db) -> BTreeMap<String, Table> {
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' \
         AND name <> '_sqlx_migrations'",
    )
    .fetch_all(db.reader())
    .await
    .unwrap();
    let mut schema = BTreeMap::new();
    for table in tables {
        let mut t = Table::default();
        let mut pk: Vec<(i64, String)> = Vec::new();
        for row in sqlx::query(&format!(
            "SELECT name, \"notnull\", pk FROM pragma_table_info('{table}')"
        ))
        .fetch_all(db.reader())
        .await
        .unwrap()
        {
            let name: String = row.get(0);
            let not_null: i64 = row.get(1);
            let pk_position: i64 = row.get(2);
            // A PRIMARY KEY column is NOT NULL in PostgreSQL whether or not it says so.
            t.columns
                .insert(name.clone(), not_null == 0 && pk_position == 0);
            if pk_position > 0 {
                pk.push((pk_position, name));
            }
        }
        pk.sort();
        t.primary_key = pk.into_iter().map(|(_, n)| n).collect();
        for row in sqlx::query(&format!(
            "SELECT name, \"unique\", origin FROM pragma_index_list('{table}')"
        ))
        .fetch_all(db.reader())
        .await
        .unwrap()
        {
            let (name, unique, origin): (String, i64, String) =
                (row.get(0), row.get(1), row.get(2));
            if origin == "pk" {
                continue;
            }
            let columns: Vec<String> = sqlx::query_scalar(&format!(
                "SELECT name FROM pragma_index_info('{name}') ORDER BY seqno"
            ))
            .fetch_all(db.reader())
            .await
            .unwrap();
            t.indexes.insert((columns, unique != 0));
        }
        schema.insert(table, t);
    }
    schema
}

async fn postgres_schema(db: &Db) -> BTreeMap<String, Table> {
    let mut schema: BTreeMap<String, Table> = BTreeMap::new();
    for row in sqlx::query(
        "SELECT table_name::text, column_name::text, is_nullable::text FROM information_schema.columns \
         WHERE table_schema = current_schema() AND table_name <> '_sqlx_migrations'",
    )
    .fetch_all(db.reader())
    .await
    .unwrap()
    {
        let (table, column, nullable): (String, String, String) = (row.get(0), row.get(1), row.get(2));
        schema
            .entry(table)
            .or_default()
            .columns
            .insert(column, nullable == "YES");
    }
    // Every index with its columns in order, whether it backs the primary key, and uniqueness.
    for row in sqlx::query(
        "SELECT t.relname::text, ix.indisprimary, ix.indisunique, \
                array_to_string(ARRAY(SELECT a.attname FROM unnest(ix.indkey) WITH ORDINALITY AS k(attnum, n) \
                  JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum ORDER BY k.n), ',') \
         FROM pg_index ix JOIN pg_class t ON t.oid = ix.indrelid \
         JOIN pg_namespace ns ON ns.oid = t.relnamespace \
         WHERE ns.nspname = current_schema() AND t.relname <> '_sqlx_migrations'",
    )
    .fetch_all(db.reader())
    .await
    .unwrap()
    {
        let (table, primary, unique, columns): (String, bool, bool, String) =
            (row.get(0), row.get(1), row.get(2), row.get(3));
        let columns: Vec<String> = columns.split(',').map(str::to_owned).collect();
        let entry = schema.entry(table).or_default();
        if primary {
            entry.primary_key = columns;
        } else {
            entry.indexes.insert((columns, unique));
        }
    }
    schema
}

#[tokio::test]
async fn sqlite_and_postgresql_schemas_agree() {
    let dir = TempDir::new().unwrap();
    let sqlite = connect(&format!(
        "sqlite://{}/vira.db?mode=rwc",
        dir.path().display()
    ))
    .await
    .unwrap();
    let Some((url, pg)) = create_pg_database().await else {
        return;
    };
    let postgres = connect(&url).await.unwrap();
    let (left, right) = (
        sqlite_schema(&sqlite).await,
        postgres_schema(&postgres).await,
    );
    // The comparison sees what it compares.
    assert!(
        left["analyses"].indexes.len() >= 2,
        "{:?}",
        left["analyses"]
    );
    assert_eq!(left["analysis_files"].primary_key, ["id"]);
    assert_eq!(left["user_groups"].primary_key, ["user_id", "group_id"]);
    assert_eq!(left["samples"].columns.get("group_id"), Some(&true));
    assert_eq!(left["samples"].columns.get("name"), Some(&false));
    assert_eq!(
        left.keys().collect::<Vec<_>>(),
        right.keys().collect::<Vec<_>>(),
        "the same tables"
    );
    for (table, sqlite_table) in &left {
        assert_eq!(sqlite_table, &right[table], "table {table}");
    }
    postgres.close().await;
    drop(pg);
}

async fn placeholders_in_any_order(backend: Backend) {
    let Some((url, _dir, _pg)) = database(backend).await else {
        return;
    };
    let db = connect(&url).await.unwrap();
    // `$n` are numbered parameters on both databases, whatever their order of appearance, and
    // one may be used twice.
    let text: String = sqlx::query_scalar("SELECT $2 || $1 || $2")
        .bind("a")
        .bind("b")
        .fetch_one(db.reader())
        .await
        .unwrap();
    assert_eq!(text, "bab");
    db.close().await;
}

#[tokio::test]
async fn placeholders_may_come_in_any_order_sqlite() {
    placeholders_in_any_order(Backend::Sqlite).await;
}

#[tokio::test]
async fn placeholders_may_come_in_any_order_postgres() {
    placeholders_in_any_order(Backend::Postgres).await;
}
