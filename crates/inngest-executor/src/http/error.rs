//! Errors of the server endpoints, answered as JSON.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use crate::error::ExecutorError;

/// An endpoint failure.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ApiError {
    #[error("missing or wrong bearer token: send Authorization: Bearer <hashed signing key>")]
    Unauthorized,
    #[error("wrong event key")]
    WrongEventKey,
    #[error("{0}")]
    BadRequest(String),
    #[error("not found")]
    NotFound,
    #[error(transparent)]
    Executor(#[from] ExecutorError),
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = match &self {
            ApiError::Unauthorized | ApiError::WrongEventKey => StatusCode::UNAUTHORIZED,
            ApiError::BadRequest(_)
            | ApiError::Executor(
                ExecutorError::InvalidEvent(_) | ExecutorError::InvalidConfig { .. },
            ) => StatusCode::BAD_REQUEST,
            ApiError::NotFound => StatusCode::NOT_FOUND,
            ApiError::Executor(_) => StatusCode::INTERNAL_SERVER_ERROR,
        };
        if status == StatusCode::INTERNAL_SERVER_ERROR {
            tracing::error!(error = %self, "executor endpoint failed");
        }
        let body = json!({ "ids": [], "status": status.as_u16(), "error": self.to_string() });
        (status, Json(body)).into_response()
    }
}
