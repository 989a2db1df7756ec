//! A test engine, like `@inngest/test`: runs one function of an SDK app through a private
//! executor (its own SQLite file and a manual clock), over real signed HTTP, with step results
//! mocked by id, sleeps skipped, and events or signals fed to waits; returns every step's
//! output and the final result.
//!
//! ```no_run
//! # async fn demo(handler: inngest::ServeHandler) -> Result<(), inngest_executor::ExecutorError> {
//! use inngest_executor::testing::TestEngine;
//! let engine = TestEngine::serve(handler).await?;
//! let run = engine
//!     .function("fulfill-order")
//!     .event(serde_json::json!({"name": "shop/order.placed", "data": {"id": "o1"}}))
//!     .mock_step("charge", serde_json::json!({"status": "mocked"}))
//!     .run()
//!     .await?;
//! assert_eq!(run.status, "completed");
//! # Ok(()) }
//! ```

use std::path::PathBuf;
use std::time::Duration;

use inngest::signing::SigningKey;
use sea_orm::{EntityTrait, TransactionTrait};
use serde_json::{json, Value};

use crate::clock::{Clock, ManualClock};
use crate::entity::queue_item;
use crate::error::{ExecutorError, Result};
use crate::executor::{Executor, SyncedApp};
use crate::feed::Effects;
use crate::store::queue::Kind;
use crate::store::runs::{self, StepSeen};
use crate::view::RunView;

/// The signing key used when the served app has none (dev mode).
const DEV_KEY: &str = "signkey-test-00000000000000000000000000000000";
/// How long a run may take to settle before the engine gives up.
const SETTLE_LIMIT: Duration = Duration::from_secs(60);

/// A private executor bound to one app.
pub struct TestEngine {
    executor: Executor,
    clock: ManualClock,
    app: SyncedApp,
    db_path: PathBuf,
    server: Option<tokio::task::JoinHandle<()>>,
}

impl std::fmt::Debug for TestEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestEngine")
            .field("app", &self.app)
            .finish()
    }
}

impl Drop for TestEngine {
    fn drop(&mut self) {
        self.executor.shutdown();
        if let Some(server) = self.server.take() {
            server.abort();
        }
        for suffix in ["", "-wal", "-shm"] {
            let mut path = self.db_path.clone().into_os_string();
            path.push(suffix);
            // Best effort: a leftover temp file is harmless.
            let _ = std::fs::remove_file(path);
        }
    }
}

impl TestEngine {
    /// Serves `handler` on `127.0.0.1:0` and syncs it.
    pub async fn serve(handler: inngest::ServeHandler) -> Result<Self> {
        let key = handler
            .client()
            .config()
            .signing_key()
            .cloned()
            .unwrap_or_else(|| SigningKey::new(DEV_KEY));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(|e| ExecutorError::Sync {
                url: "127.0.0.1:0".into(),
                message: e.to_string(),
            })?;
        let addr = listener.local_addr().map_err(|e| ExecutorError::Sync {
            url: "127.0.0.1:0".into(),
            message: e.to_string(),
        })?;
        let router: axum::Router = handler.into_router_at("/api/inngest");
        let server = tokio::spawn(async move {
            if let Err(error) = axum::serve(listener, router).await {
                tracing::warn!(%error, "test engine's app server stopped");
            }
        });
        let url = format!("http://{addr}/api/inngest");
        let mut engine = Self::start(&url, key).await?;
        engine.server = Some(server);
        Ok(engine)
    }

    /// Uses an app already served at `url`, signing with `signing_key`.
    pub async fn connect(url: &str, signing_key: &str) -> Result<Self> {
        Self::start(url, SigningKey::new(signing_key)).await
    }

    async fn start(url: &str, key: SigningKey) -> Result<Self> {
        let db_path =
            std::env::temp_dir().join(format!("inngest-test-engine-{}.db", ulid::Ulid::new()));
        let db = crate::connect(&format!("sqlite://{}?mode=rwc", db_path.display())).await?;
        let clock = ManualClock::starting_now();
        let mut builder = Executor::builder()
            .database(db)
            .clock(clock.clone())
            .migrate(true)
            .poll_interval(Duration::from_millis(5))
            .backoff(Duration::from_secs(1), Duration::from_secs(3600));
        builder.signing_key = Some(key);
        let executor = builder.build().await?;
        let app = executor.sync_app(url).await?;
        Ok(Self {
            executor,
            clock,
            app,
            db_path,
            server: None,
        })
    }

    /// The executor (for its feed, dashboard, or anything else).
    pub fn executor(&self) -> &Executor {
        &self.executor
    }

    /// The manual clock the engine schedules with.
    pub fn clock(&self) -> &ManualClock {
        &self.clock
    }

    /// The synced app.
    pub fn app(&self) -> &SyncedApp {
        &self.app
    }

    /// Prepares a run of a function, by full id or by the id without the app prefix.
    pub fn function(&self, id: &str) -> TestRun<'_> {
        let full = if self.app.functions.iter().any(|f| f == id) {
            id.to_owned()
        } else {
            format!("{}-{id}", self.app.app_id)
        };
        TestRun {
            engine: self,
            function_id: full,
            event: json!({ "name": "test/event", "data": {} }),
            mocks: Vec::new(),
            skip_sleeps: true,
        }
    }

    /// Sends an event (to waits, cancellations and triggers).
    pub async fn send(&self, event: Value) -> Result<String> {
        self.executor.send(event).await
    }

    /// Sends a signal.
    pub async fn signal(&self, name: &str, data: Value) -> Result<Option<String>> {
        self.executor.signal(name, data).await
    }

    /// Moves the clock (wait and invoke timeouts fire once it passes them).
    pub fn advance(&self, by: Duration) {
        self.clock.advance(by);
        self.executor.wake();
    }

    /// Lets a run go on until it finishes or pauses on something only the test can provide (an
    /// event, a signal, a timeout); retries and (with `skip_sleeps`) sleeps are fast-forwarded.
    pub async fn settle(&self, run_id: &str, skip_sleeps: bool) -> Result<RunView> {
        let deadline = tokio::time::Instant::now() + SETTLE_LIMIT;
        loop {
            // Queue first, then the run: when nothing was due at the first read, the run read
            // after it is the state the run rests in.
            let items = queue_item::Entity::find()
                .all(self.executor.database())
                .await?;
            let run = self
                .executor
                .run(run_id)
                .await?
                .ok_or_else(|| ExecutorError::UnknownRun(run_id.to_owned()))?;
            if run.is_finished() || tokio::time::Instant::now() >= deadline {
                return Ok(run);
            }
            let now = self.clock.now_ms();
            let busy = items
                .iter()
                .any(|i| i.lease_token.is_some() || i.run_at <= now);
            if busy {
                self.executor.wake();
                tokio::time::sleep(Duration::from_millis(2)).await;
                continue;
            }
            let skippable = |kind: Option<Kind>| match kind {
                Some(Kind::Start | Kind::Call | Kind::Gateway | Kind::Debounce | Kind::Batch) => {
                    true
                }
                Some(Kind::Wake) => skip_sleeps,
                Some(Kind::Timeout | Kind::Cron | Kind::RunTimeout) | None => false,
            };
            let next = items
                .iter()
                .filter(|i| skippable(Kind::parse(&i.kind)))
                .map(|i| i.run_at)
                .min();
            match next {
                Some(at) => {
                    self.clock.set(
                        chrono::DateTime::from_timestamp_millis(at)
                            .unwrap_or_else(|| self.clock.now()),
                    );
                    self.executor.wake();
                }
                None => return Ok(run),
            }
        }
    }
}

/// A run being prepared.
pub struct TestRun<'a> {
    engine: &'a TestEngine,
    function_id: String,
    event: Value,
    mocks: Vec<(String, Value)>,
    skip_sleeps: bool,
}

impl TestRun<'_> {
    /// The triggering event (`{name, data}`; id and ts are filled in).
    pub fn event(mut self, event: Value) -> Self {
        self.event = event;
        self
    }

    /// Makes step `id` return `output` without running it.
    pub fn mock_step(mut self, id: &str, output: Value) -> Self {
        self.mocks.push((id.to_owned(), json!({ "data": output })));
        self
    }

    /// Makes step `id` fail for good with this error.
    pub fn mock_step_error(mut self, id: &str, name: &str, message: &str) -> Self {
        self.mocks.push((
            id.to_owned(),
            json!({ "error": { "name": name, "message": message } }),
        ));
        self
    }

    /// Whether sleeps end at once (default true).
    pub fn skip_sleeps(mut self, skip: bool) -> Self {
        self.skip_sleeps = skip;
        self
    }

    /// Starts the run and lets it settle (see [`TestEngine::settle`]).
    pub async fn run(self) -> Result<RunView> {
        let core = &self.engine.executor.core;
        let def = core
            .function(&self.function_id)
            .ok_or_else(|| ExecutorError::UnknownFunction(self.function_id.clone()))?;
        let now = core.now();
        let event = crate::ingest::normalize(self.event, None, 0, now)?;
        let run_id = ulid::Ulid::new().to_string();
        let txn = core.db.begin().await?;
        let mut fx = Effects::default();
        core.store_event(&txn, &event, now).await?;
        core.create_run(
            &txn,
            &def,
            run_id.clone(),
            event.clone(),
            vec![event],
            None,
            &mut fx,
        )
        .await?;
        for (id, memo) in &self.mocks {
            let step = StepSeen {
                hash: inngest::step::hash_step_id(id),
                name: id.clone(),
                op: "Mocked".into(),
                opts: None,
            };
            runs::insert_mock(&txn, &run_id, step, memo, now).await?;
        }
        txn.commit().await?;
        core.publish(fx);
        self.engine.settle(&run_id, self.skip_sleeps).await
    }
}
