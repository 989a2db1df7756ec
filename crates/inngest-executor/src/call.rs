//! One signed execution request to the SDK and what its answer means: completed (200), ops
//! (206), or an error that is retriable or not.

use std::time::Duration;

use chrono::{DateTime, Utc};
use inngest::signing::SigningKey;
use serde::Deserialize;
use serde_json::{json, Value};

/// Above this the request goes without events and steps, and the SDK fetches them (`use_api`).
pub const MAX_INLINE_BYTES: usize = 4 * 1024 * 1024;

/// One op of a 206 answer.
#[derive(Debug, Clone, Deserialize)]
pub struct WireOp {
    /// Hashed step id.
    pub id: String,
    /// Opcode.
    pub op: String,
    /// Step id as written.
    #[serde(default)]
    pub name: String,
    /// Display name.
    #[serde(default, rename = "displayName")]
    pub display_name: Option<String>,
    /// Options.
    #[serde(default)]
    pub opts: Option<Value>,
    /// Output.
    #[serde(default)]
    pub data: Option<Value>,
    /// Error.
    #[serde(default)]
    pub error: Option<Value>,
}

/// What the SDK answered.
#[derive(Debug, Clone)]
pub enum Reply {
    /// 200: the function returned this.
    Completed(Value),
    /// 206: steps to act on; `no_retry` and `retry_after_ms` from the headers.
    Ops {
        /// The ops.
        ops: Vec<WireOp>,
        /// `X-Inngest-No-Retry: true`.
        no_retry: bool,
        /// `Retry-After`, as a delay in ms.
        retry_after_ms: Option<i64>,
    },
    /// The function (or the call) failed.
    Failed {
        /// `{name, message, stack?}`.
        error: Value,
        /// Whether another attempt may succeed.
        retriable: bool,
        /// `Retry-After`, as a delay in ms.
        retry_after_ms: Option<i64>,
    },
}

fn failure(name: &str, message: String) -> Reply {
    Reply::Failed {
        error: json!({ "name": name, "message": message }),
        retriable: true,
        retry_after_ms: None,
    }
}

/// POSTs `body` to `url`, signed with `key`.
pub async fn execute(
    http: &reqwest::Client,
    key: &SigningKey,
    url: &str,
    run_id: &str,
    step_id: &str,
    body: Vec<u8>,
    timeout: Duration,
) -> Reply {
    let signature = key.sign(&body, Utc::now().timestamp());
    let response = http
        .post(url)
        .timeout(timeout)
        .header("content-type", "application/json")
        .header("x-inngest-signature", signature)
        .header("x-inngest-req-version", "2")
        .header("x-inngest-server-kind", "cloud")
        .header("x-run-id", run_id)
        .header("x-inngest-step-id", step_id)
        .body(body)
        .send()
        .await;
    let response = match response {
        Ok(response) => response,
        Err(error) => {
            return failure(
                "CallError",
                format!("could not call {url}: {}", chain(&error)),
            )
        }
    };
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let no_retry = header("x-inngest-no-retry").is_some_and(|v| v.eq_ignore_ascii_case("true"));
    let retry_after_ms = header("retry-after").and_then(|v| parse_retry_after(&v, Utc::now()));
    let text = match response.bytes().await {
        Ok(bytes) => bytes,
        Err(error) => {
            return failure(
                "CallError",
                format!("reading the answer of {url} failed: {error}"),
            )
        }
    };
    if (200..300).contains(&status) && header("x-inngest-sdk").is_none() {
        return failure(
            "MissingSdkHeader",
            format!(
                "{url} answered {status} without X-Inngest-SDK: is it an Inngest serve endpoint?"
            ),
        );
    }
    match status {
        200 => {
            let output = if text.is_empty() {
                Value::Null
            } else {
                serde_json::from_slice(&text)
                    .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&text).into_owned()))
            };
            Reply::Completed(output)
        }
        206 => match serde_json::from_slice::<Vec<WireOp>>(&text) {
            Ok(ops) if !ops.is_empty() => Reply::Ops {
                ops,
                no_retry,
                retry_after_ms,
            },
            Ok(_) => failure("InvalidResponse", "206 without any op".into()),
            Err(error) => failure(
                "InvalidResponse",
                format!("206 body is not a list of ops: {error}"),
            ),
        },
        _ => {
            let body: Value = serde_json::from_slice(&text).unwrap_or(Value::Null);
            let error = if body.get("message").is_some() || body.get("name").is_some() {
                json!({
                    "name": body.get("name").cloned().unwrap_or(json!("Error")),
                    "message": body.get("message").cloned().unwrap_or(json!("")),
                    "stack": body.get("stack").cloned().unwrap_or(Value::Null),
                })
            } else {
                json!({ "name": "Error", "message": format!("{url} answered {status}: {}", String::from_utf8_lossy(&text)) })
            };
            let retriable = !no_retry && status != 400;
            Reply::Failed {
                error,
                retriable,
                retry_after_ms,
            }
        }
    }
}

/// An error with its causes, `a: b: c`.
pub(crate) fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// `Retry-After`: integer seconds (when at most 7 characters) or an HTTP date, clamped to
/// 1 s ..= 24 h, as a delay in ms from `now`.
pub fn parse_retry_after(value: &str, now: DateTime<Utc>) -> Option<i64> {
    let value = value.trim();
    let ms = if value.len() <= 7 {
        value.parse::<i64>().ok()?.saturating_mul(1000)
    } else {
        let at = DateTime::parse_from_rfc2822(value).ok()?;
        at.timestamp_millis() - now.timestamp_millis()
    };
    Some(ms.clamp(1_000, 86_400_000))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_reads_seconds_and_dates_and_clamps() {
        let now = DateTime::parse_from_rfc3339("2030-01-02T03:04:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(parse_retry_after("30", now), Some(30_000));
        assert_eq!(parse_retry_after("0", now), Some(1_000));
        assert_eq!(parse_retry_after("9999999", now), Some(86_400_000));
        assert_eq!(
            parse_retry_after("Wed, 02 Jan 2030 03:04:05 GMT", now),
            Some(5_000)
        );
        assert_eq!(parse_retry_after("soon", now), None);
    }
}
