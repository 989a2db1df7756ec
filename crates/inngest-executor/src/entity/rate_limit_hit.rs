//! `inngest_rate_limit_hits`: runs started under a rate limit, counted over its period.

use sea_orm::entity::prelude::*;

/// A run started under a rate limit.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "inngest_rate_limit_hits")]
pub struct Model {
    /// Hit id (ULID).
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    /// Function id plus the evaluated key.
    pub scope: String,
    /// When, unix ms.
    pub at: i64,
}

/// No relations are declared; joins are done by hand.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
