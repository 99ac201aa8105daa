//! The analysis pages: the list, one analysis (Pathoscope or NuVs, or still running), an OTU's
//! charts, a contig's BLAST panel, and delete with confirmation. Rights are the API's
//! (`ops::analyses::access`); a refusal says what is missing.

use askama::Template;
use axum::body::Body;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect};

use super::sign_in::form_fields;
use super::views::{self, page_links, Head, ListRow, PageLink};
use super::{render, render_dated, unchanged, wants_fragment, Layout};
use super::{PageError, PageResult, Viewer};
use crate::app::{App, AppState};
use crate::auth::rights::can_write;
use crate::http::body::read_limited;
use crate::http::query::QueryPairs;
use crate::http::Ids;
use crate::model::page::PageRequest;
use crate::model::views::AnalysisMinimal;
use crate::model::workflow::AnalysisWorkflow;
use crate::ops::analyses::{access, delete_cascade, AnalysisCore, AnalysisFilter, Right};
use crate::ops::blast_requests::{self, BlastRecord};
use crate::ops::{analyses, results, uploads};
use crate::workflows::nuvs::page as nuvs;
use crate::workflows::pathoscope::page as pathoscope;

const PER_PAGE: i64 = 25;

#[derive(Template)]
#[template(path = "analyses.html")]
struct ListPage {
    layout: Layout,
    notice: Option<String>,
    filter_sample: String,
    workflow_options: Vec<(&'static str, &'static str, bool)>,
    state_options: Vec<(&'static str, &'static str, bool)>,
    summary: String,
    rows: Vec<ListRow>,
    pages: Vec<PageLink>,
}

/// `?page=` when it is a page number, else 1.
pub fn page_number(query: &QueryPairs) -> i64 {
    query
        .get("page")
        .and_then(|p| p.parse::<i64>().ok())
        .filter(|p| *p >= 1)
        .unwrap_or(1)
}

/// GET /analyses — every analysis the viewer may read, newest first, filtered and paginated.
pub async fn list(viewer: Viewer, State(app): State<AppState>, query: QueryPairs) -> PageResult {
    let sample = query
        .get("sample")
        .map(str::trim)
        .filter(|s| !s.is_empty() && crate::model::text::check_name(s).is_ok())
        .map(str::to_owned);
    let workflow = query.get("workflow").and_then(AnalysisWorkflow::parse);
    let ready = match query.get("state") {
        Some("ready") => Some(true),
        Some("running") => Some(false),
        _ => None,
    };
    let filter = AnalysisFilter {
        sample_name: sample.clone(),
        workflow,
        ready,
    };
    let request = PageRequest {
        page: page_number(&query),
        per_page: PER_PAGE,
    };
    let (listed, found) =
        analyses::list_readable(&app, &viewer.user.principal, &filter, request).await?;
    let link = |page: i64| {
        let mut pairs = form_urlencoded::Serializer::new(String::new());
        for (key, value) in [
            ("sample", sample.as_deref()),
            ("workflow", workflow.map(AnalysisWorkflow::as_str)),
            ("state", query.get("state")),
        ] {
            if let Some(value) = value.filter(|v| !v.is_empty()) {
                pairs.append_pair(key, value);
            }
        }
        pairs.append_pair("page", &page.to_string());
        format!("/analyses?{}", pairs.finish())
    };
    let page_count = request.page_count(found);
    let state = query.get("state").unwrap_or("");
    Ok(render(&ListPage {
        layout: viewer.layout(),
        notice: (query.get("deleted") == Some("1")).then(|| "The analysis was deleted.".into()),
        filter_sample: sample.clone().unwrap_or_default(),
        workflow_options: std::iter::once(("", "Any", workflow.is_none()))
            .chain(
                AnalysisWorkflow::ALL
                    .into_iter()
                    .map(|w| (w.as_str(), w.label(), workflow == Some(w))),
            )
            .collect(),
        state_options: vec![
            ("", "Any", ready.is_none()),
            ("ready", "Ready", state == "ready"),
            ("running", "Running", state == "running"),
        ],
        summary: match found {
            0 => "No analysis matches.".to_owned(),
            1 => "1 analysis".to_owned(),
            n => format!(
                "{} analyses · page {} of {}",
                views::thousands(n),
                request.page,
                page_count.max(1)
            ),
        },
        rows: listed.iter().map(ListRow::from).collect(),
        pages: page_links(request.page, page_count, link),
    }))
}

/// The analysis for the viewer with `right`; a refusal explains what is missing.
async fn analysis_for(
    app: &App,
    viewer: &Viewer,
    id: &str,
    right: Right,
) -> Result<AnalysisCore, PageError> {
    match access(app, &viewer.user.principal, id, right, "Not found").await {
        Ok(analysis) => Ok(analysis),
        Err(e) if e.status.as_u16() == 403 => Err(PageError::Forbidden(
            denial(app, &viewer.user.principal, id, right).await,
        )),
        Err(e) if e.status.as_u16() == 400 => Err(PageError::BadRequest(
            "The sample of this analysis no longer exists, so nobody's rights to it can be checked.".into(),
        )),
        Err(e) => Err(e.into()),
    }
}

/// What the viewer lacks, in words. Without the read right the page says only what the API's
/// 403 says (`Insufficient rights`): nothing of the sample, its name or its owner. With read but
/// not write, the viewer may see the sample anyway, so the page names whom to ask.
async fn denial(
    app: &App,
    principal: &crate::auth::rights::Principal,
    id: &str,
    right: Right,
) -> String {
    let readable = right == Right::Write
        && access(app, principal, id, Right::Read, "Not found")
            .await
            .is_ok();
    if !readable {
        return "Insufficient rights: you cannot see this analysis.".into();
    }
    match analyses::sample_of(app, id).await.ok().flatten() {
        Some(sample) => format!(
            "You cannot change this analysis: it needs write access to the sample «{}», which {} owns. \
             Ask {} or an administrator to share the sample for writing with everyone or with one of your groups.",
            sample.sample.name, sample.sample.user.handle, sample.sample.user.handle
        ),
        None => "You cannot change this analysis: it needs write access to its sample.".into(),
    }
}

struct FileRow {
    id: i64,
    name: String,
    format: String,
    size: String,
}

async fn files(app: &App, id: &str) -> Result<Vec<FileRow>, PageError> {
    Ok(uploads::files_of(app, id)
        .await?
        .into_iter()
        .map(|f| FileRow {
            id: f.id,
            name: f.name,
            format: f.format.unwrap_or_else(|| "no format".into()),
            size: views::size(f.size),
        })
        .collect())
}

#[derive(Template)]
#[template(path = "running.html")]
struct RunningPage {
    layout: Layout,
    head: Head,
    progress: i64,
    files: Vec<FileRow>,
    can_write: bool,
}

struct Reads {
    total: String,
    mapped: String,
    subtracted: String,
    bar: Option<Bar>,
}

struct Bar {
    mapped: String,
    subtracted: String,
    label: String,
}

struct OtuLine {
    id: String,
    name: String,
    /// The OTU's page and its fragment (for the expand button), built here with the ids encoded.
    href: String,
    fragment: String,
    abbreviation: String,
    weight: String,
    weight_sort: f64,
    depth: String,
    depth_sort: f64,
    coverage: String,
    coverage_sort: f64,
    spark: String,
    spark_max: u64,
}

#[derive(Template)]
#[template(path = "pathoscope.html")]
struct PathoscopePage {
    layout: Layout,
    head: Head,
    reads: Reads,
    files: Vec<FileRow>,
    can_write: bool,
    otus: Vec<OtuLine>,
    spark_width: usize,
    spark_height: u32,
}

#[derive(Template)]
#[template(path = "nuvs.html")]
struct NuvsPage {
    layout: Layout,
    head: Head,
    files: Vec<FileRow>,
    can_write: bool,
    contigs: Vec<ContigLine>,
}

struct ContigLine {
    index: i64,
    length: u64,
    orf_count: u64,
    e_value: String,
    e_value_sort: f64,
    families: String,
    map: crate::charts::orfs::OrfMap,
    annotated: Vec<nuvs::AnnotatedOrf>,
    blast: BlastPanel,
}

/// GET /analyses/{analysis_id}
pub async fn page(
    viewer: Viewer,
    State(app): State<AppState>,
    Ids(id): Ids<String>,
    headers: HeaderMap,
) -> PageResult {
    let analysis = analysis_for(&app, &viewer, &id, Right::Read).await?;
    if let Some(not_modified) = unchanged(&headers, &viewer, analysis.updated_at) {
        return Ok(not_modified);
    }
    let writable = analysis
        .sample
        .as_ref()
        .is_some_and(|s| can_write(&viewer.user.principal, s));
    let minimal = analyses::minimal(&app, &id)
        .await?
        .ok_or_else(|| PageError::NotFound("Not found".into()))?;
    let head = Head::from(&minimal);
    let files = files(&app, &id).await?;
    if !minimal.ready {
        let progress = minimal.job.as_ref().map_or(0, |j| j.progress);
        let page = RunningPage {
            layout: viewer.layout(),
            head,
            progress,
            files,
            can_write: writable,
        };
        return Ok(render_dated(&page, &viewer, analysis.updated_at));
    }
    let (prepared, rows) = stored_results(&app, &id).await?;
    if minimal.workflow == AnalysisWorkflow::Nuvs {
        let records = blast_requests::records(&app, &id).await?;
        let contigs = crate::ops::blocking(move || {
            let rows: Vec<crate::workflows::nuvs::format::ExportRow> =
                serde_json::from_slice(&rows)?;
            nuvs::view(&prepared, &rows)
        })
        .await?
        .map_err(|_| PageError::Internal)?;
        let backend = app.blast.backend.name();
        let contigs = contigs
            .into_iter()
            .map(|c| {
                let record = records.iter().find(|r| r.sequence_index == c.index);
                ContigLine {
                    blast: panel_of(&id, c.index, record, writable, backend),
                    index: c.index,
                    length: c.length,
                    orf_count: c.orf_count,
                    e_value: c.e_value,
                    e_value_sort: c.e_value_sort,
                    families: c.families,
                    map: c.map,
                    annotated: c.annotated,
                }
            })
            .collect();
        let page = NuvsPage {
            layout: viewer.layout(),
            head,
            files,
            can_write: writable,
            contigs,
        };
        return Ok(render_dated(&page, &viewer, analysis.updated_at));
    }
    let view = crate::ops::blocking(move || {
        let rows: Vec<crate::workflows::pathoscope::format::ExportRow> =
            serde_json::from_slice(&rows)?;
        pathoscope::view(&prepared, &rows)
    })
    .await?
    .map_err(|_| PageError::Internal)?;
    let page = PathoscopePage {
        layout: viewer.layout(),
        reads: reads(&view),
        head,
        files,
        can_write: writable,
        otus: view
            .otus
            .into_iter()
            .map(|otu| otu_line(&id, otu))
            .collect(),
        spark_width: pathoscope::SPARK_WIDTH,
        spark_height: pathoscope::SPARK_HEIGHT,
    };
    Ok(render_dated(&page, &viewer, analysis.updated_at))
}

fn reads(view: &pathoscope::PathoscopeView) -> Reads {
    let count = |n: Option<i64>| n.map(views::thousands).unwrap_or_else(|| "—".into());
    Reads {
        total: count(view.read_count),
        mapped: views::thousands(view.mapped_reads),
        subtracted: count(view.subtracted_count),
        bar: view.shares().map(|(mapped, subtracted)| Bar {
            mapped: format!("{mapped:.2}"),
            subtracted: format!("{subtracted:.2}"),
            label: format!("{mapped:.1} % of the reads mapped, {subtracted:.1} % subtracted"),
        }),
    }
}

fn otu_line(analysis_id: &str, otu: pathoscope::OtuRow) -> OtuLine {
    let href = format!(
        "/analyses/{}/otus/{}",
        views::segment(analysis_id),
        views::segment(&otu.id)
    );
    OtuLine {
        fragment: format!("{href}?fragment=1"),
        href,
        weight: views::weight(otu.weight),
        weight_sort: otu.weight,
        depth: views::depth(otu.depth),
        depth_sort: otu.depth,
        coverage: views::percent(otu.coverage),
        coverage_sort: otu.coverage,
        id: otu.id,
        name: otu.name,
        abbreviation: otu.abbreviation,
        spark: otu.spark,
        spark_max: otu.spark_max,
    }
}

/// The prepared results and export rows of a ready analysis.
async fn stored_results(app: &App, id: &str) -> Result<(Vec<u8>, Vec<u8>), PageError> {
    let missing = || PageError::NotFound("The results of this analysis are missing.".into());
    results::prepared_and_rows(app, id)
        .await?
        .ok_or_else(missing)
}

struct SequenceLine {
    accession: String,
    definition: String,
    facts: String,
    length: u64,
    max_depth: u64,
    path: String,
    x_ticks: Vec<(u32, u64)>,
    y_ticks: Vec<(u32, u64)>,
}

struct IsolateLine {
    name: String,
    sequences: Vec<SequenceLine>,
}

struct DetailLines {
    name: String,
    isolates: Vec<IsolateLine>,
}

#[derive(Template)]
#[template(path = "otu_detail.html")]
struct OtuFragment {
    detail: DetailLines,
    width: usize,
    height: u32,
}

#[derive(Template)]
#[template(path = "otu_page.html")]
struct OtuPage {
    layout: Layout,
    head: Head,
    detail: DetailLines,
    width: usize,
    height: u32,
}

fn detail_lines(detail: pathoscope::OtuDetail) -> DetailLines {
    DetailLines {
        name: detail.name,
        isolates: detail
            .isolates
            .into_iter()
            .map(|isolate| IsolateLine {
                name: isolate.name,
                sequences: isolate
                    .sequences
                    .into_iter()
                    .map(|s| SequenceLine {
                        facts: format!(
                            "{} nt · weight {} · {} reads · median depth {} · coverage {}",
                            views::thousands(s.length as i64),
                            views::weight(s.weight),
                            views::thousands(s.reads),
                            views::depth(s.median_depth),
                            views::percent(s.coverage)
                        ),
                        accession: s.accession,
                        definition: s.definition,
                        length: s.length,
                        max_depth: s.max_depth,
                        path: s.path,
                        x_ticks: s.x_ticks,
                        y_ticks: s.y_ticks,
                    })
                    .collect(),
            })
            .collect(),
    }
}

/// A ready analysis of `workflow`, else the page's 404.
fn ready_of(
    analysis: &AnalysisCore,
    minimal: &AnalysisMinimal,
    workflow: AnalysisWorkflow,
) -> Result<(), PageError> {
    if analysis.ready && minimal.workflow == workflow {
        Ok(())
    } else {
        Err(PageError::NotFound("Not found".into()))
    }
}

/// GET /analyses/{analysis_id}/otus/{otu_id} — the charts of one OTU's isolates and sequences
/// (`?fragment=1`: only the charts, for the table's expand button).
pub async fn otu(
    viewer: Viewer,
    State(app): State<AppState>,
    Ids((id, otu_id)): Ids<(String, String)>,
    headers: HeaderMap,
    query: QueryPairs,
) -> PageResult {
    let analysis = analysis_for(&app, &viewer, &id, Right::Read).await?;
    if let Some(not_modified) = unchanged(&headers, &viewer, analysis.updated_at) {
        return Ok(not_modified);
    }
    let minimal = analyses::minimal(&app, &id)
        .await?
        .ok_or_else(|| PageError::NotFound("Not found".into()))?;
    ready_of(&analysis, &minimal, AnalysisWorkflow::PathoscopeBowtie)?;
    let (prepared, rows) = stored_results(&app, &id).await?;
    let detail = crate::ops::blocking(move || {
        let rows: Vec<crate::workflows::pathoscope::format::ExportRow> =
            serde_json::from_slice(&rows)?;
        pathoscope::otu_detail(&prepared, &rows, &otu_id)
    })
    .await?
    .map_err(|_| PageError::Internal)?
    .ok_or_else(|| PageError::NotFound("This analysis found no such OTU.".into()))?;
    let detail = detail_lines(detail);
    let (width, height) = (pathoscope::CHART_WIDTH, pathoscope::CHART_HEIGHT);
    Ok(if wants_fragment(&query) {
        super::fragment(render_dated(
            &OtuFragment {
                detail,
                width,
                height,
            },
            &viewer,
            analysis.updated_at,
        ))
    } else {
        let page = OtuPage {
            layout: viewer.layout(),
            head: Head::from(&minimal),
            detail,
            width,
            height,
        };
        render_dated(&page, &viewer, analysis.updated_at)
    })
}

/// The BLAST panel of a contig, from its record.
pub struct BlastPanel {
    analysis_id: String,
    index: i64,
    /// `none`, `running`, `ready` or `error`.
    state: &'static str,
    poll_seconds: i64,
    running_text: String,
    error: String,
    hits: Vec<HitLine>,
    searched: String,
    can_start: bool,
    button: String,
}

impl BlastPanel {
    /// The panel's fragment (the script follows a running search through it).
    fn src(&self) -> String {
        format!(
            "/analyses/{}/contigs/{}/blast?fragment=1",
            views::segment(&self.analysis_id),
            self.index
        )
    }

    /// The API route that starts the search.
    fn url(&self) -> String {
        format!(
            "/api/analyses/{}/{}/blast",
            views::segment(&self.analysis_id),
            self.index
        )
    }
}

struct HitLine {
    accession: String,
    name: String,
    e_value: String,
    score: String,
    identity: String,
}

fn panel_of(
    analysis_id: &str,
    index: i64,
    record: Option<&BlastRecord>,
    writable: bool,
    backend: &str,
) -> BlastPanel {
    let service = if backend == "local" {
        "local BLAST+"
    } else {
        "NCBI"
    };
    let mut panel = BlastPanel {
        analysis_id: analysis_id.to_owned(),
        index,
        state: "none",
        poll_seconds: 3,
        running_text: String::new(),
        error: String::new(),
        hits: Vec::new(),
        searched: String::new(),
        can_start: writable,
        button: if backend == "local" {
            "BLAST with local BLAST+".into()
        } else {
            "BLAST at NCBI".into()
        },
    };
    let Some(record) = record else {
        return panel;
    };
    if let Some(error) = &record.error {
        panel.state = "error";
        panel.error = error.clone();
        panel.button = "Retry the search".into();
    } else if record.ready {
        panel.state = "ready";
        panel.button = "Search again".into();
        let result: serde_json::Value = record
            .result
            .as_deref()
            .and_then(|r| serde_json::from_str(r).ok())
            .unwrap_or_default();
        panel.searched = result["target"]["database"]
            .as_str()
            .or_else(|| result["target"]["db"].as_str())
            .map(|db| format!("database {db}"))
            .unwrap_or_default();
        panel.hits = result["hits"]
            .as_array()
            .map(|hits| hits.iter().map(hit_line).collect())
            .unwrap_or_default();
    } else {
        panel.state = "running";
        panel.poll_seconds = record.interval.clamp(2, 10);
        panel.can_start = false;
        let checked = views::display_time(&crate::model::time::rfc3339(record.last_checked_at));
        panel.running_text = match &record.rid {
            Some(rid) => format!("Searching {service} (request {rid}); last checked {checked}."),
            None => format!("Waiting to be submitted to {service}…"),
        };
    }
    panel
}

fn hit_line(hit: &serde_json::Value) -> HitLine {
    let number = |key: &str| hit[key].as_f64();
    let identity = match (number("identity"), number("align_len")) {
        (Some(identical), Some(length)) if length > 0.0 => {
            format!("{:.1} %", identical / length * 100.0)
        }
        _ => "—".into(),
    };
    HitLine {
        accession: hit["accession"].as_str().unwrap_or_default().to_owned(),
        name: hit["name"].as_str().unwrap_or_default().to_owned(),
        e_value: number("evalue").map(nuvs::e_value).unwrap_or_default(),
        score: number("score").map(views::depth).unwrap_or_default(),
        identity,
    }
}

#[derive(Template)]
#[template(path = "blast_panel.html")]
struct BlastFragment {
    panel: BlastPanel,
}

#[derive(Template)]
#[template(path = "blast_page.html")]
struct BlastPage {
    layout: Layout,
    panel: BlastPanel,
}

/// GET /analyses/{analysis_id}/contigs/{index}/blast — the BLAST panel of a contig as it stands
/// (the page's script polls it while the search runs).
pub async fn blast_panel(
    viewer: Viewer,
    State(app): State<AppState>,
    Ids((id, index)): Ids<(String, String)>,
    query: QueryPairs,
) -> PageResult {
    let analysis = analysis_for(&app, &viewer, &id, Right::Read).await?;
    let not_found = || PageError::NotFound("This analysis has no such contig.".into());
    if analysis.workflow != AnalysisWorkflow::Nuvs || !analysis.ready {
        return Err(not_found());
    }
    let index: i64 = index.parse().map_err(|_| not_found())?;
    let rows = results::export_rows(&app, &id)
        .await?
        .ok_or_else(not_found)?;
    let rows: Vec<crate::workflows::nuvs::format::ExportRow> =
        serde_json::from_slice(&rows).map_err(|_| PageError::Internal)?;
    if !rows.iter().any(|r| r.index == index) {
        return Err(not_found());
    }
    let record = blast_requests::record(&app, &id, index).await?;
    let writable = analysis
        .sample
        .as_ref()
        .is_some_and(|s| can_write(&viewer.user.principal, s));
    let panel = panel_of(
        &id,
        index,
        record.as_ref(),
        writable,
        app.blast.backend.name(),
    );
    Ok(if wants_fragment(&query) {
        super::fragment(render(&BlastFragment { panel }))
    } else {
        render(&BlastPage {
            layout: viewer.layout(),
            panel,
        })
    })
}

#[derive(Template)]
#[template(path = "confirm_delete.html")]
struct ConfirmDeletePage {
    layout: Layout,
    head: Head,
}

fn still_running() -> PageError {
    PageError::Conflict {
        title: "This analysis is still running".into(),
        message: "An analysis can be deleted once its job has finished and posted results. \
                  A job that failed deletes its analysis itself."
            .into(),
    }
}

/// GET /analyses/{analysis_id}/delete — asks first.
pub async fn confirm_delete(
    viewer: Viewer,
    State(app): State<AppState>,
    Ids(id): Ids<String>,
) -> PageResult {
    let analysis = analysis_for(&app, &viewer, &id, Right::Write).await?;
    if !analysis.ready {
        return Err(still_running());
    }
    let minimal = analyses::minimal(&app, &id)
        .await?
        .ok_or_else(|| PageError::NotFound("Not found".into()))?;
    Ok(render(&ConfirmDeletePage {
        layout: viewer.layout(),
        head: Head::from(&minimal),
    }))
}

/// POST /analyses/{analysis_id}/delete — the delete of U3, with its cascade.
pub async fn delete(
    viewer: Viewer,
    State(app): State<AppState>,
    Ids(id): Ids<String>,
    headers: HeaderMap,
    body: Body,
) -> PageResult {
    let bytes = read_limited(&headers, body, app.config.max_json_bytes).await?;
    viewer.check_csrf(form_fields(&bytes).get("csrf"))?;
    let analysis = analysis_for(&app, &viewer, &id, Right::Write).await?;
    if !analysis.ready {
        return Err(still_running());
    }
    match delete_cascade(&app, &id, true, "Analysis is still running").await {
        Ok(_) => Ok(Redirect::to("/analyses?deleted=1").into_response()),
        Err(e) if e.status.as_u16() == 409 => Err(still_running()),
        Err(e) => Err(e.into()),
    }
}
