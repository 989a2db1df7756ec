//! The calls the executor makes to the serve handler, recorded on the wire: the query's
//! `stepId` (`step` vs a planned step's hash), `ctx.stack`, `ctx.attempt` and
//! `ctx.disable_immediate_execution`, as the protocol reference describes for the real server.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use axum::extract::Request;
use axum::middleware::{self, Next};
use axum::response::Response;
use common::{client, fast, TestDb, APP, EVENT_KEY, SIGNING_KEY};
use inngest::step::hash_step_id;
use inngest::{Context, Error, Function, FunctionOpts, ServeHandler, Trigger};
use inngest_executor::{Executor, RunView};
use serde_json::{json, Value};

/// One execution request as the serve handler received it.
#[derive(Debug, Clone, PartialEq)]
struct Call {
    step_id: String,
    stack: Vec<String>,
    attempt: u64,
    disable_immediate_execution: bool,
}

type Calls = Arc<Mutex<Vec<Call>>>;

async fn record(calls: Calls, request: Request, next: Next) -> Response {
    let (parts, body) = request.into_parts();
    let bytes = axum::body::to_bytes(body, 16 * 1024 * 1024)
        .await
        .unwrap_or_default();
    if parts.method == axum::http::Method::POST {
        let query = parts.uri.query().unwrap_or_default().to_owned();
        let step_id = url_param(&query, "stepId");
        if let (Some(step_id), Ok(body)) = (step_id, serde_json::from_slice::<Value>(&bytes)) {
            let ctx = &body["ctx"];
            let stack = ctx["stack"]["stack"]
                .as_array()
                .map(|s| {
                    s.iter()
                        .filter_map(|h| h.as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default();
            calls.lock().unwrap().push(Call {
                step_id,
                stack,
                attempt: ctx["attempt"].as_u64().unwrap_or(u64::MAX),
                disable_immediate_execution: ctx["disable_immediate_execution"]
                    .as_bool()
                    .unwrap_or(false),
            });
        }
    }
    next.run(Request::from_parts(parts, Body::from(bytes)))
        .await
}

fn url_param(query: &str, key: &str) -> Option<String> {
    query
        .split('&')
        .find_map(|pair| pair.strip_prefix(&format!("{key}=")).map(str::to_owned))
}

struct Recorded {
    executor: Executor,
    base: String,
    calls: Calls,
    _db: TestDb,
}

async fn start(functions: impl FnOnce() -> Vec<Function>) -> Recorded {
    let db = TestDb::new().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let handler = ServeHandler::new(client(&base), functions()).expect("handler");
    let executor = fast(
        Executor::builder()
            .database(db.connect().await)
            .signing_key(SIGNING_KEY)
            .event_key(EVENT_KEY),
    )
    .build()
    .await
    .expect("executor");
    let calls: Calls = Arc::default();
    let recorder = calls.clone();
    let served: axum::Router =
        handler
            .into_router()
            .layer(middleware::from_fn(move |request: Request, next: Next| {
                record(recorder.clone(), request, next)
            }));
    let router = served.merge(executor.router());
    tokio::spawn(async move { axum::serve(listener, router).await.expect("serve") });
    executor
        .sync_app(&format!("{base}/api/inngest"))
        .await
        .expect("sync");
    calls.lock().unwrap().clear();
    Recorded {
        executor,
        base,
        calls,
        _db: db,
    }
}

impl Recorded {
    async fn run(&self, name: &str) -> RunView {
        let response = reqwest::Client::new()
            .post(format!("{}/e/{EVENT_KEY}", self.base))
            .json(&json!({"name": name, "data": {}}))
            .send()
            .await
            .expect("send");
        let ids: Value = response.json().await.expect("ids");
        let event_id = ids["ids"][0].as_str().expect("id").to_owned();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        loop {
            for summary in self.executor.runs(100).await.expect("runs") {
                let run = self
                    .executor
                    .run(&summary.id)
                    .await
                    .expect("run")
                    .expect("exists");
                if run.event["id"] == event_id {
                    return self
                        .executor
                        .wait_for_run(&run.id, Duration::from_secs(30))
                        .await
                        .expect("finished");
                }
            }
            assert!(tokio::time::Instant::now() < deadline, "no run started");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    fn calls(&self) -> Vec<Call> {
        self.calls.lock().unwrap().clone()
    }
}

fn opts(id: &str) -> FunctionOpts {
    FunctionOpts::new(id).trigger(Trigger::event(format!("test/{id}")))
}

fn call(step_id: &str, stack: &[&str], attempt: u64, disabled: bool) -> Call {
    Call {
        step_id: step_id.to_owned(),
        stack: stack.iter().map(|id| hash_step_id(id)).collect(),
        attempt,
        disable_immediate_execution: disabled,
    }
}

#[tokio::test]
async fn sequential_steps_run_one_per_call_with_the_stack_growing() {
    let recorded = start(|| {
        vec![
            Function::new(opts("sequence"), |ctx: Context<Value>| async move {
                let a: u32 = ctx
                    .step
                    .run("first", || async { Ok::<_, Error>(1) })
                    .await?;
                let b: u32 = ctx
                    .step
                    .run("second", || async move { Ok::<_, Error>(a + 1) })
                    .await?;
                Ok::<_, Error>(b)
            })
            .unwrap(),
        ]
    })
    .await;
    let run = recorded.run("test/sequence").await;
    assert_eq!(
        (run.status.as_str(), run.output.clone()),
        ("completed", Some(json!(2))),
        "{run:#?}"
    );
    assert_eq!(
        recorded.calls(),
        vec![
            call("step", &[], 0, false),
            call("step", &["first"], 0, false),
            call("step", &["first", "second"], 0, false),
        ]
    );
}

#[tokio::test]
async fn parallel_steps_are_called_back_by_hash_with_immediate_execution_disabled() {
    let recorded = start(|| {
        vec![
            Function::new(opts("parallel"), |ctx: Context<Value>| async move {
                let (l, r) = futures::join!(
                    ctx.step
                        .run("left", || async { Ok::<_, Error>("L".to_owned()) }),
                    ctx.step
                        .run("right", || async { Ok::<_, Error>("R".to_owned()) }),
                );
                Ok::<_, Error>(format!("{}{}", l?, r?))
            })
            .unwrap(),
        ]
    })
    .await;
    let run = recorded.run("test/parallel").await;
    assert_eq!(run.output, Some(json!("LR")), "{run:#?}");
    let calls = recorded.calls();
    assert_eq!(calls[0], call("step", &[], 0, false), "discovery first");
    let (left, right) = (hash_step_id("left"), hash_step_id("right"));
    for planned in [&left, &right] {
        let callbacks: Vec<_> = calls.iter().filter(|c| &c.step_id == planned).collect();
        assert_eq!(
            callbacks.len(),
            1,
            "each planned step is called back once by its hash: {calls:#?}"
        );
    }
    assert!(
        calls[1..].iter().all(|c| c.disable_immediate_execution),
        "after a response with several steps, immediate execution stays disabled: {calls:#?}"
    );
    let last = calls.last().expect("calls");
    assert_eq!(last.step_id, "step");
    let mut stack = last.stack.clone();
    stack.sort();
    let mut both = vec![left, right];
    both.sort();
    assert_eq!(
        stack, both,
        "the final call carries both results in completion order"
    );
}

#[tokio::test]
async fn a_failing_step_is_retried_with_the_attempt_counted() {
    let attempts = Arc::new(AtomicUsize::new(0));
    let counter = attempts.clone();
    let recorded = start(move || {
        vec![
            Function::new(opts("flaky").retries(3), move |ctx: Context<Value>| {
                let counter = counter.clone();
                async move {
                    let n: usize = ctx
                        .step
                        .run("boom", || async move {
                            let n = counter.fetch_add(1, Ordering::SeqCst);
                            if n < 2 {
                                Err(Error::new("not yet"))
                            } else {
                                Ok(n)
                            }
                        })
                        .await?;
                    Ok::<_, Error>(n)
                }
            })
            .unwrap(),
        ]
    })
    .await;
    let run = recorded.run("test/flaky").await;
    assert_eq!(run.output, Some(json!(2)), "{run:#?}");
    let calls = recorded.calls();
    let attempts_seen: Vec<u64> = calls
        .iter()
        .filter(|c| c.stack.is_empty())
        .map(|c| c.attempt)
        .collect();
    assert_eq!(
        attempts_seen,
        vec![0, 1, 2],
        "ctx.attempt counts the step's retries: {calls:#?}"
    );
    assert_eq!(
        calls.last().expect("calls"),
        &call("step", &["boom"], 0, false),
        "attempts restart for the next step"
    );
    assert_eq!(format!("{APP}-flaky"), run.function_id);
}
