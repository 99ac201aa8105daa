//! Subtractions: create (U17; a label, or a host genome built by `create_subtraction`), list
//! (U28) and read (U29). Rules in workflows §4.

use crate::http::error::ErrorBody;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;

use crate::app::AppState;
use crate::http::body::JsonObject;
use crate::http::error::ApiResult;
use crate::http::query::{page_request, QueryPairs};
use crate::http::{created, json_response, Ids};
use crate::model::views::Subtraction;
use crate::ops;
use crate::ops::auth::AuthUser;

#[utoipa::path(post, path = "/api/subtractions", operation_id = "create_subtraction", tag = "references",
    request_body(content = NewSubtractionBody),
    responses(
        (status = 201, description = "The new subtraction", body = Subtraction,
            headers(("Location" = String, description = "`/api/subtractions/{id}`"))),
        (status = 400, description = "`Malformed JSON`, `Upload does not exist` or `File is already in use`", body = ErrorBody),
        (status = 413, description = "Body over `--max-json-bytes`", body = ErrorBody),
        (status = 422, description = "`invalid_input` with `errors` per field", body = ErrorBody),
        (status = 401, description = "No, malformed or invalid credentials (contract §2.2)", body = ErrorBody),
        (status = 403, description = "`forbidden`: not an administrator; or, with the session cookie, `invalid_csrf_token`", body = ErrorBody),
    ),
    security(("api_key" = []), ("session" = [], "csrf" = [])))]
/// POST /api/subtractions — U17.
pub async fn create(
    user: AuthUser,
    State(app): State<AppState>,
    body: JsonObject,
) -> ApiResult<Response> {
    user.require_admin()?;
    let mut fields = body.fields();
    let name = fields.string("name", true, true);
    let nickname = fields.string("nickname", false, false);
    let upload_id = fields.integer("upload_id", false, 1, i64::MAX);
    fields.finish()?;
    let subtraction = ops::subtractions::create(
        &app,
        &user.user_ref(),
        &name.unwrap_or_default(),
        &nickname.unwrap_or_default(),
        upload_id,
    )
    .await?;
    let location = format!("/api/subtractions/{}", subtraction.id);
    Ok(created(&location, &subtraction))
}

/// The body of U17.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct NewSubtractionBody {
    #[schema(min_length = 1)]
    name: String,
    /// Default `""`.
    #[schema(required = false)]
    nickname: String,
    /// The host genome (an upload); without it the subtraction is a label.
    #[schema(required = false, minimum = 1)]
    upload_id: i64,
}

#[utoipa::path(get, path = "/api/subtractions", operation_id = "list_subtractions", tag = "references",
    params(("page" = Option<i64>, Query, minimum = 1, description = "Page number, default 1"),
        ("per_page" = Option<i64>, Query, minimum = 1, maximum = 100, description = "Items per page, default 25; at most `--max-per-page` (100)")),
    responses(
        (status = 200, description = "Subtractions by name, then id", body = SubtractionPage),
        (status = 401, description = "No, malformed or invalid credentials (contract §2.2)", body = ErrorBody),
        (status = 422, description = "`invalid_query`: bad `page` or `per_page`", body = ErrorBody),
    ),
    security(("api_key" = []), ("session" = [])))]
/// GET /api/subtractions — U28.
pub async fn list(
    _user: AuthUser,
    State(app): State<AppState>,
    query: QueryPairs,
) -> ApiResult<Response> {
    let page = page_request(&query, app.config.max_per_page)?;
    let body = ops::subtractions::list(&app, page).await?;
    Ok(json_response(StatusCode::OK, &body))
}

/// The pagination body of U28.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct SubtractionPage {
    documents: Vec<Subtraction>,
    found_count: i64,
    page: i64,
    page_count: i64,
    per_page: i64,
    total_count: i64,
}

#[utoipa::path(get, path = "/api/subtractions/{subtraction_id}", operation_id = "get_subtraction", tag = "references",
    params(("subtraction_id" = String, Path, description = "Subtraction id")),
    responses(
        (status = 200, description = "The subtraction", body = Subtraction),
        (status = 401, description = "No, malformed or invalid credentials (contract §2.2)", body = ErrorBody),
        (status = 404, description = "No such subtraction", body = ErrorBody),
    ),
    security(("api_key" = []), ("session" = [])))]
/// GET /api/subtractions/{subtraction_id} — U29.
pub async fn get_one(
    _user: AuthUser,
    State(app): State<AppState>,
    Ids(id): Ids<String>,
) -> ApiResult<Response> {
    let subtraction = ops::subtractions::get(&app, &id).await?;
    Ok(json_response(StatusCode::OK, &subtraction))
}
