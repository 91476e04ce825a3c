//! Configuration: every setting is an environment variable and a matching flag. Values are
//! validated while parsing, and each flag's value name is its variable, so an error reads
//! `invalid value 'abc' for '--batch-size <SYNC_BATCH_SIZE>'` whichever way the value came in.

use std::fmt;
use std::time::Duration;

use clap::Args;
use clap::builder::BoolishValueParser;
use reqwest::Url;
use reqwest::header::HeaderName;

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
    /// Products endpoint of the DummyJSON-compatible upstream API. User info in it
    /// (`https://user:password@host/...`) is sent as HTTP basic auth and never shown.
    #[arg(
        long,
        env = "SYNC_API_URL",
        value_name = "SYNC_API_URL",
        default_value = "https://dummyjson.com/products",
        value_parser = HttpUrlParser
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
        value_parser = parse_duration
    )]
    pub connect_timeout: Duration,

    /// Time allowed for one upstream request, body included.
    #[arg(
        long,
        env = "SYNC_REQUEST_TIMEOUT",
        value_name = "SYNC_REQUEST_TIMEOUT",
        default_value = "30s",
        value_parser = parse_duration
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
        value_parser = parse_duration
    )]
    pub retry_min_delay: Duration,

    /// Longest retry delay, also the cap on a server's `Retry-After`.
    #[arg(
        long,
        env = "SYNC_RETRY_MAX_DELAY",
        value_name = "SYNC_RETRY_MAX_DELAY",
        default_value = "30s",
        value_parser = parse_duration
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
        value_parser = parse_ratio
    )]
    pub archive_max_ratio: f64,

    /// A running run whose heartbeat (written every few seconds) is older than this is marked
    /// abandoned: the process running it is gone. Its request resumes when delivered again.
    #[arg(
        long,
        env = "SYNC_RUN_STALE_AFTER",
        value_name = "SYNC_RUN_STALE_AFTER",
        default_value = "2m",
        value_parser = parse_stale_after
    )]
    pub run_stale_after: Duration,

    /// Read everything, write no catalog rows, report what would change.
    #[arg(long, env = "SYNC_DRY_RUN", value_name = "SYNC_DRY_RUN", value_parser = BoolishValueParser::new(), default_value_t = false, num_args = 0..=1, default_missing_value = "true")]
    pub dry_run: bool,

    /// Archive products missing upstream even beyond SYNC_ARCHIVE_MAX_RATIO.
    #[arg(long, env = "SYNC_FORCE_ARCHIVE", value_name = "SYNC_FORCE_ARCHIVE", value_parser = BoolishValueParser::new(), default_value_t = false, num_args = 0..=1, default_missing_value = "true")]
    pub force_archive: bool,
}

impl DatabaseArgs {
    /// Checks `DATABASE_URL` without ever echoing it: it usually holds a password.
    pub fn validate(&self) -> Result<(), String> {
        let url = Url::parse(self.database_url.expose())
            .map_err(|e| format!("DATABASE_URL is not a URL ({e})"))?;
        match url.scheme() {
            "postgres" | "postgresql" => Ok(()),
            other => Err(format!(
                "DATABASE_URL must start with postgres:// or postgresql://, not {other}://"
            )),
        }
    }
}

/// Parses an http(s) URL like [`parse_http_url`]; a refused value is quoted redacted in the
/// error, since it may carry a password.
#[derive(Clone, Copy, Debug)]
pub struct HttpUrlParser;

impl clap::builder::TypedValueParser for HttpUrlParser {
    type Value = Url;

    fn parse_ref(
        &self,
        cmd: &clap::Command,
        arg: Option<&clap::Arg>,
        value: &std::ffi::OsStr,
    ) -> Result<Url, clap::Error> {
        let text = value.to_string_lossy();
        parse_http_url(&text).map_err(|reason| {
            let name = arg.map(ToString::to_string).unwrap_or_default();
            clap::Error::raw(
                clap::error::ErrorKind::ValueValidation,
                format!(
                    "invalid value '{}' for '{name}': {reason}\n",
                    crate::credentials::redact_text(&text)
                ),
            )
            .with_cmd(cmd)
        })
    }
}

/// An absolute http(s) URL with a host.
pub fn parse_http_url(s: &str) -> Result<Url, String> {
    let url = Url::parse(s).map_err(|e| format!("not a URL: {e}"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!(
            "scheme must be http or https, not {}",
            url.scheme()
        ));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err("the URL has no host".into());
    }
    Ok(url)
}

/// A duration like `500ms`, `5s` or `2m`.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    humantime::parse_duration(s).map_err(|e| format!("{e} (examples: 500ms, 5s, 2m)"))
}

/// At least ten seconds: heartbeats come every two, and a busy database may delay a few.
fn parse_stale_after(s: &str) -> Result<Duration, String> {
    let d = parse_duration(s)?;
    if d < Duration::from_secs(10) {
        return Err("must be at least 10s".into());
    }
    Ok(d)
}

fn parse_ratio(s: &str) -> Result<f64, String> {
    let ratio: f64 = s.parse().map_err(|_| "not a number".to_owned())?;
    if (0.0..=1.0).contains(&ratio) {
        Ok(ratio)
    } else {
        Err("must be between 0 and 1".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_do_not_print() {
        let secret = Secret::new("hunter2");
        assert_eq!(format!("{secret:?}"), "Secret(***)");
        assert!(!format!("{secret:?}").contains("hunter2"));
    }

    #[test]
    fn urls_must_be_http_with_a_host() {
        assert!(parse_http_url("http://127.0.0.1:8090/products").is_ok());
        assert!(parse_http_url("ftp://example.com/x").is_err());
        assert!(parse_http_url("not a url").is_err());
        let db = |url: &str| DatabaseArgs {
            database_url: Secret::new(url),
            database_max_connections: 1,
        };
        let refused = db("mysql://user:hunter2@x").validate().unwrap_err();
        assert!(
            refused.contains("DATABASE_URL") && !refused.contains("hunter2"),
            "{refused}"
        );
        assert!(db("postgres://postgres@127.0.0.1/db").validate().is_ok());
    }

    #[test]
    fn durations_and_ratios_are_checked() {
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert!(parse_duration("soon").is_err());
        assert_eq!(parse_ratio("0.2"), Ok(0.2));
        assert!(parse_ratio("1.5").is_err());
    }
}
