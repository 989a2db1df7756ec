//! The Inngest client: settings, one shared HTTP client, middleware, and event sends.

use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use rand::RngCore;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::config::{Config, Mode};
use crate::middleware::{Middleware, MiddlewareStack};
use crate::Event;

/// `X-Inngest-SDK` value of this crate.
pub const SDK_HEADER: &str = concat!("rust:v", env!("CARGO_PKG_VERSION"));
/// The SDK language reported in introspection and sync.
pub const SDK_LANGUAGE: &str = "rust";
/// The SDK version reported in introspection and sync.
pub const SDK_VERSION: &str = env!("CARGO_PKG_VERSION");

/// Attempts for an event send before giving up (transport errors and 5xx only).
const SEND_ATTEMPTS: u32 = 5;

/// Why events could not be sent.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    #[error(
        "no event key: set INNGEST_EVENT_KEY or Config::with_event_key (required in cloud mode)"
    )]
    /// Cloud mode needs an event key.
    MissingEventKey,
    #[error("event could not be serialized: {0}")]
    /// An event is not JSON-serializable.
    Serialize(#[from] serde_json::Error),
    #[error("middleware refused the event: {0}")]
    /// A middleware hook refused an event.
    Middleware(String),
    #[error("event API rejected the events ({status}): {message}")]
    /// The event API answered with an error status.
    Rejected {
        /// HTTP status.
        status: u16,
        /// The API's error message.
        message: String,
    },
    #[error("event API unreachable after {attempts} attempts: {message}")]
    /// Transport errors or 5xx on every attempt.
    Unreachable {
        /// Attempts made.
        attempts: u32,
        /// The last failure.
        message: String,
    },
}

impl SendError {
    /// The step error for a failed durable send: transport failures and 5xx retry, the rest not.
    pub fn into_step_error(self) -> crate::Error {
        let error = self;
        let retry = match &error {
            SendError::Unreachable { .. } => crate::Retry::Default,
            SendError::Rejected { status, .. } if *status >= 500 => crate::Retry::Default,
            _ => crate::Retry::Never,
        };
        crate::Error::named("SendEventError", error.to_string()).with_retry(retry)
    }
}

#[derive(Deserialize)]
struct SendResponse {
    #[serde(default)]
    ids: Vec<String>,
    #[serde(default)]
    error: Option<String>,
}

pub(crate) struct ClientInner {
    pub config: Config,
    pub http: reqwest::Client,
    pub middleware: MiddlewareStack,
}

/// The Inngest client. Cheap to clone; every clone shares one HTTP connection pool.
#[derive(Clone)]
pub struct Inngest {
    pub(crate) inner: Arc<ClientInner>,
}

impl std::fmt::Debug for Inngest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Inngest")
            .field("app_id", &self.inner.config.app_id)
            .field("mode", &self.inner.config.mode)
            .finish()
    }
}

/// Builds an [`Inngest`] client.
pub struct InngestBuilder {
    config: Config,
    middleware: Vec<Arc<dyn Middleware>>,
    http: Option<reqwest::Client>,
}

impl InngestBuilder {
    /// Adds a middleware layer.
    pub fn middleware(mut self, middleware: impl Middleware) -> Self {
        self.middleware.push(Arc::new(middleware));
        self
    }

    /// Uses this HTTP client instead of a new one.
    pub fn http_client(mut self, http: reqwest::Client) -> Self {
        self.http = Some(http);
        self
    }

    /// Finishes the client.
    pub fn build(self) -> Inngest {
        let http = self.http.unwrap_or_else(|| {
            reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()
                .unwrap_or_default()
        });
        Inngest {
            inner: Arc::new(ClientInner {
                config: self.config,
                http,
                middleware: MiddlewareStack::new(self.middleware),
            }),
        }
    }
}

impl Inngest {
    /// A client for `app_id` configured from the environment.
    pub fn new(app_id: impl Into<String>) -> Self {
        Self::builder(Config::from_env(app_id)).build()
    }

    /// A builder starting from `config`.
    pub fn builder(config: Config) -> InngestBuilder {
        InngestBuilder {
            config,
            middleware: Vec::new(),
            http: None,
        }
    }

    /// The settings.
    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    /// The app id.
    pub fn app_id(&self) -> &str {
        &self.inner.config.app_id
    }

    pub(crate) fn middleware(&self) -> &MiddlewareStack {
        &self.inner.middleware
    }

    pub(crate) fn http(&self) -> &reqwest::Client {
        &self.inner.http
    }

    /// Sends one event; returns its id.
    pub async fn send_one<D: Serialize>(&self, event: &Event<D>) -> Result<String, SendError> {
        let ids = self.send(std::slice::from_ref(event)).await?;
        ids.into_iter().next().ok_or(SendError::Rejected {
            status: 200,
            message: "event API returned no id".into(),
        })
    }

    /// Sends events (`POST {event_api}/e/{key}`), filling `ts` and `data`; retried with backoff
    /// on transport errors and 5xx with the same id seed, so a retried send is not duplicated.
    pub async fn send<D: Serialize>(&self, events: &[Event<D>]) -> Result<Vec<String>, SendError> {
        let middleware = self.inner.middleware.clone();
        self.send_with(&middleware, events).await
    }

    pub(crate) async fn send_with<D: Serialize>(
        &self,
        middleware: &MiddlewareStack,
        events: &[Event<D>],
    ) -> Result<Vec<String>, SendError> {
        let config = &self.inner.config;
        let key = match (&config.event_key, &config.mode) {
            (Some(key), _) => key.clone(),
            (None, Mode::Dev { .. }) => "NO_EVENT_KEY_SET".to_owned(),
            (None, Mode::Cloud) => return Err(SendError::MissingEventKey),
        };
        let now_ms = chrono::Utc::now().timestamp_millis();
        let mut payload = Vec::with_capacity(events.len());
        for event in events {
            let mut value = event.to_wire(now_ms)?;
            middleware
                .transform_send_event(&mut value)
                .map_err(|e| SendError::Middleware(e.to_string()))?;
            payload.push(value);
        }
        let body = serde_json::to_vec(&Value::Array(payload))?;
        let url = format!("{}/e/{}", config.event_api_origin, key);
        let seed = id_seed(now_ms);
        let mut last_error = String::new();
        for attempt in 0..SEND_ATTEMPTS {
            if attempt > 0 {
                tokio::time::sleep(backoff(attempt)).await;
            }
            let mut request = self
                .inner
                .http
                .post(&url)
                .header("content-type", "application/json")
                .header("x-inngest-sdk", SDK_HEADER)
                .header("x-inngest-event-id-seed", &seed)
                .body(body.clone());
            if let Some(env) = &config.env {
                request = request.header("x-inngest-env", env);
            }
            match request.send().await {
                Ok(response) => {
                    let status = response.status().as_u16();
                    let text = response.text().await.unwrap_or_default();
                    if status >= 500 {
                        last_error = format!("status {status}");
                        continue;
                    }
                    let parsed: Option<SendResponse> = serde_json::from_str(&text).ok();
                    if (200..300).contains(&status) {
                        return Ok(parsed.map(|p| p.ids).unwrap_or_default());
                    }
                    let message = parsed.and_then(|p| p.error).unwrap_or(text);
                    return Err(SendError::Rejected { status, message });
                }
                Err(error) => last_error = error.to_string(),
            }
        }
        Err(SendError::Unreachable {
            attempts: SEND_ATTEMPTS,
            message: last_error,
        })
    }

    /// A GET against the Inngest API with the hashed signing key, retrying with the fallback
    /// key on 401.
    pub(crate) async fn api_get(&self, path: &str) -> Result<Value, String> {
        let config = &self.inner.config;
        let url = format!("{}{}", config.api_origin, path);
        let keys = [
            config.signing_key.as_ref(),
            config.signing_key_fallback.as_ref(),
        ];
        let mut last = String::from("no signing key");
        for key in keys.into_iter().flatten().map(Some).chain(
            // Dev mode may have no key at all: try once without authorization.
            (config.signing_key.is_none()).then_some(None),
        ) {
            let mut request = self
                .inner
                .http
                .get(&url)
                .header("x-inngest-sdk", SDK_HEADER);
            if let Some(key) = key {
                request = request.bearer_auth(key.hashed());
            }
            if let Some(env) = &config.env {
                request = request.header("x-inngest-env", env);
            }
            let response = request.send().await.map_err(|e| e.to_string())?;
            let status = response.status();
            if status == reqwest::StatusCode::UNAUTHORIZED {
                last = "unauthorized".into();
                continue;
            }
            if !status.is_success() {
                return Err(format!("{path}: status {status}"));
            }
            return response.json().await.map_err(|e| e.to_string());
        }
        Err(format!("{path}: {last}"))
    }
}

fn id_seed(now_ms: i64) -> String {
    let mut entropy = [0u8; 10];
    rand::thread_rng().fill_bytes(&mut entropy);
    format!(
        "{now_ms},{}",
        base64::engine::general_purpose::STANDARD.encode(entropy)
    )
}

fn backoff(attempt: u32) -> Duration {
    let base = 100u64 * 2u64.pow(attempt.min(6));
    let jitter = rand::random::<u64>() % (base / 2 + 1);
    Duration::from_millis(base + jitter)
}
