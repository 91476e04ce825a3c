//! Unit tests of the catalog state: paging, changes, deletions and variant edits.

use super::super::overrides::{Slot, parse_raw};
use super::*;

fn ids(specs: &[ProductSpec]) -> Vec<u64> {
    specs.iter().map(|s| s.id).collect()
}

#[test]
fn pages_over_all_ids_without_deletions() {
    let state = CatalogState::new(10);
    assert_eq!(state.page(0, 3).0, 10);
    assert_eq!(ids(&state.page(0, 3).1), [1, 2, 3]);
    assert_eq!(ids(&state.page(8, 5).1), [9, 10]);
    assert_eq!(ids(&state.page(10, 5).1), Vec::<u64>::new());
    assert_eq!(ids(&state.page(4, 0).1), [5, 6, 7, 8, 9, 10]);
}

#[test]
fn pages_skip_deleted_ids_and_total_shrinks() {
    let mut state = CatalogState::new(10);
    for id in [1, 4, 5, 10] {
        assert!(state.delete(id));
    }
    assert!(!state.delete(4), "a second delete is a no-op");
    let (total, first) = state.page(0, 3);
    assert_eq!(total, 6);
    assert_eq!(ids(&first), [2, 3, 6]);
    assert_eq!(ids(&state.page(3, 3).1), [7, 8, 9]);
    assert_eq!(ids(&state.page(5, 3).1), [9]);
    assert!(state.page(6, 3).1.is_empty());
    // Every page boundary agrees with the full listing.
    let all = ids(&state.page(0, 0).1);
    assert_eq!(all, [2, 3, 6, 7, 8, 9]);
    for skip in 0..8 {
        for limit in 1..4 {
            let expected: Vec<u64> = all.iter().copied().skip(skip).take(limit).collect();
            assert_eq!(ids(&state.page(skip as u64, limit as u64).1), expected);
        }
    }
}

#[test]
fn paging_matches_a_naive_filter_under_random_deletions() {
    let mut rng = fastrand::Rng::with_seed(7);
    for round in 0..50 {
        let n = rng.u64(1..300);
        let mut state = CatalogState::new(n);
        // Clustered and scattered deletions alike.
        let start = rng.u64(1..=n);
        for id in start..(start + rng.u64(0..40)).min(n + 1) {
            state.delete(id);
        }
        for _ in 0..rng.usize(0..30) {
            state.delete(rng.u64(1..=n));
        }
        let live: Vec<u64> = (1..=n).filter(|&id| state.is_live(id)).collect();
        assert_eq!(state.live_count(), live.len() as u64, "round {round}");
        for _ in 0..40 {
            let (skip, limit) = (rng.usize(0..n as usize + 5), rng.usize(0..50));
            let take = if limit == 0 { usize::MAX } else { limit };
            let expected: Vec<u64> = live.iter().copied().skip(skip).take(take).collect();
            let (total, specs) = state.page(skip as u64, limit as u64);
            assert_eq!(total, live.len() as u64);
            assert_eq!(
                ids(&specs),
                expected,
                "round {round}, skip {skip}, limit {limit}"
            );
        }
    }
}

#[test]
fn added_products_extend_the_listing() {
    let mut state = CatalogState::new(3);
    state.delete(3);
    state.add(2);
    assert_eq!(state.live_count(), 4);
    assert_eq!(ids(&state.page(0, 0).1), [1, 2, 4, 5]);
    assert!(state.spec(5).is_some());
    assert!(state.spec(6).is_none());
    assert!(state.spec(0).is_none());
    assert!(state.spec(3).is_none());
}

#[test]
fn changes_show_in_specs_and_only_for_live_ids() {
    let mut state = CatalogState::new(5);
    assert!(state.mutate(2));
    assert!(state.mutate(2));
    assert!(state.set_title(3, "Renamed"));
    assert!(!state.mutate(9));
    assert!(!state.set_title(0, "Nope"));
    let (_, specs) = state.page(1, 2);
    assert_eq!(specs[0].version, 2);
    assert_eq!(specs[1].version, 1, "a rename is a change");
    let overrides = specs[1].overrides.as_deref().expect("overridden");
    assert!(matches!(overrides.slot("title"), Slot::Raw(r) if r.get() == "\"Renamed\""));
    assert!(state.delete(2));
    assert!(!state.mutate(2));
    assert_eq!(state.spec(2), None);
}

#[test]
fn field_overrides_bump_once_and_die_with_the_product() {
    let mut state = CatalogState::new(5);
    let raw = |text: &str| Some(parse_raw(text).expect("valid"));
    assert!(state.set_fields(4, [("price", raw("1.5")), ("stock", None)]));
    assert!(state.set_fields(4, [("extra", raw("true"))]));
    let spec = state.spec(4).expect("live");
    assert_eq!(spec.version, 2, "one bump per change, not per field");
    let overrides = spec.overrides.as_deref().expect("overridden");
    assert!(matches!(overrides.slot("stock"), Slot::Omitted));
    assert!(!state.set_fields(6, [("price", raw("1"))]), "not live");
    assert!(state.spec(5).expect("live").overrides.is_none());
    assert!(state.delete(4));
    assert!(state.overrides.is_empty() && state.versions.is_empty());
}

#[test]
fn introspection_follows_deletions_and_additions() {
    let mut state = CatalogState::new(6);
    for id in [5, 2, 9] {
        state.delete(id);
    }
    state.add(2);
    assert_eq!(state.deleted(), [2, 5]);
    assert_eq!(state.last_id(), 8);
    assert_eq!(state.live_count(), 6);
    assert!(!state.is_live(2) && state.is_live(8) && !state.is_live(9));
}

#[test]
fn keyset_ids_and_file_catalogs_skip_the_gaps() {
    let mut state = CatalogState::with_ids(&[9, 2, 5]);
    assert_eq!((state.live_count(), state.last_id()), (3, 9));
    assert_eq!(state.ids_after(0).collect::<Vec<_>>(), [2, 5, 9]);
    assert_eq!(state.ids_after(2).collect::<Vec<_>>(), [5, 9]);
    assert_eq!(state.ids_after(3).collect::<Vec<_>>(), [5, 9]);
    state.delete(5);
    state.add(1);
    assert_eq!(state.ids_after(2).collect::<Vec<_>>(), [9, 10]);
    assert_eq!(state.ids_after(10).count(), 0);
    state.mutate(10);
    state.mutate(2);
    assert_eq!(state.changed_ids(), [2, 10]);
    let (first, second) = (state.live_spec(2).stamp, state.live_spec(10).stamp);
    assert!(first.is_some() && second.is_some());
    state.mutate(2);
    assert!(
        state.live_spec(2).stamp > first,
        "each change is stamped later"
    );
}

#[test]
fn scripted_changes_apply_to_live_ids_only() {
    let mut state = CatalogState::new(6);
    state.apply(&CatalogChange::Delete(vec![2, 5, 9]));
    state.apply(&CatalogChange::Mutate(vec![1, 2]));
    state.apply(&CatalogChange::Add(2));
    assert_eq!(state.deleted(), [2, 5]);
    assert_eq!(state.last_id(), 8);
    assert_eq!(state.spec(1).expect("live").version, 1);
    assert_eq!(state.spec(2), None);
}
