//! Indexes (workflows §5): creation with its `build_index` job (U19), the user's view (U30), and
//! what the job does to it (J17–J21, scope §7.4).

use crate::app::App;
use crate::db;
use crate::db::indexes::{Finalize, InsertFile};
use crate::db::IdTable;
use crate::files::{index_file_key, Stored};
use crate::format::otus_json::otus_json_gz;
use crate::import::reference::ParsedOtu;
use crate::model::failure::{Failure, Outcome};
use crate::model::job_scope::Reach;
use crate::model::stores::{
    index_file_type, RunnerIndex, RunnerIndexFile, RunnerOtu, StoredFile, OTUS_FILE,
};
use crate::model::time::now_micros;
use crate::model::views::{Index, IndexWithFiles, UserRef};
use crate::ops::auth::JobAuth;
use crate::ops::job_scope::require;
use crate::ops::subtractions::remove_logged;

/// U19: the reference's next index and its `build_index` job; `NotFound` without the reference.
pub async fn create(app: &App, ref_id: &str, user: &UserRef) -> Outcome<Index> {
    let id = db::fresh_id(&app.db, IdTable::Indexes).await?;
    let job_id = db::fresh_id(&app.db, IdTable::Jobs).await?;
    db::refs::create_index(&app.db, &id, &job_id, ref_id, user, now_micros())
        .await?
        .ok_or_else(Failure::not_found)
}

/// U30: the index with its files (empty until `has_files`).
pub async fn get(app: &App, id: &str) -> Outcome<IndexWithFiles> {
    let index = db::indexes::get(&app.db, id)
        .await?
        .ok_or_else(Failure::not_found)?;
    let files = match index.has_files {
        true => db::indexes::files(&app.db, id).await?,
        false => Vec::new(),
    };
    Ok(IndexWithFiles { index, files })
}

/// 404 for an unknown index, then 403 outside the job's scope (§7.4).
async fn reach(app: &App, job: &JobAuth, id: &str, reach: Reach) -> Outcome<Index> {
    let index = db::indexes::get(&app.db, id)
        .await?
        .ok_or_else(Failure::not_found)?;
    require(app, job, reach, id).await?;
    Ok(index)
}

fn runner_file(id: &str, file: StoredFile) -> RunnerIndexFile {
    RunnerIndexFile {
        download_url: format!("/indexes/{id}/files/{}", file.name),
        id: file.id,
        index: id.to_owned(),
        name: file.name,
        size: file.size,
        kind: file.kind,
    }
}

async fn runner_body(app: &App, index: Index) -> Outcome<RunnerIndex> {
    let otus = db::indexes::snapshot(&app.db, &index.id).await?;
    let files = db::indexes::files(&app.db, &index.id).await?;
    Ok(RunnerIndex {
        manifest: db::indexes::manifest(&otus),
        otus: (otus.into_iter())
            .map(|otu| RunnerOtu {
                id: otu.id,
                name: otu.name,
                change_count: 0,
            })
            .collect(),
        files: (files.into_iter())
            .filter(|f| f.name != OTUS_FILE)
            .map(|f| runner_file(&index.id, f))
            .collect(),
        id: index.id,
        version: index.version,
        created_at: index.created_at,
        ready: index.ready,
        has_files: index.has_files,
        reference: index.reference,
        user: index.user,
        job: index.job.map(Into::into),
        change_count: 0,
        modified_otu_count: 0,
        contributors: Vec::new(),
    })
}

/// J17.
pub async fn runner_get(app: &App, job: &JobAuth, id: &str) -> Outcome<RunnerIndex> {
    let index = reach(app, job, id, Reach::ReadIndex).await?;
    runner_body(app, index).await
}

/// J18: a stored index file; `otus.json.gz` is generated from the snapshot on first request and
/// kept under its key (deterministic, so racing requests store the same bytes).
pub async fn open_file(app: &App, job: &JobAuth, id: &str, name: &str) -> Outcome<Stored> {
    reach(app, job, id, Reach::ReadIndex).await?;
    if index_file_type(name).is_none() {
        return Err(Failure::not_found());
    }
    let key = index_file_key(id, name);
    let not_stored = || Failure::not_found_msg("File not found");
    if name == OTUS_FILE {
        if let Some(stored) = app.files.open_object(&key).await? {
            return Ok(stored);
        }
        store_otus_json(app, id, &key).await?;
    } else if !db::indexes::has_file(&app.db, id, name).await? {
        return Err(not_stored());
    }
    app.files.open_object(&key).await?.ok_or_else(not_stored)
}

async fn store_otus_json(app: &App, id: &str, key: &str) -> Outcome<()> {
    use crate::files::Sink;
    let documents = db::indexes::otu_documents(&app.db, id).await?;
    let bytes = tokio::task::spawn_blocking(move || {
        let otus = (documents.iter())
            .map(|text| serde_json::from_str::<ParsedOtu>(text))
            .collect::<Result<Vec<_>, _>>()
            .map_err(Failure::internal)?;
        otus_json_gz(&otus).map_err(Failure::from)
    })
    .await
    .map_err(Failure::internal)??;
    let mut upload = app.files.create_upload(key).await?;
    upload.write(&bytes).await?;
    drop(app.files.commit(upload).await?);
    Ok(())
}

fn built() -> Failure {
    Failure::conflict("Index files are already built")
}

/// J19 rows 2–6, before the body is read: the file's `type` and a fresh file id.
pub async fn check_upload(
    app: &App,
    job: &JobAuth,
    id: &str,
    name: &str,
) -> Outcome<(&'static str, i64)> {
    let index = reach(app, job, id, Reach::WriteIndex).await?;
    let kind = index_file_type(name)
        .filter(|_| name != OTUS_FILE)
        .ok_or_else(|| Failure::not_found_msg("Index file not found"))?;
    if index.has_files {
        return Err(built());
    }
    if db::indexes::has_file(&app.db, id, name).await? {
        return Err(Failure::conflict("File name already exists"));
    }
    Ok((kind, db::indexes::reserve_file_id(&app.db).await?))
}

/// J19 after the commit: record the file. On `Err` the caller removes the object unless the
/// flag is false (a duplicate name: the key is the other upload's).
pub async fn record_upload(
    app: &App,
    job: &JobAuth,
    id: &str,
    file: StoredFile,
) -> Result<RunnerIndexFile, (Failure, bool)> {
    match db::indexes::insert_file(&app.db, id, &file, &job.job_id).await {
        Ok(InsertFile::Inserted) => Ok(runner_file(id, file)),
        Ok(InsertFile::Finalized) => Err((built(), true)),
        Ok(InsertFile::Duplicate) => Err((Failure::conflict("File name already exists"), false)),
        Err(e) => Err((e.into(), true)),
    }
}

/// J20.
pub async fn finalize(app: &App, job: &JobAuth, id: &str) -> Outcome<RunnerIndex> {
    reach(app, job, id, Reach::WriteIndex).await?;
    match db::indexes::finalize(&app.db, id).await? {
        Finalize::Done => {}
        Finalize::Built => return Err(built()),
        Finalize::NoFasta => {
            return Err(Failure::conflict(
                "A FASTA file must be uploaded in order to finalize index",
            ))
        }
        Finalize::Missing(names) => {
            return Err(Failure::conflict(format!(
            "Reference requires that all Bowtie2 index files have been uploaded. Missing files: {}",
            names.join(", ")
        )))
        }
    }
    let index = db::indexes::get(&app.db, id)
        .await?
        .ok_or_else(Failure::not_found)?;
    runner_body(app, index).await
}

/// J21: discard the uploaded files; the index stays.
pub async fn discard(app: &App, job: &JobAuth, id: &str) -> Outcome<()> {
    reach(app, job, id, Reach::WriteIndex).await?;
    let names = db::indexes::discard(&app.db, id).await?.ok_or_else(built)?;
    for name in names {
        remove_logged(app, &index_file_key(id, &name)).await;
    }
    Ok(())
}
