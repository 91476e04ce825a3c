//! `catalog-sync request`: publishes a `catalog.sync.requested` event, and with `--wait` follows
//! the run's progress and prints its summary.

use std::io::IsTerminal;
use std::process::ExitCode;
use std::time::Duration;

use clap::Args;
use futures_util::StreamExt;
use indicatif::{ProgressBar, ProgressStyle};
use uuid::Uuid;

use super::args::{NatsArgs, TopologyArgs};
use super::output;
use crate::bus;
use crate::messages::{Scope, SyncProgress, SyncRequested, decode_summary, message_id_headers};
use crate::telemetry::TraceContext;

#[derive(Args, Debug)]
pub struct RequestCommand {
    #[command(flatten)]
    pub nats: NatsArgs,
    #[command(flatten)]
    pub topology: TopologyArgs,

    /// Sync only these upstream product ids (comma-separated) instead of the whole catalog.
    #[arg(long, value_delimiter = ',', value_name = "IDS", value_parser = super::sync::parse_product_id)]
    pub products: Vec<String>,

    /// Ask for a `changes` sync: the products the source lists as changed since the last
    /// succeeded full sync (the worker's source needs a [changes] block). Never archives.
    #[arg(long, conflicts_with = "products")]
    pub changes: bool,

    /// Ask for a dry run: read and compare, write nothing.
    #[arg(long)]
    pub dry_run: bool,

    /// Request id (also the `Nats-Msg-Id`, so publishing it twice runs once); default: a new UUID.
    #[arg(long)]
    pub request_id: Option<String>,

    /// Why the sync is requested; recorded with the run.
    #[arg(long)]
    pub reason: Option<String>,

    /// Wait for the run: a progress bar on stderr, then its summary.
    #[arg(long)]
    pub wait: bool,

    /// With --wait, print exactly the summary as JSON on stdout.
    #[arg(long, requires = "wait")]
    pub json: bool,

    /// With --wait, how long to wait for the summary.
    #[arg(long, default_value = "1h", value_parser = super::args::parse::parse_duration)]
    pub timeout: Duration,
}

pub async fn run(command: RequestCommand) -> anyhow::Result<ExitCode> {
    let client = bus::connect(&command.nats.settings(), "catalog-sync request").await?;
    let request_id = command
        .request_id
        .clone()
        .unwrap_or_else(|| Uuid::new_v4().to_string());
    let request = SyncRequested {
        request_id: Some(request_id.clone()),
        scope: if command.changes {
            Scope::Changes
        } else if command.products.is_empty() {
            Scope::Full
        } else {
            Scope::Products(command.products.clone())
        },
        dry_run: command.dry_run,
        reason: command.reason.clone(),
        requested_at: Some(chrono::Utc::now()),
    };
    // Subscribe before publishing, so a fast run's summary cannot be missed.
    let mut summaries = client
        .subscribe(command.topology.completed_subject.clone())
        .await?;
    let mut progress = client
        .subscribe(command.topology.progress_subject.clone())
        .await?;
    let headers = message_id_headers(&request_id);
    let js = async_nats::jetstream::new(client.clone());
    // The request starts the trace that the worker's run and its summary join.
    let ack = bus::publish(
        &js,
        &command.topology.requested_subject,
        headers,
        request.encode(),
        &TraceContext::new(),
    )
    .await?;
    if !command.wait {
        if ack.duplicate {
            println!("request {request_id} was already published (de-duplicated)");
        } else {
            println!(
                "published request {request_id} (stream {} sequence {})",
                ack.stream, ack.sequence
            );
        }
        return Ok(ExitCode::SUCCESS);
    }

    let bar = std::io::stderr().is_terminal().then(|| {
        let bar = ProgressBar::new(0);
        bar.set_style(
            ProgressStyle::with_template(
                "{spinner} [{elapsed_precise}] {wide_bar} {pos}/{len} products (eta {eta})",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        bar
    });
    let deadline = tokio::time::sleep(command.timeout);
    tokio::pin!(deadline);
    let mut run_id: Option<Uuid> = None;
    let summary = loop {
        tokio::select! {
            () = &mut deadline => {
                eprintln!("no summary for request {request_id} within {:?}", command.timeout);
                return Ok(ExitCode::from(1));
            }
            Some(message) = summaries.next() => {
                if let Ok(summary) = decode_summary(&message.payload)
                    && summary.request_id == request_id
                {
                    break summary;
                }
            }
            Some(message) = progress.next() => {
                if let (Some(bar), Ok(p)) = (&bar, SyncProgress::decode(&message.payload)) {
                    // Progress carries run ids, not request ids: follow the first run that reports.
                    let followed = *run_id.get_or_insert(p.run_id);
                    if followed == p.run_id {
                        bar.set_length(p.total);
                        bar.set_position(p.processed);
                    }
                }
            }
        }
    };
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    if command.json {
        println!("{}", serde_json::to_string(&summary)?);
    } else {
        print!("{}", output::summary_table(&summary));
    }
    Ok(match summary.status {
        crate::domain::RunStatus::Succeeded => ExitCode::SUCCESS,
        other => output::exit_code(other).max_failure(),
    })
}

/// `--wait` exits non-zero unless the run succeeded.
trait MaxFailure {
    fn max_failure(self) -> ExitCode;
}

impl MaxFailure for ExitCode {
    fn max_failure(self) -> ExitCode {
        if self == ExitCode::SUCCESS {
            ExitCode::from(1)
        } else {
            self
        }
    }
}
