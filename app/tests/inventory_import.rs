//! Inventory imports end to end: documents sent as events (or posted to the import endpoint)
//! run `import-inventory-document` on the embedded executor over HTTP; the LLM reviewer is a
//! local OpenAI-compatible stand-in that records what it is asked. Completion is awaited by
//! polling the import runs against a deadline.

mod support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::HeaderMap;
use axum::Json;
use inngest::Event;
use serde_json::{json, Value};
use support::{
    events_named,
    imports::{import_ledger, import_messages, runs},
    stock, wait_for, TestApp,
};
use swag_domain::entity::import_run;
use swag_domain::inventory_import::ImportMode;
use swag_store::config::Settings;
use swag_store::events::{InventoryDocumentImportRequested, INVENTORY_DOCUMENT_IMPORT_REQUESTED};
use swag_store::integrations::Secret;

const TEE_M: &str = "durable-tee-m-black";
const SOCKS: &str = "retry-socks-one_size-citrus";
const OPENAI_KEY: &str = "sk-test-inventory";
const API_TOKEN: &str = "swag_test_admin_token";
const DOCUMENT: &str = "product,size,quantity\nDurable Tee,M,3\nRetry Socks,,12\n";

/// What the stand-in answers.
#[derive(Clone)]
enum Answer {
    /// A well-formed review.
    Review(Value),
    /// Output text that is not JSON.
    Garbage,
}

/// Each recorded request: its Authorization header and JSON body.
type Recorded = Arc<Mutex<Vec<(Option<String>, Value)>>>;

/// An OpenAI-compatible `/responses` endpoint that records each request body and answers with
/// the configured review.
struct OpenAiStandIn {
    base_url: String,
    requests: Recorded,
}

impl OpenAiStandIn {
    async fn start(answer: Answer) -> Self {
        let requests: Recorded = Arc::default();
        let recorded = requests.clone();
        let app = axum::Router::new().route(
            "/v1/responses",
            axum::routing::post(move |headers: HeaderMap, Json(body): Json<Value>| {
                let recorded = recorded.clone();
                let answer = answer.clone();
                async move {
                    let auth = headers
                        .get("authorization")
                        .and_then(|v| v.to_str().ok())
                        .map(str::to_owned);
                    recorded.lock().expect("lock").push((auth, body));
                    let text = match answer {
                        Answer::Review(review) => review.to_string(),
                        Answer::Garbage => "Sure! Here is my review: looks fine".to_owned(),
                    };
                    Json(json!({
                        "id": "resp_test",
                        "object": "response",
                        "output": [{"type": "message", "role": "assistant", "content": [
                            {"type": "output_text", "text": text, "annotations": []}
                        ]}]
                    }))
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the OpenAI stand-in");
        let address = listener.local_addr().expect("address");
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self {
            base_url: format!("http://{address}/v1"),
            requests,
        }
    }

    fn configure(&self, settings: &mut Settings) {
        settings.openai.api_key = Some(Secret::new(OPENAI_KEY));
        settings.openai.base_url = self.base_url.clone();
        settings.openai.model = "gpt-test-mini".to_owned();
    }

    fn requests(&self) -> Vec<(Option<String>, Value)> {
        self.requests.lock().expect("lock").clone()
    }
}

fn review(ok: bool, issues: Value) -> Answer {
    Answer::Review(json!({
        "ok": ok,
        "summary": "Looks like a normal restock.",
        "issues": issues,
        "missingVariants": [],
    }))
}

async fn spawn_store(adjust: impl FnOnce(&mut Settings)) -> TestApp {
    support::spawn_synced(|settings| {
        settings.api_token.token = Some(Secret::new(API_TOKEN));
        settings.api_token.actor_email = "ops@example.com".to_owned();
        adjust(settings);
    })
    .await
}

fn request(app: &TestApp, text: &str, mode: ImportMode) -> Event<InventoryDocumentImportRequested> {
    named_request(app, "restock.csv", text, mode)
}

fn named_request(
    app: &TestApp,
    source_name: &str,
    text: &str,
    mode: ImportMode,
) -> Event<InventoryDocumentImportRequested> {
    Event::new(
        INVENTORY_DOCUMENT_IMPORT_REQUESTED,
        InventoryDocumentImportRequested {
            app_origin: app.state.public_url.clone(),
            actor_email: "ops@example.com".to_owned(),
            source_name: source_name.to_owned(),
            content_type: "text/csv".to_owned(),
            document_text: text.to_owned(),
            mode,
        },
    )
}

async fn send(app: &TestApp, events: &[Event<InventoryDocumentImportRequested>]) {
    app.state
        .durable
        .client()
        .send(events)
        .await
        .expect("the executor accepts the events");
}

/// Waits until `count` import runs have finished and returns them all.
async fn finished_runs(app: &TestApp, count: usize) -> Vec<import_run::Model> {
    wait_for("the imports to finish", Duration::from_secs(30), || async {
        let runs = runs(&app.state.db).await;
        runs.iter().filter(|r| r.status != "running").count() >= count
    })
    .await;
    runs(&app.state.db).await
}

fn issues_of(run: &import_run::Model) -> Vec<Value> {
    run.summary
        .as_ref()
        .and_then(|s| s.get("issues"))
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default()
}

#[tokio::test]
async fn a_reviewed_document_changes_stock_once_with_ledger_rows_and_progress() {
    let openai = OpenAiStandIn::start(review(
        true,
        json!([{"severity": "info", "message": "socks restock is large", "row": 3}]),
    ))
    .await;
    let app = spawn_store(|s| openai.configure(s)).await;
    let (tee, socks) = (
        stock(&app.state.db, TEE_M).await,
        stock(&app.state.db, SOCKS).await,
    );
    let mut messages = app.state.realtime.subscribe();
    send(
        &app,
        &[named_request(
            &app,
            "reviewed.csv",
            DOCUMENT,
            ImportMode::ReceiveShipment,
        )],
    )
    .await;

    let runs = finished_runs(&app, 1).await;
    let run = &runs[0];
    assert_eq!(run.status, "complete", "{:?}", run.error);
    assert_eq!(run.source, "document:reviewed.csv");
    assert_eq!(run.actor_email, "ops@example.com");
    assert!(issues_of(run)
        .iter()
        .any(|i| i["message"] == "socks restock is large"));
    assert_eq!(stock(&app.state.db, TEE_M).await, tee + 3);
    assert_eq!(stock(&app.state.db, SOCKS).await, socks + 12);

    let ledger = import_ledger(&app.state.db).await;
    assert_eq!(ledger.len(), 2);
    assert!(ledger.iter().all(|row| row.mode == "receive_shipment"
        && row.batch_id == ledger[0].batch_id
        && row.actor_email == "ops@example.com"));
    let tee_row = ledger
        .iter()
        .find(|r| r.variant_id == TEE_M)
        .expect("tee row");
    assert_eq!(
        (
            tee_row.previous_stock,
            tee_row.quantity_change,
            tee_row.new_stock
        ),
        (tee, 3, tee + 3)
    );

    let statuses: Vec<Value> = import_messages(&mut messages, "document:reviewed.csv")
        .into_iter()
        .filter(|m| m["importRunId"] == run.id)
        .map(|m| m["status"].clone())
        .collect();
    assert_eq!(statuses, vec![json!("running"), json!("complete")]);

    // The event is the run's last step, after the import run is recorded complete.
    wait_for("inventory.changed", Duration::from_secs(10), || async {
        !events_named(&app.state.db, "store/inventory.changed")
            .await
            .is_empty()
    })
    .await;
    let changed = events_named(&app.state.db, "store/inventory.changed").await;
    assert_eq!(changed.len(), 1);
    let data = &changed[0]["data"];
    assert_eq!(data["importRunId"], run.id);
    assert_eq!(data["batchId"], json!(ledger[0].batch_id));
    assert_eq!(data["appOrigin"], json!(app.state.public_url));
    assert_eq!(data["source"], "import-inventory-document");
    let mut variants: Vec<&str> = data["variantIds"]
        .as_array()
        .expect("variant ids")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    variants.sort_unstable();
    assert_eq!(variants, vec![TEE_M, SOCKS]);
    assert_eq!(
        changed[0]["id"],
        json!(format!("inventory-changed-import-{}", ledger[0].batch_id))
    );

    let requests = openai.requests();
    assert_eq!(requests.len(), 1);
    let (auth, body) = &requests[0];
    assert_eq!(
        auth.as_deref(),
        Some(format!("Bearer {OPENAI_KEY}").as_str())
    );
    assert_eq!(body["model"], "gpt-test-mini");
    let format = &body["text"]["format"];
    assert_eq!(format["type"], "json_schema");
    assert_eq!(format["strict"], true);
    assert_eq!(
        format["schema"]["required"],
        json!(["ok", "summary", "issues", "missingVariants"])
    );
    assert!(body["input"].to_string().contains("Durable Tee,M,3"));
}

#[tokio::test]
async fn an_unparsable_review_falls_back_to_the_deterministic_one_with_a_warning() {
    let openai = OpenAiStandIn::start(Answer::Garbage).await;
    let app = spawn_store(|s| openai.configure(s)).await;
    let tee = stock(&app.state.db, TEE_M).await;
    send(
        &app,
        &[request(&app, DOCUMENT, ImportMode::ReceiveShipment)],
    )
    .await;

    let runs = finished_runs(&app, 1).await;
    assert_eq!(runs[0].status, "complete", "{:?}", runs[0].error);
    assert_eq!(stock(&app.state.db, TEE_M).await, tee + 3);
    let summary = runs[0].summary.as_ref().expect("summary");
    assert_eq!(summary["reviewer"], "deterministic");
    assert!(issues_of(&runs[0])
        .iter()
        .any(|i| i["severity"] == "warning"
            && i["message"]
                .as_str()
                .unwrap_or_default()
                .contains("not a review")));
    assert_eq!(openai.requests().len(), 1);
}

#[tokio::test]
async fn an_error_from_the_reviewer_blocks_the_import_and_changes_nothing() {
    let openai = OpenAiStandIn::start(review(
        false,
        json!([{"severity": "error", "message": "quantities look like prices", "row": 2}]),
    ))
    .await;
    let app = spawn_store(|s| openai.configure(s)).await;
    let (tee, socks) = (
        stock(&app.state.db, TEE_M).await,
        stock(&app.state.db, SOCKS).await,
    );
    let mut messages = app.state.realtime.subscribe();
    send(
        &app,
        &[named_request(
            &app,
            "blocked.csv",
            DOCUMENT,
            ImportMode::ReceiveShipment,
        )],
    )
    .await;

    let runs = finished_runs(&app, 1).await;
    assert_eq!(runs[0].status, "failed");
    let error = runs[0].error.as_deref().unwrap_or_default();
    assert!(
        error.contains("line 2: quantities look like prices"),
        "{error}"
    );
    assert_eq!(stock(&app.state.db, TEE_M).await, tee);
    assert_eq!(stock(&app.state.db, SOCKS).await, socks);
    assert!(import_ledger(&app.state.db).await.is_empty());
    assert!(events_named(&app.state.db, "store/inventory.changed")
        .await
        .is_empty());
    let statuses: Vec<Value> = import_messages(&mut messages, "document:blocked.csv")
        .into_iter()
        .map(|m| m["status"].clone())
        .collect();
    assert_eq!(statuses, vec![json!("running"), json!("failed")]);
}

#[tokio::test]
async fn a_document_with_blocking_rows_changes_nothing_and_names_the_lines() {
    let app = spawn_store(|_| {}).await;
    let tee = stock(&app.state.db, TEE_M).await;
    let text = "product,size,qty\nDurable Tee,M,4\nMystery Jacket,M,2\nDurable Tee,L,ten\nDurable Tee,XXXXL,1\n";
    send(&app, &[request(&app, text, ImportMode::ReceiveShipment)]).await;

    let runs = finished_runs(&app, 1).await;
    assert_eq!(runs[0].status, "failed");
    let error = runs[0].error.as_deref().unwrap_or_default();
    for expected in [
        "line 3: unknown product \"Mystery Jacket\"",
        "line 4: quantity \"ten\" is not a whole number",
        "line 5: catalog variant missing",
    ] {
        assert!(error.contains(expected), "{expected} not in {error}");
    }
    assert_eq!(stock(&app.state.db, TEE_M).await, tee);
    assert!(import_ledger(&app.state.db).await.is_empty());
}

#[tokio::test]
async fn without_a_key_the_deterministic_review_stands_with_a_warning() {
    let app = spawn_store(|_| {}).await;
    let tee = stock(&app.state.db, TEE_M).await;
    send(
        &app,
        &[request(
            &app,
            "Counted today:\n7 x Durable Tee (M)\n",
            ImportMode::AuditCount,
        )],
    )
    .await;

    let runs = finished_runs(&app, 1).await;
    assert_eq!(runs[0].status, "complete", "{:?}", runs[0].error);
    assert_eq!(stock(&app.state.db, TEE_M).await, 7);
    assert!(issues_of(&runs[0])
        .iter()
        .any(|i| i["severity"] == "warning"
            && i["message"]
                .as_str()
                .unwrap_or_default()
                .contains("OPENAI_API_KEY is not set")));
    let ledger = import_ledger(&app.state.db).await;
    assert_eq!(ledger.len(), 1);
    assert_eq!(ledger[0].mode, "audit_count");
    assert_eq!(ledger[0].quantity_change, 7 - tee);
}

#[tokio::test]
async fn imports_run_one_at_a_time() {
    let openai = OpenAiStandIn::start(review(true, json!([]))).await;
    let app = spawn_store(|s| openai.configure(s)).await;
    let tee = stock(&app.state.db, TEE_M).await;
    send(
        &app,
        &[
            request(
                &app,
                "product,size,qty\nDurable Tee,M,1\n",
                ImportMode::ReceiveShipment,
            ),
            request(
                &app,
                "product,size,qty\nDurable Tee,M,2\n",
                ImportMode::ReceiveShipment,
            ),
        ],
    )
    .await;

    let runs = finished_runs(&app, 2).await;
    assert_eq!(runs.len(), 2);
    assert!(runs.iter().all(|r| r.status == "complete"));
    let first_done = runs[0].completed_at.expect("the first run finished");
    assert!(
        runs[1].started_at >= first_done,
        "the second import started at {} before the first finished at {first_done}",
        runs[1].started_at
    );
    assert_eq!(stock(&app.state.db, TEE_M).await, tee + 3);
    assert_eq!(openai.requests().len(), 2);
}

async fn post_import(
    app: &TestApp,
    token: Option<&str>,
    form: reqwest::multipart::Form,
) -> reqwest::Response {
    let mut request = app
        .client
        .post(format!("{}/api/admin/inventory/import", app.address))
        .multipart(form);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    request.send().await.expect("request reaches the app")
}

fn text_form(text: &str) -> reqwest::multipart::Form {
    reqwest::multipart::Form::new()
        .text("text", text.to_owned())
        .text("sourceName", "pasted")
}

#[tokio::test]
async fn the_endpoint_checks_the_token_and_the_document_and_imports_a_double_submit_once() {
    let app = spawn_store(|_| {}).await;
    let tee = stock(&app.state.db, TEE_M).await;

    let unauthorised = post_import(&app, None, text_form(DOCUMENT)).await;
    assert_eq!(unauthorised.status(), 401);
    let wrong = post_import(&app, Some("swag_wrong"), text_form(DOCUMENT)).await;
    assert_eq!(wrong.status(), 401);
    assert_eq!(
        wrong.json::<Value>().await.expect("JSON")["code"],
        "INVALID_TOKEN"
    );

    let empty = post_import(&app, Some(API_TOKEN), text_form("  \n")).await;
    assert_eq!(empty.status(), 400);
    assert_eq!(
        empty.json::<Value>().await.expect("JSON")["code"],
        "EMPTY_DOCUMENT"
    );

    let big = "x".repeat(256_001);
    let file = reqwest::multipart::Part::bytes(big.into_bytes()).file_name("big.csv");
    let too_large = post_import(
        &app,
        Some(API_TOKEN),
        reqwest::multipart::Form::new().part("file", file),
    )
    .await;
    assert_eq!(too_large.status(), 413);
    assert_eq!(
        too_large.json::<Value>().await.expect("JSON")["code"],
        "DOCUMENT_TOO_LARGE"
    );

    let bad_mode = post_import(
        &app,
        Some(API_TOKEN),
        text_form(DOCUMENT).text("mode", "steal"),
    )
    .await;
    assert_eq!(bad_mode.status(), 400);
    assert!(
        runs(&app.state.db).await.is_empty(),
        "rejected requests import nothing"
    );

    let first = post_import(&app, Some(API_TOKEN), text_form(DOCUMENT)).await;
    assert_eq!(first.status(), 202);
    let first: Value = first.json().await.expect("JSON");
    let second: Value = post_import(&app, Some(API_TOKEN), text_form(DOCUMENT))
        .await
        .json()
        .await
        .expect("JSON");
    assert_eq!(first["eventId"], second["eventId"]);

    let finished = finished_runs(&app, 1).await;
    assert_eq!(finished[0].status, "complete", "{:?}", finished[0].error);
    assert_eq!(finished[0].actor_email, "ops@example.com");
    assert_eq!(finished[0].source, "document:pasted");
    let requests = events_named(&app.state.db, "admin/inventory.document_import.requested").await;
    assert_eq!(requests.len(), 1);
    assert_eq!(runs(&app.state.db).await.len(), 1);
    assert_eq!(stock(&app.state.db, TEE_M).await, tee + 3);
}
