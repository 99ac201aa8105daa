//! `/api/health/live` and `/api/health/ready` (issue 14): unauthenticated, never cached, and each
//! readiness check failing on its own with 503 `not_ready` naming it.

use std::time::Duration;

use reqwest::Method;
use serde_json::Value;

use crate::support::*;

async fn health(app: &TestApp, which: &str) -> Reply {
    let request = app.request(Method::GET, &format!("/api/health/{which}"), None);
    app.send(request).await
}

fn always_check(config: &mut vira::config::ServeConfig) {
    config.ready_cache_ms = 0;
}

crate::both!(
    live_and_ready_without_credentials,
    config = always_check,
    |app: TestApp| async move {
        let live = health(&app, "live").await;
        live.assert_status(200);
        assert_eq!(live.json(), serde_json::json!({"status": "live"}));
        assert_eq!(live.header("cache-control").as_deref(), Some("no-store"));

        let ready = health(&app, "ready").await;
        ready.assert_status(200);
        assert_eq!(ready.header("cache-control").as_deref(), Some("no-store"));
        let body = ready.json();
        assert_eq!(body["status"], "ready");
        for check in vira::model::health::CHECKS {
            assert_eq!(body["checks"][check], "ok", "{check} in {body}");
        }
    }
);

fn no_disk_is_big_enough(config: &mut vira::config::ServeConfig) {
    always_check(config);
    config.ready_min_free_bytes = u64::MAX;
}

crate::both!(
    too_little_free_space_is_not_ready,
    config = no_disk_is_big_enough,
    |app: TestApp| async move {
        let ready = health(&app, "ready").await;
        ready.assert_status(503);
        let body = ready.json();
        assert_eq!(body["id"], "not_ready");
        assert_eq!(body["message"], "Not ready: free_space");
        assert_keys(&body["errors"], &["free_space"]);
        // Nothing about the machine's layout.
        let text = body.to_string();
        assert!(!text.contains(app.data.path().to_str().unwrap()), "{text}");
        health(&app, "live").await.assert_status(200);
    }
);

crate::both!(
    an_unapplied_migration_is_not_ready,
    config = always_check,
    |app: TestApp| async move {
        // As if an older binary had migrated this database: the newest migration is missing.
        sqlx::query("DELETE FROM _sqlx_migrations WHERE version = (SELECT MAX(version) FROM _sqlx_migrations)")
        .execute(&mut *app.app.db.write().await.unwrap())
        .await
        .unwrap();
        let ready = health(&app, "ready").await;
        ready.assert_status(503);
        let body = ready.json();
        assert_eq!(body["message"], "Not ready: migrations");
        assert_eq!(
            body["errors"]["migrations"][0],
            "1 migrations of this version are not applied"
        );
    }
);

crate::both!(
    an_unwritable_file_store_is_not_ready,
    config = always_check,
    |app: TestApp| async move {
        // Uploads write their temporary objects under tmp/: make that impossible (a file in its way;
        // permissions would not stop root).
        let tmp = app.data.path().join("tmp");
        std::fs::remove_dir_all(&tmp).unwrap();
        std::fs::write(&tmp, b"in the way").unwrap();
        let ready = health(&app, "ready").await;
        ready.assert_status(503);
        assert_eq!(ready.json()["message"], "Not ready: storage_writable");
        std::fs::remove_file(&tmp).unwrap();
        std::fs::create_dir(&tmp).unwrap();
        health(&app, "ready").await.assert_status(200);
    }
);

crate::both!(
    readiness_is_reused_within_the_cache_time,
    config = |config: &mut vira::config::ServeConfig| {
        config.ready_cache_ms = 60_000;
    },
    |app: TestApp| async move {
        health(&app, "ready").await.assert_status(200);
        let tmp = app.data.path().join("tmp");
        std::fs::remove_dir_all(&tmp).unwrap();
        std::fs::write(&tmp, b"in the way").unwrap();
        // Within the cache time the earlier report stands: polls cost no checks.
        health(&app, "ready").await.assert_status(200);
        std::fs::remove_file(&tmp).unwrap();
        std::fs::create_dir(&tmp).unwrap();
    }
);

/// The database goes away: ready answers 503 `database` within about the check's timeout (never
/// hangs), live stays 200, and ready recovers by itself.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_database_is_not_ready_and_recovers() {
    let proxy = TcpProxy::start(pg_host_port(&pg_admin_url())).await;
    let proxy_addr = proxy.addr();
    let Some(app) = TestApp::spawn_with(Backend::Postgres, |config| {
        config.storage.database_url = config
            .storage
            .database_url
            .as_deref()
            .map(|url| pg_url_via(url, proxy_addr));
        config.db_acquire_timeout = 1;
        config.ready_db_timeout_ms = 500;
        config.ready_cache_ms = 0;
    })
    .await
    else {
        return;
    };
    health(&app, "ready").await.assert_status(200);
    proxy.cut().await;
    let started = std::time::Instant::now();
    let ready = health(&app, "ready").await;
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    ready.assert_status(503);
    let body: Value = ready.json();
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .starts_with("Not ready: database, migrations"),
        "{body}"
    );
    health(&app, "live").await.assert_status(200);
    proxy.restore().await;
    let mut recovered = false;
    for _ in 0..40 {
        if health(&app, "ready").await.status == 200 {
            recovered = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert!(recovered, "ready again after the database came back");
}
