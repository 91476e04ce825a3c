//! The products table's columns as arrays, the shape `unnest` wants.

use chrono::{DateTime, Utc};
use sqlx::Postgres;

use crate::domain::PreparedProduct;

/// Rows to insert or update, one array per column: the shape `unnest` wants.
pub(super) struct Rows<'a> {
    external_ids: Vec<&'a str>,
    handles: Vec<&'a str>,
    titles: Vec<&'a str>,
    descriptions: Vec<&'a str>,
    category_ids: Vec<Option<i64>>,
    brands: Vec<Option<&'a str>>,
    skus: Vec<Option<&'a str>>,
    prices: Vec<Option<&'a str>>,
    stocks: Vec<Option<i64>>,
    tags: Vec<String>,
    images: Vec<String>,
    thumbnails: Vec<Option<&'a str>>,
    attributes: Vec<&'a str>,
    hashes: Vec<&'a [u8]>,
    source_updated_at: Vec<Option<DateTime<Utc>>>,
    fingerprints: Vec<Option<&'a [u8]>>,
    options: Vec<String>,
}

/// Joins list items for `string_to_array(…, E'\x1f')`.
const LIST_SEPARATOR: &str = "\u{1f}";

impl<'a> Rows<'a> {
    pub(super) fn with_capacity(n: usize) -> Self {
        Rows {
            external_ids: Vec::with_capacity(n),
            handles: Vec::with_capacity(n),
            titles: Vec::with_capacity(n),
            descriptions: Vec::with_capacity(n),
            category_ids: Vec::with_capacity(n),
            brands: Vec::with_capacity(n),
            skus: Vec::with_capacity(n),
            prices: Vec::with_capacity(n),
            stocks: Vec::with_capacity(n),
            tags: Vec::with_capacity(n),
            images: Vec::with_capacity(n),
            thumbnails: Vec::with_capacity(n),
            attributes: Vec::with_capacity(n),
            hashes: Vec::with_capacity(n),
            source_updated_at: Vec::with_capacity(n),
            fingerprints: Vec::with_capacity(n),
            options: Vec::with_capacity(n),
        }
    }

    pub(super) fn is_empty(&self) -> bool {
        self.external_ids.is_empty()
    }

    pub(super) fn push(
        &mut self,
        prepared: &'a PreparedProduct,
        handle: &'a str,
        category_id: Option<i64>,
    ) {
        let p = &prepared.product;
        self.external_ids.push(&p.external_id);
        self.handles.push(handle);
        self.titles.push(&p.title);
        self.descriptions.push(&p.description);
        self.category_ids.push(category_id);
        self.brands.push(p.brand.as_deref());
        self.skus.push(p.sku());
        self.prices.push(p.price().map(|price| price.as_str()));
        self.stocks.push(p.stock());
        self.tags.push(p.tags.join(LIST_SEPARATOR));
        self.images.push(p.images.join(LIST_SEPARATOR));
        self.thumbnails.push(p.thumbnail.as_deref());
        self.attributes.push(p.attributes.as_str());
        self.hashes.push(prepared.hash.as_bytes());
        self.source_updated_at.push(p.source_updated_at);
        self.fingerprints
            .push(prepared.record.as_ref().map(|f| f.as_bytes()));
        self.options.push(options_json(&p.options));
    }

    /// Binds the seventeen column arrays, `$1` to `$17`, in the order the statements list them.
    pub(super) fn bind<'q, O>(
        &'q self,
        query: sqlx::query::QueryAs<'q, Postgres, O, sqlx::postgres::PgArguments>,
    ) -> sqlx::query::QueryAs<'q, Postgres, O, sqlx::postgres::PgArguments> {
        query
            .bind(&self.external_ids)
            .bind(&self.handles)
            .bind(&self.titles)
            .bind(&self.descriptions)
            .bind(&self.category_ids)
            .bind(&self.brands)
            .bind(&self.skus)
            .bind(&self.prices)
            .bind(&self.stocks)
            .bind(&self.tags)
            .bind(&self.images)
            .bind(&self.thumbnails)
            .bind(&self.attributes)
            .bind(&self.hashes)
            .bind(&self.source_updated_at)
            .bind(&self.fingerprints)
            .bind(&self.options)
    }
}

/// A product's options as the `options` column holds them: `[{"name": …, "values": […]}]`,
/// written straight from the options.
fn options_json(options: &[crate::domain::ProductOption]) -> String {
    #[derive(serde::Serialize)]
    struct Entry<'a> {
        name: &'a str,
        values: &'a [String],
    }
    let list: Vec<Entry> = options
        .iter()
        .map(|o| Entry {
            name: &o.name,
            values: &o.values,
        })
        .collect();
    serde_json::to_string(&list).unwrap_or_else(|_| "[]".to_owned())
}
