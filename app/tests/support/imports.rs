//! What the inventory-import tests read back: import runs, the import ledger rows and the
//! `admin`/`import` progress messages.

use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder};
use serde_json::Value;
use swag_domain::entity::{import_run, inventory_adjustment};
use swag_store::realtime::Message;

/// Every import run, oldest first.
pub async fn runs(db: &DatabaseConnection) -> Vec<import_run::Model> {
    import_run::Entity::find()
        .order_by_asc(import_run::Column::Id)
        .all(db)
        .await
        .expect("read import runs")
}

/// The ledger rows written by imports (batch `imp_…`), oldest first.
pub async fn import_ledger(db: &DatabaseConnection) -> Vec<inventory_adjustment::Model> {
    inventory_adjustment::Entity::find()
        .filter(inventory_adjustment::Column::BatchId.starts_with("imp_"))
        .order_by_asc(inventory_adjustment::Column::Id)
        .all(db)
        .await
        .expect("read the ledger")
}

/// The `admin`/`import` messages about `source` received so far (on Postgres the hub also
/// carries other tests' messages: they share the database's notification channel).
pub fn import_messages(
    messages: &mut tokio::sync::broadcast::Receiver<Message>,
    source: &str,
) -> Vec<Value> {
    let mut out = Vec::new();
    while let Ok(message) = messages.try_recv() {
        let about = message.data["message"]
            .as_str()
            .is_some_and(|m| m.contains(source));
        if message.channel == "admin" && message.topic == "import" && about {
            out.push(message.data);
        }
    }
    out
}
