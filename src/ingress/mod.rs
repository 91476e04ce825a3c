//! The webhook ingress: signed shop webhooks (Shopify, WooCommerce, Standard Webhooks) in,
//! `product.updated` and `catalog.sync.requested` messages on the bus out.
//!
//! A webhook is answered 200 only once JetStream acknowledged its message, so a 200 is never a
//! lost change. Each request is checked in this order: the body's size (413, before it is
//! read), its signature over the raw bytes (401), its content (400), then the bus (503 when it
//! does not acknowledge within [`ACK_TIMEOUT`]). Never 410: Standard Webhooks senders disable
//! an endpoint that answers it.

mod shops;
mod signature;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::routing::post;
use futures_util::StreamExt as _;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tracing::{Instrument as _, info, warn};
use tracing_opentelemetry::OpenTelemetrySpanExt as _;

use crate::bus;
use crate::metrics::metrics;
use crate::settings::Topology;
pub use shops::Sender;
use shops::{Action, Kind, Publication};
pub use signature::{Refused, Secrets, sign_base64};

/// The longest a webhook waits for JetStream's acknowledgement (and for its turn) before it is
/// answered 503; Shopify gives up after 5 s.
pub const ACK_TIMEOUT: Duration = Duration::from_secs(4);

/// Room left in the server's `max_payload` for the event around a carried body.
const ENVELOPE_ROOM: usize = 1024;

/// Bodies held in memory at once, each at most the size limit: the ingress's memory bound.
/// Webhooks beyond it wait for their turn (within [`ACK_TIMEOUT`]).
const BODIES_AT_ONCE: usize = 64;

/// The ingress's configuration.
#[derive(Clone, Debug)]
pub struct IngressSettings {
    /// Where the webhook routes listen (`INGRESS_LISTEN`).
    pub listen: SocketAddr,
    /// Each sender's secrets; a sender without any has no route (404).
    pub shopify: Option<Secrets>,
    pub woocommerce: Option<Secrets>,
    pub standard: Option<Secrets>,
    /// Largest body accepted; `None`: the NATS server's `max_payload` less room for the event.
    pub max_body_bytes: Option<usize>,
}

impl IngressSettings {
    pub fn secrets(&self, sender: Sender) -> Option<&Secrets> {
        match sender {
            Sender::Shopify => self.shopify.as_ref(),
            Sender::WooCommerce => self.woocommerce.as_ref(),
            Sender::Standard => self.standard.as_ref(),
        }
    }

    /// The senders with a route.
    pub fn senders(&self) -> Vec<Sender> {
        Sender::ALL
            .into_iter()
            .filter(|s| self.secrets(*s).is_some())
            .collect()
    }
}

/// A configuration value the ingress cannot use; names its variable, never shows a secret.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ConfigError(pub String);

/// How one webhook ended: its answer and its `outcome` label.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Outcome {
    Published,
    /// JetStream already held a message with this id (a retried delivery): 200.
    Duplicate,
    Ignored,
    Unauthorized,
    TooLarge,
    BadRequest,
    Unavailable,
}

impl Outcome {
    const ALL: [Outcome; 7] = [
        Outcome::Published,
        Outcome::Duplicate,
        Outcome::Ignored,
        Outcome::Unauthorized,
        Outcome::TooLarge,
        Outcome::BadRequest,
        Outcome::Unavailable,
    ];

    fn label(self) -> &'static str {
        match self {
            Outcome::Published => "published",
            Outcome::Duplicate => "duplicate",
            Outcome::Ignored => "ignored",
            Outcome::Unauthorized => "unauthorized",
            Outcome::TooLarge => "too_large",
            Outcome::BadRequest => "bad_request",
            Outcome::Unavailable => "unavailable",
        }
    }

    fn status(self) -> StatusCode {
        match self {
            Outcome::Published | Outcome::Duplicate | Outcome::Ignored => StatusCode::OK,
            Outcome::Unauthorized => StatusCode::UNAUTHORIZED,
            Outcome::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Outcome::BadRequest => StatusCode::BAD_REQUEST,
            Outcome::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        }
    }
}

struct Ingress {
    client: async_nats::Client,
    js: async_nats::jetstream::Context,
    topology: Topology,
    settings: IngressSettings,
    max_body: usize,
    bodies: tokio::sync::Semaphore,
}

/// Serves the webhook routes on `listener` until `shutdown`, publishing with `client`.
pub async fn serve(
    listener: tokio::net::TcpListener,
    client: async_nats::Client,
    topology: Topology,
    settings: IngressSettings,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    let server_limit = client
        .server_info()
        .max_payload
        .saturating_sub(ENVELOPE_ROOM);
    let max_body = settings
        .max_body_bytes
        .map_or(server_limit, |m| m.min(server_limit));
    let senders = settings.senders();
    let ingress = Arc::new(Ingress {
        js: async_nats::jetstream::new(client.clone()),
        client,
        topology,
        settings,
        max_body,
        bodies: tokio::sync::Semaphore::new(BODIES_AT_ONCE),
    });
    let mut app = Router::new();
    for sender in senders.iter().copied() {
        // Every outcome counted from zero, so that a first signature failure shows as an
        // increase.
        for outcome in Outcome::ALL {
            metrics().webhook(sender.name(), outcome.label(), 0);
        }
        app = app.route(
            sender.route(),
            post(
                move |State(ingress): State<Arc<Ingress>>, headers: HeaderMap, body: Body| async move {
                    ingress.receive(sender, headers, body).await
                },
            ),
        );
    }
    let addr = listener.local_addr()?;
    let routes: Vec<&str> = senders.iter().map(|s| s.route()).collect();
    info!(%addr, ?routes, max_body, "receiving webhooks");
    axum::serve(listener, app.with_state(ingress))
        .with_graceful_shutdown(async move { shutdown.cancelled().await })
        .await
}

impl Ingress {
    async fn receive(
        &self,
        sender: Sender,
        headers: HeaderMap,
        body: Body,
    ) -> (StatusCode, String) {
        let span = tracing::info_span!(
            "webhook",
            otel.name = format!("POST {}", sender.route()),
            otel.kind = "server",
            http.request.method = "POST",
            http.route = sender.route(),
            webhook.source = sender.name(),
            webhook.outcome = tracing::field::Empty,
            product_id = tracing::field::Empty,
            http.response.status_code = tracing::field::Empty,
            otel.status_code = tracing::field::Empty,
            otel.status_description = tracing::field::Empty,
        );
        let (outcome, text) = self
            .handle(sender, &headers, body, &span)
            .instrument(span.clone())
            .await;
        let status = outcome.status();
        span.record("webhook.outcome", outcome.label());
        span.record("http.response.status_code", status.as_u16());
        if status.is_server_error() {
            span.record("otel.status_code", "ERROR");
            span.record("otel.status_description", text.as_str());
        }
        metrics().webhook(sender.name(), outcome.label(), 1);
        (status, format!("{text}\n"))
    }

    async fn handle(
        &self,
        sender: Sender,
        headers: &HeaderMap,
        body: Body,
        span: &tracing::Span,
    ) -> (Outcome, String) {
        let too_large = || {
            (
                Outcome::TooLarge,
                format!("the body is over {} bytes", self.max_body),
            )
        };
        let declared = headers
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok()?.parse::<usize>().ok());
        if declared.is_some_and(|n| n > self.max_body) {
            return too_large();
        }
        let deadline = Instant::now() + ACK_TIMEOUT;
        let Ok(Ok(_turn)) = tokio::time::timeout_at(deadline, self.bodies.acquire()).await else {
            return (
                Outcome::Unavailable,
                "too many webhooks at once; send it again".into(),
            );
        };
        let body = match tokio::time::timeout_at(deadline, read_limited(body, self.max_body)).await
        {
            Ok(Ok(body)) => body,
            Ok(Err(ReadError::TooLarge)) => return too_large(),
            Ok(Err(ReadError::Failed(e))) => {
                return (
                    Outcome::BadRequest,
                    format!("the body could not be read: {e}"),
                );
            }
            Err(_) => {
                return (
                    Outcome::Unavailable,
                    "the body did not arrive in time".into(),
                );
            }
        };
        let action = match self.verify(sender, headers, &body) {
            Ok(()) => match sender {
                Sender::Shopify => shops::shopify(headers, &body),
                Sender::WooCommerce => shops::woocommerce(headers, &body),
                Sender::Standard => shops::standard(headers, &body),
            },
            // WooCommerce's activation ping comes unsigned.
            Err(Refused::Missing(_))
                if sender == Sender::WooCommerce && shops::is_woocommerce_ping(&body) =>
            {
                Ok(Action::Ignore("WooCommerce ping".into()))
            }
            Err(refused) => {
                tracing::debug!(source = sender.name(), %refused, "webhook refused");
                return (
                    Outcome::Unauthorized,
                    format!("signature refused: {refused}"),
                );
            }
        };
        match action {
            Err(unreadable) => (Outcome::BadRequest, unreadable.0),
            Ok(Action::Ignore(why)) => (Outcome::Ignored, format!("nothing to do: {why}")),
            Ok(Action::Publish(publication)) => {
                if let Some(id) = &publication.product_id {
                    span.record("product_id", id.as_str());
                }
                self.publish(publication, deadline, span).await
            }
        }
    }

    fn verify(&self, sender: Sender, headers: &HeaderMap, body: &[u8]) -> Result<(), Refused> {
        let secrets = self
            .settings
            .secrets(sender)
            .expect("a route exists only for a sender with secrets");
        let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
        match sender {
            Sender::Shopify => secrets.verify_base64(
                "X-Shopify-Hmac-Sha256",
                header("x-shopify-hmac-sha256"),
                body,
            ),
            Sender::WooCommerce => secrets.verify_base64(
                "X-WC-Webhook-Signature",
                header("x-wc-webhook-signature"),
                body,
            ),
            Sender::Standard => secrets.verify_standard(
                header("webhook-id"),
                header("webhook-timestamp"),
                header("webhook-signature"),
                body,
                chrono::Utc::now(),
            ),
        }
    }

    async fn publish(
        &self,
        publication: Publication,
        deadline: Instant,
        span: &tracing::Span,
    ) -> (Outcome, String) {
        if self.client.connection_state() != async_nats::connection::State::Connected {
            return (
                Outcome::Unavailable,
                "the bus is not reachable; send it again".into(),
            );
        }
        let subject = match publication.kind {
            Kind::ProductUpdated => &self.topology.updated_subject,
            Kind::SyncRequested => &self.topology.requested_subject,
        };
        let mut headers = async_nats::HeaderMap::new();
        if let Some(id) = &publication.message_id {
            headers.insert(async_nats::header::NATS_MESSAGE_ID, id.as_str());
        }
        let published = tokio::time::timeout_at(
            deadline,
            bus::publish(
                &self.js,
                subject,
                headers,
                publication.body,
                &span.context(),
            ),
        )
        .await;
        match published {
            Ok(Ok(ack)) if ack.duplicate => (
                Outcome::Duplicate,
                format!("already received (stream sequence {})", ack.sequence),
            ),
            Ok(Ok(ack)) => (
                Outcome::Published,
                format!("published (stream sequence {})", ack.sequence),
            ),
            Ok(Err(e)) => {
                warn!(error = %crate::telemetry::error_chain(&e), %subject, "could not publish a webhook; answered 503");
                (
                    Outcome::Unavailable,
                    "the bus did not take it; send it again".into(),
                )
            }
            Err(_) => {
                warn!(%subject, timeout = ?ACK_TIMEOUT, "the bus did not acknowledge a webhook in time; answered 503");
                (
                    Outcome::Unavailable,
                    "the bus did not acknowledge in time; send it again".into(),
                )
            }
        }
    }
}

enum ReadError {
    TooLarge,
    Failed(String),
}

/// The body, refused as soon as it grows past `limit` (a body without a length is read only
/// that far).
async fn read_limited(body: Body, limit: usize) -> Result<Vec<u8>, ReadError> {
    let mut stream = body.into_data_stream();
    let mut read = Vec::new();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| ReadError::Failed(e.to_string()))?;
        if read.len() + chunk.len() > limit {
            return Err(ReadError::TooLarge);
        }
        read.extend_from_slice(&chunk);
    }
    Ok(read)
}
