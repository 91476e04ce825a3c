//! `catalog-sync setup`, `worker`, `scheduler` and `run` (worker and scheduler in one process).

use std::process::ExitCode;

use anyhow::Context;
use clap::Args;
use tokio_util::sync::CancellationToken;

use super::EngineArgs;
use crate::bus::{self, NatsArgs, Topology};
use crate::scheduler::{self, ScheduleArgs};
use crate::worker::Worker;

#[derive(Args, Debug)]
pub struct SetupCommand {
    #[command(flatten)]
    pub nats: NatsArgs,
    #[command(flatten)]
    pub topology: Topology,
}

#[derive(Args, Debug)]
pub struct WorkerCommand {
    #[command(flatten)]
    pub engine: EngineArgs,
    #[command(flatten)]
    pub nats: NatsArgs,
    #[command(flatten)]
    pub topology: Topology,
    /// After SIGINT/SIGTERM, the longest the worker takes to finish in-flight work before it
    /// exits anyway (unacknowledged messages are redelivered).
    #[arg(long, env = "SHUTDOWN_TIMEOUT", value_name = "SHUTDOWN_TIMEOUT", default_value = "30s", value_parser = crate::config::parse_duration)]
    pub shutdown_timeout: std::time::Duration,

    /// Address of the operations endpoint: /metrics, /healthz, /readyz.
    #[arg(
        long,
        env = "METRICS_LISTEN",
        value_name = "METRICS_LISTEN",
        default_value = "0.0.0.0:9464"
    )]
    pub metrics_listen: std::net::SocketAddr,

    /// Largest message body the worker accepts; larger messages are dead-lettered.
    #[arg(long, env = "SYNC_MAX_MESSAGE_BYTES", value_name = "SYNC_MAX_MESSAGE_BYTES", default_value_t = 256 * 1024, value_parser = clap::value_parser!(u64).range(64..=64 * 1024 * 1024))]
    pub max_message_bytes: u64,
}

#[derive(Args, Debug)]
pub struct SchedulerCommand {
    #[command(flatten)]
    pub nats: NatsArgs,
    #[command(flatten)]
    pub topology: Topology,
    #[command(flatten)]
    pub schedule: ScheduleArgs,
}

#[derive(Args, Debug)]
pub struct RunCommand {
    #[command(flatten)]
    pub worker: WorkerCommand,
    #[command(flatten)]
    pub schedule: ScheduleArgs,
}

pub async fn scheduler(
    command: SchedulerCommand,
    shutdown: CancellationToken,
) -> anyhow::Result<ExitCode> {
    let client = bus::connect(&command.nats, "catalog-sync scheduler").await?;
    bus::setup(
        &async_nats::jetstream::new(client.clone()),
        &command.topology,
    )
    .await?;
    scheduler::run(
        client.clone(),
        &command.topology,
        &command.schedule,
        shutdown,
    )
    .await?;
    let _ = client.flush().await;
    Ok(ExitCode::SUCCESS)
}

/// Worker and scheduler in one process, for single-node installs.
pub async fn run(command: RunCommand, shutdown: CancellationToken) -> anyhow::Result<ExitCode> {
    let client = bus::connect(&command.worker.nats, "catalog-sync scheduler").await?;
    bus::setup(
        &async_nats::jetstream::new(client.clone()),
        &command.worker.topology,
    )
    .await?;
    let topology = command.worker.topology.clone();
    let schedule = command.schedule;
    let scheduler_shutdown = shutdown.clone();
    let scheduler = tokio::spawn(async move {
        scheduler::run(client, &topology, &schedule, scheduler_shutdown).await
    });
    let worker = worker(command.worker, shutdown).await;
    scheduler.abort();
    worker
}

pub async fn setup(command: SetupCommand) -> anyhow::Result<ExitCode> {
    let client = bus::connect(&command.nats, "catalog-sync setup").await?;
    let report = bus::setup(&async_nats::jetstream::new(client), &command.topology).await?;
    for created in &report.created {
        println!("created {created}");
    }
    for changed in &report.changed {
        println!("changed {changed}");
    }
    if report.created.is_empty() && report.changed.is_empty() {
        println!("streams and consumers are up to date");
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn worker(
    command: WorkerCommand,
    shutdown: CancellationToken,
) -> anyhow::Result<ExitCode> {
    let engine = command.engine.engine().await?;
    let client = bus::connect(&command.nats, "catalog-sync worker").await?;
    // Create what is missing; settings changed on existing streams and consumers are logged.
    bus::setup(
        &async_nats::jetstream::new(client.clone()),
        &command.topology,
    )
    .await?;
    let listener = tokio::net::TcpListener::bind(command.metrics_listen)
        .await
        .with_context(|| format!("METRICS_LISTEN {}", command.metrics_listen))?;
    let readiness = crate::health::Readiness {
        client: client.clone(),
        store: engine.store().clone(),
        topology: command.topology.clone(),
    };
    let endpoint = tokio::spawn(crate::health::serve(listener, readiness, shutdown.clone()));
    let worker = Worker {
        engine,
        client: client.clone(),
        topology: command.topology,
        max_message_bytes: command.max_message_bytes as usize,
    };
    let grace = command.shutdown_timeout;
    let deadline = shutdown.clone();
    tokio::select! {
        result = worker.run(shutdown) => result?,
        () = async move {
            deadline.cancelled().await;
            tokio::time::sleep(grace).await;
        } => tracing::warn!(?grace, "in-flight work did not finish within SHUTDOWN_TIMEOUT; exiting"),
    }
    endpoint.abort();
    // Outstanding publishes (acks, progress) reach the server before the process exits.
    let _ = client.flush().await;
    Ok(ExitCode::SUCCESS)
}
