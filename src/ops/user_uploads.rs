//! Uploads of the user API (workflows §2, U21–U24) and their reading by jobs (J16): the checked
//! query, the object streamed to `uploads/<name_on_disk>` and recorded once complete, listing,
//! download and deletion. The front door streams the multipart body into [`Pending::sink`]
//! between [`begin`] and [`finish`]; a `Pending` dropped unfinished leaves nothing behind.

use crate::app::App;
use crate::auth::rights::Principal;
use crate::db;
use crate::db::uploads::{NewUpload, Remove};
use crate::files::{names, upload_key, Stored};
use crate::model::failure::{Failure, Outcome};
use crate::model::field_errors::FieldErrors;
use crate::model::page::{Page, PageRequest};
use crate::model::time::now_micros;
use crate::model::views::{Upload, UserRef};
use crate::ops::uploads::InProgress;

/// The `type` values of an upload (workflows §2.1).
pub const UPLOAD_TYPES: &[&str] = &["reads", "subtraction", "hmm", "reference"];

/// The checked query of U21: the sanitized `name` and the `type`.
pub struct UploadQuery {
    pub name: String,
    pub upload_type: String,
}

/// 422 `invalid_query` for a missing, empty or too long `name`, or a missing or unknown `type`
/// (U21 rows 2 and 3; both reported at once).
pub fn upload_query(name: Option<&str>, upload_type: Option<&str>) -> Outcome<UploadQuery> {
    let mut errors = FieldErrors::new();
    let name = match name {
        None => {
            errors.add("name", "required field");
            String::new()
        }
        Some(raw) => {
            let name = names::sanitize(raw);
            if name.is_empty() {
                errors.add("name", "empty values not allowed");
            } else if name.chars().count() > 255 {
                errors.add("name", "max length is 255");
            }
            name
        }
    };
    let upload_type = match upload_type {
        None => {
            errors.add("type", "required field");
            String::new()
        }
        Some(t) => {
            if let Err(message) = check_type(t) {
                errors.add("type", message);
            }
            t.to_owned()
        }
    };
    errors.into_result().map_err(Failure::InvalidQuery)?;
    Ok(UploadQuery { name, upload_type })
}

fn check_type(value: &str) -> Result<(), String> {
    if UPLOAD_TYPES.contains(&value) {
        Ok(())
    } else {
        Err(format!("unallowed value {value}"))
    }
}

/// An upload being received: its id is taken, its object not yet visible.
pub struct Pending {
    id: i64,
    query: UploadQuery,
    name_on_disk: String,
    key: String,
    /// Where the front door writes the file's bytes.
    pub sink: crate::files::Upload,
    _receiving: InProgress,
}

/// Take an upload id (never reused, even if this upload fails) and open its object.
pub async fn begin(app: &App, query: UploadQuery) -> Outcome<Pending> {
    let id = db::uploads::reserve_id(&app.db).await?;
    let name_on_disk = names::name_on_disk(id, &query.name);
    let key = upload_key(&name_on_disk);
    let sink = app.files.create_upload(&key).await?;
    Ok(Pending {
        id,
        query,
        name_on_disk,
        key,
        sink,
        _receiving: InProgress::start("upload"),
    })
}

/// Make the received upload visible and record it; on any failure nothing is left (§2.1).
pub async fn finish(app: &App, user: UserRef, pending: Pending) -> Outcome<Upload> {
    let Pending {
        id,
        query,
        name_on_disk,
        key,
        sink,
        _receiving,
    } = pending;
    let committed = app.files.commit(sink).await?;
    let now = now_micros();
    let recorded = db::uploads::insert(
        &app.db,
        &NewUpload {
            id,
            name: &query.name,
            name_on_disk: &name_on_disk,
            upload_type: &query.upload_type,
            size: committed.size as i64,
            user_id: &user.id,
            created_at: now,
        },
    )
    .await;
    drop(committed);
    if let Err(error) = recorded {
        remove_object(app, &key).await;
        return Err(error.into());
    }
    db::uploads::get(&app.db, id)
        .await?
        .ok_or_else(|| Failure::internal(anyhow::anyhow!("upload {id} vanished after insert")))
}

/// Remove a stored object, logging a failure (the object is then an orphan for the sweep).
async fn remove_object(app: &App, key: &str) {
    if let Err(e) = app.files.remove(key).await {
        tracing::error!(key, error = %e, "could not remove an upload's object");
    }
}

/// U22: the usable uploads the principal may see (administrators: everyone's), optionally of
/// one `type`.
pub async fn list(
    app: &App,
    principal: &Principal,
    upload_type: Option<&str>,
    page: PageRequest,
) -> Outcome<Page<Upload>> {
    if let Some(t) = upload_type {
        if let Err(message) = check_type(t) {
            let mut errors = FieldErrors::new();
            errors.add("type", message);
            return Err(Failure::InvalidQuery(errors));
        }
    }
    let owner = (!principal.administrator).then_some(principal.id.as_str());
    let (uploads, found) = db::uploads::list(&app.db, owner, upload_type, page).await?;
    Ok(Page::new(uploads, found, page))
}

/// An upload that is not removed; 404 otherwise (ids that are not integers name nothing).
async fn live_upload(app: &App, id: &str) -> Outcome<Upload> {
    let id: i64 = id.parse().map_err(|_| Failure::not_found())?;
    match db::uploads::get(&app.db, id).await? {
        Some(upload) if !upload.removed => Ok(upload),
        _ => Err(Failure::not_found()),
    }
}

fn may_touch(principal: &Principal, upload: &Upload) -> Outcome<()> {
    if principal.administrator || upload.user.id == principal.id {
        Ok(())
    } else {
        Err(Failure::InsufficientRights)
    }
}

/// The stored object of an upload; 404 when it is gone.
async fn open(app: &App, upload: &Upload) -> Outcome<Stored> {
    app.files
        .open_object(&upload_key(&upload.name_on_disk))
        .await?
        .ok_or_else(|| Failure::not_found_msg("Uploaded file not found at expected location"))
}

/// U23: 404 → 403 (not the uploader, not an administrator) → the upload and its object.
pub async fn open_for_user(
    app: &App,
    principal: &Principal,
    id: &str,
) -> Outcome<(Upload, Stored)> {
    let upload = live_upload(app, id).await?;
    may_touch(principal, &upload)?;
    let stored = open(app, &upload).await?;
    Ok((upload, stored))
}

/// J16: 404 → 403 (not in the job's `args.files`) → the upload and its object.
pub async fn open_for_job(
    app: &App,
    job: &crate::ops::auth::JobAuth,
    id: &str,
) -> Outcome<(Upload, Stored)> {
    let upload = live_upload(app, id).await?;
    crate::ops::job_scope::require(
        app,
        job,
        crate::model::job_scope::Reach::ReadUpload,
        &upload.id.to_string(),
    )
    .await?;
    let stored = open(app, &upload).await?;
    Ok((upload, stored))
}

/// U24: 404 → 403 → 409 `Upload is in use` → removed; the object goes after the commit.
pub async fn delete(app: &App, principal: &Principal, id: &str) -> Outcome<()> {
    let upload = live_upload(app, id).await?;
    may_touch(principal, &upload)?;
    match db::uploads::remove(&app.db, upload.id, now_micros()).await? {
        Remove::Removed => {
            remove_object(app, &upload_key(&upload.name_on_disk)).await;
            Ok(())
        }
        Remove::NotFound => Err(Failure::not_found()),
        Remove::Reserved => Err(Failure::conflict("Upload is in use")),
    }
}

/// Remove the objects of uploads consumed by a finalized sample or subtraction (after the
/// commit that marked them removed).
pub async fn remove_consumed(app: &App, names_on_disk: &[String]) {
    for name in names_on_disk {
        remove_object(app, &upload_key(name)).await;
    }
}
