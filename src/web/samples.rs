//! A sample's page: who owns it, whom it is shared with, and its analyses.

use askama::Template;
use axum::extract::State;

use super::views::{self, page_links, ListRow, PageLink};
use super::{render, Layout, PageError, PageResult, Viewer};
use crate::app::AppState;
use crate::http::query::QueryPairs;
use crate::http::Ids;
use crate::model::failure::Failure;
use crate::model::page::PageRequest;
use crate::ops::analyses::of_readable_sample;

struct SampleFacts {
    id: String,
    name: String,
    owner: String,
    created: String,
    created_iso: String,
    sharing: String,
}

#[derive(Template)]
#[template(path = "sample.html")]
struct SamplePage {
    layout: Layout,
    sample: SampleFacts,
    summary: String,
    rows: Vec<ListRow>,
    pages: Vec<PageLink>,
}

/// GET /samples/{sample_id} (U12's rights: 404, then 403 without read access).
pub async fn page(
    viewer: Viewer,
    State(app): State<AppState>,
    Ids(id): Ids<String>,
    query: QueryPairs,
) -> PageResult {
    let request = PageRequest {
        page: super::analyses::page_number(&query),
        per_page: 25,
    };
    let (sample, analyses, found) =
        match of_readable_sample(&app, &viewer.user.principal, &id, request).await {
            Ok(found) => found,
            Err(Failure::NotFound(_)) => {
                return Err(PageError::NotFound("There is no such sample.".into()))
            }
            // As the API's 403: nothing of the sample to someone who may not read it.
            Err(Failure::InsufficientRights) => {
                return Err(PageError::Forbidden(
                    "Insufficient rights: you cannot see this sample.".into(),
                ))
            }
            Err(other) => return Err(other.into()),
        };
    let s = &sample.sample;
    let mut shared = Vec::new();
    if s.all_read {
        shared.push(
            if s.all_write {
                "everyone (read and write)"
            } else {
                "everyone (read)"
            }
            .to_owned(),
        );
    }
    if let Some(group) = &s.group {
        let rights = match (s.group_read, s.group_write) {
            (true, true) => "read and write",
            (true, false) => "read",
            (false, true) => "write without read: no access",
            (false, false) => "no access",
        };
        shared.push(format!("group {group} ({rights})"));
    }
    let facts = SampleFacts {
        id: s.id.clone(),
        name: s.name.clone(),
        owner: s.user.handle.clone(),
        created: views::display_time(&s.created_at),
        created_iso: s.created_at.clone(),
        sharing: if shared.is_empty() {
            "nobody but its owner".into()
        } else {
            shared.join("; ")
        },
    };
    let page_count = request.page_count(found);
    Ok(render(&SamplePage {
        layout: viewer.layout(),
        sample: facts,
        summary: views::thousands(found),
        rows: analyses.iter().map(ListRow::from).collect(),
        pages: page_links(request.page, page_count, |n| {
            format!("/samples/{id}?page={n}")
        }),
    }))
}
