//! The bookkeeping of one run: counts, errors and progress.

use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::time::Instant;
use tracing::{debug, info, warn};
use uuid::Uuid;

use tokio::sync::watch;

use super::{RunControl, RunRequest};
use crate::domain::{
    ArchiveReport, BatchCounts, Counts, ErrorKind, MAX_SUMMARY_ERRORS, NotFound, ResumedFrom,
    RunError, RunMode, RunStatus, RunSummary,
};
use crate::store::{
    Checkpoint, ListingCheckpoint, MAX_STORED_ERRORS, RunProgress, Store, StoreError,
};
use crate::telemetry::error_chain;

/// How far a run is.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Progress {
    pub run_id: Uuid,
    /// Products handled so far (written, unchanged or failed).
    pub processed: u64,
    /// Products the run expects, when known.
    pub total: u64,
}

pub(super) struct RunState {
    pub run_id: Uuid,
    request_id: String,
    mode: RunMode,
    pub dry_run: bool,
    pub force_archive: bool,
    started_at: DateTime<Utc>,
    pub counts: Counts,
    pub batches: BatchCounts,
    errors: Vec<RunError>,
    unsaved_errors: Vec<RunError>,
    errors_seen: u64,
    fatal: Option<String>,
    pub(super) trace_id: Option<String>,
    pub control: RunControl,
    pub total: u64,
    /// Product ids whose fetch failed for a transient reason (events to deliver again).
    pub retry_later: Vec<String>,
    /// Answered without running (see `RunRequest::requested_at`).
    pub skipped: bool,
    /// Full syncs: what the archive step did.
    pub archive: Option<ArchiveReport>,
    /// The earlier attempt this run continues.
    pub resumed_from: Option<ResumedFrom>,
    /// Ids the upstream answered 404 for (targeted and event runs).
    pub not_found: NotFound,
    /// Full syncs: the committed prefix of the listing, for a later attempt to resume from.
    pub listing: Option<ListingCheckpoint>,
    /// Full syncs: the attempts whose seen ids count (this run and those it resumed).
    pub seen_runs: Vec<Uuid>,
    /// The run's part with Medusa, when a sink is configured: who pushes its changes.
    pub medusa: Option<crate::medusa::Pusher>,
    /// The database stopped taking writes during the run (after the writer's own retries):
    /// the run stops, and its request or events are delivered again once it takes them.
    pub database_down: Option<StoreError>,
    /// What the heartbeat writes to the run row.
    progress_tx: watch::Sender<RunProgress>,
    last_errors_saved: Instant,
}

impl RunState {
    pub fn new(
        run_id: Uuid,
        request: &RunRequest,
        mode: RunMode,
        started_at: DateTime<Utc>,
        control: RunControl,
        trace_id: Option<String>,
    ) -> Self {
        RunState {
            run_id,
            request_id: request.request_id.clone(),
            mode,
            dry_run: request.dry_run,
            force_archive: request.force_archive,
            started_at,
            counts: Counts::default(),
            batches: BatchCounts::default(),
            errors: Vec::new(),
            unsaved_errors: Vec::new(),
            errors_seen: 0,
            fatal: None,
            trace_id,
            control,
            total: 0,
            retry_later: Vec::new(),
            skipped: false,
            archive: None,
            resumed_from: None,
            not_found: NotFound::default(),
            listing: None,
            seen_runs: Vec::new(),
            medusa: None,
            database_down: None,
            progress_tx: watch::Sender::new(RunProgress::default()),
            last_errors_saved: Instant::now(),
        }
    }

    /// Follows what the run has done (for its heartbeat).
    pub fn watch_progress(&self) -> watch::Receiver<RunProgress> {
        self.progress_tx.subscribe()
    }

    /// What the run has done so far, as its row records it.
    pub fn progress(&self) -> RunProgress {
        let processed =
            self.counts.created + self.counts.updated + self.counts.unchanged + self.counts.failed;
        RunProgress {
            counts: self.counts,
            batches: self.batches,
            checkpoint: Checkpoint {
                processed,
                total: self.total.max(processed),
                listing: self.listing.clone(),
            },
        }
    }

    /// Notes a failure: the first few go into the summary, more into `sync_errors`, the rest
    /// are only counted.
    pub fn error(
        &mut self,
        kind: ErrorKind,
        product_id: Option<String>,
        batch: Option<u64>,
        message: String,
    ) {
        self.errors_seen += 1;
        // A catalog full of bad products must not flood the log: the first errors are warnings,
        // the rest only show at debug level (all are counted, the first 1,000 stored).
        if self.errors_seen <= MAX_SUMMARY_ERRORS as u64 {
            warn!(
                run_id = %self.run_id,
                kind = kind.as_str(),
                product_id = product_id.as_deref().unwrap_or(""),
                batch = batch.unwrap_or(0),
                %message,
                "sync error"
            );
        } else {
            debug!(run_id = %self.run_id, kind = kind.as_str(), %message, "sync error");
        }
        let error = RunError {
            product_id,
            batch,
            kind,
            message,
        };
        if self.errors.len() < MAX_SUMMARY_ERRORS {
            self.errors.push(error.clone());
        }
        if self.errors_seen <= MAX_STORED_ERRORS {
            self.unsaved_errors.push(error);
        }
    }

    /// Notes a failure that makes the whole run fail.
    /// Counts what archiving `asked` products (described by `what`) archived, or records
    /// why it failed.
    pub fn archived(&mut self, result: Result<u64, StoreError>, asked: usize, what: &str) {
        match result {
            Ok(archived) => {
                self.counts.archived += archived;
                if archived > 0 {
                    self.poke_medusa();
                }
                info!(run_id = %self.run_id, asked, archived, "{what} archived");
            }
            Err(e) => self.error(
                ErrorKind::Store,
                None,
                None,
                format!("archiving {asked} {what} failed: {}", error_chain(&e)),
            ),
        }
    }

    /// Tells the Medusa pusher that products changed.
    pub fn poke_medusa(&self) {
        if let Some(pusher) = &self.medusa {
            pusher.poke();
        }
    }

    /// Ends the run's part with Medusa (see [`crate::medusa::Pusher::finish`]; a full sync
    /// first queues every difference from Medusa) and books what it pushed, what Medusa
    /// refused and what is still owed.
    pub async fn finish_medusa(&mut self, full: bool) {
        let Some(pusher) = self.medusa.take() else {
            return;
        };
        let report = pusher.finish(full, &self.control.cancel).await;
        for (product_id, why) in report.refused {
            self.error(
                ErrorKind::Medusa,
                Some(product_id),
                None,
                format!("Medusa refused the product: {why}"),
            );
        }
        for message in report.errors {
            self.error(ErrorKind::Medusa, None, None, message);
        }
        self.counts.medusa = Some(report.counts);
    }

    pub fn fatal(&mut self, kind: ErrorKind, message: String) {
        self.fatal = Some(message.clone());
        self.error(kind, None, None, message);
    }

    pub fn fatal_message(&self) -> Option<&str> {
        self.fatal.as_deref()
    }

    pub fn had_errors(&self) -> bool {
        self.errors_seen > 0
    }

    /// The database cannot take writes: nothing more this run does can be kept, so it stops
    /// here (like an interrupted run, it is resumed when its work is delivered again).
    pub fn database_unavailable(&mut self, e: StoreError) {
        if self.database_down.is_none() {
            warn!(run_id = %self.run_id, error = %error_chain(&e), "the database takes no writes; stopping the run");
            self.database_down = Some(e);
        }
        self.control.cancel.cancel();
    }

    pub fn cancelled(&self) -> bool {
        self.control.cancel.is_cancelled()
    }

    /// Saves pending errors; a failure to save them is logged, never fatal to the run.
    pub async fn flush_errors(&mut self, store: &Store) {
        if self.unsaved_errors.is_empty() {
            return;
        }
        match store.record_errors(self.run_id, &self.unsaved_errors).await {
            Ok(()) => self.unsaved_errors.clear(),
            Err(e) => {
                warn!(run_id = %self.run_id, error = %error_chain(&e), "could not store run errors")
            }
        }
    }

    /// Hands the heartbeat the run's latest progress (a new checkpoint, say) without waiting
    /// for the next batch.
    pub fn share_progress(&self) {
        self.progress_tx.send_replace(self.progress());
    }

    /// Tells the caller and the heartbeat how far the run is; every few seconds, saves the
    /// errors noted so far.
    pub async fn report_progress(&mut self, store: &Store, interval: Duration) {
        let progress = self.progress();
        if let Some(sender) = &self.control.progress {
            sender.send_replace(Progress {
                run_id: self.run_id,
                processed: progress.checkpoint.processed,
                total: progress.checkpoint.total,
            });
        }
        self.progress_tx.send_replace(progress);
        if self.last_errors_saved.elapsed() >= interval {
            self.last_errors_saved = Instant::now();
            self.flush_errors(store).await;
        }
    }

    pub fn summary(&self, finished_at: DateTime<Utc>) -> RunSummary {
        RunSummary {
            run_id: self.run_id,
            request_id: self.request_id.clone(),
            mode: self.mode,
            status: if self.skipped {
                RunStatus::Skipped
            } else {
                RunStatus::judge(self.fatal.is_some(), self.had_errors())
            },
            dry_run: self.dry_run,
            started_at: self.started_at,
            finished_at,
            duration_ms: (finished_at - self.started_at).num_milliseconds().max(0) as u64,
            counts: self.counts,
            batches: self.batches,
            errors: self.errors.clone(),
            trace_id: self.trace_id.clone(),
            archive: self.archive,
            resumed_from: self.resumed_from.clone(),
            not_found: (self.not_found.count > 0).then(|| self.not_found.clone()),
        }
    }
}
