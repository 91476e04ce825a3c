//! What can go wrong talking to the upstream, and whether trying again can help.

use std::time::Duration;

use chrono::{DateTime, Utc};
use reqwest::StatusCode;
use reqwest::header::{CONTENT_TYPE, HeaderMap, RETRY_AFTER};

use crate::telemetry::error_chain;

#[derive(Debug, thiserror::Error)]
pub enum UpstreamError {
    #[error("request to the upstream at {origin} timed out after {after:?}")]
    Timeout { origin: String, after: Duration },
    #[error("could not reach the upstream at {origin}: {reason}")]
    Connect { origin: String, reason: String },
    #[error("the upstream at {origin} answered {status}{}", message.as_deref().map(|m| format!(": {m}")).unwrap_or_default())]
    Status {
        origin: String,
        status: StatusCode,
        retry_after: Option<Duration>,
        message: Option<String>,
    },
    #[error("response body cut short: {0}")]
    BodyCut(String),
    #[error("response body is not valid JSON: {0}")]
    NotJson(String),
    /// A success answer that is not JSON at all (a web page, plain text), as opposed to a JSON
    /// answer with a flaw ([`UpstreamError::NotJson`]).
    #[error(
        "the upstream at {origin} answered {status} with {content_type}, not JSON: it begins {start:?}; is the URL the API's product endpoint?"
    )]
    NotJsonAnswer {
        origin: String,
        status: StatusCode,
        /// The answer's `Content-Type`, or `no Content-Type`.
        content_type: String,
        /// The body's first characters, printable, bounded by [`ANSWER_START_CHARS`].
        start: String,
    },
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
    /// Nor will a success answer that is not JSON at all: an upstream down for maintenance says
    /// so with 503 (retried like any 5xx); a 200 web page is a wrong URL, or a proxy's or
    /// shop's page, and asking again within seconds brings the same page. The next sync (or the
    /// request's next delivery) asks again, at the pace of a maintenance window.
    pub fn is_retryable(&self) -> bool {
        match self {
            UpstreamError::Timeout { .. }
            | UpstreamError::Connect { .. }
            | UpstreamError::BodyCut(_)
            | UpstreamError::NotJson(_) => true,
            UpstreamError::Status { status, .. } => {
                *status == StatusCode::TOO_MANY_REQUESTS
                    || *status == StatusCode::REQUEST_TIMEOUT
                    || status.is_server_error()
            }
            UpstreamError::Shape(_)
            | UpstreamError::NotJsonAnswer { .. }
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
            UpstreamError::Timeout { .. } => "timeout".into(),
            UpstreamError::Connect { .. } => "connect".into(),
            UpstreamError::BodyCut(_) => "body_cut".into(),
            UpstreamError::NotJson(_) => "not_json".into(),
            UpstreamError::NotJsonAnswer { .. } => "not_json_answer".into(),
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

    /// The client's error, naming the upstream by its origin (`origin`, from [`origin`]) and not
    /// by the request's URL: errors name the page or product they are about, and a URL with
    /// every `select` field in it (or a key in its query) says nothing more.
    pub(crate) fn from_reqwest(e: reqwest::Error, timeout: Duration, origin: String) -> Self {
        let e = e.without_url();
        if e.is_timeout() {
            UpstreamError::Timeout {
                origin,
                after: timeout,
            }
        } else if e.is_connect() || e.is_request() {
            UpstreamError::Connect {
                origin,
                reason: error_chain(&e),
            }
        } else if e.is_body() || e.is_decode() {
            UpstreamError::BodyCut(format!("{} (from {origin})", error_chain(&e)))
        } else {
            UpstreamError::Other(format!("{} (to {origin})", error_chain(&e)))
        }
    }

    /// A success answer whose body is not JSON at all, or `None` when it may be JSON (it
    /// starts like a JSON object or array, or is empty): those are the decoder's to judge.
    pub(crate) fn not_json_answer(
        origin: String,
        status: StatusCode,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Option<Self> {
        let text = body.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(body);
        let first = text.iter().find(|b| !b.is_ascii_whitespace())?;
        if matches!(first, b'{' | b'[') {
            return None;
        }
        let content_type = headers.get(CONTENT_TYPE).map_or_else(
            || "no Content-Type".to_owned(),
            |v| printable(&String::from_utf8_lossy(v.as_bytes()), 100),
        );
        let cut = &body[..body.len().min(ANSWER_START_CHARS * 4)];
        Some(UpstreamError::NotJsonAnswer {
            origin,
            status,
            content_type,
            start: printable(&String::from_utf8_lossy(cut), ANSWER_START_CHARS),
        })
    }
}

/// How much of an answer that is not JSON an error quotes.
pub const ANSWER_START_CHARS: usize = 120;

/// `url`'s scheme, host and port (the scheme's default when not written): what errors name
/// the upstream by. Never its user info, path or query, where credentials may stand.
pub(crate) fn origin(url: &reqwest::Url) -> String {
    match (url.host_str(), url.port_or_known_default()) {
        (Some(host), Some(port)) => format!("{}://{host}:{port}", url.scheme()),
        (Some(host), None) => format!("{}://{host}", url.scheme()),
        _ => url.scheme().to_owned(),
    }
}

/// `text` on one line, at most `max` characters: runs of whitespace become one space, other
/// control characters U+FFFD, and an ellipsis marks a cut.
fn printable(text: &str, max: usize) -> String {
    let one_line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut out: String = one_line
        .chars()
        .take(max)
        .map(|c| if c.is_control() { '\u{FFFD}' } else { c })
        .collect();
    if one_line.chars().count() > max {
        out.push('…');
    }
    out
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
            origin: "http://127.0.0.1:8090".into(),
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
        assert!(
            UpstreamError::Timeout {
                origin: "http://127.0.0.1:8090".into(),
                after: Duration::from_secs(1)
            }
            .is_retryable()
        );
        assert!(!UpstreamError::Shape("no products".into()).is_retryable());
    }

    #[test]
    fn errors_name_the_origin_never_its_credentials_path_or_query() {
        let url = reqwest::Url::parse("http://shop:pw@127.0.0.1/products?key=s3cret").unwrap();
        assert_eq!(origin(&url), "http://127.0.0.1:80");
        let url = reqwest::Url::parse("https://[::1]:8443/p").unwrap();
        assert_eq!(origin(&url), "https://[::1]:8443");
    }

    #[test]
    fn an_answer_that_is_not_json_says_what_arrived() {
        let mut headers = HeaderMap::new();
        headers.insert(CONTENT_TYPE, "text/html; charset=utf-8".parse().unwrap());
        let page = format!(
            "\n  <!DOCTYPE html>\n<html>\t<title>Down\u{7}</title>{}",
            "x".repeat(500)
        );
        let e = UpstreamError::not_json_answer(
            "http://127.0.0.1:8090".into(),
            StatusCode::OK,
            &headers,
            page.as_bytes(),
        )
        .expect("a web page is not JSON");
        assert!(!e.is_retryable());
        let said = e.to_string();
        assert!(
            said.starts_with(
                "the upstream at http://127.0.0.1:8090 answered 200 OK with text/html; charset=utf-8, not JSON: it begins \"<!DOCTYPE html> <html> <title>Down\u{FFFD}</title>xxx"
            ),
            "{said}"
        );
        let UpstreamError::NotJsonAnswer { start, .. } = &e else {
            unreachable!()
        };
        assert_eq!(start.chars().count(), ANSWER_START_CHARS + 1, "{start}");
        assert!(start.ends_with('…'));
        // JSON, even flawed, and an empty body are the decoder's to judge.
        for body in [
            &b" {\"products\": [tru"[..],
            b"\xEF\xBB\xBF[1]",
            b"",
            b"  \n",
        ] {
            assert!(
                UpstreamError::not_json_answer(String::new(), StatusCode::OK, &headers, body)
                    .is_none()
            );
        }
    }
}
