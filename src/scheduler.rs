//! The scheduler: publishes `catalog.sync.requested` on a cron schedule. Each request's
//! `Nats-Msg-Id` is derived from its schedule slot, so any number of replicas produce exactly one
//! request per slot (JetStream drops the duplicates within the stream's duplicate window).

use chrono::{DateTime, SecondsFormat, Utc};
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use crate::messages::{SyncRequested, message_id_headers};
use crate::settings::{ScheduleSettings, Topology};
use crate::telemetry::error_chain;

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
    settings: &ScheduleSettings,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let js = async_nats::jetstream::new(client);
    let mut cursor = settings
        .start_after
        .unwrap_or_else(Utc::now)
        .max(Utc::now() - chrono::Duration::seconds(1));
    let mut slots = 0u64;
    info!(schedule = %settings.schedule.text(), "scheduler started");
    while settings.max_runs.is_none_or(|max| slots < max) {
        let Some(slot) = settings.schedule.next_after(cursor) else {
            warn!(schedule = %settings.schedule.text(), "the schedule has no further slot");
            break;
        };
        let wait = (slot - Utc::now()).to_std().unwrap_or_default();
        tokio::select! {
            () = shutdown.cancelled() => break,
            () = tokio::time::sleep(wait) => {}
        }
        let request_id = slot_request_id(slot);
        let request = SyncRequested {
            reason: Some(format!("schedule {}", settings.schedule.text())),
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
    use crate::settings::Schedule;

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
