//! The Medusa sink against a real Medusa v2 server started by `scripts/medusa`. For now, the
//! harness itself against the real server: the server, the proxy in front of it and the admin
//! client that reads the store back.

use std::time::Duration;

use serde_json::{Value, json};

use crate::support::medusa::{
    InFlight, MedusaAdmin, MedusaProxy, MedusaServer, ProxyRequests, dummyjson_simulator,
};
use crate::support::{database_url, eventually};
use catalog_sync::domain::RunSummary;
use sqlx::PgPool;

/// A product as `POST /admin/products` takes it: Medusa wants options even for one variant,
/// and amounts in major units.
fn product(external_id: &str, handle: &str, sku: &str, sales_channel: &str) -> Value {
    json!({
        "title": format!("Product {external_id}"),
        "handle": handle,
        "description": "Lash princess",
        "status": "published",
        "thumbnail": "https://cdn.example/1/thumbnail.webp",
        "images": [{"url": "https://cdn.example/1/1.webp"}],
        "metadata": {"source": "dummyjson", "rating": 4.94},
        "options": [{"title": "Default option", "values": ["Default"]}],
        "variants": [{
            "title": "Default",
            "sku": sku,
            "options": {"Default option": "Default"},
            "prices": [{"currency_code": "eur", "amount": 9.99}],
            "manage_inventory": false
        }],
        "sales_channels": [{"id": sales_channel}],
        "external_id": external_id
    })
}

#[sqlx::test]
async fn eval_of_scripts_medusa_start_exports_what_a_following_sync_reads(pool: PgPool) {
    let server = MedusaServer::start().await;
    let sim = dummyjson_simulator().await;

    // The README's lines: eval "$(scripts/medusa start)", then catalog-sync sync.
    let output = server
        .after_eval_start(&["sync", "--json"])
        .env("DATABASE_URL", database_url(&pool))
        .env("SYNC_API_URL", sim.url().to_string())
        .env("RUST_LOG", "warn")
        .output()
        .await
        .expect("bash runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    let summary: RunSummary = serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("a summary on stdout ({e}); stderr: {stderr}"));
    let medusa = summary
        .counts
        .medusa
        .expect("MEDUSA_URL reached catalog-sync: the run pushed to Medusa");
    assert_eq!((medusa.created, medusa.owed), (194, 0), "{medusa:?}");
}

#[tokio::test]
async fn the_harness_writes_and_reads_a_real_medusa_through_a_proxy_that_goes_down() {
    let mut server = MedusaServer::start().await;
    assert!(server.db().starts_with("medusa_it_"), "{}", server.db());
    let mut proxy = MedusaProxy::start(server.url()).await;
    let direct = server.admin();
    let admin = MedusaAdmin::new(&proxy.url(), server.api_key());

    // The category and the tag directly, so the proxy sees the product's POST alone.
    let category = direct
        .post_ok(
            "/admin/product-categories",
            &json!({"name": "Beauty", "handle": "beauty", "is_active": true}),
        )
        .await;
    let tag = direct
        .post_ok("/admin/product-tags", &json!({"value": "mascara"}))
        .await;
    let mut body = product(
        "1",
        "essence-mascara",
        "BEA-ESS-001",
        server.sales_channel_id(),
    );
    body["categories"] = json!([{"id": category["product_category"]["id"]}]);
    body["tags"] = json!([{"id": tag["product_tag"]["id"]}]);
    let created = admin.post_ok("/admin/products", &body).await;

    let products = admin.products().await;
    assert_eq!(products.len(), 1);
    let stored = &products[0];
    assert_eq!(created["product"]["id"], stored.id.as_str());
    assert_eq!(
        (stored.external_id.as_deref(), stored.handle.as_str()),
        (Some("1"), "essence-mascara")
    );
    assert_eq!(
        (stored.title.as_str(), stored.description.as_deref()),
        ("Product 1", Some("Lash princess"))
    );
    assert_eq!(stored.status, "published");
    assert_eq!(
        stored.thumbnail.as_deref(),
        Some("https://cdn.example/1/thumbnail.webp")
    );
    assert!(stored.updated_at.starts_with("20"), "{}", stored.updated_at);
    assert_eq!(
        stored.metadata,
        json!({"source": "dummyjson", "rating": 4.94})
    );
    assert_eq!(stored.variants.len(), 1);
    assert!(stored.variants[0].id.starts_with("variant_"));
    assert_eq!(stored.variants[0].sku.as_deref(), Some("BEA-ESS-001"));
    let prices: Vec<_> = stored.variants[0]
        .prices
        .iter()
        .map(|p| (p.currency_code.as_str(), p.amount.as_str()))
        .collect();
    assert_eq!(prices, [("eur", "9.99")]);
    let categories: Vec<_> = stored
        .categories
        .iter()
        .map(|c| (c.handle.as_str(), c.name.as_str()))
        .collect();
    assert_eq!(categories, [("beauty", "Beauty")]);
    assert_eq!(stored.tags[0].value, "mascara");
    assert_eq!(stored.tags.len(), 1);
    let channels: Vec<_> = stored
        .sales_channels
        .iter()
        .map(|c| c.id.as_str())
        .collect();
    assert_eq!(channels, [server.sales_channel_id()]);
    let images: Vec<_> = stored.images.iter().map(|i| i.url.as_str()).collect();
    assert_eq!(images, ["https://cdn.example/1/1.webp"]);

    assert_eq!(admin.count_by_external_id("1").await, 1);
    assert_eq!(
        admin.count_by_external_id("2").await,
        0,
        "the filter is applied, not ignored"
    );
    assert_eq!(
        proxy.requests(),
        ProxyRequests {
            get: 3,
            post: 1,
            delete: 0,
            total: 4
        }
    );

    proxy.reset();
    direct
        .post_ok(
            "/admin/products",
            &product("2", "second", "BEA-ESS-002", server.sales_channel_id()),
        )
        .await;
    let paged = admin.clone().with_page_size(1).products().await;
    let ids: Vec<_> = paged.iter().map(|p| p.external_id.as_deref()).collect();
    assert_eq!(ids, [Some("1"), Some("2")], "oldest first, across pages");
    assert_eq!(proxy.requests().get, 2, "one request per page");

    proxy.set_down(true).await;
    let refused = admin.get("/admin/products").await.expect_err("proxy down");
    assert!(refused.is_connect(), "connection refused: {refused}");
    proxy.set_down(false).await;
    assert_eq!(admin.products().await.len(), 2, "up again on the same port");

    // Writes held back before Medusa sees them; reads are not.
    proxy.hold_writes(true);
    let held = tokio::spawn({
        let admin = admin.clone();
        async move {
            admin
                .post_ok("/admin/product-tags", &json!({"value": "held"}))
                .await
        }
    });
    assert!(
        eventually(30, || async { proxy.in_flight().held == 1 }).await,
        "{:?}",
        proxy.in_flight()
    );
    assert_eq!(
        admin.count_by_external_id("2").await,
        1,
        "a read goes through"
    );
    assert_eq!(proxy.in_flight().held, 1, "the write still waits");
    assert!(!held.is_finished());
    proxy.hold_writes(false);
    let tag = tokio::time::timeout(Duration::from_secs(30), held)
        .await
        .expect("let through")
        .expect("write task");
    assert_eq!(tag["product_tag"]["value"], "held");
    proxy.wait_until_idle().await;

    // Down while a request waits for its (delayed) answer: the client gets no answer.
    proxy.set_delay(Duration::from_secs(120));
    let waiting = tokio::spawn({
        let admin = admin.clone();
        async move {
            admin
                .post("/admin/product-tags", &serde_json::json!({"value": "cut"}))
                .await
        }
    });
    assert!(
        eventually(30, || async { proxy.in_flight().delayed == 1 }).await,
        "{:?}",
        proxy.in_flight()
    );
    proxy.set_down(true).await;
    let cut = tokio::time::timeout(Duration::from_secs(30), waiting)
        .await
        .expect("the cut ends the request long before its answer was due")
        .expect("request task")
        .expect_err("cut in flight");
    assert!(!cut.is_timeout(), "cut, not timed out: {cut}");
    assert_eq!(
        proxy.in_flight(),
        InFlight::default(),
        "nothing left in flight"
    );
    proxy.set_delay(Duration::ZERO);
    proxy.set_down(false).await;

    server.stop().await;
    let gateway = admin
        .get("/admin/products")
        .await
        .expect("the proxy answers");
    assert_eq!(gateway.status(), 502, "Medusa is down behind the proxy");
    server.start_again().await;
    let again = admin.products().await;
    assert_eq!(again.len(), 2, "the database outlives the restart");
    assert_eq!(again[0].id, stored.id);
}

#[tokio::test]
async fn the_dummyjson_simulator_serves_the_fixture() {
    let sim = dummyjson_simulator().await;
    assert_eq!(sim.live_products(), 194);
    let first = sim.product(1).expect("product 1");
    assert_eq!(first["title"], "Essence Mascara Lash Princess");
    assert_eq!(first["price"], json!(9.99));
}
