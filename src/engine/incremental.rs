//! Incremental sync: a batch of `product.updated` events, coalesced per product and applied in
//! batches.
//!
//! An event's version is its envelope `updated_at`, else the carried product's own update time;
//! no write ever replaces a stored product with an older version. Event-carried state is
//! trusted only with a version: without one the worker asks the upstream instead, and a
//! `deleted: true` without one is confirmed with the upstream (404) before it archives.

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use super::run::RunState;
use super::targeted::fetch_and_write;
use super::{Engine, ProductEvent};
use crate::domain::PreparedProduct;
use crate::store::WriteOptions;

pub(super) async fn run(engine: &Engine, state: &mut RunState, events: &[ProductEvent]) {
    let plans = plan(events);
    state.total = plans.len() as u64;
    let writer = |strict_restore| {
        engine.writer(
            WriteOptions {
                seen_by: None,
                respect_source_order: true,
                strict_restore,
                future_tolerance: engine.settings().future_tolerance,
            },
            state.dry_run,
        )
    };
    // Carried state may be a late copy of an event from before a deletion: it restores an
    // archived product only with a newer version. The upstream's own answers always may.
    let mut carried = writer(true);
    let mut fetched = writer(false);
    let mut to_fetch = Vec::new();
    let mut to_archive: HashMap<String, Option<DateTime<Utc>>> = HashMap::new();
    for p in plans {
        if p.fetch {
            to_fetch.push(p.product_id.to_owned());
        }
        match p.newest {
            Some(event) if event.deleted => {
                to_archive.insert(p.product_id.to_owned(), event.version);
            }
            Some(ProductEvent {
                product: Some(product),
                ..
            }) if !p.fetch => {
                state.counts.fetched += 1;
                carried
                    .push(PreparedProduct::from(product.clone()), state)
                    .await;
            }
            _ => {}
        }
    }
    let gone = fetch_and_write(engine, state, &mut fetched, to_fetch).await;
    carried.finish(state).await;
    fetched.finish(state).await;
    // The upstream says these are gone now: archived whatever version is stored.
    for id in gone {
        to_archive.insert(id, None);
    }
    if state.cancelled() || to_archive.is_empty() {
        return;
    }
    let to_archive: Vec<(String, Option<DateTime<Utc>>)> = to_archive.into_iter().collect();
    let archived = engine
        .store()
        .archive_events(&to_archive, state.dry_run)
        .await;
    state.archived(archived, to_archive.len(), "products from events");
}

/// What to do for one product of the batch.
#[derive(Debug, PartialEq)]
struct ProductPlan<'a> {
    product_id: &'a str,
    /// Ask the upstream for the product (an event without trusted state, or a deletion without
    /// a version to confirm). Its answer is at least as new as any event of the batch.
    fetch: bool,
    /// The newest versioned event that carries state or a deletion.
    newest: Option<&'a ProductEvent>,
    /// Arrival of the product's first event, to keep the batch's order.
    first_sequence: u64,
}

/// One plan per product, in order of first arrival.
fn plan(events: &[ProductEvent]) -> Vec<ProductPlan<'_>> {
    let mut plans: HashMap<&str, ProductPlan<'_>> = HashMap::with_capacity(events.len());
    for event in events {
        let plan = plans
            .entry(event.product_id.as_str())
            .or_insert(ProductPlan {
                product_id: &event.product_id,
                fetch: false,
                newest: None,
                first_sequence: event.sequence,
            });
        plan.first_sequence = plan.first_sequence.min(event.sequence);
        let trusted = event.version.is_some() && (event.deleted || event.product.is_some());
        if !trusted {
            plan.fetch = true;
        } else if plan.newest.is_none_or(|kept| is_newer(event, kept)) {
            plan.newest = Some(event);
        }
    }
    let mut plans: Vec<ProductPlan<'_>> = plans.into_values().collect();
    plans.sort_by_key(|p| p.first_sequence);
    plans
}

/// The later version wins; of equal versions, the later arrival.
fn is_newer(candidate: &ProductEvent, kept: &ProductEvent) -> bool {
    match (candidate.version, kept.version) {
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
            version: at.and_then(|s| DateTime::from_timestamp(s, 0)),
            deleted: false,
            product: None,
            sequence,
        }
    }

    fn carried(id: &str, at: i64, sequence: u64) -> ProductEvent {
        let mut product = crate::domain::sample_product(id);
        product.source_updated_at = DateTime::from_timestamp(at, 0);
        ProductEvent {
            product: Some(product),
            ..event(id, Some(at), sequence)
        }
    }

    fn deleted(id: &str, at: Option<i64>, sequence: u64) -> ProductEvent {
        ProductEvent {
            deleted: true,
            ..event(id, at, sequence)
        }
    }

    fn newest_sequence(plan: &ProductPlan<'_>) -> Option<u64> {
        plan.newest.map(|e| e.sequence)
    }

    #[test]
    fn the_newest_versioned_state_wins_whatever_the_arrival_order() {
        let events = [
            carried("1", 20, 1),
            carried("1", 10, 2),
            carried("1", 20, 3),
        ];
        let plans = plan(&events);
        assert_eq!(plans.len(), 1);
        assert!(!plans[0].fetch);
        assert_eq!(
            newest_sequence(&plans[0]),
            Some(3),
            "equal versions: the later arrival"
        );
    }

    #[test]
    fn events_without_trusted_state_ask_the_upstream() {
        let mut versionless = carried("2", 0, 5);
        versionless.version = None;
        let events = [
            event("1", Some(30), 1),
            versionless,
            deleted("3", None, 6),
            deleted("4", Some(40), 7),
        ];
        let plans = plan(&events);
        let by_id: HashMap<&str, &ProductPlan<'_>> =
            plans.iter().map(|p| (p.product_id, p)).collect();
        assert!(by_id["1"].fetch, "no product carried");
        assert!(
            by_id["2"].fetch && by_id["2"].newest.is_none(),
            "no version"
        );
        assert!(
            by_id["3"].fetch,
            "a deletion without a version is confirmed first"
        );
        assert!(!by_id["4"].fetch && newest_sequence(by_id["4"]) == Some(7));
        assert_eq!(
            plans.iter().map(|p| p.first_sequence).collect::<Vec<_>>(),
            vec![1, 5, 6, 7]
        );
    }

    #[test]
    fn a_deletion_newer_than_the_carried_state_wins() {
        let events = [
            carried("1", 10, 1),
            deleted("1", Some(20), 2),
            carried("1", 15, 3),
        ];
        let plans = plan(&events);
        assert!(plans[0].newest.is_some_and(|e| e.deleted));
    }
}
