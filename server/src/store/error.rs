//! The storage seam's own error: what a caller of [`super::Storage`] can tell apart, whichever
//! database is behind it (no `sqlx::Error`, no `rusqlite::Error`, no HTTP type).

use std::sync::Arc;

use espresso_protocol::{ErrorCode, Problem};

use crate::workflow::WorkflowError;

/// Why storage could not do what it was asked.
#[derive(Debug, Clone, thiserror::Error)]
pub enum StoreError {
    /// The database refused or failed (I/O, constraint, locked past its timeout, …).
    #[error("database: {0}")]
    Database(Arc<str>),
    /// A stored row could not be read back (bad JSON, an unknown state name).
    #[error("stored data: {0}")]
    Corrupt(Arc<str>),
    /// A row the caller said exists does not.
    #[error("not found: {0}")]
    Missing(Arc<str>),
    /// The writer has stopped (the server is shutting down).
    #[error("the database writer has stopped")]
    Stopped,
    /// A command was refused (the workflow said no, no such shop or order, a key reused): the
    /// problem the caller is answered with. Nothing was written.
    #[error("{0}")]
    Refused(Box<Problem>),
}

impl StoreError {
    pub fn database(error: impl std::fmt::Display) -> Self {
        Self::Database(error.to_string().into())
    }

    pub fn corrupt(error: impl std::fmt::Display) -> Self {
        Self::Corrupt(error.to_string().into())
    }

    pub fn missing(what: impl std::fmt::Display) -> Self {
        Self::Missing(what.to_string().into())
    }

    /// A refusal with this code and detail.
    pub fn refused(code: ErrorCode, detail: impl Into<String>) -> Self {
        Self::Refused(Box::new(Problem::new(code).with_detail(detail)))
    }

    /// `not_found`, saying what is missing.
    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::refused(ErrorCode::NotFound, detail)
    }

    /// The stable code a caller is answered with (`internal` for anything but a refusal).
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::Refused(problem) => problem.code.clone(),
            _ => ErrorCode::Internal,
        }
    }

    /// Could trying again later succeed? (A deadline that failed for this reason is kept.)
    pub fn is_transient(&self) -> bool {
        matches!(self, Self::Database(_) | Self::Stopped)
    }
}

/// What storage answers.
pub type StoreResult<T> = Result<T, StoreError>;

impl From<Problem> for StoreError {
    fn from(problem: Problem) -> Self {
        Self::Refused(Box::new(problem))
    }
}

impl From<WorkflowError> for StoreError {
    fn from(error: WorkflowError) -> Self {
        Self::Refused(Box::new(error.to_problem()))
    }
}

impl From<rusqlite::Error> for StoreError {
    fn from(error: rusqlite::Error) -> Self {
        match error {
            rusqlite::Error::QueryReturnedNoRows => Self::missing("no such row"),
            rusqlite::Error::FromSqlConversionFailure(..)
            | rusqlite::Error::InvalidColumnType(..)
            | rusqlite::Error::IntegralValueOutOfRange(..) => Self::corrupt(error),
            other => Self::database(other),
        }
    }
}

impl From<sqlx::Error> for StoreError {
    fn from(error: sqlx::Error) -> Self {
        match error {
            sqlx::Error::RowNotFound => Self::missing("no such row"),
            sqlx::Error::Decode(_) | sqlx::Error::ColumnDecode { .. } => Self::corrupt(error),
            other => Self::database(other),
        }
    }
}

impl From<serde_json::Error> for StoreError {
    fn from(error: serde_json::Error) -> Self {
        Self::corrupt(error)
    }
}
