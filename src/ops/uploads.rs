//! Uploads of analysis files (U6, J6; contract §13): the checked query, then the body streamed to
//! a temporary object, committed under its key and recorded, with nothing left behind on failure.

use axum::body::Body;
use axum::http::HeaderMap;
use axum::response::Response;

use crate::app::App;
use crate::db;
use crate::db::files::Insert;
use crate::files::{analysis_file_key, names, Committed};
use crate::http::created;
use crate::http::error::{ApiError, ApiResult};
use crate::http::query::QueryPairs;
use crate::model::failure::Outcome;
use crate::model::field_errors::FieldErrors;
use crate::model::time::{now_micros, rfc3339};
use crate::model::views::AnalysisFile;

/// The checked query of an upload: sanitized `name` and optional `format`.
pub struct UploadParams {
    pub name: String,
    pub format: Option<String>,
    /// The job whose credential uploads (J6): its files are discarded when it is released or
    /// requeued (workflows.md §1.3).
    pub uploaded_by_job: Option<String>,
}

/// 422 for a missing, empty or too long `name`; then 400 for an unknown `format` (U6 rows 2–4).
pub fn upload_params(query: &QueryPairs) -> ApiResult<UploadParams> {
    let mut errors = FieldErrors::new();
    let name = match query.get("name") {
        None => {
            errors.add("name", "required field");
            String::new()
        }
        Some(raw) => {
            let name = names::sanitize(raw);
            if name.is_empty() {
                errors.add("name", "empty values not allowed");
            } else if name.chars().count() > 255 {
                errors.add("name", "max length is 255");
            }
            name
        }
    };
    errors.into_result().map_err(ApiError::invalid_query)?;
    let format = match query.get("format") {
        None | Some("") => None,
        Some(f) if names::FORMATS.contains(&f) => Some(f.to_owned()),
        Some(_) => return Err(ApiError::bad_request("Unsupported analysis file format")),
    };
    Ok(UploadParams {
        name,
        format,
        uploaded_by_job: None,
    })
}

/// One upload being received, in the `vira_uploads_in_progress` gauge (by kind: `analysis_file`,
/// `upload`, `sample_reads`, `import`) until dropped, also when the client goes away mid-body.
pub struct InProgress(&'static str);

impl InProgress {
    pub fn start(kind: &'static str) -> InProgress {
        metrics::gauge!("vira_uploads_in_progress", "kind" => kind).increment(1.0);
        InProgress(kind)
    }
}

impl Drop for InProgress {
    fn drop(&mut self) {
        metrics::gauge!("vira_uploads_in_progress", "kind" => self.0).decrement(1.0);
    }
}

fn duplicate() -> ApiError {
    ApiError::conflict("File is already associated with analysis")
}

/// Stream the `file` part of a multipart body into an upload to `key` and commit it there: on
/// failure nothing is left (contract §13). The caller records it while holding [`Committed`]
/// (no sweep takes it meanwhile) and removes `key` when recording fails. `kind` names the upload
/// in the `vira_uploads_in_progress` gauge.
pub async fn store_file_part(
    app: &App,
    key: &str,
    kind: &'static str,
    headers: &HeaderMap,
    body: Body,
) -> ApiResult<Committed> {
    let mut upload = app.files.create_upload(key).await?;
    let receiving = InProgress::start(kind);
    crate::http::multipart::receive_file(headers, body, app.multipart_limits(), &mut upload)
        .await?;
    drop(receiving);
    Ok(app.files.commit(upload).await?)
}

/// Stream the upload to a temporary object, then commit it under its key and insert its record.
/// Nothing is left behind when any step fails (contract §13).
pub async fn receive_upload(
    app: &App,
    analysis_id: &str,
    params: UploadParams,
    headers: &HeaderMap,
    body: Body,
) -> ApiResult<Response> {
    if db::files::name_taken(&app.db, analysis_id, &params.name).await? {
        return Err(duplicate());
    }
    // The id comes first: on an object store the upload goes straight to its final key.
    let id = db::files::reserve_id(&app.db).await?;
    let name_on_disk = names::name_on_disk(id, &params.name);
    let key = analysis_file_key(analysis_id, &name_on_disk);
    let committed = store_file_part(app, &key, "analysis_file", headers, body).await?;
    let uploaded_at = now_micros();
    let file = AnalysisFile {
        id,
        analysis: analysis_id.to_owned(),
        description: None,
        format: params.format,
        name: params.name,
        name_on_disk,
        size: committed.size as i64,
        uploaded_at: rfc3339(uploaded_at),
    };
    let outcome = db::files::insert(
        &app.db,
        &file,
        uploaded_at,
        params.uploaded_by_job.as_deref(),
    )
    .await;
    drop(committed);
    let gone = matches!(outcome, Ok(Insert::AnalysisGone));
    let failure = match outcome {
        Ok(Insert::Inserted(file)) => {
            let location = format!("/api/analyses/{analysis_id}/files/{}", file.id);
            return Ok(created(&location, &file));
        }
        Ok(Insert::AnalysisGone) => ApiError::not_found(),
        Ok(Insert::DuplicateName) => duplicate(),
        Err(e) => e.into(),
    };
    if let Err(e) = app.files.remove(&key).await {
        tracing::error!(key, error = %e, "could not remove an uncommitted upload");
    }
    if gone {
        app.files.prune_analysis(analysis_id).await;
    }
    Err(failure)
}

/// Store the `file` part under `key` (see [`store_file_part`]) and record it with `record`, given
/// the stored size. When recording fails the object is removed, unless `record` says the key
/// belongs to another record (its flag is false: a duplicate name of a fixed key).
pub async fn store_and_record<T, F, Fut>(
    app: &App,
    key: &str,
    headers: &HeaderMap,
    body: Body,
    record: F,
) -> ApiResult<T>
where
    F: FnOnce(i64) -> Fut,
    Fut: std::future::Future<Output = Result<T, (crate::model::failure::Failure, bool)>>,
{
    let committed = store_file_part(app, key, "workflow_file", headers, body).await?;
    let outcome = record(committed.size as i64).await;
    drop(committed);
    match outcome {
        Ok(value) => Ok(value),
        Err((failure, remove)) => {
            if remove {
                if let Err(e) = app.files.remove(key).await {
                    tracing::error!(key, error = %e, "could not remove an unrecorded upload");
                }
            }
            Err(failure.into())
        }
    }
}

/// The files of an analysis, as its page lists them.
pub async fn files_of(app: &App, analysis_id: &str) -> Outcome<Vec<AnalysisFile>> {
    Ok(db::files::list(&app.db, analysis_id).await?)
}

/// One file of an analysis (`None`: no such file of it).
pub async fn file_of(app: &App, analysis_id: &str, file_id: i64) -> Outcome<Option<AnalysisFile>> {
    Ok(db::files::get(&app.db, analysis_id, file_id).await?)
}
