//! The catalog: the seed products and their variants, sizes in shop order, and seeding that never
//! overwrites what is already there.

use chrono::Utc;
use sea_orm::sea_query::OnConflict;
use sea_orm::{ActiveValue::Set, ConnectionTrait, DbErr, EntityTrait, PaginatorTrait};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::entity::{product, product_variant};

/// Sizes in the order shoppers expect.
pub const SIZE_ORDER: [&str; 8] = ["XS", "S", "M", "L", "XL", "XXL", "XXXL", "ONE_SIZE"];

/// Position of `size` in [`SIZE_ORDER`] (unknown sizes last).
pub fn size_rank(size: &str) -> usize {
    SIZE_ORDER
        .iter()
        .position(|s| s.eq_ignore_ascii_case(size))
        .unwrap_or(SIZE_ORDER.len())
}

/// How a size is shown.
pub fn size_label(size: &str) -> &str {
    if size == "ONE_SIZE" {
        "One size"
    } else {
        size
    }
}

/// A colour option.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Color {
    pub name: String,
    pub hex: String,
    pub label: String,
}

/// A product of the seed catalog.
#[derive(Debug, Clone)]
pub struct SeedProduct {
    pub id: &'static str,
    pub name: &'static str,
    pub product_type: &'static str,
    pub sku: &'static str,
    pub tagline: &'static str,
    pub blurb: &'static str,
    pub fabric: &'static str,
    pub fit: &'static str,
    pub corner_tag: &'static str,
    pub cover: &'static str,
    pub price_cents: i64,
    pub category: &'static str,
    pub color: (&'static str, &'static str, &'static str),
    /// (size, initial stock)
    pub stock: &'static [(&'static str, i32)],
    pub tags: &'static [&'static str],
    pub featured: bool,
}

impl SeedProduct {
    /// The variant id of `size` (colour is fixed per seed product).
    pub fn variant_id(&self, size: &str) -> String {
        format!("{}-{}-{}", self.id, size.to_ascii_lowercase(), self.color.0)
    }
}

/// The seed catalog.
pub fn seed_products() -> Vec<SeedProduct> {
    vec![
        SeedProduct {
            id: "durable-tee",
            name: "Durable Tee",
            product_type: "T-shirt",
            sku: "TEE",
            tagline: "Survives every retry.",
            blurb: "Heavyweight cotton tee with the step diagram printed on the back.",
            fabric: "100% organic cotton, 220 gsm",
            fit: "Relaxed",
            corner_tag: "NEW",
            cover: "dark",
            price_cents: 3_200,
            category: "apparel",
            color: ("black", "#111111", "Black"),
            stock: &[
                ("XS", 8),
                ("S", 20),
                ("M", 30),
                ("L", 30),
                ("XL", 20),
                ("XXL", 8),
                ("XXXL", 4),
            ],
            tags: &["apparel", "cotton"],
            featured: true,
        },
        SeedProduct {
            id: "step-hoodie",
            name: "Step Function Hoodie",
            product_type: "Hoodie",
            sku: "HOOD",
            tagline: "Warm, idempotent, yours.",
            blurb: "Brushed fleece hoodie, embroidered step.run on the chest.",
            fabric: "80% cotton, 20% recycled polyester",
            fit: "Regular",
            corner_tag: "BESTSELLER",
            cover: "light",
            price_cents: 6_800,
            category: "apparel",
            color: ("heather", "#9ca3af", "Heather grey"),
            stock: &[("S", 12), ("M", 15), ("L", 15), ("XL", 10), ("XXL", 5)],
            tags: &["apparel", "fleece"],
            featured: true,
        },
        SeedProduct {
            id: "retry-socks",
            name: "Retry Socks",
            product_type: "Socks",
            sku: "SOCK",
            tagline: "Exponential backoff for your feet.",
            blurb: "Combed cotton crew socks, one size fits most.",
            fabric: "75% cotton, 23% nylon, 2% elastane",
            fit: "Crew",
            corner_tag: "",
            cover: "citrus",
            price_cents: 1_400,
            category: "accessories",
            color: ("citrus", "#d9f99d", "Citrus"),
            stock: &[("ONE_SIZE", 40)],
            tags: &["accessories"],
            featured: false,
        },
        SeedProduct {
            id: "event-mug",
            name: "Event Mug",
            product_type: "Mug",
            sku: "MUG",
            tagline: "Fan out your coffee.",
            blurb: "12 oz stoneware mug, dishwasher safe.",
            fabric: "Stoneware",
            fit: "12 oz",
            corner_tag: "",
            cover: "light",
            price_cents: 1_800,
            category: "accessories",
            color: ("white", "#f8fafc", "White"),
            stock: &[("ONE_SIZE", 25)],
            tags: &["accessories", "kitchen"],
            featured: false,
        },
        SeedProduct {
            id: "cron-cap",
            name: "Cron Cap",
            product_type: "Cap",
            sku: "CAP",
            tagline: "0 9 * * * — time to go outside.",
            blurb: "Six-panel cotton twill cap with an adjustable strap.",
            fabric: "Cotton twill",
            fit: "Adjustable",
            corner_tag: "LIMITED",
            cover: "dark",
            price_cents: 2_600,
            category: "accessories",
            color: ("navy", "#1e3a8a", "Navy"),
            stock: &[("ONE_SIZE", 15)],
            tags: &["accessories", "headwear"],
            featured: false,
        },
    ]
}

/// What seeding did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct SeedSummary {
    pub products: u64,
    pub variants: u64,
    pub inserted_products: u64,
    pub inserted_variants: u64,
}

/// Inserts the seed products and variants that are missing; leaves existing rows (and their
/// stock) untouched.
pub async fn seed(db: &impl ConnectionTrait) -> Result<SeedSummary, DbErr> {
    let now = Utc::now();
    let mut inserted_products = 0;
    let mut inserted_variants = 0;
    for seed in seed_products() {
        let sizes: Vec<&str> = seed.stock.iter().map(|(size, _)| *size).collect();
        let row = product::ActiveModel {
            id: Set(seed.id.to_owned()),
            slug: Set(seed.id.to_owned()),
            name: Set(seed.name.to_owned()),
            product_type: Set(seed.product_type.to_owned()),
            sku: Set(seed.sku.to_owned()),
            tagline: Set(seed.tagline.to_owned()),
            blurb: Set(seed.blurb.to_owned()),
            description: Set(format!("{} {}", seed.tagline, seed.blurb)),
            fabric: Set(seed.fabric.to_owned()),
            fit: Set(seed.fit.to_owned()),
            corner_tag: Set(seed.corner_tag.to_owned()),
            cover: Set(seed.cover.to_owned()),
            price_cents: Set(seed.price_cents),
            category: Set(seed.category.to_owned()),
            image: Set(String::new()),
            image_placeholder: Set(String::new()),
            colors: Set(
                json!([{"name": seed.color.0, "hex": seed.color.1, "label": seed.color.2}]),
            ),
            sizes: Set(json!(sizes)),
            tags: Set(json!(seed.tags)),
            featured: Set(seed.featured),
            updated_at: Set(now),
        };
        inserted_products += product::Entity::insert(row)
            .on_conflict(OnConflict::new().do_nothing().to_owned())
            .exec_without_returning(db)
            .await?;
        let variants = seed
            .stock
            .iter()
            .map(|(size, stock)| product_variant::ActiveModel {
                id: Set(seed.variant_id(size)),
                product_id: Set(seed.id.to_owned()),
                size: Set((*size).to_owned()),
                color: Set(seed.color.0.to_owned()),
                initial_stock: Set(*stock),
                stock: Set(*stock),
                updated_at: Set(now),
            });
        inserted_variants += product_variant::Entity::insert_many(variants)
            .on_conflict(OnConflict::new().do_nothing().to_owned())
            .exec_without_returning(db)
            .await?;
    }
    Ok(SeedSummary {
        products: product::Entity::find().count(db).await?,
        variants: product_variant::Entity::find().count(db).await?,
        inserted_products,
        inserted_variants,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_sort_in_shop_order() {
        let mut sizes = vec!["XL", "S", "ONE_SIZE", "XS", "M"];
        sizes.sort_by_key(|s| size_rank(s));
        assert_eq!(sizes, vec!["XS", "S", "M", "XL", "ONE_SIZE"]);
        assert_eq!(size_label("ONE_SIZE"), "One size");
    }

    #[test]
    fn seed_variant_ids_are_unique() {
        let mut ids: Vec<String> = seed_products()
            .iter()
            .flat_map(|p| p.stock.iter().map(|(s, _)| p.variant_id(s)))
            .collect();
        let total = ids.len();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), total);
    }
}
