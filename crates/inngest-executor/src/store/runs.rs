//! Runs and their steps: create, lock, memoize step results in stack order, finish.

use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect,
};
use serde_json::Value;

use super::{from_text, to_text};
use crate::entity::{run, run_step};

/// Run statuses.
pub mod status {
    /// Waiting for concurrency slots or its first call.
    pub const QUEUED: &str = "queued";
    /// Started.
    pub const RUNNING: &str = "running";
    /// Returned.
    pub const COMPLETED: &str = "completed";
    /// Failed for good.
    pub const FAILED: &str = "failed";
    /// Cancelled.
    pub const CANCELLED: &str = "cancelled";

    /// Whether a run in `status` can still change.
    pub fn is_active(status: &str) -> bool {
        status == QUEUED || status == RUNNING
    }
}

/// Step statuses.
pub mod step_status {
    /// Reported as planned; a call will execute it.
    pub const PLANNED: &str = "planned";
    /// Sleeping.
    pub const SLEEPING: &str = "sleeping";
    /// Waiting for an event, a signal or an invoked run.
    pub const WAITING: &str = "waiting";
    /// Failed an attempt; a retry is scheduled.
    pub const RETRYING: &str = "retrying";
    /// Being carried out by the executor (AI inference).
    pub const RUNNING: &str = "running";
    /// Done, memoized with data.
    pub const COMPLETED: &str = "completed";
    /// Done, memoized with an error.
    pub const FAILED: &str = "failed";
}

/// A run to create.
#[derive(Debug, Clone)]
pub struct NewRun {
    /// Run id.
    pub id: String,
    /// Function id.
    pub function_id: String,
    /// Triggering event.
    pub event: Value,
    /// All events.
    pub events: Vec<Value>,
    /// Attempts per step.
    pub max_attempts: u32,
    /// Concurrency scopes with limits (`[{scope, limit}]`).
    pub concurrency: Value,
    /// Caller of an invoke: (run id, step hash).
    pub parent: Option<(String, String)>,
}

/// Inserts a queued run.
pub async fn insert(c: &impl ConnectionTrait, new: NewRun, now_ms: i64) -> Result<(), DbErr> {
    let (parent_run_id, parent_step) = match new.parent {
        Some((run, step)) => (Some(run), Some(step)),
        None => (None, None),
    };
    let model = run::ActiveModel {
        id: Set(new.id),
        function_id: Set(new.function_id),
        status: Set(status::QUEUED.to_owned()),
        event: Set(to_text(&new.event)),
        events: Set(to_text(&Value::Array(new.events))),
        output: Set(None),
        error: Set(None),
        max_attempts: Set(i32::try_from(new.max_attempts).unwrap_or(i32::MAX)),
        disable_immediate: Set(false),
        next_seq: Set(0),
        concurrency: Set(to_text(&new.concurrency)),
        parent_run_id: Set(parent_run_id),
        parent_step: Set(parent_step),
        created_at: Set(now_ms),
        started_at: Set(None),
        ended_at: Set(None),
        updated_at: Set(now_ms),
    };
    run::Entity::insert(model).exec_without_returning(c).await?;
    Ok(())
}

/// Write-locks the run row (the first write of a transaction, so that SQLite takes the write
/// lock up front and Postgres serializes work on one run) and returns it.
pub async fn lock(
    c: &impl ConnectionTrait,
    run_id: &str,
    now_ms: i64,
) -> Result<Option<run::Model>, DbErr> {
    let mut locked = run::Entity::update_many()
        .col_expr(run::Column::UpdatedAt, Expr::value(now_ms))
        .filter(run::Column::Id.eq(run_id))
        .exec_with_returning(c)
        .await?;
    Ok(locked.pop())
}

/// A run and its steps.
pub async fn load(
    c: &impl ConnectionTrait,
    run_id: &str,
) -> Result<Option<(run::Model, Vec<run_step::Model>)>, DbErr> {
    let Some(run) = run::Entity::find_by_id(run_id.to_owned()).one(c).await? else {
        return Ok(None);
    };
    let steps = steps(c, run_id).await?;
    Ok(Some((run, steps)))
}

/// The steps of a run, in stack order (unmemoized and mocked steps last).
pub async fn steps(c: &impl ConnectionTrait, run_id: &str) -> Result<Vec<run_step::Model>, DbErr> {
    let mut steps = run_step::Entity::find()
        .filter(run_step::Column::RunId.eq(run_id))
        .all(c)
        .await?;
    steps.sort_by(|a, b| {
        let key = |s: &run_step::Model| (s.seq.is_none(), s.seq, s.started_at);
        key(a).cmp(&key(b))
    });
    Ok(steps)
}

/// Marks a queued run as running.
pub async fn mark_running(
    c: &impl ConnectionTrait,
    run_id: &str,
    now_ms: i64,
) -> Result<(), DbErr> {
    run::Entity::update_many()
        .col_expr(run::Column::Status, Expr::value(status::RUNNING))
        .col_expr(run::Column::StartedAt, Expr::value(now_ms))
        .filter(run::Column::Id.eq(run_id))
        .filter(run::Column::Status.eq(status::QUEUED))
        .exec(c)
        .await?;
    Ok(())
}

/// Plans every step from now on (a response reported several).
pub async fn disable_immediate(c: &impl ConnectionTrait, run_id: &str) -> Result<(), DbErr> {
    run::Entity::update_many()
        .col_expr(run::Column::DisableImmediate, Expr::value(true))
        .filter(run::Column::Id.eq(run_id))
        .exec(c)
        .await?;
    Ok(())
}

/// Ends an active run; false when it had already ended.
pub async fn finish(
    c: &impl ConnectionTrait,
    run_id: &str,
    final_status: &str,
    output: Option<&Value>,
    error: Option<&Value>,
    now_ms: i64,
) -> Result<bool, DbErr> {
    let updated = run::Entity::update_many()
        .col_expr(run::Column::Status, Expr::value(final_status))
        .col_expr(run::Column::Output, Expr::value(output.map(to_text)))
        .col_expr(run::Column::Error, Expr::value(error.map(to_text)))
        .col_expr(run::Column::EndedAt, Expr::value(now_ms))
        .col_expr(run::Column::UpdatedAt, Expr::value(now_ms))
        .filter(run::Column::Id.eq(run_id))
        .filter(run::Column::Status.is_in([status::QUEUED, status::RUNNING]))
        .exec(c)
        .await?;
    Ok(updated.rows_affected == 1)
}

/// Active runs of a function (for cancellation).
pub async fn active_of(
    c: &impl ConnectionTrait,
    function_id: &str,
) -> Result<Vec<run::Model>, DbErr> {
    run::Entity::find()
        .filter(run::Column::FunctionId.eq(function_id))
        .filter(run::Column::Status.is_in([status::QUEUED, status::RUNNING]))
        .order_by_asc(run::Column::Id)
        .all(c)
        .await
}

/// Recent runs, newest first.
pub async fn recent(c: &impl ConnectionTrait, limit: u64) -> Result<Vec<run::Model>, DbErr> {
    run::Entity::find()
        .order_by_desc(run::Column::CreatedAt)
        .order_by_desc(run::Column::Id)
        .limit(limit)
        .all(c)
        .await
}

/// A step as it is first seen.
#[derive(Debug, Clone)]
pub struct StepSeen {
    /// Hash.
    pub hash: String,
    /// User id.
    pub name: String,
    /// Op reported.
    pub op: String,
    /// Options.
    pub opts: Option<Value>,
}

/// Records a step in `status` unless it is already known; true when it was new.
pub async fn insert_step(
    c: &impl ConnectionTrait,
    run_id: &str,
    step: &StepSeen,
    step_status: &str,
    now_ms: i64,
) -> Result<bool, DbErr> {
    let model = run_step::ActiveModel {
        run_id: Set(run_id.to_owned()),
        hash: Set(step.hash.clone()),
        name: Set(step.name.clone()),
        op: Set(step.op.clone()),
        status: Set(step_status.to_owned()),
        seq: Set(None),
        memo: Set(None),
        opts: Set(step.opts.as_ref().map(to_text)),
        error: Set(None),
        attempts: Set(0),
        started_at: Set(now_ms),
        ended_at: Set(None),
    };
    let inserted = run_step::Entity::insert(model)
        .on_conflict(
            OnConflict::columns([run_step::Column::RunId, run_step::Column::Hash])
                .do_nothing()
                .to_owned(),
        )
        .exec_without_returning(c)
        .await?;
    Ok(inserted == 1)
}

/// Sets a known step's status (and last error and attempt count).
pub async fn set_step_status(
    c: &impl ConnectionTrait,
    run_id: &str,
    hash: &str,
    step_status: &str,
    error: Option<&Value>,
    attempts: Option<i32>,
) -> Result<(), DbErr> {
    let mut update = run_step::Entity::update_many()
        .col_expr(run_step::Column::Status, Expr::value(step_status))
        .filter(run_step::Column::RunId.eq(run_id))
        .filter(run_step::Column::Hash.eq(hash));
    if let Some(error) = error {
        update = update.col_expr(run_step::Column::Error, Expr::value(to_text(error)));
    }
    if let Some(attempts) = attempts {
        update = update.col_expr(run_step::Column::Attempts, Expr::value(attempts));
    }
    update.exec(c).await?;
    Ok(())
}

/// A step result to memoize.
#[derive(Debug, Clone)]
pub struct Memo {
    /// The step.
    pub step: StepSeen,
    /// What the SDK receives: `{"data":…}`, `{"error":…}`, an event or null.
    pub memo: Value,
    /// `completed` or `failed`.
    pub status: &'static str,
    /// The error, for display.
    pub error: Option<Value>,
    /// When the step started, if known.
    pub started_at: Option<i64>,
    /// Attempts made.
    pub attempts: i32,
}

/// Memoizes a step at the end of the stack of `run` (locked by this transaction; its
/// `next_seq` advances) and returns the row as written. None when the step was already
/// memoized: the first result wins, so a duplicate report cannot reorder the stack.
pub async fn memoize(
    c: &impl ConnectionTrait,
    run: &mut run::Model,
    memo: Memo,
    now_ms: i64,
) -> Result<Option<run_step::Model>, DbErr> {
    let seq = run.next_seq;
    let row = run_step::Model {
        run_id: run.id.clone(),
        hash: memo.step.hash.clone(),
        name: memo.step.name.clone(),
        op: memo.step.op.clone(),
        status: memo.status.to_owned(),
        seq: Some(seq),
        memo: Some(to_text(&memo.memo)),
        opts: memo.step.opts.as_ref().map(to_text),
        error: memo.error.as_ref().map(to_text),
        attempts: memo.attempts,
        started_at: memo.started_at.unwrap_or(now_ms),
        ended_at: Some(now_ms),
    };
    let model: run_step::ActiveModel = row.clone().into();
    let stored = run_step::Entity::insert(model)
        .on_conflict(
            OnConflict::columns([run_step::Column::RunId, run_step::Column::Hash])
                .update_columns([
                    run_step::Column::Op,
                    run_step::Column::Status,
                    run_step::Column::Seq,
                    run_step::Column::Memo,
                    run_step::Column::Error,
                    run_step::Column::Attempts,
                    run_step::Column::EndedAt,
                ])
                .action_and_where(Expr::col((run_step::Entity, run_step::Column::Memo)).is_null())
                .to_owned(),
        )
        .exec_without_returning(c)
        .await?;
    if stored == 0 {
        return Ok(None);
    }
    run.next_seq = seq + 1;
    run::Entity::update_many()
        .col_expr(run::Column::NextSeq, Expr::value(run.next_seq))
        .filter(run::Column::Id.eq(run.id.clone()))
        .exec(c)
        .await?;
    Ok(Some(row))
}

/// Stores a memo that is not on the stack (a mocked step in the test engine).
pub async fn insert_mock(
    c: &impl ConnectionTrait,
    run_id: &str,
    step: StepSeen,
    memo: &Value,
    now_ms: i64,
) -> Result<(), DbErr> {
    let model = run_step::ActiveModel {
        run_id: Set(run_id.to_owned()),
        hash: Set(step.hash),
        name: Set(step.name),
        op: Set(step.op),
        status: Set(step_status::COMPLETED.to_owned()),
        seq: Set(None),
        memo: Set(Some(to_text(memo))),
        opts: Set(None),
        error: Set(None),
        attempts: Set(0),
        started_at: Set(now_ms),
        ended_at: Set(Some(now_ms)),
    };
    run_step::Entity::insert(model)
        .exec_without_returning(c)
        .await?;
    Ok(())
}

/// The memo map and stack the SDK receives.
pub fn memo_and_stack(steps: &[run_step::Model]) -> (serde_json::Map<String, Value>, Vec<String>) {
    let mut memo = serde_json::Map::new();
    let mut stack = Vec::new();
    for step in steps {
        if let Some(text) = &step.memo {
            memo.insert(step.hash.clone(), from_text(text));
            if step.seq.is_some() {
                stack.push(step.hash.clone());
            }
        }
    }
    (memo, stack)
}
