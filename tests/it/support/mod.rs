//! Shared harness of the integration tests: the simulated upstream on a free port, an engine
//! wired to it and to the test's own database (`#[sqlx::test]` creates and drops one per test),
//! and small database probes.

pub mod app;
pub mod cluster;
pub mod medusa;
pub mod medusa_catalog;
pub mod otlp;
pub mod process;

use std::net::SocketAddr;
use std::time::Duration;

use catalog_sync::domain::RunSummary;
use catalog_sync::engine::{Engine, RunControl, RunOutcome, RunRequest, Target};
use catalog_sync::settings::{EngineSettings, UpstreamSettings};
use catalog_sync::store::Store;
use catalog_sync::upstream::Upstream;
use catalog_sync_simulator::{Simulator, SimulatorConfig};
use sqlx::PgPool;

/// Installs the TLS crypto provider the crate expects (as `main` does).
pub fn init() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_test_writer()
        .try_init();
}

/// A simulator with `products` products on 127.0.0.1 and a free port.
pub async fn simulator(products: u64) -> Simulator {
    simulator_with(SimulatorConfig {
        products,
        ..SimulatorConfig::default()
    })
    .await
}

pub async fn simulator_with(config: SimulatorConfig) -> Simulator {
    init();
    Simulator::start(config, SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .expect("simulator starts")
}

/// Upstream settings for tests: short timeouts and delays so fault tests stay fast.
pub fn upstream_settings(sim: &Simulator) -> UpstreamSettings {
    UpstreamSettings {
        source: None,
        api_url: sim.url(),
        api_token: None,
        api_key: None,
        api_key_header: None,
        connect_timeout: Duration::from_secs(1),
        request_timeout: Duration::from_secs(2),
        max_retries: 3,
        retry_min_delay: Duration::from_millis(10),
        retry_max_delay: Duration::from_secs(3),
    }
}

/// Small pages and batches, so a few hundred products exercise many of each.
pub fn settings() -> EngineSettings {
    EngineSettings {
        page_size: 50,
        batch_size: 120,
        concurrency: 4,
        write_concurrency: 2,
        safe_max: 1_000_000,
        archive_max_ratio: 0.2,
        write_retries: 2,
        progress_interval: Duration::from_millis(100),
        stale_after: Duration::from_secs(60),
        future_tolerance: Duration::from_secs(300),
        dry_run: false,
        force_archive: false,
    }
}

pub fn engine(pool: &PgPool, sim: &Simulator) -> Engine {
    engine_with(pool, upstream_settings(sim), settings())
}

pub fn engine_with(pool: &PgPool, upstream: UpstreamSettings, settings: EngineSettings) -> Engine {
    let upstream = Upstream::new(&upstream).expect("upstream client");
    Engine::new(Store::from_pool(pool.clone()), upstream, settings)
}

/// Runs a request to its end and returns the summary.
pub async fn run(engine: &Engine, request: RunRequest) -> RunSummary {
    match engine
        .run(&request, RunControl::default())
        .await
        .expect("run recorded")
    {
        RunOutcome::Finished(summary) | RunOutcome::AlreadyFinished(summary) => summary,
        RunOutcome::Interrupted { run_id } => panic!("run {run_id} was interrupted"),
    }
}

pub async fn full_sync(engine: &Engine) -> RunSummary {
    run(engine, RunRequest::new(Target::Full)).await
}

pub async fn count(pool: &PgPool, sql: &'static str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(pool).await.expect(sql)
}

/// Every product row's id and `xmin` (the transaction that last wrote it).
pub async fn row_versions(pool: &PgPool) -> Vec<(String, String)> {
    sqlx::query_as("select external_id, xmin::text from products order by external_id")
        .fetch_all(pool)
        .await
        .expect("row versions")
}

/// The database URL of the test's own database, for running the binary against it.
pub fn database_url(pool: &PgPool) -> String {
    let base = std::env::var("DATABASE_URL").expect("DATABASE_URL is set for the tests");
    let mut url = reqwest::Url::parse(&base).expect("DATABASE_URL is a URL");
    let name = pool
        .connect_options()
        .get_database()
        .expect("test pool names its database")
        .to_owned();
    url.set_path(&format!("/{name}"));
    url.to_string()
}

/// A nats-server (with JetStream, unless told otherwise) on a free port and a temporary store, killed on drop. The
/// binary is `$NATS_SERVER_BIN`, else `nats-server` on the PATH (2.10 or newer).
pub struct NatsServer {
    child: std::process::Child,
    pub port: u16,
    store: tempfile::TempDir,
    /// Further command-line options (authentication, say), kept for restarts.
    options: Vec<String>,
    jetstream: bool,
}

impl NatsServer {
    pub async fn spawn() -> NatsServer {
        NatsServer::spawn_with(&[]).await
    }

    /// A server started with further `options`, e.g. `["--user", "u", "--pass", "p"]`.
    pub async fn spawn_with(options: &[&str]) -> NatsServer {
        NatsServer::spawn_as(options, true).await
    }

    /// A server started without `-js`: core NATS only, as `nats-server` runs by default.
    pub async fn spawn_without_jetstream() -> NatsServer {
        NatsServer::spawn_as(&[], false).await
    }

    async fn spawn_as(options: &[&str], jetstream: bool) -> NatsServer {
        let store = tempfile::tempdir().expect("temp dir");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let options: Vec<String> = options.iter().map(|o| (*o).to_owned()).collect();
        let child = Self::start(port, store.path(), &options, jetstream).await;
        NatsServer {
            child,
            port,
            store,
            options,
            jetstream,
        }
    }

    /// Stops the server, keeps it down for `down`, and starts it again on the same port with
    /// the same store.
    pub async fn restart(&mut self, down: Duration) {
        self.stop();
        tokio::time::sleep(down).await;
        self.start_again().await;
    }

    /// Kills the server; [`NatsServer::start_again`] brings it back with the same store.
    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    pub async fn start_again(&mut self) {
        self.child = Self::start(self.port, self.store.path(), &self.options, self.jetstream).await;
    }

    async fn start(
        port: u16,
        store: &std::path::Path,
        options: &[String],
        jetstream: bool,
    ) -> std::process::Child {
        let binary = std::env::var("NATS_SERVER_BIN").unwrap_or_else(|_| "nats-server".into());
        let mut command = std::process::Command::new(&binary);
        command.args(["-a", "127.0.0.1", "-p", &port.to_string()]);
        if jetstream {
            command.arg("-js").arg("-sd").arg(store);
        }
        let mut child = command
            .args(options)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("starting {binary}: {e}"));
        for _ in 0..200 {
            if tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_ok()
            {
                return child;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let _ = child.kill();
        let _ = child.wait();
        panic!("nats-server did not start on port {port}");
    }

    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    pub async fn client(&self) -> async_nats::Client {
        async_nats::connect(self.url())
            .await
            .expect("connect to nats")
    }
}

impl Drop for NatsServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A port of loopback that nothing listens on (for a process the test starts).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// Waits up to `seconds` for `check` to hold.
pub async fn eventually<F, Fut>(seconds: u64, mut check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(seconds);
    while tokio::time::Instant::now() < deadline {
        if check().await {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}

/// Every message stored on `subject` in `stream`, oldest first, as JSON.
pub async fn stored(
    js: &async_nats::jetstream::Context,
    stream: &str,
    subject: &str,
) -> Vec<serde_json::Value> {
    use futures_util::StreamExt;
    let consumer: async_nats::jetstream::consumer::PullConsumer = js
        .get_stream(stream)
        .await
        .expect("stream exists")
        .create_consumer(async_nats::jetstream::consumer::pull::Config {
            filter_subject: subject.to_owned(),
            ..Default::default()
        })
        .await
        .expect("ephemeral consumer");
    let mut out = Vec::new();
    let mut batch = consumer
        .fetch()
        .max_messages(1000)
        .messages()
        .await
        .expect("fetch");
    while let Some(Ok(message)) = batch.next().await {
        out.push(serde_json::from_slice(&message.payload).expect("JSON message"));
    }
    out
}
