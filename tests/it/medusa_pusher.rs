//! Who pushes to Medusa: the worker's own pusher, off the path of events (an event reaches the
//! catalog and is acknowledged while Medusa holds its push back), and `catalog-sync sync`, which
//! delivers everything before it ends, also what a dead pusher held. A webhook's change reaches
//! Medusa the same way as an event's.

use std::time::{Duration, Instant};

use catalog_sync::domain::{MedusaCounts, RunStatus};
use catalog_sync::store::{SinkSwitch, Store};
use sqlx::PgPool;

use crate::support::app::TestApp;
use crate::support::medusa::{MedusaProxy, MedusaServer, dummyjson_simulator};
use crate::support::medusa_catalog::{
    assert_medusa_equals_catalog, by_external_id, catalog_price, decimal, engine_with_sink,
    medusa_counts, medusa_price, medusa_settings, wait_for,
};
use crate::support::{engine, full_sync};

#[sqlx::test]
async fn a_product_updated_event_reaches_medusa(pool: PgPool) {
    let medusa = MedusaServer::start().await;
    let sim = dummyjson_simulator().await;
    let settings = medusa_settings(&sim, medusa.url(), medusa.api_key());
    let first = full_sync(&engine_with_sink(&pool, &sim, settings.clone())).await;
    assert_eq!(medusa_counts(&first).created, 194);

    let mut app = TestApp::new(&pool, &sim).await;
    app.settings.engine.medusa = Some(settings);
    // The webhook ingress beside the worker, as `run` serves it with a webhook secret set.
    let ingress = webhook_ingress();
    app.settings.ingress = Some(ingress.clone());
    app.start_worker();
    assert!(sim.set_field(33, "price", Some("4321.09")).unwrap());
    let admin = medusa.admin();
    let sent = Instant::now();
    app.publish("product.updated", None, br#"{"product_id":33}"#)
        .await;
    wait_for(Duration::from_secs(30), || async {
        let products = by_external_id(admin.products().await);
        decimal(&products["33"].variants[0].prices[0].amount) == "4321.09"
    })
    .await;
    eprintln!("product.updated reached Medusa in {:?}", sent.elapsed());
    assert_medusa_equals_catalog(&pool, &admin, medusa.sales_channel_id()).await;

    // The same through a signed webhook (Standard Webhooks, carrying the product event).
    assert!(sim.set_field(34, "price", Some("1234.56")).unwrap());
    let body = br#"{"type":"product.updated","timestamp":"2026-12-05T08:00:00Z","data":{"product_id":34}}"#;
    let sent_at = chrono::Utc::now().timestamp();
    let mut signed = format!("msg_medusa.{sent_at}.").into_bytes();
    signed.extend_from_slice(body);
    let signature = catalog_sync::ingress::sign_base64(WEBHOOK_KEY, &signed);
    let answer = reqwest::Client::new()
        .post(format!("http://{}/webhooks/standard", ingress.listen))
        .header("webhook-id", "msg_medusa")
        .header("webhook-timestamp", sent_at.to_string())
        .header("webhook-signature", format!("v1,{signature}"))
        .body(body.to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    wait_for(Duration::from_secs(30), || async {
        let products = by_external_id(admin.products().await);
        decimal(&products["34"].variants[0].prices[0].amount) == "1234.56"
    })
    .await;
    assert_medusa_equals_catalog(&pool, &admin, medusa.sales_channel_id()).await;
    app.stop().await;
}

const WEBHOOK_KEY: &[u8] = b"a key for medusa webhooks";

/// Settings of a Standard Webhooks ingress signed with `WEBHOOK_KEY`, on a free port.
fn webhook_ingress() -> catalog_sync::ingress::IngressSettings {
    use base64::Engine as _;
    let secret = format!(
        "whsec_{}",
        base64::engine::general_purpose::STANDARD.encode(WEBHOOK_KEY)
    );
    let port = crate::support::free_port();
    catalog_sync::ingress::IngressSettings {
        listen: format!("127.0.0.1:{port}").parse().unwrap(),
        shopify: None,
        woocommerce: None,
        standard: Some(
            catalog_sync::ingress::Secrets::standard("STANDARD_WEBHOOK_SECRET", &secret).unwrap(),
        ),
        max_body_bytes: None,
    }
}

#[sqlx::test]
async fn events_reach_the_catalog_and_are_acknowledged_while_medusa_holds_their_push_back(
    pool: PgPool,
) {
    let medusa = MedusaServer::start().await;
    let proxy = MedusaProxy::start(medusa.url()).await;
    let sim = dummyjson_simulator().await;
    let admin = medusa.admin();
    let settings = medusa_settings(&sim, &proxy.url(), medusa.api_key());
    let first = full_sync(&engine_with_sink(&pool, &sim, settings.clone())).await;
    assert_eq!(medusa_counts(&first).created, 194);

    let mut app = TestApp::new(&pool, &sim).await;
    app.settings.engine.medusa = Some(settings);
    app.start_worker();
    // Medusa takes as long as the test wants: every write waits at the proxy.
    proxy.hold_writes(true);
    assert!(sim.set_field(33, "price", Some("4321.09")).unwrap());
    app.publish("product.updated", None, br#"{"product_id":33}"#)
        .await;
    wait_for(Duration::from_secs(60), || async {
        catalog_price(&pool, "33").await.as_deref() == Some("4321.09") && proxy.in_flight().held > 0
    })
    .await;
    // The next event is not held behind that push, and neither waits for Medusa to be settled.
    assert!(sim.set_field(34, "price", Some("1.23")).unwrap());
    app.publish("product.updated", None, br#"{"product_id":34}"#)
        .await;
    wait_for(Duration::from_secs(60), || async {
        catalog_price(&pool, "34").await.as_deref() == Some("1.23")
            && app.updates_consumer_idle().await
    })
    .await;
    // A full sync requested meanwhile ends too, its summary saying what the pusher owes.
    app.publish("catalog.sync.requested", Some("full-while-held"), b"{}")
        .await;
    wait_for(Duration::from_secs(60), || async {
        app.requests_consumer_idle().await
            && app
                .results("catalog.sync.completed")
                .await
                .iter()
                .any(|s| s["request_id"] == "full-while-held")
    })
    .await;
    assert!(proxy.in_flight().held > 0, "{:?}", proxy.in_flight());
    assert_ne!(
        medusa_price(&admin, "33").await,
        "4321.09",
        "not pushed yet"
    );
    let summaries = app.results("catalog.sync.completed").await;
    let full = summaries
        .iter()
        .find(|s| s["request_id"] == "full-while-held")
        .unwrap();
    assert_eq!(full["status"], "succeeded", "{full}");
    let counts = &full["counts"]["medusa"];
    assert_eq!(counts["delivered_by"], "pusher", "{counts}");
    assert!(counts["owed"].as_u64().unwrap() >= 2, "{counts}");
    assert_eq!(counts["linked"], 194, "{counts}");

    // Medusa answers again: the pusher delivers.
    proxy.hold_writes(false);
    wait_for(Duration::from_secs(60), || async {
        medusa_price(&admin, "33").await == "4321.09" && medusa_price(&admin, "34").await == "1.23"
    })
    .await;
    app.stop().await;
    assert_medusa_equals_catalog(&pool, &admin, medusa.sales_channel_id()).await;
}

/// `catalog-sync sync` has no pusher that outlives it: it delivers what it owes before it
/// ends, waiting out the claims of a pusher that died, and its summary counts Medusa the way
/// `status` does.
#[sqlx::test]
async fn a_sync_delivers_what_a_dead_pusher_held_and_counts_it_as_status_does(pool: PgPool) {
    let medusa = MedusaServer::start().await;
    let sim = dummyjson_simulator().await;
    let store = Store::from_pool(pool.clone());
    // The catalog is written and queued for Medusa; a pusher claimed 50 products and died.
    assert_eq!(store.enable_medusa().await.unwrap(), SinkSwitch::TurnedOn);
    full_sync(&engine(&pool, &sim)).await;
    let dead = store
        .claim_medusa(50, Duration::from_secs(5))
        .await
        .unwrap();
    assert_eq!(dead.len(), 50);

    let summary = full_sync(&engine_with_sink(
        &pool,
        &sim,
        medusa_settings(&sim, medusa.url(), medusa.api_key()),
    ))
    .await;
    assert_eq!(summary.status, RunStatus::Succeeded, "{:?}", summary.errors);
    assert_eq!(
        medusa_counts(&summary),
        MedusaCounts {
            created: 194,
            linked: 194,
            ..MedusaCounts::default()
        }
    );
    assert_eq!(medusa.admin().products().await.len(), 194);
    let state = store.medusa_state().await.unwrap().expect("the sink ran");
    assert_eq!(
        (state.backlog.linked, state.backlog.owed, state.backlog.held),
        (194, 0, 0),
        "status counts what the summary counts"
    );
}
