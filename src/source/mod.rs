//! Upstream sources: what a source file (TOML, the keys fixed in the README's "Connect your
//! upstream") says about an upstream product API, checked at start-up. Every problem names the
//! file, the key and what is wrong; secrets are never written in the file, only the names of the
//! variables that hold them.
//!
//! The upstream client ([`crate::upstream`]) follows the checked [`Source`].

mod check;
mod file;
mod pointer;
mod raw;

use std::fmt;
use std::path::Path;
use std::time::Duration;

use reqwest::Url;
use reqwest::header::HeaderName;

use crate::domain::{Currency, PriceKind};
use crate::settings::Secret;
pub use pointer::Pointer;
pub use raw::{RawRecord, Text};

/// The built-in DummyJSON source, also the `dummyjson` preset.
pub const DUMMYJSON: &str = include_str!("../../sources/dummyjson.toml");

/// The `shopify` preset: Shopify's Admin REST products, variants nested.
pub const SHOPIFY: &str = include_str!("../../sources/shopify.toml");

/// The `woocommerce` preset: WooCommerce REST v3 products, variations from their own endpoint.
pub const WOOCOMMERCE: &str = include_str!("../../sources/woocommerce.toml");

/// A checked source.
#[derive(Clone, Debug)]
pub struct Source {
    /// Where it came from: a file's path, or `dummyjson` for the built-in source.
    pub origin: String,
    pub list: List,
    pub item: Item,
    pub changes: Option<Changes>,
    pub fields: Fields,
    pub auth: Auth,
    pub rate_limit: Option<RateLimit>,
    /// Mapped fields an event-carried record may leave out (`[events] may_omit`): fields the
    /// upstream omits when they have no value. Any other mapped field missing from a record an
    /// event carries makes it incomplete.
    pub event_may_omit: Vec<String>,
}

/// The catalog listing.
#[derive(Clone, Debug)]
pub struct List {
    pub url: Url,
    /// The page's array of records.
    pub records: Pointer,
    pub page_size: u32,
    /// Fixed query parameters of every listing request.
    pub query: Vec<(String, String)>,
    /// Query parameters that make the listing serve ids only (replacing `query`'s parameters of
    /// the same name); empty when the upstream cannot, and then products missing from a
    /// listing are confirmed gone one by one.
    pub id_query: Vec<(String, String)>,
    pub paging: Paging,
}

/// How the listing pages.
#[derive(Clone, Debug, PartialEq)]
pub enum Paging {
    /// `limit_param` and `offset_param` (the index of the first record); pages fetched
    /// concurrently once the total is known.
    Offset {
        limit_param: String,
        offset_param: String,
        total: Option<Total>,
    },
    /// `page_param` counting from `first_page`; concurrent like offsets.
    Page {
        limit_param: String,
        page_param: String,
        first_page: u64,
        total: Option<Total>,
    },
    /// The next page's cursor is in the body; absent, null or "" ends the listing.
    Cursor {
        limit_param: String,
        cursor: Pointer,
        cursor_param: String,
    },
    /// `Link: <…>; rel="next"` (RFC 8288).
    LinkHeader { limit_param: String },
    /// The next page's URL is in the body.
    NextUrl {
        limit_param: String,
        next_url: Pointer,
    },
}

/// Where the listing's total is.
#[derive(Clone, Debug, PartialEq)]
pub enum Total {
    Body(Pointer),
    Header(HeaderName),
}

/// One product by id.
#[derive(Clone, Debug)]
pub struct Item {
    /// The URL with `{id}` where the product id goes (as one escaped path segment).
    pub url: String,
    pub record: Pointer,
    /// Fixed query parameters of every item request (e.g. the same field selection as the
    /// listing's, so a product reads the same from both).
    pub query: Vec<(String, String)>,
}

/// Listing only what changed since a time.
#[derive(Clone, Debug, PartialEq)]
pub struct Changes {
    pub param: String,
    pub format: TimeFormat,
    /// Subtracted from the last succeeded full run's start.
    pub overlap: Duration,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimeFormat {
    Rfc3339,
    Unix,
}

/// Where each product field is in a record.
#[derive(Clone, Debug)]
pub struct Fields {
    pub external_id: Pointer,
    pub title: Pointer,
    pub description: Option<Pointer>,
    /// A product without a price at this pointer is kept without one.
    pub price: Option<Pointer>,
    pub stock: Option<Pointer>,
    pub category: Option<Pointer>,
    pub category_name: Option<Pointer>,
    pub brand: Option<Pointer>,
    pub sku: Option<Pointer>,
    pub images: Option<Pointer>,
    pub thumbnail: Option<Pointer>,
    pub tags: Option<Pointer>,
    pub updated_at: Option<Pointer>,
    /// The record's members kept as the product's attributes; `None`: every member no pointer
    /// takes whole.
    pub attributes: Option<Vec<String>>,
    /// The currency of plain prices (the file's `currency`).
    pub currency: Currency,
    /// The product's variants (`[variants]`); without it, a product is one variant built from
    /// `price`, `sku` and `stock`.
    pub variants: Option<VariantFields>,
    /// The product's options (`[options]`).
    pub options: Option<OptionFields>,
}

/// Where a product's variants are and what each holds (pointers into one variant).
#[derive(Clone, Debug)]
pub struct VariantFields {
    /// The variants inside the product record (`/variants`; an array selected is taken element
    /// by element). A record where it selects nothing is its own single variant, with the
    /// product's id.
    pub records: Option<Pointer>,
    /// The variants' own endpoint, for a record whose `records` lists only variant ids
    /// (WooCommerce's variations).
    pub endpoint: Option<VariantEndpoint>,
    pub external_id: Pointer,
    pub title: Option<Pointer>,
    pub sku: Option<Pointer>,
    pub barcode: Option<Pointer>,
    pub stock: Option<Pointer>,
    pub options: VariantOptions,
    pub prices: Vec<PriceField>,
    /// The variant's members kept as its attributes; `None`: every member no pointer takes
    /// whole.
    pub attributes: Option<Vec<String>>,
}

/// Where a product's variants are fetched from when its record lists only their ids: pages of
/// records, numbered from 1, until one comes short.
#[derive(Clone, Debug)]
pub struct VariantEndpoint {
    /// With `{id}` where the product id goes (one escaped path segment).
    pub url: String,
    pub page_size: u32,
    pub limit_param: String,
    pub page_param: String,
}

/// How a variant names its option values.
#[derive(Clone, Debug)]
pub enum VariantOptions {
    None,
    /// Values by position, matched to the product's options in order (Shopify's `option1..3`).
    ByPosition(Vec<Pointer>),
    /// A list of name/value entries (WooCommerce's `attributes[{name, option}]`).
    Pairs {
        list: Pointer,
        name: Pointer,
        value: Pointer,
    },
}

/// One price of a variant.
#[derive(Clone, Debug)]
pub struct PriceField {
    pub amount: Pointer,
    pub kind: PriceKind,
    /// `None`: the source's currency.
    pub currency: Option<Currency>,
    pub starts_at: Option<Pointer>,
    pub ends_at: Option<Pointer>,
}

/// Where a product's options are.
#[derive(Clone, Debug)]
pub struct OptionFields {
    /// The option entries inside the product record (an array selected is taken element by
    /// element).
    pub records: Pointer,
    pub name: Pointer,
    pub values: Pointer,
}

impl Fields {
    /// Every pointer the mapping uses.
    pub fn all(&self) -> impl Iterator<Item = &Pointer> + Clone {
        self.named().map(|(_, pointer)| pointer)
    }

    /// The pointers to the product's lists of variants and options, which take those members
    /// out of the product's attributes when they name them whole.
    pub fn model_lists(&self) -> impl Iterator<Item = &Pointer> + Clone {
        self.variants
            .iter()
            .filter_map(|v| v.records.as_ref())
            .chain(self.options.iter().map(|o| &o.records))
    }

    /// Every mapped field with its key in `[fields]`.
    pub fn named(&self) -> impl Iterator<Item = (&'static str, &Pointer)> + Clone {
        [("external_id", &self.external_id), ("title", &self.title)]
            .into_iter()
            .chain(
                [
                    ("price", &self.price),
                    ("description", &self.description),
                    ("stock", &self.stock),
                    ("category", &self.category),
                    ("category_name", &self.category_name),
                    ("brand", &self.brand),
                    ("sku", &self.sku),
                    ("images", &self.images),
                    ("thumbnail", &self.thumbnail),
                    ("tags", &self.tags),
                    ("updated_at", &self.updated_at),
                ]
                .into_iter()
                .filter_map(|(name, pointer)| pointer.as_ref().map(|p| (name, p))),
            )
    }
}

/// How requests authenticate; the secrets come from the environment.
#[derive(Clone, Debug)]
pub enum Auth {
    None,
    Bearer { token: Secret },
    Header { name: HeaderName, value: Secret },
    Basic { user: String, password: Secret },
}

/// The most requests per interval, over any interval of that length.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RateLimit {
    pub requests: u32,
    pub per: Duration,
}

/// A source file that cannot be used.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub struct SourceError {
    pub file: String,
    /// The key at fault (`list.paging.style`), or empty for the file as a whole.
    pub key: String,
    pub problem: String,
}

impl fmt::Display for SourceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.key.is_empty() {
            write!(f, "{}: {}", self.file, self.problem)
        } else {
            write!(f, "{}: {}: {}", self.file, self.key, self.problem)
        }
    }
}

impl Source {
    /// Reads and checks the source file at `path`, taking secrets from the process environment.
    pub fn load(path: &Path) -> Result<Source, SourceError> {
        let text = std::fs::read_to_string(path).map_err(|e| SourceError {
            file: path.display().to_string(),
            key: String::new(),
            problem: format!("cannot read it: {e}"),
        })?;
        Source::parse(&path.display().to_string(), &text, |name| {
            std::env::var(name).ok()
        })
    }

    /// Checks the text of a source file named `origin`; `env` looks up the variables that hold
    /// its secrets.
    pub fn parse(
        origin: &str,
        text: &str,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Source, SourceError> {
        check::source(origin, text, &env)
    }

    /// The built-in DummyJSON source, listing at `api_url`: the `dummyjson` preset with its
    /// URLs moved there, read by the same mapping as any source file.
    pub fn dummyjson(api_url: &Url) -> Source {
        let mut source =
            Source::parse("dummyjson", DUMMYJSON, |_| None).expect("the built-in source is valid");
        source.item.url = format!("{}/{{id}}", api_url.as_str().trim_end_matches('/'));
        source.list.url = api_url.clone();
        source
    }
}
