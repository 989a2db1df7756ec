//! Test support: spawn a serve handler on 127.0.0.1:0, sign requests with the real algorithm,
//! and a local stand-in for the Inngest API that records what the SDK sends.
#![allow(dead_code)]

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use axum::{Json, Router};
use inngest::signing::SigningKey;
use inngest::{Function, Inngest, ServeHandler};
use serde_json::{json, Value};

pub const KEY: &str =
    "signkey-test-8ee2262a15e8d3c42d6a840db7af3de2aab08ef632b32a37a687f24b34dba3ff";
pub const FALLBACK_KEY: &str =
    "signkey-test-0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

pub async fn listen(router: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, router).await.expect("serve") });
    format!("http://{addr}")
}

/// A serve handler listening on a random port.
pub struct App {
    pub url: String,
    pub http: reqwest::Client,
    pub key: SigningKey,
}

pub struct Reply {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub raw: Vec<u8>,
    pub body: Value,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The single op of a 206.
    pub fn op(&self) -> &Value {
        assert_eq!(
            self.status, 206,
            "expected 206, got {} {}",
            self.status, self.body
        );
        let ops = self.body.as_array().expect("206 body is an array");
        assert_eq!(ops.len(), 1, "expected one op: {}", self.body);
        &ops[0]
    }
}

pub async fn spawn_app(client: Inngest, functions: Vec<Function>) -> App {
    let router: Router = ServeHandler::new(client, functions)
        .expect("handler")
        .into_router();
    App {
        url: listen(router).await,
        http: reqwest::Client::new(),
        key: SigningKey::new(KEY),
    }
}

impl App {
    pub async fn send(
        &self,
        method: reqwest::Method,
        path_and_query: &str,
        headers: &[(&str, String)],
        body: Vec<u8>,
    ) -> Reply {
        let mut request = self
            .http
            .request(method, format!("{}{}", self.url, path_and_query))
            .body(body);
        for (name, value) in headers {
            request = request.header(*name, value);
        }
        let response = request.send().await.expect("request");
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let raw = response.bytes().await.expect("body").to_vec();
        let body = serde_json::from_slice(&raw).unwrap_or(Value::Null);
        Reply {
            status,
            headers,
            raw,
            body,
        }
    }

    pub fn sign(&self, body: &[u8]) -> String {
        self.key.sign(body, chrono::Utc::now().timestamp())
    }

    /// A signed execution request.
    pub async fn call(&self, fn_id: &str, step_id: &str, body: &Value) -> Reply {
        let raw = serde_json::to_vec(body).expect("json");
        let signature = self.sign(&raw);
        self.send(
            reqwest::Method::POST,
            &format!("/api/inngest?fnId={fn_id}&stepId={step_id}"),
            &[
                ("x-inngest-signature", signature),
                ("content-type", "application/json".into()),
            ],
            raw,
        )
        .await
    }

    /// Checks the response signature against the exact body.
    pub fn assert_signed(&self, reply: &Reply) {
        let header = reply
            .header("x-inngest-signature")
            .expect("signed response");
        self.key
            .verify(header, &reply.raw, chrono::Utc::now().timestamp())
            .expect("response signature verifies");
    }
}

/// The body of a call: `steps` are (user id as hashed, memo) in completion order.
pub fn call_body(event: Value, steps: &[(&str, Value)], attempt: u32, max_attempts: u32) -> Value {
    let mut memo = serde_json::Map::new();
    let mut stack = Vec::new();
    for (id, value) in steps {
        let hash = inngest::step::hash_step_id(id);
        memo.insert(hash.clone(), value.clone());
        stack.push(hash);
    }
    json!({
        "event": event,
        "events": [event],
        "steps": memo,
        "version": 2,
        "use_api": false,
        "ctx": {
            "fn_id": "fn", "run_id": "01RUN", "env": "", "step_id": "step",
            "attempt": attempt, "max_attempts": max_attempts,
            "stack": {"stack": stack, "current": stack.len()},
            "disable_immediate_execution": false, "use_api": false
        }
    })
}

pub fn event(name: &str, data: Value) -> Value {
    json!({"id": "evt-1", "name": name, "data": data, "ts": 1_700_000_000_000i64})
}

pub fn hash(id: &str) -> String {
    inngest::step::hash_step_id(id)
}

/// What the stand-in received.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub path: String,
    pub headers: HeaderMap,
    pub body: Value,
}

/// A local stand-in for the Inngest API and event API.
#[derive(Clone, Default)]
pub struct StandIn {
    pub recorded: Arc<Mutex<Vec<Recorded>>>,
    /// Statuses to answer `/fn/register` with, in order (200 once exhausted).
    pub register_statuses: Arc<Mutex<VecDeque<u16>>>,
    /// Statuses to answer `/e/{key}` with, in order (200 once exhausted).
    pub event_statuses: Arc<Mutex<VecDeque<u16>>>,
    /// Served at `/v0/runs/{id}/batch` and `/actions`.
    pub run_batch: Arc<Mutex<Value>>,
    pub run_actions: Arc<Mutex<Value>>,
}

impl StandIn {
    pub async fn start(&self) -> String {
        let router = Router::new()
            .route("/fn/register", post(register))
            .route("/e/{key}", post(events))
            .route("/v0/runs/{id}/batch", get(batch))
            .route("/v0/runs/{id}/actions", get(actions))
            .with_state(self.clone());
        listen(router).await
    }

    pub fn requests(&self, path_prefix: &str) -> Vec<Recorded> {
        let all = self.recorded.lock().expect("lock").clone();
        all.into_iter()
            .filter(|r| r.path.starts_with(path_prefix))
            .collect()
    }

    fn record(&self, path: String, headers: HeaderMap, body: Value) {
        self.recorded.lock().expect("lock").push(Recorded {
            path,
            headers,
            body,
        });
    }
}

async fn register(
    State(stand_in): State<StandIn>,
    uri: axum::http::Uri,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> (StatusCode, Json<Value>) {
    stand_in.record(uri.to_string(), headers, body);
    let status = stand_in
        .register_statuses
        .lock()
        .expect("lock")
        .pop_front()
        .unwrap_or(200);
    let code = StatusCode::from_u16(status).expect("status");
    if code.is_success() {
        (code, Json(json!({"ok": true, "modified": true})))
    } else {
        (
            code,
            Json(json!({"error": format!("refused with {status}")})),
        )
    }
}

async fn events(
    State(stand_in): State<StandIn>,
    Path(key): Path<String>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> (StatusCode, Json<Value>) {
    stand_in.record(format!("/e/{key}"), headers, body.clone());
    let status = stand_in
        .event_statuses
        .lock()
        .expect("lock")
        .pop_front()
        .unwrap_or(200);
    let code = StatusCode::from_u16(status).expect("status");
    let count = body.as_array().map_or(1, Vec::len);
    let ids: Vec<String> = (0..count).map(|i| format!("evt-{i}")).collect();
    (code, Json(json!({"ids": ids, "status": status})))
}

async fn batch(
    State(stand_in): State<StandIn>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Json<Value> {
    stand_in.record(format!("/v0/runs/{id}/batch"), headers, Value::Null);
    Json(stand_in.run_batch.lock().expect("lock").clone())
}

async fn actions(
    State(stand_in): State<StandIn>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Json<Value> {
    stand_in.record(format!("/v0/runs/{id}/actions"), headers, Value::Null);
    Json(stand_in.run_actions.lock().expect("lock").clone())
}
