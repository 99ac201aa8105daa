//! Who is asking: the `AuthUser` extractor for `/api` (contract §2.2; Basic credentials checked
//! against the stored key digests, or a session cookie with CSRF protection) and `JobAuth` for
//! `/jobs-api` (§2.3).

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, Method};
use base64::Engine;

use super::sessions;
use crate::app::{App, AppState};
use crate::auth::cache::Known;
use crate::auth::rights::Principal;
use crate::auth::{keys, valid_handle};
use crate::db;
use crate::db::sessions::SessionUser;
use crate::http::error::ApiError;
use crate::model::views::UserRef;

/// The authenticated user of a `/api` request: who they are for rights (`principal`, also reached
/// through `Deref`: `user.id`, `user.administrator`) and their handle.
#[derive(Debug, Clone)]
pub struct AuthUser {
    pub handle: String,
    pub principal: Principal,
    /// The session, when the request was authenticated by its cookie rather than a key.
    pub session: Option<SessionUser>,
}

impl std::ops::Deref for AuthUser {
    type Target = Principal;

    fn deref(&self) -> &Principal {
        &self.principal
    }
}

impl AuthUser {
    /// `{id, handle}` as objects embed their creator.
    pub fn user_ref(&self) -> UserRef {
        UserRef {
            id: self.id.clone(),
            handle: self.handle.clone(),
        }
    }

    /// 403 `forbidden` unless an administrator (U14–U20).
    pub fn require_admin(&self) -> Result<(), ApiError> {
        if self.administrator {
            Ok(())
        } else {
            Err(ApiError::forbidden())
        }
    }
}

/// The runner credential of a J8 claim as presented (workflows.md §7.1): its id and the digest
/// of its key, not yet checked.
#[derive(Debug, Clone)]
pub struct RunnerCredential {
    pub id: String,
    pub key_digest: String,
}

/// The authenticated job of a `/jobs-api` request.
#[derive(Debug, Clone)]
pub struct JobAuth {
    pub job_id: String,
}

#[derive(Debug, PartialEq, Eq)]
pub enum BasicError {
    Missing,
    Malformed,
}

/// Split `Authorization: Basic base64(login:secret)`.
pub fn parse_basic(headers: &HeaderMap) -> Result<(String, String), BasicError> {
    let value = headers
        .get(header::AUTHORIZATION)
        .ok_or(BasicError::Missing)?;
    let value = value.to_str().map_err(|_| BasicError::Malformed)?.trim();
    let (scheme, encoded) = value.split_once(' ').ok_or(BasicError::Malformed)?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err(BasicError::Malformed);
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .map_err(|_| BasicError::Malformed)?;
    let text = String::from_utf8(decoded).map_err(|_| BasicError::Malformed)?;
    let (login, secret) = text.split_once(':').ok_or(BasicError::Malformed)?;
    Ok((login.to_owned(), secret.to_owned()))
}

fn basic_error(error: BasicError) -> ApiError {
    match error {
        BasicError::Missing => {
            ApiError::unauthorized("requires_authorization", "Requires authorization")
        }
        BasicError::Malformed => ApiError::unauthorized(
            "malformed_authorization_header",
            "Malformed Authorization header",
        ),
    }
}

fn invalid_credentials() -> ApiError {
    ApiError::unauthorized(
        "invalid_authorization_header",
        "Invalid authorization header",
    )
}

impl FromRequestParts<AppState> for AuthUser {
    type Rejection = ApiError;

    /// Basic credentials when the request has an `Authorization` header, else the session
    /// cookie; a state-changing request made with the cookie must carry the session's CSRF token.
    async fn from_request_parts(parts: &mut Parts, app: &AppState) -> Result<Self, ApiError> {
        if !parts.headers.contains_key(header::AUTHORIZATION) {
            if let Some(token) = sessions::cookie_token(&parts.headers) {
                return from_session(app, token, parts).await;
            }
        }
        let (handle, key) = parse_basic(&parts.headers).map_err(basic_error)?;
        if handle.starts_with("job-") || handle.starts_with("runner-") {
            return Err(ApiError::unauthorized(
                "malformed_authorization_header",
                "Jobs cannot authenticate against this service",
            ));
        }
        // A handle that could not have been created names nobody: no need to ask the database.
        if !valid_handle(&handle) {
            return Err(invalid_credentials());
        }
        let digest = keys::digest(&key);
        if let Some(known) = app.auth_cache.get(&digest, &handle) {
            return Ok(AuthUser {
                handle: known.handle,
                principal: known.principal,
                session: None,
            });
        }
        // Found by its digest among the user's keys (an inactive user has none that work).
        let user = db::users::find_by_key(&app.db, &handle, &digest)
            .await?
            .filter(|user| keys::matches(&key, &user.key_digest))
            .ok_or_else(invalid_credentials)?;
        let principal = Principal {
            id: user.id,
            administrator: user.administrator,
            groups: user.groups,
        };
        app.auth_cache.put(
            digest,
            &user.handle,
            Known {
                handle: user.handle.clone(),
                principal: principal.clone(),
            },
        );
        Ok(AuthUser {
            handle: user.handle,
            principal,
            session: None,
        })
    }
}

/// The user of a session cookie; an unknown or expired session is no authentication at all.
async fn from_session(app: &App, token: &str, parts: &Parts) -> Result<AuthUser, ApiError> {
    let session = sessions::resolve(app, token)
        .await?
        .ok_or_else(|| basic_error(BasicError::Missing))?;
    let safe = matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS);
    let given = parts
        .headers
        .get(sessions::CSRF_HEADER)
        .and_then(|v| v.to_str().ok());
    if !safe && !sessions::csrf_matches(&session, given) {
        return Err(ApiError::invalid_csrf_token());
    }
    Ok(AuthUser::from_session(session))
}

impl AuthUser {
    /// The user a session stands for.
    pub fn from_session(session: SessionUser) -> AuthUser {
        AuthUser {
            handle: session.handle.clone(),
            principal: Principal {
                id: session.user_id.clone(),
                administrator: session.administrator,
                groups: session.groups.clone(),
            },
            session: Some(session),
        }
    }
}

impl FromRequestParts<AppState> for JobAuth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &AppState) -> Result<Self, ApiError> {
        let (login, key) = parse_basic(&parts.headers).map_err(basic_error)?;
        let job_id = login
            .strip_prefix("job-")
            .filter(|id| !id.is_empty() && crate::model::text::check_name(id).is_ok())
            .ok_or_else(invalid_credentials)?;
        let digest = keys::digest(&key);
        if let Some(job_id) = app.job_key_cache.get(&digest, &login) {
            return Ok(JobAuth { job_id });
        }
        let stored = db::jobs::key_digest(&app.db, job_id)
            .await?
            .ok_or_else(invalid_credentials)?;
        if !keys::matches(&key, &stored) {
            return Err(invalid_credentials());
        }
        app.job_key_cache.put(digest, &login, job_id.to_owned());
        Ok(JobAuth {
            job_id: job_id.to_owned(),
        })
    }
}

impl FromRequestParts<AppState> for RunnerCredential {
    type Rejection = ApiError;

    /// `runner-<id>:<key>`; any other login (a job's included) is 401
    /// `invalid_authorization_header`. Checked by the claim itself (one round trip).
    async fn from_request_parts(parts: &mut Parts, _app: &AppState) -> Result<Self, ApiError> {
        let (login, key) = parse_basic(&parts.headers).map_err(basic_error)?;
        let runner_id = login
            .strip_prefix("runner-")
            .filter(|id| !id.is_empty() && crate::model::text::check_name(id).is_ok())
            .ok_or_else(invalid_credentials)?;
        Ok(RunnerCredential {
            id: runner_id.to_owned(),
            key_digest: keys::digest(&key),
        })
    }
}

impl RunnerCredential {
    /// 401 unless the credential is an unrevoked runner's (for the requests refused before they
    /// claim). Never cached: a revoked runner is refused at once.
    pub async fn check(&self, app: &App) -> Result<(), ApiError> {
        db::runners::name_if_key(&app.db, &self.id, &self.key_digest)
            .await
            .map_err(crate::model::failure::Failure::from)?
            .map(|_| ())
            .ok_or_else(invalid_credentials)
    }

    /// The 401 of a credential that holds no unrevoked runner.
    pub fn refused() -> ApiError {
        invalid_credentials()
    }
}
