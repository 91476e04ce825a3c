//! The NATS JetStream adapter: connection options, the names of streams, subjects and
//! consumers, and creating or updating them from the definitions in `nats/`.

pub mod dead;
mod setup;

use std::time::Duration;

use tracing::Instrument as _;

use crate::settings::NatsSettings;
pub use crate::settings::Topology;

pub use setup::{SetupReport, consumer_is_gone, setup};

#[derive(Debug, thiserror::Error)]
pub enum BusError {
    #[error(
        "could not connect to NATS at {servers}: {reason}; is nats-server running there (NATS_URL)?"
    )]
    Connect { servers: String, reason: String },
    #[error(
        "NATS at {servers} runs without JetStream{scope}, which catalog-sync needs: start nats-server with -js (nats-server -js -sd DIR), or with the configuration in the project's nats/ folder, which enables it (nats-server -c nats/nats-server.conf)"
    )]
    NoJetStream {
        servers: String,
        /// Empty when the server has no JetStream at all; `" for this account"` when the
        /// server has it but the account NATS_URL logs in as does not.
        scope: &'static str,
    },
    #[error("{0}")]
    Config(String),
    #[error("JetStream: {0}")]
    JetStream(String),
}

impl BusError {
    /// Whether the same call may succeed later: a JetStream API call can time out on a busy
    /// server, or race another replica creating the same stream; a bad definition or refused
    /// credentials will not change.
    pub fn is_retryable(&self) -> bool {
        matches!(self, BusError::JetStream(_))
    }

    /// A mistake in the configuration (exit code 2), not a failure of NATS.
    pub fn is_config(&self) -> bool {
        matches!(self, BusError::Config(_))
    }
}

/// How long [`flush`] waits for the server before the process exits anyway.
const FLUSH_TIMEOUT: Duration = Duration::from_secs(5);

/// Sends what is still buffered (acks, progress) before the process exits. Bounded: with the
/// server gone, the client would wait for a reconnection that never comes.
pub async fn flush(client: &async_nats::Client) {
    match tokio::time::timeout(FLUSH_TIMEOUT, client.flush()).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => {
            tracing::warn!(error = %crate::telemetry::error_chain(&e), "could not flush the NATS connection")
        }
        Err(_) => {
            tracing::warn!(timeout = ?FLUSH_TIMEOUT, "NATS did not take the last messages in time; exiting")
        }
    }
}

/// How long one connection attempt may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Connects with the configured credentials, and makes sure the server has JetStream. After
/// the first connection, the client reconnects by itself for as long as the process runs.
pub async fn connect(settings: &NatsSettings, name: &str) -> Result<async_nats::Client, BusError> {
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
    if let Some(path) = &settings.creds {
        options = options
            .credentials_file(path)
            .await
            .map_err(|e| BusError::Config(format!("NATS_CREDS {}: {e}", path.display())))?;
    }
    let (urls, user_info) = server_addresses(&settings.urls)?;
    if let Some(info) = user_info {
        if settings.user.is_some() || settings.token.is_some() {
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
    if let (Some(user), Some(password)) = (&settings.user, &settings.password) {
        options = options.user_and_password(user.clone(), password.expose().to_owned());
    }
    if let Some(token) = &settings.token {
        options = options.token(token.expose().to_owned());
    }
    if let Some(ca) = &settings.tls_ca {
        options = options.add_root_certificates(ca.clone()).require_tls(true);
    }
    if let (Some(cert), Some(key)) = (&settings.tls_cert, &settings.tls_key) {
        options = options
            .add_client_certificate(cert.clone(), key.clone())
            .require_tls(true);
    }
    let client = options.connect(urls).await.map_err(|e| BusError::Connect {
        servers: shown_urls(&settings.urls),
        reason: crate::telemetry::error_chain(&e),
    })?;
    require_jetstream(&client, &settings.urls).await?;
    Ok(client)
}

/// How long [`require_jetstream`] waits for an answer. "No responders" comes back at once;
/// a cluster without a meta leader may not answer at all, and must not hold the start-up long.
const JETSTREAM_CHECK_TIMEOUT: Duration = Duration::from_secs(2);

/// Fails at once when the server has no JetStream: every JetStream call would otherwise be
/// retried and end in "requested JetStream resource does not exist". A server without it has
/// no one to answer the account-info request (no responders); one with JetStream off for the
/// account says so. Any other outcome (an answer, a slow or leaderless cluster) is left to the
/// calls that follow.
async fn require_jetstream(client: &async_nats::Client, urls: &[String]) -> Result<(), BusError> {
    use async_nats::jetstream::ErrorCode;
    use async_nats::jetstream::context::AccountErrorKind;
    let js = async_nats::jetstream::new(client.clone());
    let Ok(answer) = tokio::time::timeout(JETSTREAM_CHECK_TIMEOUT, js.query_account()).await else {
        return Ok(());
    };
    let scope = match answer.map_err(|e| e.kind()) {
        Err(AccountErrorKind::JetStreamUnavailable) => "",
        Err(AccountErrorKind::JetStream(e))
            if e.error_code() == ErrorCode::JETSTREAM_NOT_ENABLED =>
        {
            ""
        }
        Err(AccountErrorKind::JetStream(e))
            if e.error_code() == ErrorCode::JETSTREAM_NOT_ENABLED_FOR_ACCOUNT =>
        {
            " for this account"
        }
        _ => return Ok(()),
    };
    Err(BusError::NoJetStream {
        servers: shown_urls(urls),
        scope,
    })
}

/// `NATS_URL` as it may be shown: redacted as the value it was written as, so a comma in a
/// password (which splits the list) does not leave half of it in view.
fn shown_urls(urls: &[String]) -> String {
    crate::credentials::redact_urls(&urls.join(","))
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
    for (n, text) in urls.iter().enumerate() {
        let invalid = |e: &dyn std::fmt::Display| {
            BusError::Config(format!(
                "NATS_URL: server address {} of {:?} is not valid: {e}",
                n + 1,
                shown_urls(urls)
            ))
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
