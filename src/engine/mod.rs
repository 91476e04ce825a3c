//! The sync engine: runs a full or a targeted sync from the upstream into the store and returns
//! the run summary. The CLI and the event-driven worker both call [`Engine::run`].
//!
//! Memory is bounded by configuration, never by catalog size: at most `SYNC_CONCURRENCY` pages
//! are in flight or waiting, plus one batch being written.

mod changes;
mod checkpoint;
mod confirm;
mod event;
mod fetch;
mod full;
mod incremental;
mod lifecycle;
mod listed;
mod listing;
mod run;
mod sequential;
mod targeted;
mod writer;

use chrono::Utc;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::domain::{MedusaDelivery, RunMode, RunSummary};
use crate::messages::{Scope, SyncRequested};
pub use crate::settings::EngineSettings;
use crate::store::{Store, StoreError, WriteOptions};
use crate::upstream::Upstream;

pub use event::ProductEvent;
pub use run::Progress;

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
    /// What the source lists as changed since the last succeeded full run; never archives.
    Changes,
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

    /// The engine's request for a decoded `catalog.sync.requested` message.
    pub fn from_message(message: SyncRequested) -> Self {
        let target = match message.scope {
            Scope::Full => Target::Full,
            Scope::Products(ids) => Target::Products(ids),
            Scope::Changes => Target::Changes,
        };
        let mut request = RunRequest::new(target);
        if let Some(id) = message.request_id {
            request.request_id = id;
        }
        request.dry_run = message.dry_run;
        request.reason = message.reason;
        request.requested_at = message.requested_at;
        request
    }

    fn mode(&self) -> RunMode {
        match self.target {
            Target::Full => RunMode::Full,
            Target::Products(_) => RunMode::Products,
            Target::Events(_) => RunMode::Incremental,
            Target::Changes => RunMode::Changes,
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
    pub fn is_retryable(&self) -> bool {
        self.0.is_retryable()
    }

    /// The database takes no writes now: the work is worth trying again once it does.
    pub fn is_database_unavailable(&self) -> bool {
        self.0.is_unavailable()
    }
}

/// Moves products from the upstream into the store.
#[derive(Clone, Debug)]
pub struct Engine {
    store: Store,
    upstream: Upstream,
    settings: EngineSettings,
    /// Brings a Medusa store to the catalog's state, when configured.
    medusa: Option<crate::medusa::Sink>,
    /// Who pushes a run's changes to Medusa.
    medusa_delivery: MedusaDelivery,
}

impl Engine {
    pub fn new(store: Store, upstream: Upstream, settings: EngineSettings) -> Self {
        Engine {
            store,
            upstream,
            settings,
            medusa: None,
            medusa_delivery: MedusaDelivery::Run,
        }
    }

    /// The same engine, bringing Medusa to the catalog's state through `sink`: each run pushes
    /// its changes and ends once Medusa has them (what `catalog-sync sync` needs), unless
    /// [`Engine::leaving_medusa_to_the_pusher`].
    pub fn with_medusa(mut self, sink: crate::medusa::Sink) -> Self {
        self.medusa = Some(sink);
        self
    }

    /// The same engine, its runs leaving their Medusa pushes to the process's pusher
    /// ([`crate::medusa::Sink::run_pusher`], which the caller runs): a run only wakes it, so no
    /// event's acknowledgement and no catalog write waits for Medusa.
    pub fn leaving_medusa_to_the_pusher(mut self) -> Self {
        self.medusa_delivery = MedusaDelivery::Pusher;
        self
    }

    pub fn medusa(&self) -> Option<&crate::medusa::Sink> {
        self.medusa.as_ref()
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The event of a decoded `product.updated` message at stream position `sequence`: its
    /// carried product read as the upstream serves it (the built-in source's whole DummyJSON
    /// product, or a whole record mapped by the source file's fields), its version no further
    /// ahead of this process's clock than `SYNC_FUTURE_TOLERANCE`.
    pub fn product_event(
        &self,
        message: crate::messages::ProductUpdated,
        sequence: u64,
    ) -> Result<ProductEvent, crate::messages::InvalidMessage> {
        let tolerance = chrono::Duration::from_std(self.settings.future_tolerance)
            .unwrap_or(chrono::Duration::MAX);
        let latest = chrono::Utc::now()
            .checked_add_signed(tolerance)
            .unwrap_or(chrono::DateTime::<chrono::Utc>::MAX_UTC);
        ProductEvent::decode(message, sequence, latest, |raw| {
            self.upstream.event_product(raw)
        })
    }

    fn upstream(&self) -> &Upstream {
        &self.upstream
    }

    fn settings(&self) -> &EngineSettings {
        &self.settings
    }

    /// Reads listing pages for a run, sifted against the catalog unless it holds no live
    /// product (a first load: a sift would find nothing, at one statement per page).
    async fn lister(&self) -> listed::Lister {
        let empty = matches!(self.store.any_live_products().await, Ok(false));
        listed::Lister::new(
            self.upstream.clone(),
            (!empty).then(|| self.store.clone()),
            self.settings.concurrency,
        )
    }

    /// A batch writer with this engine's batch size, write concurrency and retries.
    fn writer(&self, options: WriteOptions, dry_run: bool) -> writer::BatchWriter {
        writer::BatchWriter::new(self.store.clone(), self.settings.writer(), options, dry_run)
    }

    /// Runs one sync request to its end (or until cancelled) and records it.
    pub async fn run(
        &self,
        request: &RunRequest,
        control: RunControl,
    ) -> Result<RunOutcome, EngineError> {
        let mut request = request.clone();
        self.govern(&mut request);
        Ok(self.execute(&request, control).await?.0)
    }

    /// Puts `request` under the engine's own settings: a dry-run engine (`SYNC_DRY_RUN`) runs
    /// every request dry, whatever it asks, and a forcing one (`SYNC_FORCE_ARCHIVE`) forces
    /// every archive.
    fn govern(&self, request: &mut RunRequest) {
        request.dry_run |= self.settings.dry_run;
        request.force_archive |= self.settings.force_archive;
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
        self.govern(&mut request);
        self.execute(&request, control).await
    }
}
