//! Answers only other SDKs give: a stand-in serve endpoint (registered out of band) that answers
//! like the TypeScript SDK with checkpointing (`RunComplete`) or with an op the embedded
//! executor does not carry out (`Gateway`), and checks every request's signature.

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
    let op = if call["event"]["data"]["gateway"] == json!(true) {
        json!([{"id": "g1", "op": "Gateway", "name": "fetch", "opts": {"url": "http://example.invalid"}}])
    } else {
        json!([{"id": "r1", "op": "RunComplete", "name": "run", "data": {"checkpointed": call["event"]["data"]["n"]}}])
    };
    (
        StatusCode::PARTIAL_CONTENT,
        [("x-inngest-sdk", "js:v4.24.0")],
        op.to_string(),
    )
}

#[tokio::test]
async fn run_complete_finishes_the_run_and_unsupported_ops_fail_it_clearly() {
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
    let unsupported = executor
        .send(json!({"name": "ts/go", "data": {"gateway": true}}))
        .await
        .unwrap();
    let mut finished = Vec::new();
    for event in [completed, unsupported] {
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
    assert_eq!(finished[1].status, "failed");
    let error = finished[1].error.clone().unwrap_or_default();
    assert_eq!(error["name"], json!("UnsupportedOpcode"));
    assert!(
        error["message"]
            .as_str()
            .is_some_and(|m| m.contains("Gateway")),
        "{error}"
    );
    assert_eq!(
        verified.load(Ordering::SeqCst),
        2,
        "every call was signed with the signing key"
    );
    executor.shutdown();
}
