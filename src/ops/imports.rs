//! The file of an import (U18 references, U20 HMM annotations): received like an upload into a
//! temporary object, then read whole — gunzipped when it is gzip — within `--max-import-bytes`;
//! and U18's reference made of it.

use axum::body::Body;
use axum::http::HeaderMap;

use crate::app::App;
use crate::db;
use crate::db::IdTable;
use crate::http::error::{ApiError, ApiResult};
use crate::import::gzip::{read_maybe_gzipped, GzipError};
use crate::import::reference::parse_reference;
use crate::model::failure::{Failure, Outcome};
use crate::model::time::{now_micros, rfc3339};
use crate::model::views::{Reference, UserRef};

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

/// U18 after the file was received: 400 `Invalid reference file: <reason>`, else the new
/// reference named `name` (else the file's name, else `Imported reference`).
pub async fn import_reference(
    app: &App,
    user: UserRef,
    name: Option<String>,
    bytes: Vec<u8>,
) -> Outcome<Reference> {
    let parsed = tokio::task::spawn_blocking(move || parse_reference(&bytes))
        .await
        .map_err(Failure::internal)?
        .map_err(|reason| Failure::bad_request(format!("Invalid reference file: {reason}")))?;
    let (otu_count, isolate_count, sequence_count) = parsed.counts();
    let name = name
        .or_else(|| parsed.name.clone())
        .unwrap_or_else(|| "Imported reference".to_owned());
    let now = now_micros();
    let reference = Reference {
        id: db::fresh_id(&app.db, IdTable::Refs).await?,
        name,
        data_type: parsed.data_type.clone(),
        organism: parsed.organism.clone(),
        created_at: rfc3339(now),
        user,
        otu_count: otu_count as i64,
        isolate_count: isolate_count as i64,
        sequence_count: sequence_count as i64,
    };
    db::refs::insert_reference(&app.db, &reference, &parsed, now).await?;
    Ok(reference)
}
