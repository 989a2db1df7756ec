//! `inngest_idempotency_keys`: function idempotency keys (24 h) and the run each one started.

use sea_orm::entity::prelude::*;

/// A used idempotency key.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "inngest_idempotency_keys")]
pub struct Model {
    /// `<function id>:<evaluated key>`.
    #[sea_orm(primary_key, auto_increment = false)]
    pub key: String,
    /// The run it started.
    pub run_id: String,
    /// Expiry, unix ms on the executor clock.
    pub expires_at: i64,
}

/// No relations are declared; joins are done by hand.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
