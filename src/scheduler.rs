//! The scheduler: publishes `catalog.sync.requested` on a cron schedule (full syncs) and, when
//! configured, `changes` requests on a second schedule of their own (e.g. every 5 minutes next
//! to a nightly full sync). Each request's `Nats-Msg-Id` is derived from its schedule and slot,
//! so any number of replicas produce exactly one request per slot (JetStream drops the
//! duplicates within the stream's duplicate window).

use chrono::{DateTime, SecondsFormat, Utc};
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use crate::messages::{SyncRequested, message_id_headers};
use crate::settings::{Schedule, ScheduleSettings, Topology};
use crate::telemetry::error_chain;

/// What a schedule requests.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Requests {
    Full,
    Changes,
}

/// How every slot's request id starts.
pub const SLOT_REQUEST_PREFIX: &str = "scheduled-";

/// The request id (and `Nats-Msg-Id`) of a slot: the same on every replica.
pub fn slot_request_id(requests: Requests, slot: DateTime<Utc>) -> String {
    let at = slot.to_rfc3339_opts(SecondsFormat::Secs, true);
    match requests {
        Requests::Full => format!("{SLOT_REQUEST_PREFIX}{at}"),
        Requests::Changes => format!("{SLOT_REQUEST_PREFIX}changes-{at}"),
    }
}

/// The reason a slot's request carries: the schedule it comes from. The worker records it with
/// the run, which is how `status` knows the schedule the scheduler runs ([`slot_schedule`]).
pub fn slot_reason(schedule: &Schedule) -> String {
    format!("schedule {}", schedule.text())
}

/// The schedule a slot's reason names, when it is one ([`slot_reason`]).
pub fn slot_schedule(reason: &str) -> Option<Schedule> {
    reason.strip_prefix("schedule ")?.parse().ok()
}

/// Publishes one request per slot of each schedule until `shutdown` or `max_runs` slots.
pub async fn run(
    client: async_nats::Client,
    topology: &Topology,
    settings: &ScheduleSettings,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let js = async_nats::jetstream::new(client);
    let full = publish_slots(
        &js,
        topology,
        settings,
        &settings.schedule,
        Requests::Full,
        &shutdown,
    );
    match &settings.changes_schedule {
        Some(changes) => {
            let changes = publish_slots(
                &js,
                topology,
                settings,
                changes,
                Requests::Changes,
                &shutdown,
            );
            tokio::join!(full, changes);
        }
        None => full.await,
    }
    info!("scheduler stopped");
    Ok(())
}

async fn publish_slots(
    js: &async_nats::jetstream::Context,
    topology: &Topology,
    settings: &ScheduleSettings,
    schedule: &Schedule,
    requests: Requests,
    shutdown: &CancellationToken,
) {
    let mut cursor = settings
        .start_after
        .unwrap_or_else(Utc::now)
        .max(Utc::now() - chrono::Duration::seconds(1));
    let mut slots = 0u64;
    info!(schedule = %schedule.text(), ?requests, "scheduler started");
    while settings.max_runs.is_none_or(|max| slots < max) {
        let Some(slot) = schedule.next_after(cursor) else {
            warn!(schedule = %schedule.text(), "the schedule has no further slot");
            break;
        };
        let wait = (slot - Utc::now()).to_std().unwrap_or_default();
        tokio::select! {
            () = shutdown.cancelled() => break,
            () = tokio::time::sleep(wait) => {}
        }
        let request_id = slot_request_id(requests, slot);
        let base = match requests {
            Requests::Full => SyncRequested::full(request_id.as_str()),
            Requests::Changes => SyncRequested::changes(request_id.as_str()),
        };
        let request = SyncRequested {
            reason: Some(slot_reason(schedule)),
            requested_at: Some(slot),
            ..base
        };
        // Each slot's request starts its own trace.
        let published = crate::bus::publish(
            js,
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
            slot_request_id(Requests::Full, at("2026-11-22T10:30:00Z")),
            "scheduled-2026-11-22T10:30:00Z"
        );
        assert_eq!(
            slot_request_id(Requests::Changes, at("2026-11-22T10:30:00Z")),
            "scheduled-changes-2026-11-22T10:30:00Z"
        );
    }
}
