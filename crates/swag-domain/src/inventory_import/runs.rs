//! `inventory_import_runs`: one row per import, `running` until it is `complete` or `failed`.

use chrono::Utc;
use sea_orm::{ActiveModelTrait, ActiveValue::Set, DatabaseConnection, DbErr, EntityTrait};
use serde_json::Value;

use crate::entity::import_run;

/// The statuses a run goes through.
pub const RUNNING: &str = "running";
pub const COMPLETE: &str = "complete";
pub const FAILED: &str = "failed";

/// Records a run as started; returns its id.
pub async fn start(db: &DatabaseConnection, source: &str, actor_email: &str) -> Result<i32, DbErr> {
    let row = import_run::ActiveModel {
        source: Set(source.to_owned()),
        status: Set(RUNNING.to_owned()),
        started_at: Set(Utc::now()),
        completed_at: Set(None),
        actor_email: Set(actor_email.to_owned()),
        summary: Set(None),
        error: Set(None),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(row.id)
}

/// Records how a run ended: `complete` without an error, `failed` with one.
pub async fn finish(
    db: &DatabaseConnection,
    id: i32,
    summary: Value,
    error: Option<String>,
) -> Result<(), DbErr> {
    let status = if error.is_some() { FAILED } else { COMPLETE };
    import_run::Entity::update(import_run::ActiveModel {
        id: Set(id),
        status: Set(status.to_owned()),
        completed_at: Set(Some(Utc::now())),
        summary: Set(Some(summary)),
        error: Set(error),
        ..Default::default()
    })
    .exec(db)
    .await?;
    Ok(())
}
