//! Function configuration: triggers and flow control, validated when the function is built and
//! rendered as the sync payload's function config.

use std::time::Duration;

use serde_json::{json, Map, Value};

use crate::duration::to_time_string;

/// A configuration value the server would reject, named by its field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("function `{function}`: invalid `{field}`: {message}")]
pub struct ConfigError {
    /// The function id.
    pub function: String,
    /// The offending field, as written in the function config (e.g. `throttle.period`).
    pub field: &'static str,
    /// What is wrong and what is allowed.
    pub message: String,
}

/// What starts a run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Trigger {
    /// An event, optionally filtered by a CEL expression over `event`.
    Event {
        /// Event name, e.g. `store/order.placed` (wildcards like `store/*` allowed).
        name: String,
        /// CEL filter, e.g. `event.data.total > 100`.
        expression: Option<String>,
    },
    /// A cron schedule, optionally in a timezone.
    Cron {
        /// Five- or six-field cron expression.
        schedule: String,
        /// IANA timezone, e.g. `America/Los_Angeles`.
        timezone: Option<String>,
    },
}

impl Trigger {
    /// Triggered by the event `name`.
    pub fn event(name: impl Into<String>) -> Self {
        Trigger::Event {
            name: name.into(),
            expression: None,
        }
    }

    /// Triggered on a cron schedule (UTC unless [`Trigger::with_timezone`]).
    pub fn cron(schedule: impl Into<String>) -> Self {
        Trigger::Cron {
            schedule: schedule.into(),
            timezone: None,
        }
    }

    /// Adds a CEL `if` expression to an event trigger (ignored for crons).
    pub fn with_if(mut self, expr: impl Into<String>) -> Self {
        if let Trigger::Event { expression, .. } = &mut self {
            *expression = Some(expr.into());
        }
        self
    }

    /// Sets the timezone of a cron trigger (ignored for events).
    pub fn with_timezone(mut self, tz: impl Into<String>) -> Self {
        if let Trigger::Cron { timezone, .. } = &mut self {
            *timezone = Some(tz.into());
        }
        self
    }

    fn to_wire(&self) -> Value {
        match self {
            Trigger::Event { name, expression } => {
                let mut map = Map::new();
                map.insert("event".into(), json!(name));
                if let Some(expression) = expression {
                    map.insert("expression".into(), json!(expression));
                }
                Value::Object(map)
            }
            Trigger::Cron { schedule, timezone } => match timezone {
                Some(tz) => json!({ "cron": format!("TZ={tz} {schedule}") }),
                None => json!({ "cron": schedule }),
            },
        }
    }
}

/// Which runs a concurrency limit counts together.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConcurrencyScope {
    /// Runs of this function.
    Function,
    /// Runs of every function in the environment sharing the key.
    Environment,
    /// Runs across the account sharing the key.
    Account,
}

/// A concurrency limit, optionally per key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Concurrency {
    /// Steps running at once (0 = the account's maximum).
    pub limit: u32,
    /// CEL expression whose value partitions the limit.
    pub key: Option<String>,
    /// What the limit spans.
    pub scope: Option<ConcurrencyScope>,
}

impl Concurrency {
    /// `limit` runs at once.
    pub fn new(limit: u32) -> Self {
        Self {
            limit,
            key: None,
            scope: None,
        }
    }
    /// Applies the limit per value of the CEL `key`.
    pub fn with_key(mut self, key: impl Into<String>) -> Self {
        self.key = Some(key.into());
        self
    }
    /// Sets the scope.
    pub fn with_scope(mut self, scope: ConcurrencyScope) -> Self {
        self.scope = Some(scope);
        self
    }
}

/// Throttle: delay runs beyond `limit` per `period`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Throttle {
    /// Runs started per period.
    pub limit: u32,
    /// The window.
    pub period: Duration,
    /// CEL key partitioning the throttle.
    pub key: Option<String>,
    /// Extra runs allowed in a burst.
    pub burst: Option<u32>,
}

/// Rate limit: skip runs beyond `limit` per `period`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RateLimit {
    /// Runs per period.
    pub limit: u32,
    /// The window (at most 24 hours).
    pub period: Duration,
    /// CEL key partitioning the limit.
    pub key: Option<String>,
}

/// Debounce: run once after events stop arriving for `period`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Debounce {
    /// Quiet period.
    pub period: Duration,
    /// CEL key partitioning the debounce.
    pub key: Option<String>,
    /// Run at the latest this long after the first event.
    pub timeout: Option<Duration>,
}

/// Batch events into one run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchEvents {
    /// Maximum events per batch.
    pub max_size: u32,
    /// Start the run after this long even when the batch is not full.
    pub timeout: Duration,
    /// CEL key partitioning batches.
    pub key: Option<String>,
}

/// Cancel running runs when a matching event arrives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cancel {
    /// Event name that cancels.
    pub event: String,
    /// CEL match, e.g. `async.data.id == event.data.id`.
    pub if_expr: Option<String>,
    /// Only within this long after the run started.
    pub timeout: Option<Duration>,
}

/// What a singleton does with a new run while one is active.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SingletonMode {
    /// Skip the new run.
    Skip,
    /// Cancel the active run and start the new one.
    Cancel,
}

/// At most one run at a time (per key).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Singleton {
    /// CEL key.
    pub key: Option<String>,
    /// Skip or cancel.
    pub mode: SingletonMode,
}

/// Run deadlines.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Timeouts {
    /// Cancel if not started within this long.
    pub start: Option<Duration>,
    /// Cancel if not finished within this long after starting.
    pub finish: Option<Duration>,
}

/// Maximum retries the server accepts.
pub const MAX_RETRIES: u32 = 20;
/// Retries when none are configured.
pub const DEFAULT_RETRIES: u32 = 4;

/// A function's options, built fluently and validated by [`FunctionOpts::validate`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunctionOpts {
    pub(crate) id: String,
    pub(crate) name: Option<String>,
    pub(crate) triggers: Vec<Trigger>,
    pub(crate) retries: Option<u32>,
    pub(crate) concurrency: Vec<Concurrency>,
    pub(crate) throttle: Option<Throttle>,
    pub(crate) rate_limit: Option<RateLimit>,
    pub(crate) debounce: Option<Debounce>,
    pub(crate) idempotency: Option<String>,
    pub(crate) batch_events: Option<BatchEvents>,
    pub(crate) priority: Option<String>,
    pub(crate) cancel: Vec<Cancel>,
    pub(crate) singleton: Option<Singleton>,
    pub(crate) timeouts: Option<Timeouts>,
}

impl FunctionOpts {
    /// Options for the function `id` (unique within the app).
    pub fn new(id: impl Into<String>) -> Self {
        Self {
            id: id.into(),
            name: None,
            triggers: Vec::new(),
            retries: None,
            concurrency: Vec::new(),
            throttle: None,
            rate_limit: None,
            debounce: None,
            idempotency: None,
            batch_events: None,
            priority: None,
            cancel: Vec::new(),
            singleton: None,
            timeouts: None,
        }
    }

    /// Display name (the id when unset).
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }
    /// Adds a trigger; a function may have several.
    pub fn trigger(mut self, trigger: Trigger) -> Self {
        self.triggers.push(trigger);
        self
    }
    /// Retries after the first attempt (default 4, at most 20).
    pub fn retries(mut self, retries: u32) -> Self {
        self.retries = Some(retries);
        self
    }
    /// Adds a concurrency limit (at most two).
    pub fn concurrency(mut self, limit: Concurrency) -> Self {
        self.concurrency.push(limit);
        self
    }
    /// Sets the throttle.
    pub fn throttle(mut self, throttle: Throttle) -> Self {
        self.throttle = Some(throttle);
        self
    }
    /// Sets the rate limit.
    pub fn rate_limit(mut self, rate_limit: RateLimit) -> Self {
        self.rate_limit = Some(rate_limit);
        self
    }
    /// Sets the debounce.
    pub fn debounce(mut self, debounce: Debounce) -> Self {
        self.debounce = Some(debounce);
        self
    }
    /// Runs at most once per value of this CEL expression within 24 hours.
    pub fn idempotency(mut self, key: impl Into<String>) -> Self {
        self.idempotency = Some(key.into());
        self
    }
    /// Batches events.
    pub fn batch_events(mut self, batch: BatchEvents) -> Self {
        self.batch_events = Some(batch);
        self
    }
    /// Priority: a CEL expression giving seconds to move the run ahead (or back).
    pub fn priority(mut self, run: impl Into<String>) -> Self {
        self.priority = Some(run.into());
        self
    }
    /// Adds a cancel-on event.
    pub fn cancel_on(mut self, cancel: Cancel) -> Self {
        self.cancel.push(cancel);
        self
    }
    /// Makes the function a singleton.
    pub fn singleton(mut self, singleton: Singleton) -> Self {
        self.singleton = Some(singleton);
        self
    }
    /// Sets run deadlines.
    pub fn timeouts(mut self, timeouts: Timeouts) -> Self {
        self.timeouts = Some(timeouts);
        self
    }

    /// The function id as written (without the app prefix).
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Retries, defaulted.
    pub fn retry_count(&self) -> u32 {
        self.retries.unwrap_or(DEFAULT_RETRIES)
    }

    /// Rejects what the server would reject, naming the field.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let fail = |field: &'static str, message: String| ConfigError {
            function: self.id.clone(),
            field,
            message,
        };
        if self.id.trim().is_empty() || self.id.chars().any(char::is_whitespace) {
            return Err(fail(
                "id",
                "must be non-empty and contain no whitespace".into(),
            ));
        }
        if self.triggers.is_empty() {
            return Err(fail(
                "triggers",
                "at least one event or cron trigger is required".into(),
            ));
        }
        for trigger in &self.triggers {
            match trigger {
                Trigger::Event { name, expression } => {
                    if name.trim().is_empty() {
                        return Err(fail(
                            "triggers.event",
                            "event name must not be empty".into(),
                        ));
                    }
                    if expression.as_deref().is_some_and(|e| e.trim().is_empty()) {
                        return Err(fail(
                            "triggers.expression",
                            "expression must not be empty".into(),
                        ));
                    }
                }
                Trigger::Cron { schedule, timezone } => {
                    let fields = schedule.split_whitespace().count();
                    let named = schedule.trim().starts_with('@');
                    if !(named || fields == 5 || fields == 6) {
                        return Err(fail(
                            "triggers.cron",
                            format!("`{schedule}` must have 5 or 6 fields (or be an @-shortcut)"),
                        ));
                    }
                    if timezone
                        .as_deref()
                        .is_some_and(|tz| tz.is_empty() || tz.contains(' '))
                    {
                        return Err(fail(
                            "triggers.cron",
                            "timezone must be an IANA name".into(),
                        ));
                    }
                }
            }
        }
        if self.retry_count() > MAX_RETRIES {
            return Err(fail(
                "retries",
                format!("at most {MAX_RETRIES}, got {}", self.retry_count()),
            ));
        }
        if self.concurrency.len() > 2 {
            return Err(fail("concurrency", "at most two limits".into()));
        }
        for limit in &self.concurrency {
            let scoped = matches!(
                limit.scope,
                Some(ConcurrencyScope::Environment | ConcurrencyScope::Account)
            );
            if scoped && limit.key.is_none() {
                return Err(fail(
                    "concurrency.key",
                    "env and account scopes require a key".into(),
                ));
            }
        }
        let day = Duration::from_secs(86_400);
        let week = day * 7;
        let second = Duration::from_secs(1);
        if let Some(t) = &self.throttle {
            if t.limit == 0 {
                return Err(fail("throttle.limit", "must be at least 1".into()));
            }
            if t.period < second || t.period > week {
                return Err(fail("throttle.period", "must be between 1s and 7d".into()));
            }
            if t.burst == Some(0) {
                return Err(fail("throttle.burst", "must be at least 1".into()));
            }
        }
        if let Some(r) = &self.rate_limit {
            if r.limit == 0 {
                return Err(fail("rateLimit.limit", "must be at least 1".into()));
            }
            if r.period < second || r.period > day {
                return Err(fail(
                    "rateLimit.period",
                    "must be between 1s and 24h".into(),
                ));
            }
        }
        if let Some(d) = &self.debounce {
            if d.period < second || d.period > week {
                return Err(fail("debounce.period", "must be between 1s and 7d".into()));
            }
            if d.timeout.is_some_and(|t| t < d.period) {
                return Err(fail(
                    "debounce.timeout",
                    "must not be shorter than the period".into(),
                ));
            }
        }
        if let Some(b) = &self.batch_events {
            if b.max_size == 0 {
                return Err(fail("batchEvents.maxSize", "must be at least 1".into()));
            }
            if b.timeout < second || b.timeout > Duration::from_secs(60) {
                return Err(fail(
                    "batchEvents.timeout",
                    "must be between 1s and 60s".into(),
                ));
            }
        }
        if self.cancel.iter().any(|c| c.event.trim().is_empty()) {
            return Err(fail("cancel.event", "event name must not be empty".into()));
        }
        if let Some(t) = &self.timeouts {
            if t.start == Some(Duration::ZERO) || t.finish == Some(Duration::ZERO) {
                return Err(fail(
                    "timeouts",
                    "deadlines must be longer than zero".into(),
                ));
            }
        }
        Ok(())
    }

    /// The function config of the sync payload.
    pub(crate) fn to_wire(&self, full_id: &str, step_url: &str) -> Value {
        let mut map = Map::new();
        map.insert("id".into(), json!(full_id));
        map.insert(
            "name".into(),
            json!(self.name.as_deref().unwrap_or(&self.id)),
        );
        map.insert(
            "triggers".into(),
            Value::Array(self.triggers.iter().map(Trigger::to_wire).collect()),
        );
        map.insert(
            "steps".into(),
            json!({ "step": {
                "id": "step",
                "name": "step",
                "runtime": { "type": "http", "url": step_url },
                "retries": { "attempts": self.retry_count() },
            }}),
        );
        if !self.concurrency.is_empty() {
            let limits = self.concurrency.iter().map(|c| {
                let mut m = Map::new();
                m.insert("limit".into(), json!(c.limit));
                insert_opt(&mut m, "key", c.key.as_ref());
                if let Some(scope) = c.scope {
                    let scope = match scope {
                        ConcurrencyScope::Function => "fn",
                        ConcurrencyScope::Environment => "env",
                        ConcurrencyScope::Account => "account",
                    };
                    m.insert("scope".into(), json!(scope));
                }
                Value::Object(m)
            });
            map.insert("concurrency".into(), Value::Array(limits.collect()));
        }
        if let Some(t) = &self.throttle {
            let mut m = Map::new();
            m.insert("limit".into(), json!(t.limit));
            m.insert("period".into(), json!(to_time_string(t.period)));
            insert_opt(&mut m, "key", t.key.as_ref());
            insert_opt(&mut m, "burst", t.burst.as_ref());
            map.insert("throttle".into(), Value::Object(m));
        }
        if let Some(r) = &self.rate_limit {
            let mut m = Map::new();
            m.insert("limit".into(), json!(r.limit));
            m.insert("period".into(), json!(to_time_string(r.period)));
            insert_opt(&mut m, "key", r.key.as_ref());
            map.insert("rateLimit".into(), Value::Object(m));
        }
        if let Some(d) = &self.debounce {
            let mut m = Map::new();
            m.insert("period".into(), json!(to_time_string(d.period)));
            insert_opt(&mut m, "key", d.key.as_ref());
            insert_opt(&mut m, "timeout", d.timeout.map(to_time_string).as_ref());
            map.insert("debounce".into(), Value::Object(m));
        }
        insert_opt(&mut map, "idempotency", self.idempotency.as_ref());
        if let Some(b) = &self.batch_events {
            let mut m = Map::new();
            m.insert("maxSize".into(), json!(b.max_size));
            m.insert("timeout".into(), json!(to_time_string(b.timeout)));
            insert_opt(&mut m, "key", b.key.as_ref());
            map.insert("batchEvents".into(), Value::Object(m));
        }
        if let Some(run) = &self.priority {
            map.insert("priority".into(), json!({ "run": run }));
        }
        if !self.cancel.is_empty() {
            let cancels = self.cancel.iter().map(|c| {
                let mut m = Map::new();
                m.insert("event".into(), json!(c.event));
                insert_opt(&mut m, "if", c.if_expr.as_ref());
                insert_opt(&mut m, "timeout", c.timeout.map(to_time_string).as_ref());
                Value::Object(m)
            });
            map.insert("cancel".into(), Value::Array(cancels.collect()));
        }
        if let Some(s) = &self.singleton {
            let mut m = Map::new();
            insert_opt(&mut m, "key", s.key.as_ref());
            let mode = match s.mode {
                SingletonMode::Skip => "skip",
                SingletonMode::Cancel => "cancel",
            };
            m.insert("mode".into(), json!(mode));
            map.insert("singleton".into(), Value::Object(m));
        }
        if let Some(t) = &self.timeouts {
            let mut m = Map::new();
            insert_opt(&mut m, "start", t.start.map(to_time_string).as_ref());
            insert_opt(&mut m, "finish", t.finish.map(to_time_string).as_ref());
            map.insert("timeouts".into(), Value::Object(m));
        }
        Value::Object(map)
    }
}

fn insert_opt<T: serde::Serialize>(map: &mut Map<String, Value>, key: &str, value: Option<&T>) {
    if let Some(value) = value {
        map.insert(key.into(), json!(value));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> FunctionOpts {
        FunctionOpts::new("f").trigger(Trigger::event("a/b"))
    }

    #[test]
    fn rejects_bad_fields_by_name() {
        let cases: Vec<(FunctionOpts, &str)> = vec![
            (FunctionOpts::new("f"), "triggers"),
            (FunctionOpts::new(" ").trigger(Trigger::event("a")), "id"),
            (base().retries(21), "retries"),
            (
                FunctionOpts::new("f").trigger(Trigger::cron("* *")),
                "triggers.cron",
            ),
            (
                base().throttle(Throttle {
                    limit: 0,
                    period: Duration::from_secs(1),
                    key: None,
                    burst: None,
                }),
                "throttle.limit",
            ),
            (
                base().rate_limit(RateLimit {
                    limit: 1,
                    period: Duration::from_secs(90_000),
                    key: None,
                }),
                "rateLimit.period",
            ),
            (
                base().batch_events(BatchEvents {
                    max_size: 10,
                    timeout: Duration::from_secs(61),
                    key: None,
                }),
                "batchEvents.timeout",
            ),
            (
                base().concurrency(Concurrency::new(1).with_scope(ConcurrencyScope::Account)),
                "concurrency.key",
            ),
            (
                base()
                    .concurrency(Concurrency::new(1))
                    .concurrency(Concurrency::new(2))
                    .concurrency(Concurrency::new(3)),
                "concurrency",
            ),
        ];
        for (opts, field) in cases {
            let err = opts.validate().expect_err(field);
            assert_eq!(err.field, field, "{err}");
            assert!(err.to_string().contains(field));
        }
    }

    #[test]
    fn renders_every_option() {
        let opts = FunctionOpts::new("configured")
            .trigger(Trigger::event("test/configured").with_if("event.data.ok == true"))
            .trigger(Trigger::cron("0 9 * * *").with_timezone("Europe/Paris"))
            .retries(5)
            .concurrency(Concurrency::new(1).with_key("event.data.k"))
            .throttle(Throttle {
                limit: 10,
                period: Duration::from_secs(60),
                key: Some("event.data.k".into()),
                burst: Some(2),
            })
            .rate_limit(RateLimit {
                limit: 100,
                period: Duration::from_secs(3600),
                key: Some("event.data.k".into()),
            })
            .idempotency("event.data.id")
            .priority("event.data.p")
            .cancel_on(Cancel {
                event: "test/cancel".into(),
                if_expr: Some("async.data.id == event.data.id".into()),
                timeout: Some(Duration::from_secs(3600)),
            })
            .timeouts(Timeouts {
                start: Some(Duration::from_secs(60)),
                finish: Some(Duration::from_secs(3600)),
            });
        opts.validate().unwrap();
        let wire = opts.to_wire(
            "app-configured",
            "http://x/api/inngest?fnId=app-configured&stepId=step",
        );
        assert_eq!(
            wire,
            json!({
                "id": "app-configured", "name": "configured",
                "triggers": [{"event": "test/configured", "expression": "event.data.ok == true"}, {"cron": "TZ=Europe/Paris 0 9 * * *"}],
                "steps": {"step": {"id": "step", "name": "step", "runtime": {"type": "http", "url": "http://x/api/inngest?fnId=app-configured&stepId=step"}, "retries": {"attempts": 5}}},
                "concurrency": [{"limit": 1, "key": "event.data.k"}],
                "throttle": {"limit": 10, "period": "1m", "key": "event.data.k", "burst": 2},
                "rateLimit": {"limit": 100, "period": "1h", "key": "event.data.k"},
                "idempotency": "event.data.id",
                "priority": {"run": "event.data.p"},
                "cancel": [{"event": "test/cancel", "if": "async.data.id == event.data.id", "timeout": "1h"}],
                "timeouts": {"start": "1m", "finish": "1h"}
            })
        );
    }
}
