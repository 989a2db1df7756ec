//! The order timeline: each step's running/complete/failed and each order status change, kept
//! PII-free, read by the order page and the admin tracker before they go live.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect,
};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::entity::order_timeline;

/// Where a step stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StepStatus {
    Running,
    Complete,
    Failed,
}

impl StepStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Running => "running",
            Self::Complete => "complete",
            Self::Failed => "failed",
        }
    }
}

/// One timeline entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Entry {
    pub order_id: String,
    /// `step` or `status`.
    pub kind: String,
    /// The step name (e.g. `reserve-inventory`) or `order`.
    pub name: String,
    /// `running`/`complete`/`failed` for steps; the order status for `status`.
    pub status: String,
    /// PII-free details (step output summary, tracking number, …).
    pub detail: Option<Value>,
    pub at: DateTime<Utc>,
}

impl From<order_timeline::Model> for Entry {
    fn from(row: order_timeline::Model) -> Self {
        Entry {
            order_id: row.order_id,
            kind: row.kind,
            name: row.name,
            status: row.status,
            detail: row.detail,
            at: row.created_at,
        }
    }
}

/// Appends an entry.
pub async fn record(db: &impl ConnectionTrait, entry: &Entry) -> Result<(), DbErr> {
    order_timeline::Entity::insert(order_timeline::ActiveModel {
        order_id: Set(entry.order_id.clone()),
        kind: Set(entry.kind.clone()),
        name: Set(entry.name.clone()),
        status: Set(entry.status.clone()),
        detail: Set(entry.detail.clone()),
        created_at: Set(entry.at),
        ..Default::default()
    })
    .exec_without_returning(db)
    .await?;
    Ok(())
}

/// An order's entries, oldest first.
pub async fn for_order(db: &impl ConnectionTrait, order_id: &str) -> Result<Vec<Entry>, DbErr> {
    let rows = order_timeline::Entity::find()
        .filter(order_timeline::Column::OrderId.eq(order_id))
        .order_by_asc(order_timeline::Column::Id)
        .all(db)
        .await?;
    Ok(rows.into_iter().map(Entry::from).collect())
}

/// The most recent entries across orders, newest first (the admin tracker).
pub async fn recent(db: &impl ConnectionTrait, limit: u64) -> Result<Vec<Entry>, DbErr> {
    let rows = order_timeline::Entity::find()
        .order_by_desc(order_timeline::Column::Id)
        .limit(limit)
        .all(db)
        .await?;
    Ok(rows.into_iter().map(Entry::from).collect())
}
