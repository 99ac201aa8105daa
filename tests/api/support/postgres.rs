//! A PostgreSQL database per test, and the URL plumbing to reach it through a proxy.

pub const DEFAULT_PG_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

/// A PostgreSQL database that exists for one test.
pub struct PgDatabase {
    admin_url: String,
    name: String,
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        let admin_url = self.admin_url.clone();
        let name = self.name.clone();
        // Drop runs outside async context guarantees: use a private runtime on a plain thread.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async move {
                use sqlx::Connection;
                if let Ok(mut conn) = sqlx::PgConnection::connect(&admin_url).await {
                    let sql = format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)");
                    let _ = sqlx::Executor::execute(&mut conn, sql.as_str()).await;
                }
            });
        })
        .join();
    }
}

pub fn pg_admin_url() -> String {
    std::env::var("VIRA_TEST_DATABASE_URL").unwrap_or_else(|_| DEFAULT_PG_URL.to_owned())
}

/// Create a fresh PostgreSQL database; `None` (with the reason printed) when no server answers,
/// except with `CI` set, where a missing server fails the test.
pub async fn create_pg_database() -> Option<(String, PgDatabase)> {
    use sqlx::Connection;
    let admin_url = pg_admin_url();
    let mut conn = match sqlx::PgConnection::connect(&admin_url).await {
        Ok(conn) => conn,
        Err(e) if std::env::var_os("CI").is_some() => {
            panic!("CI is set, so the PostgreSQL half must run, but no server answers at {admin_url}: {e}");
        }
        Err(e) => {
            eprintln!("SKIPPED PostgreSQL run: no server answers at {admin_url}: {e}");
            return None;
        }
    };
    let name = format!("vira_test_{}", vira::model::ids::new_id());
    sqlx::Executor::execute(&mut conn, format!("CREATE DATABASE \"{name}\"").as_str())
        .await
        .expect("create test database");
    let base = admin_url
        .rsplit_once('/')
        .map(|(base, _)| base.to_owned())
        .unwrap_or(admin_url.clone());
    let url = format!("{base}/{name}");
    Some((url, PgDatabase { admin_url, name }))
}

impl PgDatabase {
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Terminate every server process connected to this database (as a PostgreSQL restart would,
    /// for this database only); the number of backends terminated.
    pub async fn terminate_backends(&self) -> i64 {
        use sqlx::Connection;
        let mut conn = sqlx::PgConnection::connect(&self.admin_url)
            .await
            .expect("connect to the PostgreSQL admin database");
        let terminated: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
             WHERE datname = $1 AND pid <> pg_backend_pid()) AS t",
        )
        .bind(&self.name)
        .fetch_one(&mut conn)
        .await
        .expect("pg_terminate_backend");
        terminated
    }
}

/// `host:port` of a `postgres://` URL (port 5432 when absent).
pub fn pg_host_port(url: &str) -> String {
    let (_, hostport, _) = split_pg_url(url);
    if hostport.is_empty() {
        "127.0.0.1:5432".to_owned()
    } else if hostport
        .rsplit_once(':')
        .is_some_and(|(_, p)| !p.contains(']'))
    {
        hostport.to_owned()
    } else {
        format!("{hostport}:5432")
    }
}

/// The same URL with its host and port replaced by `addr` (to go through a [`TcpProxy`]).
pub fn pg_url_via(url: &str, addr: std::net::SocketAddr) -> String {
    let (head, _, rest) = split_pg_url(url);
    format!("{head}{addr}{rest}")
}

/// `(scheme://userinfo@, host:port, /database?query)`.
fn split_pg_url(url: &str) -> (&str, &str, &str) {
    let scheme_end = url.find("://").map_or(0, |i| i + 3);
    let after = &url[scheme_end..];
    let authority_end = after.find(['/', '?']).unwrap_or(after.len());
    let authority = &after[..authority_end];
    let host_start = authority.rfind('@').map_or(0, |i| i + 1);
    (
        &url[..scheme_end + host_start],
        &authority[host_start..],
        &after[authority_end..],
    )
}
