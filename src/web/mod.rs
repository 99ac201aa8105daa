//! The web pages, a front door beside the two APIs: server-rendered HTML (askama templates
//! compiled into the binary, `templates/`) with embedded assets (`assets/`), for people signed in
//! with a session cookie. Pages read through the same operations as the API (`ops`), so rights
//! and results are exactly the API's.

mod account;
mod analyses;
mod assets;
mod samples;
mod sign_in;
mod views;

use askama::Template;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;

use crate::app::AppState;
use crate::http::error::ApiError;
use crate::model::failure::Failure;
use crate::model::time::Micros;
use crate::ops::auth::AuthUser;
use crate::ops::sessions::{self, SessionUser};

pub use views::Layout;

/// Every page route (the APIs stay under `/api` and `/jobs-api`).
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(|| async { Redirect::to("/analyses") }))
        .route("/sign-in", get(sign_in::form).post(sign_in::submit))
        .route("/sign-out", post(sign_in::sign_out))
        .route("/analyses", get(analyses::list))
        .route("/analyses/{analysis_id}", get(analyses::page))
        .route("/analyses/{analysis_id}/otus/{otu_id}", get(analyses::otu))
        .route(
            "/analyses/{analysis_id}/contigs/{index}/blast",
            get(analyses::blast_panel),
        )
        .route(
            "/analyses/{analysis_id}/delete",
            get(analyses::confirm_delete).post(analyses::delete),
        )
        .route("/samples/{sample_id}", get(samples::page))
        .route("/account", get(account::page))
        .route("/account/password", post(account::change_password))
        .route("/assets/{file}", get(assets::serve))
}

/// The signed-in person of a page request: from the session cookie only (pages are for people;
/// scripts use the API). Without a live session the page answers with the sign-in page.
pub struct Viewer {
    pub user: AuthUser,
    pub session: SessionUser,
}

impl Viewer {
    pub fn layout(&self) -> Layout {
        Layout::signed_in(&self.session)
    }

    /// A form's `csrf` field must be this session's token (pages' forms carry it hidden).
    pub fn check_csrf(&self, given: Option<&str>) -> Result<(), PageError> {
        if sessions::csrf_matches(&self.session, given) {
            Ok(())
        } else {
            Err(PageError::Forbidden(
                "This form has expired (it belongs to another sign-in). Go back, reload the page and try again.".into(),
            ))
        }
    }
}

impl FromRequestParts<AppState> for Viewer {
    type Rejection = PageError;

    async fn from_request_parts(parts: &mut Parts, app: &AppState) -> Result<Self, PageError> {
        let next = parts
            .uri
            .path_and_query()
            .map_or("/analyses".to_owned(), |p| p.as_str().to_owned());
        let token = sessions::cookie_token(&parts.headers)
            .ok_or(PageError::SignIn { next: next.clone() })?;
        let session = sessions::resolve(app, token)
            .await?
            .ok_or(PageError::SignIn { next })?;
        Ok(Viewer {
            user: AuthUser::from_session(session.clone()),
            session,
        })
    }
}

/// A page that cannot be shown: a readable page with the reason, never raw JSON.
#[derive(Debug)]
pub enum PageError {
    /// Not signed in (or the session ended): the sign-in page, then back to `next`.
    SignIn {
        next: String,
    },
    NotFound(String),
    Forbidden(String),
    Conflict {
        title: String,
        message: String,
    },
    BadRequest(String),
    Unavailable,
    Internal,
}

impl From<ApiError> for PageError {
    fn from(error: ApiError) -> Self {
        let message = error.message.to_string();
        match error.status.as_u16() {
            401 => PageError::SignIn {
                next: "/analyses".into(),
            },
            403 => PageError::Forbidden(message),
            404 => PageError::NotFound(message),
            409 => PageError::Conflict {
                title: "Not possible right now".into(),
                message,
            },
            400 | 413 | 422 => PageError::BadRequest(message),
            503 => PageError::Unavailable,
            _ => PageError::Internal,
        }
    }
}

/// The domain's failures read as the API would answer them, so a page says what the API says.
impl From<Failure> for PageError {
    fn from(failure: Failure) -> Self {
        ApiError::from(failure).into()
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage {
    layout: Layout,
    status: u16,
    title: String,
    message: String,
    hint: Option<String>,
    back_href: String,
    back_label: String,
}

impl PageError {
    fn page(self) -> (StatusCode, ErrorPage) {
        let page = |status: StatusCode, title: &str, message: String, hint: Option<&str>| {
            (
                status,
                ErrorPage {
                    layout: Layout::anonymous(),
                    status: status.as_u16(),
                    title: title.to_owned(),
                    message,
                    hint: hint.map(str::to_owned),
                    back_href: "/analyses".into(),
                    back_label: "Back to the analyses".into(),
                },
            )
        };
        match self {
            PageError::SignIn { .. } => unreachable!("answered with a redirect"),
            PageError::NotFound(message) => page(
                StatusCode::NOT_FOUND,
                "Not found",
                not_found_text(&message),
                Some("It may have been deleted, or the link is mistyped."),
            ),
            PageError::Forbidden(message) => {
                page(StatusCode::FORBIDDEN, "Not allowed", message, None)
            }
            PageError::Conflict { title, message } => {
                let mut p = page(StatusCode::CONFLICT, "", message, None);
                p.1.title = title;
                p
            }
            PageError::BadRequest(message) => page(
                StatusCode::BAD_REQUEST,
                "This cannot be shown",
                message,
                None,
            ),
            PageError::Unavailable => page(
                StatusCode::SERVICE_UNAVAILABLE,
                "Temporarily unavailable",
                "vira cannot reach its database right now.".into(),
                Some("Try again in a minute."),
            ),
            PageError::Internal => page(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Something went wrong",
                "The page could not be made. The cause is in vira's log.".into(),
                None,
            ),
        }
    }
}

fn not_found_text(message: &str) -> String {
    match message {
        "Not found" | "Analysis not found" => "There is no such page.".into(),
        other => other.to_owned(),
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        if let PageError::SignIn { next } = self {
            let target = format!(
                "/sign-in?next={}",
                form_urlencoded::byte_serialize(next.as_bytes()).collect::<String>()
            );
            return Redirect::to(&target).into_response();
        }
        let (status, page) = self.page();
        let mut response = render(&page);
        *response.status_mut() = status;
        response
    }
}

pub type PageResult = Result<Response, PageError>;

/// A rendered page (`text/html`, never stored by shared caches).
pub fn render<T: Template>(page: &T) -> Response {
    match page.render() {
        Ok(html) => {
            let mut response = (StatusCode::OK, html).into_response();
            let headers = response.headers_mut();
            headers.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/html; charset=utf-8"),
            );
            private(headers);
            response
        }
        Err(e) => {
            tracing::error!(error = %e, "a page template failed");
            (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response()
        }
    }
}

/// The 304 for a page that changes only with `updated_at` (and with the session: its CSRF token
/// is in the page), when the browser's copy is current — caching like U2 (contract §11).
pub fn unchanged(headers: &HeaderMap, viewer: &Viewer, updated_at: Micros) -> Option<Response> {
    let modified = updated_at.max(viewer.session.created_at);
    let mut response = crate::http::caching::not_modified(headers, modified)?;
    private(response.headers_mut());
    Some(response)
}

/// [`render`] with the `Last-Modified` that [`unchanged`] compares with.
pub fn render_dated<T: Template>(page: &T, viewer: &Viewer, updated_at: Micros) -> Response {
    let mut response = render(page);
    if response.status() == StatusCode::OK {
        let modified = updated_at.max(viewer.session.created_at);
        crate::http::caching::add_headers(response.headers_mut(), modified);
        private(response.headers_mut());
    }
    response
}

fn private(headers: &mut HeaderMap) {
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-cache"),
    );
    headers.insert(header::VARY, HeaderValue::from_static("Cookie"));
}

/// The header that marks a reply as a fragment made to be inserted into a page: the pages'
/// script inserts only same-origin `text/html` replies that carry it.
pub const FRAGMENT_HEADER: &str = "x-vira-fragment";

/// Mark a rendered fragment (see [`FRAGMENT_HEADER`]).
pub fn fragment(mut response: Response) -> Response {
    if response.status() == StatusCode::OK {
        response
            .headers_mut()
            .insert(FRAGMENT_HEADER, HeaderValue::from_static("1"));
    }
    response
}

/// Whether the request asked for the fragment of a page (the scripts do) rather than the page.
pub fn wants_fragment(query: &crate::http::query::QueryPairs) -> bool {
    query.get("fragment") == Some("1")
}

/// The HTML 404 for an unknown page path (unknown `/api` paths keep their JSON 404).
pub fn unknown_page() -> Response {
    PageError::NotFound("There is no such page.".into()).into_response()
}

/// Whether a client prefers a page to JSON (browsers send `Accept: text/html…`).
pub fn accepts_html(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|accept| accept.contains("text/html"))
}
