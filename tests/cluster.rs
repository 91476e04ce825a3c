//! catalog-sync on a three-node JetStream cluster with three-replica streams: the server
//! configurations in `nats/cluster/` and `NATS_STREAM_REPLICAS`.

mod support;

use std::collections::{BTreeMap, HashSet};
use std::path::Path;

use support::cluster::NatsCluster;
use support::process::Env;
use support::*;

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
