//! Items that fire at a time: a sleep ends, a wait times out, a cron is due, a debounce or
//! batch buffer flushes, a run timeout passes.

use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{json, Value};

use crate::core::Core;
use crate::entity::queue_item;
use crate::error::Result;
use crate::feed::Effects;
use crate::lifecycle::{Ending, RunTimeout, SCHEDULED_TIMER};
use crate::store::queue::{self, Kind};
use crate::store::runs::status;
use crate::store::waits::{self};
use crate::store::{flow, from_text};

impl Core {
    /// A sleep ended.
    pub(super) async fn wake_sleep(&self, item: &queue_item::Model, token: &str) -> Result<()> {
        let Some((txn, _)) = self.begin_held(item, token).await? else {
            return Ok(());
        };
        let mut fx = Effects::default();
        let hash = from_text(&item.payload)["hash"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        if let Some(run_id) = &item.run_id {
            self.resume_step(&txn, run_id, &hash, Value::Null, false, &mut fx)
                .await?;
        }
        queue::delete(&txn, &item.id).await?;
        self.commit(txn, fx).await
    }

    /// A wait timed out: null for events and signals, an error for invokes.
    pub(super) async fn time_out(&self, item: &queue_item::Model, token: &str) -> Result<()> {
        let Some((txn, _)) = self.begin_held(item, token).await? else {
            return Ok(());
        };
        let mut fx = Effects::default();
        let hash = from_text(&item.payload)["hash"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        queue::delete(&txn, &item.id).await?;
        let run_id = item.run_id.clone().unwrap_or_default();
        let pending = crate::entity::wait::Entity::find()
            .filter(crate::entity::wait::Column::RunId.eq(run_id))
            .filter(crate::entity::wait::Column::StepHash.eq(hash))
            .one(&txn)
            .await?;
        if let Some(mut wait) = pending {
            // The item is deleted above; do not delete it twice.
            wait.timeout_item = None;
            let (memo, failed) = if wait.kind == waits::kind::INVOKE {
                (
                    json!({"error": {"name": "InngestInvokeTimeoutError", "message": "the invoked function did not finish in time"}}),
                    true,
                )
            } else {
                (Value::Null, false)
            };
            self.resume_wait(&txn, &wait, memo, failed, &mut fx).await?;
        }
        self.commit(txn, fx).await
    }

    /// A run timeout may have passed: cancel the run if it still has not started (`start`,
    /// counted from its creation) or finished (`finish`, counted from its start). As Inngest
    /// does, the function's current config decides: a timeout removed by a later sync no
    /// longer applies, and a changed one is checked again at its new deadline.
    pub(super) async fn run_timeout(&self, item: &queue_item::Model, token: &str) -> Result<()> {
        let Some((txn, run)) = self.begin_held(item, token).await? else {
            return Ok(());
        };
        let mut fx = Effects::default();
        let now = self.now();
        let timeout = RunTimeout::parse(
            from_text(&item.payload)["timeout"]
                .as_str()
                .unwrap_or_default(),
        );
        let (Some(run), Some(timeout)) = (run, timeout) else {
            queue::delete(&txn, &item.id).await?;
            return self.commit(txn, fx).await;
        };
        let limit = self
            .function(&run.function_id)
            .and_then(|def| timeout.limit_ms(&def));
        let since = match timeout {
            // A run that started is past its start timeout for good.
            RunTimeout::Start => (run.status == status::QUEUED).then_some(run.created_at),
            RunTimeout::Finish => run.started_at.filter(|_| status::is_active(&run.status)),
        };
        match (limit, since) {
            (Some(limit), Some(since)) if now < since + limit => {
                queue::reschedule(&txn, &item.id, item.attempt, since + limit).await?;
            }
            (Some(_), Some(_)) => {
                tracing::info!(run = %run.id, function = %run.function_id, timeout = timeout.as_str(), "run timed out; cancelling it");
                // Ending the run deletes its queue items, this one included.
                self.finish_run(&txn, &run, Ending::TimedOut(timeout), &mut fx)
                    .await?;
            }
            _ => queue::delete(&txn, &item.id).await?,
        }
        self.commit(txn, fx).await
    }

    /// A cron trigger is due: start a run and schedule the next occurrence.
    pub(super) async fn fire_cron(&self, item: &queue_item::Model, token: &str) -> Result<()> {
        let Some((txn, _)) = self.begin_held(item, token).await? else {
            return Ok(());
        };
        let mut fx = Effects::default();
        let now = self.now();
        let payload = from_text(&item.payload);
        let function_id = payload["function_id"].as_str().unwrap_or_default();
        let source = payload["cron"].as_str().unwrap_or_default();
        queue::delete(&txn, &item.id).await?;
        let def = self.function(function_id);
        let schedule = def
            .as_ref()
            .and_then(|d| d.crons().find(|c| c.source() == source).cloned());
        if let (Some(def), Some(schedule)) = (def, schedule) {
            let event = json!({
                "id": ulid::Ulid::new().to_string(),
                "name": SCHEDULED_TIMER,
                "data": { "cron": source },
                "ts": item.run_at,
            });
            self.store_event(&txn, &event, now).await?;
            self.trigger_function(&txn, &def, &event, &mut fx).await?;
            if let Some(next) = schedule.next_after(now.max(item.run_at)) {
                self.schedule_cron(&txn, function_id, source, next).await?;
            }
        }
        self.commit(txn, fx).await
    }

    /// A debounce or batch buffer is due: start its run.
    pub(super) async fn flush_buffer(&self, item: &queue_item::Model, token: &str) -> Result<()> {
        let Some((txn, _)) = self.begin_held(item, token).await? else {
            return Ok(());
        };
        let mut fx = Effects::default();
        let now = self.now();
        let buffer_id = from_text(&item.payload)["buffer"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        if let Some(buffer) = flow::buffer(&txn, &buffer_id).await? {
            if buffer.fire_at > now {
                // Pushed back by a later event after this item was leased.
                queue::reschedule(&txn, &item.id, 0, buffer.fire_at).await?;
                return self.commit(txn, fx).await;
            }
        }
        queue::delete(&txn, &item.id).await?;
        if let Some((function_id, events)) = flow::take_buffer(&txn, &buffer_id).await? {
            if let (Some(def), Some(first)) = (self.function(&function_id), events.first()) {
                let (event, events) = if item.kind == Kind::Debounce.as_str() {
                    let last = events.last().cloned().unwrap_or_else(|| first.clone());
                    (last.clone(), vec![last])
                } else {
                    (first.clone(), events.clone())
                };
                self.create_run(
                    &txn,
                    &def,
                    ulid::Ulid::new().to_string(),
                    event,
                    events,
                    None,
                    &mut fx,
                )
                .await?;
            }
        }
        self.commit(txn, fx).await
    }
}
