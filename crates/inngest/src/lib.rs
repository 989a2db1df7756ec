//! # inngest — durable functions for Rust, served over the Inngest protocol
//!
//! Define functions with typed events, write steps as ordinary async Rust, and serve them at
//! `/api/inngest` so the Inngest dev server (`npx inngest-cli@latest dev`) or Inngest Cloud can
//! sync and run them.
//!
//! ```no_run
//! use std::time::Duration;
//! use inngest::{Config, Context, Error, Function, FunctionOpts, Inngest, ServeHandler, Trigger};
//!
//! #[derive(serde::Deserialize)]
//! struct Order { id: String }
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let client = Inngest::builder(Config::from_env("my-app")).build();
//! let fulfill = Function::new(
//!     FunctionOpts::new("fulfill-order").trigger(Trigger::event("shop/order.placed")).retries(3),
//!     |ctx: Context<Order>| async move {
//!         let charged: bool = ctx.step.run("charge", || async { Ok::<_, Error>(true) }).await?;
//!         ctx.step.sleep("cool-off", Duration::from_secs(60)).await;
//!         Ok::<_, Error>(serde_json::json!({ "order": ctx.event.data.id, "charged": charged }))
//!     },
//! )?;
//! let app: axum::Router = ServeHandler::new(client, vec![fulfill])?.into_router();
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
//! axum::serve(listener, app).await?;
//! # Ok(()) }
//! ```
//!
//! How a step pauses: a step that is not memoized registers itself and its future stays pending;
//! the serve handler then reports it (206) and drops the run. Your code never sees a panic or an
//! error it could swallow, and `?` works everywhere.

#![warn(missing_docs)]

pub mod client;
pub mod config;
mod duration;
pub mod error;
pub mod event;
mod execution;
pub mod function;
mod hex;
pub mod middleware;
pub mod protocol;
pub mod serve;
pub mod signing;
pub mod step;

pub use client::{Inngest, InngestBuilder, SendError};
pub use config::{Config, Mode};
pub use duration::to_time_string;
pub use error::{Error, ErrorBody, Retry, RetryAt};
pub use event::{Event, FunctionFailed};
pub use function::{
    BatchEvents, Cancel, Concurrency, ConcurrencyScope, ConfigError, Context, Debounce, Function,
    FunctionOpts, RateLimit, Singleton, SingletonMode, Throttle, Timeouts, Trigger,
};
pub use middleware::encryption::EncryptionMiddleware;
pub use middleware::Middleware;
pub use serve::{ServeHandler, ServeRequest, ServeResponse};
pub use step::{
    AiInfer, Fetch, FetchResponse, Invoke, SendEventResult, Step, WaitForEvent, WaitForSignal,
};
