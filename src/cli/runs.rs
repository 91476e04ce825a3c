//! `catalog-sync runs`: the run records, newest first, or one run with its errors.

use std::process::ExitCode;

use anyhow::Context;
use chrono::{DateTime, Utc};
use clap::{Args, Subcommand};

use super::args::DatabaseArgs;
use super::print::{errln, out, outln};
use super::{exit, output};
use crate::store::{RunFilter, Store};

#[derive(Args, Debug)]
#[command(args_conflicts_with_subcommands = true)]
pub struct RunsCommand {
    #[command(flatten)]
    pub database: DatabaseArgs,

    #[command(subcommand)]
    pub action: Option<RunsAction>,

    /// How many runs to list.
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub limit: u32,

    /// Only runs with this status.
    #[arg(long, value_parser = [
        "running", "interrupted", "abandoned", "succeeded", "partial", "failed", "skipped",
    ])]
    pub status: Option<String>,

    /// Only runs of this mode.
    #[arg(long, value_parser = ["full", "products", "incremental", "changes"])]
    pub mode: Option<String>,

    /// Only runs started since then: a time (RFC 3339) or a duration back from now (24h, 7d).
    #[arg(long, value_name = "TIME|DURATION", value_parser = parse_since)]
    pub since: Option<DateTime<Utc>>,

    /// Print JSON (an array of runs) instead of a table.
    #[arg(long)]
    pub json: bool,
}

#[derive(Subcommand, Debug)]
pub enum RunsAction {
    /// Show one run: its summary and stored errors.
    Show {
        /// The run id, its first characters (at least 4; `runs` shows 8), or a request id (its
        /// newest attempt).
        run: String,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
}

/// RFC 3339, or a duration back from now.
fn parse_since(text: &str) -> Result<DateTime<Utc>, String> {
    if let Ok(at) = DateTime::parse_from_rfc3339(text) {
        return Ok(at.with_timezone(&Utc));
    }
    let back = humantime::parse_duration(text)
        .map_err(|e| format!("{text:?} is neither an RFC 3339 time nor a duration ({e})"))?;
    chrono::Duration::from_std(back)
        .ok()
        .and_then(|back| Utc::now().checked_sub_signed(back))
        .ok_or_else(|| format!("{text:?} reaches too far back"))
}

pub async fn run(command: RunsCommand) -> anyhow::Result<ExitCode> {
    let store = Store::connect(&command.database.settings())
        .await
        .context("connecting to DATABASE_URL")?;
    match command.action {
        None => {
            let filter = RunFilter {
                status: command.status.clone(),
                mode: command.mode.clone(),
                since: command.since,
            };
            let runs = store.list_runs(command.limit, &filter).await?;
            if command.json {
                let rows: Vec<serde_json::Value> = runs.iter().map(record_json).collect();
                outln!("{}", serde_json::to_string_pretty(&rows)?)?;
            } else if runs.is_empty() {
                outln!("no runs match")?;
            } else {
                out!("{}", output::runs_table(&runs))?;
            }
            Ok(ExitCode::SUCCESS)
        }
        Some(RunsAction::Show { run, json }) => {
            let found = store.find_runs(&run).await?;
            // A request id names its attempts: the newest is shown. A prefix must name one run.
            let by_request: Vec<_> = found.iter().filter(|r| r.request_id == run).collect();
            let record = match (by_request.first(), found.as_slice()) {
                (Some(newest), _) => (*newest).clone(),
                (None, [one]) => one.clone(),
                (None, []) => {
                    errln!(
                        "no run has the id or request id {run:?}{}",
                        short_prefix_hint(&run)
                    );
                    return Ok(exit::code(exit::FAILED));
                }
                (None, many) => {
                    errln!("{run:?} is the start of several run ids; give more of one:");
                    for r in many {
                        errln!("  {}  {} {} {}", r.id, r.mode, r.status, r.started_at);
                    }
                    return Ok(exit::code(exit::CONFIG));
                }
            };
            let errors = store
                .get_run(record.id)
                .await?
                .map(|(_, errors)| errors)
                .unwrap_or_default();
            if json {
                let mut value = record_json(&record);
                value["errors"] = serde_json::to_value(&errors)?;
                outln!("{}", serde_json::to_string_pretty(&value)?)?;
                return Ok(ExitCode::SUCCESS);
            }
            if by_request.len() > 1 {
                outln!(
                    "request {run} has {} attempts; the newest:\n",
                    by_request.len()
                )?;
            }
            match &record.summary {
                Some(summary) => out!("{}", output::summary_head(&summary.0))?,
                None => {
                    outln!("run        {}", record.id)?;
                    outln!("request    {}", record.request_id)?;
                    outln!("status     {} ({} sync)", record.status, record.mode)?;
                    outln!("started    {}", record.started_at)?;
                    outln!(
                        "counts     fetched {}, created {}, updated {}, unchanged {}, archived {}, failed {}",
                        record.fetched,
                        record.created,
                        record.updated,
                        record.unchanged,
                        record.archived,
                        record.failed
                    )?;
                }
            }
            if let Some(error) = &record.error {
                outln!("error      {error}")?;
            }
            if !errors.is_empty() {
                outln!("errors ({}):", errors.len())?;
                out!("{}", output::error_lines(&errors))?;
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// What to add when `key` matched nothing and may have been meant as the start of a run id
/// too short to be taken as one.
fn short_prefix_hint(key: &str) -> String {
    let looks_like_an_id = key.chars().all(|c| c.is_ascii_hexdigit() || c == '-');
    if looks_like_an_id && key.len() < crate::store::MIN_RUN_ID_PREFIX {
        format!(
            " (the start of a run id needs at least {} characters, as `runs` shows them: the first 8)",
            crate::store::MIN_RUN_ID_PREFIX
        )
    } else {
        String::new()
    }
}

/// A run record as JSON: the summary when the run finished (plus what only the row knows),
/// the row's own fields otherwise.
fn record_json(r: &crate::store::RunRecord) -> serde_json::Value {
    if let Some(summary) = &r.summary
        && let Ok(mut value) = serde_json::to_value(&summary.0)
    {
        value["reason"] = serde_json::json!(r.reason);
        value["attempt"] = serde_json::json!(r.attempt);
        value["error"] = serde_json::json!(r.error);
        return value;
    }
    serde_json::json!({
        "run_id": r.id,
        "request_id": r.request_id,
        "mode": r.mode,
        "status": r.status,
        "dry_run": r.dry_run,
        "reason": r.reason,
        "started_at": r.started_at,
        "finished_at": r.finished_at,
        "counts": {
            "fetched": r.fetched,
            "created": r.created,
            "updated": r.updated,
            "unchanged": r.unchanged,
            "archived": r.archived,
            "failed": r.failed,
            "categories_created": r.categories_created,
        },
        "attempt": r.attempt,
        "resumed_from": r.resumed_from,
        "error": r.error,
        "trace_id": r.trace_id,
    })
}
