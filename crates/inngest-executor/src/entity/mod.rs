//! sea-orm entities of the executor's tables (all prefixed `inngest_`).

pub mod app;
pub mod buffer;
pub mod concurrency_lease;
pub mod event;
pub mod function;
pub mod idempotency_key;
pub mod queue_item;
pub mod rate_limit_hit;
pub mod run;
pub mod run_step;
pub mod wait;
