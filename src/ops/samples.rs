//! Samples with reads on the user API (workflows §3): creation with its `create_sample` job
//! (U11), reading (U12), listing (U25) and the reads download (U27).

use std::sync::Arc;

use serde_json::json;

use crate::app::App;
use crate::auth::rights::{can_change_rights, can_read, Principal, SampleRights};
use crate::db;
use crate::db::IdTable;
use crate::files::{sample_reads_key, Stored};
use crate::model::failure::{Failure, Outcome};
use crate::model::page::{Page, PageRequest};
use crate::model::sample::{SampleRecord, READS_FILES};
use crate::model::time::now_micros;
use crate::model::views::{Sample, UserRef};
use crate::model::workflow::Workflow;
use crate::ops::read_cache::read_through;

pub use crate::db::samples::SampleRow;

/// What U11 asks for, checked for shape by the front door.
pub struct NewSample {
    pub name: String,
    pub group: Option<String>,
    pub group_read: bool,
    pub group_write: bool,
    pub all_read: bool,
    pub all_write: bool,
    pub host: String,
    pub isolate: String,
    pub locale: String,
    pub notes: String,
    pub library_type: String,
    /// Without duplicates, in request order.
    pub subtractions: Vec<String>,
    pub labels: Vec<i64>,
    /// 1 or 2 distinct upload ids, or `None` for a placeholder.
    pub files: Option<Vec<i64>>,
}

/// A sample by id, through the read cache.
pub async fn get(app: &App, id: &str) -> Outcome<Option<Arc<SampleRow>>> {
    read_through(
        app,
        "sample",
        id,
        |row: &SampleRow| row.record.weight(),
        async { Ok::<_, Failure>(db::samples::get(&app.db, id).await?) },
    )
    .await
}

/// A sample the principal may read: 404, then 403.
pub async fn readable(app: &App, principal: &Principal, id: &str) -> Outcome<Arc<SampleRow>> {
    let sample = get(app, id).await?.ok_or_else(Failure::not_found)?;
    if !can_read(principal, &sample.rights) {
        return Err(Failure::InsufficientRights);
    }
    Ok(sample)
}

/// 400 `Group does not exist` unless `group` is none or exists (U11, U13).
pub async fn check_group(app: &App, group: Option<&str>) -> Outcome<()> {
    if let Some(group) = group {
        if !db::users::group_exists(&app.db, group).await? {
            return Err(Failure::bad_request("Group does not exist"));
        }
    }
    Ok(())
}

/// 400 `Subtractions do not exist: <ids>` naming the ids of `subtractions` that do not (U10, U11).
pub async fn check_subtractions(app: &App, subtractions: &[String]) -> Outcome<()> {
    let known = db::samples::subtraction_names(&app.db, subtractions).await?;
    let missing: Vec<&str> = subtractions
        .iter()
        .filter(|id| !known.iter().any(|(k, _)| k == *id))
        .map(String::as_str)
        .collect();
    if !missing.is_empty() {
        return Err(Failure::bad_request(format!(
            "Subtractions do not exist: {}",
            missing.join(",")
        )));
    }
    Ok(())
}

/// U11: 400 `Group does not exist` → `Subtractions do not exist` → `Labels do not exist` →
/// `File does not exist` → `File is already in use` → the sample; with `files`, the uploads
/// reserved and the `create_sample` job created in the same transaction (workflows §3.2).
pub async fn create(
    app: &App,
    principal: &Principal,
    user: UserRef,
    new: NewSample,
) -> Outcome<Arc<SampleRow>> {
    check_group(app, new.group.as_deref()).await?;
    check_subtractions(app, &new.subtractions).await?;
    if !new.labels.is_empty() {
        let ids: Vec<String> = new.labels.iter().map(i64::to_string).collect();
        return Err(Failure::bad_request(format!(
            "Labels do not exist: {}",
            ids.join(",")
        )));
    }
    let id = db::fresh_id(&app.db, IdTable::Samples).await?;
    let job_id = match new.files {
        Some(_) => Some(db::fresh_id(&app.db, IdTable::Jobs).await?),
        None => None,
    };
    let now = now_micros();
    let files = new.files.unwrap_or_default();
    let record = SampleRecord {
        id: id.clone(),
        name: new.name,
        created_at: now,
        user,
        group: new.group,
        group_read: new.group_read,
        group_write: new.group_write,
        all_read: new.all_read,
        all_write: new.all_write,
        host: new.host,
        isolate: new.isolate,
        locale: new.locale,
        notes: new.notes,
        library_type: new.library_type,
        subtraction_ids: new.subtractions,
        paired: files.len() == 2,
        ready: false,
        quality: None,
        upload_ids: files.clone(),
        job: None,
        subtractions: Vec::new(),
        reads: Vec::new(),
    };
    let mut tx = app.db.begin().await?;
    let uploads = db::uploads::get_many(&mut tx, &files).await?;
    let mut listed = Vec::with_capacity(files.len());
    for file in &files {
        let upload = uploads.iter().find(|u| u.id == *file);
        match upload {
            Some(u) if !u.removed && (principal.administrator || u.user.id == principal.id) => {
                listed.push(u)
            }
            _ => return Err(Failure::bad_request("File does not exist")),
        }
    }
    if listed.iter().any(|u| u.reserved) {
        return Err(Failure::bad_request("File is already in use"));
    }
    db::samples::insert(&mut tx, &record, job_id.as_deref()).await?;
    for upload in &listed {
        // Conditional: a concurrent U11 or U24 that got there first wins.
        if !db::uploads::reserve(&mut tx, upload.id).await? {
            return Err(Failure::bad_request("File is already in use"));
        }
    }
    if let Some(job_id) = &job_id {
        let files: Vec<_> = listed
            .iter()
            .map(|u| json!({"id": u.id, "name": u.name, "size": u.size}))
            .collect();
        let args = json!({"sample_id": id, "files": files});
        db::jobs::insert(
            &mut tx,
            job_id,
            Workflow::CreateSample,
            &args,
            &record.user.id,
            now,
        )
        .await?;
    }
    tx.commit().await?;
    db::samples::get(&app.db, &id)
        .await?
        .map(Arc::new)
        .ok_or_else(|| Failure::internal(anyhow::anyhow!("sample {id} vanished after insert")))
}

/// U25: the samples the principal can read, optionally those whose name contains `find`.
pub async fn list(
    app: &App,
    principal: &Principal,
    find: Option<&str>,
    page: PageRequest,
) -> Outcome<Page<Sample>> {
    let find = find.filter(|f| !f.is_empty());
    let (records, found) = db::samples::list_readable(&app.db, principal, find, page).await?;
    let documents = records.iter().map(|r| r.view(true)).collect();
    Ok(Page::new(documents, found, page))
}

/// The stored object of a reads file of `sample` (404 for another name or a file not stored).
pub async fn open_reads(app: &App, sample: &SampleRow, reads_file: &str) -> Outcome<Stored> {
    let stored = READS_FILES.contains(&reads_file)
        && sample.record.reads.iter().any(|r| r.name == reads_file);
    if !stored {
        return Err(Failure::not_found());
    }
    app.files
        .open_object(&sample_reads_key(&sample.record.id, reads_file))
        .await?
        .ok_or_else(Failure::not_found)
}

/// U27: 404 → 403 (read) → 404 unless the sample is ready and holds that file → the object.
pub async fn reads_for_user(
    app: &App,
    principal: &Principal,
    sample_id: &str,
    reads_file: &str,
) -> Outcome<Stored> {
    let sample = readable(app, principal, sample_id).await?;
    if !sample.record.ready {
        return Err(Failure::not_found());
    }
    open_reads(app, &sample, reads_file).await
}

/// What U13 changes: each field given replaces the sample's; `group: Some(None)` clears it.
#[derive(Default)]
pub struct RightsChange {
    pub group: Option<Option<String>>,
    pub group_read: Option<bool>,
    pub group_write: Option<bool>,
    pub all_read: Option<bool>,
    pub all_write: Option<bool>,
}

/// U13: 404 → 403 `Must be administrator or sample owner` → 400 `Group does not exist` → the
/// sample's new rights.
pub async fn update_rights(
    app: &App,
    principal: &Principal,
    sample_id: &str,
    change: RightsChange,
) -> Outcome<SampleRights> {
    let sample = db::samples::get(&app.db, sample_id)
        .await?
        .ok_or_else(Failure::not_found)?;
    if !can_change_rights(principal, &sample.rights) {
        return Err(Failure::InsufficientRightsBecause(
            "Must be administrator or sample owner".into(),
        ));
    }
    let old = sample.rights;
    let rights = SampleRights {
        owner_id: old.owner_id,
        group: change.group.unwrap_or(old.group),
        group_read: change.group_read.unwrap_or(old.group_read),
        group_write: change.group_write.unwrap_or(old.group_write),
        all_read: change.all_read.unwrap_or(old.all_read),
        all_write: change.all_write.unwrap_or(old.all_write),
    };
    check_group(app, rights.group.as_deref()).await?;
    db::samples::update_rights(&app.db, sample_id, &rights).await?;
    Ok(rights)
}
