//! Listing knobs over HTTP: quirks (a lying total, a repeated page) and changes fired by
//! listing requests.

use reqwest::{Method, StatusCode};
use serde_json::json;

use super::super::{CatalogChange, ListingQuirks, SimulatorConfig};
use super::{admin, get, ids, start};

#[tokio::test]
async fn quirks_lie_about_the_total_until_cleared() {
    let sim = start(SimulatorConfig::default()).await;
    sim.set_listing_quirks(ListingQuirks {
        total: Some(500),
        ..ListingQuirks::default()
    });
    let (_, page) = get(&sim, "?limit=5&skip=190").await;
    assert_eq!(
        (&page["total"], ids(&page)),
        (&json!(500), vec![191, 192, 193, 194])
    );
    sim.clear_faults();
    assert_eq!(
        get(&sim, "?limit=1").await.1["total"],
        500,
        "faults are not quirks"
    );
    sim.set_listing_quirks(ListingQuirks::default());
    assert_eq!(get(&sim, "?limit=1").await.1["total"], 194);

    let quirks = json!({ "total": 3, "repeat_page_at": 10 });
    assert_eq!(
        admin(&sim, Method::POST, "listing", Some(quirks)).await.0,
        StatusCode::NO_CONTENT
    );
    let (_, page) = get(&sim, "?limit=10&skip=10").await;
    assert_eq!((&page["total"], ids(&page)[0]), (&json!(3), 1));
    let unknown = json!({ "totals": 3 });
    assert_eq!(
        admin(&sim, Method::POST, "listing", Some(unknown)).await.0,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        admin(&sim, Method::DELETE, "listing", None).await.0,
        StatusCode::NO_CONTENT
    );
    let (_, page) = get(&sim, "?limit=10&skip=10").await;
    assert_eq!((&page["total"], ids(&page)[0]), (&json!(194), 11));
}

#[tokio::test]
async fn a_repeated_page_serves_the_earlier_page_and_hides_its_own() {
    let sim = start(SimulatorConfig::default()).await;
    sim.set_listing_quirks(ListingQuirks {
        repeat_page_at: Some(20),
        ..ListingQuirks::default()
    });
    let mut listed = Vec::new();
    for skip in (0..50).step_by(10) {
        let (_, page) = get(&sim, &format!("?limit=10&skip={skip}")).await;
        assert_eq!(page["skip"], skip, "the requested skip is echoed");
        listed.push(ids(&page));
    }
    assert_eq!(listed[2], listed[1], "skip=20 repeats skip=10");
    assert_eq!(listed[1], (11..=20).collect::<Vec<_>>());
    assert_eq!(listed[3], (31..=40).collect::<Vec<_>>());
    assert!(listed.concat().iter().all(|id| !(21..=30).contains(id)));
    let (_, other_limit) = get(&sim, "?limit=5&skip=20").await;
    assert_eq!(ids(&other_limit), [16, 17, 18, 19, 20]);
}

#[tokio::test]
async fn changes_fire_exactly_at_the_nth_listing_request() {
    let sim = start(SimulatorConfig::default()).await;
    get(&sim, "?limit=1").await;
    sim.on_list_request(3, CatalogChange::Delete(vec![2, 3]));
    sim.on_list_request(2, CatalogChange::Add(5));
    sim.on_list_request(3, CatalogChange::Mutate(vec![1]));
    let price = sim.product(1).expect("live")["price"].clone();
    let (_, first) = get(&sim, "?limit=4").await;
    assert_eq!(first["total"], 194);
    get(&sim, "/2").await;
    assert_eq!(sim.last_id(), 194, "single-product requests do not count");
    let (_, second) = get(&sim, "?limit=4").await;
    assert_eq!(
        (&second["total"], ids(&second)),
        (&json!(199), vec![1, 2, 3, 4])
    );
    let (_, third) = get(&sim, "?limit=4").await;
    assert_eq!(
        (&third["total"], ids(&third)),
        (&json!(197), vec![1, 4, 5, 6])
    );
    assert_ne!(third["products"][0]["price"], price);
    let (_, fourth) = get(&sim, "?limit=4").await;
    assert_eq!(fourth["total"], 197, "each change fires once");

    let change = json!({ "n": 1, "change": { "delete": [4] } });
    assert_eq!(
        admin(&sim, Method::POST, "listing/changes", Some(change))
            .await
            .0,
        StatusCode::NO_CONTENT
    );
    sim.fail_next(1, super::super::Fault::Status(503));
    assert_eq!(
        get(&sim, "?limit=1").await.0,
        StatusCode::SERVICE_UNAVAILABLE
    );
    assert!(!sim.is_live(4), "a failed listing request still counts");
    for bad in [
        json!({ "n": 0, "change": { "add": 1 } }),
        json!({ "n": 1, "change": "add" }),
    ] {
        let status = admin(&sim, Method::POST, "listing/changes", Some(bad))
            .await
            .0;
        assert_eq!(status, StatusCode::BAD_REQUEST);
    }
}
