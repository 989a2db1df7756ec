//! Carries out one leased queue item: takes concurrency slots, calls the SDK and acts on every
//! opcode, fires timers, crons, debounces and batches. Each outcome is recorded in one
//! transaction together with the next item, so a crash either loses the call (and the lease
//! expires, so it is made again) or keeps its result — never half of it.

mod calls;
mod gateway;
mod ops;
mod timers;

use sea_orm::{DatabaseTransaction, TransactionTrait};
use serde_json::Value;

use crate::clock::wall_ms;
use crate::core::Core;
use crate::entity::{queue_item, run, run_step};
use crate::error::Result;
use crate::feed::Effects;
use crate::lifecycle::RunTimeout;
use crate::store::queue::{self, Kind};
use crate::store::runs::{self, status};
use crate::store::{flow, from_text};

/// A run and its steps as the worker driving it last wrote them.
pub(super) struct RunState {
    pub(super) run: run::Model,
    pub(super) steps: Vec<run_step::Model>,
}

/// What to do after recording an answer.
pub(super) enum Next {
    /// Call the function again at once (the item became that call).
    Call,
    /// Nothing more for this item.
    Done,
    /// The item was rescheduled (a retry); keep it.
    Later,
}

impl Core {
    /// Processes a leased item; errors are logged and the lease left to expire (so the item
    /// is retried).
    pub(crate) async fn process(&self, item: queue_item::Model, token: &str) {
        let id = item.id.clone();
        if let Err(error) = self.process_item(item, token).await {
            tracing::warn!(item = %id, %error, "queue item failed; it is retried when its lease expires");
        }
    }

    pub(super) async fn process_item(&self, item: queue_item::Model, token: &str) -> Result<()> {
        match Kind::parse(&item.kind) {
            Some(Kind::Start) => {
                if self.start(&item, token).await? {
                    self.drive(item, token).await?;
                }
                Ok(())
            }
            Some(Kind::Call) => self.drive(item, token).await,
            Some(Kind::Wake) => self.wake_sleep(&item, token).await,
            Some(Kind::Timeout) => self.time_out(&item, token).await,
            Some(Kind::Gateway) => self.gateway(&item, token).await,
            Some(Kind::Cron) => self.fire_cron(&item, token).await,
            Some(Kind::Debounce) | Some(Kind::Batch) => self.flush_buffer(&item, token).await,
            Some(Kind::RunTimeout) => self.run_timeout(&item, token).await,
            None => {
                tracing::warn!(kind = %item.kind, "unknown queue item kind dropped");
                queue::delete(&self.db, &item.id).await?;
                Ok(())
            }
        }
    }

    /// Opens a transaction that owns `item` (none when its lease was lost), with the item's run
    /// locked first: every transaction that touches a run takes its row before anything else,
    /// so that concurrent ones queue up instead of deadlocking.
    pub(super) async fn begin_held(
        &self,
        item: &queue_item::Model,
        token: &str,
    ) -> Result<Option<(DatabaseTransaction, Option<run::Model>)>> {
        let txn = self.db.begin().await?;
        let run = match &item.run_id {
            Some(run_id) => runs::lock(&txn, run_id, self.now()).await?,
            None => None,
        };
        if queue::hold(&txn, &item.id, token, wall_ms() + self.lease_ms()).await? {
            Ok(Some((txn, run)))
        } else {
            txn.rollback().await?;
            tracing::debug!(item = %item.id, "lease lost; another worker owns the item");
            Ok(None)
        }
    }

    pub(super) async fn commit(&self, txn: DatabaseTransaction, fx: Effects) -> Result<()> {
        txn.commit().await?;
        self.publish(fx);
        Ok(())
    }

    /// Takes the run's concurrency slots; true when it may start now.
    pub(super) async fn start(&self, item: &queue_item::Model, token: &str) -> Result<bool> {
        let Some(run_id) = item.run_id.as_deref() else {
            queue::delete(&self.db, &item.id).await?;
            return Ok(false);
        };
        let Some((txn, run)) = self.begin_held(item, token).await? else {
            return Ok(false);
        };
        let now = self.now();
        let mut fx = Effects::default();
        let Some(run) = run else {
            queue::delete(&txn, &item.id).await?;
            self.commit(txn, fx).await?;
            return Ok(false);
        };
        if run.status != status::QUEUED {
            // Already started before a crash, or finished: go on as a call, or drop.
            let active = status::is_active(&run.status);
            if active {
                queue::continue_as_call(&txn, &item.id, token, wall_ms() + self.lease_ms()).await?;
            } else {
                queue::delete(&txn, &item.id).await?;
            }
            self.commit(txn, fx).await?;
            return Ok(active);
        }
        let scopes = match from_text(&run.concurrency) {
            Value::Array(scopes) => scopes,
            _ => Vec::new(),
        };
        for scope in &scopes {
            let name = scope["scope"].as_str().unwrap_or_default();
            let limit = scope["limit"]
                .as_u64()
                .and_then(|l| u32::try_from(l).ok())
                .unwrap_or(u32::MAX);
            if !flow::acquire_slot(&txn, name, limit, run_id, now).await? {
                // Free what this run took so far so that it cannot hold one limit while
                // waiting on another, then wait for a slot of `name` (re-checked each second).
                flow::release_slots(&txn, run_id).await?;
                queue::block(&txn, &item.id, name, now + 1_000).await?;
                self.commit(txn, fx).await?;
                return Ok(false);
            }
        }
        runs::mark_running(&txn, run_id, now).await?;
        if let Some(limit) = self
            .function(&run.function_id)
            .and_then(|def| def.timeout_finish_ms)
        {
            self.enqueue_run_timeout(&txn, run_id, RunTimeout::Finish, now + limit)
                .await?;
        }
        queue::continue_as_call(&txn, &item.id, token, wall_ms() + self.lease_ms()).await?;
        fx.run(run_id, &run.function_id, "run.started", now);
        self.commit(txn, fx).await?;
        Ok(true)
    }
}
