//! What a person sees from the `catalog-sync` binary at the edges: output into a pipe whose
//! reader leaves, a NATS server without JetStream, an upstream that cannot be reached or answers
//! a web page, and the small truths of `status`, `dead list`, `runs show` and `sync`.

use std::process::Stdio;

use sqlx::PgPool;
use tokio::io::{AsyncBufReadExt, BufReader};

use crate::support::app::TestApp;
use crate::support::process::Env;
use crate::support::*;

/// What a Rust program says when it dies on a write to a closed pipe.
fn panicked(stderr: &str) -> bool {
    stderr.contains("panicked") || stderr.contains("Broken pipe") || stderr.contains("backtrace")
}

/// Runs `catalog-sync <args>` with stdout a pipe whose reader closes after `lines` lines (at
/// once for 0); returns the exit code and stderr.
async fn into_head(env: &Env, args: &[&str], lines: usize) -> (Option<i32>, String) {
    let mut child = env
        .command(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("catalog-sync starts");
    let mut reader = BufReader::new(child.stdout.take().expect("stdout is piped")).lines();
    for _ in 0..lines {
        reader
            .next_line()
            .await
            .expect("stdout reads")
            .expect("a line");
    }
    drop(reader);
    let output = child.wait_with_output().await.expect("catalog-sync ends");
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[sqlx::test]
async fn a_listing_piped_into_head_ends_quietly_with_exit_zero(pool: PgPool) {
    let sim = simulator(10).await;
    let app = TestApp::new(&pool, &sim).await;
    let env = app.env();
    env.run_ok(&["migrate"]).await;
    // Far more than a pipe holds (64 KiB): the binary is still writing when the reader leaves.
    sqlx::query(
        "insert into sync_runs (id, request_id, mode, status, started_at, finished_at)
         select gen_random_uuid(), 'piped-' || n, 'full', 'succeeded', now(), now()
         from generate_series(1, 1000) n",
    )
    .execute(&pool)
    .await
    .unwrap();

    for (args, lines) in [
        (&["runs", "--limit", "1000"][..], 3),
        (&["runs", "--limit", "1000", "--json"], 3),
        (&["runs", "--limit", "1000"], 0),
    ] {
        let (code, stderr) = into_head(&env, args, lines).await;
        assert_eq!(code, Some(0), "{args:?}: {stderr}");
        assert!(!panicked(&stderr), "{args:?}: {stderr}");
    }
}

#[sqlx::test]
async fn every_command_that_prints_ends_quietly_when_its_reader_has_gone(pool: PgPool) {
    let sim = simulator(30).await;
    let app = TestApp::new(&pool, &sim).await;
    let env = app.env();

    // A sync keeps its own exit code: the run succeeded, whoever read the summary.
    for args in [&["sync"][..], &["sync", "--json"]] {
        let (code, stderr) = into_head(&env, args, 0).await;
        assert_eq!(code, Some(0), "{args:?}: {stderr}");
        assert!(!panicked(&stderr), "{args:?}: {stderr}");
    }
    let run_id: uuid::Uuid = sqlx::query_scalar("select id from sync_runs limit 1")
        .fetch_one(&pool)
        .await
        .unwrap();
    let run_id = run_id.to_string();
    let source = tempfile::NamedTempFile::new().unwrap();
    let origin = sim.url().origin().ascii_serialization();
    std::fs::write(
        source.path(),
        include_str!("../../sources/woocommerce.toml")
            .replace("{base_url}/wp-json", &origin)
            .replace("requests = 10", "requests = 1000"),
    )
    .unwrap();
    let env = env.with(&[
        ("WC_CONSUMER_KEY", "ck_test"),
        ("WC_CONSUMER_SECRET", "cs_test"),
    ]);
    for args in [
        &["runs"][..],
        &["runs", "show", &run_id],
        &["runs", "show", &run_id, "--json"],
        &["status"],
        &["status", "--json"],
        &["setup"],
        &["request"],
        &["publish-update", "3"],
        &["dead", "list"],
        &["dead", "list", "--json"],
        &["dead", "purge"],
        &["source", "check", source.path().to_str().unwrap()],
        &["medusa", "disable"],
        &["medusa", "enable"],
    ] {
        let (code, stderr) = into_head(&env, args, 0).await;
        assert!(!panicked(&stderr), "{args:?}: {stderr}");
        // `dead purge` without --yes says how many would go and exits 2, read or not.
        let expected = if args == ["dead", "purge"] { 2 } else { 0 };
        assert_eq!(code, Some(expected), "{args:?}: {stderr}");
    }
}

#[sqlx::test]
async fn a_nats_server_without_jetstream_is_named_at_once_with_how_to_enable_it(pool: PgPool) {
    let sim = simulator(10).await;
    let nats = NatsServer::spawn_without_jetstream().await;
    // A server without authorization takes any credentials; they must not show.
    let url = format!("nats://ops:s3cret@127.0.0.1:{}", nats.port);
    let env = Env::with_nats_url(&pool, &sim.url(), url);
    let shown = format!("NATS at nats://REDACTED:REDACTED@127.0.0.1:{}", nats.port);
    for args in [
        &["setup"][..],
        &["worker"],
        &["request"],
        &["request", "--wait"],
        &["dead", "list"],
    ] {
        let output = tokio::time::timeout(
            std::time::Duration::from_secs(120),
            env.command(args).output(),
        )
        .await
        .unwrap_or_else(|_| panic!("{args:?} ends instead of waiting for JetStream"))
        .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "{args:?}: {stderr}");
        assert!(
            stderr.contains(&format!("{shown} runs without JetStream")),
            "{args:?}: {stderr}"
        );
        assert!(
            stderr.contains("nats-server -js") && stderr.contains("nats/nats-server.conf"),
            "{args:?}: {stderr}"
        );
        assert!(
            !stderr.contains("trying again") && !stderr.contains("does not exist"),
            "said at once, without retries: {stderr}"
        );
        assert!(!stderr.contains("s3cret"), "{stderr}");
    }
    let status = env.command(&["status", "--json"]).output().await.unwrap();
    let status: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap();
    assert!(
        status["nats_error"]
            .as_str()
            .is_some_and(|e| e.contains("runs without JetStream")),
        "{status}"
    );
}

#[sqlx::test]
async fn sync_names_the_upstream_it_cannot_reach_and_what_came_instead_of_json(pool: PgPool) {
    let database = database_url(&pool);
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .unwrap()
        .port();
    let refused = format!("http://shop:pw-9f1@127.0.0.1:{port}/products?key=k-s3cret");
    let env = Env {
        vars: vec![
            ("DATABASE_URL", database.clone()),
            ("SYNC_API_URL", refused),
            ("SYNC_MAX_RETRIES", "0".into()),
        ],
    };
    let output = env.command(&["sync"]).output().await.unwrap();
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(output.status.code(), Some(1), "{said}");
    assert!(
        said.contains(&format!(
            "first page (skip=0) failed: could not reach the upstream at http://127.0.0.1:{port}: "
        )),
        "{said}"
    );
    assert!(
        !said.contains("pw-9f1") && !said.contains("k-s3cret"),
        "{said}"
    );

    // A web page where the JSON listing should be: said, with what it was, and not retried.
    let sim = simulator(30).await;
    sim.rewrite_answers(
        br#"{"products":"#,
        b"<!DOCTYPE html>\n<html><head><title>Down for maintenance</title></head>\n<body>Back soon",
    );
    let env = Env {
        vars: vec![
            ("DATABASE_URL", database),
            ("SYNC_API_URL", sim.url().to_string()),
        ],
    };
    let output = env.command(&["sync"]).output().await.unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stdout}{stderr}");
    let origin = format!("http://127.0.0.1:{}", sim.addr().port());
    assert!(
        stdout.contains(&format!(
            "first page (skip=0) failed: the upstream at {origin} answered 200 OK with application/json; charset=utf-8, not JSON: it begins \"<!DOCTYPE html> <html><head><title>Down for maintenance</title></head> <body>Back soon"
        )),
        "{stdout}"
    );
    assert!(!stderr.contains("retrying"), "not retried: {stderr}");
}

#[sqlx::test]
async fn status_exits_one_when_it_cannot_ask_nats_and_still_shows_the_database(pool: PgPool) {
    let sim = simulator(10).await;
    let env = Env::with_nats_url(&pool, &sim.url(), "nats://127.0.0.1:1".into());
    env.run_ok(&["sync", "--request-id", "by-hand"]).await;

    for args in [&["status", "--json"][..], &["status"]] {
        let output = env.command(args).output().await.unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert_eq!(output.status.code(), Some(1), "{args:?}: {stdout}");
        assert!(stdout.contains("by-hand"), "the database's part: {stdout}");
        assert!(stdout.contains("could not connect to NATS"), "{stdout}");
    }
}

#[sqlx::test]
async fn status_shows_the_schedule_the_scheduler_runs_not_the_shells(pool: PgPool) {
    let sim = simulator(10).await;
    let app = TestApp::new(&pool, &sim).await;
    let env = app.env();
    let status = env.run_ok(&["status", "--json"]).await;
    let status: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap();
    assert!(status["full_schedule"].is_null(), "{status}");
    let text = env.run_ok(&["status"]).await;
    assert!(
        String::from_utf8_lossy(&text.stdout)
            .contains("next syncs       unknown: no scheduled request has run yet"),
        "{}",
        String::from_utf8_lossy(&text.stdout)
    );

    let _run = env
        .with(&[("SYNC_SCHEDULE", "*/2 * * * * *")])
        .command(&["run"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("catalog-sync run starts");
    assert!(
        eventually(60, || async {
            count(
                &pool,
                "select count(*) from sync_runs where request_id like 'scheduled-%' and status <> 'running'",
            )
            .await
                > 0
        })
        .await,
        "a scheduled run"
    );

    // The shell asking has another schedule in its environment; it does not count.
    let shell = env.with(&[("SYNC_SCHEDULE", "0 2 * * *")]);
    let status = shell.run_ok(&["status", "--json"]).await;
    let status: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap();
    assert_eq!(
        status["full_schedule"]["schedule"], "*/2 * * * * *",
        "{status}"
    );
    let recorded_by = status["full_schedule"]["recorded_by"].as_str().unwrap();
    assert!(recorded_by.starts_with("scheduled-"), "{status}");
    assert!(
        status["next_full_sync"].as_str().unwrap() > status["generated_at"].as_str().unwrap(),
        "{status}"
    );
    let text = shell.run_ok(&["status"]).await;
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(
        text.contains(", schedule */2 * * * * * (as the run of scheduled-"),
        "{text}"
    );
}

#[sqlx::test]
async fn runs_show_says_that_the_start_of_a_run_id_needs_four_characters(pool: PgPool) {
    let sim = simulator(10).await;
    let env = Env::with_nats_url(&pool, &sim.url(), "nats://127.0.0.1:1".into());
    let synced = env.run_ok(&["sync", "--json"]).await;
    let summary: catalog_sync::domain::RunSummary = serde_json::from_slice(&synced.stdout).unwrap();
    let run_id = summary.run_id.to_string();

    for short in [&run_id[..1], &run_id[..3]] {
        let output = env
            .command(&["runs", "show", short])
            .output()
            .await
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "{stderr}");
        assert!(
            stderr.contains(&format!(
                "no run has the id or request id {short:?} (the start of a run id needs at least 4 characters"
            )),
            "{stderr}"
        );
    }
    let shown = env.run_ok(&["runs", "show", &run_id[..4]]).await;
    assert!(String::from_utf8_lossy(&shown.stdout).contains(&run_id));
    // A key that cannot be the start of a run id is a request id only: no hint.
    let output = env
        .command(&["runs", "show", "nightly"])
        .output()
        .await
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(!stderr.contains("characters"), "{stderr}");
}

#[sqlx::test]
async fn dead_list_cuts_reasons_only_to_fit_the_terminal_and_never_in_json(pool: PgPool) {
    let sim = simulator(10).await;
    let app = TestApp::start(&pool, &sim).await;
    let env = app.env();
    app.publish("product.updated", None, br#"{"product_id":".."}"#)
        .await;
    assert!(
        eventually(30, || async {
            app.results("catalog.sync.dead").await.len() == 1
        })
        .await,
        "a dead letter"
    );
    let listed = env.run_ok(&["dead", "list", "--json"]).await;
    let listed: Vec<serde_json::Value> = serde_json::from_slice(&listed.stdout).unwrap();
    let reason = listed[0]["letter"]["reason"].as_str().unwrap().to_owned();
    assert!(reason.chars().count() > 60, "a long reason: {reason}");

    // A 250-column terminal, and a pipe (no COLUMNS): the whole reason.
    for env in [env.with(&[("COLUMNS", "250")]), env.with(&[])] {
        let table = env.run_ok(&["dead", "list"]).await;
        let table = String::from_utf8_lossy(&table.stdout);
        assert!(table.contains(&reason), "{table}");
        assert!(table.lines().all(|l| l.chars().count() <= 250), "{table}");
    }
    // A narrow one: cut to fit, marked.
    let table = env
        .with(&[("COLUMNS", "110")])
        .run_ok(&["dead", "list"])
        .await;
    let table = String::from_utf8_lossy(&table.stdout);
    assert!(!table.contains(&reason) && table.contains('…'), "{table}");
    assert!(table.lines().all(|l| l.chars().count() <= 110), "{table}");
    app.stop().await;
}

#[sqlx::test]
async fn a_targeted_sync_says_which_ids_the_upstream_does_not_have_and_what_it_did(pool: PgPool) {
    let sim = simulator(30).await;
    let env = Env::with_nats_url(&pool, &sim.url(), "nats://127.0.0.1:1".into());

    let unknown = env.run_ok(&["sync", "--products", "4,99999"]).await;
    let table = String::from_utf8_lossy(&unknown.stdout);
    assert!(table.contains("status     succeeded"), "{table}");
    assert!(
        table.contains(
            "not found  1 id the upstream does not have (404): 99999; 1 not a live product in the catalog: nothing done"
        ),
        "{table}"
    );

    env.run_ok(&["sync"]).await;
    sim.delete(5);
    let gone = env
        .run_ok(&["sync", "--products", "5,77777", "--json"])
        .await;
    let summary: serde_json::Value = serde_json::from_slice(&gone.stdout).unwrap();
    assert_eq!(summary["not_found"]["count"], 2, "{summary}");
    assert_eq!(
        summary["not_found"]["ids"],
        serde_json::json!(["5", "77777"]),
        "{summary}"
    );
    assert_eq!(summary["counts"]["archived"], 1, "{summary}");
    let run_id = summary["run_id"].as_str().unwrap();
    let shown = env.run_ok(&["runs", "show", run_id]).await;
    let shown = String::from_utf8_lossy(&shown.stdout);
    assert!(
        shown.contains(
            "not found  2 ids the upstream does not have (404): 5, 77777; 1 archived (the catalog had it live), 1 not a live product in the catalog: nothing done"
        ),
        "{shown}"
    );
    assert_eq!(
        count(
            &pool,
            "select count(*) from products where external_id = '5' and archived_at is not null"
        )
        .await,
        1
    );
}

#[sqlx::test]
async fn a_total_over_safe_max_says_how_many_were_synced_and_why_it_stopped(pool: PgPool) {
    let sim = simulator(194).await;
    let env = Env::with_nats_url(&pool, &sim.url(), "nats://127.0.0.1:1".into());
    let safe_max_errors = |output: &std::process::Output| {
        let summary: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
        summary["errors"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["kind"] == "safe_max")
            .map(|e| e["message"].as_str().unwrap().to_owned())
            .collect::<Vec<_>>()
    };

    // A total of a trillion from an upstream that has 194 products.
    sim.set_listing_quirks(catalog_sync_simulator::ListingQuirks {
        total: Some(1_000_000_000_000),
        ..Default::default()
    });
    let lying = env.command(&["sync", "--json"]).output().await.unwrap();
    assert_eq!(lying.status.code(), Some(3), "partial");
    assert_eq!(
        safe_max_errors(&lying),
        [
            "the upstream says it lists 1000000000000 products, more than SYNC_SAFE_MAX=1000000, but its listing ended after 194: they were synced, and nothing was archived because the listing and its total disagree"
        ]
    );
    assert_eq!(count(&pool, "select count(*) from products").await, 194);

    // A catalog truly over SYNC_SAFE_MAX stops there.
    sim.set_listing_quirks(catalog_sync_simulator::ListingQuirks::default());
    let capped = env
        .with(&[("SYNC_SAFE_MAX", "80")])
        .command(&["sync", "--json"])
        .output()
        .await
        .unwrap();
    assert_eq!(capped.status.code(), Some(3), "partial");
    assert_eq!(
        safe_max_errors(&capped),
        [
            "the upstream lists 194 products, more than SYNC_SAFE_MAX=80: the run stopped there, after 80, and archived nothing"
        ]
    );
}

/// The query in `psql "$DATABASE_URL" -c '...'` of `text`: the one the demo suggests.
fn suggested_query(text: &str) -> String {
    let at = text
        .find(r#"psql \"\$DATABASE_URL\" -c '"#)
        .map(|at| at + r#"psql \"\$DATABASE_URL\" -c '"#.len())
        .or_else(|| {
            text.find(r#"psql "$DATABASE_URL" -c '"#)
                .map(|at| at + r#"psql "$DATABASE_URL" -c '"#.len())
        })
        .expect("a psql line");
    let end = text[at..].find('\'').expect("the query's end");
    text[at..at + end].to_owned()
}

#[sqlx::test]
async fn the_psql_query_the_demo_suggests_lists_live_products_only(pool: PgPool) {
    let demo = suggested_query(include_str!("../../scripts/demo"));
    assert_eq!(
        demo,
        suggested_query(include_str!("../../README.md")),
        "the README shows the demo's query"
    );
    let sim = simulator(30).await;
    let env = Env::with_nats_url(&pool, &sim.url(), "nats://127.0.0.1:1".into());
    env.run_ok(&["sync"]).await;
    // All but two gone upstream and archived: any five rows would include archived ones.
    let gone: Vec<String> = (3..=30).map(|id| id.to_string()).collect();
    for id in 3..=30 {
        sim.delete(id);
    }
    env.run_ok(&["sync", "--products", &gone.join(",")]).await;
    assert_eq!(
        count(
            &pool,
            "select count(*) from products where archived_at is null"
        )
        .await,
        2
    );

    let listed: Vec<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "select external_id from ({demo}) listed"
    )))
    .fetch_all(&pool)
    .await
    .unwrap();
    let mut listed = listed;
    listed.sort();
    assert_eq!(listed, ["1", "2"], "{demo}");
}
