//! `inngest_functions`: function configs as synced (the SDK's JSON, kept verbatim).

use sea_orm::entity::prelude::*;

/// A synced function.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "inngest_functions")]
pub struct Model {
    /// Full function id (`<app>-<fn>`).
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    /// The app it belongs to.
    pub app_id: String,
    /// Display name.
    pub name: String,
    /// The function config JSON as the SDK sent it.
    #[sea_orm(column_type = "Text")]
    pub config: String,
    /// Unix ms of the last sync that carried it.
    pub updated_at: i64,
}

/// No relations are declared; joins are done by hand.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
