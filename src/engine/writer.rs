//! The batch writer every sync mode shares: products in, batches of `SYNC_BATCH_SIZE` out,
//! up to `SYNC_WRITE_CONCURRENCY` of them written at once.

use std::collections::{BTreeSet, HashMap};
use std::time::Duration;

use backon::BackoffBuilder;
use tokio::task::JoinSet;
use tracing::{Instrument, info_span, warn};

use super::run::RunState;
use crate::domain::ErrorKind;
use crate::domain::PreparedProduct;
use crate::store::{BatchWrite, KnownCategories, Store, StoreError, WriteOptions};
use crate::telemetry::{error_chain, record_status};

/// Most category ids a writer remembers; past that it starts over, so a catalog with a
/// category per product cannot grow memory.
const MAX_KNOWN_CATEGORIES: usize = 10_000;

/// Collects products into batches of `batch_size` and writes each in one transaction, up to
/// `write_concurrency` batches at once on separate connections, retrying transient database
/// failures. A batch that still fails is recorded and the run goes on.
pub(super) struct BatchWriter {
    store: Store,
    batch: Vec<PreparedProduct>,
    /// Ids of products known unchanged by their record's bytes, recorded as seen by the run
    /// with the batch.
    seen: Vec<String>,
    settings: WriterSettings,
    options: WriteOptions,
    dry_run: bool,
    /// Categories known to exist (or, in a dry run, already counted as would-be-created).
    known_categories: KnownCategories,
    in_flight: JoinSet<Written>,
    /// Batches written, beyond `watermark`.
    written: BTreeSet<u64>,
    /// Every batch up to this number is written.
    watermark: u64,
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
pub(super) struct Written {
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
            seen: Vec::new(),
            settings,
            options,
            dry_run,
            known_categories: KnownCategories::new(),
            in_flight: JoinSet::new(),
            written: BTreeSet::new(),
            watermark: 0,
        }
    }

    /// The number of the batch that holds the product pushed last.
    pub fn mark(&self, state: &RunState) -> u64 {
        state.batches.total + u64::from(!self.batch.is_empty() || !self.seen.is_empty())
    }

    /// Every batch up to this number is committed (a failed batch holds it back for good).
    pub fn committed_through(&self) -> u64 {
        self.watermark
    }

    pub async fn push(&mut self, product: PreparedProduct, state: &mut RunState) {
        // Batches that finished meanwhile are booked now, not when a writer is next needed:
        // the run's progress and checkpoint follow what is committed.
        self.collect_ready(state).await;
        self.batch.push(product);
        if self.batch.len() >= self.settings.batch_size {
            self.dispatch(state).await;
        }
    }

    /// Takes a product known unchanged by its record's bytes: nothing is written but, in a full
    /// sync, its id in the run's seen list (with the batch it falls in).
    pub async fn push_unchanged(&mut self, id: String, state: &mut RunState) {
        self.collect_ready(state).await;
        if self.options.seen_by.is_none() {
            return;
        }
        self.seen.push(id);
        if self.batch.len() + self.seen.len() >= self.settings.batch_size {
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
        if self.batch.is_empty() && self.seen.is_empty() {
            return;
        }
        let mut batch = std::mem::replace(
            &mut self.batch,
            Vec::with_capacity(self.settings.batch_size),
        );
        let seen = std::mem::take(&mut self.seen);
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
            otel.kind = "client",
            db.system = "postgresql",
            db.system.name = "postgresql",
            db.collection.name = "products",
            db.operation.name = if self.dry_run { "preview" } else { "upsert" },
            db.operation.batch.size = size,
            otel.status_code = tracing::field::Empty,
            otel.status_description = tracing::field::Empty,
        );
        let store = self.store.clone();
        let known = self.known_categories.clone();
        let (options, dry_run, retries) = (self.options, self.dry_run, self.settings.retries);
        self.in_flight.spawn(
            async move {
                let started = std::time::Instant::now();
                let result = match record_seen(&store, options.seen_by, &seen).await {
                    Ok(()) if batch.is_empty() => Ok(BatchWrite::default()),
                    Ok(()) => {
                        write_isolating(&store, &batch, options, &known, dry_run, retries).await
                    }
                    Err(e) => Err(e),
                };
                crate::metrics::metrics().batch_written(started.elapsed());
                let span = tracing::Span::current();
                match &result {
                    Ok(write) => {
                        span.record("created", write.created);
                        span.record("updated", write.updated);
                        span.record("unchanged", write.unchanged);
                        record_status(&span, None);
                    }
                    Err(e) => record_status(&span, Some(&error_chain(e))),
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
        if let Some(joined) = self.in_flight.join_next().await {
            self.book(joined, state).await;
        }
    }

    /// Books every batch write that has finished, without waiting for any.
    async fn collect_ready(&mut self, state: &mut RunState) {
        while let Some(joined) = self.in_flight.try_join_next() {
            self.book(joined, state).await;
        }
    }

    /// The next batch write to finish; pending for ever while none is in flight. Book it with
    /// [`BatchWriter::book`]: a caller waiting on something else (the next page) sees commits
    /// as they happen.
    pub async fn next_written(&mut self) -> Result<Written, tokio::task::JoinError> {
        match self.in_flight.join_next().await {
            Some(joined) => joined,
            None => std::future::pending().await,
        }
    }

    /// Books the outcome of a batch write.
    pub async fn book(
        &mut self,
        joined: Result<Written, tokio::task::JoinError>,
        state: &mut RunState,
    ) {
        let written = match joined {
            Ok(written) => written,
            Err(e) => {
                state.fatal(ErrorKind::Store, format!("batch write task failed: {e}"));
                return;
            }
        };
        match written.result {
            Ok(write) => {
                self.written.insert(written.number);
                while self.written.remove(&(self.watermark + 1)) {
                    self.watermark += 1;
                }
                state.batches.succeeded += 1;
                state.counts.created += write.created;
                state.counts.updated += write.updated;
                state.counts.unchanged += write.unchanged;
                state.counts.categories_created += write.categories_created;
                state.counts.variants += write.variants;
                if write.created + write.updated > 0 && !self.dry_run {
                    state.poke_medusa();
                }
                for (product_id, message) in write.refused {
                    state.counts.failed += 1;
                    state.error(
                        ErrorKind::InvalidProduct,
                        Some(product_id),
                        Some(written.number),
                        message,
                    );
                }
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
                if e.is_unavailable() {
                    state.database_unavailable(e);
                }
            }
        }
        state
            .report_progress(&self.store, self.settings.progress_interval)
            .await;
    }
}

/// Records the ids of products known unchanged as seen by run `seen_by`.
async fn record_seen(
    store: &Store,
    seen_by: Option<uuid::Uuid>,
    seen: &[String],
) -> Result<(), StoreError> {
    let Some(run_id) = seen_by.filter(|_| !seen.is_empty()) else {
        return Ok(());
    };
    let ids: Vec<&str> = seen.iter().map(String::as_str).collect();
    store
        .record_ids(run_id, crate::store::SeenKind::Listed, &ids)
        .await
}

/// Writes a batch; when the database refuses a value, writes it again without the product that
/// holds it. The refusing product is found by halving the batch (its error does not say which
/// row it was): one bad product costs about two statements per halving, and the others of its
/// batch are written.
fn write_isolating<'a>(
    store: &'a Store,
    batch: &'a [PreparedProduct],
    options: WriteOptions,
    known: &'a KnownCategories,
    dry_run: bool,
    retries: usize,
) -> std::pin::Pin<Box<dyn Future<Output = Result<BatchWrite, StoreError>> + Send + 'a>> {
    Box::pin(async move {
        match write_with_retries(store, batch, options, known, dry_run, retries).await {
            Err(StoreError::Refused(e)) if batch.len() == 1 => Ok(BatchWrite {
                refused: vec![(
                    batch[0].product.external_id.clone(),
                    format!("the database refused it: {}", error_chain(&e)),
                )],
                ..BatchWrite::default()
            }),
            Err(StoreError::Refused(_)) => {
                let (left, right) = batch.split_at(batch.len() / 2);
                let mut write =
                    write_isolating(store, left, options, known, dry_run, retries).await?;
                let more = write_isolating(store, right, options, known, dry_run, retries).await?;
                write.created += more.created;
                write.updated += more.updated;
                write.unchanged += more.unchanged;
                write.categories_created += more.categories_created;
                write.variants += more.variants;
                write.categories_resolved.extend(more.categories_resolved);
                write.refused.extend(more.refused);
                Ok(write)
            }
            other => other,
        }
    })
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
    let mut delays =
        crate::retry::backoff(Duration::from_millis(250), Duration::from_secs(8), retries).build();
    loop {
        let result = if dry_run {
            store.preview_batch(batch, options.seen_by, known).await
        } else {
            store.write_batch(batch, options, known).await
        };
        match result {
            Err(e) if e.is_retryable() => match delays.next() {
                Some(delay) => {
                    if e.is_read_only() {
                        store.retire_connections();
                    }
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
mod tests;
