//! A JetStream cluster of three nats-servers on loopback: free client and route ports, one
//! temporary store per node, routes from every node to the others and one cluster name. Nodes
//! can be killed (SIGKILL: a lost machine, nothing flushed) and restarted on the same ports
//! with the same store, as a machine that comes back. Every node is killed on drop.
//!
//! The binary is `$NATS_SERVER_BIN`, else `nats-server` on the PATH. Each node logs to a file
//! in its temporary directory; when a test fails, the end of every log is printed.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use async_nats::jetstream::{self, stream};

use super::eventually;

/// Name of the cluster every node joins.
const CLUSTER_NAME: &str = "catalog-sync-test";

/// How long a JetStream request or publish of the harness waits: short, so a probe that hits a
/// cluster without a leader gives up quickly and is tried again.
const API_TIMEOUT: Duration = Duration::from_secs(2);

struct Node {
    /// `server_name`, which stream info reports as the leader.
    name: String,
    port: u16,
    cluster_port: u16,
    /// The node's directory: its JetStream store (`store/`) and its log (`server.log`).
    dir: tempfile::TempDir,
    child: Option<Child>,
}

impl Node {
    fn store(&self) -> PathBuf {
        self.dir.path().join("store")
    }

    fn log(&self) -> PathBuf {
        self.dir.path().join("server.log")
    }
}

pub struct NatsCluster {
    nodes: Vec<Node>,
}

impl NatsCluster {
    /// Starts three nodes and waits until the cluster places and serves a three-replica stream.
    pub async fn start() -> NatsCluster {
        NatsCluster::start_with(3).await
    }

    /// Starts `size` nodes (at least 2) and waits until JetStream can place a stream with one
    /// replica on each of them.
    pub async fn start_with(size: usize) -> NatsCluster {
        assert!(size >= 2, "a cluster has at least two nodes");
        super::init();
        let ports = free_ports(2 * size);
        let nodes: Vec<Node> = (0..size)
            .map(|i| Node {
                name: format!("node-{}", char::from(b'a' + i as u8)),
                port: ports[2 * i],
                cluster_port: ports[2 * i + 1],
                dir: tempfile::tempdir().expect("temp dir"),
                child: None,
            })
            .collect();
        let mut cluster = NatsCluster { nodes };
        // All at once: each node's routes name the others, which retry until they are up.
        for i in 0..size {
            cluster.spawn(i);
        }
        for i in 0..size {
            cluster.wait_for_port(i).await;
        }
        cluster.wait_for_jetstream().await;
        cluster
    }

    /// Number of nodes.
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// The client URL of node `i`.
    pub fn url(&self, i: usize) -> String {
        format!("nats://127.0.0.1:{}", self.nodes[i].port)
    }

    /// Every node's client URL, comma-separated: the `NATS_URL` of a process that should ride
    /// out the loss of any one node.
    pub fn urls(&self) -> String {
        (0..self.len())
            .map(|i| self.url(i))
            .collect::<Vec<_>>()
            .join(",")
    }

    /// The `server_name` of node `i`.
    pub fn name(&self, i: usize) -> &str {
        &self.nodes[i].name
    }

    /// The node whose `server_name` is `name`.
    pub fn index_of(&self, name: &str) -> Option<usize> {
        self.nodes.iter().position(|n| n.name == name)
    }

    /// Whether node `i` is running (not killed).
    pub fn is_up(&self, i: usize) -> bool {
        self.nodes[i].child.is_some()
    }

    /// A client that knows every node and reconnects (to any of them) for as long as it lives.
    pub async fn client(&self) -> async_nats::Client {
        let urls: Vec<String> = (0..self.len()).map(|i| self.url(i)).collect();
        async_nats::ConnectOptions::new()
            .connection_timeout(Duration::from_secs(2))
            .max_reconnects(None)
            .connect(urls.as_slice())
            .await
            .expect("connect to the cluster")
    }

    /// A JetStream context over `client` whose requests and publish acknowledgements time out
    /// after two seconds (the default waits up to ten, long for a retry loop).
    pub fn jetstream(client: async_nats::Client) -> jetstream::Context {
        jetstream::ContextBuilder::new()
            .timeout(API_TIMEOUT)
            .build(client)
    }

    /// Kills node `i` with SIGKILL and waits for it to be gone: nothing is flushed, no leadership
    /// is handed over, as when a machine dies.
    pub fn kill(&mut self, i: usize) {
        if let Some(mut child) = self.nodes[i].child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts node `i` again (killing it first if it runs) on its ports with its store, and
    /// waits until it accepts clients. It then catches up with the others by itself: see
    /// [`NatsCluster::wait_until_replicated`].
    pub async fn restart(&mut self, i: usize) {
        self.kill(i);
        self.spawn(i);
        self.wait_for_port(i).await;
    }

    /// The node leading `stream`'s replication group, as its stream info reports it; `None`
    /// while there is no leader (an election) or the request fails.
    pub async fn stream_leader(&self, js: &jetstream::Context, stream: &str) -> Option<usize> {
        let info = stream_info(js, stream).await?;
        self.index_of(info.cluster?.leader.as_deref()?)
    }

    /// Waits (up to `seconds`) for `stream` to have a leader that is up, and returns it.
    pub async fn wait_for_leader(
        &self,
        js: &jetstream::Context,
        stream: &str,
        seconds: u64,
    ) -> usize {
        let leader = std::cell::Cell::new(None);
        let found = eventually(seconds, || async {
            leader.set(
                self.stream_leader(js, stream)
                    .await
                    .filter(|&i| self.is_up(i)),
            );
            leader.get().is_some()
        })
        .await;
        assert!(found, "{stream} has no leader after {seconds} s");
        leader.get().expect("a leader")
    }

    /// Waits (up to `seconds`) until `stream` has a leader and every other node is a current
    /// follower: all its replicas are in sync again, e.g. after a restart.
    pub async fn wait_until_replicated(&self, js: &jetstream::Context, stream: &str, seconds: u64) {
        let replicated = eventually(seconds, || async {
            let Some(info) = stream_info(js, stream).await else {
                return false;
            };
            let Some(cluster) = info.cluster else {
                return false;
            };
            cluster.leader.is_some()
                && cluster.replicas.len() + 1 == self.len()
                && cluster.replicas.iter().all(|p| p.current && !p.offline)
        })
        .await;
        assert!(
            replicated,
            "{stream} is not replicated on all {} nodes after {seconds} s",
            self.len()
        );
    }

    /// The last `lines` lines of node `i`'s log.
    pub fn log_tail(&self, i: usize, lines: usize) -> String {
        let text = std::fs::read_to_string(self.nodes[i].log()).unwrap_or_default();
        let all: Vec<&str> = text.lines().collect();
        all[all.len().saturating_sub(lines)..].join("\n")
    }

    fn spawn(&mut self, i: usize) {
        let routes = self
            .nodes
            .iter()
            .enumerate()
            .filter(|(j, _)| *j != i)
            .map(|(_, n)| format!("nats-route://127.0.0.1:{}", n.cluster_port))
            .collect::<Vec<_>>()
            .join(",");
        let node = &self.nodes[i];
        let binary = std::env::var("NATS_SERVER_BIN").unwrap_or_else(|_| "nats-server".into());
        let child = Command::new(&binary)
            .args(["-a", "127.0.0.1", "-p", &node.port.to_string()])
            .args(["--server_name", &node.name])
            .args(["-js", "-sd"])
            .arg(node.store())
            .args(["--cluster_name", CLUSTER_NAME])
            .args([
                "--cluster",
                &format!("nats://127.0.0.1:{}", node.cluster_port),
            ])
            .args(["--routes", &routes])
            .arg("-l")
            .arg(node.log())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("starting {binary}: {e}"));
        self.nodes[i].child = Some(child);
    }

    async fn wait_for_port(&mut self, i: usize) {
        let port = self.nodes[i].port;
        let up = eventually(10, || async {
            tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_ok()
        })
        .await;
        if !up {
            let log = self.log_tail(i, 20);
            self.kill(i);
            panic!(
                "{} did not start on port {port}:\n{log}",
                self.nodes[i].name
            );
        }
    }

    /// Waits until the nodes have elected a meta leader and can place a stream on every node:
    /// creates and deletes a memory stream with one replica per node.
    async fn wait_for_jetstream(&self) {
        let js = NatsCluster::jetstream(self.client().await);
        let probe = stream::Config {
            name: "CLUSTER_READY".into(),
            subjects: vec!["cluster.ready".into()],
            storage: stream::StorageType::Memory,
            num_replicas: self.len(),
            ..Default::default()
        };
        let ready = eventually(30, || async {
            js.get_or_create_stream(probe.clone()).await.is_ok()
                && js.delete_stream("CLUSTER_READY").await.is_ok()
        })
        .await;
        assert!(
            ready,
            "JetStream did not become usable on the cluster within 30 s:\n{}",
            self.logs()
        );
    }

    fn logs(&self) -> String {
        (0..self.len())
            .map(|i| format!("--- {} ---\n{}", self.nodes[i].name, self.log_tail(i, 30)))
            .collect::<Vec<_>>()
            .join("\n")
    }
}

impl Drop for NatsCluster {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("nats-server logs:\n{}", self.logs());
        }
        for i in 0..self.len() {
            self.kill(i);
        }
    }
}

/// Stream info, or `None` when it cannot be had right now (no leader, no meta leader, the
/// client reconnecting).
async fn stream_info(js: &jetstream::Context, name: &str) -> Option<stream::Info> {
    let mut stream = js.get_stream(name).await.ok()?;
    stream.info().await.ok().cloned()
}

/// `n` distinct ports that were free a moment ago (all bound at once, so no two are equal).
fn free_ports(n: usize) -> Vec<u16> {
    let listeners: Vec<TcpListener> = (0..n)
        .map(|_| TcpListener::bind("127.0.0.1:0").expect("free port"))
        .collect();
    listeners
        .iter()
        .map(|l| l.local_addr().expect("bound address").port())
        .collect()
}
