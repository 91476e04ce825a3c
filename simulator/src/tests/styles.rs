//! The other API styles over HTTP: every paging style lists every live product once, keyset
//! listings survive deletions, WooCommerce's total headers, the 404 and 400 bodies, and the
//! misbehaviour pipeline on the new routes. The product shapes are in `shapes`.

use reqwest::StatusCode;
use serde_json::{Value, json};

use super::super::{CatalogChange, Fault, Simulator, SimulatorConfig};
use super::{array_ids, fetch, fetch_json, start};

/// Every page of a WooCommerce listing, and the headers of the first.
async fn woo_all(sim: &Simulator, per_page: u64) -> (Vec<u64>, u64, u64) {
    let mut ids = Vec::new();
    let mut first = None;
    for page in 1.. {
        let path = format!("/wc/v3/products?page={page}&per_page={per_page}");
        let (status, headers, body) = fetch_json(sim, &path).await;
        assert_eq!(status, StatusCode::OK);
        let header = |name: &str| {
            headers[name]
                .to_str()
                .expect("ascii")
                .parse::<u64>()
                .expect("number")
        };
        first.get_or_insert((header("x-wp-total"), header("x-wp-totalpages")));
        let page_ids = array_ids(&body);
        if page_ids.is_empty() {
            break;
        }
        ids.extend(page_ids);
    }
    let (total, pages) = first.expect("one page at least");
    (ids, total, pages)
}

/// Reads a listing page: its ids, and where the next page is (from the body or the `Link`).
type Step = fn(&Value, &str) -> (Vec<u64>, Option<String>);

/// Follows a listing to its end: `step` reads a page and says where the next one is.
async fn follow(sim: &Simulator, first: String, step: Step) -> Vec<u64> {
    let (mut ids, mut next) = (Vec::new(), Some(first));
    while let Some(path) = next.take() {
        let (status, headers, body) = fetch_json(sim, &path).await;
        assert_eq!(status, StatusCode::OK, "{path}: {body}");
        let link = headers
            .get("link")
            .map(|v| v.to_str().expect("ascii").to_owned())
            .unwrap_or_default();
        let (page, then) = step(&body, &link);
        ids.extend(page);
        next = then;
        assert!(ids.len() < 10_000, "the listing ends");
    }
    ids
}

fn shopify_step(body: &Value, link: &str) -> (Vec<u64>, Option<String>) {
    let next = link
        .split(',')
        .find(|part| part.contains("rel=\"next\""))
        .and_then(|part| Some(part.split_once('<')?.1.split_once('>')?.0.to_owned()));
    (array_ids(&body["products"]), next)
}

fn cursor_step(body: &Value, _: &str) -> (Vec<u64>, Option<String>) {
    let next = body["next_cursor"]
        .as_str()
        .map(|c| format!("/cursor/products?limit=17&cursor={c}"));
    (array_ids(&body["data"]), next)
}

fn next_url_step(body: &Value, _: &str) -> (Vec<u64>, Option<String>) {
    (
        array_ids(&body["items"]),
        body["links"]["next"].as_str().map(str::to_owned),
    )
}

async fn sim_with_gaps() -> (Simulator, Vec<u64>) {
    let sim = start(SimulatorConfig {
        products: 237,
        ..SimulatorConfig::default()
    })
    .await;
    for id in [1, 5, 100, 101, 237] {
        sim.delete(id);
    }
    let live = (1..=237).filter(|&id| sim.is_live(id)).collect();
    (sim, live)
}

#[tokio::test]
async fn every_paging_style_lists_every_live_product_exactly_once() {
    let (sim, live) = sim_with_gaps().await;
    let (woo, total, pages) = woo_all(&sim, 25).await;
    assert_eq!(woo, live);
    assert_eq!((total, pages), (232, 10));
    let shopify = follow(
        &sim,
        "/admin/api/2024-07/products.json?limit=40".into(),
        shopify_step,
    )
    .await;
    assert_eq!(shopify, live);
    let cursor = follow(&sim, "/cursor/products?limit=17".into(), cursor_step).await;
    assert_eq!(cursor, live);
    let next = follow(&sim, "/next/products?limit=23".into(), next_url_step).await;
    assert_eq!(next, live);
    // Exactly a page's worth left: the last full page already says there is no more.
    let (_, _, exact) = fetch_json(&sim, "/cursor/products?limit=232").await;
    assert_eq!(
        (array_ids(&exact["data"]).len(), &exact["next_cursor"]),
        (232, &Value::Null)
    );
    let (_, headers, _) = fetch(&sim, "/admin/api/2024-07/products.json?limit=250").await;
    assert!(headers.get("link").is_none(), "no Link on the last page");
    let counts = sim.request_counts();
    assert_eq!(
        counts.list,
        11 + 6 + 14 + 11 + 2,
        "every listing request counts"
    );
    assert_eq!(counts.single, 0);
}

#[tokio::test]
async fn page_sizes_default_and_cap_like_each_platform() {
    let sim = start(SimulatorConfig::default()).await;
    let (_, headers, page) = fetch_json(&sim, "/wc/v3/products").await;
    assert_eq!(array_ids(&page), (1..=10).collect::<Vec<_>>());
    assert_eq!(
        (&headers["x-wp-total"], &headers["x-wp-totalpages"]),
        (&"194".parse().expect("hv"), &"20".parse().expect("hv"))
    );
    let (_, headers, big) = fetch_json(&sim, "/wc/v3/products?per_page=500&page=2").await;
    assert_eq!(array_ids(&big), (101..=194).collect::<Vec<_>>());
    assert_eq!(headers["x-wp-totalpages"], "2");
    let (_, _, past) = fetch_json(&sim, "/wc/v3/products?page=99").await;
    assert_eq!(past, json!([]));
    let (_, _, shopify) = fetch_json(&sim, "/admin/api/2024-07/products.json").await;
    assert_eq!(array_ids(&shopify["products"]).len(), 50);
    let (_, _, cursor) = fetch_json(&sim, "/cursor/products").await;
    assert_eq!(array_ids(&cursor["data"]).len(), 30);
    let capped = start(SimulatorConfig {
        max_limit: Some(7),
        ..SimulatorConfig::default()
    })
    .await;
    for (path, pointer) in [
        ("/wc/v3/products?per_page=50", ""),
        ("/admin/api/2024-07/products.json?limit=50", "/products"),
        ("/cursor/products?limit=0", "/data"),
        ("/next/products?limit=50", "/items"),
    ] {
        let (_, _, body) = fetch_json(&capped, path).await;
        let products = body.pointer(pointer).expect("products");
        assert_eq!(array_ids(products).len(), 7, "{path}");
    }
    let (_, headers, _) = fetch_json(&capped, "/admin/api/2024-07/products.json?limit=50").await;
    let link = headers["link"].to_str().expect("ascii");
    assert!(
        link.starts_with(&format!(
            "<http://{}/admin/api/2024-07/products.json?limit=7&page_info=",
            capped.addr()
        )),
        "{link}"
    );
    assert!(link.ends_with(">; rel=\"next\""), "{link}");
}

#[tokio::test]
async fn deletions_during_a_keyset_listing_never_skip_a_live_product() {
    for (first, step) in [
        ("/cursor/products?limit=17", cursor_step as Step),
        ("/next/products?limit=17", next_url_step),
        ("/admin/api/2024-07/products.json?limit=17", shopify_step),
    ] {
        let sim = start(SimulatorConfig {
            products: 100,
            ..SimulatorConfig::default()
        })
        .await;
        // Already listed ones go after the second page, unlisted ones after the third; an
        // offset listing would now skip products, a keyset one cannot.
        sim.on_list_request(2, CatalogChange::Delete((1..=10).collect()));
        sim.on_list_request(3, CatalogChange::Delete(vec![60, 61]));
        sim.on_list_request(4, CatalogChange::Add(3));
        let listed = follow(&sim, first.to_owned(), step).await;
        let expected: Vec<u64> = (1..=103).filter(|id| !(60..=61).contains(id)).collect();
        assert_eq!(listed, expected, "{first}");
    }
}

#[tokio::test]
async fn missing_products_and_bad_parameters_answer_in_each_platforms_words() {
    let sim = start(SimulatorConfig::default()).await;
    sim.delete(3);
    for id in ["3", "999", "abc"] {
        let (status, _, body) = fetch_json(&sim, &format!("/wc/v3/products/{id}")).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert_eq!(
            body,
            json!({"code": "woocommerce_rest_product_invalid_id", "message": "Invalid ID.", "data": {"status": 404}})
        );
    }
    for path in [
        "/admin/api/2024-07/products/3.json",
        "/admin/api/2024-07/products/999.json",
        "/admin/api/2024-07/products/5",
    ] {
        let (status, _, body) = fetch_json(&sim, path).await;
        assert_eq!(
            (status, body),
            (StatusCode::NOT_FOUND, json!({"errors": "Not Found"})),
            "{path}"
        );
    }
    for path in ["/cursor/products?cursor=42", "/next/products?after=bogus"] {
        let (status, _, body) = fetch_json(&sim, path).await;
        assert_eq!(
            (status, body),
            (
                StatusCode::BAD_REQUEST,
                json!({"message": "invalid cursor"})
            ),
            "{path}"
        );
    }
    let (status, _, body) =
        fetch_json(&sim, "/admin/api/2024-07/products.json?page_info=nope").await;
    assert_eq!(
        (status, body),
        (
            StatusCode::BAD_REQUEST,
            json!({"errors": {"page_info": "Invalid value."}})
        )
    );
    for (path, name) in [
        ("/wc/v3/products?page=0", "page"),
        ("/wc/v3/products?per_page=x", "per_page"),
        ("/wc/v3/products?modified_after=soon", "modified_after"),
    ] {
        let (status, _, body) = fetch_json(&sim, path).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{path}");
        assert_eq!(body["code"], "rest_invalid_param");
        assert!(
            body["message"].as_str().expect("message").contains(name),
            "{body}"
        );
    }
    assert_eq!(sim.request_counts().single, 6);
}

#[tokio::test]
async fn the_new_routes_go_through_faults_auth_and_listing_triggers() {
    let sim = start(SimulatorConfig {
        basic_auth: Some(("u".into(), "p".into())),
        ..SimulatorConfig::default()
    })
    .await;
    for path in [
        "/wc/v3/products",
        "/wc/v3/products/1",
        "/admin/api/2024-07/products.json",
        "/admin/api/2024-07/products/1.json",
        "/cursor/products",
        "/next/products",
    ] {
        assert_eq!(
            fetch(&sim, path).await.0,
            StatusCode::UNAUTHORIZED,
            "{path}"
        );
    }
    let sim = start(SimulatorConfig::default()).await;
    sim.fail_next(1, Fault::Status(503));
    assert_eq!(
        fetch(&sim, "/next/products").await.0,
        StatusCode::SERVICE_UNAVAILABLE
    );
    sim.fail_page_always(20);
    assert_eq!(
        fetch(&sim, "/wc/v3/products?page=3&per_page=10").await.0,
        StatusCode::INTERNAL_SERVER_ERROR
    );
    assert_eq!(
        fetch(&sim, "/wc/v3/products?page=2&per_page=10").await.0,
        StatusCode::OK
    );
    sim.on_list_request(1, CatalogChange::Delete(vec![1]));
    let (_, _, page) = fetch_json(&sim, "/cursor/products?limit=2").await;
    assert_eq!(
        array_ids(&page["data"]),
        [2, 3],
        "the change landed before the page was read"
    );
    sim.fail_next(1, Fault::Truncate);
    let response = super::client()
        .get(format!(
            "http://{}/admin/api/2024-07/products.json",
            sim.addr()
        ))
        .send()
        .await
        .expect("head");
    assert!(response.bytes().await.is_err(), "the body is cut short");
}
