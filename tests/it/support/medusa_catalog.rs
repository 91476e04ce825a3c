//! The Medusa sink's tests share these: settings for a real Medusa, an engine with the sink, and
//! the comparison of what Medusa holds with the catalog tables, field by field.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::{Duration, Instant};

use catalog_sync::domain::{MedusaCounts, RunSummary};
use catalog_sync::engine::Engine;
use catalog_sync::medusa::Sink;
use catalog_sync::settings::{MedusaSettings, Secret};
use catalog_sync::store::Store;
use catalog_sync_simulator::Simulator;
use sqlx::PgPool;

use super::medusa::{MedusaAdmin, MedusaProduct};
use super::{engine, upstream_settings};

/// Quick retries, a patient request timeout (a batch of 100 new products takes Medusa a few
/// seconds on this machine).
pub fn medusa_settings(sim: &Simulator, url: &str, api_key: &str) -> MedusaSettings {
    let mut upstream = upstream_settings(sim);
    upstream.request_timeout = Duration::from_secs(60);
    upstream.max_retries = 2;
    upstream.retry_min_delay = Duration::from_millis(50);
    upstream.retry_max_delay = Duration::from_millis(500);
    MedusaSettings {
        retry_interval: Duration::from_millis(300),
        ..MedusaSettings::new(url.parse().expect("a URL"), Secret::new(api_key), &upstream)
    }
}

pub fn sink(pool: &PgPool, settings: MedusaSettings) -> Sink {
    Sink::new(Store::from_pool(pool.clone()), settings).expect("Medusa sink")
}

pub fn engine_with_sink(pool: &PgPool, sim: &Simulator, settings: MedusaSettings) -> Engine {
    engine(pool, sim).with_medusa(sink(pool, settings))
}

pub fn medusa_counts(summary: &RunSummary) -> MedusaCounts {
    summary.counts.medusa.expect("the summary counts Medusa")
}

/// A catalog row as Medusa should show it.
#[derive(Debug, sqlx::FromRow)]
pub struct Row {
    pub external_id: String,
    pub handle: String,
    pub title: String,
    pub description: String,
    pub tags: Vec<String>,
    pub images: Vec<String>,
    pub thumbnail: Option<String>,
    pub brand: Option<String>,
    pub archived: bool,
    /// Every category as `slug|name`, in upstream order.
    pub categories: Vec<String>,
    /// Whether the product has options of its own.
    pub has_options: bool,
}

/// A live variant as Medusa should show it.
#[derive(Debug, sqlx::FromRow)]
pub struct VariantRow {
    pub external_id: String,
    pub sku: Option<String>,
    pub barcode: Option<String>,
    pub title: String,
    /// `{"Size": "M"}`.
    pub options: sqlx::types::Json<BTreeMap<String, String>>,
    /// Base prices in eur (the currency of a fresh Medusa store).
    pub eur: Option<String>,
}

pub async fn catalog_variants(pool: &PgPool) -> BTreeMap<String, Vec<VariantRow>> {
    let rows: Vec<VariantRow> = sqlx::query_as(
        "select p.external_id, v.sku, v.barcode, v.title, v.options, \
           (select amount::text from variant_prices where variant_id = v.id and kind = 'base' \
              and currency = 'eur') as eur \
         from product_variants v join products p on p.id = v.product_id \
         where v.archived_at is null order by p.id, v.position",
    )
    .fetch_all(pool)
    .await
    .expect("catalog variants");
    let mut by_product: BTreeMap<String, Vec<VariantRow>> = BTreeMap::new();
    for row in rows {
        by_product
            .entry(row.external_id.clone())
            .or_default()
            .push(row);
    }
    by_product
}

pub async fn catalog(pool: &PgPool) -> Vec<Row> {
    sqlx::query_as(
        "select p.external_id, p.handle, p.title, p.description, p.tags, p.images, p.thumbnail, p.brand, \
         p.archived_at is not null as archived, \
         array(select c2.slug || '|' || c2.name from product_categories pc \
            join categories c2 on c2.id = pc.category_id \
            where pc.product_id = p.id order by pc.position) as categories, \
         p.options <> '[]'::jsonb as has_options \
         from products p order by p.id",
    )
    .fetch_all(pool)
    .await
    .expect("catalog rows")
}

/// A decimal's value as text, whatever its notation: `10`, `10.0` and `10.00` are one price.
pub fn decimal(text: &str) -> String {
    if !text.contains('.') {
        return text.to_owned();
    }
    text.trim_end_matches('0').trim_end_matches('.').to_owned()
}

/// Medusa's products that came from the catalog (they carry an external id), by it.
pub fn by_external_id(products: Vec<MedusaProduct>) -> BTreeMap<String, MedusaProduct> {
    products
        .into_iter()
        .filter_map(|p| Some((p.external_id.clone()?, p)))
        .collect()
}

/// Every catalog product that Medusa should have, compared field by field: live ones published,
/// archived ones drafts (or absent, when Medusa never had them). Medusa holds nothing else, and
/// no external id twice.
pub async fn assert_medusa_equals_catalog(pool: &PgPool, admin: &MedusaAdmin, channel: &str) {
    let rows = catalog(pool).await;
    let variants = catalog_variants(pool).await;
    let all = admin.products().await;
    assert!(
        all.iter().all(|p| p.external_id.is_some()),
        "only catalog products"
    );
    let count = all.len();
    let medusa = by_external_id(all);
    assert_eq!(medusa.len(), count, "no external id twice");
    let catalog_ids: BTreeSet<&str> = rows.iter().map(|r| r.external_id.as_str()).collect();
    assert!(
        medusa.keys().all(|id| catalog_ids.contains(id.as_str())),
        "Medusa holds only catalog products"
    );
    for row in rows {
        if row.archived && !medusa.contains_key(&row.external_id) {
            continue;
        }
        assert!(
            medusa.contains_key(&row.external_id),
            "{}: live in the catalog, missing in Medusa",
            row.external_id
        );
        let m = &medusa[&row.external_id];
        let id = &row.external_id;
        // The catalog's `--` reads `-id-` in Medusa (no title here has an `id` word, which
        // would be written `idid`).
        assert_eq!(m.handle, row.handle.replace("--", "-id-"), "{id}: handle");
        assert_eq!(m.title, row.title, "{id}: title");
        assert_eq!(
            m.description.as_deref().unwrap_or(""),
            row.description,
            "{id}"
        );
        let status = if row.archived { "draft" } else { "published" };
        assert_eq!(m.status, status, "{id}: status");
        assert_eq!(m.thumbnail, row.thumbnail, "{id}: thumbnail");
        let images: Vec<&str> = m.images.iter().map(|i| i.url.as_str()).collect();
        let expected: BTreeSet<&str> = row.images.iter().map(String::as_str).collect();
        assert_eq!(
            images.iter().copied().collect::<BTreeSet<_>>(),
            expected,
            "{id}: images"
        );
        let tags: BTreeSet<&str> = m.tags.iter().map(|t| t.value.as_str()).collect();
        assert_eq!(
            tags,
            row.tags.iter().map(String::as_str).collect(),
            "{id}: tags"
        );
        let categories: BTreeSet<String> = m
            .categories
            .iter()
            .map(|c| format!("{}|{}", c.handle, c.name))
            .collect();
        let expected: BTreeSet<String> = row.categories.iter().cloned().collect();
        assert_eq!(categories, expected, "{id}: every category");
        assert!(
            m.sales_channels.iter().any(|s| s.id == channel),
            "{id}: in the default sales channel"
        );
        let wanted = variants.get(id).map(Vec::as_slice).unwrap_or_default();
        assert_eq!(
            m.variants.len(),
            wanted.len(),
            "{id}: one Medusa variant per live variant"
        );
        let sold_one_way = !row.has_options && wanted.len() == 1;
        let mut expected_options: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for v in wanted {
            let (title, options) = if sold_one_way {
                let default = BTreeMap::from([("Default option".to_owned(), "Default".to_owned())]);
                ("Default".to_owned(), default)
            } else {
                (v.title.clone(), v.options.0.clone())
            };
            for (name, value) in &options {
                expected_options
                    .entry(name.clone())
                    .or_default()
                    .insert(value.clone());
            }
            let found = m
                .variants
                .iter()
                .find(|mv| mv.option_map() == options)
                .unwrap_or_else(|| panic!("{id}: no Medusa variant {options:?}: {:?}", m.variants));
            assert_eq!(found.sku, v.sku, "{id} {options:?}: sku");
            assert_eq!(found.title, title, "{id} {options:?}: title");
            assert_eq!(
                found.barcode.as_deref().filter(|b| !b.is_empty()),
                v.barcode.as_deref(),
                "{id} {options:?}: barcode"
            );
            let prices: Vec<(String, String)> = found
                .prices
                .iter()
                .map(|p| (p.currency_code.clone(), decimal(&p.amount)))
                .collect();
            let expected: Vec<(String, String)> = v
                .eur
                .iter()
                .map(|p| ("eur".to_owned(), decimal(p)))
                .collect();
            assert_eq!(prices, expected, "{id} {options:?}: the exact price");
        }
        // Every value a variant uses is one of its option's (Medusa may list more).
        for option in &m.options {
            let values: BTreeSet<String> = option.values.iter().map(|v| v.value.clone()).collect();
            if let Some(used) = expected_options.get(&option.title) {
                assert!(
                    used.is_subset(&values),
                    "{id}: option {}: {values:?}",
                    option.title
                );
            }
        }
        let titles: BTreeSet<&String> = m.options.iter().map(|o| &o.title).collect();
        assert_eq!(
            titles,
            expected_options.keys().collect(),
            "{id}: option titles"
        );
        assert_eq!(
            m.metadata["brand"].as_str(),
            row.brand.as_deref(),
            "{id}: brand in metadata"
        );
    }
}

/// Each product's `updated_at` and price, to see what a run changed in Medusa.
pub async fn medusa_versions(admin: &MedusaAdmin) -> HashMap<String, (String, String, String)> {
    admin
        .products()
        .await
        .into_iter()
        .map(|p| {
            let price = p.variants[0]
                .prices
                .first()
                .map(|p| decimal(&p.amount))
                .unwrap_or_default();
            (
                p.external_id.clone().unwrap(),
                (p.updated_at, price, p.status),
            )
        })
        .collect()
}

/// Polls `done` until it holds or `limit` passes.
pub async fn wait_for<F, Fut>(limit: Duration, mut done: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let start = Instant::now();
    while !done().await {
        assert!(start.elapsed() < limit, "not done within {limit:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A catalog product's price as the catalog holds it.
pub async fn catalog_price(pool: &PgPool, external_id: &str) -> Option<String> {
    sqlx::query_scalar("select price::text from products where external_id = $1")
        .bind(external_id)
        .fetch_one(pool)
        .await
        .expect("the product is in the catalog")
}

/// A product's price in Medusa, read directly (not through the proxy).
pub async fn medusa_price(admin: &MedusaAdmin, external_id: &str) -> String {
    let products = by_external_id(admin.products().await);
    decimal(&products[external_id].variants[0].prices[0].amount)
}
