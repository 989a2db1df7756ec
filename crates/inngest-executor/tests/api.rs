//! The server endpoints the SDK uses (events, out-of-band sync, run data for `use_api`), event
//! matching, and the observability endpoints and feed.

mod common;

use std::time::Duration;

use common::{Harness, APP, EVENT_KEY, SIGNING_KEY};
use inngest::signing::SigningKey;
use inngest::{Context, Error, Function, FunctionOpts, Trigger};
use serde_json::{json, Value};

fn echo(id: &str, trigger: Trigger) -> Function {
    Function::new(
        FunctionOpts::new(id).trigger(trigger),
        |ctx: Context<Value>| async move {
            let doubled: i64 = ctx
                .step
                .run("double", || async {
                    Ok::<_, Error>(ctx.event.data["n"].as_i64().unwrap_or(0) * 2)
                })
                .await?;
            Ok::<_, Error>(doubled)
        },
    )
    .unwrap()
}

async fn post_events(harness: &Harness, body: Value, seed: Option<&str>) -> reqwest::Response {
    let mut request = reqwest::Client::new()
        .post(format!("{}/e/{EVENT_KEY}", harness.base))
        .json(&body);
    if let Some(seed) = seed {
        request = request.header("x-inngest-event-id-seed", seed);
    }
    request.send().await.unwrap()
}

async fn run_count(harness: &Harness, function: &str) -> usize {
    let id = format!("{APP}-{function}");
    harness
        .executor
        .runs(1000)
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.function_id == id)
        .count()
}

#[tokio::test]
async fn an_event_resent_with_the_same_id_or_seed_is_accepted_once() {
    let harness = Harness::start(|_| vec![echo("echo", Trigger::event("test/echo"))]).await;
    let event = json!({"id": "order-1", "name": "test/echo", "data": {"n": 1}});
    for _ in 0..2 {
        let response = post_events(&harness, event.clone(), None).await;
        assert_eq!(response.status(), 200);
        assert_eq!(
            response.json::<Value>().await.unwrap(),
            json!({"ids": ["order-1"], "status": 200})
        );
    }
    let seed = "1700000000000,AAECAwQFBgcICQ==";
    let batch =
        json!([{"name": "test/echo", "data": {"n": 2}}, {"name": "test/echo", "data": {"n": 3}}]);
    let first: Value = post_events(&harness, batch.clone(), Some(seed))
        .await
        .json()
        .await
        .unwrap();
    let again: Value = post_events(&harness, batch, Some(seed))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(first, again, "a retried send gets the same ids");
    assert_eq!(first["ids"].as_array().map(Vec::len), Some(2));
    assert_ne!(first["ids"][0], first["ids"][1]);
    harness
        .eventually("three runs", || async {
            run_count(&harness, "echo").await == 3
        })
        .await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(run_count(&harness, "echo").await, 3);
}

#[tokio::test]
async fn the_event_api_refuses_a_wrong_key_and_bad_bodies() {
    let harness = Harness::start(|_| vec![echo("echo", Trigger::event("test/echo"))]).await;
    let client = reqwest::Client::new();
    let wrong = client
        .post(format!("{}/e/nope", harness.base))
        .json(&json!({"name": "test/echo"}))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
    let nameless = post_events(&harness, json!({"data": {}}), None).await;
    assert_eq!(nameless.status(), 400);
    let body: Value = nameless.json().await.unwrap();
    assert_eq!(body["status"], json!(400));
}

#[tokio::test]
async fn wildcard_triggers_and_if_expressions_select_the_functions_to_run() {
    let harness = Harness::start(|_| {
        vec![
            echo("any-shop", Trigger::event("shop/*")),
            echo(
                "big-orders",
                Trigger::event("shop/order.placed").with_if("event.data.n > 10"),
            ),
        ]
    })
    .await;
    let small = harness.send("shop/order.placed", json!({"n": 2})).await;
    let big = harness.send("shop/order.placed", json!({"n": 20})).await;
    harness.send("other/order.placed", json!({"n": 99})).await;
    assert_eq!(
        harness.finished_run("any-shop", &small).await.output,
        Some(json!(4))
    );
    assert_eq!(
        harness.finished_run("big-orders", &big).await.output,
        Some(json!(40))
    );
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(run_count(&harness, "any-shop").await, 2);
    assert_eq!(run_count(&harness, "big-orders").await, 1);
}

#[tokio::test]
async fn out_of_band_sync_registers_through_fn_register_with_the_hashed_key() {
    let harness = Harness::start(|_| vec![echo("echo", Trigger::event("test/echo"))]).await;
    let client = reqwest::Client::new();
    // The SDK answers a plain PUT by POSTing its functions to {base}/fn/register.
    let put = client
        .put(&harness.serve_url)
        .header("x-inngest-server-kind", "cloud")
        .json(&json!({"url": harness.serve_url}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        put.status(),
        200,
        "{}",
        put.text().await.unwrap_or_default()
    );
    let unauthorized = client
        .post(format!("{}/fn/register", harness.base))
        .bearer_auth("signkey-test-wrong")
        .json(&json!({"url": "http://x", "appName": "x", "functions": []}))
        .send()
        .await
        .unwrap();
    assert_eq!(unauthorized.status(), 401);
    let event = harness.send("test/echo", json!({"n": 5})).await;
    assert_eq!(
        harness.finished_run("echo", &event).await.output,
        Some(json!(10))
    );
}

#[tokio::test]
async fn large_payloads_go_through_the_run_data_api() {
    let harness = Harness::start(|_| {
        vec![Function::new(
            FunctionOpts::new("big").trigger(Trigger::event("test/big")),
            |ctx: Context<Value>| async move {
                let len: usize = ctx
                    .step
                    .run("measure", || async {
                        Ok::<_, Error>(ctx.event.data["blob"].as_str().map_or(0, str::len))
                    })
                    .await?;
                let again: usize = ctx
                    .step
                    .run("measure-again", || async { Ok::<_, Error>(len) })
                    .await?;
                Ok::<_, Error>(again)
            },
        )
        .unwrap()]
    })
    .await;
    let blob = "x".repeat(5 * 1024 * 1024);
    let event = harness.send("test/big", json!({"blob": blob})).await;
    let run = harness.finished_run("big", &event).await;
    assert_eq!(run.status, "completed", "{:?}", run.error);
    assert_eq!(run.output, Some(json!(5 * 1024 * 1024)));

    let client = reqwest::Client::new();
    let hashed = SigningKey::new(SIGNING_KEY).hashed();
    let actions: Value = client
        .get(format!("{}/v0/runs/{}/actions", harness.base, run.id))
        .bearer_auth(&hashed)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(actions.as_object().map(|m| m.len()), Some(2));
    let batch = client
        .get(format!("{}/v0/runs/{}/batch", harness.base, run.id))
        .send()
        .await
        .unwrap();
    assert_eq!(batch.status(), 401);
}

#[tokio::test]
async fn runs_are_visible_as_json_html_and_a_live_feed() {
    let harness = Harness::start(|_| vec![echo("echo", Trigger::event("test/echo"))]).await;
    let mut updates = harness.executor.subscribe();
    let client = reqwest::Client::new();
    let sse = client
        .get(format!("{}/_inngest/feed", harness.base))
        .send()
        .await
        .unwrap();
    assert_eq!(sse.status(), 200);
    let mut sse = sse;

    let event = harness.send("test/echo", json!({"n": 4})).await;
    let run = harness.finished_run("echo", &event).await;

    let mut kinds = Vec::new();
    while let Ok(Ok(update)) = tokio::time::timeout(Duration::from_secs(1), updates.recv()).await {
        if update.run_id == run.id {
            kinds.push(update.kind);
        }
        if kinds.last() == Some(&"run.completed") {
            break;
        }
    }
    assert_eq!(
        kinds,
        vec![
            "run.queued",
            "run.started",
            "step.completed",
            "run.completed"
        ]
    );

    let mut seen = String::new();
    while !seen.contains("run.completed") {
        let chunk = tokio::time::timeout(Duration::from_secs(5), sse.chunk())
            .await
            .expect("an SSE chunk");
        seen.push_str(&String::from_utf8_lossy(
            &chunk.unwrap().expect("stream open"),
        ));
    }
    assert!(seen.contains("event: step.completed"), "{seen}");

    let list: Value = client
        .get(format!("{}/_inngest/runs?limit=5", harness.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list[0]["id"], json!(run.id));
    let one: Value = client
        .get(format!("{}/_inngest/runs/{}", harness.base, run.id))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(one["status"], json!("completed"));
    assert_eq!(one["output"], json!(8));
    assert_eq!(one["steps"][0]["id"], json!("double"));
    assert_eq!(one["steps"][0]["output"], json!(8));
    assert!(one["steps"][0]["ended_at"].as_i64() >= one["steps"][0]["started_at"].as_i64());
    let missing = client
        .get(format!("{}/_inngest/runs/nope", harness.base))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
    let html = client
        .get(format!("{}/_inngest", harness.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        html.contains(&format!("href=\"/_inngest/runs/{}/view\"", run.id))
            && html.contains("completed"),
        "{html}"
    );
    let page = client
        .get(format!("{}/_inngest/runs/{}/view", harness.base, run.id))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("double") && page.contains("StepRun") && page.contains("href=\"/_inngest\""),
        "{page}"
    );
}
