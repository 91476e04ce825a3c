//! The settings tree: plain values, validated where they were read (the command line and the
//! environment, in `cli/`), handed to the adapters and to [`crate::app`]. Nothing here parses
//! flags; tests build these structs directly and run the same wiring as the binary.

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, Utc};
use reqwest::Url;
use reqwest::header::HeaderName;

use croner::Cron;

/// A value that must never reach a log line, a trace or a summary.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl std::str::FromStr for Secret {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.is_empty() {
            return Err("must not be empty".into());
        }
        Ok(Secret(s.to_owned()))
    }
}

/// Tuning of a sync.
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
    /// How often a running run writes its progress (its heartbeat) to its `sync_runs` row.
    pub progress_interval: Duration,
    /// A running run whose heartbeat is older than this belongs to a process that is gone.
    pub stale_after: Duration,
    /// How far ahead of the clock a version may be: an event dated further ahead is refused,
    /// and a stored version further ahead never blocks a write.
    pub future_tolerance: Duration,
    /// Every run is a dry run (`SYNC_DRY_RUN`), whatever its request says: read and compare,
    /// write no catalog row and nothing to Medusa (the run itself is still recorded).
    pub dry_run: bool,
    /// Every full sync archives beyond `archive_max_ratio` (`SYNC_FORCE_ARCHIVE`).
    pub force_archive: bool,
}

/// PostgreSQL.
#[derive(Clone, Debug)]
pub struct DatabaseSettings {
    /// `DATABASE_URL`; usually holds a password.
    pub url: Secret,
    pub max_connections: u32,
}

impl DatabaseSettings {
    /// Checks `DATABASE_URL` without ever echoing it.
    pub fn validate(&self) -> Result<(), String> {
        let url = Url::parse(self.url.expose())
            .map_err(|e| format!("DATABASE_URL is not a URL ({e})"))?;
        match url.scheme() {
            "postgres" | "postgresql" => Ok(()),
            // In `user:password@host/db` the parser takes the user for a scheme.
            other if !crate::credentials::written_with_scheme(self.url.expose(), other) => {
                Err("DATABASE_URL must start with postgres:// or postgresql://".into())
            }
            other => Err(format!(
                "DATABASE_URL must start with postgres:// or postgresql://, not {other}://"
            )),
        }
    }
}

/// The upstream product API and how to talk to it.
#[derive(Clone, Debug)]
pub struct UpstreamSettings {
    /// A source file's upstream (`SYNC_SOURCE`); without one, the built-in DummyJSON source
    /// at `api_url`.
    pub source: Option<crate::source::Source>,
    /// The products endpoint; user info in it is sent as basic auth and never shown.
    pub api_url: Url,
    pub api_token: Option<Secret>,
    pub api_key: Option<Secret>,
    pub api_key_header: Option<HeaderName>,
    pub connect_timeout: Duration,
    pub request_timeout: Duration,
    /// Retries of one request after its first attempt.
    pub max_retries: u32,
    pub retry_min_delay: Duration,
    /// Longest retry delay, also the cap on a server's `Retry-After`.
    pub retry_max_delay: Duration,
}

impl UpstreamSettings {
    /// The defaults the command line has, for the API at `api_url`.
    pub fn new(api_url: Url) -> Self {
        UpstreamSettings {
            source: None,
            api_url,
            api_token: None,
            api_key: None,
            api_key_header: None,
            connect_timeout: Duration::from_secs(5),
            request_timeout: Duration::from_secs(30),
            max_retries: 3,
            retry_min_delay: Duration::from_millis(500),
            retry_max_delay: Duration::from_secs(30),
        }
    }
}

/// The Medusa store every run also brings to the catalog's state (`MEDUSA_URL`).
#[derive(Clone, Debug)]
pub struct MedusaSettings {
    /// The Medusa server, e.g. `http://127.0.0.1:9000`.
    pub url: Url,
    /// A secret API key (`sk_…`), sent as HTTP basic user with an empty password.
    pub api_key: Secret,
    /// `MEDUSA_CURRENCY`, no longer used (each price goes in its own currency): said once at
    /// start when set.
    pub currency: Option<String>,
    /// The sales channel new products join; `None`: the store's default sales channel.
    pub sales_channel: Option<String>,
    /// What an archived catalog product becomes in Medusa.
    pub archive: MedusaArchive,
    /// Products per `POST /admin/products/batch`.
    pub batch_size: usize,
    /// Batches sent at once, and listing pages the drift check reads at once.
    pub concurrency: usize,
    /// How often the worker's pusher pushes what is still owed (after a Medusa outage, say),
    /// and how long it waits after a failed push.
    pub retry_interval: Duration,
    /// Timeouts and retries: the upstream's policy.
    pub connect_timeout: Duration,
    pub request_timeout: Duration,
    pub max_retries: u32,
    pub retry_min_delay: Duration,
    pub retry_max_delay: Duration,
}

/// What an archived catalog product becomes in Medusa (`MEDUSA_ARCHIVE`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MedusaArchive {
    /// Status `draft`: off the storefront, kept in the admin.
    Draft,
    /// Medusa's soft delete.
    Delete,
}

impl MedusaArchive {
    /// The status the sink records for an archived product it pushed.
    pub fn pushed_status(self) -> &'static str {
        match self {
            MedusaArchive::Draft => "draft",
            MedusaArchive::Delete => "deleted",
        }
    }
}

impl FromStr for MedusaArchive {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "draft" => Ok(MedusaArchive::Draft),
            "delete" => Ok(MedusaArchive::Delete),
            other => Err(format!("must be draft or delete, not {other:?}")),
        }
    }
}

impl MedusaSettings {
    /// The defaults the command line has, for the server at `url` with `api_key`; timeouts and
    /// retries are `upstream`'s.
    pub fn new(url: Url, api_key: Secret, upstream: &UpstreamSettings) -> Self {
        MedusaSettings {
            url,
            api_key,
            currency: None,
            sales_channel: None,
            archive: MedusaArchive::Draft,
            batch_size: 100,
            concurrency: 2,
            retry_interval: Duration::from_secs(30),
            connect_timeout: upstream.connect_timeout,
            request_timeout: upstream.request_timeout,
            max_retries: upstream.max_retries,
            retry_min_delay: upstream.retry_min_delay,
            retry_max_delay: upstream.retry_max_delay,
        }
    }
}

/// How to reach NATS.
#[derive(Clone, Debug)]
pub struct NatsSettings {
    /// Server URLs; user info in them authenticates and is never shown.
    pub urls: Vec<String>,
    /// Credentials file (JWT and NKey seed).
    pub creds: Option<PathBuf>,
    pub user: Option<String>,
    pub password: Option<Secret>,
    pub token: Option<Secret>,
    /// CA certificate to verify the server with; implies TLS.
    pub tls_ca: Option<PathBuf>,
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
}

impl NatsSettings {
    /// No authentication, no TLS.
    pub fn plain(url: impl Into<String>) -> Self {
        NatsSettings {
            urls: vec![url.into()],
            creds: None,
            user: None,
            password: None,
            token: None,
            tls_ca: None,
            tls_cert: None,
            tls_key: None,
        }
    }
}

/// The contract's names of streams, subjects and consumers (the README's defaults).
pub mod names {
    pub const STREAM: &str = "CATALOG";
    pub const RESULTS_STREAM: &str = "CATALOG_RESULTS";
    pub const REQUESTED_SUBJECT: &str = "catalog.sync.requested";
    pub const UPDATED_SUBJECT: &str = "product.updated";
    pub const COMPLETED_SUBJECT: &str = "catalog.sync.completed";
    pub const DEAD_SUBJECT: &str = "catalog.sync.dead";
    pub const PROGRESS_SUBJECT: &str = "catalog.sync.progress";
    pub const REQUESTS_CONSUMER: &str = "catalog-sync-requests";
    pub const UPDATES_CONSUMER: &str = "catalog-sync-updates";
    /// `CONSUMER_ACK_WAIT`'s default.
    pub const ACK_WAIT: &str = "60s";
}

/// Names of the streams, subjects and consumers; sites whose `product.updated` lives in another
/// stream point these elsewhere.
#[derive(Clone, Debug)]
pub struct Topology {
    pub stream: String,
    pub results_stream: String,
    pub requested_subject: String,
    pub updated_subject: String,
    pub completed_subject: String,
    pub dead_subject: String,
    pub progress_subject: String,
    /// How long JetStream waits for an acknowledgement before redelivering.
    pub ack_wait: Duration,
    /// Copies of each stream; `None` leaves existing streams' count alone (new ones get 1).
    pub stream_replicas: Option<usize>,
    pub requests_consumer: String,
    pub updates_consumer: String,
}

impl Default for Topology {
    fn default() -> Self {
        Topology {
            stream: names::STREAM.into(),
            results_stream: names::RESULTS_STREAM.into(),
            requested_subject: names::REQUESTED_SUBJECT.into(),
            updated_subject: names::UPDATED_SUBJECT.into(),
            completed_subject: names::COMPLETED_SUBJECT.into(),
            dead_subject: names::DEAD_SUBJECT.into(),
            progress_subject: names::PROGRESS_SUBJECT.into(),
            ack_wait: humantime::parse_duration(names::ACK_WAIT).expect("a valid default"),
            stream_replicas: None,
            requests_consumer: names::REQUESTS_CONSUMER.into(),
            updates_consumer: names::UPDATES_CONSUMER.into(),
        }
    }
}

/// A parsed cron schedule and its text.
#[derive(Clone, Debug)]
pub struct Schedule {
    cron: Cron,
    text: String,
}

impl FromStr for Schedule {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let fields = s.split_whitespace().count();
        if !(5..=6).contains(&fields) {
            return Err(format!(
                "expected 5 fields (minute hour day month weekday) or 6 (seconds first), got {fields}"
            ));
        }
        let cron = Cron::from_str(s).map_err(|e| e.to_string())?;
        Ok(Schedule {
            cron,
            text: s.trim().to_owned(),
        })
    }
}

impl Schedule {
    /// The schedule as it was written.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The first slot strictly after `after`.
    pub fn next_after(&self, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.cron.find_next_occurrence(&after, false).ok()
    }
}

/// When the scheduler requests full syncs.
#[derive(Clone, Debug)]
pub struct ScheduleSettings {
    /// When full syncs are requested.
    pub schedule: Schedule,
    /// When `changes` syncs are requested, if at all.
    pub changes_schedule: Option<Schedule>,
    /// Stop after this many slots.
    pub max_runs: Option<u64>,
    /// Begin with the first slot after this time instead of after now.
    pub start_after: Option<DateTime<Utc>>,
}

/// Everything it takes to run syncs.
#[derive(Clone, Debug)]
pub struct EngineSetup {
    pub database: DatabaseSettings,
    pub upstream: UpstreamSettings,
    pub engine: EngineSettings,
    /// The Medusa store to keep equal to the catalog, when `MEDUSA_URL` is set.
    pub medusa: Option<MedusaSettings>,
    /// Do not apply the database migrations first.
    pub skip_migrations: bool,
}

/// The worker process: the engine, NATS, and its own knobs.
#[derive(Clone, Debug)]
pub struct WorkerSettings {
    pub engine: EngineSetup,
    pub nats: NatsSettings,
    pub topology: Topology,
    /// After SIGINT/SIGTERM, the longest in-flight work may take before the process exits.
    pub shutdown_timeout: Duration,
    /// Address of `/metrics`, `/healthz` and `/readyz`.
    pub metrics_listen: SocketAddr,
    /// Largest message body accepted; larger messages are dead-lettered. `None`: the NATS
    /// server's own `max_payload`, the largest message anyone can publish.
    pub max_message_bytes: Option<usize>,
    /// The webhook ingress, served beside the worker (`run` with a webhook secret set).
    pub ingress: Option<crate::ingress::IngressSettings>,
}

#[cfg(test)]
mod tests;
