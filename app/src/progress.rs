//! Order progress: records a step's or the order's status on the timeline and publishes it live
//! to `order:{id}` and `admin`. Callers pass only PII-free details.

use chrono::Utc;
use sea_orm::DatabaseConnection;
use serde_json::{json, Value};
use swag_domain::timeline::{self, Entry, StepStatus};

use crate::realtime::{order_channel, Realtime, ADMIN_CHANNEL};

/// Why progress could not be recorded.
#[derive(Debug, thiserror::Error)]
pub enum ProgressError {
    #[error("timeline write failed: {0}")]
    Timeline(#[from] sea_orm::DbErr),
    #[error(transparent)]
    Publish(#[from] crate::realtime::PublishError),
}

/// Records and publishes order progress.
#[derive(Clone)]
pub struct Progress {
    db: DatabaseConnection,
    realtime: Realtime,
}

impl Progress {
    pub fn new(db: DatabaseConnection, realtime: Realtime) -> Self {
        Self { db, realtime }
    }

    /// A step of an order's function changed status. `detail` must be PII-free.
    pub async fn step(
        &self,
        order_id: &str,
        step: &str,
        status: StepStatus,
        detail: Option<Value>,
    ) -> Result<(), ProgressError> {
        let entry = Entry {
            order_id: order_id.to_owned(),
            kind: "step".to_owned(),
            name: step.to_owned(),
            status: status.as_str().to_owned(),
            detail,
            at: Utc::now(),
        };
        timeline::record(&self.db, &entry).await?;
        let message =
            json!({"name": step, "status": entry.status, "output": entry.detail, "ts": entry.at});
        self.realtime
            .publish(&order_channel(order_id), "step", message)
            .await?;
        let admin =
            json!({"orderId": order_id, "step": step, "status": entry.status, "ts": entry.at});
        self.realtime.publish(ADMIN_CHANNEL, "order", admin).await?;
        Ok(())
    }

    /// The order's status changed (`pending`, `fulfilled`, `failed`, …). `detail` must be PII-free.
    pub async fn status(
        &self,
        order_id: &str,
        status: &str,
        detail: Option<Value>,
    ) -> Result<(), ProgressError> {
        let entry = Entry {
            order_id: order_id.to_owned(),
            kind: "status".to_owned(),
            name: "order".to_owned(),
            status: status.to_owned(),
            detail,
            at: Utc::now(),
        };
        timeline::record(&self.db, &entry).await?;
        let message = json!({"status": status, "detail": entry.detail, "ts": entry.at});
        self.realtime
            .publish(&order_channel(order_id), "status", message)
            .await?;
        let admin = json!({"orderId": order_id, "step": "order", "status": status, "ts": entry.at});
        self.realtime.publish(ADMIN_CHANNEL, "order", admin).await?;
        Ok(())
    }
}
