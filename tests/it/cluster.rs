//! catalog-sync on a three-node JetStream cluster with three-replica streams: the server
//! configurations in `nats/cluster/`, `NATS_STREAM_REPLICAS`, and a node lost in the middle of a
//! full sync and in the middle of a stream of product events.

use std::collections::{BTreeMap, HashSet};
use std::path::Path;
use std::time::Duration;

use crate::support::cluster::NatsCluster;
use crate::support::process::Env;
use crate::support::*;
use async_nats::jetstream::{self, message::StreamMessage};
use catalog_sync::domain::{RunMode, RunStatus, RunSummary};
use catalog_sync::messages::message_id_headers;
use catalog_sync_simulator::{Simulator, SimulatorConfig};
use sqlx::PgPool;
use tokio::time::Instant;

fn nats_server_bin() -> String {
    std::env::var("NATS_SERVER_BIN").unwrap_or_else(|_| "nats-server".into())
}

/// `(major, minor)` of the nats-server binary, from `nats-server --version`
/// (`nats-server: v2.9.10`).
fn nats_server_version() -> (u32, u32) {
    let output = std::process::Command::new(nats_server_bin())
        .arg("--version")
        .output()
        .expect("nats-server --version runs");
    let text = String::from_utf8_lossy(&output.stdout).into_owned()
        + &String::from_utf8_lossy(&output.stderr);
    let version = text
        .split_whitespace()
        .find_map(|w| w.strip_prefix('v'))
        .unwrap_or_else(|| panic!("a version in {text:?}"));
    let mut parts = version.split('.').map(|p| p.parse::<u32>().unwrap_or(0));
    (parts.next().unwrap_or(0), parts.next().unwrap_or(0))
}

/// `nats-server -t -c FILE`: the server's own check of a configuration file.
fn check_config(path: &Path) -> std::process::Output {
    std::process::Command::new(nats_server_bin())
        .arg("-t")
        .arg("-c")
        .arg(path)
        .output()
        .expect("nats-server -t runs")
}

/// The settings of a nats-server configuration file, as `block.key` → values (a `routes`
/// array gives one value per entry). Enough of the format for the files in `nats/cluster/`.
fn settings(text: &str) -> BTreeMap<String, Vec<String>> {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut blocks: Vec<String> = Vec::new();
    let mut array: Option<String> = None;
    for line in text.lines() {
        let line = line.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        if let Some(key) = &array {
            if line == "]" {
                array = None;
            } else {
                out.entry(key.clone()).or_default().push(line.to_owned());
            }
            continue;
        }
        if line == "}" {
            blocks.pop();
            continue;
        }
        if let Some(block) = line.strip_suffix('{') {
            blocks.push(block.trim().to_owned());
            continue;
        }
        let (key, value) = line
            .split_once(':')
            .unwrap_or_else(|| panic!("a `key: value` line: {line}"));
        let key = blocks
            .iter()
            .map(String::as_str)
            .chain([key.trim()])
            .collect::<Vec<_>>()
            .join(".");
        let value = value.trim();
        if value == "[" {
            array = Some(key);
        } else {
            out.entry(key)
                .or_default()
                .push(value.trim_matches('"').to_owned());
        }
    }
    out
}

fn one<'a>(settings: &'a BTreeMap<String, Vec<String>>, key: &str) -> &'a str {
    match settings.get(key).map(Vec::as_slice) {
        Some([value]) => value,
        other => panic!("one {key}, found {other:?}"),
    }
}

#[test]
fn the_cluster_configurations_pass_the_servers_check_and_form_one_cluster() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("nats/cluster");
    let files = ["node-a.conf", "node-b.conf", "node-c.conf"];
    let version = nats_server_version();
    let scratch = tempfile::tempdir().unwrap();
    for file in files {
        let path = dir.join(file);
        let checked = check_config(&path);
        if checked.status.success() {
            continue;
        }
        // `sync_interval` is 2.10+: an older server must reject that field and nothing else,
        // and then accept the rest of the file.
        let stderr = String::from_utf8_lossy(&checked.stderr);
        assert!(
            version < (2, 10) && stderr.contains(r#"unknown field "sync_interval""#),
            "nats-server {version:?} rejects {file}: {stderr}"
        );
        let text = std::fs::read_to_string(&path).unwrap();
        let without: String = text
            .lines()
            .filter(|l| !l.trim_start().starts_with("sync_interval"))
            .map(|l| format!("{l}\n"))
            .collect();
        let copy = scratch.path().join(file);
        std::fs::write(&copy, without).unwrap();
        let checked = check_config(&copy);
        assert!(
            checked.status.success(),
            "{file} without sync_interval: {}",
            String::from_utf8_lossy(&checked.stderr)
        );
    }

    let nodes: Vec<_> = files
        .iter()
        .map(|f| settings(&std::fs::read_to_string(dir.join(f)).unwrap()))
        .collect();
    let distinct = |key: &str| {
        nodes
            .iter()
            .map(|n| one(n, key).to_owned())
            .collect::<HashSet<_>>()
            .len()
    };
    assert_eq!(distinct("server_name"), 3, "one server_name per node");
    assert_eq!(distinct("jetstream.store_dir"), 3, "one store per node");
    assert_eq!(distinct("cluster.name"), 1, "one cluster");
    for (i, node) in nodes.iter().enumerate() {
        let file = files[i];
        assert_eq!(
            one(node, "listen"),
            format!("127.0.0.1:{}", 4222 + i),
            "{file}"
        );
        assert_eq!(
            one(node, "cluster.listen"),
            format!("127.0.0.1:{}", 6222 + i),
            "{file}"
        );
        let mut routes = node["cluster.routes"].clone();
        routes.sort();
        let others: Vec<String> = (0..3)
            .filter(|&j| j != i)
            .map(|j| format!("nats-route://127.0.0.1:{}", 6222 + j))
            .collect();
        assert_eq!(routes, others, "{file} routes to the two other nodes");
        assert_eq!(one(node, "jetstream.sync_interval"), "always", "{file}");
    }
}

#[tokio::test]
async fn setup_scales_existing_streams_and_their_consumers_to_the_configured_replicas() {
    let cluster = NatsCluster::start().await;
    let env = Env {
        vars: vec![("NATS_URL", cluster.urls()), ("RUST_LOG", "warn".into())],
    };
    let stdout = |o: std::process::Output| String::from_utf8_lossy(&o.stdout).into_owned();

    let created = stdout(env.run_ok(&["setup"]).await);
    assert!(created.contains("created stream CATALOG\n"), "{created}");
    let scaled = stdout(
        env.with(&[("NATS_STREAM_REPLICAS", "3")])
            .run_ok(&["setup"])
            .await,
    );
    for stream in ["CATALOG", "CATALOG_RESULTS"] {
        assert!(
            scaled.contains(&format!("changed stream {stream}: num_replicas 1 -> 3\n")),
            "{scaled}"
        );
    }

    let js = NatsCluster::jetstream(cluster.client().await);
    for stream in ["CATALOG", "CATALOG_RESULTS"] {
        cluster.wait_until_replicated(&js, stream, 30).await;
    }
    // The consumers follow their stream (their own replica count is left at "as the stream").
    for consumer in ["catalog-sync-requests", "catalog-sync-updates"] {
        let replicated = eventually(30, || async {
            let Ok(stream) = js.get_stream("CATALOG").await else {
                return false;
            };
            let Ok(info) = stream.consumer_info(consumer).await else {
                return false;
            };
            info.cluster.is_some_and(|c| {
                c.leader.is_some() && c.replicas.len() == 2 && c.replicas.iter().all(|p| p.current)
            })
        })
        .await;
        assert!(replicated, "{consumer} has a copy on every node");
    }

    let again = stdout(
        env.with(&[("NATS_STREAM_REPLICAS", "3")])
            .run_ok(&["setup"])
            .await,
    );
    assert_eq!(again, "streams and consumers are up to date\n");
}

#[tokio::test]
async fn replicated_streams_on_a_single_server_are_refused_with_a_hint() {
    let nats = NatsServer::spawn().await;
    let output = Env {
        vars: vec![
            ("NATS_URL", nats.url()),
            ("RUST_LOG", "warn".into()),
            ("NATS_STREAM_REPLICAS", "3".into()),
        ],
    }
    .command(&["setup"])
    .output()
    .await
    .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("at least 3 servers") && stderr.contains("NATS_STREAM_REPLICAS"),
        "{stderr}"
    );

    let output = Env {
        vars: vec![("NATS_STREAM_REPLICAS", "7".into())],
    }
    .command(&["setup"])
    .output()
    .await
    .unwrap();
    assert_eq!(
        output.status.code(),
        Some(2),
        "an invalid value is a usage error"
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("NATS_STREAM_REPLICAS"), "{stderr}");
}

/// Every message in `stream`, oldest first, read by sequence from the stream leader; `None`
/// when that cannot be done right now (no leader, the client reconnecting).
async fn try_read_stream(js: &jetstream::Context, stream: &str) -> Option<Vec<StreamMessage>> {
    let mut handle = js.get_stream(stream).await.ok()?;
    let state = handle.info().await.ok()?.state.clone();
    let mut out = Vec::new();
    if state.messages > 0 {
        for sequence in state.first_sequence..=state.last_sequence {
            out.push(handle.get_raw_message(sequence).await.ok()?);
        }
    }
    Some(out)
}

async fn read_stream(js: &jetstream::Context, stream: &str) -> Vec<StreamMessage> {
    let messages = std::cell::RefCell::new(None);
    let read = eventually(30, || async {
        *messages.borrow_mut() = try_read_stream(js, stream).await;
        messages.borrow().is_some()
    })
    .await;
    assert!(read, "{stream} could not be read within 30 s");
    messages.into_inner().expect("messages")
}

fn summaries_in(messages: &[StreamMessage]) -> Vec<RunSummary> {
    messages
        .iter()
        .filter(|m| m.subject.as_str() == "catalog.sync.completed")
        .map(|m| serde_json::from_slice(&m.payload).expect("a run summary"))
        .collect()
}

/// Waits until the consumer has handed out everything and every message is acknowledged.
async fn consumer_is_idle(js: &jetstream::Context, consumer: &str, seconds: u64) -> bool {
    eventually(seconds, || async {
        let Ok(stream) = js.get_stream("CATALOG").await else {
            return false;
        };
        stream
            .consumer_info(consumer)
            .await
            .is_ok_and(|info| info.num_pending == 0 && info.num_ack_pending == 0)
    })
    .await
}

/// How publishing one message through a leader change went.
#[derive(Default)]
struct Publishes {
    /// Attempts that failed (no leader, no answer in time) and were made again.
    retried: u32,
    /// Retries the stream recognised by `Nats-Msg-Id` as already stored.
    duplicates: u32,
}

/// Publishes to the stream until it acknowledges, at most for `within`. Each attempt carries
/// the same `Nats-Msg-Id`, so an attempt whose acknowledgement was lost is not stored twice.
async fn publish_until_stored(
    js: &jetstream::Context,
    subject: &str,
    message_id: &str,
    body: Vec<u8>,
    within: Duration,
    tally: &mut Publishes,
) {
    let deadline = Instant::now() + within;
    loop {
        let headers = message_id_headers(message_id);
        let attempt = async {
            js.publish_with_headers(subject.to_owned(), headers, body.clone().into())
                .await
                .map_err(|e| e.to_string())?
                .await
                .map_err(|e| e.to_string())
        };
        match attempt.await {
            Ok(ack) => {
                if ack.duplicate {
                    tally.duplicates += 1;
                }
                return;
            }
            Err(error) => {
                tally.retried += 1;
                assert!(
                    Instant::now() < deadline,
                    "{message_id} was not stored within {within:?}: {error}"
                );
                // Back off briefly while the cluster elects a leader.
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

/// A product row as the assertions read it.
#[derive(sqlx::FromRow)]
struct ProductRow {
    external_id: String,
    title: String,
    /// `price::text`: the numeric exactly as stored.
    price: String,
    stock: i64,
    live: bool,
    source_updated_at: Option<chrono::DateTime<chrono::Utc>>,
}

/// Products in the catalog; each page of 50 takes 100 ms upstream, so a full sync lasts
/// several seconds: long enough to lose a node in the middle of it.
const PRODUCTS: u64 = 8_000;
/// `product.updated` events published in the second half; later ones repeat earlier products.
const EVENTS: u64 = 60;
/// Distinct products the events are about.
const EVENT_PRODUCTS: u64 = 40;

fn event_product(k: u64) -> u64 {
    1 + (k % EVENT_PRODUCTS) * 197
}

#[sqlx::test]
async fn losing_a_node_mid_sync_and_mid_event_stream_loses_nothing(pool: PgPool) {
    let began = Instant::now();
    let sim: Simulator = simulator_with(SimulatorConfig {
        products: PRODUCTS,
        latency: Duration::from_millis(100),
        ..SimulatorConfig::default()
    })
    .await;
    let mut cluster = NatsCluster::start().await;
    let env = Env::with_nats_url(&pool, &sim.url(), cluster.urls())
        .with(&[("NATS_STREAM_REPLICAS", "3")]);
    env.setup().await;
    let js = NatsCluster::jetstream(cluster.client().await);
    for stream in ["CATALOG", "CATALOG_RESULTS"] {
        cluster.wait_until_replicated(&js, stream, 30).await;
    }
    let mut worker = env.worker();
    let ready = began.elapsed();

    // 1. A full sync, and the node leading CATALOG dies while it runs.
    env.run_ok(&["request", "--request-id", "cluster-full"])
        .await;
    let under_way = eventually(30, || async {
        count(&pool, "select count(*) from products").await > 500
            && count(
                &pool,
                "select count(*) from sync_runs where request_id = 'cluster-full' and status = 'running'",
            )
            .await
                == 1
    })
    .await;
    assert!(under_way, "the run is under way");
    let first = cluster.wait_for_leader(&js, "CATALOG", 10).await;
    cluster.kill(first);
    let written_at_kill = count(&pool, "select count(*) from products").await;
    let status: String =
        sqlx::query_scalar("select status from sync_runs where request_id = 'cluster-full'")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(
        status, "running",
        "the node went down mid-run ({written_at_kill} products written)"
    );
    let summary_arrived = eventually(60, || async {
        try_read_stream(&js, "CATALOG_RESULTS")
            .await
            .is_some_and(|m| {
                summaries_in(&m)
                    .iter()
                    .any(|s| s.request_id == "cluster-full")
            })
    })
    .await;
    assert!(
        summary_arrived,
        "the run's summary arrived after losing {}",
        cluster.name(first)
    );
    let synced = began.elapsed();
    cluster.restart(first).await;
    for stream in ["CATALOG", "CATALOG_RESULTS"] {
        cluster.wait_until_replicated(&js, stream, 30).await;
    }
    let rejoined = began.elapsed();

    // 2. A steady stream of product events, and the node leading CATALOG now dies midway.
    let mut tally = Publishes::default();
    let mut second = None;
    let mut pace = tokio::time::interval(Duration::from_millis(60));
    for k in 0..EVENTS {
        pace.tick().await;
        if k == EVENTS / 2 {
            let leader = cluster.wait_for_leader(&js, "CATALOG", 10).await;
            cluster.kill(leader);
            second = Some(leader);
        }
        let id = event_product(k);
        sim.mutate(id);
        let body = serde_json::to_vec(&serde_json::json!({ "product_id": id })).unwrap();
        publish_until_stored(
            &js,
            "product.updated",
            &format!("cluster-update-{k}"),
            body,
            Duration::from_secs(30),
            &mut tally,
        )
        .await;
    }
    let published = began.elapsed();
    assert!(
        consumer_is_idle(&js, "catalog-sync-updates", 60).await,
        "every event was applied and acknowledged"
    );
    assert!(
        consumer_is_idle(&js, "catalog-sync-requests", 30).await,
        "the sync request was acknowledged"
    );
    let settled = began.elapsed();

    // The catalog is exactly the upstream's: every product, live, at its newest state.
    let rows: Vec<ProductRow> = sqlx::query_as(
        "select external_id, title, price::text as price, stock, archived_at is null as live,
                source_updated_at
         from products",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(
        rows.len() as u64,
        PRODUCTS,
        "no product missing, none extra"
    );
    let mut seen = HashSet::new();
    for row in &rows {
        let id: u64 = row.external_id.parse().expect("an upstream id");
        assert!(
            (1..=PRODUCTS).contains(&id),
            "no product beyond the upstream's: {id}"
        );
        assert!(seen.insert(id));
        let upstream = sim.product(id).expect("a live upstream product");
        assert!(row.live, "product {id} is live");
        assert_eq!(
            row.title,
            upstream["title"].as_str().unwrap(),
            "title of {id}"
        );
        assert_eq!(row.price, upstream["price"].to_string(), "price of {id}");
        assert_eq!(Some(row.stock), upstream["stock"].as_i64(), "stock of {id}");
    }
    let updated_at: BTreeMap<u64, _> = rows
        .iter()
        .map(|r| (r.external_id.parse::<u64>().unwrap(), r.source_updated_at))
        .collect();
    for k in 0..EVENTS {
        let id = event_product(k);
        let upstream = sim.product(id).unwrap();
        let newest =
            chrono::DateTime::parse_from_rfc3339(upstream["meta"]["updatedAt"].as_str().unwrap())
                .unwrap();
        assert_eq!(
            updated_at[&id],
            Some(newest.to_utc()),
            "product {id} is at its newest upstream state"
        );
    }

    // Nothing dead-lettered; one summary per run, and one succeeded summary for the request.
    let results = read_stream(&js, "CATALOG_RESULTS").await;
    let dead: Vec<_> = results
        .iter()
        .filter(|m| m.subject.as_str() == "catalog.sync.dead")
        .map(|m| String::from_utf8_lossy(&m.payload).into_owned())
        .collect();
    assert!(dead.is_empty(), "dead letters: {dead:?}");
    let summaries = summaries_in(&results);
    let full: Vec<_> = summaries
        .iter()
        .filter(|s| s.request_id == "cluster-full")
        .collect();
    assert_eq!(full.len(), 1, "one summary for the request: {full:?}");
    assert_eq!(full[0].status, RunStatus::Succeeded, "{:?}", full[0]);
    assert_eq!(full[0].mode, RunMode::Full);
    let mut run_ids = HashSet::new();
    for summary in &summaries {
        assert!(
            run_ids.insert(summary.run_id),
            "a summary stored twice (de-duplication by Nats-Msg-Id): {summary:?}"
        );
        assert_eq!(summary.status, RunStatus::Succeeded, "{summary:?}");
    }
    assert_eq!(
        count(&pool, "select count(*) from sync_runs where mode = 'full'").await,
        1,
        "the request ran once"
    );
    // Publishes retried through the election were stored once each.
    let catalog = read_stream(&js, "CATALOG").await;
    assert_eq!(
        catalog.len() as u64,
        EVENTS + 1,
        "one request and {EVENTS} events"
    );

    let incremental_runs = count(
        &pool,
        "select count(*) from sync_runs where mode = 'incremental'",
    )
    .await;
    eprintln!(
        "cluster test: ready {ready:?}, synced {synced:?} (lost {} with {written_at_kill} products \
         written), rejoined {rejoined:?}, events published {published:?} (lost {}; {} publishes \
         retried, {} recognised as duplicates), settled {settled:?}; {} incremental runs, total \
         {:?}",
        cluster.name(first),
        second.map_or("?", |i| cluster.name(i)),
        tally.retried,
        tally.duplicates,
        incremental_runs,
        began.elapsed()
    );
    worker.kill().await.unwrap();
}
