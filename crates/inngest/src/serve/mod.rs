//! The serve handler: one endpoint answering GET (introspection), PUT (sync) and POST
//! (execution and trust probe), framework-agnostic, plus a ready [`axum`](self::axum) router.

pub mod axum;
mod introspection;
mod sync;

use std::collections::HashMap;
use std::sync::Arc;

use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Uri};
use serde_json::{json, Value};
use tracing::Instrument;

use crate::client::SDK_HEADER;
use crate::config::Mode;
use crate::execution::{self, Outcome};
use crate::function::{Function, FunctionOpts, Handler};
use crate::protocol::CallRequest;
use crate::signing::{verify_with_fallback, SigningKey};
use crate::Inngest;

/// A request as the handler needs it, whatever the web framework.
#[derive(Debug, Clone)]
pub struct ServeRequest {
    /// HTTP method.
    pub method: Method,
    /// Request URI (path and query; scheme and authority when the framework knows them).
    pub uri: Uri,
    /// Request headers.
    pub headers: HeaderMap,
    /// Raw body bytes (signatures cover them exactly).
    pub body: Bytes,
}

/// The handler's answer.
#[derive(Debug, Clone)]
pub struct ServeResponse {
    /// Status code.
    pub status: StatusCode,
    /// Headers, including the SDK and signature headers.
    pub headers: HeaderMap,
    /// JSON body.
    pub body: Bytes,
}

/// One servable function: the user's function or its failure handler.
struct Servable {
    opts: FunctionOpts,
    handler: Arc<dyn Handler>,
}

/// Serves a set of functions for one client.
#[derive(Clone)]
pub struct ServeHandler {
    inner: Arc<Inner>,
    framework: Option<&'static str>,
}

struct Inner {
    client: Inngest,
    functions: HashMap<String, Servable>,
    order: Vec<String>,
}

/// Why a request that must be signed was refused.
#[derive(Debug, thiserror::Error)]
enum AuthFailure {
    #[error("no signing key configured: set INNGEST_SIGNING_KEY (required in cloud mode)")]
    NoSigningKey,
    #[error(transparent)]
    Signature(#[from] crate::signing::SignatureError),
}

/// Why the handler could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ServeError {
    #[error("two functions have the id `{0}`")]
    /// Two functions (or a function and a failure handler) share a full id.
    DuplicateId(String),
}

impl ServeHandler {
    /// Serves `functions` for `client`.
    pub fn new(client: Inngest, functions: Vec<Function>) -> Result<Self, ServeError> {
        let app = client.app_id().to_owned();
        let mut map = HashMap::new();
        let mut order = Vec::new();
        for function in functions {
            let full_id = format!("{app}-{}", function.opts.id);
            let failure = function.failure.as_ref().map(|handler| Servable {
                opts: function.failure_opts(&full_id),
                handler: handler.clone(),
            });
            let main = Servable {
                opts: function.opts,
                handler: function.handler,
            };
            insert(&mut map, &mut order, full_id, main)?;
            if let Some(failure) = failure {
                let failure_id = format!("{app}-{}", failure.opts.id);
                insert(&mut map, &mut order, failure_id, failure)?;
            }
        }
        Ok(Self {
            inner: Arc::new(Inner {
                client,
                functions: map,
                order,
            }),
            framework: None,
        })
    }

    /// Names the web framework in headers and introspection.
    pub fn with_framework(mut self, framework: &'static str) -> Self {
        self.framework = Some(framework);
        self
    }

    /// The client.
    pub fn client(&self) -> &Inngest {
        &self.inner.client
    }

    /// Handles one request.
    pub async fn handle(&self, request: ServeRequest) -> ServeResponse {
        let query = Query::parse(&request.uri);
        let span = tracing::info_span!(
            "inngest.request",
            method = %request.method,
            fn_id = query.get("fnId").unwrap_or(""),
            step_id = query.get("stepId").unwrap_or(""),
        );
        async {
            let response = match request.method {
                Method::GET => introspection::handle(self, &request),
                Method::PUT => sync::handle(self, &request, &query).await,
                Method::POST if query.get("probe") == Some("trust") => self.trust_probe(&request),
                Method::POST => self.execute(&request, &query).await,
                _ => self.reply(
                    StatusCode::METHOD_NOT_ALLOWED,
                    &json!({"message": "method not allowed"}),
                    None,
                ),
            };
            tracing::debug!(status = response.status.as_u16(), "inngest response");
            response
        }
        .instrument(span)
        .await
    }

    fn mode(&self) -> &Mode {
        &self.inner.client.config().mode
    }

    /// Checks the request signature. Dev mode accepts unsigned requests.
    fn authenticate(&self, request: &ServeRequest) -> Result<Option<SigningKey>, AuthFailure> {
        let config = self.inner.client.config();
        if self.mode().is_dev() {
            return Ok(None);
        }
        let primary = config
            .signing_key
            .as_ref()
            .ok_or(AuthFailure::NoSigningKey)?;
        let header = request
            .headers
            .get("x-inngest-signature")
            .and_then(|v| v.to_str().ok());
        let now = chrono::Utc::now().timestamp();
        verify_with_fallback(
            header,
            &request.body,
            now,
            primary,
            config.signing_key_fallback.as_ref(),
        )
        .map(|key| Some(key.clone()))
        .map_err(|error| {
            tracing::warn!(%error, "rejected unsigned or mis-signed request");
            AuthFailure::Signature(error)
        })
    }

    fn refuse(&self, failure: AuthFailure) -> ServeResponse {
        let status = match failure {
            AuthFailure::NoSigningKey => StatusCode::INTERNAL_SERVER_ERROR,
            AuthFailure::Signature(_) => StatusCode::UNAUTHORIZED,
        };
        self.reply(status, &json!({"message": failure.to_string()}), None)
    }

    fn trust_probe(&self, request: &ServeRequest) -> ServeResponse {
        match self.authenticate(request) {
            Ok(key) => self.reply(StatusCode::OK, &json!({}), key.as_ref()),
            Err(failure) => self.refuse(failure),
        }
    }

    async fn execute(&self, request: &ServeRequest, query: &Query) -> ServeResponse {
        let key = match self.authenticate(request) {
            Ok(key) => key,
            Err(failure) => return self.refuse(failure),
        };
        let key = key.as_ref();
        let fn_id = query.get("fnId").unwrap_or_default();
        let Some(function) = self.inner.functions.get(fn_id) else {
            let body = json!({"name": "FunctionNotFound", "message": format!("no function with id `{fn_id}` is served here")});
            // 410 like the Go SDK: a 404 would say the serve endpoint itself is missing.
            return self.error_reply(StatusCode::GONE, &body, true, None, key);
        };
        let mut call: CallRequest = match serde_json::from_slice(&request.body) {
            Ok(call) => call,
            Err(e) => {
                let body = json!({"name": "InvalidRequest", "message": format!("request body is not a valid call: {e}")});
                return self.error_reply(StatusCode::BAD_REQUEST, &body, true, None, key);
            }
        };
        if let Some(step_id) = query.get("stepId") {
            call.ctx.step_id = step_id.to_owned();
        }
        if call.use_api || call.ctx.use_api {
            if let Err(message) = self.hydrate(&mut call).await {
                let body = json!({"name": "HydrationError", "message": message});
                return self.error_reply(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    &body,
                    false,
                    None,
                    key,
                );
            }
        }
        let span = tracing::info_span!("inngest.run", run_id = %call.ctx.run_id, fn_id, attempt = call.ctx.attempt);
        let default_attempts = function.opts.retry_count() + 1;
        let outcome = execution::execute(
            &self.inner.client,
            function.handler.as_ref(),
            call,
            default_attempts,
        )
        .instrument(span)
        .await;
        match outcome {
            Outcome::Completed(output) => self.reply(StatusCode::OK, &output, key),
            Outcome::Steps {
                ops,
                retry_after,
                no_retry,
            } => {
                let mut response = self.reply(
                    StatusCode::PARTIAL_CONTENT,
                    &serde_json::to_value(&ops).unwrap_or_default(),
                    None,
                );
                if let Some(at) = retry_after {
                    set(&mut response.headers, "retry-after", &at.header_value());
                }
                set(
                    &mut response.headers,
                    "x-inngest-no-retry",
                    if no_retry { "true" } else { "false" },
                );
                self.sign(&mut response, key);
                response
            }
            Outcome::Failed(error) => {
                let status = if error.is_retriable() {
                    StatusCode::INTERNAL_SERVER_ERROR
                } else {
                    StatusCode::BAD_REQUEST
                };
                let retry_after = match error.retry() {
                    crate::Retry::After(at) => Some(at.header_value()),
                    _ => None,
                };
                let no_retry = !error.is_retriable();
                tracing::info!(error.name = error.name(), no_retry, "function failed");
                let body = serde_json::to_value(error.body()).unwrap_or_default();
                self.error_reply(status, &body, no_retry, retry_after.as_deref(), key)
            }
        }
    }

    /// Fetches events and memoized steps for a payload too large to be sent inline.
    async fn hydrate(&self, call: &mut CallRequest) -> Result<(), String> {
        let run_id = &call.ctx.run_id;
        let client = &self.inner.client;
        let (batch_path, actions_path) = (
            format!("/v0/runs/{run_id}/batch"),
            format!("/v0/runs/{run_id}/actions"),
        );
        let (events, actions) =
            tokio::join!(client.api_get(&batch_path), client.api_get(&actions_path));
        let events: Vec<Value> =
            serde_json::from_value(events?).map_err(|e| format!("batch: {e}"))?;
        let steps: HashMap<String, Value> =
            serde_json::from_value(actions?).map_err(|e| format!("actions: {e}"))?;
        let steps = steps
            .into_iter()
            .map(|(hash, value)| serde_json::value::to_raw_value(&value).map(|raw| (hash, raw)))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| format!("actions: {e}"))?;
        if let Some(first) = events.first() {
            call.event = first.clone();
        }
        call.events = events;
        call.steps = steps;
        Ok(())
    }

    fn error_reply(
        &self,
        status: StatusCode,
        body: &Value,
        no_retry: bool,
        retry_after: Option<&str>,
        key: Option<&SigningKey>,
    ) -> ServeResponse {
        let mut response = self.reply(status, body, None);
        set(
            &mut response.headers,
            "x-inngest-no-retry",
            if no_retry { "true" } else { "false" },
        );
        if let Some(retry_after) = retry_after {
            set(&mut response.headers, "retry-after", retry_after);
        }
        self.sign(&mut response, key);
        response
    }

    /// A JSON reply with the protocol headers, signed when `key` is given.
    fn reply(&self, status: StatusCode, body: &Value, key: Option<&SigningKey>) -> ServeResponse {
        let body = Bytes::from(serde_json::to_vec(body).unwrap_or_else(|_| b"null".to_vec()));
        let mut headers = HeaderMap::new();
        set(&mut headers, "content-type", "application/json");
        set(&mut headers, "x-inngest-sdk", SDK_HEADER);
        set(&mut headers, "x-inngest-req-version", "2");
        if let Some(framework) = self.framework {
            set(&mut headers, "x-inngest-framework", framework);
        }
        let mut response = ServeResponse {
            status,
            headers,
            body,
        };
        self.sign(&mut response, key);
        response
    }

    fn sign(&self, response: &mut ServeResponse, key: Option<&SigningKey>) {
        if let Some(key) = key {
            let signature = key.sign(&response.body, chrono::Utc::now().timestamp());
            set(&mut response.headers, "x-inngest-signature", &signature);
        }
    }

    /// The function configs of the sync payload, with step URLs under `serve_url`.
    fn function_configs(&self, serve_url: &str) -> Vec<Value> {
        let separator = if serve_url.contains('?') { '&' } else { '?' };
        self.inner
            .order
            .iter()
            .filter_map(|id| self.inner.functions.get(id).map(|f| (id, f)))
            .map(|(id, f)| {
                let step_url = format!("{serve_url}{separator}fnId={id}&stepId=step");
                f.opts.to_wire(id, &step_url)
            })
            .collect()
    }
}

fn insert(
    map: &mut HashMap<String, Servable>,
    order: &mut Vec<String>,
    id: String,
    servable: Servable,
) -> Result<(), ServeError> {
    if map.contains_key(&id) {
        return Err(ServeError::DuplicateId(id));
    }
    order.push(id.clone());
    map.insert(id, servable);
    Ok(())
}

fn set(headers: &mut HeaderMap, name: &'static str, value: &str) {
    if let Ok(value) = HeaderValue::from_str(value) {
        headers.insert(HeaderName::from_static(name), value);
    }
}

/// Decoded query parameters.
pub(crate) struct Query(Vec<(String, String)>);

impl Query {
    fn parse(uri: &Uri) -> Self {
        let pairs = url::form_urlencoded::parse(uri.query().unwrap_or("").as_bytes())
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        Self(pairs)
    }

    pub(crate) fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// The URL the functions are reachable at: `INNGEST_SERVE_ORIGIN` (or the request's scheme and
/// host) plus `INNGEST_SERVE_PATH` (or the request's path). Always carries a scheme.
pub(crate) fn serve_url(handler: &ServeHandler, request: &ServeRequest) -> String {
    let config = handler.client().config();
    let header = |name: &str| {
        request
            .headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let origin = match &config.serve_origin {
        Some(origin) => origin.trim_end_matches('/').to_owned(),
        None => {
            let scheme = header("x-forwarded-proto")
                .map(|p| p.split(',').next().unwrap_or("http").trim().to_owned())
                .or_else(|| request.uri.scheme_str().map(str::to_owned))
                .unwrap_or_else(|| "http".to_owned());
            let host = header("x-forwarded-host")
                .or_else(|| header("host"))
                .or_else(|| request.uri.authority().map(|a| a.to_string()))
                .unwrap_or_else(|| "localhost".to_owned());
            format!("{scheme}://{host}")
        }
    };
    let origin = if origin.contains("://") {
        origin
    } else {
        format!("http://{origin}")
    };
    let path = config
        .serve_path
        .clone()
        .unwrap_or_else(|| request.uri.path().to_owned());
    let path = if path.starts_with('/') {
        path
    } else {
        format!("/{path}")
    };
    format!("{origin}{path}")
}
