//! `PAGE_CACHE_MS`: the catalog pages' first paint is kept in memory until a realtime message
//! (which is when stock moves) drops it; a request with a query, like every other page, is
//! always rendered.

mod support;

use std::time::{Duration, Instant};

use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::json;
use support::TestApp;
use swag_domain::entity::product_variant;

async fn html(app: &TestApp, path: &str) -> String {
    let response = app.get(path).await;
    assert_eq!(response.status(), 200, "GET {path}");
    response.text().await.expect("HTML body")
}

#[tokio::test]
async fn a_cached_catalog_page_is_kept_until_a_realtime_message_drops_it() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut settings = support::test_settings(&dir).await;
    // Long enough that only an invalidation can drop the page during the test.
    settings.page_cache = Some(Duration::from_secs(3600));
    let app = support::spawn_with(settings, dir).await;

    let first = html(&app, "/").await;
    assert!(first.contains("120 IN STOCK"), "{first}");

    // A change that publishes nothing: the kept page still says 120.
    product_variant::Entity::update_many()
        .col_expr(product_variant::Column::Stock, 0.into())
        .filter(product_variant::Column::ProductId.eq("durable-tee"))
        .exec(&app.state.db)
        .await
        .expect("sell out the tees");
    assert_eq!(html(&app, "/").await, first, "served from the cache");
    let rendered = html(&app, "/?fresh=1").await;
    assert!(
        !rendered.contains("120 IN STOCK"),
        "a query is rendered: {rendered}"
    );

    // Any realtime message drops it (on every instance, through the hub).
    app.state
        .realtime
        .publish(
            "admin",
            "order",
            json!({"orderId": "ord_cache001", "step": "reserve-inventory", "status": "complete"}),
        )
        .await
        .expect("publish");
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let page = html(&app, "/").await;
        if !page.contains("120 IN STOCK") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the cached page was never dropped"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
