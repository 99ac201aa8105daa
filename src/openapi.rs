//! The OpenAPI 3.1 description of both APIs, served at `GET /api/openapi.json`. It is generated
//! from the `#[utoipa::path]` annotations on the handlers and the `ToSchema` types they answer
//! with, so the description and the code change together; it lives at this layer because it sees
//! both front doors, like `routes`.

use std::sync::LazyLock;

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use utoipa::openapi::path::Operation;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, Http, HttpAuthScheme, SecurityScheme};
use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};
use utoipa::{Modify, OpenApi};

use crate::api;
use crate::jobs_api;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "vira",
        description = "Virtool-compatible analyses: the user API under `/api` and the jobs API for workflow runners under `/jobs-api`. Every error body is `{\"id\", \"message\"}`, with `errors` on 422.",
        license(name = "MIT", identifier = "MIT"),
    ),
    paths(
        openapi_json,
        api::health::live,
        api::health::ready,
        api::analyses::list,
        api::analyses::get_one,
        api::analyses::delete,
        api::blast::put,
        api::blast::get_one,
        api::files::upload,
        api::files::download,
        api::export::export,
        api::analyses::list_for_sample,
        api::analyses::create,
        api::samples::create,
        api::samples::get_one,
        api::samples::update_rights,
        api::samples::list,
        api::samples::download_reads,
        api::uploads::upload,
        api::uploads::list,
        api::uploads::download,
        api::uploads::delete,
        api::users::create,
        api::users::update,
        api::users::create_group,
        api::users::delete_keys,
        api::users::clear_login_blocks,
        api::subtractions::create,
        api::subtractions::list,
        api::subtractions::get_one,
        api::indexes::get_one,
        api::refs::import,
        api::refs::create_index,
        api::hmms::import,
        api::jobs::get_one,
        api::jobs::cancel,
        api::runners::create,
        api::runners::list,
        api::runners::revoke,
        api::sample_delete::delete,
        api::hmms::import_profiles,
        api::account::get,
        api::account::change_password,
        api::account::login,
        api::account::logout,
        api::account::list_keys,
        api::account::create_key,
        api::account::get_key,
        api::account::delete_key,
        api::account::delete_keys,
        jobs_api::jobs::acquire,
        jobs_api::jobs::push_status,
        jobs_api::jobs::ping,
        jobs_api::claim::claim,
        jobs_api::claim::get_one,
        jobs_api::claim::release,
        jobs_api::sample_delete::delete,
        jobs_api::analyses::get_one,
        jobs_api::analyses::finalize,
        jobs_api::analyses::delete,
        jobs_api::analyses::upload,
        jobs_api::samples::get_one,
        jobs_api::samples::finalize,
        jobs_api::samples::download_reads,
        jobs_api::samples::upload_reads,
        jobs_api::samples::download_upload,
        jobs_api::indexes::get_one,
        jobs_api::indexes::download,
        jobs_api::indexes::upload,
        jobs_api::indexes::finalize,
        jobs_api::indexes::delete,
        jobs_api::subtractions::get_one,
        jobs_api::subtractions::download,
        jobs_api::subtractions::upload,
        jobs_api::subtractions::finalize,
        jobs_api::subtractions::delete,
        jobs_api::hmms::annotations,
        jobs_api::hmms::profiles,
    ),
    components(schemas(
        crate::workflows::pathoscope::model::Results,
        crate::workflows::nuvs::model::Results,
        crate::model::views::FileFormat,
    )),
    modifiers(&Common),
    tags(
        (name = "analyses", description = "Analyses, their files, BLAST searches and exports (U1–U10)"),
        (name = "samples", description = "Samples, their rights and reads (U11–U13, U25, U27)"),
        (name = "uploads", description = "Files uploaded to make samples and subtractions (U21–U24)"),
        (name = "users", description = "Users and groups (U14–U16, administrators)"),
        (name = "references", description = "References, indexes and subtractions (U17–U19, administrators)"),
        (name = "hmms", description = "HMM annotations (U20, administrators)"),
        (name = "account", description = "Sessions of the web pages, the signed-in user and their API keys"),
        (name = "jobs", description = "Jobs: the jobs API for workflow runners (J1–J28), and jobs on the user API (U31, U32)"),
        (name = "runners", description = "Runner credentials that claim jobs (U33–U35, administrators)"),
        (name = "meta", description = "This description"),
        (name = "health", description = "Liveness and readiness for load balancers (no credentials)"),
    ),
)]
pub struct ApiDoc;

/// What every operation shares: the security schemes, and the 503 any database-backed request
/// can end in (the database unavailable, or no password-hashing slot in time).
struct Common;

impl Modify for Common {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        describe_aliases(openapi);
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "api_key",
            SecurityScheme::Http(
                Http::builder()
                    .scheme(HttpAuthScheme::Basic)
                    .description(Some("`Authorization: Basic base64(<handle>:<API key>)`"))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "session",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
                crate::ops::sessions::COOKIE,
                "The session cookie of `POST /api/account/login`; used only without an `Authorization` header",
            ))),
        );
        components.add_security_scheme(
            "csrf",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "X-CSRF-Token",
                "The session's `csrf_token`, required with the cookie on every state-changing request",
            ))),
        );
        components.add_security_scheme(
            "job",
            SecurityScheme::Http(
                Http::builder()
                    .scheme(HttpAuthScheme::Basic)
                    .description(Some(
                        "`Authorization: Basic base64(job-<job_id>:<job key>)`, the key from acquiring the job",
                    ))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "runner",
            SecurityScheme::Http(
                Http::builder()
                    .scheme(HttpAuthScheme::Basic)
                    .description(Some(
                        "`Authorization: Basic base64(runner-<runner_id>:<runner key>)`, the credential of `POST /api/runners` or `vira runner create`",
                    ))
                    .build(),
            ),
        );
        let unavailable = ResponseBuilder::new()
            .description("`service_unavailable`: the database cannot be reached")
            .content(
                "application/json",
                ContentBuilder::new()
                    .schema(Some(Ref::from_schema_name("ErrorBody")))
                    .build(),
            )
            .build();
        for (path, item) in openapi.paths.paths.iter_mut() {
            // These touch no database (the description, liveness) or document their own 503.
            if matches!(
                path.as_str(),
                "/api/openapi.json" | "/api/health/live" | "/api/health/ready"
            ) {
                continue;
            }
            let operations: [&mut Option<Operation>; 5] = [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.delete,
                &mut item.patch,
            ];
            for operation in operations.into_iter().flatten() {
                operation
                    .responses
                    .responses
                    .entry("503".to_owned())
                    .or_insert_with(|| unavailable.clone().into());
            }
        }
    }
}

/// Routes served by one handler under two names are annotated once and copied here, each copy
/// with an operation id of its own: U8 also under `/documents/` (the Virtool web client's path),
/// J6 as PUT as well as POST.
fn describe_aliases(openapi: &mut utoipa::openapi::OpenApi) {
    let paths = &mut openapi.paths.paths;
    if let Some(mut export) = paths.get("/api/analyses/document/{file}").cloned() {
        if let Some(get) = export.get.as_mut() {
            get.operation_id = Some("export_analysis_documents".to_owned());
            get.description = Some(
                "A ready analysis as CSV or XLSX (the path of the Virtool web client).".to_owned(),
            );
        }
        paths.insert("/api/analyses/documents/{file}".to_owned(), export);
    }
    if let Some(files) = paths.get_mut("/jobs-api/analyses/{analysis_id}/files") {
        if let Some(mut put) = files.post.clone() {
            put.operation_id = Some("job_upload_file_put".to_owned());
            files.put = Some(put);
        }
    }
}

/// The description as served: rendered once.
static JSON: LazyLock<Bytes> = LazyLock::new(|| {
    Bytes::from(
        ApiDoc::openapi()
            .to_json()
            .expect("the OpenAPI description serializes"),
    )
});

/// GET /api/openapi.json — no authentication.
#[utoipa::path(get, path = "/api/openapi.json", operation_id = "openapi", tag = "meta",
    description = "This description (OpenAPI 3.1).",
    responses((status = 200, description = "The OpenAPI description", content_type = "application/json")),
    security(()))]
pub async fn openapi_json() -> Response {
    let mut response = (StatusCode::OK, JSON.clone()).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(crate::http::JSON_CONTENT_TYPE),
    );
    response
}
