//! `import-inventory-document`: imports an uploaded or pasted inventory document (one at a time)
//! through the shared review-and-apply path.

use inngest::{Context, Error, Function, FunctionFailed, FunctionOpts, Trigger};
use serde_json::Value;

use super::import_pipeline::{self, FailureRecord, ImportJob, ImportOutcome};
use super::FunctionDeps;
use crate::events::{InventoryDocumentImportRequested, INVENTORY_DOCUMENT_IMPORT_REQUESTED};

/// The function id.
pub const FUNCTION_ID: &str = "import-inventory-document";
/// Attempts after the first, per step.
const RETRIES: u32 = 2;

/// The function and its failure handler, triggered only by this deployment's requests, one
/// import at a time (shared with `import-inventory`).
pub fn function(deps: FunctionDeps) -> Function {
    let origin = Value::from(deps.app_origin.as_str());
    let opts = FunctionOpts::new(FUNCTION_ID)
        .name("Import inventory document")
        .trigger(
            Trigger::event(INVENTORY_DOCUMENT_IMPORT_REQUESTED)
                .with_if(format!("event.data.appOrigin == {origin}")),
        )
        .concurrency(import_pipeline::one_import_at_a_time())
        .retries(RETRIES);
    let on_failure = deps.clone();
    Function::new(
        opts,
        move |ctx: Context<InventoryDocumentImportRequested>| {
            let deps = deps.clone();
            async move { import(ctx, deps).await }
        },
    )
    // The options are constants of this file; only a code change can make them invalid.
    .expect("import-inventory-document's options are valid")
    .on_failure(
        move |ctx: Context<FunctionFailed<InventoryDocumentImportRequested>>| {
            let deps = on_failure.clone();
            async move { record_failure(ctx, deps).await }
        },
    )
}

async fn record_failure(
    ctx: Context<FunctionFailed<InventoryDocumentImportRequested>>,
    deps: FunctionDeps,
) -> Result<FailureRecord, Error> {
    let failed = &ctx.event.data;
    let source = format!("document:{}", failed.event.data.source_name);
    import_pipeline::record_failure(
        &ctx.step,
        &deps,
        &failed.run_id,
        &source,
        &failed.error.message,
    )
    .await
}

async fn import(
    ctx: Context<InventoryDocumentImportRequested>,
    deps: FunctionDeps,
) -> Result<ImportOutcome, Error> {
    let request = &ctx.event.data;
    let job = ImportJob {
        function_id: FUNCTION_ID,
        source: format!("document:{}", request.source_name),
        actor_email: &request.actor_email,
        mode: request.mode,
        document_text: &request.document_text,
    };
    import_pipeline::run(&ctx.step, &ctx.run_id, &deps, job).await
}
