//! Changing variants over HTTP: a price change, a removal and an addition show in every shape
//! and move the product's version; products sold one way keep their shapes (and may be given
//! variants); `select`, string prices, products files and the admin routes.

use chrono::Utc;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use super::super::{Simulator, SimulatorConfig};
use super::knobs::DumpFile;
use super::{admin, array_ids, fetch, fetch_json, get, start};

/// What each shape says about product `id`'s variants: (id, price) pairs from the DummyJSON,
/// WooCommerce variations and Shopify routes, and the product's three version times.
async fn seen(sim: &Simulator, id: u64) -> (Vec<Vec<(u64, String)>>, Vec<String>) {
    let (_, _, dummy) = fetch_json(sim, &format!("/products/{id}")).await;
    let (_, _, woo) = fetch_json(sim, &format!("/wc/v3/products/{id}")).await;
    let path = format!("/wc/v3/products/{id}/variations?per_page=100");
    let (_, _, variations) = fetch_json(sim, &path).await;
    let (_, _, shopify) = fetch_json(sim, &format!("/admin/api/2024-07/products/{id}.json")).await;
    let pairs = |list: &Value, price: &str| -> Vec<(u64, String)> {
        list.as_array()
            .expect("array")
            .iter()
            .map(|v| {
                let text = match &v[price] {
                    Value::String(s) => s.clone(),
                    number => format!("{:.2}", number.as_f64().expect("number")),
                };
                (v["id"].as_u64().expect("id"), text)
            })
            .collect()
    };
    let shapes = vec![
        pairs(&dummy["variants"], "price"),
        pairs(&variations, "regular_price"),
        pairs(&shopify["product"]["variants"], "price"),
    ];
    let times = [
        &dummy["meta"]["updatedAt"],
        &woo["date_modified_gmt"],
        &shopify["product"]["updated_at"],
    ];
    let times = times.map(|t| t.as_str().expect("time").to_owned()).to_vec();
    (shapes, times)
}

#[tokio::test]
async fn variant_changes_show_in_every_shape_and_move_the_version() {
    let sim = start(SimulatorConfig {
        variants: 4,
        ..SimulatorConfig::default()
    })
    .await;
    let id = (1..=194)
        .find(|&id| sim.variants(id).len() >= 3)
        .expect("a product of three variants");
    let before = sim.variants(id);
    let (_, times) = seen(&sim, id).await;
    let since = Utc::now();

    assert!(sim.set_variant_price(id, before[1].id, "12.34"));
    assert!(sim.remove_variant(id, before[0].id));
    let added = sim.add_variant(id).expect("a free combination");
    assert_eq!(added, id * 10_000 + before.len() as u64 + 1, "a new id");
    let after = sim.variants(id);
    assert_eq!(after.len(), before.len());
    assert_eq!(
        (after[0].id, after[0].price.as_str()),
        (before[1].id, "12.34")
    );
    assert_eq!(
        after[1..before.len() - 1],
        before[2..],
        "the others are unchanged"
    );
    let new = after.last().expect("the added one");
    assert_eq!(new.id, added);
    assert!(
        before
            .iter()
            .all(|v| (&v.size, &v.color) != (&new.size, &new.color)),
        "a combination the product did not list"
    );
    let expected: Vec<(u64, String)> = after.iter().map(|v| (v.id, v.price.clone())).collect();
    let (shapes, new_times) = seen(&sim, id).await;
    for shape in shapes {
        assert_eq!(shape, expected);
    }
    for (old, new) in times.iter().zip(&new_times) {
        assert!(new > old, "the version moved on: {old} -> {new}");
    }
    let filter = since.format("%Y-%m-%dT%H:%M:%S").to_string();
    let (_, _, changed) =
        fetch_json(&sim, &format!("/wc/v3/products?modified_after={filter}")).await;
    assert_eq!(
        array_ids(&changed),
        [id],
        "a \"changed since\" listing finds it"
    );
    let (_, page) = get(
        &sim,
        &format!("?limit=0&updated_since={}", since.timestamp()),
    )
    .await;
    assert_eq!(page["products"][0]["id"], id);

    // Refused changes change nothing.
    let version = sim.product(id).expect("live")["meta"]["updatedAt"].clone();
    assert!(!sim.set_variant_price(id, before[0].id, "1.00"), "removed");
    assert!(!sim.set_variant_price(id, added, "-1"), "not decimal text");
    assert!(!sim.set_variant_price(id, added, "1e3"), "not decimal text");
    assert!(!sim.remove_variant(id, 42));
    assert!(!sim.remove_variant(999, added), "no such product");
    assert_eq!(sim.add_variant(999), None);
    assert_eq!(sim.product(id).expect("live")["meta"]["updatedAt"], version);
    while sim.add_variant(id).is_some() {}
    assert_eq!(sim.variants(id).len(), 20, "every size and colour");

    sim.delete(id);
    assert!(sim.variants(id).is_empty());
    assert!(sim.restore(id));
    assert_eq!(sim.variants(id), before, "restored as first served");
}

#[tokio::test]
async fn products_sold_one_way_keep_their_shapes_until_given_variants() {
    let sim = start(SimulatorConfig::default()).await;
    let product = sim.product(8).expect("live");
    assert!(product.get("variants").is_none() && product.get("options").is_none());
    assert!(sim.variants(8).is_empty());
    let (_, _, woo) = fetch_json(&sim, "/wc/v3/products/8").await;
    assert_eq!(woo["type"], "simple");
    assert_eq!(
        (&woo["variations"], &woo["attributes"]),
        (&json!([]), &json!([])),
        "as WooCommerce serves a simple product"
    );
    let (_, _, shopify) = fetch_json(&sim, "/admin/api/2024-07/products/8.json").await;
    let s = &shopify["product"];
    assert_eq!(
        s["options"],
        json!([{ "id": 81, "product_id": 8, "name": "Title", "position": 1, "values": ["Default Title"] }])
    );
    assert_eq!(
        (&s["variants"][0]["title"], &s["variants"][0]["option1"]),
        (&json!("Default Title"), &json!("Default Title"))
    );
    assert_eq!(s["variants"][0]["id"], 8001);
    assert_eq!(s["variants"][0]["price"], product["price"].to_string());

    // A failed change leaves the product as it was; an added variant is its first.
    assert!(!sim.remove_variant(8, 80_001));
    assert!(sim.product(8).expect("live").get("variants").is_none());
    let first = sim.add_variant(8).expect("added");
    assert_eq!(first, 80_001);
    let variants = sim.variants(8);
    assert_eq!(variants.len(), 1);
    let product = sim.product(8).expect("live");
    assert_eq!(product["variants"][0]["id"], first);
    let (_, _, woo) = fetch_json(&sim, "/wc/v3/products/8").await;
    assert_eq!(
        (&woo["type"], &woo["variations"]),
        (&json!("variable"), &json!([first]))
    );
    let (_, _, shopify) = fetch_json(&sim, "/admin/api/2024-07/products/8.json").await;
    assert_eq!(
        shopify["product"]["variants"][0]["sku"],
        json!(variants[0].sku)
    );
    // Without variants a product is simple again, and lists none.
    assert!(sim.remove_variant(8, first));
    assert_eq!(sim.product(8).expect("live")["variants"], json!([]));
    let (_, _, woo) = fetch_json(&sim, "/wc/v3/products/8").await;
    assert_eq!(woo["type"], "simple");
    let (_, _, shopify) = fetch_json(&sim, "/admin/api/2024-07/products/8.json").await;
    assert_eq!(shopify["product"]["variants"][0]["title"], "Default Title");
}

#[tokio::test]
async fn select_string_prices_and_products_files_cover_variants() {
    let sim = start(SimulatorConfig {
        variants: 2,
        string_prices: true,
        ..SimulatorConfig::default()
    })
    .await;
    let keys = |v: &Value| {
        let mut keys: Vec<String> = v.as_object().expect("object").keys().cloned().collect();
        keys.sort();
        keys
    };
    let (_, only) = get(&sim, "/3?select=title,variants").await;
    assert_eq!(keys(&only), ["id", "title", "variants"]);
    assert!(
        only["variants"][0]["price"].is_string(),
        "string prices: {only}"
    );
    let (_, page) = get(&sim, "?limit=2&select=options").await;
    assert_eq!(keys(&page["products"][1]), ["id", "options"]);
    let (_, none) = get(&sim, "?limit=2&select=title").await;
    assert_eq!(keys(&none["products"][0]), ["id", "title"]);
    let (_, ids) = get(&sim, "?limit=2&select=id").await;
    assert_eq!(ids["products"][0], json!({ "id": 1 }));
    sim.set_field(3, "variants", Some("\"overridden\""))
        .expect("valid");
    let (_, _, text) = fetch(&sim, "/products/3?select=variants").await;
    assert_eq!(
        text, r#"{"id":3,"variants":"overridden"}"#,
        "an override wins"
    );

    // A products file's products get variants too, from their own SKU and price; a file
    // that lists variants of its own keeps them.
    let file = DumpFile::new(
        "variants",
        r#"[{"id": 2, "sku": "OWN-SKU", "price": 10},
            {"id": 5, "sku": "X", "price": 1, "variants": [{"id": 1}]}]"#,
    );
    let sim = start(SimulatorConfig {
        variants: 3,
        products_file: Some(file.0.clone()),
        ..SimulatorConfig::default()
    })
    .await;
    let variants = sim.variants(2);
    assert!(!variants.is_empty());
    for v in &variants {
        assert!(v.sku.starts_with("OWN-SKU-"), "{}", v.sku);
        let price: f64 = v.price.parse().expect("decimal");
        assert!((9.5..=11.7).contains(&price), "{price} near 10");
    }
    let (_, _, text) = fetch(&sim, "/products/5?select=variants").await;
    assert_eq!(text, r#"{"id":5,"variants":[{"id":1}]}"#);
    let (_, _, text) = fetch(&sim, "/products/2").await;
    assert!(
        text.starts_with(r#"{"id":2,"sku":"OWN-SKU","price":10,"options":[{"#),
        "{text}"
    );
}

#[tokio::test]
async fn the_admin_routes_change_variants() {
    let sim = start(SimulatorConfig {
        variants: 3,
        ..SimulatorConfig::default()
    })
    .await;
    let (status, list) = admin(&sim, Method::GET, "products/6/variants", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(list, serde_json::to_value(sim.variants(6)).expect("JSON"));
    let first = list[0]["id"].as_u64().expect("id");
    let before = sim.product(6).expect("live")["meta"]["updatedAt"].clone();
    let body = json!({ "price": "19.90" });
    let path = format!("products/6/variants/{first}/price");
    let (status, answer) = admin(&sim, Method::POST, &path, Some(body)).await;
    assert_eq!((status, answer), (StatusCode::OK, json!({ "id": first })));
    assert_eq!(sim.variants(6)[0].price, "19.90");
    assert_ne!(sim.product(6).expect("live")["meta"]["updatedAt"], before);
    let (status, _) = admin(&sim, Method::POST, &path, Some(json!({ "price": 7.5 }))).await;
    assert_eq!(status, StatusCode::OK, "a JSON number's text counts too");
    assert_eq!(sim.variants(6)[0].price, "7.5");
    for bad in [
        json!({ "price": "cheap" }),
        json!({ "price": -1 }),
        json!({}),
    ] {
        let (status, _) = admin(&sim, Method::POST, &path, Some(bad.clone())).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}");
    }
    let (status, added) = admin(&sim, Method::POST, "products/6/variants", None).await;
    assert_eq!(status, StatusCode::OK);
    let added = added["id"].as_u64().expect("id");
    assert_eq!(sim.variants(6).last().expect("added").id, added);
    let remove = format!("products/6/variants/{added}");
    assert_eq!(
        admin(&sim, Method::DELETE, &remove, None).await.0,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        admin(&sim, Method::DELETE, &remove, None).await.0,
        StatusCode::NOT_FOUND
    );
    for missing in ["products/999/variants", "products/x/variants"] {
        assert_eq!(
            admin(&sim, Method::GET, missing, None).await.0,
            StatusCode::NOT_FOUND
        );
        assert_eq!(
            admin(&sim, Method::POST, missing, None).await.0,
            StatusCode::NOT_FOUND
        );
    }
    let path = "products/6/variants/abc/price";
    let (status, _) = admin(&sim, Method::POST, path, Some(json!({ "price": "1" }))).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    while sim.add_variant(6).is_some() {}
    let (status, _) = admin(&sim, Method::POST, "products/6/variants", None).await;
    assert_eq!(status, StatusCode::CONFLICT, "every combination is listed");
}
