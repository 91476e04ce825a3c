use super::*;

#[test]
fn summary_serializes_with_the_contract_field_names() {
    let summary = RunSummary {
        run_id: Uuid::nil(),
        request_id: "r-1".into(),
        mode: RunMode::Full,
        status: RunStatus::Partial,
        dry_run: false,
        started_at: DateTime::from_timestamp(0, 0).unwrap(),
        finished_at: DateTime::from_timestamp(1, 0).unwrap(),
        duration_ms: 1000,
        counts: Counts {
            fetched: 3,
            ..Counts::default()
        },
        batches: BatchCounts::default(),
        errors: vec![RunError {
            product_id: None,
            batch: Some(2),
            kind: ErrorKind::Store,
            message: "boom".into(),
        }],
        trace_id: None,
        archive: None,
        resumed_from: None,
        not_found: None,
    };
    let json = serde_json::to_value(&summary).unwrap();
    let keys: Vec<&str> = json
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    for key in [
        "run_id",
        "request_id",
        "mode",
        "status",
        "dry_run",
        "started_at",
        "finished_at",
        "duration_ms",
        "counts",
        "batches",
        "errors",
        "trace_id",
    ] {
        assert!(keys.contains(&key), "missing {key}");
    }
    assert_eq!(json["mode"], "full");
    assert_eq!(json["status"], "partial");
    assert_eq!(
        json["errors"][0],
        serde_json::json!({"batch": 2, "kind": "store", "message": "boom"})
    );
    let counts: Vec<&str> = json["counts"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    for key in [
        "fetched",
        "created",
        "updated",
        "unchanged",
        "archived",
        "failed",
        "categories_created",
        "variants",
    ] {
        assert!(counts.contains(&key), "missing counts.{key}");
    }
    let back: RunSummary = serde_json::from_value(json).unwrap();
    assert_eq!(back, summary);
}

#[test]
fn run_status_is_judged_from_what_went_wrong() {
    assert_eq!(RunStatus::judge(false, false), RunStatus::Succeeded);
    assert_eq!(RunStatus::judge(false, true), RunStatus::Partial);
    assert_eq!(RunStatus::judge(true, true), RunStatus::Failed);
}

#[test]
fn error_kinds_round_trip_through_text() {
    for kind in [
        ErrorKind::Upstream,
        ErrorKind::ArchiveGuard,
        ErrorKind::InvalidProduct,
    ] {
        assert_eq!(ErrorKind::parse(kind.as_str()), Some(kind));
    }
    assert_eq!(ErrorKind::parse("nope"), None);
}
