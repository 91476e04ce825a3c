//! `catalog-sync request`: publishes a `catalog.sync.requested` event, and with `--wait` follows
//! the run's progress and prints its summary.

use std::io::IsTerminal;
use std::process::ExitCode;
use std::time::Duration;

use async_nats::HeaderMap;
use clap::Args;
use futures_util::StreamExt;
use indicatif::{ProgressBar, ProgressStyle};
use uuid::Uuid;

use super::output;
use crate::bus::{self, NatsArgs, Topology};
use crate::domain::RunSummary;
use crate::telemetry::TraceContext;

#[derive(Args, Debug)]
pub struct RequestCommand {
    #[command(flatten)]
    pub nats: NatsArgs,
    #[command(flatten)]
    pub topology: Topology,

    /// Sync only these upstream product ids (comma-separated) instead of the whole catalog.
    #[arg(long, value_delimiter = ',', value_name = "IDS", value_parser = super::sync::parse_product_id)]
    pub products: Vec<String>,

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
    #[arg(long, default_value = "1h", value_parser = crate::config::parse_duration)]
    pub timeout: Duration,
}

pub async fn run(command: RequestCommand) -> anyhow::Result<ExitCode> {
    let client = bus::connect(&command.nats, "catalog-sync request").await?;
    let request_id = command
        .request_id
        .clone()
        .unwrap_or_else(|| Uuid::new_v4().to_string());
    let mut body = serde_json::json!({
        "request_id": request_id,
        "requested_at": chrono::Utc::now(),
        "dry_run": command.dry_run,
    });
    if !command.products.is_empty() {
        body["mode"] = "products".into();
        body["product_ids"] = serde_json::to_value(&command.products)?;
    }
    if let Some(reason) = &command.reason {
        body["reason"] = reason.as_str().into();
    }
    // Subscribe before publishing, so a fast run's summary cannot be missed.
    let mut summaries = client
        .subscribe(command.topology.completed_subject.clone())
        .await?;
    let mut progress = client
        .subscribe(command.topology.progress_subject.clone())
        .await?;
    let mut headers = HeaderMap::new();
    headers.insert("Nats-Msg-Id", request_id.as_str());
    let js = async_nats::jetstream::new(client.clone());
    // The request starts the trace that the worker's run and its summary join.
    let ack = bus::publish(
        &js,
        &command.topology.requested_subject,
        headers,
        serde_json::to_vec(&body)?,
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
                if let Ok(summary) = serde_json::from_slice::<RunSummary>(&message.payload)
                    && summary.request_id == request_id
                {
                    break summary;
                }
            }
            Some(message) = progress.next() => {
                if let (Some(bar), Ok(p)) = (&bar, serde_json::from_slice::<serde_json::Value>(&message.payload)) {
                    let this_run = p["run_id"].as_str().and_then(|s| s.parse::<Uuid>().ok());
                    // Progress carries run ids, not request ids: follow the first run that reports.
                    if run_id.is_none() {
                        run_id = this_run;
                    }
                    if run_id == this_run {
                        bar.set_length(p["total"].as_u64().unwrap_or(0));
                        bar.set_position(p["processed"].as_u64().unwrap_or(0));
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
