//! How the store's durable functions run: the Inngest client, the serve handler at
//! `/api/inngest`, and — unless a dev server or Inngest Cloud is configured — the embedded
//! executor, which the SDK reaches over HTTP at `/_inngest` exactly as it would reach Inngest.

use axum::Router;
use inngest::{Config, EncryptionMiddleware, Inngest, ServeHandler};
use inngest_executor::{Clock, Executor};
use sea_orm::DatabaseConnection;

use crate::config::{ExecutorMode, Settings};
use crate::functions::{self, FunctionDeps};

/// Where the embedded executor's endpoints (event API, sync, run data, run dashboard) live.
pub const EXECUTOR_PREFIX: &str = "/_inngest";
/// The event key the SDK uses against the embedded executor.
const EMBEDDED_EVENT_KEY: &str = "local";

/// Why the durable-function machinery could not start.
#[derive(Debug, thiserror::Error)]
pub enum DurableError {
    #[error("INNGEST_ENCRYPTION_KEY is not usable: {0}")]
    Encryption(#[from] inngest::middleware::encryption::EncryptionError),
    #[error("the functions could not be served: {0}")]
    Serve(#[from] inngest::serve::ServeError),
    #[error("the embedded executor could not start: {0}")]
    Executor(#[from] inngest_executor::ExecutorError),
}

/// The client, the served functions and the embedded executor (when used).
#[derive(Clone)]
pub struct Durable {
    client: Inngest,
    handler: ServeHandler,
    executor: Option<Executor>,
    serve_url: String,
}

impl Durable {
    /// Builds everything for a server reachable at `local_url`; the embedded executor schedules
    /// on `clock`.
    pub async fn start(
        settings: &Settings,
        db: &DatabaseConnection,
        local_url: &str,
        deps: FunctionDeps,
        clock: impl Clock,
    ) -> Result<Self, DurableError> {
        let embedded_key = settings
            .signing_key
            .clone()
            .unwrap_or_else(random_signing_key);
        let config = match settings.executor {
            ExecutorMode::External => Config::from_env(&settings.app_id),
            ExecutorMode::Embedded => Config::new(&settings.app_id)
                .with_cloud()
                .with_signing_key(&embedded_key)
                .with_event_key(EMBEDDED_EVENT_KEY)
                .with_base_url(format!("{local_url}{EXECUTOR_PREFIX}")),
        };
        let mut builder = Inngest::builder(config);
        if let Some(key) = &settings.encryption_key {
            builder = builder.middleware(EncryptionMiddleware::new(key, &[])?);
        }
        let client = builder.build();
        let handler = ServeHandler::new(client.clone(), functions::all(client.clone(), deps))?;
        let executor = match settings.executor {
            ExecutorMode::External => None,
            ExecutorMode::Embedded => Some(
                Executor::builder()
                    .database(db.clone())
                    .signing_key(embedded_key)
                    .event_key(EMBEDDED_EVENT_KEY)
                    .clock(clock)
                    .build()
                    .await?,
            ),
        };
        Ok(Self {
            client,
            handler,
            executor,
            serve_url: format!("{local_url}/api/inngest"),
        })
    }

    /// The client, for sending events.
    pub fn client(&self) -> &Inngest {
        &self.client
    }

    /// The embedded executor, when this process runs the functions itself.
    pub fn executor(&self) -> Option<&Executor> {
        self.executor.as_ref()
    }

    /// `/api/inngest`, plus the executor's endpoints under [`EXECUTOR_PREFIX`] when embedded.
    pub fn router<S: Clone + Send + Sync + 'static>(&self) -> Router<S> {
        let served = self.handler.clone().into_router_at("/api/inngest");
        match &self.executor {
            Some(executor) => {
                let executor_routes: Router<S> = executor.router().merge(executor.dashboard());
                served.nest(EXECUTOR_PREFIX, executor_routes)
            }
            None => served,
        }
    }

    /// Syncs the app with the embedded executor (in band, signed, over HTTP). A no-op when an
    /// external server syncs the app itself.
    pub async fn sync(&self) -> Result<(), DurableError> {
        if let Some(executor) = &self.executor {
            let synced = executor.sync_app(&self.serve_url).await?;
            tracing::info!(
                functions = synced.functions.len(),
                "functions synced with the embedded executor"
            );
        }
        Ok(())
    }
}

/// A per-process key for the embedded executor and the SDK to sign each other's requests.
fn random_signing_key() -> String {
    format!("signkey-local-{}", hex::encode(rand::random::<[u8; 32]>()))
}
