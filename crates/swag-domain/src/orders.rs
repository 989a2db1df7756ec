//! Recorded orders: the order row and its items, written once however often fulfilment
//! retries, and the row ops see when fulfilment fails for good ("NEEDS ATTENTION…").

use std::future::Future;
use std::pin::Pin;

use chrono::Utc;
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbErr,
    EntityTrait, PaginatorTrait, QueryFilter, SqlErr, TransactionTrait,
};
use serde::{Deserialize, Serialize};

use crate::entity::{order, order_item};
use crate::order::OrderStatus;

/// Why an order could not be recorded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OrderError {
    /// A uniqueness rule refused the row (e.g. its Stripe session already belongs to another
    /// order). Retrying cannot help.
    #[error("order {order_id} conflicts with a recorded order: {detail}")]
    Conflict { order_id: String, detail: String },
    /// The order's data breaks a rule of the schema. Retrying cannot help.
    #[error("order {order_id} is not valid: {detail}")]
    Invalid { order_id: String, detail: String },
    #[error("order {0} is not recorded")]
    NotFound(String),
    #[error("database error: {0}")]
    Database(String),
}

impl OrderError {
    /// Whether retrying the same write can never succeed.
    pub fn is_permanent(&self) -> bool {
        matches!(self, Self::Conflict { .. } | Self::Invalid { .. })
    }

    fn from_db(order_id: &str, error: DbErr) -> Self {
        match error.sql_err() {
            Some(SqlErr::UniqueConstraintViolation(detail)) => Self::Conflict {
                order_id: order_id.to_owned(),
                detail,
            },
            Some(SqlErr::ForeignKeyConstraintViolation(detail)) => Self::Invalid {
                order_id: order_id.to_owned(),
                detail,
            },
            _ => Self::Database(error.to_string()),
        }
    }
}

/// Who ordered. Empty strings when unknown (the columns default to '').
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Customer {
    pub email: String,
    pub name: String,
    pub phone: String,
}

/// Where the order ships. `address` holds line 1 and line 2.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ShipTo {
    pub address: String,
    pub city: String,
    pub state: String,
    pub zip: String,
    pub country: String,
}

/// One purchased line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewOrderItem {
    pub product_id: String,
    pub variant_id: String,
    pub sku: String,
    pub name: String,
    pub size: String,
    pub color: String,
    pub quantity: i32,
    pub amount_total: i64,
}

/// An order as fulfilment knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewOrder {
    pub order_id: String,
    pub customer: Customer,
    pub ship_to: ShipTo,
    pub total_cents: i64,
    pub currency: String,
    pub stripe_session_id: Option<String>,
    pub discount_code: Option<String>,
    pub discount_amount_cents: i64,
    pub items: Vec<NewOrderItem>,
}

/// What recording did, PII-free (fit for step outputs).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RecordedOrder {
    pub order_id: String,
    /// The row's status after the call (an existing row keeps its own).
    pub status: OrderStatus,
    /// False when the row already existed and nothing was written.
    pub created: bool,
    pub item_count: usize,
}

/// The items column: "Durable Tee (M / Black) × 2, Event Mug × 1".
pub fn items_label(items: &[NewOrderItem]) -> String {
    items
        .iter()
        .map(|item| {
            let variant: Vec<&str> = [item.size.as_str(), item.color.as_str()]
                .into_iter()
                .filter(|part| !part.is_empty())
                .collect();
            if variant.is_empty() {
                format!("{} × {}", item.name, item.quantity)
            } else {
                format!(
                    "{} ({}) × {}",
                    item.name,
                    variant.join(" / "),
                    item.quantity
                )
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn order_row(new: &NewOrder, status: OrderStatus, notes: String) -> order::ActiveModel {
    order::ActiveModel {
        order_id: Set(new.order_id.clone()),
        created_at: Set(Utc::now()),
        customer_email: Set(new.customer.email.clone()),
        customer_name: Set(new.customer.name.clone()),
        customer_phone: Set(new.customer.phone.clone()),
        items: Set(items_label(&new.items)),
        total_cents: Set(new.total_cents),
        currency: Set(new.currency.to_ascii_uppercase()),
        ship_address: Set(new.ship_to.address.clone()),
        ship_city: Set(new.ship_to.city.clone()),
        ship_state: Set(new.ship_to.state.clone()),
        ship_zip: Set(new.ship_to.zip.clone()),
        ship_country: Set(new.ship_to.country.clone()),
        status: Set(status.as_str().to_owned()),
        tracking: Set(String::new()),
        notes: Set(notes),
        stripe_session_id: Set(new.stripe_session_id.clone()),
        discount_code: Set(new.discount_code.clone()),
        discount_amount_cents: Set(new.discount_amount_cents),
    }
}

async fn insert_items(
    db: &impl ConnectionTrait,
    order_id: &str,
    items: &[NewOrderItem],
) -> Result<(), DbErr> {
    if items.is_empty() {
        return Ok(());
    }
    let rows = items.iter().map(|item| order_item::ActiveModel {
        order_id: Set(order_id.to_owned()),
        product_id: Set(item.product_id.clone()),
        variant_id: Set(item.variant_id.clone()),
        sku: Set(item.sku.clone()),
        name: Set(item.name.clone()),
        size: Set(item.size.clone()),
        color: Set(item.color.clone()),
        quantity: Set(item.quantity),
        amount_total: Set(item.amount_total),
        ..Default::default()
    });
    order_item::Entity::insert_many(rows)
        .exec_without_returning(db)
        .await?;
    Ok(())
}

async fn item_count(db: &impl ConnectionTrait, order_id: &str) -> Result<u64, DbErr> {
    order_item::Entity::find()
        .filter(order_item::Column::OrderId.eq(order_id))
        .count(db)
        .await
}

/// Writes to the order's row before reading it, so that SQLite takes its write lock (and
/// Postgres the row lock) first and a concurrent writer cannot slip in between.
async fn lock_order(db: &impl ConnectionTrait, order_id: &str) -> Result<(), DbErr> {
    order::Entity::update_many()
        .col_expr(order::Column::Notes, Expr::col(order::Column::Notes).into())
        .filter(order::Column::OrderId.eq(order_id))
        .exec(db)
        .await?;
    Ok(())
}

fn stored_status(row: &order::Model) -> Result<OrderStatus, OrderError> {
    OrderStatus::parse(&row.status).map_err(|e| OrderError::Database(e.to_string()))
}

/// The body of a transaction, borrowing it.
type TransactionWork<'t, T> = Pin<Box<dyn Future<Output = Result<T, OrderError>> + Send + 't>>;

/// Runs `work` in a transaction: commits when it succeeds, rolls back explicitly when it fails,
/// so no pooled connection is left holding locks in an open transaction.
async fn in_transaction<T>(
    db: &DatabaseConnection,
    order_id: &str,
    work: impl for<'t> FnOnce(&'t DatabaseTransaction) -> TransactionWork<'t, T>,
) -> Result<T, OrderError> {
    let db_error = |e| OrderError::from_db(order_id, e);
    let txn = db.begin().await.map_err(db_error)?;
    match work(&txn).await {
        Ok(value) => {
            txn.commit().await.map_err(db_error)?;
            Ok(value)
        }
        Err(error) => {
            if let Err(rollback) = txn.rollback().await {
                tracing::warn!(order_id, %rollback, "rollback failed");
            }
            Err(error)
        }
    }
}

/// Records a placed order as `pending` with its items, in one transaction. Idempotent: when the
/// row exists (a retry, a replayed event) nothing is written and the row's status is reported.
/// Another order's Stripe session is a [`OrderError::Conflict`].
pub async fn record_order(
    db: &DatabaseConnection,
    new: &NewOrder,
) -> Result<RecordedOrder, OrderError> {
    let new = new.clone();
    let id = new.order_id.clone();
    in_transaction(db, &id, move |txn| {
        Box::pin(async move {
            let id = new.order_id.as_str();
            let db_error = |e| OrderError::from_db(id, e);
            // The insert is the transaction's first statement, so racing retries queue behind
            // it. The conflict target is the order id only: any other uniqueness violation is
            // an error.
            let inserted =
                order::Entity::insert(order_row(&new, OrderStatus::Pending, String::new()))
                    .on_conflict(
                        OnConflict::column(order::Column::OrderId)
                            .do_nothing()
                            .to_owned(),
                    )
                    .exec_without_returning(txn)
                    .await
                    .map_err(db_error)?;
            if inserted == 1 {
                insert_items(txn, id, &new.items).await.map_err(db_error)?;
                return Ok(RecordedOrder {
                    order_id: id.to_owned(),
                    status: OrderStatus::Pending,
                    created: true,
                    item_count: new.items.len(),
                });
            }
            let existing = order::Entity::find_by_id(id)
                .one(txn)
                .await
                .map_err(db_error)?
                .ok_or_else(|| OrderError::NotFound(id.to_owned()))?;
            let items = item_count(txn, id).await.map_err(db_error)?;
            Ok(RecordedOrder {
                order_id: id.to_owned(),
                status: stored_status(&existing)?,
                created: false,
                item_count: usize::try_from(items).unwrap_or(usize::MAX),
            })
        })
    })
    .await
}

/// What recording a failed order did, PII-free.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FailedOrderRecord {
    pub order_id: String,
    /// The status before the call (`None` when the row was created by it).
    pub previous_status: Option<OrderStatus>,
    pub status: OrderStatus,
    pub created: bool,
}

fn with_note(notes: &str, note: &str) -> String {
    if notes.trim().is_empty() {
        note.to_owned()
    } else if notes.contains(note) {
        notes.to_owned()
    } else {
        format!("{notes}\n{note}")
    }
}

/// Records that fulfilment failed for good: an existing row is cancelled (when its status
/// allows) and gets `note`; otherwise a `cancelled` row is created with `note` and the items, so
/// ops can follow up. A Stripe session already recorded on another order is left off the new
/// row and named in the note. Calling it again changes nothing more.
pub async fn record_failed_order(
    db: &DatabaseConnection,
    new: &NewOrder,
    note: &str,
) -> Result<FailedOrderRecord, OrderError> {
    let new = new.clone();
    let note = note.to_owned();
    let id = new.order_id.clone();
    in_transaction(db, &id, move |txn| {
        Box::pin(async move {
            let id = new.order_id.as_str();
            let db_error = |e| OrderError::from_db(id, e);
            lock_order(txn, id).await.map_err(db_error)?;
            if let Some(existing) = order::Entity::find_by_id(id)
                .one(txn)
                .await
                .map_err(db_error)?
            {
                let previous = stored_status(&existing)?;
                let status = if previous.can_transition_to(OrderStatus::Cancelled) {
                    OrderStatus::Cancelled
                } else {
                    previous
                };
                order::Entity::update_many()
                    .col_expr(order::Column::Status, Expr::value(status.as_str()))
                    .col_expr(
                        order::Column::Notes,
                        Expr::value(with_note(&existing.notes, &note)),
                    )
                    .filter(order::Column::OrderId.eq(id))
                    .exec(txn)
                    .await
                    .map_err(db_error)?;
                return Ok(FailedOrderRecord {
                    order_id: id.to_owned(),
                    previous_status: Some(previous),
                    status,
                    created: false,
                });
            }
            let mut row = new.clone();
            let mut notes = note.clone();
            if let Some(session) = &new.stripe_session_id {
                let holder = order::Entity::find()
                    .filter(order::Column::StripeSessionId.eq(session.as_str()))
                    .one(txn)
                    .await
                    .map_err(db_error)?;
                if let Some(holder) = holder {
                    row.stripe_session_id = None;
                    notes = with_note(
                        &notes,
                        &format!(
                            "Stripe session {session} is already recorded on order {}.",
                            holder.order_id
                        ),
                    );
                }
            }
            order::Entity::insert(order_row(&row, OrderStatus::Cancelled, notes))
                .exec_without_returning(txn)
                .await
                .map_err(db_error)?;
            insert_items(txn, id, &new.items).await.map_err(db_error)?;
            Ok(FailedOrderRecord {
                order_id: id.to_owned(),
                previous_status: None,
                status: OrderStatus::Cancelled,
                created: true,
            })
        })
    })
    .await
}

/// An order's status, if it is recorded.
pub async fn status_of(
    db: &impl ConnectionTrait,
    order_id: &str,
) -> Result<Option<OrderStatus>, OrderError> {
    let row = order::Entity::find_by_id(order_id)
        .one(db)
        .await
        .map_err(|e| OrderError::from_db(order_id, e))?;
    row.as_ref().map(stored_status).transpose()
}

/// Adds `note` to an order's notes once (a repeated note is not added again).
pub async fn add_note(
    db: &DatabaseConnection,
    order_id: &str,
    note: &str,
) -> Result<(), OrderError> {
    let id = order_id.to_owned();
    let note = note.to_owned();
    in_transaction(db, order_id, move |txn| {
        Box::pin(async move {
            let db_error = |e| OrderError::from_db(&id, e);
            lock_order(txn, &id).await.map_err(db_error)?;
            let row = order::Entity::find_by_id(id.as_str())
                .one(txn)
                .await
                .map_err(db_error)?
                .ok_or_else(|| OrderError::NotFound(id.clone()))?;
            order::Entity::update_many()
                .col_expr(
                    order::Column::Notes,
                    Expr::value(with_note(&row.notes, &note)),
                )
                .filter(order::Column::OrderId.eq(id.as_str()))
                .exec(txn)
                .await
                .map_err(db_error)?;
            Ok(())
        })
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(name: &str, size: &str, color: &str, quantity: i32) -> NewOrderItem {
        NewOrderItem {
            product_id: "p".into(),
            variant_id: "v".into(),
            sku: "SKU".into(),
            name: name.into(),
            size: size.into(),
            color: color.into(),
            quantity,
            amount_total: 100,
        }
    }

    #[test]
    fn items_label_names_each_line_with_its_variant() {
        let items = [
            item("Durable Tee", "M", "Black", 2),
            item("Event Mug", "", "", 1),
            item("Cap", "", "Citrus", 1),
        ];
        assert_eq!(
            items_label(&items),
            "Durable Tee (M / Black) × 2, Event Mug × 1, Cap (Citrus) × 1"
        );
    }

    #[test]
    fn notes_are_appended_once() {
        assert_eq!(with_note("", "A"), "A");
        assert_eq!(with_note("A", "B"), "A\nB");
        assert_eq!(with_note("A\nB", "B"), "A\nB");
    }
}
