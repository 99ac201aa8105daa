//! The one layer stack of every listener (`with_layers`): request ids and the request log, the 408
//! answer to a stalled body, panics as 500, JSON 405s, and the security headers of every reply.
//! Both routers go through it, so the main and the jobs listener cannot drift apart.

use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use axum::body::Body;
use axum::extract::{MatchedPath, Request};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::Router;
use bytes::Bytes;
use http_body::{Body as HttpBody, Frame, SizeHint};
use tracing::Instrument;

use super::error::ApiError;

/// What one request's body did, filled in by the connection (`server::conn`) and read here.
#[derive(Debug, Default)]
pub struct BodyMeter {
    pub bytes: AtomicU64,
    pub timed_out: AtomicBool,
    /// The request body was read to its end (or had none).
    pub ended: AtomicBool,
}

/// The error a stalled request body ends with; the handler sees a failed read, the client a 408.
#[derive(Debug, thiserror::Error)]
#[error("the request body made no progress within the body timeout")]
pub struct BodyTimedOut;

pub const REQUEST_ID: &str = "x-request-id";

/// A line of the request head over `--max-header-line-bytes`, noted by the listener and answered
/// here (so the refusal is logged and carries the security headers).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LongHeadLine {
    /// The request line (method, target, version): 414.
    RequestLine,
    /// One header: 431.
    Header,
}

/// Every layer, outermost last.
pub fn with_layers(router: Router) -> Router {
    router
        .layer(middleware::from_fn(json_method_not_allowed))
        .layer(middleware::from_fn(refuse_long_head_lines))
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(
            |_: Box<dyn std::any::Any + Send>| {
                ApiError::internal(anyhow::anyhow!("handler panicked")).into_response()
            },
        ))
        .layer(middleware::from_fn(answer_stalled_body))
        .layer(middleware::from_fn(security_headers))
        .layer(middleware::from_fn(request_log))
}

/// The policy of every page: its own scripts, styles and images only — no inline script, no
/// event-handler attribute, no inline style —, forms posting only here, no plugins, no `<base>`,
/// and never inside a frame (clickjacking).
pub const PAGE_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
     img-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";
/// The policy of every other reply (JSON, downloads, exports, assets): nothing runs, even when
/// a browser is made to open it as a document.
pub const OTHER_POLICY: &str = "default-src 'none'; frame-ancestors 'none'; sandbox";

/// Headers that keep a browser from turning a reply against the lab: the content-security
/// policy, no framing, no content sniffing (an uploaded file is never run as a script or page),
/// and no path of vira's (ids, filters) in the `Referer` sent to other sites.
async fn security_headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let html = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    // A 304's headers replace the cached reply's: it keeps the policy it was sent with.
    let not_modified = response.status() == StatusCode::NOT_MODIFIED;
    let headers = response.headers_mut();
    if !not_modified {
        let policy = if html { PAGE_POLICY } else { OTHER_POLICY };
        headers.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(policy),
        );
    }
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    response
}

/// 414 or 431 for a request whose head has a line over the limit, before any route sees it.
async fn refuse_long_head_lines(request: Request, next: Next) -> Response {
    match request.extensions().get::<LongHeadLine>() {
        None => next.run(request).await,
        Some(LongHeadLine::RequestLine) => ApiError::new(
            StatusCode::URI_TOO_LONG,
            "uri_too_long",
            "The request line is longer than --max-header-line-bytes",
        )
        .into_response(),
        Some(LongHeadLine::Header) => ApiError::new(
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            "request_header_fields_too_large",
            "A request header is longer than --max-header-line-bytes",
        )
        .into_response(),
    }
}

/// axum answers a wrong method with an empty 405 (and the `Allow` header); give it the JSON body.
async fn json_method_not_allowed(request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    if response.status() != StatusCode::METHOD_NOT_ALLOWED {
        return response;
    }
    let allow = response.headers().get(header::ALLOW).cloned();
    let mut json = ApiError::method_not_allowed().into_response();
    if let Some(allow) = allow {
        json.headers_mut().insert(header::ALLOW, allow);
    }
    json
}

/// A body that stopped making progress is answered 408 whatever the handler made of the failed
/// read (the listener closes the connection, as after every reply made before the body's end).
async fn answer_stalled_body(request: Request, next: Next) -> Response {
    let meter = request.extensions().get::<Arc<BodyMeter>>().cloned();
    let response = next.run(request).await;
    if !meter.is_some_and(|m| m.timed_out.load(Ordering::Acquire)) {
        return response;
    }
    ApiError::request_timeout().into_response()
}

/// The client's `X-Request-Id` when it is 1–128 characters of `[A-Za-z0-9._:-]`.
pub fn client_request_id(headers: &HeaderMap) -> Option<&str> {
    let id = headers.get(REQUEST_ID)?.to_str().ok()?;
    let valid = (1..=128).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'-'));
    valid.then_some(id)
}

fn new_request_id() -> String {
    let bytes: [u8; 12] = rand::random();
    hex::encode(bytes)
}

/// One span per request (its id, method and matched route) around the handler, so every event of
/// the request — a 5xx's cause included — carries them; one log line when the response is sent.
async fn request_log(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let id = client_request_id(request.headers())
        .map(str::to_owned)
        .unwrap_or_else(new_request_id);
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or("-", |path| path.as_str())
        .to_owned();
    let meter = request.extensions().get::<Arc<BodyMeter>>().cloned();
    let method = request.method().clone();
    let span = tracing::info_span!(
        "request",
        id = %id,
        method = %method,
        route = %route,
        path = tracing::field::Empty
    );
    if route == "-" {
        // No route pattern to name it by: what the client asked for, made safe to log.
        span.record("path", loggable_path(request.uri()).as_str());
    }
    let mut response = next.run(request).instrument(span.clone()).await;
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(REQUEST_ID, value);
    }
    let line = LogLine {
        span,
        method,
        route,
        started,
        status: response.status(),
        meter,
        sent: 0,
    };
    response.map(|inner| {
        Body::new(LoggedBody {
            inner,
            line: Some(line),
        })
    })
}

/// Longest path (with its query) written to the log of an unmatched request, in characters.
pub const LOGGED_PATH_CHARS: usize = 256;

/// The path and query of a request for the log: cut at [`LOGGED_PATH_CHARS`] (`…` marks the
/// cut) and with control characters escaped (`\u{1b}`), so no request can forge or break log
/// lines. Percent-encoded bytes are left encoded.
pub fn loggable_path(uri: &axum::http::Uri) -> String {
    let raw = uri.path_and_query().map_or("/", |p| p.as_str());
    let mut out = String::new();
    for (n, c) in raw.chars().enumerate() {
        if n == LOGGED_PATH_CHARS {
            out.push('…');
            break;
        }
        if c.is_control() {
            out.extend(c.escape_unicode());
        } else {
            out.push(c);
        }
    }
    out
}

struct LogLine {
    span: tracing::Span,
    method: axum::http::Method,
    /// The route pattern (`/api/analyses/{analysis_id}`), `-` when none matched.
    route: String,
    started: Instant,
    status: StatusCode,
    meter: Option<Arc<BodyMeter>>,
    sent: u64,
}

impl LogLine {
    fn write(&self, complete: bool) {
        let received = self
            .meter
            .as_ref()
            .map_or(0, |m| m.bytes.load(Ordering::Relaxed));
        let latency = self.started.elapsed().as_secs_f64();
        let latency_ms = latency * 1000.0;
        self.record_metrics(latency, received);
        tracing::info!(
            target: "vira::request",
            parent: &self.span,
            status = self.status.as_u16(),
            latency_ms = format_args!("{latency_ms:.3}"),
            bytes_in = received,
            bytes_out = self.sent,
            complete,
            "request"
        );
    }
}

impl LogLine {
    /// The request in the Prometheus metrics (a no-op unless `--metrics-listen` installed a
    /// recorder). Labels are the route pattern, never the raw path, so their number is bounded.
    fn record_metrics(&self, latency: f64, received: u64) {
        let route = if self.route == "-" {
            "unmatched".to_owned()
        } else {
            self.route.clone()
        };
        let class = match self.status.as_u16() {
            100..=199 => "1xx",
            200..=299 => "2xx",
            300..=399 => "3xx",
            400..=499 => "4xx",
            _ => "5xx",
        };
        let labels = [
            ("method", self.method.as_str().to_owned()),
            ("route", route.clone()),
            ("status", class.to_owned()),
        ];
        metrics::counter!("vira_http_requests_total", &labels).increment(1);
        metrics::histogram!("vira_http_request_duration_seconds", &labels).record(latency);
        metrics::counter!("vira_http_request_body_bytes_total", "route" => route.clone())
            .increment(received);
        metrics::counter!("vira_http_response_body_bytes_total", "route" => route)
            .increment(self.sent);
    }
}

/// The response body, counted; the request's log line is written when it ends or is dropped.
struct LoggedBody {
    inner: Body,
    line: Option<LogLine>,
}

impl HttpBody for LoggedBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        match &polled {
            Poll::Ready(Some(Ok(frame))) => {
                if let (Some(data), Some(line)) = (frame.data_ref(), self.line.as_mut()) {
                    line.sent += data.len() as u64;
                }
            }
            Poll::Ready(None) => {
                if let Some(line) = self.line.take() {
                    line.write(true);
                }
            }
            _ => {}
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

impl Drop for LoggedBody {
    fn drop(&mut self) {
        if let Some(line) = self.line.take() {
            // Ends without its last frame: an empty body (hyper never polls it), or a client that left.
            let complete = self.inner.is_end_stream();
            line.write(complete);
        }
    }
}
