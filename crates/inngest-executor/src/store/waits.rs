//! Paused steps waiting for an event, a signal or an invoked run.

use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter};
use serde_json::Value;

use super::to_text;
use crate::entity::wait::{self, Column, Entity};

/// What a wait is for.
pub mod kind {
    /// `step.waitForEvent`.
    pub const EVENT: &str = "event";
    /// `step.waitForSignal`.
    pub const SIGNAL: &str = "signal";
    /// `step.invoke`.
    pub const INVOKE: &str = "invoke";
}

/// A wait to record.
#[derive(Debug, Clone)]
pub struct NewWait {
    /// The waiting run.
    pub run_id: String,
    /// The waiting step.
    pub step_hash: String,
    /// [`kind`].
    pub kind: &'static str,
    /// Event name, signal name or invoked run id.
    pub target: String,
    /// CEL condition.
    pub expression: Option<String>,
    /// The run's event.
    pub event: Value,
    /// The timeout item.
    pub timeout_item: Option<String>,
    /// Expiry (executor clock, ms).
    pub expires_at: i64,
}

/// Records a wait; returns its id.
pub async fn insert(c: &impl ConnectionTrait, new: NewWait) -> Result<String, DbErr> {
    let id = ulid::Ulid::new().to_string();
    let model = wait::ActiveModel {
        id: Set(id.clone()),
        run_id: Set(new.run_id),
        step_hash: Set(new.step_hash),
        kind: Set(new.kind.to_owned()),
        target: Set(new.target),
        expression: Set(new.expression),
        event: Set(to_text(&new.event)),
        timeout_item: Set(new.timeout_item),
        expires_at: Set(new.expires_at),
    };
    Entity::insert(model).exec_without_returning(c).await?;
    Ok(id)
}

/// Waits of `kind` on `target`, oldest first.
pub async fn find(
    c: &impl ConnectionTrait,
    wait_kind: &str,
    target: &str,
) -> Result<Vec<wait::Model>, DbErr> {
    let mut waits = Entity::find()
        .filter(Column::Kind.eq(wait_kind))
        .filter(Column::Target.eq(target))
        .all(c)
        .await?;
    waits.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(waits)
}

/// Removes a wait; true when this call removed it (so exactly one resumer wins).
pub async fn take(c: &impl ConnectionTrait, id: &str) -> Result<bool, DbErr> {
    Ok(Entity::delete_by_id(id.to_owned())
        .exec(c)
        .await?
        .rows_affected
        == 1)
}

/// Removes every wait of a run.
pub async fn delete_for_run(c: &impl ConnectionTrait, run_id: &str) -> Result<(), DbErr> {
    Entity::delete_many()
        .filter(Column::RunId.eq(run_id))
        .exec(c)
        .await?;
    Ok(())
}
