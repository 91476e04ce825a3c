//! The `catalog-sync` binary: configuration errors, `sync --json`, `runs`.

use std::process::Output;

use crate::support::*;
use catalog_sync::domain::{RunStatus, RunSummary};
use sqlx::PgPool;
use tokio::process::Command;

use crate::support::process::BIN;

/// Runs the binary with a clean environment plus `env`. Async, so an in-process simulator keeps
/// serving while the binary talks to it.
async fn catalog_sync(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(BIN);
    command
        .args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default());
    for (key, value) in env {
        command.env(key, value);
    }
    command.output().await.expect("binary runs")
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[tokio::test]
async fn a_missing_database_url_is_named() {
    let output = catalog_sync(&["sync"], &[]).await;
    assert!(!output.status.success());
    assert!(
        stderr(&output).contains("DATABASE_URL"),
        "{}",
        stderr(&output)
    );
}

#[tokio::test]
async fn bad_configuration_values_name_their_variable() {
    let db = (
        "DATABASE_URL",
        "postgres://postgres@127.0.0.1:5432/postgres",
    );
    for (variable, value) in [
        ("SYNC_BATCH_SIZE", "lots"),
        ("SYNC_PAGE_SIZE", "0"),
        ("SYNC_CONCURRENCY", "-1"),
        ("SYNC_API_URL", "ftp://example.com/products"),
        ("SYNC_MAX_RETRIES", "99"),
        ("SYNC_REQUEST_TIMEOUT", "soon"),
        ("SYNC_ARCHIVE_MAX_RATIO", "2"),
        ("SYNC_DRY_RUN", "perhaps"),
        ("SYNC_SAFE_MAX", "0"),
        ("MEDUSA_URL", "ftp://127.0.0.1:9000"),
        ("MEDUSA_CURRENCY", "euro"),
        ("MEDUSA_ARCHIVE", "archive"),
        ("MEDUSA_BATCH_SIZE", "0"),
        ("MEDUSA_CONCURRENCY", "many"),
        ("MEDUSA_RETRY_INTERVAL", "often"),
    ] {
        let output = catalog_sync(&["sync"], &[db, (variable, value)]).await;
        assert_eq!(
            output.status.code(),
            Some(2),
            "{variable}={value} is refused"
        );
        assert!(
            stderr(&output).contains(variable),
            "error for {variable}={value} names it: {}",
            stderr(&output)
        );
    }
    // The same values as flags: 2, naming the flag.
    for (flag, value) in [
        ("--batch-size", "lots"),
        ("--api-url", "ftp://example.com/p"),
    ] {
        let output = catalog_sync(&["sync", flag, value], &[db]).await;
        assert_eq!(output.status.code(), Some(2), "{flag} {value}");
        assert!(stderr(&output).contains(flag), "{}", stderr(&output));
    }
    // Values read by the command itself, by the logger and by the NATS client: 2 as well.
    for (args, env) in [
        (&["sync"][..], vec![("DATABASE_URL", "mysql://x")]),
        (&["runs"][..], vec![("DATABASE_URL", "not a url")]),
        (&["runs"][..], vec![db, ("LOG_FORMAT", "xml")]),
        (&["runs"][..], vec![db, ("RUST_LOG", "catalog_sync=loud")]),
        (&["runs"][..], vec![db, ("OTEL_SDK_DISABLED", "maybe")]),
        // A Medusa URL without its key: the key is named.
        (
            &["sync"][..],
            vec![
                db,
                ("MEDUSA_URL", "http://127.0.0.1:9000"),
                ("MEDUSA_API_KEY", ""),
            ],
        ),
        (
            &["request"][..],
            vec![("NATS_URL", "nats://a:b@host:4222,nats://c:d@host:4223")],
        ),
    ] {
        let output = catalog_sync(args, &env).await;
        let variable = env.last().unwrap().0;
        assert_eq!(
            output.status.code(),
            Some(2),
            "{env:?}: {}",
            stderr(&output)
        );
        assert!(
            stderr(&output).contains(variable),
            "{env:?}: {}",
            stderr(&output)
        );
    }
}

#[sqlx::test]
async fn errors_are_said_once_with_the_endpoint_and_the_fix(pool: PgPool) {
    // A database without the catalog's tables (the test's own has them).
    let bare_name = format!("bare_{}", uuid::Uuid::new_v4().simple());
    sqlx::query(sqlx::AssertSqlSafe(format!("create database {bare_name}")))
        .execute(&pool)
        .await
        .unwrap();
    let mut url = reqwest::Url::parse(&database_url(&pool)).unwrap();
    url.set_path(&format!("/{bare_name}"));
    let base = url.to_string();
    let missing = {
        url.set_path("/no_such_catalog");
        url.to_string()
    };
    let refused = {
        url.set_port(Some(1)).unwrap();
        url.to_string()
    };
    for (database_url, says) in [
        (
            missing.as_str(),
            "database \"no_such_catalog\" does not exist on PostgreSQL at 127.0.0.1:5432: create it",
        ),
        (
            refused.as_str(),
            "cannot connect to PostgreSQL at 127.0.0.1:1: connection refused",
        ),
        (
            base.as_str(),
            "no catalog-sync tables yet: run `catalog-sync migrate` first",
        ),
    ] {
        let started = std::time::Instant::now();
        let output = catalog_sync(&["runs"], &[("DATABASE_URL", database_url)]).await;
        let err = stderr(&output);
        assert_eq!(output.status.code(), Some(1), "{err}");
        assert!(err.contains(says), "{err}");
        assert_eq!(
            err.lines().filter(|l| l.starts_with("error:")).count(),
            1,
            "{err}"
        );
        assert!(
            !err.contains("at line"),
            "no PostgreSQL source lines: {err}"
        );
        assert!(
            started.elapsed() < std::time::Duration::from_secs(4),
            "{err}"
        );
    }
    let output = catalog_sync(
        &["request"],
        &[("NATS_URL", "nats://ops:s3cret@127.0.0.1:1")],
    )
    .await;
    let err = stderr(&output);
    assert_eq!(output.status.code(), Some(1), "{err}");
    assert!(
        err.contains("NATS at nats://REDACTED:REDACTED@127.0.0.1:1"),
        "{err}"
    );
    assert!(!err.contains("s3cret"), "{err}");
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "drop database {bare_name} with (force)"
    )))
    .execute(&pool)
    .await
    .unwrap();
}

#[sqlx::test]
async fn sync_json_prints_exactly_the_summary_and_runs_lists_it(pool: PgPool) {
    let sim = simulator(120).await;
    let url = database_url(&pool);
    let api = sim.url().to_string();
    let env = [
        ("DATABASE_URL", url.as_str()),
        ("SYNC_API_URL", api.as_str()),
        ("SYNC_PAGE_SIZE", "25"),
    ];

    let output = catalog_sync(&["sync", "--json"], &env).await;

    assert!(output.status.success(), "{}", stderr(&output));
    let summary: RunSummary =
        serde_json::from_slice(&output.stdout).expect("stdout is the summary");
    assert_eq!(summary.status, RunStatus::Succeeded);
    assert_eq!(summary.counts.created, 120);
    assert_eq!(count(&pool, "select count(*) from products").await, 120);

    let listed = catalog_sync(&["runs", "--json"], &env).await;
    assert!(listed.status.success(), "{}", stderr(&listed));
    let runs: serde_json::Value = serde_json::from_slice(&listed.stdout).unwrap();
    assert_eq!(runs[0]["run_id"], summary.run_id.to_string());
    assert_eq!(runs[0]["status"], "succeeded");

    let run_id = summary.run_id.to_string();
    let shown = catalog_sync(&["runs", "show", &run_id], &env).await;
    let text = String::from_utf8_lossy(&shown.stdout);
    assert!(shown.status.success(), "{}", stderr(&shown));
    assert!(
        text.contains(&run_id) && text.contains("succeeded"),
        "{text}"
    );
}

#[sqlx::test]
async fn runs_filter_and_show_finds_a_run_by_prefix_or_request_id(pool: PgPool) {
    let sim = simulator(60).await;
    let url = database_url(&pool);
    let api = sim.url().to_string();
    let env = [
        ("DATABASE_URL", url.as_str()),
        ("SYNC_API_URL", api.as_str()),
        ("SYNC_PAGE_SIZE", "20"),
        ("SYNC_MAX_RETRIES", "0"),
    ];
    let full = catalog_sync(
        &[
            "sync",
            "--json",
            "--request-id",
            "nightly-9",
            "--reason",
            "nightly",
        ],
        &env,
    )
    .await;
    let full: RunSummary = serde_json::from_slice(&full.stdout).unwrap();
    sim.set_field(5, "price", Some("-1")).unwrap();
    let targeted = catalog_sync(&["sync", "--json", "--products", "4,5"], &env).await;
    let targeted: RunSummary = serde_json::from_slice(&targeted.stdout).unwrap();
    assert_eq!(targeted.counts.failed, 1);

    let table = catalog_sync(&["runs"], &env).await;
    let table = String::from_utf8_lossy(&table.stdout);
    let header = table.lines().next().unwrap();
    for column in ["unchanged", "request", "reason"] {
        assert!(header.contains(column), "{header}");
    }
    assert!(
        table.contains("nightly-9") && table.contains("nightly"),
        "{table}"
    );

    let only = |args: &'static [&'static str]| async move {
        let output = catalog_sync(args, &env).await;
        let runs: Vec<serde_json::Value> = serde_json::from_slice(&output.stdout).unwrap();
        runs.iter()
            .map(|r| r["run_id"].as_str().unwrap().to_owned())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        only(&["runs", "--json", "--mode", "products"]).await,
        [targeted.run_id.to_string()]
    );
    assert_eq!(
        only(&["runs", "--json", "--status", "succeeded", "--mode", "full"]).await,
        [full.run_id.to_string()]
    );
    assert_eq!(only(&["runs", "--json", "--since", "1h"]).await.len(), 2);
    assert!(
        only(&["runs", "--json", "--since", "2999-01-01T00:00:00Z"])
            .await
            .is_empty()
    );
    let listed = catalog_sync(&["runs", "--json", "--mode", "full"], &env).await;
    let listed: serde_json::Value = serde_json::from_slice(&listed.stdout).unwrap();
    assert!(
        listed[0].get("summary").is_none(),
        "the counts once: {listed}"
    );
    assert_eq!(listed[0]["counts"]["created"], 60);
    assert_eq!(listed[0]["reason"], "nightly");

    let prefix = &full.run_id.to_string()[..8];
    for key in [prefix, "nightly-9"] {
        let shown = catalog_sync(&["runs", "show", key], &env).await;
        let text = String::from_utf8_lossy(&shown.stdout);
        assert!(shown.status.success(), "{key}: {}", stderr(&shown));
        assert!(text.contains(&full.run_id.to_string()), "{key}: {text}");
    }
    let shown = catalog_sync(&["runs", "show", &targeted.run_id.to_string()], &env).await;
    let text = String::from_utf8_lossy(&shown.stdout);
    assert_eq!(
        text.matches("invalid price").count(),
        1,
        "errors said once: {text}"
    );
    let missing = catalog_sync(&["runs", "show", "no-such-request"], &env).await;
    assert_eq!(missing.status.code(), Some(1));
}

#[sqlx::test]
async fn a_failed_run_exits_one_and_a_partial_run_three(pool: PgPool) {
    let sim = simulator(60).await;
    let url = database_url(&pool);
    let api = sim.url().to_string();
    let env = [
        ("DATABASE_URL", url.as_str()),
        ("SYNC_API_URL", api.as_str()),
        ("SYNC_PAGE_SIZE", "20"),
        ("SYNC_MAX_RETRIES", "0"),
    ];

    // Pages of 20 overlap by one product: they start at 0, 19, 38.
    sim.fail_page_always(19);
    let partial = catalog_sync(&["sync"], &env).await;
    assert_eq!(partial.status.code(), Some(3), "{}", stderr(&partial));
    assert!(String::from_utf8_lossy(&partial.stdout).contains("partial"));

    sim.fail_page_always(0);
    let failed = catalog_sync(&["sync", "--json"], &env).await;
    assert_eq!(failed.status.code(), Some(1));
    let summary: RunSummary = serde_json::from_slice(&failed.stdout).unwrap();
    assert_eq!(summary.status, RunStatus::Failed);
}

#[sqlx::test]
async fn targeted_sync_from_the_command_line(pool: PgPool) {
    let sim = simulator(30).await;
    let url = database_url(&pool);
    let api = sim.url().to_string();
    let env = [
        ("DATABASE_URL", url.as_str()),
        ("SYNC_API_URL", api.as_str()),
    ];

    let output = catalog_sync(&["sync", "--products", "4,5,6", "--json"], &env).await;

    assert!(output.status.success(), "{}", stderr(&output));
    let summary: RunSummary = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(summary.counts.created, 3);
    let ids: Vec<String> =
        sqlx::query_scalar("select external_id from products order by external_id")
            .fetch_all(&pool)
            .await
            .unwrap();
    assert_eq!(ids, vec!["4", "5", "6"]);
}

#[sqlx::test]
async fn credentials_in_sync_api_url_are_sent_as_basic_auth_and_never_shown(pool: PgPool) {
    let sim = simulator_with(catalog_sync_simulator::SimulatorConfig {
        products: 30,
        basic_auth: Some(("shop".into(), "api-pw-77e1c0".into())),
        ..Default::default()
    })
    .await;
    // Trust authentication on the test server ignores the password; it must not show anyway.
    let mut db = reqwest::Url::parse(&database_url(&pool)).unwrap();
    db.set_password(Some("db-pw-41aa")).unwrap();
    let url = db.to_string();
    let mut api = sim.url();
    api.set_username("shop").unwrap();
    api.set_password(Some("api-pw-77e1c0")).unwrap();
    let api = api.to_string();
    let env = [
        ("DATABASE_URL", url.as_str()),
        ("SYNC_API_URL", api.as_str()),
        ("RUST_LOG", "trace"),
    ];

    let output = catalog_sync(&["sync", "--json"], &env).await;
    assert!(output.status.success(), "{}", stderr(&output));
    let summary: RunSummary = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(
        summary.counts.created, 30,
        "the upstream accepted the credentials"
    );
    assert!(
        !stderr(&output).contains("api-pw-77e1c0"),
        "no password in trace logs"
    );
    let record: String = sqlx::query_scalar("select summary::text from sync_runs")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert!(!record.contains("api-pw-77e1c0"));

    let help = catalog_sync(&["sync", "--help"], &env).await;
    let help = String::from_utf8_lossy(&help.stdout);
    assert!(
        help.contains("SYNC_API_URL") && !help.contains("api-pw-77e1c0"),
        "{help}"
    );

    let bad = catalog_sync(
        &["sync"],
        &[
            ("DATABASE_URL", url.as_str()),
            ("SYNC_API_URL", "ftp://shop:api-pw-77e1c0@h/p"),
        ],
    )
    .await;
    assert_eq!(bad.status.code(), Some(2));
    assert!(
        stderr(&bad).contains("REDACTED:REDACTED@"),
        "{}",
        stderr(&bad)
    );
    assert!(!stderr(&bad).contains("api-pw-77e1c0"));

    let wrong = api.replace("api-pw-77e1c0", "nope");
    let refused = catalog_sync(
        &["sync", "--json"],
        &[
            ("DATABASE_URL", url.as_str()),
            ("SYNC_API_URL", wrong.as_str()),
        ],
    )
    .await;
    assert_eq!(refused.status.code(), Some(1), "a 401 fails the run");
}

#[sqlx::test]
async fn an_interrupted_sync_run_again_with_its_request_id_resumes(pool: PgPool) {
    let sim = simulator_with(catalog_sync_simulator::SimulatorConfig {
        products: 5000,
        // About 100 pages, four at a time: the run lasts long enough for heartbeats.
        latency: std::time::Duration::from_millis(250),
        ..Default::default()
    })
    .await;
    let url = database_url(&pool);
    let api = sim.url().to_string();
    let env = [
        ("DATABASE_URL", url.as_str()),
        ("SYNC_API_URL", api.as_str()),
        ("SYNC_PAGE_SIZE", "50"),
        ("SYNC_BATCH_SIZE", "100"),
    ];
    let mut command = Command::new(BIN);
    command
        .args(["sync", "--json", "--request-id", "nightly-7"])
        .env_clear()
        .envs(env)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    let mut child = command.spawn().unwrap();
    let checkpointed = eventually(60, || async {
        count(
            &pool,
            "select count(*) from sync_runs where (checkpoint->'listing'->>'skip')::int > 500",
        )
        .await
            == 1
    })
    .await;
    assert!(checkpointed, "the run records a checkpoint");
    // SAFETY: signalling a child process this test started.
    assert_eq!(
        unsafe { libc::kill(child.id().unwrap() as i32, libc::SIGINT) },
        0
    );
    assert_eq!(child.wait().await.unwrap().code(), Some(130));

    let again = catalog_sync(&["sync", "--json", "--request-id", "nightly-7"], &env).await;
    assert!(again.status.success(), "{}", stderr(&again));
    let summary: RunSummary = serde_json::from_slice(&again.stdout).unwrap();
    let resumed = summary.resumed_from.expect("the second run resumed");
    assert!(resumed.skip > 500, "{resumed:?}");
    assert_eq!(count(&pool, "select count(*) from products").await, 5000);
    let statuses: Vec<String> = sqlx::query_scalar(
        "select status from sync_runs where request_id = 'nightly-7' order by attempt",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(statuses, ["interrupted", "succeeded"]);
}

#[tokio::test]
async fn a_bad_source_file_stops_the_command_naming_the_file_and_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        (
            "unknown-style.toml",
            "[list]\nurl = \"https://shop.example/p\"\n[list.paging]\nstyle = \"scroll\"\n[item]\nurl = \"https://shop.example/p/{id}\"\n[fields]\nexternal_id = \"/id\"\ntitle = \"/t\"\nprice = \"/p\"\n",
            "list.paging.style",
        ),
        (
            "bad-pointer.toml",
            "[list]\nurl = \"https://shop.example/p\"\n[list.paging]\nstyle = \"page\"\n[item]\nurl = \"https://shop.example/p/{id}\"\n[fields]\nexternal_id = \"id\"\ntitle = \"/t\"\nprice = \"/p\"\n",
            "fields.external_id",
        ),
        (
            "no-url.toml",
            "[list]\n[list.paging]\nstyle = \"page\"\n[item]\nurl = \"https://shop.example/p/{id}\"\n[fields]\nexternal_id = \"/id\"\ntitle = \"/t\"\nprice = \"/p\"\n",
            "list.url",
        ),
        (
            "secret.toml",
            "preset = \"dummyjson\"\n[auth]\ntype = \"bearer\"\ntoken = \"sk-live-123\"\n",
            "auth.token",
        ),
        // An id in the host would send the bearer token wherever an event's product_id says.
        (
            "id-in-host.toml",
            "preset = \"dummyjson\"\n[item]\nurl = \"http://{id}/products\"\n[auth]\ntype = \"bearer\"\ntoken_env = \"SHOP_TOKEN\"\n",
            "item.url",
        ),
    ];
    for (name, text, key) in cases {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        let output = catalog_sync(
            &["sync", "--source", path.to_str().unwrap()],
            &[("DATABASE_URL", "postgres://127.0.0.1:1/none")],
        )
        .await;
        let err = stderr(&output);
        assert_eq!(output.status.code(), Some(2), "{name}: {err}");
        assert!(err.contains(name) && err.contains(key), "{name}: {err}");
        assert!(
            !err.contains("sk-live-123"),
            "the secret is never echoed: {err}"
        );
    }
    let id_in_host = dir.path().join("id-in-host.toml");
    let output = catalog_sync(
        &["source", "check", id_in_host.to_str().unwrap()],
        &[("SHOP_TOKEN", "t0ken")],
    )
    .await;
    let err = stderr(&output);
    assert_eq!(output.status.code(), Some(2), "{err}");
    assert!(
        err.contains("id-in-host.toml: item.url: {id} stands in the host"),
        "{err}"
    );
}

#[sqlx::test]
async fn source_check_and_sync_read_a_woocommerce_source(pool: PgPool) {
    let sim = simulator(250).await;
    let origin = sim.url().origin().ascii_serialization();
    let text = include_str!("../../sources/woocommerce.toml")
        .replace("{base_url}/wp-json", &origin)
        .replace("requests = 10", "requests = 1000");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("woo.toml");
    std::fs::write(&file, text).unwrap();
    let file = file.to_str().unwrap();
    let env = [
        ("WC_CONSUMER_KEY", "ck_test"),
        ("WC_CONSUMER_SECRET", "cs_test"),
    ];

    let check = catalog_sync(&["source", "check", file, "--show", "3"], &env).await;
    let out = String::from_utf8_lossy(&check.stdout);
    assert!(check.status.success(), "{out}\n{}", stderr(&check));
    assert!(out.contains("page (per_page=100, page=1…)"), "{out}");
    assert!(
        out.contains("first page 100 records, 100 valid products; total 250"),
        "{out}"
    );
    let first = sim.product(1).unwrap();
    assert!(out.contains(first["title"].as_str().unwrap()), "{out}");
    assert!(
        out.contains("the same product"),
        "the item endpoint agrees: {out}"
    );
    assert!(!out.contains("cs_test"), "{out}");

    let database_url = database_url(&pool);
    let mut sync_env = env.to_vec();
    sync_env.push(("DATABASE_URL", &database_url));
    let sync = catalog_sync(&["sync", "--source", file, "--json"], &sync_env).await;
    assert!(sync.status.success(), "{}", stderr(&sync));
    let summary: RunSummary = serde_json::from_slice(&sync.stdout).unwrap();
    assert_eq!(summary.status, RunStatus::Succeeded);
    assert_eq!(summary.counts.created, 250);
    let name: String = sqlx::query_scalar(
        "select c.name from products p join categories c on c.id = p.category_id where p.external_id = '1'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(
        name,
        catalog_sync::domain::category_name(first["category"].as_str().unwrap())
    );
}

#[sqlx::test]
async fn credentials_in_urls_never_show_in_any_form_they_are_written(pool: PgPool) {
    // Trust authentication on the test server ignores the password; it must not show anyway.
    let mut db = reqwest::Url::parse(&database_url(&pool)).unwrap();
    db.set_password(Some("dbSECRET")).unwrap();
    let mut db_in_query = reqwest::Url::parse(&database_url(&pool)).unwrap();
    db_in_query
        .query_pairs_mut()
        .append_pair("password", "dbSECRET");
    let db_in_query = db_in_query.to_string();
    let db = db.to_string();
    catalog_sync(&["migrate"], &[("DATABASE_URL", &db)]).await;
    let secrets = |output: &Output| {
        let all = format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            stderr(output)
        );
        // The webhook secrets' variable names are the only SECRET a help text may show.
        let shown = all.replace("_WEBHOOK_SECRET", "");
        assert!(!shown.contains("SECRET"), "{all}");
        all
    };
    // No NATS listens on ports 1 and 2: every command says where it could not connect.
    for nats_url in [
        "natsuser:natsSECRET@127.0.0.1:1",
        "nats://natsuser:natsSECRET@127.0.0.1:1",
        "natsSECRET@127.0.0.1:1",
        "nats://natsSECRET@127.0.0.1:1",
        "natsuser:natsSECRET@127.0.0.1:1,nats://natsuser:natsSECRET@127.0.0.1:2",
        "nats://nats%40user:nats%2FSECRET@127.0.0.1:1",
        "nats://natsuser:nats,SECRET@127.0.0.1:1",
        "nats://natsuser:nats/SECRET@127.0.0.1:1",
    ] {
        for database_url in [db.as_str(), db_in_query.as_str()] {
            let env = [
                ("DATABASE_URL", database_url),
                ("NATS_URL", nats_url),
                ("RUST_LOG", "trace"),
                ("METRICS_LISTEN", "127.0.0.1:0"),
            ];
            for args in [&["worker"][..], &["request"], &["request", "--wait"]] {
                let output = catalog_sync(args, &env).await;
                assert!(!output.status.success(), "{nats_url} {args:?}");
                let said = secrets(&output);
                assert!(said.contains("NATS"), "{nats_url} {args:?}: {said}");
            }
            let status = catalog_sync(&["status", "--json"], &env).await;
            secrets(&status);
            let status: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap();
            let error = status["nats_error"].as_str().unwrap_or_default();
            assert!(error.contains("REDACTED:REDACTED@"), "{nats_url}: {error}");
            for command in ["worker", "request", "status", "sync", "runs", "run"] {
                secrets(&catalog_sync(&[command, "--help"], &env).await);
            }
        }
    }
    // An upstream URL without its scheme is refused (exit 2), quoted redacted.
    let refused = catalog_sync(
        &["sync"],
        &[
            ("DATABASE_URL", db.as_str()),
            ("SYNC_API_URL", "user:SECRET@127.0.0.1/products"),
        ],
    )
    .await;
    assert_eq!(refused.status.code(), Some(2));
    let said = secrets(&refused);
    assert!(
        said.contains("SYNC_API_URL") && said.contains("REDACTED:REDACTED@127.0.0.1/products"),
        "{said}"
    );
    // A schemeless DATABASE_URL is refused without echoing its user for a scheme.
    let refused = catalog_sync(
        &["runs"],
        &[("DATABASE_URL", "dbuser:dbSECRET@127.0.0.1/x")],
    )
    .await;
    assert_eq!(refused.status.code(), Some(2));
    assert!(!secrets(&refused).contains("dbuser"));

    // The same credentials, written without a scheme, authenticate against a real server.
    let nats = NatsServer::spawn_with(&["--user", "natsuser", "--pass", "natsSECRET"]).await;
    let nats_url = format!("natsuser:natsSECRET@127.0.0.1:{}", nats.port);
    let env = [
        ("DATABASE_URL", db.as_str()),
        ("NATS_URL", nats_url.as_str()),
        ("RUST_LOG", "trace"),
    ];
    let setup = catalog_sync(&["setup"], &env).await;
    assert!(setup.status.success(), "{}", stderr(&setup));
    secrets(&setup);
    let published = catalog_sync(&["request", "--request-id", "guarded"], &env).await;
    assert!(published.status.success(), "{}", stderr(&published));
    assert!(secrets(&published).contains("published request guarded"));
    let status = catalog_sync(&["status", "--json"], &env).await;
    secrets(&status);
    let status: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap();
    assert!(status["nats_error"].is_null(), "{status}");
}

#[sqlx::test]
async fn status_against_a_schema_an_older_version_migrated_says_to_migrate(pool: PgPool) {
    // What the previous release's migrations left: the sink's off switch is not there yet.
    for statement in [
        "alter table medusa_sink drop column disabled_at, drop column pushers_until",
        "delete from _sqlx_migrations where version = 20261208000001",
    ] {
        sqlx::query(statement).execute(&pool).await.unwrap();
    }
    let url = database_url(&pool);
    let env = [
        ("DATABASE_URL", url.as_str()),
        ("NATS_URL", "nats://127.0.0.1:1"),
    ];
    let output = catalog_sync(&["status"], &env).await;
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let said = stderr(&output);
    assert!(
        said.contains("schema is older than this catalog-sync")
            && said.contains("disabled_at")
            && said.contains("run `catalog-sync migrate`"),
        "{said}"
    );

    let output = catalog_sync(&["migrate"], &env).await;
    assert!(output.status.success(), "{}", stderr(&output));
    let output = catalog_sync(&["status"], &env).await;
    assert!(
        !stderr(&output).contains("schema is older"),
        "{}",
        stderr(&output)
    );
}
