//! Writes a reviewed import's changes through the inventory ledger: one ledger row per change,
//! all in one transaction under one batch id, and never twice for the same batch.

use sea_orm::DatabaseConnection;

use super::review::PlannedChange;
use super::ImportMode;
use crate::inventory::{self, Adjustment, BatchOutcome, InventoryError, LedgerEntry, StockChange};

/// Who made the import and where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportOrigin {
    pub mode: ImportMode,
    /// Unique per import: a replayed apply with the same batch changes nothing.
    pub batch_id: String,
    pub actor_email: String,
    /// `document:{name}` or `sheet:{id}`.
    pub source: String,
    pub reason: String,
}

/// Applies `changes`: receipts add their quantity, counts set the stock.
pub async fn apply(
    db: &DatabaseConnection,
    origin: &ImportOrigin,
    changes: &[PlannedChange],
) -> Result<BatchOutcome, InventoryError> {
    let entry = LedgerEntry {
        mode: origin.mode.ledger_mode(),
        batch_id: origin.batch_id.clone(),
        actor_email: origin.actor_email.clone(),
        source: origin.source.clone(),
        reason: origin.reason.clone(),
    };
    let adjustments: Vec<Adjustment> = changes
        .iter()
        .map(|change| Adjustment {
            variant_id: change.variant_id.clone(),
            change: match origin.mode {
                ImportMode::ReceiveShipment => StockChange::Add(change.quantity),
                ImportMode::AuditCount => StockChange::Set(change.quantity),
            },
            note: format!(
                "lines {}",
                change
                    .lines
                    .iter()
                    .map(usize::to_string)
                    .collect::<Vec<_>>()
                    .join(",")
            ),
        })
        .collect();
    inventory::adjust_batch_once(db, &entry, &adjustments).await
}
