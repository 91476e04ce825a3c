//! Prometheus metrics of the process, served as text by [`crate::health`]. One registry per
//! process: every part of the service records into [`metrics()`].

use std::sync::LazyLock;
use std::time::Duration;

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use crate::domain::RunSummary;

type Labels = Vec<(&'static str, String)>;

/// The service's metrics.
pub struct Metrics {
    database_writable: Gauge,
    registry: Registry,
    products: Family<Labels, Counter>,
    runs: Family<Labels, Counter>,
    run_duration: Family<Labels, Histogram, fn() -> Histogram>,
    upstream_requests: Family<Labels, Counter>,
    upstream_retries: Counter,
    batch_write: Histogram,
    dead_letters: Family<Labels, Counter>,
    consumer_pending: Family<Labels, Gauge>,
    consumer_ack_pending: Family<Labels, Gauge>,
    last_success: Family<Labels, Gauge>,
    dead_letters_waiting: Gauge,
    medusa_requests: Family<Labels, Counter>,
    medusa_pushes: Family<Labels, Counter>,
    medusa_owed: Gauge,
    webhooks: Family<Labels, Counter>,
}

fn run_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.05, 2.0, 16))
}

static METRICS: LazyLock<Metrics> = LazyLock::new(Metrics::new);

/// The process's metrics.
pub fn metrics() -> &'static Metrics {
    &METRICS
}

impl Metrics {
    fn new() -> Metrics {
        let mut registry = Registry::with_prefix("catalog_sync");
        let products = Family::<Labels, Counter>::default();
        registry.register(
            "products",
            "Products handled by syncs, by outcome (created, updated, unchanged, archived, failed)",
            products.clone(),
        );
        let runs = Family::<Labels, Counter>::default();
        registry.register(
            "runs",
            "Finished sync runs, by mode and status",
            runs.clone(),
        );
        let run_duration = Family::<Labels, Histogram, fn() -> Histogram>::new_with_constructor(
            run_histogram as fn() -> Histogram,
        );
        registry.register(
            "run_duration_seconds",
            "Duration of sync runs, by mode",
            run_duration.clone(),
        );
        let upstream_requests = Family::<Labels, Counter>::default();
        registry.register(
            "upstream_requests",
            "Upstream HTTP requests, by status code (or \"error\" when none came back)",
            upstream_requests.clone(),
        );
        let upstream_retries = Counter::default();
        registry.register(
            "upstream_retries",
            "Upstream requests retried after a transient failure",
            upstream_retries.clone(),
        );
        let batch_write = Histogram::new(exponential_buckets(0.001, 2.0, 16));
        registry.register(
            "batch_write_seconds",
            "Time to write one batch to PostgreSQL, retries included",
            batch_write.clone(),
        );
        let dead_letters = Family::<Labels, Counter>::default();
        registry.register(
            "dead_letters",
            "Messages dead-lettered, by original subject",
            dead_letters.clone(),
        );
        let consumer_pending = Family::<Labels, Gauge>::default();
        registry.register(
            "consumer_pending",
            "Messages waiting in the worker's JetStream consumers",
            consumer_pending.clone(),
        );
        let consumer_ack_pending = Family::<Labels, Gauge>::default();
        registry.register(
            "consumer_ack_pending",
            "Messages delivered to the worker and not yet acknowledged",
            consumer_ack_pending.clone(),
        );
        let last_success = Family::<Labels, Gauge>::default();
        registry.register(
            "last_success_timestamp_seconds",
            "When the last succeeded run (not a dry run) of each mode finished, in unix seconds",
            last_success.clone(),
        );
        let dead_letters_waiting = Gauge::default();
        registry.register(
            "dead_letters_waiting",
            "Dead letters stored in the results stream, waiting to be replayed or purged",
            dead_letters_waiting.clone(),
        );
        let medusa_requests = Family::<Labels, Counter>::default();
        registry.register(
            "medusa_requests",
            "Medusa Admin API requests, by method and status code (or \"error\" when none came back)",
            medusa_requests.clone(),
        );
        let medusa_pushes = Family::<Labels, Counter>::default();
        registry.register(
            "medusa_pushes",
            "Products pushed to Medusa, by outcome (created, updated, archived, failed)",
            medusa_pushes.clone(),
        );
        let database_writable = Gauge::default();
        registry.register(
            "database_writable",
            "1 while PostgreSQL takes writes, 0 while the worker waits for it to take them again (read-only, unreachable)",
            database_writable.clone(),
        );
        database_writable.set(1);
        let medusa_owed = Gauge::default();
        registry.register(
            "medusa_owed",
            "Products whose push to Medusa is still owed, as last seen by this process",
            medusa_owed.clone(),
        );
        let webhooks = Family::<Labels, Counter>::default();
        registry.register(
            "webhooks",
            "Webhooks received, by source (shopify, woocommerce, standard) and outcome (published, duplicate, ignored, unauthorized, too_large, bad_request, unavailable)",
            webhooks.clone(),
        );
        Metrics {
            registry,
            webhooks,
            database_writable,
            medusa_requests,
            medusa_pushes,
            medusa_owed,
            last_success,
            dead_letters_waiting,
            products,
            runs,
            run_duration,
            upstream_requests,
            upstream_retries,
            batch_write,
            dead_letters,
            consumer_pending,
            consumer_ack_pending,
        }
    }

    /// Books a finished run.
    pub fn run_finished(&self, summary: &RunSummary) {
        let mode = summary.mode.as_str().to_owned();
        if summary.status == crate::domain::RunStatus::Succeeded && !summary.dry_run {
            self.succeeded(&mode, summary.finished_at);
        }
        self.runs
            .get_or_create(&vec![
                ("mode", mode.clone()),
                ("status", summary.status.as_str().to_owned()),
            ])
            .inc();
        self.run_duration
            .get_or_create(&vec![("mode", mode)])
            .observe(summary.duration_ms as f64 / 1000.0);
        let c = &summary.counts;
        for (outcome, n) in [
            ("created", c.created),
            ("updated", c.updated),
            ("unchanged", c.unchanged),
            ("archived", c.archived),
            ("failed", c.failed),
        ] {
            self.products
                .get_or_create(&vec![("outcome", outcome.to_owned())])
                .inc_by(n);
        }
    }

    /// Books an upstream answer (`None`: no answer, e.g. a timeout).
    pub fn upstream_request(&self, status: Option<u16>) {
        let status = status.map_or_else(|| "error".to_owned(), |s| s.to_string());
        self.upstream_requests
            .get_or_create(&vec![("status", status)])
            .inc();
    }

    /// Books a Medusa answer (`None`: no answer).
    pub fn medusa_request(&self, method: &str, status: Option<u16>) {
        let status = status.map_or_else(|| "error".to_owned(), |s| s.to_string());
        self.medusa_requests
            .get_or_create(&vec![("method", method.to_owned()), ("status", status)])
            .inc();
    }

    pub fn medusa_pushed(&self, outcome: &'static str, n: u64) {
        if n > 0 {
            self.medusa_pushes
                .get_or_create(&vec![("outcome", outcome.to_owned())])
                .inc_by(n);
        }
    }

    pub fn medusa_owed(&self, owed: i64) {
        self.medusa_owed.set(owed);
    }

    /// Books `n` webhooks from `source` that ended as `outcome` (0 creates the series).
    pub fn webhook(&self, source: &'static str, outcome: &'static str, n: u64) {
        self.webhooks
            .get_or_create(&vec![
                ("source", source.to_owned()),
                ("outcome", outcome.to_owned()),
            ])
            .inc_by(n);
    }

    pub fn upstream_retry(&self) {
        self.upstream_retries.inc();
    }

    pub fn batch_written(&self, took: Duration) {
        self.batch_write.observe(took.as_secs_f64());
    }

    pub fn dead_lettered(&self, subject: &str) {
        self.dead_letters
            .get_or_create(&vec![("subject", subject.to_owned())])
            .inc();
    }

    /// Notes that a run of `mode` succeeded at `at` (also what the database says at start-up).
    pub fn succeeded(&self, mode: &str, at: chrono::DateTime<chrono::Utc>) {
        let gauge = self
            .last_success
            .get_or_create(&vec![("mode", mode.to_owned())]);
        gauge.set(gauge.get().max(at.timestamp()));
    }

    pub fn database_writable(&self, writable: bool) {
        self.database_writable.set(i64::from(writable));
    }

    pub fn dead_letters_waiting(&self, count: u64) {
        self.dead_letters_waiting.set(count as i64);
    }

    pub fn consumer_state(&self, consumer: &str, pending: u64, ack_pending: u64) {
        let labels = vec![("consumer", consumer.to_owned())];
        self.consumer_pending
            .get_or_create(&labels)
            .set(pending as i64);
        self.consumer_ack_pending
            .get_or_create(&labels)
            .set(ack_pending as i64);
    }

    /// The Prometheus text exposition of every metric.
    pub fn encode(&self) -> String {
        let mut text = String::new();
        // Writing into a String cannot fail.
        let _ = encode(&mut text, &self.registry);
        text
    }
}
