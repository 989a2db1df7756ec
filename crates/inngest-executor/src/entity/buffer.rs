//! `inngest_buffers`: events held back by debounce or collected into a batch.

use sea_orm::entity::prelude::*;

/// A debounce or batch buffer.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "inngest_buffers")]
pub struct Model {
    /// `<kind>:<function id>:<evaluated key>`.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    /// The function.
    pub function_id: String,
    /// `debounce` or `batch`.
    pub kind: String,
    /// The buffered events (JSON array).
    #[sea_orm(column_type = "Text")]
    pub events: String,
    /// First event buffered, unix ms.
    pub first_at: i64,
    /// When it fires, unix ms.
    pub fire_at: i64,
}

/// No relations are declared; joins are done by hand.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
