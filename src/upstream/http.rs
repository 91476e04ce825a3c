//! The HTTP side of the upstream client: credentials as sensitive default headers, redirects
//! that never leave the origin, the client-side rate limit, timeouts, and bounded retries with
//! exponential backoff, jitter and `Retry-After`.

use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use backon::{ExponentialBuilder, Retryable};
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use reqwest::header::{AUTHORIZATION, HeaderMap, HeaderValue};
use reqwest::{StatusCode, Url};
use tracing::{Instrument, debug, info_span, warn};
use tracing_opentelemetry::OpenTelemetrySpanExt as _;

use super::{UpstreamError, error, wire};
use crate::metrics::metrics;
use crate::settings::UpstreamSettings;
use crate::source::{Auth, RateLimit};
use crate::telemetry::error_chain;

/// Largest response body accepted, so one page can never take unbounded memory.
const MAX_BODY_BYTES: usize = 64 * 1024 * 1024;

/// Most redirects followed for one request.
const MAX_REDIRECTS: usize = 10;

/// An answer: its headers and its body.
pub(super) struct Answer {
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

/// The HTTP client every upstream request of the process goes through.
#[derive(Clone, Debug)]
pub(super) struct Http {
    client: reqwest::Client,
    /// Shared by every clone, so the limit holds for the whole process.
    limiter: Option<Arc<DefaultDirectRateLimiter>>,
    /// The configured URL carried user info: shown URLs say so, redacted.
    redact_user_info: bool,
    backoff: ExponentialBuilder,
    retry_max_delay: Duration,
    request_timeout: Duration,
}

/// The request headers that carry `auth`, marked sensitive so they are never logged.
pub(super) fn auth_headers(auth: &Auth) -> Result<HeaderMap, UpstreamError> {
    let mut headers = HeaderMap::new();
    let sensitive = |text: String, what: &'static str| {
        HeaderValue::try_from(text)
            .map(|mut value| {
                value.set_sensitive(true);
                value
            })
            .map_err(|_| UpstreamError::Config(what))
    };
    match auth {
        Auth::None => {}
        Auth::Bearer { token } => {
            headers.insert(
                AUTHORIZATION,
                sensitive(
                    format!("Bearer {}", token.expose()),
                    "the bearer token is not a valid header value",
                )?,
            );
        }
        Auth::Header { name, value } => {
            headers.insert(
                name.clone(),
                sensitive(
                    value.expose().to_owned(),
                    "the API key is not a valid header value",
                )?,
            );
        }
        Auth::Basic { user, password } => {
            use base64::Engine as _;
            let pair = format!("{user}:{}", password.expose());
            let encoded = base64::engine::general_purpose::STANDARD.encode(pair);
            headers.insert(
                AUTHORIZATION,
                sensitive(
                    format!("Basic {encoded}"),
                    "the basic credentials are not a valid header value",
                )?,
            );
        }
    }
    Ok(headers)
}

/// The spacing of requests that keeps `limit` over any interval of its length: a little over
/// `per / requests`, so network jitter cannot put one request too many into a server's window.
pub(super) fn spacing(limit: &RateLimit) -> Duration {
    limit.per.mul_f64(1.06) / limit.requests
}

impl Http {
    pub fn new(
        settings: &UpstreamSettings,
        headers: HeaderMap,
        rate_limit: Option<&RateLimit>,
        redact_user_info: bool,
    ) -> Result<Http, UpstreamError> {
        // Credentials go with every request: a redirect to another origin is not followed.
        let redirects = reqwest::redirect::Policy::custom(|attempt| {
            let leaves = attempt
                .previous()
                .first()
                .is_some_and(|first| first.origin() != attempt.url().origin());
            if leaves {
                attempt.stop()
            } else if attempt.previous().len() > MAX_REDIRECTS {
                attempt.error("too many redirects")
            } else {
                attempt.follow()
            }
        });
        let client = reqwest::Client::builder()
            .user_agent(concat!("catalog-sync/", env!("CARGO_PKG_VERSION")))
            .default_headers(headers)
            .redirect(redirects)
            .connect_timeout(settings.connect_timeout)
            .timeout(settings.request_timeout)
            .build()
            .map_err(|e| UpstreamError::Other(error_chain(&e)))?;
        // One request per spacing, no bursts: the limit holds over any interval, whatever the
        // server's window (fixed, sliding or a leaky bucket).
        let limiter = rate_limit.map(|limit| {
            let quota = Quota::with_period(spacing(limit))
                .expect("a rate limit's spacing is longer than zero")
                .allow_burst(NonZeroU32::MIN);
            Arc::new(RateLimiter::direct(quota))
        });
        Ok(Http {
            client,
            limiter,
            redact_user_info,
            backoff: crate::retry::backoff(
                settings.retry_min_delay,
                settings.retry_max_delay,
                settings.max_retries as usize,
            ),
            retry_max_delay: settings.retry_max_delay,
            request_timeout: settings.request_timeout,
        })
    }

    /// `url` as spans show it: with `REDACTED:REDACTED@` when the configured URL carried user
    /// info (it is sent as a header instead).
    pub fn shown(&self, url: &Url) -> String {
        if !self.redact_user_info {
            return url.to_string();
        }
        let mut shown = url.clone();
        let _ = shown.set_username("REDACTED");
        let _ = shown.set_password(Some("REDACTED"));
        shown.to_string()
    }

    /// Runs `attempt` under the retry policy, inside the caller's span: each retry is a warning
    /// there (an event on the exported span) and the outcome becomes the span's status.
    /// `attempt` is told how many times the request was sent before.
    pub async fn with_retries<T, F, Fut>(&self, mut attempt: F) -> Result<T, UpstreamError>
    where
        F: FnMut(u32) -> Fut,
        Fut: Future<Output = Result<T, UpstreamError>>,
    {
        let max_delay = self.retry_max_delay;
        let sent = AtomicU32::new(0);
        let result = (|| attempt(sent.fetch_add(1, Ordering::Relaxed)))
            .retry(self.backoff)
            .sleep(tokio::time::sleep)
            .when(UpstreamError::is_retryable)
            // A server's Retry-After replaces the computed delay, capped; once the retry budget is
            // spent `delay` is None and must stay None, or this would retry forever.
            .adjust(move |e, delay| {
                delay.map(|d| e.retry_after().map_or(d, |wait| wait.min(max_delay)))
            })
            .notify(|e, delay| {
                metrics().upstream_retry();
                warn!(
                    error = %e,
                    error.type = e.error_type(),
                    attempt = sent.load(Ordering::Relaxed),
                    retry_in_ms = delay.as_millis() as u64,
                    "upstream request failed, retrying"
                );
            })
            .await;
        let span = tracing::Span::current();
        span.record("attempts", sent.load(Ordering::Relaxed));
        crate::telemetry::record_result(&span, &result);
        result
    }

    /// One GET, as an HTTP client span carrying the trace context to the upstream: status
    /// checked, body read whole but bounded.
    pub async fn get(&self, url: &Url, resends: u32) -> Result<Answer, UpstreamError> {
        if let Some(limiter) = &self.limiter {
            limiter.until_ready().await;
        }
        let span = info_span!(
            "GET",
            otel.kind = "client",
            http.request.method = "GET",
            url.full = self.shown(url),
            server.address = url.host_str().unwrap_or_default(),
            server.port = url.port_or_known_default().unwrap_or_default(),
            http.request.resend_count = (resends > 0).then_some(resends),
            http.response.status_code = tracing::field::Empty,
            error.type = tracing::field::Empty,
            otel.status_code = tracing::field::Empty,
        );
        let result = self.get_once(url, &span).instrument(span.clone()).await;
        if let Err(e) = &result {
            span.record("error.type", e.error_type());
            span.record("otel.status_code", "error");
        }
        result
    }

    async fn get_once(&self, url: &Url, span: &tracing::Span) -> Result<Answer, UpstreamError> {
        let mut request = self.client.get(url.clone());
        for (name, value) in crate::telemetry::trace_headers(&span.context()) {
            request = request.header(name, value);
        }
        let origin = || error::origin(url);
        let mut response = request.send().await.map_err(|e| {
            metrics().upstream_request(None);
            UpstreamError::from_reqwest(e, self.request_timeout, origin())
        })?;
        let status = response.status();
        span.record("http.response.status_code", status.as_u16());
        metrics().upstream_request(Some(status.as_u16()));
        debug!(status = status.as_u16(), "upstream answered");
        if !status.is_success() {
            let retry_after = error::retry_after(response.headers());
            let message = response
                .bytes()
                .await
                .ok()
                .and_then(|body| wire::error_message(&body));
            return Err(UpstreamError::Status {
                origin: origin(),
                status,
                retry_after,
                message,
            });
        }
        let headers = std::mem::take(response.headers_mut());
        let expected = response.content_length().unwrap_or(0) as usize;
        if expected > MAX_BODY_BYTES {
            return Err(UpstreamError::TooLarge(MAX_BODY_BYTES));
        }
        let mut body = Vec::with_capacity(expected);
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| UpstreamError::from_reqwest(e, self.request_timeout, origin()))?
        {
            if body.len() + chunk.len() > MAX_BODY_BYTES {
                return Err(UpstreamError::TooLarge(MAX_BODY_BYTES));
            }
            body.extend_from_slice(&chunk);
        }
        if let Some(e) = UpstreamError::not_json_answer(origin(), status, &headers, &body) {
            return Err(e);
        }
        Ok(Answer { headers, body })
    }
}

/// Whether `status` is the upstream saying the product does not exist.
pub(super) fn is_not_found(e: &UpstreamError) -> bool {
    matches!(e, UpstreamError::Status { status, .. } if *status == StatusCode::NOT_FOUND)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_spacing_keeps_the_limit_over_any_window() {
        for (requests, per) in [(1u32, 1u64), (2, 1), (20, 2), (100, 10), (7, 3)] {
            let limit = RateLimit {
                requests,
                per: Duration::from_secs(per),
            };
            let gap = spacing(&limit);
            // Requests at 0, gap, 2·gap, …: a closed window of `per` holds floor(per/gap) + 1.
            let most_in_a_window = (limit.per.as_secs_f64() / gap.as_secs_f64()).floor() as u32 + 1;
            assert!(most_in_a_window <= requests, "{requests}/{per}s");
            // And the floor is not given away: within 7 % of the published rate.
            assert!(gap.as_secs_f64() * f64::from(requests) <= limit.per.as_secs_f64() * 1.07);
        }
    }

    #[test]
    fn credentials_become_sensitive_headers() {
        let basic = auth_headers(&Auth::Basic {
            user: "shop".into(),
            password: crate::settings::Secret::new("p:ss"),
        })
        .unwrap();
        let value = basic.get(AUTHORIZATION).unwrap();
        assert!(value.is_sensitive());
        assert_eq!(value.to_str().unwrap(), "Basic c2hvcDpwOnNz");
        let key = auth_headers(&Auth::Header {
            name: reqwest::header::HeaderName::from_static("x-api-key"),
            value: crate::settings::Secret::new("k"),
        })
        .unwrap();
        assert!(key.get("x-api-key").unwrap().is_sensitive());
        assert!(auth_headers(&Auth::None).unwrap().is_empty());
    }
}
