//! `/api/account`: signing in to and out of a session (the web pages' cookie), the signed-in
//! user, and their API keys (Virtool's account keys). Beyond the contract: the API accepts the
//! session cookie as well as Basic keys.

use crate::http::error::ErrorBody;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::app::{App, AppState};
use crate::http::body::JsonObject;
use crate::http::error::{ApiError, ApiResult};
use crate::http::{json_response, ClientAddr, Ids};
use crate::model::time::rfc3339;
use crate::model::views::{ApiKey, User};
use crate::ops;
use crate::ops::auth::AuthUser;
use crate::ops::sessions::SessionUser;

/// The signed-in user, with the session when a cookie authenticated the request.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Account {
    #[serde(flatten)]
    pub user: User,
    pub session: Option<SessionView>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct SessionView {
    pub created_at: String,
    pub expires_at: String,
    /// Send it back as `X-CSRF-Token` on every state-changing request made with the cookie.
    pub csrf_token: String,
}

async fn account(app: &App, user_id: &str, session: Option<&SessionUser>) -> ApiResult<Account> {
    let user = ops::users::get(app, user_id).await?;
    Ok(Account {
        user,
        session: session.map(|s| SessionView {
            created_at: rfc3339(s.created_at),
            expires_at: rfc3339(s.expires_at),
            csrf_token: s.csrf_token.clone(),
        }),
    })
}

#[utoipa::path(post, path = "/api/account/login", operation_id = "login", tag = "account",
    description = "Sign in to a session (the web pages' cookie). Only from a page of this site: `Origin` must name this host, and the body must be `application/json`.",
    request_body(content = LoginBody, content_type = "application/json"),
    responses(
        (status = 201, description = "The account and its session; the cookie in `Set-Cookie`", body = Account,
            headers(("Set-Cookie" = String, description = "`vira_session=…; Path=/; HttpOnly; SameSite=Lax`"))),
 (status = 400, description = "`Malformed JSON`", body = ErrorBody),
        (status = 413, description = "Body over `--max-json-bytes`", body = ErrorBody),
        (status = 422, description = "`invalid_input` with `errors` per field", body = ErrorBody),
        (status = 401, description = "`invalid_credentials`: wrong handle or password", body = ErrorBody),
        (status = 403, description = "`invalid_origin`: `Origin` missing, `null` or another site's", body = ErrorBody),
        (status = 415, description = "`unsupported_media_type`: the body is not `application/json`", body = ErrorBody),
        (status = 429, description = "`too_many_requests` while backing off after failed sign-ins, with `Retry-After`", body = ErrorBody),
    ),
    security(()))]
/// POST /api/account/login — `{"handle", "password", "remember"}`: 201, the account and a session
/// cookie; the same 401 for an unknown handle and a wrong password; 429 while backing off.
pub async fn login(
    State(app): State<AppState>,
    address: Option<axum::Extension<ClientAddr>>,
    headers: axum::http::HeaderMap,
    body: axum::body::Body,
) -> ApiResult<Response> {
    // Before the body: a cross-site form cannot sign anyone in (login CSRF).
    if !crate::http::same_site_origin(&headers) {
        return Err(crate::http::cross_site_sign_in());
    }
    let bytes = crate::http::body::read_limited(&headers, body, app.config.max_json_bytes).await?;
    if !crate::http::body::is_json_content_type(&headers) {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "Sign in with Content-Type: application/json",
        ));
    }
    let body = JsonObject::parse(&bytes, app.config.max_list_items)?;
    let mut fields = body.fields();
    let handle = fields.text("handle", true);
    let password = fields.text("password", true);
    let remember = fields.boolean("remember", false).unwrap_or(false);
    fields.finish()?;
    let (handle, password) = (handle.unwrap_or_default(), password.unwrap_or_default());
    let address = address.map(|axum::Extension(ClientAddr(ip))| ip);
    let signed_in = ops::sessions::login(&app, &handle, &password, remember, address).await?;
    let body = account(&app, &signed_in.session.user_id, Some(&signed_in.session)).await?;
    let mut response = json_response(StatusCode::CREATED, &body);
    let cookie = ops::sessions::session_cookie(&app, &signed_in);
    response.headers_mut().insert(header::SET_COOKIE, cookie);
    Ok(response)
}

#[utoipa::path(delete, path = "/api/account/login", operation_id = "logout", tag = "account",
    responses(
        (status = 204, description = "Signed out; the cookie is cleared"),
        (status = 401, description = "No, malformed or invalid credentials (contract §2.2)", body = ErrorBody),
        (status = 403, description = "With the session cookie: `invalid_csrf_token`", body = ErrorBody),
    ),
    security(("api_key" = []), ("session" = [], "csrf" = [])))]
/// DELETE /api/account/login — sign out: the session ends and the cookie is cleared (204; with
/// a key there is no session to end).
pub async fn logout(
    user: AuthUser,
    State(app): State<AppState>,
    headers: axum::http::HeaderMap,
) -> ApiResult<Response> {
    if user.session.is_some() {
        if let Some(token) = ops::sessions::cookie_token(&headers) {
            ops::sessions::logout(&app, token).await?;
        }
    }
    let mut response = StatusCode::NO_CONTENT.into_response();
    response
        .headers_mut()
        .insert(header::SET_COOKIE, ops::sessions::cleared_cookie(&app));
    Ok(response)
}

#[utoipa::path(get, path = "/api/account", operation_id = "get_account", tag = "account",
    responses(
        (status = 200, description = "The signed-in user, with the session when a cookie authenticated", body = Account),
        (status = 401, description = "No, malformed or invalid credentials (contract §2.2)", body = ErrorBody),
    ),
    security(("api_key" = []), ("session" = [])))]
/// GET /api/account — the signed-in user, for a session or an API key.
pub async fn get(user: AuthUser, State(app): State<AppState>) -> ApiResult<Response> {
    let body = account(&app, &user.id, user.session.as_ref()).await?;
    Ok(json_response(StatusCode::OK, &body))
}

#[utoipa::path(patch, path = "/api/account", operation_id = "change_password", tag = "account",
    description = "Change one's own password; every session of the user ends.",
    request_body(content = PasswordBody),
    responses(
        (status = 200, description = "The account (no session)", body = Account),
 (status = 400, description = "`Malformed JSON` or `Invalid credentials` (wrong old password)", body = ErrorBody),
        (status = 413, description = "Body over `--max-json-bytes`", body = ErrorBody),
        (status = 422, description = "`invalid_input` with `errors` per field", body = ErrorBody),
        (status = 401, description = "No, malformed or invalid credentials (contract §2.2)", body = ErrorBody),
        (status = 403, description = "With the session cookie: `invalid_csrf_token`", body = ErrorBody),
    ),
    security(("api_key" = []), ("session" = [], "csrf" = [])))]
/// PATCH /api/account — `{"old_password", "password"}`: change one's own password. Every session
/// of the user ends (this one too: the cookie is cleared).
pub async fn change_password(
    user: AuthUser,
    State(app): State<AppState>,
    body: JsonObject,
) -> ApiResult<Response> {
    let mut fields = body.fields();
    let old = fields.text("old_password", true);
    let new = fields.password("password", true);
    fields.finish()?;
    let (old, new) = (old.unwrap_or_default(), new.unwrap_or_default());
    ops::sessions::change_password(&app, &user.handle, &old, &new).await?;
    let body = account(&app, &user.id, None).await?;
    let mut response = json_response(StatusCode::OK, &body);
    if user.session.is_some() {
        response
            .headers_mut()
            .insert(header::SET_COOKIE, ops::sessions::cleared_cookie(&app));
    }
    Ok(response)
}

/// The body of a sign-in.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct LoginBody {
    handle: String,
    password: String,
    /// Keep the session beyond the browser's (default false).
    #[schema(required = false)]
    remember: bool,
}

/// The body of a password change.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct PasswordBody {
    old_password: String,
    #[schema(min_length = 8, max_length = 1024)]
    password: String,
}

#[utoipa::path(get, path = "/api/account/keys", operation_id = "list_keys", tag = "account",
    description = "The caller's API keys (never the keys themselves).",
    responses(
        (status = 200, description = "The keys, oldest first", body = Vec<ApiKey>),
        (status = 401, description = "No, malformed or invalid credentials (contract §2.2)", body = ErrorBody),
    ),
    security(("api_key" = []), ("session" = [])))]
/// GET /api/account/keys — the caller's keys.
pub async fn list_keys(user: AuthUser, State(app): State<AppState>) -> ApiResult<Response> {
    let keys = ops::users::keys(&app, &user.id, &user.groups).await?;
    Ok(json_response(StatusCode::OK, &keys))
}

#[utoipa::path(post, path = "/api/account/keys", operation_id = "create_key", tag = "account",
    description = "A new named API key for the caller; the key is in this reply only. A key acts with its user's rights (no per-key permissions: `groups` and `permissions` are refused).",
    request_body(content = NewKeyBody),
    responses(
        (status = 201, description = "The key's record with `key`, shown only here", body = ApiKey,
            links(("GetKey" = (operation_id = "get_key", parameters(("key_id" = "$response.body#/id")))))),
        (status = 400, description = "`Malformed JSON`, or the caller holds `--max-keys-per-user` keys", body = ErrorBody),
        (status = 413, description = "Body over `--max-json-bytes`", body = ErrorBody),
        (status = 415, description = "With the session cookie: the body is not `application/json`", body = ErrorBody),
        (status = 422, description = "`invalid_input` with `errors` per field", body = ErrorBody),
        (status = 401, description = "No, malformed or invalid credentials (contract §2.2)", body = ErrorBody),
        (status = 403, description = "With the session cookie: `invalid_csrf_token`", body = ErrorBody),
    ),
    security(("api_key" = []), ("session" = [], "csrf" = [])))]
/// POST /api/account/keys — `{"name"}`: 201 with the new key, shown once.
pub async fn create_key(
    user: AuthUser,
    State(app): State<AppState>,
    body: JsonObject,
) -> ApiResult<Response> {
    let mut fields = body.fields();
    let name = fields.string("name", true, true);
    for field in ["groups", "permissions"] {
        if fields.has(field) {
            fields.add(field, "not supported: a key acts with its user's rights");
        }
    }
    fields.finish()?;
    let key =
        ops::users::create_key(&app, &user.id, &user.groups, &name.unwrap_or_default()).await?;
    Ok(crate::http::created(
        &format!("/api/account/keys/{}", key.id),
        &key,
    ))
}

#[utoipa::path(get, path = "/api/account/keys/{key_id}", operation_id = "get_key", tag = "account",
    params(("key_id" = String, Path, description = "One of the caller's keys")),
    responses(
        (status = 200, description = "The key's record (not the key)", body = ApiKey),
        (status = 401, description = "No, malformed or invalid credentials (contract §2.2)", body = ErrorBody),
        (status = 404, description = "The caller has no such key", body = ErrorBody),
    ),
    security(("api_key" = []), ("session" = [])))]
/// GET /api/account/keys/{key_id}
pub async fn get_key(
    user: AuthUser,
    State(app): State<AppState>,
    Ids(key_id): Ids<String>,
) -> ApiResult<Response> {
    let key = ops::users::key(&app, &user.id, &user.groups, &key_id).await?;
    Ok(json_response(StatusCode::OK, &key))
}

#[utoipa::path(delete, path = "/api/account/keys/{key_id}", operation_id = "delete_key", tag = "account",
    description = "Delete one of the caller's keys: refused at once by this instance, by every instance within `--auth-cache-ms`.",
    params(("key_id" = String, Path, description = "One of the caller's keys")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, description = "No, malformed or invalid credentials (contract §2.2)", body = ErrorBody),
        (status = 403, description = "With the session cookie: `invalid_csrf_token`", body = ErrorBody),
        (status = 404, description = "The caller has no such key", body = ErrorBody),
    ),
    security(("api_key" = []), ("session" = [], "csrf" = [])))]
/// DELETE /api/account/keys/{key_id}
pub async fn delete_key(
    user: AuthUser,
    State(app): State<AppState>,
    Ids(key_id): Ids<String>,
) -> ApiResult<Response> {
    ops::users::delete_key(&app, &user.id, &key_id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[utoipa::path(delete, path = "/api/account/keys", operation_id = "delete_keys", tag = "account",
    description = "Delete every key of the caller (sessions stay).",
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, description = "No, malformed or invalid credentials (contract §2.2)", body = ErrorBody),
        (status = 403, description = "With the session cookie: `invalid_csrf_token`", body = ErrorBody),
    ),
    security(("api_key" = []), ("session" = [], "csrf" = [])))]
/// DELETE /api/account/keys — every key of the caller.
pub async fn delete_keys(user: AuthUser, State(app): State<AppState>) -> ApiResult<Response> {
    ops::users::delete_keys(&app, &user.id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// The body of `POST /api/account/keys`.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct NewKeyBody {
    /// What the key is for (shown in the list).
    #[schema(min_length = 1)]
    name: String,
}
