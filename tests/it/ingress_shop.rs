//! Shop webhooks end to end: the simulator as the shop (the `shopify` and `woocommerce`
//! presets), its webhook signed and sent to the ingress served by the worker as `catalog-sync
//! run` serves it (a webhook secret set), and the catalog row compared with the shop.

use catalog_sync::ingress::{IngressSettings, Secrets, sign_base64};
use catalog_sync::source::Source;
use catalog_sync_simulator::{Simulator, SimulatorConfig};
use sqlx::PgPool;

use crate::sources::upstream_for;
use crate::support::app::TestApp;
use crate::support::*;

const SECRET: &str = "shop-secret";

/// The three-line source file of `preset` for the simulator's shop.
fn shop_source(sim: &Simulator, preset: &str) -> Source {
    let text = format!(
        "preset = \"{preset}\"\nbase_url = \"{}\"\ncurrency = \"usd\"\n",
        sim.url().origin().ascii_serialization()
    );
    let mut source = Source::parse("shop.toml", &text, |_| Some("test-credential".into()))
        .unwrap_or_else(|e| panic!("{e}"));
    // The presets' polite rate limits would only slow the test down.
    source.rate_limit = None;
    source
}

/// A worker reading the shop through `preset`, the catalog synced once, and the ingress
/// listening with `SECRET` for both shops. Returns the app and the ingress's address.
async fn shop_app(pool: &PgPool, sim: &Simulator, preset: &str) -> (TestApp, String) {
    let source = shop_source(sim, preset);
    let mut engine_settings = settings();
    engine_settings.page_size = source.list.page_size;
    let first = full_sync(&engine_with(
        pool,
        upstream_for(sim, source.clone()),
        engine_settings.clone(),
    ))
    .await;
    assert_eq!(first.counts.failed, 0, "{first:?}");
    let mut app = TestApp::new(pool, sim).await;
    app.settings.engine.upstream = upstream_for(sim, source);
    app.settings.engine.engine = engine_settings;
    let listen: std::net::SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    app.settings.ingress = Some(IngressSettings {
        listen,
        shopify: Some(Secrets::plain("SHOPIFY_WEBHOOK_SECRET", SECRET).unwrap()),
        woocommerce: Some(Secrets::plain("WOOCOMMERCE_WEBHOOK_SECRET", SECRET).unwrap()),
        standard: None,
        max_body_bytes: None,
    });
    app.start_worker();
    let url = format!("http://{listen}");
    let up = eventually(10, || async {
        tokio::net::TcpStream::connect(listen).await.is_ok()
    })
    .await;
    assert!(up, "the ingress listens on {listen}");
    (app, url)
}

/// The product's JSON as the shop serves it at `path` (under `key` when wrapped).
async fn shop_json(sim: &Simulator, path: &str, key: Option<&str>) -> serde_json::Value {
    let origin = sim.url().origin().ascii_serialization();
    let body: serde_json::Value = reqwest::get(format!("{origin}{path}"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    match key {
        Some(key) => body[key].clone(),
        None => body,
    }
}

/// Sends a signed webhook; the answer's status.
async fn send(url: &str, route: &str, topic: (&str, &str), signature: &str, body: &[u8]) -> u16 {
    reqwest::Client::new()
        .post(format!("{url}{route}"))
        .header(topic.0, topic.1)
        .header(signature, sign_base64(SECRET.as_bytes(), body))
        .body(body.to_vec())
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

async fn shopify(url: &str, topic: &str, body: &[u8]) -> u16 {
    send(
        url,
        "/webhooks/shopify",
        ("X-Shopify-Topic", topic),
        "X-Shopify-Hmac-Sha256",
        body,
    )
    .await
}

async fn woocommerce(url: &str, topic: &str, body: &[u8]) -> u16 {
    send(
        url,
        "/webhooks/woocommerce",
        ("X-WC-Webhook-Topic", topic),
        "X-WC-Webhook-Signature",
        body,
    )
    .await
}

/// A variant's stored base price.
async fn base_price(pool: &PgPool, variant_id: u64) -> Option<String> {
    sqlx::query_scalar(
        "select vp.amount::text from variant_prices vp join product_variants v on v.id = vp.variant_id \
         where v.external_id = $1 and vp.kind = 'base' and v.archived_at is null",
    )
    .bind(variant_id.to_string())
    .fetch_optional(pool)
    .await
    .unwrap()
}

async fn archived(pool: &PgPool, id: u64) -> bool {
    sqlx::query_scalar("select archived_at is not null from products where external_id = $1")
        .bind(id.to_string())
        .fetch_one(pool)
        .await
        .unwrap()
}

#[sqlx::test]
async fn a_shopify_webhook_updates_the_catalog_and_a_forged_delete_archives_nothing(pool: PgPool) {
    let sim = simulator_with(SimulatorConfig {
        products: 12,
        variants: 3,
        ..SimulatorConfig::default()
    })
    .await;
    let (app, url) = shop_app(&pool, &sim, "shopify").await;

    // A variant's price changes in the shop; Shopify sends the product, `/` escaped as `\/`.
    let variant = sim.variants(3)[0].id;
    assert!(sim.set_variant_price(3, variant, "123.45"));
    let product = shop_json(&sim, "/admin/api/2024-07/products/3.json", Some("product")).await;
    let escaped = product.to_string().replace('/', "\\/");
    assert!(escaped.contains("\\/"), "the body has slashes to escape");
    let asked = sim.requests_served();
    assert_eq!(
        shopify(&url, "products/update", escaped.as_bytes()).await,
        200
    );
    let updated = eventually(20, || async {
        base_price(&pool, variant).await.as_deref() == Some("123.45")
    })
    .await;
    assert!(updated, "the catalog has the new price");
    assert_eq!(
        sim.requests_served(),
        asked,
        "the webhook's product was read with the source's mapping, not fetched"
    );

    // A live product's authentic body replayed under a forged delete topic: the worker asks
    // the shop, which still has it.
    let live = shop_json(&sim, "/admin/api/2024-07/products/4.json", Some("product")).await;
    assert_eq!(
        shopify(&url, "products/delete", live.to_string().as_bytes()).await,
        200
    );
    assert!(eventually(20, || app.updates_consumer_idle()).await);
    assert!(
        !archived(&pool, 4).await,
        "a forged delete archives nothing"
    );

    // A real deletion is confirmed and archived.
    sim.delete(5);
    assert_eq!(shopify(&url, "products/delete", br#"{"id":5}"#).await, 200);
    assert!(
        eventually(20, || archived(&pool, 5)).await,
        "deleted upstream: archived"
    );
    app.stop().await;
}

#[sqlx::test]
async fn a_woocommerce_webhook_of_a_variable_product_fetches_its_variations(pool: PgPool) {
    let sim = simulator_with(SimulatorConfig {
        products: 12,
        variants: 3,
        ..SimulatorConfig::default()
    })
    .await;
    let (app, url) = shop_app(&pool, &sim, "woocommerce").await;
    let id = (1..=12)
        .find(|id| sim.variants(*id).len() > 1)
        .expect("a variable product");
    let variant = sim.variants(id)[1].id;
    assert!(sim.set_variant_price(id, variant, "77.70"));
    // WooCommerce sends the product; its variations are only ids, so the worker fetches them.
    let product = shop_json(&sim, &format!("/wp-json/wc/v3/products/{id}"), None).await;
    assert!(product["variations"].is_array(), "{product}");
    let body = product.to_string();
    assert_eq!(
        woocommerce(&url, "product.updated", body.as_bytes()).await,
        200
    );
    let updated = eventually(20, || async {
        base_price(&pool, variant).await.as_deref() == Some("77.70")
    })
    .await;
    assert!(updated, "the variation's new price is in the catalog");
    app.stop().await;
}
