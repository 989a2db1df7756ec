//! `fulfill-order` end to end: events sent through the SDK client to the embedded executor,
//! which drives the functions over HTTP; outside services are local stand-ins. Completion is
//! awaited by polling the database against a deadline.

mod support;

use std::time::{Duration, Instant};

use inngest::Event;
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::Value;
use support::receivers::{self, Receivers};
use support::stripe::StripeStandIn;
use support::{stock, wait_for, TestApp};
use swag_domain::discount::{self, Code, DiscountValue, NewCode};
use swag_domain::entity::{
    discount_code, inventory_adjustment, order, order_item, order_reservation, product,
    product_variant,
};
use swag_domain::inventory::{self, Adjustment, LedgerEntry, LedgerMode, StockChange};
use swag_domain::timeline;
use swag_store::config::Settings;
use swag_store::events::{
    CustomerDetails, LineItem, OrderDiscount, OrderPlaced, Shipping, ORDER_PLACED,
};
use swag_store::functions::fulfill_order::step;

const TEE_M: &str = "durable-tee-m-black";
const EMAIL: &str = "ada.lovelace@example.com";
const NAME: &str = "Ada Lovelace";
const STREET: &str = "12 Analytical Engine Way";
const PHONE: &str = "+1 415 555 0100";

/// Starts the store with email, the orders sheet and ops alerts pointed at `receivers`, and
/// waits until the embedded executor has synced its functions.
async fn spawn_store(receivers: &Receivers) -> TestApp {
    spawn_store_with(receivers, |_| {}).await
}

/// Like [`spawn_store`], with `adjust` applied to the settings.
async fn spawn_store_with(receivers: &Receivers, adjust: impl FnOnce(&mut Settings)) -> TestApp {
    support::spawn_synced(|settings| {
        receivers.configure(settings);
        adjust(settings);
    })
    .await
}

async fn line_item(db: &DatabaseConnection, variant_id: &str, quantity: i64) -> LineItem {
    let (variant, product) = product_variant::Entity::find_by_id(variant_id)
        .find_also_related(product::Entity)
        .one(db)
        .await
        .expect("read the variant")
        .expect("the variant is seeded");
    let product = product.expect("the variant's product");
    LineItem {
        description: product.name.clone(),
        quantity,
        amount_total: product.price_cents * quantity,
        price_id: None,
        product_id: product.id,
        product_name: product.name,
        sku: product.sku,
        variant_id: variant.id,
        size: variant.size,
        color: variant.color,
    }
}

fn placed(app: &TestApp, order_id: &str, session: &str, lines: Vec<LineItem>) -> OrderPlaced {
    OrderPlaced {
        app_origin: app.state.public_url.clone(),
        order_id: order_id.to_owned(),
        stripe_session_id: session.to_owned(),
        stripe_payment_intent_id: None,
        encrypted: CustomerDetails {
            customer_email: EMAIL.to_owned(),
            customer_name: NAME.to_owned(),
            customer_phone: PHONE.to_owned(),
            shipping: Shipping {
                name: NAME.to_owned(),
                line1: STREET.to_owned(),
                line2: String::new(),
                city: "Oakland".to_owned(),
                state: "CA".to_owned(),
                postal_code: "94607".to_owned(),
                country: "US".to_owned(),
            },
        },
        amount_total: lines.iter().map(|l| l.amount_total).sum(),
        currency: "usd".to_owned(),
        discount: None,
        line_items: lines,
        metadata: Value::Null,
    }
}

fn event(data: OrderPlaced) -> Event<OrderPlaced> {
    let id = format!("api-order-placed-{}", data.order_id);
    Event::new(ORDER_PLACED, data).with_id(id)
}

async fn send(app: &TestApp, events: &[Event<OrderPlaced>]) {
    app.state
        .durable
        .client()
        .send(events)
        .await
        .expect("the executor accepts the events");
}

async fn ledger_rows(
    db: &DatabaseConnection,
    mode: LedgerMode,
) -> Vec<inventory_adjustment::Model> {
    inventory_adjustment::Entity::find()
        .filter(inventory_adjustment::Column::Mode.eq(mode.as_str()))
        .all(db)
        .await
        .expect("read the ledger")
}

/// How many `kind = status` timeline entries say `status` (one per order that got there).
async fn statuses(db: &DatabaseConnection, status: &str) -> usize {
    swag_domain::entity::order_timeline::Entity::find()
        .filter(swag_domain::entity::order_timeline::Column::Kind.eq("status"))
        .filter(swag_domain::entity::order_timeline::Column::Status.eq(status))
        .count(db)
        .await
        .expect("read the timeline") as usize
}

async fn order_status_published(db: &DatabaseConnection, order_id: &str, status: &str) -> bool {
    timeline::for_order(db, order_id)
        .await
        .expect("read the timeline")
        .iter()
        .any(|e| e.kind == "status" && e.status == status)
}

/// Stock equals the initial stock plus every ledger change, for every variant.
async fn assert_ledger_conserved(db: &DatabaseConnection) {
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
}

fn assert_no_pii(what: &str, text: &str) {
    for pii in [EMAIL, NAME, STREET, PHONE, "94607"] {
        assert!(!text.contains(pii), "{what} leaks {pii:?}: {text}");
    }
}

/// Every step output and run output of the executor's runs, as one JSON text.
async fn run_outputs(app: &TestApp) -> String {
    let executor = app.state.durable.executor().expect("embedded executor");
    let mut outputs = Vec::new();
    for summary in executor.runs(10_000).await.expect("runs") {
        let run = executor
            .run(&summary.id)
            .await
            .expect("run")
            .expect("run exists");
        outputs.push(serde_json::json!({
            "output": run.output,
            "error": run.error,
            "steps": run.steps.iter().map(|s| (&s.output, &s.error)).collect::<Vec<_>>(),
        }));
    }
    Value::from(outputs).to_string()
}

async fn fulfill_runs(app: &TestApp, function: &str) -> Vec<inngest_executor::RunSummary> {
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
async fn a_placed_order_is_paid_reserved_confirmed_recorded_and_tracked() {
    let receivers = Receivers::start().await;
    let app = spawn_store(&receivers).await;
    let db = &app.state.db;
    discount::create(
        db,
        NewCode {
            code: Code::parse("FRIEND-10").expect("code"),
            label: "Friends".into(),
            value: DiscountValue::AmountOff { cents: 1_000 },
            created_by: "ops@swag.test".into(),
        },
    )
    .await
    .expect("create a discount code");
    let before = stock(db, TEE_M).await;
    let mut order = placed(
        &app,
        "ord_full0001",
        "cs_full_1",
        vec![line_item(db, TEE_M, 2).await],
    );
    order.discount = Some(OrderDiscount {
        code: "FRIEND-10".into(),
        amount_cents: 1_000,
    });
    order.amount_total -= 1_000;
    send(&app, &[event(order)]).await;

    wait_for(
        "the order to be fulfilled",
        Duration::from_secs(30),
        || async { order_status_published(db, "ord_full0001", "pending").await },
    )
    .await;

    let row = order::Entity::find_by_id("ord_full0001")
        .one(db)
        .await
        .expect("read the order")
        .expect("the order is recorded");
    assert_eq!(row.status, "pending");
    assert_eq!(row.total_cents, 5_400);
    assert_eq!(row.customer_email, EMAIL);
    assert_eq!(row.discount_code.as_deref(), Some("FRIEND-10"));
    assert_eq!(row.stripe_session_id.as_deref(), Some("cs_full_1"));
    let items = order_item::Entity::find()
        .filter(order_item::Column::OrderId.eq("ord_full0001"))
        .all(db)
        .await
        .expect("items");
    assert_eq!(items.len(), 1);
    assert_eq!(
        (items[0].variant_id.as_str(), items[0].quantity),
        (TEE_M, 2)
    );

    let held = inventory::reservations(db, "ord_full0001")
        .await
        .expect("reservations");
    assert_eq!(held.len(), 1);
    assert_eq!((held[0].quantity, held[0].released_at), (2, None));
    assert_eq!(stock(db, TEE_M).await, before - 2);
    let reserved = ledger_rows(db, LedgerMode::OrderReservation).await;
    assert_eq!(reserved.len(), 1);
    assert_eq!(reserved[0].batch_id, "res_ord_full0001");
    assert_eq!(reserved[0].quantity_change, -2);
    assert_ledger_conserved(db).await;
    let code = discount_code::Entity::find_by_id("FRIEND-10")
        .one(db)
        .await
        .expect("read the code")
        .expect("code");
    assert_eq!(code.times_redeemed, 1);

    let entries = timeline::for_order(db, "ord_full0001")
        .await
        .expect("timeline");
    for name in [
        step::CAPTURE_PAYMENT,
        step::RECORD_DISCOUNT_REDEMPTION,
        step::RESERVE_INVENTORY,
        step::SEND_CONFIRMATION,
        step::RECORD_ORDER,
        step::RECORD_TO_SHEET,
    ] {
        for status in ["running", "complete"] {
            assert_eq!(
                entries
                    .iter()
                    .filter(|e| e.kind == "step" && e.name == name && e.status == status)
                    .count(),
                1,
                "{name} {status}"
            );
        }
    }
    let payment = entries
        .iter()
        .find(|e| e.name == step::CAPTURE_PAYMENT && e.status == "complete")
        .and_then(|e| e.detail.clone());
    assert_eq!(payment, Some(serde_json::json!({"status": "mocked"})));
    assert_no_pii(
        "the timeline",
        &serde_json::to_string(&entries).expect("json"),
    );

    let emails = receivers.emails();
    assert_eq!(emails.len(), 1);
    let email = &emails[0];
    assert_eq!(
        email.header("authorization"),
        Some(format!("Bearer {}", receivers::EMAIL_API_KEY).as_str())
    );
    assert_eq!(
        email.header("idempotency-key"),
        Some("order-confirmation/ord_full0001")
    );
    let body = email.json();
    assert_eq!(body["from"], receivers::EMAIL_FROM);
    assert_eq!(body["to"], serde_json::json!([EMAIL]));
    assert_eq!(body["subject"], "Order confirmed — ord_full0001");
    assert!(body["html"]
        .as_str()
        .is_some_and(|html| html.contains("$54.00")
            && html.contains(&format!("{}/orders/ord_full0001", app.state.public_url))));

    let appends = receivers.sheet_appends();
    assert_eq!(appends.len(), 1);
    let append = &appends[0];
    assert_eq!(
        append.path,
        format!(
            "/v4/spreadsheets/{}/values/Orders!A:A:append",
            receivers::SHEET_ID
        )
    );
    assert!(append.query.contains("valueInputOption=RAW"));
    assert!(append.query.contains("insertDataOption=INSERT_ROWS"));
    assert_eq!(
        append.header("authorization"),
        Some(format!("Bearer {}", receivers::SHEETS_TOKEN).as_str())
    );
    let cells = &append.json()["values"][0];
    assert_eq!(cells[0], "ord_full0001");
    assert_eq!(cells[2], EMAIL);
    assert_eq!(cells[13], "pending");
    assert_eq!(cells[16], "FRIEND-10");
    assert_eq!(receivers.token_requests().len(), 1);
    assert!(receivers.slack_messages().is_empty());

    let runs = fulfill_runs(&app, "fulfill-order").await;
    assert_eq!(runs.len(), 1);
    wait_for("the run to finish", Duration::from_secs(10), || async {
        fulfill_runs(&app, "fulfill-order")
            .await
            .iter()
            .all(|r| r.status == "completed")
    })
    .await;
    assert_no_pii("step and run outputs", &run_outputs(&app).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_event_five_times_fulfils_one_order_and_other_origins_are_ignored() {
    let receivers = Receivers::start().await;
    let app = spawn_store(&receivers).await;
    let db = &app.state.db;
    let before = stock(db, TEE_M).await;
    let lines = vec![line_item(db, TEE_M, 1).await];

    let mut foreign = placed(&app, "ord_other001", "cs_other_1", lines.clone());
    foreign.app_origin = "https://qa.swag.example.com".into();
    send(&app, &[event(foreign)]).await;
    // Runs start in the transaction that accepts the event, so none can appear later.
    assert!(fulfill_runs(&app, "fulfill-order").await.is_empty());

    let order = event(placed(&app, "ord_dupe0001", "cs_dupe_1", lines));
    for _ in 0..5 {
        send(&app, std::slice::from_ref(&order)).await;
    }
    wait_for(
        "the order to be fulfilled",
        Duration::from_secs(30),
        || async { order_status_published(db, "ord_dupe0001", "pending").await },
    )
    .await;

    assert_eq!(fulfill_runs(&app, "fulfill-order").await.len(), 1);
    assert_eq!(order::Entity::find().count(db).await.expect("count"), 1);
    assert_eq!(
        order_item::Entity::find().count(db).await.expect("count"),
        1
    );
    assert_eq!(ledger_rows(db, LedgerMode::OrderReservation).await.len(), 1);
    assert_eq!(stock(db, TEE_M).await, before - 1);
    assert_eq!(receivers.emails().len(), 1);
    assert_eq!(receivers.sheet_appends().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_orders_for_fifty_units_fulfil_fifty_and_compensate_the_rest() {
    const ORDERS: usize = 200;
    const UNITS: i32 = 50;
    let receivers = Receivers::start().await;
    let app = spawn_store(&receivers).await;
    let db = &app.state.db;
    inventory::adjust(
        db,
        &LedgerEntry {
            mode: LedgerMode::AuditCount,
            batch_id: "audit_test".into(),
            actor_email: "ops@swag.test".into(),
            source: "test".into(),
            reason: "set up a scarce variant".into(),
        },
        &[Adjustment {
            variant_id: TEE_M.into(),
            change: StockChange::Set(UNITS),
            note: String::new(),
        }],
    )
    .await
    .expect("set the stock");
    let line = line_item(db, TEE_M, 1).await;
    let events: Vec<_> = (0..ORDERS)
        .map(|n| {
            let id = format!("ord_rush{n:04}");
            event(placed(
                &app,
                &id,
                &format!("cs_rush_{n}"),
                vec![line.clone()],
            ))
        })
        .collect();

    let started = Instant::now();
    let sends = events
        .chunks(10)
        .map(|chunk| send(&app, chunk))
        .collect::<Vec<_>>();
    futures::future::join_all(sends).await;
    wait_for(
        "every order to be fulfilled or compensated",
        Duration::from_secs(55),
        || async {
            statuses(db, "pending").await + statuses(db, "failed").await == ORDERS
                && receivers.slack_messages().len() == ORDERS - UNITS as usize
        },
    )
    .await;
    let elapsed = started.elapsed();

    assert_eq!(statuses(db, "pending").await, UNITS as usize);
    assert_eq!(statuses(db, "failed").await, ORDERS - UNITS as usize);
    let pending = order::Entity::find()
        .filter(order::Column::Status.eq("pending"))
        .count(db)
        .await
        .expect("count");
    let cancelled = order::Entity::find()
        .filter(order::Column::Status.eq("cancelled"))
        .filter(order::Column::Notes.starts_with("NEEDS ATTENTION"))
        .count(db)
        .await
        .expect("count");
    assert_eq!((pending, cancelled), (50, 150));
    assert_eq!(stock(db, TEE_M).await, 0);
    let reservations = order_reservation::Entity::find()
        .all(db)
        .await
        .expect("read");
    assert_eq!(reservations.len(), UNITS as usize);
    assert!(reservations.iter().all(|r| r.released_at.is_none()));
    assert_eq!(
        ledger_rows(db, LedgerMode::OrderReservation).await.len(),
        UNITS as usize
    );
    assert!(
        ledger_rows(db, LedgerMode::OrderRelease).await.is_empty(),
        "failed orders held nothing, so nothing is released"
    );
    assert_ledger_conserved(db).await;
    let alert = receivers.slack_messages()[0].json();
    assert!(alert["text"]
        .as_str()
        .is_some_and(|t| t.contains("Insufficient inventory for TEE-M")));
    assert_eq!(alert["blocks"].as_array().map(Vec::len), Some(3));

    let runs = fulfill_runs(&app, "fulfill-order").await;
    let failures = fulfill_runs(&app, "fulfill-order-failure").await;
    assert_eq!(runs.len(), ORDERS);
    assert_eq!(failures.len(), ORDERS - UNITS as usize);
    let total_runs = runs.len() + failures.len();
    let executor = app.state.durable.executor().expect("embedded executor");
    let mut steps = 0;
    for run in runs.iter().chain(&failures) {
        steps += executor
            .run(&run.id)
            .await
            .expect("run")
            .map_or(0, |view| view.steps.len());
    }
    let seconds = elapsed.as_secs_f64();
    eprintln!(
        "{ORDERS} orders: {seconds:.1} s; {total_runs} runs ({:.0}/s), {steps} steps ({:.0}/s)",
        total_runs as f64 / seconds,
        steps as f64 / seconds
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_step_failing_after_the_reservation_releases_the_stock_exactly_once() {
    let receivers = Receivers::start().await;
    let app = spawn_store(&receivers).await;
    let db = &app.state.db;
    let before = stock(db, TEE_M).await;
    let lines = vec![line_item(db, TEE_M, 3).await];
    send(
        &app,
        &[event(placed(
            &app,
            "ord_first001",
            "cs_shared",
            lines.clone(),
        ))],
    )
    .await;
    wait_for("the first order", Duration::from_secs(30), || async {
        order_status_published(db, "ord_first001", "pending").await
    })
    .await;

    // Another order claiming the same Stripe session: it reserves stock, then recording it
    // breaks the orders table's unique session rule, a failure no retry can fix.
    send(
        &app,
        &[event(placed(&app, "ord_second01", "cs_shared", lines))],
    )
    .await;
    wait_for(
        "the failure to be handled",
        Duration::from_secs(30),
        || async { receivers.slack_messages().len() == 1 },
    )
    .await;

    let row = order::Entity::find_by_id("ord_second01")
        .one(db)
        .await
        .expect("read")
        .expect("the failed order is recorded");
    assert_eq!(row.status, "cancelled");
    assert_eq!(row.stripe_session_id, None);
    assert!(row.notes.starts_with("NEEDS ATTENTION"), "{}", row.notes);
    assert!(row
        .notes
        .contains("Stripe session cs_shared is already recorded on order ord_first001."));

    let releases = ledger_rows(db, LedgerMode::OrderRelease).await;
    assert_eq!(releases.len(), 1, "released exactly once");
    assert_eq!(releases[0].batch_id, "rel_ord_second01");
    assert_eq!(releases[0].quantity_change, 3);
    let held = inventory::reservations(db, "ord_second01")
        .await
        .expect("reservations");
    assert!(held[0].released_at.is_some());
    assert_eq!(
        stock(db, TEE_M).await,
        before - 3,
        "only the first order holds stock"
    );
    assert_ledger_conserved(db).await;

    // Releasing again (as a cancellation would) gives nothing back twice.
    let again = inventory::release_for_order(db, "ord_second01", "again", "ops@swag.test")
        .await
        .expect("release");
    assert!(again.is_empty());
    assert_eq!(ledger_rows(db, LedgerMode::OrderRelease).await.len(), 1);

    let entries = timeline::for_order(db, "ord_second01")
        .await
        .expect("timeline");
    let has =
        |name: &str, status: &str| entries.iter().any(|e| e.name == name && e.status == status);
    assert!(has(step::RESERVE_INVENTORY, "complete"));
    assert!(has(step::RECORD_ORDER, "failed"));
    assert!(has(step::RELEASE_INVENTORY, "complete"));
    assert!(has(step::REFUND_PAYMENT, "complete"));
    assert!(has("order", "failed"));
    assert_eq!(
        entries
            .iter()
            .filter(|e| e.name == step::RECORD_ORDER && e.status == "failed")
            .count(),
        1,
        "a permanent failure is not retried"
    );
    assert_no_pii(
        "the timeline",
        &serde_json::to_string(&entries).expect("json"),
    );
    let alert = receivers.slack_messages()[0].json();
    let text = alert["text"].as_str().unwrap_or_default();
    assert!(
        text.contains("ord_second01") && text.contains("3 unit(s) released"),
        "{text}"
    );
    assert_no_pii("the ops alert", &alert.to_string());
    assert_no_pii("step and run outputs", &run_outputs(&app).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_paid_order_that_fails_is_refunded_once_even_with_sealed_customer_details() {
    let receivers = Receivers::start().await;
    let stripe = StripeStandIn::start().await;
    let app = spawn_store_with(&receivers, |settings| {
        settings.stripe = stripe.settings();
        settings.encryption_key = Some("fulfillment-test-passphrase".to_owned());
    })
    .await;
    let db = &app.state.db;
    let lines = vec![line_item(db, TEE_M, 1).await];
    let mut first = placed(&app, "ord_paid0001", "cs_paid", lines.clone());
    first.stripe_payment_intent_id = Some("pi_test_a".into());
    send(&app, &[event(first)]).await;
    wait_for("the paid order", Duration::from_secs(30), || async {
        order_status_published(db, "ord_paid0001", "pending").await
    })
    .await;
    let paid = order::Entity::find_by_id("ord_paid0001")
        .one(db)
        .await
        .expect("read")
        .expect("recorded");
    assert_eq!(
        paid.customer_email, EMAIL,
        "the middleware opened the details"
    );
    let captured = timeline::for_order(db, "ord_paid0001")
        .await
        .expect("timeline")
        .into_iter()
        .find(|e| e.name == step::CAPTURE_PAYMENT && e.status == "complete")
        .and_then(|e| e.detail);
    assert_eq!(
        captured,
        Some(serde_json::json!({"status": "succeeded", "paymentIntent": "pi_test_a"}))
    );

    let mut second = placed(&app, "ord_paid0002", "cs_paid", lines);
    second.stripe_payment_intent_id = Some("pi_test_b".into());
    send(&app, &[event(second)]).await;
    wait_for(
        "the failure to be handled",
        Duration::from_secs(30),
        || async { receivers.slack_messages().len() == 1 },
    )
    .await;

    let refunds = stripe.requests_to("POST", "/v1/refunds");
    assert_eq!(refunds.len(), 1);
    assert_eq!(refunds[0].idempotency_key.as_deref(), Some("ord_paid0002"));
    assert_eq!(refunds[0].field("payment_intent"), Some("pi_test_b"));
    let failed = order::Entity::find_by_id("ord_paid0002")
        .one(db)
        .await
        .expect("read")
        .expect("the failed order is recorded");
    assert_eq!(failed.status, "cancelled");
    assert!(
        failed.notes.contains("Refunded automatically (re_test_"),
        "{}",
        failed.notes
    );
    assert_eq!(failed.customer_email, "", "sealed details stay sealed");
    assert_eq!(ledger_rows(db, LedgerMode::OrderRelease).await.len(), 1);
    let alert = receivers.slack_messages()[0].json();
    assert!(alert["text"]
        .as_str()
        .is_some_and(|t| t.contains("Refund: refunded (re_test_")));

    // Nothing the executor stores — events, step outputs, run outputs — holds the details in
    // the clear.
    let executor = app.state.durable.executor().expect("embedded executor");
    for summary in executor.runs(100).await.expect("runs") {
        let run = executor
            .run(&summary.id)
            .await
            .expect("run")
            .expect("exists");
        assert_no_pii("a stored run", &serde_json::to_string(&run).expect("json"));
    }
}
