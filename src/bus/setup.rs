//! Creates or updates the streams and durable consumers from the JSON definitions in `nats/`
//! (the same files the `nats` CLI accepts). Settings an operator changed by hand are kept unless
//! the service needs them; every setting the service changes is logged.

use async_nats::jetstream::ErrorCode;
use async_nats::jetstream::consumer::FromConsumer;
use async_nats::jetstream::consumer::pull;
use async_nats::jetstream::context::{ConsumerInfoErrorKind, GetStreamErrorKind};
use async_nats::jetstream::{self, stream};
use backon::Retryable;
use std::time::Duration;
use tracing::{info, warn};

use super::{BusError, Topology};

const STREAM_CATALOG: &str = include_str!("../../nats/stream-catalog.json");
const STREAM_RESULTS: &str = include_str!("../../nats/stream-catalog-results.json");
const CONSUMER_REQUESTS: &str = include_str!("../../nats/consumer-requests.json");
const CONSUMER_UPDATES: &str = include_str!("../../nats/consumer-updates.json");

/// What `setup` did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SetupReport {
    /// Streams and consumers created.
    pub created: Vec<String>,
    /// Settings changed on existing ones, as `name: setting old -> new`.
    pub changed: Vec<String>,
}

/// Attempts of [`setup`] before a JetStream error is final.
const SETUP_ATTEMPTS: usize = 5;

/// Makes sure both streams and both consumers exist with the settings the service relies on.
/// Idempotent: a second call changes nothing. Replicas starting together race to create the same
/// streams, and a busy server can time out an API call: a JetStream error is retried a few times
/// with backoff (each attempt reads the current state again), a bad definition is not.
pub async fn setup(js: &jetstream::Context, topology: &Topology) -> Result<SetupReport, BusError> {
    (|| setup_once(js, topology))
        .retry(crate::retry::backoff(
            Duration::from_millis(200),
            Duration::from_secs(2),
            SETUP_ATTEMPTS - 1,
        ))
        .when(BusError::is_retryable)
        .notify(|error, delay| warn!(%error, ?delay, "JetStream set-up failed; trying again"))
        .await
}

async fn setup_once(js: &jetstream::Context, topology: &Topology) -> Result<SetupReport, BusError> {
    let mut report = SetupReport::default();
    let catalog = stream_definition(
        STREAM_CATALOG,
        &topology.stream,
        [&topology.requested_subject, &topology.updated_subject],
        topology.stream_replicas.unwrap_or(1),
    )?;
    let enforce_replicas = topology.stream_replicas.is_some();
    ensure_stream(js, catalog, enforce_replicas, &mut report).await?;
    let results = stream_definition(
        STREAM_RESULTS,
        &topology.results_stream,
        [&topology.completed_subject, &topology.dead_subject],
        topology.stream_replicas.unwrap_or(1),
    )?;
    ensure_stream(js, results, enforce_replicas, &mut report).await?;
    for (json, name, subject) in [
        (
            CONSUMER_REQUESTS,
            &topology.requests_consumer,
            &topology.requested_subject,
        ),
        (
            CONSUMER_UPDATES,
            &topology.updates_consumer,
            &topology.updated_subject,
        ),
    ] {
        let mut wanted = consumer_definition(json, name, subject)?;
        wanted.ack_wait = topology.ack_wait;
        ensure_consumer(js, &topology.stream, wanted, &mut report).await?;
    }
    Ok(report)
}

fn stream_definition(
    json: &str,
    name: &str,
    subjects: [&String; 2],
    replicas: usize,
) -> Result<stream::Config, BusError> {
    let mut config: stream::Config = serde_json::from_str(json)
        .map_err(|e| BusError::Config(format!("stream definition for {name}: {e}")))?;
    config.name = name.to_owned();
    config.subjects = subjects.iter().map(|s| (*s).clone()).collect();
    config.num_replicas = replicas;
    Ok(config)
}

/// The existing stream's configuration with the settings the service relies on put back, and
/// a `stream NAME: setting old -> new` line for each one that had to change.
fn merge_stream(
    current: &stream::Config,
    wanted: &stream::Config,
    enforce_replicas: bool,
) -> (stream::Config, Vec<String>) {
    let name = &wanted.name;
    let mut merged = current.clone();
    let mut changes = Vec::new();
    // Our subjects must be in the stream; subjects an operator added stay.
    for subject in &wanted.subjects {
        if !merged.subjects.contains(subject) {
            merged.subjects.push(subject.clone());
            changes.push(format!("stream {name}: subjects += {subject}"));
        }
    }
    // De-duplication of re-published requests and summaries needs at least our window.
    if merged.duplicate_window < wanted.duplicate_window {
        changes.push(format!(
            "stream {name}: duplicate_window {:?} -> {:?}",
            merged.duplicate_window, wanted.duplicate_window
        ));
        merged.duplicate_window = wanted.duplicate_window;
    }
    // The configured replica count, up (to survive a node loss) or down (to fit the cluster);
    // a process started without NATS_STREAM_REPLICAS leaves the count an operator chose.
    if enforce_replicas && merged.num_replicas != wanted.num_replicas {
        changes.push(format!(
            "stream {name}: num_replicas {} -> {}",
            merged.num_replicas, wanted.num_replicas
        ));
        merged.num_replicas = wanted.num_replicas;
    }
    (merged, changes)
}

/// What to tell an operator whose server refused a replicated stream.
fn replicas_hint(wanted: &stream::Config) -> String {
    if wanted.num_replicas > 1 {
        format!(
            " ({} replicas need a JetStream cluster of at least {} servers; see NATS_STREAM_REPLICAS)",
            wanted.num_replicas, wanted.num_replicas
        )
    } else {
        String::new()
    }
}

fn consumer_definition(json: &str, name: &str, subject: &str) -> Result<pull::Config, BusError> {
    let mut config: pull::Config = serde_json::from_str(json)
        .map_err(|e| BusError::Config(format!("consumer definition for {name}: {e}")))?;
    config.durable_name = Some(name.to_owned());
    config.filter_subject = subject.to_owned();
    Ok(config)
}

async fn ensure_stream(
    js: &jetstream::Context,
    wanted: stream::Config,
    enforce_replicas: bool,
    report: &mut SetupReport,
) -> Result<(), BusError> {
    let name = wanted.name.clone();
    let mut existing = match js.get_stream(&name).await {
        Ok(stream) => stream,
        Err(e) if is_stream_not_found(&e.kind()) => {
            let hint = replicas_hint(&wanted);
            js.create_stream(wanted)
                .await
                .map_err(|e| BusError::JetStream(format!("creating stream {name}: {e}{hint}")))?;
            info!(stream = %name, "created stream");
            report.created.push(format!("stream {name}"));
            return Ok(());
        }
        Err(e) => return Err(BusError::JetStream(format!("reading stream {name}: {e}"))),
    };
    let current = existing
        .info()
        .await
        .map_err(|e| BusError::JetStream(format!("reading stream {name}: {e}")))?
        .config
        .clone();
    let (merged, changes) = merge_stream(&current, &wanted, enforce_replicas);
    if changes.is_empty() {
        return Ok(());
    }
    for change in &changes {
        info!(stream = %name, %change, "updating stream setting");
    }
    let hint = if current.num_replicas != wanted.num_replicas {
        replicas_hint(&wanted)
    } else {
        String::new()
    };
    js.update_stream(merged)
        .await
        .map_err(|e| BusError::JetStream(format!("updating stream {name}: {e}{hint}")))?;
    report.changed.extend(changes);
    Ok(())
}

async fn ensure_consumer(
    js: &jetstream::Context,
    stream_name: &str,
    wanted: pull::Config,
    report: &mut SetupReport,
) -> Result<(), BusError> {
    let name = wanted.durable_name.clone().unwrap_or_default();
    let stream = js
        .get_stream(stream_name)
        .await
        .map_err(|e| BusError::JetStream(format!("reading stream {stream_name}: {e}")))?;
    let current = match stream.consumer_info(&name).await {
        Ok(info) => info.config,
        Err(e) if is_consumer_not_found(&e.kind()) => {
            stream
                .create_consumer(wanted)
                .await
                .map_err(|e| BusError::JetStream(format!("creating consumer {name}: {e}")))?;
            info!(consumer = %name, stream = %stream_name, "created consumer");
            report.created.push(format!("consumer {name}"));
            return Ok(());
        }
        Err(e) => return Err(BusError::JetStream(format!("reading consumer {name}: {e}"))),
    };
    let mut merged = pull::Config::try_from_consumer_config(current)
        .map_err(|e| BusError::JetStream(format!("consumer {name} is not a pull consumer: {e}")))?;
    let mut changes = Vec::new();
    macro_rules! enforce {
        ($field:ident) => {
            if merged.$field != wanted.$field {
                changes.push(format!(
                    "consumer {name}: {} {:?} -> {:?}",
                    stringify!($field),
                    merged.$field,
                    wanted.$field
                ));
                merged.$field = wanted.$field.clone();
            }
        };
    }
    // What the worker's delivery semantics rely on: which messages, one request at a time,
    // how long before redelivery, how many attempts.
    enforce!(filter_subject);
    enforce!(max_ack_pending);
    enforce!(ack_wait);
    enforce!(max_deliver);
    if changes.is_empty() {
        return Ok(());
    }
    for change in &changes {
        info!(consumer = %name, %change, "updating consumer setting");
    }
    stream
        .update_consumer(merged)
        .await
        .map_err(|e| BusError::JetStream(format!("updating consumer {name}: {e}")))?;
    report.changed.extend(changes);
    Ok(())
}

fn is_stream_not_found(kind: &GetStreamErrorKind) -> bool {
    matches!(kind, GetStreamErrorKind::JetStream(e) if e.error_code() == ErrorCode::STREAM_NOT_FOUND)
}

fn is_consumer_not_found(kind: &ConsumerInfoErrorKind) -> bool {
    matches!(kind, ConsumerInfoErrorKind::NotFound)
        || matches!(kind, ConsumerInfoErrorKind::JetStream(j) if j.error_code() == ErrorCode::CONSUMER_NOT_FOUND)
}

/// Whether consumer `name` (or the catalog stream itself) is known to be gone: the server says
/// so. A server that cannot be asked says nothing, and the answer is no.
pub async fn consumer_is_gone(js: &jetstream::Context, topology: &Topology, name: &str) -> bool {
    match js.get_stream(&topology.stream).await {
        Ok(stream) => match stream.consumer_info(name).await {
            Ok(_) => false,
            Err(e) => is_consumer_not_found(&e.kind()),
        },
        Err(e) => is_stream_not_found(&e.kind()),
    }
}

#[cfg(test)]
mod tests;
