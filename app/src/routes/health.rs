//! `GET /api/health`: tells the platform's health check (and people) whether the server, its
//! database and its durable-function executor are up. 503 when the database does not answer.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use chrono::{SecondsFormat, Utc};
use sea_orm::ConnectionTrait;
use serde::Serialize;

use crate::state::AppState;

const SERVICE: &str = "swag-store";

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Health {
    ok: bool,
    service: &'static str,
    /// RFC 3339, UTC, millisecond precision (as JavaScript's `toISOString`).
    checked_at: String,
    database: Check,
    executor: Check,
}

#[derive(Debug, Serialize)]
pub struct Check {
    ok: bool,
    detail: String,
}

pub async fn health(State(state): State<AppState>) -> (StatusCode, Json<Health>) {
    let database = match state.db.execute_unprepared("SELECT 1").await {
        Ok(_) => Check {
            ok: true,
            detail: format!("{:?}", state.db.get_database_backend()).to_lowercase(),
        },
        Err(error) => Check {
            ok: false,
            detail: error.to_string(),
        },
    };
    let executor = match state.durable.executor() {
        Some(executor) => match executor.runs(1).await {
            Ok(_) => Check {
                ok: true,
                detail: "embedded".to_owned(),
            },
            Err(error) => Check {
                ok: false,
                detail: format!("embedded: {error}"),
            },
        },
        None => Check {
            ok: true,
            detail: "external (Inngest dev server or Cloud)".to_owned(),
        },
    };
    let ok = database.ok && executor.ok;
    let status = if ok {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let body = Health {
        ok,
        service: SERVICE,
        checked_at: Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true),
        database,
        executor,
    };
    (status, Json(body))
}
