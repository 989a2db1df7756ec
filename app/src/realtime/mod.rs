//! Live updates for the order page and the admin tracker: messages published on channels
//! (`order:{id}`, `admin`) with a topic, fanned out to every app instance and streamed to
//! browsers as server-sent events. PII never goes into a message: publishers send ids, names of
//! steps, statuses and amounts only.
//!
//! On SQLite (one instance) the hub is an in-process broadcast. On Postgres every publish is a
//! `NOTIFY` and every instance `LISTEN`s, so a browser connected to any instance behind a load
//! balancer sees every message exactly once.

mod postgres;
pub mod sse;

use chrono::{DateTime, Utc};
use sea_orm::DatabaseConnection;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::sync::broadcast;

/// How many messages a slow subscriber may fall behind before it skips ahead.
const BUFFER: usize = 1024;

/// One realtime message, shaped like Inngest realtime's `{kind, data, created_at, channel, topic}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Message {
    pub kind: String,
    pub channel: String,
    pub topic: String,
    pub data: Value,
    pub created_at: DateTime<Utc>,
}

/// Why a message could not be published.
#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    #[error("message is not JSON: {0}")]
    Encode(#[from] serde_json::Error),
    #[error("could not notify other instances: {0}")]
    Notify(String),
}

/// The channel of one order's page.
pub fn order_channel(order_id: &str) -> String {
    format!("order:{order_id}")
}

/// The admin tracker's channel.
pub const ADMIN_CHANNEL: &str = "admin";

/// Publishes and subscribes; cheap to clone.
#[derive(Clone)]
pub struct Realtime {
    local: broadcast::Sender<Message>,
    fanout: Option<postgres::Fanout>,
}

impl Realtime {
    /// A hub for this process only (SQLite, tests).
    pub fn in_process() -> Self {
        let (local, _) = broadcast::channel(BUFFER);
        Self {
            local,
            fanout: None,
        }
    }

    /// A hub fanning out through the database: Postgres `LISTEN/NOTIFY` when the connection is
    /// Postgres, in-process otherwise.
    pub async fn for_database(db: &DatabaseConnection) -> Result<Self, PublishError> {
        let hub = Self::in_process();
        match postgres::Fanout::start(db, hub.local.clone()).await? {
            Some(fanout) => Ok(Self {
                fanout: Some(fanout),
                ..hub
            }),
            None => Ok(hub),
        }
    }

    /// Publishes `data` on `channel`/`topic`.
    pub async fn publish(
        &self,
        channel: &str,
        topic: &str,
        data: Value,
    ) -> Result<(), PublishError> {
        let message = Message {
            kind: "data".to_owned(),
            channel: channel.to_owned(),
            topic: topic.to_owned(),
            data,
            created_at: Utc::now(),
        };
        match &self.fanout {
            Some(fanout) => fanout.notify(&message).await,
            None => {
                // No subscriber is not an error: nobody is watching right now.
                let _receivers = self.local.send(message);
                Ok(())
            }
        }
    }

    /// Every message from now on (filter by channel on the receiving side).
    pub fn subscribe(&self) -> broadcast::Receiver<Message> {
        self.local.subscribe()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[tokio::test]
    async fn subscribers_receive_what_is_published() {
        let hub = Realtime::in_process();
        let mut rx = hub.subscribe();
        hub.publish(
            "order:ord_1",
            "step",
            json!({"name": "reserve-inventory", "status": "running"}),
        )
        .await
        .unwrap();
        let message = rx.recv().await.unwrap();
        assert_eq!(
            (message.channel.as_str(), message.topic.as_str()),
            ("order:ord_1", "step")
        );
        assert_eq!(message.data["status"], json!("running"));
    }
}
