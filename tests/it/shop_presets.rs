//! The `shopify` preset: a three-line source file syncs a shop whose products come in
//! variants, and the catalog follows the shop variant by variant (prices changed, variants
//! removed and added at random), compared with the simulator's own variants field by field.

use std::collections::BTreeMap;

use crate::sources::upstream_for;
use crate::support::*;
use catalog_sync::domain::{RunStatus, RunSummary};
use catalog_sync::engine::Engine;
use catalog_sync::source::Source;
use catalog_sync_simulator::{Simulator, SimulatorConfig};
use sqlx::PgPool;

const PRODUCTS: u64 = 60;

/// The whole source file a user writes for a Shopify shop.
fn three_lines(sim: &Simulator) -> String {
    format!(
        "preset = \"shopify\"\nbase_url = \"{}\"\ncurrency = \"usd\"\n",
        sim.url().origin().ascii_serialization()
    )
}

fn engine(pool: &PgPool, sim: &Simulator) -> Engine {
    let mut source = Source::parse("shop.toml", &three_lines(sim), |name| {
        (name == "SHOPIFY_ACCESS_TOKEN").then(|| "shpat_test".to_owned())
    })
    .unwrap_or_else(|e| panic!("{e}"));
    // The shop's 2 requests per second would make this test slow; the limit has its own tests.
    source.rate_limit = None;
    let mut settings = settings();
    settings.page_size = source.list.page_size;
    engine_with(pool, upstream_for(sim, source), settings)
}

async fn synced(engine: &Engine) -> RunSummary {
    let summary = full_sync(engine).await;
    assert_eq!(summary.status, RunStatus::Succeeded, "{summary:?}");
    summary
}

/// Every live variant in the catalog, by variant id: (product id, sku, barcode, title,
/// options, stock, base price, compare-at price).
async fn catalog(pool: &PgPool) -> BTreeMap<String, String> {
    let rows: Vec<(String, String)> = sqlx::query_as(
        "select v.external_id, concat_ws('|', p.external_id, v.sku, v.barcode, v.title, \
           v.options->>'Size', v.options->>'Color', v.stock, \
           (select amount::text from variant_prices where variant_id = v.id and kind = 'base' \
              and currency = 'usd'), \
           (select amount::text from variant_prices where variant_id = v.id \
              and kind = 'compare_at' and currency = 'usd')) \
         from product_variants v join products p on p.id = v.product_id \
         where v.archived_at is null and p.archived_at is null",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    rows.into_iter().collect()
}

/// The same, as the simulator serves it.
fn shop(sim: &Simulator) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for id in 1..=PRODUCTS {
        for v in sim.variants(id) {
            let fields = [
                Some(id.to_string()),
                Some(v.sku.clone()),
                Some(v.barcode.clone()),
                Some(format!("{} / {}", v.size, v.color)),
                Some(v.size.clone()),
                Some(v.color.clone()),
                Some(v.stock.to_string()),
                Some(v.price.clone()),
                v.compare_at_price.clone(),
            ];
            let text: Vec<String> = fields.into_iter().flatten().collect();
            out.insert(v.id.to_string(), text.join("|"));
        }
    }
    out
}

#[sqlx::test]
async fn a_three_line_shopify_file_syncs_a_shop_variant_by_variant(pool: PgPool) {
    let sim = simulator_with(SimulatorConfig {
        products: PRODUCTS,
        variants: 4,
        ..SimulatorConfig::default()
    })
    .await;
    let engine = engine(&pool, &sim);
    let first = synced(&engine).await;
    let variants = shop(&sim);
    assert_eq!(first.counts.created, PRODUCTS);
    assert_eq!(first.counts.variants.created, variants.len() as u64);
    assert_eq!(
        catalog(&pool).await,
        variants,
        "every variant, field by field"
    );
    let options: String =
        sqlx::query_scalar("select options::text from products where external_id = '1'")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert!(
        options.contains("\"Size\"") && options.contains("\"Color\""),
        "{options}"
    );

    let again = synced(&engine).await;
    assert_eq!(again.counts.unchanged, PRODUCTS);
    assert_eq!(again.counts.variants, Default::default());

    let mut rng = fastrand::Rng::with_seed(20261205);
    for round in 0..8 {
        let mut expected = catalog_sync::domain::VariantCounts::default();
        let mut touched = std::collections::BTreeSet::new();
        for _ in 0..rng.usize(1..6) {
            let id = rng.u64(1..=PRODUCTS);
            if !touched.insert(id) {
                continue;
            }
            let listed = sim.variants(id);
            match rng.u32(0..3) {
                0 => {
                    let v = &listed[rng.usize(..listed.len())];
                    let price = format!("{}.{:02}", rng.u32(1..300), rng.u32(0..100));
                    assert!(sim.set_variant_price(id, v.id, &price));
                    expected.updated += 1;
                }
                1 if listed.len() > 1 => {
                    let last = listed.last().unwrap();
                    assert!(sim.remove_variant(id, last.id));
                    expected.archived += 1;
                }
                _ => {
                    if sim.add_variant(id).is_some() {
                        expected.created += 1;
                    }
                }
            }
        }
        let summary = synced(&engine).await;
        assert_eq!(
            summary.counts.updated,
            touched.len() as u64,
            "round {round}"
        );
        assert_eq!(summary.counts.variants, expected, "round {round}");
        assert_eq!(catalog(&pool).await, shop(&sim), "round {round}");
    }
}

#[test]
fn a_preset_needs_the_shops_address() {
    let env = |name: &str| (name == "SHOPIFY_ACCESS_TOKEN").then(|| "shpat_x".to_owned());
    let missing = Source::parse("shop.toml", "preset = \"shopify\"\n", env).unwrap_err();
    assert_eq!(missing.key, "base_url");
    let file = "preset = \"shopify\"\nbase_url = \"https://a:b@shop.example\"\n";
    let credentials = Source::parse("shop.toml", file, env).unwrap_err();
    assert_eq!(credentials.key, "base_url");
    let file = "preset = \"shopify\"\nbase_url = \"https://shop.example/\"\ncurrency = \"EUR\"\n";
    let source = Source::parse("shop.toml", file, env).unwrap();
    assert_eq!(
        source.list.url.as_str(),
        "https://shop.example/admin/api/2024-07/products.json"
    );
    assert_eq!(
        source.item.url,
        "https://shop.example/admin/api/2024-07/products/{id}.json"
    );
    assert_eq!(source.fields.currency.as_str(), "eur");
    let no_token = Source::parse("shop.toml", file, |_| None).unwrap_err();
    assert_eq!(no_token.key, "auth.value_env");
}

/// The whole source file a user writes for a WooCommerce shop.
fn woo_three_lines(sim: &Simulator) -> Source {
    let text = format!(
        "preset = \"woocommerce\"\nbase_url = \"{}\"\ncurrency = \"usd\"\n",
        sim.url().origin().ascii_serialization()
    );
    let mut source = Source::parse("shop.toml", &text, |name| match name {
        "WC_CONSUMER_KEY" => Some("ck".into()),
        "WC_CONSUMER_SECRET" => Some("cs".into()),
        _ => None,
    })
    .unwrap_or_else(|e| panic!("{e}"));
    source.rate_limit = None;
    source
}

/// Every live variant as WooCommerce serves it: (product, sku, title, stock, base, sale).
fn woo_shop(sim: &Simulator) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for id in 1..=PRODUCTS {
        for v in sim.variants(id) {
            let fields = [
                Some(id.to_string()),
                Some(v.sku.clone()),
                Some(format!("{} / {}", v.size, v.color)),
                Some(v.stock.to_string()),
                Some(v.price.clone()),
                v.sale_price.clone(),
            ];
            let text: Vec<String> = fields.into_iter().flatten().collect();
            out.insert(v.id.to_string(), text.join("|"));
        }
    }
    out
}

async fn woo_catalog(pool: &PgPool) -> BTreeMap<String, String> {
    let rows: Vec<(String, String)> = sqlx::query_as(
        "select v.external_id, concat_ws('|', p.external_id, v.sku, v.title, v.stock, \
           (select amount::text from variant_prices where variant_id = v.id and kind = 'base'), \
           (select amount::text from variant_prices where variant_id = v.id and kind = 'sale')) \
         from product_variants v join products p on p.id = v.product_id \
         where v.archived_at is null and p.archived_at is null",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    rows.into_iter().collect()
}

#[sqlx::test]
async fn a_three_line_woocommerce_file_fetches_variations_of_what_it_lists(pool: PgPool) {
    let sim = simulator_with(SimulatorConfig {
        products: PRODUCTS,
        variants: 3,
        ..SimulatorConfig::default()
    })
    .await;
    let source = woo_three_lines(&sim);
    let mut settings = settings();
    settings.page_size = source.list.page_size;
    let engine = engine_with(&pool, upstream_for(&sim, source), settings);

    let first = synced(&engine).await;
    assert_eq!(first.counts.created, PRODUCTS);
    assert_eq!(woo_catalog(&pool).await, woo_shop(&sim), "every variation");
    let variable = (1..=PRODUCTS)
        .filter(|id| !sim.variants(*id).is_empty())
        .count() as u64;
    assert!(variable > 0);
    assert!(sim.request_counts().variations >= variable);

    // A full run reads every variable product's variations again, and writes nothing.
    let before = sim.request_counts().variations;
    let again = synced(&engine).await;
    assert_eq!(again.counts.unchanged, PRODUCTS);
    assert_eq!(again.counts.variants, Default::default());
    assert!(sim.request_counts().variations - before >= variable);

    // One variation's price: that product, that variation.
    let v = &sim.variants(9)[0];
    assert!(sim.set_variant_price(9, v.id, "1.23"));
    let one = synced(&engine).await;
    assert_eq!((one.counts.updated, one.counts.variants.updated), (1, 1));
    assert_eq!(woo_catalog(&pool).await, woo_shop(&sim));

    // A changes run asks for the variations of the products it lists, no others.
    let w = &sim.variants(21)[0];
    assert!(sim.set_variant_price(21, w.id, "2.34"));
    let before = sim.request_counts().variations;
    let changes = run(
        &engine,
        catalog_sync::engine::RunRequest::new(catalog_sync::engine::Target::Changes),
    )
    .await;
    assert_eq!(changes.status, RunStatus::Succeeded, "{changes:?}");
    assert_eq!(changes.counts.variants.updated, 1, "{changes:?}");
    let asked = sim.request_counts().variations - before;
    assert!(
        asked >= 1 && asked <= changes.counts.fetched,
        "{asked} for {changes:?}"
    );
    assert_eq!(woo_catalog(&pool).await, woo_shop(&sim));

    // A targeted sync reads the product from the item endpoint, its variations from theirs.
    let removed = sim.variants(33)[0].id;
    assert!(sim.remove_variant(33, removed));
    let added = sim.add_variant(33).unwrap();
    let targeted = run(
        &engine,
        catalog_sync::engine::RunRequest::new(catalog_sync::engine::Target::Products(vec![
            "33".into(),
        ])),
    )
    .await;
    assert_eq!(targeted.status, RunStatus::Succeeded, "{targeted:?}");
    assert_eq!(
        (
            targeted.counts.variants.created,
            targeted.counts.variants.archived
        ),
        (1, 1),
        "{targeted:?}"
    );
    let now = woo_catalog(&pool).await;
    assert!(now.contains_key(&added.to_string()) && !now.contains_key(&removed.to_string()));
    assert_eq!(now, woo_shop(&sim));
}
