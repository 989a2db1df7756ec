//! The serve handler over real HTTP with signed requests: every opcode, error path, signature
//! failure, introspection form, sync kind and the `use_api` path.

mod support;

use std::time::Duration;

use futures::future::Either;
use inngest::{
    AiInfer, Config, Context, EncryptionMiddleware, Error, Event, Fetch, FetchResponse, Function,
    FunctionFailed, FunctionOpts, Inngest, Invoke, Trigger, WaitForEvent, WaitForSignal,
};
use pretty_assertions::assert_eq;
use reqwest::Method;
use serde_json::{json, Value};
use support::{call_body, event, hash, spawn_app, App, StandIn, FALLBACK_KEY, KEY};

fn opts(id: &str) -> FunctionOpts {
    FunctionOpts::new(id).trigger(Trigger::event(format!("test/{id}")))
}

fn functions() -> Vec<Function> {
    vec![
        Function::new(opts("hello"), |ctx: Context<Value>| async move {
            Ok::<_, Error>(json!({"greeting": format!("hello {}", ctx.event.data["name"].as_str().unwrap_or("?"))}))
        })
        .unwrap(),
        Function::new(opts("sequence"), |ctx: Context<Value>| async move {
            let a: i64 = ctx.step.run("first", || async { Ok::<_, Error>(1) }).await?;
            let b: i64 = ctx.step.run("second", || async move { Ok::<_, Error>(a + 1) }).await?;
            let c: i64 = ctx.step.run("first", || async { Ok::<_, Error>(10) }).await?;
            Ok::<_, Error>(json!({"a": a, "b": b, "c": c}))
        })
        .unwrap(),
        Function::new(opts("sleeper"), |ctx: Context<Value>| async move {
            ctx.step.sleep("nap", Duration::from_secs(2)).await;
            let until = chrono::DateTime::parse_from_rfc3339("2030-01-01T00:00:00Z").unwrap().to_utc();
            ctx.step.sleep_until("until", until).await;
            Ok::<_, Error>("woke")
        })
        .unwrap(),
        Function::new(opts("waiter"), |ctx: Context<Value>| async move {
            let wait = WaitForEvent::new("test/approved", Duration::from_secs(3600))
                .with_if("async.data.id == event.data.id");
            let approved: Option<Event<Value>> = ctx.step.wait_for_event("wait-approval", wait).await?;
            Ok::<_, Error>(json!({"approved": approved.is_some()}))
        })
        .unwrap(),
        Function::new(opts("invoker"), |ctx: Context<Value>| async move {
            let invoke = Invoke::new("app-hello", json!({"name": "inv"})).with_timeout(Duration::from_secs(60));
            let r: Value = ctx.step.invoke("call-hello", invoke).await?;
            Ok::<_, Error>(json!({"r": r}))
        })
        .unwrap(),
        Function::new(opts("parallel"), |ctx: Context<Value>| async move {
            let (x, y) = futures::join!(
                ctx.step.run("left", || async { Ok::<_, Error>("L".to_owned()) }),
                ctx.step.run("right", || async { Ok::<_, Error>("R".to_owned()) }),
            );
            Ok::<_, Error>(format!("{}{}", x?, y?))
        })
        .unwrap(),
        Function::new(opts("racer"), |ctx: Context<Value>| async move {
            let winner = ctx
                .step
                .race(
                    ctx.step.run("fast", || async { Ok::<_, Error>("F".to_owned()) }),
                    ctx.step.run("slow", || async { Ok::<_, Error>("S".to_owned()) }),
                )
                .await;
            let winner: String = match winner {
                Either::Left(fast) => fast?,
                Either::Right(slow) => slow?,
            };
            Ok::<_, Error>(winner)
        })
        .unwrap(),
        Function::new(opts("flaky").retries(2), |ctx: Context<Value>| async move {
            ctx.step.run("boom", || async { Err::<(), _>(Error::new("kaboom")) }).await?;
            Ok::<_, Error>(())
        })
        .unwrap(),
        Function::new(opts("handled"), |ctx: Context<Value>| async move {
            let result = ctx.step.run("boom", || async { Err::<(), _>(Error::new("kaboom")) }).await;
            Ok::<_, Error>(json!({"recovered": result.is_err()}))
        })
        .unwrap(),
        Function::new(opts("fatal"), |ctx: Context<Value>| async move {
            ctx.step.run("fatal-step", || async { Err::<(), _>(Error::non_retriable("no way")) }).await?;
            Ok::<_, Error>(())
        })
        .unwrap(),
        Function::new(opts("body-error"), |_ctx: Context<Value>| async move {
            Err::<(), _>(Error::non_retriable("bad input"))
        })
        .unwrap(),
        Function::new(opts("retry-later"), |_ctx: Context<Value>| async move {
            Err::<(), _>(Error::retry_after("slow down", Duration::from_secs(30)))
        })
        .unwrap(),
        Function::new(opts("std-error"), |ctx: Context<Value>| async move {
            let n: i64 = ctx.event.data["n"].as_str().unwrap_or("x").parse()?;
            Ok::<_, Error>(n)
        })
        .unwrap(),
        Function::new(opts("panics"), |ctx: Context<Value>| async move {
            if ctx.event.data["in_step"] == json!(true) {
                ctx.step.run("explode", || async { if true { panic!("step blew up") } Ok::<_, Error>(()) }).await?;
            }
            panic!("body blew up");
            #[allow(unreachable_code)]
            Ok::<_, Error>(())
        })
        .unwrap(),
        Function::new(opts("signal"), |ctx: Context<Value>| async move {
            let got: Option<Value> = ctx
                .step
                .wait_for_signal("wait-signal", WaitForSignal::new("sig-123", Duration::from_secs(600)))
                .await?;
            Ok::<_, Error>(got)
        })
        .unwrap(),
        Function::new(opts("sender"), |ctx: Context<Value>| async move {
            let sent = ctx.step.send_event("send-followup", vec![Event::new("test/followup", json!({"n": 1}))]).await?;
            Ok::<_, Error>(sent)
        })
        .unwrap(),
        Function::new(opts("ai"), |ctx: Context<Value>| async move {
            let request = AiInfer::openai("gpt-4o-mini", "sk-test", json!({"messages": [{"role": "user", "content": "hi"}]}));
            let answer: Value = ctx.step.ai_infer("summarize", request).await?;
            Ok::<_, Error>(answer)
        })
        .unwrap(),
        Function::new(opts("fetcher"), |ctx: Context<Value>| async move {
            let request = Fetch::post("https://api.example.com/v1/orders?dry=1")
                .bearer_auth("tok-1")
                .header("X-Trace", "t1")
                .json(&json!({"sku": "mug"}));
            let created: FetchResponse = ctx.step.fetch("create-order", request).await?;
            let status = ctx.step.fetch("order-status", Fetch::get("https://api.example.com/v1/status")).await?;
            Ok::<_, Error>(json!({
                "created": created.status_code,
                "content_type": created.header("content-type"),
                "order": created.json::<Value>()?,
                "status": status.status_code,
                "status_ok": status.is_success(),
                "status_body": status.body,
            }))
        })
        .unwrap(),
        Function::new(opts("typed"), |ctx: Context<Typed>| async move { Ok::<_, Error>(ctx.event.data.count * 2) })
            .unwrap(),
        Function::new(opts("with-failure"), |_ctx: Context<Value>| async move { Ok::<_, Error>(()) })
            .unwrap()
            .on_failure(|ctx: Context<FunctionFailed<Value>>| async move {
                Ok::<_, Error>(json!({"compensated": ctx.event.data.run_id}))
            }),
    ]
}

#[derive(serde::Deserialize)]
struct Typed {
    count: i64,
}

fn cloud(base: &str) -> Inngest {
    let config = Config::new("app")
        .with_signing_key(KEY)
        .with_signing_key_fallback(FALLBACK_KEY)
        .with_event_key("test-event-key")
        .with_base_url(base);
    Inngest::builder(config).build()
}

async fn setup() -> (App, StandIn) {
    let stand_in = StandIn::default();
    let base = stand_in.start().await;
    (spawn_app(cloud(&base), functions()).await, stand_in)
}

fn run(app_fn: &str, data: Value) -> Value {
    call_body(event(&format!("test/{app_fn}"), data), &[], 0, 4)
}

#[tokio::test]
async fn function_without_steps_answers_200_with_its_output() {
    let (app, _) = setup().await;
    let reply = app
        .call("app-hello", "step", &run("hello", json!({"name": "Ada"})))
        .await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.body, json!({"greeting": "hello Ada"}));
    assert_eq!(
        reply.header("x-inngest-sdk"),
        Some(inngest::client::SDK_HEADER)
    );
    assert_eq!(reply.header("x-inngest-req-version"), Some("2"));
    assert_eq!(reply.header("x-inngest-framework"), Some("axum"));
    app.assert_signed(&reply);
}

#[tokio::test]
async fn steps_run_one_at_a_time_and_replay_from_the_memo() {
    let (app, _) = setup().await;
    let ev = event("test/sequence", json!({}));
    let first = app
        .call("app-sequence", "step", &call_body(ev.clone(), &[], 0, 4))
        .await;
    assert_eq!(
        *first.op(),
        json!({"id": hash("first"), "op": "StepRun", "name": "first", "displayName": "first", "data": 1})
    );
    app.assert_signed(&first);
    let second = app
        .call(
            "app-sequence",
            "step",
            &call_body(ev.clone(), &[("first", json!({"data": 1}))], 0, 4),
        )
        .await;
    assert_eq!(second.op()["data"], json!(2));
    let memo = [
        ("first", json!({"data": 1})),
        ("second", json!({"data": 2})),
    ];
    let third = app
        .call("app-sequence", "step", &call_body(ev.clone(), &memo, 0, 4))
        .await;
    assert_eq!(
        third.op()["id"],
        json!(hash("first:1")),
        "a repeated id is suffixed :1"
    );
    assert_eq!(third.op()["name"], json!("first"));
    let memo = [
        ("first", json!({"data": 1})),
        ("second", json!({"data": 2})),
        ("first:1", json!({"data": 10})),
    ];
    let done = app
        .call("app-sequence", "step", &call_body(ev, &memo, 0, 4))
        .await;
    assert_eq!(done.status, 200);
    assert_eq!(
        done.raw,
        br#"{"a":1,"b":2,"c":10}"#.to_vec(),
        "keys keep the order the code built"
    );
}

#[tokio::test]
async fn sleeps_report_durations_and_resume_on_null() {
    let (app, _) = setup().await;
    let ev = event("test/sleeper", json!({}));
    let nap = app
        .call("app-sleeper", "step", &call_body(ev.clone(), &[], 0, 4))
        .await;
    assert_eq!(
        *nap.op(),
        json!({"id": hash("nap"), "op": "Sleep", "name": "nap", "displayName": "nap", "opts": {"duration": "2s"}, "data": null})
    );
    let until = app
        .call(
            "app-sleeper",
            "step",
            &call_body(ev.clone(), &[("nap", Value::Null)], 0, 4),
        )
        .await;
    assert_eq!(
        until.op()["opts"],
        json!({"duration": "2030-01-01T00:00:00Z"})
    );
    let memo = [("nap", Value::Null), ("until", Value::Null)];
    let done = app
        .call("app-sleeper", "step", &call_body(ev, &memo, 0, 4))
        .await;
    assert_eq!((done.status, done.body), (200, json!("woke")));
}

#[tokio::test]
async fn wait_for_event_reports_its_match_and_resumes_with_event_or_null() {
    let (app, _) = setup().await;
    let ev = event("test/waiter", json!({"id": 7}));
    let wait = app
        .call("app-waiter", "step", &call_body(ev.clone(), &[], 0, 4))
        .await;
    assert_eq!(
        *wait.op(),
        json!({"id": hash("wait-approval"), "op": "WaitForEvent", "name": "wait-approval", "displayName": "wait-approval",
               "opts": {"event": "test/approved", "if": "async.data.id == event.data.id", "timeout": "1h"}, "data": null})
    );
    let timeout = app
        .call(
            "app-waiter",
            "step",
            &call_body(ev.clone(), &[("wait-approval", Value::Null)], 0, 4),
        )
        .await;
    assert_eq!(timeout.body, json!({"approved": false}));
    let matched = event("test/approved", json!({"id": 7}));
    for memo in [matched.clone(), json!({"data": matched})] {
        let reply = app
            .call(
                "app-waiter",
                "step",
                &call_body(ev.clone(), &[("wait-approval", memo)], 0, 4),
            )
            .await;
        assert_eq!(reply.body, json!({"approved": true}));
    }
}

#[tokio::test]
async fn invoke_reports_target_and_returns_data_or_fails_with_the_error() {
    let (app, _) = setup().await;
    let ev = event("test/invoker", json!({}));
    let invoke = app
        .call("app-invoker", "step", &call_body(ev.clone(), &[], 0, 4))
        .await;
    assert_eq!(
        *invoke.op(),
        json!({"id": hash("call-hello"), "op": "InvokeFunction", "name": "call-hello", "displayName": "call-hello",
               "opts": {"function_id": "app-hello", "payload": {"data": {"name": "inv"}}, "timeout": "1m"}})
    );
    let ok = app
        .call(
            "app-invoker",
            "step",
            &call_body(
                ev.clone(),
                &[("call-hello", json!({"data": {"greeting": "hi"}}))],
                0,
                4,
            ),
        )
        .await;
    assert_eq!(ok.body, json!({"r": {"greeting": "hi"}}));
    let failed = json!({"error": {"name": "Error", "message": "invoked function failed"}});
    let err = app
        .call(
            "app-invoker",
            "step",
            &call_body(ev, &[("call-hello", failed)], 0, 4),
        )
        .await;
    assert_eq!(
        err.status, 400,
        "an uncaught memoized error fails the function for good"
    );
    assert_eq!(err.header("x-inngest-no-retry"), Some("true"));
    assert_eq!(err.body["message"], json!("invoked function failed"));
}

#[tokio::test]
async fn parallel_steps_are_planned_then_run_by_targeted_replay() {
    let (app, _) = setup().await;
    let ev = event("test/parallel", json!({}));
    let planned = app
        .call("app-parallel", "step", &call_body(ev.clone(), &[], 0, 4))
        .await;
    assert_eq!(planned.status, 206);
    assert_eq!(
        planned.body,
        json!([
            {"id": hash("left"), "op": "StepPlanned", "name": "left", "displayName": "left"},
            {"id": hash("right"), "op": "StepPlanned", "name": "right", "displayName": "right"}
        ])
    );
    let left = app
        .call(
            "app-parallel",
            &hash("right"),
            &call_body(ev.clone(), &[], 0, 4),
        )
        .await;
    assert_eq!(left.op()["op"], json!("StepRun"));
    assert_eq!(left.op()["data"], json!("R"));
    let mut body = call_body(ev.clone(), &[("left", json!({"data": "L"}))], 0, 4);
    body["ctx"]["disable_immediate_execution"] = json!(true);
    let only_right = app.call("app-parallel", "step", &body).await;
    assert_eq!(
        only_right.op()["op"],
        json!("StepPlanned"),
        "no immediate execution once disabled"
    );
    let memo = [
        ("right", json!({"data": "R"})),
        ("left", json!({"data": "L"})),
    ];
    let done = app
        .call("app-parallel", "step", &call_body(ev, &memo, 0, 4))
        .await;
    assert_eq!((done.status, done.body), (200, json!("LR")));
}

#[tokio::test]
async fn races_mark_steps_and_resolve_in_completion_order() {
    let (app, _) = setup().await;
    let ev = event("test/racer", json!({}));
    let planned = app
        .call("app-racer", "step", &call_body(ev.clone(), &[], 0, 4))
        .await;
    let ops = planned.body.as_array().expect("ops");
    assert_eq!(ops.len(), 2);
    assert!(
        ops.iter()
            .all(|op| op["opts"] == json!({"parallelMode": "race"})),
        "{}",
        planned.body
    );
    let slow_first = [
        ("slow", json!({"data": "S"})),
        ("fast", json!({"data": "F"})),
    ];
    let done = app
        .call(
            "app-racer",
            "step",
            &call_body(ev.clone(), &slow_first, 0, 4),
        )
        .await;
    assert_eq!(done.body, json!("S"), "the step that completed first wins");
    let fast_first = [
        ("fast", json!({"data": "F"})),
        ("slow", json!({"data": "S"})),
    ];
    let done = app
        .call("app-racer", "step", &call_body(ev, &fast_first, 0, 4))
        .await;
    assert_eq!(done.body, json!("F"));
}

#[tokio::test]
async fn step_errors_retry_then_fail_for_good_on_the_last_attempt() {
    let (app, _) = setup().await;
    let ev = event("test/flaky", json!({}));
    let first = app
        .call("app-flaky", "step", &call_body(ev.clone(), &[], 0, 3))
        .await;
    assert_eq!(
        *first.op(),
        json!({"id": hash("boom"), "op": "StepError", "name": "boom", "displayName": "boom", "data": null,
               "error": {"name": "Error", "message": "kaboom"}})
    );
    assert_eq!(first.header("x-inngest-no-retry"), Some("false"));
    let last = app
        .call("app-flaky", "step", &call_body(ev.clone(), &[], 2, 3))
        .await;
    assert_eq!(last.op()["op"], json!("StepFailed"));
    assert_eq!(last.header("x-inngest-no-retry"), Some("true"));
    let memo = [(
        "boom",
        json!({"error": {"name": "Error", "message": "kaboom"}}),
    )];
    let failed = app
        .call("app-flaky", "step", &call_body(ev, &memo, 0, 3))
        .await;
    assert_eq!(
        (failed.status, failed.header("x-inngest-no-retry")),
        (400, Some("true"))
    );
    assert_eq!(failed.body["message"], json!("kaboom"));
    let handled = app
        .call(
            "app-handled",
            "step",
            &call_body(event("test/handled", json!({})), &memo, 0, 3),
        )
        .await;
    assert_eq!(
        (handled.status, handled.body),
        (200, json!({"recovered": true})),
        "code may handle a failed step"
    );
}

#[tokio::test]
async fn non_retriable_step_errors_fail_at_once() {
    let (app, _) = setup().await;
    let reply = app
        .call("app-fatal", "step", &run("fatal", json!({})))
        .await;
    assert_eq!(reply.op()["op"], json!("StepFailed"));
    assert_eq!(
        reply.op()["error"],
        json!({"name": "NonRetriableError", "message": "no way"})
    );
}

#[tokio::test]
async fn function_errors_map_to_status_and_retry_headers() {
    let (app, _) = setup().await;
    let fatal = app
        .call("app-body-error", "step", &run("body-error", json!({})))
        .await;
    assert_eq!(
        (fatal.status, fatal.header("x-inngest-no-retry")),
        (400, Some("true"))
    );
    assert_eq!(
        fatal.body,
        json!({"name": "NonRetriableError", "message": "bad input"})
    );
    app.assert_signed(&fatal);
    let later = app
        .call("app-retry-later", "step", &run("retry-later", json!({})))
        .await;
    assert_eq!(
        (later.status, later.header("retry-after")),
        (500, Some("30"))
    );
    assert_eq!(later.header("x-inngest-no-retry"), Some("false"));
    let parse = app
        .call(
            "app-std-error",
            "step",
            &run("std-error", json!({"n": "x"})),
        )
        .await;
    assert_eq!(parse.status, 500);
    assert_eq!(parse.body["name"], json!("ParseIntError"));
    let before_last = app
        .call(
            "app-std-error",
            "step",
            &call_body(event("test/std-error", json!({"n": "x"})), &[], 2, 4),
        )
        .await;
    assert_eq!(
        (before_last.status, before_last.header("x-inngest-no-retry")),
        (500, Some("false"))
    );
    let last = app
        .call(
            "app-std-error",
            "step",
            &call_body(event("test/std-error", json!({"n": "x"})), &[], 3, 4),
        )
        .await;
    assert_eq!(
        (last.status, last.header("x-inngest-no-retry")),
        (400, Some("true")),
        "last attempt"
    );
    let typed = app
        .call(
            "app-typed",
            "step",
            &run("typed", json!({"count": "not a number"})),
        )
        .await;
    assert_eq!(
        typed.status, 400,
        "event data of the wrong shape is not retried: {}",
        typed.body
    );
}

#[tokio::test]
async fn panics_are_answered_as_json_and_the_server_keeps_serving() {
    let (app, _) = setup().await;
    let body_panic = app
        .call("app-panics", "step", &run("panics", json!({})))
        .await;
    assert_eq!(body_panic.status, 500);
    assert_eq!(
        body_panic.body,
        json!({"name": "Panic", "message": "body blew up"})
    );
    assert_eq!(body_panic.header("content-type"), Some("application/json"));
    let step_panic = app
        .call(
            "app-panics",
            "step",
            &run("panics", json!({"in_step": true})),
        )
        .await;
    assert_eq!(step_panic.op()["op"], json!("StepError"));
    assert_eq!(step_panic.op()["error"]["message"], json!("step blew up"));
    let still_up = app
        .call("app-hello", "step", &run("hello", json!({"name": "x"})))
        .await;
    assert_eq!(still_up.status, 200);
}

#[tokio::test]
async fn signals_and_ai_inference_are_reported_for_the_executor() {
    let (app, _) = setup().await;
    let signal = app
        .call("app-signal", "step", &run("signal", json!({})))
        .await;
    assert_eq!(
        *signal.op(),
        json!({"id": hash("wait-signal"), "op": "WaitForSignal", "name": "wait-signal", "displayName": "wait-signal",
               "opts": {"signal": "sig-123", "timeout": "10m"}})
    );
    let ai = app.call("app-ai", "step", &run("ai", json!({}))).await;
    assert_eq!(ai.op()["op"], json!("AIGateway"));
    assert_eq!(ai.op()["opts"]["format"], json!("openai-chat"));
    assert_eq!(ai.op()["opts"]["body"]["model"], json!("gpt-4o-mini"));
    let memo = [("summarize", json!({"data": {"choices": []}}))];
    let done = app
        .call(
            "app-ai",
            "step",
            &call_body(event("test/ai", json!({})), &memo, 0, 4),
        )
        .await;
    assert_eq!(done.body, json!({"choices": []}));
}

#[tokio::test]
async fn fetch_reports_a_gateway_op_and_reads_the_memoized_response() {
    let (app, _) = setup().await;
    let ev = event("test/fetcher", json!({}));
    let first = app
        .call("app-fetcher", "step", &call_body(ev.clone(), &[], 0, 4))
        .await;
    // The opts of `step.fetch` in the TypeScript SDK: lower-case header names, the body as
    // a string, no `data`.
    assert_eq!(
        *first.op(),
        json!({"id": hash("create-order"), "op": "Gateway", "name": "create-order", "displayName": "create-order",
               "opts": {"url": "https://api.example.com/v1/orders?dry=1", "method": "POST",
                        "headers": {"authorization": "Bearer tok-1", "x-trace": "t1", "content-type": "application/json"},
                        "body": "{\"sku\":\"mug\"}"}})
    );
    // The executor memoizes `{url, headers, body, status_code}`; an error status is data.
    let created = json!({"data": {"url": "https://api.example.com/v1/orders?dry=1", "status_code": 201,
                                  "headers": {"Content-Type": "application/json"}, "body": "{\"id\":\"o-1\"}"}});
    let second = app
        .call(
            "app-fetcher",
            "step",
            &call_body(ev.clone(), &[("create-order", created.clone())], 0, 4),
        )
        .await;
    assert_eq!(
        second.op()["opts"],
        json!({"url": "https://api.example.com/v1/status", "method": "GET", "headers": {}}),
        "no body, no `body` key"
    );
    let missing = json!({"data": {"url": "https://api.example.com/v1/status", "status_code": 503, "body": "down"}});
    let done = app
        .call(
            "app-fetcher",
            "step",
            &call_body(
                ev.clone(),
                &[("create-order", created.clone()), ("order-status", missing)],
                0,
                4,
            ),
        )
        .await;
    assert_eq!(
        (done.status, done.body),
        (
            200,
            json!({"created": 201, "content_type": "application/json", "order": {"id": "o-1"},
                   "status": 503, "status_ok": false, "status_body": "down"})
        )
    );
    // A request that never got a response is memoized as an error: the step fails.
    let failed = json!({"error": {"name": "GatewayError", "message": "Error making gateway request: connection refused"}});
    let reply = app
        .call(
            "app-fetcher",
            "step",
            &call_body(
                ev,
                &[("create-order", created), ("order-status", failed)],
                0,
                4,
            ),
        )
        .await;
    assert_eq!(reply.status, 400);
    assert_eq!(reply.body["name"], json!("GatewayError"));
}

#[tokio::test]
async fn send_event_step_sends_once_with_an_id_seed() {
    let (app, stand_in) = setup().await;
    let reply = app
        .call("app-sender", "step", &run("sender", json!({})))
        .await;
    assert_eq!(
        *reply.op(),
        json!({"id": hash("send-followup"), "op": "StepRun", "name": "send-followup", "displayName": "send-followup",
               "opts": {"type": "step.sendEvent"}, "data": {"ids": ["evt-0"]}})
    );
    let sends = stand_in.requests("/e/test-event-key");
    assert_eq!(sends.len(), 1);
    assert_eq!(sends[0].body[0]["name"], json!("test/followup"));
    assert!(sends[0].body[0]["ts"].is_i64());
    let seed = sends[0]
        .headers
        .get("x-inngest-event-id-seed")
        .expect("seed")
        .to_str()
        .unwrap();
    assert!(
        seed.split_once(',')
            .is_some_and(|(ms, b64)| ms.parse::<i64>().is_ok() && b64.len() == 16),
        "{seed}"
    );
    let memo = [("send-followup", json!({"data": {"ids": ["evt-0"]}}))];
    let done = app
        .call(
            "app-sender",
            "step",
            &call_body(event("test/sender", json!({})), &memo, 0, 4),
        )
        .await;
    assert_eq!(done.body, json!({"ids": ["evt-0"]}));
    assert_eq!(
        stand_in.requests("/e/").len(),
        1,
        "replay does not send again"
    );
}

#[tokio::test]
async fn signature_failures_are_refused_and_the_fallback_key_accepted() {
    let (app, _) = setup().await;
    let raw = serde_json::to_vec(&run("hello", json!({"name": "x"}))).unwrap();
    let path = "/api/inngest?fnId=app-hello&stepId=step";
    let now = chrono::Utc::now().timestamp();
    let key = inngest::signing::SigningKey::new(KEY);
    let wrong = inngest::signing::SigningKey::new("signkey-test-ffff");
    let fallback = inngest::signing::SigningKey::new(FALLBACK_KEY);
    let cases = [
        ("missing", None, 401),
        ("stale", Some(key.sign(&raw, now - 301)), 401),
        ("future", Some(key.sign(&raw, now + 301)), 401),
        ("wrong key", Some(wrong.sign(&raw, now)), 401),
        ("garbage", Some("t=abc&s=zz".to_owned()), 401),
        ("fallback key", Some(fallback.sign(&raw, now)), 200),
        ("primary key", Some(key.sign(&raw, now)), 200),
    ];
    for (name, signature, expected) in cases {
        let headers: Vec<(&str, String)> = signature
            .into_iter()
            .map(|s| ("x-inngest-signature", s))
            .collect();
        let reply = app.send(Method::POST, path, &headers, raw.clone()).await;
        assert_eq!(reply.status, expected, "{name}: {}", reply.body);
        if expected == 401 {
            assert!(reply.body["message"].is_string(), "{name}: JSON error body");
        }
    }
    let fallback_signed = app
        .send(
            Method::POST,
            path,
            &[("x-inngest-signature", fallback.sign(&raw, now))],
            raw,
        )
        .await;
    let header = fallback_signed
        .header("x-inngest-signature")
        .expect("signed");
    fallback
        .verify(header, &fallback_signed.raw, now)
        .expect("answer signed with the key that matched");
}

#[tokio::test]
async fn introspection_has_unauthenticated_and_signed_forms() {
    let (app, _) = setup().await;
    let open = app.send(Method::GET, "/api/inngest", &[], vec![]).await;
    assert_eq!(open.status, 200);
    assert_eq!(
        open.body,
        json!({"authentication_succeeded": null, "capabilities": {"in_band_sync": "v1", "trust_probe": "v1"},
               "function_count": 21, "has_event_key": true, "has_signing_key": true, "has_signing_key_fallback": true,
               "mode": "cloud", "schema_version": "2024-05-24"})
    );
    let bad = app
        .send(
            Method::GET,
            "/api/inngest",
            &[("x-inngest-signature", "t=1&s=00".into())],
            vec![],
        )
        .await;
    assert_eq!(bad.body["authentication_succeeded"], json!(false));
    assert!(bad.body.get("app_id").is_none());
    let signed = app
        .send(
            Method::GET,
            "/api/inngest",
            &[("x-inngest-signature", app.sign(b""))],
            vec![],
        )
        .await;
    assert_eq!(signed.body["authentication_succeeded"], json!(true));
    assert_eq!(signed.body["app_id"], json!("app"));
    assert_eq!(
        signed.body["signing_key_hash"],
        json!("signkey-test-e4bf4a2e7f55c7eb954b6e72f8f69628fbc409fe7da6d0f6958770987dcf0e02")
    );
    assert_eq!(
        signed.body["event_key_hash"],
        json!(inngest::signing::hash_event_key("test-event-key"))
    );
    assert_eq!(signed.body["framework"], json!("axum"));
    assert_eq!(signed.body["sdk_language"], json!("rust"));
    app.assert_signed(&signed);
}

#[tokio::test]
async fn in_band_sync_answers_a_signed_app_config() {
    let (app, stand_in) = setup().await;
    let body = br#"{"url":"https://shop.example/api/inngest"}"#.to_vec();
    let unsigned = app
        .send(
            Method::PUT,
            "/api/inngest",
            &[("x-inngest-sync-kind", "in_band".into())],
            body.clone(),
        )
        .await;
    assert_eq!(unsigned.status, 401);
    let headers = [
        ("x-inngest-sync-kind", "in_band".to_owned()),
        ("x-inngest-signature", app.sign(&body)),
    ];
    let reply = app.send(Method::PUT, "/api/inngest", &headers, body).await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.header("x-inngest-sync-kind"), Some("in_band"));
    app.assert_signed(&reply);
    assert_eq!(reply.body["app_id"], json!("app"));
    assert_eq!(reply.body["url"], json!("https://shop.example/api/inngest"));
    assert_eq!(
        reply.body["inspection"]["authentication_succeeded"],
        json!(true)
    );
    let functions = reply.body["functions"].as_array().expect("functions");
    assert_eq!(functions.len(), 21);
    let hello = functions
        .iter()
        .find(|f| f["id"] == json!("app-hello"))
        .expect("hello");
    assert_eq!(
        hello["steps"]["step"]["runtime"]["url"],
        json!("https://shop.example/api/inngest?fnId=app-hello&stepId=step")
    );
    let failure = functions
        .iter()
        .find(|f| f["id"] == json!("app-with-failure-failure"))
        .expect("failure fn");
    assert_eq!(
        failure["triggers"],
        json!([{"event": "inngest/function.failed", "expression": "event.data.function_id == 'app-with-failure'"}])
    );
    assert!(
        stand_in.requests("/fn/register").is_empty(),
        "in-band sync registers nothing"
    );
}

#[tokio::test]
async fn out_of_band_sync_registers_with_the_hashed_key_and_reports_json() {
    let (app, stand_in) = setup().await;
    let headers = [
        ("x-inngest-server-kind", "cloud".to_owned()),
        ("host", "shop.internal:8080".to_owned()),
    ];
    let reply = app
        .send(Method::PUT, "/api/inngest?deployId=dep-1", &headers, vec![])
        .await;
    assert_eq!(
        (reply.status, reply.body.clone()),
        (
            200,
            json!({"message": "Successfully registered", "modified": true})
        )
    );
    let register = stand_in.requests("/fn/register");
    assert_eq!(register.len(), 1);
    assert_eq!(register[0].path, "/fn/register?deployId=dep-1");
    let auth = register[0]
        .headers
        .get("authorization")
        .unwrap()
        .to_str()
        .unwrap();
    assert_eq!(
        auth,
        "Bearer signkey-test-e4bf4a2e7f55c7eb954b6e72f8f69628fbc409fe7da6d0f6958770987dcf0e02"
    );
    assert_eq!(
        register[0]
            .headers
            .get("x-inngest-expected-server-kind")
            .unwrap(),
        "cloud"
    );
    assert_eq!(
        register[0].body["url"],
        json!("http://shop.internal:8080/api/inngest"),
        "URL always has a scheme"
    );
    assert_eq!(register[0].body["deployType"], json!("ping"));
    assert_eq!(register[0].body["appName"], json!("app"));
    assert_eq!(
        register[0].body["functions"].as_array().map(Vec::len),
        Some(21)
    );

    stand_in.register_statuses.lock().unwrap().extend([401]);
    let rotated = app.send(Method::PUT, "/api/inngest", &[], vec![]).await;
    assert_eq!(
        rotated.status, 200,
        "retried with the fallback key after 401"
    );
    let register = stand_in.requests("/fn/register");
    let last = register
        .last()
        .unwrap()
        .headers
        .get("authorization")
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        last,
        format!(
            "Bearer {}",
            inngest::signing::SigningKey::new(FALLBACK_KEY).hashed()
        )
    );

    stand_in.register_statuses.lock().unwrap().extend([500]);
    let failed = app.send(Method::PUT, "/api/inngest", &[], vec![]).await;
    assert_eq!(failed.status, 500, "a failed sync is never a 200");
    assert_eq!(failed.body["modified"], json!(false));
    assert!(failed.body["message"]
        .as_str()
        .unwrap()
        .contains("refused with 500"));
}

#[tokio::test]
async fn trust_probe_and_other_methods() {
    let (app, _) = setup().await;
    let body = b"{}".to_vec();
    let signed = app
        .send(
            Method::POST,
            "/api/inngest?probe=trust",
            &[("x-inngest-signature", app.sign(&body))],
            body.clone(),
        )
        .await;
    assert_eq!(signed.status, 200);
    app.assert_signed(&signed);
    let unsigned = app
        .send(Method::POST, "/api/inngest?probe=trust", &[], body)
        .await;
    assert_eq!(unsigned.status, 401);
    let delete = app.send(Method::DELETE, "/api/inngest", &[], vec![]).await;
    assert_eq!(delete.status, 405);
    let unknown = app.call("app-nope", "step", &run("nope", json!({}))).await;
    assert_eq!(
        (unknown.status, unknown.header("x-inngest-no-retry")),
        (410, Some("true"))
    );
    let raw = b"{not json".to_vec();
    let invalid = app
        .send(
            Method::POST,
            "/api/inngest?fnId=app-hello&stepId=step",
            &[("x-inngest-signature", app.sign(&raw))],
            raw,
        )
        .await;
    assert_eq!(invalid.status, 400);
}

#[tokio::test]
async fn large_payloads_are_fetched_through_the_api() {
    let (app, stand_in) = setup().await;
    let ev = event("test/sequence", json!({}));
    *stand_in.run_batch.lock().unwrap() = json!([ev]);
    *stand_in.run_actions.lock().unwrap() = json!({ hash("first"): {"data": 1} });
    let mut body = call_body(Value::Null, &[], 0, 4);
    body["events"] = json!([]);
    body["use_api"] = json!(true);
    body["ctx"]["use_api"] = json!(true);
    body["ctx"]["stack"] = json!({"stack": [hash("first")], "current": 1});
    let reply = app.call("app-sequence", "step", &body).await;
    assert_eq!(reply.op()["name"], json!("second"), "{}", reply.body);
    assert_eq!(reply.op()["data"], json!(2));
    let batch = stand_in.requests("/v0/runs/01RUN/batch");
    assert_eq!(batch.len(), 1);
    assert!(batch[0]
        .headers
        .get("authorization")
        .unwrap()
        .to_str()
        .unwrap()
        .starts_with("Bearer signkey-test-"));
    assert_eq!(stand_in.requests("/v0/runs/01RUN/actions").len(), 1);
}

#[tokio::test]
async fn diverged_code_skips_memoized_steps_it_no_longer_reaches() {
    let (app, _) = setup().await;
    // The recorded run completed "gone" before "first"; the current code never calls "gone".
    let memo = [("gone", json!({"data": 0})), ("first", json!({"data": 1}))];
    let reply = app
        .call(
            "app-sequence",
            "step",
            &call_body(event("test/sequence", json!({})), &memo, 0, 4),
        )
        .await;
    assert_eq!(reply.op()["name"], json!("second"));
    assert_eq!(reply.op()["data"], json!(2));
}

#[tokio::test]
async fn encryption_middleware_decrypts_input_and_encrypts_outputs() {
    let stand_in = StandIn::default();
    let base = stand_in.start().await;
    let config = Config::new("app")
        .with_signing_key(KEY)
        .with_event_key("k")
        .with_base_url(&base);
    let client = Inngest::builder(config)
        .middleware(EncryptionMiddleware::new("enc-key", &[]).unwrap())
        .build();
    let f = Function::new(opts("secret"), |ctx: Context<Value>| async move {
        let email = ctx.event.data["encrypted"]["email"].clone();
        let shown: Value = ctx
            .step
            .run(
                "show",
                || async move { Ok::<_, Error>(json!({"email": email})) },
            )
            .await?;
        Ok::<_, Error>(shown)
    })
    .unwrap();
    let app = spawn_app(client.clone(), vec![f]).await;
    let encryptor = inngest::middleware::encryption::Encryptor::new("enc-key", &[]).unwrap();
    let data = json!({"public": 1, "encrypted": encryptor.encrypt(&json!({"email": "a@b.c"}))});
    let reply = app
        .call(
            "app-secret",
            "step",
            &call_body(event("test/secret", data.clone()), &[], 0, 4),
        )
        .await;
    let output = &reply.op()["data"];
    assert!(
        inngest::middleware::encryption::is_encrypted(output),
        "step output is sealed: {output}"
    );
    assert_eq!(
        encryptor.decrypt(output).unwrap(),
        json!({"email": "a@b.c"})
    );
    let memo = [("show", json!({"data": output}))];
    let done = app
        .call(
            "app-secret",
            "step",
            &call_body(event("test/secret", data), &memo, 0, 4),
        )
        .await;
    assert_eq!(done.status, 200);
    assert_eq!(
        encryptor.decrypt(&done.body).unwrap(),
        json!({"email": "a@b.c"})
    );
    client
        .send(&[Event::new("test/x", json!({"encrypted": {"phone": "555"}}))])
        .await
        .unwrap();
    let sent = &stand_in.requests("/e/k")[0].body[0];
    assert_eq!(
        encryptor.decrypt(&sent["data"]["encrypted"]).unwrap(),
        json!({"phone": "555"})
    );
}

#[tokio::test]
async fn client_send_retries_server_errors_and_needs_a_key_in_cloud_mode() {
    let stand_in = StandIn::default();
    let base = stand_in.start().await;
    stand_in.event_statuses.lock().unwrap().extend([503, 502]);
    let client = cloud(&base);
    let ids = client
        .send(&[
            Event::new("a/b", json!({})).with_id("fixed"),
            Event::new("a/c", Value::Null),
        ])
        .await
        .unwrap();
    assert_eq!(ids, vec!["evt-0", "evt-1"]);
    let sends = stand_in.requests("/e/test-event-key");
    assert_eq!(sends.len(), 3, "two 5xx then success");
    let seeds: Vec<_> = sends
        .iter()
        .map(|r| r.headers.get("x-inngest-event-id-seed").cloned())
        .collect();
    assert!(
        seeds.windows(2).all(|w| w[0] == w[1]),
        "the same seed on every retry"
    );
    assert_eq!(sends[2].body[0]["id"], json!("fixed"));
    assert_eq!(
        sends[2].body[1]["data"],
        json!({}),
        "null data is sent as {{}}"
    );
    stand_in.event_statuses.lock().unwrap().extend([400]);
    let rejected = client.send(&[Event::new("a/b", json!({}))]).await;
    assert!(
        matches!(
            rejected,
            Err(inngest::SendError::Rejected { status: 400, .. })
        ),
        "{rejected:?}"
    );
    let keyless = Inngest::builder(Config::new("app").with_base_url(&base)).build();
    let missing = keyless.send(&[Event::new("a/b", json!({}))]).await;
    assert!(matches!(missing, Err(inngest::SendError::MissingEventKey)));
}

#[tokio::test]
async fn dev_mode_serves_unsigned_requests() {
    let config = Config::new("app").with_dev("http://127.0.0.1:9");
    let app = spawn_app(Inngest::builder(config).build(), functions()).await;
    let raw = serde_json::to_vec(&run("hello", json!({"name": "dev"}))).unwrap();
    let reply = app
        .send(
            Method::POST,
            "/api/inngest?fnId=app-hello&stepId=step",
            &[],
            raw,
        )
        .await;
    assert_eq!(
        (reply.status, reply.body),
        (200, json!({"greeting": "hello dev"}))
    );
    let intro = app.send(Method::GET, "/api/inngest", &[], vec![]).await;
    assert_eq!(intro.body["mode"], json!("dev"));
}
