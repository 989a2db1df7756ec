//! The poll loop: leases due queue items (up to the free worker slots) and processes each on
//! its own task; sleeps until woken by new work or the poll interval.

use std::sync::Arc;

use tokio::sync::{watch, Semaphore};

use crate::clock::wall_ms;
use crate::core::Core;
use crate::store::queue;

/// Runs until `stop` turns true.
pub(crate) async fn run(core: Arc<Core>, mut stop: watch::Receiver<bool>) {
    let slots = Arc::new(Semaphore::new(core.settings.workers.max(1)));
    loop {
        if *stop.borrow() {
            return;
        }
        let free = slots.available_permits();
        let mut claimed = 0;
        if free > 0 {
            let token = ulid::Ulid::new().to_string();
            let wall = wall_ms();
            let leased = queue::claim(
                &core.db,
                free as u64,
                core.now(),
                wall,
                wall + core.lease_ms(),
                &token,
            )
            .await;
            match leased {
                Ok(items) => {
                    claimed = items.len();
                    for item in items {
                        let Ok(permit) = slots.clone().acquire_owned().await else {
                            return;
                        };
                        let core = core.clone();
                        let token = token.clone();
                        tokio::spawn(async move {
                            core.process(item, &token).await;
                            drop(permit);
                            core.wake.notify_one();
                        });
                    }
                }
                Err(error) => tracing::warn!(%error, "claiming queue items failed"),
            }
        }
        if free > 0 && claimed == free {
            continue;
        }
        tokio::select! {
            _ = core.wake.notified() => {}
            _ = tokio::time::sleep(core.settings.poll_interval) => {}
            changed = stop.changed() => {
                if changed.is_err() {
                    return;
                }
            }
        }
    }
}
