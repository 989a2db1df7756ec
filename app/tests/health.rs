//! The server starts on a free port, answers its health check, and serves pages that load the
//! client bundle, and the bundle itself with the right headers.

mod support;

use support::{spawn_app, BUNDLE};
use swag_store::startup::Application;

fn header<'r>(response: &'r reqwest::Response, name: &str) -> &'r str {
    response
        .headers()
        .get(name)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
}

#[tokio::test]
async fn health_says_ok_with_the_service_name_and_an_rfc3339_time() {
    let app = spawn_app().await;

    let response = app.get("/api/health").await;

    assert_eq!(response.status(), 200);
    assert_eq!(header(&response, "content-type"), "application/json");
    let body: serde_json::Value = response.json().await.expect("JSON body");
    assert_eq!(body["ok"], true);
    assert_eq!(body["service"], "swag-store");
    assert_eq!(body["database"]["ok"], true);
    assert_eq!(
        body["executor"],
        serde_json::json!({"ok": true, "detail": "embedded"})
    );
    let checked_at = body["checkedAt"].as_str().expect("checkedAt is a string");
    chrono::DateTime::parse_from_rfc3339(checked_at).expect("checkedAt is RFC 3339");
}

#[tokio::test]
async fn home_page_is_server_rendered_and_loads_the_client_bundle() {
    let app = spawn_app().await;

    let response = app.get("/").await;

    assert_eq!(response.status(), 200);
    assert!(header(&response, "content-type").starts_with("text/html"));
    assert_eq!(header(&response, "cache-control"), "no-cache");
    let html = response.text().await.expect("HTML body");
    assert!(html.contains("Swag that ships through durable functions."));
    assert!(html.contains("<title>Home · Inngest Swag Store</title>"));
    assert!(html.contains(&format!("/pkg/{BUNDLE}.js")), "{html}");
    assert!(html.contains(&format!("/pkg/{BUNDLE}_bg.wasm")), "{html}");
    assert!(
        html.contains(r#"data-testid="stock-durable-tee""#),
        "{html}"
    );
}

#[tokio::test]
async fn bundle_files_are_immutable_with_their_content_types() {
    let app = spawn_app().await;

    let js = app.get(&format!("/pkg/{BUNDLE}.js")).await;
    let wasm = app.get(&format!("/pkg/{BUNDLE}_bg.wasm")).await;
    let missing = app.get("/pkg/swag-store-gone.js").await;

    assert_eq!(js.status(), 200);
    assert_eq!(header(&js, "content-type"), "text/javascript");
    assert_eq!(
        header(&js, "cache-control"),
        "public, max-age=31536000, immutable"
    );
    assert_eq!(wasm.status(), 200);
    assert_eq!(header(&wasm, "content-type"), "application/wasm");
    assert!(header(&wasm, "cache-control").contains("immutable"));
    assert_eq!(missing.status(), 404);
    assert!(!header(&missing, "cache-control").contains("immutable"));
}

#[tokio::test]
async fn unknown_paths_get_the_not_found_page() {
    let app = spawn_app().await;

    let response = app.get("/no-such-page").await;

    assert_eq!(response.status(), 404);
    let html = response.text().await.expect("HTML body");
    assert!(html.contains("Page not found"), "{html}");
}

#[tokio::test]
async fn refuses_to_start_without_a_built_bundle() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut settings = support::test_settings(&dir).await;
    let empty_site = tempfile::tempdir().expect("temp dir");
    settings.site_root = empty_site.path().to_owned();

    let error = Application::build(settings)
        .await
        .err()
        .expect("no bundle, no app");

    assert!(error.to_string().contains("cargo run -p xtask -- build"));
}

#[tokio::test]
async fn the_embedded_executor_syncs_the_app_and_shows_its_runs() {
    let app = spawn_app().await;
    let runs = app.get("/_inngest/runs?limit=5").await;
    assert_eq!(runs.status(), 200, "the run API is mounted");
    let mut synced = false;
    for _ in 0..200 {
        if app.synced().await {
            synced = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    assert!(
        synced,
        "the app synced with the embedded executor over HTTP"
    );
}
