//! A database that stops taking writes — set read-only, as a failover to a replica looks — is
//! waited out: nothing is dead-lettered, `/readyz` says not ready while writes fail, and every
//! event and request is applied once writes work again, without a restart. Sessions the pool
//! opened while the database was read-only stay read-only after it is not: they are retired.

use crate::support::app::TestApp;
use crate::support::*;
use crate::worker_process::{get, sample, with_metrics_port};
use catalog_sync::domain::RunStatus;
use sqlx::{Connection as _, PgConnection, PgPool};

/// A connection to the server's maintenance database, outside the test's own database.
async fn admin() -> PgConnection {
    let url = std::env::var("DATABASE_URL").expect("DATABASE_URL is set for the tests");
    PgConnection::connect(&url).await.expect("admin connection")
}

fn database_name(pool: &PgPool) -> String {
    pool.connect_options()
        .get_database()
        .expect("test pool names its database")
        .to_owned()
}

/// Title and price of product `id` as stored.
async fn stored_title(pool: &PgPool, id: u64) -> Option<String> {
    sqlx::query_scalar("select title from products where external_id = $1")
        .bind(id.to_string())
        .fetch_optional(pool)
        .await
        .unwrap()
}

#[sqlx::test]
async fn a_read_only_database_is_waited_out_and_everything_applied_once_it_takes_writes(
    pool: PgPool,
) {
    let sim = simulator(200).await;
    let app = TestApp::new(&pool, &sim).await;
    let (env, port) = with_metrics_port(&app.env());
    let mut worker = env.worker();
    let base = format!("http://127.0.0.1:{port}");
    let first = env
        .run_ok(&["request", "--wait", "--json", "--timeout", "60s"])
        .await;
    let first: catalog_sync::domain::RunSummary = serde_json::from_slice(&first.stdout).unwrap();
    assert_eq!(first.status, RunStatus::Succeeded);

    // The database turns read-only, and every session in it is replaced by a read-only one.
    let name = database_name(&pool);
    let mut admin = admin().await;
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "alter database \"{name}\" set default_transaction_read_only = on"
    )))
    .execute(&mut admin)
    .await
    .unwrap();
    sqlx::query(
        "select count(pg_terminate_backend(pid)) from pg_stat_activity \
         where datname = $1 and pid <> pg_backend_pid()",
    )
    .bind(&name)
    .execute(&mut admin)
    .await
    .unwrap();

    let changed: Vec<u64> = (1..=25).map(|i| i * 7).collect();
    for id in &changed {
        sim.set_title(*id, &format!("Renamed {id}"));
        app.publish(
            "product.updated",
            None,
            format!(r#"{{"product_id":{id}}}"#).as_bytes(),
        )
        .await;
    }
    sim.add_products(3);
    app.publish("catalog.sync.requested", Some("during"), b"{}")
        .await;

    assert!(
        eventually(60, || async {
            let ready = get(&format!("{base}/readyz")).await;
            let metrics = get(&format!("{base}/metrics")).await;
            matches!(&ready, Some((503, text)) if text.contains("takes no writes"))
                && metrics
                    .is_some_and(|(_, m)| sample(&m, "catalog_sync_database_writable") == Some(0.0))
        })
        .await,
        "the worker reports not ready and waits"
    );

    // Writes work again; the pool's read-only sessions are left as they are.
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "alter database \"{name}\" reset default_transaction_read_only"
    )))
    .execute(&mut admin)
    .await
    .unwrap();

    assert!(
        eventually(120, || async {
            let mut all = true;
            for id in &changed {
                all &= stored_title(&pool, *id).await == Some(format!("Renamed {id}"));
            }
            all && stored_title(&pool, 203).await.is_some()
        })
        .await,
        "every event and the request are applied once the database takes writes"
    );
    assert!(eventually(60, || app.updates_consumer_idle()).await);
    assert!(eventually(60, || app.requests_consumer_idle()).await);
    let dead = app.results("catalog.sync.dead").await;
    assert!(
        dead.is_empty(),
        "nothing is dead-lettered for a database that took no writes: {dead:#?}"
    );
    let during: Option<String> = sqlx::query_scalar(
        "select status from sync_runs where request_id = 'during' and status = 'succeeded'",
    )
    .fetch_optional(&pool)
    .await
    .unwrap();
    assert_eq!(during.as_deref(), Some("succeeded"));
    assert_eq!(get(&format!("{base}/readyz")).await.map(|r| r.0), Some(200));
    worker.kill().await.unwrap();
}
