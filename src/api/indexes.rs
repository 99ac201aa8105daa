//! `GET /api/indexes/{index_id}` (U30): the index object with its stored files (workflows §5).

use crate::http::error::ErrorBody;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;

use crate::app::AppState;
use crate::http::error::ApiResult;
use crate::http::{json_response, Ids};
use crate::model::views::IndexWithFiles;
use crate::ops;
use crate::ops::auth::AuthUser;

#[utoipa::path(get, path = "/api/indexes/{index_id}", operation_id = "get_index", tag = "references",
    params(("index_id" = String, Path, description = "Index id")),
    responses(
        (status = 200, description = "The index with its files (ascending `id`; empty until `has_files`)", body = IndexWithFiles),
        (status = 401, description = "No, malformed or invalid credentials (contract §2.2)", body = ErrorBody),
        (status = 404, description = "No such index", body = ErrorBody),
    ),
    security(("api_key" = []), ("session" = [])))]
/// GET /api/indexes/{index_id} — U30.
pub async fn get_one(
    _user: AuthUser,
    State(app): State<AppState>,
    Ids(id): Ids<String>,
) -> ApiResult<Response> {
    let index = ops::indexes::get(&app, &id).await?;
    Ok(json_response(StatusCode::OK, &index))
}
