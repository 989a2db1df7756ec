//! The store's durable functions, one file each, and what they share.

use inngest::{Function, Inngest};
use sea_orm::DatabaseConnection;

use crate::realtime::Realtime;

/// What the functions need from the app.
#[derive(Clone)]
pub struct FunctionDeps {
    pub db: DatabaseConnection,
    pub realtime: Realtime,
}

/// Every function the store serves.
pub fn all(_client: Inngest, _deps: FunctionDeps) -> Vec<Function> {
    Vec::new()
}
