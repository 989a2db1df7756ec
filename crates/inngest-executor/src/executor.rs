//! The public [`Executor`]: build it on a database with the signing key, mount its routers,
//! sync apps, send events and signals, and watch runs.

use std::sync::{Arc, RwLock};
use std::time::Duration;

use inngest::signing::SigningKey;
use sea_orm::DatabaseConnection;
use sea_orm_migration::MigratorTrait;
use serde::Serialize;
use serde_json::Value;
use tokio::sync::{broadcast, watch, Notify};

use crate::clock::{Clock, SystemClock};
use crate::core::{Core, Settings};
use crate::error::{ExecutorError, Result};
use crate::expr::Expressions;
use crate::feed::RunUpdate;
use crate::migrations::Migrator;
use crate::registry::Registry;
use crate::sync::AppSync;
use crate::view::{self, RunSummary, RunView};

/// Updates the live feed buffers per subscriber; a subscriber further behind skips ahead.
const FEED_CAPACITY: usize = 16_384;

/// An embedded Inngest executor. Cheap to clone; clones share everything.
#[derive(Clone)]
pub struct Executor {
    pub(crate) core: Arc<Core>,
    stop: Arc<watch::Sender<bool>>,
}

impl std::fmt::Debug for Executor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Executor")
            .field("settings", &self.core.settings)
            .finish()
    }
}

/// Builds an [`Executor`].
pub struct ExecutorBuilder {
    db: Option<DatabaseConnection>,
    pub(crate) signing_key: Option<SigningKey>,
    signing_key_fallback: Option<SigningKey>,
    event_key: Option<String>,
    clock: Arc<dyn Clock>,
    settings: Settings,
    migrate: bool,
    http: Option<reqwest::Client>,
}

impl ExecutorBuilder {
    /// The database (see [`crate::connect`]).
    pub fn database(mut self, db: DatabaseConnection) -> Self {
        self.db = Some(db);
        self
    }

    /// The signing key shared with the SDK (required).
    pub fn signing_key(mut self, key: impl Into<String>) -> Self {
        self.signing_key = Some(SigningKey::new(key));
        self
    }

    /// A fallback signing key accepted during rotation.
    pub fn signing_key_fallback(mut self, key: impl Into<String>) -> Self {
        self.signing_key_fallback = Some(SigningKey::new(key));
        self
    }

    /// The event key `POST /e/{key}` requires (any key is accepted when unset).
    pub fn event_key(mut self, key: impl Into<String>) -> Self {
        self.event_key = Some(key.into());
        self
    }

    /// The clock for scheduling (sleeps, retries, timeouts, crons).
    pub fn clock(mut self, clock: impl Clock) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// How long a worker owns a call before another may retry it (default 2 min). Calls time
    /// out at 80 % of it.
    pub fn lease(mut self, lease: Duration) -> Self {
        self.settings.lease = lease;
        self
    }

    /// Longest idle wait between queue polls (default 250 ms).
    pub fn poll_interval(mut self, interval: Duration) -> Self {
        self.settings.poll_interval = interval;
        self
    }

    /// Retry delays: `base` doubled per attempt, at most `max` (default 5 s, 1 h).
    pub fn backoff(mut self, base: Duration, max: Duration) -> Self {
        self.settings.backoff_base = base;
        self.settings.backoff_max = max;
        self
    }

    /// Items processed at once (default 32).
    pub fn workers(mut self, workers: usize) -> Self {
        self.settings.workers = workers;
        self
    }

    /// The environment name sent as `ctx.env`.
    pub fn env(mut self, env: impl Into<String>) -> Self {
        self.settings.env = env.into();
        self
    }

    /// Runs the executor's migrations at build (off by default: add
    /// [`crate::migrations::migrations`] to the app's migrator instead).
    pub fn migrate(mut self, migrate: bool) -> Self {
        self.migrate = migrate;
        self
    }

    /// Uses this HTTP client for calls to the SDK and AI endpoints.
    pub fn http_client(mut self, http: reqwest::Client) -> Self {
        self.http = Some(http);
        self
    }

    /// Builds the executor and starts its worker.
    pub async fn build(self) -> Result<Executor> {
        let db = self
            .db
            .ok_or(ExecutorError::Builder("a database is required"))?;
        let signing_key = self
            .signing_key
            .ok_or(ExecutorError::Builder("a signing key is required"))?;
        if self.migrate {
            Migrator::up(&db, None).await?;
        }
        let registry = Registry::load(&db).await?;
        let http = match self.http {
            Some(http) => http,
            None => reqwest::Client::builder()
                .pool_max_idle_per_host(64)
                .build()
                .map_err(|_| ExecutorError::Builder("the HTTP client could not be built"))?,
        };
        let (feed, _) = broadcast::channel(FEED_CAPACITY);
        let core = Arc::new(Core {
            db,
            clock: self.clock,
            exprs: Expressions::default(),
            registry: RwLock::new(registry),
            feed,
            settings: self.settings,
            http,
            signing_key,
            signing_key_fallback: self.signing_key_fallback,
            event_key: self.event_key,
            wake: Notify::new(),
        });
        let (stop, stopped) = watch::channel(false);
        tokio::spawn(crate::worker::run(core.clone(), stopped));
        Ok(Executor {
            core,
            stop: Arc::new(stop),
        })
    }
}

/// An app synced into the executor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncedApp {
    /// App id.
    pub app_id: String,
    /// Serve URL.
    pub url: String,
    /// Full ids of its functions.
    pub functions: Vec<String>,
}

impl From<AppSync> for SyncedApp {
    fn from(sync: AppSync) -> Self {
        Self {
            app_id: sync.app_id,
            url: sync.url,
            functions: sync
                .functions
                .iter()
                .filter_map(|f| f["id"].as_str().map(str::to_owned))
                .collect(),
        }
    }
}

impl Executor {
    /// Starts a builder.
    pub fn builder() -> ExecutorBuilder {
        ExecutorBuilder {
            db: None,
            signing_key: None,
            signing_key_fallback: None,
            event_key: None,
            clock: Arc::new(SystemClock),
            settings: Settings::default(),
            migrate: false,
            http: None,
        }
    }

    /// Syncs the app served at `url` in band (signed PUT; the signed answer is verified).
    pub async fn sync_app(&self, url: &str) -> Result<SyncedApp> {
        self.core.sync_in_band(url).await.map(SyncedApp::from)
    }

    /// Sends one event in-process (an [`inngest::Event`] or JSON `{name, data, id?, ts?}`);
    /// returns its id.
    pub async fn send(&self, event: impl Serialize) -> Result<String> {
        let ids = self
            .core
            .ingest(vec![serde_json::to_value(event)?], None)
            .await?;
        Ok(ids.into_iter().next().unwrap_or_default())
    }

    /// Sends events in-process, in one transaction; returns their ids.
    pub async fn send_many<E: Serialize>(&self, events: &[E]) -> Result<Vec<String>> {
        let events = events
            .iter()
            .map(serde_json::to_value)
            .collect::<Result<Vec<_>, _>>()?;
        self.core.ingest(events, None).await
    }

    /// Resumes the step waiting for signal `name` with `data`; returns its run, if one waited.
    pub async fn signal(&self, name: &str, data: Value) -> Result<Option<String>> {
        self.core.signal(name, data).await
    }

    /// A run with its steps.
    pub async fn run(&self, id: &str) -> Result<Option<RunView>> {
        view::load(&self.core.db, id).await
    }

    /// Recent runs, newest first.
    pub async fn runs(&self, limit: u64) -> Result<Vec<RunSummary>> {
        view::recent(&self.core.db, limit).await
    }

    /// Waits (polling) until the run finishes, or `timeout` passes.
    pub async fn wait_for_run(&self, id: &str, timeout: Duration) -> Result<RunView> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let run = self
                .run(id)
                .await?
                .ok_or_else(|| ExecutorError::UnknownRun(id.to_owned()))?;
            if run.is_finished() || tokio::time::Instant::now() >= deadline {
                return Ok(run);
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// The live feed of run and step changes.
    pub fn subscribe(&self) -> broadcast::Receiver<RunUpdate> {
        self.core.feed.subscribe()
    }

    /// Makes the worker look for due work now (after moving a manual clock, say).
    pub fn wake(&self) {
        self.core.wake.notify_one();
    }

    /// Stops the worker after the items in hand (state stays in the database).
    pub fn shutdown(&self) {
        // Ignored when the worker is already gone.
        let _ = self.stop.send(true);
    }

    /// The database connection.
    pub fn database(&self) -> &DatabaseConnection {
        &self.core.db
    }
}
