//! `orders`.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "orders")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub order_id: String,
    pub created_at: DateTimeUtc,
    pub customer_email: String,
    pub customer_name: String,
    pub customer_phone: String,
    pub items: String,
    pub total_cents: i64,
    pub currency: String,
    pub ship_address: String,
    pub ship_city: String,
    pub ship_state: String,
    pub ship_zip: String,
    pub ship_country: String,
    pub status: String,
    pub tracking: String,
    pub notes: String,
    #[sea_orm(unique)]
    pub stripe_session_id: Option<String>,
    pub discount_code: Option<String>,
    pub discount_amount_cents: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(has_many = "super::order_item::Entity")]
    Items,
}

impl Related<super::order_item::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Items.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
