//! Read models of runs and steps for people and tests: status, input, each step's output and
//! timing, and the final result.

use sea_orm::ConnectionTrait;
use serde::Serialize;
use serde_json::Value;

use crate::entity::{run, run_step};
use crate::error::Result;
use crate::store::{from_text, runs};

/// A step as shown.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StepView {
    /// The step id as written.
    pub id: String,
    /// Hashed id.
    pub hash: String,
    /// Last op reported.
    pub op: String,
    /// `planned`, `sleeping`, `waiting`, `retrying`, `running`, `completed` or `failed`.
    pub status: String,
    /// Output (the data of `step.run`, the event of a wait, …), once completed.
    pub output: Option<Value>,
    /// The final or last error.
    pub error: Option<Value>,
    /// Attempts made.
    pub attempts: i32,
    /// Started, unix ms.
    pub started_at: i64,
    /// Finished, unix ms.
    pub ended_at: Option<i64>,
    /// Position in the run's stack (completion order).
    pub position: Option<i32>,
}

/// A run as shown.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunView {
    /// Run id.
    pub id: String,
    /// Function id.
    pub function_id: String,
    /// `queued`, `running`, `completed`, `failed` or `cancelled`.
    pub status: String,
    /// Triggering event.
    pub event: Value,
    /// All events.
    pub events: Value,
    /// Return value.
    pub output: Option<Value>,
    /// Final error.
    pub error: Option<Value>,
    /// Created, unix ms.
    pub created_at: i64,
    /// Started, unix ms.
    pub started_at: Option<i64>,
    /// Finished, unix ms.
    pub ended_at: Option<i64>,
    /// Steps in completion order, then the pending ones.
    pub steps: Vec<StepView>,
}

impl RunView {
    /// Whether the run can no longer change.
    pub fn is_finished(&self) -> bool {
        !runs::status::is_active(&self.status)
    }

    /// A step by the id the code gave it (first occurrence).
    pub fn step(&self, id: &str) -> Option<&StepView> {
        self.steps.iter().find(|s| s.id == id)
    }

    /// The output of a step, by id.
    pub fn step_output(&self, id: &str) -> Option<&Value> {
        self.step(id).and_then(|s| s.output.as_ref())
    }
}

/// A run in a list.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunSummary {
    /// Run id.
    pub id: String,
    /// Function id.
    pub function_id: String,
    /// Status.
    pub status: String,
    /// Event name.
    pub event_name: String,
    /// Created, unix ms.
    pub created_at: i64,
    /// Finished, unix ms.
    pub ended_at: Option<i64>,
}

fn step_view(step: run_step::Model) -> StepView {
    let memo = step.memo.as_deref().map(from_text);
    let (output, memo_error) = match memo {
        Some(Value::Object(mut map)) if map.keys().all(|k| k == "data" || k == "error") => {
            (map.remove("data"), map.remove("error"))
        }
        Some(other) => (Some(other), None),
        None => (None, None),
    };
    StepView {
        id: step.name,
        hash: step.hash,
        op: step.op,
        status: step.status,
        output,
        error: memo_error.or_else(|| step.error.as_deref().map(from_text)),
        attempts: step.attempts,
        started_at: step.started_at,
        ended_at: step.ended_at,
        position: step.seq,
    }
}

/// Builds the view of a run.
pub fn run_view(run: run::Model, steps: Vec<run_step::Model>) -> RunView {
    RunView {
        id: run.id,
        function_id: run.function_id,
        status: run.status,
        event: from_text(&run.event),
        events: from_text(&run.events),
        output: run.output.as_deref().map(from_text),
        error: run.error.as_deref().map(from_text),
        created_at: run.created_at,
        started_at: run.started_at,
        ended_at: run.ended_at,
        steps: steps.into_iter().map(step_view).collect(),
    }
}

/// Loads one run.
pub async fn load(c: &impl ConnectionTrait, id: &str) -> Result<Option<RunView>> {
    Ok(runs::load(c, id)
        .await?
        .map(|(run, steps)| run_view(run, steps)))
}

/// Lists recent runs.
pub async fn recent(c: &impl ConnectionTrait, limit: u64) -> Result<Vec<RunSummary>> {
    Ok(runs::recent(c, limit)
        .await?
        .into_iter()
        .map(|run| {
            let event = from_text(&run.event);
            RunSummary {
                id: run.id,
                function_id: run.function_id,
                status: run.status,
                event_name: event["name"].as_str().unwrap_or_default().to_owned(),
                created_at: run.created_at,
                ended_at: run.ended_at,
            }
        })
        .collect())
}
