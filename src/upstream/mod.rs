//! The upstream product API adapter: DummyJSON-style paging with `select`, single products,
//! timeouts on every request and bounded retries with exponential backoff, jitter and
//! `Retry-After`.

mod error;
mod wire;

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use backon::{ExponentialBuilder, Retryable};
use reqwest::header::{AUTHORIZATION, HeaderMap, HeaderValue};
use reqwest::{StatusCode, Url};
use tracing::{Instrument, debug, info_span, warn};
use tracing_opentelemetry::OpenTelemetrySpanExt as _;

use crate::domain::Product;
use crate::metrics::metrics;
use crate::settings::{Secret, UpstreamSettings};
use crate::telemetry::error_chain;

pub use error::UpstreamError;
pub use wire::{EVENT_PRODUCT_FIELDS, InvalidProduct, event_product_from_json, product_from_json};

/// The product fields the service maps; `select` asks the upstream for only these.
pub const SELECTED_FIELDS: &str = "id,title,description,category,price,discountPercentage,rating,\
stock,tags,brand,sku,weight,dimensions,warrantyInformation,shippingInformation,\
availabilityStatus,returnPolicy,minimumOrderQuantity,meta,images,thumbnail";

/// The span of one listing page (`ids_only`: of the id-only pass).
fn page_span(ids_only: bool, skip: u64, limit: u32) -> tracing::Span {
    macro_rules! span {
        ($name:literal) => {
            info_span!(
                $name,
                skip,
                limit,
                attempts = tracing::field::Empty,
                otel.status_code = tracing::field::Empty,
                otel.status_description = tracing::field::Empty,
            )
        };
    }
    if ids_only {
        span!("upstream.id_page")
    } else {
        span!("upstream.page")
    }
}

/// Largest response body accepted, so one page can never take unbounded memory.
const MAX_BODY_BYTES: usize = 64 * 1024 * 1024;

/// One page of the upstream listing, decoded product by product.
#[derive(Debug)]
pub struct Page {
    /// The upstream's `total`: how many products the listing has.
    pub total: u64,
    /// Each element of `products`: a product, or why it is not one.
    pub products: Vec<Result<Product, InvalidProduct>>,
}

/// One page of the listing's ids only (`select=id`): what confirming archive candidates needs.
#[derive(Debug)]
pub struct IdPage {
    pub total: u64,
    /// Each element's id, `None` when it has no readable one.
    pub ids: Vec<Option<String>>,
}

/// Client for the upstream product API.
#[derive(Clone, Debug)]
pub struct Upstream {
    http: reqwest::Client,
    /// The products endpoint, without user info.
    base: Url,
    /// The configured URL carried user info: shown URLs say so, redacted.
    redact_user_info: bool,
    backoff: ExponentialBuilder,
    retry_max_delay: Duration,
    request_timeout: Duration,
}

impl Upstream {
    /// Builds the HTTP client; credentials go into default headers marked sensitive. User info
    /// in `SYNC_API_URL` becomes basic auth and is taken out of the URL, so it never appears
    /// in a request line, a span or an error.
    pub fn new(settings: &UpstreamSettings) -> Result<Self, UpstreamError> {
        let mut headers = HeaderMap::new();
        let mut base = settings.api_url.clone();
        let user_info = crate::credentials::take_user_info(&mut base);
        if let Some(info) = &user_info {
            if settings.api_token.is_some() {
                return Err(UpstreamError::Config(
                    "SYNC_API_URL carries a user and password and SYNC_API_TOKEN is set: both would be the Authorization header; use one",
                ));
            }
            use base64::Engine as _;
            let pair = format!(
                "{}:{}",
                info.user,
                info.password
                    .as_ref()
                    .map(Secret::expose)
                    .unwrap_or_default()
            );
            let encoded = base64::engine::general_purpose::STANDARD.encode(pair);
            let mut value = HeaderValue::try_from(format!("Basic {encoded}")).map_err(|_| {
                UpstreamError::Config("SYNC_API_URL's user info is not a valid header value")
            })?;
            value.set_sensitive(true);
            headers.insert(AUTHORIZATION, value);
        }
        if let Some(token) = &settings.api_token {
            let mut value = HeaderValue::try_from(format!("Bearer {}", token.expose()))
                .map_err(|_| UpstreamError::Config("SYNC_API_TOKEN is not a valid header value"))?;
            value.set_sensitive(true);
            headers.insert(AUTHORIZATION, value);
        }
        if let (Some(name), Some(key)) = (&settings.api_key_header, &settings.api_key) {
            let mut value = HeaderValue::try_from(key.expose())
                .map_err(|_| UpstreamError::Config("SYNC_API_KEY is not a valid header value"))?;
            value.set_sensitive(true);
            headers.insert(name.clone(), value);
        }
        let http = reqwest::Client::builder()
            .user_agent(concat!("catalog-sync/", env!("CARGO_PKG_VERSION")))
            .default_headers(headers)
            .connect_timeout(settings.connect_timeout)
            .timeout(settings.request_timeout)
            .build()
            .map_err(|e| UpstreamError::Other(error_chain(&e)))?;
        let backoff = ExponentialBuilder::default()
            .with_min_delay(settings.retry_min_delay)
            .with_max_delay(settings.retry_max_delay)
            .with_max_times(settings.max_retries as usize)
            .with_jitter();
        Ok(Upstream {
            http,
            base,
            redact_user_info: user_info.is_some(),
            backoff,
            retry_max_delay: settings.retry_max_delay,
            request_timeout: settings.request_timeout,
        })
    }

    /// `url` as spans show it: with `REDACTED:REDACTED@` when the configured URL carried user
    /// info (it is sent as a header instead).
    fn shown(&self, url: &Url) -> String {
        if !self.redact_user_info {
            return url.to_string();
        }
        let mut shown = url.clone();
        let _ = shown.set_username("REDACTED");
        let _ = shown.set_password(Some("REDACTED"));
        shown.to_string()
    }

    /// Fetches `limit` products starting at `skip`, retrying transient failures.
    pub async fn page(&self, skip: u64, limit: u32) -> Result<Page, UpstreamError> {
        let url = self.listing_url(skip, limit, SELECTED_FIELDS);
        let span = page_span(false, skip, limit);
        let url = &url;
        self.with_retries(|resends| async move {
            let bytes = self.get(url, resends).await?;
            wire::decode_page(&bytes)
        })
        .instrument(span)
        .await
    }

    /// Fetches the ids of `limit` products starting at `skip` (`select=id`).
    pub async fn page_ids(&self, skip: u64, limit: u32) -> Result<IdPage, UpstreamError> {
        let url = self.listing_url(skip, limit, "id");
        let span = page_span(true, skip, limit);
        let url = &url;
        self.with_retries(|resends| async move {
            let bytes = self.get(url, resends).await?;
            wire::decode_id_page(&bytes)
        })
        .instrument(span)
        .await
    }

    fn listing_url(&self, skip: u64, limit: u32, select: &str) -> Url {
        let mut url = self.base.clone();
        url.query_pairs_mut()
            .append_pair("limit", &limit.to_string())
            .append_pair("skip", &skip.to_string())
            .append_pair("select", select);
        url
    }

    /// Fetches one product by id; `Ok(None)` when the upstream answers 404.
    pub async fn product(
        &self,
        id: &str,
    ) -> Result<Option<Result<Product, InvalidProduct>>, UpstreamError> {
        let mut url = self.base.clone();
        url.path_segments_mut()
            .map_err(|_| UpstreamError::Config("SYNC_API_URL cannot take a path segment"))?
            .pop_if_empty()
            .push(id);
        let span = info_span!(
            "upstream.product",
            product_id = id,
            attempts = tracing::field::Empty,
            otel.status_code = tracing::field::Empty,
            otel.status_description = tracing::field::Empty,
        );
        let url = &url;
        self.with_retries(|resends| async move {
            match self.get(url, resends).await {
                Ok(bytes) => Ok(Some(wire::decode_product(&bytes)?)),
                Err(UpstreamError::Status { status, .. }) if status == StatusCode::NOT_FOUND => {
                    Ok(None)
                }
                Err(e) => Err(e),
            }
        })
        .instrument(span)
        .await
    }

    /// Runs `attempt` under the retry policy, inside the caller's span: each retry is a warning
    /// there (an event on the exported span) and the outcome becomes the span's status.
    /// `attempt` is told how many times the request was sent before.
    async fn with_retries<T, F, Fut>(&self, mut attempt: F) -> Result<T, UpstreamError>
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
    async fn get(&self, url: &Url, resends: u32) -> Result<Vec<u8>, UpstreamError> {
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

    async fn get_once(&self, url: &Url, span: &tracing::Span) -> Result<Vec<u8>, UpstreamError> {
        let mut request = self.http.get(url.clone());
        for (name, value) in crate::telemetry::trace_headers(&span.context()) {
            request = request.header(name, value);
        }
        let mut response = request.send().await.map_err(|e| {
            metrics().upstream_request(None);
            UpstreamError::from_reqwest(e, self.request_timeout)
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
                status,
                retry_after,
                message,
            });
        }
        let expected = response.content_length().unwrap_or(0) as usize;
        if expected > MAX_BODY_BYTES {
            return Err(UpstreamError::TooLarge(MAX_BODY_BYTES));
        }
        let mut body = Vec::with_capacity(expected);
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| UpstreamError::from_reqwest(e, self.request_timeout))?
        {
            if body.len() + chunk.len() > MAX_BODY_BYTES {
                return Err(UpstreamError::TooLarge(MAX_BODY_BYTES));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    }
}
