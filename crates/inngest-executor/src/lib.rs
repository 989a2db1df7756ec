//! # inngest-executor — the server side of the Inngest protocol, embedded
//!
//! Runs the functions of an [`inngest`] SDK app durably, on one machine, with no Inngest
//! server: events start runs, each run is driven by signed HTTP calls to the app's serve
//! endpoint exactly as the real server makes them, and every step result, timer, wait and
//! retry lives in the database (SQLite by default, Postgres when the URL says so).
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use inngest_executor::{connect_and_migrate, Executor};
//! let db = connect_and_migrate("sqlite://inngest.db?mode=rwc").await?;
//! let executor = Executor::builder()
//!     .database(db)
//!     .signing_key(std::env::var("INNGEST_SIGNING_KEY")?)
//!     .build()
//!     .await?;
//! // Point the SDK's INNGEST_BASE_URL at the app itself and mount:
//! let app: axum::Router = axum::Router::new()
//!     .nest("/_inngest", executor.dashboard())
//!     .merge(executor.router());
//! executor.sync_app("http://127.0.0.1:3000/api/inngest").await?;
//! executor.send(serde_json::json!({"name": "shop/order.placed", "data": {"id": "o1"}})).await?;
//! # drop(app); Ok(()) }
//! ```
//!
//! ## Delivery guarantees
//! A step's result and the next call are committed in one transaction, so a step whose result
//! was recorded never runs again, and a crash at any moment loses at most the call in flight:
//! its lease expires and the call is made again. A step that ran but whose result was not yet
//! recorded when the process died **runs again** — that is the at-least-once window, as with
//! the Inngest server; make step side effects idempotent. Timers, waits and queued runs are
//! rows, so they survive restarts.
//!
//! ## Flow control
//! Concurrency limits hold for the whole run (stricter than Inngest Cloud, which counts
//! steps): with a limit of 1, runs execute strictly one after another.

#![warn(missing_docs)]

mod call;
pub mod clock;
mod core;
mod cron;
mod dashboard;
mod db;
mod driver;
pub mod entity;
mod error;
mod executor;
mod expr;
mod feed;
mod function_def;
mod http;
mod ingest;
mod lifecycle;
pub mod migrations;
mod registry;
mod store;
mod sync;
pub mod testing;
mod timestr;
mod view;
mod worker;

pub use clock::{Clock, ManualClock, SystemClock};
pub use db::{connect, connect_and_migrate, connect_with_schema};
pub use error::{ExecutorError, Result};
pub use executor::{Executor, ExecutorBuilder, SyncedApp};
pub use feed::RunUpdate;
pub use view::{RunSummary, RunView, StepView};
