//! Options of the step kinds that the executor carries out (waits, invokes, AI inference).

use std::time::Duration;

use serde_json::{json, Map, Value};

use crate::duration::to_time_string;

/// Options of [`crate::Step::wait_for_event`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WaitForEvent {
    /// The event name to wait for.
    pub event: String,
    /// Give up (resolve to `None`) after this long.
    pub timeout: Duration,
    /// CEL match between the awaited event (`async`) and the run's event (`event`).
    pub if_expr: Option<String>,
}

impl WaitForEvent {
    /// Waits up to `timeout` for `event`.
    pub fn new(event: impl Into<String>, timeout: Duration) -> Self {
        Self {
            event: event.into(),
            timeout,
            if_expr: None,
        }
    }

    /// Only events matching this CEL expression, e.g. `async.data.id == event.data.id`.
    pub fn with_if(mut self, expr: impl Into<String>) -> Self {
        self.if_expr = Some(expr.into());
        self
    }

    pub(crate) fn to_opts(&self) -> Value {
        let mut map = Map::new();
        map.insert("event".into(), json!(self.event));
        if let Some(expr) = &self.if_expr {
            map.insert("if".into(), json!(expr));
        }
        map.insert("timeout".into(), json!(to_time_string(self.timeout)));
        Value::Object(map)
    }
}

/// What happens when a second run waits for a signal that is already being waited for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignalConflict {
    /// The new wait replaces the old one.
    Replace,
    /// The new wait fails.
    Fail,
}

/// Options of [`crate::Step::wait_for_signal`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WaitForSignal {
    /// The signal name.
    pub signal: String,
    /// Give up (resolve to `None`) after this long.
    pub timeout: Duration,
    /// Conflict handling.
    pub conflict: Option<SignalConflict>,
}

impl WaitForSignal {
    /// Waits up to `timeout` for `signal`.
    pub fn new(signal: impl Into<String>, timeout: Duration) -> Self {
        Self {
            signal: signal.into(),
            timeout,
            conflict: None,
        }
    }

    /// Sets conflict handling.
    pub fn with_conflict(mut self, conflict: SignalConflict) -> Self {
        self.conflict = Some(conflict);
        self
    }

    pub(crate) fn to_opts(&self) -> Value {
        let mut map = Map::new();
        map.insert("signal".into(), json!(self.signal));
        map.insert("timeout".into(), json!(to_time_string(self.timeout)));
        if let Some(conflict) = self.conflict {
            let conflict = match conflict {
                SignalConflict::Replace => "replace",
                SignalConflict::Fail => "fail",
            };
            map.insert("conflict".into(), json!(conflict));
        }
        Value::Object(map)
    }
}

/// Options of [`crate::Step::invoke`].
#[derive(Debug, Clone, PartialEq)]
pub struct Invoke {
    /// Full id of the function to invoke (`<app>-<fn>`).
    pub function_id: String,
    /// The invoked function's `event.data`.
    pub data: Value,
    /// Give up after this long.
    pub timeout: Option<Duration>,
}

impl Invoke {
    /// Invokes the function with full id `function_id` with `data`.
    pub fn new(function_id: impl Into<String>, data: Value) -> Self {
        Self {
            function_id: function_id.into(),
            data,
            timeout: None,
        }
    }

    /// Fails the step after `timeout`.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }
}

/// The request format of an AI inference offloaded to Inngest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AiFormat {
    /// OpenAI chat completions.
    OpenAiChat,
    /// Anthropic messages.
    Anthropic,
    /// Google Gemini.
    Gemini,
}

impl AiFormat {
    fn as_str(self) -> &'static str {
        match self {
            AiFormat::OpenAiChat => "openai-chat",
            AiFormat::Anthropic => "anthropic",
            AiFormat::Gemini => "gemini",
        }
    }
}

/// Options of [`crate::Step::ai_infer`]: Inngest calls the model and memoizes the answer.
#[derive(Debug, Clone, PartialEq)]
pub struct AiInfer {
    /// Endpoint URL.
    pub url: String,
    /// Request format.
    pub format: AiFormat,
    /// API key sent as the provider expects.
    pub auth_key: String,
    /// Extra headers.
    pub headers: Map<String, Value>,
    /// The request body.
    pub body: Value,
}

impl AiInfer {
    /// An OpenAI chat-completions request with `model` merged into `body`.
    pub fn openai(model: &str, api_key: impl Into<String>, mut body: Value) -> Self {
        if let Value::Object(map) = &mut body {
            map.entry("model").or_insert_with(|| json!(model));
        }
        Self {
            url: "https://api.openai.com/v1/chat/completions".into(),
            format: AiFormat::OpenAiChat,
            auth_key: api_key.into(),
            headers: Map::new(),
            body,
        }
    }

    /// Overrides the endpoint URL (an OpenAI-compatible server, a proxy).
    pub fn with_url(mut self, url: impl Into<String>) -> Self {
        self.url = url.into();
        self
    }

    pub(crate) fn to_opts(&self) -> Value {
        json!({
            "type": "step.ai.infer",
            "url": self.url,
            "headers": self.headers,
            "auth_key": self.auth_key,
            "format": self.format.as_str(),
            "body": self.body,
        })
    }
}
