//! The executor's error type.

use sea_orm::DbErr;

/// What can go wrong inside the executor.
#[derive(Debug, thiserror::Error)]
pub enum ExecutorError {
    /// The database refused or failed an operation.
    #[error("database error: {0}")]
    Db(#[from] DbErr),
    /// Stored or received JSON could not be read.
    #[error("invalid JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// An event was malformed.
    #[error("invalid event: {0}")]
    InvalidEvent(String),
    /// A function config could not be used.
    #[error("invalid config for function `{function}`: {message}")]
    InvalidConfig {
        /// The function id.
        function: String,
        /// What is wrong.
        message: String,
    },
    /// No function with this id is synced.
    #[error("no function `{0}` is synced: sync the app first (Executor::sync_app or PUT to its serve URL)")]
    UnknownFunction(String),
    /// No run with this id exists.
    #[error("no run `{0}`")]
    UnknownRun(String),
    /// Syncing an app failed.
    #[error("sync of {url} failed: {message}")]
    Sync {
        /// The serve URL.
        url: String,
        /// Why.
        message: String,
    },
    /// The builder was missing something.
    #[error("executor builder: {0}")]
    Builder(&'static str),
}

/// Result alias.
pub type Result<T, E = ExecutorError> = std::result::Result<T, E>;
