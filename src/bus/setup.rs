//! Creates or updates the streams and durable consumers from the JSON definitions in `nats/`
//! (the same files the `nats` CLI accepts). Settings an operator changed by hand are kept unless
//! the service needs them; every setting the service changes is logged.

use async_nats::jetstream::ErrorCode;
use async_nats::jetstream::consumer::FromConsumer;
use async_nats::jetstream::consumer::pull;
use async_nats::jetstream::context::{ConsumerInfoErrorKind, GetStreamErrorKind};
use async_nats::jetstream::{self, stream};
use backon::{ExponentialBuilder, Retryable};
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
        .retry(
            ExponentialBuilder::default()
                .with_min_delay(Duration::from_millis(200))
                .with_max_delay(Duration::from_secs(2))
                .with_max_times(SETUP_ATTEMPTS - 1)
                .with_jitter(),
        )
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
        Err(e)
            if matches!(e.kind(), ConsumerInfoErrorKind::NotFound)
                || matches!(&e.kind(), ConsumerInfoErrorKind::JetStream(j) if j.error_code() == ErrorCode::CONSUMER_NOT_FOUND) =>
        {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_definitions_in_nats_parse_and_take_configured_names() {
        let topology = Topology::default();
        let stream = stream_definition(
            STREAM_CATALOG,
            "SHOP",
            [
                &topology.requested_subject,
                &"shop.product.updated".to_owned(),
            ],
            1,
        )
        .unwrap();
        assert_eq!(stream.name, "SHOP");
        assert_eq!(
            stream.subjects,
            vec!["catalog.sync.requested", "shop.product.updated"]
        );
        assert!(stream.duplicate_window >= std::time::Duration::from_secs(120));
        assert_eq!(stream.storage, stream::StorageType::File);
        let requests =
            consumer_definition(CONSUMER_REQUESTS, "req", "catalog.sync.requested").unwrap();
        assert_eq!(
            requests.max_ack_pending, 1,
            "one sync at a time across replicas"
        );
        assert_eq!(requests.durable_name.as_deref(), Some("req"));
        let updates = consumer_definition(CONSUMER_UPDATES, "upd", "product.updated").unwrap();
        assert!(updates.max_ack_pending > 1);
        assert_eq!(
            stream_definition(STREAM_RESULTS, "R", [&"a".to_owned(), &"b".to_owned()], 1)
                .unwrap()
                .subjects,
            vec!["a", "b"]
        );
    }

    fn catalog(replicas: usize) -> stream::Config {
        let topology = Topology::default();
        stream_definition(
            STREAM_CATALOG,
            "CATALOG",
            [&topology.requested_subject, &topology.updated_subject],
            replicas,
        )
        .unwrap()
    }

    #[test]
    fn both_streams_take_the_configured_replica_count() {
        let topology = Topology::default();
        assert_eq!(topology.stream_replicas, None, "one copy unless configured");
        for json in [STREAM_CATALOG, STREAM_RESULTS] {
            let subjects = [&"a".to_owned(), &"b".to_owned()];
            assert_eq!(
                stream_definition(json, "S", subjects, 1)
                    .unwrap()
                    .num_replicas,
                1,
                "the files in nats/ describe a single server"
            );
            assert_eq!(
                stream_definition(json, "S", subjects, 3)
                    .unwrap()
                    .num_replicas,
                3
            );
        }
    }

    #[test]
    fn an_existing_stream_is_scaled_to_the_configured_replicas_and_keeps_the_rest() {
        // As the server reports an R1 stream an operator tuned: longer retention, an extra subject.
        let mut current = catalog(1);
        current.max_age = std::time::Duration::from_secs(30 * 24 * 3600);
        current.subjects.push("shop.audit".into());

        let (merged, changes) = merge_stream(&current, &catalog(3), true);
        assert_eq!(changes, vec!["stream CATALOG: num_replicas 1 -> 3"]);
        assert_eq!(merged.num_replicas, 3);
        assert_eq!(
            merged.max_age, current.max_age,
            "the operator's retention stays"
        );
        assert!(merged.subjects.contains(&"shop.audit".to_owned()));

        let (again, changes) = merge_stream(&merged, &catalog(3), true);
        assert!(changes.is_empty(), "nothing left to change: {changes:?}");
        assert_eq!(again, merged);

        let (down, changes) = merge_stream(&merged, &catalog(1), true);
        assert_eq!(changes, vec!["stream CATALOG: num_replicas 3 -> 1"]);
        assert_eq!(down.num_replicas, 1);

        let (kept, changes) = merge_stream(&merged, &catalog(1), false);
        assert!(
            changes.is_empty(),
            "unset keeps the operator's count: {changes:?}"
        );
        assert_eq!(kept.num_replicas, 3);
    }

    #[test]
    fn replica_changes_are_reported_with_the_other_enforced_settings() {
        let mut current = catalog(1);
        current.subjects.retain(|s| s != "product.updated");
        current.duplicate_window = std::time::Duration::from_secs(60);
        let (merged, changes) = merge_stream(&current, &catalog(3), true);
        assert_eq!(
            changes,
            vec![
                "stream CATALOG: subjects += product.updated",
                "stream CATALOG: duplicate_window 60s -> 300s",
                "stream CATALOG: num_replicas 1 -> 3",
            ]
        );
        assert_eq!(merged, catalog(3));
    }

    #[test]
    fn only_a_replicated_stream_gets_the_cluster_hint() {
        assert_eq!(replicas_hint(&catalog(1)), "");
        let hint = replicas_hint(&catalog(3));
        assert!(
            hint.contains("at least 3 servers") && hint.contains("NATS_STREAM_REPLICAS"),
            "{hint}"
        );
    }
}
