//! The life of one run: its record opened (or the recorded summary of a request that already
//! ran), a heartbeat while it goes, the mode run, and the record closed, in that order.
//!
//! The heartbeat writes the run's counts and checkpoint every few seconds. A run whose process
//! dies is thus left with a record of its work; the next attempt of its request marks it
//! `abandoned` and, for a full sync, resumes from its committed checkpoint. If the heartbeat
//! finds the row no longer running (another process declared this attempt abandoned), the run
//! stops: someone else owns the request now.

use std::time::Duration;

use chrono::Utc;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;
use tracing::{Instrument, info, info_span, warn};
use tracing_opentelemetry::OpenTelemetrySpanExt as _;
use uuid::Uuid;

use super::run::RunState;
use super::{Engine, EngineError, RunControl, RunOutcome, RunRequest, Target};
use super::{changes, full, incremental, targeted};
use crate::domain::{ResumedFrom, RunMode, RunStatus};
use crate::store::{ListingCheckpoint, NewRun, PreviousAttempt, RunProgress, RunStart, Store};
use crate::telemetry::error_chain;

impl Engine {
    /// Marks running runs whose heartbeat is older than `SYNC_RUN_STALE_AFTER` abandoned, so no
    /// run stays `running` after its process is gone. Returns how many it marked.
    pub async fn sweep_abandoned(&self) -> Result<u64, EngineError> {
        Ok(self
            .store
            .sweep_stale_runs(self.settings.stale_after)
            .await?)
    }

    pub(super) async fn execute(
        &self,
        request: &RunRequest,
        control: RunControl,
    ) -> Result<(RunOutcome, Vec<String>), EngineError> {
        let mode = request.mode();
        let span = info_span!(
            "sync.run",
            request_id = %request.request_id,
            mode = mode.as_str(),
            dry_run = request.dry_run,
            run_id = tracing::field::Empty,
            status = tracing::field::Empty,
            trace_id = tracing::field::Empty,
            otel.status_code = tracing::field::Empty,
            otel.status_description = tracing::field::Empty,
        );
        // The run is recorded under the trace it belongs to: the caller's (the worker knows it
        // from the message, and logs it on its own span), else the run span's own.
        let trace_id = request.trace_id.clone().or_else(|| {
            let own = crate::telemetry::trace_id(&span.context());
            if let Some(id) = &own {
                span.record("trace_id", id.as_str());
            }
            own
        });
        let outcome = self
            .run_recorded(request, control, mode, trace_id)
            .instrument(span.clone())
            .await;
        if outcome.is_err() {
            crate::telemetry::record_result(&span, &outcome);
        }
        outcome
    }

    async fn run_recorded(
        &self,
        request: &RunRequest,
        control: RunControl,
        mode: RunMode,
        trace_id: Option<String>,
    ) -> Result<(RunOutcome, Vec<String>), EngineError> {
        match self.sweep_abandoned().await {
            Ok(0) => {}
            Ok(marked) => warn!(marked, "runs without a heartbeat marked abandoned"),
            Err(e) => warn!(error = %error_chain(&e), "could not look for abandoned runs"),
        }
        let new_run = NewRun {
            run_id: Uuid::new_v4(),
            request_id: &request.request_id,
            mode,
            dry_run: request.dry_run,
            reason: request.reason.as_deref(),
            trace_id: trace_id.as_deref(),
        };
        let (run_id, attempt, previous) = match self.store.begin_run(&new_run).await? {
            RunStart::Started {
                run_id,
                attempt,
                previous,
            } => (run_id, attempt, previous),
            RunStart::Finished(summary) => {
                info!(run_id = %summary.run_id, "request already ran; returning its summary");
                return Ok((RunOutcome::AlreadyFinished(*summary), Vec::new()));
            }
        };
        tracing::Span::current().record("run_id", tracing::field::display(run_id));
        if let Some(previous) = &previous {
            info!(%run_id, attempt, previous = %previous.run_id, "sync started again");
        } else {
            info!(%run_id, "sync started");
        }

        // The run stops when the caller cancels it, or when it loses its row.
        let lost = CancellationToken::new();
        let control = RunControl {
            cancel: control.cancel.child_token(),
            progress: control.progress,
        };
        let mut state = RunState::new(run_id, request, mode, Utc::now(), control, trace_id);
        let heartbeat = tokio::spawn(
            heartbeat(
                self.store.clone(),
                run_id,
                state.watch_progress(),
                self.settings.progress_interval,
                lost.clone(),
                state.control.cancel.clone(),
            )
            .in_current_span(),
        );
        if let Some(sink) = &self.medusa
            && !request.dry_run
        {
            state.medusa = sink
                .start(matches!(request.target, Target::Full), self.medusa_delivery)
                .await;
        }
        let resume = resumable(request, previous.as_ref());
        if let (Some(previous), Some(checkpoint)) = (&previous, &resume) {
            info!(%run_id, skip = checkpoint.skip, from = %previous.run_id, "resuming from the last committed checkpoint");
            state.resumed_from = Some(ResumedFrom {
                run_id: previous.run_id,
                skip: checkpoint.skip,
            });
        }
        let covered = match (&request.target, request.requested_at) {
            (Target::Full, Some(at)) => self.store.full_sync_succeeded_since(at, run_id).await?,
            _ => false,
        };
        if covered {
            info!(%run_id, "a full sync that started after this request succeeded; skipping");
            state.skipped = true;
        } else {
            match &request.target {
                Target::Full => full::run(self, &mut state, resume).await,
                Target::Products(ids) => targeted::run(self, &mut state, ids).await,
                Target::Events(events) => incremental::run(self, &mut state, events).await,
                Target::Changes => changes::run(self, &mut state).await,
            }
        }
        // A full sync compares the whole catalog with what Medusa has; a skipped one did nothing.
        let full = matches!(request.target, Target::Full) && !state.skipped;
        state.finish_medusa(full).await;
        heartbeat.abort();
        let _ = heartbeat.await;
        state.flush_errors(&self.store).await;
        if lost.is_cancelled() {
            warn!(%run_id, "the run's record was taken over by another attempt; stopping without recording a result");
            return Ok((RunOutcome::Interrupted { run_id }, state.retry_later));
        }
        if let Some(e) = state.database_down.take() {
            // Recorded if the database already takes writes again; otherwise the row stays
            // running and the next attempt marks it abandoned. Either way the next attempt of
            // the request resumes from the last committed checkpoint.
            if let Err(record) = self.store.interrupt_run(run_id, &state.progress()).await {
                warn!(%run_id, error = %error_chain(&record), "could not record the run as interrupted");
            }
            return Err(EngineError(e));
        }
        if state.cancelled() {
            self.store.interrupt_run(run_id, &state.progress()).await?;
            info!(%run_id, "sync interrupted; the request may run again and resume");
            return Ok((RunOutcome::Interrupted { run_id }, state.retry_later));
        }
        let summary = state.summary(Utc::now());
        if !self
            .store
            .finish_run(&summary, state.fatal_message())
            .await?
        {
            warn!(%run_id, "the run's record was taken over by another attempt; its result is not recorded");
            return Ok((RunOutcome::Interrupted { run_id }, state.retry_later));
        }
        // The scratch lists only serve this request's archive step; it is over.
        if !state.seen_runs.is_empty()
            && let Err(e) = self.store.forget_seen(&state.seen_runs).await
        {
            warn!(%run_id, error = %error_chain(&e), "could not clear the run's seen ids");
        }
        crate::metrics::metrics().run_finished(&summary);
        let span = tracing::Span::current();
        span.record("status", summary.status.as_str());
        let failure = match (summary.status, state.fatal_message()) {
            (RunStatus::Failed | RunStatus::Partial, Some(message)) => Some(message.to_owned()),
            (RunStatus::Failed | RunStatus::Partial, None) => Some(format!(
                "{} products failed, {} errors",
                summary.counts.failed,
                summary.errors.len()
            )),
            _ => None,
        };
        crate::telemetry::record_status(&span, failure.as_deref());
        info!(
            %run_id,
            status = summary.status.as_str(),
            fetched = summary.counts.fetched,
            created = summary.counts.created,
            updated = summary.counts.updated,
            unchanged = summary.counts.unchanged,
            archived = summary.counts.archived,
            failed = summary.counts.failed,
            duration_ms = summary.duration_ms,
            "sync finished"
        );
        Ok((RunOutcome::Finished(summary), state.retry_later))
    }
}

/// The checkpoint a full sync resumes from: the committed listing prefix of the attempt before
/// it, when that was a full sync of the same kind (dry or not).
fn resumable(
    request: &RunRequest,
    previous: Option<&PreviousAttempt>,
) -> Option<ListingCheckpoint> {
    let previous = previous?;
    let same_kind = matches!(request.target, Target::Full)
        && previous.mode == RunMode::Full
        && previous.dry_run == request.dry_run;
    let listing = previous.checkpoint.as_ref()?.listing.clone()?;
    (same_kind && listing.skip > 0).then_some(listing)
}

/// Least time between two writes of the run row: a checkpoint that moves is saved this soon,
/// so an attempt resuming after a crash fetches again little of what was committed.
const CHECKPOINT_SPACING: Duration = Duration::from_millis(100);

/// Writes the run's progress to its row whenever it moves (at most every
/// [`CHECKPOINT_SPACING`]) and at least every `interval`, until aborted. When the row is no
/// longer running, marks the run `lost` and cancels it.
async fn heartbeat(
    store: Store,
    run_id: Uuid,
    mut progress: watch::Receiver<RunProgress>,
    interval: Duration,
    lost: CancellationToken,
    cancel: CancellationToken,
) {
    let mut tick = tokio::time::interval(interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tick.tick().await;
    let mut moving = true;
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            changed = progress.changed(), if moving => {
                // The run is over when its progress goes away; the tick keeps beating until
                // the heartbeat is stopped.
                moving = changed.is_ok();
                if !moving {
                    continue;
                }
            }
        }
        let snapshot = progress.borrow_and_update().clone();
        match store.heartbeat(run_id, &snapshot).await {
            Ok(true) => {}
            Ok(false) => {
                lost.cancel();
                cancel.cancel();
                return;
            }
            Err(e) => {
                warn!(%run_id, error = %error_chain(&e), "could not record the run's heartbeat")
            }
        }
        tokio::time::sleep(CHECKPOINT_SPACING).await;
    }
}
