//! The JSON bodies of the routes that take one (U5 analyses, U11/U13 samples, U14/U15 users,
//! U16 groups, U17 subtractions, J1 acquire, J2 status): `parse_json`, then the same `Fields`
//! checks those handlers run, `finish`, and the error body a client would get. The query side of
//! listing routes (`page_request`) runs on the body's top-level scalars as query pairs.
#![no_main]

#[path = "common.rs"]
mod common;

use axum::response::IntoResponse;
use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use vira::http::body::parse_json;
use vira::http::error::ApiError;
use vira::http::query::{page_request, QueryPairs};
use vira::http::validate::Fields;
use vira::model::field_errors::MAX_ERROR_KEYS;

/// The response an error turns into must be the contract's JSON error body.
fn check_error(error: ApiError) {
    let status = error.status.as_u16();
    assert!(matches!(status, 400 | 422), "status {status}");
    let errors = error.errors().map(|e| e.len());
    let response = error.into_response();
    let body = common::runtime()
        .block_on(axum::body::to_bytes(response.into_body(), usize::MAX))
        .expect("error body");
    let value = common::assert_json(&body, "error body");
    assert!(value["id"].is_string() && value["message"].is_string());
    if let Some(n) = errors {
        assert!(n <= MAX_ERROR_KEYS);
        assert_eq!(value["errors"].as_object().map(|e| e.len()), Some(n));
    }
}

fn finish(fields: Fields) {
    if let Err(e) = fields.finish() {
        assert_eq!(e.status.as_u16(), 422);
        check_error(e);
    }
}

fuzz_target!(|data: &[u8]| {
    let body = match parse_json(data) {
        Ok(body) => body,
        Err(e) => return check_error(e),
    };

    // U5: create an analysis.
    let mut f = Fields::new(&body);
    let _ = f.string("ref_id", true, false);
    let workflow = f.choice("workflow", true, &["pathoscope", "nuvs"]);
    assert!(matches!(
        workflow.as_deref(),
        None | Some("pathoscope" | "nuvs")
    ));
    let _ = f.string_list("subtractions", false);
    finish(f);

    // U11 / U13: samples and their rights.
    let mut f = Fields::new(&body);
    if let Some(name) = f.string("name", true, true) {
        assert!(!name.is_empty());
    }
    let _ = f.nullable_string("group");
    for key in ["group_read", "group_write", "all_read", "all_write"] {
        let _ = f.boolean(key, false);
    }
    finish(f);

    // U14 / U15 / U16 / U17: users, groups, subtractions.
    let mut f = Fields::new(&body);
    let _ = f.string("handle", true, false);
    let _ = f.boolean("administrator", false);
    let _ = f.string_list("groups", false);
    let _ = f.string("nickname", false, false);
    finish(f);

    // J1 / J2: acquire and status.
    let mut f = Fields::new(&body);
    if let Some(false) = f.boolean("acquired", true) {
        f.add("acquired", "unallowed value false");
    }
    let _ = f.choice(
        "state",
        true,
        &[
            "waiting",
            "preparing",
            "running",
            "complete",
            "cancelled",
            "error",
            "terminated",
            "timeout",
        ],
    );
    let _ = f.string("stage", true, false);
    if let Some(progress) = f.integer("progress", true, 0, 100) {
        assert!((0..=100).contains(&progress));
    }
    let _ = f.nullable_string("step_name");
    let _ = f.nullable_string("step_description");
    if let Some(error) = f.raw("error") {
        if let Some(object) = error.as_object() {
            for key in ["type", "details", "traceback"] {
                let _ = object.get(key);
            }
        }
    }
    finish(f);

    // Pagination, with the body's scalars as the query pairs.
    if let Value::Object(map) = &body {
        let pairs = map
            .iter()
            .filter_map(|(k, v)| match v {
                Value::String(s) => Some((k.clone(), s.clone())),
                Value::Number(n) => Some((k.clone(), n.to_string())),
                _ => None,
            })
            .collect();
        match page_request(&QueryPairs(pairs), 100) {
            Ok(page) => {
                assert!(page.page >= 1 && (1..=100).contains(&page.per_page));
                assert!(page.offset() >= 0);
                assert!(page.page_count(1_000_000) >= 1);
            }
            Err(e) => {
                assert_eq!(e.status.as_u16(), 422);
                check_error(e);
            }
        }
    }
});
