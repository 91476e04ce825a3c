//! `TestApp`: a nats-server of its own, the test's database and the simulated upstream, with the
//! worker started in-process through [`catalog_sync::app::worker`], the same wiring as
//! `catalog-sync worker`. Its [`TestApp::env`] is the same configuration as environment
//! variables, for tests that run the binary as a child process.

use std::time::Duration;

use async_nats::HeaderMap;
use async_nats::jetstream;
use catalog_sync::messages::message_id_headers;
use catalog_sync::settings::{
    DatabaseSettings, EngineSetup, NatsSettings, Secret, Topology, WorkerSettings,
};
use catalog_sync_simulator::Simulator;
use sqlx::PgPool;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::process::Env;
use super::{NatsServer, database_url, settings, stored, upstream_settings};

/// Largest message body the test worker accepts (small, so the limit is easy to cross).
pub const TEST_MAX_MESSAGE_BYTES: usize = 4096;

pub struct TestApp {
    pub nats: NatsServer,
    pub client: async_nats::Client,
    pub js: jetstream::Context,
    /// The settings the worker runs with; change them before [`TestApp::start_worker`].
    pub settings: WorkerSettings,
    pool: PgPool,
    sim_url: reqwest::Url,
    worker: Option<(CancellationToken, JoinHandle<anyhow::Result<()>>)>,
}

impl TestApp {
    /// A fresh nats-server with the streams and consumers set up; no worker yet.
    pub async fn new(pool: &PgPool, sim: &Simulator) -> TestApp {
        super::init();
        let nats = NatsServer::spawn().await;
        let settings = WorkerSettings {
            engine: EngineSetup {
                database: DatabaseSettings {
                    url: Secret::new(database_url(pool)),
                    max_connections: 8,
                },
                upstream: upstream_settings(sim),
                engine: settings(),
                medusa: None,
                skip_migrations: false,
            },
            nats: NatsSettings::plain(nats.url()),
            topology: Topology::default(),
            shutdown_timeout: Duration::from_secs(10),
            metrics_listen: "127.0.0.1:0".parse().expect("an address"),
            max_message_bytes: Some(TEST_MAX_MESSAGE_BYTES),
            ingress: None,
        };
        let (client, _) =
            catalog_sync::app::connect_and_setup(&settings.nats, &settings.topology, "test")
                .await
                .expect("NATS set up");
        let js = jetstream::new(client.clone());
        TestApp {
            nats,
            client,
            js,
            settings,
            pool: pool.clone(),
            sim_url: sim.url(),
            worker: None,
        }
    }

    /// A fresh nats-server and a worker consuming from it.
    pub async fn start(pool: &PgPool, sim: &Simulator) -> TestApp {
        let mut app = TestApp::new(pool, sim).await;
        app.start_worker();
        app
    }

    /// Starts the worker with [`TestApp::settings`].
    pub fn start_worker(&mut self) {
        assert!(self.worker.is_none(), "one worker at a time");
        let shutdown = CancellationToken::new();
        let settings = self.settings.clone();
        let stop = shutdown.clone();
        let handle =
            tokio::spawn(async move { catalog_sync::app::worker(&settings, None, stop).await });
        self.worker = Some((shutdown, handle));
    }

    /// The same configuration as environment variables for a `catalog-sync` child process.
    pub fn env(&self) -> Env {
        Env::with_nats_url(&self.pool, &self.sim_url, self.nats.url())
    }

    /// Publishes to the stream (with `Nats-Msg-Id` when given); true when de-duplicated.
    pub async fn publish(&self, subject: &str, msg_id: Option<&str>, body: &[u8]) -> bool {
        let headers = msg_id.map(message_id_headers).unwrap_or_default();
        self.publish_with(subject, headers, body).await
    }

    pub async fn publish_with(&self, subject: &str, headers: HeaderMap, body: &[u8]) -> bool {
        let ack = self
            .js
            .publish_with_headers(subject.to_owned(), headers, body.to_vec().into())
            .await
            .expect("publish")
            .await
            .expect("pub ack");
        ack.duplicate
    }

    /// Every message stored on `subject` in the results stream, oldest first.
    pub async fn results(&self, subject: &str) -> Vec<serde_json::Value> {
        stored(&self.js, &self.settings.topology.results_stream, subject).await
    }

    /// Whether consumer `name` has nothing pending and nothing awaiting acknowledgement.
    pub async fn consumer_idle(&self, name: &str) -> bool {
        let stream = self
            .js
            .get_stream(&self.settings.topology.stream)
            .await
            .unwrap();
        let info = stream.consumer_info(name).await.unwrap();
        info.num_pending == 0 && info.num_ack_pending == 0
    }

    pub async fn requests_consumer_idle(&self) -> bool {
        self.consumer_idle(&self.settings.topology.requests_consumer)
            .await
    }

    pub async fn updates_consumer_idle(&self) -> bool {
        self.consumer_idle(&self.settings.topology.updates_consumer)
            .await
    }

    /// Stops the worker (it must stop cleanly within 10 s) and the nats-server.
    pub async fn stop(mut self) {
        if let Some((shutdown, handle)) = self.worker.take() {
            shutdown.cancel();
            tokio::time::timeout(Duration::from_secs(10), handle)
                .await
                .expect("worker stops within 10 s")
                .expect("worker task")
                .expect("worker ends without an error");
        }
    }
}
