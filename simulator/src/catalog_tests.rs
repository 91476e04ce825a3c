//! Unit tests of the generated products and their serialization.

use std::collections::HashSet;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::super::overrides::{Overrides, parse_raw};
use super::super::parts::{Timestamp, splitmix64};
use super::super::products::Products;
use super::super::words::CATEGORIES;
use super::*;

fn spec(id: u64) -> ProductSpec {
    ProductSpec {
        id,
        version: 0,
        stamp: None,
        overrides: None,
        variants: None,
    }
}

fn text(seed: u64, spec: &ProductSpec, fields: FieldSet) -> String {
    serde_json::to_string(&ProductView { seed, spec, fields }).expect("serializes")
}

fn json(seed: u64, spec: &ProductSpec) -> Value {
    serde_json::from_str(&text(seed, spec, FieldSet::ALL)).expect("valid JSON")
}

#[test]
fn same_seed_and_id_give_the_same_product() {
    for id in [1, 2, 194, 999_999] {
        assert_eq!(
            text(1, &spec(id), FieldSet::ALL),
            text(1, &spec(id), FieldSet::ALL)
        );
    }
    assert_ne!(json(1, &spec(7)), json(2, &spec(7)), "the seed matters");
    assert_ne!(json(1, &spec(7)), json(1, &spec(8)), "the id matters");
}

#[test]
fn full_products_have_every_field_in_dummyjson_order() {
    for id in 1..=50 {
        let raw = text(3, &spec(id), FieldSet::ALL);
        let value: Value = serde_json::from_str(&raw).expect("valid JSON");
        let mut last = 0;
        for name in FIELD_NAMES {
            if name == "brand" && value.get("brand").is_none() {
                continue;
            }
            let at = raw
                .find(&format!("\"{name}\":"))
                .unwrap_or_else(|| panic!("{name} missing in {raw}"));
            assert!(at >= last, "{name} out of order in {raw}");
            last = at;
        }
        assert_eq!(value["id"], id);
    }
}

#[test]
fn fields_look_like_dummyjson_data() {
    let slugs: HashSet<&str> = CATEGORIES.iter().map(|c| c.slug).collect();
    assert_eq!(slugs.len(), 24);
    let mut titles = HashSet::new();
    let mut with_brand = 0;
    for id in 1..=2000 {
        let p = json(1, &spec(id));
        assert!(slugs.contains(p["category"].as_str().expect("category")));
        assert!(titles.insert(p["title"].as_str().expect("title").to_owned()));
        let count = |name: &str| p[name].as_array().map_or(0, Vec::len);
        for name in ["tags", "reviews", "images"] {
            assert!((1..=3).contains(&count(name)), "{name} of {p}");
        }
        let rating = p["rating"].as_f64().expect("rating");
        assert!((1.0..=5.0).contains(&rating));
        let stock = p["stock"].as_u64().expect("stock");
        let status = p["availabilityStatus"].as_str().expect("status");
        let expected = match stock {
            0 => "Out of Stock",
            1..=9 => "Low Stock",
            _ => "In Stock",
        };
        assert_eq!(status, expected, "stock {stock}");
        if let Some(brand) = p.get("brand") {
            with_brand += 1;
            assert!(
                p["title"]
                    .as_str()
                    .expect("title")
                    .starts_with(brand.as_str().expect("str"))
            );
        }
        let sku = p["sku"].as_str().expect("sku");
        assert_eq!(sku.split('-').count(), 4, "{sku}");
        let email = p["reviews"][0]["reviewerEmail"].as_str().expect("email");
        assert!(
            email.ends_with("@x.dummyjson.com") && !email.contains(' '),
            "{email}"
        );
        assert!(
            p["thumbnail"]
                .as_str()
                .expect("url")
                .starts_with("https://")
        );
        assert_eq!(p["meta"]["barcode"].as_str().expect("barcode").len(), 13);
    }
    assert!(
        (700..=1300).contains(&with_brand),
        "{with_brand} of 2000 have a brand"
    );
}

fn assert_two_decimals(value: &Value, path: &str) {
    match value {
        Value::Number(n) => {
            let shown = n.to_string();
            let decimals = shown.split_once('.').map_or(0, |(_, d)| d.len());
            assert!(decimals <= 2, "{path} = {shown}");
        }
        Value::Array(items) => items.iter().for_each(|v| assert_two_decimals(v, path)),
        Value::Object(map) => map
            .iter()
            .for_each(|(k, v)| assert_two_decimals(v, &format!("{path}.{k}"))),
        _ => {}
    }
}

#[test]
fn numbers_have_at_most_two_decimals() {
    for id in 1..=1000 {
        for version in [0, 1, 17] {
            let spec = ProductSpec {
                version,
                ..spec(id)
            };
            assert_two_decimals(&json(5, &spec), "product");
        }
    }
}

#[test]
fn select_keeps_id_and_the_named_fields_only() {
    let fields = FieldSet::parse("title, price,nope,brand");
    for id in 1..=20 {
        let value = json_with(id, fields);
        let full = json(1, &spec(id));
        let mut keys: Vec<&str> = value
            .as_object()
            .expect("object")
            .keys()
            .map(|k| k.as_str())
            .collect();
        keys.sort_unstable();
        let mut expected = vec!["id", "price", "title"];
        if full.get("brand").is_some() {
            expected.push("brand");
        }
        expected.sort_unstable();
        assert_eq!(keys, expected);
        assert_eq!(value["title"], full["title"]);
        assert_eq!(value["price"], full["price"]);
    }
    let only_id = json_with(3, FieldSet::parse(""));
    assert_eq!(only_id, serde_json::json!({ "id": 3 }));
}

fn json_with(id: u64, fields: FieldSet) -> Value {
    serde_json::from_str(&text(1, &spec(id), fields)).expect("valid JSON")
}

#[test]
fn mutation_changes_price_stock_and_updated_at_only() {
    for id in 1..=300 {
        let mut before = json(1, &spec(id));
        for version in 1..=3 {
            let mut after = json(
                1,
                &ProductSpec {
                    version,
                    ..spec(id)
                },
            );
            assert_ne!(before["price"], after["price"], "price of {id} v{version}");
            assert_ne!(before["stock"], after["stock"], "stock of {id} v{version}");
            let updated = |p: &Value| {
                let text = p["meta"]["updatedAt"].as_str().expect("updatedAt");
                DateTime::parse_from_rfc3339(text).expect("RFC 3339")
            };
            assert!(updated(&after) > updated(&before));
            let next = after.clone();
            for p in [&mut before, &mut after] {
                let object = p.as_object_mut().expect("object");
                for key in ["price", "stock", "availabilityStatus"] {
                    object.remove(key);
                }
                object["meta"]
                    .as_object_mut()
                    .expect("meta")
                    .remove("updatedAt");
            }
            assert_eq!(before, after, "only price, stock and updatedAt change");
            before = next;
        }
    }
}

fn overridden(id: u64, fields: &[(&str, Option<&str>)]) -> ProductSpec {
    let mut overrides = Overrides::default();
    for (name, raw) in fields {
        overrides.set(name, raw.map(|r| parse_raw(r).expect("valid JSON")));
    }
    ProductSpec {
        overrides: Some(Arc::new(overrides)),
        ..spec(id)
    }
}

#[test]
fn title_override_replaces_the_generated_title() {
    let renamed = overridden(4, &[("title", Some(r#""Renamed \"quoted\" product""#))]);
    let value = json(1, &renamed);
    assert_eq!(value["title"], "Renamed \"quoted\" product");
    assert_eq!(value["description"], json(1, &spec(4))["description"]);
}

#[test]
fn overrides_keep_their_text_and_place_and_omit_fields() {
    let big = "123456789012345678901234567890.123456789";
    let spec = overridden(
        6,
        &[
            ("color", Some("\"teal\"")),
            ("price", Some(big)),
            ("stock", Some("-3")),
            ("rating", None),
        ],
    );
    let raw = text(1, &spec, FieldSet::ALL);
    let price = format!("\"price\":{big},");
    assert!(raw.contains(&price), "{raw}");
    let (stock, discount) = (
        raw.find("\"stock\":-3,"),
        raw.find("\"discountPercentage\""),
    );
    assert!(
        stock > discount,
        "an override keeps the field's place: {raw}"
    );
    let value: Value = serde_json::from_str(&raw).expect("valid JSON");
    assert!(value.get("rating").is_none(), "omitted: {raw}");
    assert!(
        raw.ends_with(",\"color\":\"teal\"}"),
        "extras come last: {raw}"
    );
    let selected = text(1, &spec, FieldSet::parse("price,rating"));
    assert_eq!(selected, format!("{{\"id\":6,\"price\":{big}}}"));
    let extra = text(1, &spec, FieldSet::parse("color"));
    assert_eq!(extra, r#"{"id":6,"color":"teal"}"#);
}

#[test]
fn a_product_without_a_brand_can_be_given_one() {
    let id = (1..100)
        .find(|&id| json(1, &spec(id)).get("brand").is_none())
        .expect("some products have no brand");
    let branded = json(1, &overridden(id, &[("brand", Some("\"Acme\""))]));
    assert_eq!(branded["brand"], "Acme");
    let id_only = overridden(id, &[("id", Some("\"7\""))]);
    assert_eq!(text(1, &id_only, FieldSet::parse("")), r#"{"id":"7"}"#);
}

#[test]
fn timestamps_match_chrono() {
    let mut ms = 0_u64;
    for step in 0..20_000_u64 {
        ms = ms.wrapping_add(splitmix64(step) % (400 * 86_400_000));
        let ms = ms % 10_000_000_000_000;
        let expected = DateTime::<Utc>::from_timestamp_millis(ms as i64)
            .expect("in range")
            .format("%Y-%m-%dT%H:%M:%S%.3fZ")
            .to_string();
        assert_eq!(Timestamp(ms).to_string(), expected);
    }
    assert_eq!(
        Timestamp(1_746_006_062_053).to_string(),
        "2025-04-30T09:41:02.053Z"
    );
}

#[test]
fn pages_carry_total_skip_and_the_returned_count() {
    let specs: Vec<ProductSpec> = (11..=15).map(spec).collect();
    let body = write_page(
        &Products::generated(1, 0),
        &specs,
        FieldSet::parse("title"),
        194,
        10,
    )
    .expect("page");
    let page: Value = serde_json::from_slice(&body).expect("valid JSON");
    assert_eq!(page["total"], 194);
    assert_eq!(page["skip"], 10);
    assert_eq!(page["limit"], 5);
    let products = page["products"].as_array().expect("products");
    assert_eq!(products.len(), 5);
    assert_eq!(products[0]["id"], 11);
    assert_eq!(products[0]["title"], json(1, &spec(11))["title"]);
    let empty = write_page(&Products::generated(1, 0), &[], FieldSet::ALL, 0, 0).expect("page");
    assert_eq!(
        std::str::from_utf8(&empty).expect("utf-8"),
        r#"{"products":[],"total":0,"skip":0,"limit":0}"#
    );
}
