//! Versions from a clock that runs ahead: refused when an event brings one, and repaired by the
//! next full sync when one is already stored. And event-carried records of a source file that
//! leave mapped fields out: refused, never applied as a wipe.

use crate::sources::source_at;
use crate::support::app::TestApp;
use crate::support::*;
use catalog_sync::domain::RunStatus;
use sqlx::PgPool;

/// Title, whether archived, and version of a stored product.
async fn row(pool: &PgPool, id: &str) -> (String, bool, Option<chrono::DateTime<chrono::Utc>>) {
    sqlx::query_as(
        "select title, archived_at is not null, source_updated_at from products where external_id = $1",
    )
    .bind(id)
    .fetch_one(pool)
    .await
    .unwrap()
}

#[sqlx::test]
async fn events_dated_beyond_the_tolerance_are_dead_lettered_and_change_nothing(pool: PgPool) {
    let sim = simulator(30).await;
    let h = TestApp::start(&pool, &sim).await;
    h.publish("catalog.sync.requested", Some("first"), b"{}")
        .await;
    assert!(eventually(30, || h.requests_consumer_idle()).await);
    let before = (row(&pool, "20").await, row(&pool, "21").await);

    h.publish(
        "product.updated",
        None,
        br#"{"product_id":20,"deleted":true,"updated_at":"2099-01-01T00:00:00Z"}"#,
    )
    .await;
    let mut future = sim.product(21).unwrap();
    future["title"] = "From the future".into();
    future["meta"]["updatedAt"] = "2030-01-01T00:00:00.000Z".into();
    let carried = serde_json::json!({ "product_id": 21, "product": future });
    h.publish("product.updated", None, carried.to_string().as_bytes())
        .await;
    assert!(eventually(30, || h.updates_consumer_idle()).await);

    let dead = h.results("catalog.sync.dead").await;
    assert_eq!(dead.len(), 2, "{dead:#?}");
    for letter in &dead {
        let reason = letter["reason"].as_str().unwrap();
        assert!(reason.contains("SYNC_FUTURE_TOLERANCE"), "{reason}");
    }
    assert_eq!((row(&pool, "20").await, row(&pool, "21").await), before);
    h.stop().await;
}

#[sqlx::test]
async fn a_full_sync_repairs_what_a_version_from_the_future_already_did(pool: PgPool) {
    let sim = simulator(30).await;
    let engine = engine(&pool, &sim);
    full_sync(&engine).await;
    // What events from a clock ahead left behind (stored before they were refused): product 20
    // archived at version 2099 though the upstream still has it, product 21 pinned at 2030
    // with content the upstream never had.
    sqlx::query(
        "update products set archived_at = now(), source_updated_at = '2099-01-01T00:00:00Z' \
         where external_id = '20'",
    )
    .execute(&pool)
    .await
    .unwrap();
    sqlx::query(
        "update products set title = 'Pinned', content_hash = '\\x00', \
         source_updated_at = '2030-01-01T00:00:00Z' where external_id = '21'",
    )
    .execute(&pool)
    .await
    .unwrap();
    // A version just ahead of the clock, within the tolerance, still guards its product.
    sqlx::query(
        "update products set title = 'Event', content_hash = '\\x00', \
         source_updated_at = now() + interval '1 minute' where external_id = '22'",
    )
    .execute(&pool)
    .await
    .unwrap();
    sim.mutate(21);

    let summary = full_sync(&engine).await;

    assert_eq!(summary.status, RunStatus::Succeeded, "{summary:?}");
    let upstream = |id: u64| sim.product(id).unwrap();
    let version = |id: u64| {
        chrono::DateTime::parse_from_rfc3339(upstream(id)["meta"]["updatedAt"].as_str().unwrap())
            .unwrap()
            .with_timezone(&chrono::Utc)
    };
    assert_eq!(
        row(&pool, "20").await,
        (
            upstream(20)["title"].as_str().unwrap().to_owned(),
            false,
            Some(version(20))
        ),
        "a product the listing serves is live, at the listing's version"
    );
    assert_eq!(
        row(&pool, "21").await,
        (
            upstream(21)["title"].as_str().unwrap().to_owned(),
            false,
            Some(version(21))
        ),
        "the listed version replaces a stored one from the future"
    );
    assert_eq!(row(&pool, "22").await.0, "Event");
}

#[sqlx::test]
async fn a_source_file_event_missing_mapped_fields_is_dead_lettered_and_wipes_nothing(
    pool: PgPool,
) {
    let sim = simulator(10).await;
    let mut h = TestApp::new(&pool, &sim).await;
    h.settings.engine.upstream.source = Some(source_at(
        &sim,
        include_str!("../../sources/woocommerce.toml"),
        &[("WC_CONSUMER_KEY", "ck"), ("WC_CONSUMER_SECRET", "cs")],
    ));
    h.start_worker();
    h.publish("catalog.sync.requested", Some("first"), b"{}")
        .await;
    assert!(eventually(30, || h.requests_consumer_idle()).await);
    let stored = || async {
        sqlx::query_as::<_, (Option<String>, Vec<String>)>(
            "select sku, images from products where external_id = '7'",
        )
        .fetch_one(&pool)
        .await
        .unwrap()
    };
    let before = stored().await;
    assert!(before.0.is_some() && !before.1.is_empty(), "{before:?}");

    let mut record: serde_json::Value = reqwest::get(format!(
        "{}/wc/v3/products/7",
        sim.url().origin().ascii_serialization()
    ))
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let object = record.as_object_mut().unwrap();
    object.remove("sku");
    object.remove("images");
    object.insert("name".into(), "Renamed".into());
    let event = serde_json::json!({
        "product_id": 7,
        "updated_at": chrono::Utc::now().to_rfc3339(),
        "product": record,
    });
    h.publish("product.updated", None, event.to_string().as_bytes())
        .await;
    assert!(eventually(30, || h.updates_consumer_idle()).await);

    let dead = h.results("catalog.sync.dead").await;
    assert_eq!(dead.len(), 1, "{dead:#?}");
    let reason = dead[0]["reason"].as_str().unwrap();
    assert!(
        reason.contains("incomplete") && reason.contains("images"),
        "{reason}"
    );
    assert_eq!(stored().await, before, "nothing wiped");
    h.stop().await;
}
