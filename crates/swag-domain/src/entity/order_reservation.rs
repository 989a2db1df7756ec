//! `order_reservations`: stock held for an order, released at most once.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "order_reservations")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub order_id: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub variant_id: String,
    pub quantity: i32,
    pub sku: String,
    pub name: String,
    pub size: String,
    pub color: String,
    pub created_at: DateTimeUtc,
    pub released_at: Option<DateTimeUtc>,
    pub release_reason: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
