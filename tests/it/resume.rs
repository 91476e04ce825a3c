//! A run shows its progress and keeps a checkpoint whatever its page size and concurrency, so
//! a run killed outright (SIGKILL, no chance to clean up) leaves a record its next attempt
//! resumes from, by the CLI or by another worker.

use std::time::Duration;

use crate::support::app::TestApp;
use crate::support::*;
use catalog_sync::domain::{RunStatus, RunSummary};
use catalog_sync_simulator::SimulatorConfig;
use sqlx::PgPool;

/// 600 products in pages of 50, 300 ms a page: a run of a few seconds whose batches of 200
/// (three of them, no more than the writers in flight) commit long before it ends.
async fn slow_upstream() -> catalog_sync_simulator::Simulator {
    simulator_with(SimulatorConfig {
        products: 600,
        latency: Duration::from_millis(300),
        ..SimulatorConfig::default()
    })
    .await
}

/// Waits until the running run of `request_id` has recorded, through its heartbeat, its total,
/// some committed products and a checkpoint past them; returns the checkpoint's offset.
async fn progress_recorded(pool: &PgPool, request_id: &str) -> i64 {
    let query = "select (checkpoint->'listing'->>'skip')::int8 from sync_runs \
                 where request_id = $1 and status = 'running' \
                 and (checkpoint->>'total')::int8 = 600 \
                 and (checkpoint->>'processed')::int8 >= 200 \
                 and (checkpoint->'listing'->>'skip')::int8 >= 200";
    let skip = || async {
        sqlx::query_scalar::<_, i64>(query)
            .bind(request_id)
            .fetch_optional(pool)
            .await
            .unwrap()
    };
    assert!(
        eventually(60, || async { skip().await.is_some() }).await,
        "run {request_id} recorded no progress while it ran"
    );
    // The checkpoint only moves forward: what was seen is still there (or further).
    skip().await.unwrap_or(200)
}

#[sqlx::test]
async fn a_killed_sync_recorded_its_progress_and_the_same_request_resumes(pool: PgPool) {
    let sim = slow_upstream().await;
    let app = TestApp::new(&pool, &sim).await;
    let env = app
        .env()
        .with(&[("SYNC_CONCURRENCY", "1"), ("SYNC_WRITE_CONCURRENCY", "3")]);
    let mut first = env
        .command(&["sync", "--request-id", "killed", "--json"])
        .spawn()
        .unwrap();
    let skip = progress_recorded(&pool, "killed").await;
    first.kill().await.unwrap(); // SIGKILL
    let listed_before = sim.request_counts().list;

    let again = env
        .run_ok(&["sync", "--request-id", "killed", "--json"])
        .await;
    let summary: RunSummary = serde_json::from_slice(&again.stdout).unwrap();
    assert_eq!(summary.status, RunStatus::Succeeded, "{summary:?}");
    let resumed = summary
        .resumed_from
        .clone()
        .expect("the second attempt resumed");
    assert!(resumed.skip >= skip as u64, "{resumed:?} from {skip}");
    assert!(
        summary.counts.fetched < 600,
        "the committed pages were not fetched again: {summary:?}"
    );
    assert!(sim.request_counts().list - listed_before < 12);
    assert_eq!(count(&pool, "select count(*) from products").await, 600);
    let abandoned = count(
        &pool,
        "select count(*) from sync_runs where request_id = 'killed' and status = 'abandoned'",
    )
    .await;
    assert_eq!(abandoned, 1, "the killed attempt is marked abandoned");
}

#[sqlx::test]
async fn a_worker_killed_mid_run_leaves_a_checkpoint_another_worker_resumes(pool: PgPool) {
    let sim = slow_upstream().await;
    let app = TestApp::new(&pool, &sim).await;
    let env = app.env().with(&[("SYNC_CONCURRENCY", "1")]);
    env.setup().await;
    let mut first = env.worker();
    env.run_ok(&["request", "--request-id", "handed-on"]).await;
    let skip = progress_recorded(&pool, "handed-on").await;
    first.kill().await.unwrap();

    let mut second = env.worker();
    let mut third = env.worker();
    assert!(
        eventually(120, || async {
            count(
                &pool,
                "select count(*) from sync_runs where request_id = 'handed-on' and status = 'succeeded'",
            )
            .await
                == 1
        })
        .await,
        "another worker finishes the request"
    );
    let resumed: Option<i64> = sqlx::query_scalar(
        "select (summary->'resumed_from'->>'skip')::int8 from sync_runs \
         where request_id = 'handed-on' and status = 'succeeded'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert!(
        resumed.is_some_and(|r| r >= skip),
        "resumed from {resumed:?}, the checkpoint was {skip}"
    );
    assert_eq!(count(&pool, "select count(*) from products").await, 600);
    second.kill().await.unwrap();
    third.kill().await.unwrap();
}
