//! A run's life inside a transaction: created (through flow control), resumed when a paused
//! step ends, and finished (completed, failed, cancelled) with everything that follows —
//! slots freed, the invoking run resumed, `inngest/function.failed` emitted.

use futures::future::BoxFuture;
use sea_orm::{ConnectionTrait, DatabaseTransaction};
use serde_json::{json, Value};

use crate::core::Core;
use crate::error::Result;
use crate::feed::Effects;
use crate::function_def::FunctionDef;
use crate::store::queue::{self, Kind, NewItem};
use crate::store::runs::{self, status, step_status, Memo, NewRun, StepSeen};
use crate::store::{flow, from_text, waits};

/// The event that starts `on_failure` handlers.
pub const FUNCTION_FAILED: &str = "inngest/function.failed";
/// The event of invoked runs.
pub const FUNCTION_INVOKED: &str = "inngest/function.invoked";
/// The event of cron runs.
pub const SCHEDULED_TIMER: &str = "inngest/scheduled.timer";

/// How long an idempotency key holds.
const IDEMPOTENCY_MS: i64 = 24 * 3600 * 1000;

/// How a run ends.
pub(crate) enum Ending {
    Completed(Value),
    Failed(Value),
    Cancelled,
    /// Cancelled by `timeouts.start` or `timeouts.finish`.
    TimedOut(RunTimeout),
}

/// A function's run timeouts (`timeouts` in its config): as with Inngest, a run that did not
/// start within `start` of being created, or did not finish within `finish` of starting, is
/// cancelled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RunTimeout {
    /// `timeouts.start`.
    Start,
    /// `timeouts.finish`.
    Finish,
}

impl RunTimeout {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            RunTimeout::Start => "start",
            RunTimeout::Finish => "finish",
        }
    }

    pub(crate) fn parse(text: &str) -> Option<Self> {
        match text {
            "start" => Some(RunTimeout::Start),
            "finish" => Some(RunTimeout::Finish),
            _ => None,
        }
    }

    /// The limit configured for this timeout, if any.
    pub(crate) fn limit_ms(self, def: &FunctionDef) -> Option<i64> {
        match self {
            RunTimeout::Start => def.timeout_start_ms,
            RunTimeout::Finish => def.timeout_finish_ms,
        }
    }

    /// The error recorded on a run this timeout cancelled.
    fn error(self) -> Value {
        let message = match self {
            RunTimeout::Start => "the run did not start within its start timeout (timeouts.start)",
            RunTimeout::Finish => {
                "the run did not finish within its finish timeout (timeouts.finish)"
            }
        };
        json!({ "name": "RunTimedOut", "message": message })
    }
}

impl Core {
    /// Starts a run of `def` for `event` through idempotency, rate limit, debounce and batching.
    pub(crate) async fn trigger_function(
        &self,
        txn: &DatabaseTransaction,
        def: &FunctionDef,
        event: &Value,
        fx: &mut Effects,
    ) -> Result<()> {
        let now = self.now();
        let vars = [("event", event)];
        let run_id = ulid::Ulid::new().to_string();
        if let Some(expr) = &def.idempotency {
            let key = match self.exprs.key(expr, &vars) {
                Ok(key) => key,
                Err(error) => {
                    tracing::warn!(function = %def.id, %error, "idempotency key failed; event skipped");
                    return Ok(());
                }
            };
            let scope = format!("{}:{key}", def.id);
            if !flow::claim_idempotency(txn, &scope, &run_id, now, now + IDEMPOTENCY_MS).await? {
                tracing::debug!(function = %def.id, key, "idempotent duplicate skipped");
                return Ok(());
            }
        }
        if let Some(limit) = &def.rate_limit {
            let key = self.optional_key(limit.key.as_deref(), &vars);
            let scope = format!("{}:{key}", def.id);
            if !flow::rate_limit(txn, &scope, limit.limit, limit.period_ms, now).await? {
                tracing::debug!(function = %def.id, "rate limited; event skipped");
                return Ok(());
            }
        }
        if let Some(debounce) = &def.debounce {
            let key = self.optional_key(debounce.key.as_deref(), &vars);
            let id = format!("debounce:{}:{key}", def.id);
            let first_at = flow::buffer(txn, &id).await?.map_or(now, |b| b.first_at);
            let mut fire_at = now + debounce.period_ms;
            if let Some(timeout) = debounce.timeout_ms {
                fire_at = fire_at.min(first_at + timeout);
            }
            flow::save_buffer(
                txn,
                &id,
                &def.id,
                "debounce",
                std::slice::from_ref(event),
                first_at,
                fire_at,
            )
            .await?;
            let item = NewItem::new(Kind::Debounce, None, fire_at)
                .payload(json!({ "buffer": id }))
                .dedup(id.clone());
            queue::enqueue(txn, item, now).await?;
            return Ok(());
        }
        if let Some(batch) = &def.batch {
            let key = self.optional_key(batch.key.as_deref(), &vars);
            let id = format!("batch:{}:{key}", def.id);
            let existing = flow::buffer(txn, &id).await?;
            let mut events = match existing.as_ref().map(|b| from_text(&b.events)) {
                Some(Value::Array(events)) => events,
                _ => Vec::new(),
            };
            events.push(event.clone());
            if events.len() >= batch.max_size as usize {
                if existing.is_some() {
                    flow::take_buffer(txn, &id).await?;
                }
                let first = events.first().cloned().unwrap_or(Value::Null);
                self.create_run(txn, def, run_id, first, events, None, fx)
                    .await?;
                return Ok(());
            }
            let first_at = existing.as_ref().map_or(now, |b| b.first_at);
            let fire_at = first_at + batch.timeout_ms;
            flow::save_buffer(txn, &id, &def.id, "batch", &events, first_at, fire_at).await?;
            if existing.is_none() {
                let item = NewItem::new(Kind::Batch, None, fire_at)
                    .payload(json!({ "buffer": id }))
                    .dedup(id.clone());
                queue::enqueue(txn, item, now).await?;
            }
            return Ok(());
        }
        self.create_run(
            txn,
            def,
            run_id,
            event.clone(),
            vec![event.clone()],
            None,
            fx,
        )
        .await
    }

    fn optional_key(&self, expr: Option<&str>, vars: &[(&str, &Value)]) -> String {
        match expr {
            Some(expr) => self.exprs.key(expr, vars).unwrap_or_else(|error| {
                tracing::warn!(%error, "flow-control key failed; using the empty key");
                String::new()
            }),
            None => String::new(),
        }
    }

    /// Creates a queued run and its start item.
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn create_run(
        &self,
        txn: &DatabaseTransaction,
        def: &FunctionDef,
        run_id: String,
        event: Value,
        events: Vec<Value>,
        parent: Option<(String, String)>,
        fx: &mut Effects,
    ) -> Result<()> {
        let now = self.now();
        let vars = [("event", &event)];
        let concurrency: Vec<Value> = def
            .concurrency
            .iter()
            .map(|limit| {
                let key = self.optional_key(limit.key.as_deref(), &vars);
                let scope = match limit.scope.as_str() {
                    "env" | "account" => format!(
                        "{}:{}:{key}",
                        limit.scope,
                        limit.key.as_deref().unwrap_or("")
                    ),
                    _ => format!("fn:{}:{key}", def.id),
                };
                json!({ "scope": scope, "limit": limit.limit })
            })
            .collect();
        let new = NewRun {
            id: run_id.clone(),
            function_id: def.id.clone(),
            event,
            events,
            max_attempts: def.max_attempts,
            concurrency: Value::Array(concurrency),
            parent,
        };
        runs::insert(txn, new, now).await?;
        queue::enqueue(txn, NewItem::new(Kind::Start, Some(&run_id), now), now).await?;
        if let Some(limit) = def.timeout_start_ms {
            self.enqueue_run_timeout(txn, &run_id, RunTimeout::Start, now + limit)
                .await?;
        }
        fx.run(&run_id, &def.id, "run.queued", now);
        fx.wake = true;
        Ok(())
    }

    /// Memoizes a paused step's result and schedules the next call of its run.
    pub(crate) async fn resume_step(
        &self,
        txn: &DatabaseTransaction,
        run_id: &str,
        hash: &str,
        memo: Value,
        failed: bool,
        fx: &mut Effects,
    ) -> Result<()> {
        let now = self.now();
        let Some(mut run) = runs::lock(txn, run_id, now).await? else {
            return Ok(());
        };
        if !status::is_active(&run.status) {
            return Ok(());
        }
        let known = runs::steps(txn, run_id)
            .await?
            .into_iter()
            .find(|s| s.hash == hash);
        let step = StepSeen {
            hash: hash.to_owned(),
            name: known
                .as_ref()
                .map_or_else(|| hash.to_owned(), |s| s.name.clone()),
            op: known.as_ref().map_or_else(String::new, |s| s.op.clone()),
            opts: known
                .as_ref()
                .and_then(|s| s.opts.as_deref())
                .map(from_text),
        };
        let name = step.name.clone();
        let error = failed.then(|| memo.get("error").cloned().unwrap_or(Value::Null));
        let memo = Memo {
            step,
            memo,
            status: if failed {
                step_status::FAILED
            } else {
                step_status::COMPLETED
            },
            error,
            started_at: None,
            attempts: known.map_or(0, |s| s.attempts),
        };
        if runs::memoize(txn, &mut run, memo, now).await?.is_some() {
            let kind = if failed {
                "step.failed"
            } else {
                "step.completed"
            };
            fx.step(run_id, &run.function_id, kind, &name, now);
            self.enqueue_discovery(txn, run_id, now).await?;
            fx.wake = true;
        }
        Ok(())
    }

    /// Schedules the check of a run timeout at `at` (executor clock).
    pub(crate) async fn enqueue_run_timeout(
        &self,
        txn: &DatabaseTransaction,
        run_id: &str,
        timeout: RunTimeout,
        at: i64,
    ) -> Result<()> {
        let item = NewItem::new(Kind::RunTimeout, Some(run_id), at)
            .payload(json!({ "timeout": timeout.as_str() }));
        queue::enqueue(txn, item, self.now()).await?;
        Ok(())
    }

    /// Schedules "call the function again" for a run, once.
    pub(crate) async fn enqueue_discovery(
        &self,
        c: &impl ConnectionTrait,
        run_id: &str,
        now: i64,
    ) -> Result<()> {
        let item = NewItem::new(Kind::Call, Some(run_id), now).dedup(queue::discovery_key(run_id));
        queue::enqueue(c, item, now).await?;
        Ok(())
    }

    /// Removes a wait (if still there) and resumes its step with `memo`.
    pub(crate) async fn resume_wait(
        &self,
        txn: &DatabaseTransaction,
        wait: &crate::entity::wait::Model,
        memo: Value,
        failed: bool,
        fx: &mut Effects,
    ) -> Result<bool> {
        runs::lock(txn, &wait.run_id, self.now()).await?;
        if !waits::take(txn, &wait.id).await? {
            return Ok(false);
        }
        if let Some(item) = &wait.timeout_item {
            queue::delete(txn, item).await?;
        }
        self.resume_step(txn, &wait.run_id, &wait.step_hash, memo, failed, fx)
            .await?;
        Ok(true)
    }

    /// Ends a run (if still active) and does what follows. Boxed: failing a run emits an
    /// event, which may cancel or fail other runs.
    pub(crate) fn finish_run<'a>(
        &'a self,
        txn: &'a DatabaseTransaction,
        run: &'a crate::entity::run::Model,
        ending: Ending,
        fx: &'a mut Effects,
    ) -> BoxFuture<'a, Result<bool>> {
        Box::pin(async move {
            let now = self.now();
            runs::lock(txn, &run.id, now).await?;
            let (final_status, output, error, kind) = match &ending {
                Ending::Completed(output) => {
                    (status::COMPLETED, Some(output), None, "run.completed")
                }
                Ending::Failed(error) => (status::FAILED, None, Some(error.clone()), "run.failed"),
                Ending::Cancelled => (
                    status::CANCELLED,
                    None,
                    Some(json!({"name": "RunCancelled", "message": "the run was cancelled"})),
                    "run.cancelled",
                ),
                Ending::TimedOut(timeout) => (
                    status::CANCELLED,
                    None,
                    Some(timeout.error()),
                    "run.cancelled",
                ),
            };
            if !runs::finish(txn, &run.id, final_status, output, error.as_ref(), now).await? {
                return Ok(false);
            }
            fx.run(&run.id, &run.function_id, kind, now);
            queue::delete_for_run(txn, &run.id).await?;
            waits::delete_for_run(txn, &run.id).await?;
            for scope in flow::release_slots(txn, &run.id).await? {
                if queue::unblock_one(txn, &scope, now).await? {
                    fx.wake = true;
                }
            }
            // Invoked runs whose caller still waits: hand it the result.
            for wait in waits::find(txn, waits::kind::INVOKE, &run.id).await? {
                let (memo, failed) = match &ending {
                    Ending::Completed(output) => (json!({ "data": output }), false),
                    _ => (
                        json!({ "error": error.clone().unwrap_or(Value::Null) }),
                        true,
                    ),
                };
                self.resume_wait(txn, &wait, memo, failed, fx).await?;
            }
            if let Ending::Failed(error) = &ending {
                let event = from_text(&run.event);
                if event.get("name").and_then(Value::as_str) != Some(FUNCTION_FAILED) {
                    let failed = json!({
                        "name": FUNCTION_FAILED,
                        "data": {
                            "function_id": run.function_id,
                            "run_id": run.id,
                            "error": error,
                            "event": event,
                        },
                    });
                    self.ingest_in(txn, vec![failed], None, fx).await?;
                }
            }
            Ok(true)
        })
    }
}
