//! `catalog-sync setup`, `worker`, `scheduler` and `run` (worker and scheduler in one process):
//! their flags, turned into settings and handed to [`crate::app`].

use std::process::ExitCode;

use chrono::{DateTime, Utc};
use clap::Args;
use tokio_util::sync::CancellationToken;

use super::args::{EngineArgs, NatsArgs, TopologyArgs, parse};
use super::print::outln;
use crate::app;
use crate::settings::{Schedule, ScheduleSettings, WorkerSettings};

/// Where the worker and the scheduler serve their operations endpoint.
#[derive(Args, Debug)]
pub struct MetricsArgs {
    /// Address of the operations endpoint: /metrics, /healthz, /readyz and the worker's
    /// /status, which answer anyone who reaches them. Loopback by default; in a container,
    /// where probes and Prometheus come from outside, 0.0.0.0:9464 (the image sets it).
    #[arg(
        long,
        env = "METRICS_LISTEN",
        value_name = "METRICS_LISTEN",
        default_value = "127.0.0.1:9464"
    )]
    pub metrics_listen: std::net::SocketAddr,
}

#[derive(Args, Debug)]
pub struct SetupCommand {
    #[command(flatten)]
    pub nats: NatsArgs,
    #[command(flatten)]
    pub topology: TopologyArgs,
}

#[derive(Args, Debug)]
pub struct WorkerCommand {
    #[command(flatten)]
    pub engine: EngineArgs,
    #[command(flatten)]
    pub nats: NatsArgs,
    #[command(flatten)]
    pub topology: TopologyArgs,
    /// After SIGINT/SIGTERM, the longest the worker takes to finish in-flight work before it
    /// exits anyway (unacknowledged messages are redelivered).
    #[arg(long, env = "SHUTDOWN_TIMEOUT", value_name = "SHUTDOWN_TIMEOUT", default_value = "30s", value_parser = parse::parse_duration)]
    pub shutdown_timeout: std::time::Duration,

    #[command(flatten)]
    pub metrics: MetricsArgs,

    /// Largest message body the worker accepts; larger messages are dead-lettered. Default: the
    /// NATS server's max_payload (nats-server.conf), so whatever can be published is handled.
    #[arg(long, env = "SYNC_MAX_MESSAGE_BYTES", value_name = "SYNC_MAX_MESSAGE_BYTES", value_parser = clap::value_parser!(u64).range(64..=64 * 1024 * 1024))]
    pub max_message_bytes: Option<u64>,
}

impl WorkerCommand {
    pub fn settings(&self) -> WorkerSettings {
        WorkerSettings {
            engine: self.engine.settings(),
            nats: self.nats.settings(),
            topology: self.topology.settings(),
            shutdown_timeout: self.shutdown_timeout,
            metrics_listen: self.metrics.metrics_listen,
            max_message_bytes: self.max_message_bytes.map(|b| b as usize),
            ingress: None,
        }
    }
}

#[derive(Args, Debug, Clone)]
pub struct ScheduleArgs {
    /// Cron schedule in UTC: 5 fields (minute hour day month weekday), or 6 with seconds first.
    #[arg(
        long,
        env = "SYNC_SCHEDULE",
        value_name = "SYNC_SCHEDULE",
        default_value = "*/30 * * * *"
    )]
    pub schedule: Schedule,

    /// Cron schedule in UTC of `changes` syncs (products the source lists as changed since the
    /// last succeeded full sync), next to the full syncs of SYNC_SCHEDULE; e.g. "*/5 * * * *".
    /// The source needs a [changes] block.
    #[arg(
        long,
        env = "SYNC_CHANGES_SCHEDULE",
        value_name = "SYNC_CHANGES_SCHEDULE"
    )]
    pub changes_schedule: Option<Schedule>,

    /// Stop after this many schedule slots (of each schedule).
    #[arg(long, value_name = "N")]
    pub max_runs: Option<u64>,

    /// Begin with the first slot after this time (RFC 3339) instead of after now.
    #[arg(long, value_name = "TIME")]
    pub start_after: Option<DateTime<Utc>>,
}

impl ScheduleArgs {
    pub fn settings(&self) -> ScheduleSettings {
        ScheduleSettings {
            schedule: self.schedule.clone(),
            changes_schedule: self.changes_schedule.clone(),
            max_runs: self.max_runs,
            start_after: self.start_after,
        }
    }
}

#[derive(Args, Debug)]
pub struct SchedulerCommand {
    #[command(flatten)]
    pub schedule: ScheduleArgs,

    #[command(flatten)]
    pub metrics: MetricsArgs,

    #[command(flatten)]
    pub nats: NatsArgs,
    #[command(flatten)]
    pub topology: TopologyArgs,
}

#[derive(Args, Debug)]
pub struct RunCommand {
    #[command(flatten)]
    pub worker: WorkerCommand,
    #[command(flatten)]
    pub schedule: ScheduleArgs,
    #[command(flatten)]
    pub ingress: super::ingress::IngressArgs,
}

pub async fn setup(command: SetupCommand) -> anyhow::Result<ExitCode> {
    let (_, report) = app::connect_and_setup(
        &command.nats.settings(),
        &command.topology.settings(),
        "catalog-sync setup",
    )
    .await?;
    for created in &report.created {
        outln!("created {created}")?;
    }
    for changed in &report.changed {
        outln!("changed {changed}")?;
    }
    if report.created.is_empty() && report.changed.is_empty() {
        outln!("streams and consumers are up to date")?;
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn worker(
    command: WorkerCommand,
    shutdown: CancellationToken,
) -> anyhow::Result<ExitCode> {
    app::worker(&command.settings(), None, shutdown).await?;
    Ok(ExitCode::SUCCESS)
}

pub async fn scheduler(
    command: SchedulerCommand,
    shutdown: CancellationToken,
) -> anyhow::Result<ExitCode> {
    app::scheduler(
        &command.nats.settings(),
        &command.topology.settings(),
        &command.schedule.settings(),
        command.metrics.metrics_listen,
        shutdown,
    )
    .await?;
    Ok(ExitCode::SUCCESS)
}

/// Worker and scheduler in one process, for single-node installs; with a webhook secret set,
/// the ingress too.
pub async fn run(command: RunCommand, shutdown: CancellationToken) -> anyhow::Result<ExitCode> {
    let schedule = command.schedule.settings();
    let settings = WorkerSettings {
        ingress: command.ingress.settings()?,
        ..command.worker.settings()
    };
    app::worker(&settings, Some(&schedule), shutdown).await?;
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(clap::Parser, Debug)]
    struct Cli {
        #[command(flatten)]
        metrics: MetricsArgs,
    }

    #[test]
    fn the_operations_endpoint_listens_on_loopback_unless_told_otherwise() {
        use clap::CommandFactory as _;
        let command = Cli::command();
        let arg = command
            .get_arguments()
            .find(|a| a.get_id() == "metrics_listen")
            .expect("the metrics_listen argument");
        let default: std::net::SocketAddr = arg.get_default_values()[0]
            .to_str()
            .and_then(|text| text.parse().ok())
            .expect("a socket address");
        assert!(default.ip().is_loopback(), "{default}");
        assert_eq!(default.port(), 9464);
    }
}
