//! The command line: one subcommand per job, each with its own arguments module. Every flag
//! also reads an environment variable; `--help` lists them.

mod args;
mod ingress;
mod medusa;
mod output;
mod print;
mod publish;
mod request;
mod runs;
mod source;
mod status;
mod sync;
mod wait;
mod worker;

use std::process::ExitCode;

use clap::{Args, CommandFactory as _, FromArgMatches as _, Parser, Subcommand};
use tokio_util::sync::CancellationToken;
use tracing::info;

use crate::store::Store;
use args::DatabaseArgs;

/// The rules a user relies on, shown by `catalog-sync --help` (the README has the details).
const RULES: &str = "\
How the catalog stays equal to the upstream:
  Archiving   Products a full sync did not see are confirmed gone (item endpoint 404, or a
              consistent id-only listing) before they are archived; a listing that moved while
              it was read is reported as listing_moved. SYNC_ARCHIVE_MAX_RATIO applies to the
              confirmed set. Nothing is deleted; an archived product that comes back is restored.
  Handles     Assigned once, from the title of a new product; a renamed product keeps its handle.
  Versions    A product's version is its upstream update time (meta.updatedAt, or a source
              file's fields.updated_at); an event's is its updated_at, else its product's.
              Nothing older ever replaces something newer. An event's product without a
              version is fetched instead; a deletion without one is confirmed with the
              upstream first.
  Prices      Exact decimal text, never floating point. Negative or non-numeric prices, negative
              stock and NUL characters make a product invalid; it fails alone.
  Runs        Each attempt is a sync_runs row. A run whose process died is marked abandoned
              (when its request comes back, or after SYNC_RUN_STALE_AFTER without a heartbeat),
              and the next attempt of a full sync resumes from its last committed checkpoint.
  Credentials User info in SYNC_API_URL, NATS_URL and DATABASE_URL is used, and only ever shown
              as REDACTED:REDACTED@, however it is written (with a scheme or without, a
              token, several servers). A source file names the variables that hold its
              secrets, and its requests never follow a redirect to another host, nor go
              to a host a product id names.";

/// Keeps a commerce catalog in PostgreSQL in sync with an upstream product API.
#[derive(Parser, Debug)]
#[command(name = "catalog-sync", version, about, after_long_help = RULES)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,

    /// More log lines on stderr: -v for progress notes (info), -vv for details (debug).
    /// Commands run from a terminal log only warnings by default; services log info.
    /// RUST_LOG, when set, decides instead.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
}

impl Cli {
    /// How this command logs: services (worker, run, scheduler) always at info; a command
    /// typed at a terminal quietly, so its progress bar and output are not interleaved with
    /// log lines.
    pub fn logging(&self) -> crate::telemetry::Logging {
        use std::io::IsTerminal as _;
        let service = matches!(
            self.command,
            Command::Worker(_) | Command::Run(_) | Command::Scheduler(_) | Command::Ingress(_)
        );
        crate::telemetry::Logging {
            quiet: !service && std::io::stderr().is_terminal(),
            verbose: self.verbose,
        }
    }

    /// The service name its spans carry, by role, unless `OTEL_SERVICE_NAME` or
    /// `OTEL_RESOURCE_ATTRIBUTES` names another.
    pub fn service_name(&self) -> &'static str {
        match self.command {
            Command::Worker(_) | Command::Run(_) => WORKER_SERVICE,
            Command::Scheduler(_) => SCHEDULER_SERVICE,
            Command::Ingress(_) => INGRESS_SERVICE,
            _ => CLI_SERVICE,
        }
    }
}

/// The trace service name of the worker, and of `run` (a worker with a scheduler inside: its
/// spans are mostly the worker's, and a trace backend finds them where it finds a worker's).
pub const WORKER_SERVICE: &str = "catalog-sync-worker";
/// The trace service name of the scheduler.
pub const SCHEDULER_SERVICE: &str = "catalog-sync-scheduler";
/// The trace service name of the webhook ingress.
pub const INGRESS_SERVICE: &str = "catalog-sync-ingress";
/// The trace service name of every one-shot command (`sync`, `request`, `publish-update`, ...).
pub const CLI_SERVICE: &str = "catalog-sync-cli";

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Apply the database migrations and exit.
    Migrate(MigrateArgs),
    /// Run one sync now (full, or of given products) and print its summary.
    Sync(Box<sync::SyncCommand>),
    /// List past runs, or show one with its errors.
    Runs(runs::RunsCommand),
    /// Create or update the JetStream streams and consumers.
    Setup(Box<worker::SetupCommand>),
    /// Consume sync requests from JetStream and publish run summaries.
    Worker(Box<worker::WorkerCommand>),
    /// Publish a sync request; with --wait, follow it and print its summary.
    Request(Box<request::RequestCommand>),
    /// Publish product.updated events for products changed (or deleted) upstream.
    PublishUpdate(Box<publish::PublishUpdateCommand>),
    /// Publish sync requests on a cron schedule (one per slot across replicas).
    Scheduler(Box<worker::SchedulerCommand>),
    /// Worker and scheduler in one process, for single-node installs (and the webhook
    /// ingress, when a webhook secret is set).
    Run(Box<worker::RunCommand>),
    /// Receive signed shop webhooks (Shopify, WooCommerce, Standard Webhooks) and publish
    /// them as product events.
    Ingress(Box<ingress::IngressCommand>),
    /// Check an upstream source file against the real API.
    Source(Box<source::SourceCommand>),
    /// The service at a glance: last success, runs going on, queues, dead letters, next slots.
    Status(Box<status::StatusCommand>),
    /// List, replay or purge dead letters (messages the worker gave up on).
    Dead(Box<status::DeadCommand>),
    /// Turn the Medusa sink off (or on again) for a database.
    Medusa(Box<medusa::MedusaCommand>),
}

#[derive(Args, Debug)]
pub struct MigrateArgs {
    #[command(flatten)]
    pub database: DatabaseArgs,
}

/// Parses the command line. `--help` shows an environment variable's value next to its flag,
/// except where that value is a URL with user info in it: then the value is hidden.
pub fn parse() -> Cli {
    let matches = hide_credentials(Cli::command()).get_matches();
    Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit())
}

fn hide_credentials(command: clap::Command) -> clap::Command {
    command
        .mut_args(|arg| {
            let secret = arg
                .get_env()
                .and_then(std::env::var_os)
                .is_some_and(|value| crate::credentials::has_user_info(&value));
            if secret {
                arg.hide_env_values(true)
            } else {
                arg
            }
        })
        .mut_subcommands(hide_credentials)
}

/// Exit codes shared by every command (the README's table).
pub mod exit {
    use std::process::ExitCode;

    /// The run failed, or the command could not do its work (a service unreachable).
    pub const FAILED: u8 = 1;
    /// The command line or the configuration is wrong (also clap's own code).
    pub const CONFIG: u8 = 2;
    /// The run finished partial: some pages, products or batches failed.
    pub const PARTIAL: u8 = 3;
    /// Interrupted by SIGINT or SIGTERM.
    pub const INTERRUPTED: u8 = 130;

    pub fn code(code: u8) -> ExitCode {
        ExitCode::from(code)
    }
}

/// The exit code of a command that ended with `e`: configuration mistakes are 2, anything else 1.
pub fn exit_code(e: &anyhow::Error) -> u8 {
    let config = e.chain().any(|cause| {
        cause
            .downcast_ref::<crate::store::StoreError>()
            .is_some_and(crate::store::StoreError::is_config)
            || cause
                .downcast_ref::<crate::bus::BusError>()
                .is_some_and(crate::bus::BusError::is_config)
            || cause
                .downcast_ref::<crate::upstream::UpstreamError>()
                .is_some_and(crate::upstream::UpstreamError::is_config)
            || cause.is::<crate::source::SourceError>()
            || cause.is::<crate::ingress::ConfigError>()
            || cause
                .downcast_ref::<crate::medusa::MedusaError>()
                .is_some_and(|e| matches!(e, crate::medusa::MedusaError::Config(_)))
    });
    if config { exit::CONFIG } else { exit::FAILED }
}

/// `e` said once: each cause in turn, left out when the text so far already says it.
pub fn describe(e: &anyhow::Error) -> String {
    let mut text = String::new();
    for cause in e.chain() {
        let message = cause.to_string();
        if text.contains(&message) {
            continue;
        }
        if !text.is_empty() {
            text.push_str(": ");
        }
        text.push_str(&message);
    }
    text
}

/// Prints `e` on stderr as `error: ` and its [`describe`]d causes.
pub fn say_error(e: &anyhow::Error) {
    print::errln!("error: {}", describe(e));
}

/// Runs the parsed command until it ends or `shutdown` is cancelled.
pub async fn run(cli: Cli, shutdown: CancellationToken) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Migrate(args) => {
            let store = Store::connect(&args.database.settings()).await?;
            store.migrate().await?;
            info!("migrations applied");
            Ok(ExitCode::SUCCESS)
        }
        Command::Sync(command) => sync::run(*command, shutdown).await,
        Command::Runs(command) => runs::run(command).await,
        Command::Setup(command) => worker::setup(*command).await,
        Command::Worker(command) => worker::worker(*command, shutdown).await,
        Command::Request(command) => request::run(*command, shutdown).await,
        Command::PublishUpdate(command) => publish::run(*command).await,
        Command::Scheduler(command) => worker::scheduler(*command, shutdown).await,
        Command::Run(command) => worker::run(*command, shutdown).await,
        Command::Ingress(command) => ingress::run(*command, shutdown).await,
        Command::Source(command) => source::run(*command).await,
        Command::Status(command) => status::status(*command).await,
        Command::Dead(command) => status::dead(*command).await,
        Command::Medusa(command) => medusa::run(*command).await,
    }
}

/// A token cancelled on the first SIGINT or SIGTERM.
pub fn cancel_on_signals() -> CancellationToken {
    let token = CancellationToken::new();
    let cancel = token.clone();
    tokio::spawn(async move {
        wait_for_signal().await;
        info!("shutdown requested");
        cancel.cancel();
    });
    token
}

#[cfg(unix)]
async fn wait_for_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    match signal(SignalKind::terminate()) {
        Ok(mut term) => {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
        }
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

#[cfg(not(unix))]
async fn wait_for_signal() {
    let _ = tokio::signal::ctrl_c().await;
}
