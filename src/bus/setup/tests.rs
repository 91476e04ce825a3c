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
    let requests = consumer_definition(CONSUMER_REQUESTS, "req", "catalog.sync.requested").unwrap();
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
