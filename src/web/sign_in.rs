//! Signing in and out from the pages: a plain form posted to `/sign-in` (no script needed).

use askama::Template;
use axum::body::Body;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};

use super::{render, Layout, PageError, PageResult, Viewer};
use crate::app::AppState;
use crate::http::body::read_limited;
use crate::http::query::QueryPairs;
use crate::http::ClientAddr;
use crate::ops::sessions;

#[derive(Template)]
#[template(path = "sign_in.html")]
struct SignInPage {
    layout: Layout,
    next: String,
    handle: String,
    error: Option<String>,
    notice: Option<String>,
}

/// Only paths of this site: an absolute URL or `//host` would send people elsewhere.
fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(next) if next.starts_with('/') && !next.starts_with("//") && !next.contains('\\') => {
            next.to_owned()
        }
        _ => "/analyses".to_owned(),
    }
}

/// GET /sign-in
pub async fn form(State(app): State<AppState>, headers: HeaderMap, query: QueryPairs) -> Response {
    let next = safe_next(query.get("next"));
    if let Some(token) = sessions::cookie_token(&headers) {
        if let Ok(Some(_)) = sessions::resolve(&app, token).await {
            return Redirect::to(&next).into_response();
        }
    }
    let notice = match query.get("done") {
        Some("out") => Some("You are signed out.".to_owned()),
        Some("password") => Some("Your password was changed. Sign in with the new one.".to_owned()),
        _ => None,
    };
    render(&SignInPage {
        layout: Layout::anonymous(),
        next,
        handle: String::new(),
        error: None,
        notice,
    })
}

/// The fields of a posted form.
pub fn form_fields(body: &[u8]) -> QueryPairs {
    QueryPairs(
        form_urlencoded::parse(body)
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect(),
    )
}

/// Whether a form post comes from this site: browsers send `Origin` on posts; when it is there,
/// its host must be ours (SameSite=Lax already keeps the cookie off cross-site posts).
pub fn same_origin(headers: &HeaderMap) -> bool {
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        return true;
    };
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok());
    let origin_host = origin.split_once("://").map(|(_, rest)| rest);
    origin == "null" || origin_host == host
}

/// POST /sign-in
pub async fn submit(
    State(app): State<AppState>,
    address: Option<axum::Extension<ClientAddr>>,
    headers: HeaderMap,
    body: Body,
) -> PageResult {
    if !same_origin(&headers) {
        return Err(PageError::Forbidden(
            "Sign in from vira's own sign-in page.".into(),
        ));
    }
    let bytes = read_limited(&headers, body, app.config.max_json_bytes).await?;
    let fields = form_fields(&bytes);
    let handle = fields.get("handle").unwrap_or_default().to_owned();
    let password = fields.get("password").unwrap_or_default();
    let remember = fields.get("remember").is_some();
    let next = safe_next(fields.get("next"));
    let address = address.map(|axum::Extension(ClientAddr(ip))| ip);
    match sessions::login(&app, &handle, password, remember, address).await {
        Ok(signed_in) => {
            let mut response = Redirect::to(&next).into_response();
            response.headers_mut().insert(
                header::SET_COOKIE,
                sessions::session_cookie(&app, &signed_in),
            );
            Ok(response)
        }
        Err(e) if matches!(e.status.as_u16(), 401 | 422 | 429) => {
            let mut response = render(&SignInPage {
                layout: Layout::anonymous(),
                next,
                handle,
                error: Some(e.message.to_string()),
                notice: None,
            });
            *response.status_mut() = e.status;
            Ok(response)
        }
        Err(e) => Err(e.into()),
    }
}

/// POST /sign-out
pub async fn sign_out(
    viewer: Viewer,
    State(app): State<AppState>,
    headers: HeaderMap,
    body: Body,
) -> PageResult {
    let bytes = read_limited(&headers, body, app.config.max_json_bytes).await?;
    viewer.check_csrf(form_fields(&bytes).get("csrf"))?;
    if let Some(token) = sessions::cookie_token(&headers) {
        sessions::logout(&app, token).await?;
    }
    let mut response = Redirect::to("/sign-in?done=out").into_response();
    response
        .headers_mut()
        .insert(header::SET_COOKIE, sessions::cleared_cookie(&app));
    *response.status_mut() = StatusCode::SEE_OTHER;
    Ok(response)
}
