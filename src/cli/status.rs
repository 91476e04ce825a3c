//! `catalog-sync status`: the service at a glance (see [`crate::status`]), and `catalog-sync
//! dead`: the dead letters, listed, replayed or purged.

use std::process::ExitCode;

use anyhow::Context as _;
use chrono::{DateTime, Utc};
use clap::{Args, Subcommand};

use super::args::{DatabaseArgs, NatsArgs, TopologyArgs};
use super::output::thousands;
use super::print::{errln, out, outln};
use super::{exit, output};
use crate::bus;
use crate::status::{Schedules, Status, age};
use crate::store::Store;

#[derive(Args, Debug)]
pub struct StatusCommand {
    #[command(flatten)]
    pub database: DatabaseArgs,
    #[command(flatten)]
    pub nats: NatsArgs,
    #[command(flatten)]
    pub topology: TopologyArgs,

    /// Print the status as JSON (the same object as the worker's /status).
    #[arg(long)]
    pub json: bool,
}

pub async fn status(command: StatusCommand) -> anyhow::Result<ExitCode> {
    let store = Store::connect(&command.database.settings())
        .await
        .context("connecting to DATABASE_URL")?;
    let topology = command.topology.settings();
    // Without NATS the database's part is still worth showing.
    let client = bus::connect(&command.nats.settings(), "catalog-sync status").await;
    let js = client
        .as_ref()
        .ok()
        .map(|c| async_nats::jetstream::new(c.clone()));
    // The schedules are the scheduler's, as its runs recorded them, not this shell's.
    let schedules = Schedules::default();
    let mut status = crate::status::gather(&store, js.as_ref(), &topology, &schedules).await?;
    if let Err(e) = &client {
        status.nats_error = Some(crate::telemetry::error_chain(e));
    }
    if command.json {
        outln!("{}", serde_json::to_string_pretty(&status)?)?;
    } else {
        out!("{}", table(&status))?;
    }
    // A probe tells a status with unknown queues from a whole one (PostgreSQL unreachable
    // ends above, with 1 too).
    Ok(if status.nats_error.is_some() {
        exit::code(exit::FAILED)
    } else {
        ExitCode::SUCCESS
    })
}

fn when(at: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let seconds = (at - now).num_seconds();
    let stamp = at.format("%Y-%m-%d %H:%M:%S UTC");
    if seconds >= 0 {
        format!("{stamp} (in {})", age(seconds))
    } else {
        format!("{stamp} ({} ago)", age(-seconds))
    }
}

fn table(s: &Status) -> String {
    let mut out = String::new();
    let mut line = |label: &str, text: String| {
        out.push_str(&format!("{label:<16} {text}\n"));
    };
    line(
        "last full sync",
        match &s.last_full_sync {
            Some(last) => format!(
                "succeeded {} ago ({}), run {}, request {}",
                age(last.age_seconds),
                last.finished_at.format("%Y-%m-%d %H:%M:%S UTC"),
                &last.run_id.to_string()[..8],
                last.request_id
            ),
            None => "none has succeeded yet".into(),
        },
    );
    let others: Vec<String> = s
        .last_success
        .iter()
        .filter(|l| l.mode != "full")
        .map(|l| format!("{} {} ago", l.mode, age(l.age_seconds)))
        .collect();
    if !others.is_empty() {
        line("last success", others.join(" · "));
    }
    if s.running.is_empty() {
        line("running", "nothing".into());
    }
    for r in &s.running {
        line(
            "running",
            format!(
                "{} {}: {} of {} products{}, started {} ago, heartbeat {} ago, request {}",
                r.mode,
                &r.run_id.to_string()[..8],
                thousands(r.processed),
                thousands(r.total),
                r.eta_seconds
                    .map(|eta| format!(", eta {}", age(eta as i64)))
                    .unwrap_or_default(),
                age((s.generated_at - r.started_at).num_seconds()),
                age(r.heartbeat_age_seconds),
                r.request_id
            ),
        );
    }
    match (&s.queues, &s.nats_error) {
        (Some(q), _) => {
            line("requests", requests_line(q));
            line(
                "events",
                format!(
                    "{} pending, {} in progress",
                    thousands(q.events_pending),
                    q.events_in_progress
                ),
            );
            line(
                "dead letters",
                match q.dead_letters {
                    0 => "none".to_owned(),
                    n => format!("{n} waiting (catalog-sync dead list)"),
                },
            );
        }
        (None, error) => line(
            "queues",
            format!(
                "unknown: {}",
                error.as_deref().unwrap_or("NATS was not asked")
            ),
        ),
    }
    line("next syncs", next_syncs(s));
    if let Some(m) = &s.medusa {
        line("medusa", medusa_line(m, s.generated_at));
        if m.unattended {
            line("medusa warning", UNATTENDED.to_owned());
        }
        if let Some(error) = &m.last_error {
            line("medusa error", error.clone());
        }
    }
    out
}

/// When the scheduler requests the next syncs, by which schedule, and how that is known.
fn next_syncs(s: &Status) -> String {
    let known = [
        ("full", &s.full_schedule, s.next_full_sync),
        ("changes", &s.changes_schedule, s.next_changes_sync),
    ];
    let next: Vec<String> = known
        .iter()
        .filter_map(|(what, schedule, at)| {
            let schedule = schedule.as_ref()?;
            let at = at.map_or_else(
                || "no further slot".to_owned(),
                |at| when(at, s.generated_at),
            );
            Some(format!("{what} {at}, schedule {}", schedule.schedule))
        })
        .collect();
    if next.is_empty() {
        return "unknown: no scheduled request has run yet (the scheduler's SYNC_SCHEDULE decides)"
            .to_owned();
    }
    let recorded: Vec<&str> = known
        .iter()
        .filter_map(|(_, schedule, _)| schedule.as_ref()?.recorded_by.as_deref())
        .collect();
    let from = match recorded.as_slice() {
        [] => String::new(),
        [one] => format!(" (as the run of {one} recorded it)"),
        _ => format!(" (as the runs of {} recorded them)", recorded.join(" and ")),
    };
    format!("{}{from}", next.join(" · "))
}

/// The sync requests: what waits, what runs, and whether a worker takes them.
fn requests_line(q: &crate::bus::dead::Queues) -> String {
    // JetStream counts pull requests, not workers: one worker may keep two open.
    let pullers = match (q.request_pullers, q.requests_in_progress) {
        (0, 0) => "no worker is pulling",
        (0, _) => "the worker is busy",
        _ => "a worker is waiting for more",
    };
    format!(
        "{} pending, {} in progress; {pullers}",
        q.requests_pending, q.requests_in_progress
    )
}

/// What `status` says when pushes are owed and no process with MEDUSA_URL is expected to
/// deliver them (a database a process with MEDUSA_URL once ran on queues every change).
const UNATTENDED: &str = "pushes are owed but no process with MEDUSA_URL is pushing: start a worker or `catalog-sync sync` with MEDUSA_URL, or turn the sink off (`catalog-sync medusa disable`)";

/// The Medusa sink in one line: whether an operator turned it off, what Medusa has, what is
/// owed, since when, and how much of it a pusher holds.
fn medusa_line(m: &crate::store::MedusaState, now: DateTime<Utc>) -> String {
    let b = &m.backlog;
    if let Some(off) = m.disabled_at {
        return format!(
            "off since {}; {} products linked (catalog-sync medusa enable turns it on)",
            when(off, now),
            thousands(b.linked as u64)
        );
    }
    let mut text = format!("{} products linked", thousands(b.linked as u64));
    let held = match (b.held, b.held_until) {
        (0, _) => String::new(),
        (held, Some(until)) if until > now => format!(
            "; {} held by a pusher for up to {}",
            thousands(held as u64),
            age((until - now).num_seconds())
        ),
        (held, _) => format!("; {} held by a pusher", thousands(held as u64)),
    };
    match (b.owed, m.oldest_owed) {
        (0, _) => text.push_str(", nothing owed"),
        (owed, Some(since)) => text.push_str(&format!(
            ", {} pushes owed (oldest {} ago{held})",
            thousands(owed as u64),
            age((now - since).num_seconds())
        )),
        (owed, None) => text.push_str(&format!(", {} pushes owed", thousands(owed as u64))),
    }
    if m.refused > 0 {
        text.push_str(&format!(
            ", {} refused by Medusa (see runs show)",
            m.refused
        ));
    }
    if let Some(at) = m.last_push {
        text.push_str(&format!(
            ", last push {} ago",
            age((now - at).num_seconds())
        ));
    }
    text
}

/// Dead letters: messages the worker gave up on.
#[derive(Args, Debug)]
pub struct DeadCommand {
    #[command(flatten)]
    pub nats: NatsArgs,
    #[command(flatten)]
    pub topology: TopologyArgs,
    #[command(subcommand)]
    pub action: DeadAction,
}

#[derive(Subcommand, Debug)]
pub enum DeadAction {
    /// List the stored dead letters, oldest first, with why each was given up.
    List {
        /// Most dead letters to list.
        #[arg(long, default_value_t = 50)]
        limit: usize,
        /// Print JSON: an array of {"sequence", "dead_at", "letter"}.
        #[arg(long)]
        json: bool,
    },
    /// Publish dead letters again to their original subject (a new message id each), then
    /// remove them. Fix what made them fail first.
    Replay {
        /// The sequences `dead list` shows.
        #[arg(required_unless_present = "all", conflicts_with = "all")]
        sequences: Vec<u64>,
        /// Every stored dead letter.
        #[arg(long)]
        all: bool,
    },
    /// Remove every stored dead letter.
    Purge {
        /// Really remove them (without it, says how many would go).
        #[arg(long)]
        yes: bool,
    },
}

pub async fn dead(command: DeadCommand) -> anyhow::Result<ExitCode> {
    let client = bus::connect(&command.nats.settings(), "catalog-sync dead").await?;
    let js = async_nats::jetstream::new(client.clone());
    let topology = command.topology.settings();
    match command.action {
        DeadAction::List { limit, json } => {
            let letters = bus::dead::list(&js, &topology, limit).await?;
            if json {
                let rows: Vec<serde_json::Value> = letters
                    .iter()
                    .map(|d| {
                        serde_json::json!({
                            "sequence": d.sequence, "dead_at": d.dead_at, "letter": d.letter,
                        })
                    })
                    .collect();
                outln!("{}", serde_json::to_string_pretty(&rows)?)?;
            } else if letters.is_empty() {
                outln!("no dead letters")?;
            } else {
                out!(
                    "{}",
                    output::dead_letters_table(&letters, output::line_width())
                )?;
            }
        }
        DeadAction::Replay { sequences, all } => {
            let sequences = if all {
                bus::dead::list(&js, &topology, usize::MAX)
                    .await?
                    .into_iter()
                    .map(|d| d.sequence)
                    .collect()
            } else {
                sequences
            };
            let mut failed = 0;
            for sequence in sequences {
                match bus::dead::replay(&js, &topology, sequence).await {
                    Ok(letter) => outln!("replayed {sequence} to {}", letter.subject)?,
                    Err(e) => {
                        failed += 1;
                        errln!("error: {}", crate::telemetry::error_chain(&e));
                    }
                }
            }
            bus::flush(&client).await;
            if failed > 0 {
                return Ok(exit::code(exit::FAILED));
            }
        }
        DeadAction::Purge { yes } => {
            if !yes {
                let waiting = bus::dead::waiting(&js, &topology).await?;
                outln!("{waiting} dead letters would be removed; run again with --yes")?;
                return Ok(exit::code(exit::CONFIG));
            }
            let purged = bus::dead::purge(&js, &topology).await?;
            outln!("removed {purged} dead letters")?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests;
