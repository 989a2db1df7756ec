//! `POST /fn/register`: out-of-band sync from the SDK, authenticated with the hashed signing key.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};

use super::{authorized, ApiError};
use crate::core::Core;
use crate::sync::AppSync;

#[derive(Deserialize)]
struct Register {
    url: String,
    #[serde(rename = "appName")]
    app_name: String,
    #[serde(default)]
    sdk: Option<String>,
    #[serde(default)]
    functions: Vec<Value>,
}

pub(super) async fn register(
    State(core): State<Arc<Core>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    authorized(&core, &headers)?;
    let request: Register = serde_json::from_slice(&body)
        .map_err(|e| ApiError::BadRequest(format!("invalid register body: {e}")))?;
    let sync = AppSync {
        app_id: request.app_name,
        url: request.url,
        sdk: request.sdk.unwrap_or_default(),
        functions: request.functions,
    };
    core.register(sync).await?;
    Ok(Json(json!({ "ok": true, "modified": true })))
}
