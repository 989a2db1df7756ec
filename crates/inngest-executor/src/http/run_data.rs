//! `GET /v0/runs/{id}/batch` and `/actions`: a run's events and memoized steps, for SDKs that
//! were sent a request too large to carry them (`use_api`).

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::Json;
use serde_json::Value;

use super::{authorized, ApiError};
use crate::core::Core;
use crate::store::{from_text, runs};

pub(super) async fn batch(
    State(core): State<Arc<Core>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    authorized(&core, &headers)?;
    let (run, _) = runs::load(&core.db, &id)
        .await
        .map_err(crate::ExecutorError::from)?
        .ok_or(ApiError::NotFound)?;
    Ok(Json(from_text(&run.events)))
}

pub(super) async fn actions(
    State(core): State<Arc<Core>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    authorized(&core, &headers)?;
    let (_, steps) = runs::load(&core.db, &id)
        .await
        .map_err(crate::ExecutorError::from)?
        .ok_or(ApiError::NotFound)?;
    let (memo, _) = runs::memo_and_stack(&steps);
    Ok(Json(Value::Object(memo)))
}
