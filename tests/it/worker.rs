//! The event-driven worker against its own nats-server, a real PostgreSQL and the simulator.

use std::time::Duration;

use crate::support::app::TestApp;
use crate::support::*;
use async_nats::jetstream;
use catalog_sync::bus;
use catalog_sync::domain::{RunStatus, RunSummary};
use catalog_sync::messages::message_id_headers;
use catalog_sync::settings::Topology;
use futures_util::StreamExt;
use sqlx::PgPool;

#[sqlx::test]
async fn a_published_request_produces_one_summary_matching_the_database(pool: PgPool) {
    let sim = simulator(300).await;
    let h = TestApp::start(&pool, &sim).await;
    let mut completed = h.client.subscribe("catalog.sync.completed").await.unwrap();

    h.publish("catalog.sync.requested", Some("req-1"), b"{}")
        .await;

    let message = tokio::time::timeout(Duration::from_secs(30), completed.next())
        .await
        .expect("a summary within 30 s")
        .unwrap();
    let summary: RunSummary = serde_json::from_slice(&message.payload).unwrap();
    assert_eq!(
        summary.request_id, "req-1",
        "request_id defaults to the Nats-Msg-Id"
    );
    assert_eq!(summary.status, RunStatus::Succeeded);
    assert_eq!(summary.counts.created, 300);
    assert_eq!(count(&pool, "select count(*) from products").await, 300);
    let msg_id = message
        .headers
        .as_ref()
        .and_then(|h| h.get("Nats-Msg-Id"))
        .unwrap();
    assert_eq!(msg_id.as_str(), format!("completed-{}", summary.run_id));
    assert!(
        eventually(10, || h.requests_consumer_idle()).await,
        "request acked"
    );
    assert_eq!(h.results("catalog.sync.completed").await.len(), 1);
    h.stop().await;
}

#[sqlx::test]
async fn the_same_request_published_twice_runs_once(pool: PgPool) {
    let sim = simulator(100).await;
    let h = TestApp::start(&pool, &sim).await;

    assert!(
        !h.publish("catalog.sync.requested", Some("nightly-1"), b"{}")
            .await
    );
    assert!(
        h.publish("catalog.sync.requested", Some("nightly-1"), b"{}")
            .await,
        "the stream drops the duplicate"
    );
    assert!(
        eventually(30, || async {
            h.results("catalog.sync.completed").await.len() == 1
        })
        .await
    );
    let served = sim.requests_served();

    // After the de-duplication window, the same request id arrives again under a new message id.
    h.publish(
        "catalog.sync.requested",
        Some("nightly-1-again"),
        br#"{"request_id":"nightly-1"}"#,
    )
    .await;
    assert!(eventually(30, || h.requests_consumer_idle()).await);
    assert_eq!(sim.requests_served(), served, "nothing was synced again");
    assert_eq!(count(&pool, "select count(*) from sync_runs").await, 1);
    let summaries = h.results("catalog.sync.completed").await;
    assert_eq!(
        summaries.len(),
        1,
        "the re-published summary was de-duplicated"
    );
    h.stop().await;
}

#[sqlx::test]
async fn malformed_requests_are_dead_lettered_and_the_worker_goes_on(pool: PgPool) {
    let sim = simulator(50).await;
    let h = TestApp::start(&pool, &sim).await;
    let oversized = format!(r#"{{"reason":"{}"}}"#, "x".repeat(5000));
    let bad: [(&str, &[u8]); 6] = [
        ("not JSON", b"sync please"),
        ("wrong types", br#"{"dry_run":"yes"}"#),
        ("unknown mode", br#"{"mode":"everything"}"#),
        ("binary", &[0xff, 0xfe, 0x00]),
        ("oversized", oversized.as_bytes()),
        ("a path for a request id", br#"{"request_id":"a b/../c"}"#),
    ];
    for (i, (_, body)) in bad.iter().enumerate() {
        h.publish("catalog.sync.requested", Some(&format!("bad-{i}")), body)
            .await;
    }
    h.publish("catalog.sync.requested", Some("good"), b"{}")
        .await;

    assert!(
        eventually(30, || async {
            h.results("catalog.sync.completed").await.len() == 1
        })
        .await
    );
    let dead = h.results("catalog.sync.dead").await;
    assert_eq!(dead.len(), 6, "{dead:#?}");
    for (letter, (what, _)) in dead.iter().zip(bad.iter()) {
        assert_eq!(letter["subject"], "catalog.sync.requested", "{what}");
        assert!(
            !letter["reason"].as_str().unwrap().is_empty(),
            "{what} has a reason"
        );
        assert_eq!(letter["delivery_count"], 1, "{what} was not retried");
        assert!(
            letter["headers"]["Nats-Msg-Id"].is_array(),
            "{what} keeps its headers"
        );
    }
    assert_eq!(dead[0]["body"], "sync please");
    assert!(dead[2]["reason"].as_str().unwrap().contains("unknown mode"));
    assert_eq!(dead[3]["body_base64"], "//4A");
    assert!(
        dead[4]["reason"]
            .as_str()
            .unwrap()
            .contains("over the 4096-byte limit")
    );
    assert!(
        dead[5]["reason"]
            .as_str()
            .unwrap()
            .contains("request id \"a b/../c\" contains ' '")
    );
    assert!(eventually(10, || h.requests_consumer_idle()).await);
    assert_eq!(count(&pool, "select count(*) from products").await, 50);
    h.stop().await;
}

#[tokio::test]
async fn setup_is_idempotent_and_restores_what_the_worker_relies_on() {
    init();
    let nats = NatsServer::spawn().await;
    let js = jetstream::new(nats.client().await);
    let topology = Topology::default();

    let first = bus::setup(&js, &topology).await.unwrap();
    assert_eq!(first.created.len(), 4, "{first:?}");
    let again = bus::setup(&js, &topology).await.unwrap();
    assert!(
        again.created.is_empty() && again.changed.is_empty(),
        "{again:?}"
    );

    // An operator widened the requests consumer: setup puts one-at-a-time back and says so.
    let stream = js.get_stream("CATALOG").await.unwrap();
    let mut config = stream
        .consumer_info("catalog-sync-requests")
        .await
        .unwrap()
        .config;
    config.max_ack_pending = 10;
    stream
        .update_consumer(jetstream::consumer::pull::Config {
            durable_name: config.durable_name.clone(),
            filter_subject: config.filter_subject.clone(),
            ack_wait: config.ack_wait,
            max_deliver: config.max_deliver,
            max_ack_pending: 10,
            replay_policy: config.replay_policy,
            ack_policy: config.ack_policy,
            deliver_policy: config.deliver_policy,
            max_waiting: config.max_waiting,
            description: config.description.clone(),
            ..Default::default()
        })
        .await
        .unwrap();
    let repaired = bus::setup(&js, &topology).await.unwrap();
    assert_eq!(repaired.changed.len(), 1, "{repaired:?}");
    assert!(
        repaired.changed[0].contains("max_ack_pending 10 -> 1"),
        "{repaired:?}"
    );
    let info = stream.consumer_info("catalog-sync-requests").await.unwrap();
    assert_eq!(info.config.max_ack_pending, 1);
}

#[tokio::test]
async fn replicas_setting_up_at_once_all_succeed_with_one_set_of_streams() {
    init();
    let nats = NatsServer::spawn().await;
    let topology = Topology::default();
    let mut replicas = Vec::new();
    for _ in 0..6 {
        let js = jetstream::new(nats.client().await);
        let topology = topology.clone();
        replicas.push(tokio::spawn(
            async move { bus::setup(&js, &topology).await },
        ));
    }
    let mut created = 0;
    for replica in replicas {
        let report = replica
            .await
            .unwrap()
            .expect("every replica's set-up succeeds");
        created += report.created.len();
    }
    assert!((4..=24).contains(&created), "{created} creations reported");

    let js = jetstream::new(nats.client().await);
    let names: Vec<String> = js.stream_names().map(|n| n.unwrap()).collect().await;
    assert_eq!(names.len(), 2, "{names:?}");
    let stream = js.get_stream("CATALOG").await.unwrap();
    let consumers: Vec<String> = stream.consumer_names().map(|n| n.unwrap()).collect().await;
    assert_eq!(consumers.len(), 2, "{consumers:?}");
    let requests = stream.consumer_info("catalog-sync-requests").await.unwrap();
    assert_eq!(requests.config.max_ack_pending, 1);
}

/// A whole product as the upstream serves it (what an event may carry), titled `title`.
fn whole_product(id: u64, title: &str, price: f64, at: &str) -> serde_json::Value {
    serde_json::json!({
        "id": id, "title": title, "description": "A lamp", "category": "home-decoration",
        "price": price, "discountPercentage": 1.5, "rating": 4.1, "stock": 3,
        "tags": ["lamp"], "sku": format!("HOM-LAM-{id:03}"), "weight": 2,
        "dimensions": {"width": 1, "height": 2, "depth": 3},
        "warrantyInformation": "1 year", "shippingInformation": "1 week",
        "availabilityStatus": "In Stock", "returnPolicy": "30 days", "minimumOrderQuantity": 1,
        "meta": {"createdAt": at, "updatedAt": at, "barcode": "1"},
        "images": ["https://cdn.example/1.webp"], "thumbnail": "https://cdn.example/t.webp"
    })
}

fn event(id: u64, version: u32, seconds: i64) -> Vec<u8> {
    let at = chrono::DateTime::from_timestamp(1_700_000_000 + seconds, 0)
        .unwrap()
        .to_rfc3339();
    serde_json::to_vec(&serde_json::json!({
        "product_id": id,
        "updated_at": at,
        "product": whole_product(id, &format!("Lamp {id} v{version}"), f64::from(version) + 0.5, &at),
    }))
    .unwrap()
}

#[sqlx::test]
async fn a_burst_of_events_ends_in_the_newest_state_without_upstream_calls(pool: PgPool) {
    let sim = simulator(10).await;
    let h = TestApp::start(&pool, &sim).await;

    // 1,000 events for 100 products, each product's ten versions published newest-first
    // for even ids and oldest-first for odd ones.
    let publishes = (1..=100u64).flat_map(|id| {
        let versions: Vec<u32> = if id % 2 == 0 {
            (1..=10).rev().collect()
        } else {
            (1..=10).collect()
        };
        versions.into_iter().map(move |v| (id, v))
    });
    let js = h.js.clone();
    let acks: Vec<_> = futures_util::stream::iter(publishes)
        .then(|(id, v)| {
            let js = js.clone();
            async move {
                js.publish("product.updated", event(id, v, i64::from(v)).into())
                    .await
                    .unwrap()
            }
        })
        .collect()
        .await;
    for ack in acks {
        ack.await.unwrap();
    }

    assert!(
        eventually(60, || h.updates_consumer_idle()).await,
        "every event acknowledged"
    );
    assert_eq!(count(&pool, "select count(*) from products").await, 100);
    let stale = count(
        &pool,
        "select count(*) from products where title not like '% v10'",
    )
    .await;
    assert_eq!(stale, 0, "every product holds its newest version");
    let price: String =
        sqlx::query_scalar("select price::text from products where external_id = '42'")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(price, "10.5");
    assert_eq!(
        sim.requests_served(),
        0,
        "event-carried products need no upstream call"
    );
    let summaries = h.results("catalog.sync.completed").await;
    assert!(!summaries.is_empty());
    assert!(summaries.iter().all(|s| s["mode"] == "incremental"));
    h.stop().await;
}

#[sqlx::test]
async fn an_older_event_never_overwrites_newer_data(pool: PgPool) {
    let sim = simulator(10).await;
    let h = TestApp::start(&pool, &sim).await;

    h.publish("product.updated", None, &event(5, 2, 200)).await;
    assert!(
        eventually(30, || async {
            count(
                &pool,
                "select count(*) from products where title = 'Lamp 5 v2'",
            )
            .await
                == 1
        })
        .await
    );
    h.publish("product.updated", None, &event(5, 1, 100)).await;
    let stale_delete = br#"{"product_id":5,"deleted":true,"updated_at":"2023-11-14T22:13:20Z"}"#;
    h.publish("product.updated", None, stale_delete).await;
    assert!(eventually(30, || h.updates_consumer_idle()).await);

    let (title, archived): (String, bool) = sqlx::query_as(
        "select title, archived_at is not null from products where external_id = '5'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!((title.as_str(), archived), ("Lamp 5 v2", false));
    h.stop().await;
}

#[sqlx::test]
async fn events_without_a_product_are_fetched_and_gone_products_archived(pool: PgPool) {
    let sim = simulator(20).await;
    let h = TestApp::start(&pool, &sim).await;
    sim.delete(4);

    h.publish("product.updated", None, br#"{"product_id":3}"#)
        .await;
    h.publish("product.updated", None, br#"{"product_id":"4"}"#)
        .await;
    h.publish("product.updated", None, &event(9, 1, 10)).await;
    assert!(eventually(30, || h.updates_consumer_idle()).await);
    // A deletion without a version is confirmed with the upstream first: product 3 is live
    // there and stays; product 9 is gone and is archived.
    sim.delete(9);
    h.publish(
        "product.updated",
        None,
        br#"{"product_id":9,"deleted":true}"#,
    )
    .await;
    h.publish(
        "product.updated",
        None,
        br#"{"product_id":3,"deleted":true}"#,
    )
    .await;
    assert!(eventually(30, || h.updates_consumer_idle()).await);
    assert_eq!(
        count(
            &pool,
            "select count(*) from products where external_id = '3' and archived_at is null"
        )
        .await,
        1,
        "an unversioned deletion of a product the upstream still has archives nothing"
    );

    let title: String = sqlx::query_scalar("select title from products where external_id = '3'")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(title, sim.product(3).unwrap()["title"].as_str().unwrap());
    assert_eq!(
        count(
            &pool,
            "select count(*) from products where external_id = '4'"
        )
        .await,
        0
    );
    let archived = count(
        &pool,
        "select count(*) from products where external_id = '9' and archived_at is not null",
    )
    .await;
    assert_eq!(archived, 1, "a deleted event archives");
    h.stop().await;
}

#[sqlx::test]
async fn an_upstream_outage_during_a_product_event_is_retried_until_it_recovers(pool: PgPool) {
    let sim = simulator(20).await;
    let h = TestApp::start(&pool, &sim).await;
    // Two deliveries' worth of attempts fail (1 + SYNC_MAX_RETRIES each), then it recovers.
    sim.fail_next(8, catalog_sync_simulator::Fault::Status(503));

    h.publish("product.updated", None, br#"{"product_id":7}"#)
        .await;

    assert!(
        eventually(40, || async {
            count(
                &pool,
                "select count(*) from products where external_id = '7'",
            )
            .await
                == 1
        })
        .await,
        "the event is applied once the upstream is back"
    );
    assert!(eventually(10, || h.updates_consumer_idle()).await);
    assert!(
        h.results("catalog.sync.dead").await.is_empty(),
        "nothing was given up"
    );
    assert!(sim.requests_served() >= 9);
    h.stop().await;
}

#[sqlx::test]
async fn malformed_product_events_are_dead_lettered_and_valid_ones_still_applied(pool: PgPool) {
    let sim = simulator(10).await;
    let h = TestApp::start(&pool, &sim).await;
    let oversized = format!(r#"{{"product_id":1,"note":"{}"}}"#, "x".repeat(5000));
    let wrong_id = serde_json::json!({
        "product_id": 2,
        "product": whole_product(3, "Wrong id", 1.0, "2026-01-01T00:00:00Z"),
    })
    .to_string();
    let bad: [&[u8]; 5] = [
        b"product 1 changed",
        br#"{"product_id":{"id":1}}"#,
        br#"{"product_id":1,"deleted":"yes"}"#,
        wrong_id.as_bytes(),
        oversized.as_bytes(),
    ];
    for body in bad {
        h.publish("product.updated", None, body).await;
    }
    h.publish("product.updated", None, &event(4, 1, 1)).await;

    assert!(eventually(30, || h.updates_consumer_idle()).await);
    let dead = h.results("catalog.sync.dead").await;
    assert_eq!(dead.len(), 5, "{dead:#?}");
    assert!(
        dead.iter()
            .all(|d| d["subject"] == "product.updated" && d["delivery_count"] == 1)
    );
    assert!(
        dead[3]["reason"]
            .as_str()
            .unwrap()
            .contains("carries product 3")
    );
    assert!(
        dead[4]["reason"]
            .as_str()
            .unwrap()
            .contains("4096-byte limit")
    );
    assert_eq!(
        count(
            &pool,
            "select count(*) from products where title = 'Lamp 4 v1'"
        )
        .await,
        1
    );
    h.stop().await;
}

/// The `traceparent` of the last message stored on `subject` in the results stream.
async fn last_traceparent(js: &jetstream::Context, subject: &str) -> Option<String> {
    let message = js
        .get_stream("CATALOG_RESULTS")
        .await
        .unwrap()
        .get_last_raw_message_by_subject(subject)
        .await
        .ok()?;
    message
        .headers
        .get("traceparent")
        .map(|v| v.as_str().to_owned())
}

#[sqlx::test]
async fn without_an_exporter_a_publishers_trace_context_passes_through(pool: PgPool) {
    // No OpenTelemetry layer is installed in this process: the worker records no spans of its
    // own, yet the publisher's trace reaches the summary, its headers and the dead letters.
    let sim = simulator(20).await;
    let h = TestApp::start(&pool, &sim).await;
    let traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    let traced = |id: &str| {
        let mut headers = message_id_headers(id);
        headers.insert("traceparent", traceparent);
        headers
    };

    h.publish_with("catalog.sync.requested", traced("traced-ok"), b"{}")
        .await;
    assert!(
        eventually(30, || async {
            !h.results("catalog.sync.completed").await.is_empty()
        })
        .await
    );
    let summary: RunSummary =
        serde_json::from_value(h.results("catalog.sync.completed").await.remove(0)).unwrap();
    assert_eq!(
        summary.trace_id.as_deref(),
        Some("4bf92f3577b34da6a3ce929d0e0e4736")
    );
    assert_eq!(
        last_traceparent(&h.js, "catalog.sync.completed")
            .await
            .as_deref(),
        Some(traceparent)
    );

    h.publish_with("catalog.sync.requested", traced("traced-bad"), b"not json")
        .await;
    assert!(
        eventually(30, || async {
            !h.results("catalog.sync.dead").await.is_empty()
        })
        .await
    );
    assert_eq!(
        last_traceparent(&h.js, "catalog.sync.dead")
            .await
            .as_deref(),
        Some(traceparent)
    );
    h.stop().await;
}

/// The stored row of a product: title, price, handle, whether archived, source_updated_at.
async fn stored_product(
    pool: &PgPool,
    id: &str,
) -> Option<(
    String,
    String,
    String,
    bool,
    Option<chrono::DateTime<chrono::Utc>>,
)> {
    sqlx::query_as(
        "select title, price::text, handle, archived_at is not null, source_updated_at
         from products where external_id = $1",
    )
    .bind(id)
    .fetch_optional(pool)
    .await
    .unwrap()
}

fn carried(id: u64, title: &str, envelope: Option<&str>, meta_at: &str) -> Vec<u8> {
    let mut body = serde_json::json!({
        "product_id": id,
        "product": whole_product(id, title, 9.5, meta_at),
    });
    if let Some(at) = envelope {
        body["updated_at"] = at.into();
    }
    serde_json::to_vec(&body).unwrap()
}

#[sqlx::test]
async fn event_batches_after_the_stream_is_created_again_are_not_mistaken_for_old_ones(
    pool: PgPool,
) {
    let sim = simulator(10).await;
    // A first stream: its first event is sequence 1, batch id events-1-1-1-...
    let first = TestApp::start(&pool, &sim).await;
    first
        .publish("product.updated", None, &event(1, 1, 1))
        .await;
    assert!(eventually(30, || first.updates_consumer_idle()).await);
    first.stop().await;
    // A stream created again (a new server, as `scripts/demo` run twice does): sequences
    // start over at 1, in the same database.
    let second = TestApp::start(&pool, &sim).await;
    second
        .publish("product.updated", None, &event(2, 1, 1))
        .await;
    assert!(eventually(30, || second.updates_consumer_idle()).await);
    assert!(
        stored_product(&pool, "2").await.is_some(),
        "the new stream's first event is applied, not dropped as already ran"
    );
    let ids: Vec<String> =
        sqlx::query_scalar("select request_id from sync_runs where mode = 'incremental'")
            .fetch_all(&pool)
            .await
            .unwrap();
    assert_eq!(ids.len(), 2, "{ids:?}");
    assert_ne!(ids[0], ids[1]);
    second.stop().await;
}

#[sqlx::test]
async fn a_partial_or_invalid_carried_product_is_dead_lettered_and_wipes_nothing(pool: PgPool) {
    let sim = simulator(10).await;
    let h = TestApp::start(&pool, &sim).await;
    h.publish("product.updated", None, &event(14, 1, 1)).await;
    assert!(eventually(30, || h.updates_consumer_idle()).await);
    let before = stored_product(&pool, "14")
        .await
        .expect("product 14 applied");

    let partial =
        br#"{"product_id":14,"updated_at":"2026-11-01T00:00:00Z","product":{"id":14,"title":"x"}}"#;
    let mut nul: serde_json::Value = serde_json::from_slice(&event(15, 1, 1)).unwrap();
    nul["product"]["title"] = "Lamp\u{0}".into();
    let mut wrong_type: serde_json::Value = serde_json::from_slice(&event(16, 1, 1)).unwrap();
    wrong_type["product"]["price"] = "cheap".into();
    let wrong_type = serde_json::to_vec(&wrong_type).unwrap();
    h.publish("product.updated", None, partial).await;
    h.publish("product.updated", None, &serde_json::to_vec(&nul).unwrap())
        .await;
    h.publish("product.updated", None, &wrong_type).await;
    h.publish("product.updated", None, &event(17, 1, 1)).await;
    assert!(eventually(30, || h.updates_consumer_idle()).await);

    assert_eq!(
        stored_product(&pool, "14").await.unwrap(),
        before,
        "nothing wiped"
    );
    assert!(stored_product(&pool, "15").await.is_none());
    assert!(
        stored_product(&pool, "17").await.is_some(),
        "the valid event of the batch is applied"
    );
    let dead = h.results("catalog.sync.dead").await;
    let reasons: Vec<&str> = dead.iter().map(|d| d["reason"].as_str().unwrap()).collect();
    assert_eq!(reasons.len(), 3, "{reasons:?}");
    assert!(reasons[0].contains("incomplete"), "{}", reasons[0]);
    assert!(reasons[1].contains("NUL"), "{}", reasons[1]);
    assert!(reasons[2].contains("price"), "{}", reasons[2]);
    h.stop().await;
}

#[sqlx::test]
async fn event_versions_decide_and_unversioned_state_is_fetched(pool: PgPool) {
    let sim = simulator(10).await;
    let h = TestApp::start(&pool, &sim).await;
    let upstream = sim.product(5).unwrap();

    // Carried state without any version is not trusted: the worker fetches the product.
    let mut versionless: serde_json::Value =
        serde_json::from_slice(&carried(5, "Fake", None, "2025-01-01T00:00:00Z")).unwrap();
    versionless["product"]["meta"] = serde_json::json!({"barcode": "1"});
    h.publish(
        "product.updated",
        None,
        &serde_json::to_vec(&versionless).unwrap(),
    )
    .await;
    assert!(eventually(30, || h.updates_consumer_idle()).await);
    let (title, _, _, _, version) = stored_product(&pool, "5").await.unwrap();
    assert_eq!(title, upstream["title"].as_str().unwrap());
    assert!(version.is_some(), "the upstream's version is kept");
    assert_eq!(sim.request_counts().single, 1);

    // A newer version is stored; an old envelope with a fresh-looking body must not win.
    h.publish(
        "product.updated",
        None,
        &carried(
            6,
            "Lamp v2",
            Some("2026-11-02T00:00:00Z"),
            "2026-11-02T00:00:00Z",
        ),
    )
    .await;
    assert!(eventually(30, || h.updates_consumer_idle()).await);
    h.publish(
        "product.updated",
        None,
        &carried(
            6,
            "Lamp v1",
            Some("2026-11-01T00:00:00Z"),
            "2026-11-03T00:00:00Z",
        ),
    )
    .await;
    // An unversioned deletion of a product the upstream still has is refused by the upstream.
    h.publish(
        "product.updated",
        None,
        br#"{"product_id":6,"deleted":true}"#,
    )
    .await;
    assert!(eventually(30, || h.updates_consumer_idle()).await);
    let (title, _, _, archived, version) = stored_product(&pool, "6").await.unwrap();
    assert_eq!(title, "Lamp v2", "the envelope's older version loses");
    assert!(!archived);
    assert_eq!(
        version.unwrap().to_rfc3339(),
        "2026-11-02T00:00:00+00:00",
        "the ordering guard keeps its version"
    );
    h.stop().await;
}

#[sqlx::test]
async fn product_ids_that_are_paths_are_dead_lettered_without_any_request(pool: PgPool) {
    let sim = simulator(10).await;
    let h = TestApp::start(&pool, &sim).await;
    for id in ["..", ".", "a/b", "../../admin", "7?limit=0"] {
        let body = serde_json::json!({ "product_id": id }).to_string();
        h.publish("product.updated", None, body.as_bytes()).await;
    }
    h.publish(
        "catalog.sync.requested",
        Some("by-id"),
        br#"{"mode":"products","product_ids":[".."]}"#,
    )
    .await;
    assert!(eventually(30, || h.updates_consumer_idle()).await);
    assert!(eventually(30, || h.requests_consumer_idle()).await);
    let dead = h.results("catalog.sync.dead").await;
    assert_eq!(dead.len(), 6, "{dead:#?}");
    assert!(
        dead.iter()
            .all(|d| d["reason"].as_str().unwrap().contains("product id"))
    );
    assert_eq!(sim.requests_served(), 0, "no upstream request at all");
    h.stop().await;
}

#[sqlx::test]
async fn an_exact_big_price_in_an_event_is_stored_digit_for_digit(pool: PgPool) {
    let sim = simulator(10).await;
    let h = TestApp::start(&pool, &sim).await;
    let price = "123456789012345678901234567890.123456789";
    let body = String::from_utf8(carried(
        8,
        "Gold",
        Some("2026-11-01T00:00:00Z"),
        "2026-11-01T00:00:00Z",
    ))
    .unwrap()
    .replace("9.5", price);
    h.publish("product.updated", None, body.as_bytes()).await;
    let text_price = br#"{"product_id":9,"updated_at":"2026-11-01T00:00:00Z","product":PRODUCT}"#;
    let product = whole_product(9, "Silver", 0.0, "2026-11-01T00:00:00Z")
        .to_string()
        .replace("\"price\":0.0", "\"price\":\" 12.50 \"");
    let text = String::from_utf8_lossy(text_price).replace("PRODUCT", &product);
    h.publish("product.updated", None, text.as_bytes()).await;
    assert!(eventually(30, || h.updates_consumer_idle()).await);
    assert_eq!(stored_product(&pool, "8").await.unwrap().1, price);
    assert_eq!(stored_product(&pool, "9").await.unwrap().1, "12.50");
    h.stop().await;
}

#[sqlx::test]
async fn a_dry_run_worker_reads_requests_and_events_and_writes_no_catalog_row(pool: PgPool) {
    let sim = simulator(60).await;
    assert_eq!(full_sync(&engine(&pool, &sim)).await.counts.created, 60);
    let before = row_versions(&pool).await;
    // Upstream: one product changed, one gone, two new.
    sim.mutate(1);
    sim.delete(2);
    sim.add_products(2);
    let mut h = TestApp::new(&pool, &sim).await;
    h.settings.engine.engine.dry_run = true;
    h.start_worker();

    h.publish("catalog.sync.requested", Some("dry-full"), b"{}")
        .await;
    h.publish(
        "catalog.sync.requested",
        Some("dry-products"),
        br#"{"product_ids":[1,2,61]}"#,
    )
    .await;
    h.publish("product.updated", None, &event(3, 1, 100)).await;
    h.publish("product.updated", None, br#"{"product_id":4}"#)
        .await;
    let gone = br#"{"product_id":5,"deleted":true,"updated_at":"2026-11-01T00:00:00Z"}"#;
    h.publish("product.updated", None, gone).await;

    assert!(
        eventually(60, || async {
            h.requests_consumer_idle().await && h.updates_consumer_idle().await
        })
        .await,
        "every request and event settled"
    );
    let summaries = h.results("catalog.sync.completed").await;
    assert!(summaries.len() >= 3, "{summaries:#?}");
    assert!(
        summaries.iter().all(|s| s["dry_run"] == true),
        "{summaries:#?}"
    );
    let full = summaries.iter().find(|s| s["request_id"] == "dry-full");
    let full = full.expect("the full sync's summary");
    // It compared everything and says what it would have done.
    assert_eq!(full["counts"]["created"], 2, "{full}");
    assert_eq!(full["counts"]["updated"], 1, "{full}");
    assert_eq!(full["counts"]["archived"], 1, "{full}");
    assert_eq!(
        row_versions(&pool).await,
        before,
        "no product row written or added"
    );
    assert_eq!(
        count(
            &pool,
            "select count(*) from products where archived_at is not null"
        )
        .await,
        0
    );
    assert!(h.results("catalog.sync.dead").await.is_empty());
    h.stop().await;
}

#[sqlx::test]
async fn a_worker_told_to_force_archive_archives_beyond_the_ratio(pool: PgPool) {
    let sim = simulator(50).await;
    full_sync(&engine(&pool, &sim)).await;
    // 40 % of the catalog gone upstream, over SYNC_ARCHIVE_MAX_RATIO's 20 %.
    for id in 1..=20 {
        sim.delete(id);
    }
    let mut h = TestApp::new(&pool, &sim).await;
    h.settings.engine.engine.force_archive = true;
    h.start_worker();
    h.publish("catalog.sync.requested", Some("forced"), b"{}")
        .await;
    assert!(
        eventually(60, || async {
            h.results("catalog.sync.completed").await.len() == 1
        })
        .await
    );
    let summary = &h.results("catalog.sync.completed").await[0];
    assert_eq!(summary["counts"]["archived"], 20, "{summary}");
    assert_eq!(
        count(
            &pool,
            "select count(*) from products where archived_at is not null"
        )
        .await,
        20
    );
    h.stop().await;
}

#[sqlx::test]
async fn a_worker_whose_consumers_are_deleted_creates_them_again_and_goes_on(pool: PgPool) {
    let sim = simulator(20).await;
    let h = TestApp::start(&pool, &sim).await;
    let stream = h.js.get_stream("CATALOG").await.unwrap();
    let pulling = |name: &'static str| {
        let stream = stream.clone();
        move || {
            let stream = stream.clone();
            async move {
                let info = stream.consumer_info(name).await;
                info.is_ok_and(|info| info.num_waiting > 0)
            }
        }
    };
    for name in ["catalog-sync-requests", "catalog-sync-updates"] {
        assert!(eventually(30, pulling(name)).await, "{name} pulled");
        stream.delete_consumer(name).await.unwrap();
    }

    // Published while the consumers are gone: applied once the worker has them again.
    h.publish("product.updated", None, &event(7, 1, 100)).await;
    h.publish(
        "catalog.sync.requested",
        Some("after-the-deletion"),
        br#"{"product_ids":[3]}"#,
    )
    .await;
    assert!(
        eventually(60, || async {
            let event = stored_product(&pool, "7").await;
            let request = stored_product(&pool, "3").await;
            event.is_some_and(|p| p.0 == "Lamp 7 v1") && request.is_some()
        })
        .await,
        "the event and the request were applied"
    );
    for name in ["catalog-sync-requests", "catalog-sync-updates"] {
        assert!(eventually(30, pulling(name)).await, "{name} pulled again");
    }
    assert!(eventually(30, || h.requests_consumer_idle()).await);
    assert!(eventually(30, || h.updates_consumer_idle()).await);
    h.stop().await;
}

#[sqlx::test]
async fn a_requests_consumer_deleted_during_a_run_is_created_again_after_the_run(pool: PgPool) {
    // 60 pages of 50 ms one after another: a run of a few seconds.
    let sim = simulator_with(catalog_sync_simulator::SimulatorConfig {
        products: 3000,
        latency: Duration::from_millis(50),
        ..Default::default()
    })
    .await;
    let mut h = TestApp::new(&pool, &sim).await;
    h.settings.engine.engine.concurrency = 1;
    h.start_worker();
    h.publish("catalog.sync.requested", Some("long"), b"{}")
        .await;
    let running = "select count(*) from sync_runs where status = 'running'";
    assert!(eventually(30, || async { count(&pool, running).await == 1 }).await);
    // No pull waits while the run goes: nothing tells the worker its consumer is gone.
    let stream = h.js.get_stream("CATALOG").await.unwrap();
    stream
        .delete_consumer("catalog-sync-requests")
        .await
        .unwrap();
    h.publish(
        "catalog.sync.requested",
        Some("next"),
        br#"{"product_ids":[3]}"#,
    )
    .await;
    let done = "select count(*) from sync_runs where request_id in ('long', 'next') and status = 'succeeded'";
    assert!(
        eventually(90, || async { count(&pool, done).await == 2 }).await,
        "both requests ran"
    );
    assert!(eventually(30, || h.requests_consumer_idle()).await);
    h.stop().await;
}
