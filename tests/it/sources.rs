//! Upstream source files against the simulator serving each paging style and shape: the
//! shipped WooCommerce and Shopify files, cursor and next-URL listings, a source-described
//! DummyJSON with string prices, basic auth, and a client-side rate limit.

use std::time::Duration;

use crate::support::*;
use catalog_sync::domain::RunStatus;
use catalog_sync::settings::UpstreamSettings;
use catalog_sync::source::Source;
use catalog_sync_simulator::{ListingQuirks, Simulator, SimulatorConfig};
use sqlx::PgPool;

const WOOCOMMERCE: &str = include_str!("../../sources/woocommerce.toml");
const SHOPIFY: &str = include_str!("../../sources/shopify.toml");

/// `text` with the example shop's address replaced by the simulator's, checked with `env`.
pub(crate) fn source_at(sim: &Simulator, text: &str, env: &[(&str, &str)]) -> Source {
    let base = sim.url();
    let origin = base.origin().ascii_serialization();
    // The simulator serves WooCommerce's routes without WordPress's `/wp-json` prefix.
    let mut text = text.replace("{base_url}/wp-json", &origin);
    if text.contains("{base_url}") {
        text = format!("base_url = \"{origin}\"\n{text}");
    }
    Source::parse("test.toml", &text, |name| {
        env.iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| (*v).to_owned())
    })
    .unwrap_or_else(|e| panic!("{e}"))
}

pub(crate) fn upstream_for(sim: &Simulator, source: Source) -> UpstreamSettings {
    UpstreamSettings {
        source: Some(source),
        ..upstream_settings(sim)
    }
}

/// The source file of a DummyJSON-shaped listing at `path` paged by `paging`, records at
/// `records`.
fn generic(sim: &Simulator, path: &str, records: &str, paging: &str) -> Source {
    let origin = sim.url().origin().ascii_serialization();
    let text = format!(
        r#"
[list]
url = "{origin}{path}"
records = "{records}"
page_size = 100
[list.paging]
{paging}

[item]
url = "{origin}/products/{{id}}"

[fields]
external_id = "/id"
title = "/title"
description = "/description"
price = "/price"
stock = "/stock"
category = "/category"
brand = "/brand"
sku = "/sku"
images = "/images/*"
thumbnail = "/thumbnail"
tags = "/tags/*"
updated_at = "/meta/updatedAt"
"#
    );
    Source::parse("generic.toml", &text, |_| None).unwrap_or_else(|e| panic!("{e}"))
}

/// Full sync with `source`, an unchanged re-run that writes no row, then deletions upstream
/// archived after confirmation.
async fn sync_rerun_and_archive(pool: &PgPool, sim: &Simulator, source: Source, products: i64) {
    let page_size = source.list.page_size;
    let engine = engine_with(
        pool,
        upstream_for(sim, source),
        catalog_sync::settings::EngineSettings {
            page_size,
            batch_size: 500,
            ..settings()
        },
    );
    let first = full_sync(&engine).await;
    assert_eq!(first.status, RunStatus::Succeeded, "{first:?}");
    assert_eq!(first.counts.created as i64, products, "{first:?}");
    assert_eq!(
        count(
            pool,
            "select count(*) from products where archived_at is null"
        )
        .await,
        products
    );

    let before = row_versions(pool).await;
    let again = full_sync(&engine).await;
    assert_eq!(again.status, RunStatus::Succeeded, "{again:?}");
    assert_eq!(again.counts.unchanged as i64, products, "{again:?}");
    assert_eq!(
        row_versions(pool).await,
        before,
        "an unchanged re-run writes no row"
    );

    for id in [3, 1500, 4999] {
        sim.delete(id);
    }
    let after = full_sync(&engine).await;
    assert_eq!(after.status, RunStatus::Succeeded, "{after:?}");
    assert_eq!(after.counts.archived, 3, "{after:?}");
    let archived: Vec<String> = sqlx::query_scalar(
        "select external_id from products where archived_at is not null order by external_id",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    assert_eq!(archived, ["1500", "3", "4999"]);
}

#[sqlx::test]
async fn woocommerce_page_style_syncs_reruns_and_archives(pool: PgPool) {
    let sim = simulator(5000).await;
    let source = source_at(
        &sim,
        WOOCOMMERCE,
        &[("WC_CONSUMER_KEY", "ck"), ("WC_CONSUMER_SECRET", "cs")],
    );
    // The file's gentle 10 per second would make this test slow; the limit has its own test.
    let mut source = source;
    source.rate_limit = None;
    sync_rerun_and_archive(&pool, &sim, source, 5000).await;
    // Prices are WooCommerce's strings, stored digit for digit.
    let upstream = sim.product(42).unwrap();
    let price: String =
        sqlx::query_scalar("select price::text from products where external_id = '42'")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(price, upstream["price"].to_string());
}

#[sqlx::test]
async fn shopify_link_header_style_syncs_reruns_and_archives(pool: PgPool) {
    let sim = simulator(5000).await;
    let source = source_at(&sim, SHOPIFY, &[("SHOPIFY_ACCESS_TOKEN", "shpat_test")]);
    let mut source = source;
    source.rate_limit = None;
    sync_rerun_and_archive(&pool, &sim, source, 5000).await;
    let tags: String = sqlx::query_scalar(
        "select array_to_string(tags, ',') from products where external_id = '42'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    let upstream: Vec<String> = sim.product(42).unwrap()["tags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(tags, upstream.join(","), "Shopify's one tag string, split");
}

#[sqlx::test]
async fn cursor_style_syncs_reruns_and_archives(pool: PgPool) {
    let sim = simulator(5000).await;
    let source = generic(
        &sim,
        "/cursor/products",
        "/data",
        "style = \"cursor\"\ncursor = \"/next_cursor\"",
    );
    sync_rerun_and_archive(&pool, &sim, source, 5000).await;
}

#[sqlx::test]
async fn next_url_style_syncs_reruns_and_archives(pool: PgPool) {
    let sim = simulator(5000).await;
    let source = generic(
        &sim,
        "/next/products",
        "/items",
        "style = \"next_url\"\nnext_url = \"/links/next\"",
    );
    sync_rerun_and_archive(&pool, &sim, source, 5000).await;
}

#[sqlx::test]
async fn offset_style_from_a_file_with_string_prices_syncs_reruns_and_archives(pool: PgPool) {
    let sim = simulator_with(SimulatorConfig {
        products: 5000,
        string_prices: true,
        ..SimulatorConfig::default()
    })
    .await;
    let source = generic(
        &sim,
        "/products",
        "/products",
        "style = \"offset\"\noffset_param = \"skip\"\ntotal = \"/total\"",
    );
    sync_rerun_and_archive(&pool, &sim, source, 5000).await;
    let upstream = sim.product(7).unwrap();
    let price: String =
        sqlx::query_scalar("select price::text from products where external_id = '7'")
            .fetch_one(&pool)
            .await
            .unwrap();
    // Served as "29231.1" (a string), stored as the same digits.
    assert_eq!(price, upstream["price"].to_string());
}

#[sqlx::test]
async fn a_declared_rate_limit_meets_no_429(pool: PgPool) {
    let per = Duration::from_secs(2);
    let sim = simulator_with(SimulatorConfig {
        products: 600,
        rate_limit_quota: Some((20, per)),
        ..SimulatorConfig::default()
    })
    .await;
    let mut source = generic(
        &sim,
        "/products",
        "/products",
        "style = \"offset\"\noffset_param = \"skip\"\ntotal = \"/total\"",
    );
    source.list.page_size = 20;
    source.rate_limit = Some(catalog_sync::source::RateLimit { requests: 20, per });
    let engine = engine_with(
        &pool,
        upstream_for(&sim, source),
        catalog_sync::settings::EngineSettings {
            page_size: 20,
            concurrency: 8,
            ..settings()
        },
    );
    let started = std::time::Instant::now();
    let summary = full_sync(&engine).await;
    let took = started.elapsed();
    assert_eq!(summary.status, RunStatus::Succeeded, "{summary:?}");
    assert_eq!(summary.counts.created, 600);
    let counts = sim.request_counts();
    assert_eq!(counts.rate_limited, 0, "no request was refused: {counts:?}");
    // About 33 pages at 10 per second: the limit, not much slower than it allows.
    let floor = per.mul_f64((counts.total as f64 - 1.0) / 20.0);
    assert!(took >= floor.mul_f64(0.9), "{took:?} vs floor {floor:?}");
    assert!(
        took <= floor.mul_f64(1.2) + Duration::from_secs(1),
        "{took:?} vs floor {floor:?}"
    );
}

/// A DummyJSON-shaped offset source with the simulator's changed-since filter.
fn with_changes(sim: &Simulator) -> Source {
    let mut source = generic(
        sim,
        "/products",
        "/products",
        "style = \"offset\"\noffset_param = \"skip\"\ntotal = \"/total\"",
    );
    source.changes = Some(catalog_sync::source::Changes {
        param: "updated_since".into(),
        format: catalog_sync::source::TimeFormat::Rfc3339,
        overlap: Duration::from_secs(60),
    });
    source
}

#[sqlx::test]
async fn a_changes_run_fetches_only_what_changed_and_archives_nothing(pool: PgPool) {
    let sim = simulator(5000).await;
    let engine = engine_with(
        &pool,
        upstream_for(&sim, with_changes(&sim)),
        catalog_sync::settings::EngineSettings {
            page_size: 20,
            batch_size: 500,
            ..settings()
        },
    );
    let full = full_sync(&engine).await;
    assert_eq!(full.status, RunStatus::Succeeded, "{full:?}");
    let listed_by_full = sim.request_counts().list;

    let changed: Vec<u64> = (1..=50).map(|i| i * 97).collect();
    for id in &changed {
        sim.mutate(*id);
    }
    sim.delete(4321);
    let before = row_versions(&pool).await;

    let summary = run(
        &engine,
        catalog_sync::engine::RunRequest::new(catalog_sync::engine::Target::Changes),
    )
    .await;
    assert_eq!(summary.status, RunStatus::Succeeded, "{summary:?}");
    assert_eq!(summary.mode.as_str(), "changes");
    assert_eq!(summary.counts.fetched, 50, "{summary:?}");
    assert_eq!(summary.counts.updated, 50, "{summary:?}");
    assert_eq!(summary.counts.archived, 0, "a changes run never archives");
    let requests = sim.request_counts().list - listed_by_full;
    assert_eq!(requests, 3, "50 changed products in pages of 20");
    // Exactly the changed rows were written.
    let after = row_versions(&pool).await;
    let rewritten: Vec<&str> = before
        .iter()
        .zip(&after)
        .filter(|(b, a)| b.1 != a.1)
        .map(|(b, _)| b.0.as_str())
        .collect();
    let mut expected: Vec<String> = changed.iter().map(u64::to_string).collect();
    expected.sort();
    assert_eq!(rewritten, expected);
    // The run records the lower bound it listed from.
    let since: Option<chrono::DateTime<chrono::Utc>> =
        sqlx::query_scalar("select changes_since from sync_runs where id = $1")
            .bind(summary.run_id)
            .fetch_one(&pool)
            .await
            .unwrap();
    let full_started: chrono::DateTime<chrono::Utc> =
        sqlx::query_scalar("select started_at from sync_runs where id = $1")
            .bind(full.run_id)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(since.unwrap(), full_started - chrono::Duration::seconds(60));
}

#[sqlx::test]
async fn a_changes_run_without_a_changes_block_or_a_full_sync_fails_clearly(pool: PgPool) {
    let sim = simulator(100).await;
    let changes = || catalog_sync::engine::RunRequest::new(catalog_sync::engine::Target::Changes);
    let without_block = engine_with(
        &pool,
        upstream_for(
            &sim,
            generic(
                &sim,
                "/cursor/products",
                "/data",
                "style = \"cursor\"\ncursor = \"/next_cursor\"",
            ),
        ),
        settings(),
    );
    let summary = run(&without_block, changes()).await;
    assert_eq!(summary.status, RunStatus::Failed);
    assert_eq!(summary.errors[0].kind.as_str(), "changes_unavailable");
    assert!(
        summary.errors[0].message.contains("[changes]"),
        "{summary:?}"
    );

    let before_any_full = engine_with(&pool, upstream_for(&sim, with_changes(&sim)), settings());
    let summary = run(&before_any_full, changes()).await;
    assert_eq!(summary.status, RunStatus::Failed);
    assert!(
        summary.errors[0]
            .message
            .contains("no full sync has succeeded"),
        "{summary:?}"
    );
    assert_eq!(sim.request_counts().list, 0, "nothing was listed");
}

#[sqlx::test]
async fn a_cursor_that_cycles_stops_the_listing_and_archives_nothing(pool: PgPool) {
    let sim = simulator(1000).await;
    let source = generic(
        &sim,
        "/cursor/products",
        "/data",
        "style = \"cursor\"\ncursor = \"/next_cursor\"",
    );
    let engine = engine_with(&pool, upstream_for(&sim, source), settings());
    assert_eq!(full_sync(&engine).await.status, RunStatus::Succeeded);
    sim.delete(999);
    // Past product 600 the cursor points back to the first page.
    sim.set_listing_quirks(ListingQuirks {
        keyset_cycle_after: Some(600),
        ..ListingQuirks::default()
    });

    let summary = full_sync(&engine).await;

    assert_eq!(summary.status, RunStatus::Partial, "{summary:?}");
    assert!(
        summary
            .errors
            .iter()
            .any(|e| e.kind.as_str() == "listing_moved" && e.message.contains("a cycle")),
        "{:?}",
        summary.errors
    );
    assert_eq!(
        summary.counts.archived, 0,
        "an incomplete listing archives nothing"
    );
    assert!(
        sim.request_counts().list < 40,
        "the cycle is noticed at once, not followed: {:?}",
        sim.request_counts()
    );
}

#[sqlx::test]
async fn source_credentials_reach_the_upstream_and_wrong_ones_fail_the_run(pool: PgPool) {
    let sim = simulator_with(SimulatorConfig {
        products: 300,
        basic_auth: Some(("ck_live".into(), "cs:secret".into())),
        ..SimulatorConfig::default()
    })
    .await;
    let woo = |key: &str, secret: &str| {
        let mut source = source_at(
            &sim,
            WOOCOMMERCE,
            &[("WC_CONSUMER_KEY", key), ("WC_CONSUMER_SECRET", secret)],
        );
        source.rate_limit = None;
        source
    };
    let right = engine_with(
        &pool,
        upstream_for(&sim, woo("ck_live", "cs:secret")),
        settings(),
    );
    let summary = full_sync(&right).await;
    assert_eq!(summary.status, RunStatus::Succeeded, "{summary:?}");
    assert_eq!(summary.counts.created, 300);

    let wrong = engine_with(
        &pool,
        upstream_for(&sim, woo("ck_live", "guess")),
        settings(),
    );
    let summary = full_sync(&wrong).await;
    assert_eq!(summary.status, RunStatus::Failed, "{summary:?}");
    let message = &summary.errors[0].message;
    assert!(message.contains("401"), "{message}");
    assert!(
        !message.contains("guess") && !message.contains("cs:secret"),
        "{message}"
    );
}

#[sqlx::test]
async fn the_dummyjson_source_file_syncs_and_confirms_many_deletions_with_one_id_listing(
    pool: PgPool,
) {
    let sim = simulator(2000).await;
    let text = include_str!("../../sources/dummyjson.toml").replace(
        "https://dummyjson.com/products",
        sim.url().as_str().trim_end_matches('/'),
    );
    let source = Source::parse("dummyjson.toml", &text, |_| None).unwrap();
    let engine = engine_with(&pool, upstream_for(&sim, source), settings());
    let first = full_sync(&engine).await;
    assert_eq!(first.status, RunStatus::Succeeded, "{first:?}");
    assert_eq!(first.counts.created, 2000);

    for id in 1..=150 {
        sim.delete(id * 13);
    }
    let ids_before = sim.request_counts().list_ids_only;
    let summary = full_sync(&engine).await;
    assert_eq!(summary.status, RunStatus::Succeeded, "{summary:?}");
    assert_eq!(summary.counts.archived, 150);
    let archive = summary.archive.expect("the archive step ran");
    assert_eq!(
        archive.method,
        catalog_sync::domain::ArchiveMethod::IdListing,
        "{archive:?}"
    );
    assert!(sim.request_counts().list_ids_only > ids_before);
}

#[sqlx::test]
async fn the_dummyjson_source_file_reads_exactly_like_the_built_in_source(pool: PgPool) {
    let sim = simulator(300).await;
    // A field the listing's selection leaves out: the item endpoint must leave it out too.
    sim.set_field(5, "reviews", Some(r#"[{"rating":3,"comment":"ok"}]"#))
        .unwrap();
    let built_in = engine(&pool, &sim);
    assert_eq!(full_sync(&built_in).await.counts.created, 300);
    let before = row_versions(&pool).await;

    let text = include_str!("../../sources/dummyjson.toml").replace(
        "https://dummyjson.com/products",
        sim.url().as_str().trim_end_matches('/'),
    );
    let source = Source::parse("dummyjson.toml", &text, |_| None).unwrap();
    let from_file = engine_with(&pool, upstream_for(&sim, source), settings());
    let full = full_sync(&from_file).await;
    assert_eq!(full.counts.unchanged, 300, "{full:?}");
    let targeted = run(
        &from_file,
        catalog_sync::engine::RunRequest::new(catalog_sync::engine::Target::Products(vec![
            "5".into(),
            "6".into(),
        ])),
    )
    .await;
    assert_eq!(targeted.counts.unchanged, 2, "{targeted:?}");
    assert_eq!(row_versions(&pool).await, before, "no row was rewritten");
}
