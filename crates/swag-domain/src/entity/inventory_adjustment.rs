//! `inventory_adjustments`: the stock ledger, one row per change.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "inventory_adjustments")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub batch_id: String,
    pub created_at: DateTimeUtc,
    pub actor_email: String,
    pub source: String,
    pub reason: String,
    pub mode: String,
    pub product_id: String,
    pub variant_id: String,
    pub sku: String,
    pub size: String,
    pub color: String,
    pub previous_stock: i32,
    pub quantity_change: i32,
    pub new_stock: i32,
    pub note: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
