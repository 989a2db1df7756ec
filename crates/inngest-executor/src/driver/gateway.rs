//! Requests the executor makes on a step's behalf, memoizing the answer as the step's data:
//! `AIGateway` (`step.ai.infer`: the answer must be a 2xx JSON body) and `Gateway`
//! (`step.fetch`: any HTTP response is data, `{url, headers, body, status_code}`).
//!
//! As with Inngest, a request that gets no response (refused, reset, timed out, too large) is a
//! step error: it is retried with backoff while the run has attempts left, then memoized as
//! `{"error": …}` so that the SDK raises it in the function. Header values are never logged or
//! put in error messages: they often carry credentials.

use std::time::Duration;

use reqwest::header::{HeaderName, HeaderValue, USER_AGENT};
use reqwest::Method;
use serde_json::{json, Map, Value};

use crate::call::chain;
use crate::core::Core;
use crate::entity::queue_item;
use crate::error::Result;
use crate::feed::Effects;
use crate::store::from_text;
use crate::store::queue::{self};
use crate::store::runs::{self, step_status};

/// The largest response body a `Gateway` request memoizes (Inngest's limit: 4 MB of step
/// output plus 4 MB of input); a larger one is a step error.
pub(crate) const MAX_GATEWAY_BODY: usize = 8 * 1024 * 1024;

/// The op a gateway queue item carries out (its payload's `op`; items written before
/// `Gateway` existed have none and are `AIGateway`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum GatewayOp {
    /// `step.ai.infer`.
    Ai,
    /// `step.fetch`.
    Fetch,
}

impl GatewayOp {
    pub(crate) fn wire(self) -> &'static str {
        match self {
            GatewayOp::Ai => "AIGateway",
            GatewayOp::Fetch => "Gateway",
        }
    }

    fn parse(payload: &Value) -> Self {
        match payload["op"].as_str() {
            Some("Gateway") => GatewayOp::Fetch,
            _ => GatewayOp::Ai,
        }
    }

    /// The error name memoized when the request fails (as Inngest names it).
    fn error_name(self) -> &'static str {
        match self {
            GatewayOp::Ai => "AIGatewayError",
            GatewayOp::Fetch => "GatewayError",
        }
    }
}

/// Why a gateway request produced no data.
#[derive(Debug)]
pub(crate) enum GatewayFailure {
    /// No usable answer this time (network, timeout, for AI a non-2xx): retried.
    Transient(String),
    /// The op's options cannot make a request (no URL, bad method or header): failed at once.
    Invalid(String),
}

impl Core {
    /// Performs a gateway request and memoizes its answer, retried like a step.
    pub(super) async fn gateway(&self, item: &queue_item::Model, token: &str) -> Result<()> {
        let payload = from_text(&item.payload);
        let op = GatewayOp::parse(&payload);
        let opts = &payload["opts"];
        let timeout = Duration::from_millis(u64::try_from(self.lease_ms() * 4 / 5).unwrap_or(0));
        let outcome = match op {
            GatewayOp::Ai => ai_request(&self.http, opts, timeout).await,
            GatewayOp::Fetch => fetch_request(&self.http, opts, timeout).await,
        };
        let Some((txn, run)) = self.begin_held(item, token).await? else {
            return Ok(());
        };
        let mut fx = Effects::default();
        let now = self.now();
        let run_id = item.run_id.clone().unwrap_or_default();
        let Some(run) = run else {
            queue::delete(&txn, &item.id).await?;
            return self.commit(txn, fx).await;
        };
        let failure = match outcome {
            Ok(answer) => {
                self.record_attempts(&txn, &run_id, item).await?;
                self.resume_step(
                    &txn,
                    &run_id,
                    &item.step_id,
                    json!({ "data": answer }),
                    false,
                    &mut fx,
                )
                .await?;
                queue::delete(&txn, &item.id).await?;
                return self.commit(txn, fx).await;
            }
            Err(failure) => failure,
        };
        let (message, retriable) = match failure {
            GatewayFailure::Transient(message) => (message, true),
            GatewayFailure::Invalid(message) => (message, false),
        };
        let error = json!({ "name": op.error_name(), "message": message });
        tracing::debug!(
            run = %run_id,
            step = %item.step_id,
            op = op.wire(),
            attempt = item.attempt,
            retriable,
            "gateway request failed"
        );
        if retriable && item.attempt + 1 < run.max_attempts {
            runs::set_step_status(
                &txn,
                &run_id,
                &item.step_id,
                step_status::RETRYING,
                Some(&error),
                Some(item.attempt + 1),
            )
            .await?;
            queue::reschedule(
                &txn,
                &item.id,
                item.attempt + 1,
                now + self.backoff_ms(item.attempt),
            )
            .await?;
            return self.commit(txn, fx).await;
        }
        self.record_attempts(&txn, &run_id, item).await?;
        self.resume_step(
            &txn,
            &run_id,
            &item.step_id,
            json!({ "error": error }),
            true,
            &mut fx,
        )
        .await?;
        queue::delete(&txn, &item.id).await?;
        self.commit(txn, fx).await
    }

    /// Counts the attempt that just ended on the step (memoizing keeps the count).
    async fn record_attempts(
        &self,
        txn: &sea_orm::DatabaseTransaction,
        run_id: &str,
        item: &queue_item::Model,
    ) -> Result<()> {
        runs::set_step_status(
            txn,
            run_id,
            &item.step_id,
            step_status::RUNNING,
            None,
            Some(item.attempt + 1),
        )
        .await?;
        Ok(())
    }
}

/// POSTs an `AIGateway` request: `opts.body` to `opts.url` with `Authorization: Bearer
/// opts.auth_key` and `opts.headers`; the answer must be a 2xx JSON body.
pub(crate) async fn ai_request(
    http: &reqwest::Client,
    opts: &Value,
    timeout: Duration,
) -> Result<Value, GatewayFailure> {
    let url = opts["url"]
        .as_str()
        .ok_or_else(|| GatewayFailure::Invalid("AIGateway op without `url`".into()))?;
    let mut request = http.post(url).timeout(timeout).json(&opts["body"]);
    if let Some(key) = opts["auth_key"].as_str().filter(|k| !k.is_empty()) {
        request = request.bearer_auth(key);
    }
    if let Some(headers) = opts["headers"].as_object() {
        for (name, value) in headers {
            if let Some(value) = value.as_str() {
                request = request.header(name, value);
            }
        }
    }
    let target = display_url(url);
    let transient = |e: reqwest::Error| {
        GatewayFailure::Transient(format!("{target}: {}", chain(&e.without_url())))
    };
    let response = request.send().await.map_err(transient)?;
    let status = response.status();
    let text = response.text().await.map_err(transient)?;
    if !status.is_success() {
        return Err(GatewayFailure::Transient(format!(
            "{target} answered {status}: {text}"
        )));
    }
    serde_json::from_str(&text)
        .map_err(|e| GatewayFailure::Transient(format!("{target} did not answer JSON: {e}")))
}

/// A `Gateway` request (`step.fetch`) as the SDKs send it: `opts {url, method, headers,
/// body}`, where `body` is the raw request body as a string and `method` defaults to POST.
#[derive(Debug)]
pub(crate) struct FetchRequest {
    url: reqwest::Url,
    method: Method,
    headers: Vec<(HeaderName, HeaderValue)>,
    body: Option<String>,
}

impl FetchRequest {
    /// Reads the op's options; the error says which one is unusable (never a header value).
    pub(crate) fn parse(opts: &Value) -> Result<Self, String> {
        let url = match opts.get("url") {
            Some(Value::String(url)) if !url.is_empty() => url,
            _ => return Err("the Gateway op has no `url`".into()),
        };
        let url = reqwest::Url::parse(url)
            .map_err(|e| format!("`{}` is not a URL: {e}", display_url(url)))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(format!(
                "`{}` is not an http(s) URL",
                display_url(url.as_str())
            ));
        }
        let method = match opts.get("method") {
            None | Some(Value::Null) => Method::POST,
            Some(Value::String(m)) if m.is_empty() => Method::POST,
            Some(Value::String(m)) => match m.to_ascii_uppercase().as_str() {
                "GET" => Method::GET,
                "HEAD" => Method::HEAD,
                "POST" => Method::POST,
                "PUT" => Method::PUT,
                "PATCH" => Method::PATCH,
                "DELETE" => Method::DELETE,
                "OPTIONS" => Method::OPTIONS,
                "TRACE" => Method::TRACE,
                _ => return Err(format!("invalid http method: {m}")),
            },
            Some(_) => return Err("`method` is not a string".into()),
        };
        let mut headers = Vec::new();
        match opts.get("headers") {
            None | Some(Value::Null) => {}
            Some(Value::Object(map)) => {
                for (name, value) in map {
                    let header = HeaderName::from_bytes(name.as_bytes())
                        .map_err(|_| format!("`{name}` is not a valid header name"))?;
                    let value = value
                        .as_str()
                        .and_then(|v| HeaderValue::from_str(v).ok())
                        .ok_or_else(|| format!("header `{name}` has an invalid value"))?;
                    headers.push((header, value));
                }
            }
            Some(_) => return Err("`headers` is not an object".into()),
        }
        let body = match opts.get("body") {
            None | Some(Value::Null) => None,
            Some(Value::String(body)) => Some(body.clone()),
            Some(_) => return Err("`body` is not a string".into()),
        };
        Ok(Self {
            url,
            method,
            headers,
            body,
        })
    }
}

/// Performs a `Gateway` request. Whatever the server answers (any status) is the data,
/// shaped as Inngest memoizes it: `{url, headers, body, status_code}`, header names in
/// canonical form (`Content-Type`) and repeated values joined with `,`, `headers` left out
/// when there are none, and the body as (lossy UTF-8) text.
pub(crate) async fn fetch_request(
    http: &reqwest::Client,
    opts: &Value,
    timeout: Duration,
) -> Result<Value, GatewayFailure> {
    let request = FetchRequest::parse(opts).map_err(GatewayFailure::Invalid)?;
    let target = display_url(request.url.as_str());
    let url = request.url.to_string();
    let mut builder = http
        .request(request.method.clone(), request.url)
        .timeout(timeout);
    let mut has_agent = false;
    for (name, value) in request.headers {
        has_agent |= name == USER_AGENT;
        builder = builder.header(name, value);
    }
    if !has_agent {
        builder = builder.header(USER_AGENT, "Inngest");
    }
    if let Some(body) = request.body {
        builder = builder.body(body);
    }
    let failed = |e: reqwest::Error| {
        GatewayFailure::Transient(format!(
            "Error making gateway request to {target}: {}",
            chain(&e.without_url())
        ))
    };
    let mut response = builder.send().await.map_err(failed)?;
    let status = response.status().as_u16();
    let mut headers = Map::new();
    for name in response.headers().keys() {
        let joined = response
            .headers()
            .get_all(name)
            .iter()
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
            .collect::<Vec<_>>()
            .join(",");
        headers.insert(canonical_header(name.as_str()), Value::String(joined));
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(failed)? {
        if body.len() + chunk.len() > MAX_GATEWAY_BODY {
            return Err(GatewayFailure::Transient(format!(
                "Error making gateway request to {target}: the response body is larger than {MAX_GATEWAY_BODY} bytes"
            )));
        }
        body.extend_from_slice(&chunk);
    }
    tracing::debug!(method = %request.method, url = %target, status, bytes = body.len(), "gateway request answered");
    let mut data = Map::new();
    data.insert("url".into(), Value::String(url));
    if !headers.is_empty() {
        data.insert("headers".into(), Value::Object(headers));
    }
    data.insert(
        "body".into(),
        Value::String(String::from_utf8_lossy(&body).into_owned()),
    );
    data.insert("status_code".into(), json!(status));
    Ok(Value::Object(data))
}

/// A URL fit for messages and logs: scheme, host, port and path, without credentials,
/// query or fragment (which may carry secrets).
fn display_url(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(parsed) => {
            let mut shown = format!("{}://{}", parsed.scheme(), parsed.host_str().unwrap_or(""));
            if let Some(port) = parsed.port() {
                shown.push_str(&format!(":{port}"));
            }
            shown.push_str(parsed.path());
            shown
        }
        Err(_) => "<invalid URL>".into(),
    }
}

/// The canonical form of a header name, as Go's `net/http` (and so Inngest) keys response
/// headers: the first letter and every letter after a hyphen upper case, the rest lower case.
pub(crate) fn canonical_header(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut upper = true;
    for c in name.chars() {
        if upper {
            out.extend(c.to_uppercase());
        } else {
            out.extend(c.to_lowercase());
        }
        upper = c == '-';
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_names_are_canonical_as_in_go() {
        assert_eq!(canonical_header("content-type"), "Content-Type");
        assert_eq!(canonical_header("x-request-id"), "X-Request-Id");
        assert_eq!(canonical_header("ETAG"), "Etag");
        assert_eq!(canonical_header("www-authenticate"), "Www-Authenticate");
    }

    #[test]
    fn fetch_options_parse_like_the_server() {
        let request = FetchRequest::parse(&json!({
            "url": "https://api.example.com/v1/x?key=1",
            "method": "put",
            "headers": {"authorization": "Bearer s3cret", "x-n": "1"},
            "body": "{\"a\":1}",
        }))
        .unwrap();
        assert_eq!(request.method, Method::PUT);
        assert_eq!(request.headers.len(), 2);
        assert_eq!(request.body.as_deref(), Some("{\"a\":1}"));
        let default = FetchRequest::parse(&json!({"url": "http://127.0.0.1:1/"})).unwrap();
        assert_eq!(default.method, Method::POST, "Inngest defaults to POST");
        assert!(default.headers.is_empty() && default.body.is_none());
        for (opts, why) in [
            (json!({}), "no `url`"),
            (json!({"url": "not a url"}), "is not a URL"),
            (json!({"url": "ftp://x/"}), "not an http(s) URL"),
            (
                json!({"url": "http://x/", "method": "BREW"}),
                "invalid http method",
            ),
            (
                json!({"url": "http://x/", "headers": {"a b": "1"}}),
                "not a valid header name",
            ),
            (
                json!({"url": "http://x/", "body": {"a": 1}}),
                "not a string",
            ),
        ] {
            let error = FetchRequest::parse(&opts).unwrap_err();
            assert!(error.contains(why), "{opts}: {error}");
        }
        let error = FetchRequest::parse(
            &json!({"url": "http://x/", "headers": {"authorization": "bad\nvalue s3cret"}}),
        )
        .unwrap_err();
        assert!(
            error.contains("authorization") && !error.contains("s3cret"),
            "{error}"
        );
    }

    #[test]
    fn urls_in_messages_lose_credentials_and_queries() {
        assert_eq!(
            display_url("https://user:pw@api.example.com:8443/v1/x?key=s3cret#f"),
            "https://api.example.com:8443/v1/x"
        );
        assert_eq!(display_url("nope"), "<invalid URL>");
    }
}
