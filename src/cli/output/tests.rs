use super::*;
use crate::domain::{BatchCounts, Counts, ErrorKind, RunMode};
use chrono::DateTime;
use uuid::Uuid;

#[test]
fn the_summary_table_shows_counts_and_errors() {
    let summary = RunSummary {
        run_id: Uuid::nil(),
        request_id: "req".into(),
        mode: RunMode::Full,
        status: RunStatus::Partial,
        dry_run: false,
        started_at: DateTime::from_timestamp(0, 0).unwrap(),
        finished_at: DateTime::from_timestamp(2, 0).unwrap(),
        duration_ms: 2000,
        counts: Counts {
            fetched: 194,
            created: 190,
            failed: 4,
            medusa: Some(crate::domain::MedusaCounts {
                created: 189,
                failed: 1,
                owed: 2,
                corrected: 3,
                linked: 1_189,
                ..Default::default()
            }),
            ..Counts::default()
        },
        batches: BatchCounts {
            total: 1,
            succeeded: 1,
            failed: 0,
        },
        errors: vec![RunError {
            product_id: Some("7".into()),
            batch: None,
            kind: ErrorKind::InvalidProduct,
            message: "product 7 has no title".into(),
        }],
        trace_id: Some("4bf92f3577b34da6a3ce929d0e0e4736".into()),
        archive: None,
        resumed_from: None,
        not_found: None,
    };
    let table = summary_table(&summary);
    assert!(table.contains("status     partial (full sync)"), "{table}");
    assert!(
        table.contains("trace      4bf92f3577b34da6a3ce929d0e0e4736"),
        "{table}"
    );
    assert!(table.contains("194"), "{table}");
    assert!(
        table.contains(
            "medusa     189 created, 0 updated, 0 archived, 1 refused, 3 corrected (changed in Medusa); 1,189 linked, 2 still owed"
        ),
        "{table}"
    );
    let mut pushed_later = summary.clone();
    pushed_later.counts.medusa = Some(crate::domain::MedusaCounts {
        owed: 5,
        linked: 194,
        delivered_by: MedusaDelivery::Pusher,
        ..Default::default()
    });
    let table = summary_table(&pushed_later);
    assert!(
        table.contains("medusa     left to the worker's pusher; 194 linked, 5 still owed"),
        "{table}"
    );
    assert!(
        table.contains("[invalid_product] product 7: product 7 has no title"),
        "{table}"
    );
}

#[test]
fn dead_letter_reasons_are_cut_only_to_fit_the_terminal() {
    let reason = format!("not a product event: {}", "why ".repeat(30));
    let letters = vec![crate::bus::dead::StoredDeadLetter {
        sequence: 7,
        dead_at: DateTime::from_timestamp(0, 0).unwrap(),
        letter: crate::messages::DeadLetter {
            subject: "product.updated".into(),
            body: Some(format!("{{\"product_id\":\"{}\"}}", "x".repeat(200))),
            body_base64: None,
            headers: Default::default(),
            reason: reason.clone(),
            delivery_count: 1,
            stream_sequence: 3,
            body_truncated: false,
        },
    }];
    let wide = dead_letters_table(&letters, Some(250));
    assert!(wide.contains(reason.as_str()), "{wide}");
    assert!(wide.lines().all(|l| l.chars().count() <= 250), "{wide}");
    let piped = dead_letters_table(&letters, None);
    assert!(piped.contains(reason.as_str()), "{piped}");
    let narrow = dead_letters_table(&letters, Some(100));
    assert!(!narrow.contains(reason.as_str()), "{narrow}");
    assert!(narrow.contains("not a product event…"), "{narrow}");
    assert!(narrow.lines().all(|l| l.chars().count() <= 100), "{narrow}");
}

#[test]
fn rates_read_as_whole_numbers() {
    assert_eq!(thousands(0), "0");
    assert_eq!(thousands(999), "999");
    assert_eq!(thousands(1645), "1,645");
    assert_eq!(thousands(1_234_567), "1,234,567");
}

#[test]
fn exit_codes_follow_the_status() {
    assert_eq!(exit_code(RunStatus::Succeeded), ExitCode::SUCCESS);
    assert_eq!(exit_code(RunStatus::Failed), ExitCode::from(1));
    assert_eq!(exit_code(RunStatus::Partial), ExitCode::from(3));
}
