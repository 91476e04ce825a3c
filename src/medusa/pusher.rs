//! Who pushes. In the worker, a pusher of its own ([`Sink::run_pusher`]) drains the outbox
//! whenever a commit wakes it and every `MEDUSA_RETRY_INTERVAL`, apart from the events and runs
//! that fill it: Medusa's pace never sets theirs. `catalog-sync sync` has no pusher that
//! outlives it, so its run pushes while it writes and delivers everything before it ends
//! ([`Pusher::finish`]), waiting for products another pusher holds.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tracing::{Instrument, info, warn};

use super::{Drained, LEASE, Sink};
use crate::domain::{MedusaCounts, MedusaDelivery};
use crate::store::MedusaBacklog;
use crate::telemetry::error_chain;

/// How often a run that delivers its own changes looks again at products another pusher holds.
const HELD_POLL: Duration = Duration::from_millis(500);

/// What a run did with Medusa, for its summary.
#[derive(Debug, Default)]
pub struct RunReport {
    pub counts: MedusaCounts,
    /// Products Medusa refused: external id and Medusa's reason.
    pub refused: Vec<(String, String)>,
    /// What went wrong besides (as `medusa` errors of the run).
    pub errors: Vec<String>,
}

impl Sink {
    /// Wakes the worker's pusher: products were queued.
    pub fn poke(&self) {
        self.inner.wake.notify_one();
    }

    /// The worker's pusher: drains the outbox whenever [`Sink::poke`]d and every
    /// `MEDUSA_RETRY_INTERVAL` (what a Medusa outage or another process left owed), until
    /// `shutdown`. After a failed push, pokes do not hurry the next try: Medusa gets the
    /// interval to come back.
    pub async fn run_pusher(self, shutdown: CancellationToken) {
        let interval = self.inner.settings.retry_interval;
        let mut last_failure: Option<String> = None;
        loop {
            let result = match self.enable().await {
                Ok(true) => {
                    // This pusher comes round again within the interval; twice it leaves room
                    // for a slow drain before `status` calls what is owed unattended.
                    self.expect_pushers(2 * interval).await;
                    self.drain(&shutdown).await
                }
                Ok(false) => Drained::default(),
                Err(e) => Drained {
                    failure: Some(error_chain(&e)),
                    ..Drained::default()
                },
            };
            for (product, why) in &result.refused {
                warn!(product_id = %product, error = %why, "Medusa refused a product");
            }
            match (&result.failure, &last_failure) {
                (Some(now), Some(before)) if now == before => {}
                (Some(now), _) => {
                    warn!(error = %now, owed = result.counts.owed, "pushing to Medusa failed; trying again every {interval:?}")
                }
                (None, Some(_)) => info!("Medusa answers again; what was owed is delivered"),
                (None, None) => {}
            }
            let failed = result.failure.is_some();
            last_failure = result.failure;
            tokio::select! {
                () = self.inner.wake.notified(), if !failed => {}
                () = tokio::time::sleep(interval) => {}
                () = shutdown.cancelled() => return,
            }
        }
    }

    /// Records that a pusher works here and comes round again within `within`.
    async fn expect_pushers(&self, within: Duration) {
        if let Err(e) = self.inner.store.medusa_pushers_until(within).await {
            warn!(error = %error_chain(&e), "could not record that a Medusa pusher runs");
        }
    }

    /// What a run does with Medusa: `delivery` says who pushes its changes. A full sync
    /// (`reask_refused`) gives the products Medusa refused one more try. `None` while an
    /// operator has the sink off: the run leaves Medusa alone.
    pub async fn start(&self, reask_refused: bool, delivery: MedusaDelivery) -> Option<Pusher> {
        let mut enabled = match self.enable().await {
            Ok(false) => return None,
            Ok(true) => Ok(()),
            Err(e) => Err(error_chain(&e)),
        };
        if reask_refused && enabled.is_ok() {
            enabled = self
                .inner
                .store
                .reask_medusa_refused()
                .await
                .map(|_| ())
                .map_err(|e| error_chain(&e));
        }
        let own = (delivery == MedusaDelivery::Run && enabled.is_ok()).then(|| self.own_pusher());
        Some(Pusher {
            sink: self.clone(),
            delivery,
            own,
            enabled,
        })
    }

    /// A run's own pusher: drains the outbox whenever the run pokes it (after each committed
    /// batch) until stopped, in a task of its own, so the run's writes never wait for Medusa.
    fn own_pusher(&self) -> OwnPusher {
        let wake = Arc::new(Notify::new());
        let stop = CancellationToken::new();
        let task = tokio::spawn({
            let (sink, wake, stop) = (self.clone(), wake.clone(), stop.clone());
            async move {
                let mut drained = Drained::default();
                loop {
                    tokio::select! {
                        () = wake.notified() => {}
                        () = stop.cancelled() => break,
                    }
                    // Stopping ends this drain after its chunk: `finish` delivers the rest.
                    let mut chunk = sink.drain(&stop).await;
                    // What failed here is tried again; only the last drain's failure counts.
                    if let Some(failure) = chunk.failure.take() {
                        warn!(error = %failure, "pushing to Medusa failed; it is tried again after the next batch and at the end of the run");
                    }
                    drained.add(chunk);
                }
                drained
            }
            .in_current_span()
        });
        OwnPusher { wake, stop, task }
    }

    /// Pushes until nothing is owed. Products another pusher holds are waited for: a live one
    /// delivers them, a dead one's claims lapse within [`LEASE`] and they are pushed here. Gives
    /// up on a failed push, on `cancel`, or when others hold products for twice the lease
    /// without anything owed being delivered; `failure` then says why.
    async fn deliver_all(&self, cancel: &CancellationToken) -> Drained {
        let store = &self.inner.store;
        let mut total = Drained::default();
        let mut waiting: Option<(u64, tokio::time::Instant)> = None;
        loop {
            let drained = self.drain(cancel).await;
            let failed = drained.failure.is_some();
            total.add(drained);
            if failed || cancel.is_cancelled() {
                return total;
            }
            let backlog = match store.medusa_backlog().await {
                Ok(backlog) => backlog,
                Err(e) => {
                    total.failure = Some(error_chain(&e));
                    return total;
                }
            };
            if backlog.owed == 0 {
                return total;
            }
            if backlog.held == 0 {
                continue; // queued meanwhile: pushed too
            }
            let owed = backlog.owed as u64;
            let since = match waiting {
                Some((before, since)) if owed >= before => since,
                _ => tokio::time::Instant::now(),
            };
            waiting = Some((owed, since));
            if since.elapsed() > 2 * LEASE {
                total.failure = Some(held_elsewhere(&backlog));
                return total;
            }
            tokio::select! {
                () = tokio::time::sleep(HELD_POLL) => {}
                () = cancel.cancelled() => return total,
            }
        }
    }
}

/// Why products are still owed when another pusher holds them.
fn held_elsewhere(backlog: &MedusaBacklog) -> String {
    let until = backlog
        .held_until
        .map(|at| format!(" until {}", at.format("%H:%M:%S UTC")))
        .unwrap_or_default();
    format!(
        "another pusher holds {} of them{until} (a live one delivers them; a dead one's claims lapse within {}s of its last renewal)",
        backlog.held,
        LEASE.as_secs()
    )
}

/// A run's own pusher task (see [`Sink::own_pusher`]).
struct OwnPusher {
    wake: Arc<Notify>,
    stop: CancellationToken,
    task: JoinHandle<Drained>,
}

/// What a run does with Medusa (see [`Sink::start`]).
pub struct Pusher {
    sink: Sink,
    delivery: MedusaDelivery,
    /// The run's own pusher, when the run delivers its changes itself.
    own: Option<OwnPusher>,
    enabled: Result<(), String>,
}

impl Pusher {
    /// Tells whoever pushes that products were queued.
    pub fn poke(&self) {
        match &self.own {
            Some(own) => own.wake.notify_one(),
            None => self.sink.poke(),
        }
    }

    /// Ends the run's part: a full sync (`full`) first queues every product whose Medusa copy
    /// drifted (changed or deleted in Medusa, see `drift.rs`) or whose link differs from the
    /// catalog; then a run that delivers its own changes pushes what is still owed (`cancel`,
    /// the run's, cuts that short after the chunk being pushed), and one that leaves them to
    /// the worker's pusher wakes it. Reports what the run pushed and what is owed when it
    /// ends, as `status` counts it.
    pub async fn finish(self, full: bool, cancel: &CancellationToken) -> RunReport {
        let mut drained = match self.own {
            Some(own) => {
                own.stop.cancel();
                own.task.await.unwrap_or_default()
            }
            None => Drained::default(),
        };
        let mut report = RunReport::default();
        if let Err(e) = &self.enabled {
            report
                .errors
                .push(format!("could not turn the Medusa outbox on: {e}"));
        } else if !cancel.is_cancelled() {
            if full {
                match self.sink.correct_drift(cancel).await {
                    Ok(drift) => report.counts.corrected = drift.corrected,
                    Err(e) => report.errors.push(format!(
                        "could not look for changes made in Medusa: {}",
                        error_chain(&e)
                    )),
                }
                match self.sink.queue_owed().await {
                    Ok(queued) if queued > 0 => {
                        info!(
                            queued,
                            "products whose Medusa copy differs from the catalog queued"
                        )
                    }
                    Ok(_) => {}
                    Err(e) => report.errors.push(format!(
                        "could not compare the catalog with what Medusa was told: {}",
                        error_chain(&e)
                    )),
                }
            }
            match self.delivery {
                MedusaDelivery::Run => drained.add(self.sink.deliver_all(cancel).await),
                MedusaDelivery::Pusher => self.sink.poke(),
            }
        }
        report.counts = MedusaCounts {
            delivered_by: self.delivery,
            corrected: report.counts.corrected,
            ..drained.counts
        };
        report.refused = drained.refused;
        match self.sink.inner.store.medusa_backlog().await {
            Ok(backlog) => {
                report.counts.owed = backlog.owed.max(0) as u64;
                report.counts.linked = backlog.linked.max(0) as u64;
            }
            Err(e) => report.errors.push(format!(
                "could not count what Medusa is owed: {}",
                error_chain(&e)
            )),
        }
        if self.delivery == MedusaDelivery::Run && report.counts.owed > 0 {
            let why = drained
                .failure
                .unwrap_or_else(|| "products were queued after the run's last push".to_owned());
            report.errors.push(format!(
                "{} pushes to Medusa are still owed (the next run or the worker delivers them): {why}",
                report.counts.owed
            ));
        }
        report
    }
}
