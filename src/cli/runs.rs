//! `catalog-sync runs`: the run records, newest first, or one run with its errors.

use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, Subcommand};
use uuid::Uuid;

use super::args::DatabaseArgs;
use super::output;
use crate::store::Store;

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

    /// Print JSON (an array of runs) instead of a table.
    #[arg(long)]
    pub json: bool,
}

#[derive(Subcommand, Debug)]
pub enum RunsAction {
    /// Show one run: its summary and stored errors.
    Show {
        /// The run id (`run_id` of a summary).
        run_id: Uuid,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
}

pub async fn run(command: RunsCommand) -> anyhow::Result<ExitCode> {
    let store = Store::connect(&command.database.settings())
        .await
        .context("connecting to DATABASE_URL")?;
    match command.action {
        None => {
            let runs = store.list_runs(command.limit).await?;
            if command.json {
                let rows: Vec<serde_json::Value> = runs.iter().map(record_json).collect();
                println!("{}", serde_json::to_string_pretty(&rows)?);
            } else if runs.is_empty() {
                println!("no runs yet");
            } else {
                print!("{}", output::runs_table(&runs));
            }
            Ok(ExitCode::SUCCESS)
        }
        Some(RunsAction::Show { run_id, json }) => {
            let Some((record, errors)) = store.get_run(run_id).await? else {
                eprintln!("no run with id {run_id}");
                return Ok(ExitCode::from(1));
            };
            if json {
                let mut value = record_json(&record);
                value["errors"] = serde_json::to_value(&errors)?;
                println!("{}", serde_json::to_string_pretty(&value)?);
                return Ok(ExitCode::SUCCESS);
            }
            match &record.summary {
                Some(summary) => print!("{}", output::summary_table(&summary.0)),
                None => {
                    println!("run        {}", record.id);
                    println!("request    {}", record.request_id);
                    println!("status     {} ({} sync)", record.status, record.mode);
                    println!("started    {}", record.started_at);
                }
            }
            if let Some(error) = &record.error {
                println!("error      {error}");
            }
            if !errors.is_empty() {
                println!("stored errors ({}):", errors.len());
                print!("{}", output::error_lines(&errors));
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// A run record as JSON: the summary when the run finished, the row's own fields otherwise.
fn record_json(r: &crate::store::RunRecord) -> serde_json::Value {
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
        "error": r.error,
        "trace_id": r.trace_id,
        "summary": r.summary.as_ref().map(|s| &s.0),
    })
}
