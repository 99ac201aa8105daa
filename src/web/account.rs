//! The viewer's account page, and changing one's password from it.

use askama::Template;
use axum::body::Body;
use axum::extract::State;
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Redirect};

use super::sign_in::form_fields;
use super::{render, views, Layout, PageError, PageResult, Viewer};
use crate::app::AppState;
use crate::http::body::read_limited;
use crate::model::time::rfc3339;
use crate::ops::sessions;

#[derive(Template)]
#[template(path = "account.html")]
struct AccountPage {
    layout: Layout,
    handle: String,
    role: &'static str,
    groups: String,
    expires: String,
    expires_iso: String,
    error: Option<String>,
}

fn account_page(viewer: &Viewer, error: Option<String>) -> AccountPage {
    let expires_iso = rfc3339(viewer.session.expires_at);
    AccountPage {
        layout: viewer.layout(),
        handle: viewer.session.handle.clone(),
        role: if viewer.session.administrator {
            "administrator"
        } else {
            "user"
        },
        groups: match viewer.session.groups.is_empty() {
            true => "none".into(),
            false => viewer.session.groups.join(", "),
        },
        expires: views::display_time(&expires_iso),
        expires_iso,
        error,
    }
}

/// GET /account
pub async fn page(viewer: Viewer) -> PageResult {
    Ok(render(&account_page(&viewer, None)))
}

/// POST /account/password — the old password, then the new one; every session ends.
pub async fn change_password(
    viewer: Viewer,
    State(app): State<AppState>,
    headers: HeaderMap,
    body: Body,
) -> PageResult {
    let bytes = read_limited(&headers, body, app.config.max_json_bytes).await?;
    let fields = form_fields(&bytes);
    viewer.check_csrf(fields.get("csrf"))?;
    let new = fields.get("password").unwrap_or_default();
    if let Err(problem) = crate::auth::passwords::check_new(new) {
        let mut response = render(&account_page(
            &viewer,
            Some(format!("The new password is refused: {problem}.")),
        ));
        *response.status_mut() = axum::http::StatusCode::UNPROCESSABLE_ENTITY;
        return Ok(response);
    }
    let old = fields.get("old_password").unwrap_or_default();
    match sessions::change_password(&app, &viewer.session.handle, old, new).await {
        Ok(()) => {
            let mut response = Redirect::to("/sign-in?done=password").into_response();
            response
                .headers_mut()
                .insert(header::SET_COOKIE, sessions::cleared_cookie(&app));
            Ok(response)
        }
        Err(e) if e.status.as_u16() == 400 => {
            let mut response = render(&account_page(
                &viewer,
                Some("The current password is not right.".into()),
            ));
            *response.status_mut() = axum::http::StatusCode::BAD_REQUEST;
            Ok(response)
        }
        Err(e) => Err(PageError::from(e)),
    }
}
