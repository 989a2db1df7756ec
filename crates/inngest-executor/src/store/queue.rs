//! The work queue: enqueue with optional de-duplication, claim due items under a lease,
//! reschedule, delete.

use sea_orm::sea_query::{Expr, OnConflict, Query};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder,
};
use serde_json::Value;

use super::to_text;
use crate::entity::queue_item::{self, Column, Entity};

/// What a queue item asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Take the run's concurrency slots, then make its first call.
    Start,
    /// Call the SDK (`step_id` = `step` or a planned hash).
    Call,
    /// A sleep ended: memoize null and call again.
    Wake,
    /// A wait (event, signal, invoke) timed out.
    Timeout,
    /// Perform a step's HTTP request (`AIGateway`, `Gateway`) and memoize the answer.
    Gateway,
    /// A cron trigger is due.
    Cron,
    /// A debounce period ended.
    Debounce,
    /// A batch's timeout passed.
    Batch,
    /// A run's `timeouts.start` or `timeouts.finish` may have passed.
    RunTimeout,
}

impl Kind {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Start => "start",
            Kind::Call => "call",
            Kind::Wake => "wake",
            Kind::Timeout => "timeout",
            Kind::Gateway => "gateway",
            Kind::Cron => "cron",
            Kind::Debounce => "debounce",
            Kind::Batch => "batch",
            Kind::RunTimeout => "run_timeout",
        }
    }

    /// Reads a stored name.
    pub fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "start" => Kind::Start,
            "call" => Kind::Call,
            "wake" => Kind::Wake,
            "timeout" => Kind::Timeout,
            "gateway" => Kind::Gateway,
            "cron" => Kind::Cron,
            "debounce" => Kind::Debounce,
            "batch" => Kind::Batch,
            "run_timeout" => Kind::RunTimeout,
            _ => return None,
        })
    }
}

/// An item to enqueue.
#[derive(Debug, Clone)]
pub struct NewItem {
    /// What to do.
    pub kind: Kind,
    /// The run concerned.
    pub run_id: Option<String>,
    /// For calls: `step` or a hash.
    pub step_id: String,
    /// Attempt.
    pub attempt: i32,
    /// Details.
    pub payload: Value,
    /// Due, unix ms (executor clock).
    pub run_at: i64,
    /// At most one pending item per key.
    pub dedup_key: Option<String>,
}

impl NewItem {
    /// An item of `kind` for `run_id`, due at `run_at`.
    pub fn new(kind: Kind, run_id: Option<&str>, run_at: i64) -> Self {
        Self {
            kind,
            run_id: run_id.map(str::to_owned),
            step_id: "step".into(),
            attempt: 0,
            payload: Value::Object(Default::default()),
            run_at,
            dedup_key: None,
        }
    }

    /// Sets the step id.
    pub fn step(mut self, step_id: impl Into<String>) -> Self {
        self.step_id = step_id.into();
        self
    }

    /// Sets the attempt.
    pub fn attempt(mut self, attempt: i32) -> Self {
        self.attempt = attempt;
        self
    }

    /// Sets the payload.
    pub fn payload(mut self, payload: Value) -> Self {
        self.payload = payload;
        self
    }

    /// Sets the de-duplication key.
    pub fn dedup(mut self, key: impl Into<String>) -> Self {
        self.dedup_key = Some(key.into());
        self
    }
}

/// The de-duplication key of a run's pending "call the function again" item.
pub fn discovery_key(run_id: &str) -> String {
    format!("call:{run_id}")
}

/// Inserts `item`; returns its id, or `None` when a pending item has the same dedup key.
pub async fn enqueue(
    c: &impl ConnectionTrait,
    item: NewItem,
    now_ms: i64,
) -> Result<Option<String>, DbErr> {
    let id = ulid::Ulid::new().to_string();
    let model = queue_item::ActiveModel {
        id: Set(id.clone()),
        kind: Set(item.kind.as_str().to_owned()),
        run_id: Set(item.run_id),
        step_id: Set(item.step_id),
        attempt: Set(item.attempt),
        payload: Set(to_text(&item.payload)),
        run_at: Set(item.run_at),
        lease_until: Set(None),
        lease_token: Set(None),
        dedup_key: Set(item.dedup_key),
        blocked_on: Set(None),
        created_at: Set(now_ms),
    };
    let inserted = Entity::insert(model)
        .on_conflict(OnConflict::column(Column::DedupKey).do_nothing().to_owned())
        .exec_without_returning(c)
        .await?;
    Ok((inserted == 1).then_some(id))
}

/// Leases up to `limit` due items to `token` until `lease_until` (wall ms) and returns them.
/// An item is due when `run_at <= now_ms` and it is not leased (or its lease expired).
pub async fn claim(
    c: &impl ConnectionTrait,
    limit: u64,
    now_ms: i64,
    wall_ms: i64,
    lease_until: i64,
    token: &str,
) -> Result<Vec<queue_item::Model>, DbErr> {
    let free = || {
        Expr::col(Column::LeaseUntil)
            .is_null()
            .or(Expr::col(Column::LeaseUntil).lt(wall_ms))
    };
    let due = Query::select()
        .column(Column::Id)
        .from(Entity)
        .and_where(Expr::col(Column::RunAt).lte(now_ms))
        .and_where(free())
        .order_by(Column::RunAt, sea_orm::Order::Asc)
        .limit(limit)
        .to_owned();
    // The outer condition is checked again against the row as updated, so two claimers on
    // Postgres cannot both take an item.
    Entity::update_many()
        .col_expr(Column::LeaseToken, Expr::value(token))
        .col_expr(Column::LeaseUntil, Expr::value(lease_until))
        .col_expr(Column::DedupKey, Expr::value(Option::<String>::None))
        .filter(Column::Id.in_subquery(due))
        .filter(free())
        .exec(c)
        .await?;
    Entity::find()
        .filter(Column::LeaseToken.eq(token))
        .order_by_asc(Column::RunAt)
        .all(c)
        .await
}

/// Extends the lease of an item still held by `token`; false when it was lost.
pub async fn hold(
    c: &impl ConnectionTrait,
    id: &str,
    token: &str,
    lease_until: i64,
) -> Result<bool, DbErr> {
    let updated = Entity::update_many()
        .col_expr(Column::LeaseUntil, Expr::value(lease_until))
        .filter(Column::Id.eq(id))
        .filter(Column::LeaseToken.eq(token))
        .exec(c)
        .await?;
    Ok(updated.rows_affected == 1)
}

/// Turns an item held by `token` into a call of `step_id` at `attempt`, extending its lease
/// (the worker goes on with it); false when the lease was lost.
pub async fn continue_as_call(
    c: &impl ConnectionTrait,
    id: &str,
    token: &str,
    lease_until: i64,
) -> Result<bool, DbErr> {
    let updated = Entity::update_many()
        .col_expr(Column::Kind, Expr::value(Kind::Call.as_str()))
        .col_expr(Column::StepId, Expr::value("step"))
        .col_expr(Column::Attempt, Expr::value(0))
        .col_expr(Column::LeaseUntil, Expr::value(lease_until))
        .filter(Column::Id.eq(id))
        .filter(Column::LeaseToken.eq(token))
        .exec(c)
        .await?;
    Ok(updated.rows_affected == 1)
}

/// Deletes an item held by `token`; false when the lease was lost.
pub async fn delete_held(c: &impl ConnectionTrait, id: &str, token: &str) -> Result<bool, DbErr> {
    let deleted = Entity::delete_many()
        .filter(Column::Id.eq(id))
        .filter(Column::LeaseToken.eq(token))
        .exec(c)
        .await?;
    Ok(deleted.rows_affected == 1)
}

/// Releases an item to run again at `run_at` with `attempt`.
pub async fn reschedule(
    c: &impl ConnectionTrait,
    id: &str,
    attempt: i32,
    run_at: i64,
) -> Result<(), DbErr> {
    Entity::update_many()
        .col_expr(Column::Attempt, Expr::value(attempt))
        .col_expr(Column::RunAt, Expr::value(run_at))
        .col_expr(Column::LeaseUntil, Expr::value(Option::<i64>::None))
        .col_expr(Column::LeaseToken, Expr::value(Option::<String>::None))
        .filter(Column::Id.eq(id))
        .exec(c)
        .await?;
    Ok(())
}

/// Parks a start item until a slot of `scope` frees (re-checked at `run_at` regardless).
pub async fn block(
    c: &impl ConnectionTrait,
    id: &str,
    scope: &str,
    run_at: i64,
) -> Result<(), DbErr> {
    Entity::update_many()
        .col_expr(Column::BlockedOn, Expr::value(scope))
        .col_expr(Column::RunAt, Expr::value(run_at))
        .col_expr(Column::LeaseUntil, Expr::value(Option::<i64>::None))
        .col_expr(Column::LeaseToken, Expr::value(Option::<String>::None))
        .filter(Column::Id.eq(id))
        .exec(c)
        .await?;
    Ok(())
}

/// Makes the oldest start item blocked on `scope` due now.
pub async fn unblock_one(
    c: &impl ConnectionTrait,
    scope: &str,
    now_ms: i64,
) -> Result<bool, DbErr> {
    let oldest = Entity::find()
        .filter(Column::BlockedOn.eq(scope))
        .order_by_asc(Column::CreatedAt)
        .order_by_asc(Column::Id)
        .one(c)
        .await?;
    let Some(oldest) = oldest else {
        return Ok(false);
    };
    Entity::update_many()
        .col_expr(Column::RunAt, Expr::value(now_ms))
        .col_expr(Column::BlockedOn, Expr::value(Option::<String>::None))
        .filter(Column::Id.eq(oldest.id))
        .exec(c)
        .await?;
    Ok(true)
}

/// Deletes an item.
pub async fn delete(c: &impl ConnectionTrait, id: &str) -> Result<(), DbErr> {
    Entity::delete_by_id(id.to_owned()).exec(c).await?;
    Ok(())
}

/// Deletes every item of a run.
pub async fn delete_for_run(c: &impl ConnectionTrait, run_id: &str) -> Result<(), DbErr> {
    Entity::delete_many()
        .filter(Column::RunId.eq(run_id))
        .exec(c)
        .await?;
    Ok(())
}
