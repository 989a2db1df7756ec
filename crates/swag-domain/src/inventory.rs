//! The inventory ledger: the only code that changes stock. Every change — order reservation and
//! release, shipments, audit counts, manual corrections, catalog resets — writes a ledger row
//! (previous stock, change, new stock, actor, source, reason, batch) in the same transaction,
//! and stock never goes negative.
//!
//! Each change first *writes* to the variant row (touching `updated_at`) and only then reads it:
//! SQLite then takes its write lock before reading (no stale read can be upgraded), Postgres
//! takes the row lock, so concurrent orders can never oversell.

use std::collections::BTreeMap;

use chrono::Utc;
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbErr,
    EntityTrait, QueryFilter, QueryOrder, TransactionTrait,
};
use serde::{Deserialize, Serialize};

use crate::entity::{inventory_adjustment, order_reservation, product, product_variant};

/// Why a stock change was refused. Nothing was changed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InventoryError {
    #[error("Insufficient inventory for {sku}; requested {requested}, available {available}")]
    Insufficient {
        sku: String,
        requested: i32,
        available: i32,
    },
    #[error("unknown variant {0}")]
    UnknownVariant(String),
    #[error("stock of {sku} cannot go below zero (it is {stock}, change {change})")]
    NegativeStock {
        sku: String,
        stock: i32,
        change: i32,
    },
    #[error("quantity for {variant_id} must be between 1 and 10000, got {quantity}")]
    InvalidQuantity { variant_id: String, quantity: i32 },
    #[error("order {0} already holds a reservation for different items")]
    ReservationMismatch(String),
    #[error("database error: {0}")]
    Database(String),
}

impl From<DbErr> for InventoryError {
    fn from(error: DbErr) -> Self {
        InventoryError::Database(error.to_string())
    }
}

/// Every way stock changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LedgerMode {
    /// Stock arrived: add the quantity.
    ReceiveShipment,
    /// A physical count: set the stock.
    AuditCount,
    /// An admin fixed a number: set the stock.
    ManualCorrection,
    /// Held for an order.
    OrderReservation,
    /// An order's hold given back.
    OrderRelease,
    /// The catalog reset put stock back to its initial value.
    CatalogReset,
}

impl LedgerMode {
    /// The database name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ReceiveShipment => "receive_shipment",
            Self::AuditCount => "audit_count",
            Self::ManualCorrection => "manual_correction",
            Self::OrderReservation => "order_reservation",
            Self::OrderRelease => "order_release",
            Self::CatalogReset => "catalog_reset",
        }
    }
}

/// Who changed stock and why; copied onto every ledger row of the change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedgerEntry {
    pub mode: LedgerMode,
    pub batch_id: String,
    pub actor_email: String,
    pub source: String,
    pub reason: String,
}

/// How one variant's stock changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StockChange {
    /// Add (or, negative, remove) units.
    Add(i32),
    /// Set the count.
    Set(i32),
}

/// The result of one variant's change, PII-free (fit for step outputs and realtime).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StockMove {
    pub variant_id: String,
    pub sku: String,
    pub previous_stock: i32,
    pub change: i32,
    pub new_stock: i32,
}

/// Catalog facts about a variant, read before the transaction (they do not change with stock).
#[derive(Debug, Clone)]
struct VariantInfo {
    variant_id: String,
    product_id: String,
    sku: String,
    name: String,
    size: String,
    color: String,
}

async fn variant_info(
    db: &impl ConnectionTrait,
    variant_id: &str,
) -> Result<VariantInfo, InventoryError> {
    let (variant, product) = product_variant::Entity::find_by_id(variant_id)
        .find_also_related(product::Entity)
        .one(db)
        .await?
        .ok_or_else(|| InventoryError::UnknownVariant(variant_id.to_owned()))?;
    let product = product.ok_or_else(|| InventoryError::UnknownVariant(variant_id.to_owned()))?;
    Ok(VariantInfo {
        sku: format!("{}-{}", product.sku, variant.size),
        variant_id: variant.id,
        product_id: product.id,
        name: product.name,
        size: variant.size,
        color: variant.color,
    })
}

/// Writes to the row first (taking the lock), then reads the stock under that lock.
async fn lock_stock(txn: &DatabaseTransaction, variant_id: &str) -> Result<i32, InventoryError> {
    let touched = product_variant::Entity::update_many()
        .col_expr(product_variant::Column::UpdatedAt, Expr::value(Utc::now()))
        .filter(product_variant::Column::Id.eq(variant_id))
        .exec(txn)
        .await?;
    if touched.rows_affected == 0 {
        return Err(InventoryError::UnknownVariant(variant_id.to_owned()));
    }
    let row = product_variant::Entity::find_by_id(variant_id)
        .one(txn)
        .await?
        .ok_or_else(|| InventoryError::UnknownVariant(variant_id.to_owned()))?;
    Ok(row.stock)
}

/// Applies one change under the row lock and writes its ledger row.
async fn change_stock(
    txn: &DatabaseTransaction,
    info: &VariantInfo,
    change: StockChange,
    entry: &LedgerEntry,
    note: &str,
) -> Result<StockMove, InventoryError> {
    let previous = lock_stock(txn, &info.variant_id).await?;
    let new_stock = match change {
        StockChange::Add(delta) => previous + delta,
        StockChange::Set(count) => count,
    };
    if new_stock < 0 {
        let change = new_stock - previous;
        if entry.mode == LedgerMode::OrderReservation {
            return Err(InventoryError::Insufficient {
                sku: info.sku.clone(),
                requested: -change,
                available: previous,
            });
        }
        return Err(InventoryError::NegativeStock {
            sku: info.sku.clone(),
            stock: previous,
            change,
        });
    }
    let now = Utc::now();
    product_variant::Entity::update_many()
        .col_expr(product_variant::Column::Stock, Expr::value(new_stock))
        .filter(product_variant::Column::Id.eq(&info.variant_id))
        .exec(txn)
        .await?;
    inventory_adjustment::Entity::insert(inventory_adjustment::ActiveModel {
        batch_id: Set(entry.batch_id.clone()),
        created_at: Set(now),
        actor_email: Set(entry.actor_email.clone()),
        source: Set(entry.source.clone()),
        reason: Set(entry.reason.clone()),
        mode: Set(entry.mode.as_str().to_owned()),
        product_id: Set(info.product_id.clone()),
        variant_id: Set(info.variant_id.clone()),
        sku: Set(info.sku.clone()),
        size: Set(info.size.clone()),
        color: Set(info.color.clone()),
        previous_stock: Set(previous),
        quantity_change: Set(new_stock - previous),
        new_stock: Set(new_stock),
        note: Set(note.to_owned()),
        ..Default::default()
    })
    .exec_without_returning(txn)
    .await?;
    Ok(StockMove {
        variant_id: info.variant_id.clone(),
        sku: info.sku.clone(),
        previous_stock: previous,
        change: new_stock - previous,
        new_stock,
    })
}

/// One variant's change in a batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Adjustment {
    pub variant_id: String,
    pub change: StockChange,
    pub note: String,
}

/// Applies a batch of changes atomically (all or nothing).
pub async fn adjust(
    db: &DatabaseConnection,
    entry: &LedgerEntry,
    adjustments: &[Adjustment],
) -> Result<Vec<StockMove>, InventoryError> {
    let mut infos = Vec::with_capacity(adjustments.len());
    for adjustment in adjustments {
        infos.push(variant_info(db, &adjustment.variant_id).await?);
    }
    let txn = db.begin().await?;
    let result = async {
        let mut moves = Vec::with_capacity(adjustments.len());
        for (adjustment, info) in adjustments.iter().zip(&infos) {
            moves.push(change_stock(&txn, info, adjustment.change, entry, &adjustment.note).await?);
        }

        Ok(moves)
    }
    .await;
    finish(txn, result).await
}

/// What a batch applied once did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BatchOutcome {
    /// The batch's ledger moves (on a replay, the ones recorded the first time).
    pub moves: Vec<StockMove>,
    /// True when the batch had already been applied and nothing changed now.
    pub replayed: bool,
}

/// Like [`adjust`], but at most once per `entry.batch_id`: a batch already in the ledger is
/// reported, not applied again. The variants are locked (in id order) before the ledger is
/// checked, so a concurrent replay waits and then finds the batch.
pub async fn adjust_batch_once(
    db: &DatabaseConnection,
    entry: &LedgerEntry,
    adjustments: &[Adjustment],
) -> Result<BatchOutcome, InventoryError> {
    let mut ordered: Vec<&Adjustment> = adjustments.iter().collect();
    ordered.sort_by(|a, b| a.variant_id.cmp(&b.variant_id));
    let mut infos = Vec::with_capacity(ordered.len());
    for adjustment in &ordered {
        infos.push(variant_info(db, &adjustment.variant_id).await?);
    }
    let txn = db.begin().await?;
    let result = async {
        for info in &infos {
            lock_stock(&txn, &info.variant_id).await?;
        }
        let existing = inventory_adjustment::Entity::find()
            .filter(inventory_adjustment::Column::BatchId.eq(&entry.batch_id))
            .order_by_asc(inventory_adjustment::Column::Id)
            .all(&txn)
            .await?;
        if !existing.is_empty() {
            let moves = existing
                .into_iter()
                .map(|row| StockMove {
                    variant_id: row.variant_id,
                    sku: row.sku,
                    previous_stock: row.previous_stock,
                    change: row.quantity_change,
                    new_stock: row.new_stock,
                })
                .collect();
            return Ok(BatchOutcome {
                moves,
                replayed: true,
            });
        }
        let mut moves = Vec::with_capacity(ordered.len());
        for (adjustment, info) in ordered.iter().zip(&infos) {
            moves.push(change_stock(&txn, info, adjustment.change, entry, &adjustment.note).await?);
        }
        Ok(BatchOutcome {
            moves,
            replayed: false,
        })
    }
    .await;
    finish(txn, result).await
}

/// A line to reserve for an order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReserveLine {
    pub variant_id: String,
    pub quantity: i32,
}

/// What reserving did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReserveOutcome {
    /// One move per variant (empty `previous/new` figures on a replay: nothing moved again).
    pub moves: Vec<StockMove>,
    /// True when the reservation already existed and nothing changed.
    pub replayed: bool,
}

/// The ledger batch of an order's reservation.
pub fn reservation_batch(order_id: &str) -> String {
    format!("res_{order_id}")
}

/// Reserves stock for an order: decrements each variant and writes the reservation and ledger
/// rows in one transaction. Idempotent: a second call for the same order changes nothing and
/// reports the existing reservation.
pub async fn reserve_for_order(
    db: &DatabaseConnection,
    order_id: &str,
    lines: &[ReserveLine],
    actor_email: &str,
) -> Result<ReserveOutcome, InventoryError> {
    let mut merged: BTreeMap<&str, i32> = BTreeMap::new();
    for line in lines {
        if !(1..=10_000).contains(&line.quantity) {
            return Err(InventoryError::InvalidQuantity {
                variant_id: line.variant_id.clone(),
                quantity: line.quantity,
            });
        }
        *merged.entry(line.variant_id.as_str()).or_default() += line.quantity;
    }
    let mut infos = Vec::with_capacity(merged.len());
    for variant_id in merged.keys() {
        infos.push(variant_info(db, variant_id).await?);
    }
    let now = Utc::now();
    let txn = db.begin().await?;
    let rows = infos.iter().map(|info| order_reservation::ActiveModel {
        order_id: Set(order_id.to_owned()),
        variant_id: Set(info.variant_id.clone()),
        quantity: Set(merged[info.variant_id.as_str()]),
        sku: Set(info.sku.clone()),
        name: Set(info.name.clone()),
        size: Set(info.size.clone()),
        color: Set(info.color.clone()),
        created_at: Set(now),
        released_at: Set(None),
        release_reason: Set(None),
    });
    // The insert is the transaction's first statement: replays stop here, racing replays wait.
    let inserted = order_reservation::Entity::insert_many(rows)
        .on_conflict(OnConflict::new().do_nothing().to_owned())
        .exec_without_returning(&txn)
        .await?;
    if inserted == 0 {
        let existing = reservations(&txn, order_id).await?;
        txn.rollback().await?;
        let same = existing.len() == merged.len()
            && existing
                .iter()
                .all(|r| merged.get(r.variant_id.as_str()) == Some(&r.quantity));
        if !same {
            return Err(InventoryError::ReservationMismatch(order_id.to_owned()));
        }
        let moves = existing
            .into_iter()
            .map(|r| StockMove {
                variant_id: r.variant_id,
                sku: r.sku,
                previous_stock: 0,
                change: -r.quantity,
                new_stock: 0,
            })
            .collect();
        return Ok(ReserveOutcome {
            moves,
            replayed: true,
        });
    }
    if inserted != merged.len() as u64 {
        txn.rollback().await?;
        return Err(InventoryError::ReservationMismatch(order_id.to_owned()));
    }
    let entry = LedgerEntry {
        mode: LedgerMode::OrderReservation,
        batch_id: reservation_batch(order_id),
        actor_email: actor_email.to_owned(),
        source: "fulfill-order".to_owned(),
        reason: format!("order {order_id}"),
    };
    let result = async {
        let mut moves = Vec::with_capacity(infos.len());
        for info in &infos {
            let quantity = merged[info.variant_id.as_str()];
            moves.push(change_stock(&txn, info, StockChange::Add(-quantity), &entry, "").await?);
        }

        Ok(ReserveOutcome {
            moves,
            replayed: false,
        })
    }
    .await;
    finish(txn, result).await
}

/// An order's reservations.
pub async fn reservations(
    db: &impl ConnectionTrait,
    order_id: &str,
) -> Result<Vec<order_reservation::Model>, InventoryError> {
    Ok(order_reservation::Entity::find()
        .filter(order_reservation::Column::OrderId.eq(order_id))
        .order_by_asc(order_reservation::Column::VariantId)
        .all(db)
        .await?)
}

/// Gives an order's reserved stock back, exactly once per reservation however often it is
/// called. Returns the moves made by this call (empty when already released).
pub async fn release_for_order(
    db: &DatabaseConnection,
    order_id: &str,
    reason: &str,
    actor_email: &str,
) -> Result<Vec<StockMove>, InventoryError> {
    let held = reservations(db, order_id).await?;
    let mut infos = Vec::with_capacity(held.len());
    for reservation in held.iter().filter(|r| r.released_at.is_none()) {
        infos.push((
            variant_info(db, &reservation.variant_id).await?,
            reservation.quantity,
        ));
    }
    if infos.is_empty() {
        return Ok(Vec::new());
    }
    let entry = LedgerEntry {
        mode: LedgerMode::OrderRelease,
        batch_id: format!("rel_{order_id}"),
        actor_email: actor_email.to_owned(),
        source: "order-release".to_owned(),
        reason: reason.to_owned(),
    };
    let txn = db.begin().await?;
    let result = async {
        let mut moves = Vec::new();
        for (info, quantity) in &infos {
            // Marking the reservation released is the first write: a concurrent release finds it
            // already marked and restocks nothing.
            let marked = order_reservation::Entity::update_many()
                .col_expr(
                    order_reservation::Column::ReleasedAt,
                    Expr::value(Some(Utc::now())),
                )
                .col_expr(
                    order_reservation::Column::ReleaseReason,
                    Expr::value(Some(reason.to_owned())),
                )
                .filter(order_reservation::Column::OrderId.eq(order_id))
                .filter(order_reservation::Column::VariantId.eq(&info.variant_id))
                .filter(order_reservation::Column::ReleasedAt.is_null())
                .exec(&txn)
                .await?;
            if marked.rows_affected == 1 {
                moves
                    .push(change_stock(&txn, info, StockChange::Add(*quantity), &entry, "").await?);
            }
        }
        Ok(moves)
    }
    .await;
    finish(txn, result).await
}

/// Commits on success; on failure rolls back at once, so the row locks are released now rather
/// than whenever the connection is next reused.
async fn finish<T>(
    txn: DatabaseTransaction,
    result: Result<T, InventoryError>,
) -> Result<T, InventoryError> {
    match result {
        Ok(value) => {
            txn.commit().await?;
            Ok(value)
        }
        Err(error) => {
            txn.rollback().await?;
            Err(error)
        }
    }
}

/// Sum of ledger changes per variant (for conservation checks and audits).
pub async fn ledger_totals(
    db: &impl ConnectionTrait,
) -> Result<BTreeMap<String, i64>, InventoryError> {
    let rows = inventory_adjustment::Entity::find().all(db).await?;
    let mut totals = BTreeMap::new();
    for row in rows {
        *totals.entry(row.variant_id).or_insert(0i64) += i64::from(row.quantity_change);
    }
    Ok(totals)
}
