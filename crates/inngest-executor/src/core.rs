//! The shared state behind an [`crate::Executor`]: database, clock, keys, registry, feed, and
//! the settings that tune leases, polling and backoff.

use std::sync::{Arc, RwLock};
use std::time::Duration;

use inngest::signing::SigningKey;
use sea_orm::DatabaseConnection;
use tokio::sync::{broadcast, Notify};

use crate::clock::Clock;
use crate::expr::Expressions;
use crate::feed::{Effects, RunUpdate};
use crate::function_def::FunctionDef;
use crate::registry::Registry;

/// Tunables.
#[derive(Debug, Clone)]
pub struct Settings {
    /// How long a worker owns an item before another may take it over; calls time out before.
    pub lease: Duration,
    /// Longest idle wait between queue polls.
    pub poll_interval: Duration,
    /// First retry delay; doubled per attempt.
    pub backoff_base: Duration,
    /// Longest retry delay.
    pub backoff_max: Duration,
    /// Items processed at once.
    pub workers: usize,
    /// Sent as `ctx.env`.
    pub env: String,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            lease: Duration::from_secs(120),
            poll_interval: Duration::from_millis(250),
            backoff_base: Duration::from_secs(5),
            backoff_max: Duration::from_secs(3600),
            workers: 32,
            env: String::new(),
        }
    }
}

/// Everything the executor's parts share.
pub(crate) struct Core {
    pub db: DatabaseConnection,
    pub clock: Arc<dyn Clock>,
    pub exprs: Expressions,
    pub registry: RwLock<Registry>,
    pub feed: broadcast::Sender<RunUpdate>,
    pub settings: Settings,
    pub http: reqwest::Client,
    pub signing_key: SigningKey,
    pub signing_key_fallback: Option<SigningKey>,
    pub event_key: Option<String>,
    pub wake: Notify,
}

impl Core {
    /// Now on the executor clock, unix ms.
    pub fn now(&self) -> i64 {
        self.clock.now_ms()
    }

    /// A synced function.
    pub fn function(&self, id: &str) -> Option<Arc<FunctionDef>> {
        self.registry
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(id)
    }

    /// Every synced function.
    pub fn functions(&self) -> Vec<Arc<FunctionDef>> {
        self.registry
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .all()
            .cloned()
            .collect()
    }

    /// Publishes what a committed transaction did.
    pub fn publish(&self, effects: Effects) {
        for update in effects.updates {
            // No subscribers is fine.
            let _ = self.feed.send(update);
        }
        if effects.wake {
            self.wake.notify_one();
        }
    }

    /// Retry delay before attempt `attempt + 1`, unix ms from now.
    pub fn backoff_ms(&self, attempt: i32) -> i64 {
        let base = i64::try_from(self.settings.backoff_base.as_millis()).unwrap_or(i64::MAX);
        let max = i64::try_from(self.settings.backoff_max.as_millis()).unwrap_or(i64::MAX);
        let factor = 1i64 << attempt.clamp(0, 30);
        base.saturating_mul(factor).min(max)
    }

    /// Lease length in ms.
    pub fn lease_ms(&self) -> i64 {
        i64::try_from(self.settings.lease.as_millis()).unwrap_or(i64::MAX)
    }

    /// Whether `bearer` is the hashed signing key (or the fallback's).
    pub fn bearer_ok(&self, bearer: &str) -> bool {
        use subtle_eq::eq;
        eq(bearer, &self.signing_key.hashed())
            || self
                .signing_key_fallback
                .as_ref()
                .is_some_and(|k| eq(bearer, &k.hashed()))
    }
}

mod subtle_eq {
    /// Compares without an early exit on the first differing byte.
    pub fn eq(a: &str, b: &str) -> bool {
        a.len() == b.len()
            && a.bytes()
                .zip(b.bytes())
                .fold(0u8, |acc, (x, y)| acc | (x ^ y))
                == 0
    }
}
