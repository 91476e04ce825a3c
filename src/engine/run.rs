//! The bookkeeping of one run: counts, errors, progress, and the batch writer every mode shares.

use std::collections::HashMap;
use std::time::Duration;

use backon::{BackoffBuilder, ExponentialBuilder};
use chrono::{DateTime, Utc};
use tokio::task::JoinSet;
use tokio::time::Instant;
use tracing::{Instrument, info_span, warn};
use uuid::Uuid;

use super::{RunControl, RunRequest};
use crate::domain::{
    BatchCounts, Counts, ErrorKind, MAX_SUMMARY_ERRORS, RunError, RunMode, RunStatus, RunSummary,
};
use crate::store::{
    BatchWrite, KnownCategories, MAX_STORED_ERRORS, PreparedProduct, Store, StoreError,
    WriteOptions,
};
use crate::telemetry::error_chain;

/// Most category ids a writer remembers; past that it starts over, so a catalog with a
/// category per product cannot grow memory.
const MAX_KNOWN_CATEGORIES: usize = 10_000;

/// How far a run is.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Progress {
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
    trace_id: Option<String>,
    pub control: RunControl,
    pub total: u64,
    last_progress_saved: Instant,
}

impl RunState {
    pub fn new(
        run_id: Uuid,
        request: &RunRequest,
        mode: RunMode,
        started_at: DateTime<Utc>,
        control: RunControl,
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
            trace_id: request.trace_id.clone(),
            control,
            total: 0,
            last_progress_saved: Instant::now(),
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
        warn!(
            run_id = %self.run_id,
            kind = kind.as_str(),
            product_id = product_id.as_deref().unwrap_or(""),
            batch = batch.unwrap_or(0),
            %message,
            "sync error"
        );
        self.errors_seen += 1;
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

    /// Tells the caller how far the run is, and every few seconds the run row too.
    pub async fn report_progress(&mut self, store: &Store, interval: Duration) {
        let processed =
            self.counts.created + self.counts.updated + self.counts.unchanged + self.counts.failed;
        let progress = Progress {
            processed,
            total: self.total.max(processed),
        };
        if let Some(sender) = &self.control.progress {
            sender.send_replace(progress);
        }
        if self.last_progress_saved.elapsed() >= interval {
            self.last_progress_saved = Instant::now();
            if let Err(e) = store
                .record_progress(self.run_id, progress.processed, progress.total)
                .await
            {
                warn!(run_id = %self.run_id, error = %error_chain(&e), "could not record progress");
            }
            self.flush_errors(store).await;
        }
    }

    pub fn summary(&self, finished_at: DateTime<Utc>) -> RunSummary {
        RunSummary {
            run_id: self.run_id,
            request_id: self.request_id.clone(),
            mode: self.mode,
            status: RunStatus::judge(self.fatal.is_some(), self.had_errors()),
            dry_run: self.dry_run,
            started_at: self.started_at,
            finished_at,
            duration_ms: (finished_at - self.started_at).num_milliseconds().max(0) as u64,
            counts: self.counts,
            batches: self.batches,
            errors: self.errors.clone(),
            trace_id: self.trace_id.clone(),
        }
    }
}

/// Collects products into batches of `batch_size` and writes each in one transaction, up to
/// `write_concurrency` batches at once on separate connections, retrying transient database
/// failures. A batch that still fails is recorded and the run goes on.
pub(super) struct BatchWriter {
    store: Store,
    batch: Vec<PreparedProduct>,
    settings: WriterSettings,
    options: WriteOptions,
    dry_run: bool,
    /// Categories known to exist (or, in a dry run, already counted as would-be-created).
    known_categories: KnownCategories,
    in_flight: JoinSet<Written>,
}

/// How a [`BatchWriter`] writes.
#[derive(Clone, Copy, Debug)]
pub(super) struct WriterSettings {
    pub batch_size: usize,
    pub write_concurrency: usize,
    pub retries: usize,
    pub progress_interval: Duration,
}

/// A finished batch write.
struct Written {
    number: u64,
    size: u64,
    result: Result<BatchWrite, StoreError>,
}

impl BatchWriter {
    pub fn new(
        store: Store,
        settings: WriterSettings,
        options: WriteOptions,
        dry_run: bool,
    ) -> Self {
        BatchWriter {
            store,
            batch: Vec::with_capacity(settings.batch_size),
            settings,
            options,
            dry_run,
            known_categories: KnownCategories::new(),
            in_flight: JoinSet::new(),
        }
    }

    pub async fn push(&mut self, product: PreparedProduct, state: &mut RunState) {
        self.batch.push(product);
        if self.batch.len() >= self.settings.batch_size {
            self.dispatch(state).await;
        }
    }

    /// Writes what is buffered and waits for every batch in flight.
    pub async fn finish(&mut self, state: &mut RunState) {
        self.dispatch(state).await;
        while !self.in_flight.is_empty() {
            self.collect_one(state).await;
        }
    }

    /// Starts writing the buffered batch, first waiting for a free writer.
    async fn dispatch(&mut self, state: &mut RunState) {
        if self.batch.is_empty() {
            return;
        }
        let mut batch = std::mem::replace(
            &mut self.batch,
            Vec::with_capacity(self.settings.batch_size),
        );
        // A product repeated in one batch is written once, in its last form; the earlier copies
        // count as unchanged so fetched = created + updated + unchanged + failed.
        state.counts.unchanged += dedupe_by_external_id(&mut batch);
        while self.in_flight.len() >= self.settings.write_concurrency {
            self.collect_one(state).await;
        }
        state.batches.total += 1;
        let number = state.batches.total;
        let size = batch.len() as u64;
        let span = info_span!(
            "sync.batch",
            batch = number,
            size,
            created = tracing::field::Empty,
            updated = tracing::field::Empty,
            unchanged = tracing::field::Empty,
        );
        let store = self.store.clone();
        let known = self.known_categories.clone();
        let (options, dry_run, retries) = (self.options, self.dry_run, self.settings.retries);
        self.in_flight.spawn(
            async move {
                let result =
                    write_with_retries(&store, &batch, options, &known, dry_run, retries).await;
                if let Ok(write) = &result {
                    let span = tracing::Span::current();
                    span.record("created", write.created);
                    span.record("updated", write.updated);
                    span.record("unchanged", write.unchanged);
                }
                Written {
                    number,
                    size,
                    result,
                }
            }
            .instrument(span),
        );
    }

    /// Waits for one batch write and books its outcome.
    async fn collect_one(&mut self, state: &mut RunState) {
        let Some(joined) = self.in_flight.join_next().await else {
            return;
        };
        let written = match joined {
            Ok(written) => written,
            Err(e) => {
                state.fatal(ErrorKind::Store, format!("batch write task failed: {e}"));
                return;
            }
        };
        match written.result {
            Ok(write) => {
                state.batches.succeeded += 1;
                state.counts.created += write.created;
                state.counts.updated += write.updated;
                state.counts.unchanged += write.unchanged;
                state.counts.categories_created += write.categories_created;
                if self.known_categories.len() + write.categories_resolved.len()
                    > MAX_KNOWN_CATEGORIES
                {
                    self.known_categories.clear();
                }
                self.known_categories.extend(write.categories_resolved);
            }
            Err(e) => {
                state.batches.failed += 1;
                state.counts.failed += written.size;
                state.error(
                    ErrorKind::Store,
                    None,
                    Some(written.number),
                    format!(
                        "batch of {} products not written: {}",
                        written.size,
                        error_chain(&e)
                    ),
                );
            }
        }
        state
            .report_progress(&self.store, self.settings.progress_interval)
            .await;
    }
}

/// One batch write (or preview), retried with backoff while the failure is transient.
async fn write_with_retries(
    store: &Store,
    batch: &[PreparedProduct],
    options: WriteOptions,
    known: &KnownCategories,
    dry_run: bool,
    retries: usize,
) -> Result<BatchWrite, StoreError> {
    let mut delays = ExponentialBuilder::default()
        .with_min_delay(Duration::from_millis(250))
        .with_max_delay(Duration::from_secs(8))
        .with_max_times(retries)
        .with_jitter()
        .build();
    loop {
        let result = if dry_run {
            store.preview_batch(batch, options.seen_by, known).await
        } else {
            store.write_batch(batch, options, known).await
        };
        match result {
            Err(e) if e.is_transient() => match delays.next() {
                Some(delay) => {
                    warn!(
                        error = %error_chain(&e),
                        retry_in_ms = delay.as_millis() as u64,
                        "batch write failed, retrying"
                    );
                    tokio::time::sleep(delay).await;
                }
                None => return Err(e),
            },
            other => return other,
        }
    }
}

/// Keeps the last occurrence of each external id (one statement cannot upsert a row twice) and
/// says how many copies it dropped.
fn dedupe_by_external_id(batch: &mut Vec<PreparedProduct>) -> u64 {
    let mut last: HashMap<&str, usize> = HashMap::with_capacity(batch.len());
    for (i, p) in batch.iter().enumerate() {
        last.insert(p.product.external_id.as_str(), i);
    }
    if last.len() == batch.len() {
        return 0;
    }
    let before = batch.len();
    let keep: Vec<bool> = batch
        .iter()
        .enumerate()
        .map(|(i, p)| last.get(p.product.external_id.as_str()) == Some(&i))
        .collect();
    let mut index = 0;
    batch.retain(|_| {
        let kept = keep[index];
        index += 1;
        kept
    });
    (before - batch.len()) as u64
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Product;

    fn product(id: &str, title: &str) -> PreparedProduct {
        PreparedProduct::from(Product {
            external_id: id.into(),
            title: title.into(),
            description: String::new(),
            category: None,
            brand: None,
            sku: None,
            price: None,
            stock: None,
            tags: vec![],
            images: vec![],
            thumbnail: None,
            attributes: Default::default(),
            source_updated_at: None,
        })
    }

    #[test]
    fn repeated_ids_keep_their_last_version() {
        let mut batch = vec![product("1", "old"), product("2", "b"), product("1", "new")];
        assert_eq!(dedupe_by_external_id(&mut batch), 1);
        let titles: Vec<&str> = batch.iter().map(|p| p.product.title.as_str()).collect();
        assert_eq!(titles, vec!["b", "new"]);
    }

    #[test]
    fn a_batch_without_repeats_is_untouched() {
        let mut batch = vec![product("1", "a"), product("2", "b")];
        assert_eq!(dedupe_by_external_id(&mut batch), 0);
        assert_eq!(batch.len(), 2);
    }
}
