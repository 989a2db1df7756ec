//! `discount_redemptions`: one row per redeemed code (the code is unique).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "discount_redemptions")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub stripe_session_id: String,
    #[sea_orm(unique)]
    pub code: String,
    pub order_id: String,
    pub amount_cents: i64,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
