//! Several app instances on one Postgres database: an order run by instance A's embedded
//! executor reaches a browser-like SSE subscriber connected to instance B's
//! `/api/realtime/{channel}`, through Postgres `LISTEN/NOTIFY`. B runs no executor (as an
//! instance behind a load balancer would not: the embedded executor belongs to one process),
//! so every message B streams came from A through the database.
//!
//! Needs `TEST_DATABASE_URL` (Postgres). On SQLite realtime is in-process by design (one
//! instance), so there is nothing to fan out: the test prints that it is skipped and returns.

mod support;

use std::time::{Duration, Instant};

use inngest::Event;
use serde_json::Value;
use support::TestApp;
use swag_store::config::ExecutorMode;
use swag_store::events::{CustomerDetails, LineItem, OrderPlaced, Shipping, ORDER_PLACED};

const ORDER_ID: &str = "ord_fanout01";
/// A guard against a hang, not a measurement: the run takes well under a second.
const RUN_DEADLINE: Duration = Duration::from_secs(60);

fn postgres() -> bool {
    std::env::var("TEST_DATABASE_URL").is_ok_and(|url| url.starts_with("postgres"))
}

/// Instance B: the same database as `a`, no embedded executor.
async fn second_instance(a: &TestApp) -> TestApp {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut settings = support::test_settings(&dir).await;
    settings.database_url = a.database_url.clone();
    settings.executor = ExecutorMode::External;
    support::spawn_with(settings, dir).await
}

/// One server-sent event: its `event:` name and its `data:` as JSON.
#[derive(Debug)]
struct Sse {
    event: String,
    data: Value,
}

/// Reads events from `response` until `done` holds for one; returns all read so far.
async fn read_events(mut response: reqwest::Response, done: impl Fn(&Sse) -> bool) -> Vec<Sse> {
    let mut buffer = String::new();
    let mut events = Vec::new();
    let deadline = Instant::now() + RUN_DEADLINE;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let chunk = tokio::time::timeout(left, response.chunk())
            .await
            .unwrap_or_else(|_| {
                panic!("the stream ended no run within {RUN_DEADLINE:?}: {events:?}")
            })
            .expect("the stream stays readable")
            .expect("the stream stays open");
        buffer.push_str(std::str::from_utf8(&chunk).expect("SSE is UTF-8"));
        while let Some(end) = buffer.find("\n\n") {
            let block: String = buffer.drain(..end + 2).collect();
            let mut event = None;
            let mut data = String::new();
            for line in block.lines() {
                if let Some(name) = line.strip_prefix("event:") {
                    event = Some(name.trim().to_owned());
                } else if let Some(part) = line.strip_prefix("data:") {
                    data.push_str(part.trim_start());
                }
            }
            // Keep-alive comments carry neither.
            let Some(event) = event else { continue };
            let sse = Sse {
                event,
                data: serde_json::from_str(&data).expect("data is JSON"),
            };
            let finished = done(&sse);
            events.push(sse);
            if finished {
                return events;
            }
        }
    }
}

async fn paid_order(a: &TestApp) -> OrderPlaced {
    let shipping = Shipping {
        name: "Fan Out".to_owned(),
        line1: "1 Notify Lane".to_owned(),
        line2: String::new(),
        city: "Listenville".to_owned(),
        state: "CA".to_owned(),
        postal_code: "94000".to_owned(),
        country: "US".to_owned(),
    };
    OrderPlaced {
        app_origin: a.state.public_url.clone(),
        order_id: ORDER_ID.to_owned(),
        stripe_session_id: format!("cs_test_{ORDER_ID}"),
        stripe_payment_intent_id: None,
        encrypted: CustomerDetails {
            customer_email: "fan.out@example.com".to_owned(),
            customer_name: "Fan Out".to_owned(),
            customer_phone: String::new(),
            shipping,
        },
        amount_total: 3200,
        currency: "usd".to_owned(),
        discount: None,
        line_items: vec![LineItem {
            description: "Durable Tee".to_owned(),
            quantity: 1,
            amount_total: 3200,
            price_id: None,
            product_id: "durable-tee".to_owned(),
            product_name: "Durable Tee".to_owned(),
            sku: "TEE-M".to_owned(),
            variant_id: "durable-tee-m-black".to_owned(),
            size: "M".to_owned(),
            color: "black".to_owned(),
        }],
        metadata: Value::Null,
    }
}

#[tokio::test]
async fn an_order_run_on_one_instance_streams_live_from_another() {
    if !postgres() {
        println!(
            "skipped: realtime fan-out between instances needs Postgres LISTEN/NOTIFY; \
             set TEST_DATABASE_URL=postgres://… to run it (on SQLite the hub is in-process)"
        );
        return;
    }
    let a = support::spawn_app().await;
    let b = second_instance(&a).await;
    assert!(a.state.durable.executor().is_some(), "A runs the executor");
    assert!(b.state.durable.executor().is_none(), "B runs none");
    let deadline = Instant::now() + RUN_DEADLINE;
    while !a.synced().await {
        assert!(Instant::now() < deadline, "A's functions never synced");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    // Subscribed once the response headers arrive (the handler subscribes before answering).
    let subscribe = |app: &TestApp, channel: &str| {
        app.client
            .get(format!("{}/api/realtime/{channel}", app.address))
            .send()
    };
    let order_stream = subscribe(&b, &format!("order:{ORDER_ID}"))
        .await
        .expect("B answers");
    assert_eq!(order_stream.status(), 200);
    let admin_stream = subscribe(&b, "admin").await.expect("B answers");

    let order = paid_order(&a).await;
    a.state
        .durable
        .client()
        .send(&[Event::new(ORDER_PLACED, order).with_id(format!("fanout-{ORDER_ID}"))])
        .await
        .expect("A's executor accepts the event");

    // The run's last step publishes the order's status.
    let events = read_events(order_stream, |e| e.event == "status").await;
    let last = events.last().expect("one event at least");
    assert_eq!(
        last.data["data"]["status"], "pending",
        "recorded, awaiting shipment: {last:?}"
    );
    for event in &events {
        assert_eq!(event.data["channel"], format!("order:{ORDER_ID}"));
        assert!(
            !event.data.to_string().contains("fan.out@example.com"),
            "no PII in realtime messages: {event:?}"
        );
    }
    let completed: Vec<&str> = events
        .iter()
        .filter(|e| e.event == "step" && e.data["data"]["status"] == "complete")
        .filter_map(|e| e.data["data"]["name"].as_str())
        .collect();
    for step in [
        "capture-payment",
        "reserve-inventory",
        "send-confirmation",
        "record-order",
        "record-to-sheet",
    ] {
        assert_eq!(
            completed.iter().filter(|name| **name == step).count(),
            1,
            "B streamed {step} complete exactly once (completed: {completed:?})"
        );
    }

    let admin = read_events(admin_stream, |e| {
        e.data["data"]["orderId"] == ORDER_ID && e.data["data"]["step"] == "order"
    })
    .await;
    assert!(admin.iter().all(|e| e.event == "order"));
}
