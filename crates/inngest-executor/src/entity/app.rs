//! `inngest_apps`: one row per synced app (SDK serve endpoint).

use sea_orm::entity::prelude::*;

/// A synced app.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "inngest_apps")]
pub struct Model {
    /// The app id (`appName` / `app_id`).
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    /// The serve URL.
    pub url: String,
    /// SDK identification as reported at sync.
    pub sdk: String,
    /// Unix ms of the last sync.
    pub synced_at: i64,
}

/// No relations are declared; joins are done by hand.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
