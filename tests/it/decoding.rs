//! What the upstream sends that is not quite what it should: bytes that are not JSON inside
//! one product (invalid UTF-8, `NaN`), compressed answers asked for or not. One bad product
//! fails alone, and the counts always add up.

use crate::sources::{source_at, upstream_for};
use crate::support::*;
use catalog_sync::domain::{ErrorKind, RunStatus, RunSummary};
use catalog_sync_simulator::{Compression, Encoding, SimulatorConfig};
use sqlx::PgPool;

/// `fetched` is every product the run accounted for, whatever happened to it.
fn assert_counts_add_up(summary: &RunSummary) {
    let c = summary.counts;
    assert_eq!(
        c.fetched,
        c.created + c.updated + c.unchanged + c.failed,
        "fetched = created + updated + unchanged + failed: {summary:?}"
    );
}

/// Product 5 (on the first page) gets invalid UTF-8 in its title, product 120 a `NaN` price.
fn break_two_products(sim: &catalog_sync_simulator::Simulator) {
    sim.set_field(5, "title", Some(r#""Lamp @bad@""#)).unwrap();
    sim.set_field(120, "price", Some(r#""@nan@""#)).unwrap();
    sim.rewrite_answers(b"@bad@", b"\xc3(");
    sim.rewrite_answers(br#""@nan@""#, b"NaN");
}

fn invalid_ids(summary: &RunSummary) -> Vec<String> {
    let mut ids: Vec<String> = summary
        .errors
        .iter()
        .filter(|e| e.kind == ErrorKind::InvalidProduct)
        .filter_map(|e| e.product_id.clone())
        .collect();
    ids.sort();
    ids
}

#[sqlx::test]
async fn a_bad_byte_or_a_nan_fails_only_its_product(pool: PgPool) {
    let sim = simulator(200).await;
    break_two_products(&sim);
    let engine = engine(&pool, &sim);

    let summary = full_sync(&engine).await;

    assert_eq!(summary.status, RunStatus::Partial, "{summary:?}");
    assert_eq!(summary.counts.created, 198, "{summary:?}");
    assert_eq!(summary.counts.failed, 2);
    assert_counts_add_up(&summary);
    assert_eq!(invalid_ids(&summary), ["120", "5"]);
    assert!(
        summary
            .errors
            .iter()
            .any(|e| e.message.contains("invalid UTF-8")),
        "{:?}",
        summary.errors
    );
    assert_eq!(count(&pool, "select count(*) from products").await, 198);

    // The item endpoint refuses them the same way, and once mended they sync.
    let targeted = run(
        &engine,
        catalog_sync::engine::RunRequest::new(catalog_sync::engine::Target::Products(vec![
            "5".into(),
            "6".into(),
        ])),
    )
    .await;
    assert_eq!(
        (targeted.counts.unchanged, targeted.counts.failed),
        (1, 1),
        "{targeted:?}"
    );
    assert_counts_add_up(&targeted);
    sim.clear_faults();
    sim.set_field(120, "price", Some("12.5")).unwrap();
    let mended = full_sync(&engine).await;
    assert_eq!(mended.status, RunStatus::Succeeded, "{mended:?}");
    assert_eq!(mended.counts.created, 2, "{mended:?}");
    assert_counts_add_up(&mended);
}

#[sqlx::test]
async fn a_source_file_fails_only_the_broken_record_too(pool: PgPool) {
    let sim = simulator(200).await;
    break_two_products(&sim);
    let source = source_at(
        &sim,
        include_str!("../../sources/woocommerce.toml"),
        &[("WC_CONSUMER_KEY", "ck"), ("WC_CONSUMER_SECRET", "cs")],
    );
    let engine = engine_with(&pool, upstream_for(&sim, source), settings());

    let summary = full_sync(&engine).await;

    assert_eq!(summary.status, RunStatus::Partial, "{summary:?}");
    assert_eq!((summary.counts.created, summary.counts.failed), (198, 2));
    assert_counts_add_up(&summary);
    assert_eq!(invalid_ids(&summary), ["120", "5"]);
}

#[sqlx::test]
async fn a_lost_page_still_adds_up(pool: PgPool) {
    let sim = simulator(300).await;
    let engine = engine(&pool, &sim);
    full_sync(&engine).await;
    sim.fail_page_always(98);

    let summary = full_sync(&engine).await;

    assert_eq!(summary.status, RunStatus::Partial);
    assert_eq!(summary.counts.failed, 48, "{summary:?}");
    assert_counts_add_up(&summary);
}

#[sqlx::test]
async fn compressed_answers_are_read_whether_asked_for_or_not(pool: PgPool) {
    for (encoding, unasked) in [
        (Encoding::Gzip, false),
        (Encoding::Brotli, false),
        (Encoding::Gzip, true),
        (Encoding::Deflate, true),
        (Encoding::Brotli, true),
    ] {
        let sim = simulator_with(SimulatorConfig {
            products: 120,
            compression: Some(Compression { encoding, unasked }),
            ..SimulatorConfig::default()
        })
        .await;
        sqlx::query("truncate products cascade")
            .execute(&pool)
            .await
            .unwrap();
        let summary = full_sync(&engine(&pool, &sim)).await;
        assert_eq!(
            (summary.status, summary.counts.created),
            (RunStatus::Succeeded, 120),
            "{encoding:?} (unasked: {unasked}): {summary:?}"
        );
        assert!(
            sim.request_counts().compressed >= sim.request_counts().list,
            "every listing answer came compressed ({encoding:?}, unasked: {unasked})"
        );
    }
}
