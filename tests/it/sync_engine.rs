//! The sync engine against a real PostgreSQL and the simulated upstream.

use std::time::{Duration, Instant};

use crate::support::*;
use catalog_sync::domain::{ArchiveMethod, ErrorKind, RunStatus};
use catalog_sync::engine::{Progress, RunControl, RunOutcome, RunRequest, Target};
use catalog_sync_simulator::{CatalogChange, Fault, ListingQuirks, Simulator, SimulatorConfig};
use sqlx::PgPool;

#[sqlx::test]
async fn first_sync_creates_every_product_and_category(pool: PgPool) {
    let sim = simulator(500).await;
    let summary = full_sync(&engine(&pool, &sim)).await;

    assert_eq!(summary.status, RunStatus::Succeeded, "{summary:?}");
    assert_eq!(summary.counts.fetched, 500);
    assert_eq!(summary.counts.created, 500);
    assert_eq!(
        summary.counts.updated + summary.counts.unchanged + summary.counts.failed,
        0
    );
    assert_eq!(count(&pool, "select count(*) from products").await, 500);
    assert_eq!(
        count(
            &pool,
            "select count(*) from products where archived_at is null and category_id is not null"
        )
        .await,
        500
    );
    let categories = count(&pool, "select count(*) from categories").await;
    assert!(categories > 1);
    assert_eq!(summary.counts.categories_created, categories as u64);
    assert_eq!(summary.batches.total, 5, "500 products in batches of 120");
    assert_eq!(summary.batches.succeeded, 5);

    // The stored product matches the upstream's, exactly.
    let upstream = sim.product(42).expect("product 42 exists");
    let (title, price, stock, sku): (String, String, i64, String) = sqlx::query_as(
        "select title, price::text, stock, sku from products where external_id = '42'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(title, upstream["title"].as_str().unwrap());
    assert_eq!(price, upstream["price"].to_string());
    assert_eq!(stock, upstream["stock"].as_i64().unwrap());
    assert_eq!(sku, upstream["sku"].as_str().unwrap());

    // The run is recorded from start to end.
    let (status, created): (String, i64) =
        sqlx::query_as("select status, created from sync_runs where id = $1")
            .bind(summary.run_id)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!((status.as_str(), created), ("succeeded", 500));
    assert_eq!(
        count(&pool, "select count(*) from sync_run_seen").await,
        0,
        "seen ids are cleared"
    );
}

#[sqlx::test]
async fn second_sync_of_unchanged_catalog_writes_no_rows(pool: PgPool) {
    let sim = simulator(300).await;
    let engine = engine(&pool, &sim);
    full_sync(&engine).await;
    let before = row_versions(&pool).await;

    let summary = full_sync(&engine).await;

    assert_eq!(summary.status, RunStatus::Succeeded);
    assert_eq!(summary.counts.unchanged, 300);
    assert_eq!(
        summary.counts.created + summary.counts.updated + summary.counts.archived,
        0
    );
    assert_eq!(summary.counts.categories_created, 0);
    assert_eq!(
        row_versions(&pool).await,
        before,
        "no product row was rewritten"
    );
}

#[sqlx::test]
async fn mutated_products_are_updated_and_deleted_ones_archived(pool: PgPool) {
    let sim = simulator(200).await;
    let engine = engine(&pool, &sim);
    full_sync(&engine).await;
    for id in [3, 77, 150] {
        sim.mutate(id);
    }
    sim.delete(10);
    sim.delete(199);
    let before = row_versions(&pool).await;

    let summary = full_sync(&engine).await;

    assert_eq!(summary.status, RunStatus::Succeeded, "{summary:?}");
    assert_eq!(summary.counts.updated, 3);
    assert_eq!(summary.counts.archived, 2);
    assert_eq!(summary.counts.unchanged, 195);
    let archived: Vec<String> = sqlx::query_scalar(
        "select external_id from products where archived_at is not null order by external_id",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(archived, vec!["10", "199"]);
    let price: String =
        sqlx::query_scalar("select price::text from products where external_id = '77'")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(price, sim.product(77).unwrap()["price"].to_string());
    let after = row_versions(&pool).await;
    let rewritten: Vec<&str> = before
        .iter()
        .zip(&after)
        .filter(|(b, a)| b != a)
        .map(|(b, _)| b.0.as_str())
        .collect();
    assert_eq!(
        rewritten.len(),
        5,
        "only mutated and archived rows change: {rewritten:?}"
    );
}

#[sqlx::test]
async fn an_archived_product_that_reappears_is_restored(pool: PgPool) {
    let sim = simulator(100).await;
    let engine = engine(&pool, &sim);
    full_sync(&engine).await;
    sqlx::query("update products set archived_at = now() where external_id in ('5', '6')")
        .execute(&pool)
        .await
        .unwrap();

    let summary = full_sync(&engine).await;

    assert_eq!(
        summary.counts.updated, 2,
        "restored products count as updated"
    );
    assert_eq!(
        count(
            &pool,
            "select count(*) from products where archived_at is not null"
        )
        .await,
        0
    );
}

#[sqlx::test]
async fn a_partial_run_archives_nothing(pool: PgPool) {
    let sim = simulator(300).await;
    let engine = engine(&pool, &sim);
    full_sync(&engine).await;
    sim.delete(20);
    // Pages of 50 overlap by one product: they start at 0, 49, 98, ...
    sim.fail_page_always(98);

    let summary = full_sync(&engine).await;

    assert_eq!(summary.status, RunStatus::Partial);
    assert_eq!(summary.counts.archived, 0);
    assert_eq!(
        summary.counts.failed, 48,
        "the products only the lost page would have served (its first and last are its neighbours')"
    );
    assert!(
        summary
            .errors
            .iter()
            .any(|e| e.kind == ErrorKind::Upstream && e.message.contains("skip=98"))
    );
    assert_eq!(
        count(
            &pool,
            "select count(*) from products where archived_at is not null"
        )
        .await,
        0
    );
    let stored = count(
        &pool,
        "select count(*) from sync_errors where kind = 'upstream'",
    )
    .await;
    assert_eq!(stored, 1, "the failed page is recorded in sync_errors");
}

#[sqlx::test]
async fn the_archive_ratio_guard_refuses_a_mass_archive(pool: PgPool) {
    let sim = simulator(100).await;
    let engine = engine(&pool, &sim);
    full_sync(&engine).await;
    for id in 1..=30 {
        sim.delete(id);
    }

    let refused = full_sync(&engine).await;
    assert_eq!(refused.status, RunStatus::Partial);
    assert_eq!(refused.counts.archived, 0);
    assert!(
        refused
            .errors
            .iter()
            .any(|e| e.kind == ErrorKind::ArchiveGuard),
        "{refused:?}"
    );
    assert_eq!(
        count(
            &pool,
            "select count(*) from products where archived_at is not null"
        )
        .await,
        0
    );

    let mut forced = RunRequest::new(Target::Full);
    forced.force_archive = true;
    let summary = run(&engine, forced).await;
    assert_eq!(summary.status, RunStatus::Succeeded);
    assert_eq!(summary.counts.archived, 30);
    assert_eq!(
        count(
            &pool,
            "select count(*) from products where archived_at is not null"
        )
        .await,
        30
    );
}

#[sqlx::test]
async fn a_429_with_retry_after_is_waited_out(pool: PgPool) {
    let sim = simulator(100).await;
    sim.fail_next(
        1,
        Fault::TooManyRequests {
            retry_after: Duration::from_secs(1),
        },
    );
    let started = Instant::now();

    let summary = full_sync(&engine(&pool, &sim)).await;

    assert_eq!(summary.status, RunStatus::Succeeded, "{summary:?}");
    assert_eq!(summary.counts.created, 100);
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "waited for Retry-After"
    );
    assert_eq!(
        sim.requests_served(),
        3 + 1,
        "three overlapping pages (0, 49, 98) and the refused request"
    );
}

#[sqlx::test]
async fn server_errors_are_retried_then_recorded(pool: PgPool) {
    let sim = simulator(100).await;
    sim.fail_next(2, Fault::Status(500));
    let engine = engine(&pool, &sim);

    let recovered = full_sync(&engine).await;
    assert_eq!(recovered.status, RunStatus::Succeeded, "{recovered:?}");
    assert_eq!(recovered.counts.created, 100);

    sim.fail_page_always(49);
    let failing = full_sync(&engine).await;
    assert_eq!(failing.status, RunStatus::Partial);
    let served_before = sim.requests_served();
    assert!(
        failing.errors[0].message.contains("500"),
        "{:?}",
        failing.errors
    );
    let (kind, message): (String, String) =
        sqlx::query_as("select kind, message from sync_errors where run_id = $1")
            .bind(failing.run_id)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(kind, "upstream");
    assert!(message.contains("skip=49"), "{message}");
    // The pages around it once, 1 + SYNC_MAX_RETRIES attempts at the failing page, no more.
    let again = full_sync(&engine).await;
    assert_eq!(again.status, RunStatus::Partial);
    assert_eq!(sim.requests_served() - served_before, 1 + 4 + 1);
}

#[sqlx::test]
async fn a_request_that_hangs_times_out_and_is_retried(pool: PgPool) {
    let sim = simulator(100).await;
    sim.fail_next(1, Fault::Hang(Duration::from_secs(30)));
    let mut upstream = upstream_settings(&sim);
    upstream.request_timeout = Duration::from_millis(500);
    let started = Instant::now();

    let summary = full_sync(&engine_with(&pool, upstream, settings())).await;

    assert_eq!(summary.status, RunStatus::Succeeded, "{summary:?}");
    assert_eq!(summary.counts.created, 100);
    assert!(started.elapsed() < Duration::from_secs(10));
}

#[sqlx::test]
async fn a_truncated_body_is_retried(pool: PgPool) {
    let sim = simulator(100).await;
    sim.fail_next(1, Fault::Truncate);

    let summary = full_sync(&engine(&pool, &sim)).await;

    assert_eq!(summary.status, RunStatus::Succeeded, "{summary:?}");
    assert_eq!(summary.counts.created, 100);
    assert_eq!(sim.requests_served(), 3 + 1, "three pages, one sent twice");
}

#[sqlx::test]
async fn a_first_page_that_never_comes_fails_the_run(pool: PgPool) {
    let sim = simulator(100).await;
    sim.fail_page_always(0);

    let summary = full_sync(&engine(&pool, &sim)).await;

    assert_eq!(summary.status, RunStatus::Failed);
    assert_eq!(count(&pool, "select count(*) from products").await, 0);
    let (status, error): (String, Option<String>) =
        sqlx::query_as("select status, error from sync_runs where id = $1")
            .bind(summary.run_id)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(status, "failed");
    assert!(error.unwrap().contains("first page"));
}

#[sqlx::test]
async fn dry_run_leaves_catalog_tables_untouched(pool: PgPool) {
    let sim = simulator(200).await;
    let engine = engine(&pool, &sim);

    let mut dry = RunRequest::new(Target::Full);
    dry.dry_run = true;
    let empty = run(&engine, dry.clone()).await;
    assert!(empty.dry_run);
    assert_eq!(empty.counts.created, 200);
    assert!(empty.counts.categories_created > 1);
    assert_eq!(count(&pool, "select count(*) from products").await, 0);
    assert_eq!(count(&pool, "select count(*) from categories").await, 0);

    full_sync(&engine).await;
    sim.mutate(1);
    sim.mutate(2);
    sim.delete(3);
    sim.add_products(4);
    let before = row_versions(&pool).await;
    let categories = count(&pool, "select count(*) from categories").await;

    dry.request_id = "second-dry-run".into();
    let preview = run(&engine, dry).await;

    assert_eq!(preview.status, RunStatus::Succeeded, "{preview:?}");
    assert_eq!(preview.counts.created, 4);
    assert_eq!(preview.counts.updated, 2);
    assert_eq!(preview.counts.archived, 1);
    assert_eq!(preview.counts.unchanged, 197);
    assert_eq!(row_versions(&pool).await, before, "no product row written");
    assert_eq!(
        count(&pool, "select count(*) from categories").await,
        categories
    );
    assert_eq!(
        count(
            &pool,
            "select count(*) from products where archived_at is not null"
        )
        .await,
        0
    );
}

#[sqlx::test]
async fn products_with_the_same_title_get_distinct_stable_handles(pool: PgPool) {
    let sim = simulator(150).await;
    sim.set_title(7, "Rolex Cellini Moonphase");
    sim.set_title(120, "Rolex Cellini Moonphase");
    let engine = engine(&pool, &sim);
    full_sync(&engine).await;
    let handles = || async {
        sqlx::query_as::<_, (String, String)>(
            "select external_id, handle from products where external_id in ('7', '120') order by external_id",
        )
        .fetch_all(&pool)
        .await
        .unwrap()
    };
    let first = handles().await;
    assert_eq!(
        first,
        vec![
            ("120".to_owned(), "rolex-cellini-moonphase--120".to_owned()),
            ("7".to_owned(), "rolex-cellini-moonphase".to_owned()),
        ]
    );

    sim.mutate(7);
    sim.mutate(120);
    let summary = full_sync(&engine).await;
    assert_eq!(summary.counts.updated, 2);
    assert_eq!(handles().await, first, "handles stay put across runs");
    let distinct = count(&pool, "select count(distinct handle) from products").await;
    assert_eq!(distinct, 150);
}

#[sqlx::test]
async fn an_invalid_product_fails_alone(pool: PgPool) {
    let sim = simulator(100).await;
    sim.set_title(9, "");

    let summary = full_sync(&engine(&pool, &sim)).await;

    assert_eq!(summary.status, RunStatus::Partial);
    assert_eq!(summary.counts.created, 99);
    assert_eq!(summary.counts.failed, 1);
    let error = &summary.errors[0];
    assert_eq!(
        (error.kind, error.product_id.as_deref()),
        (ErrorKind::InvalidProduct, Some("9"))
    );
}

#[sqlx::test]
async fn targeted_sync_fetches_given_ids_and_archives_a_404(pool: PgPool) {
    let sim = simulator(50).await;
    let engine = engine(&pool, &sim);
    full_sync(&engine).await;
    sim.mutate(3);
    sim.delete(7);
    let served_before = sim.requests_served();

    let ids = ["3", "7", "12", "99999"].map(String::from).to_vec();
    let summary = run(&engine, RunRequest::new(Target::Products(ids))).await;

    assert_eq!(summary.status, RunStatus::Succeeded, "{summary:?}");
    assert_eq!(summary.counts.fetched, 2);
    assert_eq!(summary.counts.updated, 1);
    assert_eq!(summary.counts.unchanged, 1);
    assert_eq!(summary.counts.archived, 1);
    assert_eq!(
        sim.requests_served() - served_before,
        4,
        "one request per id"
    );
    let archived: Vec<String> =
        sqlx::query_scalar("select external_id from products where archived_at is not null")
            .fetch_all(&pool)
            .await
            .unwrap();
    assert_eq!(archived, vec!["7"]);
}

#[sqlx::test]
async fn a_catalog_larger_than_safe_max_is_capped_and_not_archived(pool: PgPool) {
    let sim = simulator(120).await;
    let mut capped = settings();
    capped.safe_max = 80;
    let engine = engine_with(&pool, upstream_settings(&sim), capped);

    let summary = full_sync(&engine).await;

    assert_eq!(summary.status, RunStatus::Partial);
    assert_eq!(summary.counts.created, 80);
    assert!(summary.errors.iter().any(|e| e.kind == ErrorKind::SafeMax));
    assert_eq!(count(&pool, "select count(*) from products").await, 80);
}

#[sqlx::test]
async fn the_same_request_id_never_runs_twice(pool: PgPool) {
    let sim = simulator(60).await;
    let engine = engine(&pool, &sim);
    let mut request = RunRequest::new(Target::Full);
    request.request_id = "nightly-2026-11-22".into();
    let first = run(&engine, request.clone()).await;
    let served = sim.requests_served();

    let again = run(&engine, request).await;

    assert_eq!(again, first, "the recorded summary comes back");
    assert_eq!(sim.requests_served(), served, "nothing was fetched again");
}

#[sqlx::test]
async fn a_cancelled_run_is_recorded_interrupted_and_its_next_attempt_resumes(pool: PgPool) {
    // Slow pages, so the run is surely still going when the first batch lands.
    let sim = simulator_with(SimulatorConfig {
        products: 2000,
        latency: Duration::from_millis(30),
        ..SimulatorConfig::default()
    })
    .await;
    let engine = engine(&pool, &sim);
    let mut request = RunRequest::new(Target::Full);
    request.request_id = "cancel-me".into();
    let (progress, mut watch) = tokio::sync::watch::channel(Progress::default());
    let cancel = tokio_util::sync::CancellationToken::new();
    let control = RunControl {
        cancel: cancel.clone(),
        progress: Some(progress),
    };
    let stopper = tokio::spawn(async move {
        // Stop once a few batches are written.
        while watch.changed().await.is_ok() {
            if watch.borrow().processed >= 400 {
                cancel.cancel();
                break;
            }
        }
    });

    let outcome = engine.run(&request, control).await.unwrap();
    stopper.await.unwrap();

    let RunOutcome::Interrupted { run_id } = outcome else {
        panic!("expected an interrupted run, got {outcome:?}");
    };
    let (status, created, checkpoint): (String, i64, serde_json::Value) =
        sqlx::query_as("select status, created, checkpoint from sync_runs where id = $1")
            .bind(run_id)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(status, "interrupted");
    let written = count(&pool, "select count(*) from products").await;
    assert!(written > 0 && written < 2000, "stopped part way: {written}");
    assert_eq!(
        created, written,
        "the interrupted run records what it wrote"
    );
    let skip = checkpoint["listing"]["skip"]
        .as_u64()
        .expect("a listing checkpoint");
    assert!(skip > 0 && skip <= written as u64, "{checkpoint}");
    assert!(
        count(&pool, "select count(*) from sync_run_seen").await > 0,
        "the seen ids are kept for the next attempt"
    );
    let list_before = sim.request_counts().list;

    let again = run(&engine, request).await;
    assert_ne!(again.run_id, run_id, "the next attempt is a run of its own");
    assert_eq!(again.status, RunStatus::Succeeded, "{again:?}");
    let resumed = again.resumed_from.clone().expect("it resumed");
    assert_eq!((resumed.run_id, resumed.skip), (run_id, skip));
    assert_eq!(count(&pool, "select count(*) from products").await, 2000);
    assert_eq!(
        again.counts.archived, 0,
        "nothing the first attempt saw is archived"
    );
    let pages_again = sim.request_counts().list - list_before;
    assert!(
        pages_again <= (2000 - skip + 1).div_ceil(49) + 1,
        "pages before the checkpoint are not fetched again: {pages_again}"
    );
    let (attempt, resumed_from): (i32, Option<uuid::Uuid>) =
        sqlx::query_as("select attempt, resumed_from from sync_runs where id = $1")
            .bind(again.run_id)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!((attempt, resumed_from), (2, Some(run_id)));
    assert_eq!(count(&pool, "select count(*) from sync_run_seen").await, 0);
}

#[sqlx::test]
async fn concurrent_batches_sharing_a_title_still_get_distinct_handles(pool: PgPool) {
    let sim = simulator(200).await;
    // Small batches written two at a time: products 5 and 15 land in different batches that may
    // be in flight together and race for the same handle.
    for id in [5, 15, 25, 35] {
        sim.set_title(id, "Essence Mascara Lash Princess");
    }
    let mut small = settings();
    small.batch_size = 10;
    small.write_concurrency = 2;
    let summary = full_sync(&engine_with(&pool, upstream_settings(&sim), small)).await;

    assert_eq!(summary.status, RunStatus::Succeeded, "{summary:?}");
    assert_eq!(summary.counts.created, 200);
    let handles: Vec<String> = sqlx::query_scalar(
        "select handle from products where title = 'Essence Mascara Lash Princess' order by handle",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(handles.len(), 4);
    assert_eq!(
        handles
            .iter()
            .filter(|h| *h == "essence-mascara-lash-princess")
            .count(),
        1
    );
    assert!(
        handles
            .iter()
            .all(|h| h.starts_with("essence-mascara-lash-princess"))
    );
    assert_eq!(
        count(&pool, "select count(distinct handle) from products").await,
        200
    );
}

#[sqlx::test]
async fn an_upstream_that_caps_page_size_is_followed(pool: PgPool) {
    // Asks for pages of 50; the upstream serves at most 30 per page.
    let sim = simulator_with(SimulatorConfig {
        products: 200,
        max_limit: Some(30),
        ..SimulatorConfig::default()
    })
    .await;

    let summary = full_sync(&engine(&pool, &sim)).await;

    assert_eq!(summary.status, RunStatus::Succeeded, "{summary:?}");
    assert_eq!(summary.counts.created, 200);
    assert_eq!(count(&pool, "select count(*) from products").await, 200);
    assert_eq!(sim.requests_served(), 7, "200 products in pages of 30");
}

#[sqlx::test]
async fn a_full_request_older_than_a_succeeded_full_sync_is_skipped(pool: PgPool) {
    let sim = simulator(50).await;
    let engine = engine(&pool, &sim);
    let mut stale = RunRequest::new(Target::Full);
    stale.requested_at = Some(chrono::Utc::now() - chrono::Duration::minutes(1));
    full_sync(&engine).await;
    let served = sim.requests_served();

    let summary = run(&engine, stale).await;

    assert_eq!(summary.status, RunStatus::Skipped);
    assert_eq!(summary.counts, Default::default());
    assert_eq!(sim.requests_served(), served, "nothing fetched");
    let mut fresh = RunRequest::new(Target::Full);
    fresh.requested_at = Some(chrono::Utc::now());
    assert_eq!(run(&engine, fresh).await.status, RunStatus::Succeeded);
}

#[sqlx::test]
async fn a_renamed_product_keeps_its_handle(pool: PgPool) {
    let sim = simulator(50).await;
    let engine = engine(&pool, &sim);
    full_sync(&engine).await;
    let handle = |pool: PgPool| async move {
        sqlx::query_as::<_, (String, String)>(
            "select handle, title from products where external_id = '7'",
        )
        .fetch_one(&pool)
        .await
        .unwrap()
    };
    let (before, _) = handle(pool.clone()).await;

    sim.set_title(7, "A Completely New Name");
    let summary = full_sync(&engine).await;

    assert_eq!(summary.counts.updated, 1, "{summary:?}");
    let (after, title) = handle(pool.clone()).await;
    assert_eq!(title, "A Completely New Name");
    assert_eq!(after, before, "storefront URLs outlive a rename");
    // A new product with the renamed product's old title still gets a handle of its own.
    sim.add_products(1);
    full_sync(&engine).await;
    assert_eq!(
        count(&pool, "select count(distinct handle) from products").await,
        51
    );
}

#[sqlx::test]
async fn a_run_whose_heartbeat_stopped_is_marked_abandoned(pool: PgPool) {
    let sim = simulator(20).await;
    sqlx::query(
        "insert into sync_runs (id, request_id, mode, status, heartbeat_at, created)
         values (gen_random_uuid(), 'ghost', 'full', 'running', now() - interval '1 hour', 7)",
    )
    .execute(&pool)
    .await
    .unwrap();

    full_sync(&engine(&pool, &sim)).await;

    let (status, error, created): (String, String, i64) =
        sqlx::query_as("select status, error, created from sync_runs where request_id = 'ghost'")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(status, "abandoned");
    assert!(error.contains("no heartbeat"), "{error}");
    assert_eq!(created, 7, "what it had recorded stays");
    assert_eq!(
        count(
            &pool,
            "select count(*) from sync_runs where status = 'running'"
        )
        .await,
        0
    );
}

#[sqlx::test]
async fn a_running_run_beats_and_records_its_counts(pool: PgPool) {
    let sim = simulator_with(SimulatorConfig {
        products: 1000,
        latency: Duration::from_millis(150),
        ..SimulatorConfig::default()
    })
    .await;
    let engine = engine(&pool, &sim);
    let run = tokio::spawn(async move { full_sync(&engine).await });
    let beating = eventually(30, || async {
        count(
            &pool,
            "select count(*) from sync_runs where status = 'running' and created > 0
             and heartbeat_at > now() - interval '1 second'
             and (checkpoint->'listing'->>'skip')::int > 0",
        )
        .await
            == 1
    })
    .await;
    assert!(
        beating,
        "the heartbeat records counts and a listing checkpoint"
    );
    assert_eq!(run.await.unwrap().status, RunStatus::Succeeded);
}

/// Archived products the upstream still has: each one was archived wrongly.
async fn wrongly_archived(pool: &PgPool, sim: &Simulator) -> Vec<String> {
    let archived: Vec<String> =
        sqlx::query_scalar("select external_id from products where archived_at is not null")
            .fetch_all(pool)
            .await
            .unwrap();
    archived
        .into_iter()
        .filter(|id| id.parse().is_ok_and(|n| sim.is_live(n)))
        .collect()
}

fn moved(summary: &catalog_sync::domain::RunSummary) -> bool {
    summary
        .errors
        .iter()
        .any(|e| e.kind == ErrorKind::ListingMoved)
}

#[sqlx::test]
async fn products_deleted_and_added_during_a_sync_never_get_a_live_product_archived(pool: PgPool) {
    let sim = simulator(300).await;
    let engine = engine(&pool, &sim);
    full_sync(&engine).await;
    // Two products early in the listing go and two new ones come, while pages are being read:
    // the total stays 300, the later pages shift by two.
    sim.on_list_request(3, CatalogChange::Delete(vec![5, 6]));
    sim.on_list_request(3, CatalogChange::Add(2));

    let during = full_sync(&engine).await;

    assert!(moved(&during), "the shift is reported: {:?}", during.errors);
    assert_eq!(during.status, RunStatus::Partial);
    assert_eq!(wrongly_archived(&pool, &sim).await, Vec::<String>::new());
    let after = full_sync(&engine).await;
    assert_eq!(after.status, RunStatus::Succeeded, "{after:?}");
    assert_eq!(after.counts.archived, 2, "the deleted ones, confirmed gone");
    assert_eq!(wrongly_archived(&pool, &sim).await, Vec::<String>::new());
    assert_eq!(
        count(
            &pool,
            "select count(*) from products where archived_at is null"
        )
        .await,
        300
    );
}

#[sqlx::test]
async fn a_repeated_page_or_a_lying_total_archives_nothing_live(pool: PgPool) {
    let sim = simulator(300).await;
    let engine = engine(&pool, &sim);
    full_sync(&engine).await;

    // The page at skip 98 serves the page before it again: 50 products are never listed.
    sim.set_listing_quirks(ListingQuirks {
        repeat_page_at: Some(98),
        ..ListingQuirks::default()
    });
    let repeated = full_sync(&engine).await;
    assert!(moved(&repeated), "{:?}", repeated.errors);
    let archive = repeated.archive.expect("the archive step ran");
    assert_eq!(
        archive.method,
        ArchiveMethod::ItemChecks,
        "a moved listing is checked by item"
    );
    assert!(
        archive.candidates > 0 && archive.confirmed == 0,
        "{archive:?}"
    );
    assert_eq!(archive.item_checks, archive.candidates);
    assert_eq!(repeated.counts.archived, 0);

    // A total that under-reports: the products past it are never listed.
    sim.set_listing_quirks(ListingQuirks {
        total: Some(200),
        ..ListingQuirks::default()
    });
    let short = full_sync(&engine).await;
    assert!(moved(&short), "{:?}", short.errors);
    assert_eq!(short.counts.archived, 0);
    assert_eq!(wrongly_archived(&pool, &sim).await, Vec::<String>::new());
}

#[sqlx::test]
async fn a_total_that_lies_high_costs_only_the_pages_there_are(pool: PgPool) {
    let sim = simulator(300).await;
    sim.set_listing_quirks(ListingQuirks {
        total: Some(1_000_000_000),
        ..ListingQuirks::default()
    });

    let summary = full_sync(&engine(&pool, &sim)).await;

    assert_eq!(summary.counts.created, 300);
    assert!(moved(&summary), "fewer products than the total says");
    // 300 products in pages of 50 overlapping by one: 7 pages, plus what was in flight when
    // the listing ended (SYNC_CONCURRENCY = 4), never SYNC_SAFE_MAX / 50.
    let list = sim.request_counts().list;
    assert!(list <= 7 + 4, "{list} listing requests");
}

#[sqlx::test]
async fn many_products_gone_are_confirmed_by_an_id_only_listing(pool: PgPool) {
    let sim = simulator(400).await;
    let engine = engine(&pool, &sim);
    full_sync(&engine).await;
    for id in (100..140).chain(300..310) {
        sim.delete(id);
    }

    let summary = full_sync(&engine).await;

    assert_eq!(summary.status, RunStatus::Succeeded, "{summary:?}");
    let archive = summary.archive.expect("the archive step ran");
    assert_eq!(archive.method, ArchiveMethod::IdListing, "{archive:?}");
    assert_eq!((archive.candidates, archive.confirmed), (50, 50));
    assert_eq!(summary.counts.archived, 50);
    let counts = sim.request_counts();
    assert_eq!(counts.single, 0, "no item requests");
    assert_eq!(counts.list_ids_only, archive.id_listing_pages);
    assert!(archive.id_listing_pages < 50, "{archive:?}");
    // A few missing products are cheaper to check one by one.
    sim.delete(7);
    let few = full_sync(&engine).await;
    let archive = few.archive.unwrap();
    assert_eq!(
        (archive.method, archive.item_checks),
        (ArchiveMethod::ItemChecks, 1)
    );
    assert_eq!(few.counts.archived, 1);
}

#[sqlx::test]
async fn one_product_the_catalog_cannot_store_fails_alone(pool: PgPool) {
    let sim = simulator(200).await;
    // A NUL character in a title: refused before the database sees it.
    sim.set_field(40, "title", Some(r#""Lamp\u0000 Deluxe""#))
        .unwrap();
    // A version in 5000 BC (unix seconds, as a string): a time the mapping reads, before
    // PostgreSQL's first timestamp, so only the database refuses it, and the batch is written
    // again without it.
    sim.set_field(41, "meta", Some(r#"{"updatedAt": "-219900000000"}"#))
        .unwrap();

    let summary = full_sync(&engine(&pool, &sim)).await;

    assert_eq!(summary.status, RunStatus::Partial);
    assert_eq!(summary.counts.created, 198, "{summary:?}");
    assert_eq!(summary.counts.failed, 2);
    let failed: Vec<(String, String)> = summary
        .errors
        .iter()
        .filter(|e| e.kind == ErrorKind::InvalidProduct)
        .map(|e| (e.product_id.clone().unwrap(), e.message.clone()))
        .collect();
    assert_eq!(failed.len(), 2, "{failed:?}");
    assert!(
        failed.iter().any(|(id, m)| id == "40" && m.contains("NUL")),
        "{failed:?}"
    );
    assert!(
        failed
            .iter()
            .any(|(id, m)| id == "41" && m.contains("refused")),
        "{failed:?}"
    );
    assert_eq!(summary.batches.failed, 0, "no batch is lost to one product");
}

#[sqlx::test]
async fn prices_are_exact_and_impossible_values_are_invalid(pool: PgPool) {
    let sim = simulator(60).await;
    let big = "123456789012345678901234567890.123456789";
    sim.set_field(1, "price", Some(big)).unwrap();
    sim.set_field(2, "price", Some(r#""12.50""#)).unwrap();
    sim.set_field(3, "price", Some("-1")).unwrap();
    sim.set_field(4, "stock", Some("-3")).unwrap();
    sim.set_field(5, "price", Some(r#""twelve""#)).unwrap();

    let summary = full_sync(&engine(&pool, &sim)).await;

    let price = |id: &'static str| {
        let pool = pool.clone();
        async move {
            sqlx::query_scalar::<_, String>(
                "select price::text from products where external_id = $1",
            )
            .bind(id)
            .fetch_one(&pool)
            .await
            .unwrap()
        }
    };
    assert_eq!(price("1").await, big, "digit for digit");
    assert_eq!(price("2").await, "12.50");
    let mut invalid: Vec<String> = summary
        .errors
        .iter()
        .filter(|e| e.kind == ErrorKind::InvalidProduct)
        .filter_map(|e| e.product_id.clone())
        .collect();
    invalid.sort();
    assert_eq!(invalid, vec!["3", "4", "5"]);
    assert_eq!(count(&pool, "select count(*) from products").await, 57);
}
