//! `GET /api/health`: tells the platform's health check (and people) that the server is up.

use axum::Json;
use chrono::{SecondsFormat, Utc};
use serde::Serialize;

const SERVICE: &str = "swag-store";

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Health {
    ok: bool,
    service: &'static str,
    /// RFC 3339, UTC, millisecond precision (as JavaScript's `toISOString`).
    checked_at: String,
}

pub async fn health() -> Json<Health> {
    Json(Health {
        ok: true,
        service: SERVICE,
        checked_at: Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true),
    })
}
