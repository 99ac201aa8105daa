//! Why an operation did not happen, in the domain's words. Operations (`ops/`) return a
//! [`Failure`]; each front door maps it once: the APIs to the JSON error of contract §3
//! (`http::error`), the pages to an error page, the worker to a job error.

use std::borrow::Cow;

use super::field_errors::FieldErrors;

pub type Outcome<T> = Result<T, Failure>;

#[derive(Debug, thiserror::Error)]
pub enum Failure {
    /// Nothing by that id (or not visible to the caller): the message says what.
    #[error("not found: {0}")]
    NotFound(Cow<'static, str>),
    /// A request that cannot be carried out as asked (a named thing does not exist, a file is
    /// in use, …): the message says why.
    #[error("bad request: {0}")]
    BadRequest(Cow<'static, str>),
    /// The caller may not do this to this object (a right of contract §4, a job's scope).
    #[error("insufficient rights")]
    InsufficientRights,
    /// As `InsufficientRights`, with the reason said (`Must be administrator or sample owner`).
    #[error("insufficient rights: {0}")]
    InsufficientRightsBecause(Cow<'static, str>),
    /// Only an administrator may do this.
    #[error("administrator only")]
    AdministratorOnly,
    /// The object's state forbids it now (finalized, in use, still running, …).
    #[error("conflict: {0}")]
    Conflict(Cow<'static, str>),
    /// Input fields broke their rules (contract §3: 422 `invalid_input`).
    #[error("invalid input")]
    InvalidInput(FieldErrors),
    /// Query parameters broke their rules (422 `invalid_query`).
    #[error("invalid query")]
    InvalidQuery(FieldErrors),
    /// More bytes than the configured limit.
    #[error("too large")]
    TooLarge,
    /// A byte range outside an object of `size` bytes.
    #[error("range not satisfiable")]
    RangeNotSatisfiable { size: u64 },
    /// The database cannot be reached now.
    #[error("database unavailable")]
    Unavailable,
    /// No space (or an I/O failure) where something had to be stored.
    #[error("storage full")]
    StorageFull,
    /// Anything else: logged by whoever maps it, never shown.
    #[error(transparent)]
    Internal(anyhow::Error),
}

impl Failure {
    pub fn not_found() -> Failure {
        Failure::NotFound(Cow::Borrowed("Not found"))
    }

    pub fn not_found_msg(message: impl Into<Cow<'static, str>>) -> Failure {
        Failure::NotFound(message.into())
    }

    pub fn bad_request(message: impl Into<Cow<'static, str>>) -> Failure {
        Failure::BadRequest(message.into())
    }

    pub fn conflict(message: impl Into<Cow<'static, str>>) -> Failure {
        Failure::Conflict(message.into())
    }

    /// A single-field `InvalidInput`.
    pub fn invalid_field(field: &str, message: &str) -> Failure {
        let mut errors = FieldErrors::new();
        errors.add(field, message);
        Failure::InvalidInput(errors)
    }

    pub fn internal(error: impl Into<anyhow::Error>) -> Failure {
        Failure::Internal(error.into())
    }
}

impl From<std::io::Error> for Failure {
    fn from(error: std::io::Error) -> Failure {
        // ENOSPC and EDQUOT: the store is full.
        if matches!(error.raw_os_error(), Some(28 | 122)) {
            return Failure::StorageFull;
        }
        Failure::Internal(error.into())
    }
}
