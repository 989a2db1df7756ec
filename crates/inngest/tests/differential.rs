//! Differential test: this crate against the official TypeScript SDK (inngest@4.24, checkpointing
//! off), both serving the same conformance app (`tests/common/conformance.rs` and
//! `tests/ts-sdk/conformance-server.mjs`).
//!
//! One local stand-in plays `INNGEST_BASE_URL` for both (recording `/fn/register` and `/e/{key}`).
//! Every scenario of `tests/ts-sdk/CAPTURES.md` is sent, byte for byte, to both servers (JCS bodies,
//! real HMAC signatures), the answers are normalized and compared field by field. Differences the
//! TypeScript SDK is known to have from the wire shape this crate follows (reference §9: the Go
//! SDK's) are listed in [`ALLOW`], each with the scenario, the field and the reason; any other
//! difference fails the test, with every mismatch printed at once.
//!
//! Needs `node` (≥ 20) and `npm ci` in `tests/ts-sdk` (CI installs it); without them the test fails.
//!
//! Ignored everywhere: `stack`, `timing`, `userland`, `__serialized`, signatures and SDK header
//! values. Compared: status, `X-Inngest-No-Retry`, `Retry-After`, `X-Inngest-Sync-Kind`, the JSON
//! body (ops keyed by step, functions keyed by id), key order of 200 bodies, and what each SDK sent
//! to the stand-in (path, auth and sync headers, body).

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::Router;
use inngest::signing::SigningKey;
use inngest::step::hash_step_id;
use serde_json::{json, Map, Value};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};

const KEY: &str = "signkey-test-8ee2262a15e8d3c42d6a840db7af3de2aab08ef632b32a37a687f24b34dba3ff";
const WRONG_KEY: &str =
    "signkey-test-0000000000000000000000000000000000000000000000000000000000000000";
const RUN_ID: &str = "01JCONFORMANCERUN000000000";
/// Placeholder for the server's own serve URL in request bodies (sync `{url}`).
const SELF_URL: &str = "<SELF_URL>";
/// Step ids used by the conformance functions (labels for hashes in paths and output).
const STEP_IDS: &[&str] = &[
    "first",
    "first:1",
    "second",
    "left",
    "right",
    "fast",
    "slow",
    "boom",
    "fatal-step",
    "nap",
    "until",
    "wait-approval",
    "call-hello",
    "wait-signal",
    "send-followup",
    "summarize",
    "only",
];

// ------------------------------------------------------------------------------------------------
// The stand-in for INNGEST_BASE_URL
// ------------------------------------------------------------------------------------------------

#[derive(Clone, Debug)]
struct Recorded {
    method: String,
    path: String,
    headers: HeaderMap,
    body: String,
}

#[derive(Clone, Default)]
struct StandIn {
    requests: Arc<Mutex<Vec<Recorded>>>,
    /// Override of the `/fn/register` reply: (status, raw body).
    register_reply: Arc<Mutex<Option<(u16, String)>>>,
}

impl StandIn {
    fn record(&self, method: &str, path: String, headers: HeaderMap, body: String) {
        let recorded = Recorded {
            method: method.into(),
            path,
            headers,
            body,
        };
        self.requests.lock().unwrap().push(recorded);
    }
    fn count(&self) -> usize {
        self.requests.lock().unwrap().len()
    }
    fn since(&self, start: usize) -> Vec<Recorded> {
        self.requests.lock().unwrap()[start..].to_vec()
    }
    fn set_register_reply(&self, reply: Option<(u16, &str)>) {
        *self.register_reply.lock().unwrap() = reply.map(|(s, b)| (s, b.to_owned()));
    }
}

async fn register(
    State(s): State<StandIn>,
    headers: HeaderMap,
    body: String,
) -> (StatusCode, String) {
    s.record("POST", "/fn/register".into(), headers, body);
    let reply = s.register_reply.lock().unwrap().clone();
    match reply {
        Some((status, body)) => (StatusCode::from_u16(status).unwrap(), body),
        None => (
            StatusCode::OK,
            json!({"ok": true, "modified": true}).to_string(),
        ),
    }
}

async fn send_events(
    State(s): State<StandIn>,
    Path(key): Path<String>,
    headers: HeaderMap,
    body: String,
) -> (StatusCode, String) {
    let n = match serde_json::from_str::<Value>(&body) {
        Ok(Value::Array(events)) => events.len(),
        _ => 1,
    };
    s.record("POST", format!("/e/{key}"), headers, body);
    let ids: Vec<String> = (1..=n).map(|i| format!("evt-{i}")).collect();
    (
        StatusCode::OK,
        json!({"ids": ids, "status": 200}).to_string(),
    )
}

async fn listen(router: Router) -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind 127.0.0.1:0");
    let port = listener.local_addr().expect("local addr").port();
    tokio::spawn(async move { axum::serve(listener, router).await.expect("serve") });
    port
}

// ------------------------------------------------------------------------------------------------
// The TypeScript server
// ------------------------------------------------------------------------------------------------

struct TsServer {
    child: tokio::process::Child,
    port: u16,
    stderr: Arc<Mutex<String>>,
}

async fn start_ts_server(standin_url: &str) -> TsServer {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/ts-sdk");
    assert!(
        dir.join("node_modules/inngest/package.json").is_file(),
        "the TypeScript SDK is not installed: run `npm ci` in {} (CI installs it); \
         the differential test cannot run without it",
        dir.display()
    );
    let mut command = tokio::process::Command::new("node");
    command
        .arg("conformance-server.mjs")
        .current_dir(&dir)
        .env("PORT", "0")
        .env("INNGEST_SIGNING_KEY", KEY)
        .env("INNGEST_BASE_URL", standin_url)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    for (name, _) in std::env::vars() {
        if name.starts_with("INNGEST_")
            && name != "INNGEST_SIGNING_KEY"
            && name != "INNGEST_BASE_URL"
        {
            command.env_remove(name);
        }
    }
    let mut child = command
        .spawn()
        .unwrap_or_else(|e| panic!("could not start `node` (Node.js ≥ 20 must be on PATH): {e}"));

    let stderr = Arc::new(Mutex::new(String::new()));
    let mut err_pipe = child.stderr.take().expect("stderr piped");
    let sink = stderr.clone();
    tokio::spawn(async move {
        let mut buf = [0u8; 4096];
        while let Ok(n) = err_pipe.read(&mut buf).await {
            if n == 0 {
                break;
            }
            sink.lock()
                .unwrap()
                .push_str(&String::from_utf8_lossy(&buf[..n]));
        }
    });

    let mut lines = BufReader::new(child.stdout.take().expect("stdout piped")).lines();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    let port = loop {
        let line = match tokio::time::timeout_at(deadline, lines.next_line()).await {
            Ok(Ok(Some(line))) => line,
            Ok(Ok(None)) | Ok(Err(_)) => panic!(
                "conformance-server.mjs exited before printing its port; stderr:\n{}",
                stderr.lock().unwrap()
            ),
            Err(_) => panic!(
                "conformance-server.mjs printed no {{\"port\": n}} line within 20 s; stderr:\n{}",
                stderr.lock().unwrap()
            ),
        };
        if let Some(port) = serde_json::from_str::<Value>(&line)
            .ok()
            .and_then(|v| v["port"].as_u64())
        {
            break port as u16;
        }
    };
    // Keep draining stdout so the child never blocks on a full pipe.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    TsServer {
        child,
        port,
        stderr,
    }
}

// ------------------------------------------------------------------------------------------------
// Requests
// ------------------------------------------------------------------------------------------------

/// JCS (RFC 8785) for the plain data used here: keys sorted, no whitespace.
fn jcs(value: &Value) -> String {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort_by(|a, b| a.encode_utf16().cmp(b.encode_utf16()));
            let fields: Vec<String> = keys
                .into_iter()
                .map(|k| format!("{}:{}", serde_json::to_string(k).unwrap(), jcs(&map[k])))
                .collect();
            format!("{{{}}}", fields.join(","))
        }
        Value::Array(items) => format!("[{}]", items.iter().map(jcs).collect::<Vec<_>>().join(",")),
        other => serde_json::to_string(other).unwrap(),
    }
}

#[derive(Clone, Copy, Debug)]
enum Sign {
    Key,
    None,
    WrongKey,
    /// Signed with the right key, ten minutes ago.
    Expired,
}

#[derive(Clone, Debug)]
struct Request {
    method: reqwest::Method,
    query: String,
    body: Option<String>,
    headers: Vec<(&'static str, &'static str)>,
    sign: Sign,
    summary: String,
}

impl Request {
    fn new(method: reqwest::Method) -> Self {
        Self {
            method,
            query: String::new(),
            body: None,
            headers: Vec::new(),
            sign: Sign::Key,
            summary: String::new(),
        }
    }
    fn query(mut self, q: &str) -> Self {
        self.query = q.into();
        self
    }
    fn json(mut self, body: Value) -> Self {
        self.body = Some(jcs(&body));
        self
    }
    fn raw(mut self, body: String) -> Self {
        self.body = Some(body);
        self
    }
    fn header(mut self, name: &'static str, value: &'static str) -> Self {
        self.headers.push((name, value));
        self
    }
    fn sign(mut self, sign: Sign) -> Self {
        self.sign = sign;
        self
    }
    fn describe(&self) -> String {
        let mut out = format!("{} /api/inngest{}", self.method, self.query);
        if !self.headers.is_empty() {
            let h: Vec<String> = self
                .headers
                .iter()
                .map(|(k, v)| format!("{k}: {v}"))
                .collect();
            out.push_str(&format!(" [{}]", h.join("; ")));
        }
        out.push_str(&format!(" sign={:?}", self.sign));
        if !self.summary.is_empty() {
            out.push_str(&format!(" — {}", self.summary));
        } else if let Some(body) = &self.body {
            let short: String = body.chars().take(160).collect();
            out.push_str(&format!(" body={short}"));
        }
        out
    }
}

fn event(name: &str, data: Value) -> Value {
    let letters: String = name
        .chars()
        .filter(char::is_ascii_alphabetic)
        .collect::<String>()
        .to_uppercase();
    let padded = format!("{letters:0<20}");
    json!({
        "id": format!("01JEVT{}", &padded[..20]),
        "name": name, "data": data, "ts": 1_700_000_000_000i64, "user": {}, "v": "2021-12-11.1",
    })
}

/// An execution request (the body `capture.mjs` sends).
struct Call {
    function: String,
    ev: Value,
    events: Option<Vec<Value>>,
    steps: Vec<(&'static str, Value)>,
    stack: Option<Vec<&'static str>>,
    attempt: u32,
    max_attempts: u32,
    step_id: Option<&'static str>,
    die: bool,
}

fn call(function: &str) -> Call {
    Call {
        function: function.into(),
        ev: event(&format!("test/{function}"), json!({})),
        events: None,
        steps: Vec::new(),
        stack: None,
        attempt: 0,
        max_attempts: 4,
        step_id: None,
        die: false,
    }
}

impl Call {
    fn ev(mut self, ev: Value) -> Self {
        self.ev = ev;
        self
    }
    fn events(mut self, events: Vec<Value>) -> Self {
        self.events = Some(events);
        self
    }
    fn step(mut self, id: &'static str, memo: Value) -> Self {
        self.steps.push((id, memo));
        self
    }
    fn stack(mut self, ids: &[&'static str]) -> Self {
        self.stack = Some(ids.to_vec());
        self
    }
    fn attempt(mut self, attempt: u32) -> Self {
        self.attempt = attempt;
        self
    }
    fn max_attempts(mut self, max: u32) -> Self {
        self.max_attempts = max;
        self
    }
    fn planned(mut self, id: &'static str) -> Self {
        self.step_id = Some(id);
        self
    }
    fn die(mut self) -> Self {
        self.die = true;
        self
    }

    fn body(&self) -> Value {
        let stack: Vec<&str> = self
            .stack
            .clone()
            .unwrap_or_else(|| self.steps.iter().map(|(id, _)| *id).collect());
        let hashed_stack: Vec<String> = stack.iter().map(|id| hash_step_id(id)).collect();
        let steps: Map<String, Value> = self
            .steps
            .iter()
            .map(|(id, memo)| (hash_step_id(id), memo.clone()))
            .collect();
        let fn_hash = hash_step_id(&self.function);
        json!({
            "event": self.ev,
            "events": self.events.clone().unwrap_or_else(|| vec![self.ev.clone()]),
            "steps": steps,
            "version": 2,
            "use_api": false,
            "ctx": {
                "fn_id": format!("00000000-0000-0000-0000-{}", &fn_hash[..12]),
                "run_id": RUN_ID,
                "env": "",
                "step_id": self.step_id.map(hash_step_id).unwrap_or_else(|| "step".into()),
                "attempt": self.attempt,
                "max_attempts": self.max_attempts,
                "stack": { "stack": hashed_stack, "current": stack.len() },
                "disable_immediate_execution": self.die,
                "use_api": false,
            },
        })
    }

    fn request(self) -> Request {
        let step = self
            .step_id
            .map(hash_step_id)
            .unwrap_or_else(|| "step".into());
        let mut summary = vec![
            format!(
                "stepId={}",
                self.step_id
                    .map(|s| format!("<{s}>"))
                    .unwrap_or_else(|| "step".into())
            ),
            format!("attempt={}/{}", self.attempt, self.max_attempts),
        ];
        let stack: Vec<&str> = self
            .stack
            .clone()
            .unwrap_or_else(|| self.steps.iter().map(|(id, _)| *id).collect());
        summary.push(format!("stack=[{}]", stack.join(", ")));
        if !self.steps.is_empty() {
            let memo: Vec<String> = self
                .steps
                .iter()
                .map(|(id, m)| format!("{id}={m}"))
                .collect();
            summary.push(format!("steps: {}", memo.join("; ")));
        }
        if self.die {
            summary.push("disable_immediate_execution".into());
        }
        let name = self.ev["name"].as_str().unwrap_or_default();
        if name != format!("test/{}", self.function) {
            summary.push(format!("event: {name}"));
        }
        let mut request = Request::new(reqwest::Method::POST)
            .query(&format!(
                "?fnId=conformance-{}&stepId={step}",
                self.function
            ))
            .json(self.body());
        request.summary = summary.join(", ");
        request
    }
}

struct Scenario {
    name: String,
    request: Request,
    /// `/fn/register` reply override for this scenario.
    register_reply: Option<(u16, &'static str)>,
}

fn scenarios() -> Vec<Scenario> {
    use reqwest::Method;
    let mut out: Vec<Scenario> = Vec::new();
    macro_rules! add {
        ($section:expr, $title:expr, $request:expr $(,)?) => {
            out.push(Scenario {
                name: format!("{} / {}", $section, $title),
                request: $request,
                register_reply: None,
            })
        };
    }

    // --- protocol: introspection, sync, trust probe, auth
    let p = "protocol";
    let hello_call = || call("hello").ev(event("test/hello", json!({"name": "world"})));
    add!(
        p,
        "GET introspection, unsigned",
        Request::new(Method::GET).sign(Sign::None)
    );
    add!(p, "GET introspection, signed", Request::new(Method::GET));
    add!(
        p,
        "GET introspection, wrong key",
        Request::new(Method::GET).sign(Sign::WrongKey)
    );
    add!(
        p,
        "PUT in-band sync, signed {url}",
        Request::new(Method::PUT)
            .json(json!({"url": SELF_URL}))
            .header("x-inngest-sync-kind", "in_band")
            .header("x-inngest-server-kind", "cloud"),
    );
    add!(
        p,
        "PUT in-band sync, unsigned",
        Request::new(Method::PUT)
            .json(json!({"url": SELF_URL}))
            .header("x-inngest-sync-kind", "in_band")
            .sign(Sign::None),
    );
    add!(
        p,
        "PUT out-of-band sync, unsigned {url}, server kind cloud",
        Request::new(Method::PUT)
            .json(json!({"url": SELF_URL}))
            .header("x-inngest-server-kind", "cloud")
            .sign(Sign::None),
    );
    add!(
        p,
        "PUT out-of-band sync, empty body, no headers",
        Request::new(Method::PUT).sign(Sign::None)
    );
    add!(
        p,
        "PUT out-of-band sync, signed {url}, server kind cloud",
        Request::new(Method::PUT)
            .json(json!({"url": SELF_URL}))
            .header("x-inngest-server-kind", "cloud"),
    );
    let failing_sync = || {
        Request::new(Method::PUT)
            .json(json!({"url": SELF_URL}))
            .header("x-inngest-server-kind", "cloud")
    };
    for (title, reply) in [
        (
            "PUT out-of-band sync, register answers HTTP 500 {error}",
            (500, r#"{"error":"register failed (stand-in)"}"#),
        ),
        (
            "PUT out-of-band sync, register answers HTTP 500 {status:500,error}",
            (
                500,
                r#"{"status":500,"error":"register failed (stand-in)"}"#,
            ),
        ),
        (
            "PUT out-of-band sync, register answers HTTP 401 non-JSON",
            (401, "unauthorized"),
        ),
    ] {
        add!(p, title, failing_sync());
        out.last_mut().unwrap().register_reply = Some(reply);
    }
    let probe = || Request::new(Method::POST).query("?probe=trust");
    add!(
        p,
        "POST ?probe=trust, signed, body {}",
        probe().json(json!({}))
    );
    add!(
        p,
        "POST ?probe=trust, unsigned, body {}",
        probe().json(json!({})).sign(Sign::None)
    );
    add!(p, "POST ?probe=trust, signed, empty body", probe());
    add!(
        p,
        "POST ?probe=trust, unsigned, empty body",
        probe().sign(Sign::None)
    );
    add!(
        p,
        "POST ?probe=trust, wrong key, body {}",
        probe().json(json!({})).sign(Sign::WrongKey)
    );
    add!(
        p,
        "POST execute, unsigned",
        hello_call().request().sign(Sign::None)
    );
    add!(
        p,
        "POST execute, expired signature (t = now - 600)",
        hello_call().request().sign(Sign::Expired)
    );
    add!(
        p,
        "POST execute, wrong key",
        hello_call().request().sign(Sign::WrongKey)
    );
    {
        // Correctly signed over bytes that are not JCS (keys not sorted).
        let body = hello_call().body();
        let mut unsorted = Map::new();
        unsorted.insert("version".into(), body["version"].clone());
        unsorted.insert("event".into(), body["event"].clone());
        for (k, v) in body.as_object().unwrap() {
            unsorted.entry(k.clone()).or_insert_with(|| v.clone());
        }
        let raw = serde_json::to_string(&Value::Object(unsorted)).unwrap();
        let mut request = hello_call().request().raw(raw);
        request.summary.push_str(", body NOT canonical");
        add!(
            p,
            "POST execute, body not canonical but signed over its bytes",
            request
        );
    }
    add!(p, "POST execute, unknown fnId", call("nope").request());
    add!(
        p,
        "POST execute, event not among the function's triggers",
        call("sequence")
            .ev(event("test/hello", json!({"name": "x"})))
            .request(),
    );
    add!(p, "DELETE", Request::new(Method::DELETE).sign(Sign::None));

    // --- execution
    add!("hello", "first call", hello_call().request());

    add!("sequence", "first call", call("sequence").request());
    add!(
        "sequence",
        "'first' memoized",
        call("sequence").step("first", json!({"data": 1})).request()
    );
    add!(
        "sequence",
        "'first','second' memoized",
        call("sequence")
            .step("first", json!({"data": 1}))
            .step("second", json!({"data": 2}))
            .request(),
    );
    add!(
        "sequence",
        "all three memoized",
        call("sequence")
            .step("first", json!({"data": 1}))
            .step("second", json!({"data": 2}))
            .step("first:1", json!({"data": 10}))
            .request(),
    );

    add!("sleeper", "first call", call("sleeper").request());
    add!(
        "sleeper",
        "'nap' memoized as null",
        call("sleeper").step("nap", Value::Null).request()
    );
    add!(
        "sleeper",
        "'nap','until' memoized as null",
        call("sleeper")
            .step("nap", Value::Null)
            .step("until", Value::Null)
            .request(),
    );

    let wev = || call("waiter").ev(event("test/waiter", json!({"id": "abc"})));
    let approved = event("test/approved", json!({"id": "abc"}));
    add!("waiter", "first call", wev().request());
    add!(
        "waiter",
        "memoized null (timeout)",
        wev().step("wait-approval", Value::Null).request()
    );
    add!(
        "waiter",
        "memoized as the matching event",
        wev().step("wait-approval", approved.clone()).request()
    );
    add!(
        "waiter",
        "memoized as {data: <event>}",
        wev()
            .step("wait-approval", json!({"data": approved}))
            .request()
    );
    add!(
        "waiter",
        "memoized as {error}",
        wev()
            .step(
                "wait-approval",
                json!({"error": {"name": "Error", "message": "wait failed", "stack": ""}})
            )
            .request(),
    );

    add!("invoker", "first call", call("invoker").request());
    add!(
        "invoker",
        "memoized {data}",
        call("invoker")
            .step("call-hello", json!({"data": {"greeting": "hello inv"}}))
            .request(),
    );
    add!(
        "invoker",
        "memoized {error}",
        call("invoker")
            .step("call-hello", json!({"error": {"name": "Error", "message": "invoked function failed", "stack": ""}}))
            .request(),
    );
    add!(
        "invoker",
        "memoized null",
        call("invoker").step("call-hello", Value::Null).request()
    );

    add!("parallel", "first call", call("parallel").request());
    add!(
        "parallel",
        "planned-step callback <left>",
        call("parallel").planned("left").die().request()
    );
    add!(
        "parallel",
        "planned-step callback <right>, left memoized",
        call("parallel")
            .planned("right")
            .step("left", json!({"data": "L"}))
            .die()
            .request(),
    );
    add!(
        "parallel",
        "both memoized",
        call("parallel")
            .step("left", json!({"data": "L"}))
            .step("right", json!({"data": "R"}))
            .die()
            .request(),
    );
    add!(
        "parallel",
        "both memoized, stack order right,left",
        call("parallel")
            .step("left", json!({"data": "L"}))
            .step("right", json!({"data": "R"}))
            .stack(&["right", "left"])
            .die()
            .request(),
    );

    add!("racer", "first call", call("racer").request());
    add!(
        "racer",
        "planned-step callback <fast>",
        call("racer").planned("fast").die().request()
    );
    add!(
        "racer",
        "'fast' memoized",
        call("racer")
            .step("fast", json!({"data": "F"}))
            .die()
            .request()
    );
    add!(
        "racer",
        "'slow' memoized only",
        call("racer")
            .step("slow", json!({"data": "S"}))
            .die()
            .request()
    );
    add!(
        "racer",
        "both memoized (stack fast, slow)",
        call("racer")
            .step("fast", json!({"data": "F"}))
            .step("slow", json!({"data": "S"}))
            .die()
            .request(),
    );

    let flaky = || call("flaky").max_attempts(3);
    add!("flaky", "attempt 0 of 3", flaky().request());
    add!("flaky", "attempt 1 of 3", flaky().attempt(1).request());
    add!(
        "flaky",
        "attempt 2 of 3 (last)",
        flaky().attempt(2).request()
    );
    add!(
        "flaky",
        "'boom' memoized as {error}",
        flaky()
            .step(
                "boom",
                json!({"error": {"name": "Error", "message": "kaboom", "stack": "Error: kaboom"}})
            )
            .request(),
    );
    add!(
        "flaky",
        "planned-step callback <boom>, attempt 0",
        flaky().planned("boom").request()
    );

    add!("fatal", "first call (attempt 0)", call("fatal").request());
    add!(
        "fatal",
        "'fatal-step' memoized as {error} (NonRetriableError)",
        call("fatal")
            .step(
                "fatal-step",
                json!({"error": {"name": "NonRetriableError", "message": "no way", "stack": "NonRetriableError: no way"}}),
            )
            .request(),
    );

    add!("body-error", "first call", call("body-error").request());
    add!("retry-later", "first call", call("retry-later").request());
    add!(
        "retry-later",
        "last attempt (3 of 4)",
        call("retry-later").attempt(3).request()
    );
    add!(
        "plain-error",
        "first call (attempt 0)",
        call("plain-error").request()
    );
    add!(
        "plain-error",
        "last attempt (3 of 4)",
        call("plain-error").attempt(3).request()
    );

    add!("signal", "first call", call("signal").request());
    add!(
        "signal",
        "memoized null (timeout)",
        call("signal").step("wait-signal", Value::Null).request()
    );
    add!(
        "signal",
        "memoized {data:{signal,data}}",
        call("signal")
            .step(
                "wait-signal",
                json!({"data": {"signal": "sig-123", "data": {"ok": 1}}})
            )
            .request(),
    );

    add!("sender", "first call", call("sender").request());
    add!(
        "sender",
        "memoized {data:{ids}}",
        call("sender")
            .step("send-followup", json!({"data": {"ids": ["evt-1"]}}))
            .request()
    );

    add!("ai", "first call", call("ai").request());
    add!(
        "ai",
        "memoized {data}",
        call("ai")
            .step("summarize", json!({"data": {"choices": [{"message": {"role": "assistant", "content": "summary"}}]}}))
            .request(),
    );

    let cev = event(
        "test/configured",
        json!({"ok": true, "k": "k1", "id": "i1", "p": 0}),
    );
    add!(
        "configured",
        "first call",
        call("configured").ev(cev.clone()).max_attempts(6).request()
    );
    add!(
        "configured",
        "'only' memoized",
        call("configured")
            .ev(cev.clone())
            .max_attempts(6)
            .step("only", json!({"data": "ok"}))
            .request(),
    );
    add!(
        "configured",
        "cron trigger (inngest/scheduled.timer)",
        call("configured")
            .ev(event(
                "inngest/scheduled.timer",
                json!({"cron": "TZ=Europe/Paris 0 9 * * *"})
            ))
            .max_attempts(6)
            .request(),
    );
    add!(
        "configured",
        "onFailure handler conformance-configured-failure",
        call("configured-failure")
            .ev(event(
                "inngest/function.failed",
                json!({
                    "function_id": "conformance-configured", "run_id": RUN_ID,
                    "error": {"name": "Error", "message": "boom", "stack": "Error: boom"}, "event": cev,
                }),
            ))
            .request(),
    );

    let batch: Vec<Value> = (1..=3)
        .map(|n| {
            let mut e = event("test/batched", json!({"n": n}));
            e["id"] = json!(format!("{:0<26}", format!("01JEVTBATCH{n}")));
            e
        })
        .collect();
    add!(
        "batched",
        "3 events",
        call("batched").ev(batch[0].clone()).events(batch).request()
    );
    add!("debounced", "first call", call("debounced").request());
    add!("singleton-fn", "first call", call("singleton-fn").request());
    out
}

// ------------------------------------------------------------------------------------------------
// Sending and normalizing
// ------------------------------------------------------------------------------------------------

struct Target {
    name: &'static str,
    port: u16,
}

impl Target {
    fn serve_url(&self) -> String {
        format!("http://127.0.0.1:{}/api/inngest", self.port)
    }
}

struct Env {
    http: reqwest::Client,
    standin: StandIn,
    standin_port: u16,
    labels: BTreeMap<String, String>,
}

impl Env {
    async fn observe(&self, target: &Target, request: &Request) -> (Value, String) {
        let body = request
            .body
            .as_ref()
            .map(|b| b.replace(SELF_URL, &target.serve_url()));
        let signed_body = body.clone().unwrap_or_default();
        let now = chrono::Utc::now().timestamp();
        let signature = match request.sign {
            Sign::Key => Some(SigningKey::new(KEY).sign(signed_body.as_bytes(), now)),
            Sign::WrongKey => Some(SigningKey::new(WRONG_KEY).sign(signed_body.as_bytes(), now)),
            Sign::Expired => Some(SigningKey::new(KEY).sign(signed_body.as_bytes(), now - 600)),
            Sign::None => None,
        };
        let mut builder = self.http.request(
            request.method.clone(),
            format!("{}{}", target.serve_url(), request.query),
        );
        for (name, value) in &request.headers {
            builder = builder.header(*name, *value);
        }
        if let Some(signature) = signature {
            builder = builder.header("x-inngest-signature", signature);
        }
        if let Some(body) = body {
            builder = builder
                .header("content-type", "application/json")
                .body(body);
        }
        let before = self.standin.count();
        let response = builder.send().await.unwrap_or_else(|e| {
            panic!(
                "{} server did not answer {}: {e}",
                target.name,
                request.describe()
            )
        });
        let status = response.status().as_u16();
        let mut headers = Map::new();
        for name in ["x-inngest-no-retry", "retry-after", "x-inngest-sync-kind"] {
            if let Some(v) = response.headers().get(name) {
                headers.insert(name.into(), json!(v.to_str().unwrap_or("<non-ascii>")));
            }
        }
        let text = response.text().await.unwrap_or_default();
        let recorded = self.standin.since(before);
        let body = self.normalize_body(target, status, &text);
        let stand_in: Vec<Value> = recorded
            .iter()
            .map(|r| self.normalize_recorded(target, r))
            .collect();
        let observation =
            json!({ "status": status, "headers": headers, "body": body, "standIn": stand_in });
        (observation, text)
    }

    fn replace_origins(&self, target: &Target, text: &str) -> String {
        text.replace(&format!("127.0.0.1:{}", target.port), "<SELF>")
            .replace(&format!("127.0.0.1:{}", self.standin_port), "<STANDIN>")
    }

    fn normalize_body(&self, target: &Target, status: u16, text: &str) -> Value {
        if text.is_empty() {
            return json!("<empty body>");
        }
        let Ok(mut value) = serde_json::from_str::<Value>(&self.replace_origins(target, text))
        else {
            return json!(format!("<not JSON> {text}"));
        };
        strip_ignored(&mut value);
        if status == 206 {
            if let Value::Array(ops) = value {
                return Value::Object(self.key_ops(ops));
            }
        }
        key_functions(&mut value);
        value
    }

    /// Ops keyed by the label of their step (order of ops is not significant).
    fn key_ops(&self, ops: Vec<Value>) -> Map<String, Value> {
        let mut keyed = Map::new();
        for op in ops {
            let id = op["id"].as_str().unwrap_or("?").to_owned();
            let mut label = self.labels.get(&id).cloned().unwrap_or(id);
            while keyed.contains_key(&label) {
                label.push('\'');
            }
            keyed.insert(label, op);
        }
        keyed
    }

    fn normalize_recorded(&self, target: &Target, r: &Recorded) -> Value {
        let mut headers = Map::new();
        for name in [
            "authorization",
            "x-inngest-expected-server-kind",
            "x-inngest-sync-kind",
            "x-inngest-env",
        ] {
            if let Some(v) = r.headers.get(name) {
                headers.insert(name.into(), json!(v.to_str().unwrap_or("<non-ascii>")));
            }
        }
        if r.path.starts_with("/e/") {
            headers.insert(
                "x-inngest-event-id-seed (present)".into(),
                json!(r.headers.contains_key("x-inngest-event-id-seed")),
            );
        }
        let mut body = serde_json::from_str::<Value>(&self.replace_origins(target, &r.body))
            .unwrap_or_else(|_| json!(format!("<not JSON> {}", r.body)));
        if r.path.starts_with("/e/") {
            if let Value::Array(events) = &mut body {
                for e in events {
                    if e.get("ts").is_some_and(Value::is_number) {
                        e["ts"] = json!("<now ms>");
                    }
                }
            }
        }
        key_functions(&mut body);
        json!({ "method": r.method, "path": r.path, "headers": headers, "body": body })
    }
}

/// Drops what the comparison ignores: stacks, timings, userland ids, `__serialized` markers.
fn strip_ignored(value: &mut Value) {
    match value {
        Value::Object(map) => {
            map.retain(|k, _| {
                !matches!(k.as_str(), "stack" | "timing" | "userland" | "__serialized")
            });
            map.values_mut().for_each(strip_ignored);
        }
        Value::Array(items) => items.iter_mut().for_each(strip_ignored),
        _ => {}
    }
}

/// Function configs keyed by id (registration order is not significant).
fn key_functions(value: &mut Value) {
    if let Some(Value::Array(functions)) = value.get_mut("functions") {
        let keyed: Map<String, Value> = functions
            .drain(..)
            .map(|f| (f["id"].as_str().unwrap_or("?").to_owned(), f))
            .collect();
        value["functions"] = Value::Object(keyed);
    }
}

// ------------------------------------------------------------------------------------------------
// Diffing and the allow-list
// ------------------------------------------------------------------------------------------------

#[derive(Debug, Clone)]
struct Diff {
    path: Vec<String>,
    ts: Option<Value>,
    rs: Option<Value>,
}

fn path_string(path: &[String]) -> String {
    let mut out = String::new();
    for seg in path {
        if seg.starts_with('[') || out.is_empty() {
            out.push_str(seg);
        } else {
            out.push('.');
            out.push_str(seg);
        }
    }
    out
}

fn diff(path: &mut Vec<String>, ts: Option<&Value>, rs: Option<&Value>, out: &mut Vec<Diff>) {
    match (ts, rs) {
        (Some(Value::Object(a)), Some(Value::Object(b))) => {
            let keys: BTreeSet<&String> = a.keys().chain(b.keys()).collect();
            for key in keys {
                path.push(key.clone());
                diff(path, a.get(key), b.get(key), out);
                path.pop();
            }
        }
        (Some(Value::Array(a)), Some(Value::Array(b))) => {
            for i in 0..a.len().max(b.len()) {
                path.push(format!("[{i}]"));
                diff(path, a.get(i), b.get(i), out);
                path.pop();
            }
        }
        (a, b) if a == b => {}
        (a, b) => out.push(Diff {
            path: path.clone(),
            ts: a.cloned(),
            rs: b.cloned(),
        }),
    }
}

/// What an allow-list predicate sees.
struct Ctx<'a> {
    scenario: &'a str,
    path: &'a [String],
    ts: Option<&'a Value>,
    rs: Option<&'a Value>,
    ts_obs: &'a Value,
    rs_obs: &'a Value,
}

impl Ctx<'_> {
    fn status(&self) -> (u64, u64) {
        (
            self.ts_obs["status"].as_u64().unwrap_or(0),
            self.rs_obs["status"].as_u64().unwrap_or(0),
        )
    }
    /// The enclosing op of a `body.<step>.…` path in a 206 answer.
    fn op<'v>(&self, obs: &'v Value) -> &'v Value {
        static NULL: Value = Value::Null;
        match self.path {
            [body, step, ..] if body == "body" && obs["status"] == 206 => {
                &obs["body"][step.as_str()]
            }
            _ => &NULL,
        }
    }
    fn ts_op(&self) -> &Value {
        self.op(self.ts_obs)
    }
    fn rs_op(&self) -> &Value {
        self.op(self.rs_obs)
    }
    /// Both sides report the step as this opcode.
    fn op_is(&self, codes: &[&str]) -> bool {
        let (a, b) = (self.ts_op()["op"].as_str(), self.rs_op()["op"].as_str());
        a == b && a.is_some_and(|a| codes.contains(&a))
    }
    fn rs_is_display_name(&self) -> bool {
        self.rs.is_some_and(|v| *v == self.rs_op()["displayName"])
    }
}

/// An expected difference: where (`scenario` prefix, or `*`; `field` path globs with `*` = one
/// segment, `**` = any), what exactly (`applies`) and why.
struct Allow {
    scenario: &'static str,
    field: &'static str,
    why: &'static str,
    applies: fn(&Ctx) -> bool,
}

fn glob(pattern: &[&str], path: &[String]) -> bool {
    match (pattern.first(), path.first()) {
        (None, None) => true,
        (Some(&"**"), _) => {
            glob(&pattern[1..], path) || (!path.is_empty() && glob(pattern, &path[1..]))
        }
        (Some(p), Some(s)) => (*p == "*" || p == s) && glob(&pattern[1..], &path[1..]),
        _ => false,
    }
}

impl Allow {
    fn matches(&self, ctx: &Ctx) -> bool {
        let scenario_ok = self.scenario == "*"
            || self
                .scenario
                .split(" | ")
                .any(|s| ctx.scenario.starts_with(s));
        let field_ok = self
            .field
            .split(" | ")
            .any(|f| glob(&f.split('.').collect::<Vec<_>>(), ctx.path));
        scenario_ok && field_ok && (self.applies)(ctx)
    }
}

fn same_instant(a: &str, b: &str) -> bool {
    let parse = |s: &str| chrono::DateTime::parse_from_rfc3339(s).ok();
    a == b || matches!((parse(a), parse(b)), (Some(x), Some(y)) if x == y)
}

/// The known differences of the TypeScript SDK 4.x (reference §9, CAPTURES.md); nothing else may differ.
const ALLOW: &[Allow] = &[
    // ---- ops (reference §9: "Known differences of the TypeScript SDK 4.x")
    Allow {
        scenario: "*",
        field: "body.*.opts",
        why: "§9: TS sends `\"opts\": {}` on StepRun/StepError/StepFailed/StepPlanned/Sleep; the Go shape (ours) omits empty opts",
        applies: |c| c.ts == Some(&json!({})) && c.rs.is_none() && c.op_is(&["StepRun", "StepError", "StepFailed", "StepPlanned", "Sleep"]),
    },
    Allow {
        scenario: "sleeper",
        field: "body.*.name | body.*.opts.duration",
        why: "TS 4.x puts a Sleep's duration (or ISO date, with millis) in `name` and no `opts.duration`; ours: name = step id, opts.duration (Go shape; the executor reads opts.duration, then name)",
        applies: |c| {
            c.op_is(&["Sleep"])
                && same_instant(c.ts_op()["name"].as_str().unwrap_or("?"), c.rs_op()["opts"]["duration"].as_str().unwrap_or("!"))
                && match c.path.last().map(String::as_str) {
                    Some("name") => c.rs_is_display_name(),
                    _ => c.ts.is_none(),
                }
        },
    },
    Allow {
        scenario: "waiter",
        field: "body.*.name | body.*.opts.event",
        why: "§9: TS WaitForEvent `name` = the event name and no `opts.event`; ours: name = step id, opts {event, if, timeout} (Go shape)",
        applies: |c| {
            c.op_is(&["WaitForEvent"])
                && c.ts_op()["name"] == c.rs_op()["opts"]["event"]
                && match c.path.last().map(String::as_str) {
                    Some("name") => c.rs_is_display_name(),
                    _ => c.ts.is_none(),
                }
        },
    },
    Allow {
        scenario: "signal",
        field: "body.*.name",
        why: "TS WaitForSignal `name` = the signal name (like WaitForEvent); ours: name = step id, signal in opts.signal",
        applies: |c| c.op_is(&["WaitForSignal"]) && c.ts_op()["name"] == c.rs_op()["opts"]["signal"] && c.rs_is_display_name(),
    },
    Allow {
        scenario: "invoker | ai",
        field: "body.*.name",
        why: "TS InvokeFunction/AIGateway ops carry no `name`; ours: name = step id (§9: every op's name is the step id)",
        applies: |c| c.ts.is_none() && c.rs_is_display_name() && c.op_is(&["InvokeFunction", "AIGateway"]),
    },
    Allow {
        scenario: "*",
        field: "body.*.data",
        why: "TS sends `\"data\": null` on every reported op; ours only where §9 asks for it (Sleep, WaitForEvent, StepError); a missing data is null to the executor",
        applies: |c| c.ts == Some(&Value::Null) && c.rs.is_none() && c.op_is(&["StepPlanned", "InvokeFunction", "AIGateway", "WaitForSignal"]),
    },
    Allow {
        scenario: "sender",
        field: "body.*.name",
        why: "TS names the op of step.sendEvent \"sendEvent\" (the step id is only in displayName); ours: name = step id",
        applies: |c| c.ts == Some(&json!("sendEvent")) && c.rs_is_display_name() && c.op_is(&["StepRun"]),
    },
    Allow {
        scenario: "flaky | fatal",
        field: "body.*.data",
        why: "TS StepFailed carries a copy of the error in `data`; ours only `error` (the executor reads `error` for StepFailed)",
        applies: |c| {
            c.op_is(&["StepFailed"])
                && c.rs.is_none()
                && c.ts.is_some_and(|d| d["name"] == c.ts_op()["error"]["name"] && d["message"] == c.ts_op()["error"]["message"])
        },
    },
    Allow {
        scenario: "ai",
        field: "body.*.opts.headers",
        why: "TS omits empty AIGateway `headers`; ours sends `{}` (§9 lists headers among the AIGateway opts)",
        applies: |c| c.ts.is_none() && c.rs == Some(&json!({})) && c.op_is(&["AIGateway"]),
    },
    Allow {
        scenario: "racer / 'fast' memoized | racer / 'slow' memoized only",
        field: "**",
        why: "race with one side memoized: TS reports the loser as StepPlanned again; ours resolves the race with the memoized winner and completes (200 with the winner's value)",
        applies: |c| {
            let ts_ops = c.ts_obs["body"].as_object();
            c.status() == (206, 200)
                && ts_ops.is_some_and(|ops| ops.len() == 1 && ops.values().all(|o| o["op"] == "StepPlanned" && o["opts"]["parallelMode"] == "race"))
                && (c.rs_obs["body"] == "F" || c.rs_obs["body"] == "S")
        },
    },
    Allow {
        scenario: "*",
        field: "headers.x-inngest-no-retry",
        why: "TS omits X-Inngest-No-Retry on a 206 without a failed step; ours says `false` (same meaning)",
        applies: |c| c.status() == (206, 206) && c.ts.is_none() && c.rs == Some(&json!("false")),
    },
    // ---- protocol edges
    Allow {
        scenario: "protocol / POST execute, unknown fnId",
        field: "**",
        why: "unknown function: TS 500 `{name: Error}` (retriable); ours 410 FunctionNotFound, no-retry (as the Go SDK: 404 would mean the endpoint is missing)",
        applies: |c| c.status() == (500, 410) && c.ts_obs["body"]["name"] == "Error" && c.rs_obs["body"]["name"] == "FunctionNotFound",
    },
    Allow {
        scenario: "protocol / POST execute, event not among the function's triggers",
        field: "**",
        why: "TS validates the event name against the triggers (400 EventValidationError); ours runs the function (the executor only sends matching events)",
        applies: |c| c.ts_obs["status"] == 400 && c.ts_obs["body"]["name"] == "EventValidationError" && c.rs_obs["status"] == 206,
    },
    Allow {
        scenario: "protocol / GET introspection, unsigned | protocol / GET introspection, wrong key",
        field: "**",
        why: "§5: GET without a valid signature answers the unauthenticated introspection (authentication_succeeded null/false, no app details); TS 4.x answers 401 in cloud mode",
        applies: |c| {
            let body = &c.rs_obs["body"];
            c.status() == (401, 200)
                && (body["authentication_succeeded"].is_null() || body["authentication_succeeded"] == false)
                && body.get("app_id").is_none()
                && body.get("signing_key_hash").is_none()
        },
    },
    Allow {
        scenario: "*",
        field: "body.message",
        why: "401/405 wording: TS says \"Unauthorized\" / \"Method not allowed\"; ours names the signature problem / lower-case",
        applies: |c| matches!(c.status(), (401, 401) | (405, 405)),
    },
    Allow {
        scenario: "protocol / POST ?probe=trust, signed, body {}",
        field: "body",
        why: "trust probe: TS answers 200 with an empty body, ours 200 `{}` (only the status and signature matter)",
        applies: |c| c.status() == (200, 200) && c.ts == Some(&json!("<empty body>")) && c.rs == Some(&json!({})),
    },
    Allow {
        scenario: "protocol / POST ?probe=trust, signed, empty body | protocol / POST execute, body not canonical",
        field: "**",
        why: "TS JSON-parses the body and HMACs its JCS re-serialization (empty or non-JCS bytes fail, 401); ours verifies the raw bytes, which §4 specifies",
        applies: |c| c.status() == (401, 200),
    },
    Allow {
        scenario: "protocol / PUT out-of-band sync, register answers HTTP 500 {error}",
        field: "status",
        why: "TS takes the sync reply's status from the register body's `status` field (default 200) and answers 200 to a failed sync; ours answers 500 (§6: never 200 on failure)",
        applies: |c| c.status() == (200, 500),
    },
    Allow {
        scenario: "protocol / PUT out-of-band sync, register answers HTTP 401 non-JSON",
        field: "body.message",
        why: "sync failure message wording (TS quotes its JSON parse error)",
        applies: |c| c.status() == (500, 500) && c.ts.is_some_and(Value::is_string) && c.rs.is_some_and(Value::is_string),
    },
    Allow {
        scenario: "protocol / PUT out-of-band sync, unsigned | protocol / PUT out-of-band sync, empty body",
        field: "headers.x-inngest-sync-kind",
        why: "TS adds X-Inngest-* headers only to signed requests' replies; ours always labels the out-of-band reply",
        applies: |c| c.ts.is_none() && c.rs == Some(&json!("out_of_band")),
    },
    // ---- introspection / sync payload identity fields
    Allow {
        scenario: "protocol",
        field: "body.framework | body.sdk_language | body.sdk_version | body.sdk_author | body.inspection.framework | body.inspection.sdk_language | body.inspection.sdk_version | standIn.*.body.framework | standIn.*.body.sdk",
        why: "SDK identity (js/nodejs vs rust/axum)",
        applies: |c| c.rs.is_some_and(|v| v.as_str().is_some_and(|s| !s.is_empty())),
    },
    Allow {
        scenario: "protocol",
        field: "body.featureObservations | body.extra | body.inspection.extra | body.sdk | standIn.*.body.featureObservations",
        why: "TS-only fields: diagnostics (`extra`, `featureObservations`) and `sdk` in the in-band reply (§6 does not list it there; ours sends `sdk` in the out-of-band payload)",
        applies: |c| c.ts.is_some() && c.rs.is_none(),
    },
    Allow {
        scenario: "protocol",
        field: "**.capabilities.connect | **.capabilities.in_band_sync",
        why: "capabilities: TS offers `connect` (not implemented here) and does not list `in_band_sync` (ours does, §5)",
        applies: |c| {
            (c.path.last().unwrap() == "connect" && c.rs.is_none())
                || (c.path.last().unwrap() == "in_band_sync" && c.ts.is_none() && c.rs == Some(&json!("v1")))
        },
    },
    Allow {
        scenario: "protocol / PUT in-band",
        field: "body.platform",
        why: "§6 lists `platform` in the in-band reply (ours null); TS omits it when unknown",
        applies: |c| c.ts.is_none() && c.rs == Some(&Value::Null),
    },
    Allow {
        scenario: "protocol",
        field: "body.has_signing_key_fallback | body.inspection.has_signing_key_fallback",
        why: "§5 lists has_signing_key_fallback; TS omits it from the authenticated introspection",
        applies: |c| c.ts.is_none() && c.rs == Some(&json!(false)),
    },
    Allow {
        scenario: "protocol",
        field: "body.signing_key_hash | body.inspection.signing_key_hash",
        why: "TS shows only the first 12 hex digits of the hashed key, without prefix; ours the full hashed key",
        applies: |c| match (c.ts.and_then(Value::as_str), c.rs.and_then(Value::as_str)) {
            (Some(t), Some(r)) => !t.is_empty() && r.trim_start_matches("signkey-test-").starts_with(t),
            _ => false,
        },
    },
    Allow {
        scenario: "protocol",
        field: "body.functions.*.steps.step.retries | standIn.*.body.functions.*.steps.step.retries",
        why: "TS omits `retries` for a function without explicit retries (server default 4); ours states `{attempts: 4}`",
        applies: |c| c.ts.is_none() && c.rs == Some(&json!({"attempts": 4})),
    },
];

// ------------------------------------------------------------------------------------------------
// The test
// ------------------------------------------------------------------------------------------------

struct Mismatch {
    scenario: String,
    request: String,
    diffs: Vec<Diff>,
    ts_raw: String,
    rs_raw: String,
    ts_obs: Value,
    rs_obs: Value,
}

fn truncate(s: &str, max_chars: usize) -> String {
    match s.char_indices().nth(max_chars) {
        Some((cut, _)) => format!("{}… ({} bytes)", &s[..cut], s.len()),
        None => s.to_owned(),
    }
}

fn show(v: &Option<Value>) -> String {
    match v {
        None => "<absent>".into(),
        Some(v) => truncate(&v.to_string(), 300),
    }
}

fn short(raw: &str) -> String {
    truncate(raw, 1200)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rust_sdk_matches_typescript_sdk() {
    // Stand-in for INNGEST_BASE_URL, shared by both servers.
    let standin = StandIn::default();
    let standin_router = Router::new()
        .route("/fn/register", post(register))
        .route("/e/{key}", post(send_events))
        .with_state(standin.clone());
    let standin_port = listen(standin_router).await;
    let standin_url = format!("http://127.0.0.1:{standin_port}");

    // Ours, in-process.
    let handler = common::conformance::serve_handler(KEY, &standin_url);
    let rust_port = listen(handler.into_router()).await;

    // Theirs.
    let mut ts = start_ts_server(&standin_url).await;

    let labels: BTreeMap<String, String> = STEP_IDS
        .iter()
        .map(|id| (hash_step_id(id), (*id).to_owned()))
        .collect();
    let env = Env {
        http: reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .unwrap(),
        standin: standin.clone(),
        standin_port,
        labels,
    };
    let ts_target = Target {
        name: "TypeScript",
        port: ts.port,
    };
    let rs_target = Target {
        name: "Rust",
        port: rust_port,
    };

    let scenarios = scenarios();
    let mut used = vec![0usize; ALLOW.len()];
    let mut mismatches: Vec<Mismatch> = Vec::new();
    for scenario in &scenarios {
        standin.set_register_reply(scenario.register_reply);
        let (ts_obs, ts_raw) = env.observe(&ts_target, &scenario.request).await;
        let (rs_obs, rs_raw) = env.observe(&rs_target, &scenario.request).await;
        standin.set_register_reply(None);

        let mut diffs = Vec::new();
        diff(&mut Vec::new(), Some(&ts_obs), Some(&rs_obs), &mut diffs);
        // Key order of a completed function's output (§9: keys keep the order the user built them in).
        if ts_obs["status"] == 200 && rs_obs["status"] == 200 && ts_obs["body"] == rs_obs["body"] {
            let (a, b) = (ts_obs["body"].to_string(), rs_obs["body"].to_string());
            if a != b {
                diffs.push(Diff {
                    path: vec!["body".into(), "<key order>".into()],
                    ts: Some(json!(a)),
                    rs: Some(json!(b)),
                });
            }
        }
        let unexplained: Vec<Diff> = diffs
            .into_iter()
            .filter(|d| {
                let ctx = Ctx {
                    scenario: &scenario.name,
                    path: &d.path,
                    ts: d.ts.as_ref(),
                    rs: d.rs.as_ref(),
                    ts_obs: &ts_obs,
                    rs_obs: &rs_obs,
                };
                match ALLOW.iter().position(|a| a.matches(&ctx)) {
                    Some(i) => {
                        used[i] += 1;
                        false
                    }
                    None => true,
                }
            })
            .collect();
        if !unexplained.is_empty() {
            mismatches.push(Mismatch {
                scenario: scenario.name.clone(),
                request: scenario.request.describe(),
                diffs: unexplained,
                ts_raw,
                rs_raw,
                ts_obs,
                rs_obs,
            });
        }
    }
    let _ = ts.child.kill().await;

    let mut report = format!(
        "differential test: {} scenarios, {} requests (each sent to the TypeScript and the Rust server)\n",
        scenarios.len(),
        scenarios.len() * 2
    );
    report.push_str("allow-list (expected TypeScript differences) — times applied:\n");
    for (allow, n) in ALLOW.iter().zip(&used) {
        let flag = if *n == 0 {
            "  (UNUSED: stale entry?)"
        } else {
            ""
        };
        report.push_str(&format!(
            "  {n:>3}× [{}] {} — {}{flag}\n",
            allow.scenario, allow.field, allow.why
        ));
    }
    if mismatches.is_empty() {
        println!("{report}\nno unexplained differences");
        return;
    }
    report.push_str(&format!(
        "\n{} scenario(s) differ beyond the allow-list:\n",
        mismatches.len()
    ));
    for m in &mismatches {
        report.push_str(&format!("\n✗ {}\n    request: {}\n", m.scenario, m.request));
        for d in &m.diffs {
            report.push_str(&format!(
                "    {:<40} TS: {}\n    {:<40} RS: {}\n",
                path_string(&d.path),
                show(&d.ts),
                "",
                show(&d.rs)
            ));
        }
        let head = |obs: &Value| format!("{} {}", obs["status"], obs["headers"]);
        report.push_str(&format!(
            "    TS answer: {} {}\n",
            head(&m.ts_obs),
            short(&m.ts_raw)
        ));
        report.push_str(&format!(
            "    RS answer: {} {}\n",
            head(&m.rs_obs),
            short(&m.rs_raw)
        ));
        let (ts_si, rs_si) = (&m.ts_obs["standIn"], &m.rs_obs["standIn"]);
        if ts_si.as_array().is_some_and(|a| !a.is_empty())
            || rs_si.as_array().is_some_and(|a| !a.is_empty())
        {
            report.push_str(&format!(
                "    TS → stand-in: {}\n    RS → stand-in: {}\n",
                short(&ts_si.to_string()),
                short(&rs_si.to_string())
            ));
        }
    }
    let stderr = ts.stderr.lock().unwrap().clone();
    if !stderr.trim().is_empty() {
        report.push_str(&format!(
            "\nTypeScript server stderr (tail):\n{}\n",
            short(
                &stderr
                    .chars()
                    .rev()
                    .take(3000)
                    .collect::<Vec<_>>()
                    .into_iter()
                    .rev()
                    .collect::<String>()
            )
        ));
    }
    panic!("{report}");
}
