//! Field overrides over HTTP: exact raw text in both endpoints, `select`, omitted and extra
//! fields, version bumps, and the admin route.

use chrono::{DateTime, FixedOffset};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use super::super::SimulatorConfig;
use super::{admin, client, get, get_text, start};

const BIG: &str = "123456789012345678901234567890.123456789";

fn updated_at(product: &Value) -> DateTime<FixedOffset> {
    let text = product["meta"]["updatedAt"].as_str().expect("updatedAt");
    DateTime::parse_from_rfc3339(text).expect("RFC 3339")
}

/// A live product's version: how many upstream changes it has had. (`updatedAt` moves to the
/// wall-clock time of a change, so it shows that there was a change, not how many.)
fn version(sim: &super::Simulator, id: u64) -> u32 {
    sim.shared.catalog().spec(id).expect("live").version
}

/// A POST to `/__sim/{path}` with a raw body: status and the answer's exact text.
async fn admin_text(sim: &super::Simulator, path: &str, body: &str) -> (StatusCode, String) {
    let response = client()
        .post(format!("http://{}/__sim/{path}", sim.addr()))
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .body(body.to_owned())
        .send()
        .await
        .expect("sent");
    let status = response.status();
    (status, response.text().await.expect("text body"))
}

#[tokio::test]
async fn raw_values_come_out_byte_for_byte_from_both_endpoints() {
    let sim = start(SimulatorConfig::default()).await;
    assert_eq!(sim.set_field(7, "price", Some(BIG)), Ok(true));
    assert_eq!(sim.set_field(8, "price", Some("\"12.50\"")), Ok(true));
    assert_eq!(sim.set_field(8, "stock", Some("-3")), Ok(true));
    assert_eq!(
        sim.set_field(9, "title", Some(r#""Nul\u0000Byte""#)),
        Ok(true)
    );

    let (status, single) = get_text(&sim, "/7").await;
    assert_eq!(status, StatusCode::OK);
    assert!(single.contains(&format!("\"price\":{BIG},")), "{single}");
    let (_, page) = get_text(&sim, "?skip=6&limit=3").await;
    assert!(page.contains(&format!("\"price\":{BIG},")), "{page}");
    assert!(page.contains(r#""price":"12.50","#), "{page}");
    assert!(page.contains(r#""stock":-3,"#), "{page}");
    // The NUL stays the JSON escape; it never reaches the wire as a raw byte.
    assert!(page.contains(r#""title":"Nul\u0000Byte","#), "{page}");
    assert!(!page.as_bytes().contains(&0));
    let (_, title) = get(&sim, "/9?select=title").await;
    assert_eq!(title, json!({ "id": 9, "title": "Nul\u{0}Byte" }));

    let (_, priced) = get_text(&sim, "/7?select=price").await;
    assert_eq!(priced, format!("{{\"id\":7,\"price\":{BIG}}}"));
    let refused = sim
        .set_field(7, "price", Some("12."))
        .expect_err("not JSON");
    assert!(
        refused.starts_with("field 'price': not valid JSON"),
        "{refused}"
    );
    assert!(sim.set_field(7, "price", Some("1 2")).is_err());
    assert!(
        sim.set_field(7, "id", None).is_err(),
        "id cannot be omitted"
    );
    assert_eq!(sim.set_field(195, "price", Some("1")), Ok(false));
    sim.delete(8);
    assert_eq!(sim.set_field(8, "price", Some("1")), Ok(false));
}

#[tokio::test]
async fn omitted_and_extra_fields_follow_select() {
    let sim = start(SimulatorConfig::default()).await;
    sim.set_field(3, "price", None).expect("valid");
    sim.set_field(3, "color", Some("\"teal\"")).expect("valid");
    let (_, full) = get(&sim, "/3").await;
    assert!(full.get("price").is_none(), "omitted: {full}");
    assert_eq!(full["color"], "teal");
    assert!(full.get("stock").is_some());
    assert_eq!(get(&sim, "/3?select=price").await.1, json!({ "id": 3 }));
    assert_eq!(
        get(&sim, "/3?select=color").await.1,
        json!({ "id": 3, "color": "teal" })
    );
    let (_, titled) = get(&sim, "/3?select=title").await;
    assert!(titled.get("color").is_none());
    let (_, page) = get(&sim, "?limit=4&select=price,color").await;
    let products = page["products"].as_array().expect("products");
    assert_eq!(products[2], json!({ "id": 3, "color": "teal" }));
    assert_eq!(
        products[3].as_object().expect("object").len(),
        2,
        "others keep their price and have no color: {}",
        products[3]
    );
    assert_eq!(sim.product(3).expect("live")["color"], "teal");
}

#[tokio::test]
async fn every_override_is_an_upstream_change() {
    let sim = start(SimulatorConfig::default()).await;
    let before = sim.product(12).expect("live");
    sim.set_field(12, "color", Some("\"red\"")).expect("valid");
    let after = sim.product(12).expect("live");
    assert_eq!(version(&sim, 12), 1, "one step, exactly like a mutation");
    assert!(updated_at(&after) > updated_at(&before));
    assert_ne!(
        after["price"], before["price"],
        "the versioned draws move on"
    );
    sim.set_field(12, "price", Some("5")).expect("valid");
    let priced = sim.product(12).expect("live");
    assert_eq!(version(&sim, 12), 2);
    assert!(updated_at(&priced) > updated_at(&after));
    assert_eq!(priced["price"], 5);
    assert_ne!(priced["stock"], after["stock"]);
    sim.mutate(12);
    assert_eq!(
        sim.product(12).expect("live")["price"],
        5,
        "overrides hold across later versions"
    );
}

#[tokio::test]
async fn the_fields_route_keeps_raw_text_and_omits_on_null() {
    let sim = start(SimulatorConfig::default()).await;
    let before = sim.product(5).expect("live");
    let body = format!(r#"{{"price": {BIG}, "stock": null, "extra": {{"a": [1, 2]}}}}"#);
    let (status, answer) = admin_text(&sim, "products/5/fields", &body).await;
    assert_eq!(status, StatusCode::OK);
    assert!(answer.contains(&format!("\"price\":{BIG},")), "{answer}");
    assert!(answer.ends_with(r#","extra":{"a": [1, 2]}}"#), "{answer}");
    let (_, single) = get_text(&sim, "/5").await;
    assert_eq!(single, answer);
    let now = sim.product(5).expect("live");
    assert!(now.get("stock").is_none());
    assert_eq!(
        version(&sim, 5),
        1,
        "one request is one change, whatever its fields"
    );
    assert!(updated_at(&now) > updated_at(&before));
    let (_, again) = admin_text(&sim, "products/5/fields", r#"{"a": 1, "b": 2}"#).await;
    let again: Value = serde_json::from_str(&again).expect("JSON");
    assert_eq!((&again["a"], &again["b"]), (&json!(1), &json!(2)));
    let (_, empty) = admin_text(&sim, "products/5/fields", "{}").await;
    let empty: Value = serde_json::from_str(&empty).expect("JSON");
    assert_eq!(version(&sim, 5), 2);
    assert_eq!(
        updated_at(&again),
        updated_at(&empty),
        "an empty edit changes nothing"
    );

    for bad in ["[1]", "{\"price\": }", "", r#"{"id": null}"#] {
        let (status, _) = admin_text(&sim, "products/5/fields", bad).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad:?}");
    }
    let (status, _) = admin_text(&sim, "products/999/fields", "{\"a\": 1}").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = admin(&sim, Method::POST, "products/x/fields", Some(json!({}))).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}
