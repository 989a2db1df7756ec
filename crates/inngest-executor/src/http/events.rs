//! `POST /e/{key}`: one event or an array; ids honour explicit ids and the
//! `x-inngest-event-id-seed` header, so a re-sent event is accepted once.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::Json;
use serde_json::{json, Value};

use super::ApiError;
use crate::core::Core;

pub(super) async fn send(
    State(core): State<Arc<Core>>,
    Path(key): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    if let Some(expected) = &core.event_key {
        if expected != &key {
            return Err(ApiError::WrongEventKey);
        }
    }
    let payload: Value = serde_json::from_slice(&body)
        .map_err(|e| ApiError::BadRequest(format!("body is not JSON: {e}")))?;
    let events = match payload {
        Value::Array(events) => events,
        event @ Value::Object(_) => vec![event],
        _ => {
            return Err(ApiError::BadRequest(
                "send an event object or an array of events".into(),
            ))
        }
    };
    let seed = headers
        .get("x-inngest-event-id-seed")
        .and_then(|v| v.to_str().ok());
    let ids = core.ingest(events, seed).await?;
    Ok(Json(json!({ "ids": ids, "status": 200 })))
}
