//! The bodies of every message catalog-sync sends or receives, typed, with their encoding and
//! their validation in one place. The CLI, the scheduler, the worker and the tests all build and
//! read messages through these types; nothing else writes message JSON.
//!
//! | subject | type | who publishes |
//! |---|---|---|
//! | `catalog.sync.requested` | [`SyncRequested`] | `request`, the scheduler, anyone |
//! | `product.updated` | [`ProductUpdated`] | `publish-update`, the upstream's own systems |
//! | `catalog.sync.progress` | [`SyncProgress`] (core NATS) | the worker, while a run goes |
//! | `catalog.sync.completed` | [`RunSummary`] | the worker, after each run |
//! | `catalog.sync.dead` | [`DeadLetter`] | the worker, for a message it gives up on |
//!
//! Decoding is strict: a body that does not fit is an [`InvalidMessage`] whose text is the
//! dead letter's reason; it is never retried.

mod dead;
mod event;
mod progress;
mod request;

use async_nats::HeaderMap;
pub use async_nats::header::NATS_MESSAGE_ID;
use uuid::Uuid;

pub use crate::domain::RunSummary;
pub use dead::DeadLetter;
pub use event::ProductUpdated;
pub use progress::SyncProgress;
pub use request::{MAX_REQUEST_ID_CHARS, Scope, SyncRequested, check_request_id};

/// Why a message body was refused; the text says what is wrong with it.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct InvalidMessage(pub String);

/// Headers with `Nats-Msg-Id` set: JetStream stores a message id once within the stream's
/// duplicate window, so publishing the same id twice delivers it once.
pub fn message_id_headers(message_id: &str) -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert(NATS_MESSAGE_ID, message_id);
    headers
}

/// The `Nats-Msg-Id` of a message, when it has one.
pub fn message_id(headers: Option<&HeaderMap>) -> Option<&str> {
    headers
        .and_then(|h| h.get(NATS_MESSAGE_ID))
        .map(|v| v.as_str())
}

/// The `Nats-Msg-Id` of run `run_id`'s summary, so a summary published again is de-duplicated.
pub fn summary_message_id(run_id: Uuid) -> String {
    format!("completed-{run_id}")
}

/// Encodes a run summary for `catalog.sync.completed`.
pub fn encode_summary(summary: &RunSummary) -> Vec<u8> {
    serde_json::to_vec(summary).expect("a run summary always encodes")
}

/// Decodes a `catalog.sync.completed` body.
pub fn decode_summary(body: &[u8]) -> Result<RunSummary, InvalidMessage> {
    serde_json::from_slice(body).map_err(|e| InvalidMessage(format!("not a run summary: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_ids_round_trip_through_headers() {
        let headers = message_id_headers("req-1");
        assert_eq!(message_id(Some(&headers)), Some("req-1"));
        assert_eq!(message_id(Some(&HeaderMap::new())), None);
        assert_eq!(message_id(None), None);
        assert_eq!(
            headers.get("Nats-Msg-Id").map(|v| v.as_str()),
            Some("req-1"),
            "the standard header name"
        );
    }

    #[test]
    fn summaries_round_trip() {
        use crate::domain::{BatchCounts, Counts, RunMode, RunStatus};
        let now = chrono::Utc::now();
        let summary = RunSummary {
            run_id: Uuid::new_v4(),
            request_id: "r-1".into(),
            mode: RunMode::Full,
            status: RunStatus::Succeeded,
            dry_run: false,
            started_at: now,
            finished_at: now,
            duration_ms: 0,
            counts: Counts::default(),
            batches: BatchCounts::default(),
            errors: Vec::new(),
            trace_id: None,
            archive: None,
            resumed_from: None,
            not_found: None,
        };
        assert_eq!(decode_summary(&encode_summary(&summary)).unwrap(), summary);
        let error = decode_summary(b"{}").unwrap_err();
        assert!(error.0.starts_with("not a run summary"), "{error}");
    }
}
