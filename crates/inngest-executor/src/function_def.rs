//! A synced function config (the SDK's JSON) read into what the executor acts on: triggers,
//! retries, the step URL and flow control.

use serde_json::Value;

use crate::cron::CronSchedule;
use crate::timestr::parse_duration_ms;

/// Retries when the config says nothing (so 5 attempts).
pub const DEFAULT_RETRIES: u32 = 4;
/// The most retries the server accepts.
pub const MAX_RETRIES: u32 = 20;

/// What starts a function.
#[derive(Debug, Clone)]
pub enum TriggerDef {
    /// An event name (`prefix/*` matches a prefix) with an optional CEL condition.
    Event {
        /// Name or wildcard.
        name: String,
        /// Condition over `event`.
        expression: Option<String>,
    },
    /// A schedule.
    Cron(Box<CronSchedule>),
}

/// One concurrency limit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConcurrencyDef {
    /// Concurrent runs allowed.
    pub limit: u32,
    /// Key expression (one limit per value).
    pub key: Option<String>,
    /// `fn` (default), `env` or `account`.
    pub scope: String,
}

/// Rate limit: at most `limit` runs started per `period_ms` (per key).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RateLimitDef {
    /// Runs per period.
    pub limit: u32,
    /// Period.
    pub period_ms: i64,
    /// Key expression.
    pub key: Option<String>,
}

/// Debounce: run once `period_ms` after the last event (at most `timeout_ms` after the first).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DebounceDef {
    /// Quiet period.
    pub period_ms: i64,
    /// Key expression.
    pub key: Option<String>,
    /// Longest delay.
    pub timeout_ms: Option<i64>,
}

/// Batching: up to `max_size` events, or what arrived within `timeout_ms`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchDef {
    /// Events per batch.
    pub max_size: u32,
    /// Longest wait for a full batch.
    pub timeout_ms: i64,
    /// Key expression.
    pub key: Option<String>,
}

/// Cancel running runs on an event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CancelDef {
    /// Event name.
    pub event: String,
    /// Condition over `event` (the run's) and `async` (the cancelling event).
    pub if_expr: Option<String>,
    /// Only runs younger than this.
    pub timeout_ms: Option<i64>,
}

/// A function as the executor uses it.
#[derive(Debug, Clone)]
pub struct FunctionDef {
    /// Full id (`<app>-<fn>`).
    pub id: String,
    /// Display name.
    pub name: String,
    /// The step URL (`…?fnId=<id>&stepId=step`).
    pub url: String,
    /// Attempts per step: retries + 1.
    pub max_attempts: u32,
    /// Triggers.
    pub triggers: Vec<TriggerDef>,
    /// Concurrency limits.
    pub concurrency: Vec<ConcurrencyDef>,
    /// Rate limit.
    pub rate_limit: Option<RateLimitDef>,
    /// Debounce.
    pub debounce: Option<DebounceDef>,
    /// Idempotency key expression.
    pub idempotency: Option<String>,
    /// Batching.
    pub batch: Option<BatchDef>,
    /// Cancel-on events.
    pub cancel: Vec<CancelDef>,
    /// `timeouts.start`: cancel a run not started this long after it was created.
    pub timeout_start_ms: Option<i64>,
    /// `timeouts.finish`: cancel a run not finished this long after it started.
    pub timeout_finish_ms: Option<i64>,
}

fn string(value: &Value, key: &str) -> Option<String> {
    value.get(key).and_then(Value::as_str).map(str::to_owned)
}

fn duration(value: &Value, key: &str) -> Option<i64> {
    value
        .get(key)
        .and_then(Value::as_str)
        .and_then(parse_duration_ms)
}

fn count(value: &Value, key: &str) -> Option<u32> {
    value
        .get(key)
        .and_then(Value::as_u64)
        .and_then(|n| u32::try_from(n).ok())
}

impl FunctionDef {
    /// Reads a function config as sent at sync.
    pub fn parse(config: &Value) -> Result<Self, String> {
        let id = string(config, "id").ok_or("missing `id`")?;
        let name = string(config, "name").unwrap_or_else(|| id.clone());
        let step = config
            .get("steps")
            .and_then(|s| {
                s.get("step")
                    .or_else(|| s.as_object().and_then(|m| m.values().next()))
            })
            .ok_or("missing `steps.step`")?;
        let url = step
            .get("runtime")
            .and_then(|r| string(r, "url"))
            .ok_or("missing `steps.step.runtime.url`")?;
        let retries = step
            .get("retries")
            .and_then(|r| count(r, "attempts"))
            .unwrap_or(DEFAULT_RETRIES)
            .min(MAX_RETRIES);
        let mut triggers = Vec::new();
        for trigger in config
            .get("triggers")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if let Some(event) = string(trigger, "event") {
                triggers.push(TriggerDef::Event {
                    name: event,
                    expression: string(trigger, "expression"),
                });
            } else if let Some(cron) = string(trigger, "cron") {
                triggers.push(TriggerDef::Cron(Box::new(CronSchedule::parse(&cron)?)));
            }
        }
        let concurrency = match config.get("concurrency") {
            Some(Value::Array(limits)) => limits.iter().filter_map(concurrency).collect(),
            Some(Value::Number(n)) => n
                .as_u64()
                .and_then(|n| u32::try_from(n).ok())
                .map(|limit| {
                    vec![ConcurrencyDef {
                        limit,
                        key: None,
                        scope: "fn".into(),
                    }]
                })
                .unwrap_or_default(),
            Some(object @ Value::Object(_)) => concurrency(object).into_iter().collect(),
            _ => Vec::new(),
        };
        let rate_limit = config.get("rateLimit").and_then(|r| {
            Some(RateLimitDef {
                limit: count(r, "limit")?,
                period_ms: duration(r, "period")?,
                key: string(r, "key"),
            })
        });
        let debounce = config.get("debounce").and_then(|d| {
            Some(DebounceDef {
                period_ms: duration(d, "period")?,
                key: string(d, "key"),
                timeout_ms: duration(d, "timeout"),
            })
        });
        let batch = config.get("batchEvents").and_then(|b| {
            Some(BatchDef {
                max_size: count(b, "maxSize")?.max(1),
                timeout_ms: duration(b, "timeout")?,
                key: string(b, "key"),
            })
        });
        let cancel = config
            .get("cancel")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|c| {
                Some(CancelDef {
                    event: string(c, "event")?,
                    if_expr: string(c, "if"),
                    timeout_ms: duration(c, "timeout"),
                })
            })
            .collect();
        let timeouts = config.get("timeouts");
        let timeout = |key: &str| timeouts.and_then(|t| duration(t, key)).filter(|ms| *ms > 0);
        let (timeout_start_ms, timeout_finish_ms) = (timeout("start"), timeout("finish"));
        Ok(Self {
            id,
            name,
            url,
            max_attempts: retries + 1,
            triggers,
            concurrency,
            rate_limit,
            debounce,
            idempotency: string(config, "idempotency"),
            batch,
            cancel,
            timeout_start_ms,
            timeout_finish_ms,
        })
    }

    /// The step URL with `stepId` set to `step_id`.
    pub fn step_url(&self, step_id: &str) -> String {
        match url::Url::parse(&self.url) {
            Ok(mut url) => {
                let pairs: Vec<(String, String)> = url
                    .query_pairs()
                    .filter(|(k, _)| k != "stepId")
                    .map(|(k, v)| (k.into_owned(), v.into_owned()))
                    .collect();
                url.query_pairs_mut()
                    .clear()
                    .extend_pairs(pairs)
                    .append_pair("stepId", step_id);
                url.to_string()
            }
            Err(_) => self.url.clone(),
        }
    }

    /// Whether an event trigger of this function names `event_name`, with its condition.
    pub fn event_triggers<'a>(
        &'a self,
        event_name: &'a str,
    ) -> impl Iterator<Item = Option<&'a str>> + 'a {
        self.triggers.iter().filter_map(move |t| match t {
            TriggerDef::Event { name, expression } if name_matches(name, event_name) => {
                Some(expression.as_deref())
            }
            _ => None,
        })
    }

    /// The cron schedules.
    pub fn crons(&self) -> impl Iterator<Item = &CronSchedule> {
        self.triggers.iter().filter_map(|t| match t {
            TriggerDef::Cron(schedule) => Some(schedule.as_ref()),
            TriggerDef::Event { .. } => None,
        })
    }
}

fn concurrency(value: &Value) -> Option<ConcurrencyDef> {
    Some(ConcurrencyDef {
        limit: count(value, "limit")?,
        key: string(value, "key"),
        scope: string(value, "scope").unwrap_or_else(|| "fn".into()),
    })
}

/// Whether trigger `pattern` (an exact name or `prefix/*`) matches `name`.
pub fn name_matches(pattern: &str, name: &str) -> bool {
    match pattern.strip_suffix('*') {
        Some(prefix) => name.starts_with(prefix),
        None => pattern == name,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_the_sdk_config() {
        let config = json!({
            "id": "app-f", "name": "f",
            "triggers": [{"event": "shop/*", "expression": "event.data.ok"}, {"cron": "TZ=Europe/Paris 0 9 * * *"}],
            "steps": {"step": {"id": "step", "name": "step", "runtime": {"type": "http", "url": "http://h/api/inngest?fnId=app-f&stepId=step"}, "retries": {"attempts": 2}}},
            "concurrency": [{"limit": 1, "key": "event.data.k"}],
            "rateLimit": {"limit": 10, "period": "1h"},
            "debounce": {"period": "5s", "timeout": "1m"},
            "idempotency": "event.data.id",
            "batchEvents": {"maxSize": 10, "timeout": "5s"},
            "cancel": [{"event": "shop/cancel", "if": "async.data.id == event.data.id", "timeout": "1h"}],
            "timeouts": {"start": "30s", "finish": "2h"}
        });
        let f = FunctionDef::parse(&config).unwrap();
        assert_eq!(f.max_attempts, 3);
        assert_eq!(
            f.event_triggers("shop/order").collect::<Vec<_>>(),
            vec![Some("event.data.ok")]
        );
        assert_eq!(f.event_triggers("other/order").count(), 0);
        assert_eq!(f.crons().count(), 1);
        assert_eq!(
            f.concurrency,
            vec![ConcurrencyDef {
                limit: 1,
                key: Some("event.data.k".into()),
                scope: "fn".into()
            }]
        );
        assert_eq!(f.rate_limit.as_ref().map(|r| r.period_ms), Some(3_600_000));
        assert_eq!(f.debounce.as_ref().and_then(|d| d.timeout_ms), Some(60_000));
        assert_eq!(f.batch.as_ref().map(|b| b.max_size), Some(10));
        assert_eq!(f.cancel.len(), 1);
        assert_eq!(
            (f.timeout_start_ms, f.timeout_finish_ms),
            (Some(30_000), Some(7_200_000))
        );
        assert_eq!(
            f.step_url("abc"),
            "http://h/api/inngest?fnId=app-f&stepId=abc"
        );
    }

    #[test]
    fn defaults_to_four_retries() {
        let config = json!({"id": "a-b", "triggers": [], "steps": {"step": {"runtime": {"url": "http://h/x?fnId=a-b&stepId=step"}}}});
        let f = FunctionDef::parse(&config).unwrap();
        assert_eq!(f.max_attempts, 5);
        assert_eq!((f.timeout_start_ms, f.timeout_finish_ms), (None, None));
    }
}
