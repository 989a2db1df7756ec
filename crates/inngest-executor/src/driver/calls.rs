//! Calling the SDK for a run and recording each answer in one transaction; sequential runs go
//! on call after call without a trip through the queue.

use std::time::Duration;

use sea_orm::TransactionTrait;
use serde_json::json;

use super::{Next, RunState};
use crate::call::{self, Reply, MAX_INLINE_BYTES};
use crate::clock::wall_ms;
use crate::core::Core;
use crate::entity::{queue_item, run, run_step};
use crate::error::Result;
use crate::feed::Effects;
use crate::lifecycle::Ending;
use crate::store::from_text;
use crate::store::queue::{self};
use crate::store::runs::{self, status};

impl Core {
    /// Calls the SDK for `item` and records each answer; goes on while the answer is a single
    /// memoized step (the common sequential case) without a trip through the queue.
    pub(super) async fn drive(&self, mut item: queue_item::Model, token: &str) -> Result<()> {
        let Some(run_id) = item.run_id.clone() else {
            queue::delete(&self.db, &item.id).await?;
            return Ok(());
        };
        let mut known: Option<RunState> = None;
        loop {
            let state = match known.take() {
                Some(state) => state,
                None => match runs::load(&self.db, &run_id).await? {
                    Some((run, steps)) => RunState { run, steps },
                    None => {
                        queue::delete(&self.db, &item.id).await?;
                        return Ok(());
                    }
                },
            };
            if !status::is_active(&state.run.status) {
                queue::delete(&self.db, &item.id).await?;
                return Ok(());
            }
            let Some(def) = self.function(&state.run.function_id) else {
                let error = json!({
                    "name": "FunctionNotFound",
                    "message": format!("function `{}` is not synced any more", state.run.function_id),
                });
                let reply = Reply::Failed {
                    error,
                    retriable: false,
                    retry_after_ms: None,
                };
                return self.record(&item, token, reply, 0, state).await.map(|_| ());
            };
            let body = request_body(&state.run, &state.steps, &item, &self.settings.env);
            let url = def.step_url(&item.step_id);
            let timeout =
                Duration::from_millis(u64::try_from(self.lease_ms() * 4 / 5).unwrap_or(u64::MAX));
            let started = self.now();
            let reply = call::execute(
                &self.http,
                &self.signing_key,
                &url,
                &state.run.id,
                &item.step_id,
                body,
                timeout,
            )
            .await;
            match self.record(&item, token, reply, started, state).await? {
                (Next::Call, state) => {
                    known = state;
                    item.step_id = "step".into();
                    item.attempt = 0;
                }
                (Next::Done | Next::Later, _) => return Ok(()),
            }
        }
    }

    /// Records one answer in one transaction. When the run goes on at once, hands back its
    /// state as it now is in the database (if this worker can know it; see [`RunState`]).
    pub(super) async fn record(
        &self,
        item: &queue_item::Model,
        token: &str,
        reply: Reply,
        started: i64,
        known: RunState,
    ) -> Result<(Next, Option<RunState>)> {
        // The common answer — one step ran — checks the lease when it continues the item,
        // which saves a statement; every other answer checks it first.
        let single_memo = matches!(&reply, Reply::Ops { ops, .. }
            if ops.len() == 1 && matches!(ops[0].op.as_str(), "StepRun" | "Step" | "StepFailed"));
        let (txn, run) = if single_memo {
            let txn = self.db.begin().await?;
            let run = runs::lock(&txn, &known.run.id, self.now()).await?;
            (txn, run)
        } else {
            match self.begin_held(item, token).await? {
                Some(held) => held,
                None => return Ok((Next::Done, None)),
            }
        };
        let now = self.now();
        let mut fx = Effects::default();
        let Some(mut run) = run.filter(|run| status::is_active(&run.status)) else {
            queue::delete(&txn, &item.id).await?;
            self.commit(txn, fx).await?;
            return Ok((Next::Done, None));
        };
        // Only this worker moves a run that has never run steps in parallel, so its cached
        // steps stay exact while their count matches the run's stack counter.
        let memoized = known.steps.iter().filter(|s| s.seq.is_some()).count();
        let mut steps = (usize::try_from(run.next_seq).ok() == Some(memoized)
            && !run.disable_immediate)
            .then_some(known.steps);
        let next = match reply {
            Reply::Completed(output) => {
                self.finish_run(&txn, &run, Ending::Completed(output), &mut fx)
                    .await?;
                Next::Done
            }
            Reply::Failed {
                error,
                retriable,
                retry_after_ms,
            } => {
                if retriable && item.attempt + 1 < run.max_attempts {
                    let delay = retry_after_ms.unwrap_or_else(|| self.backoff_ms(item.attempt));
                    queue::reschedule(&txn, &item.id, item.attempt + 1, now + delay).await?;
                    tracing::info!(run = %run.id, attempt = item.attempt + 1, delay_ms = delay, "function error; retrying");
                    Next::Later
                } else {
                    self.finish_run(&txn, &run, Ending::Failed(error), &mut fx)
                        .await?;
                    Next::Done
                }
            }
            Reply::Ops {
                ops,
                no_retry,
                retry_after_ms,
            } => {
                let mut written = Vec::new();
                let next = self
                    .apply_ops(
                        &txn,
                        item,
                        &mut run,
                        ops,
                        no_retry,
                        retry_after_ms,
                        started,
                        &mut written,
                        &mut fx,
                    )
                    .await?;
                if let Some(steps) = steps.as_mut() {
                    steps.retain(|s| !written.iter().any(|w: &run_step::Model| w.hash == s.hash));
                    steps.extend(written);
                }
                next
            }
        };
        let held = match next {
            Next::Call => {
                queue::continue_as_call(&txn, &item.id, token, wall_ms() + self.lease_ms()).await?
            }
            Next::Done if single_memo => queue::delete_held(&txn, &item.id, token).await?,
            Next::Done => {
                queue::delete(&txn, &item.id).await?;
                true
            }
            Next::Later => true,
        };
        if !held {
            txn.rollback().await?;
            tracing::debug!(item = %item.id, "lease lost; another worker owns the item");
            return Ok((Next::Done, None));
        }
        self.commit(txn, fx).await?;
        let state = steps.map(|steps| RunState { run, steps });
        Ok((next, state))
    }
}

/// The call body: event(s), memoized steps, and `ctx`.
fn request_body(
    run: &run::Model,
    steps: &[run_step::Model],
    item: &queue_item::Model,
    env: &str,
) -> Vec<u8> {
    let (memo, stack) = runs::memo_and_stack(steps);
    let event = from_text(&run.event);
    let events = from_text(&run.events);
    let current = stack.len();
    let mut body = json!({
        "event": event,
        "events": events,
        "steps": memo,
        "ctx": {
            "fn_id": run.function_id,
            "run_id": run.id,
            "env": env,
            "step_id": item.step_id,
            "attempt": item.attempt,
            "max_attempts": run.max_attempts,
            "stack": { "stack": stack, "current": current },
            "disable_immediate_execution": run.disable_immediate,
            "use_api": false,
        },
        "version": 2,
        "use_api": false,
    });
    let bytes = serde_json::to_vec(&body).unwrap_or_default();
    if bytes.len() <= MAX_INLINE_BYTES {
        return bytes;
    }
    body["events"] = json!([]);
    body["steps"] = json!({});
    body["use_api"] = json!(true);
    body["ctx"]["use_api"] = json!(true);
    serde_json::to_vec(&body).unwrap_or_default()
}
