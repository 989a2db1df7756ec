//! `inngest_events`: every accepted event, keyed by id so that a re-sent event is ignored.

use sea_orm::entity::prelude::*;

/// A received event.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "inngest_events")]
pub struct Model {
    /// Event id (given, derived from the id seed, or a new ULID).
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    /// Event name.
    pub name: String,
    /// The whole event JSON (`{id, name, data, user?, ts, v?}`).
    #[sea_orm(column_type = "Text")]
    pub payload: String,
    /// Event timestamp, unix ms.
    pub ts: i64,
    /// When it was received, unix ms (executor clock).
    pub received_at: i64,
}

/// No relations are declared; joins are done by hand.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
