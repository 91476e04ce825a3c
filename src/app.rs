//! The wiring: builds the engine, the worker, the scheduler and the operations endpoint from the
//! settings tree and runs them. The binary's commands and the integration tests both start the
//! service through these functions, so the tests cover the production wiring.

use anyhow::Context as _;
use tokio_util::sync::CancellationToken;
use tracing::warn;

use crate::bus::{self, SetupReport};
use crate::engine::Engine;
use crate::settings::{EngineSetup, NatsSettings, ScheduleSettings, Topology, WorkerSettings};
use crate::store::Store;
use crate::upstream::Upstream;
use crate::worker::Worker;

/// Connects to the database, applies the migrations unless told not to, and builds the engine.
pub async fn engine(setup: &EngineSetup) -> anyhow::Result<Engine> {
    let store = Store::connect(&setup.database)
        .await
        .context("connecting to DATABASE_URL")?;
    if !setup.skip_migrations {
        store.migrate().await?;
    }
    let upstream = Upstream::new(&setup.upstream)?;
    let engine = Engine::new(store.clone(), upstream, setup.engine.clone());
    Ok(match &setup.medusa {
        Some(medusa) => engine.with_medusa(crate::medusa::Sink::new(store, medusa.clone())?),
        None => engine,
    })
}

/// Connects to NATS as `name` and creates the streams and consumers that are missing (settings
/// changed on existing ones are logged and reported).
pub async fn connect_and_setup(
    nats: &NatsSettings,
    topology: &Topology,
    name: &str,
) -> anyhow::Result<(async_nats::Client, SetupReport)> {
    let client = bus::connect(nats, name).await?;
    let report = bus::setup(&async_nats::jetstream::new(client.clone()), topology).await?;
    Ok((client, report))
}

/// The worker: consumes sync requests and product events and serves `/metrics`, `/healthz` and
/// `/readyz`, until `shutdown`; then it finishes in-flight work within the shutdown timeout.
/// With `schedule`, the scheduler runs in the same process.
pub async fn worker(
    settings: &WorkerSettings,
    schedule: Option<&ScheduleSettings>,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    // Medusa pushes leave through the outbox, drained by a pusher of their own (started below):
    // an event's acknowledgement and a catalog write wait for our commit only.
    let engine = engine(&settings.engine)
        .await?
        .leaving_medusa_to_the_pusher();
    let policy = &settings.engine.engine;
    if policy.dry_run {
        warn!(
            "dry run (SYNC_DRY_RUN): requests and events are read and compared, and recorded as dry runs; no catalog row and nothing in Medusa is written"
        );
    }
    if policy.force_archive {
        warn!(
            ratio = policy.archive_max_ratio,
            "SYNC_FORCE_ARCHIVE: full syncs archive what the upstream confirms gone even beyond SYNC_ARCHIVE_MAX_RATIO"
        );
    }
    let (client, _) =
        connect_and_setup(&settings.nats, &settings.topology, "catalog-sync worker").await?;
    let listener = bind(settings.metrics_listen, "METRICS_LISTEN").await?;
    let readiness = crate::health::Readiness {
        client: client.clone(),
        store: Some(engine.store().clone()),
        topology: settings.topology.clone(),
        schedules: crate::status::Schedules {
            full: schedule.map(|s| s.schedule.clone()),
            changes: schedule.and_then(|s| s.changes_schedule.clone()),
        },
    };
    let endpoint = tokio::spawn(crate::health::serve(listener, readiness, shutdown.clone()));
    let webhooks = match &settings.ingress {
        Some(ingress) => Some(tokio::spawn(crate::ingress::serve(
            bind(ingress.listen, "INGRESS_LISTEN").await?,
            client.clone(),
            settings.topology.clone(),
            ingress.clone(),
            shutdown.clone(),
        ))),
        None => None,
    };
    let scheduler = schedule.cloned().map(|schedule| {
        let (client, topology, shutdown) =
            (client.clone(), settings.topology.clone(), shutdown.clone());
        tokio::spawn(
            async move { crate::scheduler::run(client, &topology, &schedule, shutdown).await },
        )
    });
    // Stopped with the consumers, or when they fail. A dry-run worker writes nothing to Medusa.
    let stop_pushing = shutdown.child_token();
    let medusa = engine
        .medusa()
        .filter(|_| !policy.dry_run)
        .cloned()
        .map(|sink| tokio::spawn(sink.run_pusher(stop_pushing.clone())));
    let pusher = medusa.as_ref().map(|task| task.abort_handle());
    let worker = Worker {
        engine,
        client: client.clone(),
        topology: settings.topology.clone(),
        // A message over the server's max_payload cannot exist; a lower configured limit wins.
        max_message_bytes: {
            let server = client.server_info().max_payload;
            settings.max_message_bytes.map_or(server, |m| m.min(server))
        },
        database_probe: tokio::sync::Mutex::new(()),
    };
    let grace = settings.shutdown_timeout;
    let deadline = shutdown.clone();
    let consume_then_stop_pushing = async {
        let result = worker.run(shutdown).await;
        stop_pushing.cancel();
        // The pusher ends after the chunk it is pushing; what it leaves stays owed.
        if let Some(medusa) = medusa {
            let _ = medusa.await;
        }
        result
    };
    let result = tokio::select! {
        result = consume_then_stop_pushing => result,
        () = async move {
            deadline.cancelled().await;
            tokio::time::sleep(grace).await;
        } => {
            warn!(?grace, "in-flight work did not finish within SHUTDOWN_TIMEOUT; exiting");
            Ok(())
        }
    };
    endpoint.abort();
    if let Some(webhooks) = webhooks {
        webhooks.abort();
    }
    if let Some(scheduler) = scheduler {
        scheduler.abort();
    }
    if let Some(pusher) = pusher {
        pusher.abort();
    }
    bus::flush(&client).await;
    result
}

/// The scheduler alone: one sync request per slot until `shutdown` or its last slot, with
/// `/metrics`, `/healthz` and `/readyz` on `metrics_listen`.
pub async fn scheduler(
    nats: &NatsSettings,
    topology: &Topology,
    schedule: &ScheduleSettings,
    metrics_listen: std::net::SocketAddr,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let (client, _) = connect_and_setup(nats, topology, "catalog-sync scheduler").await?;
    let endpoint = bus_only_endpoint(&client, topology, metrics_listen, &shutdown).await?;
    let result = crate::scheduler::run(client.clone(), topology, schedule, shutdown.clone()).await;
    shutdown.cancel();
    let _ = endpoint.await;
    bus::flush(&client).await;
    result
}

/// The webhook ingress alone: verified webhooks become messages on the bus, with `/metrics`,
/// `/healthz` and `/readyz` on `metrics_listen`.
pub async fn ingress(
    nats: &NatsSettings,
    topology: &Topology,
    settings: crate::ingress::IngressSettings,
    metrics_listen: std::net::SocketAddr,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let (client, _) = connect_and_setup(nats, topology, "catalog-sync ingress").await?;
    let webhooks = bind(settings.listen, "INGRESS_LISTEN").await?;
    let endpoint = bus_only_endpoint(&client, topology, metrics_listen, &shutdown).await?;
    let result = crate::ingress::serve(
        webhooks,
        client.clone(),
        topology.clone(),
        settings,
        shutdown.clone(),
    )
    .await
    .context("serving webhooks");
    shutdown.cancel();
    let _ = endpoint.await;
    bus::flush(&client).await;
    result
}

/// The operations endpoint of a process that uses NATS and no database (the scheduler, the
/// ingress): `/readyz` checks the connection and the streams, until `shutdown`.
async fn bus_only_endpoint(
    client: &async_nats::Client,
    topology: &Topology,
    metrics_listen: std::net::SocketAddr,
    shutdown: &CancellationToken,
) -> anyhow::Result<tokio::task::JoinHandle<std::io::Result<()>>> {
    let listener = bind(metrics_listen, "METRICS_LISTEN").await?;
    let readiness = crate::health::Readiness {
        client: client.clone(),
        store: None,
        topology: topology.clone(),
        schedules: crate::status::Schedules::default(),
    };
    Ok(tokio::spawn(crate::health::serve(
        listener,
        readiness,
        shutdown.clone(),
    )))
}

/// A listener on `addr`, the error naming the variable that set it.
async fn bind(
    addr: std::net::SocketAddr,
    variable: &str,
) -> anyhow::Result<tokio::net::TcpListener> {
    tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("{variable} {addr}"))
}
