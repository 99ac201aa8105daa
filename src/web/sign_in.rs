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

/// Where to go after signing in: `next` parsed as a browser would (relative to this site, tabs
/// and line breaks dropped, `\\` read as `/`), kept only when it stays on this site; then the
/// path and query as the parser wrote them (percent-encoded, so always a valid `Location`).
fn safe_next(next: Option<&str>) -> String {
    const FALLBACK: &str = "/analyses";
    let Some(next) = next.filter(|n| n.starts_with('/')) else {
        return FALLBACK.to_owned();
    };
    let base = url::Url::parse("http://vira.invalid/").expect("a valid base URL");
    let Ok(parsed) = base.join(next) else {
        return FALLBACK.to_owned();
    };
    if parsed.origin() != base.origin() {
        return FALLBACK.to_owned();
    }
    let mut target = parsed.path().to_owned();
    if let Some(query) = parsed.query() {
        target.push('?');
        target.push_str(query);
    }
    // `//host` would be read as another site's address (a path may begin so after `/.//`).
    if target.starts_with("//") {
        return FALLBACK.to_owned();
    }
    target
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

/// POST /sign-in
pub async fn submit(
    State(app): State<AppState>,
    address: Option<axum::Extension<ClientAddr>>,
    headers: HeaderMap,
    body: Body,
) -> PageResult {
    // Only from this site's own page: a form on another site (or in a sandboxed frame, whose
    // Origin is `null`) cannot sign anyone in (login CSRF).
    if !crate::http::same_site_origin(&headers) {
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

#[cfg(test)]
mod tests {
    use super::safe_next;

    #[test]
    fn next_stays_on_this_site() {
        for (given, kept) in [
            ("/analyses/abc?page=2", "/analyses/abc?page=2"),
            ("/samples/x y", "/samples/x%20y"),
            ("/a/../b", "/b"),
        ] {
            assert_eq!(safe_next(Some(given)), kept, "{given:?}");
        }
        for hostile in [
            "//evil.example",
            "/\\evil.example",
            "/\t/evil.example",
            "/\n/evil.example",
            "/\r/evil.example",
            "/.//evil.example",
            "https://evil.example/",
            "evil.example",
            "",
        ] {
            let next = safe_next(Some(hostile));
            assert!(!next.starts_with("//"), "{hostile:?} -> {next:?}");
            assert!(next.starts_with('/'));
            assert!(
                axum::http::HeaderValue::from_str(&next).is_ok(),
                "{hostile:?} -> {next:?}"
            );
        }
        assert_eq!(safe_next(Some("/\t/evil.example")), "/analyses");
        assert_eq!(safe_next(None), "/analyses");
        assert_eq!(
            safe_next(Some("/x\u{b}y")),
            "/x%0By",
            "a vertical tab is encoded, not passed on"
        );
    }
}
