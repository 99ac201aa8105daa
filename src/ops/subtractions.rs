//! Subtractions (workflows §4): creation with a host genome and its job (U17), the user's view
//! (U28, U29), and what the `create_subtraction` job does to it (J22–J26, scope §7.4).

use crate::app::App;
use crate::db;
use crate::db::subtractions::{Create, Discard, Finalize, InsertFile, NewSubtraction};
use crate::db::IdTable;
use crate::files::{subtraction_file_key, upload_key, Stored};
use crate::model::failure::{Failure, Outcome};
use crate::model::job_scope::Reach;
use crate::model::page::{Page, PageRequest};
use crate::model::stores::{
    subtraction_file_type, Gc, RunnerSubtraction, RunnerSubtractionFile, StoredFile,
};
use crate::model::time::now_micros;
use crate::model::views::{Subtraction, UserRef};
use crate::ops::auth::JobAuth;
use crate::ops::job_scope::require;

/// U17: a label, or (with `upload_id`) a host genome that reserves its upload and gets a
/// `create_subtraction` job in the same transaction.
pub async fn create(
    app: &App,
    user: &UserRef,
    name: &str,
    nickname: &str,
    upload_id: Option<i64>,
) -> Outcome<Subtraction> {
    let id = db::fresh_id(&app.db, IdTable::Subtractions).await?;
    let job_id = match upload_id {
        Some(_) => Some(db::fresh_id(&app.db, IdTable::Jobs).await?),
        None => None,
    };
    let new = NewSubtraction {
        id: &id,
        name,
        nickname,
        user_id: &user.id,
        genome: upload_id.zip(job_id.as_deref()),
        now: now_micros(),
    };
    match db::subtractions::create(&app.db, &new).await? {
        Create::Created => {}
        Create::UploadMissing => return Err(Failure::bad_request("Upload does not exist")),
        Create::UploadInUse => return Err(Failure::bad_request("File is already in use")),
    }
    get(app, &id).await
}

/// U29.
pub async fn get(app: &App, id: &str) -> Outcome<Subtraction> {
    db::subtractions::get(&app.db, id)
        .await?
        .ok_or_else(Failure::not_found)
}

/// U28.
pub async fn list(app: &App, request: PageRequest) -> Outcome<Page<Subtraction>> {
    let (documents, found) = db::subtractions::list(&app.db, request).await?;
    Ok(Page::new(documents, found, request))
}

/// 404 for an unknown subtraction, then 403 outside the job's scope (§7.4); its readiness.
async fn reach(app: &App, job: &JobAuth, id: &str, reach: Reach) -> Outcome<bool> {
    let ready = db::subtractions::readiness(&app.db, id)
        .await?
        .ok_or_else(Failure::not_found)?;
    require(app, job, reach, id).await?;
    Ok(ready)
}

fn runner_file(id: &str, file: StoredFile) -> RunnerSubtractionFile {
    RunnerSubtractionFile {
        download_url: format!("/subtractions/{id}/files/{}", file.name),
        id: file.id,
        name: file.name,
        size: file.size,
        subtraction: id.to_owned(),
        kind: file.kind,
    }
}

/// The runner subtraction (§8.3) of an existing subtraction.
async fn runner_body(app: &App, id: &str) -> Outcome<RunnerSubtraction> {
    let s = db::subtractions::get_with_files(&app.db, id)
        .await?
        .ok_or_else(Failure::not_found)?;
    let linked_samples = db::subtractions::linked_samples(&app.db, id).await?;
    Ok(RunnerSubtraction {
        files: s.files.into_iter().map(|f| runner_file(id, f)).collect(),
        id: s.id,
        name: s.name,
        nickname: s.nickname,
        ready: s.ready,
        count: s.count,
        created_at: s.created_at,
        user: s.user,
        file: s.file,
        gc: s.gc,
        job: s.job.map(Into::into),
        linked_samples,
    })
}

/// J22.
pub async fn runner_get(app: &App, job: &JobAuth, id: &str) -> Outcome<RunnerSubtraction> {
    reach(app, job, id, Reach::ReadSubtraction).await?;
    runner_body(app, id).await
}

/// J23: the stored object of a subtraction file (404 `Not found` for another or absent name).
pub async fn open_file(app: &App, job: &JobAuth, id: &str, name: &str) -> Outcome<Stored> {
    reach(app, job, id, Reach::ReadSubtraction).await?;
    if subtraction_file_type(name).is_none()
        || !db::subtractions::has_file(&app.db, id, name).await?
    {
        return Err(Failure::not_found());
    }
    app.files
        .open_object(&subtraction_file_key(id, name))
        .await?
        .ok_or_else(Failure::not_found)
}

fn finalized() -> Failure {
    Failure::conflict("Subtraction has already been finalized")
}

fn duplicate() -> Failure {
    Failure::conflict("File name already exists")
}

/// J24 rows 2–6, before the body is read: the file's `type` and a fresh file id.
pub async fn check_upload(
    app: &App,
    job: &JobAuth,
    id: &str,
    name: &str,
) -> Outcome<(&'static str, i64)> {
    let ready = reach(app, job, id, Reach::WriteSubtraction).await?;
    let kind = subtraction_file_type(name)
        .ok_or_else(|| Failure::not_found_msg("Unsupported subtraction file name"))?;
    if ready {
        return Err(finalized());
    }
    if db::subtractions::has_file(&app.db, id, name).await? {
        return Err(duplicate());
    }
    Ok((kind, db::indexes::reserve_file_id(&app.db).await?))
}

/// J24 after the commit: record the file. On `Err` the caller removes the object, except after
/// a duplicate name, whose key is the other upload's.
pub async fn record_upload(
    app: &App,
    job: &JobAuth,
    id: &str,
    file: StoredFile,
) -> Result<RunnerSubtractionFile, (Failure, bool)> {
    match db::subtractions::insert_file(&app.db, id, &file, &job.job_id).await {
        Ok(InsertFile::Inserted) => Ok(runner_file(id, file)),
        Ok(InsertFile::Finalized) => Err((finalized(), true)),
        Ok(InsertFile::Duplicate) => Err((duplicate(), false)),
        Err(e) => Err((e.into(), true)),
    }
}

/// J25: store `count` and `gc`, make it ready and consume the upload (its object goes after
/// the commit).
pub async fn finalize(
    app: &App,
    job: &JobAuth,
    id: &str,
    gc: &Gc,
    count: i64,
) -> Outcome<RunnerSubtraction> {
    reach(app, job, id, Reach::WriteSubtraction).await?;
    match db::subtractions::finalize(&app.db, id, gc, count, now_micros()).await? {
        Finalize::Done(consumed) => {
            if let Some(name_on_disk) = consumed {
                remove_logged(app, &upload_key(&name_on_disk)).await;
            }
        }
        Finalize::AlreadyReady => return Err(finalized()),
        Finalize::Missing(names) => {
            return Err(Failure::conflict(format!(
                "Subtraction files have not been uploaded: {}",
                names.join(", ")
            )))
        }
    }
    runner_body(app, id).await
}

/// J26: discard the stored files and unreserve the upload; the subtraction stays.
pub async fn discard(app: &App, job: &JobAuth, id: &str) -> Outcome<()> {
    reach(app, job, id, Reach::WriteSubtraction).await?;
    match db::subtractions::discard(&app.db, id).await? {
        Discard::Done(names) => {
            for name in names {
                remove_logged(app, &subtraction_file_key(id, &name)).await;
            }
            Ok(())
        }
        Discard::AlreadyReady => Err(Failure::conflict(
            "Only unfinalized subtractions can be deleted",
        )),
    }
}

/// Remove an object whose record is gone; a failure is logged (the record no longer needs it).
pub async fn remove_logged(app: &App, key: &str) {
    if let Err(e) = app.files.remove(key).await {
        tracing::error!(key, error = %e, "could not remove a discarded object");
    }
}
