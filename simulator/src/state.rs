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
use super::variants::VariantEdits;

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
    /// Products whose variants were changed: their whole variant list.
    variants: HashMap<u64, Arc<VariantEdits>>,
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
            variants: self.variants.get(&id).cloned(),
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
        self.variants.remove(&id);
        true
    }

    /// Changes a live product's variants as one upstream change (the version moves on once).
    /// `edit` gets the product's variants (`initial()` if they never changed) and returns
    /// `None` when it changed nothing: then nothing is kept and the version stays. `None` if
    /// the product is not live.
    pub(crate) fn edit_variants<R>(
        &mut self,
        id: u64,
        initial: impl FnOnce() -> VariantEdits,
        edit: impl FnOnce(&mut VariantEdits) -> Option<R>,
    ) -> Option<R> {
        if !self.is_live(id) {
            return None;
        }
        let existed = self.variants.contains_key(&id);
        let edits = self
            .variants
            .entry(id)
            .or_insert_with(|| Arc::new(initial()));
        match edit(Arc::make_mut(edits)) {
            Some(result) => {
                self.mutate(id);
                Some(result)
            }
            None => {
                if !existed {
                    self.variants.remove(&id);
                }
                None
            }
        }
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
#[path = "state_tests.rs"]
mod tests;
