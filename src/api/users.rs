//! `/api/users` (U14, U15) and `/api/groups` (U16): administrators only. Beyond the contract, U14
//! and U15 take an optional `password` (for signing in to the web pages), U15 `active` (a
//! deactivated user's keys, sessions and sign-ins are refused), an administrator deletes a user's
//! keys (`DELETE /api/users/{user_id}/keys`) and clears sign-in blocks (`/api/login-blocks`).

use crate::http::error::ErrorBody;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;

use crate::app::AppState;
use crate::auth::valid_handle;
use crate::http::body::JsonObject;
use crate::http::error::{ApiError, ApiResult};
use crate::http::{json_response, Ids};
use crate::model::views::{Group, User};
use crate::ops;
use crate::ops::auth::AuthUser;
use crate::ops::users::UserChange;

#[utoipa::path(post, path = "/api/users", operation_id = "create_user", tag = "users",
    request_body(content = NewUserBody),
    responses(
        (status = 201, description = "The new user with its API key (shown only here)", body = User,
            links(("UpdateUser" = (operation_id = "update_user", parameters(("user_id" = "$response.body#/id")))))),
 (status = 400, description = "`Malformed JSON`, `User already exists` or `Group does not exist`", body = ErrorBody),
        (status = 413, description = "Body over `--max-json-bytes`", body = ErrorBody),
        (status = 422, description = "`invalid_input` with `errors` per field", body = ErrorBody),
        (status = 401, description = "No, malformed or invalid credentials (contract §2.2)", body = ErrorBody),
        (status = 403, description = "`forbidden`: not an administrator; or, with the session cookie, `invalid_csrf_token`", body = ErrorBody),
    ),
    security(("api_key" = []), ("session" = [], "csrf" = [])))]
/// POST /api/users — U14.
pub async fn create(
    user: AuthUser,
    State(app): State<AppState>,
    body: JsonObject,
) -> ApiResult<Response> {
    user.require_admin()?;
    let mut fields = body.fields();
    let handle = fields.string("handle", true, false);
    let administrator = fields.boolean("administrator", false).unwrap_or(false);
    let groups = fields.string_list("groups", false).unwrap_or_default();
    let password = fields.password("password", false);
    if let Some(handle) = &handle {
        if !valid_handle(handle) {
            fields.add("handle", "invalid handle");
        }
    }
    fields.finish()?;
    let handle = handle.unwrap_or_default();
    let created = ops::users::create_user(&app, &handle, administrator, &groups).await?;
    if let Some(password) = password {
        ops::sessions::set_password(&app, &created.id, &password).await?;
    }
    Ok(json_response(StatusCode::CREATED, &created))
}

#[utoipa::path(patch, path = "/api/users/{user_id}", operation_id = "update_user", tag = "users",
    params(("user_id" = String, Path, description = "User id")),
    request_body(content = Option<UserUpdateBody>, description = "An empty body changes nothing"),
    responses(
        (status = 200, description = "The user (no key)", body = User),
 (status = 400, description = "`Malformed JSON` or `Group does not exist`", body = ErrorBody),
        (status = 415, description = "With the session cookie: the body is not `application/json`", body = ErrorBody),
        (status = 413, description = "Body over `--max-json-bytes`", body = ErrorBody),
        (status = 422, description = "`invalid_input` with `errors` per field", body = ErrorBody),
        (status = 401, description = "No, malformed or invalid credentials (contract §2.2)", body = ErrorBody),
        (status = 403, description = "`forbidden`: not an administrator; or, with the session cookie, `invalid_csrf_token`", body = ErrorBody),
        (status = 404, description = "No such user", body = ErrorBody),
    ),
    security(("api_key" = []), ("session" = [], "csrf" = [])))]
/// PATCH /api/users/{user_id} — U15.
pub async fn update(
    user: AuthUser,
    State(app): State<AppState>,
    Ids(user_id): Ids<String>,
    body: JsonObject,
) -> ApiResult<Response> {
    user.require_admin()?;
    let mut fields = body.fields();
    let administrator = fields.boolean("administrator", false);
    let groups = fields.string_list("groups", false);
    let password = fields.password("password", false);
    let active = fields.boolean("active", false);
    if active == Some(false) && user_id == user.id {
        // No administrator locks themselves out.
        fields.add("active", "you cannot deactivate yourself");
    }
    fields.finish()?;
    let change = UserChange {
        administrator,
        groups: groups.as_deref(),
        active,
    };
    ops::users::update_user(&app, &user_id, change).await?;
    if let Some(password) = password {
        // Setting a password ends every session of the user.
        ops::sessions::set_password(&app, &user_id, &password).await?;
    }
    let updated = ops::users::get(&app, &user_id).await?;
    Ok(json_response(StatusCode::OK, &updated))
}

#[utoipa::path(post, path = "/api/groups", operation_id = "create_group", tag = "users",
    request_body(content = NewGroupBody),
    responses(
        (status = 201, description = "The new group", body = Group),
 (status = 400, description = "`Malformed JSON` or `Group already exists`", body = ErrorBody),
        (status = 413, description = "Body over `--max-json-bytes`", body = ErrorBody),
        (status = 422, description = "`invalid_input` with `errors` per field", body = ErrorBody),
        (status = 401, description = "No, malformed or invalid credentials (contract §2.2)", body = ErrorBody),
        (status = 403, description = "`forbidden`: not an administrator; or, with the session cookie, `invalid_csrf_token`", body = ErrorBody),
    ),
    security(("api_key" = []), ("session" = [], "csrf" = [])))]
/// POST /api/groups — U16.
pub async fn create_group(
    user: AuthUser,
    State(app): State<AppState>,
    body: JsonObject,
) -> ApiResult<Response> {
    user.require_admin()?;
    let mut fields = body.fields();
    let name = fields.string("name", true, true);
    fields.finish()?;
    let group = ops::users::create_group(&app, name.unwrap_or_default()).await?;
    Ok(json_response(StatusCode::CREATED, &group))
}

#[utoipa::path(delete, path = "/api/users/{user_id}/keys", operation_id = "delete_user_keys", tag = "users",
    description = "Delete every API key of a user (administrators): refused at once by this instance, by every instance within `--auth-cache-ms`.",
    params(("user_id" = String, Path, description = "User id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, description = "No, malformed or invalid credentials (contract §2.2)", body = ErrorBody),
        (status = 403, description = "`forbidden`: not an administrator; or, with the session cookie, `invalid_csrf_token`", body = ErrorBody),
        (status = 404, description = "No such user", body = ErrorBody),
    ),
    security(("api_key" = []), ("session" = [], "csrf" = [])))]
/// DELETE /api/users/{user_id}/keys — an administrator removes a user's keys.
pub async fn delete_keys(
    user: AuthUser,
    State(app): State<AppState>,
    Ids(user_id): Ids<String>,
) -> ApiResult<Response> {
    user.require_admin()?;
    ops::users::delete_keys_of_user(&app, &user_id).await?;
    Ok(axum::response::IntoResponse::into_response(
        StatusCode::NO_CONTENT,
    ))
}

#[utoipa::path(delete, path = "/api/login-blocks", operation_id = "clear_login_blocks", tag = "users",
    description = "Forget the failed sign-ins of a handle (from every address) and/or of a client address (for every handle), ending their back-off (administrators).",
    params(
        ("handle" = Option<String>, Query, description = "A user's handle"),
        ("address" = Option<String>, Query, description = "A client address (IPv4 or IPv6)"),
    ),
    responses(
        (status = 200, description = "How many counts were forgotten", body = ClearedBlocks),
        (status = 401, description = "No, malformed or invalid credentials (contract §2.2)", body = ErrorBody),
        (status = 403, description = "`forbidden`: not an administrator; or, with the session cookie, `invalid_csrf_token`", body = ErrorBody),
        (status = 422, description = "`invalid_query`: neither `handle` nor `address`, or an address that is not one", body = ErrorBody),
    ),
    security(("api_key" = []), ("session" = [], "csrf" = [])))]
/// DELETE /api/login-blocks?handle=…&address=… — clear sign-in blocks.
pub async fn clear_login_blocks(
    user: AuthUser,
    State(app): State<AppState>,
    query: crate::http::query::QueryPairs,
) -> ApiResult<Response> {
    user.require_admin()?;
    let mut errors = crate::model::field_errors::FieldErrors::new();
    let handle = query.get("handle").map(str::to_owned);
    let address = match query.get("address") {
        None => None,
        Some(text) => match text.trim().parse::<std::net::IpAddr>() {
            Ok(address) => Some(address),
            Err(_) => {
                errors.add("address", "must be an IPv4 or IPv6 address");
                None
            }
        },
    };
    if handle.is_none() && query.get("address").is_none() {
        errors.add("handle", "required field unless address is given");
    }
    if !errors.is_empty() {
        return Err(ApiError::invalid_query(errors));
    }
    let cleared = ops::sessions::clear_blocks(&app, handle.as_deref(), address).await?;
    Ok(json_response(StatusCode::OK, &ClearedBlocks { cleared }))
}

/// What `DELETE /api/login-blocks` forgot.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct ClearedBlocks {
    /// Back-off counts removed (a handle's own, each of its address pairs, an address's own).
    pub cleared: u64,
}

/// The body of U14.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct NewUserBody {
    /// 1–64 characters of `[A-Za-z0-9._-]`, not starting with `job-`.
    #[schema(pattern = "^[A-Za-z0-9._-]{1,64}$")]
    handle: String,
    /// Default false.
    #[schema(required = false)]
    administrator: bool,
    /// Group ids (default none).
    #[schema(required = false)]
    groups: Vec<String>,
    /// A password for the web pages (beyond the contract).
    #[schema(required = false, min_length = 8, max_length = 1024)]
    password: String,
}

/// The body of U15: any of these.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct UserUpdateBody {
    #[schema(required = false)]
    administrator: bool,
    /// Replaces the whole list.
    #[schema(required = false)]
    groups: Vec<String>,
    /// Sets the password and ends every session of the user.
    #[schema(required = false, min_length = 8, max_length = 1024)]
    password: String,
    /// `false` deactivates the user: every key, session and sign-in of theirs is refused (this
    /// instance at once, others within `--auth-cache-ms`), and their sessions end; `true`
    /// reactivates (keys work again; sessions do not come back). Not for oneself.
    #[schema(required = false)]
    active: bool,
}

/// The body of U16.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct NewGroupBody {
    #[schema(min_length = 1)]
    name: String,
}
