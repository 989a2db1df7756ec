//! The inventory sheet import end to end: `admin/inventory.import.requested` runs
//! `import-inventory` on the embedded executor over HTTP, which reads the tab from a local
//! Google Sheets stand-in (token endpoint and `values.get`, recording every request) and goes
//! through the shared review-and-apply path. Also the failure handler both import functions
//! share. Completion is awaited by polling against a deadline.

mod support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::{HeaderMap, Method, Uri};
use axum::response::{IntoResponse, Response};
use axum::Json;
use inngest::Event;
use sea_orm::{ConnectionTrait, DbBackend, EntityTrait};
use serde_json::{json, Value};
use support::receivers::TEST_SERVICE_ACCOUNT_KEY;
use support::{
    events_named,
    imports::{import_ledger, import_messages, runs},
    stock, wait_for, TestApp,
};
use swag_domain::entity::import_run;
use swag_domain::inventory_import::ImportMode;
use swag_store::config::Settings;
use swag_store::events::{
    InventoryDocumentImportRequested, InventoryImportRequested,
    INVENTORY_DOCUMENT_IMPORT_REQUESTED, INVENTORY_IMPORT_REQUESTED,
};
use swag_store::integrations::Secret;

const TEE_M: &str = "durable-tee-m-black";
const SOCKS: &str = "retry-socks-one_size-citrus";
const SHEET_ID: &str = "inventory-sheet-1";
const TOKEN: &str = "ya29.inventory-token";
const ACTOR: &str = "ops@example.com";

/// One request the stand-in received: method, path and Authorization header.
type Seen = Arc<Mutex<Vec<(Method, String, Option<String>)>>>;

/// Google's token endpoint and `GET /v4/spreadsheets/{id}/values/{range}` answering the rows
/// last set.
struct SheetsStandIn {
    base_url: String,
    seen: Seen,
    rows: Arc<Mutex<Value>>,
}

impl SheetsStandIn {
    async fn start(rows: Value) -> Self {
        let seen: Seen = Arc::default();
        let recorded = seen.clone();
        let rows = Arc::new(Mutex::new(rows));
        let answered = rows.clone();
        let app = axum::Router::new().fallback(move |method: Method, uri: Uri, headers: HeaderMap| {
            let recorded = recorded.clone();
            let rows = answered.lock().expect("lock").clone();
            async move {
                let path = uri.path().to_owned();
                let auth = headers
                    .get("authorization")
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_owned);
                recorded
                    .lock()
                    .expect("lock")
                    .push((method.clone(), path.clone(), auth));
                let values = format!("/v4/spreadsheets/{SHEET_ID}/values/");
                let answer: Response = if path == "/token" {
                    Json(json!({"access_token": TOKEN, "token_type": "Bearer", "expires_in": 3600}))
                        .into_response()
                } else if method == Method::GET && path.starts_with(&values) {
                    Json(json!({"range": "Inventory!A1:C3", "majorDimension": "ROWS", "values": rows}))
                        .into_response()
                } else {
                    axum::http::StatusCode::NOT_FOUND.into_response()
                };
                answer
            }
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the Sheets stand-in");
        let address = listener.local_addr().expect("address");
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self {
            base_url: format!("http://{address}"),
            seen,
            rows,
        }
    }

    fn set_rows(&self, rows: Value) {
        *self.rows.lock().expect("lock") = rows;
    }

    fn configure(&self, settings: &mut Settings) {
        let key = json!({
            "type": "service_account",
            "project_id": "swag-test",
            "private_key_id": "test",
            "private_key": TEST_SERVICE_ACCOUNT_KEY,
            "client_email": "inventory-bot@swag-test.iam.gserviceaccount.com",
            "client_id": "1",
            "auth_uri": format!("{}/auth", self.base_url),
            "token_uri": format!("{}/token", self.base_url),
        });
        settings.sheets.service_account_json = Some(Secret::new(key.to_string()));
        settings.sheets.inventory_sheet_id = Some(SHEET_ID.to_owned());
        settings.sheets.api_base = format!("{}/", self.base_url);
    }

    fn value_reads(&self) -> Vec<(Method, String, Option<String>)> {
        self.seen
            .lock()
            .expect("lock")
            .iter()
            .filter(|(_, path, _)| path.contains("/values/"))
            .cloned()
            .collect()
    }
}

async fn request_sheet_import(app: &TestApp) {
    let event = Event::new(
        INVENTORY_IMPORT_REQUESTED,
        InventoryImportRequested {
            app_origin: app.state.public_url.clone(),
            actor_email: ACTOR.to_owned(),
            mode: ImportMode::AuditCount,
        },
    );
    app.state
        .durable
        .client()
        .send(&[event])
        .await
        .expect("the executor accepts the event");
}

/// Waits until an import run has finished and returns them all.
async fn finished_runs(app: &TestApp, timeout: Duration) -> Vec<import_run::Model> {
    wait_for("the import to finish", timeout, || async {
        runs(&app.state.db)
            .await
            .iter()
            .any(|r| r.status != "running")
    })
    .await;
    runs(&app.state.db).await
}

/// The runs of `function` (its id without the app prefix).
async fn durable_runs(app: &TestApp, function: &str) -> Vec<inngest_executor::RunSummary> {
    let full_id = format!("{}-{function}", app.state.durable.client().app_id());
    app.state
        .durable
        .executor()
        .expect("embedded executor")
        .runs(10_000)
        .await
        .expect("runs")
        .into_iter()
        .filter(|run| run.function_id == full_id)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sheet_sets_counted_stock_with_ledger_rows_progress_and_an_event() {
    let sheets = SheetsStandIn::start(json!([])).await;
    let app = support::spawn_synced(|s| sheets.configure(s)).await;
    // Counts differ from the seeded stock, so both rows move. A number cell is read as text.
    let (tee, socks) = (
        stock(&app.state.db, TEE_M).await,
        stock(&app.state.db, SOCKS).await,
    );
    sheets.set_rows(json!([
        ["Product", "Size", "Stock"],
        ["Durable Tee", "M", (tee + 5).to_string()],
        ["Retry Socks", "", socks + 2],
    ]));
    let mut messages = app.state.realtime.subscribe();
    request_sheet_import(&app).await;

    let runs = finished_runs(&app, Duration::from_secs(30)).await;
    assert_eq!(runs.len(), 1);
    let run = &runs[0];
    assert_eq!(run.status, "complete", "{:?}", run.error);
    assert_eq!(run.source, "sheet:Inventory");
    assert_eq!(run.actor_email, ACTOR);
    assert_eq!(stock(&app.state.db, TEE_M).await, tee + 5);
    assert_eq!(stock(&app.state.db, SOCKS).await, socks + 2);

    let ledger = import_ledger(&app.state.db).await;
    assert_eq!(ledger.len(), 2);
    assert!(ledger
        .iter()
        .all(|row| row.mode == "audit_count" && row.batch_id == ledger[0].batch_id));
    let tee_row = ledger
        .iter()
        .find(|r| r.variant_id == TEE_M)
        .expect("tee row");
    assert_eq!((tee_row.previous_stock, tee_row.new_stock), (tee, tee + 5));

    let statuses: Vec<Value> = import_messages(&mut messages, "sheet:Inventory")
        .into_iter()
        .filter(|m| m["importRunId"] == run.id)
        .map(|m| m["status"].clone())
        .collect();
    assert_eq!(statuses, vec![json!("running"), json!("complete")]);

    wait_for("inventory.changed", Duration::from_secs(10), || async {
        !events_named(&app.state.db, "store/inventory.changed")
            .await
            .is_empty()
    })
    .await;
    let changed = events_named(&app.state.db, "store/inventory.changed").await;
    assert_eq!(changed.len(), 1);
    let data = &changed[0]["data"];
    assert_eq!(data["source"], "import-inventory");
    assert_eq!(data["importRunId"], run.id);
    assert_eq!(data["batchId"], json!(ledger[0].batch_id));

    let reads = sheets.value_reads();
    assert_eq!(reads.len(), 1);
    let (method, path, auth) = &reads[0];
    assert_eq!(method, Method::GET);
    assert!(path.starts_with(&format!("/v4/spreadsheets/{SHEET_ID}/values/")));
    assert_eq!(auth.as_deref(), Some(format!("Bearer {TOKEN}").as_str()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sheet_with_a_blocking_row_changes_nothing_and_fails_the_run() {
    let sheets = SheetsStandIn::start(json!([
        ["Product", "Size", "Stock"],
        ["Durable Tee", "M", "4"],
        ["Mystery Jacket", "M", "2"],
    ]))
    .await;
    let app = support::spawn_synced(|s| sheets.configure(s)).await;
    let tee = stock(&app.state.db, TEE_M).await;
    request_sheet_import(&app).await;

    let runs = finished_runs(&app, Duration::from_secs(30)).await;
    assert_eq!(runs[0].status, "failed");
    assert_eq!(runs[0].source, "sheet:Inventory");
    let error = runs[0].error.as_deref().unwrap_or_default();
    assert!(
        error.contains("line 3: unknown product \"Mystery Jacket\""),
        "{error}"
    );
    assert_eq!(stock(&app.state.db, TEE_M).await, tee);
    assert!(import_ledger(&app.state.db).await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_sheet_the_import_is_skipped_and_changes_nothing() {
    let app = support::spawn_synced(|_| {}).await;
    request_sheet_import(&app).await;

    wait_for("the skipped run", Duration::from_secs(30), || async {
        durable_runs(&app, "import-inventory")
            .await
            .iter()
            .any(|r| r.status == "completed")
    })
    .await;
    let run = inngest_executor::entity::run::Entity::find_by_id(
        durable_runs(&app, "import-inventory").await[0].id.clone(),
    )
    .one(&app.state.db)
    .await
    .expect("read the run")
    .expect("the run");
    let output: Value = serde_json::from_str(run.output.as_deref().expect("output")).expect("JSON");
    assert_eq!(output["status"], "skipped");
    assert!(output["reason"]
        .as_str()
        .is_some_and(|r| r.contains("INVENTORY_SHEET_ID")));
    assert!(runs(&app.state.db).await.is_empty());
    assert!(import_ledger(&app.state.db).await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_import_that_fails_for_good_is_recorded_failed_by_the_failure_handler() {
    let app = support::spawn_synced(|_| {}).await;
    let tee = stock(&app.state.db, TEE_M).await;
    // Without the ledger table every attempt to apply fails with a database error.
    let drop = match app.state.db.get_database_backend() {
        DbBackend::Postgres => "DROP TABLE inventory_adjustments CASCADE",
        _ => "DROP TABLE inventory_adjustments",
    };
    app.state
        .db
        .execute_unprepared(drop)
        .await
        .expect("drop the ledger");
    let mut messages = app.state.realtime.subscribe();
    let event = Event::new(
        INVENTORY_DOCUMENT_IMPORT_REQUESTED,
        InventoryDocumentImportRequested {
            app_origin: app.state.public_url.clone(),
            actor_email: ACTOR.to_owned(),
            source_name: "doomed.csv".to_owned(),
            content_type: "text/csv".to_owned(),
            document_text: "product,size,quantity\nDurable Tee,M,3\n".to_owned(),
            mode: ImportMode::ReceiveShipment,
        },
    );
    app.state
        .durable
        .client()
        .send(&[event])
        .await
        .expect("the executor accepts the event");

    // Three attempts with backoff, then the failure handler.
    let runs = finished_runs(&app, Duration::from_secs(90)).await;
    assert_eq!(runs.len(), 1);
    let run = &runs[0];
    assert_eq!(run.status, "failed");
    assert!(run.completed_at.is_some());
    let error = run.error.as_deref().unwrap_or_default();
    assert!(error.contains("inventory_adjustments"), "{error}");
    assert_eq!(stock(&app.state.db, TEE_M).await, tee);

    let statuses: Vec<Value> = import_messages(&mut messages, "document:doomed.csv")
        .into_iter()
        .filter(|m| m["importRunId"] == run.id)
        .map(|m| m["status"].clone())
        .collect();
    assert_eq!(statuses, vec![json!("running"), json!("failed")]);
    let failed = durable_runs(&app, "import-inventory-document").await;
    assert!(failed.iter().any(|r| r.status == "failed"));
}
