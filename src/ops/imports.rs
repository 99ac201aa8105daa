//! The file of an import (U18 references, U20 HMM annotations): received like an upload into a
//! temporary object, then read whole — gunzipped when it is gzip — within `--max-import-bytes`.

use axum::body::Body;
use axum::http::HeaderMap;

use crate::app::App;
use crate::http::error::{ApiError, ApiResult};
use crate::import::gzip::{read_maybe_gzipped, GzipError};

/// Receive the `file` part of an import and return its bytes, gunzipped (U18, U20). `kind` names the
/// file in the 400 message (`Invalid <kind> file: …`).
pub async fn receive_import(
    app: &App,
    headers: &HeaderMap,
    body: Body,
    kind: &'static str,
) -> ApiResult<Vec<u8>> {
    let mut temp = app.files.create_scratch().await?;
    let receiving = super::uploads::InProgress::start("import");
    crate::http::multipart::receive_file(headers, body, app.multipart_limits(), &mut temp).await?;
    drop(receiving);
    temp.finish().await?;
    let path = temp
        .path()
        .ok_or_else(|| ApiError::internal(anyhow::anyhow!("temporary object has no path")))?
        .to_path_buf();
    let limit = app.config.max_import_bytes;
    let bytes = tokio::task::spawn_blocking(move || read_maybe_gzipped(&path, limit))
        .await
        .map_err(ApiError::internal)?;
    drop(temp);
    bytes.map_err(|e| match e {
        GzipError::TooLarge => ApiError::payload_too_large(),
        other => ApiError::bad_request(format!("Invalid {kind} file: {other}")),
    })
}
