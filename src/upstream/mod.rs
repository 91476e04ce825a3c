//! The upstream product API adapter. It follows a [`Source`]: a source file's listing, paging
//! style, field mapping and auth, or the built-in DummyJSON one (`SYNC_API_URL`), which is the
//! `dummyjson` preset read the same way. Every
//! request has a timeout, stays under the source's rate limit, and is retried a bounded
//! number of times with exponential backoff, jitter and `Retry-After`.

mod error;
mod http;
mod listing;
mod mapping;
mod mend;
mod records;
mod urls;
mod variants;
mod wire;

use std::sync::Arc;

use reqwest::Url;
use reqwest::header::{AUTHORIZATION, HeaderMap, HeaderValue};
use serde_json::value::RawValue;
use tracing::{Instrument, info_span};

use crate::domain::Product;
use crate::settings::{Secret, UpstreamSettings};
use crate::source::Source;

pub use error::UpstreamError;
pub(crate) use error::retry_after;
pub use listing::{Access, PageAt};
/// An update time as sources and shops write it (RFC 3339, ISO 8601 without an offset as UTC,
/// or unix seconds), from its JSON text.
pub(crate) use mapping::timestamp;
pub use records::RawPage;
pub use wire::InvalidProduct;

/// The span of one listing page (`ids_only`: of the id-only pass).
fn page_span(ids_only: bool, at: &PageAt) -> tracing::Span {
    let (skip, limit) = match at {
        PageAt::Offset { skip, limit } => (Some(*skip), Some(*limit)),
        _ => (None, None),
    };
    let page = (!matches!(at, PageAt::Offset { .. })).then(|| at.describe());
    macro_rules! span {
        ($name:literal) => {
            info_span!(
                $name,
                skip,
                limit,
                page,
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

/// One page of the upstream listing, decoded product by product.
#[derive(Debug)]
pub struct Page {
    /// How many products the listing says it has, when it says.
    pub total: Option<u64>,
    /// Each record: a product, or why it is not one.
    pub products: Vec<Result<Product, InvalidProduct>>,
    /// Where the next page is, for listings that say (or offsets without a total).
    pub next: Option<PageAt>,
}

/// One page of the listing's ids only: what confirming archive candidates needs.
#[derive(Debug)]
pub struct IdPage {
    pub total: u64,
    /// Each element's id, `None` when it has no readable one.
    pub ids: Vec<Option<String>>,
}

/// Client for the upstream product API.
#[derive(Clone, Debug)]
pub struct Upstream {
    http: http::Http,
    source: Arc<Source>,
    /// Seeds the fingerprints of the source's records (see [`RawPage`]).
    seed: u64,
}

impl Upstream {
    /// Builds the client for the source file in `settings`, or for the built-in DummyJSON
    /// source at `SYNC_API_URL`. Credentials go into default headers marked sensitive. User
    /// info in `SYNC_API_URL` becomes basic auth and is taken out of the URL, so it never
    /// appears in a request line, a span or an error.
    pub fn new(settings: &UpstreamSettings) -> Result<Self, UpstreamError> {
        if let Some(source) = &settings.source {
            let headers = http::auth_headers(&source.auth)?;
            let http = http::Http::new(settings, headers, source.rate_limit.as_ref(), false)?;
            return Ok(Upstream {
                http,
                seed: records::seed(source),
                source: Arc::new(source.clone()),
            });
        }
        let mut headers = HeaderMap::new();
        let mut base = settings.api_url.clone();
        let user_info = crate::credentials::take_user_info(&mut base);
        if let Some(info) = &user_info {
            if settings.api_token.is_some() {
                return Err(UpstreamError::Config(
                    "SYNC_API_URL carries a user and password and SYNC_API_TOKEN is set: both would be the Authorization header; use one",
                ));
            }
            headers = http::auth_headers(&crate::source::Auth::Basic {
                user: info.user.clone(),
                password: info
                    .password
                    .clone()
                    .unwrap_or_else(|| Secret::new(String::new())),
            })
            .map_err(|_| {
                UpstreamError::Config("SYNC_API_URL's user info is not a valid header value")
            })?;
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
        let http = http::Http::new(settings, headers, None, user_info.is_some())?;
        let source = Source::dummyjson(&base);
        Ok(Upstream {
            http,
            seed: records::seed(&source),
            source: Arc::new(source),
        })
    }

    /// The source this client follows.
    pub fn source(&self) -> &Source {
        &self.source
    }

    /// How the listing can be read.
    pub fn access(&self) -> Access {
        listing::access(&self.source)
    }

    /// Whether the listing can serve ids only at offsets (what the id-only confirmation pass
    /// needs).
    pub fn can_list_ids(&self) -> bool {
        self.access() == Access::Offsets && !self.source.list.id_query.is_empty()
    }

    /// Fetches the listing page `at`; with `since` (`(parameter, value)`), only products
    /// changed since then.
    pub async fn page_at(
        &self,
        at: &PageAt,
        since: Option<(&str, &str)>,
    ) -> Result<Page, UpstreamError> {
        self.records_at(at, since).await.map(RawPage::decode_all)
    }

    /// Fetches the listing page `at` (with `since`, only products changed since then) without
    /// decoding its records.
    pub async fn records_at(
        &self,
        at: &PageAt,
        since: Option<(&str, &str)>,
    ) -> Result<RawPage, UpstreamError> {
        let url = listing::url(&self.source, at, false, since)?;
        let span = page_span(false, at);
        let url = &url;
        self.http
            .with_retries(|resends| async move {
                let answer = self.http.get(url, resends).await?;
                RawPage::parse(
                    &self.source,
                    self.seed,
                    at,
                    url,
                    &answer.headers,
                    answer.body,
                )
            })
            .instrument(span)
            .await
    }

    /// Fetches the ids of `limit` products starting at `skip`, with the source's id-only query.
    pub async fn page_ids(&self, skip: u64, limit: u32) -> Result<IdPage, UpstreamError> {
        let at = PageAt::Offset { skip, limit };
        let url = listing::url(&self.source, &at, true, None)?;
        let span = page_span(true, &at);
        let (url, at) = (&url, &at);
        self.http
            .with_retries(|resends| async move {
                let answer = self.http.get(url, resends).await?;
                mend::parse_tolerantly(&answer.body, |body, mended| {
                    let raw = listing::decode(&self.source, at, url, &answer.headers, body)?;
                    if mended.is_some_and(|m| !m.only_in(&raw.records)) {
                        return Err(UpstreamError::NotJson("a flaw outside the records".into()));
                    }
                    let Some(total) = raw.total else {
                        return Err(UpstreamError::Shape(
                            "the id-only listing says no total".into(),
                        ));
                    };
                    Ok(IdPage {
                        total,
                        ids: raw.records.into_iter().map(|r| self.record_id(r)).collect(),
                    })
                })
            })
            .instrument(span)
            .await
    }

    fn record_id(&self, record: &RawValue) -> Option<String> {
        mapping::record_id(&self.source.fields, record)
    }

    /// The item URL of product `id` (see [`urls::id_url`]).
    fn item_url(&self, id: &str) -> Result<Url, UpstreamError> {
        urls::id_url(&self.source.item.url, id, &self.source.item.query)
    }

    /// Reads a product an event carries, one record read by the source's mapping. It must be
    /// whole — every mapped field and kept attribute there, but those the source says the
    /// upstream omits when empty — and every value valid, like a listed product: applying a
    /// partial record would wipe what it leaves out.
    /// `Ok(None)` for a record whose variants come from their own endpoint: an event cannot
    /// carry them, so the worker fetches the product instead.
    pub fn event_product(&self, raw: &str) -> Result<Option<Product>, InvalidProduct> {
        let record: &RawValue = serde_json::from_str(raw).map_err(|e| InvalidProduct {
            product_id: None,
            message: format!("not a JSON record: {e}"),
        })?;
        let missing =
            mapping::missing_for_event(&self.source.fields, &self.source.event_may_omit, record);
        if !missing.is_empty() {
            return Err(InvalidProduct {
                product_id: self.record_id(record),
                message: format!(
                    "the record is incomplete (missing {}): an event carries the whole record, or none and the worker fetches it",
                    missing.join(", ")
                ),
            });
        }
        if self.fetches_variants() && mapping::lists_variant_ids(&self.source.fields, record) {
            return Ok(None);
        }
        mapping::product(&self.source.fields, record).map(Some)
    }

    /// Fetches one product by id; `Ok(None)` when the upstream answers 404.
    pub async fn product(
        &self,
        id: &str,
    ) -> Result<Option<Result<Product, InvalidProduct>>, UpstreamError> {
        let url = self.item_url(id)?;
        let span = info_span!(
            "upstream.product",
            product_id = id,
            attempts = tracing::field::Empty,
            otel.status_code = tracing::field::Empty,
            otel.status_description = tracing::field::Empty,
        );
        let url = &url;
        let answer = self
            .http
            .with_retries(|resends| async move {
                match self.http.get(url, resends).await {
                    Ok(answer) => {
                        let decoded = self.decode_item(&answer.body, None)?;
                        Ok(Some((answer.body, decoded)))
                    }
                    Err(e) if http::is_not_found(&e) => Ok(None),
                    Err(e) => Err(e),
                }
            })
            .instrument(span)
            .await?;
        let Some((body, decoded)) = answer else {
            return Ok(None);
        };
        if !self.fetches_variants() || !self.item_lists_variants(&body) {
            return Ok(Some(decoded));
        }
        // Its variants from their own endpoint; gone there too means gone.
        let Some(variants) = self.variant_records(id).await? else {
            return Ok(None);
        };
        Ok(Some(self.decode_item(&body, Some(&variants))?))
    }

    /// Whether the item answer `body` is a product listing variant ids to fetch.
    fn item_lists_variants(&self, body: &[u8]) -> bool {
        serde_json::from_slice::<&RawValue>(body)
            .ok()
            .and_then(|root| self.source.item.record.select_raw(root).ok().flatten())
            .is_some_and(|record| mapping::lists_variant_ids(&self.source.fields, record))
    }

    /// The product in the item answer `body`, with `variants` (a JSON array) when fetched.
    fn decode_item(
        &self,
        body: &[u8],
        variants: Option<&[u8]>,
    ) -> Result<Result<Product, InvalidProduct>, UpstreamError> {
        let variants: Option<&RawValue> = match variants {
            None => None,
            Some(bytes) => Some(serde_json::from_slice(bytes).map_err(wire::json_error)?),
        };
        mend::parse_tolerantly(body, |body, mended| {
            let root: &RawValue = serde_json::from_slice(body).map_err(wire::json_error)?;
            let record = self
                .source
                .item
                .record
                .select_raw(root)
                .map_err(|e| UpstreamError::Shape(e.to_string()))?
                .ok_or_else(|| {
                    UpstreamError::Shape(format!(
                        "the answer has no product at {:?}",
                        self.source.item.record.to_string()
                    ))
                })?;
            if mended.is_some_and(|m| !m.only_in(&[record])) {
                return Err(UpstreamError::NotJson("a flaw outside the product".into()));
            }
            Ok(match mended.and_then(|m| m.flaw_in(record)) {
                Some(message) => Err(InvalidProduct {
                    product_id: self.record_id(record),
                    message,
                }),
                None => mapping::product_with(&self.source.fields, record.get(), variants),
            })
        })
    }
}

#[cfg(test)]
mod tests;
