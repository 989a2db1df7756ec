//! The store's pages as the server renders them, before any script runs: the catalog with
//! stock, a product, the live tracker and an order's progress (with its PII masked unless the
//! unlock cookie is sent), plus product images.

mod support;

use chrono::Utc;
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter};
use serde_json::json;
use support::{spawn_app, TestApp};
use swag_domain::entity::{order, product_image, product_variant};
use swag_domain::timeline::{self, Entry};

const ORDER_ID: &str = "ord_pages001";

async fn html(app: &TestApp, path: &str) -> (u16, String) {
    let response = app.get(path).await;
    let status = response.status().as_u16();
    (status, response.text().await.expect("HTML body"))
}

async fn record(app: &TestApp, kind: &str, name: &str, status: &str) {
    let entry = Entry {
        order_id: ORDER_ID.to_owned(),
        kind: kind.to_owned(),
        name: name.to_owned(),
        status: status.to_owned(),
        detail: Some(json!({"ok": true})),
        at: Utc::now(),
    };
    timeline::record(&app.state.db, &entry)
        .await
        .expect("timeline entry");
}

async fn insert_order(app: &TestApp) {
    order::ActiveModel {
        order_id: Set(ORDER_ID.to_owned()),
        created_at: Set(Utc::now()),
        customer_email: Set("alice@example.com".to_owned()),
        customer_name: Set("Alice Liddell".to_owned()),
        customer_phone: Set("+1 555 0100".to_owned()),
        items: Set("1× Durable Tee (M)".to_owned()),
        total_cents: Set(3200),
        currency: Set("usd".to_owned()),
        ship_address: Set("1 Rabbit Hole".to_owned()),
        ship_city: Set("Oxford".to_owned()),
        ship_state: Set("OX".to_owned()),
        ship_zip: Set("00001".to_owned()),
        ship_country: Set("US".to_owned()),
        status: Set("pending".to_owned()),
        tracking: Set(String::new()),
        notes: Set(String::new()),
        stripe_session_id: Set(Some("cs_test_pages".to_owned())),
        discount_code: Set(None),
        discount_amount_cents: Set(0),
    }
    .insert(&app.state.db)
    .await
    .expect("order row");
}

#[tokio::test]
async fn home_lists_every_product_with_its_total_stock() {
    let app = spawn_app().await;
    product_variant::Entity::update_many()
        .col_expr(product_variant::Column::Stock, 0.into())
        .filter(product_variant::Column::ProductId.eq("cron-cap"))
        .exec(&app.state.db)
        .await
        .expect("sell out the cap");

    let (status, html) = html(&app, "/").await;

    assert_eq!(status, 200);
    assert!(
        html.contains("<title>Home · Inngest Swag Store</title>"),
        "{html}"
    );
    for name in [
        "Durable Tee",
        "Step Function Hoodie",
        "Retry Socks",
        "Event Mug",
        "Cron Cap",
    ] {
        assert!(html.contains(name), "{name} is listed");
    }
    // 8 + 20 + 30 + 30 + 20 + 8 + 4 tees.
    assert!(html.contains("120 IN STOCK"), "{html}");
    assert!(html.contains("SOLD OUT"), "{html}");
    assert!(html.contains(r#"href="/products/durable-tee""#), "{html}");
}

#[tokio::test]
async fn a_product_page_shows_live_inventory_and_sizes_in_shop_order() {
    let app = spawn_app().await;
    product_variant::Entity::update_many()
        .col_expr(product_variant::Column::Stock, 0.into())
        .filter(product_variant::Column::Id.eq("durable-tee-xs-black"))
        .exec(&app.state.db)
        .await
        .expect("sell out XS");

    let (status, html) = html(&app, "/products/durable-tee").await;

    assert_eq!(status, 200);
    assert!(
        html.contains("<title>Durable Tee · Inngest Swag Store</title>"),
        "{html}"
    );
    assert!(html.contains("LIVE INVENTORY · 112 AVAILABLE"), "{html}");
    let positions: Vec<usize> = ["XS", "S", "M", "L", "XL", "XXL", "XXXL"]
        .iter()
        .map(|size| {
            html.find(&format!(r#"data-size="{size}""#))
                .unwrap_or_else(|| panic!("a {size} chip in {html}"))
        })
        .collect();
    assert!(
        positions.windows(2).all(|w| w[0] < w[1]),
        "sizes in shop order"
    );
    let xs = &html[positions[0]..positions[1]];
    assert!(xs.contains("disabled"), "sold-out XS is disabled: {xs}");
    assert!(html.contains("Other products") && html.contains("Step Function Hoodie"));
}

#[tokio::test]
async fn an_unknown_product_is_a_404_page() {
    let app = spawn_app().await;

    let (status, html) = html(&app, "/products/no-such-thing").await;

    assert_eq!(status, 404);
    assert!(html.contains("Page not found"), "{html}");
}

#[tokio::test]
async fn checkout_renders_and_waits_for_the_browser_cart() {
    let app = spawn_app().await;

    let (status, html) = html(&app, "/checkout").await;

    assert_eq!(status, 200);
    assert!(html.contains("Loading your cart"), "{html}");
    assert!(html.contains("Checkout needs JavaScript"), "{html}");
}

#[tokio::test]
async fn the_tracker_lists_recent_orders_and_their_steps_without_pii() {
    let app = spawn_app().await;
    insert_order(&app).await;
    record(&app, "step", "capture-payment", "complete").await;
    record(&app, "step", "reserve-inventory", "running").await;

    let (status, html) = html(&app, "/admin").await;

    assert_eq!(status, 200);
    assert!(
        html.contains(&format!(r#"data-testid="tracked-{ORDER_ID}""#)),
        "{html}"
    );
    assert!(
        html.contains(r#"data-step="capture-payment" data-state="complete""#),
        "{html}"
    );
    assert!(
        html.contains(r#"data-step="reserve-inventory" data-state="running""#),
        "{html}"
    );
    assert!(html.contains("Live orders"), "{html}");
    for pii in ["alice", "Alice", "Rabbit Hole", "555 0100"] {
        assert!(!html.contains(pii), "{pii} leaked into /admin");
    }
}

#[tokio::test]
async fn the_tracker_says_when_there_are_no_orders() {
    let app = spawn_app().await;

    let (status, html) = html(&app, "/admin").await;

    assert_eq!(status, 200);
    assert!(html.contains("No orders yet"), "{html}");
}

#[tokio::test]
async fn an_order_page_shows_progress_before_the_order_row_exists() {
    let app = spawn_app().await;
    record(&app, "step", "capture-payment", "complete").await;
    record(&app, "step", "reserve-inventory", "running").await;

    let (status, html) = html(&app, &format!("/orders/{ORDER_ID}")).await;

    assert_eq!(status, 200);
    assert!(
        html.contains(r#"data-step="capture-payment" data-state="complete""#),
        "{html}"
    );
    assert!(
        html.contains(r#"data-step="reserve-inventory" data-state="running""#),
        "{html}"
    );
    assert!(
        html.contains(r#"data-step="record-order" data-state="pending""#),
        "{html}"
    );
    assert!(
        !html.contains("record-discount-redemption"),
        "no discount, no discount step"
    );
    assert!(
        html.contains("step.reserve-inventory → running"),
        "the log: {html}"
    );
    assert!(html.contains("Received"), "{html}");
}

#[tokio::test]
async fn an_order_page_masks_the_email_and_hides_the_name_without_the_unlock_cookie() {
    let app = spawn_app().await;
    insert_order(&app).await;
    record(&app, "status", "order", "pending").await;

    let (status, html) = html(&app, &format!("/orders/{ORDER_ID}")).await;

    assert_eq!(status, 200);
    assert!(html.contains("a***@example.com"), "{html}");
    assert!(!html.contains("alice@example.com"), "the full email leaked");
    assert!(!html.contains("Alice Liddell"), "the name leaked");
    assert!(html.contains("1× Durable Tee (M)"), "{html}");
}

#[tokio::test]
async fn the_unlock_cookie_shows_the_customer() {
    let app = spawn_app().await;
    insert_order(&app).await;

    let response = app
        .client
        .get(format!("{}/orders/{ORDER_ID}", app.address))
        .header("cookie", format!("theme=dark; order_unlock_{ORDER_ID}=1"))
        .send()
        .await
        .expect("request reaches the app");
    let other_order = app
        .client
        .get(format!("{}/orders/{ORDER_ID}", app.address))
        .header("cookie", "order_unlock_ord_other001=1")
        .send()
        .await
        .expect("request reaches the app");

    let html = response.text().await.expect("HTML body");
    assert!(html.contains("alice@example.com"), "{html}");
    assert!(html.contains("Alice Liddell"), "{html}");
    let html = other_order.text().await.expect("HTML body");
    assert!(
        !html.contains("Alice Liddell"),
        "another order's cookie unlocks nothing"
    );
}

#[tokio::test]
async fn a_path_that_is_not_an_order_id_is_a_404() {
    let app = spawn_app().await;

    let (status, _) = html(&app, "/orders/not-an-order").await;

    assert_eq!(status, 404);
}

#[tokio::test]
async fn product_images_are_immutable_and_missing_ones_are_json_404s() {
    let app = spawn_app().await;
    product_image::ActiveModel {
        id: Set("img_0123456789abcdef01".to_owned()),
        product_id: Set("durable-tee".to_owned()),
        content_type: Set("image/png".to_owned()),
        bytes: Set(b"\x89PNG fake".to_vec()),
        size_bytes: Set(9),
        actor_email: Set("admin@example.com".to_owned()),
        created_at: Set(Utc::now()),
    }
    .insert(&app.state.db)
    .await
    .expect("image row");

    let found = app.get("/api/product-images/img_0123456789abcdef01").await;
    let missing = app.get("/api/product-images/img_missing").await;

    assert_eq!(found.status(), 200);
    let header = |r: &reqwest::Response, name: &str| {
        r.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    assert_eq!(header(&found, "content-type"), "image/png");
    assert_eq!(
        header(&found, "cache-control"),
        "public, max-age=31536000, immutable"
    );
    assert_eq!(
        found.bytes().await.expect("bytes").as_ref(),
        b"\x89PNG fake"
    );
    assert_eq!(missing.status(), 404);
    assert!(!header(&missing, "cache-control").contains("immutable"));
    let body: serde_json::Value = missing.json().await.expect("JSON body");
    assert!(body["error"]
        .as_str()
        .is_some_and(|e| e.contains("img_missing")));
}
