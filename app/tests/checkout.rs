//! Checkout over real HTTP against the local Stripe stand-in: the session the store opens (line
//! items, metadata, coupon, return URLs, shipping and phone collection), the carts and codes it
//! refuses before calling Stripe, discount validation, the confirmation that unlocks an order
//! page, and the PaymentIntent/refund client.

mod support;

use std::collections::HashMap;

use sea_orm::{EntityTrait, PaginatorTrait};
use serde_json::{json, Value};
use support::stripe::{spawn_app_with_stripe, spawn_app_with_stripe_and, Recorded, SECRET_KEY};
use support::{spawn_app, TestApp};
use swag_domain::discount::{self, Code, DiscountValue, NewCode};
use swag_domain::entity::{discount_redemption, order};
use swag_domain::ids::is_order_id;
use swag_store::config::AppUrl;

const TEE_M: &str = "durable-tee-m-black";
const TEE_XXXL: &str = "durable-tee-xxxl-black";
const MUG: &str = "event-mug-one_size-white";

async fn post(app: &TestApp, path: &str, body: &Value) -> (u16, Value) {
    let response = app
        .client
        .post(format!("{}{path}", app.address))
        .json(body)
        .send()
        .await
        .expect("request reaches the app");
    let status = response.status().as_u16();
    (status, response.json().await.expect("a JSON body"))
}

async fn add_code(app: &TestApp, code: &str, value: DiscountValue) {
    discount::create(
        &app.state.db,
        NewCode {
            code: Code::parse(code).expect("a valid code"),
            label: format!("{code} test code"),
            value,
            created_by: "tests@example.com".to_owned(),
        },
    )
    .await
    .expect("code stored");
}

/// The recorded line items, keyed by variant id.
fn line_items(request: &Recorded) -> HashMap<String, HashMap<String, String>> {
    let mut lines: HashMap<usize, HashMap<String, String>> = HashMap::new();
    for (key, value) in &request.form {
        let Some(rest) = key.strip_prefix("line_items[") else {
            continue;
        };
        let Some((index, field)) = rest.split_once(']') else {
            continue;
        };
        let index: usize = index.parse().expect("an indexed line");
        lines
            .entry(index)
            .or_default()
            .insert(field.to_owned(), value.clone());
    }
    lines
        .into_values()
        .map(|line| {
            let variant = line["[price_data][product_data][metadata][variantId]"].clone();
            (variant, line)
        })
        .collect()
}

#[tokio::test]
async fn checkout_opens_a_stripe_session_for_the_priced_cart() {
    let (app, stripe) = spawn_app_with_stripe().await;

    let (status, body) = post(
        &app,
        "/api/checkout",
        &json!({"items": [
            {"productId": "durable-tee", "variantId": TEE_M, "quantity": 2, "size": "M", "color": "black"},
            {"productId": "event-mug", "variantId": MUG, "quantity": 1},
        ]}),
    )
    .await;

    assert_eq!(status, 200, "{body}");
    let order_id = body["orderId"].as_str().expect("an order id");
    assert!(is_order_id(order_id), "{order_id}");
    let sessions = stripe.requests_to("POST", "/v1/checkout/sessions");
    assert_eq!(sessions.len(), 1);
    assert!(stripe.requests_to("POST", "/v1/coupons").is_empty());
    let request = &sessions[0];
    assert_eq!(
        body["url"]
            .as_str()
            .map(|url| url.starts_with("https://checkout.stripe.test/c/pay/cs_test_")),
        Some(true),
        "{body}"
    );
    assert_eq!(
        request.authorization.as_deref(),
        Some(format!("Bearer {SECRET_KEY}").as_str())
    );
    assert_eq!(request.field("mode"), Some("payment"));

    let lines = line_items(request);
    assert_eq!(lines.len(), 2);
    let tee = &lines[TEE_M];
    assert_eq!(tee["[quantity]"], "2");
    assert_eq!(tee["[price_data][currency]"], "usd");
    assert_eq!(tee["[price_data][unit_amount]"], "3200");
    assert_eq!(tee["[price_data][product_data][name]"], "Durable Tee");
    assert_eq!(
        tee["[price_data][product_data][description]"],
        "Size: M · Color: black"
    );
    assert_eq!(
        tee["[price_data][product_data][metadata][productId]"],
        "durable-tee"
    );
    assert_eq!(tee["[price_data][product_data][metadata][sku]"], "TEE-M");
    assert_eq!(tee["[price_data][product_data][metadata][size]"], "M");
    assert_eq!(tee["[price_data][product_data][metadata][color]"], "black");
    let mug = &lines[MUG];
    assert_eq!(mug["[quantity]"], "1");
    assert_eq!(mug["[price_data][unit_amount]"], "1800");
    assert_eq!(
        mug["[price_data][product_data][metadata][productId]"],
        "event-mug"
    );
    assert_eq!(
        mug["[price_data][product_data][metadata][size]"],
        "ONE_SIZE"
    );

    assert_eq!(request.field("metadata[orderId]"), Some(order_id));
    assert_eq!(
        request.field("metadata[appOrigin]"),
        Some(app.address.as_str())
    );
    assert_eq!(request.field("metadata[discountCode]"), Some(""));
    assert_eq!(request.field("metadata[discountAmountCents]"), Some(""));
    assert_eq!(
        request.field("success_url"),
        Some(
            format!(
                "{}/orders/confirmation?ord={order_id}&session_id={{CHECKOUT_SESSION_ID}}",
                app.address
            )
            .as_str()
        )
    );
    assert_eq!(
        request.field("cancel_url"),
        Some(format!("{}/checkout", app.address).as_str())
    );
    assert_eq!(
        request.values("shipping_address_collection[allowed_countries]"),
        vec!["US", "CA"]
    );
    assert_eq!(
        request.field("phone_number_collection[enabled]"),
        Some("true")
    );
    assert!(request.field("discounts[0][coupon]").is_none());

    // Nothing is recorded until Stripe reports the payment.
    assert_eq!(order::Entity::find().count(&app.state.db).await.unwrap(), 0);
}

#[tokio::test]
async fn a_discount_becomes_a_single_use_coupon_worth_exactly_the_discount() {
    let (app, stripe) = spawn_app_with_stripe().await;
    add_code(&app, "TAKE-TEN", DiscountValue::AmountOff { cents: 1_000 }).await;
    add_code(&app, "EIGHTH-OFF", DiscountValue::PercentOff { bps: 1_250 }).await;

    let tee = json!([{"productId": "durable-tee", "variantId": TEE_M, "quantity": 1}]);
    let (status, first) = post(
        &app,
        "/api/checkout",
        &json!({"items": tee, "discountCode": " take-ten "}),
    )
    .await;
    assert_eq!(status, 200, "{first}");
    let (status, second) = post(
        &app,
        "/api/checkout",
        &json!({"items": tee, "discountCode": "EIGHTH-OFF"}),
    )
    .await;
    assert_eq!(status, 200, "{second}");

    let coupons = stripe.requests_to("POST", "/v1/coupons");
    let sessions = stripe.requests_to("POST", "/v1/checkout/sessions");
    assert_eq!((coupons.len(), sessions.len()), (2, 2));
    // 12.5 % of $32.00 is $4.00: the coupon carries the store's own arithmetic.
    for (coupon, session, code, cents, body) in [
        (&coupons[0], &sessions[0], "TAKE-TEN", "1000", &first),
        (&coupons[1], &sessions[1], "EIGHTH-OFF", "400", &second),
    ] {
        assert_eq!(coupon.field("amount_off"), Some(cents));
        assert_eq!(coupon.field("currency"), Some("usd"));
        assert_eq!(coupon.field("duration"), Some("once"));
        assert_eq!(coupon.field("max_redemptions"), Some("1"));
        assert_eq!(coupon.field("percent_off"), None);
        assert_eq!(coupon.field("metadata[discountCode]"), Some(code));
        assert_eq!(coupon.field("metadata[orderId]"), body["orderId"].as_str());
        let coupon_id = session.field("discounts[0][coupon]").expect("a coupon");
        assert!(coupon_id.starts_with("co_test_"), "{coupon_id}");
        assert_eq!(session.field("metadata[discountCode]"), Some(code));
        assert_eq!(session.field("metadata[discountAmountCents]"), Some(cents));
    }
    // Validating and checking out do not redeem the code.
    assert_eq!(
        discount_redemption::Entity::find()
            .count(&app.state.db)
            .await
            .unwrap(),
        0
    );
}

#[tokio::test]
async fn bad_carts_and_codes_are_refused_before_stripe_is_called() {
    let (app, stripe) = spawn_app_with_stripe().await;
    add_code(&app, "PAUSED-CODE", DiscountValue::AmountOff { cents: 500 }).await;
    add_code(&app, "SPENT-CODE", DiscountValue::AmountOff { cents: 500 }).await;
    discount::redeem(
        &app.state.db,
        "SPENT-CODE",
        "cs_earlier",
        "ord_earlier1",
        500,
    )
    .await
    .expect("redeemed once");
    sea_orm::ConnectionTrait::execute_unprepared(
        &app.state.db,
        "UPDATE discount_codes SET active = false WHERE code = 'PAUSED-CODE'",
    )
    .await
    .expect("pause the code");
    let line = |variant: &str, quantity: i64| json!({"productId": "durable-tee", "variantId": variant, "quantity": quantity});

    let cases = [
        (json!({"items": []}), "your cart is empty".to_owned()),
        (
            json!({"items": [line(TEE_M, 0)]}),
            format!("quantity for {TEE_M} must be between 1 and 99, got 0"),
        ),
        (
            json!({"items": [line(TEE_M, 100)]}),
            format!("quantity for {TEE_M} must be between 1 and 99, got 100"),
        ),
        (
            json!({"items": [line("durable-tee-q-black", 1)]}),
            "unknown product variant durable-tee-q-black".to_owned(),
        ),
        (
            json!({"items": [line(TEE_XXXL, 5)]}),
            "only 4 of TEE-XXXL left (you asked for 5)".to_owned(),
        ),
        (
            json!({"items": [line(TEE_M, 1)], "discountCode": "NO-SUCH-CODE"}),
            "discount code NO-SUCH-CODE does not exist".to_owned(),
        ),
        (
            json!({"items": [line(TEE_M, 1)], "discountCode": "bad code!"}),
            "discount codes are 3–40 characters of A–Z, 0–9, _ and -".to_owned(),
        ),
        (
            json!({"items": [line(TEE_M, 1)], "discountCode": "PAUSED-CODE"}),
            "discount code PAUSED-CODE is paused".to_owned(),
        ),
        (
            json!({"items": [line(TEE_M, 1)], "discountCode": "SPENT-CODE"}),
            "discount code SPENT-CODE has already been redeemed".to_owned(),
        ),
    ];
    for (body, message) in cases {
        let (status, answer) = post(&app, "/api/checkout", &body).await;
        assert_eq!(status, 400, "{body} → {answer}");
        assert_eq!(answer, json!({"error": message}), "{body}");
    }

    let (status, answer) = post(&app, "/api/checkout", &json!({"items": "lots"})).await;
    assert_eq!(status, 400, "{answer}");
    assert!(answer["error"].is_string(), "{answer}");
    assert!(stripe.requests().is_empty(), "{:?}", stripe.requests());
}

#[tokio::test]
async fn checkout_without_a_stripe_key_is_unavailable_not_broken() {
    let app = spawn_app().await;

    let (status, body) = post(
        &app,
        "/api/checkout",
        &json!({"items": [{"productId": "durable-tee", "variantId": TEE_M, "quantity": 1}]}),
    )
    .await;

    assert_eq!(status, 503);
    assert_eq!(
        body,
        json!({"error": "Payments are not configured (STRIPE_SECRET_KEY is not set)"})
    );
}

#[tokio::test]
async fn discount_validation_reports_the_discount_and_the_totals() {
    let app = spawn_app().await;
    add_code(&app, "FIVER", DiscountValue::AmountOff { cents: 500 }).await;
    add_code(&app, "ALL-FREE", DiscountValue::PercentOff { bps: 10_000 }).await;
    let items = json!([
        {"productId": "durable-tee", "variantId": TEE_M, "quantity": 2},
        {"productId": "event-mug", "variantId": MUG, "quantity": 1},
    ]);

    let (status, body) = post(
        &app,
        "/api/discounts/validate",
        &json!({"code": "fiver", "items": items}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body,
        json!({
            "discount": {"code": "FIVER", "label": "FIVER test code", "type": "amount_off",
                         "discountCents": 500, "amountOffCents": 500, "percentOff": null},
            "subtotalCents": 8_200,
            "totalAfterDiscountCents": 7_700,
        })
    );

    let (status, body) = post(
        &app,
        "/api/discounts/validate",
        &json!({"code": "ALL-FREE", "items": items}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["discount"]["type"], "percent_off");
    assert_eq!(body["discount"]["percentOff"], 100.0);
    assert_eq!(body["discount"]["discountCents"], 8_200);
    assert_eq!(body["totalAfterDiscountCents"], 0);

    for (request, message) in [
        (
            json!({"code": "NOPE-NOPE", "items": items}),
            "discount code NOPE-NOPE does not exist",
        ),
        (json!({"code": "FIVER", "items": []}), "your cart is empty"),
        (
            json!({"code": "  ", "items": items}),
            "discount codes are 3–40 characters of A–Z, 0–9, _ and -",
        ),
    ] {
        let (status, body) = post(&app, "/api/discounts/validate", &request).await;
        assert_eq!(status, 400, "{request}");
        assert_eq!(body, json!({"error": message}));
    }
}

#[tokio::test]
async fn the_stripe_client_reads_payment_intents_and_refunds_idempotently() {
    let (app, stripe) = spawn_app_with_stripe().await;
    let api = app.state.payments.api().expect("Stripe is configured");

    let intent = api.payment_intent("pi_test_42").await.expect("retrieved");
    assert_eq!(intent.id.as_str(), "pi_test_42");
    assert_eq!(intent.status.as_str(), "succeeded");
    let refund = api
        .refund_payment("pi_test_42", "refund-ord_abcd1234")
        .await
        .expect("refunded");
    assert!(refund.id.as_str().starts_with("re_test_"));

    let refunds = stripe.requests_to("POST", "/v1/refunds");
    assert_eq!(refunds.len(), 1);
    assert_eq!(refunds[0].field("payment_intent"), Some("pi_test_42"));
    assert_eq!(
        refunds[0].idempotency_key.as_deref(),
        Some("refund-ord_abcd1234")
    );
    let missing = api
        .checkout_session("cs_missing")
        .await
        .expect_err("no such session");
    assert!(missing.is_not_found(), "{missing}");
}

/// Opens a checkout for one tee; returns the order id and the Stripe session id.
async fn open_checkout(app: &TestApp) -> (String, String) {
    let (status, body) = post(
        app,
        "/api/checkout",
        &json!({"items": [{"productId": "durable-tee", "variantId": TEE_M, "quantity": 1}]}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let url = body["url"].as_str().expect("a checkout URL");
    let session_id = url.rsplit('/').next().expect("the session id ends the URL");
    let order_id = body["orderId"].as_str().expect("an order id");
    (order_id.to_owned(), session_id.to_owned())
}

/// `GET /orders/confirmation?{query}` without following the redirect: status, `Location`
/// and `Set-Cookie`.
async fn confirm(app: &TestApp, query: &str) -> (u16, String, Option<String>) {
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("a client");
    let response = client
        .get(format!("{}/orders/confirmation?{query}", app.address))
        .send()
        .await
        .expect("request reaches the app");
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned)
    };
    let location = header("location").unwrap_or_default();
    let cookie = header("set-cookie");
    (response.status().as_u16(), location, cookie)
}

#[tokio::test]
async fn confirmation_unlocks_the_order_only_for_its_own_session() {
    let (app, _stripe) = spawn_app_with_stripe().await;
    let (order_id, session_id) = open_checkout(&app).await;
    let (_, other_session) = open_checkout(&app).await;
    let order_page = format!("/orders/{order_id}");

    let (status, location, cookie) =
        confirm(&app, &format!("ord={order_id}&session_id={session_id}")).await;
    assert_eq!((status, location.as_str()), (303, order_page.as_str()));
    assert_eq!(
        cookie.as_deref(),
        Some(
            format!("order_unlock_{order_id}=1; Path=/; Max-Age=2592000; HttpOnly; SameSite=Lax")
                .as_str()
        )
    );

    for query in [
        format!("ord={order_id}&session_id={other_session}"),
        format!("ord={order_id}&session_id=cs_test_missing"),
        format!("ord={order_id}"),
    ] {
        let (status, location, cookie) = confirm(&app, &query).await;
        assert_eq!(
            (status, location.as_str()),
            (303, order_page.as_str()),
            "{query}"
        );
        assert_eq!(cookie, None, "{query}");
    }
    let (status, location, cookie) =
        confirm(&app, &format!("ord=..%2Fadmin&session_id={session_id}")).await;
    assert_eq!((status, location.as_str(), cookie), (303, "/", None));
}

#[tokio::test]
async fn the_unlock_cookie_is_secure_when_the_store_is_served_over_https() {
    let (app, stripe) = spawn_app_with_stripe_and(|settings| {
        settings.app_url =
            Some(AppUrl::parse("https://swag.example.com".to_owned()).expect("an origin"));
    })
    .await;
    let (order_id, session_id) = open_checkout(&app).await;
    let created = &stripe.requests_to("POST", "/v1/checkout/sessions")[0];
    assert_eq!(
        created.field("metadata[appOrigin]"),
        Some("https://swag.example.com")
    );

    let (status, _, cookie) =
        confirm(&app, &format!("ord={order_id}&session_id={session_id}")).await;

    assert_eq!(status, 303);
    let cookie = cookie.expect("the unlock cookie");
    assert!(cookie.ends_with("; SameSite=Lax; Secure"), "{cookie}");
}
