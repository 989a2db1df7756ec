//! Flow-control state: idempotency keys, rate-limit hits, concurrency slots, and the debounce
//! and batch buffers.

use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, PaginatorTrait, QueryFilter,
};
use serde_json::Value;

use super::{from_text, to_text};
use crate::entity::{buffer, concurrency_lease, idempotency_key, rate_limit_hit};

/// Claims an idempotency key until `expires_at`; false when it is in use.
pub async fn claim_idempotency(
    c: &impl ConnectionTrait,
    key: &str,
    run_id: &str,
    now_ms: i64,
    expires_at: i64,
) -> Result<bool, DbErr> {
    idempotency_key::Entity::delete_many()
        .filter(idempotency_key::Column::Key.eq(key))
        .filter(idempotency_key::Column::ExpiresAt.lte(now_ms))
        .exec(c)
        .await?;
    let model = idempotency_key::ActiveModel {
        key: Set(key.to_owned()),
        run_id: Set(run_id.to_owned()),
        expires_at: Set(expires_at),
    };
    let inserted = idempotency_key::Entity::insert(model)
        .on_conflict(
            OnConflict::column(idempotency_key::Column::Key)
                .do_nothing()
                .to_owned(),
        )
        .exec_without_returning(c)
        .await?;
    Ok(inserted == 1)
}

/// Counts a start against a rate limit; false (and nothing recorded) when `limit` starts
/// already happened within the period ending now.
pub async fn rate_limit(
    c: &impl ConnectionTrait,
    scope: &str,
    limit: u32,
    period_ms: i64,
    now_ms: i64,
) -> Result<bool, DbErr> {
    rate_limit_hit::Entity::delete_many()
        .filter(rate_limit_hit::Column::Scope.eq(scope))
        .filter(rate_limit_hit::Column::At.lte(now_ms - period_ms))
        .exec(c)
        .await?;
    let used = rate_limit_hit::Entity::find()
        .filter(rate_limit_hit::Column::Scope.eq(scope))
        .count(c)
        .await?;
    if used >= u64::from(limit) {
        return Ok(false);
    }
    let hit = rate_limit_hit::ActiveModel {
        id: Set(ulid::Ulid::new().to_string()),
        scope: Set(scope.to_owned()),
        at: Set(now_ms),
    };
    rate_limit_hit::Entity::insert(hit)
        .exec_without_returning(c)
        .await?;
    Ok(true)
}

/// Takes a free slot of `scope` (one of `limit`) for `run_id`; false when all are taken.
/// The `(scope, slot)` primary key makes this atomic across processes.
pub async fn acquire_slot(
    c: &impl ConnectionTrait,
    scope: &str,
    limit: u32,
    run_id: &str,
    now_ms: i64,
) -> Result<bool, DbErr> {
    let held = concurrency_lease::Entity::find()
        .filter(concurrency_lease::Column::Scope.eq(scope))
        .filter(concurrency_lease::Column::RunId.eq(run_id))
        .count(c)
        .await?;
    if held > 0 {
        return Ok(true);
    }
    let taken: Vec<i32> = concurrency_lease::Entity::find()
        .filter(concurrency_lease::Column::Scope.eq(scope))
        .all(c)
        .await?
        .into_iter()
        .map(|lease| lease.slot)
        .collect();
    let limit = i32::try_from(limit).unwrap_or(i32::MAX);
    for slot in (0..limit).filter(|slot| !taken.contains(slot)) {
        let lease = concurrency_lease::ActiveModel {
            scope: Set(scope.to_owned()),
            slot: Set(slot),
            run_id: Set(run_id.to_owned()),
            acquired_at: Set(now_ms),
        };
        let inserted = concurrency_lease::Entity::insert(lease)
            .on_conflict(
                OnConflict::columns([
                    concurrency_lease::Column::Scope,
                    concurrency_lease::Column::Slot,
                ])
                .do_nothing()
                .to_owned(),
            )
            .exec_without_returning(c)
            .await?;
        if inserted == 1 {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Frees every slot a run holds; returns the scopes freed.
pub async fn release_slots(c: &impl ConnectionTrait, run_id: &str) -> Result<Vec<String>, DbErr> {
    let held = concurrency_lease::Entity::find()
        .filter(concurrency_lease::Column::RunId.eq(run_id))
        .all(c)
        .await?;
    if held.is_empty() {
        return Ok(Vec::new());
    }
    concurrency_lease::Entity::delete_many()
        .filter(concurrency_lease::Column::RunId.eq(run_id))
        .exec(c)
        .await?;
    Ok(held.into_iter().map(|lease| lease.scope).collect())
}

/// A buffer by id.
pub async fn buffer(c: &impl ConnectionTrait, id: &str) -> Result<Option<buffer::Model>, DbErr> {
    buffer::Entity::find_by_id(id.to_owned()).one(c).await
}

/// Writes a buffer (insert or replace).
pub async fn save_buffer(
    c: &impl ConnectionTrait,
    id: &str,
    function_id: &str,
    kind: &str,
    events: &[Value],
    first_at: i64,
    fire_at: i64,
) -> Result<(), DbErr> {
    let model = buffer::ActiveModel {
        id: Set(id.to_owned()),
        function_id: Set(function_id.to_owned()),
        kind: Set(kind.to_owned()),
        events: Set(to_text(&Value::Array(events.to_vec()))),
        first_at: Set(first_at),
        fire_at: Set(fire_at),
    };
    buffer::Entity::insert(model)
        .on_conflict(
            OnConflict::column(buffer::Column::Id)
                .update_columns([buffer::Column::Events, buffer::Column::FireAt])
                .to_owned(),
        )
        .exec_without_returning(c)
        .await?;
    Ok(())
}

/// Removes a buffer and returns its events (empty when it was already taken).
pub async fn take_buffer(
    c: &impl ConnectionTrait,
    id: &str,
) -> Result<Option<(String, Vec<Value>)>, DbErr> {
    let Some(found) = buffer::Entity::find_by_id(id.to_owned()).one(c).await? else {
        return Ok(None);
    };
    let removed = buffer::Entity::delete_by_id(id.to_owned()).exec(c).await?;
    if removed.rows_affected != 1 {
        return Ok(None);
    }
    let events = match from_text(&found.events) {
        Value::Array(events) => events,
        _ => Vec::new(),
    };
    Ok(Some((found.function_id, events)))
}
