//! Incremental sync: a batch of `product.updated` events, coalesced per product (the newest
//! wins), applied in batches. Event-carried products are written without asking the upstream;
//! the others are fetched; deletions and 404s archive. An event older than what is stored never
//! overwrites it.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use tracing::info;

use super::run::RunState;
use super::targeted::fetch_and_write;
use super::writer::BatchWriter;
use super::{Engine, ProductEvent};
use crate::domain::ErrorKind;
use crate::store::{PreparedProduct, WriteOptions};
use crate::telemetry::error_chain;

pub(super) async fn run(engine: &Engine, state: &mut RunState, events: &[ProductEvent]) {
    let events = coalesce(events);
    state.total = events.len() as u64;
    let mut writer = BatchWriter::new(
        engine.store.clone(),
        engine.settings.writer(),
        WriteOptions {
            seen_by: None,
            respect_source_order: true,
        },
        state.dry_run,
    );
    let mut to_fetch = Vec::new();
    let mut to_archive: Vec<(String, Option<DateTime<Utc>>)> = Vec::new();
    for event in events {
        if event.deleted {
            to_archive.push((event.product_id.clone(), event.updated_at));
        } else if let Some(product) = &event.product {
            state.counts.fetched += 1;
            writer
                .push(PreparedProduct::from(product.clone()), state)
                .await;
        } else {
            to_fetch.push(event.product_id.clone());
        }
    }
    let gone = fetch_and_write(engine, state, &mut writer, to_fetch).await;
    writer.finish(state).await;
    to_archive.extend(gone.into_iter().map(|id| (id, None)));
    if state.cancelled() || to_archive.is_empty() {
        return;
    }
    match engine
        .store
        .archive_events(&to_archive, state.dry_run)
        .await
    {
        Ok(archived) => {
            state.counts.archived += archived;
            info!(run_id = %state.run_id, asked = to_archive.len(), archived, "products archived from events");
        }
        Err(e) => state.error(
            ErrorKind::Store,
            None,
            None,
            format!(
                "archiving {} products failed: {}",
                to_archive.len(),
                error_chain(&e)
            ),
        ),
    }
}

/// One event per product: the one with the latest `updated_at`, or, when times are missing or
/// equal, the one that arrived last.
fn coalesce(events: &[ProductEvent]) -> Vec<&ProductEvent> {
    let mut newest: HashMap<&str, &ProductEvent> = HashMap::with_capacity(events.len());
    for event in events {
        newest
            .entry(event.product_id.as_str())
            .and_modify(|kept| {
                if is_newer(event, kept) {
                    *kept = event;
                }
            })
            .or_insert(event);
    }
    let mut kept: Vec<&ProductEvent> = newest.into_values().collect();
    kept.sort_by_key(|e| e.sequence);
    kept
}

fn is_newer(candidate: &ProductEvent, kept: &ProductEvent) -> bool {
    match (candidate.updated_at, kept.updated_at) {
        (Some(a), Some(b)) if a != b => a > b,
        _ => candidate.sequence > kept.sequence,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(id: &str, at: Option<i64>, sequence: u64) -> ProductEvent {
        ProductEvent {
            product_id: id.into(),
            updated_at: at.and_then(|s| DateTime::from_timestamp(s, 0)),
            deleted: false,
            product: None,
            sequence,
        }
    }

    #[test]
    fn the_newest_event_of_a_product_wins() {
        let events = [
            event("1", Some(20), 1),
            event("1", Some(10), 2),
            event("2", None, 3),
            event("2", None, 4),
            event("1", Some(20), 5),
        ];
        let kept: Vec<u64> = coalesce(&events).iter().map(|e| e.sequence).collect();
        assert_eq!(
            kept,
            vec![4, 5],
            "an older time loses even when it arrives later"
        );
    }
}
