//! What can go wrong talking to the upstream, and whether trying again can help.

use std::time::Duration;

use chrono::{DateTime, Utc};
use reqwest::StatusCode;
use reqwest::header::{HeaderMap, RETRY_AFTER};

use crate::telemetry::error_chain;

#[derive(Debug, thiserror::Error)]
pub enum UpstreamError {
    #[error("request timed out after {0:?}")]
    Timeout(Duration),
    #[error("could not reach the upstream: {0}")]
    Connect(String),
    #[error("upstream answered {status}{}", message.as_deref().map(|m| format!(": {m}")).unwrap_or_default())]
    Status {
        status: StatusCode,
        retry_after: Option<Duration>,
        message: Option<String>,
    },
    #[error("response body cut short: {0}")]
    BodyCut(String),
    #[error("response body is not valid JSON: {0}")]
    NotJson(String),
    #[error("response is JSON of an unexpected shape: {0}")]
    Shape(String),
    #[error("response body is larger than {0} bytes")]
    TooLarge(usize),
    #[error("{0}")]
    Config(&'static str),
    #[error("request failed: {0}")]
    Other(String),
}

impl UpstreamError {
    /// Timeouts, connection errors, 429, 5xx, bodies cut short or garbled: another attempt may
    /// succeed. Other 4xx and well-formed JSON of the wrong shape will not change by asking again.
    pub fn is_retryable(&self) -> bool {
        match self {
            UpstreamError::Timeout(_)
            | UpstreamError::Connect(_)
            | UpstreamError::BodyCut(_)
            | UpstreamError::NotJson(_) => true,
            UpstreamError::Status { status, .. } => {
                *status == StatusCode::TOO_MANY_REQUESTS
                    || *status == StatusCode::REQUEST_TIMEOUT
                    || status.is_server_error()
            }
            UpstreamError::Shape(_)
            | UpstreamError::TooLarge(_)
            | UpstreamError::Config(_)
            | UpstreamError::Other(_) => false,
        }
    }

    /// A low-cardinality name for the failure, the OpenTelemetry `error.type`: the status code
    /// for an HTTP error, otherwise the kind of fault.
    pub fn error_type(&self) -> String {
        match self {
            UpstreamError::Status { status, .. } => status.as_u16().to_string(),
            UpstreamError::Timeout(_) => "timeout".into(),
            UpstreamError::Connect(_) => "connect".into(),
            UpstreamError::BodyCut(_) => "body_cut".into(),
            UpstreamError::NotJson(_) => "not_json".into(),
            UpstreamError::Shape(_) => "shape".into(),
            UpstreamError::TooLarge(_) => "too_large".into(),
            UpstreamError::Config(_) => "config".into(),
            UpstreamError::Other(_) => "_OTHER".into(),
        }
    }

    /// The server's `Retry-After`, when it sent one.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            UpstreamError::Status { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    /// A mistake in the configuration (exit code 2), not a failure of the upstream.
    pub fn is_config(&self) -> bool {
        matches!(self, UpstreamError::Config(_))
    }

    /// The client's error, without the request's URL: errors name the page or product they
    /// are about, and a URL with every `select` field in it says nothing more.
    pub(crate) fn from_reqwest(e: reqwest::Error, timeout: Duration) -> Self {
        let e = e.without_url();
        if e.is_timeout() {
            UpstreamError::Timeout(timeout)
        } else if e.is_connect() || e.is_request() {
            UpstreamError::Connect(error_chain(&e))
        } else if e.is_body() || e.is_decode() {
            UpstreamError::BodyCut(error_chain(&e))
        } else {
            UpstreamError::Other(error_chain(&e))
        }
    }
}

/// `Retry-After` as delta-seconds or an HTTP date.
pub(crate) fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    parse_retry_after(value, Utc::now())
}

fn parse_retry_after(value: &str, now: DateTime<Utc>) -> Option<Duration> {
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = DateTime::parse_from_rfc2822(value)
        .ok()?
        .with_timezone(&Utc);
    Some((at - now).to_std().unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_reads_seconds_and_http_dates() {
        let now = DateTime::parse_from_rfc3339("2015-10-21T07:27:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(parse_retry_after("3", now), Some(Duration::from_secs(3)));
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now),
            Some(Duration::from_secs(60))
        );
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:00:00 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon", now), None);
    }

    #[test]
    fn only_transient_failures_are_retried() {
        let status = |code: u16| UpstreamError::Status {
            status: StatusCode::from_u16(code).unwrap(),
            retry_after: None,
            message: None,
        };
        assert!(status(429).is_retryable());
        assert!(status(500).is_retryable());
        assert!(status(503).is_retryable());
        assert!(!status(404).is_retryable());
        assert!(!status(401).is_retryable());
        assert!(UpstreamError::BodyCut("eof".into()).is_retryable());
        assert!(UpstreamError::Timeout(Duration::from_secs(1)).is_retryable());
        assert!(!UpstreamError::Shape("no products".into()).is_retryable());
    }
}
