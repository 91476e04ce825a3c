//! Products sold in variants over HTTP: every shape serves the same variants as
//! `Simulator::variants`, and WooCommerce's variations route pages, counts and misbehaves like
//! the other product routes.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use super::super::{Compression, Encoding, Fault, SimVariant, Simulator, SimulatorConfig};
use super::{admin, array_ids, client, fetch, fetch_json, start};

async fn with_variants(average: u32) -> Simulator {
    start(SimulatorConfig {
        variants: average,
        ..SimulatorConfig::default()
    })
    .await
}

/// Each option's values in the order the variants first use them.
fn first_use(variants: &[SimVariant]) -> [Vec<String>; 2] {
    let mut values: [Vec<String>; 2] = Default::default();
    for v in variants {
        for (list, value) in values.iter_mut().zip([&v.size, &v.color]) {
            if !list.contains(value) {
                list.push(value.clone());
            }
        }
    }
    values
}

/// A decimal text as a JSON number (what a client parsing the DummyJSON shape sees).
fn number(text: &str) -> Value {
    json!(text.parse::<f64>().expect("decimal"))
}

/// The DummyJSON shape's `variants` and `options` match [`SimVariant`]s.
fn assert_dummyjson(product: &Value, expected: &[SimVariant]) {
    let variants = product["variants"].as_array().expect("variants");
    assert_eq!(variants.len(), expected.len());
    for (v, e) in variants.iter().zip(expected) {
        assert_eq!(
            (&v["id"], &v["sku"], &v["barcode"], &v["stock"]),
            (
                &json!(e.id),
                &json!(e.sku),
                &json!(e.barcode),
                &json!(e.stock)
            )
        );
        assert_eq!(v["title"], format!("{} / {}", e.size, e.color));
        assert_eq!(
            (&v["option1"], &v["option2"]),
            (&json!(e.size), &json!(e.color))
        );
        assert_eq!(v["price"], number(&e.price));
        let compare = e.compare_at_price.as_deref().map_or(Value::Null, number);
        assert_eq!(v["compare_at_price"], compare);
    }
    let [sizes, colors] = first_use(expected);
    assert_eq!(
        product["options"],
        json!([{ "name": "Size", "values": sizes }, { "name": "Color", "values": colors }])
    );
}

#[tokio::test]
async fn every_shape_serves_the_same_variants() {
    let sim = with_variants(5).await;
    let (_, _, page) = fetch_json(&sim, "/products?limit=0").await;
    let (_, _, cursor) = fetch_json(&sim, "/cursor/products?limit=0").await;
    for id in [1, 2, 3, 50, 194] {
        let expected = sim.variants(id);
        assert!((1..=9).contains(&expected.len()), "{id}: {expected:?}");
        let (_, _, single) = fetch_json(&sim, &format!("/products/{id}")).await;
        assert_dummyjson(&single, &expected);
        let index = usize::try_from(id - 1).expect("index");
        assert_eq!(page["products"][index], single, "listing and item agree");
        assert_eq!(
            cursor["data"][index], single,
            "every DummyJSON route agrees"
        );
        let (_, _, text) = fetch(&sim, &format!("/products/{id}?select=variants")).await;
        assert!(
            text.contains(&format!("\"price\":{},", expected[0].price)),
            "exact price text: {text}"
        );

        let (status, _, woo) = fetch_json(&sim, &format!("/wc/v3/products/{id}")).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(woo["type"], "variable");
        let ids: Vec<u64> = expected.iter().map(|v| v.id).collect();
        assert_eq!(woo["variations"], json!(ids));
        assert_eq!(
            (
                &woo["regular_price"],
                &woo["sale_price"],
                &woo["stock_quantity"]
            ),
            (&json!(""), &json!(""), &Value::Null)
        );
        let [sizes, colors] = first_use(&expected);
        assert_eq!(woo["attributes"][0]["options"], json!(sizes));
        assert_eq!(woo["attributes"][1]["options"], json!(colors));
        assert_eq!(woo["attributes"][1]["variation"], true);
        let path = format!("/wc/v3/products/{id}/variations?per_page=100");
        let (status, headers, variations) = fetch_json(&sim, &path).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(headers["x-wp-total"], expected.len().to_string().as_str());
        assert_eq!(array_ids(&variations), ids);
        let mut selling = Vec::new();
        for (v, e) in variations.as_array().expect("array").iter().zip(&expected) {
            assert_eq!(
                (&v["sku"], &v["regular_price"], &v["stock_quantity"]),
                (&json!(e.sku), &json!(e.price), &json!(e.stock))
            );
            assert_eq!(
                v["attributes"][0],
                json!({ "id": 1, "name": "Size", "option": e.size })
            );
            assert_eq!(v["attributes"][1]["option"], json!(e.color));
            assert_eq!(
                v["sale_price"],
                json!(e.sale_price.clone().unwrap_or_default())
            );
            let from = e.date_on_sale_from.clone().unwrap_or_default();
            assert_eq!(v["date_on_sale_from_gmt"], json!(from));
            let to = e.date_on_sale_to.clone().unwrap_or_default();
            assert_eq!(v["date_on_sale_to_gmt"], json!(to));
            let price = if e.on_sale {
                e.sale_price.as_ref()
            } else {
                Some(&e.price)
            };
            assert_eq!(v["price"], json!(price.expect("a price")));
            assert_eq!(
                v["date_modified_gmt"], woo["date_created_gmt"],
                "no time of its own"
            );
            selling.push(
                v["price"]
                    .as_str()
                    .expect("price")
                    .parse::<f64>()
                    .expect("decimal"),
            );
        }
        let lowest = selling.iter().copied().fold(f64::INFINITY, f64::min);
        let woo_price: f64 = woo["price"]
            .as_str()
            .expect("price")
            .parse()
            .expect("decimal");
        assert_eq!(
            woo_price, lowest,
            "a variable product's price is its lowest"
        );

        let path = format!("/admin/api/2024-07/products/{id}.json");
        let (_, _, shopify) = fetch_json(&sim, &path).await;
        let s = &shopify["product"];
        let variants = s["variants"].as_array().expect("variants");
        assert_eq!(variants.len(), expected.len());
        for (position, (v, e)) in (1..).zip(variants.iter().zip(&expected)) {
            assert_eq!(
                (&v["id"], &v["product_id"], &v["position"]),
                (&json!(e.id), &json!(id), &json!(position))
            );
            assert_eq!(v["title"], format!("{} / {}", e.size, e.color));
            assert_eq!(
                (&v["price"], &v["compare_at_price"]),
                (&json!(e.price), &json!(e.compare_at_price))
            );
            assert_eq!(
                (&v["sku"], &v["barcode"]),
                (&json!(e.sku), &json!(e.barcode))
            );
            assert_eq!(v["inventory_quantity"], json!(e.stock));
            assert_eq!(
                (&v["option1"], &v["option2"], &v["option3"]),
                (&json!(e.size), &json!(e.color), &Value::Null)
            );
            assert_eq!(v["updated_at"], s["created_at"], "no time of its own");
        }
        assert_eq!(s["options"][0]["name"], "Size");
        assert_eq!(s["options"][0]["values"], json!(sizes));
        assert_eq!(s["options"][1]["values"], json!(colors));
        assert_eq!(s["options"][1]["position"], 2);
    }
    // Shopify's listing and WooCommerce's agree with their item routes.
    let (_, _, listing) = fetch_json(&sim, "/admin/api/2024-07/products.json?limit=3").await;
    let (_, _, one) = fetch_json(&sim, "/admin/api/2024-07/products/2.json").await;
    assert_eq!(listing["products"][1], one["product"]);
    let (_, _, woo_page) = fetch_json(&sim, "/wc/v3/products?per_page=3").await;
    let (_, _, woo_one) = fetch_json(&sim, "/wc/v3/products/3").await;
    assert_eq!(woo_page[2], woo_one);
}

#[tokio::test]
async fn variations_page_like_woocommerce() {
    let sim = with_variants(10).await;
    let id = (1..=194)
        .find(|&id| sim.variants(id).len() >= 13)
        .expect("a product of many variants");
    let all: Vec<u64> = sim.variants(id).iter().map(|v| v.id).collect();
    let total = all.len();
    let path = |query: &str| format!("/wc/v3/products/{id}/variations{query}");
    let (status, headers, first) = fetch_json(&sim, &path("")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers["x-wp-total"], total.to_string().as_str());
    assert_eq!(headers["x-wp-totalpages"], "2", "10 a page by default");
    assert_eq!(array_ids(&first), all[..10]);
    let (_, headers, last) = fetch_json(&sim, &path("?page=2")).await;
    assert_eq!(array_ids(&last), all[10..], "the last page has the rest");
    assert_eq!(headers["x-wp-totalpages"], "2");
    let (status, _, past) = fetch_json(&sim, &path("?page=3")).await;
    assert_eq!((status, past), (StatusCode::OK, json!([])));
    let (_, headers, fours) = fetch_json(&sim, &path("?per_page=4&page=4")).await;
    assert_eq!(array_ids(&fours), all[12..total.min(16)]);
    assert_eq!(
        headers["x-wp-totalpages"],
        total.div_ceil(4).to_string().as_str()
    );
    let (status, headers, capped) = fetch_json(&sim, &path("?per_page=500")).await;
    assert_eq!(status, StatusCode::OK, "a larger per_page is capped at 100");
    assert_eq!(array_ids(&capped), all);
    assert_eq!(headers["x-wp-totalpages"], "1");
    for bad in ["?per_page=0", "?page=0", "?page=x"] {
        let (status, _, body) = fetch_json(&sim, &path(bad)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}");
        assert_eq!(body["code"], "rest_invalid_param");
    }
    sim.delete(id);
    let invalid = json!({
        "code": "woocommerce_rest_product_invalid_id",
        "message": "Invalid ID.",
        "data": { "status": 404 },
    });
    for gone in [path(""), String::from("/wc/v3/products/999/variations")] {
        let (status, _, body) = fetch_json(&sim, &gone).await;
        assert_eq!((status, &body), (StatusCode::NOT_FOUND, &invalid), "{gone}");
    }
    assert_eq!(sim.request_counts().variations, 10);
    assert_eq!(sim.request_counts().single, 0, "counted apart");
    let (_, stats) = admin(&sim, Method::GET, "stats", None).await;
    assert_eq!(stats["variations"], 10);

    let simple = start(SimulatorConfig::default()).await;
    let (status, headers, none) = fetch_json(&simple, "/wc/v3/products/5/variations").await;
    assert_eq!(
        (status, none),
        (StatusCode::OK, json!([])),
        "a simple product"
    );
    assert_eq!(headers["x-wp-total"], "0");
    assert_eq!(headers["x-wp-totalpages"], "0");
}

#[tokio::test]
async fn variations_misbehave_like_every_product_route() {
    let sim = start(SimulatorConfig {
        variants: 3,
        basic_auth: Some(("sync".to_owned(), "pw".to_owned())),
        ..SimulatorConfig::default()
    })
    .await;
    let url = format!("http://{}/wc/v3/products/4/variations", sim.addr());
    let send = |user: Option<&str>| {
        let request = client().get(&url);
        match user {
            Some(user) => request.basic_auth(user, Some("pw")),
            None => request,
        }
        .send()
    };
    assert_eq!(
        send(None).await.expect("sent").status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        send(Some("sync")).await.expect("sent").status(),
        StatusCode::OK
    );
    sim.fail_next(1, Fault::Status(503));
    let failed = send(Some("sync")).await.expect("sent").status();
    assert_eq!(failed, StatusCode::SERVICE_UNAVAILABLE);
    sim.fail_next(
        1,
        Fault::TooManyRequests {
            retry_after: std::time::Duration::from_secs(1),
        },
    );
    let limited = send(Some("sync")).await.expect("sent").status();
    assert_eq!(limited, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(sim.request_counts().rate_limited, 1);
    assert_eq!(
        sim.request_counts().variations,
        4,
        "refused requests count too"
    );

    let compressing = start(SimulatorConfig {
        variants: 3,
        compression: Some(Compression {
            encoding: Encoding::Gzip,
            unasked: true,
        }),
        ..SimulatorConfig::default()
    })
    .await;
    // A client that does not undo the compression (a workspace build's would).
    let raw = reqwest::Client::builder()
        .no_gzip()
        .no_deflate()
        .no_brotli()
        .build()
        .expect("client builds");
    let url = format!("http://{}/wc/v3/products/4/variations", compressing.addr());
    let response = raw.get(url).send().await.expect("sent");
    assert_eq!(response.headers()["content-encoding"], "gzip");
    assert_eq!(compressing.request_counts().compressed, 1);
}
