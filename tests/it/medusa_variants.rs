//! A shop sold in variants, into a real Medusa: the three-line `shopify` file against the
//! simulator's variants, and Medusa read back and compared with the catalog variant by
//! variant (options, titles, SKUs, barcodes, exact prices, every category). Random variant
//! changes and Medusa outages over rounds; edits made in the Medusa admin to variants and
//! options; a currency the store lacks.

use std::collections::{BTreeMap, BTreeSet};

use catalog_sync::domain::{MedusaCounts, RunStatus, RunSummary};
use catalog_sync::engine::Engine;
use catalog_sync::settings::MedusaSettings;
use catalog_sync::source::Source;
use catalog_sync_simulator::{Simulator, SimulatorConfig};
use sqlx::PgPool;

use crate::sources::upstream_for;
use crate::support::medusa::{MedusaAdmin, MedusaProxy, MedusaServer};
use crate::support::medusa_catalog::{
    assert_medusa_equals_catalog, by_external_id, medusa_counts, medusa_settings, sink,
};
use crate::support::{engine_with, full_sync, settings, simulator_with};

const PRODUCTS: u64 = 24;

fn shop_engine(pool: &PgPool, sim: &Simulator, currency: &str, medusa: MedusaSettings) -> Engine {
    let file = format!(
        "preset = \"shopify\"\nbase_url = \"{}\"\ncurrency = \"{currency}\"\n",
        sim.url().origin().ascii_serialization()
    );
    let mut source = Source::parse("shop.toml", &file, |name| {
        (name == "SHOPIFY_ACCESS_TOKEN").then(|| "shpat_test".to_owned())
    })
    .unwrap_or_else(|e| panic!("{e}"));
    source.rate_limit = None;
    let mut settings = settings();
    settings.page_size = source.list.page_size;
    engine_with(pool, upstream_for(sim, source), settings).with_medusa(sink(pool, medusa))
}

async fn shop() -> Simulator {
    simulator_with(SimulatorConfig {
        products: PRODUCTS,
        variants: 4,
        ..SimulatorConfig::default()
    })
    .await
}

async fn synced(engine: &Engine) -> RunSummary {
    let summary = full_sync(engine).await;
    assert_eq!(summary.status, RunStatus::Succeeded, "{:?}", summary.errors);
    assert_eq!(medusa_counts(&summary).owed, 0, "{summary:?}");
    summary
}

/// Every Medusa variant id, by product external id and option values.
async fn variant_ids(admin: &MedusaAdmin) -> BTreeMap<(String, String), String> {
    let mut ids = BTreeMap::new();
    for (external_id, product) in by_external_id(admin.products().await) {
        for v in product.variants {
            ids.insert((external_id.clone(), format!("{:?}", v.option_map())), v.id);
        }
    }
    ids
}

#[sqlx::test]
async fn a_shop_in_variants_lands_in_medusa_and_follows_it_variant_by_variant(pool: PgPool) {
    let medusa = MedusaServer::start().await;
    let proxy = MedusaProxy::start(medusa.url()).await;
    let sim = shop().await;
    let admin = medusa.admin();
    let settings = medusa_settings(&sim, &proxy.url(), medusa.api_key());
    let engine = shop_engine(&pool, &sim, "eur", settings);

    let first = synced(&engine).await;
    assert_eq!(medusa_counts(&first).created, PRODUCTS);
    assert_medusa_equals_catalog(&pool, &admin, medusa.sales_channel_id()).await;
    let sold_in_variants = admin
        .products()
        .await
        .iter()
        .filter(|p| p.variants.len() > 1)
        .count();
    assert!(
        sold_in_variants > PRODUCTS as usize / 2,
        "{sold_in_variants}"
    );

    // Unchanged: Medusa is only read.
    proxy.reset();
    let again = synced(&engine).await;
    assert_eq!(medusa_counts(&again).updated, 0);
    let requests = proxy.requests();
    assert_eq!((requests.post, requests.delete), (0, 0), "{requests:?}");

    // One variant's price: that variant gets its new price list, and no variant is replaced.
    let before = variant_ids(&admin).await;
    let product = (1..=PRODUCTS)
        .find(|id| sim.variants(*id).len() > 1)
        .expect("a product in variants");
    let variant = sim.variants(product)[1].clone();
    assert!(sim.set_variant_price(product, variant.id, "123.45"));
    proxy.reset();
    let repriced = synced(&engine).await;
    assert_eq!(medusa_counts(&repriced).updated, 1);
    assert_eq!(proxy.requests().delete, 0);
    assert_eq!(
        variant_ids(&admin).await,
        before,
        "the same Medusa variants"
    );
    assert_medusa_equals_catalog(&pool, &admin, medusa.sales_channel_id()).await;
    let listed = by_external_id(admin.products().await);
    let prices: Vec<String> = listed[&product.to_string()]
        .variants
        .iter()
        .filter(|v| v.sku.as_deref() == Some(variant.sku.as_str()))
        .flat_map(|v| v.prices.iter().map(|p| p.amount.clone()))
        .collect();
    assert_eq!(prices, ["123.45"]);

    // Random rounds of variant changes; now and then Medusa is down for a whole run, or its
    // answers are lost after it carried the writes out. Variants that did not change keep
    // their Medusa id.
    let mut impatient = medusa_settings(&sim, &proxy.url(), medusa.api_key());
    impatient.request_timeout = std::time::Duration::from_secs(1);
    let hasty = shop_engine(&pool, &sim, "eur", impatient);
    let seed = std::env::var("MEDUSA_VARIANTS_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| fastrand::u64(..));
    eprintln!("MEDUSA_VARIANTS_SEED={seed}");
    let mut rng = fastrand::Rng::with_seed(seed);
    let mut proxy = proxy;
    for round in 0..5 {
        let before = variant_ids(&admin).await;
        let mut touched = BTreeSet::new();
        for _ in 0..rng.usize(2..7) {
            let id = rng.u64(1..=PRODUCTS);
            let variants = sim.variants(id);
            touched.insert(id.to_string());
            match rng.u8(0..3) {
                0 if !variants.is_empty() => {
                    let v = &variants[rng.usize(..variants.len())];
                    let price = format!("{}.{:02}", rng.u32(1..500), rng.u32(0..100));
                    sim.set_variant_price(id, v.id, &price);
                }
                1 if variants.len() > 1 => {
                    sim.remove_variant(id, variants[rng.usize(..variants.len())].id);
                }
                _ => {
                    sim.add_variant(id);
                }
            }
        }
        match rng.u8(0..4) {
            0 => {
                proxy.set_down(true).await;
                let summary = full_sync(&engine).await;
                eprintln!("round {round}: Medusa down, {:?}", summary.status);
                proxy.set_down(false).await;
            }
            1 => {
                proxy.set_delay(std::time::Duration::from_secs(3));
                let summary = full_sync(&hasty).await;
                eprintln!("round {round}: answers lost, {:?}", summary.status);
                proxy.set_delay(std::time::Duration::ZERO);
                proxy.wait_until_idle().await;
            }
            _ => {}
        }
        synced(&engine).await;
        assert_medusa_equals_catalog(&pool, &admin, medusa.sales_channel_id()).await;
        let after = variant_ids(&admin).await;
        for ((product, options), id) in &before {
            if !touched.contains(product)
                && let Some(now) = after.get(&(product.clone(), options.clone()))
            {
                assert_eq!(now, id, "round {round}, seed {seed}: {product} {options}");
            }
        }
    }
}

#[sqlx::test]
async fn edits_to_variants_and_options_in_the_medusa_admin_are_undone(pool: PgPool) {
    let medusa = MedusaServer::start().await;
    let sim = shop().await;
    let admin = medusa.admin();
    let engine = shop_engine(
        &pool,
        &sim,
        "eur",
        medusa_settings(&sim, medusa.url(), medusa.api_key()),
    );
    synced(&engine).await;
    let products = by_external_id(admin.products().await);
    let mut in_variants = products.values().filter(|p| p.variants.len() > 2);
    let (a, b) = (in_variants.next().unwrap(), in_variants.next().unwrap());
    let c = in_variants.next().unwrap();

    // An option added to a product: its variants are made again with the catalog's options.
    admin
        .post_ok(
            &format!("/admin/products/{}/options/batch", c.id),
            &serde_json::json!({"add": [{"title": "Material", "values": ["Cotton"], "is_exclusive": true}]}),
        )
        .await;

    // A price and a SKU edited, a variant deleted, a variant added, on two products.
    admin
        .post_ok(
            &format!("/admin/products/{}/variants/{}", a.id, a.variants[0].id),
            &serde_json::json!({"prices": [{"currency_code": "eur", "amount": 1}], "sku": "EDITED"}),
        )
        .await;
    admin
        .delete_ok(&format!(
            "/admin/products/{}/variants/{}",
            a.id, a.variants[1].id
        ))
        .await;
    let size = b.options.iter().find(|o| o.title == "Size").unwrap();
    let color = b.options.iter().find(|o| o.title == "Color").unwrap();
    let taken: BTreeSet<(String, String)> = b
        .variants
        .iter()
        .map(|v| {
            let m = v.option_map();
            (m["Size"].clone(), m["Color"].clone())
        })
        .collect();
    let free = size
        .values
        .iter()
        .flat_map(|s| {
            color
                .values
                .iter()
                .map(move |c| (s.value.clone(), c.value.clone()))
        })
        .find(|combo| !taken.contains(combo));
    if let Some((s, c)) = free {
        admin
            .post_ok(
                &format!("/admin/products/{}/variants", b.id),
                &serde_json::json!({"title": "Theirs", "options": {"Size": s, "Color": c},
                    "prices": [{"currency_code": "eur", "amount": 5}]}),
            )
            .await;
    }

    let corrected = synced(&engine).await;
    assert!(medusa_counts(&corrected).corrected >= 2, "{corrected:?}");
    assert_medusa_equals_catalog(&pool, &admin, medusa.sales_channel_id()).await;
    let again = synced(&engine).await;
    assert_eq!(
        medusa_counts(&again).corrected,
        0,
        "nothing left to correct"
    );
}

#[sqlx::test]
async fn prices_in_a_currency_the_store_lacks_are_left_out_until_it_has_it(pool: PgPool) {
    let medusa = MedusaServer::start().await;
    let sim = shop().await;
    let admin = medusa.admin();
    let settings = medusa_settings(&sim, medusa.url(), medusa.api_key());
    let first = synced(&shop_engine(&pool, &sim, "usd", settings.clone())).await;
    assert_eq!(medusa_counts(&first).created, PRODUCTS);
    let products = admin.products().await;
    assert!(
        products
            .iter()
            .flat_map(|p| &p.variants)
            .all(|v| v.prices.is_empty()),
        "a fresh store has eur only"
    );

    // The merchant adds usd to the store: the next process's full sync sends the prices.
    let stores = admin.get_json("/admin/stores?fields=id").await;
    let store = stores["stores"][0]["id"].as_str().unwrap().to_owned();
    admin
        .post_ok(
            &format!("/admin/stores/{store}"),
            &serde_json::json!({"supported_currencies": [
                {"currency_code": "eur", "is_default": true}, {"currency_code": "usd"}]}),
        )
        .await;
    let priced = synced(&shop_engine(&pool, &sim, "usd", settings)).await;
    assert_eq!(
        medusa_counts(&priced),
        MedusaCounts {
            updated: PRODUCTS,
            corrected: PRODUCTS,
            linked: PRODUCTS,
            ..MedusaCounts::default()
        }
    );
    let listed = by_external_id(admin.products().await);
    for id in 1..=PRODUCTS {
        let product = &listed[&id.to_string()];
        for v in sim.variants(id) {
            let medusa = product
                .variants
                .iter()
                .find(|m| m.sku.as_deref() == Some(v.sku.as_str()))
                .unwrap_or_else(|| panic!("{id}: variant {}", v.sku));
            let prices: Vec<(&str, String)> = medusa
                .prices
                .iter()
                .map(|p| {
                    (
                        p.currency_code.as_str(),
                        crate::support::medusa_catalog::decimal(&p.amount),
                    )
                })
                .collect();
            assert_eq!(
                prices,
                [("usd", crate::support::medusa_catalog::decimal(&v.price))]
            );
        }
    }
}
