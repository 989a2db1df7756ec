//! `products`.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "products")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    #[sea_orm(unique)]
    pub slug: String,
    pub name: String,
    pub product_type: String,
    pub sku: String,
    pub tagline: String,
    pub blurb: String,
    pub description: String,
    pub fabric: String,
    pub fit: String,
    pub corner_tag: String,
    pub cover: String,
    pub price_cents: i64,
    pub category: String,
    pub image: String,
    pub image_placeholder: String,
    pub colors: Json,
    pub sizes: Json,
    pub tags: Json,
    pub featured: bool,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(has_many = "super::product_variant::Entity")]
    Variants,
}

impl Related<super::product_variant::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Variants.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
