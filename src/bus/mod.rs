//! The NATS JetStream adapter: connection options, the names of streams, subjects and
//! consumers, and creating or updating them from the definitions in `nats/`.

mod setup;

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use tracing::Instrument as _;

use crate::config::Secret;

pub use setup::{SetupReport, setup};

/// How to reach NATS.
#[derive(Args, Debug, Clone)]
pub struct NatsArgs {
    /// NATS server URLs, comma-separated (e.g. nats://10.0.0.1:4222,nats://10.0.0.2:4222).
    /// `nats://user:password@host` or `nats://token@host` authenticates; never shown.
    #[arg(
        long,
        env = "NATS_URL",
        value_name = "NATS_URL",
        default_value = "nats://127.0.0.1:4222",
        value_delimiter = ','
    )]
    pub nats_url: Vec<String>,

    /// Credentials file (JWT and NKey seed) for NATS.
    #[arg(long, env = "NATS_CREDS", value_name = "NATS_CREDS")]
    pub nats_creds: Option<PathBuf>,

    /// NATS user name (with NATS_PASSWORD).
    #[arg(
        long,
        env = "NATS_USER",
        value_name = "NATS_USER",
        requires = "nats_password"
    )]
    pub nats_user: Option<String>,

    /// NATS password. Never logged.
    #[arg(
        long,
        env = "NATS_PASSWORD",
        value_name = "NATS_PASSWORD",
        hide_env_values = true,
        requires = "nats_user"
    )]
    pub nats_password: Option<Secret>,

    /// NATS token. Never logged.
    #[arg(
        long,
        env = "NATS_TOKEN",
        value_name = "NATS_TOKEN",
        hide_env_values = true
    )]
    pub nats_token: Option<Secret>,

    /// CA certificate (PEM) to verify the NATS server with; implies TLS.
    #[arg(long, env = "NATS_TLS_CA", value_name = "NATS_TLS_CA")]
    pub nats_tls_ca: Option<PathBuf>,

    /// Client certificate (PEM) for TLS client authentication (with NATS_TLS_KEY).
    #[arg(
        long,
        env = "NATS_TLS_CERT",
        value_name = "NATS_TLS_CERT",
        requires = "nats_tls_key"
    )]
    pub nats_tls_cert: Option<PathBuf>,

    /// Client private key (PEM) for NATS_TLS_CERT.
    #[arg(
        long,
        env = "NATS_TLS_KEY",
        value_name = "NATS_TLS_KEY",
        requires = "nats_tls_cert"
    )]
    pub nats_tls_key: Option<PathBuf>,
}

/// Names of the streams, subjects and consumers: the defaults are the contract in the README;
/// sites whose `product.updated` lives in another stream point these elsewhere.
#[derive(Args, Debug, Clone)]
pub struct Topology {
    /// Stream holding sync requests and product events.
    #[arg(
        long,
        env = "CATALOG_STREAM",
        value_name = "CATALOG_STREAM",
        default_value = "CATALOG"
    )]
    pub stream: String,

    /// Stream holding run summaries and dead letters.
    #[arg(
        long,
        env = "CATALOG_RESULTS_STREAM",
        value_name = "CATALOG_RESULTS_STREAM",
        default_value = "CATALOG_RESULTS"
    )]
    pub results_stream: String,

    /// Subject of sync requests.
    #[arg(
        long,
        env = "SUBJECT_SYNC_REQUESTED",
        value_name = "SUBJECT_SYNC_REQUESTED",
        default_value = "catalog.sync.requested"
    )]
    pub requested_subject: String,

    /// Subject of product events.
    #[arg(
        long,
        env = "SUBJECT_PRODUCT_UPDATED",
        value_name = "SUBJECT_PRODUCT_UPDATED",
        default_value = "product.updated"
    )]
    pub updated_subject: String,

    /// Subject run summaries are published on.
    #[arg(
        long,
        env = "SUBJECT_SYNC_COMPLETED",
        value_name = "SUBJECT_SYNC_COMPLETED",
        default_value = "catalog.sync.completed"
    )]
    pub completed_subject: String,

    /// Subject dead letters are published on.
    #[arg(
        long,
        env = "SUBJECT_SYNC_DEAD",
        value_name = "SUBJECT_SYNC_DEAD",
        default_value = "catalog.sync.dead"
    )]
    pub dead_subject: String,

    /// Subject of progress events (core NATS, not stored).
    #[arg(
        long,
        env = "SUBJECT_SYNC_PROGRESS",
        value_name = "SUBJECT_SYNC_PROGRESS",
        default_value = "catalog.sync.progress"
    )]
    pub progress_subject: String,

    /// How long JetStream waits for an acknowledgement before redelivering: the time a crashed
    /// worker's request or events take to reach another replica. Running requests are kept alive
    /// with in-progress acknowledgements, so this does not bound a run's length.
    #[arg(
        long,
        env = "CONSUMER_ACK_WAIT",
        value_name = "CONSUMER_ACK_WAIT",
        default_value = "60s",
        value_parser = crate::config::parse_duration
    )]
    pub ack_wait: Duration,

    /// Copies of each stream, each on its own server of a JetStream cluster: 1 for a single
    /// server, 3 to ride out the loss of one node (the cluster needs at least that many servers).
    /// When set, existing streams are changed to this count; unset, new streams get one copy and
    /// existing ones keep theirs.
    #[arg(
        long,
        env = "NATS_STREAM_REPLICAS",
        value_name = "NATS_STREAM_REPLICAS",
        value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=5)
    )]
    pub stream_replicas: Option<usize>,

    /// Durable consumer of sync requests.
    #[arg(
        long,
        env = "CONSUMER_REQUESTS",
        value_name = "CONSUMER_REQUESTS",
        default_value = "catalog-sync-requests"
    )]
    pub requests_consumer: String,

    /// Durable consumer of product events.
    #[arg(
        long,
        env = "CONSUMER_UPDATES",
        value_name = "CONSUMER_UPDATES",
        default_value = "catalog-sync-updates"
    )]
    pub updates_consumer: String,
}

impl Default for Topology {
    fn default() -> Self {
        Topology {
            stream: "CATALOG".into(),
            results_stream: "CATALOG_RESULTS".into(),
            requested_subject: "catalog.sync.requested".into(),
            updated_subject: "product.updated".into(),
            completed_subject: "catalog.sync.completed".into(),
            dead_subject: "catalog.sync.dead".into(),
            progress_subject: "catalog.sync.progress".into(),
            ack_wait: Duration::from_secs(60),
            stream_replicas: None,
            requests_consumer: "catalog-sync-requests".into(),
            updates_consumer: "catalog-sync-updates".into(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum BusError {
    #[error("could not connect to NATS: {0}")]
    Connect(String),
    #[error("{0}")]
    Config(String),
    #[error("JetStream: {0}")]
    JetStream(String),
}

/// How long one connection attempt may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Connects with the configured credentials. After the first connection, the client
/// reconnects by itself for as long as the process runs.
pub async fn connect(args: &NatsArgs, name: &str) -> Result<async_nats::Client, BusError> {
    let mut options = async_nats::ConnectOptions::new()
        .name(name)
        .connection_timeout(CONNECT_TIMEOUT)
        .max_reconnects(None)
        .event_callback(|event| async move {
            match event {
                async_nats::Event::Connected => tracing::info!("connected to NATS"),
                async_nats::Event::Disconnected => {
                    tracing::warn!("disconnected from NATS; reconnecting")
                }
                other => tracing::debug!(event = %other, "NATS event"),
            }
        });
    if let Some(path) = &args.nats_creds {
        options = options
            .credentials_file(path)
            .await
            .map_err(|e| BusError::Config(format!("NATS_CREDS {}: {e}", path.display())))?;
    }
    let (urls, user_info) = server_addresses(&args.nats_url)?;
    if let Some(info) = user_info {
        if args.nats_user.is_some() || args.nats_token.is_some() {
            return Err(BusError::Config(
                "NATS_URL carries credentials and NATS_USER or NATS_TOKEN is set too: use one"
                    .into(),
            ));
        }
        options = match info.password {
            Some(password) => options.user_and_password(info.user, password.expose().to_owned()),
            // `nats://token@host` carries a token.
            None => options.token(info.user),
        };
    }
    if let (Some(user), Some(password)) = (&args.nats_user, &args.nats_password) {
        options = options.user_and_password(user.clone(), password.expose().to_owned());
    }
    if let Some(token) = &args.nats_token {
        options = options.token(token.expose().to_owned());
    }
    if let Some(ca) = &args.nats_tls_ca {
        options = options.add_root_certificates(ca.clone()).require_tls(true);
    }
    if let (Some(cert), Some(key)) = (&args.nats_tls_cert, &args.nats_tls_key) {
        options = options
            .add_client_certificate(cert.clone(), key.clone())
            .require_tls(true);
    }
    options
        .connect(urls)
        .await
        .map_err(|e| BusError::Connect(crate::telemetry::error_chain(&e)))
}

/// The server addresses of `NATS_URL`, with any user info taken out (so the client never logs
/// it) and returned: every URL that carries some must carry the same.
fn server_addresses(
    urls: &[String],
) -> Result<
    (
        Vec<async_nats::ServerAddr>,
        Option<crate::credentials::UserInfo>,
    ),
    BusError,
> {
    let mut addresses = Vec::with_capacity(urls.len());
    let mut found: Option<crate::credentials::UserInfo> = None;
    for text in urls {
        let shown = crate::credentials::redact_text(text);
        let invalid = |e: &dyn std::fmt::Display| {
            BusError::Config(format!("NATS_URL: invalid server address {shown:?}: {e}"))
        };
        // A bare `host:port` is a NATS address too; it has no user info to take out.
        let with_scheme = if text.contains("://") {
            text.clone()
        } else {
            format!("nats://{text}")
        };
        let mut url = reqwest::Url::parse(&with_scheme).map_err(|e| invalid(&e))?;
        if let Some(info) = crate::credentials::take_user_info(&mut url) {
            if found.as_ref().is_some_and(|f| *f != info) {
                return Err(BusError::Config(
                    "NATS_URL: the servers carry different credentials; give one set (in the URLs, or NATS_USER/NATS_PASSWORD)".into(),
                ));
            }
            found = Some(info);
        }
        addresses.push(url.as_str().parse().map_err(|e| invalid(&e))?);
    }
    Ok((addresses, found))
}

/// Publishes to a stream subject and waits for the stream's acknowledgement, as a producer span
/// whose trace context travels in the message headers. `parent` is the trace the message belongs
/// to (an empty context starts a new one). A subject no stream listens on gets a hint to run
/// `catalog-sync setup`.
pub async fn publish(
    js: &async_nats::jetstream::Context,
    subject: &str,
    mut headers: async_nats::HeaderMap,
    body: Vec<u8>,
    parent: &crate::telemetry::TraceContext,
) -> Result<async_nats::jetstream::publish::PublishAck, BusError> {
    let message_id = headers
        .get(async_nats::header::NATS_MESSAGE_ID)
        .map(|v| v.as_str().to_owned())
        .unwrap_or_default();
    let span = tracing::info_span!(
        "publish",
        otel.name = format!("publish {subject}"),
        otel.kind = "producer",
        messaging.system = "nats",
        messaging.destination.name = subject,
        messaging.operation.type = "send",
        messaging.operation.name = "publish",
        messaging.message.id = message_id,
        messaging.message.body.size = body.len(),
        otel.status_code = tracing::field::Empty,
        otel.status_description = tracing::field::Empty,
    );
    let cx = crate::telemetry::adopt(&span, parent.clone());
    crate::telemetry::inject(&cx, &mut headers);
    let hint = |e: String| {
        BusError::JetStream(format!(
            "publishing to {subject}: {e} (are the streams set up? run `catalog-sync setup`)"
        ))
    };
    let published = async {
        js.publish_with_headers(subject.to_owned(), headers, body.into())
            .await
            .map_err(|e| hint(crate::telemetry::error_chain(&e)))?
            .await
            .map_err(|e| hint(crate::telemetry::error_chain(&e)))
    }
    .instrument(span.clone())
    .await;
    crate::telemetry::record_result(&span, &published);
    published
}
