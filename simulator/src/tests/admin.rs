//! Request counting (id-only listings too), the `/__sim` admin API, catalog introspection,
//! shutdown and the `run` entry point.

use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::json;

use super::super::{Fault, SimulatorArgs, SimulatorConfig, run};
use super::{admin, client, get, local, start};

#[tokio::test]
async fn every_request_is_counted_whatever_the_answer() {
    let sim = start(SimulatorConfig::default()).await;
    assert_eq!(sim.requests_served(), 0);
    get(&sim, "").await;
    get(&sim, "/1").await;
    get(&sim, "/999").await;
    sim.fail_next(1, Fault::Status(500));
    get(&sim, "?limit=2").await;
    assert_eq!(sim.requests_served(), 4);
    let stats = admin(&sim, reqwest::Method::GET, "stats", None).await.1;
    assert_eq!(stats["requests"], 5);
    assert_eq!(stats["products"], 194);
    let counts = sim.request_counts();
    assert_eq!(
        (counts.list, counts.single, counts.admin, counts.total),
        (2, 2, 1, 5)
    );
}

#[tokio::test]
async fn admin_endpoints_drive_the_catalog_and_faults() {
    let sim = start(SimulatorConfig {
        latency: Duration::from_secs(5),
        ..SimulatorConfig::default()
    })
    .await;
    let before = sim.product(3).expect("live");
    let started = Instant::now();
    let (status, after) = admin(&sim, Method::POST, "products/3/mutate", None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "admin requests skip the latency"
    );
    assert_ne!(after["price"], before["price"]);
    assert_eq!(Some(after), sim.product(3));
    let before_rename = sim.product(4).expect("live");
    let renamed = admin(
        &sim,
        Method::POST,
        "products/4/title",
        Some(json!({ "title": "T" })),
    )
    .await;
    assert_eq!(
        (renamed.0, &renamed.1["title"]),
        (StatusCode::OK, &json!("T"))
    );
    assert_ne!(
        renamed.1["meta"]["updatedAt"], before_rename["meta"]["updatedAt"],
        "a rename is an upstream change"
    );
    assert_eq!(
        admin(&sim, Method::POST, "products/4/title", Some(json!({})))
            .await
            .0,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        admin(&sim, Method::DELETE, "products/4", None).await.0,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        admin(&sim, Method::DELETE, "products/4", None).await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        admin(&sim, Method::POST, "products/4/mutate", None).await.0,
        StatusCode::NOT_FOUND
    );
    let (status, added) = admin(&sim, Method::POST, "products?count=10", None).await;
    assert_eq!(
        (status, added),
        (StatusCode::OK, json!({ "products": 203 }))
    );
    assert_eq!(
        admin(&sim, Method::POST, "products?count=x", None).await.0,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(sim.live_products(), 203);

    let fault = json!({ "kind": "status", "status": 500, "count": 2 });
    assert_eq!(
        admin(&sim, Method::POST, "faults", Some(fault)).await.0,
        StatusCode::NO_CONTENT
    );
    let page = json!({ "kind": "page", "skip": 200 });
    assert_eq!(
        admin(&sim, Method::POST, "faults", Some(page)).await.0,
        StatusCode::NO_CONTENT
    );
    let bad = json!({ "kind": "flood" });
    assert_eq!(
        admin(&sim, Method::POST, "faults", Some(bad)).await.0,
        StatusCode::BAD_REQUEST
    );
    let (status, stats) = admin(&sim, Method::GET, "stats", None).await;
    assert_eq!(status, StatusCode::OK, "admin requests are not faulted");
    assert_eq!(stats["products"], 203);
    assert_eq!(
        sim.shared.faults().pop(),
        Some(Fault::Status(500)),
        "the faults wait for products"
    );
    assert_eq!(
        admin(&sim, Method::DELETE, "faults", None).await.0,
        StatusCode::NO_CONTENT
    );
    assert_eq!(sim.shared.faults().pop(), None);
    assert!(!sim.shared.faults().page_fails(200));
}

#[tokio::test]
async fn shutdown_stops_serving_and_run_reports_bind_errors() {
    let sim = start(SimulatorConfig::default()).await;
    let url = sim.url();
    assert_eq!(get(&sim, "/1").await.0, StatusCode::OK);
    sim.shutdown().await;
    assert!(
        client().get(url).send().await.is_err(),
        "nothing listens any more"
    );

    let taken = start(SimulatorConfig::default()).await;
    let args = SimulatorArgs {
        products: 5,
        seed: 1,
        latency_ms: 0,
        error_rate: 0.0,
        truncate_rate: 0.0,
        rate_limit: false,
        max_limit: None,
        basic_auth: None,
        rate_limit_quota: None,
        string_prices: false,
        products_file: None,
        compress: None,
        compress_always: false,
        variants: 0,
        listen: taken.addr(),
    };
    assert!(
        run(args.clone(), async {}).await.is_err(),
        "the address is in use"
    );
    let free = SimulatorArgs {
        listen: local(),
        ..args
    };
    run(free, async {})
        .await
        .expect("serves, then stops at once");
}

#[tokio::test]
async fn id_only_listings_are_counted_apart() {
    let sim = start(SimulatorConfig::default()).await;
    for suffix in [
        "?select=id&limit=0",
        "?select=%20id%20,id",
        "?select=id,title",
        "?limit=5",
        "/1?select=id",
    ] {
        assert_eq!(get(&sim, suffix).await.0, StatusCode::OK, "{suffix}");
    }
    let counts = sim.request_counts();
    assert_eq!((counts.list, counts.list_ids_only), (4, 2));
    let stats = admin(&sim, Method::GET, "stats", None).await.1;
    assert_eq!(stats["list_ids_only"], 2);
}

#[tokio::test]
async fn introspection_follows_the_catalog() {
    let sim = start(SimulatorConfig {
        products: 10,
        ..SimulatorConfig::default()
    })
    .await;
    sim.delete(7);
    sim.delete(3);
    sim.add_products(2);
    assert_eq!(sim.last_id(), 12);
    assert_eq!(sim.deleted_ids(), [3, 7]);
    assert!(sim.is_live(12) && !sim.is_live(7) && !sim.is_live(13) && !sim.is_live(0));
    let (status, catalog) = admin(&sim, Method::GET, "catalog", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        catalog,
        json!({ "products": 10, "last_id": 12, "deleted": [3, 7] })
    );
}
