//! Knobs over HTTP: string prices, a products file as the catalog, and the sliding-window
//! rate-limit quota with its 429 counter.

use std::path::PathBuf;
use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::json;

use super::super::{Fault, Simulator, SimulatorConfig};
use super::{admin, array_ids, fetch, fetch_json, get, get_text, ids, local, start};

#[tokio::test]
async fn string_prices_carry_the_numbers_exact_text() {
    let plain = start(SimulatorConfig::default()).await;
    let strings = start(SimulatorConfig {
        string_prices: true,
        ..SimulatorConfig::default()
    })
    .await;
    let (_, numbers) = get(&plain, "?limit=0").await;
    let (_, texts) = get(&strings, "?limit=0").await;
    for (number, text) in numbers["products"]
        .as_array()
        .expect("products")
        .iter()
        .zip(texts["products"].as_array().expect("products"))
    {
        assert!(number["price"].is_number());
        assert_eq!(
            text["price"].as_str(),
            Some(number["price"].to_string().as_str())
        );
        assert_eq!(text["stock"], number["stock"], "other numbers stay numbers");
    }
    let big = "123456789012345678901234567890.123456789";
    strings.set_field(4, "price", Some(big)).expect("valid");
    let (_, single) = get_text(&strings, "/4").await;
    assert!(single.contains(&format!("\"price\":\"{big}\"")), "{single}");
    let (_, selected) = get_text(&strings, "/4?select=price").await;
    assert_eq!(selected, format!("{{\"id\":4,\"price\":\"{big}\"}}"));
    strings
        .set_field(5, "price", Some("\"9.90\""))
        .expect("valid");
    let (_, _, cursor) = fetch_json(&strings, "/cursor/products?limit=5").await;
    assert_eq!(
        (&cursor["data"][3]["price"], &cursor["data"][4]["price"]),
        (&json!(big), &json!("9.90"))
    );
    let (_, _, next) = fetch_json(&strings, "/next/products?limit=1").await;
    assert!(next["items"][0]["price"].is_string());
}

/// A products file under the build directory (tests read nothing outside the workspace),
/// removed on drop.
pub(super) struct DumpFile(pub(super) PathBuf);

impl DumpFile {
    pub(super) fn new(name: &str, text: &str) -> DumpFile {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/simulator-tests");
        std::fs::create_dir_all(&dir).expect("test directory");
        let path = dir.join(format!("{name}-{}.json", std::process::id()));
        std::fs::write(&path, text).expect("written");
        DumpFile(path)
    }
}

impl Drop for DumpFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

const DUMP: &str = r#"{
  "products": [
    {
      "id": 3, "title": "Powder Canister", "category": "beauty", "price": 14.99, "stock": 89,
      "tags": ["beauty", "face powder"], "brand": "Velvet Touch", "sku": "BEA-VEL-POW-003",
      "weight": 8, "dimensions": {"width": 29.27, "height": 27.93, "depth": 20.59},
      "meta": {"createdAt": "2024-05-23T08:56:21.618Z", "updatedAt": "2024-05-23T08:56:21.618Z"},
      "images": ["https://cdn.example/3/1.webp"], "thumbnail": "https://cdn.example/3/t.webp"
    },
    {
      "id": 7, "title": "Chanel Coco Noir", "category": "fragrances", "price": 129.990,
      "stock": 41, "tags": ["fragrances"], "sku": "FRA-CHA-CHA-007",
      "meta": {"createdAt": "2024-05-23T08:56:21.619Z", "updatedAt": "2024-06-01T00:00:00.000Z"},
      "images": [], "thumbnail": "https://cdn.example/7/t.webp", "extra": {"note": "kept  as is"}
    },
    {"id": 8, "title": "Dior J'adore", "category": "fragrances", "price": 89.99, "stock": 0}
  ],
  "total": 3, "skip": 0, "limit": 3
}"#;

#[tokio::test]
async fn a_products_file_becomes_the_catalog() {
    let file = DumpFile::new("dump", DUMP);
    let sim = start(SimulatorConfig {
        products: 1000,
        products_file: Some(file.0.clone()),
        ..SimulatorConfig::default()
    })
    .await;
    let (_, page) = get(&sim, "").await;
    assert_eq!((ids(&page), &page["total"]), (vec![3, 7, 8], &json!(3)));
    assert_eq!(sim.live_products(), 3);
    let (status, seven) = get_text(&sim, "/7").await;
    assert_eq!(status, StatusCode::OK);
    let stored = r#"{"id":7,"title":"Chanel Coco Noir","category":"fragrances","price":129.990,"stock":41,"tags":["fragrances"],"sku":"FRA-CHA-CHA-007","meta":{"createdAt":"2024-05-23T08:56:21.619Z","updatedAt":"2024-06-01T00:00:00.000Z"},"images":[],"thumbnail":"https://cdn.example/7/t.webp","extra":{"note":"kept  as is"}}"#;
    assert_eq!(seven, stored, "served as stored");
    assert_eq!(get(&sim, "/4").await.0, StatusCode::NOT_FOUND);
    let (_, selected) = get_text(&sim, "/7?select=price,extra").await;
    assert_eq!(
        selected,
        r#"{"id":7,"price":129.990,"extra":{"note":"kept  as is"}}"#
    );

    let (_, _, woo) = fetch_json(&sim, "/wc/v3/products/3").await;
    assert_eq!(
        (&woo["name"], &woo["price"], &woo["stock_quantity"]),
        (&json!("Powder Canister"), &json!("14.99"), &json!(89))
    );
    assert_eq!(
        (&woo["categories"][0]["name"], &woo["tags"][1]["slug"]),
        (&json!("Beauty"), &json!("face-powder"))
    );
    assert_eq!(
        (&woo["dimensions"]["length"], &woo["date_modified_gmt"]),
        (&json!("20.59"), &json!("2024-05-23T08:56:21"))
    );
    assert_eq!(woo["brands"][0]["name"], "Velvet Touch");
    let (_, _, shopify) = fetch_json(&sim, "/admin/api/2024-07/products/7.json").await;
    assert_eq!(
        (
            &shopify["product"]["variants"][0]["price"],
            &shopify["product"]["vendor"]
        ),
        (&json!("129.990"), &json!(""))
    );

    let (_, _, since) =
        fetch_json(&sim, "/cursor/products?updated_since=2024-05-24T00:00:00Z").await;
    assert_eq!(
        array_ids(&since["data"]),
        [7, 8],
        "product 8 has no date: 2025-01-01"
    );
    let (_, _, woo) = fetch_json(&sim, "/wc/v3/products/8").await;
    assert_eq!(woo["date_modified_gmt"], "2025-01-01T00:00:00");
    sim.mutate(8);
    sim.set_field(3, "title", Some("\"Renamed\""))
        .expect("valid");
    let eight = sim.product(8).expect("live");
    assert_eq!(
        (&eight["price"], &eight["stock"]),
        (&json!(90.0), &json!(1))
    );
    let three = sim.product(3).expect("live");
    assert_eq!(
        (&three["title"], &three["stock"]),
        (&json!("Renamed"), &json!(90))
    );
    let updated = three["meta"]["updatedAt"].as_str().expect("updatedAt");
    assert!(
        updated > "2025",
        "moved to the time of the change: {updated}"
    );
    assert_eq!(three["meta"]["createdAt"], "2024-05-23T08:56:21.618Z");
    let (_, _, since) = fetch_json(&sim, "/next/products?updated_since=2025-01-01T00:00:00Z").await;
    assert_eq!(array_ids(&since["items"]), [3, 8]);
    sim.delete(7);
    sim.add_products(2);
    let (_, page) = get(&sim, "").await;
    assert_eq!(ids(&page), [3, 8, 9, 10], "added products are generated");
    assert_eq!(
        page["products"][2]["title"],
        sim.product(9).expect("live")["title"]
    );
}

#[tokio::test]
async fn a_bad_products_file_fails_the_start_naming_the_file() {
    let bad = DumpFile::new("bad", r#"{"products": [{"id": 1}, {"id": 1}]}"#);
    let missing = bad.0.with_file_name("no-such-dump.json");
    for path in [bad.0.clone(), missing] {
        let config = SimulatorConfig {
            products_file: Some(path.clone()),
            ..SimulatorConfig::default()
        };
        let error = Simulator::start(config, local())
            .await
            .expect_err("refused");
        let text = error.to_string();
        assert!(text.contains(&path.display().to_string()), "{text}");
    }
}

#[tokio::test]
async fn the_quota_answers_429_over_a_sliding_window_and_counts_them() {
    let sim = start(SimulatorConfig {
        rate_limit_quota: Some((3, Duration::from_millis(600))),
        ..SimulatorConfig::default()
    })
    .await;
    for path in [
        "/products?limit=1",
        "/wc/v3/products/1",
        "/next/products?limit=1",
    ] {
        assert_eq!(fetch(&sim, path).await.0, StatusCode::OK, "{path}");
    }
    let (status, headers, _) = fetch(&sim, "/cursor/products").await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(headers["retry-after"], "1");
    assert_eq!(
        admin(&sim, Method::GET, "stats", None).await.0,
        StatusCode::OK,
        "admin is never limited"
    );
    assert_eq!(sim.request_counts().rate_limited, 1);
    let (_, stats) = admin(&sim, Method::GET, "stats", None).await;
    assert_eq!(stats["rate_limited"], 1);
    tokio::time::sleep(Duration::from_millis(650)).await;
    assert_eq!(
        fetch(&sim, "/cursor/products").await.0,
        StatusCode::OK,
        "the window slid on"
    );
    sim.fail_next(
        1,
        Fault::TooManyRequests {
            retry_after: Duration::from_secs(2),
        },
    );
    assert_eq!(
        fetch(&sim, "/products/1").await.0,
        StatusCode::TOO_MANY_REQUESTS
    );
    assert_eq!(
        sim.request_counts().rate_limited,
        2,
        "scripted 429s count too"
    );

    let calm = start(SimulatorConfig::default()).await;
    for _ in 0..5 {
        get(&calm, "?limit=1").await;
    }
    assert_eq!(calm.request_counts().rate_limited, 0);
}
