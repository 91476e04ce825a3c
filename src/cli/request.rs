//! `catalog-sync request`: publishes a `catalog.sync.requested` event, and with `--wait` follows
//! the run's progress and prints its summary.

use std::io::IsTerminal;
use std::process::ExitCode;
use std::time::Duration;

use clap::Args;
use futures_util::StreamExt;
use indicatif::ProgressBar;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use super::args::{NatsArgs, TopologyArgs};
use super::print::{errln, out, outln};
use super::{exit, output, wait};
use crate::bus;
use crate::domain::RunSummary;
use crate::messages::{Scope, SyncProgress, SyncRequested, decode_summary, message_id_headers};
use crate::telemetry::TraceContext;

#[derive(Args, Debug)]
pub struct RequestCommand {
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

    /// Request id (also the `Nats-Msg-Id`, so publishing it twice runs once): 1 to 200
    /// letters, digits and - . _ ~ : @, as the worker accepts. Default: a new UUID.
    #[arg(long, value_parser = super::sync::parse_request_id)]
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

    #[command(flatten)]
    pub nats: NatsArgs,
    #[command(flatten)]
    pub topology: TopologyArgs,
}

pub async fn run(command: RequestCommand, shutdown: CancellationToken) -> anyhow::Result<ExitCode> {
    let client = bus::connect(&command.nats.settings(), "catalog-sync request").await?;
    let topology = command.topology.settings();
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
    let mut summaries = client.subscribe(topology.completed_subject.clone()).await?;
    let mut progress = client.subscribe(topology.progress_subject.clone()).await?;
    let js = async_nats::jetstream::new(client.clone());
    // The request starts the trace that the worker's run and its summary join.
    let ack = bus::publish(
        &js,
        &topology.requested_subject,
        message_id_headers(&request_id),
        request.encode(),
        &TraceContext::new(),
    )
    .await?;
    if !command.wait {
        if ack.duplicate {
            outln!("request {request_id} was already published (de-duplicated)")?;
        } else {
            outln!(
                "published request {request_id} (stream {} sequence {})",
                ack.stream,
                ack.sequence
            )?;
        }
        return Ok(ExitCode::SUCCESS);
    }

    if ack.duplicate {
        // The stream kept the first request with this id: that one runs, not this body.
        let earlier = wait::earlier_request(&js, &topology, ack.sequence).await;
        if let Some((earlier, _)) = &earlier
            && (earlier.scope != request.scope || earlier.dry_run != request.dry_run)
        {
            errln!(
                "warning: request {request_id} was already published with a different body ({}); that request is the one that runs",
                wait::describe_scope(earlier)
            );
        }
        let since = earlier.map(|(_, at)| at);
        if let Some(summary) = wait::recorded_summary(&js, &topology, &request_id, since).await {
            return report(&command, &request, &summary, true);
        }
        errln!("request {request_id} was already published; waiting for its run");
    }

    let bar = std::io::stderr().is_terminal().then(|| {
        let bar = ProgressBar::new(0);
        bar.set_style(output::progress_style());
        bar
    });
    let deadline = tokio::time::sleep(command.timeout);
    tokio::pin!(deadline);
    // Whether a worker takes requests is checked soon, then now and then.
    let mut worker_check = tokio::time::interval_at(
        tokio::time::Instant::now() + wait::FIRST_WORKER_CHECK,
        wait::WORKER_CHECK_EVERY,
    );
    let mut warned_no_worker = false;
    let summary = loop {
        tokio::select! {
            () = shutdown.cancelled() => {
                if let Some(bar) = &bar {
                    bar.abandon();
                }
                errln!(
                    "stopped waiting; request {request_id} stays queued and runs when a worker takes it (catalog-sync request --wait --request-id {request_id} follows it again)"
                );
                return Ok(exit::code(exit::INTERRUPTED));
            }
            () = &mut deadline => {
                errln!("no summary for request {request_id} within {:?}; it stays queued", command.timeout);
                return Ok(exit::code(exit::FAILED));
            }
            Some(message) = summaries.next() => {
                if let Ok(summary) = decode_summary(&message.payload)
                    && summary.request_id == request_id
                {
                    break summary;
                }
            }
            Some(message) = progress.next() => {
                if let (Some(bar), Ok(p)) = (&bar, SyncProgress::decode(&message.payload))
                    && p.request_id.as_deref() == Some(request_id.as_str())
                {
                    bar.set_length(p.total);
                    bar.set_position(p.processed);
                }
            }
            _ = worker_check.tick(), if !warned_no_worker => {
                if !wait::a_worker_is_pulling(&js, &topology).await {
                    warned_no_worker = true;
                    let warning = format!(
                        "warning: no worker is pulling consumer {} of stream {}: request {request_id} waits until one starts (catalog-sync worker)",
                        topology.requests_consumer, topology.stream
                    );
                    match &bar {
                        Some(bar) => bar.println(warning),
                        None => errln!("{warning}"),
                    }
                }
            }
        }
    };
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    let earlier_run = summary.started_at < request.requested_at.unwrap_or_default();
    report(&command, &request, &summary, earlier_run)
}

/// Prints the summary and returns the exit code of its status. `earlier` says the summary is
/// of a run before this request (its id was reused): the request did not run again.
fn report(
    command: &RequestCommand,
    request: &SyncRequested,
    summary: &RunSummary,
    earlier: bool,
) -> anyhow::Result<ExitCode> {
    if earlier {
        let differs = wait::mode_of(&request.scope) != summary.mode.as_str()
            || request.dry_run != summary.dry_run;
        errln!(
            "request {} already ran (started {}){}; its recorded summary follows",
            summary.request_id,
            summary
                .started_at
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            if differs {
                format!(
                    ", as a {} run{}: this request's body was not run",
                    summary.mode.as_str(),
                    if summary.dry_run { " (dry run)" } else { "" }
                )
            } else {
                String::new()
            }
        );
    }
    if command.json {
        outln!("{}", serde_json::to_string(summary)?)?;
    } else {
        out!("{}", output::summary_table(summary))?;
    }
    Ok(output::exit_code(summary.status))
}
