//! The flags (and their environment variables) shared by several commands, each group turned
//! into its part of the settings tree ([`crate::settings`]).

mod medusa;
mod nats;
pub mod parse;

use std::time::Duration;

use clap::Args;
use clap::builder::BoolishValueParser;
use reqwest::Url;
use reqwest::header::HeaderName;

use crate::settings::{DatabaseSettings, EngineSettings, EngineSetup, Secret, UpstreamSettings};

pub use medusa::{ArchiveArg, MedusaArgs};
pub use nats::{NatsArgs, TopologyArgs};

/// PostgreSQL settings.
#[derive(Args, Debug, Clone)]
pub struct DatabaseArgs {
    /// PostgreSQL connection URL, e.g. postgres://user:password@127.0.0.1:5432/catalog.
    #[arg(
        long,
        env = "DATABASE_URL",
        value_name = "DATABASE_URL",
        hide_env_values = true
    )]
    pub database_url: Secret,

    /// Largest number of PostgreSQL connections this process opens.
    #[arg(
        long,
        env = "DATABASE_MAX_CONNECTIONS",
        value_name = "DATABASE_MAX_CONNECTIONS",
        default_value_t = 8,
        value_parser = clap::value_parser!(u32).range(1..=200)
    )]
    pub database_max_connections: u32,
}

/// Where the upstream product API is and how to talk to it.
#[derive(Args, Debug, Clone)]
pub struct UpstreamArgs {
    /// Upstream source file (TOML): the listing, its paging style, the field mapping, auth and
    /// rate limit of any REST product API (see `sources/`). Without one, the built-in DummyJSON
    /// source at SYNC_API_URL. With one, SYNC_API_URL, SYNC_API_TOKEN and SYNC_API_KEY are not
    /// used and the file's list.page_size replaces SYNC_PAGE_SIZE.
    #[arg(
        long,
        env = "SYNC_SOURCE",
        value_name = "SYNC_SOURCE",
        value_parser = parse::parse_source
    )]
    pub source: Option<crate::source::Source>,

    /// Products endpoint of the DummyJSON-compatible upstream API. User info in it
    /// (`https://user:password@host/...`) is sent as HTTP basic auth and never shown.
    #[arg(
        long,
        env = "SYNC_API_URL",
        value_name = "SYNC_API_URL",
        default_value = "https://dummyjson.com/products",
        value_parser = parse::HttpUrlParser
    )]
    pub api_url: Url,

    /// Bearer token sent as `Authorization: Bearer <token>`. Never logged.
    #[arg(
        long,
        env = "SYNC_API_TOKEN",
        value_name = "SYNC_API_TOKEN",
        hide_env_values = true
    )]
    pub api_token: Option<Secret>,

    /// API key sent in the header named by --api-key-header. Never logged.
    #[arg(
        long,
        env = "SYNC_API_KEY",
        value_name = "SYNC_API_KEY",
        hide_env_values = true,
        requires = "api_key_header"
    )]
    pub api_key: Option<Secret>,

    /// Header that carries --api-key, e.g. x-api-key.
    #[arg(long, env = "SYNC_API_KEY_HEADER", value_name = "SYNC_API_KEY_HEADER")]
    pub api_key_header: Option<HeaderName>,

    /// Time allowed to open a connection to the upstream (e.g. 5s, 500ms).
    #[arg(
        long,
        env = "SYNC_CONNECT_TIMEOUT",
        value_name = "SYNC_CONNECT_TIMEOUT",
        default_value = "5s",
        value_parser = parse::parse_duration
    )]
    pub connect_timeout: Duration,

    /// Time allowed for one upstream request, body included.
    #[arg(
        long,
        env = "SYNC_REQUEST_TIMEOUT",
        value_name = "SYNC_REQUEST_TIMEOUT",
        default_value = "30s",
        value_parser = parse::parse_duration
    )]
    pub request_timeout: Duration,

    /// Retries of one upstream request after its first attempt (timeouts, connection errors,
    /// 429, 5xx, bodies cut short).
    #[arg(
        long,
        env = "SYNC_MAX_RETRIES",
        value_name = "SYNC_MAX_RETRIES",
        default_value_t = 3,
        value_parser = clap::value_parser!(u32).range(0..=20)
    )]
    pub max_retries: u32,

    /// First retry delay; it doubles on each retry, with jitter.
    #[arg(
        long,
        env = "SYNC_RETRY_MIN_DELAY",
        value_name = "SYNC_RETRY_MIN_DELAY",
        default_value = "500ms",
        value_parser = parse::parse_duration
    )]
    pub retry_min_delay: Duration,

    /// Longest retry delay, also the cap on a server's `Retry-After`.
    #[arg(
        long,
        env = "SYNC_RETRY_MAX_DELAY",
        value_name = "SYNC_RETRY_MAX_DELAY",
        default_value = "30s",
        value_parser = parse::parse_duration
    )]
    pub retry_max_delay: Duration,
}

/// How a sync moves data.
#[derive(Args, Debug, Clone)]
pub struct SyncArgs {
    /// Products asked for per upstream page (`limit`).
    #[arg(
        long,
        env = "SYNC_PAGE_SIZE",
        value_name = "SYNC_PAGE_SIZE",
        default_value_t = 200,
        value_parser = clap::value_parser!(u32).range(1..=10_000)
    )]
    pub page_size: u32,

    /// Products written per database statement and transaction.
    #[arg(
        long,
        env = "SYNC_BATCH_SIZE",
        value_name = "SYNC_BATCH_SIZE",
        default_value_t = 1000,
        value_parser = clap::value_parser!(u32).range(1..=10_000)
    )]
    pub batch_size: u32,

    /// Upstream requests in flight at once (pages of a full sync, products of a targeted one).
    #[arg(
        long,
        env = "SYNC_CONCURRENCY",
        value_name = "SYNC_CONCURRENCY",
        default_value_t = 4,
        value_parser = clap::value_parser!(u32).range(1..=64)
    )]
    pub concurrency: u32,

    /// Batches written at once, each in its own transaction on its own connection.
    #[arg(
        long,
        env = "SYNC_WRITE_CONCURRENCY",
        value_name = "SYNC_WRITE_CONCURRENCY",
        default_value_t = 3,
        value_parser = clap::value_parser!(u32).range(1..=16)
    )]
    pub write_concurrency: u32,

    /// Most products one run processes; a larger upstream catalog makes the run partial.
    #[arg(
        long,
        env = "SYNC_SAFE_MAX",
        value_name = "SYNC_SAFE_MAX",
        default_value_t = 1_000_000,
        value_parser = clap::value_parser!(u64).range(1..)
    )]
    pub safe_max: u64,

    /// Largest share (0 to 1) of the live catalog a full sync may archive without --force-archive.
    #[arg(
        long,
        env = "SYNC_ARCHIVE_MAX_RATIO",
        value_name = "SYNC_ARCHIVE_MAX_RATIO",
        default_value_t = 0.2,
        value_parser = parse::parse_ratio
    )]
    pub archive_max_ratio: f64,

    /// A running run whose heartbeat (written every few seconds) is older than this is marked
    /// abandoned: the process running it is gone. Its request resumes when delivered again.
    #[arg(
        long,
        env = "SYNC_RUN_STALE_AFTER",
        value_name = "SYNC_RUN_STALE_AFTER",
        default_value = "2m",
        value_parser = parse::parse_stale_after
    )]
    pub run_stale_after: Duration,

    /// How far ahead of this process's clock a product event's version may be. An event dated
    /// further ahead (a publisher whose clock is wrong) is dead-lettered, since it would outrank
    /// every real change; a stored version further ahead than this never blocks a write.
    #[arg(
        long,
        env = "SYNC_FUTURE_TOLERANCE",
        value_name = "SYNC_FUTURE_TOLERANCE",
        default_value = "5m",
        value_parser = parse::parse_duration
    )]
    pub future_tolerance: Duration,

    /// Read everything, write no catalog rows (nor anything to Medusa), report what would
    /// change. A worker runs every request and every event batch dry.
    #[arg(long, env = "SYNC_DRY_RUN", value_name = "SYNC_DRY_RUN", value_parser = BoolishValueParser::new(), default_value_t = false, num_args = 0..=1, default_missing_value = "true")]
    pub dry_run: bool,

    /// Archive products missing upstream even beyond SYNC_ARCHIVE_MAX_RATIO (a worker: in every
    /// full sync it runs).
    #[arg(long, env = "SYNC_FORCE_ARCHIVE", value_name = "SYNC_FORCE_ARCHIVE", value_parser = BoolishValueParser::new(), default_value_t = false, num_args = 0..=1, default_missing_value = "true")]
    pub force_archive: bool,
}

impl DatabaseArgs {
    pub fn settings(&self) -> DatabaseSettings {
        DatabaseSettings {
            url: self.database_url.clone(),
            max_connections: self.database_max_connections,
        }
    }
}

impl UpstreamArgs {
    pub fn settings(&self) -> UpstreamSettings {
        UpstreamSettings {
            source: self.source.clone(),
            api_url: self.api_url.clone(),
            api_token: self.api_token.clone(),
            api_key: self.api_key.clone(),
            api_key_header: self.api_key_header.clone(),
            connect_timeout: self.connect_timeout,
            request_timeout: self.request_timeout,
            max_retries: self.max_retries,
            retry_min_delay: self.retry_min_delay,
            retry_max_delay: self.retry_max_delay,
        }
    }
}

impl SyncArgs {
    pub fn settings(&self) -> EngineSettings {
        EngineSettings {
            page_size: self.page_size,
            batch_size: self.batch_size as usize,
            concurrency: self.concurrency as usize,
            write_concurrency: self.write_concurrency as usize,
            safe_max: self.safe_max,
            archive_max_ratio: self.archive_max_ratio,
            write_retries: 4,
            progress_interval: Duration::from_secs(2),
            stale_after: self.run_stale_after,
            future_tolerance: self.future_tolerance,
            dry_run: self.dry_run,
            force_archive: self.force_archive,
        }
    }
}

/// What it takes to run syncs: the database, the upstream and the sync settings.
#[derive(Args, Debug)]
pub struct EngineArgs {
    #[command(flatten)]
    pub database: DatabaseArgs,
    #[command(flatten)]
    pub upstream: UpstreamArgs,
    #[command(flatten)]
    pub sync: SyncArgs,
    #[command(flatten)]
    pub medusa: MedusaArgs,

    /// Do not apply database migrations first.
    #[arg(long, env = "SYNC_SKIP_MIGRATIONS", value_name = "SYNC_SKIP_MIGRATIONS", value_parser = BoolishValueParser::new(), default_value_t = false, num_args = 0..=1, default_missing_value = "true")]
    pub skip_migrations: bool,
}

impl EngineArgs {
    pub fn settings(&self) -> EngineSetup {
        let upstream = self.upstream.settings();
        EngineSetup {
            database: self.database.settings(),
            medusa: self.medusa.settings(&upstream),
            upstream,
            engine: EngineSettings {
                page_size: self
                    .upstream
                    .source
                    .as_ref()
                    .map_or(self.sync.page_size, |s| s.list.page_size),
                ..self.sync.settings()
            },
            skip_migrations: self.skip_migrations,
        }
    }
}
