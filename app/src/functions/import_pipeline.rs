//! The path every inventory import takes, as durable steps: record the run, parse, review
//! deterministically, ask the LLM reviewer, then either record the run failed (blocking issues:
//! nothing changes) or apply the plan through the ledger, and announce it. Progress goes to the
//! realtime `admin` channel, topic `import`.

use chrono::Utc;
use inngest::{Concurrency, ConcurrencyScope, Error, Event, Step};
use serde::{Deserialize, Serialize};
use serde_json::json;
use swag_domain::inventory::{BatchOutcome, InventoryError};
use swag_domain::inventory_import::apply::{self, ImportOrigin};
use swag_domain::inventory_import::catalog_index::CatalogIndex;
use swag_domain::inventory_import::parse::{self, ParsedDocument};
use swag_domain::inventory_import::review::{self, Findings, Issue, Review, Severity};
use swag_domain::inventory_import::{runs, ImportMode};

use super::{FunctionDeps, Service};
use crate::events::{InventoryChanged, INVENTORY_CHANGED};
use crate::integrations::openai::ReviewRequest;
use crate::realtime::ADMIN_CHANNEL;

/// Step ids.
pub mod step {
    pub const START_IMPORT_RUN: &str = "start-import-run";
    pub const PARSE: &str = "parse-inventory-document";
    pub const REVIEW: &str = "review-inventory-import";
    pub const LLM_REVIEW: &str = "llm-review-inventory-import";
    pub const RECORD_FAILED: &str = "record-failed-import";
    pub const APPLY: &str = "apply-reviewed-inventory";
    pub const SEND_INVENTORY_CHANGED: &str = "send-inventory-changed";
    /// The failure handler's one step.
    pub const RECORD_IMPORT_RUN_FAILED: &str = "record-import-run-failed";
}

/// The realtime topic of imports on the `admin` channel.
pub const IMPORT_TOPIC: &str = "import";

/// One import to run.
#[derive(Debug, Clone)]
pub struct ImportJob<'a> {
    /// The function running it (the ledger's and the event's `source` prefix).
    pub function_id: &'a str,
    /// Where the rows come from: `document:{name}` or `sheet:{tab}`.
    pub source: String,
    pub actor_email: &'a str,
    pub mode: ImportMode,
    pub document_text: &'a str,
}

/// What the LLM step decided.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LlmOutcome {
    /// `openai`, or `deterministic` when the LLM gave nothing usable.
    pub reviewer: String,
    #[serde(default)]
    pub findings: Option<Findings>,
    #[serde(default)]
    pub warning: Option<String>,
}

/// The run's output.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImportOutcome {
    pub import_run_id: i32,
    pub batch_id: String,
    pub summary: String,
    pub changed_variants: usize,
    pub replayed: bool,
    pub warnings: Vec<String>,
}

fn transient(error: impl std::fmt::Display) -> Error {
    Error::new(error.to_string())
}

/// Publishes `{importRunId, status, message, ts}` on `admin`/`import`; best effort.
pub async fn publish(deps: &FunctionDeps, import_run_id: Option<i32>, status: &str, message: &str) {
    let data = json!({
        "importRunId": import_run_id,
        "status": status,
        "message": message,
        "ts": Utc::now(),
    });
    if let Err(error) = deps
        .realtime
        .publish(ADMIN_CHANNEL, IMPORT_TOPIC, data)
        .await
    {
        tracing::warn!(%error, import_run_id, "import progress not published");
    }
}

/// The concurrency limit both import functions share: one import at a time per deployment, so
/// two imports never plan against the same stock.
pub fn one_import_at_a_time() -> Concurrency {
    Concurrency::new(1)
        .with_key("event.data.appOrigin")
        .with_scope(ConcurrencyScope::Environment)
}

/// Failure messages are cut to this many characters.
const REASON_MAX_CHARS: usize = 500;

/// The failure handler's output.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FailureRecord {
    /// The import run marked failed; `None` when the failed run had none still running (it
    /// failed before recording one, or it had recorded how it ended).
    pub import_run_id: Option<i32>,
}

/// The failure handler of both import functions: the durable run `failed_run_id` importing from
/// `source` failed for good with `error`, so its import run, if still `running`, is recorded
/// `failed` and `failed` is published on `admin`/`import`. A repeat changes nothing.
pub async fn record_failure(
    step: &Step,
    deps: &FunctionDeps,
    failed_run_id: &str,
    source: &str,
    error: &str,
) -> Result<FailureRecord, Error> {
    // Step errors name what failed (a database or Sheets error), never row data or keys.
    let reason: String = error.chars().take(REASON_MAX_CHARS).collect();
    step.run(step::RECORD_IMPORT_RUN_FAILED, || async {
        let import_run_id = runs::fail_running(&deps.db, failed_run_id, &reason)
            .await
            .map_err(transient)?;
        if import_run_id.is_some() {
            publish(
                deps,
                import_run_id,
                runs::FAILED,
                &format!("{source}: {reason}"),
            )
            .await;
        }
        Ok::<_, Error>(FailureRecord { import_run_id })
    })
    .await
}

/// Runs `job` to the end: `Ok` when applied, a non-retriable error when blocked.
pub async fn run(
    step: &Step,
    run_id: &str,
    deps: &FunctionDeps,
    job: ImportJob<'_>,
) -> Result<ImportOutcome, Error> {
    let import_run_id: i32 = step
        .run(step::START_IMPORT_RUN, || async {
            let id = runs::start(&deps.db, &job.source, job.actor_email, run_id)
                .await
                .map_err(transient)?;
            publish(
                deps,
                Some(id),
                runs::RUNNING,
                &format!("Importing {}", job.source),
            )
            .await;
            Ok::<_, Error>(id)
        })
        .await?;
    let document: ParsedDocument = step
        .run(step::PARSE, || async {
            let catalog = CatalogIndex::load(&deps.db).await.map_err(transient)?;
            Ok::<_, Error>(parse::parse(job.document_text, &catalog))
        })
        .await?;
    let reviewed: Review = step
        .run(step::REVIEW, || async {
            let catalog = CatalogIndex::load(&deps.db).await.map_err(transient)?;
            Ok::<_, Error>(review::review(&document, &catalog, job.mode))
        })
        .await?;
    let llm: LlmOutcome = step
        .run(step::LLM_REVIEW, || {
            llm_review(deps, &job, &document, &reviewed)
        })
        .await?;
    let mut findings = reviewed.findings.clone();
    if let Some(extra) = llm.findings.clone() {
        findings.absorb(extra);
    }
    if let Some(warning) = &llm.warning {
        findings
            .issues
            .push(Issue::new(Severity::Warning, warning.clone(), None));
    }
    let record = |error: Option<String>, moves: Option<&BatchOutcome>| {
        json!({
            "mode": job.mode.as_str(),
            "format": document.format,
            "reviewer": llm.reviewer,
            "summary": findings.summary,
            "ok": error.is_none(),
            "issues": findings.issues,
            "missingVariants": findings.missing_variants,
            "planned": reviewed.changes,
            "moves": moves.map(|m| &m.moves),
        })
    };
    if findings.blocking() {
        let reasons = findings.error_text();
        step.run(step::RECORD_FAILED, || async {
            runs::finish(
                &deps.db,
                import_run_id,
                record(Some(reasons.clone()), None),
                Some(reasons.clone()),
            )
            .await
            .map_err(transient)?;
            publish(
                deps,
                Some(import_run_id),
                runs::FAILED,
                &format!("{}: {}", job.source, findings.summary),
            )
            .await;
            Ok::<_, Error>(())
        })
        .await?;
        return Err(Error::non_retriable(format!(
            "the import was blocked; nothing changed: {reasons}"
        )));
    }
    let batch_id = format!("imp_{run_id}");
    let origin = ImportOrigin {
        mode: job.mode,
        batch_id: batch_id.clone(),
        actor_email: job.actor_email.to_owned(),
        source: format!("{}:{}", job.function_id, job.source),
        reason: format!("{} from {}", job.mode.as_str(), job.source),
    };
    let applied: BatchOutcome = step
        .run(step::APPLY, || async {
            match apply::apply(&deps.db, &origin, &reviewed.changes).await {
                Ok(outcome) => {
                    runs::finish(&deps.db, import_run_id, record(None, Some(&outcome)), None)
                        .await
                        .map_err(transient)?;
                    publish(
                        deps,
                        Some(import_run_id),
                        runs::COMPLETE,
                        &format!("{}: {}", job.source, findings.summary),
                    )
                    .await;
                    Ok(outcome)
                }
                Err(error @ InventoryError::Database(_)) => Err(transient(error)),
                Err(error) => {
                    let reason = error.to_string();
                    runs::finish(
                        &deps.db,
                        import_run_id,
                        record(Some(reason.clone()), None),
                        Some(reason.clone()),
                    )
                    .await
                    .map_err(transient)?;
                    publish(
                        deps,
                        Some(import_run_id),
                        runs::FAILED,
                        &format!("{}: {reason}", job.source),
                    )
                    .await;
                    Err(Error::non_retriable(reason))
                }
            }
        })
        .await?;
    let changed = InventoryChanged {
        app_origin: deps.app_origin.clone(),
        source: job.function_id.to_owned(),
        reason: origin.reason.clone(),
        import_run_id: Some(import_run_id),
        batch_id: Some(batch_id.clone()),
        actor_email: Some(job.actor_email.to_owned()),
        variant_ids: applied.moves.iter().map(|m| m.variant_id.clone()).collect(),
        ..Default::default()
    };
    step.send_event(
        step::SEND_INVENTORY_CHANGED,
        vec![Event::new(INVENTORY_CHANGED, changed)
            .with_id(format!("inventory-changed-import-{batch_id}"))],
    )
    .await?;
    Ok(ImportOutcome {
        import_run_id,
        batch_id,
        summary: findings.summary.clone(),
        changed_variants: applied.moves.len(),
        replayed: applied.replayed,
        warnings: findings
            .issues
            .iter()
            .filter(|i| i.severity == Severity::Warning)
            .map(|i| i.message.clone())
            .collect(),
    })
}

async fn llm_review(
    deps: &FunctionDeps,
    job: &ImportJob<'_>,
    document: &ParsedDocument,
    reviewed: &Review,
) -> Result<LlmOutcome, Error> {
    let fallback = |warning: String| LlmOutcome {
        reviewer: "deterministic".to_owned(),
        findings: None,
        warning: Some(warning),
    };
    let reviewer = match &deps.import_reviewer {
        Service::Ready(reviewer) => reviewer,
        Service::Off { reason } => {
            return Ok(fallback(format!(
                "LLM review skipped ({reason}); the deterministic review stands"
            )))
        }
    };
    let request = ReviewRequest {
        mode: job.mode.as_str(),
        source_name: &job.source,
        document_text: job.document_text,
        deterministic: json!({"parsed": document, "review": reviewed}),
    };
    Ok(match reviewer.review(&request).await {
        Ok(findings) => LlmOutcome {
            reviewer: "openai".to_owned(),
            findings: Some(findings),
            warning: None,
        },
        Err(error) => {
            tracing::warn!(%error, "LLM import review unusable; falling back");
            fallback(format!(
                "LLM review unusable ({error}); the deterministic review stands"
            ))
        }
    })
}
