//! Where the catalog's products come from: generated from the seed, or read from a products
//! file (ids not in the file, such as added ones, are generated). Owns what every route needs
//! of a product whatever its origin: its DummyJSON JSON, its version time (what "changed
//! since" filters compare), and the listing pages those filters select.

use super::catalog::{FieldSet, GENERATED_LATEST_MS, ProductSpec, ProductView, synthetic_times};
use super::dump::Dump;
use super::overrides::RawObject;
use super::parts::Draw;
use super::state::CatalogState;

/// The products behind the catalog's ids.
#[derive(Debug)]
pub(crate) struct Products {
    seed: u64,
    dump: Option<Dump>,
}

impl Products {
    /// Every product generated from `seed`.
    pub(crate) fn generated(seed: u64) -> Products {
        Products { seed, dump: None }
    }

    /// The file's products; other ids are generated from `seed`.
    pub(crate) fn from_dump(seed: u64, dump: Dump) -> Products {
        Products {
            seed,
            dump: Some(dump),
        }
    }

    /// The initial catalog: the file's ids, or `1..=count`.
    pub(crate) fn initial_state(&self, count: u64) -> CatalogState {
        match &self.dump {
            Some(dump) => CatalogState::with_ids(&dump.ids()),
            None => CatalogState::new(count),
        }
    }

    /// Appends the product's DummyJSON JSON to `out`.
    pub(crate) fn write(
        &self,
        out: &mut Vec<u8>,
        spec: &ProductSpec,
        fields: FieldSet<'_>,
    ) -> serde_json::Result<()> {
        match self.dump.as_ref().and_then(|dump| dump.get(spec.id)) {
            Some(product) => product.write(out, spec, fields),
            None => {
                let view = ProductView {
                    seed: self.seed,
                    spec,
                    fields,
                };
                serde_json::to_writer(out, &view)
            }
        }
    }

    /// The product's DummyJSON JSON.
    pub(crate) fn json(
        &self,
        spec: &ProductSpec,
        fields: FieldSet<'_>,
    ) -> serde_json::Result<Vec<u8>> {
        let mut out = Vec::with_capacity(1536);
        self.write(&mut out, spec, fields)?;
        Ok(out)
    }

    /// The product's full DummyJSON fields, in order, for mapping to another API's shape.
    pub(crate) fn fields(&self, spec: &ProductSpec) -> serde_json::Result<RawObject> {
        let json = self.json(spec, FieldSet::ALL)?;
        serde_json::from_slice(&json)
    }

    /// When the product last changed (its `meta.updatedAt` unless a test overrides `meta`),
    /// in milliseconds since the epoch.
    pub(crate) fn updated_ms(&self, spec: &ProductSpec) -> u64 {
        match self.dump.as_ref().and_then(|dump| dump.get(spec.id)) {
            Some(product) => product.updated_ms(spec),
            None => synthetic_times(self.draw(spec), spec.version, spec.stamp).1,
        }
    }

    /// When the product was created, in milliseconds since the epoch.
    pub(crate) fn created_ms(&self, spec: &ProductSpec) -> u64 {
        match self.dump.as_ref().and_then(|dump| dump.get(spec.id)) {
            Some(product) => product.created_ms(),
            None => synthetic_times(self.draw(spec), 0, None).0,
        }
    }

    fn draw(&self, spec: &ProductSpec) -> Draw {
        Draw::new(self.seed, spec.id)
    }

    /// No product that never changed was updated at or after this time.
    fn unchanged_before(&self) -> u64 {
        let file = self.dump.as_ref().map_or(0, |dump| dump.latest_ms() + 1);
        GENERATED_LATEST_MS.max(file)
    }

    /// The live products whose version time is at least `since`, ascending by id, from the
    /// first id above `after`.
    fn changed_since<'a>(
        &'a self,
        state: &'a CatalogState,
        since: u64,
        after: u64,
    ) -> impl Iterator<Item = ProductSpec> + 'a {
        // Past every unchanged product's time only the changed ones can match: a filtered
        // listing of a million-product catalog then costs what its changes cost.
        let ids: Box<dyn Iterator<Item = u64>> = if since >= self.unchanged_before() {
            Box::new(
                state
                    .changed_ids()
                    .into_iter()
                    .filter(move |&id| id > after),
            )
        } else {
            Box::new(state.ids_after(after))
        };
        ids.map(|id| state.live_spec(id))
            .filter(move |spec| self.updated_ms(spec) >= since)
    }

    /// An offset page: how many live products match, and up to `limit` of them from the
    /// `skip`-th (`limit == 0`: all the rest). `since: None` matches every product.
    pub(crate) fn offset_page(
        &self,
        state: &CatalogState,
        since: Option<u64>,
        skip: u64,
        limit: u64,
    ) -> (u64, Vec<ProductSpec>) {
        let Some(since) = since else {
            return state.page(skip, limit);
        };
        let (mut total, mut specs) = (0, Vec::new());
        for spec in self.changed_since(state, since, 0) {
            if total >= skip && (limit == 0 || (specs.len() as u64) < limit) {
                specs.push(spec);
            }
            total += 1;
        }
        (total, specs)
    }

    /// A keyset page: up to `limit` matching live products with ids above `after`
    /// (`limit == 0`: all of them), and whether more follow. Deleting a product never moves
    /// another across a page boundary, so a listing in progress skips nothing that is live.
    pub(crate) fn keyset_page(
        &self,
        state: &CatalogState,
        since: Option<u64>,
        after: u64,
        limit: u64,
    ) -> (Vec<ProductSpec>, bool) {
        let take = match limit {
            0 => usize::MAX,
            n => usize::try_from(n).unwrap_or(usize::MAX),
        };
        let mut specs: Vec<ProductSpec> = match since {
            None => state
                .ids_after(after)
                .map(|id| state.live_spec(id))
                .take(take.saturating_add(1))
                .collect(),
            Some(since) => self
                .changed_since(state, since, after)
                .take(take.saturating_add(1))
                .collect(),
        };
        let more = limit > 0 && specs.len() > take;
        specs.truncate(take);
        (specs, more)
    }
}
