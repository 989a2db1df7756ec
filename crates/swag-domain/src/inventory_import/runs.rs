//! `inventory_import_runs`: one row per import, `running` until it is `complete` or `failed`.

use chrono::Utc;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, DatabaseConnection, DbErr, EntityTrait,
    QueryFilter,
};
use serde_json::{json, Value};

use crate::entity::import_run;

/// The statuses a run goes through.
pub const RUNNING: &str = "running";
pub const COMPLETE: &str = "complete";
pub const FAILED: &str = "failed";

/// The key of a running row's summary naming the durable run doing the import.
const DURABLE_RUN_KEY: &str = "durableRunId";

/// Records a run as started by the durable run `durable_run_id`; returns its id.
pub async fn start(
    db: &DatabaseConnection,
    source: &str,
    actor_email: &str,
    durable_run_id: &str,
) -> Result<i32, DbErr> {
    let row = import_run::ActiveModel {
        source: Set(source.to_owned()),
        status: Set(RUNNING.to_owned()),
        started_at: Set(Utc::now()),
        completed_at: Set(None),
        actor_email: Set(actor_email.to_owned()),
        summary: Set(Some(json!({ DURABLE_RUN_KEY: durable_run_id }))),
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

/// Records the run that the durable run `durable_run_id` started as failed with `error`, if it
/// is still running; returns its id when it was. A run already finished is left as it is, so
/// calling this again changes nothing.
pub async fn fail_running(
    db: &DatabaseConnection,
    durable_run_id: &str,
    error: &str,
) -> Result<Option<i32>, DbErr> {
    let running = import_run::Entity::find()
        .filter(import_run::Column::Status.eq(RUNNING))
        .all(db)
        .await?;
    let Some(row) = running.into_iter().find(|row| {
        row.summary
            .as_ref()
            .and_then(|s| s.get(DURABLE_RUN_KEY))
            .and_then(Value::as_str)
            == Some(durable_run_id)
    }) else {
        return Ok(None);
    };
    let updated = import_run::Entity::update_many()
        .col_expr(import_run::Column::Status, Expr::value(FAILED))
        .col_expr(
            import_run::Column::CompletedAt,
            Expr::value(Some(Utc::now())),
        )
        .col_expr(
            import_run::Column::Error,
            Expr::value(Some(error.to_owned())),
        )
        .filter(import_run::Column::Id.eq(row.id))
        .filter(import_run::Column::Status.eq(RUNNING))
        .exec(db)
        .await?;
    Ok((updated.rows_affected > 0).then_some(row.id))
}
