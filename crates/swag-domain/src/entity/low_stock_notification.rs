//! `low_stock_notifications`: what was last said about a variant's low stock.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "low_stock_notifications")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub variant_id: String,
    pub threshold: i32,
    pub last_stock: i32,
    pub last_notified_at: DateTimeUtc,
    pub resolved_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
