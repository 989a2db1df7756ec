//! Every opcode the SDK reports, driven through the executor over signed HTTP.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::routing::post;
use axum::Json;
use common::{Harness, APP};
use inngest::{
    AiInfer, Context, Error, Event, Fetch, FetchResponse, Function, FunctionOpts, Invoke, Trigger,
    WaitForEvent, WaitForSignal,
};
use inngest_executor::ManualClock;
use serde_json::{json, Value};

/// What the stand-in model endpoint received: the Authorization header and the body.
type ModelRequest = (Option<String>, Value);

/// A request the stand-in `step.fetch` target received.
#[derive(Debug, Clone)]
struct Received {
    method: String,
    uri: String,
    headers: axum::http::HeaderMap,
    body: String,
}

/// An HTTP server on 127.0.0.1 that records every request and answers it with `answer`;
/// returns its base URL.
async fn recording_server(
    received: Arc<Mutex<Vec<Received>>>,
    answer: impl Fn(&Received) -> axum::response::Response + Clone + Send + Sync + 'static,
) -> String {
    let app = axum::Router::new().fallback(
        move |method: axum::http::Method,
              uri: axum::http::Uri,
              headers: axum::http::HeaderMap,
              body: String| {
            let received = received.clone();
            let answer = answer.clone();
            async move {
                let request = Received {
                    method: method.to_string(),
                    uri: uri.to_string(),
                    headers,
                    body,
                };
                let response = answer(&request);
                received.lock().unwrap().push(request);
                response
            }
        },
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    base
}

/// A URL on 127.0.0.1 where nothing listens.
async fn closed_port_url() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/ping", listener.local_addr().unwrap());
    drop(listener);
    url
}

fn counter() -> Arc<AtomicUsize> {
    Arc::new(AtomicUsize::new(0))
}

#[tokio::test]
async fn step_run_memoizes_each_step_and_completes_with_the_output() {
    let calls = counter();
    let seen = calls.clone();
    let harness = Harness::start(move |_| {
        vec![Function::new(
            FunctionOpts::new("sequence").trigger(Trigger::event("test/sequence")),
            move |ctx: Context<Value>| {
                let calls = seen.clone();
                async move {
                    let mut total = 0u64;
                    for i in 0..3u64 {
                        let calls = calls.clone();
                        let step = format!("add-{i}");
                        total += ctx
                            .step
                            .run(&step, || async move {
                                calls.fetch_add(1, Ordering::SeqCst);
                                Ok::<_, Error>(i + 1)
                            })
                            .await?;
                    }
                    Ok::<_, Error>(json!({ "total": total, "who": ctx.event.data["who"] }))
                }
            },
        )
        .unwrap()]
    })
    .await;
    let event = harness.send("test/sequence", json!({"who": "ada"})).await;
    let run = harness.finished_run("sequence", &event).await;
    assert_eq!(run.status, "completed", "{run:#?}");
    assert_eq!(run.output, Some(json!({"total": 6, "who": "ada"})));
    assert_eq!(
        calls.load(Ordering::SeqCst),
        3,
        "each step body runs exactly once"
    );
    let outputs: Vec<_> = run
        .steps
        .iter()
        .map(|s| (s.id.clone(), s.output.clone(), s.position))
        .collect();
    assert_eq!(
        outputs,
        vec![
            ("add-0".into(), Some(json!(1)), Some(0)),
            ("add-1".into(), Some(json!(2)), Some(1)),
            ("add-2".into(), Some(json!(3)), Some(2)),
        ]
    );
    assert!(run
        .steps
        .iter()
        .all(|s| s.op == "StepRun" && s.status == "completed" && s.ended_at.is_some()));
}

#[tokio::test]
async fn parallel_steps_are_planned_and_each_runs_once() {
    let calls = counter();
    let seen = calls.clone();
    let harness = Harness::start(move |_| {
        vec![Function::new(
            FunctionOpts::new("parallel").trigger(Trigger::event("test/parallel")),
            move |ctx: Context<Value>| {
                let calls = seen.clone();
                async move {
                    let (c1, c2, c3) = (calls.clone(), calls.clone(), calls.clone());
                    let left = ctx.step.run("left", || async move {
                        c1.fetch_add(1, Ordering::SeqCst);
                        Ok::<_, Error>("L".to_owned())
                    });
                    let right = ctx.step.run("right", || async move {
                        c2.fetch_add(1, Ordering::SeqCst);
                        Ok::<_, Error>("R".to_owned())
                    });
                    let (l, r) = futures::join!(left, right);
                    let (l, r): (String, String) = (l?, r?);
                    let joined: String = ctx
                        .step
                        .run("join", || async move {
                            c3.fetch_add(1, Ordering::SeqCst);
                            Ok::<_, Error>(format!("{l}{r}"))
                        })
                        .await?;
                    Ok::<_, Error>(joined)
                }
            },
        )
        .unwrap()]
    })
    .await;
    let event = harness.send("test/parallel", json!({})).await;
    let run = harness.finished_run("parallel", &event).await;
    assert_eq!(run.status, "completed", "{run:#?}");
    assert_eq!(run.output, Some(json!("LR")));
    assert_eq!(calls.load(Ordering::SeqCst), 3);
    assert_eq!(run.step_output("left"), Some(&json!("L")));
    assert_eq!(run.step_output("right"), Some(&json!("R")));
    assert_eq!(run.step_output("join"), Some(&json!("LR")));
}

#[tokio::test]
async fn sleep_is_a_durable_timer_on_the_executor_clock() {
    let clock = ManualClock::starting_now();
    let timer = clock.clone();
    let harness = Harness::start_with(
        |_| {
            vec![Function::new(
                FunctionOpts::new("sleeper").trigger(Trigger::event("test/sleeper")),
                |ctx: Context<Value>| async move {
                    ctx.step.sleep("nap", Duration::from_secs(3600)).await;
                    let after: String = ctx
                        .step
                        .run("after", || async { Ok::<_, Error>("woke".to_owned()) })
                        .await?;
                    Ok::<_, Error>(after)
                },
            )
            .unwrap()]
        },
        move |b| common::fast(b).clock(timer),
    )
    .await;
    let event = harness.send("test/sleeper", json!({})).await;
    harness
        .eventually("the run sleeps", || async {
            let runs = harness.runs_of_event(&event).await;
            runs.first()
                .and_then(|r| r.step("nap"))
                .is_some_and(|s| s.status == "sleeping")
        })
        .await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    let run = harness.runs_of_event(&event).await.remove(0);
    assert_eq!(
        run.status, "running",
        "nothing happens before the hour passes"
    );
    clock.advance(Duration::from_secs(3600));
    harness.executor.wake();
    let run = harness.finished_run("sleeper", &event).await;
    assert_eq!(run.status, "completed");
    assert_eq!(run.output, Some(json!("woke")));
    assert_eq!(
        run.step("nap").map(|s| (s.op.as_str(), s.output.clone())),
        Some(("Sleep", Some(Value::Null)))
    );
}

fn waiter() -> Function {
    Function::new(
        FunctionOpts::new("waiter").trigger(Trigger::event("test/waiter")),
        |ctx: Context<Value>| async move {
            let wait = WaitForEvent::new("test/approved", Duration::from_secs(600))
                .with_if("async.data.id == event.data.id");
            let approval: Option<Event<Value>> =
                ctx.step.wait_for_event("wait-approval", wait).await?;
            Ok::<_, Error>(match approval {
                Some(event) => json!({ "approved_by": event.data["by"] }),
                None => json!("timed out"),
            })
        },
    )
    .unwrap()
}

#[tokio::test]
async fn wait_for_event_resumes_with_the_matching_event_only() {
    let harness = Harness::start(|_| vec![waiter()]).await;
    let event = harness.send("test/waiter", json!({"id": 7})).await;
    harness
        .eventually("the run waits", || async {
            let runs = harness.runs_of_event(&event).await;
            runs.first()
                .and_then(|r| r.step("wait-approval"))
                .is_some_and(|s| s.status == "waiting")
        })
        .await;
    harness
        .send("test/approved", json!({"id": 8, "by": "mallory"}))
        .await;
    let approval = harness
        .send("test/approved", json!({"id": 7, "by": "grace"}))
        .await;
    let run = harness.finished_run("waiter", &event).await;
    assert_eq!(run.output, Some(json!({"approved_by": "grace"})));
    let step = run.step("wait-approval").expect("step");
    assert_eq!(
        step.output.as_ref().map(|e| e["id"].clone()),
        Some(json!(approval))
    );
}

#[tokio::test]
async fn wait_for_event_times_out_with_null() {
    let clock = ManualClock::starting_now();
    let timer = clock.clone();
    let harness =
        Harness::start_with(|_| vec![waiter()], move |b| common::fast(b).clock(timer)).await;
    let event = harness.send("test/waiter", json!({"id": 1})).await;
    harness
        .eventually("the run waits", || async {
            let runs = harness.runs_of_event(&event).await;
            runs.first()
                .and_then(|r| r.step("wait-approval"))
                .is_some_and(|s| s.status == "waiting")
        })
        .await;
    clock.advance(Duration::from_secs(601));
    harness.executor.wake();
    let run = harness.finished_run("waiter", &event).await;
    assert_eq!(run.output, Some(json!("timed out")));
    // A late event matches nothing any more.
    harness
        .send("test/approved", json!({"id": 1, "by": "late"}))
        .await;
    let run = harness.executor.run(&run.id).await.unwrap().unwrap();
    assert_eq!(run.output, Some(json!("timed out")));
}

#[tokio::test]
async fn invoke_runs_the_target_and_resumes_with_its_output_or_error() {
    let harness = Harness::start(|_| {
        vec![
            Function::new(
                FunctionOpts::new("child")
                    .trigger(Trigger::event("test/never"))
                    .retries(0),
                |ctx: Context<Value>| async move {
                    if ctx.event.data["fail"] == json!(true) {
                        return Err(Error::non_retriable("child refused"));
                    }
                    Ok::<_, Error>(
                        json!({ "doubled": ctx.event.data["n"].as_i64().unwrap_or(0) * 2 }),
                    )
                },
            )
            .unwrap(),
            Function::new(
                FunctionOpts::new("parent").trigger(Trigger::event("test/parent")),
                |ctx: Context<Value>| async move {
                    let ok: Value = ctx
                        .step
                        .invoke(
                            "call-child",
                            Invoke::new(format!("{APP}-child"), json!({"n": 21})),
                        )
                        .await?;
                    let failed: Result<Value, Error> = ctx
                        .step
                        .invoke(
                            "call-failing",
                            Invoke::new(format!("{APP}-child"), json!({"fail": true})),
                        )
                        .await;
                    Ok::<_, Error>(
                        json!({ "ok": ok, "error": failed.err().map(|e| e.message().to_owned()) }),
                    )
                },
            )
            .unwrap(),
        ]
    })
    .await;
    let event = harness.send("test/parent", json!({})).await;
    let run = harness.finished_run("parent", &event).await;
    assert_eq!(run.status, "completed", "{run:#?}");
    assert_eq!(
        run.output,
        Some(json!({"ok": {"doubled": 42}, "error": "child refused"}))
    );
    let children: Vec<_> = harness
        .executor
        .runs(100)
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.function_id == format!("{APP}-child"))
        .collect();
    assert_eq!(children.len(), 2);
    assert!(children
        .iter()
        .all(|c| c.event_name == "inngest/function.invoked"));
}

fn signal_waiter() -> Function {
    Function::new(
        FunctionOpts::new("signal").trigger(Trigger::event("test/signal")),
        |ctx: Context<Value>| async move {
            let name = format!("go-{}", ctx.event.data["id"]);
            let got: Option<Value> = ctx
                .step
                .wait_for_signal(
                    "wait-signal",
                    WaitForSignal::new(name, Duration::from_secs(60)),
                )
                .await?;
            Ok::<_, Error>(json!({ "signal": got }))
        },
    )
    .unwrap()
}

#[tokio::test]
async fn wait_for_signal_resumes_with_the_signal_data_or_null_on_timeout() {
    let clock = ManualClock::starting_now();
    let timer = clock.clone();
    let harness = Harness::start_with(
        |_| vec![signal_waiter()],
        move |b| common::fast(b).clock(timer),
    )
    .await;
    let first = harness.send("test/signal", json!({"id": 1})).await;
    let second = harness.send("test/signal", json!({"id": 2})).await;
    let executor = harness.executor.clone();
    harness
        .eventually("signal 1 is awaited", || {
            let executor = executor.clone();
            async move {
                executor
                    .signal("go-1", json!({"ok": true}))
                    .await
                    .unwrap()
                    .is_some()
            }
        })
        .await;
    let run = harness.finished_run("signal", &first).await;
    assert_eq!(run.output, Some(json!({"signal": {"ok": true}})));
    harness
        .eventually("run 2 waits", || async {
            let runs = harness.runs_of_event(&second).await;
            runs.first()
                .and_then(|r| r.step("wait-signal"))
                .is_some_and(|s| s.status == "waiting")
        })
        .await;
    clock.advance(Duration::from_secs(61));
    harness.executor.wake();
    let run = harness.finished_run("signal", &second).await;
    assert_eq!(run.output, Some(json!({"signal": null})));
    assert_eq!(
        harness.executor.signal("go-2", json!(1)).await.unwrap(),
        None
    );
}

#[tokio::test]
async fn ai_gateway_posts_the_request_with_the_key_and_memoizes_the_answer() {
    let seen: Arc<Mutex<Vec<ModelRequest>>> = Arc::default();
    let record = seen.clone();
    let model = axum::Router::new().route(
        "/v1/chat/completions",
        post(
            move |headers: axum::http::HeaderMap, Json(body): Json<Value>| {
                let record = record.clone();
                async move {
                    let auth = headers
                        .get("authorization")
                        .and_then(|v| v.to_str().ok())
                        .map(str::to_owned);
                    record.lock().unwrap().push((auth, body));
                    Json(json!({"choices": [{"message": {"content": "hello from the model"}}]}))
                }
            },
        ),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let model_url = format!(
        "http://{}/v1/chat/completions",
        listener.local_addr().unwrap()
    );
    tokio::spawn(async move { axum::serve(listener, model).await.unwrap() });
    let url = model_url.clone();
    let harness = Harness::start(move |_| {
        vec![Function::new(
            FunctionOpts::new("ai").trigger(Trigger::event("test/ai")),
            move |ctx: Context<Value>| {
                let url = url.clone();
                async move {
                    let request = AiInfer::openai(
                        "gpt-test",
                        "sk-secret",
                        json!({"messages": [{"role": "user", "content": "hi"}]}),
                    )
                    .with_url(url);
                    let answer: Value = ctx.step.ai_infer("summarize", request).await?;
                    Ok::<_, Error>(answer["choices"][0]["message"]["content"].clone())
                }
            },
        )
        .unwrap()]
    })
    .await;
    let event = harness.send("test/ai", json!({})).await;
    let run = harness.finished_run("ai", &event).await;
    assert_eq!(run.status, "completed", "{run:#?}");
    assert_eq!(run.output, Some(json!("hello from the model")));
    let requests = seen.lock().unwrap().clone();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].0.as_deref(), Some("Bearer sk-secret"));
    assert_eq!(requests[0].1["model"], json!("gpt-test"));
    assert_eq!(
        run.step("summarize").map(|s| s.op.as_str()),
        Some("AIGateway")
    );
}

#[tokio::test]
async fn step_errors_are_retried_up_to_the_configured_attempts_then_handed_to_the_code() {
    let attempts = counter();
    let flaky_attempts = counter();
    let (a, f) = (attempts.clone(), flaky_attempts.clone());
    let harness = Harness::start(move |_| {
        vec![
            Function::new(
                FunctionOpts::new("flaky")
                    .trigger(Trigger::event("test/flaky"))
                    .retries(2),
                move |ctx: Context<Value>| {
                    let f = f.clone();
                    async move {
                        let value: u32 = ctx
                            .step
                            .run("boom", || async move {
                                if f.fetch_add(1, Ordering::SeqCst) < 2 {
                                    return Err(Error::new("not yet"));
                                }
                                Ok::<_, Error>(3)
                            })
                            .await?;
                        Ok::<_, Error>(value)
                    }
                },
            )
            .unwrap(),
            Function::new(
                FunctionOpts::new("hopeless")
                    .trigger(Trigger::event("test/hopeless"))
                    .retries(1),
                move |ctx: Context<Value>| {
                    let a = a.clone();
                    async move {
                        let result: Result<u32, Error> = ctx
                            .step
                            .run("always-fails", || async move {
                                a.fetch_add(1, Ordering::SeqCst);
                                Err::<u32, _>(Error::new("broken"))
                            })
                            .await;
                        // StepFailed is memoized as an error and handed back to the code.
                        Ok::<_, Error>(
                            json!({ "handled": result.err().map(|e| e.message().to_owned()) }),
                        )
                    }
                },
            )
            .unwrap(),
        ]
    })
    .await;
    let flaky = harness.send("test/flaky", json!({})).await;
    let hopeless = harness.send("test/hopeless", json!({})).await;
    let run = harness.finished_run("flaky", &flaky).await;
    assert_eq!(run.status, "completed", "{run:#?}");
    assert_eq!(run.output, Some(json!(3)));
    assert_eq!(
        flaky_attempts.load(Ordering::SeqCst),
        3,
        "two failures, then success on the third attempt"
    );
    assert_eq!(run.step("boom").map(|s| s.attempts), Some(3));
    let run = harness.finished_run("hopeless", &hopeless).await;
    assert_eq!(run.status, "completed", "{run:#?}");
    assert_eq!(run.output, Some(json!({"handled": "broken"})));
    assert_eq!(
        attempts.load(Ordering::SeqCst),
        2,
        "retries(1) means two attempts"
    );
    let step = run.step("always-fails").expect("step");
    assert_eq!(step.status, "failed");
    assert_eq!(
        step.error.as_ref().map(|e| e["message"].clone()),
        Some(json!("broken"))
    );
}

#[tokio::test]
async fn retry_after_is_honoured_on_the_executor_clock() {
    let clock = ManualClock::starting_now();
    let timer = clock.clone();
    let attempts = counter();
    let seen = attempts.clone();
    let harness = Harness::start_with(
        move |_| {
            vec![Function::new(
                FunctionOpts::new("later").trigger(Trigger::event("test/later")),
                move |ctx: Context<Value>| {
                    let seen = seen.clone();
                    async move {
                        let n: usize = ctx
                            .step
                            .run("limited", || async move {
                                if seen.fetch_add(1, Ordering::SeqCst) == 0 {
                                    return Err(Error::retry_after(
                                        "rate limited",
                                        Duration::from_secs(120),
                                    ));
                                }
                                Ok::<_, Error>(2)
                            })
                            .await?;
                        Ok::<_, Error>(n)
                    }
                },
            )
            .unwrap()]
        },
        move |b| common::fast(b).clock(timer),
    )
    .await;
    let event = harness.send("test/later", json!({})).await;
    harness
        .eventually("the first attempt fails", || async {
            attempts.load(Ordering::SeqCst) == 1
        })
        .await;
    tokio::time::sleep(Duration::from_millis(150)).await;
    assert_eq!(
        attempts.load(Ordering::SeqCst),
        1,
        "no retry before Retry-After"
    );
    clock.advance(Duration::from_secs(119));
    harness.executor.wake();
    tokio::time::sleep(Duration::from_millis(150)).await;
    assert_eq!(attempts.load(Ordering::SeqCst), 1, "still not");
    clock.advance(Duration::from_secs(2));
    harness.executor.wake();
    let run = harness.finished_run("later", &event).await;
    assert_eq!(run.output, Some(json!(2)));
    assert_eq!(attempts.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn function_errors_retry_then_fail_and_on_failure_runs_with_the_details() {
    let attempts = counter();
    let failures: Arc<Mutex<Vec<Value>>> = Arc::default();
    let (seen, recorded) = (attempts.clone(), failures.clone());
    let harness = Harness::start(move |_| {
        vec![
            Function::new(
                FunctionOpts::new("doomed")
                    .trigger(Trigger::event("test/doomed"))
                    .retries(2),
                move |_ctx: Context<Value>| {
                    let seen = seen.clone();
                    async move {
                        seen.fetch_add(1, Ordering::SeqCst);
                        Err::<Value, _>(Error::new("always broken"))
                    }
                },
            )
            .unwrap()
            .on_failure(move |ctx: Context<inngest::FunctionFailed<Value>>| {
                let recorded = recorded.clone();
                async move {
                    recorded
                        .lock()
                        .unwrap()
                        .push(serde_json::to_value(&ctx.event.data).unwrap());
                    Ok::<_, Error>("handled")
                }
            }),
            Function::new(
                FunctionOpts::new("fatal").trigger(Trigger::event("test/fatal")),
                |_ctx: Context<Value>| async move {
                    Err::<Value, _>(Error::non_retriable("no point retrying"))
                },
            )
            .unwrap(),
        ]
    })
    .await;
    let event = harness.send("test/doomed", json!({"order": 1})).await;
    let run = harness.finished_run("doomed", &event).await;
    assert_eq!(run.status, "failed");
    assert_eq!(
        run.error.as_ref().map(|e| e["message"].clone()),
        Some(json!("always broken"))
    );
    assert_eq!(
        attempts.load(Ordering::SeqCst),
        3,
        "retries(2): three attempts"
    );
    harness
        .eventually("on_failure ran", || async {
            !failures.lock().unwrap().is_empty()
        })
        .await;
    let failed = failures.lock().unwrap()[0].clone();
    assert_eq!(failed["function_id"], json!(format!("{APP}-doomed")));
    assert_eq!(failed["run_id"], json!(run.id));
    assert_eq!(failed["error"]["message"], json!("always broken"));
    assert_eq!(failed["event"]["data"], json!({"order": 1}));

    let fatal = harness.send("test/fatal", json!({})).await;
    let run = harness.finished_run("fatal", &fatal).await;
    assert_eq!(run.status, "failed");
    assert_eq!(
        run.error.as_ref().map(|e| e["name"].clone()),
        Some(json!("NonRetriableError"))
    );
}

#[tokio::test]
async fn send_event_steps_reach_the_event_api_once_and_trigger_functions() {
    let harness = Harness::start(|_| {
        vec![
            Function::new(
                FunctionOpts::new("sender").trigger(Trigger::event("test/sender")),
                |ctx: Context<Value>| async move {
                    let sent = ctx
                        .step
                        .send_event(
                            "send-followup",
                            vec![Event::new("test/followup", json!({"from": "sender"}))],
                        )
                        .await?;
                    Ok::<_, Error>(json!({ "ids": sent.ids }))
                },
            )
            .unwrap(),
            Function::new(
                FunctionOpts::new("followup").trigger(Trigger::event("test/followup")),
                |ctx: Context<Value>| async move { Ok::<_, Error>(ctx.event.data["from"].clone()) },
            )
            .unwrap(),
        ]
    })
    .await;
    let event = harness.send("test/sender", json!({})).await;
    let run = harness.finished_run("sender", &event).await;
    let id = run
        .output
        .as_ref()
        .and_then(|o| o["ids"][0].as_str())
        .expect("an id")
        .to_owned();
    let followup = harness.finished_run("followup", &id).await;
    assert_eq!(followup.output, Some(json!("sender")));
}

#[tokio::test]
async fn fetch_gateway_makes_the_request_and_memoizes_any_response_as_data() {
    use axum::response::IntoResponse;
    let received: Arc<Mutex<Vec<Received>>> = Arc::default();
    let base = recording_server(received.clone(), |request| {
        if request.uri.starts_with("/v1/orders") {
            (
                axum::http::StatusCode::CREATED,
                [("content-type", "application/json"), ("x-order", "o-1")],
                r#"{"id":"o-1","sku":"mug"}"#,
            )
                .into_response()
        } else {
            (axum::http::StatusCode::NOT_FOUND, "no such order").into_response()
        }
    })
    .await;
    let target = base.clone();
    let harness = Harness::start(move |_| {
        vec![Function::new(
            FunctionOpts::new("fetcher").trigger(Trigger::event("test/fetch")),
            move |ctx: Context<Value>| {
                let base = target.clone();
                async move {
                    let request = Fetch::post(format!("{base}/v1/orders?dry=1"))
                        .bearer_auth("sk-secret")
                        .header("X-Trace", "t-1")
                        .json(&json!({"sku": "mug"}));
                    let created = ctx.step.fetch("create-order", request).await?;
                    let missing: FetchResponse = ctx
                        .step
                        .fetch("lookup", Fetch::get(format!("{base}/v1/missing")))
                        .await?;
                    Ok::<_, Error>(json!({
                        "created": created.status_code,
                        "order_header": created.header("x-order"),
                        "order": created.json::<Value>()?,
                        "missing": missing.status_code,
                        "missing_ok": missing.is_success(),
                        "missing_body": missing.body,
                    }))
                }
            },
        )
        .unwrap()]
    })
    .await;
    let event = harness.send("test/fetch", json!({})).await;
    let run = harness.finished_run("fetcher", &event).await;
    assert_eq!(run.status, "completed", "{run:#?}");
    // What the SDK decoded from the memoized responses on its next calls.
    assert_eq!(
        run.output,
        Some(json!({
            "created": 201, "order_header": "o-1", "order": {"id": "o-1", "sku": "mug"},
            "missing": 404, "missing_ok": false, "missing_body": "no such order",
        }))
    );
    // The requests the target received, each once.
    let requests = received.lock().unwrap().clone();
    assert_eq!(requests.len(), 2, "{requests:#?}");
    let post = &requests[0];
    assert_eq!(
        (post.method.as_str(), post.uri.as_str()),
        ("POST", "/v1/orders?dry=1")
    );
    let header = |r: &Received, name: &str| {
        r.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    assert_eq!(
        header(post, "authorization").as_deref(),
        Some("Bearer sk-secret")
    );
    assert_eq!(header(post, "x-trace").as_deref(), Some("t-1"));
    assert_eq!(
        header(post, "content-type").as_deref(),
        Some("application/json")
    );
    assert_eq!(header(post, "user-agent").as_deref(), Some("Inngest"));
    assert_eq!(post.body, r#"{"sku":"mug"}"#);
    let get = &requests[1];
    assert_eq!(
        (get.method.as_str(), get.uri.as_str(), get.body.as_str()),
        ("GET", "/v1/missing", "")
    );
    assert_eq!(header(get, "authorization"), None);
    // The memo has Inngest's shape: {url, headers, body, status_code}, canonical header names.
    let step = run.step("create-order").expect("step");
    assert_eq!(
        (step.op.as_str(), step.status.as_str(), step.attempts),
        ("Gateway", "completed", 1)
    );
    let memo = step.output.clone().expect("memoized");
    assert_eq!(memo["url"], json!(format!("{base}/v1/orders?dry=1")));
    assert_eq!(memo["status_code"], json!(201));
    assert_eq!(memo["body"], json!(r#"{"id":"o-1","sku":"mug"}"#));
    assert_eq!(memo["headers"]["Content-Type"], json!("application/json"));
    assert_eq!(memo["headers"]["X-Order"], json!("o-1"));
    let lookup = run.step("lookup").expect("step");
    assert_eq!(
        lookup.status, "completed",
        "an error status is data, not a failure"
    );
    assert_eq!(
        lookup.output.as_ref().map(|m| m["status_code"].clone()),
        Some(json!(404))
    );
}

#[tokio::test]
async fn fetch_gateway_without_a_response_is_retried_then_fails_the_step() {
    let down = closed_port_url().await;
    let harness = Harness::start(move |_| {
        vec![
            Function::new(
                FunctionOpts::new("unreachable")
                    .trigger(Trigger::event("test/unreachable"))
                    .retries(2),
                move |ctx: Context<Value>| {
                    let down = down.clone();
                    async move {
                        let request = Fetch::get(down).bearer_auth("sk-hidden");
                        let response = ctx.step.fetch("ping", request).await?;
                        Ok::<_, Error>(response.status_code)
                    }
                },
            )
            .unwrap(),
            Function::new(
                FunctionOpts::new("invalid")
                    .trigger(Trigger::event("test/invalid"))
                    .retries(2),
                move |ctx: Context<Value>| async move {
                    let request = Fetch::new("BREW", "http://127.0.0.1:9/pot");
                    let outcome = ctx.step.fetch("brew", request).await;
                    Ok::<_, Error>(
                        json!({ "error": outcome.err().map(|e| e.message().to_owned()) }),
                    )
                },
            )
            .unwrap(),
        ]
    })
    .await;
    let unreachable = harness.send("test/unreachable", json!({})).await;
    let invalid = harness.send("test/invalid", json!({})).await;
    let run = harness.finished_run("unreachable", &unreachable).await;
    // Every attempt the function has (retries(2): three) makes the request; then the error
    // is memoized, the SDK raises it and the uncaught step error fails the run.
    assert_eq!(run.status, "failed", "{run:#?}");
    let step = run.step("ping").expect("step");
    assert_eq!(
        (step.op.as_str(), step.status.as_str(), step.attempts),
        ("Gateway", "failed", 3)
    );
    let error = step.error.clone().expect("error");
    assert_eq!(error["name"], json!("GatewayError"));
    let message = error["message"].as_str().unwrap_or_default();
    assert!(
        message.starts_with("Error making gateway request"),
        "{message}"
    );
    assert!(
        !message.contains("sk-hidden"),
        "no header values in errors: {message}"
    );
    assert_eq!(
        run.error.as_ref().map(|e| e["name"].clone()),
        Some(json!("GatewayError"))
    );
    // Options that cannot make a request fail at once, without retries, and the code may
    // handle the error.
    let run = harness.finished_run("invalid", &invalid).await;
    assert_eq!(run.status, "completed", "{run:#?}");
    assert_eq!(
        run.output,
        Some(json!({"error": "invalid http method: BREW"}))
    );
    assert_eq!(run.step("brew").map(|s| s.attempts), Some(1));
}

#[tokio::test]
async fn fetch_gateway_times_out_within_the_lease_and_retries() {
    let received: Arc<Mutex<Vec<Received>>> = Arc::default();
    let slow = axum::Router::new().fallback({
        let received = received.clone();
        move |body: String| {
            let received = received.clone();
            async move {
                received.lock().unwrap().push(Received {
                    method: "GET".into(),
                    uri: "/slow".into(),
                    headers: axum::http::HeaderMap::new(),
                    body,
                });
                tokio::time::sleep(Duration::from_secs(30)).await;
                "too late"
            }
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/slow", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, slow).await.unwrap() });
    let harness = Harness::start_with(
        move |_| {
            vec![Function::new(
                FunctionOpts::new("slow")
                    .trigger(Trigger::event("test/slow"))
                    .retries(1),
                move |ctx: Context<Value>| {
                    let url = url.clone();
                    async move {
                        let outcome = ctx.step.fetch("wait-on-it", Fetch::get(url)).await;
                        Ok::<_, Error>(outcome.is_err())
                    }
                },
            )
            .unwrap()]
        },
        // Requests time out at 80 % of the lease: 400 ms here.
        |b| common::fast(b).lease(Duration::from_millis(500)),
    )
    .await;
    let event = harness.send("test/slow", json!({})).await;
    let run = harness.finished_run("slow", &event).await;
    assert_eq!(run.output, Some(json!(true)), "{run:#?}");
    assert_eq!(
        received.lock().unwrap().len(),
        2,
        "retries(1): two attempts"
    );
    let step = run.step("wait-on-it").expect("step");
    assert_eq!((step.status.as_str(), step.attempts), ("failed", 2));
    let message = step
        .error
        .as_ref()
        .and_then(|e| e["message"].as_str())
        .unwrap_or_default()
        .to_owned();
    assert!(message.contains("timed out"), "{message}");
}
