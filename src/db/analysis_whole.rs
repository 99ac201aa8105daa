//! One analysis whole, as U2 and J3 serve it, in two reads of one round trip each: the head (what
//! the rights check needs, the minimal fields, its files and subtraction names) and, unless the
//! reply is a 304 or the results are kept in memory, the prepared results in the best stored form
//! with their BLAST records. Lists come back as JSON text aggregated by the database, which is
//! where the two dialects differ.

use sqlx::any::AnyRow;
use sqlx::Row;

use super::analyses::{core_from_row, minimal_from_row, named_subtractions, AnalysisCore};
use super::blast::BlastRecord;
use super::{Db, DbError, DbResult};
use crate::format::gzip_splice::Deflated;
use crate::model::time::rfc3339;
use crate::model::views::{AnalysisFile, AnalysisMinimal};

/// An analysis's row with everything its body's head needs.
pub struct AnalysisWhole {
    pub core: AnalysisCore,
    /// `None` when the parent sample is missing (the body cannot be made then).
    pub head: Option<(AnalysisMinimal, Vec<AnalysisFile>)>,
}

const HEAD_COLUMNS: &str =
    "SELECT a.id, a.sample_id, a.job_id AS a_job_id, a.workflow, a.index_id, a.ready, \
     a.created_at, a.updated_at, a.read_count, a.subtractions, a.ref_id, a.user_id, \
     s.id AS s_id, s.user_id AS s_owner, s.group_id, s.group_read, s.group_write, s.all_read, \
     s.all_write, s.name AS sample_name, i.version AS index_version, r.name AS ref_name, \
     r.data_type AS ref_data_type, u.handle AS user_handle, j.id AS job_id, \
     j.created_at AS job_created_at, j.progress AS job_progress, j.stage AS job_stage, \
     j.state AS job_state, j.workflow AS job_workflow, ";

const HEAD_JOINS: &str = " FROM analyses a LEFT JOIN samples s ON s.id = a.sample_id \
     LEFT JOIN indexes i ON i.id = a.index_id LEFT JOIN refs r ON r.id = a.ref_id \
     LEFT JOIN users u ON u.id = a.user_id LEFT JOIN jobs j ON j.id = a.job_id";

const SQLITE_LISTS: &str =
    "(SELECT json_group_array(json_array(f.id, f.name, f.name_on_disk, f.format, \
     f.size, f.uploaded_at)) FROM analysis_files f WHERE f.analysis_id = a.id) AS files_json, \
     (SELECT json_group_array(json_array(t.id, t.name)) FROM subtractions t \
     WHERE t.id IN (SELECT value FROM json_each(a.subtractions))) AS subtractions_json";

const POSTGRES_LISTS: &str =
    "(SELECT COALESCE(json_agg(json_build_array(f.id, f.name, f.name_on_disk, \
     f.format, f.size, f.uploaded_at)), '[]')::text FROM analysis_files f \
     WHERE f.analysis_id = a.id) AS files_json, \
     (SELECT COALESCE(json_agg(json_build_array(t.id, t.name)), '[]')::text FROM subtractions t \
     WHERE t.id IN (SELECT jsonb_array_elements_text(a.subtractions::jsonb))) AS subtractions_json";

type FileColumns = (i64, String, String, Option<String>, i64, i64);

fn parse<T: serde::de::DeserializeOwned>(text: &str) -> DbResult<T> {
    serde_json::from_str(text).map_err(|e| DbError::Other(e.into()))
}

/// The head of analysis `id`, in one round trip.
pub async fn get(db: &Db, id: &str) -> DbResult<Option<AnalysisWhole>> {
    let lists = match db.dialect() {
        super::Dialect::Sqlite => SQLITE_LISTS,
        super::Dialect::Postgres => POSTGRES_LISTS,
    };
    let sql = format!("{HEAD_COLUMNS}{lists}{HEAD_JOINS} WHERE a.id = $1");
    let Some(row) = sqlx::query(&sql)
        .bind(id)
        .fetch_optional(db.reader())
        .await?
    else {
        return Ok(None);
    };
    let core = core_from_row(&row)?;
    if core.sample.is_none() {
        return Ok(Some(AnalysisWhole { core, head: None }));
    }
    let (mut minimal, subtraction_ids) = minimal_from_row(&row)?;
    let names: Vec<(String, String)> = parse(&row.try_get::<String, _>("subtractions_json")?)?;
    minimal.subtractions = named_subtractions(&subtraction_ids, &names);
    let mut files: Vec<FileColumns> = parse(&row.try_get::<String, _>("files_json")?)?;
    files.sort_by_key(|file| file.0);
    let files = files
        .into_iter()
        .map(
            |(file_id, name, name_on_disk, format, size, uploaded_at)| AnalysisFile {
                id: file_id,
                analysis: core.id.clone(),
                description: None,
                format,
                name,
                name_on_disk,
                size,
                uploaded_at: rfc3339(uploaded_at),
            },
        )
        .collect();
    Ok(Some(AnalysisWhole {
        core,
        head: Some((minimal, files)),
    }))
}

/// Prepared results as stored: plain, compressed at finalize, or the brotli copy.
pub enum Stored {
    Plain(Vec<u8>),
    Deflated(Deflated),
    Brotli(Vec<u8>),
}

/// The BLAST records of analysis `analysis` (an SQL expression) as one JSON text.
fn blast_json(db: &Db, analysis: &str) -> String {
    let aggregate = match db.dialect() {
        super::Dialect::Sqlite => "json_group_array(json_array(",
        super::Dialect::Postgres => "COALESCE(json_agg(json_build_array(",
    };
    let close = match db.dialect() {
        super::Dialect::Sqlite => "))",
        super::Dialect::Postgres => ")), '[]')::text",
    };
    format!(
        "(SELECT {aggregate}b.id, b.sequence_index, b.sequence, b.backend, b.created_at, \
         b.updated_at, b.last_checked_at, b.interval, b.rid, b.ready, b.error, b.result, \
         b.deadline_at{close} FROM blast_records b WHERE b.analysis_id = {analysis})"
    )
}

/// Keep the brotli copy of analysis `id`'s prepared results (made once; a second is ignored).
pub async fn store_brotli(db: &Db, id: &str, stream: &[u8]) -> DbResult<()> {
    sqlx::query(
        "UPDATE analysis_results SET prepared_brotli = $2 \
         WHERE analysis_id = $1 AND prepared_brotli IS NULL",
    )
    .bind(id)
    .bind(stream)
    .execute(&mut *db.write().await?)
    .await?;
    Ok(())
}

/// The prepared results of analysis `id` while they have no brotli copy.
pub async fn prepared_without_brotli(db: &Db, id: &str) -> DbResult<Option<Vec<u8>>> {
    Ok(sqlx::query_scalar(
        "SELECT prepared FROM analysis_results WHERE analysis_id = $1 AND prepared_brotli IS NULL",
    )
    .bind(id)
    .fetch_optional(db.reader())
    .await?)
}

/// Up to `limit` analyses whose prepared results have no brotli copy yet.
pub async fn without_brotli(db: &Db, limit: i64) -> DbResult<Vec<String>> {
    Ok(sqlx::query_scalar(
        "SELECT analysis_id FROM analysis_results WHERE prepared_brotli IS NULL \
         ORDER BY analysis_id LIMIT $1",
    )
    .bind(limit)
    .fetch_all(db.reader())
    .await?)
}

/// Which stored copies of the prepared results a reply may use (the client's codings); the
/// plain bytes are read only when no wanted copy is stored.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Forms {
    /// The brotli copy, when it exists and no BLAST record has to be filled in.
    pub brotli: bool,
    /// The DEFLATE copy of finalize.
    pub deflate: bool,
}

/// The stored results' columns of `analysis_results res` for `forms`: at most one copy is read.
fn results_columns(forms: Forms) -> String {
    let brotli = if forms.brotli {
        "(res.prepared_brotli IS NOT NULL AND NOT EXISTS \
         (SELECT 1 FROM blast_records b WHERE b.analysis_id = res.analysis_id))"
    } else {
        "1 = 0"
    };
    let deflate = if forms.deflate {
        format!("(NOT {brotli} AND res.prepared_deflate IS NOT NULL)")
    } else {
        "1 = 0".to_owned()
    };
    format!(
        "CASE WHEN {brotli} THEN res.prepared_brotli END AS prepared_brotli, \
         CASE WHEN {deflate} THEN res.prepared_deflate END AS prepared_deflate, \
         res.prepared_crc32, res.prepared_length, \
         CASE WHEN NOT {brotli} AND NOT {deflate} THEN res.prepared END AS prepared"
    )
}

/// The prepared results of a ready analysis in the best of `forms` stored and, with `with_blast`
/// (NuVs), its BLAST records; one round trip.
pub async fn results(
    db: &Db,
    id: &str,
    with_blast: bool,
    forms: Forms,
) -> DbResult<Option<(Stored, Vec<BlastRecord>)>> {
    let blast = if with_blast {
        blast_json(db, "$1")
    } else {
        "CAST('[]' AS TEXT)".to_owned()
    };
    let sql = format!(
        "SELECT {}, {blast} AS blast_json FROM analysis_results res WHERE res.analysis_id = $1",
        results_columns(forms)
    );
    let Some(row) = sqlx::query(&sql)
        .bind(id)
        .fetch_optional(db.reader())
        .await?
    else {
        return Ok(None);
    };
    stored_from_row(&row, id).map(Some)
}

type BlastColumns = (
    i64,
    i64,
    String,
    String,
    i64,
    i64,
    i64,
    i64,
    Option<String>,
    i64,
    Option<String>,
    Option<String>,
    i64,
);

/// The results and BLAST records of a row with [`results_columns`] and `blast_json`.
fn stored_from_row(row: &AnyRow, id: &str) -> DbResult<(Stored, Vec<BlastRecord>)> {
    let brotli = row.try_get::<Option<Vec<u8>>, _>("prepared_brotli")?;
    let deflate = row.try_get::<Option<Vec<u8>>, _>("prepared_deflate")?;
    let stored = match (brotli, deflate) {
        (Some(brotli), _) => Stored::Brotli(brotli),
        (None, Some(deflate)) => Stored::Deflated(Deflated {
            deflate,
            crc32: row.try_get::<i64, _>("prepared_crc32")? as u32,
            length: row.try_get::<i64, _>("prepared_length")? as u64,
        }),
        (None, None) => Stored::Plain(row.try_get("prepared")?),
    };
    let columns: Vec<BlastColumns> = parse(&row.try_get::<String, _>("blast_json")?)?;
    let records = columns
        .into_iter()
        .map(|c| BlastRecord {
            id: c.0,
            analysis_id: id.to_owned(),
            sequence_index: c.1,
            sequence: c.2,
            backend: c.3,
            created_at: c.4,
            updated_at: c.5,
            last_checked_at: c.6,
            interval: c.7,
            rid: c.8,
            ready: c.9 != 0,
            error: c.10,
            result: c.11,
            deadline_at: c.12,
        })
        .collect();
    Ok((stored, records))
}
