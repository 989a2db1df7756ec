//! Events: what triggers functions and what `send` delivers.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// An Inngest event with typed `data`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event<D = Value> {
    /// Unique id; the event API derives one when it is empty. Sends with the same id are
    /// deduplicated by Inngest.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The event name, e.g. `store/order.placed`.
    pub name: String,
    /// The payload.
    pub data: D,
    /// Optional user attributes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<Value>,
    /// Milliseconds since the Unix epoch; filled at send time when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ts: Option<i64>,
    /// Schema version of the payload.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub v: Option<String>,
}

impl<D> Event<D> {
    /// An event named `name` carrying `data`.
    pub fn new(name: impl Into<String>, data: D) -> Self {
        Self {
            id: None,
            name: name.into(),
            data,
            user: None,
            ts: None,
            v: None,
        }
    }

    /// Sets the id (idempotency: the same id is accepted once).
    pub fn with_id(mut self, id: impl Into<String>) -> Self {
        self.id = Some(id.into());
        self
    }

    /// Sets the timestamp in milliseconds.
    pub fn with_ts(mut self, ts: i64) -> Self {
        self.ts = Some(ts);
        self
    }

    /// Sets user attributes.
    pub fn with_user(mut self, user: Value) -> Self {
        self.user = Some(user);
        self
    }

    /// Sets the payload schema version.
    pub fn with_version(mut self, v: impl Into<String>) -> Self {
        self.v = Some(v.into());
        self
    }
}

impl<D: Serialize> Event<D> {
    /// The event as JSON, with `data` defaulting to `{}` and `ts` filled in.
    pub(crate) fn to_wire(&self, now_ms: i64) -> Result<Value, serde_json::Error> {
        let mut value = serde_json::to_value(self)?;
        if let Value::Object(map) = &mut value {
            if map.get("data").is_none_or(Value::is_null) {
                map.insert("data".into(), Value::Object(Default::default()));
            }
            map.entry("ts").or_insert_with(|| Value::from(now_ms));
        }
        Ok(value)
    }
}

/// The payload of `inngest/function.failed`, received by `on_failure` handlers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FunctionFailed<D = Value> {
    /// The failed function's full id (`<app>-<fn>`).
    pub function_id: String,
    /// The failed run.
    pub run_id: String,
    /// The final error.
    pub error: crate::ErrorBody,
    /// The event that started the failed run.
    pub event: Event<D>,
}

/// The name of the event emitted when a function fails for good.
pub const FUNCTION_FAILED_EVENT: &str = "inngest/function.failed";
