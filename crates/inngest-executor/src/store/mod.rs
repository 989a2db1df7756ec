//! Database operations, one module per table group. Every function takes a connection or a
//! transaction, so callers decide what commits together.

pub mod flow;
pub mod queue;
pub mod runs;
pub mod waits;

/// Serializes a JSON value for a text column.
pub(crate) fn to_text(value: &serde_json::Value) -> String {
    serde_json::to_string(value).unwrap_or_else(|_| "null".to_owned())
}

/// Reads a JSON text column (stored by us; unreadable text reads as null).
pub(crate) fn from_text(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap_or(serde_json::Value::Null)
}
