//! End-to-end tests of the simulator over HTTP: a server on 127.0.0.1:0 and a reqwest client.
//! This file has the helpers and the product routes; `faults`, `admin`, `overrides`,
//! `listing` and `auth` the rest; `styles` and `shapes` the other APIs, `since` the
//! "changed since" filters, `knobs` string prices, products files and the rate-limit quota,
//! `variants` and `variant_changes` products sold in sizes and colours.

mod admin;
mod auth;
mod faults;
mod knobs;
mod listing;
mod overrides;
mod shapes;
mod since;
mod styles;
mod variant_changes;
mod variants;

use std::net::SocketAddr;

use reqwest::{Client, StatusCode};
use serde_json::{Value, json};

use super::*;

fn local() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 0))
}

async fn start(config: SimulatorConfig) -> Simulator {
    Simulator::start(config, local())
        .await
        .expect("simulator starts")
}

fn client() -> Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    Client::builder().build().expect("client builds")
}

/// GET `url` + `suffix` (e.g. `?limit=5` or `/3`): status and JSON body.
async fn get(sim: &Simulator, suffix: &str) -> (StatusCode, Value) {
    let response = client()
        .get(format!("{}{suffix}", sim.url()))
        .send()
        .await
        .expect("request sent");
    let status = response.status();
    (status, response.json().await.expect("JSON body"))
}

/// GET `url` + `suffix`: status and the body's exact text (for JSON that `Value` would alter).
async fn get_text(sim: &Simulator, suffix: &str) -> (StatusCode, String) {
    let response = client()
        .get(format!("{}{suffix}", sim.url()))
        .send()
        .await
        .expect("request sent");
    let status = response.status();
    (status, response.text().await.expect("text body"))
}

/// GET `http://{addr}{path}` (or `path` itself if it is absolute): status, headers, body text.
async fn fetch(sim: &Simulator, path: &str) -> (StatusCode, reqwest::header::HeaderMap, String) {
    let url = if path.starts_with("http") {
        path.to_owned()
    } else {
        format!("http://{}{path}", sim.addr())
    };
    let response = client().get(url).send().await.expect("request sent");
    let (status, headers) = (response.status(), response.headers().clone());
    (status, headers, response.text().await.expect("text body"))
}

/// Like [`fetch`], with the body as JSON.
async fn fetch_json(
    sim: &Simulator,
    path: &str,
) -> (StatusCode, reqwest::header::HeaderMap, Value) {
    let (status, headers, text) = fetch(sim, path).await;
    let value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}: {text}"));
    (status, headers, value)
}

/// The `id`s of a JSON array of products.
fn array_ids(products: &Value) -> Vec<u64> {
    products
        .as_array()
        .expect("array of products")
        .iter()
        .map(|p| p["id"].as_u64().expect("id"))
        .collect()
}

fn ids(page: &Value) -> Vec<u64> {
    page["products"]
        .as_array()
        .expect("products array")
        .iter()
        .map(|p| p["id"].as_u64().expect("id"))
        .collect()
}

/// A request to `/__sim/{path}`: status and JSON body (`Null` when empty).
async fn admin(
    sim: &Simulator,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let url = format!("http://{}/__sim/{path}", sim.addr());
    let mut request = client().request(method, url);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.expect("sent");
    let status = response.status();
    let bytes = response.bytes().await.expect("body");
    let value = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes).expect("JSON")
    };
    (status, value)
}

#[tokio::test]
async fn listing_defaults_to_30_products() {
    let sim = start(SimulatorConfig::default()).await;
    assert_eq!(
        sim.url().as_str(),
        format!("http://{}/products", sim.addr())
    );
    let (status, page) = get(&sim, "").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(ids(&page), (1..=30).collect::<Vec<_>>());
    assert_eq!(
        (&page["total"], &page["skip"], &page["limit"]),
        (&json!(194), &json!(0), &json!(30))
    );
    assert_eq!(page["products"][2], sim.product(3).expect("live"));
    sim.shutdown().await;
}

#[tokio::test]
async fn limit_skip_and_select_page_like_dummyjson() {
    let sim = start(SimulatorConfig::default()).await;
    let (_, page) = get(&sim, "?limit=5&skip=190&select=title,price,bogus").await;
    assert_eq!(ids(&page), [191, 192, 193, 194]);
    assert_eq!(
        (&page["total"], &page["skip"], &page["limit"]),
        (&json!(194), &json!(190), &json!(4))
    );
    let first = page["products"][0].as_object().expect("object");
    let mut keys: Vec<&String> = first.keys().collect();
    keys.sort();
    assert_eq!(keys, ["id", "price", "title"]);
    let (_, all) = get(&sim, "?limit=0&skip=180").await;
    assert_eq!(ids(&all), (181..=194).collect::<Vec<_>>());
    assert_eq!(all["limit"], 14);
    let (_, past_end) = get(&sim, "?skip=500").await;
    assert_eq!((ids(&past_end).len(), &past_end["limit"]), (0, &json!(0)));
    let capped = start(SimulatorConfig {
        max_limit: Some(25),
        ..SimulatorConfig::default()
    })
    .await;
    let (_, big) = get(&capped, "?limit=100&skip=10").await;
    assert_eq!((ids(&big).len(), &big["limit"]), (25, &json!(25)));
    let (_, all_capped) = get(&capped, "?limit=0").await;
    assert_eq!(ids(&all_capped).len(), 25);
    let (status, body) = get(&sim, "?limit=ten").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body["message"].as_str().expect("message").contains("limit"));
    let (status, _) = get(&sim, "?skip=-1").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn single_products_and_404s() {
    let sim = start(SimulatorConfig::default()).await;
    let (status, product) = get(&sim, "/5").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(product, sim.product(5).expect("live"));
    let (_, selected) = get(&sim, "/5?select=category").await;
    assert_eq!(
        selected,
        json!({ "id": 5, "category": product["category"] })
    );
    for id in ["195", "abc", "0"] {
        let (status, body) = get(&sim, &format!("/{id}")).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert_eq!(
            body,
            json!({ "message": format!("Product with id '{id}' not found") })
        );
    }
    sim.delete(5);
    assert_eq!(get(&sim, "/5").await.0, StatusCode::NOT_FOUND);
    assert_eq!(sim.product(5), None);
    let (_, page) = get(&sim, "?limit=3&skip=3").await;
    assert_eq!(ids(&page), [4, 6, 7]);
    assert_eq!(page["total"], 193);
    assert_eq!(sim.live_products(), 193);
}

#[tokio::test]
async fn changes_show_over_http() {
    let sim = start(SimulatorConfig::default()).await;
    let before = sim.product(9).expect("live");
    sim.mutate(9);
    sim.set_title(10, "A new title");
    sim.add_products(3);
    let (_, after) = get(&sim, "/9").await;
    assert_ne!(after["price"], before["price"]);
    assert_eq!(after["title"], before["title"]);
    let (_, renamed) = get(&sim, "/10").await;
    assert_eq!(renamed["title"], "A new title");
    let updated_at = |p: &Value| {
        p["meta"]["updatedAt"]
            .as_str()
            .expect("updatedAt")
            .to_owned()
    };
    let original = updated_at(&get(&sim, "/11").await.1);
    sim.set_title(11, "Renamed");
    assert!(
        updated_at(&get(&sim, "/11").await.1) > original,
        "a rename moves updatedAt, as every upstream edit does"
    );
    let (_, tail) = get(&sim, "?skip=195").await;
    assert_eq!(ids(&tail), [196, 197]);
    assert_eq!(tail["total"], 197);
}
