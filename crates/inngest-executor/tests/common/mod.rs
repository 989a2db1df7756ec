//! Shared test harness: a database per test (a SQLite temp file, or a fresh Postgres schema
//! when `TEST_DATABASE_URL` is set) and an app serving SDK functions and the executor's
//! endpoints on one port of 127.0.0.1, in cloud mode with a signing key.

#![allow(dead_code)]

use std::time::Duration;

use inngest::{Config, Function, Inngest, ServeHandler};
use inngest_executor::{Executor, ExecutorBuilder, RunView};
use sea_orm::{ConnectionTrait, DatabaseConnection};
use sea_orm_migration::MigratorTrait;
use serde_json::Value;

pub const SIGNING_KEY: &str =
    "signkey-test-8ee2262a15e8d3c42d6a840db7af3de2aab08ef632b32a37a687f24b34dba3ff";
pub const EVENT_KEY: &str = "test-event-key";
pub const APP: &str = "test-app";

/// A database for one test.
pub struct TestDb {
    pub url: String,
    pub schema: Option<String>,
    owned: bool,
    _dir: Option<tempfile::TempDir>,
}

impl TestDb {
    pub async fn new() -> TestDb {
        match std::env::var("TEST_DATABASE_URL")
            .ok()
            .filter(|u| !u.is_empty())
        {
            Some(url) => {
                let schema = format!("t_{}", ulid::Ulid::new().to_string().to_lowercase());
                let admin = inngest_executor::connect(&url)
                    .await
                    .expect("connect to TEST_DATABASE_URL");
                admin
                    .execute_unprepared(&format!("CREATE SCHEMA {schema}"))
                    .await
                    .expect("create schema");
                TestDb {
                    url,
                    schema: Some(schema),
                    owned: true,
                    _dir: None,
                }
            }
            None => {
                let dir = tempfile::tempdir().expect("temp dir");
                let url = format!(
                    "sqlite://{}?mode=rwc",
                    dir.path().join("executor.db").display()
                );
                TestDb {
                    url,
                    schema: None,
                    owned: true,
                    _dir: Some(dir),
                }
            }
        }
    }

    /// A database created by another process (left in place on drop).
    pub fn existing(url: String, schema: Option<String>) -> TestDb {
        TestDb {
            url,
            schema,
            owned: false,
            _dir: None,
        }
    }

    /// A new connection, migrated. On Postgres its sessions carry the schema's name as their
    /// application name, so that the schema can be dropped after terminating them.
    pub async fn connect(&self) -> DatabaseConnection {
        let db = match &self.schema {
            Some(schema) => {
                let mut options = sea_orm::ConnectOptions::new(self.url.clone());
                let name = schema.clone();
                options
                    .sqlx_logging(false)
                    .max_connections(8)
                    .set_schema_search_path(schema.clone())
                    .map_sqlx_postgres_opts(move |o| o.application_name(&name));
                sea_orm::Database::connect(options).await.expect("connect")
            }
            None => inngest_executor::connect(&self.url).await.expect("connect"),
        };
        inngest_executor::migrations::Migrator::up(&db, None)
            .await
            .expect("migrate");
        db
    }

    pub fn is_postgres(&self) -> bool {
        self.schema.is_some()
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if !self.owned {
            return;
        }
        let (Some(schema), url) = (self.schema.take(), self.url.clone()) else {
            return;
        };
        // Drop the schema on a separate runtime: Drop cannot await.
        let _ = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build();
            if let Ok(runtime) = runtime {
                runtime.block_on(async {
                    if let Ok(db) = inngest_executor::connect(&url).await {
                        // The test's runtime is blocked here, so its sessions (maybe inside a
                        // transaction) cannot finish by themselves: end them first.
                        let _ = db
                            .execute_unprepared(&format!(
                                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = '{schema}'"
                            ))
                            .await;
                        let _ = db
                            .execute_unprepared(&format!("SET lock_timeout = '10s'; DROP SCHEMA IF EXISTS {schema} CASCADE"))
                            .await;
                    }
                });
            }
        })
        .join();
    }
}

/// An app with the SDK's serve handler and the executor, on one port.
pub struct Harness {
    pub executor: Executor,
    pub base: String,
    pub serve_url: String,
    pub db: TestDb,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for Harness {
    fn drop(&mut self) {
        self.executor.shutdown();
        self.server.abort();
    }
}

pub fn client(base: &str) -> Inngest {
    let config = Config::new(APP)
        .with_cloud()
        .with_signing_key(SIGNING_KEY)
        .with_event_key(EVENT_KEY)
        .with_base_url(base);
    Inngest::builder(config).build()
}

/// Fast settings for tests: short polls, tiny backoff.
pub fn fast(builder: ExecutorBuilder) -> ExecutorBuilder {
    builder
        .poll_interval(Duration::from_millis(10))
        .backoff(Duration::from_millis(10), Duration::from_millis(100))
}

impl Harness {
    pub async fn start(functions: impl FnOnce(Inngest) -> Vec<Function>) -> Harness {
        Harness::start_with(functions, fast).await
    }

    pub async fn start_with(
        functions: impl FnOnce(Inngest) -> Vec<Function>,
        configure: impl FnOnce(ExecutorBuilder) -> ExecutorBuilder,
    ) -> Harness {
        Harness::start_on(TestDb::new().await, functions, configure).await
    }

    pub async fn start_on(
        db: TestDb,
        functions: impl FnOnce(Inngest) -> Vec<Function>,
        configure: impl FnOnce(ExecutorBuilder) -> ExecutorBuilder,
    ) -> Harness {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        let client = client(&base);
        let handler = ServeHandler::new(client.clone(), functions(client)).expect("serve handler");
        let builder = Executor::builder()
            .database(db.connect().await)
            .signing_key(SIGNING_KEY)
            .event_key(EVENT_KEY);
        let executor = configure(builder).build().await.expect("executor");
        let router: axum::Router = handler
            .into_router()
            .merge(executor.router())
            .nest("/_inngest", executor.dashboard());
        let server = tokio::spawn(async move {
            axum::serve(listener, router).await.expect("serve");
        });
        let serve_url = format!("{base}/api/inngest");
        executor.sync_app(&serve_url).await.expect("in-band sync");
        Harness {
            executor,
            base,
            serve_url,
            db,
            server,
        }
    }

    /// Sends an event through `POST /e/{key}`, as the SDK does.
    pub async fn send(&self, name: &str, data: Value) -> String {
        let response = reqwest::Client::new()
            .post(format!("{}/e/{EVENT_KEY}", self.base))
            .json(&serde_json::json!({ "name": name, "data": data }))
            .send()
            .await
            .expect("send event");
        assert_eq!(response.status(), 200);
        let body: Value = response.json().await.expect("ids");
        body["ids"][0].as_str().expect("an id").to_owned()
    }

    /// The runs started by event `event_id`.
    pub async fn runs_of_event(&self, event_id: &str) -> Vec<RunView> {
        let mut found = Vec::new();
        for summary in self.executor.runs(1000).await.expect("runs") {
            let run = self
                .executor
                .run(&summary.id)
                .await
                .expect("run")
                .expect("exists");
            if run.event["id"] == event_id {
                found.push(run);
            }
        }
        found
    }

    /// Waits for the single run of `function` started by `event_id` and for it to finish.
    pub async fn finished_run(&self, function: &str, event_id: &str) -> RunView {
        let function_id = format!("{APP}-{function}");
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        loop {
            let runs = self.runs_of_event(event_id).await;
            if let Some(run) = runs.into_iter().find(|r| r.function_id == function_id) {
                let run = self
                    .executor
                    .wait_for_run(&run.id, Duration::from_secs(30))
                    .await
                    .expect("run");
                assert!(run.is_finished(), "run did not finish: {run:#?}");
                return run;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "no run of {function_id} for event {event_id}"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Polls `check` until true (or panics after 30 s).
    pub async fn eventually<F, Fut>(&self, what: &str, mut check: F)
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = bool>,
    {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        while !check().await {
            assert!(
                tokio::time::Instant::now() < deadline,
                "timed out waiting for: {what}"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}
