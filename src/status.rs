//! The service at a glance, for `catalog-sync status` and the `/status` endpoint: the last
//! succeeded run of each mode and its age, the runs going on with their progress, what waits
//! in the streams, and when the schedules request the next syncs.

use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;

use crate::bus::dead::Queues;
use crate::scheduler::{SLOT_REQUEST_PREFIX, slot_schedule};
use crate::settings::{Schedule, Topology};
use crate::store::{Store, StoreError};
use crate::telemetry::error_chain;

/// The status as `status --json` and `/status` give it.
#[derive(Clone, Debug, Serialize)]
pub struct Status {
    pub generated_at: DateTime<Utc>,
    /// The newest succeeded full sync, if any.
    pub last_full_sync: Option<LastRun>,
    /// The newest succeeded run of every mode.
    pub last_success: Vec<LastRun>,
    /// Runs going on now.
    pub running: Vec<Running>,
    /// What waits in the streams; `None` when NATS could not be asked (`nats_error` says why).
    pub queues: Option<Queues>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nats_error: Option<String>,
    /// When the schedules request the next syncs, when they are known (`full_schedule`,
    /// `changes_schedule`).
    pub next_full_sync: Option<DateTime<Utc>>,
    pub next_changes_sync: Option<DateTime<Utc>>,
    /// The schedule of full syncs the scheduler runs, and where that is known from.
    pub full_schedule: Option<KnownSchedule>,
    /// The schedule of `changes` syncs, likewise.
    pub changes_schedule: Option<KnownSchedule>,
    /// The Medusa sink, once a process with MEDUSA_URL ran on this database.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub medusa: Option<crate::store::MedusaState>,
}

#[derive(Clone, Debug, Serialize)]
pub struct LastRun {
    pub mode: String,
    pub run_id: Uuid,
    pub request_id: String,
    pub finished_at: DateTime<Utc>,
    pub age_seconds: i64,
}

#[derive(Clone, Debug, Serialize)]
pub struct Running {
    pub run_id: Uuid,
    pub request_id: String,
    pub mode: String,
    pub started_at: DateTime<Utc>,
    /// Seconds since the run last wrote its heartbeat (every 2 s while it is alive).
    pub heartbeat_age_seconds: i64,
    pub processed: u64,
    pub total: u64,
    /// Time left at the pace so far, once there is a pace.
    pub eta_seconds: Option<u64>,
}

/// The schedules a process runs itself (`catalog-sync run`), to say the next slot of. A process
/// without them (`status`, a worker alone) shows the ones the scheduler recorded instead.
#[derive(Clone, Debug, Default)]
pub struct Schedules {
    pub full: Option<Schedule>,
    pub changes: Option<Schedule>,
}

/// A schedule as `status` shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct KnownSchedule {
    /// The cron expression.
    pub schedule: String,
    /// The request of the newest scheduled run, whose reason named the schedule; `None` when
    /// the process that answers runs the schedule itself.
    pub recorded_by: Option<String>,
}

impl KnownSchedule {
    fn own(schedule: &Schedule) -> KnownSchedule {
        KnownSchedule {
            schedule: schedule.text().to_owned(),
            recorded_by: None,
        }
    }
}

/// A schedule to find slots of, and how `status` shows it.
type Known = Option<(Schedule, KnownSchedule)>;

/// The schedules the scheduler runs: `own` when this process runs them, else those its newest
/// scheduled runs recorded (a scheduler restarted with another schedule shows once its first
/// slot has run).
async fn known_schedules(store: &Store, own: &Schedules) -> Result<(Known, Known), StoreError> {
    if let Some(full) = &own.full {
        let changes = own
            .changes
            .as_ref()
            .map(|c| (c.clone(), KnownSchedule::own(c)));
        return Ok((Some((full.clone(), KnownSchedule::own(full))), changes));
    }
    let (mut full, mut changes) = (None, None);
    for run in store.last_scheduled(SLOT_REQUEST_PREFIX).await? {
        let Some(schedule) = slot_schedule(&run.reason) else {
            continue;
        };
        let known = KnownSchedule {
            schedule: schedule.text().to_owned(),
            recorded_by: Some(run.request_id),
        };
        match run.mode.as_str() {
            "full" => full = Some((schedule, known)),
            "changes" => changes = Some((schedule, known)),
            _ => {}
        }
    }
    Ok((full, changes))
}

/// Gathers the status from the database and, when given, JetStream. `schedules` are the ones
/// this process runs, if any.
pub async fn gather(
    store: &Store,
    js: Option<&async_nats::jetstream::Context>,
    topology: &Topology,
    schedules: &Schedules,
) -> Result<Status, StoreError> {
    let now = Utc::now();
    let last_success: Vec<LastRun> = store
        .last_successes()
        .await?
        .into_iter()
        .map(|s| LastRun {
            age_seconds: (now - s.finished_at).num_seconds(),
            mode: s.mode,
            run_id: s.run_id,
            request_id: s.request_id,
            finished_at: s.finished_at,
        })
        .collect();
    let running = store
        .running_runs()
        .await?
        .into_iter()
        .map(|r| {
            let (processed, total) = r
                .checkpoint
                .as_ref()
                .map_or((0, 0), |c| (c.0.processed, c.0.total));
            let elapsed = (now - r.started_at).num_seconds().max(0) as u64;
            Running {
                eta_seconds: (processed > 0 && total > processed)
                    .then(|| elapsed * (total - processed) / processed),
                run_id: r.id,
                request_id: r.request_id,
                mode: r.mode,
                started_at: r.started_at,
                heartbeat_age_seconds: (now - r.heartbeat_at).num_seconds(),
                processed,
                total,
            }
        })
        .collect();
    let (queues, nats_error) = match js {
        None => (None, Some("NATS was not asked".to_owned())),
        Some(js) => match crate::bus::dead::queues(js, topology).await {
            Ok(queues) => (Some(queues), None),
            Err(e) => (None, Some(error_chain(&e))),
        },
    };
    let (full, changes) = known_schedules(store, schedules).await?;
    let next = |known: &Known| known.as_ref().and_then(|(s, _)| s.next_after(now));
    Ok(Status {
        generated_at: now,
        last_full_sync: last_success.iter().find(|s| s.mode == "full").cloned(),
        last_success,
        running,
        queues,
        nats_error,
        next_full_sync: next(&full),
        next_changes_sync: next(&changes),
        full_schedule: full.map(|(_, known)| known),
        changes_schedule: changes.map(|(_, known)| known),
        medusa: store.medusa_state().await?,
    })
}

/// `seconds` as a person reads an age: `45s`, `12m`, `3h 5m`, `2d 4h`.
pub fn age(seconds: i64) -> String {
    let s = seconds.max(0);
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m", s / 60),
        3600..86_400 => format!("{}h {}m", s / 3600, s % 3600 / 60),
        _ => format!("{}d {}h", s / 86_400, s % 86_400 / 3600),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_read_in_their_largest_units() {
        assert_eq!(age(-3), "0s");
        assert_eq!(age(45), "45s");
        assert_eq!(age(12 * 60 + 5), "12m");
        assert_eq!(age(3 * 3600 + 5 * 60), "3h 5m");
        assert_eq!(age(2 * 86_400 + 4 * 3600), "2d 4h");
    }
}
