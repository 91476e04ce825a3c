//! A DummyJSON-compatible product API (`/products`, `/products/{id}`) over a synthetic catalog,
//! used by the integration tests (in-process), the benchmark and the demo (as the
//! `catalog-sync-simulator` binary). Owns the server's lifecycle, its knobs (latency, error and
//! truncation rates, rate limits, basic auth, string prices), scripted faults, and the handle
//! the tests use to change the catalog and to make it lie (field overrides, listing quirks,
//! changes fired by listing requests).
//!
//! The same catalog is served in other APIs' shapes too, for testing a client configured for
//! any of them: WooCommerce REST v3 (`/wc/v3/products`, page numbers), Shopify Admin REST
//! (`/admin/api/2024-07/products.json`, `Link` headers), a cursor style (`/cursor/products`)
//! and a next-URL style (`/next/products`). Every listing takes a "changed since" filter.
//! With [`SimulatorConfig::variants`], products are sold in sizes and colours, in every shape
//! (WooCommerce's variations at `/wc/v3/products/{id}/variations`).
//!
//! Products are generated from (seed, id, version), so memory does not grow with the catalog;
//! only changes (mutations, field overrides, variant changes, deletions, scripted changes) are
//! stored. A products file (a DummyJSON dump) can replace the generated catalog.
//!
//! Modules: `server` (the shared state, the misbehaviour pipeline, the DummyJSON routes),
//! `query` (query parameters), `styles` (cursor and next-URL routes, cursors), `storefronts`
//! (WooCommerce and Shopify routes) and `shapes` (their product JSON); `products` (generated
//! or file products, version times, filtered and keyset pages), `catalog`, `fields` and `parts`
//! (generated products, `select`), `variants` (sizes and colours, their changes),
//! `variant_shapes` (variants in each shape), `variant_api` (reading and changing them),
//! `dump` (the products file), `state` (live ids and changes), `overrides`, `listing`,
//! `faults`, `limits`, `auth`, `clock`, `admin` (the `/__sim` API), `config` and `cli`.

mod admin;
mod auth;
mod catalog;
mod cli;
mod clock;
mod config;
mod delivery;
mod dump;
mod faults;
mod fields;
mod limits;
mod listing;
mod overrides;
mod parts;
mod products;
mod query;
mod server;
mod shapes;
mod state;
mod storefronts;
mod styles;
#[cfg(test)]
mod tests;
mod variant_api;
mod variant_shapes;
mod variants;
mod words;

use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::Duration;

use tokio::sync::Notify;
use tokio::task::JoinHandle;

pub use cli::{SimulatorArgs, run};
pub use config::{RequestCounts, SimulatorConfig};
pub use delivery::{Compression, Encoding};
pub use faults::Fault;
pub use listing::{CatalogChange, ListingQuirks};
pub use variant_api::SimVariant;

use auth::BasicAuth;
use catalog::FieldSet;
use dump::Dump;
use faults::{Faults, RateLimiter};
use limits::SlidingWindow;
use listing::ListTriggers;
use overrides::parse_raw;
use products::Products;
use server::{Counters, Shared};

/// How long [`Simulator::shutdown`] waits for in-flight requests before aborting them.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// A running simulator. Clones share the same server and state.
#[derive(Clone, Debug)]
pub struct Simulator {
    shared: Arc<Shared>,
    addr: SocketAddr,
    url: reqwest::Url,
    stop: Arc<Notify>,
    task: Arc<Mutex<Option<JoinHandle<std::io::Result<()>>>>>,
}

impl Simulator {
    /// Binds `addr` (use 127.0.0.1:0 in tests) and serves in a background tokio task.
    pub async fn start(config: SimulatorConfig, addr: SocketAddr) -> std::io::Result<Simulator> {
        let rate_limit = config.rate_limit.then(RateLimiter::dummyjson);
        Simulator::start_with(config, addr, rate_limit).await
    }

    /// Like [`Simulator::start`], with a rate limit of `limit` requests per `window`.
    #[cfg(test)]
    pub(crate) async fn start_with_rate_limit(
        config: SimulatorConfig,
        addr: SocketAddr,
        limit: u32,
        window: Duration,
    ) -> std::io::Result<Simulator> {
        Simulator::start_with(config, addr, Some(RateLimiter::new(limit, window))).await
    }

    async fn start_with(
        config: SimulatorConfig,
        addr: SocketAddr,
        rate_limit: Option<RateLimiter>,
    ) -> std::io::Result<Simulator> {
        let products = match &config.products_file {
            Some(path) => {
                let dump = Dump::load(path).map_err(|e| {
                    let text = format!("products file {}: {e}", path.display());
                    std::io::Error::new(std::io::ErrorKind::InvalidData, text)
                })?;
                Products::from_dump(config.seed, dump, config.variants)
            }
            None => Products::generated(config.seed, config.variants),
        };
        // Bound first: the next-page links carry the address.
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            base: format!("http://{addr}"),
            catalog: RwLock::new(products.initial_state(config.products)),
            products,
            string_prices: config.string_prices,
            quota: config
                .rate_limit_quota
                .map(|(limit, window)| SlidingWindow::new(limit, window)),
            latency: config.latency,
            error_rate: config.error_rate,
            truncate_rate: config.truncate_rate,
            max_limit: config.max_limit,
            compression: config.compression,
            rewrites: Mutex::new(Vec::new()),
            rate_limit,
            basic_auth: config
                .basic_auth
                .as_ref()
                .map(|(user, password)| BasicAuth::new(user, password)),
            faults: Mutex::new(Faults::default()),
            listing: Mutex::new(ListingQuirks::default()),
            triggers: Mutex::new(ListTriggers::default()),
            counters: Counters::default(),
        });
        let url = reqwest::Url::parse(&format!("http://{addr}/products"))
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
        let app = server::product_routes()
            .merge(styles::routes())
            .merge(storefronts::routes())
            .merge(admin::admin_routes())
            .fallback(server::not_found)
            .with_state(Arc::clone(&shared));
        let stop = Arc::new(Notify::new());
        let stopped = Arc::clone(&stop);
        let serve = axum::serve(listener, app)
            .with_graceful_shutdown(async move { stopped.notified().await });
        let task = tokio::spawn(async move { serve.await });
        Ok(Simulator {
            shared,
            addr,
            url,
            stop,
            task: Arc::new(Mutex::new(Some(task))),
        })
    }

    /// The address the server is bound to.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://{addr}/products`: the upstream URL to configure.
    pub fn url(&self) -> reqwest::Url {
        self.url.clone()
    }

    /// Requests that reached a handler (product, admin or unknown routes), whatever the answer.
    pub fn requests_served(&self) -> u64 {
        self.shared.counters.total.load(Ordering::Relaxed)
    }

    /// Requests that reached a handler, by kind.
    pub fn request_counts(&self) -> RequestCounts {
        let counters = &self.shared.counters;
        RequestCounts {
            total: counters.total.load(Ordering::Relaxed),
            list: counters.list.load(Ordering::Relaxed),
            single: counters.single.load(Ordering::Relaxed),
            admin: counters.admin.load(Ordering::Relaxed),
            list_ids_only: counters.list_ids_only.load(Ordering::Relaxed),
            rate_limited: counters.rate_limited.load(Ordering::Relaxed),
            compressed: counters.compressed.load(Ordering::Relaxed),
            variations: counters.variations.load(Ordering::Relaxed),
        }
    }

    /// How many products are live (listed, and found by id).
    pub fn live_products(&self) -> u64 {
        self.shared.catalog().live_count()
    }

    /// The highest id ever created, deleted or not: live ids are `1..=last_id()` minus
    /// [`Simulator::deleted_ids`].
    pub fn last_id(&self) -> u64 {
        self.shared.catalog().last_id()
    }

    /// Whether `id` is live (listed, and found by id).
    pub fn is_live(&self, id: u64) -> bool {
        self.shared.catalog().is_live(id)
    }

    /// The deleted ids, ascending.
    pub fn deleted_ids(&self) -> Vec<u64> {
        self.shared.catalog().deleted().to_vec()
    }

    /// Bumps a live product's version: new price, stock and `meta.updatedAt`. No-op if not live.
    ///
    /// The new `meta.updatedAt` (the version time every "changed since" filter compares) is
    /// at least the wall-clock time of the call and later than the product's previous one, so
    /// listing with `updated_since` = a time taken before the change finds the product.
    pub fn mutate(&self, id: u64) {
        self.shared.catalog_mut().mutate(id);
    }

    /// Replaces a live product's title. A rename is an upstream change: like [`Simulator::mutate`]
    /// it bumps the version (new price, stock and `meta.updatedAt`). No-op if not live.
    pub fn set_title(&self, id: u64, title: &str) {
        self.shared.catalog_mut().set_title(id, title);
    }

    /// Overrides one field of a live product in every answer (single product and listings).
    ///
    /// `Some(raw)` must be one valid JSON value; its exact text is served (a price like
    /// `123456789012345678901234567890.123456789` never passes through `f64`). A name the
    /// generator does not know adds an extra field, served after the generated ones. `None`
    /// leaves the field out of answers. Either way `select=` still applies: the field shows
    /// only when nothing or it is selected. The override is an upstream change: it bumps the
    /// version like [`Simulator::mutate`]. Deleting the product forgets its overrides.
    ///
    /// `Ok(false)` if the product is not live; `Err` for invalid JSON or for omitting `id`.
    pub fn set_field(&self, id: u64, name: &str, raw_json: Option<&str>) -> Result<bool, String> {
        let value = match raw_json {
            Some(raw) => Some(parse_raw(raw).map_err(|e| format!("field '{name}': {e}"))?),
            None if name == "id" => return Err(String::from("'id' cannot be omitted")),
            None => None,
        };
        Ok(self.shared.catalog_mut().set_fields(id, [(name, value)]))
    }

    /// Makes every listing page lie as `quirks` say, until replaced;
    /// `ListingQuirks::default()` turns the lies off. [`Simulator::clear_faults`] leaves them.
    pub fn set_listing_quirks(&self, quirks: ListingQuirks) {
        *self.shared.listing() = quirks;
    }

    /// Applies `change` just before serving the `n`-th listing request (`GET /products`)
    /// counted from now (n >= 1; 0 counts as 1). Requests count whatever their answer (even a
    /// fault or a 401), and the change lands before the request reads the catalog. Several
    /// may be queued; each fires once.
    pub fn on_list_request(&self, n: u64, change: CatalogChange) {
        self.shared.triggers().push(n, change);
    }

    /// Applies now the changes still queued by [`Simulator::on_list_request`] (a listing that
    /// ended before their request came leaves them queued). Returns how many there were.
    pub fn apply_queued_changes(&self) -> usize {
        let mut triggers = self.shared.triggers();
        let queued = triggers.take_all();
        let mut catalog = self.shared.catalog_mut();
        queued.iter().for_each(|change| catalog.apply(change));
        queued.len()
    }

    /// Deletes a product: it leaves the listings and its id answers 404. No-op if not live.
    pub fn delete(&self, id: u64) {
        self.shared.catalog_mut().delete(id);
    }

    /// Brings a deleted product back, as it was first served. False if `id` was not deleted.
    pub fn restore(&self, id: u64) -> bool {
        self.shared.catalog_mut().restore(id)
    }

    /// Adds `n` products after the highest id so far.
    pub fn add_products(&self, n: u64) {
        self.shared.catalog_mut().add(n);
    }

    /// Applies `fault` to each of the next `n` product requests, after faults already queued.
    pub fn fail_next(&self, n: usize, fault: Fault) {
        self.shared.faults().push(n, fault);
    }

    /// Makes every listing request with this `skip` answer 500, until [`Simulator::clear_faults`].
    pub fn fail_page_always(&self, skip: u64) {
        self.shared.faults().fail_page(skip);
    }

    /// Replaces the bytes `from` by `to` in every product answer from now on (listings and
    /// single products, every shape), after the JSON is written: an upstream whose encoder
    /// is broken. `to` need not be UTF-8 or JSON — give a product a marker title or price with
    /// [`Simulator::set_field`], then rewrite the marker into invalid UTF-8 or `NaN`.
    /// [`Simulator::clear_faults`] forgets the rewrites.
    pub fn rewrite_answers(&self, from: &[u8], to: &[u8]) {
        self.shared.rewrites().push((from.to_vec(), to.to_vec()));
    }

    /// Forgets all scripted faults, failing pages and answer rewrites.
    pub fn clear_faults(&self) {
        self.shared.faults().clear();
        self.shared.rewrites().clear();
    }

    /// The full current JSON of a live product (as `GET /products/{id}` would answer), `None`
    /// if absent. Numbers beyond `f64` (big-decimal overrides) are approximated here; the
    /// HTTP answer carries their exact text.
    pub fn product(&self, id: u64) -> Option<serde_json::Value> {
        let body = self.shared.product_json(id, FieldSet::ALL)?;
        serde_json::from_slice(&body).ok()
    }

    /// Stops serving: no new connections, in-flight requests get a few seconds to finish.
    pub async fn shutdown(self) {
        self.stop.notify_one();
        let task = self
            .task
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(task) = task {
            let abort = task.abort_handle();
            if tokio::time::timeout(SHUTDOWN_GRACE, task).await.is_err() {
                abort.abort();
            }
        }
    }
}
