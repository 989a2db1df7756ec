//! `inngest_runs`: one row per function run, with its input, status and final result.

use sea_orm::entity::prelude::*;

/// A function run.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "inngest_runs")]
pub struct Model {
    /// Run id (ULID).
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    /// Full function id.
    pub function_id: String,
    /// `queued`, `running`, `completed`, `failed` or `cancelled`.
    pub status: String,
    /// The triggering event JSON.
    #[sea_orm(column_type = "Text")]
    pub event: String,
    /// All events of the run (a JSON array; one element unless batched).
    #[sea_orm(column_type = "Text")]
    pub events: String,
    /// The function's return value (JSON) once completed.
    #[sea_orm(column_type = "Text", nullable)]
    pub output: Option<String>,
    /// The final error (JSON `{name, message, stack?}`) once failed or cancelled.
    #[sea_orm(column_type = "Text", nullable)]
    pub error: Option<String>,
    /// Attempts allowed per step (retries + 1), fixed when the run starts.
    pub max_attempts: i32,
    /// Set once a response reported more than one step.
    pub disable_immediate: bool,
    /// Next stack position for a memoized step.
    pub next_seq: i32,
    /// Concurrency scopes held by the run (JSON array of `{scope, limit}`).
    #[sea_orm(column_type = "Text")]
    pub concurrency: String,
    /// For invoked runs: the caller's run id.
    #[sea_orm(nullable)]
    pub parent_run_id: Option<String>,
    /// For invoked runs: the caller's step hash.
    #[sea_orm(nullable)]
    pub parent_step: Option<String>,
    /// Created, unix ms (executor clock).
    pub created_at: i64,
    /// First call sent, unix ms.
    #[sea_orm(nullable)]
    pub started_at: Option<i64>,
    /// Finished, unix ms.
    #[sea_orm(nullable)]
    pub ended_at: Option<i64>,
    /// Last change, unix ms.
    pub updated_at: i64,
}

/// No relations are declared; joins are done by hand.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
