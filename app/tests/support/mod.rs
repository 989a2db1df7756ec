//! Spawns the store on port 0 with a fresh database (a temporary SQLite file, or a new schema in
//! the PostgreSQL database named by `TEST_DATABASE_URL`) and a stand-in client bundle.
#![allow(dead_code)]

pub mod imports;

pub mod stripe;

pub mod receivers;

use std::future::Future;
use std::path::Path;
use std::time::{Duration, Instant};

use inngest_executor::ManualClock;
use sea_orm::{
    ColumnTrait, ConnectionTrait, Database, DatabaseConnection, EntityTrait, QueryFilter,
};
use swag_domain::entity::product_variant;
use swag_store::config::{ExecutorMode, Settings};
use swag_store::startup::Application;
use swag_store::state::AppState;
use tempfile::TempDir;

/// A stand-in bundle: these tests check the server, not the wasm build.
pub const BUNDLE: &str = "swag-store-0123456789abcdef";

pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    pub state: AppState,
    /// The database this instance uses (another instance may be started on it).
    pub database_url: String,
    _dir: TempDir,
}

impl TestApp {
    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(format!("{}{path}", self.address))
            .send()
            .await
            .expect("request reaches the app")
    }

    /// Whether the embedded executor has synced this app.
    pub async fn synced(&self) -> bool {
        let apps = inngest_executor::entity::app::Entity::find()
            .all(&self.state.db)
            .await
            .unwrap_or_default();
        apps.iter().any(|app| app.url.ends_with("/api/inngest"))
    }

    /// Waits until the embedded executor has synced this app, so events sent next start runs.
    pub async fn wait_until_synced(&self) {
        wait_for("the functions to sync", Duration::from_secs(20), || {
            self.synced()
        })
        .await;
    }
}

/// Polls `condition` every 20 ms until it holds; panics naming `what` at the deadline.
pub async fn wait_for<F, Fut>(what: &str, timeout: Duration, condition: F)
where
    F: Fn() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = Instant::now() + timeout;
    while !condition().await {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A variant's stock.
pub async fn stock(db: &DatabaseConnection, variant_id: &str) -> i32 {
    product_variant::Entity::find_by_id(variant_id)
        .one(db)
        .await
        .expect("read stock")
        .expect("variant")
        .stock
}

/// The payloads of the events named `name` the embedded executor received.
pub async fn events_named(db: &DatabaseConnection, name: &str) -> Vec<serde_json::Value> {
    inngest_executor::entity::event::Entity::find()
        .filter(inngest_executor::entity::event::Column::Name.eq(name))
        .all(db)
        .await
        .expect("read events")
        .into_iter()
        .map(|e| serde_json::from_str(&e.payload).expect("event JSON"))
        .collect()
}

/// Starts the store with `adjust` applied to the test settings and waits until its functions
/// are synced.
pub async fn spawn_synced(adjust: impl FnOnce(&mut Settings)) -> TestApp {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut settings = test_settings(&dir).await;
    adjust(&mut settings);
    let app = spawn_with(settings, dir).await;
    app.wait_until_synced().await;
    app
}

/// Settings for a test: port 0, a stand-in site, a fresh database.
pub async fn test_settings(dir: &TempDir) -> Settings {
    write_site(dir.path());
    Settings {
        bind_address: "127.0.0.1:0".parse().expect("socket address"),
        app_url: None,
        site_root: dir.path().to_owned(),
        database_url: fresh_database(dir).await,
        app_id: "inngest-swag-store".to_owned(),
        executor: ExecutorMode::Embedded,
        signing_key: None,
        encryption_key: None,
        email: Default::default(),
        sheets: Default::default(),
        order_ops_slack_webhook: None,
        stripe: Default::default(),
        low_stock: Default::default(),
        reset_secret: None,
        page_cache: None,
        openai: Default::default(),
        api_token: Default::default(),
    }
}

pub async fn spawn_app() -> TestApp {
    let dir = tempfile::tempdir().expect("temp dir");
    let settings = test_settings(&dir).await;
    spawn_with(settings, dir).await
}

pub async fn spawn_with(settings: Settings, dir: TempDir) -> TestApp {
    let database_url = settings.database_url.clone();
    let app = Application::build(settings).await.expect("app starts");
    serve(app, dir, database_url)
}

/// Like [`spawn_with`], with the embedded executor on `clock` (to fire crons on demand).
pub async fn spawn_with_clock(settings: Settings, dir: TempDir, clock: ManualClock) -> TestApp {
    let database_url = settings.database_url.clone();
    let app = Application::build_with_clock(settings, clock)
        .await
        .expect("app starts");
    serve(app, dir, database_url)
}

fn serve(app: Application, dir: TempDir, database_url: String) -> TestApp {
    let address = format!("http://127.0.0.1:{}", app.port());
    let state = app.state().clone();
    tokio::spawn(app.run_until_stopped());
    TestApp {
        address,
        client: reqwest::Client::new(),
        state,
        database_url,
        _dir: dir,
    }
}

async fn fresh_database(dir: &TempDir) -> String {
    match std::env::var("TEST_DATABASE_URL") {
        Ok(url) if url.starts_with("postgres") => {
            let schema = format!("app_{}", hex_suffix());
            let admin = Database::connect(&url)
                .await
                .expect("connect to TEST_DATABASE_URL");
            admin
                .execute_unprepared(&format!("CREATE SCHEMA {schema}"))
                .await
                .expect("create schema");
            let separator = if url.contains('?') { '&' } else { '?' };
            format!("{url}{separator}options=-c%20search_path%3D{schema}")
        }
        _ => format!(
            "sqlite://{}?mode=rwc",
            dir.path().join("store.db").display()
        ),
    }
}

fn hex_suffix() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    format!("{:x}{:04x}", nanos, std::process::id() & 0xffff)
}

pub fn write_site(root: &Path) {
    let pkg = root.join("pkg");
    std::fs::create_dir_all(&pkg).expect("pkg dir");
    std::fs::write(pkg.join(format!("{BUNDLE}.js")), "export default 1;\n").expect("js");
    std::fs::write(pkg.join(format!("{BUNDLE}_bg.wasm")), b"\0asm\x01\0\0\0").expect("wasm");
    std::fs::write(root.join("client-bundle.txt"), format!("{BUNDLE}\n")).expect("manifest");
}
