//! "Changed since" filters over HTTP: after a full listing and a few changes, every shape's
//! filter finds exactly the changed products, and a filter inside the generated catalog's
//! own dates counts like `meta.updatedAt` says.

use chrono::{DateTime, SecondsFormat, Utc};
use reqwest::StatusCode;
use serde_json::{Value, json};

use super::super::{Simulator, SimulatorConfig};
use super::{array_ids, fetch_json, ids, start};

/// The ids a filtered listing of each shape finds, all in one page.
async fn filtered(sim: &Simulator, since: DateTime<Utc>) -> Vec<(String, Vec<u64>)> {
    let rfc3339 = since.to_rfc3339_opts(SecondsFormat::Millis, true);
    // Whole seconds, rounded down, as a client would send WooCommerce's or Unix time.
    let woo = since.format("%Y-%m-%dT%H:%M:%S").to_string();
    let unix = since.timestamp();
    let shopify = since.format("%Y-%m-%dT%H:%M:%S+00:00").to_string();
    let mut found = Vec::new();
    for (path, pointer) in [
        (
            format!("/products?limit=0&updated_since={rfc3339}"),
            "/products",
        ),
        (
            format!("/products?limit=0&updated_since={unix}"),
            "/products",
        ),
        (
            format!("/wc/v3/products?per_page=100&modified_after={woo}"),
            "",
        ),
        (
            format!("/admin/api/2024-07/products.json?limit=250&updated_at_min={shopify}"),
            "/products",
        ),
        (
            format!("/cursor/products?limit=0&updated_since={unix}"),
            "/data",
        ),
        (
            format!("/next/products?limit=0&updated_since={rfc3339}"),
            "/items",
        ),
    ] {
        let (status, _, body) = fetch_json(sim, &path.replace('+', "%2B")).await;
        assert_eq!(status, StatusCode::OK, "{path}: {body}");
        found.push((path, array_ids(body.pointer(pointer).expect("products"))));
    }
    found
}

#[tokio::test]
async fn a_filter_from_before_the_changes_finds_exactly_the_changed_products() {
    let sim = start(SimulatorConfig {
        products: 5000,
        ..SimulatorConfig::default()
    })
    .await;
    let (_, full) = super::get(&sim, "?limit=0").await;
    assert_eq!(ids(&full).len(), 5000, "the full sync");
    let before = Utc::now();
    let mut changed: Vec<u64> = (1..=48).map(|n| n * 97).collect();
    changed.extend([4999, 5000]);
    for &id in &changed[..48] {
        sim.mutate(id);
    }
    sim.set_title(4999, "Renamed");
    sim.set_field(5000, "color", Some("\"red\""))
        .expect("valid");
    sim.delete(97);
    changed.remove(0);
    for (path, found) in filtered(&sim, before).await {
        assert_eq!(found, changed, "{path}");
    }
    let (_, page) = super::get(
        &sim,
        &format!("?limit=5&skip=45&updated_since={}", before.timestamp()),
    )
    .await;
    assert_eq!(
        (&page["total"], ids(&page)),
        (&json!(49), changed[45..].to_vec())
    );
    let (_, headers, _) = fetch_json(
        &sim,
        &format!(
            "/wc/v3/products?per_page=10&modified_after={}",
            before.format("%Y-%m-%dT%H:%M:%S")
        ),
    )
    .await;
    assert_eq!(
        (&headers["x-wp-total"], &headers["x-wp-totalpages"]),
        (&"49".parse().expect("hv"), &"5".parse().expect("hv"))
    );
    let later = Utc::now() + chrono::Duration::seconds(5);
    for (path, found) in filtered(&sim, later).await {
        assert!(found.is_empty(), "{path}: {found:?}");
    }
}

#[tokio::test]
async fn a_change_moves_updated_at_to_the_wall_clock_and_never_back() {
    let sim = start(SimulatorConfig::default()).await;
    let updated = |p: &Value| {
        let text = p["meta"]["updatedAt"]
            .as_str()
            .expect("updatedAt")
            .to_owned();
        DateTime::parse_from_rfc3339(&text).expect("RFC 3339")
    };
    let untouched = sim.product(8).expect("live");
    assert!(
        updated(&untouched) < DateTime::parse_from_rfc3339("2025-06-01T00:00:00Z").expect("time")
    );
    let began = Utc::now();
    let mut last = updated(&untouched);
    for _ in 0..5 {
        sim.mutate(8);
        let now = updated(&sim.product(8).expect("live"));
        assert!(now > last, "strictly newer than the previous version");
        assert!(now.timestamp_millis() >= began.timestamp_millis());
        last = now;
    }
    let other = Simulator::start(SimulatorConfig::default(), super::local())
        .await
        .expect("starts");
    assert_eq!(
        other.product(9),
        sim.product(9),
        "unchanged products stay deterministic"
    );
}

#[tokio::test]
async fn a_filter_inside_the_catalogs_own_dates_counts_like_updated_at() {
    let sim = start(SimulatorConfig::default()).await;
    let since = "2025-03-01T00:00:00Z";
    let threshold = DateTime::parse_from_rfc3339(since).expect("time");
    let (_, all) = super::get(&sim, "?limit=0").await;
    let expected: Vec<u64> = all["products"]
        .as_array()
        .expect("products")
        .iter()
        .filter(|p| {
            DateTime::parse_from_rfc3339(p["meta"]["updatedAt"].as_str().expect("time"))
                .expect("time")
                >= threshold
        })
        .map(|p| p["id"].as_u64().expect("id"))
        .collect();
    assert!(
        (20..180).contains(&expected.len()),
        "a real split: {}",
        expected.len()
    );
    let (_, page) = super::get(&sim, &format!("?limit=0&updated_since={since}")).await;
    assert_eq!(
        (ids(&page), &page["total"]),
        (expected.clone(), &json!(expected.len()))
    );
    let (_, _, cursor) = fetch_json(
        &sim,
        "/cursor/products?limit=10&updated_since=2025-03-01T00:00:00",
    )
    .await;
    assert_eq!(array_ids(&cursor["data"]), expected[..10]);
    let (status, body) = super::get(&sim, "?updated_since=last-tuesday").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        body["message"]
            .as_str()
            .expect("message")
            .contains("updated_since")
    );
}
