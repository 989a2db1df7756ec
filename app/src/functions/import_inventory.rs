//! `import-inventory`: imports the inventory Google Sheet through the shared review-and-apply
//! path. The tab's rows become a tab-separated document, read by the same parser as an uploaded
//! one. Without a configured sheet the run completes as skipped and changes nothing.

use inngest::{Context, Error, Function, FunctionFailed, FunctionOpts, Trigger};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::import_pipeline::{self, FailureRecord, ImportJob, ImportOutcome};
use super::{FunctionDeps, Service};
use crate::events::{InventoryImportRequested, INVENTORY_IMPORT_REQUESTED};

/// The function id.
pub const FUNCTION_ID: &str = "import-inventory";
/// Attempts after the first, per step.
const RETRIES: u32 = 2;

/// Step ids.
pub mod step {
    pub const READ_INVENTORY_SHEET: &str = "read-inventory-sheet";
}

/// The run's output.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "camelCase")]
pub enum SheetImport {
    /// The sheet is not configured; nothing was read or changed.
    Skipped { reason: String },
    /// The sheet went through the import path.
    Imported(ImportOutcome),
}

/// The function and its failure handler, triggered only by this deployment's requests, one
/// import at a time (shared with `import-inventory-document`).
pub fn function(deps: FunctionDeps) -> Function {
    let origin = Value::from(deps.app_origin.as_str());
    let opts = FunctionOpts::new(FUNCTION_ID)
        .name("Import inventory sheet")
        .trigger(
            Trigger::event(INVENTORY_IMPORT_REQUESTED)
                .with_if(format!("event.data.appOrigin == {origin}")),
        )
        .concurrency(import_pipeline::one_import_at_a_time())
        .retries(RETRIES);
    let on_failure = deps.clone();
    Function::new(opts, move |ctx: Context<InventoryImportRequested>| {
        let deps = deps.clone();
        async move { import(ctx, deps).await }
    })
    // The options are constants of this file; only a code change can make them invalid.
    .expect("import-inventory's options are valid")
    .on_failure(
        move |ctx: Context<FunctionFailed<InventoryImportRequested>>| {
            let deps = on_failure.clone();
            async move { record_failure(ctx, deps).await }
        },
    )
}

fn source(deps: &FunctionDeps) -> Option<String> {
    match &deps.inventory_sheet {
        Service::Ready(sheet) => Some(format!("sheet:{}", sheet.sheet_name())),
        Service::Off { .. } => None,
    }
}

async fn import(
    ctx: Context<InventoryImportRequested>,
    deps: FunctionDeps,
) -> Result<SheetImport, Error> {
    let sheet = match &deps.inventory_sheet {
        Service::Ready(sheet) => sheet,
        Service::Off { reason } => {
            tracing::info!(%reason, "inventory sheet import skipped");
            return Ok(SheetImport::Skipped {
                reason: reason.clone(),
            });
        }
    };
    let document_text: String = ctx
        .step
        .run(step::READ_INVENTORY_SHEET, || async {
            let rows = sheet
                .read_rows()
                .await
                .map_err(|e| Error::new(e.to_string()))?;
            Ok::<_, Error>(to_tsv(&rows))
        })
        .await?;
    let request = &ctx.event.data;
    let job = ImportJob {
        function_id: FUNCTION_ID,
        source: format!("sheet:{}", sheet.sheet_name()),
        actor_email: &request.actor_email,
        mode: request.mode,
        document_text: &document_text,
    };
    let outcome = import_pipeline::run(&ctx.step, &ctx.run_id, &deps, job).await?;
    Ok(SheetImport::Imported(outcome))
}

async fn record_failure(
    ctx: Context<FunctionFailed<InventoryImportRequested>>,
    deps: FunctionDeps,
) -> Result<FailureRecord, Error> {
    let failed = &ctx.event.data;
    let source = source(&deps).unwrap_or_else(|| "sheet".to_owned());
    import_pipeline::record_failure(
        &ctx.step,
        &deps,
        &failed.run_id,
        &source,
        &failed.error.message,
    )
    .await
}

/// The rows as a tab-separated document the import parser reads as a table: a cell holding a
/// tab, a quote or a line break is quoted (`"` doubled), the others are written as they are.
fn to_tsv(rows: &[Vec<String>]) -> String {
    let mut text = String::new();
    for row in rows {
        let cells: Vec<String> = row.iter().map(|cell| tsv_cell(cell)).collect();
        text.push_str(&cells.join("\t"));
        text.push('\n');
    }
    text
}

fn tsv_cell(cell: &str) -> String {
    if cell.contains(['\t', '"', '\n', '\r']) {
        format!("\"{}\"", cell.replace('"', "\"\""))
    } else {
        cell.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_become_tab_separated_lines_with_awkward_cells_quoted() {
        let rows = vec![
            vec!["Product".to_owned(), "Size".to_owned(), "Stock".to_owned()],
            vec!["Durable Tee".to_owned(), "M".to_owned(), "3".to_owned()],
            vec!["The \"Big\"\tTee".to_owned(), "L".to_owned()],
        ];
        assert_eq!(
            to_tsv(&rows),
            "Product\tSize\tStock\nDurable Tee\tM\t3\n\"The \"\"Big\"\"\tTee\"\tL\n"
        );
    }
}
