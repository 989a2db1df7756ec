//! `inngest_waits`: steps paused until an event, a signal or an invoked run arrives.

use sea_orm::entity::prelude::*;

/// A paused step.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "inngest_waits")]
pub struct Model {
    /// Wait id (ULID).
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    /// The waiting run.
    pub run_id: String,
    /// The waiting step's hash.
    pub step_hash: String,
    /// `event`, `signal` or `invoke`.
    pub kind: String,
    /// Event name, signal name or invoked run id.
    pub target: String,
    /// CEL condition over `event` (the run's event) and `async` (the candidate).
    #[sea_orm(column_type = "Text", nullable)]
    pub expression: Option<String>,
    /// The run's triggering event (JSON), for the condition.
    #[sea_orm(column_type = "Text")]
    pub event: String,
    /// The timeout queue item, if any.
    #[sea_orm(nullable)]
    pub timeout_item: Option<String>,
    /// Expiry, unix ms on the executor clock.
    pub expires_at: i64,
}

/// No relations are declared; joins are done by hand.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
