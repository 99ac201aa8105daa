//! Signing in and out with a password: the same 401 for an unknown handle and a wrong password, a
//! back-off that locks the guesser rather than the account (per handle and address, per address,
//! and per handle only for addresses that failed on it), counted before the password is hashed,
//! Argon2id off the async runtime with a bound on how many run at once, and sessions stored in
//! the database behind an HttpOnly cookie.

use std::net::IpAddr;
use std::time::Duration;

use axum::http::{header, HeaderMap, HeaderValue, StatusCode};

use crate::app::App;
use crate::auth::{keys, passwords, valid_handle};
use crate::db;
use crate::db::sessions::{NewSession, Subject};
use crate::http::error::{ApiError, ApiResult};
use crate::model::time::{now_micros, Micros};

pub use crate::db::sessions::SessionUser;

/// The session cookie's name.
pub const COOKIE: &str = crate::http::SESSION_COOKIE;
/// The header that carries the session's CSRF token on state-changing API requests.
pub const CSRF_HEADER: &str = "x-csrf-token";

const SECOND: Micros = 1_000_000;
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

/// The delay after the `failures`-th failure of a subject with `free` free attempts: none for the
/// free attempts, then 1 s doubling up to `--login-max-backoff`.
pub fn backoff(app: &App, free: u64, failures: i64) -> Micros {
    let free = free as i64;
    if failures <= free {
        return 0;
    }
    let exponent = (failures - free - 1).min(30) as u32;
    let seconds = 2i64.saturating_pow(exponent);
    seconds.min(app.config.login_max_backoff as i64) * SECOND
}

/// The kinds of back-off row, in the order their rows are locked.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// One handle from one address: the guesser.
    Pair,
    /// One address, whatever the handle (a shared address lives with its larger allowance).
    Address,
    /// One handle from everywhere; it holds back only addresses that failed on the handle.
    Handle,
}

fn free_attempts(app: &App, kind: Kind) -> u64 {
    match kind {
        Kind::Pair => app.config.login_free_attempts,
        Kind::Address => app.config.login_address_free_attempts,
        Kind::Handle => app.config.login_handle_free_attempts,
    }
}

/// The back-off rows a sign-in of `handle` from `address` counts against. A handle that cannot
/// exist is not tracked (no unbounded keys from made-up handles), only its address.
fn subjects(handle: &str, address: Option<IpAddr>) -> Vec<(Kind, Subject)> {
    let handle = valid_handle(handle).then(|| handle.to_owned());
    let address = address.map(|a| a.to_string());
    let mut subjects = Vec::new();
    if let (Some(h), Some(a)) = (&handle, &address) {
        subjects.push((
            Kind::Pair,
            Subject {
                key: format!("pair:{h}@{a}"),
                handle: Some(h.clone()),
                address: Some(a.clone()),
            },
        ));
    }
    if let Some(a) = &address {
        subjects.push((
            Kind::Address,
            Subject {
                key: format!("address:{a}"),
                handle: None,
                address: Some(a.clone()),
            },
        ));
    }
    if let Some(h) = &handle {
        subjects.push((
            Kind::Handle,
            Subject {
                key: format!("handle:{h}"),
                handle: Some(h.clone()),
                address: None,
            },
        ));
    }
    subjects
}

/// Count this sign-in as a failure before anything is checked (so concurrent guesses cannot all
/// pass a check made before any of them failed), or refuse it with 429 while one of its subjects
/// is blocked — the handle-wide block only for an address that has failed on the handle itself.
async fn count_attempt(app: &App, subjects: &[(Kind, Subject)], now: Micros) -> ApiResult<()> {
    let rows: Vec<Subject> = subjects.iter().map(|(_, s)| s.clone()).collect();
    let forget_before = now - app.config.login_forget_secs as i64 * SECOND;
    let attempt = db::sessions::begin_attempt(&app.db, &rows, now, forget_before).await?;
    // Failures of this pair before this attempt (none known without an address: held back).
    let pair_failed_before = match subjects.iter().position(|(k, _)| *k == Kind::Pair) {
        Some(i) => attempt.failures[i] > 1,
        None => true,
    };
    let mut blocked = 0;
    for (i, (kind, _)) in subjects.iter().enumerate() {
        let applies = *kind != Kind::Handle || pair_failed_before;
        if applies && attempt.blocked_until[i] > now {
            blocked = blocked.max(attempt.blocked_until[i]);
        }
    }
    if blocked > now {
        // Dropped: rolled back, so a refused attempt counts for nothing.
        drop(attempt);
        return Err(self::blocked((blocked - now + SECOND - 1) / SECOND));
    }
    let until: Vec<Micros> = subjects
        .iter()
        .enumerate()
        .map(|(i, (kind, _))| {
            let delay = backoff(app, free_attempts(app, *kind), attempt.failures[i]);
            // A block never shrinks (a count started afresh keeps the block it had).
            (now + delay).max(attempt.blocked_until[i])
        })
        .collect();
    attempt.admit(&until).await?;
    Ok(())
}

/// Take back the counted attempt of `subjects` (not a failure after all).
async fn refund(app: &App, subjects: &[(Kind, Subject)]) -> ApiResult<()> {
    let rows: Vec<Subject> = subjects.iter().map(|(_, s)| s.clone()).collect();
    let free: Vec<i64> = subjects
        .iter()
        .map(|(kind, _)| free_attempts(app, *kind) as i64)
        .collect();
    Ok(db::sessions::refund(&app.db, &rows, &free).await?)
}

/// Clear the sign-in back-off of a handle (from everywhere and from each address) or of an
/// address (itself and every handle from it); how many counts were forgotten.
pub async fn clear_blocks(
    app: &App,
    handle: Option<&str>,
    address: Option<IpAddr>,
) -> ApiResult<u64> {
    let address = address.map(|a| a.to_string());
    Ok(db::sessions::clear_blocks(&app.db, handle, address.as_deref()).await?)
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
    let now = now_micros();
    let subjects = subjects(handle, address);
    count_attempt(app, &subjects, now).await?;
    let user = match valid_handle(handle) {
        true => db::users::find_credentials(&app.db, handle).await,
        false => Ok(None),
    };
    let user = match user {
        Ok(user) => user,
        Err(e) => {
            let _ = refund(app, &subjects).await;
            return Err(e.into());
        }
    };
    // Unknown handles and users without a password are checked against a decoy, so every
    // failure costs the same time.
    let stored = user
        .as_ref()
        .and_then(|u| u.password_hash.clone())
        .unwrap_or_else(|| passwords::decoy().to_owned());
    let given = password.to_owned();
    let matches = match hashing(app, move || passwords::verify(&given, &stored)).await {
        Ok(matches) => matches,
        Err(e) => {
            // No hashing slot (503): the attempt was no guess.
            let _ = refund(app, &subjects).await;
            return Err(e);
        }
    };
    let Some(user) = user.filter(|u| matches && u.password_hash.is_some()) else {
        // Already counted.
        return Err(invalid());
    };
    // Right: the pair's failures are forgotten, and this attempt counts against nothing.
    let (pairs, others): (Vec<_>, Vec<_>) =
        subjects.into_iter().partition(|(k, _)| *k == Kind::Pair);
    for (_, pair) in &pairs {
        db::sessions::clear_failures(&app.db, &pair.key).await?;
    }
    refund(app, &others).await?;
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
