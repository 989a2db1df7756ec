//! The Stripe webhook over real HTTP: signatures (missing, wrong, stale), other event types and
//! other deployments' sessions are refused or ignored; a completed checkout becomes exactly one
//! `store/order.placed` event in the embedded executor — with customer details only inside
//! `encrypted` — however often Stripe delivers it.

mod support;

use inngest_executor::entity::{event, run};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{json, Value};
use support::stripe::{
    completed_event, signature, signed_now, spawn_app_with_stripe, spawn_app_with_stripe_and,
    StripeStandIn, ADA, WEBHOOK_SECRET,
};
use support::TestApp;
use swag_domain::discount::{self, Code, DiscountValue, NewCode};
use swag_store::events::{order_placed_id, ORDER_PLACED};

const TEE_M: &str = "durable-tee-m-black";
const CAP: &str = "cron-cap-one_size-navy";

/// Every piece of the customer's PII that Checkout collects.
const PII: [&str; 8] = [
    ADA.email,
    ADA.name,
    ADA.phone,
    ADA.line1,
    ADA.line2,
    ADA.city,
    ADA.postal_code,
    "ada.lovelace",
];

async fn deliver(app: &TestApp, payload: &str, signature: Option<&str>) -> (u16, Value) {
    let mut request = app
        .client
        .post(format!("{}/api/webhooks/stripe", app.address))
        .header("content-type", "application/json")
        .body(payload.to_owned());
    if let Some(signature) = signature {
        request = request.header("stripe-signature", signature);
    }
    let response = request.send().await.expect("request reaches the app");
    let status = response.status().as_u16();
    (status, response.json().await.expect("a JSON body"))
}

/// Checks out a tee and a cap (with `code`, if any) and completes the session as Ada; returns
/// the order id and the completed session.
async fn paid_checkout(
    app: &TestApp,
    stripe: &StripeStandIn,
    code: Option<&str>,
) -> (String, Value) {
    let response = app
        .client
        .post(format!("{}/api/checkout", app.address))
        .json(&json!({
            "items": [
                {"productId": "durable-tee", "variantId": TEE_M, "quantity": 2},
                {"productId": "cron-cap", "variantId": CAP, "quantity": 1},
            ],
            "discountCode": code,
        }))
        .send()
        .await
        .expect("checkout reaches the app");
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.expect("a JSON body");
    let url = body["url"].as_str().expect("a checkout URL");
    let session_id = url.rsplit('/').next().expect("the session id ends the URL");
    let order_id = body["orderId"].as_str().expect("an order id").to_owned();
    (order_id, stripe.complete_session(session_id, &ADA))
}

async fn order_events(app: &TestApp) -> Vec<event::Model> {
    event::Entity::find()
        .filter(event::Column::Name.eq(ORDER_PLACED))
        .all(&app.state.db)
        .await
        .expect("read the executor's events")
}

async fn runs_of(app: &TestApp, event_id: &str) -> usize {
    run::Entity::find()
        .all(&app.state.db)
        .await
        .expect("read the executor's runs")
        .iter()
        .filter(|run| run.event.contains(event_id))
        .count()
}

fn assert_no_pii(text: &str) {
    for pii in PII {
        assert!(!text.contains(pii), "{pii:?} leaked into {text}");
    }
}

#[tokio::test]
async fn a_completed_checkout_becomes_one_order_placed_event_with_pii_only_in_encrypted() {
    let (app, stripe) = spawn_app_with_stripe().await;
    discount::create(
        &app.state.db,
        NewCode {
            code: Code::parse("TAKE-FIVE").expect("a valid code"),
            label: "Five off".to_owned(),
            value: DiscountValue::AmountOff { cents: 500 },
            created_by: "tests@example.com".to_owned(),
        },
    )
    .await
    .expect("code stored");
    let (order_id, session) = paid_checkout(&app, &stripe, Some("TAKE-FIVE")).await;
    let session_id = session["id"].as_str().expect("a session id");
    let payload = completed_event(&session);

    let (status, body) = deliver(&app, &payload, Some(&signed_now(&payload))).await;

    assert_eq!((status, body), (200, json!({"received": true})));
    let events = order_events(&app).await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].id, order_placed_id(session_id));
    let mut stored: Value = serde_json::from_str(&events[0].payload).expect("JSON payload");
    let data = &stored["data"];
    assert_eq!(data["appOrigin"], app.address.as_str());
    assert_eq!(data["orderId"], order_id.as_str());
    assert_eq!(data["stripeSessionId"], session_id);
    assert_eq!(data["stripePaymentIntentId"], session["payment_intent"]);
    assert_eq!(data["amountTotal"], 2 * 3_200 + 2_600 - 500);
    assert_eq!(data["currency"], "usd");
    assert_eq!(
        data["discount"],
        json!({"code": "TAKE-FIVE", "amountCents": 500})
    );
    assert_eq!(data["metadata"]["orderId"], order_id.as_str());
    let lines = data["lineItems"].as_array().expect("line items");
    assert_eq!(lines.len(), 2);
    let tee = lines
        .iter()
        .find(|line| line["variantId"] == TEE_M)
        .expect("the tee line");
    assert_eq!(
        *tee,
        json!({
            "description": "Durable Tee", "quantity": 2, "amountTotal": 6_400,
            "priceId": tee["priceId"], "productId": "durable-tee",
            "productName": "Durable Tee", "sku": "TEE-M", "variantId": TEE_M,
            "size": "M", "color": "black",
        })
    );
    assert!(tee["priceId"]
        .as_str()
        .is_some_and(|id| id.starts_with("price_")));
    assert_eq!(
        data["encrypted"],
        json!({
            "customerEmail": ADA.email, "customerName": ADA.name, "customerPhone": ADA.phone,
            "shipping": {
                "name": ADA.name, "line1": ADA.line1, "line2": ADA.line2, "city": ADA.city,
                "state": ADA.state, "postalCode": ADA.postal_code, "country": ADA.country,
            },
        })
    );
    stored["data"]
        .as_object_mut()
        .expect("event data")
        .remove("encrypted");
    assert_no_pii(&stored.to_string());

    // The order was built from Stripe's copy of the session and its line items.
    assert_eq!(
        stripe
            .requests_to("GET", &format!("/v1/checkout/sessions/{session_id}"))
            .len(),
        1
    );
    let listed = stripe.requests_to(
        "GET",
        &format!("/v1/checkout/sessions/{session_id}/line_items"),
    );
    assert_eq!(listed.len(), 1);
    assert!(
        listed[0].query.contains("data.price.product"),
        "{}",
        listed[0].query
    );
}

#[tokio::test]
async fn with_an_encryption_key_the_stored_event_holds_no_readable_pii() {
    let (app, stripe) = spawn_app_with_stripe_and(|settings| {
        settings.encryption_key = Some("webhook-test-passphrase".to_owned());
    })
    .await;
    let (order_id, session) = paid_checkout(&app, &stripe, None).await;
    let payload = completed_event(&session);

    let (status, _) = deliver(&app, &payload, Some(&signed_now(&payload))).await;

    assert_eq!(status, 200);
    let events = order_events(&app).await;
    assert_eq!(events.len(), 1);
    assert_no_pii(&events[0].payload);
    let stored: Value = serde_json::from_str(&events[0].payload).expect("JSON payload");
    assert_eq!(stored["data"]["orderId"], order_id.as_str());
    assert!(stored["data"]["encrypted"].get("customerEmail").is_none());
}

#[tokio::test]
async fn a_webhook_delivered_five_times_places_the_order_once() {
    let (app, stripe) = spawn_app_with_stripe().await;
    app.wait_until_synced().await;
    let (_, session) = paid_checkout(&app, &stripe, None).await;
    let event_id = order_placed_id(session["id"].as_str().expect("a session id"));
    let payload = completed_event(&session);

    let (status, _) = deliver(&app, &payload, Some(&signed_now(&payload))).await;
    assert_eq!(status, 200);
    let runs_after_first = runs_of(&app, &event_id).await;
    let signed: Vec<String> = (0..4).map(|_| signed_now(&payload)).collect();
    let answers = futures::future::join_all(
        signed
            .iter()
            .map(|signature| deliver(&app, &payload, Some(signature))),
    )
    .await;

    assert!(
        answers.iter().all(|(status, _)| *status == 200),
        "{answers:?}"
    );
    let events = order_events(&app).await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].id, event_id);
    // No fulfilment function may exist yet; whatever is triggered is triggered once.
    assert!(runs_after_first <= 1);
    assert_eq!(runs_of(&app, &event_id).await, runs_after_first);
}

#[tokio::test]
async fn missing_wrong_and_stale_signatures_are_refused_and_nothing_is_sent() {
    let (app, stripe) = spawn_app_with_stripe().await;
    let (_, session) = paid_checkout(&app, &stripe, None).await;
    let payload = completed_event(&session);
    let before = stripe.requests().len();
    let now = chrono::Utc::now().timestamp();

    let tampered = payload.replace("\"paid\"", "\"unpaid\"");
    assert_ne!(tampered, payload);
    let cases = [
        (payload.clone(), None, "missing Stripe-Signature header"),
        (
            payload.clone(),
            Some(signature(&payload, "whsec_someone_else", now)),
            "no Stripe-Signature matches the payload",
        ),
        (
            payload.clone(),
            Some(signature(&payload, WEBHOOK_SECRET, now - 301)),
            "the Stripe-Signature timestamp is more than 300 s from now",
        ),
        (
            tampered,
            Some(signed_now(&payload)),
            "no Stripe-Signature matches the payload",
        ),
        (
            payload.clone(),
            Some("v1=deadbeef".to_owned()),
            "malformed Stripe-Signature header (expected t=…,v1=…)",
        ),
    ];
    for (body, signature, message) in cases {
        let (status, answer) = deliver(&app, &body, signature.as_deref()).await;
        assert_eq!(status, 400, "{signature:?}");
        assert_eq!(answer, json!({"error": message}));
    }

    assert!(order_events(&app).await.is_empty());
    assert_eq!(stripe.requests().len(), before, "Stripe was called");
}

#[tokio::test]
async fn sessions_of_another_deployment_and_other_event_types_are_ignored() {
    let (app, stripe) = spawn_app_with_stripe().await;
    let (_, ours) = paid_checkout(&app, &stripe, None).await;
    let mut foreign = ours.clone();
    foreign["id"] = json!("cs_test_from_qa");
    foreign["metadata"]["appOrigin"] = json!("https://qa.swag.example.com");
    stripe.insert_session(foreign.clone(), Vec::new());
    let before = stripe.requests().len();

    let payload = completed_event(&foreign);
    let (status, body) = deliver(&app, &payload, Some(&signed_now(&payload))).await;
    assert_eq!(status, 200);
    assert_eq!(
        body,
        json!({"received": true, "ignored": "foreign appOrigin"})
    );
    assert_eq!(
        stripe.requests().len(),
        before,
        "a foreign session was fetched"
    );

    // A delivered copy claiming our origin does not override what Stripe says.
    let mut forged = foreign.clone();
    forged["metadata"]["appOrigin"] = json!(app.address);
    let payload = completed_event(&forged);
    let (status, body) = deliver(&app, &payload, Some(&signed_now(&payload))).await;
    assert_eq!(status, 200);
    assert_eq!(
        body,
        json!({"received": true, "ignored": "foreign appOrigin"})
    );

    let other = json!({
        "id": "evt_pi", "object": "event", "type": "payment_intent.succeeded",
        "data": {"object": {"id": "pi_123", "object": "payment_intent"}},
    })
    .to_string();
    let (status, body) = deliver(&app, &other, Some(&signed_now(&other))).await;
    assert_eq!((status, body), (200, json!({"received": true})));

    assert!(order_events(&app).await.is_empty());
}
