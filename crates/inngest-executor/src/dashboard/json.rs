//! The JSON API: recent runs and one run with its steps.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::Json;
use serde::Deserialize;

use crate::core::Core;
use crate::http::ApiError;
use crate::view::{self, RunSummary, RunView};

/// Most runs listed at once.
const MAX_LIMIT: u64 = 1000;

#[derive(Deserialize)]
pub(super) struct ListQuery {
    limit: Option<u64>,
}

pub(super) async fn list(
    State(core): State<Arc<Core>>,
    Query(query): Query<ListQuery>,
) -> Result<Json<Vec<RunSummary>>, ApiError> {
    let limit = query.limit.unwrap_or(50).clamp(1, MAX_LIMIT);
    Ok(Json(view::recent(&core.db, limit).await?))
}

pub(super) async fn one(
    State(core): State<Arc<Core>>,
    Path(id): Path<String>,
) -> Result<Json<RunView>, ApiError> {
    view::load(&core.db, &id)
        .await?
        .map(Json)
        .ok_or(ApiError::NotFound)
}
