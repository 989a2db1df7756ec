//! Wire types of the serve protocol: the executor's call request and the ops the SDK reports.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::ErrorBody;

/// The body the executor POSTs to run a function.
#[derive(Debug, Default, Deserialize)]
pub struct CallRequest {
    /// The triggering event.
    #[serde(default)]
    pub event: Value,
    /// All events of a batch (the triggering event alone otherwise).
    #[serde(default)]
    pub events: Vec<Value>,
    /// Memoized step results by hashed step id.
    #[serde(default)]
    pub steps: HashMap<String, Value>,
    /// Run context.
    #[serde(default)]
    pub ctx: CallContext,
    /// Protocol version.
    #[serde(default)]
    pub version: i64,
    /// Set when the payload was too large: fetch events and steps from the API.
    #[serde(default)]
    pub use_api: bool,
}

/// `ctx` of a call request.
#[derive(Debug, Default, Clone, Deserialize)]
pub struct CallContext {
    /// The function's full id.
    #[serde(default)]
    pub fn_id: String,
    /// The run id.
    #[serde(default)]
    pub run_id: String,
    /// The Inngest environment.
    #[serde(default)]
    pub env: String,
    /// `step` or the hashed id of a planned step to execute.
    #[serde(default)]
    pub step_id: String,
    /// Zero-based attempt of the current step or function.
    #[serde(default)]
    pub attempt: u32,
    /// Total attempts allowed (retries + 1), when the executor says.
    #[serde(default)]
    pub max_attempts: Option<u32>,
    /// The order in which memoized steps completed.
    #[serde(default)]
    pub stack: CallStack,
    /// Set once a response reported several steps: plan every step from then on.
    #[serde(default)]
    pub disable_immediate_execution: bool,
    /// Mirrors the top-level `use_api`.
    #[serde(default)]
    pub use_api: bool,
}

/// `ctx.stack`.
#[derive(Debug, Default, Clone, Deserialize)]
pub struct CallStack {
    /// Hashed step ids in completion order.
    #[serde(default)]
    pub stack: Vec<String>,
    /// Index of the current position.
    #[serde(default)]
    pub current: usize,
}

/// A memoized step outcome.
#[derive(Debug, Clone, PartialEq)]
pub enum Memo {
    /// The step's output (null for sleeps, an event or null for waits, ...).
    Data(Value),
    /// The step failed for good.
    Error(ErrorBody),
}

impl Memo {
    /// Reads a `steps` entry: `{"data": …}`, `{"error": …}`, `null` or a raw value such as an event.
    pub fn from_wire(value: Value) -> Memo {
        if let Value::Object(map) = &value {
            let envelope_only = map
                .keys()
                .all(|k| matches!(k.as_str(), "data" | "error" | "input"));
            if envelope_only {
                if let Some(error) = map.get("error").filter(|e| !e.is_null()) {
                    let body =
                        serde_json::from_value(error.clone()).unwrap_or_else(|_| ErrorBody {
                            name: "Error".into(),
                            message: error.to_string(),
                            stack: None,
                        });
                    return Memo::Error(body);
                }
                if map.contains_key("data") {
                    let Value::Object(mut map) = value else {
                        unreachable!("matched as an object above")
                    };
                    return Memo::Data(map.remove("data").unwrap_or(Value::Null));
                }
            }
        }
        Memo::Data(value)
    }
}

/// The op codes the SDK reports (wire strings).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Opcode {
    /// A step ran inline; `data` is its output.
    StepRun,
    /// A step failed and may be retried.
    StepError,
    /// A step failed for good.
    StepFailed,
    /// A step was found; the executor calls back to run it.
    StepPlanned,
    /// Pause for `opts.duration`.
    Sleep,
    /// Wait for a matching event.
    WaitForEvent,
    /// Invoke another function.
    InvokeFunction,
    /// Offload an AI inference request.
    AIGateway,
    /// Offload an HTTP request.
    Gateway,
    /// Wait for a signal.
    WaitForSignal,
    /// The run completed (checkpointing SDKs only; kept for completeness).
    RunComplete,
    /// Legacy generic step.
    Step,
}

/// One op in a 206 response.
#[derive(Debug, Clone, PartialEq)]
pub struct GeneratorOp {
    /// Hashed step id.
    pub id: String,
    /// What happened or is requested.
    pub op: Opcode,
    /// The unhashed step id, as the user wrote it.
    pub name: String,
    /// The display name (the user's id unless set).
    pub display_name: String,
    /// Op options, when the op has any.
    pub opts: Option<Value>,
    /// Output: present (possibly null) for StepRun, Sleep, WaitForEvent and StepError.
    pub data: Option<Value>,
    /// The error of StepError and StepFailed.
    pub error: Option<ErrorBody>,
}

impl Serialize for GeneratorOp {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = Map::new();
        map.insert("id".into(), Value::String(self.id.clone()));
        map.insert(
            "op".into(),
            serde_json::to_value(self.op).map_err(serde::ser::Error::custom)?,
        );
        map.insert("name".into(), Value::String(self.name.clone()));
        map.insert(
            "displayName".into(),
            Value::String(self.display_name.clone()),
        );
        if let Some(opts) = &self.opts {
            map.insert("opts".into(), opts.clone());
        }
        if let Some(data) = &self.data {
            map.insert("data".into(), data.clone());
        }
        if let Some(error) = &self.error {
            map.insert(
                "error".into(),
                serde_json::to_value(error).map_err(serde::ser::Error::custom)?,
            );
        }
        map.serialize(serializer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn memo_unwraps_envelopes_and_keeps_raw_values() {
        assert_eq!(Memo::from_wire(json!({"data": 5})), Memo::Data(json!(5)));
        assert_eq!(Memo::from_wire(Value::Null), Memo::Data(Value::Null));
        let event = json!({"name": "a/b", "data": {"x": 1}, "id": "1", "ts": 1});
        assert_eq!(Memo::from_wire(event.clone()), Memo::Data(event));
        assert_eq!(
            Memo::from_wire(json!({"error": {"name": "Error", "message": "boom"}})),
            Memo::Error(ErrorBody {
                name: "Error".into(),
                message: "boom".into(),
                stack: None
            })
        );
    }

    #[test]
    fn ops_serialize_only_present_fields() {
        let op = GeneratorOp {
            id: "abc".into(),
            op: Opcode::Sleep,
            name: "nap".into(),
            display_name: "nap".into(),
            opts: Some(json!({"duration": "2s"})),
            data: Some(Value::Null),
            error: None,
        };
        assert_eq!(
            serde_json::to_string(&op).unwrap(),
            r#"{"id":"abc","op":"Sleep","name":"nap","displayName":"nap","opts":{"duration":"2s"},"data":null}"#
        );
    }
}
