//! The live feed: run and step changes, published after each commit on a tokio broadcast
//! channel that the app (and the SSE endpoint) can subscribe to.

use serde::Serialize;

/// One change.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunUpdate {
    /// The run.
    pub run_id: String,
    /// Its function.
    pub function_id: String,
    /// What happened: `run.queued`, `run.started`, `run.completed`, `run.failed`,
    /// `run.cancelled`, `step.planned`, `step.completed`, `step.failed`, `step.retrying`,
    /// `step.sleeping`, `step.waiting`.
    pub kind: &'static str,
    /// The step's id as written, for step changes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub step: Option<String>,
    /// When, unix ms (executor clock).
    pub at: i64,
}

/// Changes collected inside a transaction, published once it commits.
#[derive(Debug, Default)]
pub(crate) struct Effects {
    pub updates: Vec<RunUpdate>,
    pub wake: bool,
}

impl Effects {
    pub fn run(&mut self, run_id: &str, function_id: &str, kind: &'static str, at: i64) {
        self.updates.push(RunUpdate {
            run_id: run_id.to_owned(),
            function_id: function_id.to_owned(),
            kind,
            step: None,
            at,
        });
    }

    pub fn step(
        &mut self,
        run_id: &str,
        function_id: &str,
        kind: &'static str,
        step: &str,
        at: i64,
    ) {
        self.updates.push(RunUpdate {
            run_id: run_id.to_owned(),
            function_id: function_id.to_owned(),
            kind,
            step: Some(step.to_owned()),
            at,
        });
    }
}
