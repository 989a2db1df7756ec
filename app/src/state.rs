//! The state shared by routes and server functions.

use axum::extract::FromRef;
use sea_orm::DatabaseConnection;

use crate::durable::Durable;
use crate::realtime::Realtime;

/// Everything a request handler may need.
#[derive(Clone)]
pub struct AppState {
    pub db: DatabaseConnection,
    pub realtime: Realtime,
    pub durable: Durable,
}

impl FromRef<AppState> for Realtime {
    fn from_ref(state: &AppState) -> Self {
        state.realtime.clone()
    }
}

impl FromRef<AppState> for DatabaseConnection {
    fn from_ref(state: &AppState) -> Self {
        state.db.clone()
    }
}
