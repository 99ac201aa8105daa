//! Runner credentials for the user API (U33–U35) and the command line (workflows.md §7.1).

use crate::app::App;
use crate::auth::{keys, valid_runner_name};
use crate::db;
use crate::model::failure::{Failure, Outcome};
use crate::model::time::now_micros;
use crate::model::views::Runner;

/// Create a runner made by administrator `user_id` (`""` from the command line); the answer
/// carries `credential`, the only time the key is shown. 422 for an invalid name, 400 when an
/// unrevoked runner has it.
pub async fn create(app: &App, name: &str, user_id: &str) -> Outcome<Runner> {
    if !valid_runner_name(name) {
        return Err(Failure::invalid_field("name", "invalid name"));
    }
    let key = keys::new_key();
    let id = db::runners::fresh_id(&app.db).await?;
    let mut runner = db::runners::insert(
        &app.db,
        &id,
        name,
        &keys::digest(&key),
        user_id,
        now_micros(),
    )
    .await?
    .ok_or_else(|| Failure::bad_request("Runner already exists"))?;
    runner.credential = Some(format!("runner-{id}:{key}"));
    Ok(runner)
}

/// Every runner, oldest first.
pub async fn list(app: &App) -> Outcome<Vec<Runner>> {
    Ok(db::runners::list(&app.db).await?)
}

/// Revoke a runner: 404 when unknown or already revoked. Its credential is refused from the next
/// request on (runner credentials are not cached).
pub async fn revoke(app: &App, id: &str) -> Outcome<()> {
    if db::runners::revoke(&app.db, id).await? {
        Ok(())
    } else {
        Err(Failure::not_found())
    }
}
