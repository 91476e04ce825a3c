//! Where the catalog's products come from: generated from the seed, or read from a products
//! file (ids not in the file, such as added ones, are generated). Owns what every route needs
//! of a product whatever its origin: its DummyJSON JSON, its variants, its version time (what
//! "changed since" filters compare), and the listing pages those filters select.

use super::catalog::{
    FieldSet, GENERATED_LATEST_MS, ProductSpec, ProductView, synthetic_times, variant_basis,
};
use super::dump::{Dump, DumpProduct};
use super::overrides::{RawObject, Slot};
use super::parts::Draw;
use super::shapes::text_of;
use super::state::CatalogState;
use super::variant_shapes::write_dummyjson_variants;
use super::variants::{Basis, Variant, VariantPlan, resolve, to_cents};

/// The products behind the catalog's ids.
#[derive(Debug)]
pub(crate) struct Products {
    seed: u64,
    dump: Option<Dump>,
    /// How many variants products are generated with.
    pub plan: VariantPlan,
}

impl Products {
    /// Every product generated from `seed`, with `variants` variants on average (0: none).
    pub(crate) fn generated(seed: u64, variants: u32) -> Products {
        Products {
            seed,
            dump: None,
            plan: VariantPlan::new(seed, variants),
        }
    }

    /// The file's products; other ids are generated from `seed`. Variants are generated for
    /// the file's products too.
    pub(crate) fn from_dump(seed: u64, dump: Dump, variants: u32) -> Products {
        Products {
            seed,
            dump: Some(dump),
            plan: VariantPlan::new(seed, variants),
        }
    }

    fn file_product(&self, id: u64) -> Option<&DumpProduct> {
        self.dump.as_ref().and_then(|dump| dump.get(id))
    }

    /// The initial catalog: the file's ids, or `1..=count`.
    pub(crate) fn initial_state(&self, count: u64) -> CatalogState {
        match &self.dump {
            Some(dump) => CatalogState::with_ids(&dump.ids()),
            None => CatalogState::new(count),
        }
    }

    /// Appends the product's DummyJSON JSON to `out`, with its `options` and `variants` when
    /// it is sold in variants (and they are selected).
    pub(crate) fn write(
        &self,
        out: &mut Vec<u8>,
        spec: &ProductSpec,
        fields: FieldSet<'_>,
    ) -> serde_json::Result<()> {
        let start = out.len();
        self.write_fields(out, spec, fields)?;
        let options = self.serves_variants(spec, fields, "options");
        let variants = self.serves_variants(spec, fields, "variants");
        if (options || variants) && out.last() == Some(&b'}') {
            out.pop();
            let empty = out.len() == start + 1;
            let list = self.variants(spec);
            let prices = fields.string_prices();
            write_dummyjson_variants(out, &list, options, variants, prices, empty)?;
            out.push(b'}');
        }
        Ok(())
    }

    /// Whether the DummyJSON JSON carries the generated `options` or `variants` field: the
    /// catalog has variants (or the product's were changed), the field is selected, and
    /// neither an override nor the products file has a field of that name.
    fn serves_variants(&self, spec: &ProductSpec, fields: FieldSet<'_>, name: &str) -> bool {
        (self.plan.is_on() || spec.variants.is_some())
            && fields.selects(name)
            && spec
                .overrides
                .as_deref()
                .is_none_or(|o| matches!(o.slot(name), Slot::Generated))
            && self
                .file_product(spec.id)
                .is_none_or(|p| !p.has_field(name))
    }

    /// The variants the product lists, in order; none when it is sold one way.
    pub(crate) fn variants(&self, spec: &ProductSpec) -> Vec<Variant> {
        let listed = self.plan.listed(spec.id, spec.variants.as_deref());
        if listed.is_empty() {
            return Vec::new();
        }
        resolve(self.seed, spec.id, &self.basis(spec), &listed)
    }

    /// What the product's variants derive from: its SKU as served, and its first price
    /// (a change of the product's own price leaves its variants' prices alone).
    fn basis(&self, spec: &ProductSpec) -> Basis {
        let (generated_sku, generated_price) = variant_basis(self.seed, spec.id);
        let file = self.file_product(spec.id);
        let file_field = |name: &str| file.and_then(|p| p.field(name)).map(text_of);
        let sku = match spec.overrides.as_deref().map(|o| o.slot("sku")) {
            Some(Slot::Raw(raw)) => Some(text_of(raw)),
            _ => file_field("sku"),
        };
        Basis {
            sku: sku.unwrap_or(generated_sku),
            price_cents: file_field("price")
                .and_then(|price| to_cents(&price))
                .unwrap_or(generated_price),
        }
    }

    /// Appends the product's own DummyJSON fields to `out`.
    fn write_fields(
        &self,
        out: &mut Vec<u8>,
        spec: &ProductSpec,
        fields: FieldSet<'_>,
    ) -> serde_json::Result<()> {
        match self.file_product(spec.id) {
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

    /// The product's full DummyJSON fields, in order, for mapping to another API's shape
    /// (without its variants: see [`Products::variants`]).
    pub(crate) fn fields(&self, spec: &ProductSpec) -> serde_json::Result<RawObject> {
        let mut json = Vec::with_capacity(1536);
        self.write_fields(&mut json, spec, FieldSet::ALL)?;
        serde_json::from_slice(&json)
    }

    /// When the product last changed (its `meta.updatedAt` unless a test overrides `meta`),
    /// in milliseconds since the epoch.
    pub(crate) fn updated_ms(&self, spec: &ProductSpec) -> u64 {
        match self.file_product(spec.id) {
            Some(product) => product.updated_ms(spec),
            None => synthetic_times(self.draw(spec), spec.version, spec.stamp).1,
        }
    }

    /// When the product was created, in milliseconds since the epoch.
    pub(crate) fn created_ms(&self, spec: &ProductSpec) -> u64 {
        match self.file_product(spec.id) {
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
