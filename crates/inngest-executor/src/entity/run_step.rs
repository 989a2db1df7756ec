//! `inngest_run_steps`: each step of a run, its memoized result, status and timing.

use sea_orm::entity::prelude::*;

/// A step of a run.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "inngest_run_steps")]
pub struct Model {
    /// The run.
    #[sea_orm(primary_key, auto_increment = false)]
    pub run_id: String,
    /// Hashed step id.
    #[sea_orm(primary_key, auto_increment = false)]
    pub hash: String,
    /// The step id as the user wrote it.
    pub name: String,
    /// The last op reported for it (`StepRun`, `Sleep`, …).
    pub op: String,
    /// `planned`, `sleeping`, `waiting`, `retrying`, `completed` or `failed`.
    pub status: String,
    /// Position in the run's stack once memoized; null for mocked results (test engine).
    #[sea_orm(nullable)]
    pub seq: Option<i32>,
    /// The memo as sent back to the SDK (`{"data":…}`, `{"error":…}`, an event, or null).
    #[sea_orm(column_type = "Text", nullable)]
    pub memo: Option<String>,
    /// Step options (JSON) as reported.
    #[sea_orm(column_type = "Text", nullable)]
    pub opts: Option<String>,
    /// The last error (JSON), also for retried attempts.
    #[sea_orm(column_type = "Text", nullable)]
    pub error: Option<String>,
    /// Attempts made so far.
    pub attempts: i32,
    /// First seen, unix ms.
    pub started_at: i64,
    /// Memoized, unix ms.
    #[sea_orm(nullable)]
    pub ended_at: Option<i64>,
}

/// No relations are declared; joins are done by hand.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
