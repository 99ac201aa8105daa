//! A fake NCBI BLAST URL API on 127.0.0.1 that replays the real captured pages (the RID of the
//! Put page replaced by the one of `blast.zip`, spec/blast.md §6.1), scripted per test.

use std::sync::{Arc, Mutex};

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::fixture_bytes;

/// The RID of the captured result `blast.zip`.
pub const RID: &str = "YA6M9135015";

#[derive(Clone, Copy, PartialEq)]
pub enum Put {
    Normal,
    /// The captured page unmodified: it announces RID YA40WNN5014.
    Unmodified,
    NoRid,
    Status(u16),
    /// 500 the first time, then normal.
    FailOnce,
}

#[derive(Clone, Copy, PartialEq)]
pub enum Status {
    /// WAITING this many times, then READY.
    WaitThenReady(usize),
    Word(&'static str),
    /// 503 this many times, then READY.
    UnavailableThenReady(usize),
}

pub struct Script {
    put: Put,
    status: Status,
    alignment_html: bool,
    /// Every request: (CMD, FORMAT_OBJECT, RID, method, body).
    log: Vec<(String, String, String, String, String)>,
    status_calls: usize,
}

#[derive(Clone)]
pub struct FakeNcbi(Arc<Mutex<Script>>);

impl FakeNcbi {
    pub fn log(&self) -> Vec<(String, String, String, String, String)> {
        self.0.lock().unwrap().log.clone()
    }
}

async fn fake_handler(
    State(fake): State<FakeNcbi>,
    method: axum::http::Method,
    Query(query): Query<std::collections::HashMap<String, String>>,
    body: String,
) -> Response {
    let mut script = fake.0.lock().unwrap();
    let cmd = query.get("CMD").cloned().unwrap_or_default();
    let object = query.get("FORMAT_OBJECT").cloned().unwrap_or_default();
    let rid = query.get("RID").cloned().unwrap_or_default();
    script.log.push((
        cmd.clone(),
        object.clone(),
        rid.clone(),
        method.to_string(),
        body,
    ));
    let html = |text: String| ([("content-type", "text/html")], text).into_response();
    let page = |name: &str| String::from_utf8(fixture_bytes(&format!("blast/{name}"))).unwrap();
    match (cmd.as_str(), object.as_str()) {
        ("Put", _) => match script.put {
            Put::Normal => html(page("initialize_blast.html").replace("YA40WNN5014", RID)),
            Put::Unmodified => html(page("initialize_blast.html")),
            Put::NoRid => html(page("check_rid.html")),
            Put::Status(code) => StatusCode::from_u16(code).unwrap().into_response(),
            Put::FailOnce => {
                script.put = Put::Normal;
                StatusCode::INTERNAL_SERVER_ERROR.into_response()
            }
        },
        ("Get", "SearchInfo") => {
            script.status_calls += 1;
            let calls = script.status_calls;
            match script.status {
                Status::WaitThenReady(k) if calls <= k => {
                    html(page("check_rid.html").replace("Status=READY", "Status=WAITING"))
                }
                Status::UnavailableThenReady(k) if calls <= k => {
                    StatusCode::SERVICE_UNAVAILABLE.into_response()
                }
                Status::Word(word) => {
                    html(page("check_rid.html").replace("Status=READY", &format!("Status={word}")))
                }
                _ => html(page("check_rid.html")),
            }
        }
        ("Get", "Alignment") if script.alignment_html => html(page("check_rid.html")),
        ("Get", "Alignment") => (
            [("content-type", "application/zip")],
            fixture_bytes("blast/blast.zip"),
        )
            .into_response(),
        _ => StatusCode::BAD_REQUEST.into_response(),
    }
}

pub async fn start_fake(put: Put, status: Status, alignment_html: bool) -> (String, FakeNcbi) {
    let fake = FakeNcbi(Arc::new(Mutex::new(Script {
        put,
        status,
        alignment_html,
        log: Vec::new(),
        status_calls: 0,
    })));
    let router = axum::Router::new()
        .route("/Blast.cgi", axum::routing::any(fake_handler))
        .with_state(fake.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/Blast.cgi", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    (url, fake)
}
