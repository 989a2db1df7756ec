//! The catalog reset: seeds or refreshes the catalog, recorded as an `inventory_import_runs`
//! row (source `reset`).
//!
//! Non-destructive by default: missing seed products and variants are created (new variants
//! start at their initial stock), and nothing that exists is deleted or overwritten — an
//! admin's edits to a product and every variant's current stock are kept. Only an explicit
//! restock puts each variant whose stock differs from its `initial_stock` back to it, through
//! the inventory ledger (`catalog_reset` rows in one batch), so stock stays equal to the initial
//! stock plus the ledger.

use chrono::Utc;
use sea_orm::{
    ActiveValue::Set, DatabaseConnection, DbErr, EntityTrait, QueryOrder, TransactionTrait,
};
use serde::Serialize;
use serde_json::json;

use crate::catalog::{self, SeedSummary};
use crate::entity::{import_run, product_variant};
use crate::inventory::{self, Adjustment, InventoryError, LedgerEntry, LedgerMode, StockChange};

/// The import-run source and ledger source of a reset.
pub const RESET_SOURCE: &str = "reset";

/// Why a reset failed. The import run, when one was created, is marked failed.
#[derive(Debug, thiserror::Error)]
pub enum ResetError {
    #[error("database error: {0}")]
    Database(#[from] DbErr),
    #[error("restocking failed: {0}")]
    Inventory(#[from] InventoryError),
}

/// What a reset asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResetRequest {
    /// Put every variant's stock back to its initial stock.
    pub restock: bool,
    /// Who the import run and ledger rows name.
    pub actor_email: String,
}

/// What a reset did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ResetOutcome {
    pub import_run_id: i32,
    /// The ledger batch of the restock (no rows in it unless stock was restocked).
    pub batch_id: String,
    pub products: u64,
    pub variants: u64,
    pub inserted_products: u64,
    pub inserted_variants: u64,
    /// Variants whose stock was put back to the initial stock.
    pub restocked_variant_ids: Vec<String>,
}

/// The ledger batch of reset run `run_id`.
pub fn reset_batch(run_id: i32) -> String {
    format!("reset_{run_id}")
}

/// Runs a reset: opens the import run, seeds, restocks when asked, and completes the run with
/// its summary (or marks it failed with the error).
pub async fn reset_catalog(
    db: &DatabaseConnection,
    request: &ResetRequest,
) -> Result<ResetOutcome, ResetError> {
    let run = import_run::Entity::insert(import_run::ActiveModel {
        source: Set(RESET_SOURCE.to_owned()),
        status: Set("running".to_owned()),
        started_at: Set(Utc::now()),
        completed_at: Set(None),
        actor_email: Set(request.actor_email.clone()),
        summary: Set(None),
        error: Set(None),
        ..Default::default()
    })
    .exec(db)
    .await?;
    let run_id = run.last_insert_id;
    match seed_and_restock(db, request, run_id).await {
        Ok(outcome) => {
            let summary = json!({
                "restock": request.restock,
                "products": outcome.products,
                "variants": outcome.variants,
                "insertedProducts": outcome.inserted_products,
                "insertedVariants": outcome.inserted_variants,
                "restockedVariants": outcome.restocked_variant_ids.len(),
                "batchId": outcome.batch_id,
            });
            finish_run(db, run_id, "complete", Some(summary), None).await?;
            Ok(outcome)
        }
        Err(error) => {
            finish_run(db, run_id, "failed", None, Some(error.to_string())).await?;
            Err(error)
        }
    }
}

async fn seed_and_restock(
    db: &DatabaseConnection,
    request: &ResetRequest,
    run_id: i32,
) -> Result<ResetOutcome, ResetError> {
    let txn = db.begin().await?;
    let seeded: SeedSummary = catalog::seed(&txn).await?;
    txn.commit().await?;
    let batch_id = reset_batch(run_id);
    let mut restocked_variant_ids = Vec::new();
    if request.restock {
        let adjustments: Vec<Adjustment> = product_variant::Entity::find()
            .order_by_asc(product_variant::Column::Id)
            .all(db)
            .await?
            .into_iter()
            .filter(|v| v.stock != v.initial_stock)
            .map(|v| Adjustment {
                variant_id: v.id,
                change: StockChange::Set(v.initial_stock),
                note: "back to the initial stock".to_owned(),
            })
            .collect();
        let entry = LedgerEntry {
            mode: LedgerMode::CatalogReset,
            batch_id: batch_id.clone(),
            actor_email: request.actor_email.clone(),
            source: RESET_SOURCE.to_owned(),
            reason: "catalog reset with restock".to_owned(),
        };
        let moves = inventory::adjust(db, &entry, &adjustments).await?;
        restocked_variant_ids = moves.into_iter().map(|m| m.variant_id).collect();
    }
    Ok(ResetOutcome {
        import_run_id: run_id,
        batch_id,
        products: seeded.products,
        variants: seeded.variants,
        inserted_products: seeded.inserted_products,
        inserted_variants: seeded.inserted_variants,
        restocked_variant_ids,
    })
}

async fn finish_run(
    db: &DatabaseConnection,
    run_id: i32,
    status: &str,
    summary: Option<serde_json::Value>,
    error: Option<String>,
) -> Result<(), DbErr> {
    import_run::Entity::update(import_run::ActiveModel {
        id: Set(run_id),
        status: Set(status.to_owned()),
        completed_at: Set(Some(Utc::now())),
        summary: Set(summary),
        error: Set(error),
        ..Default::default()
    })
    .exec(db)
    .await?;
    Ok(())
}
