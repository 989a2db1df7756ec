//! Wire types of the serve protocol: the executor's call request and the ops the SDK reports.

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
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
    /// Memoized step results by hashed step id, kept unparsed until a step consumes them.
    #[serde(default, deserialize_with = "memo_entries")]
    pub steps: Vec<(String, Box<RawValue>)>,
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

/// Reads the `steps` object as a list (no hashing while parsing: the run state indexes it once).
fn memo_entries<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Vec<(String, Box<RawValue>)>, D::Error> {
    struct Entries;
    impl<'de> serde::de::Visitor<'de> for Entries {
        type Value = Vec<(String, Box<RawValue>)>;

        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("an object of memoized steps")
        }

        fn visit_unit<E: serde::de::Error>(self) -> Result<Self::Value, E> {
            Ok(Vec::new())
        }

        fn visit_map<A: serde::de::MapAccess<'de>>(
            self,
            mut map: A,
        ) -> Result<Self::Value, A::Error> {
            let mut entries = Vec::with_capacity(map.size_hint().unwrap_or(16));
            while let Some(entry) = map.next_entry()? {
                entries.push(entry);
            }
            Ok(entries)
        }
    }
    deserializer.deserialize_any(Entries)
}

/// A memoized step outcome, borrowed from the raw `steps` entry.
#[derive(Debug, Clone)]
pub enum Memo<'a> {
    /// The step's output (null for sleeps, an event or null for waits, ...), as raw JSON.
    Data(&'a RawValue),
    /// The step completed with no data (`null`).
    Null,
    /// The step failed for good.
    Error(ErrorBody),
}

/// The `{"data": …}` / `{"error": …}` envelope of a `steps` entry; anything else is a raw value.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Envelope<'a> {
    #[serde(default, borrow)]
    data: Option<&'a RawValue>,
    #[serde(default)]
    error: Option<Value>,
    #[serde(default, borrow, rename = "input")]
    _input: Option<&'a RawValue>,
}

impl<'a> Memo<'a> {
    /// Reads a `steps` entry: `{"data": …}`, `{"error": …}`, `null` or a raw value such as an event.
    pub fn from_wire(raw: &'a RawValue) -> Memo<'a> {
        match serde_json::from_str::<Envelope<'a>>(raw.get()) {
            Ok(Envelope {
                error: Some(error), ..
            }) if !error.is_null() => {
                let body = serde_json::from_value(error.clone()).unwrap_or_else(|_| ErrorBody {
                    name: "Error".into(),
                    message: error.to_string(),
                    stack: None,
                });
                Memo::Error(body)
            }
            Ok(Envelope {
                data: Some(data), ..
            }) => Memo::Data(data),
            Ok(_) => Memo::Null,
            Err(_) => Memo::Data(raw),
        }
    }

    /// The JSON text of the data (`null` for [`Memo::Null`]); `None` for an error.
    pub fn data_json(&self) -> Option<&str> {
        match self {
            Memo::Data(raw) => Some(raw.get()),
            Memo::Null => Some("null"),
            Memo::Error(_) => None,
        }
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

    fn read(value: Value) -> Result<Value, ErrorBody> {
        let raw = serde_json::value::to_raw_value(&value).unwrap();
        match Memo::from_wire(&raw) {
            Memo::Error(body) => Err(body),
            data => Ok(serde_json::from_str(data.data_json().unwrap()).unwrap()),
        }
    }

    #[test]
    fn memo_unwraps_envelopes_and_keeps_raw_values() {
        assert_eq!(read(json!({"data": 5})), Ok(json!(5)));
        assert_eq!(read(json!({"data": null})), Ok(Value::Null));
        assert_eq!(read(Value::Null), Ok(Value::Null));
        let event = json!({"name": "a/b", "data": {"x": 1}, "id": "1", "ts": 1});
        assert_eq!(read(event.clone()), Ok(event));
        assert_eq!(
            read(json!({"error": {"name": "Error", "message": "boom"}})),
            Err(ErrorBody {
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
