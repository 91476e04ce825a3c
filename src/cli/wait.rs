//! What `request --wait` reads from JetStream besides the live summaries: the earlier request a
//! reused id points to, the summary already recorded for it, and whether any worker is pulling
//! requests at all.

use std::time::Duration;

use async_nats::jetstream::{self, consumer};
use chrono::{DateTime, Utc};
use futures_util::StreamExt;

use crate::domain::RunSummary;
use crate::messages::{Scope, SyncRequested, decode_summary};
use crate::settings::Topology;

/// When `--wait` first checks that a worker is there.
pub const FIRST_WORKER_CHECK: Duration = Duration::from_secs(3);

/// How often it checks again while nobody was found.
pub const WORKER_CHECK_EVERY: Duration = Duration::from_secs(10);

/// Longest pause between two recorded summaries before the scan gives up.
const SCAN_IDLE: Duration = Duration::from_secs(2);

/// The request stored at `sequence` of the requests stream, and when it was stored.
pub async fn earlier_request(
    js: &jetstream::Context,
    topology: &Topology,
    sequence: u64,
) -> Option<(SyncRequested, DateTime<Utc>)> {
    let stream = js.get_stream(&topology.stream).await.ok()?;
    let message = stream.get_raw_message(sequence).await.ok()?;
    let request = SyncRequested::decode(&message.payload, None).ok()?;
    Some((request, message.time))
}

/// The summary recorded for `request_id` among the summaries stored since `since` (the
/// request's own time), if its run already finished.
pub async fn recorded_summary(
    js: &jetstream::Context,
    topology: &Topology,
    request_id: &str,
    since: Option<DateTime<Utc>>,
) -> Option<RunSummary> {
    let since = since?;
    let stream = js.get_stream(&topology.results_stream).await.ok()?;
    let reader = stream
        .create_consumer(consumer::pull::OrderedConfig {
            filter_subject: topology.completed_subject.clone(),
            deliver_policy: consumer::DeliverPolicy::ByStartTime { start_time: since },
            ..Default::default()
        })
        .await
        .ok()?;
    let mut messages = reader.messages().await.ok()?;
    while let Ok(Some(Ok(message))) = tokio::time::timeout(SCAN_IDLE, messages.next()).await {
        if let Ok(summary) = decode_summary(&message.payload)
            && summary.request_id == request_id
        {
            return Some(summary);
        }
        if message.info().is_ok_and(|info| info.pending == 0) {
            break;
        }
    }
    None
}

/// Whether a worker is pulling the requests consumer (it keeps a pull request open while idle)
/// or working on a request. When the consumer cannot be read, nothing is claimed.
pub async fn a_worker_is_pulling(js: &jetstream::Context, topology: &Topology) -> bool {
    let info = async {
        let stream = js.get_stream(&topology.stream).await.ok()?;
        stream.consumer_info(&topology.requests_consumer).await.ok()
    }
    .await;
    info.is_none_or(|info| info.num_waiting > 0 || info.num_ack_pending > 0)
}

/// The summary mode a request's scope runs as.
pub fn mode_of(scope: &Scope) -> &'static str {
    match scope {
        Scope::Full => "full",
        Scope::Products(_) => "products",
        Scope::Changes => "changes",
    }
}

/// A request's body in a few words, for warnings.
pub fn describe_scope(request: &SyncRequested) -> String {
    let what = match &request.scope {
        Scope::Products(ids) => format!("products {}", ids.join(",")),
        other => format!("a {} sync", mode_of(other)),
    };
    if request.dry_run {
        format!("{what}, dry run")
    } else {
        what
    }
}
