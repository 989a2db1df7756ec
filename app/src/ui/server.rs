//! The pages' data and the server functions that read it: the catalog with live stock, one
//! product, one order's progress and the public tracker. Customer PII stays on the server unless
//! the browser holds the order's unlock cookie.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// A product as the grid shows it; `stock` is summed over its variants.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ProductCard {
    pub id: String,
    pub slug: String,
    pub name: String,
    pub product_type: String,
    pub tagline: String,
    /// `light`, `dark` or `citrus`.
    pub cover: String,
    pub corner_tag: String,
    pub price_cents: i64,
    /// An image URL, or empty for the coloured cover.
    pub image: String,
    pub stock: i64,
}

/// A colour a product comes in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ColorOption {
    pub name: String,
    pub hex: String,
    pub label: String,
}

/// One size and colour, with its stock.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Variant {
    pub id: String,
    pub size: String,
    pub color: String,
    pub stock: i64,
}

/// A product page: the product, its variants in size order, and the rest of the catalog.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProductDetail {
    pub card: ProductCard,
    pub blurb: String,
    pub description: String,
    pub fabric: String,
    pub fit: String,
    pub colors: Vec<ColorOption>,
    pub variants: Vec<Variant>,
    pub others: Vec<ProductCard>,
}

/// A timeline entry as pages show it (PII-free by construction of the timeline).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct TimelineEntry {
    /// `step` or `status`.
    pub kind: String,
    /// The step name, or `order` for a status change.
    pub name: String,
    pub status: String,
    /// The step's output summary as compact JSON.
    pub detail: Option<String>,
    /// `HH:MM:SS.mmm` UTC.
    pub at: String,
}

/// What the order row says, once the fulfilment function has written it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderSummary {
    /// Masked (`a***@example.com`) unless the order is unlocked.
    pub email: String,
    /// Only when the order is unlocked.
    pub name: Option<String>,
    pub items: String,
    pub total_cents: i64,
    pub currency: String,
    pub status: String,
    pub tracking: String,
    pub discount_code: Option<String>,
}

/// The order page's state: the timeline so far and the order row if it exists yet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderProgress {
    pub order_id: String,
    /// Whether this browser holds the order's unlock cookie (it paid for the order).
    pub unlocked: bool,
    pub entries: Vec<TimelineEntry>,
    pub order: Option<OrderSummary>,
}

/// One order on the public tracker: its id and timeline, nothing personal.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct TrackedOrder {
    pub order_id: String,
    pub entries: Vec<TimelineEntry>,
}

/// Every product with its total stock, featured first.
#[server]
pub async fn get_catalog() -> Result<Vec<ProductCard>, ServerFnError> {
    let db = db::connection()?;
    Ok(db::catalog(&db).await?)
}

/// The product at `slug`, or `None` when there is none.
#[server]
pub async fn get_product(slug: String) -> Result<Option<ProductDetail>, ServerFnError> {
    let db = db::connection()?;
    Ok(db::product(&db, &slug).await?)
}

/// The order's progress, or `None` when `order_id` is not an order id. An order whose run has
/// not started yet has an empty timeline and no order row.
#[server]
pub async fn get_order_progress(order_id: String) -> Result<Option<OrderProgress>, ServerFnError> {
    if !swag_domain::ids::is_order_id(&order_id) {
        return Ok(None);
    }
    let db = db::connection()?;
    let unlocked = db::is_unlocked(&order_id);
    Ok(Some(db::order_progress(&db, order_id, unlocked).await?))
}

/// The most recently active orders with their timelines, newest first.
#[server]
pub async fn get_tracked_orders() -> Result<Vec<TrackedOrder>, ServerFnError> {
    let db = db::connection()?;
    Ok(db::tracked_orders(&db).await?)
}

#[cfg(feature = "ssr")]
mod db {
    //! The queries behind the server functions.

    use std::collections::HashMap;

    use leptos::prelude::{use_context, ServerFnError};
    use sea_orm::{ColumnTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter, QueryOrder};
    use swag_domain::catalog::size_rank;
    use swag_domain::entity::{order, product, product_variant};
    use swag_domain::timeline::{self, Entry};

    use super::{
        ColorOption, OrderProgress, OrderSummary, ProductCard, ProductDetail, TimelineEntry,
        TrackedOrder, Variant,
    };
    use crate::state::AppState;

    /// Timeline entries read for the tracker: enough for the orders it lists.
    const TRACKER_ENTRIES: u64 = 600;
    /// Orders the tracker lists.
    const TRACKER_ORDERS: usize = 20;

    pub(super) fn connection() -> Result<DatabaseConnection, ServerFnError> {
        use_context::<AppState>()
            .map(|state| state.db)
            .ok_or_else(|| ServerFnError::new("the store's state is missing from the request"))
    }

    /// Whether the request carries `order_unlock_{order_id}=1`.
    pub(super) fn is_unlocked(order_id: &str) -> bool {
        let Some(parts) = use_context::<axum::http::request::Parts>() else {
            return false;
        };
        let wanted = format!("order_unlock_{order_id}");
        parts
            .headers
            .get_all(axum::http::header::COOKIE)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .flat_map(|header| header.split(';'))
            .filter_map(|pair| pair.trim().split_once('='))
            .any(|(name, value)| name == wanted && value == "1")
    }

    /// `alice@example.com` → `a***@example.com`.
    pub(super) fn mask_email(email: &str) -> String {
        match email.split_once('@') {
            Some((local, domain)) => {
                let first: String = local.chars().take(1).collect();
                format!("{first}***@{domain}")
            }
            None if email.is_empty() => String::new(),
            None => "***".to_owned(),
        }
    }

    fn card(row: &product::Model, stock: i64) -> ProductCard {
        ProductCard {
            id: row.id.clone(),
            slug: row.slug.clone(),
            name: row.name.clone(),
            product_type: row.product_type.clone(),
            tagline: row.tagline.clone(),
            cover: row.cover.clone(),
            corner_tag: row.corner_tag.clone(),
            price_cents: row.price_cents,
            image: row.image.clone(),
            stock,
        }
    }

    async fn products(db: &DatabaseConnection) -> Result<Vec<product::Model>, DbErr> {
        product::Entity::find()
            .order_by_desc(product::Column::Featured)
            .order_by_asc(product::Column::Name)
            .all(db)
            .await
    }

    pub(super) async fn catalog(db: &DatabaseConnection) -> Result<Vec<ProductCard>, DbErr> {
        let products = products(db).await?;
        let mut stock: HashMap<String, i64> = HashMap::new();
        for variant in product_variant::Entity::find().all(db).await? {
            *stock.entry(variant.product_id).or_default() += i64::from(variant.stock.max(0));
        }
        Ok(products
            .iter()
            .map(|row| card(row, stock.get(&row.id).copied().unwrap_or_default()))
            .collect())
    }

    pub(super) async fn product(
        db: &DatabaseConnection,
        slug: &str,
    ) -> Result<Option<ProductDetail>, DbErr> {
        let Some(row) = product::Entity::find()
            .filter(product::Column::Slug.eq(slug))
            .one(db)
            .await?
        else {
            return Ok(None);
        };
        let mut variants: Vec<Variant> = product_variant::Entity::find()
            .filter(product_variant::Column::ProductId.eq(&row.id))
            .all(db)
            .await?
            .into_iter()
            .map(|v| Variant {
                id: v.id,
                size: v.size,
                color: v.color,
                stock: i64::from(v.stock.max(0)),
            })
            .collect();
        variants.sort_by(|a, b| {
            (size_rank(&a.size), &a.color, &a.id).cmp(&(size_rank(&b.size), &b.color, &b.id))
        });
        let mut colors: Vec<ColorOption> =
            serde_json::from_value(row.colors.clone()).unwrap_or_default();
        // A colour that only a variant mentions still needs a chip.
        for variant in &variants {
            if !colors.iter().any(|c| c.name == variant.color) {
                colors.push(ColorOption {
                    name: variant.color.clone(),
                    hex: String::new(),
                    label: variant.color.clone(),
                });
            }
        }
        let stock = variants.iter().map(|v| v.stock).sum();
        let others = catalog(db)
            .await?
            .into_iter()
            .filter(|other| other.id != row.id)
            .collect();
        Ok(Some(ProductDetail {
            card: card(&row, stock),
            blurb: row.blurb,
            description: row.description,
            fabric: row.fabric,
            fit: row.fit,
            colors,
            variants,
            others,
        }))
    }

    fn entry(entry: Entry) -> TimelineEntry {
        TimelineEntry {
            kind: entry.kind,
            name: entry.name,
            status: entry.status,
            detail: entry.detail.map(|detail| detail.to_string()),
            at: entry.at.format("%H:%M:%S%.3f").to_string(),
        }
    }

    pub(super) async fn order_progress(
        db: &DatabaseConnection,
        order_id: String,
        unlocked: bool,
    ) -> Result<OrderProgress, DbErr> {
        let entries = timeline::for_order(db, &order_id).await?;
        let row = order::Entity::find_by_id(&order_id).one(db).await?;
        let order = row.map(|row| OrderSummary {
            email: if unlocked {
                row.customer_email.clone()
            } else {
                mask_email(&row.customer_email)
            },
            name: unlocked.then(|| row.customer_name.clone()),
            items: row.items,
            total_cents: row.total_cents,
            currency: row.currency,
            status: row.status,
            tracking: row.tracking,
            discount_code: row.discount_code,
        });
        Ok(OrderProgress {
            order_id,
            unlocked,
            entries: entries.into_iter().map(entry).collect(),
            order,
        })
    }

    pub(super) async fn tracked_orders(
        db: &DatabaseConnection,
    ) -> Result<Vec<TrackedOrder>, DbErr> {
        let mut orders: Vec<TrackedOrder> = Vec::new();
        // Newest first: an order's position is that of its latest entry.
        for recent in timeline::recent(db, TRACKER_ENTRIES).await? {
            match orders.iter().position(|o| o.order_id == recent.order_id) {
                Some(index) => orders[index].entries.push(entry(recent)),
                None if orders.len() < TRACKER_ORDERS => orders.push(TrackedOrder {
                    order_id: recent.order_id.clone(),
                    entries: vec![entry(recent)],
                }),
                None => {}
            }
        }
        for order in &mut orders {
            order.entries.reverse();
        }
        Ok(orders)
    }

    #[cfg(test)]
    mod tests {
        use super::mask_email;

        #[test]
        fn masks_all_but_the_first_letter_of_the_mailbox() {
            assert_eq!(mask_email("alice@example.com"), "a***@example.com");
            assert_eq!(mask_email("@example.com"), "***@example.com");
            assert_eq!(mask_email("not-an-email"), "***");
            assert_eq!(mask_email(""), "");
        }
    }
}
