//! Job routes for runners: acquire (J1), status (J2), ping (J7).

use crate::http::error::ErrorBody;
use crate::model::views::Job;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{json, Value};

use crate::app::AppState;
use crate::http::body::JsonObject;
use crate::http::error::{ApiError, ApiResult};
use crate::http::validate::Fields;
use crate::http::{json_response, Ids};
use crate::model::time::{now_micros, rfc3339};
use crate::model::views::StatusEntry;
use crate::ops::auth::JobAuth;
use crate::ops::jobs::NewStatus;

const STATES: &[&str] = &[
    "waiting",
    "running",
    "complete",
    "cancelled",
    "error",
    "terminated",
];

#[utoipa::path(patch, path = "/jobs-api/jobs/{job_id}", operation_id = "acquire_job", tag = "jobs",
    description = "Acquire a job (no authentication): the only answer that carries its key.",
    params(("job_id" = String, Path, description = "Job id")),
    request_body(content = AcquireBody),
    responses(
        (status = 200, description = "The full job with its `key`", body = Job),
 (status = 400, description = "`Malformed JSON` or `Job already acquired`", body = ErrorBody),
        (status = 413, description = "Body over `--max-json-bytes`", body = ErrorBody),
        (status = 422, description = "`invalid_input` with `errors` per field", body = ErrorBody),
        (status = 404, description = "No such job", body = ErrorBody),
        (status = 409, description = "`Job is finished` (cancelled while waiting)", body = ErrorBody),
    ),
    security(()))]
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
    let job = crate::ops::jobs::acquire(&app, &job_id).await?;
    Ok(json_response(StatusCode::OK, &job))
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

#[utoipa::path(post, path = "/jobs-api/jobs/{job_id}/status", operation_id = "push_job_status", tag = "jobs",
    params(("job_id" = String, Path, description = "Job id: the authenticated job's own")),
    request_body(content = StatusBody),
    responses(
        (status = 201, description = "The new status entry", body = StatusEntry),
 (status = 400, description = "`Malformed JSON` or `Missing error information`", body = ErrorBody),
        (status = 413, description = "Body over `--max-json-bytes`", body = ErrorBody),
        (status = 422, description = "`invalid_input` with `errors` per field", body = ErrorBody),
        (status = 401, description = "No, malformed or invalid job credentials (contract §2.3)", body = ErrorBody),
        (status = 403, description = "Another job's id", body = ErrorBody),
        (status = 409, description = "`Job is finished`", body = ErrorBody),
    ),
    security(("job" = [])))]
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
    crate::ops::jobs::push_status(&app, &job_id, &status).await?;
    Ok(json_response(
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
    ))
}

#[utoipa::path(put, path = "/jobs-api/jobs/{job_id}/ping", operation_id = "ping_job", tag = "jobs",
    description = "The runner's heartbeat; it records the job's activity (the stall sweep watches a pinged job). `cancelled` tells the runner to stop. The body is ignored.",
    params(("job_id" = String, Path, description = "Job id: the authenticated job's own")),
    responses(
        (status = 200, description = "The time of the ping", body = PingView),
        (status = 401, description = "No, malformed or invalid job credentials (contract §2.3)", body = ErrorBody),
        (status = 403, description = "Another job's id", body = ErrorBody),
        (status = 404, description = "No such job", body = ErrorBody),
    ),
    security(("job" = [])))]
/// PUT /jobs-api/jobs/{job_id}/ping — J7.
pub async fn ping(
    job: JobAuth,
    State(app): State<AppState>,
    Ids(job_id): Ids<String>,
) -> ApiResult<Response> {
    let (now, cancelled) = crate::ops::jobs::ping(&app, &job, &job_id).await?;
    Ok(json_response(
        StatusCode::OK,
        &json!({ "pinged_at": rfc3339(now), "cancelled": cancelled }),
    ))
}

/// The body of J1.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct AcquireBody {
    /// Must be true.
    #[schema(schema_with = only_true)]
    acquired: bool,
}

fn only_true() -> utoipa::openapi::schema::Schema {
    use utoipa::openapi::schema::{ObjectBuilder, Type};
    ObjectBuilder::new()
        .schema_type(Type::Boolean)
        .enum_values(Some([true]))
        .into()
}

/// The body of J2.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct StatusBody {
    #[schema(schema_with = status_states)]
    state: String,
    /// May be empty.
    stage: String,
    #[schema(minimum = 0, maximum = 100)]
    progress: i64,
    #[schema(required = false)]
    step_name: Option<String>,
    #[schema(required = false)]
    step_description: Option<String>,
    /// Required when `state` is `error`.
    #[schema(required = false)]
    error: Option<crate::model::views::StatusError>,
}

fn status_states() -> utoipa::openapi::schema::Schema {
    use utoipa::openapi::schema::{ObjectBuilder, Type};
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(STATES.iter().copied()))
        .into()
}

/// The answer of J7.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct PingView {
    pinged_at: String,
    /// The job's last state is `cancelled`: stop now.
    cancelled: bool,
}
