//! The endpoints of the Inngest server that SDKs call: events, out-of-band sync and the run
//! data API (for `use_api`). Mount [`crate::Executor::router`] where the SDK's base URL points.

mod error;
mod events;
mod register;
mod run_data;

use std::sync::Arc;

use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use axum::Router;

use crate::core::Core;
use crate::Executor;

pub(crate) use error::ApiError;

impl Executor {
    /// `POST /e/{key}`, `POST /fn/register`, `GET /v0/runs/{id}/batch`, `GET /v0/runs/{id}/actions`.
    pub fn router<S: Clone + Send + Sync + 'static>(&self) -> Router<S> {
        Router::new()
            .route("/e/{key}", post(events::send))
            .route("/fn/register", post(register::register))
            .route("/v0/runs/{id}/batch", get(run_data::batch))
            .route("/v0/runs/{id}/actions", get(run_data::actions))
            .layer(DefaultBodyLimit::max(16 * 1024 * 1024))
            .with_state(self.core.clone())
    }
}

/// Checks `Authorization: Bearer <hashed signing key>`.
fn authorized(core: &Arc<Core>, headers: &axum::http::HeaderMap) -> Result<(), ApiError> {
    let bearer = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .ok_or(ApiError::Unauthorized)?;
    if core.bearer_ok(bearer.trim()) {
        Ok(())
    } else {
        Err(ApiError::Unauthorized)
    }
}
