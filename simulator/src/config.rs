//! The simulator's settings ([`SimulatorConfig`], fixed at start) and its request statistics
//! ([`RequestCounts`]).

use std::path::PathBuf;
use std::time::Duration;

use super::delivery::Compression;

/// The simulator's settings, fixed at start.
#[derive(Clone, Debug, PartialEq)]
pub struct SimulatorConfig {
    /// Number of products; ids are `1..=products`. Ignored with a `products_file`.
    pub products: u64,
    /// Seed of the generated catalog: the same seed gives the same products.
    pub seed: u64,
    /// A fixed delay before every product answer.
    pub latency: Duration,
    /// Fraction (0..=1) of product requests answered 500.
    pub error_rate: f64,
    /// Fraction (0..=1) of product answers whose body is cut short.
    pub truncate_rate: f64,
    /// Apply DummyJSON's rate limit: 100 requests per 10 seconds (one window for all clients).
    pub rate_limit: bool,
    /// `(n, window)`: at most `n` product requests (any route, any shape) in any interval of
    /// `window` — a sliding window over all clients; excess requests get 429 with
    /// `Retry-After` in whole seconds. Applies on top of `rate_limit`. `None`: no such limit.
    pub rate_limit_quota: Option<(u32, Duration)>,
    /// Largest page served: a larger `limit` (or `limit=0`) gets this many products, as from
    /// an API that caps its page size. `None` serves whatever is asked.
    pub max_limit: Option<u64>,
    /// `(user, password)` that product requests must present as HTTP Basic credentials, or
    /// get 401; admin requests never need them. `None` asks for nothing.
    pub basic_auth: Option<(String, String)>,
    /// Serve `price` as a JSON string of the number's exact text (`"12.5"` for `12.5`) on the
    /// DummyJSON-shaped routes (`/products`, `/cursor/products`, `/next/products`); the
    /// WooCommerce and Shopify shapes always do.
    pub string_prices: bool,
    /// A DummyJSON dump (`{"products":[...]}` or a bare array of products) that becomes the
    /// catalog instead of generated products: ids from the file, products served as stored.
    /// Changes, deletions and overrides work on it as on generated products; added products
    /// are generated. A file that cannot be read fails [`Simulator::start`], naming the file.
    pub products_file: Option<PathBuf>,
    /// Compress product answers: when the request's `Accept-Encoding` asks for the encoding,
    /// or always (`unasked`), like an upstream behind a proxy that compresses whatever it
    /// sends. `None` never compresses.
    pub compression: Option<Compression>,
    /// Products sold in several variants (a size and a colour each): with `n > 0`, every
    /// product has between 1 and `2n - 1` of them (at most 20; `n` on average), served in
    /// every shape. 0, the default, sells every product one way, as before variants existed.
    pub variants: u32,
}

impl Default for SimulatorConfig {
    fn default() -> Self {
        SimulatorConfig {
            products: 194,
            seed: 1,
            latency: Duration::ZERO,
            error_rate: 0.0,
            truncate_rate: 0.0,
            rate_limit: false,
            max_limit: None,
            basic_auth: None,
            rate_limit_quota: None,
            string_prices: false,
            products_file: None,
            compression: None,
            variants: 0,
        }
    }
}

/// Requests that reached a handler, by kind.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RequestCounts {
    /// Every request, whatever the route and the answer.
    pub total: u64,
    /// Listing requests: `GET /products` and the other shapes' listings (`/wc/v3/products`,
    /// `/admin/api/2024-07/products.json`, `/cursor/products`, `/next/products`).
    pub list: u64,
    /// Single-product requests: `GET /products/{id}`, `/wc/v3/products/{id}` and
    /// `/admin/api/2024-07/products/{id}.json`.
    pub single: u64,
    /// `/__sim/...`.
    pub admin: u64,
    /// Listing requests whose `select` names no field but `id` (`select=id`): the id-only
    /// pass of a sync, counted in `list` too.
    pub list_ids_only: u64,
    /// Product requests answered 429 Too Many Requests, whatever the cause (a rate limit, the
    /// quota, or a scripted fault).
    pub rate_limited: u64,
    /// Product answers sent compressed.
    pub compressed: u64,
    /// WooCommerce variation listings: `GET /wc/v3/products/{id}/variations`.
    pub variations: u64,
}
