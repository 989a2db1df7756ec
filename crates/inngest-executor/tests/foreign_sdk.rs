//! Answers only other SDKs give: a stand-in serve endpoint (registered out of band) that answers
//! like the TypeScript SDK with checkpointing (`RunComplete`), like its `fetch` (a `Gateway` op
//! with its step id and options, then reading the memoized response), or with an op the
//! embedded executor does not carry out, and checks every request's signature.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::post;
use common::{TestDb, EVENT_KEY, SIGNING_KEY};
use inngest::signing::SigningKey;
use inngest_executor::Executor;
use serde_json::{json, Value};

async fn stand_in(
    verified: Arc<AtomicUsize>,
    headers: HeaderMap,
    body: Bytes,
) -> impl IntoResponse {
    let signature = headers
        .get("x-inngest-signature")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if SigningKey::new(SIGNING_KEY)
        .verify(signature, &body, chrono::Utc::now().timestamp())
        .is_err()
    {
        return (
            StatusCode::UNAUTHORIZED,
            [("x-inngest-sdk", "js:v4.24.0")],
            "{}".to_owned(),
        );
    }
    verified.fetch_add(1, Ordering::SeqCst);
    let call: Value = serde_json::from_slice(&body).unwrap_or_default();
    let data = &call["event"]["data"];
    let op = if let Some(url) = data["fetch"].as_str() {
        // `fetch` of the TypeScript SDK: step id `step.fetch: <host>`, opts {url, method,
        // headers} (no body on a GET); once memoized, it answers with what it read.
        let id = "step.fetch: 127.0.0.1";
        let hash = inngest::step::hash_step_id(id);
        if let Some(memo) = call["steps"].get(&hash) {
            let done = json!({"status": memo["data"]["status_code"], "text": memo["data"]["body"], "error": memo["error"]});
            return (
                StatusCode::OK,
                [("x-inngest-sdk", "js:v4.24.0")],
                done.to_string(),
            );
        }
        json!([{"id": hash, "op": "Gateway", "name": id, "displayName": id,
                "opts": {"url": url, "method": "GET", "headers": {"x-from": "ts"}}}])
    } else if data["sandbox"] == json!(true) {
        json!([{"id": "s1", "op": "Sandbox", "name": "box", "opts": {"type": "step.sandbox.get"}}])
    } else {
        json!([{"id": "r1", "op": "RunComplete", "name": "run", "data": {"checkpointed": data["n"]}}])
    };
    (
        StatusCode::PARTIAL_CONTENT,
        [("x-inngest-sdk", "js:v4.24.0")],
        op.to_string(),
    )
}

#[tokio::test]
async fn run_complete_and_fetch_work_and_unsupported_ops_fail_the_run_clearly() {
    let db = TestDb::new().await;
    let executor = common::fast(
        Executor::builder()
            .database(db.connect().await)
            .signing_key(SIGNING_KEY)
            .event_key(EVENT_KEY),
    )
    .build()
    .await
    .unwrap();
    let verified = Arc::new(AtomicUsize::new(0));
    let counter = verified.clone();
    let app: axum::Router = axum::Router::new()
        .route(
            "/api/inngest",
            post(move |headers: HeaderMap, body: Bytes| stand_in(counter.clone(), headers, body)),
        )
        .merge(executor.router());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    // The target of the `fetch`: answers 418 with the header it was sent.
    let target = axum::Router::new().fallback(|headers: HeaderMap| async move {
        let from = headers
            .get("x-from")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("?")
            .to_owned();
        (StatusCode::IM_A_TEAPOT, format!("from {from}"))
    });
    let target_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let target_url = format!("http://{}/tea", target_listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(target_listener, target).await.unwrap() });

    let register = json!({
        "url": format!("{base}/api/inngest"), "appName": "ts", "deployType": "ping", "sdk": "js:v4.24.0", "v": "0.1",
        "functions": [{
            "id": "ts-fn", "name": "fn", "triggers": [{"event": "ts/go"}],
            "steps": {"step": {"id": "step", "name": "step", "runtime": {"type": "http", "url": format!("{base}/api/inngest?fnId=ts-fn&stepId=step")}, "retries": {"attempts": 0}}}
        }]
    });
    let response = reqwest::Client::new()
        .post(format!("{base}/fn/register"))
        .bearer_auth(SigningKey::new(SIGNING_KEY).hashed())
        .json(&register)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);

    let completed = executor
        .send(json!({"name": "ts/go", "data": {"n": 7}}))
        .await
        .unwrap();
    let fetched = executor
        .send(json!({"name": "ts/go", "data": {"fetch": target_url}}))
        .await
        .unwrap();
    let unsupported = executor
        .send(json!({"name": "ts/go", "data": {"sandbox": true}}))
        .await
        .unwrap();
    let mut finished = Vec::new();
    for event in [completed, fetched, unsupported] {
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(30);
        let run = loop {
            let mut found = None;
            for summary in executor.runs(10).await.unwrap() {
                let run = executor.run(&summary.id).await.unwrap().unwrap();
                if run.event["id"] == json!(event) && run.is_finished() {
                    found = Some(run);
                }
            }
            if let Some(run) = found {
                break run;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "run of {event} did not finish"
            );
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        };
        finished.push(run);
    }
    assert_eq!(finished[0].status, "completed");
    assert_eq!(finished[0].output, Some(json!({"checkpointed": 7})));
    assert_eq!(finished[1].status, "completed", "{:#?}", finished[1]);
    assert_eq!(
        finished[1].output,
        Some(json!({"status": 418, "text": "from ts", "error": null}))
    );
    assert_eq!(
        finished[1]
            .step("step.fetch: 127.0.0.1")
            .map(|s| s.op.as_str()),
        Some("Gateway")
    );
    assert_eq!(finished[2].status, "failed");
    let error = finished[2].error.clone().unwrap_or_default();
    assert_eq!(error["name"], json!("UnsupportedOpcode"));
    assert!(
        error["message"]
            .as_str()
            .is_some_and(|m| m.contains("Sandbox")),
        "{error}"
    );
    assert_eq!(
        verified.load(Ordering::SeqCst),
        4,
        "every call was signed with the signing key"
    );
    executor.shutdown();
}
