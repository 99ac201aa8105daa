//! HMM annotations (U20), profiles (workflows U36) and the HMM files of `nuvs` jobs (J27, J28).

use std::io::Write;

use sha2::{Digest, Sha256};

use crate::app::App;
use crate::db;
use crate::files::{Sink, Stored, HMM_PROFILES_KEY};
use crate::import::hmm_profiles::{check_annotated, profile_clusters};
use crate::import::hmms::parse_annotations;
use crate::model::failure::{Failure, Outcome};
use crate::model::hmm::runner_annotation;
use crate::model::job_scope::Reach;
use crate::model::stores::HmmProfiles;
use crate::model::time::{now_micros, rfc3339};
use crate::ops::auth::JobAuth;
use crate::ops::job_scope::require;

/// What U20 did.
pub struct AnnotationImport {
    pub imported: u64,
    /// Annotations of the file whose id was stored already.
    pub skipped: u64,
    /// Annotations stored after the import.
    pub total: i64,
}

/// U20 after the file was received and gunzipped: 400 `Invalid annotations file: <reason>`, else
/// the annotations whose ids are new are added.
pub async fn import_annotations(app: &App, bytes: Vec<u8>) -> Outcome<AnnotationImport> {
    let annotations = tokio::task::spawn_blocking(move || parse_annotations(&bytes))
        .await
        .map_err(Failure::internal)?
        .map_err(|reason| Failure::bad_request(format!("Invalid annotations file: {reason}")))?;
    let (imported, total) = db::hmms::insert_new(&app.db, &annotations).await?;
    Ok(AnnotationImport {
        imported,
        skipped: annotations.len() as u64 - imported,
        total,
    })
}

/// U36 after the file was received and gunzipped: check the rules, store the bytes under
/// `hmm/profiles.hmm` (replacing the earlier file as a whole) and record them.
pub async fn import(app: &App, text: Vec<u8>) -> Outcome<HmmProfiles> {
    let invalid = |reason: String| Failure::bad_request(format!("Invalid profiles file: {reason}"));
    let (clusters, text) = tokio::task::spawn_blocking(move || (profile_clusters(&text), text))
        .await
        .map_err(Failure::internal)?;
    let clusters = clusters.map_err(invalid)?;
    let annotated = db::hmms::clusters(&app.db).await?;
    check_annotated(&clusters, &annotated).map_err(invalid)?;
    let sha256 = hex::encode(Sha256::digest(&text));
    let mut upload = app.files.create_upload(HMM_PROFILES_KEY).await?;
    upload.write(&text).await?;
    drop(app.files.commit(upload).await?);
    let uploaded_at = now_micros();
    let size = text.len() as i64;
    let count = clusters.len() as i64;
    db::hmms::put_profiles(&app.db, size, &sha256, count, uploaded_at).await?;
    Ok(HmmProfiles {
        profiles: count,
        size,
        sha256,
        uploaded_at: rfc3339(uploaded_at),
    })
}

/// J27: the gzip of every stored annotation, ascending by cluster then id, in the keys Virtool's
/// `HMM` model requires.
pub async fn annotations_gz(app: &App, job: &JobAuth) -> Outcome<Vec<u8>> {
    require(app, job, Reach::Hmm, "").await?;
    let documents = db::hmms::all_documents(&app.db).await?;
    tokio::task::spawn_blocking(move || {
        let list = (documents.into_iter())
            .map(|(id, text)| {
                let document = serde_json::from_str(&text).map_err(Failure::internal)?;
                Ok(serde_json::Value::Object(runner_annotation(&id, document)))
            })
            .collect::<Outcome<Vec<_>>>()?;
        let json = serde_json::to_vec(&list).map_err(Failure::internal)?;
        let mut gz = flate2::GzBuilder::new()
            .mtime(0)
            .write(Vec::new(), flate2::Compression::default());
        gz.write_all(&json)?;
        Ok(gz.finish()?)
    })
    .await
    .map_err(Failure::internal)?
}

fn no_profiles() -> Failure {
    Failure::not_found_msg("Profiles not found")
}

/// J28: the stored profiles.
pub async fn open_profiles(app: &App, job: &JobAuth) -> Outcome<Stored> {
    require(app, job, Reach::Hmm, "").await?;
    if !db::hmms::has_profiles(&app.db).await? {
        return Err(no_profiles());
    }
    app.files
        .open_object(HMM_PROFILES_KEY)
        .await?
        .ok_or_else(no_profiles)
}
