//! Signing in and out with a password: the same 401 for an unknown handle and a wrong password, a
//! back-off per handle and per client address, Argon2id off the async runtime with a bound on how
//! many run at once, and sessions stored in the database behind an HttpOnly cookie.

use std::net::IpAddr;
use std::time::Duration;

use axum::http::{header, HeaderMap, HeaderValue, StatusCode};

use crate::app::App;
use crate::auth::{keys, passwords, valid_handle};
use crate::db;
use crate::db::sessions::{NewSession, SessionUser};
use crate::http::error::{ApiError, ApiResult};
use crate::model::time::{now_micros, Micros};

/// The session cookie's name.
pub const COOKIE: &str = "vira_session";
/// The header that carries the session's CSRF token on state-changing API requests.
pub const CSRF_HEADER: &str = "x-csrf-token";

const SECOND: Micros = 1_000_000;
/// Failures older than this are forgotten: the count starts again.
const FORGET_AFTER: Micros = 24 * 3600 * SECOND;
/// Longest wait for a password-hashing slot before the sign-in is answered 503.
const SLOT_WAIT: Duration = Duration::from_secs(10);

/// A new session: the cookie token (shown once, to the browser) and what it stands for.
pub struct SignedIn {
    pub token: String,
    pub session: SessionUser,
    /// Whether the cookie should outlive the browser.
    pub remember: bool,
}

fn invalid() -> ApiError {
    ApiError::unauthorized("invalid_credentials", "Wrong handle or password")
}

fn blocked(seconds: i64) -> ApiError {
    let seconds = seconds.max(1);
    ApiError::new(
        StatusCode::TOO_MANY_REQUESTS,
        "too_many_requests",
        format!("Too many failed sign-ins; try again in {seconds} s"),
    )
    .with_header(header::RETRY_AFTER, &seconds.to_string())
}

/// The delay after the `failures`-th failure: none for the free attempts, then 1 s doubling up to
/// `--login-max-backoff`.
pub fn backoff(app: &App, failures: i64) -> Micros {
    let free = app.config.login_free_attempts as i64;
    if failures <= free {
        return 0;
    }
    let exponent = (failures - free - 1).min(30) as u32;
    let seconds = 2i64.saturating_pow(exponent);
    seconds.min(app.config.login_max_backoff as i64) * SECOND
}

/// Run `work` (a password hash or check) off the runtime in one of the `--login-concurrency` slots.
async fn hashing<T: Send + 'static>(
    app: &App,
    work: impl FnOnce() -> T + Send + 'static,
) -> ApiResult<T> {
    let _slot = tokio::time::timeout(SLOT_WAIT, app.password_slots.acquire())
        .await
        .map_err(|_| ApiError::service_unavailable())?
        .map_err(ApiError::internal)?;
    super::blocking(work).await
}

/// Check a handle and password and open a session.
pub async fn login(
    app: &App,
    handle: &str,
    password: &str,
    remember: bool,
    address: Option<IpAddr>,
) -> ApiResult<SignedIn> {
    // A handle that cannot exist is not tracked (no unbounded keys from made-up handles).
    let mut subjects = Vec::new();
    if valid_handle(handle) {
        subjects.push(format!("handle:{handle}"));
    }
    if let Some(address) = address {
        subjects.push(format!("address:{address}"));
    }
    let now = now_micros();
    let blocked_until = db::sessions::blocked_until(&app.db, &subjects).await?;
    if blocked_until > now {
        return Err(blocked((blocked_until - now + SECOND - 1) / SECOND));
    }
    let user = match valid_handle(handle) {
        true => db::users::find_credentials(&app.db, handle).await?,
        false => None,
    };
    // Unknown handles and users without a password are checked against a decoy, so every
    // failure costs the same time.
    let stored = user
        .as_ref()
        .and_then(|u| u.password_hash.clone())
        .unwrap_or_else(|| passwords::decoy().to_owned());
    let given = password.to_owned();
    let matches = hashing(app, move || passwords::verify(&given, &stored)).await?;
    let Some(user) = user.filter(|u| matches && u.password_hash.is_some()) else {
        for subject in &subjects {
            db::sessions::record_failure(&app.db, subject, now, now - FORGET_AFTER, |n| {
                backoff(app, n)
            })
            .await?;
        }
        return Err(invalid());
    };
    db::sessions::clear_failures(&app.db, &format!("handle:{handle}")).await?;
    let token = keys::new_key();
    let ttl = match remember {
        true => app.config.session_remember_ttl,
        false => app.config.session_ttl,
    };
    let session = SessionUser {
        user_id: user.id,
        handle: user.handle,
        administrator: user.administrator,
        groups: user.groups,
        csrf_token: keys::new_key(),
        created_at: now,
        expires_at: now + ttl as i64 * SECOND,
    };
    db::sessions::create(
        &app.db,
        &NewSession {
            token_digest: &keys::digest(&token),
            user_id: &session.user_id,
            csrf_token: &session.csrf_token,
            created_at: session.created_at,
            expires_at: session.expires_at,
        },
    )
    .await?;
    Ok(SignedIn {
        token,
        session,
        remember,
    })
}

/// The session cookie's token, when the request has one.
pub fn cookie_token(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value.trim())
        .filter(|value| !value.is_empty())
}

/// The live session of a cookie token.
pub async fn resolve(app: &App, token: &str) -> ApiResult<Option<SessionUser>> {
    // A token is 64 hex characters; anything else names no session.
    if token.len() != 64 || !token.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Ok(None);
    }
    Ok(db::sessions::find(&app.db, &keys::digest(token), now_micros()).await?)
}

/// Sign out the session of this token (an unknown token is fine).
pub async fn logout(app: &App, token: &str) -> ApiResult<()> {
    Ok(db::sessions::revoke(&app.db, &keys::digest(token)).await?)
}

/// `Set-Cookie` for a new session: HttpOnly, SameSite=Lax, `Secure` with `--secure-cookies`, and
/// a `Max-Age` only when it should outlive the browser.
pub fn session_cookie(app: &App, signed_in: &SignedIn) -> HeaderValue {
    let max_age = match signed_in.remember {
        true => format!("; Max-Age={}", app.config.session_remember_ttl),
        false => String::new(),
    };
    cookie_header(app, &signed_in.token, &max_age)
}

/// `Set-Cookie` that makes the browser forget the session.
pub fn cleared_cookie(app: &App) -> HeaderValue {
    cookie_header(app, "", "; Max-Age=0")
}

fn cookie_header(app: &App, value: &str, max_age: &str) -> HeaderValue {
    let secure = if app.config.secure_cookies {
        "; Secure"
    } else {
        ""
    };
    let cookie = format!("{COOKIE}={value}; Path=/; HttpOnly; SameSite=Lax{max_age}{secure}");
    HeaderValue::from_str(&cookie).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// Whether `given` is the session's CSRF token (compared in constant time).
pub fn csrf_matches(session: &SessionUser, given: Option<&str>) -> bool {
    use subtle::ConstantTimeEq;
    given.is_some_and(|given| given.as_bytes().ct_eq(session.csrf_token.as_bytes()).into())
}

/// Set a user's password (administrators for anyone, U15; everyone for themselves); every session
/// of the user ends.
pub async fn set_password(app: &App, user_id: &str, password: &str) -> ApiResult<()> {
    let password = password.to_owned();
    let hash = hashing(app, move || passwords::hash(&password))
        .await?
        .map_err(ApiError::internal)?;
    if !db::users::set_password(&app.db, user_id, &hash).await? {
        return Err(ApiError::not_found());
    }
    Ok(())
}

/// A user changes their own password: the old one must match (else 400).
pub async fn change_password(
    app: &App,
    handle: &str,
    old_password: &str,
    new_password: &str,
) -> ApiResult<()> {
    let user = db::users::find_credentials(&app.db, handle)
        .await?
        .ok_or_else(ApiError::not_found)?;
    let stored = user
        .password_hash
        .clone()
        .unwrap_or_else(|| passwords::decoy().to_owned());
    let given = old_password.to_owned();
    if !hashing(app, move || passwords::verify(&given, &stored)).await? {
        return Err(ApiError::bad_request("Invalid credentials"));
    }
    set_password(app, &user.id, new_password).await
}
