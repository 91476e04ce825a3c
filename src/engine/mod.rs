//! The sync engine: runs a full or a targeted sync from the upstream into the store and returns
//! the run summary. The CLI and the event-driven worker both call [`Engine::run`].
//!
//! Memory is bounded by configuration, never by catalog size: at most `SYNC_CONCURRENCY` pages
//! are in flight or waiting, plus one batch being written.

mod full;
mod incremental;
mod run;
mod targeted;
mod writer;

use std::time::Duration;

use chrono::Utc;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;
use tracing::{Instrument, info, info_span};
use tracing_opentelemetry::OpenTelemetrySpanExt as _;
use uuid::Uuid;

use crate::config::SyncArgs;
use crate::domain::{RunMode, RunStatus, RunSummary};
use crate::store::{NewRun, RunStart, Store, StoreError};
use crate::upstream::Upstream;

pub use run::Progress;
use run::RunState;

/// Tuning of a sync, from [`SyncArgs`].
#[derive(Clone, Debug)]
pub struct EngineSettings {
    pub page_size: u32,
    pub batch_size: usize,
    pub concurrency: usize,
    /// Batches written at once, each on its own connection.
    pub write_concurrency: usize,
    pub safe_max: u64,
    pub archive_max_ratio: f64,
    /// Retries of a batch write after a transient database failure.
    pub write_retries: usize,
    /// How often a running run writes its progress to its `sync_runs` row.
    pub progress_interval: Duration,
}

impl From<&SyncArgs> for EngineSettings {
    fn from(args: &SyncArgs) -> Self {
        EngineSettings {
            page_size: args.page_size,
            batch_size: args.batch_size as usize,
            concurrency: args.concurrency as usize,
            write_concurrency: args.write_concurrency as usize,
            safe_max: args.safe_max,
            archive_max_ratio: args.archive_max_ratio,
            write_retries: 4,
            progress_interval: Duration::from_secs(2),
        }
    }
}

impl EngineSettings {
    fn writer(&self) -> writer::WriterSettings {
        writer::WriterSettings {
            batch_size: self.batch_size,
            write_concurrency: self.write_concurrency,
            retries: self.write_retries,
            progress_interval: self.progress_interval,
        }
    }
}

/// What to sync.
#[derive(Clone, Debug, PartialEq)]
pub enum Target {
    /// Every upstream page; afterwards, products not seen are archived.
    Full,
    /// These upstream ids only; a 404 archives the product.
    Products(Vec<String>),
    /// A batch of `product.updated` events.
    Events(Vec<ProductEvent>),
}

/// One `product.updated` event.
#[derive(Clone, Debug, PartialEq)]
pub struct ProductEvent {
    pub product_id: String,
    /// When the product changed upstream, if the event says.
    pub updated_at: Option<chrono::DateTime<Utc>>,
    /// The product is gone upstream: archive it.
    pub deleted: bool,
    /// Event-carried state: applied as is, without asking the upstream.
    pub product: Option<crate::domain::Product>,
    /// Order of arrival (the stream sequence), the tie-breaker between events of one product.
    pub sequence: u64,
}

/// One request to sync.
#[derive(Clone, Debug)]
pub struct RunRequest {
    /// Unique per request: the same id never runs twice to completion.
    pub request_id: String,
    pub target: Target,
    pub dry_run: bool,
    /// Archive beyond `SYNC_ARCHIVE_MAX_RATIO`.
    pub force_archive: bool,
    pub reason: Option<String>,
    pub trace_id: Option<String>,
    /// When the request was made. A full sync requested before the start of a full sync that
    /// has since succeeded is answered `skipped`: the catalog is already newer than asked for.
    pub requested_at: Option<chrono::DateTime<Utc>>,
}

impl RunRequest {
    /// A request with a fresh id.
    pub fn new(target: Target) -> Self {
        RunRequest {
            request_id: Uuid::new_v4().to_string(),
            target,
            dry_run: false,
            force_archive: false,
            reason: None,
            trace_id: None,
            requested_at: None,
        }
    }

    fn mode(&self) -> RunMode {
        match self.target {
            Target::Full => RunMode::Full,
            Target::Products(_) => RunMode::Products,
            Target::Events(_) => RunMode::Incremental,
        }
    }
}

/// How the caller steers a run while it goes.
#[derive(Clone, Debug, Default)]
pub struct RunControl {
    /// Cancelling stops fetching; the batch being written is finished, then the run is
    /// recorded as interrupted so the same request can run again.
    pub cancel: CancellationToken,
    /// Receives progress after every batch.
    pub progress: Option<watch::Sender<Progress>>,
}

/// How a run ended.
#[derive(Debug)]
pub enum RunOutcome {
    /// The run went to its end (whatever its status).
    Finished(RunSummary),
    /// The request had already run to its end; nothing was done again.
    AlreadyFinished(RunSummary),
    /// Cancelled before its end; the run row says `interrupted`.
    Interrupted { run_id: Uuid },
}

/// The run record could not be opened or closed; the sync's own failures are in the summary.
#[derive(Debug, thiserror::Error)]
#[error("could not record the run: {0}")]
pub struct EngineError(#[from] pub StoreError);

impl EngineError {
    pub fn is_transient(&self) -> bool {
        self.0.is_transient()
    }
}

/// Moves products from the upstream into the store.
#[derive(Clone, Debug)]
pub struct Engine {
    store: Store,
    upstream: Upstream,
    settings: EngineSettings,
}

impl Engine {
    pub fn new(store: Store, upstream: Upstream, settings: EngineSettings) -> Self {
        Engine {
            store,
            upstream,
            settings,
        }
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Runs one sync request to its end (or until cancelled) and records it.
    pub async fn run(
        &self,
        request: &RunRequest,
        control: RunControl,
    ) -> Result<RunOutcome, EngineError> {
        Ok(self.execute(request, control).await?.0)
    }

    /// Applies a batch of product events as one `incremental` run. Besides the outcome, returns
    /// the product ids whose events failed for a transient reason (the upstream was down): their
    /// messages should be delivered again later.
    pub async fn apply_events(
        &self,
        request_id: String,
        trace_id: Option<String>,
        events: Vec<ProductEvent>,
        control: RunControl,
    ) -> Result<(RunOutcome, Vec<String>), EngineError> {
        let mut request = RunRequest::new(Target::Events(events));
        request.request_id = request_id;
        request.trace_id = trace_id;
        self.execute(&request, control).await
    }

    async fn execute(
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
        let trace_id = match &request.trace_id {
            Some(known) => Some(known.clone()),
            None => {
                let own = crate::telemetry::trace_id(&span.context());
                if let Some(id) = &own {
                    span.record("trace_id", id.as_str());
                }
                own
            }
        };
        let outcome: Result<(RunOutcome, Vec<String>), EngineError> = async move {
            let new_run = NewRun {
                run_id: Uuid::new_v4(),
                request_id: &request.request_id,
                mode,
                dry_run: request.dry_run,
                reason: request.reason.as_deref(),
                trace_id: trace_id.as_deref(),
            };
            let run_id = match self.store.begin_run(&new_run).await? {
                RunStart::Started(run_id) => run_id,
                RunStart::Finished(summary) => {
                    info!(run_id = %summary.run_id, "request already ran; returning its summary");
                    return Ok((RunOutcome::AlreadyFinished(*summary), Vec::new()));
                }
            };
            tracing::Span::current().record("run_id", tracing::field::display(run_id));
            info!(%run_id, "sync started");
            let mut state = RunState::new(run_id, request, mode, Utc::now(), control);
            state.trace_id = trace_id;
            let covered = match (&request.target, request.requested_at) {
                (Target::Full, Some(at)) => {
                    self.store.full_sync_succeeded_since(at, run_id).await?
                }
                _ => false,
            };
            if covered {
                info!(%run_id, "a full sync that started after this request succeeded; skipping");
                state.skipped = true;
            } else {
                match &request.target {
                    Target::Full => full::run(self, &mut state).await,
                    Target::Products(ids) => targeted::run(self, &mut state, ids).await,
                    Target::Events(events) => incremental::run(self, &mut state, events).await,
                }
            }
            state.flush_errors(&self.store).await;
            if state.cancelled() {
                self.store.interrupt_run(run_id).await?;
                info!(%run_id, "sync interrupted; the request may run again");
                return Ok((RunOutcome::Interrupted { run_id }, state.retry_later));
            }
            let summary = state.summary(Utc::now());
            self.store
                .finish_run(&summary, state.fatal_message())
                .await?;
            crate::metrics::metrics().run_finished(&summary);
            let span = tracing::Span::current();
            span.record("status", summary.status.as_str());
            let failure = match (summary.status, state.fatal_message()) {
                (RunStatus::Failed | RunStatus::Partial, Some(message)) => Some(message.to_owned()),
                (RunStatus::Failed | RunStatus::Partial, None) => {
                    Some(format!("{} products failed", summary.counts.failed))
                }
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
        .instrument(span.clone())
        .await;
        if outcome.is_err() {
            crate::telemetry::record_result(&span, &outcome);
        }
        outcome
    }
}
