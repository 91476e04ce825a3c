//! Dead letters as stored in the results stream: listing them, replaying one (its original
//! subject, body and headers, under a new message id) and purging them; and the queue figures
//! `status` shows.

use std::time::Duration;

use async_nats::HeaderMap;
use async_nats::jetstream::{self, consumer};
use base64::Engine as _;
use chrono::{DateTime, Utc};
use futures_util::StreamExt;

use super::BusError;
use crate::messages::{DeadLetter, NATS_MESSAGE_ID};
use crate::settings::Topology;

/// Longest wait for the next stored dead letter while listing.
const READ_IDLE: Duration = Duration::from_secs(2);

/// A dead letter where it is stored.
#[derive(Clone, Debug)]
pub struct StoredDeadLetter {
    /// Its sequence in the results stream: what `dead replay` takes.
    pub sequence: u64,
    pub dead_at: DateTime<Utc>,
    pub letter: DeadLetter,
}

/// What waits in the streams.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Queues {
    /// Sync requests not yet delivered to a worker.
    pub requests_pending: u64,
    /// Sync requests delivered and not yet settled (a run in progress).
    pub requests_in_progress: u64,
    /// Product events not yet delivered.
    pub events_pending: u64,
    /// Product events delivered and not yet settled.
    pub events_in_progress: u64,
    /// Dead letters stored.
    pub dead_letters: u64,
    /// Pull requests waiting on the requests consumer: more than zero while a worker waits
    /// for a request. Not a count of workers: one worker may keep two open.
    pub request_pullers: u64,
}

fn jetstream_error(what: &str) -> impl Fn(&dyn std::fmt::Display) -> BusError + '_ {
    move |e| BusError::JetStream(format!("{what}: {e}"))
}

/// The queues' state from the consumers and the results stream.
pub async fn queues(js: &jetstream::Context, topology: &Topology) -> Result<Queues, BusError> {
    let stream = js
        .get_stream(&topology.stream)
        .await
        .map_err(|e| jetstream_error("reading the requests stream")(&e))?;
    let requests = stream
        .consumer_info(&topology.requests_consumer)
        .await
        .map_err(|e| jetstream_error("reading the requests consumer")(&e))?;
    let events = stream
        .consumer_info(&topology.updates_consumer)
        .await
        .map_err(|e| jetstream_error("reading the events consumer")(&e))?;
    Ok(Queues {
        requests_pending: requests.num_pending,
        requests_in_progress: requests.num_ack_pending as u64,
        events_pending: events.num_pending,
        events_in_progress: events.num_ack_pending as u64,
        dead_letters: waiting(js, topology).await?,
        request_pullers: requests.num_waiting as u64,
    })
}

/// How many dead letters are stored.
pub async fn waiting(js: &jetstream::Context, topology: &Topology) -> Result<u64, BusError> {
    let stream = js
        .get_stream(&topology.results_stream)
        .await
        .map_err(|e| jetstream_error("reading the results stream")(&e))?;
    let mut subjects = stream
        .info_with_subjects(&topology.dead_subject)
        .await
        .map_err(|e| jetstream_error("reading the results stream")(&e))?;
    let mut count = 0;
    while let Some(subject) = subjects.next().await {
        let (_, n) = subject.map_err(|e| jetstream_error("reading the results stream")(&e))?;
        count += n as u64;
    }
    Ok(count)
}

/// The stored dead letters, oldest first, at most `limit`.
pub async fn list(
    js: &jetstream::Context,
    topology: &Topology,
    limit: usize,
) -> Result<Vec<StoredDeadLetter>, BusError> {
    if waiting(js, topology).await? == 0 {
        return Ok(Vec::new());
    }
    let stream = js
        .get_stream(&topology.results_stream)
        .await
        .map_err(|e| jetstream_error("reading the results stream")(&e))?;
    let reader = stream
        .create_consumer(consumer::pull::OrderedConfig {
            filter_subject: topology.dead_subject.clone(),
            ..Default::default()
        })
        .await
        .map_err(|e| jetstream_error("reading the dead letters")(&e))?;
    let mut messages = reader
        .messages()
        .await
        .map_err(|e| jetstream_error("reading the dead letters")(&e))?;
    let mut letters = Vec::new();
    while letters.len() < limit {
        let Ok(Some(Ok(message))) = tokio::time::timeout(READ_IDLE, messages.next()).await else {
            break;
        };
        let Ok(info) = message.info() else { break };
        let (sequence, dead_at, pending) = (info.stream_sequence, info.published, info.pending);
        if let Ok(letter) = DeadLetter::decode(&message.payload) {
            letters.push(StoredDeadLetter {
                sequence,
                dead_at,
                letter,
            });
        }
        if pending == 0 {
            break;
        }
    }
    Ok(letters)
}

/// Publishes the dead letter stored at `sequence` again, to its original subject with its
/// body and headers under a new message id, then removes it. Only the subjects the worker
/// consumes are accepted: a stored letter never chooses where a message goes.
pub async fn replay(
    js: &jetstream::Context,
    topology: &Topology,
    sequence: u64,
) -> Result<DeadLetter, BusError> {
    let stream = js
        .get_stream(&topology.results_stream)
        .await
        .map_err(|e| jetstream_error("reading the results stream")(&e))?;
    let stored = stream
        .get_raw_message(sequence)
        .await
        .map_err(|e| BusError::Config(format!("no dead letter at sequence {sequence}: {e}")))?;
    if stored.subject.as_str() != topology.dead_subject {
        return Err(BusError::Config(format!(
            "sequence {sequence} of {} is not a dead letter",
            topology.results_stream
        )));
    }
    let letter = DeadLetter::decode(&stored.payload)
        .map_err(|e| BusError::Config(format!("sequence {sequence}: {}", e.0)))?;
    if ![&topology.requested_subject, &topology.updated_subject].contains(&&letter.subject) {
        return Err(BusError::Config(format!(
            "dead letter {sequence} came from {}, which the worker does not consume; not replayed",
            letter.subject
        )));
    }
    let body = match (&letter.body, &letter.body_base64) {
        (Some(text), _) => text.clone().into_bytes(),
        (None, Some(encoded)) => base64::engine::general_purpose::STANDARD
            .decode(encoded)
            .map_err(|e| BusError::Config(format!("dead letter {sequence}: bad body: {e}")))?,
        (None, None) => Vec::new(),
    };
    let mut headers = HeaderMap::new();
    for (name, values) in &letter.headers {
        // JetStream's own headers stay behind: the replay is a new message.
        if name.to_ascii_lowercase().starts_with("nats-") {
            continue;
        }
        for value in values {
            headers.append(name.as_str(), value.as_str());
        }
    }
    headers.insert(
        NATS_MESSAGE_ID,
        format!("replay-{sequence}-{}", uuid::Uuid::new_v4().simple()).as_str(),
    );
    js.publish_with_headers(letter.subject.clone(), headers, body.into())
        .await
        .map_err(|e| jetstream_error("republishing")(&e))?
        .await
        .map_err(|e| jetstream_error("republishing")(&e))?;
    stream
        .delete_message(sequence)
        .await
        .map_err(|e| jetstream_error("removing the replayed dead letter")(&e))?;
    Ok(letter)
}

/// Removes every stored dead letter; returns how many.
pub async fn purge(js: &jetstream::Context, topology: &Topology) -> Result<u64, BusError> {
    let stream = js
        .get_stream(&topology.results_stream)
        .await
        .map_err(|e| jetstream_error("reading the results stream")(&e))?;
    let purged = stream
        .purge()
        .filter(&topology.dead_subject)
        .await
        .map_err(|e| jetstream_error("purging the dead letters")(&e))?;
    Ok(purged.purged)
}
