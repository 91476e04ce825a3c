//! The simulator's mutable catalog state: which ids are live, and the few products that were
//! changed (versions and field overrides). Its size grows with the number of changes only,
//! never with the catalog's size. Owns the paging math: `skip` counts live products in id order.

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::value::RawValue;

use super::CatalogChange;
use super::catalog::ProductSpec;
use super::clock::now_ms;
use super::overrides::{Overrides, raw_string};

/// Live ids are `1..=last_id` minus `deleted`.
#[derive(Debug, Default)]
pub(crate) struct CatalogState {
    last_id: u64,
    /// Deleted ids, sorted ascending.
    deleted: Vec<u64>,
    /// Changed products: their version and the wall-clock time of their latest change.
    versions: HashMap<u64, Version>,
    /// Behind an `Arc` so a listing page shares them instead of copying their JSON.
    overrides: HashMap<u64, Arc<Overrides>>,
}

/// A changed product's version and when it last changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Version {
    number: u32,
    /// Wall-clock milliseconds since the Unix epoch, strictly increasing per product.
    stamp: u64,
}

impl CatalogState {
    /// A catalog with ids `1..=products`, none changed.
    pub(crate) fn new(products: u64) -> CatalogState {
        CatalogState {
            last_id: products,
            ..CatalogState::default()
        }
    }

    /// A catalog of exactly these ids (a products file's): the gaps below the highest count
    /// as deleted, so the paging math stays the same.
    pub(crate) fn with_ids(ids: &[u64]) -> CatalogState {
        let last_id = ids.iter().copied().max().unwrap_or(0);
        let mut sorted = ids.to_vec();
        sorted.sort_unstable();
        let mut present = sorted.iter().peekable();
        let deleted = (1..=last_id)
            .filter(|id| present.next_if_eq(&id).is_none())
            .collect();
        CatalogState {
            last_id,
            deleted,
            ..CatalogState::default()
        }
    }

    /// How many products are live.
    pub(crate) fn live_count(&self) -> u64 {
        self.last_id - self.deleted.len() as u64
    }

    /// The highest id ever created (deleted or not).
    pub(crate) fn last_id(&self) -> u64 {
        self.last_id
    }

    /// The deleted ids, ascending.
    pub(crate) fn deleted(&self) -> &[u64] {
        &self.deleted
    }

    pub(crate) fn is_live(&self, id: u64) -> bool {
        (1..=self.last_id).contains(&id) && self.deleted.binary_search(&id).is_err()
    }

    /// The spec of a live product, `None` if absent or deleted.
    pub(crate) fn spec(&self, id: u64) -> Option<ProductSpec> {
        self.is_live(id).then(|| self.live_spec(id))
    }

    /// The spec of an id known to be live.
    pub(crate) fn live_spec(&self, id: u64) -> ProductSpec {
        let version = self.versions.get(&id);
        ProductSpec {
            id,
            version: version.map_or(0, |v| v.number),
            stamp: version.map(|v| v.stamp),
            overrides: self.overrides.get(&id).cloned(),
        }
    }

    /// Bumps a live product's version (new price, stock and `updatedAt`); false if not live.
    pub(crate) fn mutate(&mut self, id: u64) -> bool {
        if !self.is_live(id) {
            return false;
        }
        // Wall-clock time, so a client can ask for "changed since I last looked"; strictly
        // after the previous change even when two land within the same millisecond.
        let now = now_ms();
        let version = self.versions.entry(id).or_insert(Version {
            number: 0,
            stamp: 0,
        });
        version.number = version.number.saturating_add(1);
        version.stamp = now.max(version.stamp + 1);
        true
    }

    /// Replaces a live product's title, a change like any other (the version moves on); false
    /// if not live.
    pub(crate) fn set_title(&mut self, id: u64, title: &str) -> bool {
        self.set_fields(id, [("title", Some(raw_string(title)))])
    }

    /// Overrides fields of a live product (`None` omits one) as one change: the version moves
    /// on once, whatever the number of fields. False if not live; nothing changes then.
    pub(crate) fn set_fields<N: AsRef<str>>(
        &mut self,
        id: u64,
        fields: impl IntoIterator<Item = (N, Option<Box<RawValue>>)>,
    ) -> bool {
        if !self.is_live(id) {
            return false;
        }
        let overrides = Arc::make_mut(self.overrides.entry(id).or_default());
        for (name, value) in fields {
            overrides.set(name.as_ref(), value);
        }
        self.mutate(id)
    }

    /// Deletes a live product; false if it was not live.
    pub(crate) fn delete(&mut self, id: u64) -> bool {
        if !self.is_live(id) {
            return false;
        }
        let at = self.deleted.partition_point(|&d| d < id);
        self.deleted.insert(at, id);
        self.versions.remove(&id);
        self.overrides.remove(&id);
        true
    }

    /// Brings a deleted product back as it was first served (an upstream that unpublished a
    /// product and published it again). False when the id is not a deleted product.
    pub(crate) fn restore(&mut self, id: u64) -> bool {
        match self.deleted.binary_search(&id) {
            Ok(at) => {
                self.deleted.remove(at);
                true
            }
            Err(_) => false,
        }
    }

    /// Adds `n` products after the highest id.
    pub(crate) fn add(&mut self, n: u64) {
        self.last_id = self.last_id.saturating_add(n);
    }

    /// Applies a change scripted by a test; ids that are not live are skipped.
    pub(crate) fn apply(&mut self, change: &CatalogChange) {
        match change {
            CatalogChange::Delete(ids) => ids.iter().for_each(|&id| {
                self.delete(id);
            }),
            CatalogChange::Add(n) => self.add(*n),
            CatalogChange::Mutate(ids) => ids.iter().for_each(|&id| {
                self.mutate(id);
            }),
        }
    }

    /// The id of the live product at `position` (0-based, in id order), if any, and how many
    /// deleted ids are below it.
    fn id_at(&self, position: u64) -> Option<(u64, usize)> {
        if position >= self.live_count() {
            return None;
        }
        // Deleted id `deleted[j]` has `deleted[j] - 1 - j` live ids below it, a count that never
        // decreases with `j`; it lies below the wanted id iff that count is at most `position`.
        let (mut low, mut high) = (0, self.deleted.len());
        while low < high {
            let mid = low + (high - low) / 2;
            if self.deleted[mid] - 1 - mid as u64 <= position {
                low = mid + 1;
            } else {
                high = mid;
            }
        }
        Some((position + 1 + low as u64, low))
    }

    /// The live ids above `after`, ascending.
    pub(crate) fn ids_after(&self, after: u64) -> impl Iterator<Item = u64> + '_ {
        let from = self.deleted.partition_point(|&d| d <= after);
        let mut deleted = self.deleted[from..].iter().peekable();
        (after.saturating_add(1)..=self.last_id).filter(move |id| deleted.next_if_eq(&id).is_none())
    }

    /// The ids of the live products changed since the start, ascending: the only ones whose
    /// version time can be later than the catalog's unchanged products.
    pub(crate) fn changed_ids(&self) -> Vec<u64> {
        let mut ids: Vec<u64> = self.versions.keys().copied().collect();
        ids.sort_unstable();
        ids
    }

    /// A listing page: the live count and up to `limit` specs from live position `skip`
    /// (`limit == 0`: all remaining).
    pub(crate) fn page(&self, skip: u64, limit: u64) -> (u64, Vec<ProductSpec>) {
        let total = self.live_count();
        let remaining = total.saturating_sub(skip);
        let count = if limit == 0 {
            remaining
        } else {
            limit.min(remaining)
        };
        let Some((first, deleted_below)) = self.id_at(skip).filter(|_| count > 0) else {
            return (total, Vec::new());
        };
        let mut specs = Vec::with_capacity(usize::try_from(count).unwrap_or(0));
        let mut deleted = self.deleted[deleted_below..].iter().peekable();
        let mut id = first;
        while (specs.len() as u64) < count && id <= self.last_id {
            if deleted.next_if_eq(&&id).is_none() {
                specs.push(self.live_spec(id));
            }
            id += 1;
        }
        (total, specs)
    }
}

#[cfg(test)]
mod tests {
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
}
