//! The Medusa sink's off switch and what `status` says of pushes nobody delivers, through the
//! binary and the database. No Medusa server is needed: turning the sink on, queueing and
//! turning it off happen in the database, and a Medusa that does not answer leaves what it is
//! owed queued.

use std::net::TcpListener;

use crate::support::app::TestApp;
use crate::support::process::Env;
use crate::support::*;
use catalog_sync::domain::RunSummary;
use sqlx::PgPool;

/// A URL nothing listens on: a Medusa that never answers.
fn unreachable_url() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("a free port");
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    format!("http://127.0.0.1:{port}")
}

fn sync_env(pool: &PgPool, sim: &catalog_sync_simulator::Simulator) -> Env {
    Env {
        vars: vec![
            ("DATABASE_URL", database_url(pool)),
            ("SYNC_API_URL", sim.url().to_string()),
            ("RUST_LOG", "warn".into()),
            ("SYNC_MAX_RETRIES", "0".into()),
            ("SYNC_CONNECT_TIMEOUT", "1s".into()),
        ],
    }
}

/// `catalog-sync sync --json`: exit code and summary.
async fn sync(env: &Env) -> (i32, RunSummary) {
    let (code, summary, _) = env.sync_json().await;
    (code, summary)
}

/// `catalog-sync status --json`'s `medusa` object, and the text `status` prints.
async fn status(env: &Env) -> (serde_json::Value, String) {
    let json = env.run_ok(&["status", "--json"]).await;
    let json: serde_json::Value = serde_json::from_slice(&json.stdout).expect("status JSON");
    let text = env.run_ok(&["status"]).await;
    (
        json["medusa"].clone(),
        String::from_utf8_lossy(&text.stdout).into_owned(),
    )
}

async fn owed(pool: &PgPool) -> i64 {
    sqlx::query_scalar("select count(*) from medusa_outbox")
        .fetch_one(pool)
        .await
        .unwrap()
}

#[sqlx::test]
async fn the_medusa_sink_turns_off_and_on_again_and_status_names_pushes_nobody_delivers(
    pool: PgPool,
) {
    let sim = simulator(30).await;
    let app = TestApp::new(&pool, &sim).await;
    let env = sync_env(&pool, &sim).with(&[("NATS_URL", &app.nats.url())]);
    let medusa_url = unreachable_url();
    let with_medusa = env.with(&[("MEDUSA_URL", &medusa_url), ("MEDUSA_API_KEY", "sk_test")]);

    // One run with MEDUSA_URL turns the sink on for the database and queues the catalog; the
    // Medusa that does not answer leaves it all owed.
    let (code, summary) = sync(&with_medusa).await;
    assert_eq!(code, 3, "partial: Medusa is owed the catalog");
    assert_eq!(summary.counts.medusa.expect("medusa counts").owed, 30);
    assert_eq!(owed(&pool).await, 30);

    // Runs without MEDUSA_URL still queue for it, and nobody is going to push.
    sim.mutate(1);
    let (code, _) = sync(&env).await;
    assert_eq!(code, 0);
    let (medusa, text) = status(&env).await;
    assert_eq!(medusa["owed"], 30);
    assert_eq!(medusa["unattended"], true, "{medusa}");
    assert!(
        text.contains("no process with MEDUSA_URL is pushing")
            && text.contains("catalog-sync medusa disable"),
        "{text}"
    );

    // A worker with MEDUSA_URL is expected to push: what is owed is no longer unattended.
    let mut worker = with_medusa
        .with(&[("METRICS_LISTEN", "127.0.0.1:0")])
        .worker();
    let attended = eventually(30, || async {
        let json = env.run_ok(&["status", "--json"]).await;
        let json: serde_json::Value = serde_json::from_slice(&json.stdout).expect("status JSON");
        json["medusa"]["unattended"] == false
    })
    .await;
    crate::support::process::terminate(&mut worker).await;
    assert!(
        attended,
        "a worker with MEDUSA_URL attends to the pushes owed"
    );

    // The off switch: the pushes owed are dropped and nothing is queued any more.
    let off = env.run_ok(&["medusa", "disable"]).await;
    let said = String::from_utf8_lossy(&off.stdout);
    assert!(said.contains("Medusa sink off since"), "{said}");
    assert!(said.contains("30 owed pushes dropped"), "{said}");
    assert_eq!(owed(&pool).await, 0);
    let (medusa, text) = status(&env).await;
    assert!(medusa["disabled_at"].is_string(), "{medusa}");
    assert_eq!(medusa["owed"], 0);
    assert_eq!(medusa["unattended"], false);
    assert!(text.contains("off since"), "{text}");
    assert!(!text.contains("medusa warning"), "{text}");

    // Changes are not queued, by runs without MEDUSA_URL nor by runs with it.
    for id in [2, 3] {
        sim.mutate(id);
    }
    let (code, _) = sync(&env).await;
    assert_eq!(code, 0);
    assert_eq!(
        owed(&pool).await,
        0,
        "a run without MEDUSA_URL queues nothing"
    );
    sim.mutate(4);
    let (code, summary) = sync(&with_medusa).await;
    assert_eq!(code, 0, "Medusa is left alone: the run succeeds");
    assert!(
        summary.counts.medusa.is_none(),
        "{:?}",
        summary.counts.medusa
    );
    assert_eq!(owed(&pool).await, 0, "nor does a run with MEDUSA_URL");

    // And on again: whatever Medusa's copy lacks is queued (here all of it: Medusa never
    // answered), from the catalog as it is now.
    let on = env.run_ok(&["medusa", "enable"]).await;
    let said = String::from_utf8_lossy(&on.stdout);
    assert!(said.contains("Medusa sink on (it was off since"), "{said}");
    assert!(said.contains("30 products queued for Medusa"), "{said}");
    assert_eq!(owed(&pool).await, 30);
    let (medusa, _) = status(&env).await;
    assert!(medusa["disabled_at"].is_null(), "{medusa}");
    sim.mutate(5);
    let (code, _) = sync(&env).await;
    assert_eq!(code, 0);
    let generation: i64 =
        sqlx::query_scalar("select o.generation from medusa_outbox o join products p on p.id = o.product_id where p.external_id = '5'")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(generation, 2, "changes are queued again");
}
