//! Acting on the ops of a 206 answer: memoize, plan, sleep, wait, invoke, offload, retry.

use sea_orm::DatabaseTransaction;
use serde_json::{json, Value};

use super::Next;
use crate::call::WireOp;
use crate::core::Core;
use crate::entity::{queue_item, run, run_step};
use crate::error::Result;
use crate::feed::Effects;
use crate::lifecycle::{Ending, FUNCTION_INVOKED};
use crate::store::from_text;
use crate::store::queue::{self, Kind, NewItem};
use crate::store::runs::{self, step_status, Memo, StepSeen};
use crate::store::waits::{self, NewWait};
use crate::timestr::{parse_duration_ms, sleep_until_ms};

impl Core {
    #[allow(clippy::too_many_arguments)]
    pub(super) async fn apply_ops(
        &self,
        txn: &DatabaseTransaction,
        item: &queue_item::Model,
        run: &mut run::Model,
        ops: Vec<WireOp>,
        no_retry: bool,
        retry_after_ms: Option<i64>,
        started: i64,
        written: &mut Vec<run_step::Model>,
        fx: &mut Effects,
    ) -> Result<Next> {
        let now = self.now();
        if ops.len() > 1 && !run.disable_immediate {
            runs::disable_immediate(txn, &run.id).await?;
            run.disable_immediate = true;
        }
        let single = ops.len() == 1;
        let mut memoized = false;
        for op in ops {
            let step = StepSeen {
                hash: op.id.clone(),
                name: if op.name.is_empty() {
                    op.display_name.clone().unwrap_or_default()
                } else {
                    op.name.clone()
                },
                op: op.op.clone(),
                opts: op.opts.clone(),
            };
            match op.op.as_str() {
                "StepRun" | "Step" => {
                    let data = op.data.clone().unwrap_or(Value::Null);
                    memoized |= self
                        .memo(
                            txn,
                            run,
                            written,
                            step,
                            json!({ "data": data }),
                            None,
                            item.attempt + 1,
                            started,
                            fx,
                        )
                        .await?;
                }
                "StepFailed" => {
                    let error = op
                        .error
                        .clone()
                        .unwrap_or_else(|| json!({"name": "Error", "message": "step failed"}));
                    memoized |= self
                        .memo_error(
                            txn,
                            run,
                            written,
                            step,
                            error,
                            item.attempt + 1,
                            started,
                            fx,
                        )
                        .await?;
                }
                "StepError" => {
                    let error = op
                        .error
                        .clone()
                        .unwrap_or_else(|| json!({"name": "Error", "message": "step errored"}));
                    if !no_retry && item.attempt + 1 < run.max_attempts {
                        runs::insert_step(txn, &run.id, &step, step_status::RETRYING, started)
                            .await?;
                        runs::set_step_status(
                            txn,
                            &run.id,
                            &step.hash,
                            step_status::RETRYING,
                            Some(&error),
                            Some(item.attempt + 1),
                        )
                        .await?;
                        let delay = retry_after_ms.unwrap_or_else(|| self.backoff_ms(item.attempt));
                        let retry = NewItem::new(Kind::Call, Some(&run.id), now + delay)
                            .step(step.hash.clone())
                            .attempt(item.attempt + 1);
                        queue::enqueue(txn, retry, now).await?;
                        fx.step(&run.id, &run.function_id, "step.retrying", &step.name, now);
                    } else {
                        memoized |= self
                            .memo_error(
                                txn,
                                run,
                                written,
                                step,
                                error,
                                item.attempt + 1,
                                started,
                                fx,
                            )
                            .await?;
                    }
                }
                "StepPlanned" => {
                    if runs::insert_step(txn, &run.id, &step, step_status::PLANNED, now).await? {
                        let call =
                            NewItem::new(Kind::Call, Some(&run.id), now).step(step.hash.clone());
                        queue::enqueue(txn, call, now).await?;
                        fx.step(&run.id, &run.function_id, "step.planned", &step.name, now);
                        fx.wake = true;
                    }
                }
                "Sleep" => {
                    let duration = op
                        .opts
                        .as_ref()
                        .and_then(|o| o["duration"].as_str())
                        .unwrap_or_default();
                    match sleep_until_ms(duration, now) {
                        Some(until) => {
                            if runs::insert_step(txn, &run.id, &step, step_status::SLEEPING, now)
                                .await?
                            {
                                let wake = NewItem::new(Kind::Wake, Some(&run.id), until)
                                    .payload(json!({ "hash": step.hash }));
                                queue::enqueue(txn, wake, now).await?;
                                fx.step(
                                    &run.id,
                                    &run.function_id,
                                    "step.sleeping",
                                    &step.name,
                                    now,
                                );
                            }
                        }
                        None => {
                            let error = json!({"name": "InvalidSleep", "message": format!("cannot sleep for `{duration}`")});
                            memoized |= self
                                .memo_error(txn, run, written, step, error, 1, now, fx)
                                .await?;
                        }
                    }
                }
                "WaitForEvent" | "WaitForSignal" => {
                    let opts = op.opts.clone().unwrap_or(Value::Null);
                    let (wait_kind, target) = if op.op == "WaitForEvent" {
                        (
                            waits::kind::EVENT,
                            opts["event"].as_str().unwrap_or_default().to_owned(),
                        )
                    } else {
                        (
                            waits::kind::SIGNAL,
                            opts["signal"].as_str().unwrap_or_default().to_owned(),
                        )
                    };
                    let timeout = opts["timeout"]
                        .as_str()
                        .and_then(parse_duration_ms)
                        .unwrap_or(86_400_000 * 7);
                    if !runs::insert_step(txn, &run.id, &step, step_status::WAITING, now).await? {
                        continue;
                    }
                    if wait_kind == waits::kind::SIGNAL {
                        if let Some(existing) = waits::find(txn, waits::kind::SIGNAL, &target)
                            .await?
                            .into_iter()
                            .next()
                        {
                            if opts["conflict"].as_str() == Some("fail") {
                                let error = json!({"name": "SignalConflictError", "message": format!("signal `{target}` is already awaited by run {}", existing.run_id)});
                                memoized |= self
                                    .memo_error(txn, run, written, step, error, 1, now, fx)
                                    .await?;
                                continue;
                            }
                            // Replace: the earlier waiter stops waiting, as if it had timed out.
                            self.resume_wait(txn, &existing, Value::Null, false, fx)
                                .await?;
                        }
                    }
                    self.add_wait(
                        txn,
                        run,
                        &step,
                        wait_kind,
                        target,
                        opts["if"].as_str().map(str::to_owned),
                        now + timeout,
                    )
                    .await?;
                    fx.step(&run.id, &run.function_id, "step.waiting", &step.name, now);
                }
                "InvokeFunction" => {
                    let opts = op.opts.clone().unwrap_or(Value::Null);
                    if !runs::insert_step(txn, &run.id, &step, step_status::WAITING, now).await? {
                        continue;
                    }
                    let target = opts["function_id"].as_str().unwrap_or_default();
                    let Some(def) = self.function(target) else {
                        let error = json!({"name": "InvokeError", "message": format!("function `{target}` is not synced")});
                        memoized |= self
                            .memo_error(txn, run, written, step, error, 1, now, fx)
                            .await?;
                        continue;
                    };
                    let data = opts["payload"]["data"].clone();
                    let data = if data.is_null() { json!({}) } else { data };
                    let child_id = ulid::Ulid::new().to_string();
                    let event = json!({
                        "id": ulid::Ulid::new().to_string(),
                        "name": FUNCTION_INVOKED,
                        "data": data,
                        "ts": now,
                    });
                    self.create_run(
                        txn,
                        &def,
                        child_id.clone(),
                        event.clone(),
                        vec![event],
                        Some((run.id.clone(), step.hash.clone())),
                        fx,
                    )
                    .await?;
                    let timeout = opts["timeout"]
                        .as_str()
                        .and_then(parse_duration_ms)
                        .unwrap_or(86_400_000 * 365);
                    self.add_wait(
                        txn,
                        run,
                        &step,
                        waits::kind::INVOKE,
                        child_id,
                        None,
                        now + timeout,
                    )
                    .await?;
                    fx.step(&run.id, &run.function_id, "step.waiting", &step.name, now);
                }
                // The executor makes the request (`step.ai.infer`, `step.fetch`) and memoizes
                // the answer; see `gateway.rs`.
                "AIGateway" | "Gateway" => {
                    if runs::insert_step(txn, &run.id, &step, step_status::RUNNING, now).await? {
                        let gateway = NewItem::new(Kind::Gateway, Some(&run.id), now)
                            .step(step.hash.clone())
                            .payload(json!({
                                "op": op.op,
                                "opts": op.opts.clone().unwrap_or(Value::Null),
                            }));
                        queue::enqueue(txn, gateway, now).await?;
                        fx.wake = true;
                    }
                }
                "RunComplete" => {
                    let output = op.data.clone().unwrap_or(Value::Null);
                    self.finish_run(txn, run, Ending::Completed(output), fx)
                        .await?;
                    return Ok(Next::Done);
                }
                other => {
                    let error = json!({
                        "name": "UnsupportedOpcode",
                        "message": format!("the embedded executor does not carry out `{other}` (step `{}`)", step.name),
                    });
                    self.finish_run(txn, run, Ending::Failed(error), fx).await?;
                    return Ok(Next::Done);
                }
            }
        }
        if memoized {
            if single {
                return Ok(Next::Call);
            }
            self.enqueue_discovery(txn, &run.id, now).await?;
            fx.wake = true;
        }
        Ok(Next::Done)
    }

    /// Memoizes `error` as the step's failure (`{"error": …}`, the shape the SDK reads back).
    #[allow(clippy::too_many_arguments)]
    pub(super) async fn memo_error(
        &self,
        txn: &DatabaseTransaction,
        run: &mut run::Model,
        written: &mut Vec<run_step::Model>,
        step: StepSeen,
        error: Value,
        attempts: i32,
        started: i64,
        fx: &mut Effects,
    ) -> Result<bool> {
        let memo = json!({ "error": error });
        self.memo(
            txn,
            run,
            written,
            step,
            memo,
            Some(error),
            attempts,
            started,
            fx,
        )
        .await
    }

    #[allow(clippy::too_many_arguments)]
    pub(super) async fn memo(
        &self,
        txn: &DatabaseTransaction,
        run: &mut run::Model,
        written: &mut Vec<run_step::Model>,
        step: StepSeen,
        memo: Value,
        error: Option<Value>,
        attempts: i32,
        started: i64,
        fx: &mut Effects,
    ) -> Result<bool> {
        let failed = error.is_some();
        let name = step.name.clone();
        let memo = Memo {
            step,
            memo,
            status: if failed {
                step_status::FAILED
            } else {
                step_status::COMPLETED
            },
            error,
            started_at: Some(started),
            attempts,
        };
        let now = self.now();
        let Some(row) = runs::memoize(txn, run, memo, now).await? else {
            return Ok(false);
        };
        written.push(row);
        fx.step(
            &run.id,
            &run.function_id,
            if failed {
                "step.failed"
            } else {
                "step.completed"
            },
            &name,
            now,
        );
        Ok(true)
    }

    #[allow(clippy::too_many_arguments)]
    pub(super) async fn add_wait(
        &self,
        txn: &DatabaseTransaction,
        run: &run::Model,
        step: &StepSeen,
        wait_kind: &'static str,
        target: String,
        expression: Option<String>,
        expires_at: i64,
    ) -> Result<()> {
        let now = self.now();
        let timeout = NewItem::new(Kind::Timeout, Some(&run.id), expires_at)
            .payload(json!({ "hash": step.hash }));
        let timeout_item = queue::enqueue(txn, timeout, now).await?;
        let wait = NewWait {
            run_id: run.id.clone(),
            step_hash: step.hash.clone(),
            kind: wait_kind,
            target,
            expression,
            event: from_text(&run.event),
            timeout_item,
            expires_at,
        };
        waits::insert(txn, wait).await?;
        Ok(())
    }
}
