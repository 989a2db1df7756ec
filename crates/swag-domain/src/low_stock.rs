//! Low-stock notifications: which variants are at or below the threshold, which of them are
//! worth telling someone about again, and what was last said (`low_stock_notifications`).
//!
//! The rules (see [`decide`]): a low variant is announced when it has no notification row, its
//! row is resolved, the threshold changed since, or its stock fell below the stock last
//! announced. A variant with an open row that is no longer low gets `resolved_at`, so the next
//! drop is announced again.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder,
};
use serde::{Deserialize, Serialize};

use crate::catalog::size_rank;
use crate::entity::{low_stock_notification, product, product_variant};

/// The threshold when none (or an invalid one) is configured.
pub const DEFAULT_THRESHOLD: i32 = 5;

/// Why low-stock bookkeeping failed.
#[derive(Debug, thiserror::Error)]
pub enum LowStockError {
    #[error("database error: {0}")]
    Database(#[from] DbErr),
}

/// A variant at or below the threshold: catalog facts and stock, no customer data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LowStockVariant {
    pub variant_id: String,
    pub product_id: String,
    pub product_name: String,
    pub sku: String,
    pub size: String,
    pub color: String,
    pub stock: i32,
}

/// Why a low variant is announced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NotifyReason {
    /// Never announced before.
    FirstTime,
    /// Announced, restocked (resolved), and low again.
    LowAgain,
    /// Announced under another threshold.
    ThresholdChanged,
    /// Announced, and the stock has fallen further since.
    FellFurther,
}

/// A low variant to announce, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Notice {
    pub variant: LowStockVariant,
    pub reason: NotifyReason,
}

/// What to do about the current low-stock list.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Decision {
    /// Low variants to announce, in list order.
    pub notify: Vec<Notice>,
    /// Variants whose open notification no longer applies (they are above the threshold).
    pub resolve: Vec<String>,
}

/// Decides, from the low variants and the existing notification rows, whom to announce and
/// which open rows to resolve. Pure: the rules of this module, nothing else.
pub fn decide(
    low: &[LowStockVariant],
    rows: &[low_stock_notification::Model],
    threshold: i32,
) -> Decision {
    let by_variant: HashMap<&str, &low_stock_notification::Model> =
        rows.iter().map(|r| (r.variant_id.as_str(), r)).collect();
    let notify = low
        .iter()
        .filter_map(|variant| {
            let reason = match by_variant.get(variant.variant_id.as_str()) {
                None => Some(NotifyReason::FirstTime),
                Some(row) if row.resolved_at.is_some() => Some(NotifyReason::LowAgain),
                Some(row) if row.threshold != threshold => Some(NotifyReason::ThresholdChanged),
                Some(row) if variant.stock < row.last_stock => Some(NotifyReason::FellFurther),
                Some(_) => None,
            }?;
            Some(Notice {
                variant: variant.clone(),
                reason,
            })
        })
        .collect();
    let still_low: std::collections::HashSet<&str> =
        low.iter().map(|v| v.variant_id.as_str()).collect();
    let resolve = rows
        .iter()
        .filter(|r| r.resolved_at.is_none() && !still_low.contains(r.variant_id.as_str()))
        .map(|r| r.variant_id.clone())
        .collect();
    Decision { notify, resolve }
}

/// Every variant with stock at or below `threshold`, by product name then shop size order.
pub async fn list_low_stock(
    db: &impl ConnectionTrait,
    threshold: i32,
) -> Result<Vec<LowStockVariant>, LowStockError> {
    let rows = product_variant::Entity::find()
        .filter(product_variant::Column::Stock.lte(threshold))
        .find_also_related(product::Entity)
        .order_by_asc(product_variant::Column::Id)
        .all(db)
        .await?;
    let mut low: Vec<LowStockVariant> = rows
        .into_iter()
        .filter_map(|(variant, product)| {
            let product = product?;
            Some(LowStockVariant {
                sku: format!("{}-{}", product.sku, variant.size),
                variant_id: variant.id,
                product_id: product.id,
                product_name: product.name,
                size: variant.size,
                color: variant.color,
                stock: variant.stock,
            })
        })
        .collect();
    low.sort_by(|a, b| {
        (a.product_name.as_str(), size_rank(&a.size))
            .cmp(&(b.product_name.as_str(), size_rank(&b.size)))
    });
    Ok(low)
}

/// All notification rows.
pub async fn notifications(
    db: &impl ConnectionTrait,
) -> Result<Vec<low_stock_notification::Model>, LowStockError> {
    Ok(low_stock_notification::Entity::find()
        .order_by_asc(low_stock_notification::Column::VariantId)
        .all(db)
        .await?)
}

/// Reads the rows, decides (see [`decide`]) and marks the rows to resolve as resolved at `now`.
/// Announced variants are *not* recorded here: see [`record_notified`].
pub async fn dedupe(
    db: &impl ConnectionTrait,
    low: &[LowStockVariant],
    threshold: i32,
    now: DateTime<Utc>,
) -> Result<Decision, LowStockError> {
    let rows = notifications(db).await?;
    let decision = decide(low, &rows, threshold);
    if !decision.resolve.is_empty() {
        low_stock_notification::Entity::update_many()
            .col_expr(
                low_stock_notification::Column::ResolvedAt,
                Expr::value(Some(now)),
            )
            .filter(low_stock_notification::Column::VariantId.is_in(decision.resolve.clone()))
            .filter(low_stock_notification::Column::ResolvedAt.is_null())
            .exec(db)
            .await?;
    }
    Ok(decision)
}

/// Records that `notices` were announced under `threshold` at `now` (an open row with the
/// announced stock). Idempotent: recording the same notices again writes the same rows.
pub async fn record_notified(
    db: &impl ConnectionTrait,
    notices: &[Notice],
    threshold: i32,
    now: DateTime<Utc>,
) -> Result<(), LowStockError> {
    if notices.is_empty() {
        return Ok(());
    }
    let rows = notices.iter().map(|n| low_stock_notification::ActiveModel {
        variant_id: Set(n.variant.variant_id.clone()),
        threshold: Set(threshold),
        last_stock: Set(n.variant.stock),
        last_notified_at: Set(now),
        resolved_at: Set(None),
    });
    low_stock_notification::Entity::insert_many(rows)
        .on_conflict(
            OnConflict::column(low_stock_notification::Column::VariantId)
                .update_columns([
                    low_stock_notification::Column::Threshold,
                    low_stock_notification::Column::LastStock,
                    low_stock_notification::Column::LastNotifiedAt,
                    low_stock_notification::Column::ResolvedAt,
                ])
                .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn variant(id: &str, stock: i32) -> LowStockVariant {
        LowStockVariant {
            variant_id: id.to_owned(),
            product_id: "p".to_owned(),
            product_name: "Tee".to_owned(),
            sku: format!("TEE-{id}"),
            size: "M".to_owned(),
            color: "black".to_owned(),
            stock,
        }
    }

    fn row(
        id: &str,
        threshold: i32,
        last_stock: i32,
        resolved: bool,
    ) -> low_stock_notification::Model {
        let at = Utc.with_ymd_and_hms(2030, 1, 1, 0, 0, 0).unwrap();
        low_stock_notification::Model {
            variant_id: id.to_owned(),
            threshold,
            last_stock,
            last_notified_at: at,
            resolved_at: resolved.then_some(at),
        }
    }

    fn reasons(decision: &Decision) -> Vec<(&str, NotifyReason)> {
        decision
            .notify
            .iter()
            .map(|n| (n.variant.variant_id.as_str(), n.reason))
            .collect()
    }

    #[test]
    fn a_variant_never_announced_is_announced() {
        let decision = decide(&[variant("a", 3)], &[], 5);
        assert_eq!(reasons(&decision), vec![("a", NotifyReason::FirstTime)]);
        assert!(decision.resolve.is_empty());
    }

    #[test]
    fn the_same_stock_under_the_same_threshold_is_not_repeated() {
        let decision = decide(&[variant("a", 3)], &[row("a", 5, 3, false)], 5);
        assert_eq!(decision, Decision::default());
    }

    #[test]
    fn a_rise_that_stays_low_is_not_announced() {
        let decision = decide(&[variant("a", 4)], &[row("a", 5, 3, false)], 5);
        assert!(decision.notify.is_empty());
    }

    #[test]
    fn a_further_fall_is_announced() {
        let decision = decide(&[variant("a", 2)], &[row("a", 5, 3, false)], 5);
        assert_eq!(reasons(&decision), vec![("a", NotifyReason::FellFurther)]);
    }

    #[test]
    fn a_resolved_variant_that_is_low_again_is_announced_even_at_the_same_stock() {
        let decision = decide(&[variant("a", 3)], &[row("a", 5, 3, true)], 5);
        assert_eq!(reasons(&decision), vec![("a", NotifyReason::LowAgain)]);
    }

    #[test]
    fn a_changed_threshold_announces_again() {
        let decision = decide(&[variant("a", 3)], &[row("a", 4, 3, false)], 5);
        assert_eq!(
            reasons(&decision),
            vec![("a", NotifyReason::ThresholdChanged)]
        );
    }

    #[test]
    fn open_rows_of_variants_no_longer_low_are_resolved_and_resolved_ones_left_alone() {
        let rows = [
            row("a", 5, 3, false),
            row("b", 5, 1, false),
            row("c", 5, 2, true),
        ];
        let decision = decide(&[variant("b", 1)], &rows, 5);
        assert!(decision.notify.is_empty());
        assert_eq!(decision.resolve, vec!["a".to_owned()]);
    }

    #[test]
    fn nothing_low_resolves_every_open_row() {
        let rows = [row("a", 5, 3, false), row("b", 5, 1, false)];
        let decision = decide(&[], &rows, 5);
        assert_eq!(decision.resolve, vec!["a".to_owned(), "b".to_owned()]);
    }
}
