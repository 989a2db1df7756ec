//! `POST /api/inventory/reset`: seeds or refreshes the catalog (non-destructive unless a restock
//! is asked for with `?restock=1` or `{"restock": true}`; see `swag_domain::catalog_reset`),
//! records the import run and sends `store/inventory.changed`. Guarded by
//! `SWAG_STORE_RESET_SECRET` (header `x-swag-store-reset-secret` or `Authorization: Bearer`);
//! without a configured secret the route is off, never open.

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use inngest::Event;
use serde::{Deserialize, Serialize};
use serde_json::json;
use swag_domain::catalog_reset::{self, ResetError, ResetRequest, RESET_SOURCE};
use swag_domain::tokens;

use crate::config::RESET_SECRET;
use crate::events::{InventoryChanged, INVENTORY_CHANGED};
use crate::integrations::Secret;
use crate::state::AppState;

/// The header that may carry the secret.
pub const RESET_SECRET_HEADER: &str = "x-swag-store-reset-secret";
/// Who the import run and ledger rows name.
const ACTOR: &str = "inventory-reset";

/// Why a reset was refused or failed; answered as `{error}`.
#[derive(Debug, thiserror::Error)]
pub enum ResetRouteError {
    #[error("the inventory reset is disabled: {RESET_SECRET} is not set")]
    NotConfigured,
    #[error(
        "a valid reset secret is required ({RESET_SECRET_HEADER} header or Authorization: Bearer)"
    )]
    Unauthorized,
    #[error("restock must be 1, true, 0 or false")]
    RestockFlag,
    #[error("the body must be empty or JSON such as {{\"restock\": true}}: {0}")]
    Body(#[source] serde_json::Error),
    #[error("the reset failed: {0}")]
    Reset(#[from] ResetError),
    #[error("the catalog was reset (import run {import_run_id}) but store/inventory.changed could not be sent: {message}")]
    Send { import_run_id: i32, message: String },
}

impl IntoResponse for ResetRouteError {
    fn into_response(self) -> Response {
        let status = match &self {
            Self::NotConfigured => StatusCode::SERVICE_UNAVAILABLE,
            Self::Unauthorized => StatusCode::UNAUTHORIZED,
            Self::RestockFlag | Self::Body(_) => StatusCode::BAD_REQUEST,
            Self::Reset(_) => StatusCode::INTERNAL_SERVER_ERROR,
            Self::Send { .. } => StatusCode::BAD_GATEWAY,
        };
        if status.is_server_error() {
            tracing::error!(error = %self, "inventory reset failed");
        }
        (status, Json(json!({ "error": self.to_string() }))).into_response()
    }
}

/// `?restock=`.
#[derive(Debug, Deserialize)]
pub struct ResetQuery {
    #[serde(default)]
    restock: Option<String>,
}

/// The optional JSON body.
#[derive(Debug, Default, Deserialize)]
struct ResetBody {
    #[serde(default)]
    restock: bool,
}

/// The answer.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ResetResponse {
    ok: bool,
    import_run_id: i32,
    products: u64,
    variants: u64,
    source: &'static str,
    /// Variants put back to their initial stock (0 unless restocking).
    restocked: usize,
}

pub async fn reset(
    State(state): State<AppState>,
    Query(query): Query<ResetQuery>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<ResetResponse>, ResetRouteError> {
    authorize(state.reset_secret.as_ref(), &headers)?;
    let restock = restock_flag(query.restock.as_deref())? || body_restock(&body)?;
    let outcome = catalog_reset::reset_catalog(
        &state.db,
        &ResetRequest {
            restock,
            actor_email: ACTOR.to_owned(),
        },
    )
    .await?;
    let changed = InventoryChanged {
        app_origin: state.public_url.clone(),
        source: RESET_SOURCE.to_owned(),
        reason: if restock {
            "catalog reset with restock"
        } else {
            "catalog reset"
        }
        .to_owned(),
        import_run_id: Some(outcome.import_run_id),
        batch_id: Some(outcome.batch_id.clone()),
        variant_ids: outcome.restocked_variant_ids.clone(),
        ..Default::default()
    };
    let event = Event::new(INVENTORY_CHANGED, changed)
        .with_id(format!("inventory-changed-reset-{}", outcome.import_run_id));
    state
        .durable
        .client()
        .send(&[event])
        .await
        .map_err(|error| ResetRouteError::Send {
            import_run_id: outcome.import_run_id,
            message: error.to_string(),
        })?;
    tracing::info!(
        import_run_id = outcome.import_run_id,
        restock,
        restocked = outcome.restocked_variant_ids.len(),
        "inventory reset"
    );
    Ok(Json(ResetResponse {
        ok: true,
        import_run_id: outcome.import_run_id,
        products: outcome.products,
        variants: outcome.variants,
        source: RESET_SOURCE,
        restocked: outcome.restocked_variant_ids.len(),
    }))
}

/// Accepts the secret from either header, compared in constant time.
fn authorize(secret: Option<&Secret>, headers: &HeaderMap) -> Result<(), ResetRouteError> {
    let secret = secret.ok_or(ResetRouteError::NotConfigured)?;
    let header_value = |name| headers.get(name).and_then(|v| v.to_str().ok());
    let presented = header_value(RESET_SECRET_HEADER).or_else(|| {
        header_value(header::AUTHORIZATION.as_str()).and_then(|v| v.strip_prefix("Bearer "))
    });
    match presented {
        Some(presented) if tokens::matches(presented.trim(), secret.expose()) => Ok(()),
        _ => Err(ResetRouteError::Unauthorized),
    }
}

fn restock_flag(value: Option<&str>) -> Result<bool, ResetRouteError> {
    match value.map(|v| v.trim().to_ascii_lowercase()).as_deref() {
        None | Some("" | "0" | "false") => Ok(false),
        Some("1" | "true") => Ok(true),
        Some(_) => Err(ResetRouteError::RestockFlag),
    }
}

fn body_restock(body: &[u8]) -> Result<bool, ResetRouteError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(false);
    }
    let body: ResetBody = serde_json::from_slice(body).map_err(ResetRouteError::Body)?;
    Ok(body.restock)
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn the_secret_is_read_from_either_header_and_must_match() {
        let secret = Secret::new("s3cret");
        let mut headers = HeaderMap::new();
        assert!(matches!(
            authorize(None, &headers),
            Err(ResetRouteError::NotConfigured)
        ));
        assert!(authorize(Some(&secret), &headers).is_err());
        headers.insert(RESET_SECRET_HEADER, HeaderValue::from_static("s3cret"));
        assert!(authorize(Some(&secret), &headers).is_ok());
        let mut bearer = HeaderMap::new();
        bearer.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Bearer s3cret"),
        );
        assert!(authorize(Some(&secret), &bearer).is_ok());
        bearer.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Basic s3cret"),
        );
        assert!(authorize(Some(&secret), &bearer).is_err());
    }

    #[test]
    fn restock_comes_from_the_query_or_the_body() {
        assert!(!restock_flag(None).unwrap());
        assert!(restock_flag(Some("1")).unwrap());
        assert!(restock_flag(Some("TRUE")).unwrap());
        assert!(restock_flag(Some("yes")).is_err());
        assert!(!body_restock(b"").unwrap());
        assert!(body_restock(br#"{"restock":true}"#).unwrap());
        assert!(!body_restock(b"{}").unwrap());
        assert!(body_restock(b"{nope").is_err());
    }
}
