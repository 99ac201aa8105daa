//! Analyses: creation with their job, rights-filtered lists, finalize, and the delete cascade (§12).

use sqlx::any::AnyRow;
use sqlx::Row;

use super::{flag, get_flag, jobs, Db, DbResult};
use crate::auth::rights::{Principal, SampleRights};
use crate::format::gzip_splice::Deflated;
use crate::model::page::PageRequest;
use crate::model::time::{rfc3339, Micros};
use crate::model::views::{AnalysisMinimal, IdName, IndexRef, JobSummary, RefSummary, UserRef};
use crate::model::workflow::AnalysisWorkflow;

/// What the handlers need to check an analysis request (existence, parent sample, rights, state).
#[derive(Debug, Clone)]
pub struct AnalysisCore {
    pub id: String,
    pub sample_id: String,
    pub job_id: String,
    pub workflow: AnalysisWorkflow,
    pub index_id: String,
    pub ready: bool,
    pub updated_at: Micros,
    /// `None` when the parent sample is missing.
    pub sample: Option<SampleRights>,
}

pub async fn get_core(db: &Db, id: &str) -> DbResult<Option<AnalysisCore>> {
    let row = sqlx::query(
        "SELECT a.id, a.sample_id, a.job_id AS a_job_id, a.workflow, a.index_id, a.ready, a.updated_at, \
         s.id AS s_id, s.user_id AS s_owner, s.group_id, s.group_read, s.group_write, s.all_read, s.all_write \
         FROM analyses a LEFT JOIN samples s ON s.id = a.sample_id WHERE a.id = $1",
    )
    .bind(id)
    .fetch_optional(db.reader())
    .await?;
    row.as_ref().map(core_from_row).transpose()
}

/// The [`AnalysisCore`] of a row with the columns of [`get_core`] (the analysis's job id as
/// `a_job_id`: `job_id` is the joined job's, in the minimal columns).
pub(super) fn core_from_row(row: &AnyRow) -> DbResult<AnalysisCore> {
    let sample = match row.try_get::<Option<String>, _>("s_id")? {
        None => None,
        Some(_) => Some(SampleRights {
            owner_id: row.try_get("s_owner")?,
            group: row.try_get("group_id")?,
            group_read: get_flag(row, "group_read")?,
            group_write: get_flag(row, "group_write")?,
            all_read: get_flag(row, "all_read")?,
            all_write: get_flag(row, "all_write")?,
        }),
    };
    Ok(AnalysisCore {
        id: row.try_get("id")?,
        sample_id: row.try_get("sample_id")?,
        job_id: row.try_get("a_job_id")?,
        workflow: super::get_analysis_workflow(row, "workflow")?,
        index_id: row.try_get("index_id")?,
        ready: get_flag(row, "ready")?,
        updated_at: row.try_get("updated_at")?,
        sample,
    })
}

pub struct NewAnalysis<'a> {
    pub id: &'a str,
    pub job_id: &'a str,
    pub sample_id: &'a str,
    pub sample_name: &'a str,
    pub user_id: &'a str,
    pub workflow: AnalysisWorkflow,
    pub ref_id: &'a str,
    pub index_id: &'a str,
    pub subtractions: &'a [String],
    pub now: Micros,
}

/// Create the analysis and its waiting job in one transaction (U10).
pub async fn insert(db: &Db, new: &NewAnalysis<'_>) -> DbResult<()> {
    let args = serde_json::json!({
        "analysis_id": new.id,
        "sample_id": new.sample_id,
        "sample_name": new.sample_name,
        "ref_id": new.ref_id,
        "index_id": new.index_id,
        "subtractions": new.subtractions,
    });
    let mut tx = db.begin().await?;
    sqlx::query(
        "INSERT INTO analyses (id, sample_id, job_id, user_id, workflow, ref_id, index_id, subtractions, \
         created_at, updated_at, ready, read_count) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9, 0, NULL)",
    )
    .bind(new.id)
    .bind(new.sample_id)
    .bind(new.job_id)
    .bind(new.user_id)
    .bind(new.workflow.as_str())
    .bind(new.ref_id)
    .bind(new.index_id)
    .bind(serde_json::to_string(new.subtractions).unwrap_or_else(|_| "[]".into()))
    .bind(new.now)
    .execute(&mut *tx)
    .await?;
    jobs::insert(
        &mut tx,
        new.job_id,
        new.workflow.workflow(),
        &args,
        new.user_id,
        new.now,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

const MINIMAL_SELECT: &str = "SELECT a.id, a.created_at, a.updated_at, a.ready, a.workflow, a.read_count, \
     a.subtractions, a.index_id, i.version AS index_version, a.ref_id, r.name AS ref_name, \
     r.data_type AS ref_data_type, a.sample_id, s.name AS sample_name, a.user_id, u.handle AS user_handle, \
     j.id AS job_id, j.created_at AS job_created_at, j.progress AS job_progress, j.stage AS job_stage, \
     j.state AS job_state, j.workflow AS job_workflow \
     FROM analyses a JOIN samples s ON s.id = a.sample_id \
     LEFT JOIN indexes i ON i.id = a.index_id LEFT JOIN refs r ON r.id = a.ref_id \
     LEFT JOIN users u ON u.id = a.user_id LEFT JOIN jobs j ON j.id = a.job_id";

/// The rights filter of U1: only analyses whose sample the principal can read ($1 admin, $2 user id).
const READABLE: &str =
    "($1 = 1 OR s.user_id = $2 OR s.all_read = 1 OR (s.group_read = 1 AND s.group_id IN \
     (SELECT group_id FROM user_groups WHERE user_id = $2)))";

pub(super) fn minimal_from_row(row: &AnyRow) -> DbResult<(AnalysisMinimal, Vec<String>)> {
    let user = UserRef {
        id: row.try_get("user_id")?,
        handle: row
            .try_get::<Option<String>, _>("user_handle")?
            .unwrap_or_default(),
    };
    let workflow = super::get_analysis_workflow(row, "workflow")?;
    let job = match row.try_get::<Option<String>, _>("job_id")? {
        None => None,
        Some(id) => Some(JobSummary {
            id,
            archived: false,
            created_at: rfc3339(row.try_get("job_created_at")?),
            progress: row.try_get("job_progress")?,
            stage: row.try_get("job_stage")?,
            state: row.try_get("job_state")?,
            user: user.clone(),
            workflow: super::get_workflow(row, "job_workflow")?,
        }),
    };
    let subtractions: String = row.try_get("subtractions")?;
    let subtraction_ids: Vec<String> = serde_json::from_str(&subtractions).unwrap_or_default();
    let updated_at: Micros = row.try_get("updated_at")?;
    let minimal = AnalysisMinimal {
        id: row.try_get("id")?,
        created_at: rfc3339(row.try_get("created_at")?),
        updated_at: rfc3339(updated_at),
        updated_at_micros: updated_at,
        ready: get_flag(row, "ready")?,
        algorithm: workflow,
        workflow,
        job,
        index: IndexRef {
            id: row.try_get("index_id")?,
            version: row.try_get::<Option<i64>, _>("index_version")?.unwrap_or(0),
        },
        reference: RefSummary {
            id: row.try_get("ref_id")?,
            name: row
                .try_get::<Option<String>, _>("ref_name")?
                .unwrap_or_default(),
            data_type: row
                .try_get::<Option<String>, _>("ref_data_type")?
                .unwrap_or_default(),
        },
        sample: IdName {
            id: row.try_get("sample_id")?,
            name: row.try_get("sample_name")?,
        },
        subtractions: Vec::new(),
        user,
        read_count: row.try_get("read_count")?,
    };
    Ok((minimal, subtraction_ids))
}

/// Fill in subtraction names (sorted by name, then id) for a page of analyses.
async fn with_subtractions(
    db: &Db,
    rows: Vec<(AnalysisMinimal, Vec<String>)>,
) -> DbResult<Vec<AnalysisMinimal>> {
    let mut ids: Vec<String> = rows.iter().flat_map(|(_, s)| s.iter().cloned()).collect();
    ids.sort();
    ids.dedup();
    let names = super::samples::subtraction_names(db, &ids).await?;
    Ok(rows
        .into_iter()
        .map(|(mut analysis, subtraction_ids)| {
            analysis.subtractions = named_subtractions(&subtraction_ids, &names);
            analysis
        })
        .collect())
}

/// An analysis's subtractions as `{id, name}` sorted by name, then id; ids without a name
/// (`names` holds `(id, name)` pairs) are left out.
pub(super) fn named_subtractions(ids: &[String], names: &[(String, String)]) -> Vec<IdName> {
    let mut list: Vec<IdName> = ids
        .iter()
        .filter_map(|id| {
            names
                .iter()
                .find(|(i, _)| i == id)
                .map(|(id, name)| IdName {
                    id: id.clone(),
                    name: name.clone(),
                })
        })
        .collect();
    list.sort_by(|a, b| a.name.cmp(&b.name).then_with(|| a.id.cmp(&b.id)));
    list
}

pub async fn get_minimal(db: &Db, id: &str) -> DbResult<Option<AnalysisMinimal>> {
    let sql = format!("{MINIMAL_SELECT} WHERE a.id = $1");
    let row = sqlx::query(&sql)
        .bind(id)
        .fetch_optional(db.reader())
        .await?;
    let Some(row) = row else { return Ok(None) };
    let mut list = with_subtractions(db, vec![minimal_from_row(&row)?]).await?;
    Ok(list.pop())
}

/// Which of the readable analyses a list shows (the web pages' filters; the API lists them all).
#[derive(Debug, Clone, Default)]
pub struct AnalysisFilter {
    /// Part of the sample's name, compared case-insensitively.
    pub sample_name: Option<String>,
    pub workflow: Option<AnalysisWorkflow>,
    pub ready: Option<bool>,
}

impl AnalysisFilter {
    /// Whether it lets every readable analysis through (U1).
    pub fn is_empty(&self) -> bool {
        self.sample_name.is_none() && self.workflow.is_none() && self.ready.is_none()
    }

    /// The `LIKE` pattern of `sample_name`, with `\`, `%` and `_` taken literally.
    fn name_pattern(&self) -> Option<String> {
        self.sample_name.as_ref().map(|name| {
            let escaped: String = name
                .to_lowercase()
                .chars()
                .flat_map(|c| match c {
                    '\\' | '%' | '_' => vec!['\\', c],
                    c => vec![c],
                })
                .collect();
            format!("%{escaped}%")
        })
    }
}

/// The filter of [`AnalysisFilter`] on `$3`, `$4` and `$5`.
const FILTERED: &str = "($3 IS NULL OR LOWER(s.name) LIKE $3 ESCAPE '\\') \
     AND ($4 IS NULL OR a.workflow = $4) AND ($5 IS NULL OR a.ready = $5)";

/// U1: one page of the analyses the principal can read (that pass `filter`), and their count.
pub async fn list_readable(
    db: &Db,
    principal: &Principal,
    filter: &AnalysisFilter,
    page: PageRequest,
) -> DbResult<(Vec<AnalysisMinimal>, i64)> {
    if filter.is_empty() {
        return list_all_readable(db, principal, page).await;
    }
    let pattern = filter.name_pattern();
    let ready = filter.ready.map(flag);
    let count_sql = format!(
        "SELECT COUNT(*) FROM analyses a JOIN samples s ON s.id = a.sample_id \
         WHERE {READABLE} AND {FILTERED}"
    );
    let found: i64 = sqlx::query_scalar(&count_sql)
        .bind(flag(principal.administrator))
        .bind(&principal.id)
        .bind(&pattern)
        .bind(filter.workflow.map(AnalysisWorkflow::as_str))
        .bind(ready)
        .fetch_one(db.reader())
        .await?;
    let sql = format!(
        "{MINIMAL_SELECT} WHERE {READABLE} AND {FILTERED} \
         ORDER BY a.created_at DESC, a.id DESC {}",
        page_clause(page)
    );
    let rows = sqlx::query(&sql)
        .bind(flag(principal.administrator))
        .bind(&principal.id)
        .bind(&pattern)
        .bind(filter.workflow.map(AnalysisWorkflow::as_str))
        .bind(ready)
        .fetch_all(db.reader())
        .await?;
    let rows = rows.iter().map(minimal_from_row).collect::<DbResult<_>>()?;
    Ok((with_subtractions(db, rows).await?, found))
}

/// `LIMIT n OFFSET m` as literals (validated integers): with them in the text PostgreSQL's cached
/// generic plan knows the page is small, so it plans the statement once per connection instead of
/// on every execution (a bound LIMIT made the generic plan look costly, forcing a ~1 ms custom
/// plan per request).
fn page_clause(page: PageRequest) -> String {
    format!("LIMIT {} OFFSET {}", page.per_page, page.offset())
}

/// The readable analyses counted from the counts of migration 0004 (`$1` admin, `$2` user id): a
/// few rows per user and group, whatever the number of analyses.
const COUNTED: &str =
    "(SELECT CAST(COALESCE(SUM(c.analyses), 0) AS BIGINT) FROM analysis_counts c \
     WHERE $1 = 1 OR c.owner_id = $2 OR c.all_read = 1 OR (c.group_read = 1 AND c.group_id IN \
     (SELECT group_id FROM user_groups WHERE user_id = $2)))";

/// U1 unfiltered: the page and the count in one round trip (the count rides on every row; a page
/// past the end asks for it alone).
async fn list_all_readable(
    db: &Db,
    principal: &Principal,
    page: PageRequest,
) -> DbResult<(Vec<AnalysisMinimal>, i64)> {
    let columns = MINIMAL_SELECT
        .strip_prefix("SELECT ")
        .unwrap_or(MINIMAL_SELECT);
    let sql = format!(
        "SELECT {COUNTED} AS found_count, {columns} WHERE {READABLE} \
         ORDER BY a.created_at DESC, a.id DESC {}",
        page_clause(page)
    );
    let rows = sqlx::query(&sql)
        .bind(flag(principal.administrator))
        .bind(&principal.id)
        .fetch_all(db.reader())
        .await?;
    let found: i64 = match rows.first() {
        Some(row) => row.try_get("found_count")?,
        None => {
            sqlx::query_scalar(&format!("SELECT {COUNTED}"))
                .bind(flag(principal.administrator))
                .bind(&principal.id)
                .fetch_one(db.reader())
                .await?
        }
    };
    let rows = rows.iter().map(minimal_from_row).collect::<DbResult<_>>()?;
    Ok((with_subtractions(db, rows).await?, found))
}

/// U9: one page of a sample's analyses, and their count.
pub async fn list_for_sample(
    db: &Db,
    sample_id: &str,
    page: PageRequest,
) -> DbResult<(Vec<AnalysisMinimal>, i64)> {
    let found: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM analyses WHERE sample_id = $1")
        .bind(sample_id)
        .fetch_one(db.reader())
        .await?;
    let sql = format!(
        "{MINIMAL_SELECT} WHERE a.sample_id = $1 ORDER BY a.created_at DESC, a.id DESC {}",
        page_clause(page)
    );
    let rows = sqlx::query(&sql)
        .bind(sample_id)
        .fetch_all(db.reader())
        .await?;
    let rows = rows.iter().map(minimal_from_row).collect::<DbResult<_>>()?;
    Ok((with_subtractions(db, rows).await?, found))
}

/// Prepared results stored at finalize (contract §9.4).
pub struct Results<'a> {
    pub raw: &'a [u8],
    pub prepared: &'a [u8],
    pub prepared_deflated: &'a Deflated,
    pub export_rows: &'a [u8],
    pub read_count: Option<i64>,
}

pub enum Finalize {
    Done,
    AlreadyReady,
    NotFound,
}

/// Store the results and mark the analysis ready, atomically; of two racing calls one wins.
pub async fn finalize(db: &Db, id: &str, results: &Results<'_>, now: Micros) -> DbResult<Finalize> {
    let mut tx = db.begin().await?;
    let updated = sqlx::query(
        "UPDATE analyses SET ready = 1, updated_at = $1, read_count = $2 WHERE id = $3 AND ready = 0",
    )
    .bind(now)
    .bind(results.read_count)
    .bind(id)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if updated == 0 {
        let exists: Option<i64> = sqlx::query_scalar("SELECT 1 FROM analyses WHERE id = $1")
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
        return Ok(if exists.is_some() {
            Finalize::AlreadyReady
        } else {
            Finalize::NotFound
        });
    }
    sqlx::query(
        "INSERT INTO analysis_results (analysis_id, raw, prepared, export_rows, prepared_deflate, \
         prepared_crc32, prepared_length) VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(id)
    .bind(results.raw)
    .bind(results.prepared)
    .bind(results.export_rows)
    .bind(&results.prepared_deflated.deflate)
    .bind(i64::from(results.prepared_deflated.crc32))
    .bind(results.prepared_deflated.length as i64)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(Finalize::Done)
}

/// The prepared (formatted) results bytes of a ready analysis.
pub async fn prepared_results(db: &Db, id: &str) -> DbResult<Option<Vec<u8>>> {
    Ok(
        sqlx::query_scalar("SELECT prepared FROM analysis_results WHERE analysis_id = $1")
            .bind(id)
            .fetch_optional(db.reader())
            .await?,
    )
}

/// The raw results, exactly as posted, of a ready analysis (stored gzip-compressed).
pub async fn raw_results(db: &Db, id: &str) -> DbResult<Option<Vec<u8>>> {
    let stored: Option<Vec<u8>> =
        sqlx::query_scalar("SELECT raw FROM analysis_results WHERE analysis_id = $1")
            .bind(id)
            .fetch_optional(db.reader())
            .await?;
    let Some(stored) = stored else {
        return Ok(None);
    };
    let mut raw = Vec::with_capacity(stored.len() * 8);
    std::io::Read::read_to_end(
        &mut flate2::read::MultiGzDecoder::new(&stored[..]),
        &mut raw,
    )
    .map_err(|e| super::DbError::Other(e.into()))?;
    Ok(Some(raw))
}

/// The prepared export rows (JSON) of a ready analysis.
pub async fn export_rows(db: &Db, id: &str) -> DbResult<Option<Vec<u8>>> {
    Ok(
        sqlx::query_scalar("SELECT export_rows FROM analysis_results WHERE analysis_id = $1")
            .bind(id)
            .fetch_optional(db.reader())
            .await?,
    )
}

/// Take the analysis row's write lock (keeping `updated_at`): every transaction that changes an
/// analysis and its children locks in the same order (analysis, then children), so none can
/// deadlock or insert a child under a row that a concurrent delete removes. `false` when gone.
pub async fn lock_row(tx: &mut super::Tx, id: &str) -> DbResult<bool> {
    let locked = sqlx::query("UPDATE analyses SET updated_at = updated_at WHERE id = $1")
        .bind(id)
        .execute(&mut **tx)
        .await?
        .rows_affected();
    Ok(locked == 1)
}

/// [`lock_row`], setting `updated_at` to `now` (contract §11: the change is visible to caching).
pub async fn touch(tx: &mut super::Tx, id: &str, now: Micros) -> DbResult<bool> {
    let touched = sqlx::query("UPDATE analyses SET updated_at = $1 WHERE id = $2")
        .bind(now)
        .bind(id)
        .execute(&mut **tx)
        .await?
        .rows_affected();
    Ok(touched == 1)
}

/// [`touch`] for the analysis of a job (its body embeds the job summary).
pub async fn touch_for_job(tx: &mut super::Tx, job_id: &str, now: Micros) -> DbResult<()> {
    sqlx::query("UPDATE analyses SET updated_at = $1 WHERE job_id = $2")
        .bind(now)
        .bind(job_id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

pub enum Delete {
    /// Deleted; the caller removes its stored objects after the commit.
    Deleted,
    NotFound,
    /// The analysis is not in the state the caller required.
    WrongState,
}

/// Delete the analysis and everything that belongs to it in one transaction (§12), only when its
/// `ready` flag equals `required_ready`.
pub async fn delete(db: &Db, id: &str, required_ready: bool) -> DbResult<Delete> {
    let mut tx = db.begin().await?;
    lock_row(&mut tx, id).await?;
    let ready: Option<i64> = sqlx::query_scalar("SELECT ready FROM analyses WHERE id = $1")
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?;
    match ready {
        None => return Ok(Delete::NotFound),
        Some(r) if (r != 0) != required_ready => return Ok(Delete::WrongState),
        Some(_) => {}
    }
    for sql in [
        "DELETE FROM analysis_files WHERE analysis_id = $1",
        "DELETE FROM analysis_results WHERE analysis_id = $1",
        "DELETE FROM blast_records WHERE analysis_id = $1",
        "DELETE FROM analyses WHERE id = $1",
    ] {
        sqlx::query(sql).bind(id).execute(&mut *tx).await?;
    }
    tx.commit().await?;
    Ok(Delete::Deleted)
}
