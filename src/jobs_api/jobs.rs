//! Job routes for runners: acquire (J1), status (J2), ping (J7).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{json, Value};

use crate::app::AppState;
use crate::auth::keys;
use crate::db;
use crate::db::jobs::{Acquire, NewStatus, PushStatus};
use crate::http::body::JsonObject;
use crate::http::error::{ApiError, ApiResult};
use crate::http::validate::Fields;
use crate::http::{json_response, Ids};
use crate::model::time::{now_micros, rfc3339};
use crate::model::views::StatusEntry;
use crate::ops::auth::JobAuth;

const STATES: &[&str] = &[
    "waiting",
    "running",
    "complete",
    "cancelled",
    "error",
    "terminated",
];

/// PATCH /jobs-api/jobs/{job_id} — J1 (no authentication).
pub async fn acquire(
    State(app): State<AppState>,
    Ids(job_id): Ids<String>,
    body: JsonObject,
) -> ApiResult<Response> {
    let mut fields = body.fields();
    if let Some(acquired) = fields.boolean("acquired", true) {
        if !acquired {
            fields.add("acquired", "unallowed value false");
        }
    }
    fields.finish()?;
    let key = keys::new_key();
    match db::jobs::acquire(&app.db, &job_id, &keys::digest(&key), now_micros()).await? {
        Acquire::NotFound => Err(ApiError::not_found()),
        Acquire::AlreadyAcquired => Err(ApiError::bad_request("Job already acquired")),
        Acquire::Acquired => {
            let mut job = db::jobs::get(&app.db, &job_id)
                .await?
                .ok_or_else(ApiError::not_found)?;
            job.key = Some(key);
            Ok(json_response(StatusCode::OK, &job))
        }
    }
}

/// Validate the optional `error` object of a status entry.
fn error_object(fields: &mut Fields) -> Option<Value> {
    let value = fields.raw("error")?;
    if value.is_null() {
        return None;
    }
    let Some(map) = value.as_object() else {
        fields.add("error", "must be of dict type");
        return None;
    };
    let mut ok = true;
    match map.get("type") {
        None => {
            fields.add("error.type", "required field");
            ok = false;
        }
        Some(Value::String(_)) => {}
        Some(_) => {
            fields.add("error.type", "must be of string type");
            ok = false;
        }
    }
    for key in ["traceback", "details"] {
        let path = format!("error.{key}");
        match map.get(key) {
            None => {
                fields.add(&path, "required field");
                ok = false;
            }
            Some(Value::Array(items)) if items.iter().all(Value::is_string) => {}
            Some(Value::Array(_)) => {
                fields.add(&path, "must be of string type");
                ok = false;
            }
            Some(_) => {
                fields.add(&path, "must be of list type");
                ok = false;
            }
        }
    }
    ok.then(|| value.clone())
}

/// POST /jobs-api/jobs/{job_id}/status — J2.
pub async fn push_status(
    job: JobAuth,
    State(app): State<AppState>,
    Ids(job_id): Ids<String>,
    body: JsonObject,
) -> ApiResult<Response> {
    if job.job_id != job_id {
        return Err(ApiError::insufficient_rights());
    }
    let mut fields = body.fields();
    let state = fields.choice("state", true, STATES);
    let stage = fields.text("stage", true);
    let progress = fields.integer("progress", true, 0, 100);
    let step_name = fields.text("step_name", false);
    let step_description = fields.text("step_description", false);
    let error = error_object(&mut fields);
    fields.finish()?;
    let (state, stage, progress) = (
        state.unwrap_or_default(),
        stage.unwrap_or_default(),
        progress.unwrap_or_default(),
    );
    if state == "error" && error.is_none() {
        return Err(ApiError::bad_request("Missing error information"));
    }
    let now = now_micros();
    let status = NewStatus {
        state: &state,
        stage: Some(&stage),
        step_name: step_name.as_deref(),
        step_description: step_description.as_deref(),
        error: error.as_ref(),
        progress,
        timestamp: now,
    };
    match db::jobs::push_status(&app.db, &job_id, &status).await? {
        PushStatus::Finished => Err(ApiError::conflict("Job is finished")),
        PushStatus::Pushed => Ok(json_response(
            StatusCode::CREATED,
            &StatusEntry {
                state: state.clone(),
                stage: Some(stage.clone()),
                step_name: step_name.clone(),
                step_description: step_description.clone(),
                error,
                progress,
                timestamp: rfc3339(now),
            },
        )),
    }
}

/// PUT /jobs-api/jobs/{job_id}/ping — J7.
pub async fn ping(
    job: JobAuth,
    State(app): State<AppState>,
    Ids(job_id): Ids<String>,
) -> ApiResult<Response> {
    if !db::jobs::exists(&app.db, &job_id).await? {
        return Err(ApiError::not_found());
    }
    if job.job_id != job_id {
        return Err(ApiError::insufficient_rights());
    }
    let now = now_micros();
    db::jobs::ping(&app.db, &job_id, now).await?;
    Ok(json_response(
        StatusCode::OK,
        &json!({ "pinged_at": rfc3339(now) }),
    ))
}
