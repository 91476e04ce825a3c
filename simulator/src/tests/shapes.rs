//! The WooCommerce and Shopify product shapes over HTTP, checked against the same product's
//! DummyJSON JSON.

use reqwest::StatusCode;
use serde_json::{Value, json};

use super::super::SimulatorConfig;
use super::{fetch, fetch_json, start};

#[tokio::test]
async fn the_shapes_carry_the_dummyjson_fields() {
    let sim = start(SimulatorConfig::default()).await;
    let branded = (1..=194)
        .find(|&id| sim.product(id).expect("live").get("brand").is_some())
        .expect("a branded product");
    let unbranded = (1..=194)
        .find(|&id| sim.product(id).expect("live").get("brand").is_none())
        .expect("an unbranded product");
    for id in [branded, unbranded] {
        let p = sim.product(id).expect("live");
        let (_, _, price_text) = fetch(&sim, &format!("/products/{id}?select=price")).await;
        let price = price_text
            .split("\"price\":")
            .nth(1)
            .expect("price")
            .trim_end_matches('}');
        let updated = p["meta"]["updatedAt"].as_str().expect("updatedAt");
        let (status, _, woo) = fetch_json(&sim, &format!("/wc/v3/products/{id}")).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!((&woo["id"], &woo["name"]), (&json!(id), &p["title"]));
        assert_eq!(
            (woo["price"].as_str(), woo["regular_price"].as_str()),
            (Some(price), Some(price))
        );
        assert_eq!(
            (&woo["stock_quantity"], &woo["description"]),
            (&p["stock"], &p["description"])
        );
        assert_eq!(woo["categories"][0]["slug"], p["category"]);
        let tags: Vec<&Value> = woo["tags"]
            .as_array()
            .expect("tags")
            .iter()
            .map(|t| &t["name"])
            .collect();
        assert_eq!(json!(tags), p["tags"]);
        assert_eq!(woo["images"][0]["src"], p["thumbnail"]);
        assert_eq!(
            woo["images"].as_array().expect("images").len(),
            1 + p["images"].as_array().expect("images").len()
        );
        assert_eq!(
            woo["brands"].as_array().expect("brands").len(),
            usize::from(id == branded)
        );
        assert_eq!(woo["date_modified_gmt"].as_str(), Some(&updated[..19]));
        assert_eq!(woo["sku"], p["sku"]);
        let slug = woo["slug"].as_str().expect("slug");
        assert_eq!(
            woo["permalink"],
            format!("https://shop.example/product/{slug}/")
        );
        assert_eq!(
            woo["dimensions"]["width"],
            p["dimensions"]["width"].to_string()
        );

        let (status, _, one) =
            fetch_json(&sim, &format!("/admin/api/2024-07/products/{id}.json")).await;
        assert_eq!(status, StatusCode::OK);
        let s = &one["product"];
        assert_eq!(
            (&s["id"], &s["title"], &s["handle"]),
            (&json!(id), &p["title"], &woo["slug"])
        );
        assert_eq!(s["variants"][0]["price"].as_str(), Some(price));
        assert_eq!(
            (
                &s["variants"][0]["inventory_quantity"],
                &s["variants"][0]["sku"]
            ),
            (&p["stock"], &p["sku"])
        );
        assert_eq!(s["vendor"], p.get("brand").cloned().unwrap_or(json!("")));
        let joined = p["tags"]
            .as_array()
            .expect("tags")
            .iter()
            .map(|t| t.as_str().expect("tag"))
            .collect::<Vec<_>>()
            .join(", ");
        assert_eq!(s["tags"], joined);
        assert_eq!(s["image"]["src"], p["thumbnail"]);
        let shopify_updated =
            chrono::DateTime::parse_from_rfc3339(s["updated_at"].as_str().expect("time"))
                .expect("RFC 3339");
        assert_eq!(
            shopify_updated
                .to_utc()
                .format("%Y-%m-%dT%H:%M:%S")
                .to_string(),
            &updated[..19]
        );
        assert!(s["updated_at"].as_str().expect("time").ends_with("-05:00"));
    }
}
