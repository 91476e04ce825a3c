//! The Medusa Admin API over HTTP: the secret key as basic auth, timeouts, and bounded retries
//! with the upstream's backoff policy and `Retry-After`.

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use backon::{ExponentialBuilder, Retryable};
use reqwest::header::{AUTHORIZATION, HeaderMap, HeaderValue};
use reqwest::{Method, StatusCode, Url};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tracing::{Instrument, info_span, warn};

use crate::metrics::metrics;
use crate::settings::MedusaSettings;
use crate::telemetry::error_chain;

/// Largest answer read, so a runaway response cannot take unbounded memory.
const MAX_BODY_BYTES: usize = 64 * 1024 * 1024;

/// Why a Medusa request failed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum MedusaError {
    /// Medusa answered with an error status; `kind` and `message` are its own words.
    #[error("Medusa answered {status}{}", describe(.kind, .message))]
    Status {
        status: StatusCode,
        kind: Option<String>,
        message: Option<String>,
        retry_after: Option<Duration>,
    },
    /// No answer: connection refused or reset, or a timeout. `maybe_received`: the request may
    /// have reached Medusa (anything but a refused connection).
    #[error("Medusa did not answer: {message}")]
    Transport {
        message: String,
        maybe_received: bool,
    },
    /// An answer that is not what the Admin API sends.
    #[error("unexpected answer from Medusa: {0}")]
    Decode(String),
    #[error("{0}")]
    Config(String),
}

fn describe(kind: &Option<String>, message: &Option<String>) -> String {
    match (kind, message) {
        (Some(kind), Some(message)) => format!(" ({kind}): {message}"),
        (None, Some(message)) => format!(": {message}"),
        (Some(kind), None) => format!(" ({kind})"),
        (None, None) => String::new(),
    }
}

impl MedusaError {
    /// Worth sending again: no answer, too many requests, or a server error.
    pub fn is_retryable(&self) -> bool {
        match self {
            MedusaError::Transport { .. } => true,
            MedusaError::Status { status, .. } => {
                *status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error()
            }
            MedusaError::Decode(_) | MedusaError::Config(_) => false,
        }
    }

    /// Worth sending again even when the request creates something: Medusa certainly did not
    /// carry it out (the connection was refused, or Medusa said it is too busy or unavailable).
    /// A timed-out create is never sent again blindly: the next push looks up what it made.
    pub fn is_safe_to_resend(&self) -> bool {
        match self {
            MedusaError::Transport { maybe_received, .. } => !maybe_received,
            MedusaError::Status { status, .. } => matches!(
                *status,
                StatusCode::TOO_MANY_REQUESTS | StatusCode::SERVICE_UNAVAILABLE
            ),
            MedusaError::Decode(_) | MedusaError::Config(_) => false,
        }
    }

    /// Medusa refused what was sent (validation, a taken handle or sku, a missing record):
    /// sending it again unchanged fails the same way, but a batch without the culprit may pass.
    pub fn is_refusal(&self) -> bool {
        matches!(self, MedusaError::Status { status, .. }
            if status.is_client_error()
                && !matches!(*status, StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN | StatusCode::TOO_MANY_REQUESTS))
    }

    /// Medusa says the record asked for does not exist.
    pub fn is_not_found(&self) -> bool {
        matches!(self, MedusaError::Status { status, .. } if *status == StatusCode::NOT_FOUND)
    }

    fn retry_after(&self) -> Option<Duration> {
        match self {
            MedusaError::Status { retry_after, .. } => *retry_after,
            _ => None,
        }
    }
}

/// The Admin API client. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Client {
    http: reqwest::Client,
    base: Url,
    backoff: ExponentialBuilder,
    retry_max_delay: Duration,
}

/// Medusa's error body: `{"type": "...", "message": "..."}`.
#[derive(serde::Deserialize)]
struct ErrorBody {
    #[serde(rename = "type")]
    kind: Option<String>,
    message: Option<String>,
}

impl Client {
    pub fn new(settings: &MedusaSettings) -> Result<Client, MedusaError> {
        let mut headers = HeaderMap::new();
        let mut auth = {
            use base64::Engine as _;
            let pair = format!("{}:", settings.api_key.expose());
            HeaderValue::try_from(format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(pair)
            ))
            .map_err(|_| MedusaError::Config("MEDUSA_API_KEY is not a valid header value".into()))?
        };
        auth.set_sensitive(true);
        headers.insert(AUTHORIZATION, auth);
        let http = reqwest::Client::builder()
            .user_agent(concat!("catalog-sync/", env!("CARGO_PKG_VERSION")))
            .default_headers(headers)
            // The key goes with every request: never follow a redirect.
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(settings.connect_timeout)
            .timeout(settings.request_timeout)
            .build()
            .map_err(|e| MedusaError::Config(format!("MEDUSA_URL: {}", error_chain(&e))))?;
        let mut base = settings.url.clone();
        if !base.path().ends_with('/') {
            base.set_path(&format!("{}/", base.path()));
        }
        Ok(Client {
            http,
            base,
            backoff: crate::retry::backoff(
                settings.retry_min_delay,
                settings.retry_max_delay,
                settings.max_retries as usize,
            ),
            retry_max_delay: settings.retry_max_delay,
        })
    }

    /// `GET path?query`, retried.
    pub async fn get<T: DeserializeOwned>(
        &self,
        path: &str,
        query: &[(&str, &str)],
    ) -> Result<T, MedusaError> {
        self.send(Method::GET, path, query, None::<&()>).await
    }

    /// `POST path` with a JSON body, retried only when Medusa certainly did not carry it out
    /// (see [`MedusaError::is_safe_to_resend`]).
    pub async fn post<B: Serialize + ?Sized, T: DeserializeOwned>(
        &self,
        path: &str,
        query: &[(&str, &str)],
        body: &B,
    ) -> Result<T, MedusaError> {
        self.send(Method::POST, path, query, Some(body)).await
    }

    async fn send<B: Serialize + ?Sized, T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, &str)],
        body: Option<&B>,
    ) -> Result<T, MedusaError> {
        let mut url = self
            .base
            .join(path)
            .map_err(|e| MedusaError::Config(format!("MEDUSA_URL: {e}")))?;
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query);
        }
        let body = match body {
            Some(body) => {
                Some(serde_json::to_vec(body).map_err(|e| MedusaError::Decode(e.to_string()))?)
            }
            None => None,
        };
        let span = info_span!(
            "medusa.request",
            otel.kind = "client",
            http.request.method = %method,
            url.path = url.path(),
            server.address = url.host_str().unwrap_or_default(),
            server.port = url.port_or_known_default().unwrap_or_default(),
            attempts = tracing::field::Empty,
            http.response.status_code = tracing::field::Empty,
            otel.status_code = tracing::field::Empty,
            otel.status_description = tracing::field::Empty,
        );
        let max_delay = self.retry_max_delay;
        let sent = AtomicU32::new(0);
        let result = (|| {
            sent.fetch_add(1, Ordering::Relaxed);
            self.once(method.clone(), &url, body.as_deref())
        })
        .retry(self.backoff)
        .sleep(tokio::time::sleep)
        .when(|e| {
            if method == Method::GET {
                e.is_retryable()
            } else {
                e.is_safe_to_resend()
            }
        })
        .adjust(move |e, delay| delay.map(|d| e.retry_after().map_or(d, |w| w.min(max_delay))))
        .notify(|e, delay| {
            warn!(
                error = %e,
                retry_in_ms = delay.as_millis() as u64,
                "Medusa request failed, retrying"
            );
        })
        .instrument(span.clone())
        .await;
        span.record("attempts", sent.load(Ordering::Relaxed));
        crate::telemetry::record_result(&span, &result);
        let bytes = result?;
        serde_json::from_slice(&bytes).map_err(|e| MedusaError::Decode(e.to_string()))
    }

    async fn once(
        &self,
        method: Method,
        url: &Url,
        body: Option<&[u8]>,
    ) -> Result<Vec<u8>, MedusaError> {
        let mut request = self.http.request(method.clone(), url.clone());
        if let Some(body) = body {
            request = request
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(body.to_vec());
        }
        let response = request.send().await.map_err(|e| {
            metrics().medusa_request(method.as_str(), None);
            MedusaError::Transport {
                maybe_received: !e.is_connect(),
                message: error_chain(&e.without_url()),
            }
        })?;
        let status = response.status();
        metrics().medusa_request(method.as_str(), Some(status.as_u16()));
        tracing::Span::current().record("http.response.status_code", status.as_u16());
        let retry_after = crate::upstream::retry_after(response.headers());
        if response.content_length().unwrap_or(0) as usize > MAX_BODY_BYTES {
            return Err(MedusaError::Decode(format!(
                "an answer over {MAX_BODY_BYTES} bytes"
            )));
        }
        let bytes = response.bytes().await.map_err(|e| MedusaError::Transport {
            maybe_received: true,
            message: error_chain(&e.without_url()),
        })?;
        if !status.is_success() {
            let error: Option<ErrorBody> = serde_json::from_slice(&bytes).ok();
            return Err(MedusaError::Status {
                status,
                kind: error.as_ref().and_then(|e| e.kind.clone()),
                message: error.and_then(|e| e.message),
                retry_after,
            });
        }
        Ok(bytes.to_vec())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_are_client_errors_other_than_auth_and_rate_limits() {
        let status = |code: u16| MedusaError::Status {
            status: StatusCode::from_u16(code).unwrap(),
            kind: None,
            message: None,
            retry_after: None,
        };
        assert!(status(400).is_refusal());
        assert!(status(404).is_refusal() && status(404).is_not_found());
        assert!(!status(401).is_refusal() && !status(401).is_retryable());
        assert!(!status(429).is_refusal() && status(429).is_retryable());
        assert!(status(503).is_retryable() && !status(503).is_refusal());
        let refused = MedusaError::Transport {
            message: "connection refused".into(),
            maybe_received: false,
        };
        let timed_out = MedusaError::Transport {
            message: "timed out".into(),
            maybe_received: true,
        };
        assert!(refused.is_retryable() && refused.is_safe_to_resend());
        assert!(timed_out.is_retryable() && !timed_out.is_safe_to_resend());
        assert!(status(503).is_safe_to_resend() && !status(500).is_safe_to_resend());
    }

    #[test]
    fn errors_quote_medusa_once() {
        let e = MedusaError::Status {
            status: StatusCode::BAD_REQUEST,
            kind: Some("invalid_data".into()),
            message: Some("Product variant with sku: S1, already exists.".into()),
            retry_after: None,
        };
        assert_eq!(
            e.to_string(),
            "Medusa answered 400 Bad Request (invalid_data): Product variant with sku: S1, already exists."
        );
    }
}
