//! `notify-low-inventory` end to end: stock changed through the ledger, `store/inventory.changed`
//! sent through the SDK client to the embedded executor (or the cron fired on a manual clock),
//! and the Slack message received by a local stand-in. Completion is awaited by polling the
//! executor's run list against a deadline.

mod support;

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{TimeZone, Utc};
use inngest::Event;
use inngest_executor::{ManualClock, RunView};
use sea_orm::{DatabaseConnection, EntityTrait};
use serde_json::Value;
use support::receivers::{Receivers, Recorded};
use support::{wait_for, TestApp};
use swag_domain::entity::{low_stock_notification, product_variant};
use swag_domain::inventory::{self, Adjustment, LedgerEntry, LedgerMode, StockChange};
use swag_store::config::Settings;
use swag_store::events::{InventoryChanged, INVENTORY_CHANGED};
use swag_store::functions::notify_low_inventory::{
    step, LowStockSettings, FUNCTION_ID, LOW_STOCK_SLACK_WEBHOOK_URL, LOW_STOCK_THRESHOLD,
};
use swag_store::integrations::Secret;

const MUG: &str = "event-mug-one_size-white";
const TEE_XXXL: &str = "durable-tee-xxxl-black";
const HOODIE_XXL: &str = "step-hoodie-xxl-heather";
const SCHEDULED: &str = "inngest/scheduled.timer";

/// Low-stock settings read from `vars` as if they were the environment, the webhook (when
/// `receivers` is given) pointed at the stand-in.
fn low_stock_env(receivers: Option<&Receivers>, vars: &[(&str, &str)]) -> LowStockSettings {
    let mut vars: HashMap<String, String> = vars
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    if let Some(receivers) = receivers {
        vars.insert(
            LOW_STOCK_SLACK_WEBHOOK_URL.to_owned(),
            format!("{}/slack/TLOW/BLOW/low-stock", receivers.base_url),
        );
    }
    LowStockSettings::from_lookup(|key| vars.get(key).cloned()).expect("valid settings")
}

async fn spawn_store(low_stock: LowStockSettings, adjust: impl FnOnce(&mut Settings)) -> TestApp {
    support::spawn_synced(|settings| {
        settings.low_stock = low_stock;
        adjust(settings);
    })
    .await
}

async fn set_stock(db: &DatabaseConnection, variant_id: &str, count: i32) {
    let entry = LedgerEntry {
        mode: LedgerMode::ManualCorrection,
        batch_id: format!("test-{variant_id}-{count}"),
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

/// Sends one `store/inventory.changed` of this deployment.
async fn inventory_changed(app: &TestApp, n: usize) {
    let data = InventoryChanged {
        app_origin: app.state.public_url.clone(),
        source: "tests".to_owned(),
        reason: format!("change {n}"),
        ..Default::default()
    };
    app.state
        .durable
        .client()
        .send(&[Event::new(INVENTORY_CHANGED, data).with_id(format!("test-change-{n}"))])
        .await
        .expect("the executor accepts the event");
}

/// The function's finished runs, oldest first.
async fn finished_runs(app: &TestApp) -> Vec<RunView> {
    let executor = app.state.durable.executor().expect("embedded executor");
    let full_id = format!("{}-{FUNCTION_ID}", app.state.durable.client().app_id());
    let mut runs = Vec::new();
    for summary in executor.runs(1_000).await.expect("runs") {
        if summary.function_id != full_id {
            continue;
        }
        let run = executor.run(&summary.id).await.expect("run").expect("run");
        if run.is_finished() {
            runs.push(run);
        }
    }
    runs.sort_by_key(|r| r.created_at);
    runs
}

/// Waits until `count` runs finished, checks they all completed, and returns the newest.
async fn after_runs(app: &TestApp, count: usize) -> RunView {
    wait_for(
        &format!("{count} notify-low-inventory run(s)"),
        Duration::from_secs(30),
        || async { finished_runs(app).await.len() >= count },
    )
    .await;
    let runs = finished_runs(app).await;
    assert_eq!(runs.len(), count);
    for run in &runs {
        assert_eq!(run.status, "completed", "{:?}", run.error);
    }
    runs.last().cloned().expect("a run")
}

fn step_ids(run: &RunView) -> Vec<&str> {
    run.steps.iter().map(|s| s.id.as_str()).collect()
}

async fn notification(db: &DatabaseConnection, variant_id: &str) -> low_stock_notification::Model {
    low_stock_notification::Entity::find_by_id(variant_id)
        .one(db)
        .await
        .expect("read notifications")
        .expect("a notification row")
}

fn text(message: &Recorded) -> String {
    message.json()["text"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_low_variant_is_announced_once_and_again_only_when_it_falls_further() {
    let receivers = Receivers::start().await;
    let app = spawn_store(
        low_stock_env(Some(&receivers), &[(LOW_STOCK_THRESHOLD, "3")]),
        |_| {},
    )
    .await;
    let db = &app.state.db;

    set_stock(db, MUG, 3).await;
    inventory_changed(&app, 1).await;
    let run = after_runs(&app, 1).await;
    assert_eq!(
        step_ids(&run),
        vec![step::LIST, step::DEDUPE, step::SEND_SLACK, step::RECORD]
    );
    let messages = receivers.slack_messages();
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0].path, "/slack/TLOW/BLOW/low-stock");
    assert_eq!(
        text(&messages[0]),
        "Low swag inventory: 1 variant(s) at or below 3.\n\
         • Event Mug One size (white) · MUG-ONE_SIZE: 3 left\n\
         Source: tests · change 1"
    );
    let blocks = messages[0].json()["blocks"].clone();
    let kinds: Vec<&str> = blocks
        .as_array()
        .expect("blocks")
        .iter()
        .map(|b| b["type"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(kinds, vec!["section", "section", "context"]);
    assert_eq!(blocks[0]["text"]["type"], "mrkdwn");
    assert_eq!(blocks[1]["text"]["type"], "mrkdwn");
    let row = notification(db, MUG).await;
    assert_eq!(
        (row.threshold, row.last_stock, row.resolved_at),
        (3, 3, None)
    );

    // The same stock again: nothing new to say.
    inventory_changed(&app, 2).await;
    let run = after_runs(&app, 2).await;
    assert_eq!(step_ids(&run), vec![step::LIST, step::DEDUPE]);
    assert_eq!(
        run.output.as_ref().expect("output")["notified"],
        serde_json::json!([])
    );
    assert_eq!(receivers.slack_messages().len(), 1);

    // Lower still: announced again.
    set_stock(db, MUG, 1).await;
    inventory_changed(&app, 3).await;
    after_runs(&app, 3).await;
    let messages = receivers.slack_messages();
    assert_eq!(messages.len(), 2);
    assert!(
        text(&messages[1]).contains("MUG-ONE_SIZE: 1 left"),
        "{}",
        text(&messages[1])
    );
    assert_eq!(notification(db, MUG).await.last_stock, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restocked_variant_is_resolved_and_its_next_drop_alerts_again() {
    let receivers = Receivers::start().await;
    let app = spawn_store(
        low_stock_env(Some(&receivers), &[(LOW_STOCK_THRESHOLD, "3")]),
        |_| {},
    )
    .await;
    let db = &app.state.db;

    set_stock(db, MUG, 2).await;
    inventory_changed(&app, 1).await;
    after_runs(&app, 1).await;
    assert_eq!(receivers.slack_messages().len(), 1);

    set_stock(db, MUG, 20).await;
    inventory_changed(&app, 2).await;
    let run = after_runs(&app, 2).await;
    assert_eq!(step_ids(&run), vec![step::LIST, step::RESOLVE]);
    assert_eq!(
        run.output.as_ref().expect("output")["resolved"],
        serde_json::json!([MUG])
    );
    assert!(notification(db, MUG).await.resolved_at.is_some());
    assert_eq!(receivers.slack_messages().len(), 1);

    // The same level as the first alert, but after a restock: news again.
    set_stock(db, MUG, 2).await;
    inventory_changed(&app, 3).await;
    after_runs(&app, 3).await;
    let messages = receivers.slack_messages();
    assert_eq!(messages.len(), 2);
    assert!(text(&messages[1]).contains("MUG-ONE_SIZE: 2 left"));
    assert_eq!(notification(db, MUG).await.resolved_at, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_threshold_comes_from_the_environment_and_an_invalid_one_means_five() {
    // The seed has the XXXL tee at 4 and the XXL hoodie at 5.
    let receivers = Receivers::start().await;
    let app = spawn_store(
        low_stock_env(Some(&receivers), &[(LOW_STOCK_THRESHOLD, "4")]),
        |_| {},
    )
    .await;
    inventory_changed(&app, 1).await;
    after_runs(&app, 1).await;
    let messages = receivers.slack_messages();
    assert_eq!(messages.len(), 1);
    let said = text(&messages[0]);
    assert!(
        said.starts_with("Low swag inventory: 1 variant(s) at or below 4."),
        "{said}"
    );
    assert!(said.contains("TEE-XXXL: 4 left"), "{said}");

    let invalid = Receivers::start().await;
    let settings = low_stock_env(Some(&invalid), &[(LOW_STOCK_THRESHOLD, "plenty")]);
    assert_eq!(settings.threshold, 5);
    let app = spawn_store(settings, |_| {}).await;
    inventory_changed(&app, 1).await;
    after_runs(&app, 1).await;
    let messages = invalid.slack_messages();
    assert_eq!(messages.len(), 1);
    let said = text(&messages[0]);
    assert!(
        said.starts_with("Low swag inventory: 2 variant(s) at or below 5."),
        "{said}"
    );
    assert!(said.contains("HOOD-XXL: 5 left"), "{said}");
    notification(&app.state.db, HOODIE_XXL).await;
    notification(&app.state.db, TEE_XXXL).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_webhook_the_alert_is_skipped_with_its_reason_and_nothing_is_sent() {
    let receivers = Receivers::start().await;
    // Ops alerts point at the stand-in, so a message sent to the wrong webhook would show.
    let app = spawn_store(low_stock_env(None, &[]), |settings| {
        settings.order_ops_slack_webhook = Some(Secret::new(format!(
            "{}/slack/TOPS/BOPS/ops",
            receivers.base_url
        )));
    })
    .await;
    inventory_changed(&app, 1).await;
    let run = after_runs(&app, 1).await;
    let output = run.output.clone().expect("output");
    assert_eq!(output["slackSent"], false);
    assert_eq!(
        output["skippedReason"],
        "LOW_STOCK_SLACK_WEBHOOK_URL is not set"
    );
    assert_eq!(output["notified"].as_array().map(Vec::len), Some(2));
    assert_eq!(
        step_ids(&run),
        vec![step::LIST, step::DEDUPE, step::SEND_SLACK]
    );
    assert!(receivers.requests().is_empty());
    let rows = low_stock_notification::Entity::find()
        .all(&app.state.db)
        .await
        .expect("rows");
    assert!(rows.is_empty(), "nothing was said, so nothing is recorded");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_morning_check_runs_at_nine_in_los_angeles_and_repeats_nothing() {
    let receivers = Receivers::start().await;
    // 08:59 in Los Angeles (PST, UTC-8).
    let clock = ManualClock::new(Utc.with_ymd_and_hms(2030, 1, 15, 16, 59, 0).unwrap());
    let dir = tempfile::tempdir().expect("temp dir");
    let mut settings = support::test_settings(&dir).await;
    settings.low_stock = low_stock_env(Some(&receivers), &[]);
    let app = support::spawn_with_clock(settings, dir, clock.clone()).await;
    app.wait_until_synced().await;
    let executor = app.state.durable.executor().expect("embedded executor");
    assert!(finished_runs(&app).await.is_empty());

    clock.advance(Duration::from_secs(60));
    executor.wake();
    let run = after_runs(&app, 1).await;
    assert_eq!(run.event["name"], SCHEDULED);
    let messages = receivers.slack_messages();
    assert_eq!(messages.len(), 1);
    let said = text(&messages[0]);
    assert!(
        said.starts_with("Low swag inventory: 2 variant(s) at or below 5."),
        "{said}"
    );
    assert!(
        said.ends_with("Source: daily check (0 9 * * * America/Los_Angeles)"),
        "{said}"
    );

    // The next morning: still low at the same stock, so nothing new is said.
    clock.advance(Duration::from_secs(24 * 3600));
    executor.wake();
    let run = after_runs(&app, 2).await;
    assert_eq!(run.event["name"], SCHEDULED);
    assert_eq!(
        run.output.as_ref().map(|o| o["notified"].clone()),
        Some(Value::Array(Vec::new()))
    );
    assert_eq!(receivers.slack_messages().len(), 1);
    let stock = product_variant::Entity::find_by_id(TEE_XXXL)
        .one(&app.state.db)
        .await
        .expect("read")
        .expect("variant")
        .stock;
    assert_eq!(
        notification(&app.state.db, TEE_XXXL).await.last_stock,
        stock
    );
}

/// A Slack webhook stand-in that answers 500 while `failures_left` is above zero (counting it
/// down), then 200; it records every body it got and which ones it accepted.
#[derive(Clone, Default)]
struct FlakySlack {
    failures_left: Arc<AtomicUsize>,
    received: Arc<Mutex<Vec<(u16, Value)>>>,
}

impl FlakySlack {
    async fn start(&self) -> String {
        let slack = self.clone();
        let app = axum::Router::new().route(
            "/slack/flaky",
            axum::routing::post(move |body: axum::Json<Value>| {
                let slack = slack.clone();
                async move {
                    let fail = slack
                        .failures_left
                        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                        .is_ok();
                    let status = if fail { 500 } else { 200 };
                    slack.received.lock().unwrap().push((status, body.0));
                    axum::http::StatusCode::from_u16(status).expect("status")
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let address = listener.local_addr().expect("address");
        tokio::spawn(async move { axum::serve(listener, app).await });
        format!("http://{address}/slack/flaky")
    }

    fn statuses(&self) -> Vec<u16> {
        self.received
            .lock()
            .unwrap()
            .iter()
            .map(|(s, _)| *s)
            .collect()
    }
}

/// The function's runs (any state), oldest first.
async fn all_runs(app: &TestApp) -> Vec<RunView> {
    let executor = app.state.durable.executor().expect("embedded executor");
    let full_id = format!("{}-{FUNCTION_ID}", app.state.durable.client().app_id());
    let mut runs = Vec::new();
    for summary in executor.runs(1_000).await.expect("runs") {
        if summary.function_id == full_id {
            runs.push(executor.run(&summary.id).await.expect("run").expect("run"));
        }
    }
    runs.sort_by_key(|r| r.created_at);
    runs
}

/// Moves the manual clock past each retry's backoff until run number `index` has finished.
async fn drive_until_finished(app: &TestApp, clock: &ManualClock, index: usize) -> RunView {
    let executor = app.state.durable.executor().expect("embedded executor");
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(run) = all_runs(app).await.get(index) {
            if run.is_finished() {
                return run.clone();
            }
        }
        assert!(Instant::now() < deadline, "timed out driving run {index}");
        clock.advance(Duration::from_secs(600));
        executor.wake();
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_slack_post_is_retried_never_lost_and_never_sent_twice() {
    let slack = FlakySlack::default();
    let url = slack.start().await;
    let clock = ManualClock::starting_now();
    let dir = tempfile::tempdir().expect("temp dir");
    let mut settings = support::test_settings(&dir).await;
    settings.low_stock = low_stock_env(None, &[(LOW_STOCK_THRESHOLD, "3")]);
    settings.low_stock.slack_webhook = Some(Secret::new(url));
    let app = support::spawn_with_clock(settings, dir, clock.clone()).await;
    app.wait_until_synced().await;
    let db = &app.state.db;
    set_stock(db, MUG, 2).await;

    // Slack down for every attempt (1 + 3 retries): the run fails and records nothing…
    slack.failures_left.store(usize::MAX, Ordering::SeqCst);
    inventory_changed(&app, 1).await;
    let run = drive_until_finished(&app, &clock, 0).await;
    assert_eq!(run.status, "failed");
    assert_eq!(slack.statuses(), vec![500; 4]);
    assert!(run.step(step::RECORD).is_none());
    assert!(low_stock_notification::Entity::find_by_id(MUG)
        .one(db)
        .await
        .expect("read")
        .is_none());

    // …so the next change announces it; one failed post is retried and delivered once.
    slack.failures_left.store(1, Ordering::SeqCst);
    inventory_changed(&app, 2).await;
    let run = drive_until_finished(&app, &clock, 1).await;
    assert_eq!(run.status, "completed", "{:?}", run.error);
    assert_eq!(slack.statuses(), vec![500, 500, 500, 500, 500, 200]);
    assert_eq!(run.step(step::SEND_SLACK).expect("sent").attempts, 2);
    assert_eq!(run.step(step::RECORD).expect("recorded").attempts, 1);
    assert_eq!(notification(db, MUG).await.last_stock, 2);

    // Recorded, so the next change says nothing.
    inventory_changed(&app, 3).await;
    let run = drive_until_finished(&app, &clock, 2).await;
    assert_eq!(run.status, "completed");
    assert_eq!(slack.statuses().len(), 6);
}
