//! Postgres fan-out: publish with `pg_notify`, and one `LISTEN` connection per instance feeding
//! the in-process broadcast (reconnecting if the connection drops).

use std::time::Duration;

use sea_orm::sqlx::postgres::{PgListener, PgPool};
use sea_orm::{ConnectionTrait, DatabaseBackend, DatabaseConnection, Statement};
use tokio::sync::broadcast;

use super::{Message, PublishError};

/// The notification channel shared by all instances.
const NOTIFY_CHANNEL: &str = "swag_store_realtime";

#[derive(Clone)]
pub(super) struct Fanout {
    db: DatabaseConnection,
}

impl Fanout {
    /// Starts listening when `db` is Postgres; `None` otherwise.
    pub(super) async fn start(
        db: &DatabaseConnection,
        local: broadcast::Sender<Message>,
    ) -> Result<Option<Self>, PublishError> {
        if db.get_database_backend() != DatabaseBackend::Postgres {
            return Ok(None);
        }
        let pool = db.get_postgres_connection_pool().clone();
        let listener = listen(&pool).await?;
        tokio::spawn(forward(pool, listener, local));
        Ok(Some(Self { db: db.clone() }))
    }

    pub(super) async fn notify(&self, message: &Message) -> Result<(), PublishError> {
        let payload = serde_json::to_string(message)?;
        let statement = Statement::from_sql_and_values(
            DatabaseBackend::Postgres,
            "SELECT pg_notify($1, $2)",
            [NOTIFY_CHANNEL.into(), payload.into()],
        );
        self.db
            .execute(statement)
            .await
            .map_err(|e| PublishError::Notify(e.to_string()))?;
        Ok(())
    }
}

async fn listen(pool: &PgPool) -> Result<PgListener, PublishError> {
    let mut listener = PgListener::connect_with(pool)
        .await
        .map_err(|e| PublishError::Notify(e.to_string()))?;
    listener
        .listen(NOTIFY_CHANNEL)
        .await
        .map_err(|e| PublishError::Notify(e.to_string()))?;
    Ok(listener)
}

async fn forward(pool: PgPool, mut listener: PgListener, local: broadcast::Sender<Message>) {
    loop {
        match listener.recv().await {
            Ok(notification) => match serde_json::from_str::<Message>(notification.payload()) {
                Ok(message) => {
                    let _receivers = local.send(message);
                }
                Err(error) => tracing::warn!(%error, "ignoring a malformed realtime notification"),
            },
            Err(error) => {
                tracing::warn!(%error, "realtime LISTEN connection lost; reconnecting");
                loop {
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    match listen(&pool).await {
                        Ok(fresh) => {
                            listener = fresh;
                            break;
                        }
                        Err(error) => tracing::warn!(%error, "realtime LISTEN reconnect failed"),
                    }
                }
            }
        }
    }
}
