//! The HTTP side of the product routes: the shared state behind every handler, the request
//! counters, and the pipeline a product request goes through (changes due at a listing
//! request, latency, authentication, scripted faults, rate limits, failing pages, random errors,
//! random truncation), then the listing quirks. Serves the DummyJSON routes; the other API
//! shapes are in `styles` and `storefronts`.

use std::io;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use axum::routing::get;
use futures_util::{StreamExt as _, stream};

use super::auth::{BasicAuth, challenge};
use super::catalog::{FieldSet, write_page};
use super::delivery::{Compression, Delivery};
use super::faults::{Fault, Faults, RateLimiter, retry_after_secs};
use super::limits::SlidingWindow;
use super::listing::{ListTriggers, ListingQuirks};
use super::products::Products;
pub(crate) use super::query::{Params, capped, number, param, since};
use super::query::{fields, selects_ids_only};
use super::state::CatalogState;

/// How long a truncated answer waits between its first half and breaking the connection.
const TRUNCATION_PAUSE: Duration = Duration::from_millis(20);

/// Requests that reached a handler, by kind.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub total: AtomicU64,
    pub list: AtomicU64,
    pub single: AtomicU64,
    pub admin: AtomicU64,
    /// Listing requests that selected `id` only, a subset of `list`.
    pub list_ids_only: AtomicU64,
    /// Product requests answered 429, whatever the reason.
    pub rate_limited: AtomicU64,
    /// Product answers sent compressed.
    pub compressed: AtomicU64,
    /// WooCommerce variation listings.
    pub variations: AtomicU64,
}

/// The kinds of request the counters tell apart.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Kind {
    List,
    Single,
    /// A product's variations (WooCommerce).
    Variations,
    Admin,
    Other,
}

/// Everything the handlers share; the simulator handle holds it too.
#[derive(Debug)]
pub(crate) struct Shared {
    /// `http://{addr}`, for the absolute URLs of the next-page links.
    pub base: String,
    pub products: Products,
    /// Serve numeric prices as strings on the DummyJSON-shaped routes.
    pub string_prices: bool,
    pub latency: Duration,
    pub error_rate: f64,
    pub truncate_rate: f64,
    pub max_limit: Option<u64>,
    pub compression: Option<Compression>,
    /// Byte rewrites of every product answer (a broken encoder).
    pub rewrites: Mutex<Vec<(Vec<u8>, Vec<u8>)>>,
    pub rate_limit: Option<RateLimiter>,
    /// The configurable limit, a sliding window.
    pub quota: Option<SlidingWindow>,
    /// The credentials product requests must carry, if any.
    pub basic_auth: Option<BasicAuth>,
    pub catalog: RwLock<CatalogState>,
    pub faults: Mutex<Faults>,
    /// Kept apart from the faults: clearing faults leaves the listing's lies in place.
    pub listing: Mutex<ListingQuirks>,
    pub triggers: Mutex<ListTriggers>,
    pub counters: Counters,
}

impl Shared {
    pub(crate) fn catalog(&self) -> RwLockReadGuard<'_, CatalogState> {
        self.catalog.read().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn catalog_mut(&self) -> RwLockWriteGuard<'_, CatalogState> {
        self.catalog.write().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn faults(&self) -> MutexGuard<'_, Faults> {
        self.faults.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn rewrites(&self) -> MutexGuard<'_, Vec<(Vec<u8>, Vec<u8>)>> {
        self.rewrites.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn listing(&self) -> MutexGuard<'_, ListingQuirks> {
        self.listing.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn triggers(&self) -> MutexGuard<'_, ListTriggers> {
        self.triggers.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Applies the changes due at this listing request. The trigger lock is held while they
    /// apply, so a later listing request cannot read the catalog before they have.
    fn fire_list_triggers(&self) {
        let mut triggers = self.triggers();
        let due = triggers.next_request();
        if !due.is_empty() {
            let mut catalog = self.catalog_mut();
            due.iter().for_each(|change| catalog.apply(change));
        }
    }

    pub(crate) fn count(&self, kind: Kind) {
        self.counters.total.fetch_add(1, Ordering::Relaxed);
        let counter = match kind {
            Kind::List => &self.counters.list,
            Kind::Single => &self.counters.single,
            Kind::Variations => &self.counters.variations,
            Kind::Admin => &self.counters.admin,
            Kind::Other => return,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// The JSON of a live product with the given fields, `None` if it is not live.
    pub(crate) fn product_json(&self, id: u64, fields: FieldSet<'_>) -> Option<Vec<u8>> {
        let spec = self.catalog().spec(id)?;
        self.products.json(&spec, fields).ok()
    }

    /// The fields a DummyJSON-shaped answer serves for these query parameters.
    pub(crate) fn fields<'a>(&self, params: &'a [(String, String)]) -> FieldSet<'a> {
        fields(params).with_string_prices(self.string_prices)
    }

    /// Runs the misbehaviour pipeline for a product request. `Err` is the answer to send
    /// instead of the product(s); `Ok` says how the real answer leaves (cut short, rewritten,
    /// compressed). `listing_skip` is the offset of a listing request, for the pages that
    /// always fail.
    pub(crate) async fn gate(
        &self,
        kind: Kind,
        headers: &HeaderMap,
        listing_skip: Option<u64>,
    ) -> Result<Delivery, Response> {
        let result = self.misbehave(kind, headers, listing_skip).await;
        if let Err(response) = &result
            && response.status() == StatusCode::TOO_MANY_REQUESTS
        {
            self.counters.rate_limited.fetch_add(1, Ordering::Relaxed);
        }
        let truncate = result?;
        let encoding = self.compression.and_then(|c| c.for_request(headers));
        if encoding.is_some() {
            self.counters.compressed.fetch_add(1, Ordering::Relaxed);
        }
        Ok(Delivery {
            truncate,
            encoding,
            rewrites: self.rewrites().clone(),
        })
    }

    async fn misbehave(
        &self,
        kind: Kind,
        headers: &HeaderMap,
        listing_skip: Option<u64>,
    ) -> Result<bool, Response> {
        self.count(kind);
        // Before anything can refuse the request, so a scripted change lands at exactly the
        // n-th listing request whatever it is answered.
        if let Kind::List = kind {
            self.fire_list_triggers();
        }
        if !self.latency.is_zero() {
            tokio::time::sleep(self.latency).await;
        }
        // Before the scripted faults, so a refused request does not use one up.
        if let Some(auth) = &self.basic_auth
            && !auth.allows(headers)
        {
            return Err(challenge());
        }
        let scripted = self.faults().pop();
        let mut truncate = false;
        match scripted {
            Some(Fault::Status(code)) => {
                let status =
                    StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
                return Err(status_message(status));
            }
            Some(Fault::TooManyRequests { retry_after }) => return Err(too_many(retry_after)),
            Some(Fault::Hang(pause)) => tokio::time::sleep(pause).await,
            Some(Fault::Truncate) => truncate = true,
            None => {}
        }
        if let Some(limiter) = &self.rate_limit
            && let Err(wait) = limiter.check()
        {
            return Err(too_many(wait.max(Duration::from_secs(1))));
        }
        if let Some(quota) = &self.quota
            && let Err(wait) = quota.check()
        {
            return Err(too_many(wait.max(Duration::from_secs(1))));
        }
        if listing_skip.is_some_and(|skip| self.faults().page_fails(skip)) {
            return Err(status_message(StatusCode::INTERNAL_SERVER_ERROR));
        }
        if self.error_rate > 0.0 && fastrand::f64() < self.error_rate {
            return Err(status_message(StatusCode::INTERNAL_SERVER_ERROR));
        }
        Ok(truncate || (self.truncate_rate > 0.0 && fastrand::f64() < self.truncate_rate))
    }
}

/// `{"message": text}` with the given status.
pub(crate) fn message(status: StatusCode, text: &str) -> Response {
    let body = serde_json::json!({ "message": text }).to_string();
    json_response(status, body.into_bytes(), false)
}

/// A status with a readable message (`Internal server error` for 500).
fn status_message(status: StatusCode) -> Response {
    match status {
        StatusCode::INTERNAL_SERVER_ERROR => message(status, "Internal server error"),
        StatusCode::TOO_MANY_REQUESTS => message(status, "Too many requests"),
        _ => message(
            status,
            status.canonical_reason().unwrap_or("Simulated failure"),
        ),
    }
}

/// 429 with `Retry-After` in whole seconds, rounded up.
fn too_many(wait: Duration) -> Response {
    let mut response = status_message(StatusCode::TOO_MANY_REQUESTS);
    response.headers_mut().insert(
        header::RETRY_AFTER,
        HeaderValue::from(retry_after_secs(wait)),
    );
    response
}

/// A JSON body; truncated, it declares the full length but sends half and then fails.
pub(crate) fn json_response(status: StatusCode, body: Vec<u8>, truncate: bool) -> Response {
    let length = body.len();
    let mut response = if truncate {
        let mut full = Bytes::from(body);
        let half = full.split_to(length / 2);
        // Fail only after a pause, so the head and the first half reach the socket: failing
        // at once would drop the whole answer instead of cutting the body short.
        let failure = stream::once(async {
            tokio::time::sleep(TRUNCATION_PAUSE).await;
            Err(io::Error::other("simulated truncation"))
        });
        Response::new(Body::from_stream(stream::iter([Ok(half)]).chain(failure)))
    } else {
        Response::new(Body::from(body))
    };
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(length));
    response
}

/// The product routes, `/products` and `/products/{id}`.
pub(crate) fn product_routes() -> Router<Arc<Shared>> {
    Router::new()
        .route("/products", get(list))
        .route("/products/{id}", get(single))
}

/// The answer to any route that does not exist.
pub(crate) async fn not_found(State(shared): State<Arc<Shared>>) -> Response {
    shared.count(Kind::Other);
    message(StatusCode::NOT_FOUND, "Not found")
}

async fn list(State(shared): State<Arc<Shared>>, headers: HeaderMap, params: Params) -> Response {
    let params = params.map(|Query(p)| p).unwrap_or_default();
    if selects_ids_only(&params) {
        shared
            .counters
            .list_ids_only
            .fetch_add(1, Ordering::Relaxed);
    }
    let skip = number(&params, "skip", 0);
    let gate = shared.gate(Kind::List, &headers, skip.as_ref().ok().copied());
    let delivery = match gate.await {
        Ok(delivery) => delivery,
        Err(response) => return response,
    };
    let (skip, limit, since) = match (
        skip,
        number(&params, "limit", 30),
        since(&params, "updated_since"),
    ) {
        (Ok(skip), Ok(limit), Ok(since)) => (skip, limit, since),
        (Err(text), _, _) | (_, Err(text), _) | (_, _, Err(text)) => {
            return message(StatusCode::BAD_REQUEST, &text);
        }
    };
    let limit = capped(shared.max_limit, limit);
    let quirks = shared.listing().clone();
    let (live, specs) = {
        let catalog = shared.catalog();
        let served = quirks.served_skip(skip, limit);
        shared.products.offset_page(&catalog, since, served, limit)
    };
    let total = quirks.total.unwrap_or(live);
    match write_page(
        &shared.products,
        &specs,
        shared.fields(&params),
        total,
        skip,
    ) {
        Ok(body) => delivery.respond(StatusCode::OK, body),
        Err(e) => message(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
    }
}

async fn single(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    params: Params,
) -> Response {
    let params = params.map(|Query(p)| p).unwrap_or_default();
    let delivery = match shared.gate(Kind::Single, &headers, None).await {
        Ok(delivery) => delivery,
        Err(response) => return response,
    };
    let product = id
        .parse::<u64>()
        .ok()
        .and_then(|n| shared.product_json(n, shared.fields(&params)));
    match product {
        Some(body) => delivery.respond(StatusCode::OK, body),
        None => {
            let text = format!("Product with id '{id}' not found");
            delivery.respond(
                StatusCode::NOT_FOUND,
                serde_json::json!({ "message": text })
                    .to_string()
                    .into_bytes(),
            )
        }
    }
}
