//! GET: introspection (schema `2024-05-24`), unauthenticated or, with a valid signature, in full.

use http::StatusCode;
use serde_json::{json, Map, Value};

use super::{ServeHandler, ServeRequest, ServeResponse};
use crate::client::{SDK_LANGUAGE, SDK_VERSION};
use crate::signing::{hash_event_key, verify_with_fallback};

/// The introspection schema version.
pub const SCHEMA_VERSION: &str = "2024-05-24";

pub(super) fn capabilities() -> Value {
    json!({ "in_band_sync": "v1", "trust_probe": "v1" })
}

/// `Some(true)` with a valid signature, `Some(false)` with an invalid one, `None` without.
fn authentication(handler: &ServeHandler, request: &ServeRequest) -> Option<bool> {
    let config = handler.client().config();
    let header = request
        .headers
        .get("x-inngest-signature")
        .and_then(|v| v.to_str().ok())?;
    let primary = config.signing_key.as_ref()?;
    let now = chrono::Utc::now().timestamp();
    let valid = verify_with_fallback(
        Some(header),
        &request.body,
        now,
        primary,
        config.signing_key_fallback.as_ref(),
    );
    Some(valid.is_ok())
}

pub(super) fn handle(handler: &ServeHandler, request: &ServeRequest) -> ServeResponse {
    let authenticated = authentication(handler, request);
    let body = if authenticated == Some(true) {
        authenticated_body(handler)
    } else {
        unauthenticated_body(handler, authenticated)
    };
    let key = handler
        .client()
        .config()
        .signing_key
        .as_ref()
        .filter(|_| authenticated == Some(true));
    handler.reply(StatusCode::OK, &body, key)
}

fn unauthenticated_body(handler: &ServeHandler, authenticated: Option<bool>) -> Value {
    let config = handler.client().config();
    json!({
        "authentication_succeeded": authenticated,
        "capabilities": capabilities(),
        "function_count": handler.inner.functions.len(),
        "has_event_key": config.event_key.is_some(),
        "has_signing_key": config.signing_key.is_some(),
        "has_signing_key_fallback": config.signing_key_fallback.is_some(),
        "mode": config.mode.as_str(),
        "schema_version": SCHEMA_VERSION,
    })
}

/// The full introspection object (also embedded in the in-band sync reply).
pub(super) fn authenticated_body(handler: &ServeHandler) -> Value {
    let config = handler.client().config();
    let mut body = match unauthenticated_body(handler, Some(true)) {
        Value::Object(map) => map,
        _ => Map::new(),
    };
    let extra = json!({
        "api_origin": config.api_origin,
        "app_id": config.app_id,
        "env": config.env,
        "event_api_origin": config.event_api_origin,
        "event_key_hash": config.event_key.as_deref().map(hash_event_key),
        "framework": handler.framework.unwrap_or(""),
        "sdk_language": SDK_LANGUAGE,
        "sdk_version": SDK_VERSION,
        "serve_origin": config.serve_origin,
        "serve_path": config.serve_path,
        "signing_key_hash": config.signing_key.as_ref().map(|k| k.hashed()),
        "signing_key_fallback_hash": config.signing_key_fallback.as_ref().map(|k| k.hashed()),
    });
    if let Value::Object(extra) = extra {
        body.extend(extra);
    }
    Value::Object(body)
}
