//! The `catalog-sync` binary as an operator runs it: worker processes that are stopped with
//! SIGTERM or killed with SIGKILL in the middle of a run, and the CLI publishers.

use std::time::Duration;
use tokio::process::Command;

use crate::support::app::TestApp;
use crate::support::process::{BIN, Env, terminate};
use crate::support::*;
use async_nats::jetstream;
use catalog_sync::domain::{RunStatus, RunSummary};
use catalog_sync_simulator::SimulatorConfig;
use sqlx::PgPool;

/// Every summary in the results stream, oldest first.
async fn summaries(js: &jetstream::Context) -> Vec<RunSummary> {
    stored(js, "CATALOG_RESULTS", "catalog.sync.completed")
        .await
        .into_iter()
        .map(|v| serde_json::from_value(v).expect("a run summary"))
        .collect()
}

async fn slow_catalog(products: u64) -> catalog_sync_simulator::Simulator {
    simulator_with(SimulatorConfig {
        products,
        // 50 ms a page: a run of 8,000 products in pages of 50 lasts a few seconds.
        latency: Duration::from_millis(50),
        ..SimulatorConfig::default()
    })
    .await
}

impl Env {
    /// Publishes a full-sync request with `request_id` and waits until its run is under way.
    async fn request_and_wait_for_the_run(&self, pool: &PgPool, request_id: &str) {
        self.run_ok(&["request", "--request-id", request_id]).await;
        assert!(run_is_under_way(pool).await, "the run started");
    }
}

/// Waits for the one summary the results stream should hold, and checks it is the succeeded
/// run of `request_id` and the only one.
async fn the_one_summary(js: &jetstream::Context, request_id: &str) -> RunSummary {
    assert!(
        eventually(120, || async { !summaries(js).await.is_empty() }).await,
        "a summary for {request_id}"
    );
    let mut done = summaries(js).await;
    assert_eq!(done.len(), 1, "one summary: {done:?}");
    let summary = done.remove(0);
    assert_eq!(
        (summary.request_id.as_str(), summary.status),
        (request_id, RunStatus::Succeeded)
    );
    summary
}

/// Waits until the run has written some products and its heartbeat has recorded them and a
/// checkpoint.
async fn run_is_under_way(pool: &PgPool) -> bool {
    eventually(60, || async {
        count(pool, "select count(*) from products").await > 500
            && count(
                pool,
                "select count(*) from sync_runs where status = 'running' and created > 0
                 and (checkpoint->'listing'->>'skip')::int > 0",
            )
            .await
                == 1
    })
    .await
}

#[sqlx::test]
async fn sigterm_during_a_run_exits_promptly_and_the_request_runs_again(pool: PgPool) {
    let sim = slow_catalog(8000).await;
    let app = TestApp::new(&pool, &sim).await;
    let env = app.env();
    env.setup().await;
    let mut first = env.worker();
    env.request_and_wait_for_the_run(&pool, "big-1").await;

    let pid = first.id().expect("worker pid") as libc::pid_t;
    // SAFETY: sending a signal to our own child process.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGTERM) }, 0);
    let status = tokio::time::timeout(Duration::from_secs(15), first.wait())
        .await
        .expect("the worker exits within 15 s of SIGTERM")
        .unwrap();
    assert!(status.success(), "clean exit: {status:?}");
    let interrupted: String =
        sqlx::query_scalar("select status from sync_runs where request_id = 'big-1'")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(interrupted, "interrupted");

    let mut second = env.worker();
    let js = app.js.clone();
    the_one_summary(&js, "big-1").await;
    assert_eq!(count(&pool, "select count(*) from products").await, 8000);
    second.kill().await.unwrap();
}

#[sqlx::test]
async fn a_worker_killed_mid_sync_converges_after_restart(pool: PgPool) {
    let sim = simulator(50_000).await;
    let app = TestApp::new(&pool, &sim).await;
    let mut env = app.env();
    env.vars
        .retain(|(key, _)| *key != "SYNC_PAGE_SIZE" && *key != "SYNC_BATCH_SIZE");
    env.vars.push(("SYNC_PAGE_SIZE", "500".into()));
    env.vars.push(("SYNC_BATCH_SIZE", "500".into()));
    env.setup().await;
    let mut first = env.worker();
    env.request_and_wait_for_the_run(&pool, "big-2").await;
    // Some way in: a fifth of the listing committed.
    assert!(
        eventually(60, || async {
            count(
                &pool,
                "select count(*) from sync_runs where (checkpoint->'listing'->>'skip')::int > 10000",
            )
            .await
                == 1
        })
        .await
    );
    first.kill().await.unwrap(); // SIGKILL: no chance to clean up
    let skip: i64 = sqlx::query_scalar(
        "select (checkpoint->'listing'->>'skip')::int8 from sync_runs where request_id = 'big-2'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();

    // Meanwhile the upstream changes, past the checkpoint: the resumed run must converge to
    // it exactly, fetching only the pages it had not committed.
    sim.mutate(49_000);
    sim.delete(49_001);
    let list_before = sim.request_counts().list;
    let mut second = env.worker();
    let js = app.js.clone();
    the_one_summary(&js, "big-2").await;
    let pages = sim.request_counts().list - list_before;
    // From one product before the checkpoint to the end, pages of 500 overlapping by one.
    let rest = (50_000 - skip as u64 + 1).div_ceil(499) + 1;
    assert!(
        pages <= rest,
        "the resumed run fetched {pages} pages; from offset {skip} it needs {rest} at most"
    );
    assert_eq!(
        count(
            &pool,
            "select count(*) from products where archived_at is null"
        )
        .await,
        49_999
    );
    assert_eq!(
        count(
            &pool,
            "select count(*) from products where external_id = '49001' and archived_at is null"
        )
        .await,
        0,
        "deleted upstream before the resumed run reached it"
    );
    let price: String =
        sqlx::query_scalar("select price::text from products where external_id = '49000'")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(price, sim.product(49_000).unwrap()["price"].to_string());
    // The killed attempt keeps its row, marked abandoned with what it had done; the second
    // attempt is a row of its own that resumed from its checkpoint.
    let runs: Vec<(uuid::Uuid, String, i64, i32, Option<uuid::Uuid>)> = sqlx::query_as(
        "select id, status, created, attempt, resumed_from from sync_runs where request_id = 'big-2' order by attempt",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(runs.len(), 2, "{runs:?}");
    let (abandoned, status, created, _, _) = &runs[0];
    assert_eq!(status, "abandoned");
    assert!(*created > 0, "the abandoned run records what it wrote");
    assert_eq!(runs[1].1, "succeeded");
    assert_eq!((runs[1].3, runs[1].4), (2, Some(*abandoned)));
    let summary = the_one_summary(&js, "big-2").await;
    assert_eq!(
        summary.resumed_from.map(|r| r.run_id),
        Some(*abandoned),
        "the redelivered full sync resumed"
    );
    second.kill().await.unwrap();
}

#[sqlx::test]
async fn request_wait_prints_the_summary_and_publish_update_archives(pool: PgPool) {
    let sim = simulator(120).await;
    let app = TestApp::new(&pool, &sim).await;
    let env = app.env();
    env.setup().await;
    let mut worker = env.worker();

    let output = env
        .run_ok(&["request", "--wait", "--json", "--timeout", "60s"])
        .await;
    let summary: RunSummary =
        serde_json::from_slice(&output.stdout).expect("stdout is the summary");
    assert_eq!(summary.counts.created, 120);

    // A deletion without a version is confirmed with the upstream: these two are gone there.
    sim.delete(7);
    sim.delete(8);
    env.run_ok(&["publish-update", "7", "8", "--deleted"]).await;
    assert!(
        eventually(30, || async {
            count(
                &pool,
                "select count(*) from products where archived_at is not null",
            )
            .await
                == 2
        })
        .await
    );
    worker.kill().await.unwrap();
}

#[tokio::test]
async fn two_schedulers_publish_one_request_per_slot() {
    init();
    let nats = NatsServer::spawn().await;
    let start_after = (chrono::Utc::now() + chrono::Duration::seconds(2)).to_rfc3339();
    let scheduler = || {
        Command::new(BIN)
            .args([
                "scheduler",
                "--schedule",
                "* * * * * *",
                "--max-runs",
                "5",
                "--start-after",
                &start_after,
            ])
            .env_clear()
            .env("NATS_URL", nats.url())
            .env("RUST_LOG", "warn")
            .env("METRICS_LISTEN", "127.0.0.1:0")
            .kill_on_drop(true)
            .output()
    };

    let (a, b) = tokio::join!(scheduler(), scheduler());

    for output in [a.unwrap(), b.unwrap()] {
        assert!(
            output.status.success(),
            "a scheduler failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let js = jetstream::new(nats.client().await);
    let mut stream = js.get_stream("CATALOG").await.unwrap();
    let stored = stream.info().await.unwrap().state.messages;
    assert_eq!(stored, 5, "5 slots, 2 schedulers, 5 requests");
}

#[tokio::test]
async fn a_changes_schedule_publishes_changes_requests_beside_full_ones() {
    init();
    let nats = NatsServer::spawn().await;
    let start_after = (chrono::Utc::now() + chrono::Duration::seconds(2)).to_rfc3339();
    let output = Command::new(BIN)
        .args([
            "scheduler",
            "--schedule",
            "*/2 * * * * *",
            "--changes-schedule",
            "* * * * * *",
            "--max-runs",
            "3",
            "--start-after",
            &start_after,
        ])
        .env_clear()
        .env("NATS_URL", nats.url())
        .env("RUST_LOG", "warn")
        .env("METRICS_LISTEN", "127.0.0.1:0")
        .kill_on_drop(true)
        .output()
        .await
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let js = jetstream::new(nats.client().await);
    let stream = js.get_stream("CATALOG").await.unwrap();
    let mut modes = Vec::new();
    for sequence in 1..=6 {
        let message = stream.get_raw_message(sequence).await.unwrap();
        let request =
            catalog_sync::messages::SyncRequested::decode(&message.payload, None).unwrap();
        let id = request.request_id.unwrap();
        let changes = request.scope == catalog_sync::messages::Scope::Changes;
        assert_eq!(changes, id.starts_with("scheduled-changes-"), "{id}");
        modes.push(changes);
    }
    assert_eq!(
        modes.iter().filter(|c| **c).count(),
        3,
        "three slots of each schedule: {modes:?}"
    );
}

#[sqlx::test]
async fn a_nats_restart_mid_run_does_not_stop_the_run(pool: PgPool) {
    let sim = slow_catalog(8000).await;
    let mut app = TestApp::new(&pool, &sim).await;
    let env = app.env();
    env.setup().await;
    let mut worker = env.worker();
    env.request_and_wait_for_the_run(&pool, "through-restart")
        .await;

    app.nats.restart(Duration::from_secs(1)).await;

    let js = app.js.clone();
    the_one_summary(&js, "through-restart").await;
    assert_eq!(count(&pool, "select count(*) from products").await, 8000);
    let idle = eventually(30, || async {
        let stream = js.get_stream("CATALOG").await.unwrap();
        let info = stream.consumer_info("catalog-sync-requests").await.unwrap();
        info.num_pending == 0 && info.num_ack_pending == 0
    })
    .await;
    assert!(idle, "the request was acknowledged after the restart");
    worker.kill().await.unwrap();
}

/// `env` with the operations endpoint on a free port of its own, and that port.
pub(crate) fn with_metrics_port(env: &Env) -> (Env, u16) {
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    (env.with(&[("METRICS_LISTEN", listen.as_str())]), port)
}

pub(crate) async fn get(url: &str) -> Option<(u16, String)> {
    let response = reqwest::get(url).await.ok()?;
    let status = response.status().as_u16();
    Some((status, response.text().await.ok()?))
}

/// The value of the sample `series` (name and labels exactly as exposed).
pub(crate) fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

#[sqlx::test]
async fn metrics_match_the_summary_and_readyz_follows_nats(pool: PgPool) {
    let sim = simulator(150).await;
    let app = TestApp::new(&pool, &sim).await;
    let (env, port) = with_metrics_port(&app.env());
    env.setup().await;
    let mut worker = env.worker();
    let base = format!("http://127.0.0.1:{port}");
    assert!(
        eventually(30, || async {
            get(&format!("{base}/healthz")).await.map(|r| r.0) == Some(200)
        })
        .await,
        "the worker answers /healthz"
    );

    let output = env
        .command(&["request", "--wait", "--json", "--timeout", "60s"])
        .output()
        .await
        .unwrap();
    let summary: RunSummary = serde_json::from_slice(&output.stdout).expect("a summary");
    let (status, text) = get(&format!("{base}/metrics"))
        .await
        .expect("/metrics answers");
    assert_eq!(status, 200);

    // Prometheus text: comments, `name{labels} value` samples, and the closing `# EOF`.
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let (series, value) = line
            .rsplit_once(' ')
            .unwrap_or_else(|| panic!("sample line: {line}"));
        assert!(series.starts_with("catalog_sync_"), "{line}");
        assert!(value.parse::<f64>().is_ok(), "{line}");
    }
    assert_eq!(text.lines().last(), Some("# EOF"));
    assert_eq!(
        sample(&text, r#"catalog_sync_products_total{outcome="created"}"#),
        Some(summary.counts.created as f64)
    );
    assert_eq!(
        sample(
            &text,
            r#"catalog_sync_runs_total{mode="full",status="succeeded"}"#
        ),
        Some(1.0)
    );
    assert_eq!(
        sample(
            &text,
            r#"catalog_sync_upstream_requests_total{status="200"}"#
        ),
        Some(sim.requests_served() as f64)
    );
    assert!(sample(&text, "catalog_sync_batch_write_seconds_count").is_some_and(|n| n >= 1.0));

    let readyz = format!("{base}/readyz");
    assert_eq!(get(&readyz).await.map(|r| r.0), Some(200));
    let mut nats = app.nats;
    let restart = tokio::spawn(async move {
        nats.restart(Duration::from_secs(4)).await;
        nats
    });
    assert!(
        eventually(10, || async {
            get(&readyz).await.map(|r| r.0) == Some(503)
        })
        .await,
        "/readyz fails while nats-server is down"
    );
    let _nats = restart.await.unwrap();
    assert!(
        eventually(30, || async {
            get(&readyz).await.map(|r| r.0) == Some(200)
        })
        .await,
        "/readyz recovers after the restart"
    );
    worker.kill().await.unwrap();
}

#[tokio::test]
async fn nats_credentials_come_from_the_environment_and_stay_out_of_the_logs() {
    let password = "pw-5f1d9c";
    let nats = NatsServer::spawn_with(&["--user", "catalog", "--pass", password]).await;
    let env = Env {
        vars: vec![("NATS_URL", nats.url()), ("RUST_LOG", "info".into())],
    };
    env.with(&[("NATS_USER", "catalog"), ("NATS_PASSWORD", password)])
        .run_ok(&["setup"])
        .await;

    let refused = env
        .with(&[("NATS_USER", "catalog"), ("NATS_PASSWORD", "wrong-5f1d9c")])
        .command(&["setup"])
        .output()
        .await
        .unwrap();
    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.to_lowercase().contains("authorization"),
        "the error says why: {stderr}"
    );
    assert!(!stderr.contains("wrong-5f1d9c"), "no password in: {stderr}");

    let token = "tok-8a2e44";
    let nats = NatsServer::spawn_with(&["--auth", token]).await;
    let env = Env {
        vars: vec![("NATS_URL", nats.url()), ("RUST_LOG", "info".into())],
    };
    let output = env.with(&[("NATS_TOKEN", token)]).run_ok(&["setup"]).await;
    let logs = String::from_utf8_lossy(&output.stderr);
    assert!(!logs.contains(token), "no token in: {logs}");
}

#[tokio::test]
async fn credentials_in_nats_url_authenticate_and_never_reach_the_logs() {
    let password = "url-pw-3c9e71";
    let nats = NatsServer::spawn_with(&["--user", "catalog", "--pass", password]).await;
    let url = format!("nats://catalog:{password}@127.0.0.1:{}", nats.port);
    let env = Env {
        vars: vec![("NATS_URL", url.clone()), ("RUST_LOG", "trace".into())],
    };
    let output = env.run_ok(&["setup"]).await;
    let logs = String::from_utf8_lossy(&output.stderr);
    assert!(
        !logs.contains(password),
        "no password in the trace-level logs"
    );

    let help = env.run_ok(&["setup", "--help"]).await;
    let help = String::from_utf8_lossy(&help.stdout);
    assert!(
        help.contains("NATS_URL") && !help.contains(password),
        "{help}"
    );

    let token = "url-tok-61d0b2";
    let nats = NatsServer::spawn_with(&["--auth", token]).await;
    let env = Env {
        vars: vec![
            (
                "NATS_URL",
                format!("nats://{token}@127.0.0.1:{}", nats.port),
            ),
            ("RUST_LOG", "debug".into()),
        ],
    };
    let output = env.run_ok(&["setup"]).await;
    assert!(!String::from_utf8_lossy(&output.stderr).contains(token));

    let twice = env
        .with(&[("NATS_TOKEN", "another")])
        .command(&["setup"])
        .output()
        .await
        .unwrap();
    assert!(!twice.status.success());
    let stderr = String::from_utf8_lossy(&twice.stderr);
    assert!(
        stderr.contains("NATS_URL") && !stderr.contains(token),
        "{stderr}"
    );
}

#[sqlx::test]
async fn a_worker_whose_nats_server_died_still_stops_on_sigterm(pool: PgPool) {
    let sim = simulator(20).await;
    let app = TestApp::new(&pool, &sim).await;
    let mut worker = app.env().worker();
    let pulling = || async {
        let stream = app.js.get_stream("CATALOG").await.unwrap();
        let info = stream.consumer_info("catalog-sync-requests").await.unwrap();
        info.num_waiting > 0
    };
    assert!(eventually(30, pulling).await, "the worker pulls requests");
    // The server goes away for good; the client would wait for it forever.
    drop(app.nats);
    tokio::time::sleep(Duration::from_secs(1)).await;
    let started = std::time::Instant::now();
    let status = terminate(&mut worker).await;
    assert!(status.success(), "{status:?}");
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "stopped in {:?}",
        started.elapsed()
    );
}

#[sqlx::test]
async fn request_wait_with_a_reused_id_answers_at_once_and_says_so(pool: PgPool) {
    let sim = simulator(120).await;
    let app = TestApp::new(&pool, &sim).await;
    let env = app.env();
    env.setup().await;
    let mut worker = env.worker();
    let first = env
        .run_ok(&[
            "request",
            "--wait",
            "--json",
            "--request-id",
            "nightly-1",
            "--timeout",
            "60s",
        ])
        .await;
    let first: RunSummary = serde_json::from_slice(&first.stdout).unwrap();

    // Again within the stream's duplicate window, and with another body: answered from the
    // recorded summary, with a warning, without running anything.
    for args in [
        &["request", "--wait", "--json", "--request-id", "nightly-1"][..],
        &[
            "request",
            "--wait",
            "--json",
            "--request-id",
            "nightly-1",
            "--products",
            "1,2",
        ][..],
    ] {
        let started = std::time::Instant::now();
        let output = env.run_ok(args).await;
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "{:?}",
            started.elapsed()
        );
        let again: RunSummary = serde_json::from_slice(&output.stdout).unwrap();
        assert_eq!(again.run_id, first.run_id);
        let err = String::from_utf8_lossy(&output.stderr);
        assert!(err.contains("already ran"), "{err}");
        if args.contains(&"--products") {
            assert!(err.contains("different body"), "{err}");
        }
    }
    let runs = count(&pool, "select count(*) from sync_runs").await;
    assert_eq!(runs, 1, "nothing ran again");
    worker.kill().await.unwrap();
}

#[sqlx::test]
async fn request_ids_the_worker_refuses_are_refused_by_the_cli_and_never_published(pool: PgPool) {
    let sim = simulator(10).await;
    let app = TestApp::new(&pool, &sim).await;
    let env = app.env();
    let long = "x".repeat(300);
    for id in ["a b/../c", long.as_str(), ""] {
        for args in [
            &["request", "--request-id", id][..],
            &["request", "--wait", "--timeout", "5s", "--request-id", id],
            &["sync", "--request-id", id],
        ] {
            let output = env.command(args).output().await.unwrap();
            let err = String::from_utf8_lossy(&output.stderr);
            assert_eq!(output.status.code(), Some(2), "{args:?}: {err}");
            assert!(
                err.contains("--request-id") && err.contains("request id"),
                "{args:?}: {err}"
            );
        }
    }
    let mut stream = app.js.get_stream("CATALOG").await.unwrap();
    let stored = stream.info().await.unwrap().state.messages;
    assert_eq!(stored, 0, "nothing was published");
    assert_eq!(count(&pool, "select count(*) from sync_runs").await, 0);
    // An id the worker takes is published.
    env.run_ok(&["request", "--request-id", "nightly-2026-12-05"])
        .await;
    let stored = stream.info().await.unwrap().state.messages;
    assert_eq!(stored, 1);
}

#[sqlx::test]
async fn a_dry_run_worker_says_so_when_it_starts_and_sync_dry_run_writes_nothing(pool: PgPool) {
    let sim = simulator(10).await;
    let app = TestApp::new(&pool, &sim).await;
    let env = app
        .env()
        .with(&[("SYNC_DRY_RUN", "true"), ("RUST_LOG", "info")]);
    let mut worker = env
        .command(&["worker", "--force-archive"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = tokio::io::BufReader::new(worker.stderr.take().unwrap());
    let mut said = String::new();
    let told = tokio::time::timeout(Duration::from_secs(30), async {
        use tokio::io::AsyncBufReadExt as _;
        while stderr.read_line(&mut said).await.unwrap() > 0 {
            if said.contains("dry run (SYNC_DRY_RUN)") && said.contains("SYNC_FORCE_ARCHIVE") {
                return;
            }
        }
    })
    .await;
    assert!(told.is_ok(), "the worker did not say so: {said}");
    assert!(terminate(&mut worker).await.success());

    // The one-off sync takes SYNC_DRY_RUN the same way.
    let output = env.run_ok(&["sync", "--json"]).await;
    let summary: RunSummary = serde_json::from_slice(&output.stdout).unwrap();
    assert!(summary.dry_run);
    assert_eq!(summary.counts.created, 10);
    assert_eq!(count(&pool, "select count(*) from products").await, 0);
}

#[sqlx::test]
async fn request_wait_without_a_worker_says_so_and_stops_on_sigint(pool: PgPool) {
    let sim = simulator(10).await;
    let app = TestApp::new(&pool, &sim).await;
    let env = app.env();
    env.setup().await;
    let mut waiting = env
        .command(&["request", "--wait", "--request-id", "lonely"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = tokio::io::BufReader::new(waiting.stderr.take().unwrap());
    let mut said = String::new();
    let warned = tokio::time::timeout(Duration::from_secs(5), async {
        use tokio::io::AsyncBufReadExt as _;
        while stderr.read_line(&mut said).await.unwrap() > 0 {
            if said.contains("no worker is pulling") {
                return;
            }
        }
    })
    .await;
    assert!(warned.is_ok(), "no warning within 5 s: {said}");

    let pid = waiting.id().unwrap() as i32;
    // SAFETY: signalling a child process this test started.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGINT) }, 0);
    let status = tokio::time::timeout(Duration::from_secs(1), waiting.wait())
        .await
        .expect("exits within 1 s of SIGINT")
        .unwrap();
    assert_eq!(status.code(), Some(130));
    let mut rest = String::new();
    tokio::io::AsyncReadExt::read_to_string(&mut stderr, &mut rest)
        .await
        .unwrap();
    assert!(rest.contains("stays queued"), "{rest}");
    assert!(
        !app.requests_consumer_idle().await,
        "the request is still queued"
    );
}

#[sqlx::test]
async fn status_shows_the_last_success_and_dead_letters_replay_and_purge(pool: PgPool) {
    let sim = simulator(80).await;
    let app = TestApp::new(&pool, &sim).await;
    let (env, port) = with_metrics_port(&app.env());
    env.setup().await;
    let mut worker = env.worker();
    let output = env
        .run_ok(&["request", "--wait", "--json", "--request-id", "first-full"])
        .await;
    let summary: RunSummary = serde_json::from_slice(&output.stdout).unwrap();

    // Two events the worker gives up on: an id that is a path, and a product that is not one.
    app.publish("product.updated", None, br#"{"product_id":".."}"#)
        .await;
    app.publish(
        "product.updated",
        None,
        br#"{"product_id":5,"updated_at":"2026-12-01T00:00:00Z","product":{"id":5}}"#,
    )
    .await;
    assert!(
        eventually(30, || async {
            app.results("catalog.sync.dead").await.len() == 2
        })
        .await,
        "two dead letters"
    );

    let status = env
        .with(&[("SYNC_SCHEDULE", "0 2 * * *")])
        .run_ok(&["status", "--json"])
        .await;
    let status: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap();
    assert_eq!(status["last_full_sync"]["request_id"], "first-full");
    assert_eq!(
        status["last_full_sync"]["run_id"],
        summary.run_id.to_string()
    );
    assert!(status["last_full_sync"]["age_seconds"].as_i64().unwrap() < 60);
    assert_eq!(status["queues"]["dead_letters"], 2);
    assert_eq!(status["queues"]["requests_pending"], 0);
    assert!(status["queues"]["request_pullers"].as_u64().unwrap() >= 1);
    assert_eq!(status["running"], serde_json::json!([]));
    // No scheduled request has run: the schedule is unknown, whatever this shell sets.
    assert!(status["next_full_sync"].is_null(), "{status}");
    let text = env.run_ok(&["status"]).await;
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(
        text.contains("last full sync") && text.contains("first-full"),
        "{text}"
    );
    assert!(text.contains("2 waiting"), "{text}");

    // The worker serves the same status, and the last success as a gauge.
    let base = format!("http://127.0.0.1:{port}");
    let (code, body) = get(&format!("{base}/status"))
        .await
        .expect("/status answers");
    assert_eq!(code, 200);
    let served: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(served["last_full_sync"]["request_id"], "first-full");
    let (_, metrics) = get(&format!("{base}/metrics")).await.unwrap();
    let at = sample(
        &metrics,
        r#"catalog_sync_last_success_timestamp_seconds{mode="full"}"#,
    )
    .expect("the last-success gauge");
    assert_eq!(at as i64, summary.finished_at.timestamp());

    // List, replay one (it fails again: the id is still a path), purge the rest.
    let listed = env.run_ok(&["dead", "list", "--json"]).await;
    let listed: Vec<serde_json::Value> = serde_json::from_slice(&listed.stdout).unwrap();
    assert_eq!(listed.len(), 2);
    assert!(
        listed[0]["letter"]["reason"]
            .as_str()
            .unwrap()
            .contains("product id")
    );
    let first = listed[0]["sequence"].as_u64().unwrap().to_string();
    let replayed = env.run_ok(&["dead", "replay", &first]).await;
    assert!(String::from_utf8_lossy(&replayed.stdout).contains("to product.updated"));
    assert!(
        eventually(30, || async {
            let again = env.run_ok(&["dead", "list", "--json"]).await;
            let again: Vec<serde_json::Value> = serde_json::from_slice(&again.stdout).unwrap();
            // The replayed letter is gone and came back as a new one, with the same body.
            again.len() == 2
                && again
                    .iter()
                    .all(|d| d["sequence"].as_u64().unwrap().to_string() != first)
        })
        .await,
        "the replay was consumed and dead-lettered again"
    );
    let refused = env.command(&["dead", "purge"]).output().await.unwrap();
    assert_eq!(refused.status.code(), Some(2));
    env.run_ok(&["dead", "purge", "--yes"]).await;
    let empty = env.run_ok(&["dead", "list"]).await;
    assert!(String::from_utf8_lossy(&empty.stdout).contains("no dead letters"));
    worker.kill().await.unwrap();
}

#[tokio::test]
async fn the_scheduler_answers_health_and_readiness_probes() {
    init();
    let nats = NatsServer::spawn().await;
    let port = free_port();
    let mut scheduler = Command::new(BIN)
        .args(["scheduler", "--schedule", "0 2 * * *"])
        .env_clear()
        .env("NATS_URL", nats.url())
        .env("RUST_LOG", "warn")
        .env("METRICS_LISTEN", format!("127.0.0.1:{port}"))
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    assert!(
        eventually(30, || async {
            get(&format!("{base}/readyz")).await.map(|r| r.0) == Some(200)
        })
        .await,
        "the scheduler is ready once its streams exist"
    );
    assert_eq!(
        get(&format!("{base}/healthz")).await.map(|r| r.0),
        Some(200)
    );
    assert_eq!(get(&format!("{base}/status")).await.map(|r| r.0), Some(404));
    assert!(
        get(&format!("{base}/metrics"))
            .await
            .unwrap()
            .1
            .ends_with("# EOF\n")
    );
    let status = terminate(&mut scheduler).await;
    assert!(status.success(), "{status:?}");
}
