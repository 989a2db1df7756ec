//! `inngest_concurrency_leases`: one row per occupied concurrency slot; the primary key makes
//! taking a slot atomic on every backend.

use sea_orm::entity::prelude::*;

/// An occupied slot.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "inngest_concurrency_leases")]
pub struct Model {
    /// The scope: function (or env) plus the evaluated key.
    #[sea_orm(primary_key, auto_increment = false)]
    pub scope: String,
    /// Slot number, `0..limit`.
    #[sea_orm(primary_key, auto_increment = false)]
    pub slot: i32,
    /// The run holding it.
    pub run_id: String,
    /// Taken, unix ms.
    pub acquired_at: i64,
}

/// No relations are declared; joins are done by hand.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
