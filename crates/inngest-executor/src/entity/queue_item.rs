//! `inngest_queue`: everything the executor must do later — calls, timers, retries, crons —
//! with a lease so that a call lost with its process is picked up again.

use sea_orm::entity::prelude::*;

/// A unit of work.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "inngest_queue")]
pub struct Model {
    /// Item id (ULID).
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    /// What to do (see `store::queue::Kind`).
    pub kind: String,
    /// The run concerned, if any.
    #[sea_orm(nullable)]
    pub run_id: Option<String>,
    /// For calls: `step` or a planned step's hash.
    pub step_id: String,
    /// Zero-based attempt of the call.
    pub attempt: i32,
    /// Kind-specific details (JSON).
    #[sea_orm(column_type = "Text")]
    pub payload: String,
    /// Due time, unix ms on the executor clock.
    pub run_at: i64,
    /// Lease expiry, unix ms of wall time; null when not leased.
    #[sea_orm(nullable)]
    pub lease_until: Option<i64>,
    /// Token of the worker holding the lease.
    #[sea_orm(nullable)]
    pub lease_token: Option<String>,
    /// Uniqueness among pending items (cleared when leased).
    #[sea_orm(nullable, unique)]
    pub dedup_key: Option<String>,
    /// Concurrency scope a start item waits on, when blocked.
    #[sea_orm(nullable)]
    pub blocked_on: Option<String>,
    /// Created, unix ms.
    pub created_at: i64,
}

/// No relations are declared; joins are done by hand.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
