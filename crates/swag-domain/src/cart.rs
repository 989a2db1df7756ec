//! Carts at checkout: validated lines (quantity 1–99, merged by variant) priced against the
//! catalog, with stock checked (it is only decremented at fulfilment).

use std::collections::BTreeMap;

use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter};
use serde::{Deserialize, Serialize};

use crate::entity::{product, product_variant};

/// Most units of one variant per order.
pub const MAX_QUANTITY: i64 = 99;

/// A line as a client sends it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CartLineInput {
    pub product_id: String,
    pub variant_id: String,
    pub quantity: i64,
    #[serde(default)]
    pub size: Option<String>,
    #[serde(default)]
    pub color: Option<String>,
}

/// Why a cart cannot be checked out.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CartError {
    #[error("your cart is empty")]
    Empty,
    #[error("quantity for {variant_id} must be between 1 and {MAX_QUANTITY}, got {quantity}")]
    Quantity { variant_id: String, quantity: i64 },
    #[error("unknown product variant {0}")]
    UnknownVariant(String),
    #[error("variant {variant_id} does not belong to product {product_id}")]
    WrongProduct {
        variant_id: String,
        product_id: String,
    },
    #[error("only {available} of {sku} left (you asked for {requested})")]
    OutOfStock {
        sku: String,
        requested: i64,
        available: i64,
    },
    #[error("database error: {0}")]
    Database(String),
}

impl From<DbErr> for CartError {
    fn from(error: DbErr) -> Self {
        CartError::Database(error.to_string())
    }
}

/// A priced line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PricedLine {
    pub product_id: String,
    pub product_name: String,
    pub variant_id: String,
    pub sku: String,
    pub size: String,
    pub color: String,
    pub quantity: i64,
    pub unit_cents: i64,
    pub total_cents: i64,
}

/// A cart ready for checkout.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PricedCart {
    pub lines: Vec<PricedLine>,
    pub subtotal_cents: i64,
}

impl PricedCart {
    /// The text label of the items, e.g. `2× Durable Tee (M), 1× Event Mug`.
    pub fn label(&self) -> String {
        self.lines
            .iter()
            .map(|l| {
                if l.size == "ONE_SIZE" {
                    format!("{}× {}", l.quantity, l.product_name)
                } else {
                    format!("{}× {} ({})", l.quantity, l.product_name, l.size)
                }
            })
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// Validates, merges by variant and prices `lines`, checking stock.
pub async fn price(
    db: &impl ConnectionTrait,
    lines: &[CartLineInput],
) -> Result<PricedCart, CartError> {
    if lines.is_empty() {
        return Err(CartError::Empty);
    }
    let mut merged: BTreeMap<&str, (&str, i64)> = BTreeMap::new();
    for line in lines {
        if !(1..=MAX_QUANTITY).contains(&line.quantity) {
            return Err(CartError::Quantity {
                variant_id: line.variant_id.clone(),
                quantity: line.quantity,
            });
        }
        let entry = merged
            .entry(line.variant_id.as_str())
            .or_insert((line.product_id.as_str(), 0));
        if entry.0 != line.product_id {
            return Err(CartError::WrongProduct {
                variant_id: line.variant_id.clone(),
                product_id: line.product_id.clone(),
            });
        }
        entry.1 += line.quantity;
        if entry.1 > MAX_QUANTITY {
            return Err(CartError::Quantity {
                variant_id: line.variant_id.clone(),
                quantity: entry.1,
            });
        }
    }
    let ids: Vec<&str> = merged.keys().copied().collect();
    let found = product_variant::Entity::find()
        .filter(product_variant::Column::Id.is_in(ids))
        .find_also_related(product::Entity)
        .all(db)
        .await?;
    let mut by_id: BTreeMap<String, (product_variant::Model, product::Model)> = found
        .into_iter()
        .filter_map(|(variant, product)| product.map(|p| (variant.id.clone(), (variant, p))))
        .collect();
    let mut priced = Vec::with_capacity(merged.len());
    for (variant_id, (product_id, quantity)) in merged {
        let (variant, product) = by_id
            .remove(variant_id)
            .ok_or_else(|| CartError::UnknownVariant(variant_id.to_owned()))?;
        if product.id != product_id {
            return Err(CartError::WrongProduct {
                variant_id: variant_id.to_owned(),
                product_id: product_id.to_owned(),
            });
        }
        let sku = format!("{}-{}", product.sku, variant.size);
        if i64::from(variant.stock) < quantity {
            return Err(CartError::OutOfStock {
                sku,
                requested: quantity,
                available: i64::from(variant.stock),
            });
        }
        priced.push(PricedLine {
            total_cents: product.price_cents * quantity,
            unit_cents: product.price_cents,
            product_id: product.id,
            product_name: product.name,
            variant_id: variant.id,
            sku,
            size: variant.size,
            color: variant.color,
            quantity,
        });
    }
    let subtotal_cents = priced.iter().map(|l| l.total_cents).sum();
    Ok(PricedCart {
        lines: priced,
        subtotal_cents,
    })
}
