//! The catalog as the importer sees it: products findable by id, slug, SKU or name
//! (case-insensitive), and variant ids or `{SKU}-{SIZE}` variant SKUs naming a size too.

use std::collections::HashMap;

use sea_orm::{ConnectionTrait, DbErr, EntityTrait};

use crate::entity::{product, product_variant};

/// A catalog product with its variants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CatalogProduct {
    pub id: String,
    pub slug: String,
    pub sku: String,
    pub name: String,
    pub price_cents: i64,
    pub variants: Vec<CatalogVariant>,
}

/// One variant and its current stock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CatalogVariant {
    pub id: String,
    pub size: String,
    pub color: String,
    pub stock: i32,
}

/// What a product reference named.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProductMatch {
    pub product_id: String,
    /// Set when the reference named a variant (its id or `{SKU}-{SIZE}`).
    pub size: Option<String>,
    pub color: Option<String>,
}

/// Products indexed by every name an import may use.
#[derive(Debug, Clone, Default)]
pub struct CatalogIndex {
    products: Vec<CatalogProduct>,
    keys: HashMap<String, ProductMatch>,
}

/// Lower-cased with runs of whitespace collapsed: the form references are compared in.
pub fn normalize_reference(reference: &str) -> String {
    reference
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

impl CatalogIndex {
    /// Indexes `products`.
    pub fn new(products: Vec<CatalogProduct>) -> Self {
        let mut keys = HashMap::new();
        for product in &products {
            let whole = ProductMatch {
                product_id: product.id.clone(),
                size: None,
                color: None,
            };
            for variant in &product.variants {
                let named = ProductMatch {
                    product_id: product.id.clone(),
                    size: Some(variant.size.clone()),
                    color: Some(variant.color.clone()),
                };
                keys.insert(normalize_reference(&variant.id), named.clone());
                let sku = format!("{}-{}", product.sku, variant.size);
                keys.entry(normalize_reference(&sku)).or_insert(named);
            }
            for key in [&product.id, &product.slug, &product.sku, &product.name] {
                keys.insert(normalize_reference(key), whole.clone());
            }
        }
        Self { products, keys }
    }

    /// Reads the catalog with current stock.
    pub async fn load(db: &impl ConnectionTrait) -> Result<Self, DbErr> {
        let rows = product::Entity::find()
            .find_with_related(product_variant::Entity)
            .all(db)
            .await?;
        let products = rows
            .into_iter()
            .map(|(product, variants)| CatalogProduct {
                variants: variants
                    .into_iter()
                    .map(|v| CatalogVariant {
                        id: v.id,
                        size: v.size,
                        color: v.color,
                        stock: v.stock,
                    })
                    .collect(),
                id: product.id,
                slug: product.slug,
                sku: product.sku,
                name: product.name,
                price_cents: product.price_cents,
            })
            .collect();
        Ok(Self::new(products))
    }

    /// The product (or variant) `reference` names, if any.
    pub fn find(&self, reference: &str) -> Option<&ProductMatch> {
        self.keys.get(&normalize_reference(reference))
    }

    /// A product by id.
    pub fn product(&self, id: &str) -> Option<&CatalogProduct> {
        self.products.iter().find(|p| p.id == id)
    }
}
