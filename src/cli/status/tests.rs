use super::*;
use chrono::Duration;

#[test]
fn the_requests_line_never_counts_pull_requests_as_workers() {
    let queues = |pullers, in_progress| crate::bus::dead::Queues {
        request_pullers: pullers,
        requests_in_progress: in_progress,
        ..Default::default()
    };
    assert_eq!(
        requests_line(&queues(2, 0)),
        "0 pending, 0 in progress; a worker is waiting for more"
    );
    assert_eq!(
        requests_line(&queues(0, 1)),
        "0 pending, 1 in progress; the worker is busy"
    );
    assert_eq!(
        requests_line(&queues(0, 0)),
        "0 pending, 0 in progress; no worker is pulling"
    );
}

#[test]
fn the_medusa_line_says_what_is_owed_and_since_when() {
    let now = DateTime::from_timestamp(1_000_000, 0).unwrap();
    let mut state = crate::store::MedusaState {
        backlog: crate::store::MedusaBacklog {
            linked: 10_000,
            ..Default::default()
        },
        last_push: Some(now - Duration::seconds(12)),
        ..Default::default()
    };
    assert_eq!(
        medusa_line(&state, now),
        "10,000 products linked, nothing owed, last push 12s ago"
    );
    state.backlog.owed = 1_500;
    state.oldest_owed = Some(now - Duration::minutes(40));
    state.refused = 2;
    assert_eq!(
        medusa_line(&state, now),
        "10,000 products linked, 1,500 pushes owed (oldest 40m ago), 2 refused by Medusa (see runs show), last push 12s ago"
    );
    state.backlog.held = 200;
    state.backlog.held_until = Some(now + Duration::seconds(85));
    assert_eq!(
        medusa_line(&state, now),
        "10,000 products linked, 1,500 pushes owed (oldest 40m ago; 200 held by a pusher for up to 1m), 2 refused by Medusa (see runs show), last push 12s ago"
    );
    state.disabled_at = Some(now - Duration::minutes(5));
    assert_eq!(
        medusa_line(&state, now),
        "off since 1970-01-12 13:41:40 UTC (5m ago); 10,000 products linked (catalog-sync medusa enable turns it on)"
    );
}
