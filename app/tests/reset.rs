//! `POST /api/inventory/reset` over HTTP: the secret (header or bearer, off when unconfigured),
//! the non-destructive default, the ledgered restock, the import run and the
//! `store/inventory.changed` event it sends (seen as the `notify-low-inventory` run it starts).

mod support;

use std::time::{Duration, Instant};

use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder};
use serde_json::{json, Value};
use support::TestApp;
use swag_domain::entity::{import_run, inventory_adjustment, product_variant};
use swag_domain::inventory::{self, Adjustment, LedgerEntry, LedgerMode, StockChange};
use swag_store::functions::notify_low_inventory;
use swag_store::integrations::Secret;

const SECRET: &str = "reset-s3cret-for-tests";
const MUG: &str = "event-mug-one_size-white";
const TEE_M: &str = "durable-tee-m-black";
const CAP: &str = "cron-cap-one_size-navy";

async fn spawn_store(secret: Option<&str>) -> TestApp {
    support::spawn_synced(|settings| settings.reset_secret = secret.map(Secret::new)).await
}

/// Posts a reset with `headers`, `query` and `body`; returns the status and JSON answer.
async fn reset(
    app: &TestApp,
    query: &str,
    headers: &[(&str, &str)],
    body: Option<Value>,
) -> (u16, Value) {
    let mut request = app
        .client
        .post(format!("{}/api/inventory/reset{query}", app.address));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.expect("the app answers");
    let status = response.status().as_u16();
    (status, response.json().await.expect("a JSON answer"))
}

async fn stock(db: &DatabaseConnection, variant_id: &str) -> Option<i32> {
    product_variant::Entity::find_by_id(variant_id)
        .one(db)
        .await
        .expect("read stock")
        .map(|v| v.stock)
}

async fn set_stock(db: &DatabaseConnection, variant_id: &str, count: i32) {
    let entry = LedgerEntry {
        mode: LedgerMode::ManualCorrection,
        batch_id: format!("test-{variant_id}"),
        actor_email: "tests".to_owned(),
        source: "tests".to_owned(),
        reason: "set up the scenario".to_owned(),
    };
    inventory::adjust(
        db,
        &entry,
        &[Adjustment {
            variant_id: variant_id.to_owned(),
            change: StockChange::Set(count),
            note: String::new(),
        }],
    )
    .await
    .expect("stock set");
}

async fn import_runs(db: &DatabaseConnection) -> Vec<import_run::Model> {
    import_run::Entity::find()
        .order_by_asc(import_run::Column::Id)
        .all(db)
        .await
        .expect("read import runs")
}

async fn reset_ledger_rows(db: &DatabaseConnection) -> Vec<inventory_adjustment::Model> {
    inventory_adjustment::Entity::find()
        .filter(inventory_adjustment::Column::Mode.eq(LedgerMode::CatalogReset.as_str()))
        .order_by_asc(inventory_adjustment::Column::VariantId)
        .all(db)
        .await
        .expect("read the ledger")
}

/// The event data of the `notify-low-inventory` run started by import run `run_id`'s event,
/// once that run has finished.
async fn reset_event(app: &TestApp, run_id: i64) -> Value {
    let executor = app.state.durable.executor().expect("embedded executor");
    let full_id = format!(
        "{}-{}",
        app.state.durable.client().app_id(),
        notify_low_inventory::FUNCTION_ID
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        for summary in executor.runs(1_000).await.expect("runs") {
            if summary.function_id != full_id {
                continue;
            }
            let run = executor.run(&summary.id).await.expect("run").expect("run");
            if run.event["data"]["importRunId"] == run_id && run.is_finished() {
                assert_eq!(run.status, "completed", "{:?}", run.error);
                assert_eq!(run.event["name"], "store/inventory.changed");
                return run.event["data"].clone();
            }
        }
        assert!(
            Instant::now() < deadline,
            "timed out waiting for the reset's notify-low-inventory run"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_configured_secret_the_reset_is_off() {
    let app = spawn_store(None).await;
    let (status, body) = reset(&app, "", &[("x-swag-store-reset-secret", SECRET)], None).await;
    assert_eq!(status, 503);
    assert!(
        body["error"]
            .as_str()
            .unwrap_or_default()
            .contains("SWAG_STORE_RESET_SECRET is not set"),
        "{body}"
    );
    assert!(import_runs(&app.state.db).await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_or_wrong_secret_is_refused_and_changes_nothing() {
    let app = spawn_store(Some(SECRET)).await;
    let bearer_wrong = format!("Bearer {SECRET}x");
    let basic = format!("Basic {SECRET}");
    for headers in [
        vec![],
        vec![("x-swag-store-reset-secret", "nope")],
        vec![("x-swag-store-reset-secret", "")],
        vec![("authorization", bearer_wrong.as_str())],
        vec![("authorization", basic.as_str())],
    ] {
        let (status, body) = reset(&app, "?restock=1", &headers, None).await;
        assert_eq!(status, 401, "{headers:?}");
        assert!(body["error"].as_str().is_some_and(|e| !e.contains(SECRET)));
    }
    assert!(import_runs(&app.state.db).await.is_empty());
    assert!(reset_ledger_rows(&app.state.db).await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn by_default_the_reset_keeps_stock_and_only_recreates_missing_variants() {
    let app = spawn_store(Some(SECRET)).await;
    let db = &app.state.db;
    set_stock(db, MUG, 3).await;
    product_variant::Entity::delete_by_id(CAP)
        .exec(db)
        .await
        .expect("delete a variant");

    let (status, body) = reset(&app, "", &[("x-swag-store-reset-secret", SECRET)], None).await;
    assert_eq!(status, 200, "{body}");
    let run_id = body["importRunId"].as_i64().expect("importRunId");
    assert_eq!(
        body,
        json!({"ok": true, "importRunId": run_id, "products": 5, "variants": 15,
               "source": "reset", "restocked": 0})
    );
    assert_eq!(stock(db, MUG).await, Some(3), "existing stock is kept");
    assert_eq!(
        stock(db, CAP).await,
        Some(15),
        "the missing variant is back"
    );
    assert!(reset_ledger_rows(db).await.is_empty());

    let runs = import_runs(db).await;
    assert_eq!(runs.len(), 1);
    let run = &runs[0];
    assert_eq!(i64::from(run.id), run_id);
    assert_eq!(
        (run.source.as_str(), run.status.as_str()),
        ("reset", "complete")
    );
    assert!(run.completed_at.is_some());
    let summary = run.summary.clone().expect("summary");
    assert_eq!(summary["restock"], false);
    assert_eq!(summary["insertedVariants"], 1);

    let event = reset_event(&app, run_id).await;
    assert_eq!(event["appOrigin"], app.state.public_url.as_str());
    assert_eq!(event["source"], "reset");
    assert_eq!(event["reason"], "catalog reset");
    assert_eq!(event["batchId"], format!("reset_{run_id}"));

    // The bearer form works too, and makes a run of its own.
    let (status, body) = reset(
        &app,
        "",
        &[("authorization", &format!("Bearer {SECRET}"))],
        None,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["importRunId"].as_i64(), Some(run_id + 1));
    assert_eq!(stock(db, MUG).await, Some(3));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restock_puts_stock_back_to_initial_through_the_ledger() {
    let app = spawn_store(Some(SECRET)).await;
    let db = &app.state.db;
    set_stock(db, MUG, 3).await;
    set_stock(db, TEE_M, 41).await;

    let (status, body) = reset(
        &app,
        "?restock=1",
        &[("x-swag-store-reset-secret", SECRET)],
        None,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["restocked"], 2);
    let run_id = body["importRunId"].as_i64().expect("importRunId");
    assert_eq!(stock(db, MUG).await, Some(25));
    assert_eq!(stock(db, TEE_M).await, Some(30));
    let rows = reset_ledger_rows(db).await;
    let moves: Vec<(&str, i32, i32, i32)> = rows
        .iter()
        .map(|r| {
            (
                r.variant_id.as_str(),
                r.previous_stock,
                r.quantity_change,
                r.new_stock,
            )
        })
        .collect();
    assert_eq!(moves, vec![(TEE_M, 41, -11, 30), (MUG, 3, 22, 25)]);
    for row in &rows {
        assert_eq!(row.batch_id, format!("reset_{run_id}"));
        assert_eq!(row.source, "reset");
    }
    let totals = inventory::ledger_totals(db).await.expect("ledger totals");
    for variant in product_variant::Entity::find()
        .all(db)
        .await
        .expect("variants")
    {
        let change = totals.get(&variant.id).copied().unwrap_or(0);
        assert_eq!(
            i64::from(variant.stock),
            i64::from(variant.initial_stock) + change,
            "ledger of {}",
            variant.id
        );
    }
    let event = reset_event(&app, run_id).await;
    assert_eq!(event["reason"], "catalog reset with restock");
    assert_eq!(event["variantIds"], json!([TEE_M, MUG]));

    // The JSON form; nothing differs from the initial stock any more, so no new rows.
    let (status, body) = reset(
        &app,
        "",
        &[("x-swag-store-reset-secret", SECRET)],
        Some(json!({"restock": true})),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["restocked"], 0);
    assert_eq!(reset_ledger_rows(db).await.len(), 2);
    let summary = import_runs(db).await[1].summary.clone().expect("summary");
    assert_eq!(summary["restock"], true);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_restock_flag_or_body_is_refused_before_anything_changes() {
    let app = spawn_store(Some(SECRET)).await;
    let (status, _) = reset(
        &app,
        "?restock=maybe",
        &[("x-swag-store-reset-secret", SECRET)],
        None,
    )
    .await;
    assert_eq!(status, 400);
    let response = app
        .client
        .post(format!("{}/api/inventory/reset", app.address))
        .header("x-swag-store-reset-secret", SECRET)
        .body("{not json")
        .send()
        .await
        .expect("the app answers");
    assert_eq!(response.status().as_u16(), 400);
    assert!(import_runs(&app.state.db).await.is_empty());
}
