//! Waiting out a database that takes no writes (down, unreachable, read-only during a
//! failover): the consumers stop pulling, so no delivery is spent while nothing can be kept,
//! and pull again once a probe write succeeds. Nothing is dead-lettered for it.

use std::time::Duration;

use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use super::Worker;
use crate::metrics::metrics;
use crate::telemetry::error_chain;

/// First and longest pause between two probes.
const FIRST_PROBE: Duration = Duration::from_secs(1);
const LONGEST_PROBE: Duration = Duration::from_secs(15);

impl Worker {
    /// Returns once the database takes writes (at once when it does), or at shutdown. One
    /// consumer probes at a time; another that hits the same trouble waits for it, then checks
    /// once more itself.
    pub(super) async fn wait_for_database(&self, shutdown: &CancellationToken) {
        let _probing = tokio::select! {
            () = shutdown.cancelled() => return,
            guard = self.database_probe.lock() => guard,
        };
        // The failure may have come from a pooled session that is read-only while the
        // database no longer is (one opened during a read-only window): none opened until now
        // is used again, here or by the next run.
        let store = self.engine.store();
        store.retire_connections();
        let mut pause = FIRST_PROBE;
        let mut waited = false;
        loop {
            match store.check_writable().await {
                Ok(()) => {
                    if waited {
                        // Sessions opened while the database took no writes may still refuse.
                        store.retire_connections();
                        info!("the database takes writes again; consuming again");
                    }
                    metrics().database_writable(true);
                    return;
                }
                Err(e) => {
                    if !waited {
                        warn!(error = %error_chain(&e), "the database takes no writes; pausing consumption until it does");
                        waited = true;
                    }
                    metrics().database_writable(false);
                }
            }
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = tokio::time::sleep(pause) => {}
            }
            pause = (pause * 2).min(LONGEST_PROBE);
        }
    }
}
