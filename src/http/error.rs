//! The one error type of the HTTP layer: every failure becomes `{"id", "message"[, "errors"]}` (contract §3).

use std::borrow::Cow;

use axum::http::{header, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Map, Value};

use crate::db::DbError;
use crate::model::failure::Failure;
use crate::model::field_errors::FieldErrors;

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub id: &'static str,
    pub message: Cow<'static, str>,
    /// Rarely used parts, boxed to keep `Result<_, ApiError>` small.
    pub extra: Option<Box<Extra>>,
}

#[derive(Debug, Default)]
pub struct Extra {
    pub errors: Option<Map<String, Value>>,
    pub headers: Vec<(HeaderName, HeaderValue)>,
}

pub type ApiResult<T> = Result<T, ApiError>;

/// The body of every error response, as the OpenAPI description shows it.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct ErrorBody {
    /// `not_found`, `invalid_input`, … (contract §3).
    id: String,
    message: String,
    /// Validation errors (422): a field or dotted path → its messages, at most 100 keys.
    #[schema(required = false)]
    errors: std::collections::BTreeMap<String, Vec<String>>,
}

impl ApiError {
    pub fn new(
        status: StatusCode,
        id: &'static str,
        message: impl Into<Cow<'static, str>>,
    ) -> Self {
        ApiError {
            status,
            id,
            message: message.into(),
            extra: None,
        }
    }

    pub fn bad_request(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad_request", message)
    }

    pub fn malformed_json() -> Self {
        Self::bad_request("Malformed JSON")
    }

    pub fn parent_sample_missing() -> Self {
        Self::bad_request("Parent sample does not exist")
    }

    pub fn not_found() -> Self {
        Self::not_found_msg("Not found")
    }

    pub fn not_found_msg(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    pub fn conflict(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(StatusCode::CONFLICT, "conflict", message)
    }

    pub fn insufficient_rights() -> Self {
        Self::insufficient_rights_msg("Insufficient rights")
    }

    pub fn insufficient_rights_msg(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "insufficient_rights", message)
    }

    pub fn forbidden() -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "Requires administrative privilege",
        )
    }

    pub fn invalid_csrf_token() -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "invalid_csrf_token",
            "Missing or invalid CSRF token",
        )
    }

    pub fn unauthorized(id: &'static str, message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, id, message)
    }

    pub fn payload_too_large() -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            "Payload too large",
        )
    }

    pub fn request_timeout() -> Self {
        Self::new(
            StatusCode::REQUEST_TIMEOUT,
            "request_timeout",
            "Request body timed out",
        )
    }

    pub fn method_not_allowed() -> Self {
        Self::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            "Method not allowed",
        )
    }

    pub fn range_not_satisfiable(size: u64) -> Self {
        Self::new(
            StatusCode::RANGE_NOT_SATISFIABLE,
            "range_not_satisfiable",
            "Range not satisfiable",
        )
        .with_header(header::CONTENT_RANGE, &format!("bytes */{size}"))
    }

    pub fn invalid_query(errors: FieldErrors) -> Self {
        Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_query",
            "Invalid query",
        )
        .with_errors(errors)
    }

    pub fn invalid_input(errors: FieldErrors) -> Self {
        Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_input",
            "Invalid input",
        )
        .with_errors(errors)
    }

    /// A single-field `invalid_input`.
    pub fn invalid_field(field: &str, message: &str) -> Self {
        let mut errors = FieldErrors::new();
        errors.add(field, message);
        Self::invalid_input(errors)
    }

    pub fn service_unavailable() -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "service_unavailable",
            "Service unavailable",
        )
    }

    pub fn insufficient_storage() -> Self {
        Self::new(
            StatusCode::INSUFFICIENT_STORAGE,
            "insufficient_storage",
            "Insufficient storage",
        )
    }

    /// An unexpected failure: the cause is logged, the client sees a generic message.
    pub fn internal(error: impl Into<anyhow::Error>) -> Self {
        let error = error.into();
        tracing::error!(error = ?error, "internal error");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal_error",
            "Internal server error",
        )
    }

    pub fn with_errors(mut self, errors: FieldErrors) -> Self {
        self.extra.get_or_insert_with(Default::default).errors = Some(errors.into_map());
        self
    }

    pub fn with_header(mut self, name: HeaderName, value: &str) -> Self {
        if let Ok(value) = HeaderValue::from_str(value) {
            let extra = self.extra.get_or_insert_with(Default::default);
            extra.headers.push((name, value));
        }
        self
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let extra = self.extra.map(|e| *e).unwrap_or_default();
        let mut body = json!({"id": self.id, "message": self.message});
        if let Some(errors) = extra.errors {
            body["errors"] = Value::Object(errors);
        }
        let mut response = (self.status, crate::http::json_body(&body)).into_response();
        for (name, value) in extra.headers {
            response.headers_mut().insert(name, value);
        }
        response
    }
}

impl From<DbError> for ApiError {
    fn from(error: DbError) -> Self {
        Failure::from(error).into()
    }
}

/// The JSON front doors' one mapping of the domain's failures (contract §3).
impl From<Failure> for ApiError {
    fn from(failure: Failure) -> Self {
        match failure {
            Failure::NotFound(message) => ApiError::not_found_msg(message),
            Failure::BadRequest(message) => ApiError::bad_request(message),
            Failure::InsufficientRights => ApiError::insufficient_rights(),
            Failure::InsufficientRightsBecause(message) => {
                ApiError::insufficient_rights_msg(message)
            }
            Failure::AdministratorOnly => ApiError::forbidden(),
            Failure::Conflict(message) => ApiError::conflict(message),
            Failure::InvalidInput(errors) => ApiError::invalid_input(errors),
            Failure::InvalidQuery(errors) => ApiError::invalid_query(errors),
            Failure::TooLarge => ApiError::payload_too_large(),
            Failure::RangeNotSatisfiable { size } => ApiError::range_not_satisfiable(size),
            Failure::Unavailable => ApiError::service_unavailable(),
            Failure::StorageFull => ApiError::insufficient_storage(),
            Failure::Internal(error) => ApiError::internal(error),
        }
    }
}

impl From<std::io::Error> for ApiError {
    fn from(error: std::io::Error) -> Self {
        if error.raw_os_error() == Some(28) {
            // ENOSPC: say so instead of a bare 500.
            tracing::error!(error = %error, "storage full");
            return ApiError::insufficient_storage();
        }
        ApiError::internal(error)
    }
}
