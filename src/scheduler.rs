//! The scheduler: publishes `catalog.sync.requested` on a cron schedule. Each request's
//! `Nats-Msg-Id` is derived from its schedule slot, so any number of replicas produce exactly one
//! request per slot (JetStream drops the duplicates within the stream's duplicate window).

use std::str::FromStr;

use chrono::{DateTime, SecondsFormat, Utc};
use clap::Args;
use croner::Cron;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use crate::bus::Topology;
use crate::messages::{SyncRequested, message_id_headers};
use crate::telemetry::error_chain;

/// A parsed cron schedule and its text.
#[derive(Clone, Debug)]
pub struct Schedule {
    cron: Cron,
    text: String,
}

impl FromStr for Schedule {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let fields = s.split_whitespace().count();
        if !(5..=6).contains(&fields) {
            return Err(format!(
                "expected 5 fields (minute hour day month weekday) or 6 (seconds first), got {fields}"
            ));
        }
        let cron = Cron::from_str(s).map_err(|e| e.to_string())?;
        Ok(Schedule {
            cron,
            text: s.trim().to_owned(),
        })
    }
}

impl Schedule {
    /// The first slot strictly after `after`.
    pub fn next_after(&self, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.cron.find_next_occurrence(&after, false).ok()
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

    /// Stop after this many schedule slots.
    #[arg(long, value_name = "N")]
    pub max_runs: Option<u64>,

    /// Begin with the first slot after this time (RFC 3339) instead of after now.
    #[arg(long, value_name = "TIME")]
    pub start_after: Option<DateTime<Utc>>,
}

/// The request id (and `Nats-Msg-Id`) of a slot: the same on every replica.
pub fn slot_request_id(slot: DateTime<Utc>) -> String {
    format!(
        "scheduled-{}",
        slot.to_rfc3339_opts(SecondsFormat::Secs, true)
    )
}

/// Publishes one request per slot until `shutdown` or `max_runs` slots.
pub async fn run(
    client: async_nats::Client,
    topology: &Topology,
    args: &ScheduleArgs,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let js = async_nats::jetstream::new(client);
    let mut cursor = args
        .start_after
        .unwrap_or_else(Utc::now)
        .max(Utc::now() - chrono::Duration::seconds(1));
    let mut slots = 0u64;
    info!(schedule = %args.schedule.text, "scheduler started");
    while args.max_runs.is_none_or(|max| slots < max) {
        let Some(slot) = args.schedule.next_after(cursor) else {
            warn!(schedule = %args.schedule.text, "the schedule has no further slot");
            break;
        };
        let wait = (slot - Utc::now()).to_std().unwrap_or_default();
        tokio::select! {
            () = shutdown.cancelled() => break,
            () = tokio::time::sleep(wait) => {}
        }
        let request_id = slot_request_id(slot);
        let request = SyncRequested {
            reason: Some(format!("schedule {}", args.schedule.text)),
            requested_at: Some(slot),
            ..SyncRequested::full(request_id.as_str())
        };
        // Each slot's request starts its own trace.
        let published = crate::bus::publish(
            &js,
            &topology.requested_subject,
            message_id_headers(&request_id),
            request.encode(),
            &crate::telemetry::TraceContext::new(),
        )
        .await;
        match published {
            Ok(ack) if ack.duplicate => {
                info!(%request_id, "slot already requested by another scheduler")
            }
            Ok(_) => info!(%request_id, "sync requested"),
            Err(e) => {
                warn!(%request_id, error = %error_chain(&e), "could not request the scheduled sync")
            }
        }
        cursor = slot;
        slots += 1;
    }
    info!("scheduler stopped");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn five_and_six_field_schedules_find_their_next_slot() {
        let every_half_hour: Schedule = "*/30 * * * *".parse().unwrap();
        assert_eq!(
            every_half_hour.next_after(at("2026-11-22T10:05:00Z")),
            Some(at("2026-11-22T10:30:00Z"))
        );
        let every_second: Schedule = "* * * * * *".parse().unwrap();
        assert_eq!(
            every_second.next_after(at("2026-11-22T10:05:00Z")),
            Some(at("2026-11-22T10:05:01Z"))
        );
    }

    #[test]
    fn bad_schedules_are_refused() {
        assert!("* * *".parse::<Schedule>().is_err());
        assert!("61 * * * *".parse::<Schedule>().is_err());
        assert!("* * * * * * * *".parse::<Schedule>().is_err());
    }

    #[test]
    fn a_slot_names_its_request() {
        assert_eq!(
            slot_request_id(at("2026-11-22T10:30:00Z")),
            "scheduled-2026-11-22T10:30:00Z"
        );
    }
}
